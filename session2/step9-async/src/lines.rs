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
/// `\n`. Each client's writer task calls this for every message it sends.
pub fn encode(message: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(message.as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Roomy enough that the step 4 tests below never reach it.
    const ROOMY: usize = 4096;

    #[test]
    fn one_whole_line() {
        let mut buffer = LineBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"hello\n"), ["hello"]);
    }

    #[test]
    fn no_newline_no_line_yet() {
        let mut buffer = LineBuffer::new(ROOMY);
        assert!(buffer.push(b"hello").is_empty());
        assert!(buffer.push(b", world").is_empty());
        assert_eq!(buffer.push(b"!\n"), ["hello, world!"]);
    }

    #[test]
    fn three_lines_in_one_chunk() {
        let mut buffer = LineBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"one\ntwo\nthree\n"), ["one", "two", "three"]);
    }

    #[test]
    fn a_chunk_ends_one_line_and_starts_the_next() {
        let mut buffer = LineBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"one\ntw"), ["one"]);
        assert_eq!(buffer.push(b"o\nthr"), ["two"]);
        assert_eq!(buffer.push(b"ee\n"), ["three"]);
    }

    #[test]
    fn one_byte_at_a_time() {
        let mut buffer = LineBuffer::new(ROOMY);
        let mut lines = Vec::new();
        for &byte in b"byte by byte\nand again\n" {
            lines.extend(buffer.push(&[byte]));
        }
        assert_eq!(lines, ["byte by byte", "and again"]);
    }

    #[test]
    fn crlf_loses_its_cr() {
        let mut buffer = LineBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"windows\r\nunix\n"), ["windows", "unix"]);
        // The `\r` may come in one chunk and the `\n` in the next.
        assert!(buffer.push(b"split\r").is_empty());
        assert_eq!(buffer.push(b"\n"), ["split"]);
    }

    #[test]
    fn only_a_trailing_cr_is_dropped() {
        let mut buffer = LineBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"a\rb\r\r\n"), ["a\rb\r"]);
    }

    #[test]
    fn empty_lines_are_returned_as_empty_strings() {
        // Whether to ignore them is the server's business, not the framing's.
        let mut buffer = LineBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"\n\r\nx\n"), ["", "", "x"]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut buffer = LineBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"caf\xff!\n"), ["caf\u{FFFD}!"]);
    }

    #[test]
    fn a_character_split_across_chunks_stays_whole() {
        // "é" is two bytes in UTF-8; each chunk holds one of them.
        let mut buffer = LineBuffer::new(ROOMY);
        assert!(buffer.push(b"caf\xc3").is_empty());
        assert_eq!(buffer.push(b"\xa9\n"), ["café"]);
    }

    #[test]
    fn the_buffer_forgets_delivered_lines() {
        let mut buffer = LineBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"first\nsec"), ["first"]);
        assert_eq!(buffer.pending, b"sec");
        assert_eq!(buffer.push(b"ond\n"), ["second"]);
        assert!(buffer.pending.is_empty());
    }

    // The limit, new in step 6.

    #[test]
    fn exactly_the_limit_is_accepted_with_either_ending() {
        for ending in [&b"\n"[..], b"\r\n"] {
            let mut bytes = b"12345678".to_vec();
            bytes.extend_from_slice(ending);
            assert_eq!(decode(8, &[&bytes]), (vec!["12345678".to_string()], false));
            // Byte by byte too, so the `\r` waits alone for its `\n`.
            let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(decode(8, &bytewise), (vec!["12345678".to_string()], false));
        }
    }

    #[test]
    fn one_byte_over_the_limit_is_refused() {
        assert_eq!(decode(8, &[b"123456789\n"]), (vec![], true));
        assert_eq!(decode(8, &[b"123456789\r\n"]), (vec![], true));
    }

    #[test]
    fn lines_before_the_long_one_still_come_out() {
        let mut buffer = LineBuffer::new(8);
        assert_eq!(buffer.push(b"ok\nfine\n123456789\nlost\n"), ["ok", "fine"]);
        assert!(buffer.is_too_long());
        // Dead from now on.
        assert!(buffer.push(b"more\n").is_empty());
    }

    #[test]
    fn a_long_line_is_refused_before_its_newline() {
        let mut buffer = LineBuffer::new(4096);
        let chunk = [b'x'; 1024];
        let mut pushed = 0;
        while !buffer.is_too_long() {
            assert!(buffer.push(&chunk).is_empty());
            pushed += chunk.len();
            assert!(pushed <= 64 << 20, "64 MiB and still buffering");
        }
        // Refused at the first chunk past the limit, and nothing kept.
        assert_eq!(pushed, 5 * 1024);
        assert_eq!(buffer.pending.capacity(), 0);
    }

    #[test]
    fn encode_appends_a_newline() {
        let mut out = b"a\n".to_vec();
        encode("bob: hi", &mut out);
        assert_eq!(out, b"a\nbob: hi\n");
    }

    /// Everything a buffer hands out for `chunks` fed one after the other:
    /// the lines, and whether it stopped on a line over `max_line`.
    fn decode(max_line: usize, chunks: &[&[u8]]) -> (Vec<String>, bool) {
        let mut buffer = LineBuffer::new(max_line);
        let mut lines = Vec::new();
        for chunk in chunks {
            lines.extend(buffer.push(chunk));
        }
        (lines, buffer.is_too_long())
    }

    /// Cuts `bytes` at the given offsets (in any order, repeats allowed).
    fn split_at<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut cuts = cuts.to_vec();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut from = 0;
        for cut in cuts {
            chunks.push(&bytes[from..cut]);
            from = cut;
        }
        chunks.push(&bytes[from..]);
        chunks
    }

    /// A byte stream of lines (any bytes but `\n`, so also `\r`, invalid
    /// UTF-8 and halves of characters; some lines end in `\r\n`), perhaps
    /// with an unfinished last line, and offsets where TCP might cut it.
    fn stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
        let line = (
            prop::collection::vec(
                any::<u8>().prop_filter("not a newline", |b| *b != b'\n'),
                0..40,
            ),
            any::<bool>(),
        );
        (prop::collection::vec(line, 0..20), any::<bool>()).prop_flat_map(|(lines, unfinished)| {
            let mut bytes = Vec::new();
            for (line, crlf) in lines {
                bytes.extend_from_slice(&line);
                bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            }
            if unfinished {
                bytes.extend_from_slice("half a lin\u{e9}".as_bytes());
            }
            let len = bytes.len();
            (Just(bytes), prop::collection::vec(0..=len, 0..12))
        })
    }

    proptest! {
        /// However TCP cuts the stream, the same lines come out, and a line
        /// over the limit is refused at the same place.
        #[test]
        fn any_split_decodes_to_the_same_lines(
            (bytes, cuts) in stream_and_cuts(),
            max_line in 0usize..48,
        ) {
            let whole = decode(max_line, &[&bytes]);
            prop_assert_eq!(&decode(max_line, &split_at(&bytes, &cuts)), &whole);
            let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
            prop_assert_eq!(&decode(max_line, &bytewise), &whole);
        }

        /// Within the limit, the lines that come out are exactly the lines
        /// that went in.
        #[test]
        fn lines_come_out_as_sent(
            lines in prop::collection::vec("[^\n\r]{0,30}", 0..20),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let bytes: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\n").into_bytes()).collect();
            let cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            prop_assert_eq!(decode(ROOMY, &split_at(&bytes, &cuts)), (lines, false));
        }

        /// Memory stays bounded whatever arrives: never more than the limit
        /// plus one chunk is held.
        #[test]
        fn the_buffer_never_outgrows_limit_plus_chunk(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..64),
            max_line in 0usize..100,
        ) {
            let mut buffer = LineBuffer::new(max_line);
            for chunk in &chunks {
                buffer.push(chunk);
                prop_assert!(buffer.pending.len() <= max_line + 1);
            }
        }
    }
}
