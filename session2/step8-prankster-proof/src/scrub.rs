//! What text may reach another client's terminal.
//!
//! A message is shown on thirty screens. Some characters are not shown but
//! *obeyed* by a terminal: ESC starts the sequences that move the cursor,
//! change colours or clear the screen (`\x1b[2J`); `\r` rewrites the line,
//! so a message can pretend to come from someone else. Others are invisible
//! but reorder or hide text: U+202E RIGHT-TO-LEFT OVERRIDE prints the rest
//! of the line backwards, a zero-width space hides inside a word. A message
//! is *repaired*, not refused: those characters become U+FFFD, so a stray
//! byte never costs anyone their message, and the reader sees that
//! something was there. Names are refused instead (`names.rs`), using the
//! same test for invisible characters.
//!
//! Which characters are invisible is data, kept by the Unicode Consortium:
//! `unicode-properties` carries each character's general category.

use std::borrow::Cow;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// What replaces a control character in a message: the same character
/// `from_utf8_lossy` uses for invalid UTF-8, so there is one rule to learn:
/// "whatever cannot be shown safely becomes �".
pub const REPLACEMENT: char = char::REPLACEMENT_CHARACTER;

/// A format character (general category Cf): invisible by definition.
pub fn is_format(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
}

/// Message text made safe to print on someone else's terminal. These become
/// [`REPLACEMENT`]:
///
/// * every control character except tab. ESC starts the sequences that move
///   the cursor, change colours or clear the screen (`\x1b[2J`); BEL beeps;
///   `\r` rewrites the line so a message can pretend to be from someone else;
/// * the format characters (Cf), but for the two joiners. Bidi overrides
///   and isolates (U+202A to U+202E, U+2066 to U+2069) reorder the rest of
///   the line: `bob: ` + U+202E + `olleh` shows `bob: hello`, and worse. The
///   zero-width space, word joiner and byte-order mark hide inside words.
///   The zero-width joiner (U+200D) and non-joiner (U+200C) stay: emoji such
///   as 👩‍💻 are built with the first, Persian and Hindi words need both,
///   and neither can hide or move text;
/// * the line and paragraph separators, U+2028 and U+2029, which some
///   terminals show as a new line: a message could fake one below it.
///
/// Replacing (rather than deleting) shows the reader that something was
/// there. Borrowed when nothing changes, which is almost always, so the
/// common case costs no allocation.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\t')
            || (is_format(c) && !matches!(c, '\u{200c}' | '\u{200d}'))
            || matches!(c, '\u{2028}' | '\u{2029}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if unsafe_char(c) { REPLACEMENT } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_replaces_controls_but_keeps_tab_and_unicode() {
        assert!(matches!(sanitize("plain text"), Cow::Borrowed(_)));
        assert_eq!(sanitize("tab\there, héllo 🦀"), "tab\there, héllo 🦀");
        assert_eq!(sanitize("\x1b[2Jwiped"), "\u{fffd}[2Jwiped");
        assert_eq!(
            sanitize("nul\0bel\x07del\x7f"),
            "nul\u{fffd}bel\u{fffd}del\u{fffd}"
        );
        assert_eq!(sanitize("c1\u{9b}31m"), "c1\u{fffd}31m");
        assert_eq!(sanitize("fake\rbob: hi"), "fake\u{fffd}bob: hi");
    }

    #[test]
    fn sanitize_replaces_bidi_and_invisible_characters_but_keeps_joiners() {
        assert_eq!(sanitize("bob: \u{202e}olleh"), "bob: \u{fffd}olleh");
        assert_eq!(
            sanitize("\u{2066}a\u{2069} \u{202a}b\u{202c}"),
            "\u{fffd}a\u{fffd} \u{fffd}b\u{fffd}"
        );
        assert_eq!(
            sanitize("zero\u{200b}width\u{feff}"),
            "zero\u{fffd}width\u{fffd}"
        );
        assert_eq!(sanitize("one\u{2028}two\u{2029}"), "one\u{fffd}two\u{fffd}");
        // 👩‍💻 (woman, ZWJ, laptop) and a Persian word with a ZWNJ survive.
        assert!(matches!(sanitize("👩\u{200d}💻"), Cow::Borrowed(_)));
        assert!(matches!(sanitize("می\u{200c}خواهم"), Cow::Borrowed(_)));
    }
}
