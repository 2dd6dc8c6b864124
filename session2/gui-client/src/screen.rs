//! What may reach the screen. A course server relays whatever a classmate
//! types, and older steps (or another language's server) relay it raw, so
//! the window cleans every message itself, as `chat-client` does for a
//! terminal, and a little more: a window has its own tricks.

/// The most characters of one message the window keeps. A line may be 64 KiB
/// and a frame 1 MiB; laying that out every frame would freeze the window,
/// and a few thousand of them would be a lot of memory.
pub const MAX_SHOWN_CHARS: usize = 2000;

/// Whether `c` is dropped before a message is shown.
///
/// * Control characters (ESC, BEL, `\r`, `\n` inside a frame, the C1 range),
///   as `chat-client` drops them: in a terminal they move the cursor or
///   clear the screen; in a window they are garbage.
/// * Bidirectional controls (U+202A..U+202E, U+2066..U+2069, the marks
///   U+200E, U+200F, U+061C): U+202E turns `bob: hi` into text that reads
///   backwards from there on, so a message can pretend to end differently.
/// * Zero-width characters (U+200B..U+200D, U+2060..U+2064, U+FEFF): they
///   make `alice` and `al\u{200b}ice` look the same.
/// * Line and paragraph separators (U+2028, U+2029): a new line in the
///   middle of a message could fake a second message or a notice.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200E}' | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{2028}' | '\u{2029}')
}

/// One message from the server made safe and small enough to show: invalid
/// UTF-8 becomes �, hidden characters ([`is_hidden`]) are dropped, a tab
/// becomes a space (a window has no tab stops), and the text is cut after
/// [`MAX_SHOWN_CHARS`] characters, saying how many were left out.
pub fn for_screen(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let mut shown = String::with_capacity(text.len().min(MAX_SHOWN_CHARS * 4));
    let mut kept = 0;
    let mut cut = 0;
    for c in text.chars() {
        let c = if c == '\t' { ' ' } else { c };
        if is_hidden(c) {
            continue;
        }
        if kept < MAX_SHOWN_CHARS {
            shown.push(c);
            kept += 1;
        } else {
            cut += 1;
        }
    }
    if cut > 0 {
        shown.push_str(&format!(" … ({cut} more characters not shown)"));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(
            for_screen("bob: héllo 🦀 Привет".as_bytes()),
            "bob: héllo 🦀 Привет"
        );
    }

    #[test]
    fn control_characters_are_dropped_and_tab_becomes_a_space() {
        assert_eq!(for_screen(b"a\x1b[2Jb\x07c\rd\te"), "a[2Jbcd e");
        assert_eq!(for_screen("x\u{9b}y\u{7f}z".as_bytes()), "xyz");
    }

    #[test]
    fn bidi_zero_width_and_separators_are_dropped() {
        let sneaky = "bob: \u{202E}olleh\u{202C} al\u{200B}ice\u{2028}SERVER: x\u{2066}\u{FEFF}";
        assert_eq!(for_screen(sneaky.as_bytes()), "bob: olleh aliceSERVER: x");
        for c in for_screen(sneaky.as_bytes()).chars() {
            assert!(!is_hidden(c), "{c:?}");
        }
    }

    #[test]
    fn invalid_utf8_becomes_the_replacement_character() {
        assert_eq!(for_screen(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn long_messages_are_cut_and_say_so() {
        let long = "é".repeat(MAX_SHOWN_CHARS + 5);
        let shown = for_screen(long.as_bytes());
        assert!(shown.starts_with(&"é".repeat(MAX_SHOWN_CHARS)));
        assert!(
            shown.ends_with(" … (5 more characters not shown)"),
            "{shown}"
        );
    }
}
