//! Text for the terminal. Whatever the tool prints as text (table cells, messages, errors,
//! progress) goes through [`escape`], so nothing a secret writer, a function or an AWS answer
//! put in a string (a newline that fakes a table row, a carriage return that overwrites
//! "FAILED", an escape sequence that talks to the terminal) reaches the terminal as is. The
//! tool's own line breaks are the only ones printed: text output is a list of lines
//! ([`Text`]), each escaped as it is printed. JSON output is not this module's: serde_json
//! escapes control characters in strings by itself.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for a character that must not reach the terminal raw: every control character (C0
/// with `\n`, `\r`, `\t` and ESC; DEL; C1, U+0080 to U+009F), and the invisible characters
/// that reorder or break lines on screen (bidirectional marks, embeddings, overrides and
/// isolates; the line and paragraph separators).
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every character [`hidden`] would let through written out: `\n`, `\r`, `\t`, other
/// C0 characters and DEL as `\xNN`, the rest as `\u{NN}`. The result holds no such character,
/// so escaping it again changes nothing.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// One line of progress or warning on stderr, escaped.
pub fn say(line: &str) {
    eprintln!("{}", escape(line));
}

/// Text output: lines, each printed escaped and followed by a line break.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(Vec<String>);

impl Text {
    /// No lines.
    pub fn new() -> Self {
        Self::default()
    }

    /// One line with `line` in it (a line break inside it is printed as `\n`).
    pub fn line(&mut self, line: impl Into<String>) -> &mut Self {
        self.0.push(line.into());
        self
    }

    /// An empty line.
    pub fn blank(&mut self) -> &mut Self {
        self.0.push(String::new());
        self
    }

    /// Every line of `lines`, in order.
    pub fn lines<I: IntoIterator<Item = String>>(&mut self, lines: I) -> &mut Self {
        self.0.extend(lines);
        self
    }

    /// Everything, escaped, one line break after each line: what is printed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.0 {
            out.push_str(&escape(line));
            out.push('\n');
        }
        out
    }
}

impl From<&str> for Text {
    fn from(line: &str) -> Self {
        let mut t = Text::new();
        t.line(line);
        t
    }
}

impl From<String> for Text {
    fn from(line: String) -> Self {
        let mut t = Text::new();
        t.line(line);
        t
    }
}

/// `rows` as a table: columns padded to their widest (escaped) cell, two spaces apart, the
/// last cell of a row unpadded; one line per row.
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| escape(cell)).collect())
        .collect();
    let mut widths = Vec::new();
    for row in &rows {
        widths.resize(widths.len().max(row.len()), 0);
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a hostile username may hold: erase the line, go back to its start and write "ok";
    /// a C1 CSI; a newline that starts a row of its own; a right-to-left override.
    const HOSTILE: &str = "bob\u{1b}[2K\rok\u{9b}31m\nfake_check  ok\t\u{7f}\u{0}\u{202e}x";

    fn raw_control(s: &str) -> Option<char> {
        s.chars().find(|c| *c != '\n' && hidden(*c))
    }

    #[test]
    fn control_characters_are_written_out() {
        let e = escape(HOSTILE);
        assert_eq!(
            e,
            "bob\\x1b[2K\\rok\\u{9b}31m\\nfake_check  ok\\t\\x7f\\x00\\u{202e}x"
        );
        assert!(!e.chars().any(hidden));
        assert_eq!(escape(&e), e, "escaping twice changes nothing");
        assert!(matches!(escape("plain ascii, üñï©ødé"), Cow::Borrowed(_)));
        for c in [
            '\u{80}', '\u{85}', '\u{9f}', '\u{1f}', '\u{2028}', '\u{2066}',
        ] {
            assert!(!escape(&c.to_string()).contains(c), "{c:?}");
        }
    }

    #[test]
    fn text_and_tables_print_only_their_own_line_breaks() {
        let mut t = Text::new();
        t.line(format!("user {HOSTILE}"));
        t.blank();
        t.lines(table(&[
            vec!["CHECK".to_string(), "DETAIL".into()],
            vec![HOSTILE.to_string(), "ok".into()],
        ]));
        let out = t.render();
        assert_eq!(out.lines().count(), 4, "{out}");
        assert_eq!(raw_control(&out), None, "{out:?}");
        assert!(!out.lines().any(|l| l.starts_with("fake_check")), "{out}");
        let rows: Vec<&str> = out.lines().skip(2).collect();
        // Aligned on the escaped widths.
        assert_eq!(rows[0].find("DETAIL"), rows[1].rfind("ok"));
    }
}
