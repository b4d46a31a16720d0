//! Tiny RFC 6901 JSON-pointer helpers shared by the YAML position map and diagnostics.

/// Escapes one reference token (`~` → `~0`, `/` → `~1`).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The pointer of the parent node (`/a/b` → `/a`, `/a` → ``).
pub fn parent(pointer: &str) -> &str {
    match pointer.rfind('/') {
        Some(i) => &pointer[..i],
        None => "",
    }
}

/// Appends one token to a pointer.
pub fn join(pointer: &str, token: impl std::fmt::Display) -> String {
    format!("{pointer}/{}", escape(&token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_parents() {
        assert_eq!(join("/a", "b/c~d"), "/a/b~1c~0d");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "");
        assert_eq!(parent(""), "");
    }
}
