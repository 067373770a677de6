//! Quoting for PostgreSQL-family SQL text. Utility statements such as `ALTER ROLE` take no bind
//! parameters, so identifiers and literals are quoted here, exactly as the server's own
//! `quote_ident` and `quote_literal` do.

/// A double-quoted identifier: `"` doubled inside. Always quoted, so case, spaces, quotes and
/// unicode survive unchanged.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal: `'` doubled; if the text has a backslash, the `E'...'` form with the
/// backslash doubled, which reads the same whatever `standard_conforming_strings` says.
pub fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if quoted.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted() {
        assert_eq!(quote_ident("app"), "\"app\"");
        assert_eq!(quote_ident("App User"), "\"App User\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_ident("o'neil"), "\"o'neil\"");
        assert_eq!(quote_ident("ünï"), "\"ünï\"");
    }

    #[test]
    fn literals_double_quotes_and_escape_backslashes() {
        assert_eq!(quote_literal("abc"), "'abc'");
        assert_eq!(quote_literal("o'neil"), "'o''neil'");
        assert_eq!(quote_literal("a\\b'"), "E'a\\\\b'''");
    }
}
