//! The progress line: redrawn in place on stderr while a run goes, and only
//! when stderr is a terminal, so logs and CI output stay clean.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::term::{self, Colour};

/// Redraw at most this often.
const REDRAW: Duration = Duration::from_millis(100);

/// A progress line for one case of the bench.
pub struct Progress {
    label: String,
    enabled: bool,
    colour: bool,
    last_draw: Mutex<Option<Instant>>,
}

impl Progress {
    /// A progress line that shows only on a terminal.
    pub fn new(label: &str) -> Progress {
        Progress {
            label: label.to_string(),
            enabled: std::io::stderr().is_terminal(),
            colour: term::colour_enabled(),
            last_draw: Mutex::new(None),
        }
    }

    /// Shows a short note (a phase of the run).
    pub fn note(&self, text: &str) {
        self.draw(text);
    }

    /// Shows how many of the expected deliveries have arrived.
    pub fn deliveries(&self, done: u64, expected: u64) {
        let percent = (done * 100).checked_div(expected).unwrap_or(100);
        self.draw(&format!("{done}/{expected} deliveries ({percent}%)"));
    }

    /// Erases the line.
    pub fn clear(&self) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }

    fn draw(&self, text: &str) {
        if !self.enabled {
            return;
        }
        let mut last = self.last_draw.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < REDRAW) {
            return;
        }
        *last = Some(Instant::now());
        let label = term::paint(&self.label, Colour::Cyan, self.colour);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{label}  {text}");
        let _ = err.flush();
    }
}
