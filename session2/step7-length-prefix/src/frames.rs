//! Length-prefixed framing: turning a stream of bytes into messages, with a
//! limit.
//!
//! TCP delivers bytes, not messages: one `read` may return half a message,
//! or three messages and the start of a fourth. A [`FrameBuffer`] belongs to
//! one connection. Every chunk read from that connection is pushed into it,
//! and out come the messages the chunk completed; whatever follows the last
//! whole frame waits in the buffer for the next chunk.
//!
//! **New in step 7:** a message no longer ends with `\n`; it *starts* with
//! its length. A frame is a 4-byte unsigned big-endian length, then exactly
//! that many bytes of payload (Python: `struct.pack('!I', len(b)) + b`):
//!
//! ```text
//!  00 00 00 05 68 65 6c 6c 6f  =  "hello"
//! ```
//!
//! Two things follow. The payload may hold *any* bytes, `\n` and NUL
//! included: the server never looks inside it to find where it ends, so a
//! message can be several lines, or a picture. And the receiver knows how
//! long a message is before it arrives, so it can refuse a header that
//! claims too much *before* waiting for, or allocating, a single byte of
//! it. That check is the one line in this file that matters most: a client
//! can send `ff ff ff ff` and nothing else, and a server that trusted it
//! would try to allocate 4 GiB. The buffer never holds more than one
//! unfinished frame (at most `max_frame` bytes and its header) plus one
//! chunk.
//!
//! The way out is here too: [`encode`] is the one place that knows a message
//! travels as its length and its bytes.
//!
//! No sockets and no threads in here, so it can be tested (and fuzzed) on
//! its own.

/// The bytes of the length in front of every payload.
pub const HEADER_LEN: usize = 4;

/// The bytes of one connection that do not make a whole frame yet.
#[derive(Debug)]
pub struct FrameBuffer {
    /// Everything received after the last whole frame: perhaps part of a
    /// header, perhaps a header and part of its payload.
    pending: Vec<u8>,
    /// The most bytes a payload may have (not counting its header).
    max_frame: usize,
    /// Set once a header claimed more than `max_frame`; the buffer is dead
    /// from then on.
    too_long: bool,
}

impl FrameBuffer {
    /// An empty buffer, for a new connection, taking payloads of at most
    /// `max_frame` bytes.
    pub fn new(max_frame: usize) -> Self {
        FrameBuffer {
            pending: Vec::new(),
            max_frame,
            too_long: false,
        }
    }

    /// Adds one chunk, of any size, and returns the messages it completed,
    /// in order. A zero-length frame comes out as an empty string: whether
    /// to ignore it is the server's business, not the framing's.
    ///
    /// If a header claims more than the limit, the messages before it are
    /// returned, and from then on [`is_too_long`](Self::is_too_long) says so
    /// and nothing more comes out: the connection should be closed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        if self.too_long {
            return Vec::new();
        }
        self.pending.extend_from_slice(chunk);

        let mut messages = Vec::new();
        let mut frame_start = 0;
        // As long as a whole header is there...
        while let Some(header) = self.pending[frame_start..].first_chunk::<HEADER_LEN>() {
            // ...check the length it claims against the limit right away,
            // before waiting for the payload: it may never come.
            let length = usize::try_from(u32::from_be_bytes(*header)).unwrap_or(usize::MAX);
            if length > self.max_frame {
                return self.give_up(messages);
            }
            let payload_start = frame_start + HEADER_LEN;
            // Then wait until the whole payload is in.
            let Some(payload) = self.pending.get(payload_start..payload_start + length) else {
                break;
            };
            messages.push(to_text(payload));
            frame_start = payload_start + length;
        }
        // Keep only the unfinished frame for next time.
        self.pending.drain(..frame_start);
        messages
    }

    /// Whether a header claimed more than the limit.
    pub fn is_too_long(&self) -> bool {
        self.too_long
    }

    /// Stops for good: frees the buffer and returns the messages completed
    /// before the long one, which are as valid as ever.
    fn give_up(&mut self, messages: Vec<String>) -> Vec<String> {
        self.too_long = true;
        self.pending = Vec::new();
        messages
    }
}

/// One payload as text. Invalid UTF-8 is replaced with U+FFFD instead of
/// being refused: one bad byte must not cost a client its connection. There
/// is no line ending to drop: the header said where the message ends, and a
/// `\r` or `\n` inside is part of it.
fn to_text(payload: &[u8]) -> String {
    String::from_utf8_lossy(payload).into_owned()
}

/// Appends one message to `out` as it travels on the wire: its length as 4
/// bytes, most significant first, then its bytes. Each client's writer
/// thread calls this for every message it sends.
pub fn encode(message: &str, out: &mut Vec<u8>) {
    // Every message the server builds is at most 1 MiB (see `--max-frame`),
    // far below the 4 GiB a header can express.
    let length = u32::try_from(message.len()).expect("a message is shorter than 4 GiB");
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(message.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Roomy enough that the ordinary tests below never reach it.
    const ROOMY: usize = 4096;

    /// One frame's bytes: header, then payload.
    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut bytes = u32::try_from(payload.len()).unwrap().to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    /// Everything a buffer hands out for `chunks` fed one after the other:
    /// the messages, and whether it stopped on a frame over `max_frame`.
    fn decode(max_frame: usize, chunks: &[&[u8]]) -> (Vec<String>, bool) {
        let mut buffer = FrameBuffer::new(max_frame);
        let mut messages = Vec::new();
        for chunk in chunks {
            messages.extend(buffer.push(chunk));
        }
        (messages, buffer.is_too_long())
    }

    #[test]
    fn one_whole_frame() {
        let mut buffer = FrameBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"\0\0\0\x05hello"), ["hello"]);
    }

    #[test]
    fn a_header_split_across_chunks() {
        let mut buffer = FrameBuffer::new(ROOMY);
        assert!(buffer.push(b"\0").is_empty());
        assert!(buffer.push(b"\0\0").is_empty());
        assert_eq!(buffer.push(b"\x02hi"), ["hi"]);
    }

    #[test]
    fn three_frames_in_one_chunk_and_one_byte_at_a_time() {
        let bytes: Vec<u8> = [&b"one"[..], b"two", b"three"]
            .into_iter()
            .flat_map(frame)
            .collect();
        let expected = (vec!["one".into(), "two".into(), "three".into()], false);
        assert_eq!(decode(ROOMY, &[&bytes]), expected);
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode(ROOMY, &bytewise), expected);
    }

    #[test]
    fn newlines_and_nul_are_ordinary_payload_bytes() {
        let mut buffer = FrameBuffer::new(ROOMY);
        let mut bytes = frame(b"line one\nline two\n");
        bytes.extend(frame(b"a\0b"));
        assert_eq!(buffer.push(&bytes), ["line one\nline two\n", "a\0b"]);
    }

    #[test]
    fn zero_length_frames_are_returned_as_empty_strings() {
        // Whether to ignore them is the server's business, not the framing's.
        let mut buffer = FrameBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"\0\0\0\0\0\0\0\x01x"), ["", "x"]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut buffer = FrameBuffer::new(ROOMY);
        assert_eq!(buffer.push(&frame(b"caf\xff!")), ["caf\u{FFFD}!"]);
    }

    // The limit.

    #[test]
    fn exactly_the_limit_is_accepted_and_one_more_is_refused_from_the_header() {
        assert_eq!(
            decode(8, &[&frame(b"12345678")]),
            (vec!["12345678".to_string()], false)
        );
        // Only the header: the payload is not needed to refuse it.
        assert_eq!(decode(8, &[b"\0\0\0\x09"]), (vec![], true));
    }

    #[test]
    fn huge_claims_are_refused_without_allocating_them() {
        for header in [0xFFFF_FFFFu32, 0x8000_0000, 0x0001_0001] {
            let mut buffer = FrameBuffer::new(64 * 1024);
            let mut bytes = header.to_be_bytes().to_vec();
            bytes.extend_from_slice(b"and a little payload");
            assert!(buffer.push(&bytes).is_empty());
            assert!(buffer.is_too_long(), "{header:#x}");
            assert_eq!(buffer.pending.capacity(), 0);
        }
    }

    #[test]
    fn encode_puts_the_length_first() {
        let mut out = b"a".to_vec();
        encode("bob: hi", &mut out);
        assert_eq!(out, b"a\0\0\0\x07bob: hi");
        // Python's struct.pack('!I', 300): the length in network byte order.
        let mut out = Vec::new();
        encode(&"z".repeat(300), &mut out);
        assert_eq!(out[..4], [0, 0, 1, 44]);
    }

    proptest! {
        /// However TCP cuts a stream of encoded messages, exactly those
        /// messages come out, newlines and all.
        #[test]
        fn any_split_gives_the_messages_as_sent(
            messages in prop::collection::vec("(?s).{0,30}", 0..20),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut bytes = Vec::new();
            for message in &messages {
                encode(message, &mut bytes);
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut from = 0;
            for cut in cuts {
                chunks.push(&bytes[from..cut]);
                from = cut;
            }
            chunks.push(&bytes[from..]);
            prop_assert_eq!(decode(ROOMY, &chunks), (messages, false));
        }
    }
}
