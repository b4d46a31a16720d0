//! Business compilation: hours, policy, menu, FAQs, prompts, and cross-references to flows and
//! plugins.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::{Ctx, Document, parse_time};
use crate::diagnostic::Diagnostic;
use crate::model::Lang;
use crate::model::business::{
    Address, Business, Category, Diet, Exception, Faq, Languages, LargePartyHandling, Menu,
    MenuItem, Names, ReservationPolicy, Spice, WeeklyHours, WhatsApp, WhenBusy, Window,
};
use crate::model::flow::Flow;
use crate::model::plugin::Plugin;
use crate::model::prompts::Prompts;
use crate::raw::business as raw;
use crate::suggest::did_you_mean;

use super::limits;
use super::references::references;
use super::template_vars;

/// Flows and plugins available to a business, each either compiled or broken (with its own
/// diagnostics, which are added to the business's errors when it uses them).
pub struct Library<'a> {
    /// Flows by id.
    pub flows: &'a BTreeMap<String, Result<Arc<Flow>, Vec<Diagnostic>>>,
    /// Plugins by id.
    pub plugins: &'a BTreeMap<String, Result<Arc<Plugin>, Vec<Diagnostic>>>,
}

/// A compiled business plus the flows and plugins it uses.
pub struct Compiled {
    /// The business.
    pub business: Business,
    /// Used flows by id.
    pub flows: BTreeMap<String, Arc<Flow>>,
    /// Used plugins by id.
    pub plugins: BTreeMap<String, Arc<Plugin>>,
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Compiles a schema-valid business document against the library.
pub fn compile_business(
    doc: &Document,
    expected_id: &str,
    lib: &Library<'_>,
) -> Result<Compiled, Vec<Diagnostic>> {
    let mut cx = Ctx::new(doc);
    let Some(raw) = cx.raw::<raw::Business>(&doc.value) else {
        return Err(cx.diags);
    };
    if raw.id != expected_id {
        cx.err(
            "/id",
            format!(
                "business id `{}` must match the file name `{expected_id}.yaml`",
                raw.id
            ),
        );
    }
    let timezone = timezone(&mut cx, &raw.timezone);
    let languages = languages(&mut cx, &raw.languages);
    let supported = languages.supported.clone();

    let mut hours = WeeklyHours::default();
    for (d, day) in DAYS.iter().enumerate() {
        let list = raw.hours.get(*day).cloned().unwrap_or_default();
        hours.days[d] = windows(&mut cx, &format!("/hours/{day}"), &list);
    }
    let exceptions = exceptions(&mut cx, &raw.exceptions);
    let reservations = reservations(&mut cx, &raw.reservations);
    let menu = menu(&mut cx, &raw.menu);
    let faqs = faqs(&mut cx, &raw.faqs, &supported);

    let mut voices = BTreeMap::new();
    for lang in &supported {
        match raw.voices.get(lang.code()) {
            Some(v) => {
                voices.insert(*lang, v.clone());
            }
            None => cx.err_key(
                "/voices",
                format!("no voice for supported language `{lang}`; add `voices.{lang}`"),
            ),
        }
    }
    let (prompts, broken) = prompts(&mut cx, &raw.prompts, &supported, &doc.value);

    let (flows, plugins, mut foreign) =
        references(&mut cx, &raw, lib, &prompts, &broken, &supported);
    limits::party_limits_against_flows(&mut cx, &reservations, &flows);
    limits::lead_time_against_horizon(&mut cx, &reservations, &hours, &exceptions);
    template_vars::check_template_variables(&mut cx, &prompts, &doc.value, &flows);

    let whatsapp = match &raw.whatsapp {
        Some(w) => {
            if w.enabled && w.template.is_none() {
                cx.err_key(
                    "/whatsapp",
                    "WhatsApp follow-ups are enabled but no `template` is set",
                );
            }
            WhatsApp {
                enabled: w.enabled,
                template: w.template.clone(),
                requires_consent: w.requires_consent.unwrap_or(true),
            }
        }
        None => WhatsApp {
            enabled: false,
            template: None,
            requires_consent: true,
        },
    };

    let when_busy = match raw.when_busy {
        None | Some(raw::WhenBusy::Apologise) => WhenBusy::Apologise,
        Some(raw::WhenBusy::Transfer) => {
            if raw.transfer_phone.is_none() {
                cx.err(
                    "/when_busy",
                    "`when_busy: transfer` needs `transfer_phone` (the number busy callers are connected to); set it or use `when_busy: apologise`",
                );
            }
            WhenBusy::Transfer
        }
    };

    let mut diags = super::fold_aliases(cx.diags, &doc.pos);
    diags.append(&mut foreign);
    if !diags.is_empty() {
        return Err(diags);
    }
    let Some(timezone) = timezone else {
        return Err(diags);
    };
    let address = Address {
        street: raw.address.street,
        city: raw.address.city,
        postal_code: match raw.address.postal_code {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        },
        state: raw.address.state,
        country: raw.address.country.unwrap_or_else(|| "IN".to_string()),
        landmark: raw.address.landmark,
    };
    Ok(Compiled {
        business: Business {
            id: raw.id,
            name: names(&raw.name),
            timezone,
            phone: raw.phone,
            transfer_phone: raw.transfer_phone,
            address,
            languages,
            hours,
            exceptions,
            reservations,
            menu,
            faqs,
            voices,
            prompts,
            flows: raw.flows,
            start_flow: raw.start_flow,
            fallback_flow: raw.fallback_flow,
            plugins: raw.plugins,
            whatsapp,
            retention_days: raw.retention_days.unwrap_or(90),
            when_busy,
        },
        flows,
        plugins,
    })
}

fn names(n: &raw::Names) -> Names {
    Names {
        en: n.en.clone(),
        hi: n.hi.clone(),
    }
}

fn timezone(cx: &mut Ctx<'_>, name: &str) -> Option<Tz> {
    match name.parse::<Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            let hint = did_you_mean(name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()));
            cx.err(
                "/timezone",
                format!("\"{name}\" is not an IANA time zone (e.g. Asia/Kolkata){hint}"),
            );
            None
        }
    }
}

fn languages(cx: &mut Ctx<'_>, raw: &raw::Languages) -> Languages {
    let supported: Vec<Lang> = raw
        .supported
        .iter()
        .filter_map(|c| Lang::from_code(c))
        .collect();
    let default = Lang::from_code(&raw.default).unwrap_or(Lang::Hi);
    if !supported.contains(&default) {
        cx.err(
            "/languages/default",
            format!("default language `{default}` is not in `languages.supported`"),
        );
    }
    Languages { default, supported }
}

fn windows(cx: &mut Ctx<'_>, ptr: &str, raw: &[raw::Window]) -> Vec<Window> {
    let mut out: Vec<(usize, Window)> = Vec::new();
    for (i, w) in raw.iter().enumerate() {
        let p = format!("{ptr}/{i}");
        let (Some(open), Some(close), Some(last)) = (
            parse_time(&w.open),
            parse_time(&w.close),
            parse_time(&w.last_seating),
        ) else {
            continue; // the schema already rejected malformed times
        };
        if close <= open {
            cx.err(
                format!("{p}/close"),
                format!(
                    "closing time {} is not after opening time {} (windows cannot pass midnight)",
                    w.close, w.open
                ),
            );
            continue;
        }
        if last < open || last > close {
            cx.err(
                format!("{p}/last_seating"),
                format!(
                    "last seating {} is outside its window {}–{}",
                    w.last_seating, w.open, w.close
                ),
            );
        }
        out.push((
            i,
            Window {
                name: w.name.clone(),
                open,
                close,
                last_seating: last,
            },
        ));
    }
    out.sort_by_key(|(_, w)| w.open);
    for pair in out.windows(2) {
        let ((_, a), (j, b)) = (&pair[0], &pair[1]);
        if b.open < a.close {
            cx.err(
                format!("{ptr}/{j}/open"),
                format!(
                    "window {}–{} overlaps window {}–{}",
                    b.open.format("%H:%M"),
                    b.close.format("%H:%M"),
                    a.open.format("%H:%M"),
                    a.close.format("%H:%M")
                ),
            );
        }
    }
    out.into_iter().map(|(_, w)| w).collect()
}

fn exceptions(cx: &mut Ctx<'_>, raw: &[raw::Exception]) -> BTreeMap<NaiveDate, Exception> {
    let mut out = BTreeMap::new();
    for (i, e) in raw.iter().enumerate() {
        let p = format!("/exceptions/{i}");
        let Ok(date) = NaiveDate::parse_from_str(&e.date, "%Y-%m-%d") else {
            cx.err(
                format!("{p}/date"),
                format!("\"{}\" is not a real calendar date", e.date),
            );
            continue;
        };
        let windows = match (&e.windows, e.closed) {
            (Some(ws), None | Some(false)) => windows(cx, &format!("{p}/windows"), ws),
            _ => Vec::new(), // closed all day (the schema allows exactly one of the two)
        };
        if out.contains_key(&date) {
            cx.err(
                format!("{p}/date"),
                format!("{date} already has an exception; merge them into one entry"),
            );
            continue;
        }
        out.insert(
            date,
            Exception {
                date,
                note: e.note.clone(),
                windows,
            },
        );
    }
    out
}

fn reservations(cx: &mut Ctx<'_>, r: &raw::Reservations) -> ReservationPolicy {
    let p = "/reservations";
    if r.party_min > r.party_max {
        cx.err(
            format!("{p}/party_min"),
            format!(
                "party_min {} is greater than party_max {}",
                r.party_min, r.party_max
            ),
        );
    }
    if r.max_phone_party < r.party_min || r.max_phone_party > r.party_max {
        cx.err(
            format!("{p}/max_phone_party"),
            format!(
                "max_phone_party {} must lie between party_min {} and party_max {}",
                r.max_phone_party, r.party_min, r.party_max
            ),
        );
    }
    if r.max_phone_party > r.capacity {
        // The value that breaks it is the capacity: the bot would accept such a booking by
        // phone and the store could never seat it.
        cx.err(
            format!("{p}/capacity"),
            format!(
                "capacity {} is below max_phone_party {}; a phone booking of {}–{} guests \
                 would be accepted and could never be seated. Raise capacity or lower \
                 max_phone_party",
                r.capacity,
                r.max_phone_party,
                r.capacity + 1,
                r.max_phone_party
            ),
        );
    } else if r.party_max > r.capacity {
        cx.err(
            format!("{p}/party_max"),
            format!(
                "party_max {} exceeds capacity {}; such a party could never be seated",
                r.party_max, r.capacity
            ),
        );
    }
    ReservationPolicy {
        slot_minutes: r.slot_minutes,
        hold_minutes: r.hold_minutes,
        capacity: r.capacity,
        party_min: r.party_min,
        party_max: r.party_max,
        max_phone_party: r.max_phone_party,
        large_party: if r.large_party == "decline" {
            LargePartyHandling::Decline
        } else {
            LargePartyHandling::Callback
        },
        min_lead_minutes: r.min_lead_minutes,
        max_days_ahead: r.max_days_ahead,
        grace_minutes: r.grace_minutes,
    }
}

fn menu(cx: &mut Ctx<'_>, m: &raw::Menu) -> Menu {
    let mut cat_ids: HashMap<&str, usize> = HashMap::new();
    let mut item_ids: HashMap<&str, String> = HashMap::new();
    let mut categories = Vec::new();
    for (c, cat) in m.categories.iter().enumerate() {
        let cp = format!("/menu/categories/{c}");
        if let Some(prev) = cat_ids.insert(&cat.id, c) {
            cx.err(
                format!("{cp}/id"),
                format!("duplicate category id `{}` (also category {prev})", cat.id),
            );
        }
        let mut items = Vec::new();
        for (i, it) in cat.items.iter().enumerate() {
            let ip = format!("{cp}/items/{i}");
            if let Some(prev) = item_ids.insert(&it.id, ip.clone()) {
                cx.err(
                    format!("{ip}/id"),
                    format!(
                        "duplicate menu item id `{}` (first defined at {prev})",
                        it.id
                    ),
                );
            }
            let diet = it.diet.as_deref().map(|d| match d {
                "non_veg" => Diet::NonVeg,
                "vegan" => Diet::Vegan,
                _ => Diet::Veg,
            });
            if it.jain_on_request {
                match diet {
                    Some(Diet::NonVeg) => cx.err(
                        format!("{ip}/jain_on_request"),
                        format!("`{}` is non-veg, so it cannot be made Jain", it.id),
                    ),
                    None => cx.err(
                        format!("{ip}/jain_on_request"),
                        format!(
                            "`{}` has no `diet`; only a veg or vegan dish can be made Jain \
                             (add `diet: veg`)",
                            it.id
                        ),
                    ),
                    Some(Diet::Veg | Diet::Vegan) => {}
                }
            }
            let spice = match it.spice.as_deref() {
                Some("none") => Spice::None,
                Some("medium") => Spice::Medium,
                Some("hot") => Spice::Hot,
                _ => Spice::Mild,
            };
            items.push(MenuItem {
                id: it.id.clone(),
                name: names(&it.name),
                aliases: it.aliases.clone(),
                price_inr: it.price_inr,
                diet,
                jain_on_request: it.jain_on_request,
                spice,
                allergens: it.allergens.clone(),
                available: it.available.unwrap_or(true),
            });
        }
        categories.push(Category {
            id: cat.id.clone(),
            name: names(&cat.name),
            items,
        });
    }
    for (i, id) in m.recommended.iter().enumerate() {
        if !item_ids.contains_key(id.as_str()) {
            cx.err(
                format!("/menu/recommended/{i}"),
                format!(
                    "unknown menu item `{id}`{}",
                    did_you_mean(id, item_ids.keys().copied())
                ),
            );
        }
    }
    Menu {
        categories,
        recommended: m.recommended.clone(),
    }
}

fn faqs(cx: &mut Ctx<'_>, raw: &[raw::Faq], supported: &[Lang]) -> Vec<Faq> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, f) in raw.iter().enumerate() {
        let p = format!("/faqs/{i}");
        if !seen.insert(f.id.as_str()) {
            cx.err(format!("{p}/id"), format!("duplicate FAQ id `{}`", f.id));
        }
        for lang in supported {
            if !f.answer.contains_key(lang.code()) {
                cx.err_key(
                    format!("{p}/answer"),
                    format!(
                        "FAQ `{}` has no answer for supported language `{lang}`",
                        f.id
                    ),
                );
            }
        }
        out.push(Faq {
            id: f.id.clone(),
            questions: per_lang(&f.questions),
            answer: per_lang(&f.answer),
        });
    }
    out
}

fn per_lang<T: Clone>(m: &BTreeMap<String, T>) -> BTreeMap<Lang, T> {
    m.iter()
        .filter_map(|(k, v)| Lang::from_code(k).map(|l| (l, v.clone())))
        .collect()
}

/// minijinja built-ins offered as "did you mean" for a misspelt filter.
const COMMON_BUILTIN_FILTERS: &[&str] = &[
    "capitalize",
    "default",
    "first",
    "join",
    "last",
    "length",
    "lower",
    "replace",
    "round",
    "title",
    "trim",
    "upper",
];

/// Templates that failed to compile, so they are not also reported as missing.
pub(super) type Broken = BTreeSet<(Lang, String)>;

/// Compiles the prompts; `business` (the document) is what a template can already see at load
/// time, for the runaway-loop check.
fn prompts(
    cx: &mut Ctx<'_>,
    raw: &BTreeMap<String, BTreeMap<String, String>>,
    supported: &[Lang],
    business: &serde_json::Value,
) -> (Prompts, Broken) {
    let known = minijinja::context! {
        business => minijinja::Value::from_serialize(business),
    };
    let mut prompts = Prompts::new();
    let mut broken = Broken::new();
    let all: BTreeSet<&str> = raw
        .values()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    for (code, templates) in raw {
        let Some(lang) = Lang::from_code(code) else {
            continue;
        };
        for (name, src) in templates {
            for (filter, n, offset) in prompts.unknown_filters(src) {
                broken.insert((lang, name.clone()));
                let hint = did_you_mean(
                    &filter,
                    crate::model::prompts::ENGINE_FILTERS
                        .iter()
                        .chain(COMMON_BUILTIN_FILTERS)
                        .copied(),
                );
                cx.err_in_template(
                    format!("/prompts/{code}/{name}"),
                    src,
                    offset,
                    format!(
                        "template `{name}` uses unknown filter `{filter}` (line {n} of the template){hint}"
                    ),
                );
            }
            if let Err(e) = prompts.add(lang, name, src) {
                broken.insert((lang, name.clone()));
                let line = e
                    .line()
                    .map(|l| format!(" (line {l} of the template)"))
                    .unwrap_or_default();
                let detail = e
                    .detail()
                    .map_or_else(|| e.kind().to_string(), str::to_string);
                let message = format!("template `{name}` does not compile: {detail}{line}");
                let ptr = format!("/prompts/{code}/{name}");
                match (e.range(), e.line()) {
                    // The offending token, at its own line and column in the file.
                    (Some(range), _) => cx.err_in_template(ptr, src, range.start, message),
                    (None, Some(n)) => cx.err_within(ptr, n, message),
                    (None, None) => cx.err(ptr, message),
                }
            } else if prompts.exhausts_fuel(src, &known) {
                broken.insert((lang, name.clone()));
                cx.err(
                    format!("/prompts/{code}/{name}"),
                    runaway_template_message(&format!("template `{name}`")),
                );
            }
        }
    }
    for lang in supported {
        let have: BTreeSet<&str> = raw
            .get(lang.code())
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for missing in all.difference(&have) {
            cx.err_key(
                format!("/prompts/{lang}"),
                format!(
                    "template `{missing}` is defined for another language but not for supported language `{lang}`"
                ),
            );
        }
    }
    (prompts, broken)
}

/// The error for a template that runs out of fuel with no call data (`what` names it).
pub(super) fn runaway_template_message(what: &str) -> String {
    format!(
        "{what} does not finish within {} template steps even with no call data (a loop, or \
         loops inside loops, that runs too long); a reply must render in an instant, so \
         shorten the loop",
        crate::model::prompts::TEMPLATE_FUEL
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::PosMap;

    fn doc() -> Document {
        Document {
            file: "b.yaml".into(),
            value: serde_json::json!({}),
            pos: PosMap::default(),
        }
    }

    fn w(open: &str, close: &str, last: &str) -> raw::Window {
        raw::Window {
            name: None,
            open: open.into(),
            close: close.into(),
            last_seating: last.into(),
        }
    }

    #[test]
    fn windows_are_sorted_and_checked() {
        let d = doc();
        let mut cx = Ctx::new(&d);
        let out = windows(
            &mut cx,
            "/hours/tuesday",
            &[w("19:00", "23:00", "22:00"), w("12:00", "15:30", "14:45")],
        );
        assert!(cx.diags.is_empty(), "{:?}", cx.diags);
        assert_eq!(out[0].open, parse_time("12:00").unwrap());

        let mut cx = Ctx::new(&d);
        windows(
            &mut cx,
            "/hours/tuesday",
            &[
                w("12:00", "15:30", "16:00"),
                w("15:00", "18:00", "17:00"),
                w("20:00", "19:00", "19:30"),
            ],
        );
        let msgs: Vec<(&str, &str)> = cx
            .diags
            .iter()
            .map(|d| (d.pointer.as_str(), d.message.as_str()))
            .collect();
        assert_eq!(
            msgs,
            vec![
                (
                    "/hours/tuesday/0/last_seating",
                    "last seating 16:00 is outside its window 12:00–15:30"
                ),
                (
                    "/hours/tuesday/2/close",
                    "closing time 19:00 is not after opening time 20:00 (windows cannot pass midnight)"
                ),
                (
                    "/hours/tuesday/1/open",
                    "window 15:00–18:00 overlaps window 12:00–15:30"
                ),
            ]
        );
    }

    #[test]
    fn exceptions_replace_or_close_a_day() {
        let d = doc();
        let mut cx = Ctx::new(&d);
        let ex = exceptions(
            &mut cx,
            &[
                raw::Exception {
                    date: "2027-01-01".into(),
                    note: None,
                    closed: Some(true),
                    windows: None,
                },
                raw::Exception {
                    date: "2027-02-30".into(),
                    note: None,
                    closed: Some(true),
                    windows: None,
                },
                raw::Exception {
                    date: "2027-01-01".into(),
                    note: None,
                    closed: None,
                    windows: Some(vec![w("12:00", "15:00", "14:00")]),
                },
            ],
        );
        assert_eq!(ex.len(), 1);
        assert!(ex.values().next().unwrap().windows.is_empty());
        let msgs: Vec<&str> = cx.diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                "\"2027-02-30\" is not a real calendar date",
                "2027-01-01 already has an exception; merge them into one entry",
            ]
        );
    }

    #[test]
    fn timezone_suggestions() {
        let d = doc();
        let mut cx = Ctx::new(&d);
        assert!(timezone(&mut cx, "Asia/Kolkata").is_some());
        assert!(timezone(&mut cx, "Europe/Londn").is_none());
        assert!(
            cx.diags[0]
                .message
                .ends_with("did you mean `Europe/London`?"),
            "{:?}",
            cx.diags
        );
    }
}
