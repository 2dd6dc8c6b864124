//! The little JSON the runner writes (`check --json`, `myip --json`): string
//! literals only, since every caller builds its objects from known fields.
//! One escaping function for all, so no output can disagree with another.

use std::fmt::Write as _;

/// `text` as a JSON string literal (RFC 8259: quote, backslash and control
/// characters escaped; everything else as is, UTF-8). Text from outside
/// (interface names, a server's bytes) may hold anything.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::string;

    #[test]
    fn escapes_what_json_requires() {
        assert_eq!(string("plain"), r#""plain""#);
        assert_eq!(string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(string("\x1b[0m\u{0}\u{1}"), r#""\u001b[0m\u0000\u0001""#);
    }

    #[test]
    fn keeps_unicode_as_is() {
        assert_eq!(string("Wi-Fi é"), "\"Wi-Fi é\"");
    }
}
