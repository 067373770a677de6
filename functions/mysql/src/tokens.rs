//! A small lexer for the statements MySQL and MariaDB print about accounts (`SHOW GRANTS`,
//! `SHOW CREATE USER`): bare words, backtick identifiers, quoted strings and punctuation, with
//! each token's span kept so a clause can be copied exactly as the server printed it. The
//! `sql_mode` matters only for strings: under `NO_BACKSLASH_ESCAPES` a backslash is literal.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A bare word (keyword, unquoted name or number).
    Word,
    /// A backtick-quoted identifier.
    Ident,
    /// A single- or double-quoted string.
    Str,
    /// One punctuation character.
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// A statement split into tokens.
#[derive(Debug, Clone)]
pub(crate) struct Tokens<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    backslash_escapes: bool,
}

impl<'a> Tokens<'a> {
    /// Splits `text`. Fails on an unterminated quote (the text is then not what this code
    /// expects, and nothing is guessed).
    pub(crate) fn new(text: &'a str, backslash_escapes: bool) -> Result<Self, String> {
        let bytes = text.as_bytes();
        let mut tokens = Vec::new();
        let mut i = 0;
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
        while i < bytes.len() {
            let c = bytes[i];
            if c.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let start = i;
            let kind = match c {
                b'`' | b'\'' | b'"' => {
                    i += 1;
                    loop {
                        match bytes.get(i) {
                            None => return Err("an unterminated quoted name or string".into()),
                            Some(b'\\') if c != b'`' && backslash_escapes => i += 2,
                            Some(&q) if q == c => {
                                if bytes.get(i + 1) == Some(&c) {
                                    i += 2;
                                } else {
                                    i += 1;
                                    break;
                                }
                            }
                            Some(_) => i += 1,
                        }
                    }
                    if c == b'`' {
                        Kind::Ident
                    } else {
                        Kind::Str
                    }
                }
                c if word(c) => {
                    while i < bytes.len() && word(bytes[i]) {
                        i += 1;
                    }
                    Kind::Word
                }
                _ => {
                    i += 1;
                    Kind::Punct
                }
            };
            tokens.push(Token {
                kind,
                start,
                end: i.min(bytes.len()),
            });
        }
        Ok(Self {
            text,
            tokens,
            backslash_escapes,
        })
    }

    /// The number of tokens.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The kind of token `i` (None past the end).
    pub(crate) fn kind(&self, i: usize) -> Option<Kind> {
        self.tokens.get(i).map(|t| t.kind)
    }

    /// The raw text of token `i` ("" past the end).
    pub(crate) fn raw(&self, i: usize) -> &'a str {
        self.tokens
            .get(i)
            .map_or("", |t| &self.text[t.start..t.end])
    }

    /// The text from the start of token `from` to the end of token `to - 1`, as printed.
    pub(crate) fn span(&self, from: usize, to: usize) -> &'a str {
        match (
            self.tokens.get(from),
            to.checked_sub(1).and_then(|l| self.tokens.get(l)),
        ) {
            (Some(a), Some(b)) if b.end >= a.start => &self.text[a.start..b.end],
            _ => "",
        }
    }

    /// The text before token `i` (the whole text past the end).
    pub(crate) fn before(&self, i: usize) -> &'a str {
        self.tokens
            .get(i)
            .map_or(self.text, |t| &self.text[..t.start])
    }

    /// True when token `i` is the bare word `word` (any case).
    pub(crate) fn is_word(&self, i: usize, word: &str) -> bool {
        self.kind(i) == Some(Kind::Word) && self.raw(i).eq_ignore_ascii_case(word)
    }

    /// True when token `i` is the punctuation `p`.
    pub(crate) fn is_punct(&self, i: usize, p: &str) -> bool {
        self.kind(i) == Some(Kind::Punct) && self.raw(i) == p
    }

    /// The value of token `i`: quotes removed, doubled quotes (and, for strings with backslash
    /// escapes, backslash escapes) undone; a word as written.
    pub(crate) fn value(&self, i: usize) -> String {
        let raw = self.raw(i);
        match self.kind(i) {
            Some(Kind::Ident) | Some(Kind::Str) if raw.len() >= 2 => {
                let kind = self.kind(i);
                let quote = raw.chars().next().unwrap_or('`');
                let inner = &raw[1..raw.len() - 1];
                let mut out = String::with_capacity(inner.len());
                let mut chars = inner.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == quote && chars.peek() == Some(&quote) {
                        chars.next();
                        out.push(quote);
                    } else if c == '\\' && kind == Some(Kind::Str) && self.backslash_escapes {
                        match chars.next() {
                            Some('n') => out.push('\n'),
                            Some('t') => out.push('\t'),
                            Some('0') => out.push('\0'),
                            Some(other) => out.push(other),
                            None => {}
                        }
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            _ => raw.to_string(),
        }
    }

    /// The index of the first bare word `word` at parenthesis depth 0 at or after `from`.
    pub(crate) fn find_word(&self, from: usize, word: &str) -> Option<usize> {
        let mut depth = 0i32;
        for i in from..self.len() {
            if self.is_punct(i, "(") {
                depth += 1;
            } else if self.is_punct(i, ")") {
                depth -= 1;
            } else if depth == 0 && self.is_word(i, word) {
                return Some(i);
            }
        }
        None
    }

    /// The account `user`@`host` starting at token `i` (`user` alone means host `%`), and the
    /// index after it.
    pub(crate) fn account_at(&self, i: usize) -> Option<((String, String), usize)> {
        if !matches!(self.kind(i), Some(Kind::Ident | Kind::Str | Kind::Word)) {
            return None;
        }
        let user = self.value(i);
        if self.is_punct(i + 1, "@") {
            if !matches!(self.kind(i + 2), Some(Kind::Ident | Kind::Str | Kind::Word)) {
                return None;
            }
            Some(((user, self.value(i + 2)), i + 3))
        } else {
            Some(((user, "%".to_string()), i + 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_identifiers_strings_and_spans() {
        let t = Tokens::new("GRANT SELECT (`a`, `b``c`) ON `d`.* TO 'it''s'@'%' x", true).unwrap();
        assert!(t.is_word(0, "grant"));
        assert_eq!(t.kind(3), Some(Kind::Ident));
        assert_eq!(t.value(5), "b`c");
        let on = t.find_word(0, "ON").unwrap();
        assert_eq!(t.span(1, on), "SELECT (`a`, `b``c`)");
        let to = t.find_word(0, "TO").unwrap();
        assert_eq!(
            t.account_at(to + 1),
            Some((("it's".to_string(), "%".to_string()), to + 4))
        );
        assert_eq!(t.before(to), "GRANT SELECT (`a`, `b``c`) ON `d`.* ");
        assert_eq!(t.raw(99), "");
    }

    #[test]
    fn backslashes_follow_the_mode_and_bad_quotes_fail() {
        assert_eq!(Tokens::new(r"'a\'b'", true).unwrap().value(0), "a'b");
        let literal = Tokens::new(r"'a\' 'b'", false).unwrap();
        assert_eq!(literal.value(0), r"a\");
        assert_eq!(literal.len(), 2);
        assert!(Tokens::new("`open", true).is_err());
        assert!(Tokens::new("'open\\'", true).is_err());
    }

    #[test]
    fn words_inside_parentheses_are_not_found() {
        let t = Tokens::new("SELECT (`TO`, TO) ON x TO y", true).unwrap();
        assert_eq!(t.find_word(0, "TO"), Some(8));
    }
}
