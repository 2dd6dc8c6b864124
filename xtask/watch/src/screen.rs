//! The terminal while `watch` runs: raw mode (keys arrive one by one, not
//! echoed), what the commands print, and a footer of two lines at the
//! bottom, the progress line and the keys, erased and drawn again under
//! every new line. crossterm moves the cursor and clears lines, with
//! escape codes or the Windows console's own calls, whichever it has.

use std::io::{Stdout, Write};

use crossterm::cursor::{MoveToColumn, MoveToPreviousLine};
use crossterm::terminal::{self, Clear, ClearType};
use crossterm::{execute, queue};

use xtask::term::{Colour, paint};

/// Raw mode, while it lives: dropping it (also on a panic) gives the
/// terminal back as it was.
pub struct RawMode(());

impl RawMode {
    pub fn enable() -> std::io::Result<RawMode> {
        terminal::enable_raw_mode()?;
        Ok(RawMode(()))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
    }
}

/// What is on the screen.
pub struct Screen {
    out: Stdout,
    colour: bool,
    /// The footer to show, one entry per line.
    footer: Vec<String>,
    /// How many footer lines are drawn now (0: none).
    drawn: usize,
}

impl Screen {
    pub fn new(colour: bool) -> Screen {
        Screen {
            out: std::io::stdout(),
            colour,
            footer: Vec::new(),
            drawn: 0,
        }
    }

    pub fn colour(&self) -> bool {
        self.colour
    }

    /// Clears the screen, for a new grading.
    pub fn clear(&mut self) {
        let _ = execute!(
            self.out,
            Clear(ClearType::All),
            crossterm::cursor::MoveTo(0, 0)
        );
        self.drawn = 0;
    }

    /// Prints one line above the footer. In raw mode a newline no longer
    /// returns the carriage: each line ends with both.
    pub fn line(&mut self, text: &str) {
        self.erase_footer();
        let _ = write!(self.out, "{text}\r\n");
    }

    /// A line in `colour` (when colours are on).
    pub fn note(&mut self, text: &str, colour: Colour) {
        let painted = paint(text, colour, self.colour);
        self.line(&painted);
    }

    /// Sets the footer; it is drawn by [`Screen::flush`].
    pub fn set_footer(&mut self, lines: Vec<String>) {
        if lines != self.footer {
            self.erase_footer();
            self.footer = lines;
        }
    }

    /// Draws the footer if it is not on the screen, and flushes.
    pub fn flush(&mut self) {
        if self.drawn == 0 && !self.footer.is_empty() {
            let width = terminal::size().map_or(80, |(w, _)| usize::from(w.max(20)));
            let count = self.footer.len();
            for (i, line) in self.footer.iter().enumerate() {
                // One screen line each, or erasing it would miss a piece.
                let shown: String = line.chars().take(width - 1).collect();
                let shown = paint(
                    &shown,
                    if i == 0 { Colour::Bold } else { Colour::Dim },
                    self.colour,
                );
                let end = if i + 1 < count { "\r\n" } else { "" };
                let _ = write!(self.out, "{shown}{end}");
            }
            self.drawn = count;
        }
        let _ = self.out.flush();
    }

    /// Takes the footer off the screen, leaving the cursor where its first
    /// line began.
    fn erase_footer(&mut self) {
        if self.drawn == 0 {
            return;
        }
        let _ = queue!(self.out, MoveToColumn(0), Clear(ClearType::CurrentLine));
        for _ in 1..self.drawn {
            let _ = queue!(
                self.out,
                MoveToPreviousLine(1),
                Clear(ClearType::CurrentLine)
            );
        }
        self.drawn = 0;
    }

    /// Leaves the screen tidy: the footer stays, the cursor goes below it.
    pub fn finish(&mut self) {
        self.flush();
        let _ = write!(self.out, "\r\n");
        let _ = self.out.flush();
    }
}
