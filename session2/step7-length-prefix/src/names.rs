//! What a name may be, and what text may reach another client's screen.
//!
//! A classroom will try everything: an empty name, `SERVER` (to fake
//! notices), `alice` when Alice is already here, a name with an escape
//! sequence that clears everyone's terminal. Names are *refused* with a
//! reason, so the person can pick another; message text is *repaired*, so a
//! stray byte never costs anyone their message.

use std::borrow::Cow;
use std::fmt;

/// The longest name, in characters (not bytes: `Zoë` is 3 characters).
pub const MAX_NAME_CHARS: usize = 32;

/// What replaces a control character in a message: the same character
/// `from_utf8_lossy` uses for invalid UTF-8, so there is one rule to learn:
/// "whatever cannot be shown safely becomes �".
pub const REPLACEMENT: char = char::REPLACEMENT_CHARACTER;

/// Why a name was refused. The text (after `SERVER: `) goes to the asker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    Whitespace,
    Control,
    InvalidUtf8,
    Slash,
    Reserved,
    /// Someone else has this name, in some case (the name they asked for).
    Taken(String),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "a name cannot be empty"),
            NameError::TooLong => write!(f, "a name has at most {MAX_NAME_CHARS} characters"),
            NameError::Whitespace => write!(f, "a name cannot contain spaces"),
            NameError::Control => write!(f, "a name cannot contain control characters"),
            NameError::InvalidUtf8 => write!(f, "a name must be valid UTF-8"),
            NameError::Slash => write!(f, "a name cannot start with /"),
            NameError::Reserved => write!(f, "the name SERVER is reserved"),
            NameError::Taken(name) => write!(f, "the name {name} is taken"),
        }
    }
}

/// Checks a proposed name and returns it without surrounding spaces.
///
/// Uniqueness is not checked here: only the room knows who is present, and
/// it must check and claim the name in one step (see `Room::join`).
pub fn validate(proposed: &str) -> Result<&str, NameError> {
    let name = proposed.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    // Control characters first: a tab is both whitespace and control, and
    // "control characters" is the more useful thing to hear about ESC.
    if name.chars().any(|c| c.is_control()) {
        return Err(NameError::Control);
    }
    // The frame was decoded with `from_utf8_lossy`, so invalid bytes are
    // U+FFFD by now. In a message that is fine; as a name it would be
    // unreadable and impossible to type back (`/name`), so refuse it.
    if name.contains(REPLACEMENT) {
        return Err(NameError::InvalidUtf8);
    }
    if name.chars().any(char::is_whitespace) {
        return Err(NameError::Whitespace);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    // `/who` as a name would look like a command in every message.
    if name.starts_with('/') {
        return Err(NameError::Slash);
    }
    if same_name(name, "SERVER") {
        return Err(NameError::Reserved);
    }
    Ok(name)
}

/// Whether two names count as the same: `Alice`, `alice` and `ALICE` do, and
/// so do `Élodie` and `élodie` (Unicode lowercase, not just ASCII).
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// Message text made safe to print on someone else's terminal: every
/// control character except tab becomes [`REPLACEMENT`].
///
/// ESC starts the sequences that move the cursor, change colours or clear
/// the screen (`\x1b[2J`); BEL beeps; `\r` rewrites the line so a message can
/// pretend to be from someone else. Frames can carry a `\n` too, and it is
/// replaced like the rest: printed raw, it would start a new line that
/// could pretend to be `SERVER: bob has left the chat.` The message still
/// arrives whole, as one frame. Replacing (rather than deleting) shows
/// the reader that something was there. Borrowed when nothing changes,
/// which is almost always, so the common case costs no allocation.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\t';
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
    fn good_names_are_trimmed_and_accepted() {
        assert_eq!(validate("  alice \t"), Ok("alice"));
        assert_eq!(validate("Zoë"), Ok("Zoë"));
        assert_eq!(validate("Łukasz_🦀"), Ok("Łukasz_🦀"));
        assert_eq!(validate("server2"), Ok("server2"));
        let exactly_32 = "é".repeat(MAX_NAME_CHARS);
        assert_eq!(validate(&exactly_32), Ok(exactly_32.as_str()));
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        assert_eq!(validate(""), Err(NameError::Empty));
        assert_eq!(validate("   "), Err(NameError::Empty));
        assert_eq!(validate("al ice"), Err(NameError::Whitespace));
        assert_eq!(validate("al\u{a0}ice"), Err(NameError::Whitespace));
        assert_eq!(validate(&"a".repeat(33)), Err(NameError::TooLong));
        assert_eq!(validate("a\x1b[2Jb"), Err(NameError::Control));
        assert_eq!(validate("a\0b"), Err(NameError::Control));
        assert_eq!(validate("a\tb"), Err(NameError::Control));
        assert_eq!(validate("a\u{9b}b"), Err(NameError::Control));
        assert_eq!(validate("a\u{fffd}b"), Err(NameError::InvalidUtf8));
        assert_eq!(validate("/who"), Err(NameError::Slash));
        for reserved in ["SERVER", "server", "Server", "sErVeR"] {
            assert_eq!(validate(reserved), Err(NameError::Reserved));
        }
    }

    #[test]
    fn names_compare_without_case() {
        assert!(same_name("alice", "ALICE"));
        assert!(same_name("Élodie", "éLODIE"));
        assert!(!same_name("alice", "alicia"));
    }

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
        assert_eq!(sanitize("two\nlines"), "two\u{fffd}lines");
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            NameError::TooLong.to_string(),
            "a name has at most 32 characters"
        );
        assert_eq!(
            NameError::Taken("Bob".into()).to_string(),
            "the name Bob is taken"
        );
    }
}
