//! Terminal output: colour only on a terminal (or when `CLICOLOR_FORCE`
//! says so), and never when `NO_COLOR` is set (https://no-color.org). One
//! place decides, every command asks here.
//!
//! And a stdout that may close under us: `cargo xtask check 4 | head -1`
//! closes the pipe after one line. `println!` would panic then; [`say`]
//! notes it and stays quiet from there on, so the command ends normally
//! (and kills the servers it started) without a word on stderr.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write to stdout failed (the reader went away).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Prints `text` and a newline on stdout, or nothing once stdout is closed.
pub fn say(text: impl Display) {
    write_out(format_args!("{text}\n"));
}

/// Prints `text` as it is (no newline added), or nothing once stdout is closed.
pub fn say_raw(text: impl Display) {
    write_out(format_args!("{text}"));
}

fn write_out(args: std::fmt::Arguments) {
    if stdout_closed() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if out.write_fmt(args).and_then(|()| out.flush()).is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Whether stdout was closed by its reader: nothing more will be seen, so
/// work done only to be printed can stop.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Whether stdout should get ANSI colours: on a terminal that understands
/// them, or when `CLICOLOR_FORCE` asks (https://bixense.com/clicolors/:
/// `watch` pipes `check` into a terminal it already set up).
pub fn colour_enabled() -> bool {
    let forced = std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0");
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && (forced || (std::io::stdout().is_terminal() && console_understands_ansi()))
}

/// The classic Windows console prints escape codes as text (`←[31mFAIL`)
/// until its virtual-terminal processing is switched on; where it cannot
/// be (before Windows 10), colour stays off. Elsewhere: yes.
fn console_understands_ansi() -> bool {
    static ANSI: OnceLock<bool> = OnceLock::new();
    *ANSI.get_or_init(|| anstyle_query::windows::enable_ansi_colors().unwrap_or(true))
}

/// The colours the course uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    Bold,
    Dim,
}

impl Colour {
    fn code(self) -> &'static str {
        match self {
            Colour::Red => "31",
            Colour::Green => "32",
            Colour::Yellow => "33",
            Colour::Blue => "34",
            Colour::Magenta => "35",
            Colour::Cyan => "36",
            Colour::Bold => "1",
            Colour::Dim => "2",
        }
    }
}

/// Wraps `text` in the colour when `enabled`, else returns it unchanged.
pub fn paint(text: &str, colour: Colour, enabled: bool) -> String {
    if enabled {
        format!("\x1b[{}m{text}\x1b[0m", colour.code())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_is_plain_when_disabled() {
        assert_eq!(paint("ok", Colour::Green, false), "ok");
        assert_eq!(paint("ok", Colour::Green, true), "\x1b[32mok\x1b[0m");
    }
}
