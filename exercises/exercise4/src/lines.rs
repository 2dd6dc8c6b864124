//! Newline framing: turning a stream of bytes into lines.
//!
//! TCP delivers bytes, not messages: one `read` may return half a line, or
//! three lines and the start of a fourth. A [`LineBuffer`] belongs to one
//! connection. Every chunk read from that connection is pushed into it, and
//! out come the lines the chunk completed; whatever follows the last newline
//! waits in the buffer for the next chunk.
//!
//! No sockets and no threads in here, so it can be tested on its own.

/// The bytes of one connection that do not make a whole line yet.
#[derive(Debug, Default)]
pub struct LineBuffer {
    // TODO: a field for the bytes received after the last `\n` (a
    // `Vec<u8>`), so that the next chunk can finish that line.
}

impl LineBuffer {
    /// An empty buffer, for a new connection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one chunk, of any size, and returns the lines it completed, in
    /// order, without their `\n`.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        // TODO: this treats every chunk as exactly one line. That holds when
        // you type slowly, and fails as soon as TCP merges or splits writes:
        // two lines sent together come out as one, and a line sent in
        // pieces comes out as several. Instead, add the chunk to the bytes
        // kept from before, return every line that now ends with `\n`
        // (each without its `\n`, through `to_text`), and keep whatever
        // follows the last `\n` for the next call.
        let line = chunk.strip_suffix(b"\n").unwrap_or(chunk);
        vec![to_text(line)]
    }
}

/// One line's bytes as text. A trailing `\r` is dropped (Windows clients end
/// lines with `\r\n`), and invalid UTF-8 is replaced with U+FFFD instead of
/// being refused: one bad byte must not cost a client its connection.
fn to_text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}
