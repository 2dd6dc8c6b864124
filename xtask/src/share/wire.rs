//! What a student's `check` sends to the class board and what the board
//! answers: one place for both sides (the board, package `class-board`,
//! reads this module too).
//!
//! A student's machine opens one connection per result and sends one line
//! of JSON: the `--json` rows of the check, cut down to what the board
//! shows, plus the name and the exercise:
//!
//! ```text
//! {"name":"alice","exercise":1,"builds":true,"rows":[{"scenario":"a line comes back unchanged","passed":false,"seconds":0.012,"diagnosis":"closed-early"}, ...]}
//! ```
//!
//! (`"builds":false` and no rows when the exercise does not compile; a
//! scenario that could not be run has `"tested":false`.) The transcripts,
//! hints and expected bytes stay on the student's laptop: the board needs
//! the verdicts only, and the line stays far below [`MAX_LINE`].
//!
//! The board answers one line, `ok: ...` or `refused: ...`, and closes.

use std::fmt::Write as _;
use std::time::Duration;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::grader::Report;
use crate::json;

/// The board's port, next to the echo (65432) and chat (65433) servers'.
pub const DEFAULT_PORT: u16 = 65434;

/// The longest line the board reads; past it, the sender is refused.
pub const MAX_LINE: usize = 16 * 1024;

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 32;

/// The most a student's check waits for the board, all told: looking up
/// its name, connecting, sending, reading the answer.
pub const SEND_DEADLINE: Duration = Duration::from_secs(2);

/// How the board's answer starts when it recorded the result.
pub const OK: &str = "ok: ";

/// How the board's answer starts when it did not.
pub const REFUSED: &str = "refused: ";

/// The line `check` sends for exercise `exercise` graded as `report`
/// (`None`: it does not build), without the newline.
pub fn report_line(name: &str, exercise: u8, report: Option<&Report>) -> String {
    let mut line = format!(
        "{{\"name\":{},\"exercise\":{exercise},\"builds\":{}",
        json::string(name),
        report.is_some()
    );
    if let Some(report) = report {
        let mut rows = Vec::new();
        for outcome in &report.outcomes {
            let mut row = format!(
                "{{\"scenario\":{},\"passed\":{},\"seconds\":{:.3}",
                json::string(outcome.scenario),
                outcome.passed(),
                outcome.elapsed.as_secs_f64()
            );
            if let Some(diagnosis) = outcome.diagnosis.as_ref().filter(|_| !outcome.passed()) {
                let _ = write!(row, ",\"diagnosis\":{}", json::string(diagnosis.id));
            }
            row.push('}');
            rows.push(row);
        }
        for scenario in &report.not_run {
            rows.push(format!(
                "{{\"scenario\":{},\"passed\":false,\"tested\":false}}",
                json::string(scenario)
            ));
        }
        let _ = write!(line, ",\"rows\":[{}]", rows.join(","));
    }
    line.push('}');
    line
}

/// Whether `name` may stand on the board: 1 to [`MAX_NAME_CHARS`]
/// characters, no spaces at either end, no control characters (a terminal
/// would obey them), no invisible or direction-changing ones (a name that
/// reads backwards, or looks like a classmate's), no line breaks, no tabs.
/// The reason, when not.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the name is empty".into());
    }
    if name.trim() != name {
        return Err("the name starts or ends with a space".into());
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "the name has {chars} characters; {MAX_NAME_CHARS} at most"
        ));
    }
    for c in name.chars() {
        let what = match c.general_category() {
            GeneralCategory::Control => Some("a control character"),
            GeneralCategory::Format => Some("an invisible or direction-changing character"),
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
                Some("a line break")
            }
            GeneralCategory::PrivateUse | GeneralCategory::Surrogate => {
                Some("a private-use character")
            }
            GeneralCategory::Unassigned => Some("an unassigned character"),
            _ if c.is_whitespace() && c != ' ' => Some("a space other than a plain one"),
            _ => None,
        };
        if let Some(what) = what {
            return Err(format!(
                "the name holds {what} (U+{:04X}); use letters, digits and plain spaces",
                u32::from(c)
            ));
        }
    }
    Ok(())
}

/// `HOST`, `HOST:PORT`, `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6
/// address, as `(host, port)`: the port is [`DEFAULT_PORT`] when left out.
pub fn parse_board(text: &str) -> Result<(String, u16), String> {
    let text = text.trim();
    let usage = || {
        format!(
            "`{text}` is not a board address: use HOST or HOST:PORT, as the board prints it \
             (for example 192.168.1.20:{DEFAULT_PORT})"
        )
    };
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(usage());
    }
    // A bare IPv6 address has colons but no port.
    if text.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok((text.to_string(), DEFAULT_PORT));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(usage)?;
        host.parse::<std::net::Ipv6Addr>().map_err(|_| usage())?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().map_err(|_| usage())?,
            None if after.is_empty() => DEFAULT_PORT,
            None => return Err(usage()),
        };
        return Ok((host.to_string(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.contains(':') => {
            let port: u16 = port.parse().map_err(|_| usage())?;
            if port == 0 {
                return Err(usage());
            }
            Ok((host.to_string(), port))
        }
        Some(_) => Err(usage()),
        None => Ok((text.to_string(), DEFAULT_PORT)),
    }
}

/// `(host, port)` as one address to connect to, brackets around IPv6.
pub fn board_text(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_tricks_are_refused() {
        assert_eq!(check_name("alice"), Ok(()));
        assert_eq!(check_name("Zoë Ng"), Ok(()));
        assert_eq!(check_name("李雷"), Ok(()));
        for bad in [
            "",
            "  ",
            " alice",
            "alice\n",
            "al\x1b[31mice",
            "alice\u{202e}",
            "ali\u{200b}ce",
            "al\tice",
            "a\u{2028}b",
            "\u{e000}",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} passed");
        }
        assert!(check_name(&"a".repeat(MAX_NAME_CHARS)).is_ok());
        let long = check_name(&"é".repeat(MAX_NAME_CHARS + 1)).unwrap_err();
        assert!(long.contains("33 characters"), "{long}");
        let bidi = check_name("bob\u{202e}").unwrap_err();
        assert!(bidi.contains("U+202E"), "{bidi}");
    }

    #[test]
    fn board_addresses_take_the_default_port() {
        let ok = |text: &str| parse_board(text).unwrap();
        assert_eq!(ok("192.168.1.20"), ("192.168.1.20".into(), DEFAULT_PORT));
        assert_eq!(ok("192.168.1.20:7000"), ("192.168.1.20".into(), 7000));
        assert_eq!(ok("teacher.local"), ("teacher.local".into(), DEFAULT_PORT));
        assert_eq!(ok("fd00::2"), ("fd00::2".into(), DEFAULT_PORT));
        assert_eq!(ok("[fd00::2]:7000"), ("fd00::2".into(), 7000));
        assert_eq!(ok("[::1]"), ("::1".into(), DEFAULT_PORT));
        for bad in [
            "", "a b", "host:", "host:x", "host:0", "[::1", "[x]:1", "http://x",
        ] {
            assert!(parse_board(bad).is_err(), "{bad:?} passed");
        }
        assert_eq!(board_text("fd00::2", 7000), "[fd00::2]:7000");
        assert_eq!(board_text("10.0.0.1", 7000), "10.0.0.1:7000");
    }
}
