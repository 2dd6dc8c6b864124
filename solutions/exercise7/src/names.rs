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
