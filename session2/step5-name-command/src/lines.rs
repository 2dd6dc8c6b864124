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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_whole_line() {
        let mut buffer = LineBuffer::new();
        assert_eq!(buffer.push(b"hello\n"), ["hello"]);
    }

    #[test]
    fn no_newline_no_line_yet() {
        let mut buffer = LineBuffer::new();
        assert!(buffer.push(b"hello").is_empty());
        assert!(buffer.push(b", world").is_empty());
        assert_eq!(buffer.push(b"!\n"), ["hello, world!"]);
    }

    #[test]
    fn three_lines_in_one_chunk() {
        let mut buffer = LineBuffer::new();
        assert_eq!(buffer.push(b"one\ntwo\nthree\n"), ["one", "two", "three"]);
    }

    #[test]
    fn a_chunk_ends_one_line_and_starts_the_next() {
        let mut buffer = LineBuffer::new();
        assert_eq!(buffer.push(b"one\ntw"), ["one"]);
        assert_eq!(buffer.push(b"o\nthr"), ["two"]);
        assert_eq!(buffer.push(b"ee\n"), ["three"]);
    }

    #[test]
    fn one_byte_at_a_time() {
        let mut buffer = LineBuffer::new();
        let mut lines = Vec::new();
        for &byte in b"byte by byte\nand again\n" {
            lines.extend(buffer.push(&[byte]));
        }
        assert_eq!(lines, ["byte by byte", "and again"]);
    }

    #[test]
    fn crlf_loses_its_cr() {
        let mut buffer = LineBuffer::new();
        assert_eq!(buffer.push(b"windows\r\nunix\n"), ["windows", "unix"]);
        // The `\r` may come in one chunk and the `\n` in the next.
        assert!(buffer.push(b"split\r").is_empty());
        assert_eq!(buffer.push(b"\n"), ["split"]);
    }

    #[test]
    fn only_a_trailing_cr_is_dropped() {
        let mut buffer = LineBuffer::new();
        assert_eq!(buffer.push(b"a\rb\r\r\n"), ["a\rb\r"]);
    }

    #[test]
    fn empty_lines_are_returned_as_empty_strings() {
        // Whether to ignore them is the server's business, not the framing's.
        let mut buffer = LineBuffer::new();
        assert_eq!(buffer.push(b"\n\r\nx\n"), ["", "", "x"]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut buffer = LineBuffer::new();
        assert_eq!(buffer.push(b"caf\xff!\n"), ["caf\u{FFFD}!"]);
    }

    #[test]
    fn a_character_split_across_chunks_stays_whole() {
        // "é" is two bytes in UTF-8; each chunk holds one of them.
        let mut buffer = LineBuffer::new();
        assert!(buffer.push(b"caf\xc3").is_empty());
        assert_eq!(buffer.push(b"\xa9\n"), ["café"]);
    }

    #[test]
    fn the_buffer_forgets_delivered_lines() {
        let mut buffer = LineBuffer::new();
        assert_eq!(buffer.push(b"first\nsec"), ["first"]);
        assert_eq!(buffer.pending, b"sec");
        assert_eq!(buffer.push(b"ond\n"), ["second"]);
        assert!(buffer.pending.is_empty());
    }
}
