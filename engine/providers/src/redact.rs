//! Keeping secrets out of logs.

/// Shows a secret as its length only, e.g. `"<redacted, 40 chars>"`, so a `Debug` print of a
/// config says whether a key is set without revealing it.
pub(crate) fn secret(value: &str) -> String {
    if value.is_empty() {
        "<empty>".to_owned()
    } else {
        format!("<redacted, {} chars>", value.chars().count())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_hides_the_value() {
        assert_eq!(super::secret(""), "<empty>");
        let shown = super::secret("gsk_abcdef");
        assert!(!shown.contains("abc"));
        assert!(shown.contains("10"));
    }
}
