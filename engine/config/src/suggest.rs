//! "Did you mean …?" suggestions for misspelt keys and names.

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
///
/// Uses Damerau–Levenshtein distance (a swapped pair of letters counts once) with a budget that
/// grows with the word length, so `capcity` → `capacity` but `id` does not suggest `hi`.
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let budget = match word.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        6..=9 => 2,
        _ => 3,
    };
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, c)| (*d, c.len()))
        .map(|(_, c)| c)
}

/// `"; did you mean `x`?"` or an empty string, ready to append to a message.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    match closest(word, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        let keys = ["capacity", "slot_minutes", "hold_minutes"];
        assert_eq!(closest("capcity", keys), Some("capacity"));
        assert_eq!(closest("hold_minute", keys), Some("hold_minutes"));
        assert_eq!(closest("banana", keys), None);
        assert_eq!(did_you_mean("id", ["hi"]), "");
    }
}
