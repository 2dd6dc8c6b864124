//! What a name may be, and what text may reach another client's screen.
//!
//! A classroom will try everything: an empty name, `SERVER` (to fake
//! notices), `alice` when Alice is already here, a name with an escape
//! sequence that clears everyone's terminal. And the cleverer tricks, which
//! all look right on screen: `SERVER` followed by an invisible zero-width
//! space, `ЅERVER` spelt with a Cyrillic `Ѕ`, `cаnary` with a Cyrillic `а`
//! next to the real `canary`, `SERVER:` (so that every message reads
//! `SERVER:: ...`), a name holding U+202E RIGHT-TO-LEFT OVERRIDE, which
//! prints the rest of every line it appears in backwards.
//!
//! Names are *refused* with a reason, so the person can pick another;
//! message text is *repaired*, so a stray byte never costs anyone their
//! message.
//!
//! Which characters look alike, which are invisible, which alphabet a
//! letter belongs to: that is data, tens of thousands of characters of it,
//! kept up to date by the Unicode Consortium. We do not copy it by hand.
//! Two small crates carry it: `unicode-security` (Unicode Technical Standard
//! #39: a name's *skeleton*, and whether it mixes scripts) and
//! `unicode-properties` (each character's general category).

use std::borrow::Cow;
use std::fmt;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::{MixedScript, skeleton};

/// The longest name, in characters (not bytes: `Zoë` is 3 characters).
pub const MAX_NAME_CHARS: usize = 32;

/// What replaces a control character in a message: the same character
/// `from_utf8_lossy` uses for invalid UTF-8, so there is one rule to learn:
/// "whatever cannot be shown safely becomes �".
pub const REPLACEMENT: char = char::REPLACEMENT_CHARACTER;

/// The name nobody may have, nor anything that looks like it.
const RESERVED: &str = "SERVER";

/// Why a name was refused. The text (after `SERVER: `) goes to the asker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    Whitespace,
    Control,
    InvalidUtf8,
    /// A format character (general category Cf): zero-width spaces and
    /// joiners, bidi controls, soft hyphens... all invisible.
    Invisible,
    Colon,
    Slash,
    /// `SERVER`, in any case or any disguise.
    Reserved,
    /// Letters of two scripts (Latin and Cyrillic, say) in one name.
    MixedScripts,
    /// Someone else has this name, in some case (the name they asked for).
    Taken(String),
    /// Someone else has a name that looks the same: (asked for, present).
    LooksLike(String, String),
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "a name cannot be empty"),
            NameError::TooLong => write!(f, "a name has at most {MAX_NAME_CHARS} characters"),
            NameError::Whitespace => write!(f, "a name cannot contain spaces"),
            NameError::Control => write!(f, "a name cannot contain control characters"),
            NameError::InvalidUtf8 => write!(f, "a name must be valid UTF-8"),
            NameError::Invisible => write!(f, "a name cannot contain invisible characters"),
            NameError::Colon => write!(f, "a name cannot contain :"),
            NameError::Slash => write!(f, "a name cannot start with /"),
            NameError::Reserved => write!(f, "the name SERVER is reserved"),
            NameError::MixedScripts => write!(
                f,
                "a name cannot mix alphabets (such as Latin and Cyrillic letters)"
            ),
            NameError::Taken(name) => write!(f, "the name {name} is taken"),
            NameError::LooksLike(name, present) => {
                write!(f, "the name {name} looks like {present}, who is here")
            }
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
    // The line was decoded with `from_utf8_lossy`, so invalid bytes are
    // U+FFFD by now. In a message that is fine; as a name it would be
    // unreadable and impossible to type back (`/name`), so refuse it.
    if name.contains(REPLACEMENT) {
        return Err(NameError::InvalidUtf8);
    }
    // Every separator (general categories Zs, Zl, Zp: the no-break space,
    // the ideographic space, U+2028...) is whitespace to `char`.
    if name.chars().any(char::is_whitespace) {
        return Err(NameError::Whitespace);
    }
    // Format characters print as nothing, yet make two names differ:
    // `SERVER` and `SERVER` + U+200B look the same and are not equal. The
    // bidi controls among them also reorder what follows on the line.
    if name.chars().any(is_format) {
        return Err(NameError::Invisible);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    // `/who` as a name would look like a command in every message.
    if name.starts_with('/') {
        return Err(NameError::Slash);
    }
    let key = Key::new(name);
    // `bob:` would make every message read `bob:: ...`, and `SERVER:`, a
    // notice. Compared on the skeleton, so that a fullwidth `：` counts too.
    if key.shape.contains(':') {
        return Err(NameError::Colon);
    }
    // Only characters the skeleton ignores (such as the Hangul filler,
    // U+3164, a letter that is drawn as nothing): the name would look empty.
    if key.shape.is_empty() {
        return Err(NameError::Invisible);
    }
    if key.clashes(&Key::new(RESERVED)) {
        return Err(NameError::Reserved);
    }
    // A name in one script may still look like a name in another (`рау`
    // in Cyrillic, `pay` in Latin): the room compares skeletons for that.
    // Mixing scripts in one name has no use but to deceive. Digits, `_`,
    // emoji and the like belong to every script, so `Łukasz_🦀` is fine.
    if !name.is_single_script() {
        return Err(NameError::MixedScripts);
    }
    Ok(name)
}

/// What two names are compared by, computed once per name: the room keeps
/// each member's key, so a newcomer is compared with everyone at once.
///
/// The *skeleton* (Unicode Technical Standard #39) replaces every character
/// by the one it is easily mistaken for (Cyrillic `а` and `Ѕ` by Latin `a`
/// and `S`, `0` by `O`, a capital `I` by `l`...) and drops the invisible
/// ones: two names that look alike have the same skeleton.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The skeleton of the lowercase name, in lowercase: names that look
    /// alike once the case is ignored (`ALICE` and `alice`, `b0b` and `bob`).
    folded: String,
    /// The skeleton of the name as typed, in lowercase: a capital `I` looks
    /// like an `l`, but its lowercase `i` does not (`aIice` and `alice`).
    shape: String,
}

impl Key {
    pub fn new(name: &str) -> Key {
        let skeleton_of = |text: &str| skeleton(text).collect::<String>().to_lowercase();
        Key {
            folded: skeleton_of(&name.to_lowercase()),
            shape: skeleton_of(name),
        }
    }

    /// Whether two names could be taken one for the other.
    pub fn clashes(&self, other: &Key) -> bool {
        self.folded == other.folded || self.shape == other.shape
    }
}

/// Why `proposed` may not join while `present` is here (their keys clash):
/// the same name in another case is *taken*; otherwise it *looks like* it.
pub fn clash(proposed: &str, present: &str) -> NameError {
    if proposed.to_lowercase() == present.to_lowercase() {
        NameError::Taken(proposed.to_string())
    } else {
        NameError::LooksLike(proposed.to_string(), present.to_string())
    }
}

/// A format character (general category Cf): invisible by definition.
fn is_format(c: char) -> bool {
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
    }

    #[test]
    fn names_that_pass_for_server_are_reserved() {
        // Any case, a Cyrillic Ѕ (U+0405), a zero as the O of nothing (no O
        // in SERVER, but `5ERVER`: 5 is not S), a fullwidth SERVER.
        for reserved in [
            "SERVER",
            "sErVeR",
            "\u{405}ERVER",
            "\u{455}erver",
            "ＳＥＲＶＥＲ",
        ] {
            assert_eq!(validate(reserved), Err(NameError::Reserved), "{reserved}");
        }
        assert_eq!(validate("5ERVER"), Ok("5ERVER"));
        // Invisible characters, bidi controls and colons are refused before
        // the lookalike test even runs.
        for invisible in [
            "SERVER\u{200b}",
            "SER\u{ad}VER",
            "\u{202e}REVRES",
            "bob\u{2066}",
        ] {
            assert_eq!(
                validate(invisible),
                Err(NameError::Invisible),
                "{invisible:?}"
            );
        }
        assert_eq!(validate("SERVER:"), Err(NameError::Colon));
        assert_eq!(validate("bob\u{ff1a}"), Err(NameError::Colon));
        // Hangul fillers only: drawn as nothing, so it would look empty.
        assert_eq!(validate("\u{3164}\u{3164}"), Err(NameError::Invisible));
        // U+2028, the line separator, is whitespace.
        assert_eq!(validate("a\u{2028}b"), Err(NameError::Whitespace));
    }

    #[test]
    fn a_name_mixing_scripts_is_refused() {
        assert_eq!(validate("c\u{430}nary"), Err(NameError::MixedScripts));
        assert_eq!(validate("p\u{430}ypal"), Err(NameError::MixedScripts));
        // One script, digits and emoji included, is fine; Japanese mixes
        // kana and kanji by nature and counts as one.
        for fine in [
            "канарейка",
            "ひらがな漢字",
            "ロボット2号",
            "Łukasz_🦀",
            "❤\u{fe0f}",
        ] {
            assert_eq!(validate(fine), Ok(fine));
        }
    }

    #[test]
    fn keys_clash_for_names_that_look_alike() {
        let clash = |a: &str, b: &str| Key::new(a).clashes(&Key::new(b));
        assert!(clash("alice", "ALICE"));
        assert!(clash("Élodie", "éLODIE"));
        // Precomposed é and e with a combining accent.
        assert!(clash("\u{e9}lodie", "e\u{301}lodie"));
        assert!(clash("canary", "c\u{430}nary"));
        assert!(clash("bob", "b0b"));
        assert!(clash("alice", "aIice"));
        assert!(clash("coco", "\u{441}\u{43e}\u{441}\u{43e}"));
        assert!(!clash("alice", "alicia"));
        assert!(!clash("ann", "anne"));
    }

    #[test]
    fn clashes_say_taken_or_looks_like() {
        assert_eq!(clash("ALICE", "alice"), NameError::Taken("ALICE".into()));
        assert_eq!(
            clash("c\u{430}nary", "canary"),
            NameError::LooksLike("c\u{430}nary".into(), "canary".into())
        );
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
