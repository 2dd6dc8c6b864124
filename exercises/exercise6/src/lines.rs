//! Newline framing: turning a stream of bytes into lines.
//!
//! TCP delivers bytes, not messages: one `read` may return half a line, or
//! three lines and the start of a fourth. A [`LineBuffer`] belongs to one
//! connection. Every chunk read from that connection is pushed into it, and
//! out come the lines the chunk completed; whatever follows the last newline
//! waits in the buffer for the next chunk.
//!
//! The way out is here too: [`encode`] is the one place that knows a message
//! travels as its bytes and a `\n`.
//!
//! No sockets and no threads in here, so it can be tested on its own.

/// The bytes of one connection that do not make a whole line yet.
#[derive(Debug, Default)]
pub struct LineBuffer {
    /// Everything received after the last `\n`. It never holds a `\n`.
    ///
    /// A client that never sends a newline makes this grow without limit;
    /// step 8 (the bonus) caps it.
    pending: Vec<u8>,
}

impl LineBuffer {
    /// An empty buffer, for a new connection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one chunk, of any size, and returns the lines it completed, in
    /// order, without their `\n`.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
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
            lines.push(to_text(&self.pending[line_start..newline]));
            line_start = newline + 1;
            search_from = line_start;
        }
        // Keep only the unfinished tail for next time.
        self.pending.drain(..line_start);
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
