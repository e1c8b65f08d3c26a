//! Attacker text stays text: the one place that decides how a string from a log, a file name or
//! a ledger payload is written into each kind of output.
//!
//! Every field of a cloud audit log can be written by whoever made the call (a user agent, a
//! resource name, an error message, even `eventTime` in a file someone planted), so every
//! renderer passes such strings through the function for its medium:
//! - [`terminal`]: control characters (C0, DEL, C1) and the Unicode controls that reorder or
//!   hide text (bidi overrides, zero-width characters) are shown escaped (`\x1b`, `\n`,
//!   `\u{202e}`), so a field cannot move the cursor, clear the screen, retitle the window,
//!   print a link or forge a row.
//! - [`csv_cell`]: a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR
//!   first) gets a leading `'`, as OWASP advises; control characters are escaped as for the
//!   terminal.
//! - [`markdown`]: HTML and Markdown syntax are escaped (entities for `<`, `>`, `&`; a
//!   backslash before the other punctuation Markdown reads), line breaks and controls shown
//!   escaped, so a field cannot open a tag, a heading, a link or a table cell.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that change how a terminal or a reader shows the text around them.
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'   // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}' // line/paragraph separators, bidi embeddings/overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{feff}'              // zero-width no-break space (BOM)
            | '\u{fff9}'..='\u{fffb}' // interlinear annotations
        )
}

/// The visible form of a hostile character.
fn escaped(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Text for a terminal: hostile characters escaped, everything else as it is.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hostile) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hostile(c) {
            escaped(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// At most `shown` characters of a field, and how much was left out: the attacker names
/// sessions and users, so one value can be kilobytes long, repeated on every line that cites
/// it. For tables and reports; JSON keeps the value whole.
pub fn shortened(text: &str, shown: usize) -> Cow<'_, str> {
    match text.char_indices().nth(shown) {
        Some((at, _)) => Cow::Owned(format!("{}… ({} more bytes)", &text[..at], text.len() - at)),
        None => Cow::Borrowed(text),
    }
}

/// [`terminal`] for an optional field, with `-` for a missing one.
pub fn terminal_or_dash(text: Option<&str>) -> Cow<'_, str> {
    text.map_or(Cow::Borrowed("-"), terminal)
}

/// A CSV cell that no spreadsheet runs as a formula (the CSV writer still quotes it).
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text != "-";
    let clean = terminal(text);
    if !formula {
        return clean;
    }
    let mut out = String::with_capacity(clean.len() + 1);
    out.push('\'');
    out.push_str(&clean);
    Cow::Owned(out)
}

/// Text for Markdown (and so for every tool that renders it to HTML): shows as written,
/// becomes no markup.
///
/// Line breaks are shown escaped, so the text never starts a line of its own; what remains is
/// inline syntax, escaped wherever it could act: emphasis, code, links and images, HTML, table
/// cells, strikethrough and math everywhere; list, heading and quote markers at the start;
/// and the two ways GFM turns bare text into a link (`scheme://`, `www.`, and `@` for mail).
/// Identifiers stay readable (`i-0abc`, `2026-10-02`, `iam:ListUsers` are unchanged).
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let chars: Vec<char> = text.chars().collect();
    let leading = leading_marker(&chars);
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '$' | '@' => {
                out.push('\\');
                out.push(c);
            }
            ':' if chars[i + 1..].starts_with(&['/', '/']) => out.push_str("\\:"),
            '.' if i >= 3
                && chars[i - 3..i]
                    .iter()
                    .collect::<String>()
                    .eq_ignore_ascii_case("www") =>
            {
                out.push_str("\\.")
            }
            _ if Some(i) == leading => {
                out.push('\\');
                out.push(c);
            }
            c if is_hostile(c) => {
                let mut visible = String::new();
                escaped(c, &mut visible);
                out.push_str(&visible.replace('\\', "\\\\"));
            }
            c => out.push(c),
        }
    }
    out
}

/// The position of a block marker the text would open with (`#`, `-`, `+`, `=`, or the `.`
/// or `)` after a leading number), if any.
fn leading_marker(chars: &[char]) -> Option<usize> {
    let start = chars.iter().position(|c| *c != ' ')?;
    match chars[start] {
        '#' | '-' | '+' | '=' => Some(start),
        '0'..='9' => {
            let after = start
                + chars[start..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
            matches!(chars.get(after), Some('.' | ')')).then_some(after)
        }
        _ => None,
    }
}

/// Whether `c` occurs in `md` without a backslash before it, so Markdown would read it as
/// syntax: what tests of every Markdown renderer check hostile text against.
pub fn unescaped(md: &str, c: char) -> bool {
    let mut prev_backslashes = 0;
    for ch in md.chars() {
        if ch == c && prev_backslashes % 2 == 0 {
            return true;
        }
        prev_backslashes = if ch == '\\' { prev_backslashes + 1 } else { 0 };
    }
    false
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn terminal_output_shows_escapes_instead_of_obeying_them() {
        let hostile = "a\x1b]0;owned\x07b\x1b[2Jc\r\nd\u{202e}e\u{9b}f\u{7f}";
        let shown = terminal(hostile);
        assert!(!shown.chars().any(is_hostile), "{shown}");
        assert_eq!(
            shown,
            "a\\x1b]0;owned\\x07b\\x1b[2Jc\\r\\nd\\u{202e}e\\x9bf\\x7f"
        );
        assert!(matches!(terminal("plain é 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        for f in ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\r=x"] {
            let cell = csv_cell(f);
            assert!(cell.starts_with('\''), "{f:?} -> {cell:?}");
        }
        assert_eq!(csv_cell("-"), "-");
        assert_eq!(csv_cell("iam:CreateUser"), "iam:CreateUser");
        assert_eq!(csv_cell("a\nb"), "a\\nb");
    }

    #[test]
    fn markdown_text_becomes_no_markup() {
        let md = markdown("<script>alert(1)</script> **x** [l](http://e.vil) \n## H | c");
        for bad in ["<script", "\n", "http://"] {
            assert!(!md.contains(bad), "{bad:?} in {md}");
        }
        for c in ['[', ']', '*', '|', '<', '`'] {
            assert!(!unescaped(&md, c), "{c:?} in {md}");
        }
        assert_eq!(markdown("a_b"), "a\\_b");
        assert_eq!(markdown("x\x1by"), "x\\\\x1by");
        assert_eq!(markdown("# h"), "\\# h");
        assert_eq!(markdown("- item"), "\\- item");
        assert_eq!(markdown("12. item"), "12\\. item");
        assert_eq!(markdown("see www.e.vil"), "see www\\.e.vil");
        assert_eq!(markdown("bob@e.vil"), "bob\\@e.vil");
        for plain in ["i-0abc 2026-10-02T09:12:40Z", "iam:ListUsers", "a (b) c.d"] {
            assert_eq!(markdown(plain), plain);
        }
    }
}
