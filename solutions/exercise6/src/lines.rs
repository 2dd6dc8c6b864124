//! Newline framing: turning a stream of bytes into lines, now with a limit.
//!
//! TCP delivers bytes, not messages: one `read` may return half a line, or
//! three lines and the start of a fourth. A [`LineBuffer`] belongs to one
//! connection. Every chunk read from that connection is pushed into it, and
//! out come the lines the chunk completed; whatever follows the last newline
//! waits in the buffer for the next chunk.
//!
//! **New in step 6:** the buffer is bounded. In step 5, a client that sends
//! 64 MiB without a newline makes the server hold 64 MiB, and ten such
//! clients take it down. Here a line longer than `max_line` bytes stops the
//! buffer as soon as it can tell, even before the newline comes (it may
//! never come), so it never holds more than `max_line` plus one chunk.
//!
//! The way out is here too: [`encode`] is the one place that knows a message
//! travels as its bytes and a `\n`. Step 7 swaps this file for
//! length-prefixed frames; the rest of the server does not change.
//!
//! No sockets and no threads in here, so it can be tested on its own.

/// The bytes of one connection that do not make a whole line yet.
#[derive(Debug)]
pub struct LineBuffer {
    /// Everything received after the last `\n`. It never holds a `\n`.
    pending: Vec<u8>,
    /// The most bytes a line may have, not counting its `\n` or `\r\n`.
    max_line: usize,
    /// Set once a line went over the limit; the buffer is dead from then on.
    too_long: bool,
}

impl LineBuffer {
    /// An empty buffer, for a new connection, taking lines of at most
    /// `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        LineBuffer {
            pending: Vec::new(),
            max_line,
            too_long: false,
        }
    }

    /// Adds one chunk, of any size, and returns the lines it completed, in
    /// order, without their `\n`.
    ///
    /// If a line is over the limit, the lines before it are returned, and
    /// from then on [`is_too_long`](Self::is_too_long) says so and nothing
    /// more comes out: the connection should be closed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        if self.too_long {
            return Vec::new();
        }
        // `pending` holds no newline, so only the new bytes need searching:
        // a long line arriving in many small chunks is scanned once.
        let mut search_from = self.pending.len();
        self.pending.extend_from_slice(chunk);

        let mut lines = Vec::new();
        let mut line_start = 0;
        while let Some(offset) = self.pending[search_from..]
            .iter()
            .position(|&byte| byte == b'\n')
        {
            let newline = search_from + offset;
            let line = &self.pending[line_start..newline];
            if self.over_limit(line) {
                return self.give_up(lines);
            }
            lines.push(to_text(line));
            line_start = newline + 1;
            search_from = line_start;
        }
        // Keep only the unfinished tail for next time...
        self.pending.drain(..line_start);
        // ...unless it is already too long to ever make a valid line. This
        // check is what bounds the memory: without it, 64 MiB and no newline
        // would sit here waiting.
        if self.over_limit(&self.pending) {
            return self.give_up(lines);
        }
        lines
    }

    /// Whether a line went over the limit.
    pub fn is_too_long(&self) -> bool {
        self.too_long
    }

    /// Whether `line` (perhaps still waiting for its `\n`) has more than
    /// `max_line` bytes. A trailing `\r` does not count: it is part of a
    /// `\r\n` line ending, maybe with the `\n` still on its way.
    fn over_limit(&self, line: &[u8]) -> bool {
        let carriage_return = usize::from(line.ends_with(b"\r"));
        line.len() > self.max_line + carriage_return
    }

    /// Stops for good: frees the buffer and returns the lines completed
    /// before the long one, which are as valid as ever.
    fn give_up(&mut self, lines: Vec<String>) -> Vec<String> {
        self.too_long = true;
        self.pending = Vec::new();
        lines
    }
}

/// One line's bytes as text. A trailing `\r` is dropped (Windows clients end
/// lines with `\r\n`), and invalid UTF-8 is replaced with U+FFFD instead of
/// being refused: one bad byte must not cost a client its connection.
fn to_text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

/// Appends one message to `out` as it travels on the wire: its bytes, then
/// `\n`. Each client's writer thread calls this for every message it sends.
pub fn encode(message: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(message.as_bytes());
    out.push(b'\n');
}
