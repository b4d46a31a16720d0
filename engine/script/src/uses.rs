//! Which scope variables an expression can possibly read, found from its text.
//!
//! Converting the business document into Rhai values is by far the largest cost of an
//! evaluation (tens of microseconds; a condition itself takes about one). An expression can
//! only read a variable by writing its name, so a variable whose name does not occur in the
//! text is not put in the scope, and `business.reservations.max_phone_party` gets a `business`
//! map holding only `reservations`. The analysis is conservative: any other use of the word
//! `business` (bare, indexed, inside a string) gets the whole document.

/// How an expression uses `business`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BusinessUse {
    /// Not at all.
    None,
    /// Only through `business.<key>` for these top-level keys.
    Keys(Vec<String>),
    /// In some other way; it needs the whole document.
    Whole,
}

/// The scope variables an expression mentions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Uses {
    pub(crate) slots: bool,
    pub(crate) vars: bool,
    pub(crate) value: bool,
    pub(crate) lang: bool,
    pub(crate) now: bool,
    pub(crate) utterance: bool,
    pub(crate) intent: bool,
    pub(crate) business: BusinessUse,
}

impl Uses {
    /// Everything (for sources that are not analysed).
    #[cfg(test)]
    pub(crate) fn all() -> Uses {
        Uses {
            slots: true,
            vars: true,
            value: true,
            lang: true,
            now: true,
            utterance: true,
            intent: true,
            business: BusinessUse::Whole,
        }
    }

    /// Analyses an expression's source text.
    pub(crate) fn of(source: &str) -> Uses {
        let has = |name: &str| !word_positions(source, name).is_empty();
        Uses {
            slots: has("slots"),
            vars: has("vars"),
            value: has("value"),
            lang: has("lang"),
            now: has("now"),
            utterance: has("utterance"),
            intent: has("intent"),
            business: business_use(source),
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte offsets where `name` occurs as a whole word.
fn word_positions(source: &str, name: &str) -> Vec<usize> {
    source
        .match_indices(name)
        .map(|(i, _)| i)
        .filter(|&i| {
            let before = source[..i].chars().next_back();
            let after = source[i + name.len()..].chars().next();
            !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
        })
        .collect()
}

fn business_use(source: &str) -> BusinessUse {
    const NAME: &str = "business";
    let positions = word_positions(source, NAME);
    if positions.is_empty() {
        return BusinessUse::None;
    }
    let mut keys: Vec<String> = Vec::new();
    for i in positions {
        let rest = source[i + NAME.len()..].trim_start();
        let rest = rest
            .strip_prefix("?.")
            .or_else(|| rest.strip_prefix('.'))
            .map(str::trim_start);
        let key: String = rest
            .map(|r| r.chars().take_while(|&c| is_ident(c)).collect())
            .unwrap_or_default();
        // `business.keys()` is a method call on the whole map, not a property.
        let is_call = rest
            .map(|r| r[key.len()..].trim_start())
            .is_some_and(|after| after.starts_with('('));
        if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) || is_call {
            return BusinessUse::Whole;
        }
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    BusinessUse::Keys(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> BusinessUse {
        BusinessUse::Keys(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn finds_variables_as_whole_words() {
        let u = Uses::of("slots.party_size > business.reservations.max_phone_party");
        assert!(u.slots && !u.vars && !u.value && !u.lang && !u.now);
        assert_eq!(u.business, keys(&["reservations"]));
        let u = Uses::of("my_slots_x + valued + nowhere");
        assert!(!u.slots && !u.value && !u.now);
        assert!(Uses::of("!vars.closure.closed").vars);
        assert!(Uses::of("intent == \"ask_location\"").intent);
    }

    #[test]
    fn business_uses() {
        assert_eq!(Uses::of("lang == \"hi\"").business, BusinessUse::None);
        assert_eq!(
            Uses::of("value >= business.reservations.party_min && business . menu ?? 1").business,
            keys(&["reservations", "menu"])
        );
        assert_eq!(
            Uses::of("business?.whatsapp.enabled").business,
            keys(&["whatsapp"])
        );
        for whole in [
            "business",
            "business[\"menu\"]",
            "x(business)",
            "business.keys()",
            "business.menu.len() + business.len ()",
            "\"business\" == intent",
        ] {
            assert_eq!(Uses::of(whole).business, BusinessUse::Whole, "{whole}");
        }
        assert_eq!(Uses::all().business, BusinessUse::Whole);
    }
}
