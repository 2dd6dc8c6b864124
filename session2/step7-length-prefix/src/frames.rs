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
//! would try to allocate 4 GiB.
//!
//! The buffer never holds more than one unfinished frame (at most
//! `max_frame` bytes and its header) plus one chunk.
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
    // Every message the server builds is a few times `--max-frame` at most
    // (capped at 16 MiB), so far below the 4 GiB a header can express.
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

    /// The frames of all `payloads`, one after the other.
    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        payloads.iter().flat_map(|p| frame(p)).collect()
    }

    #[test]
    fn one_whole_frame() {
        let mut buffer = FrameBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"\0\0\0\x05hello"), ["hello"]);
    }

    #[test]
    fn no_whole_payload_no_message_yet() {
        let mut buffer = FrameBuffer::new(ROOMY);
        assert!(buffer.push(b"\0\0\0\x0dhello").is_empty());
        assert!(buffer.push(b", world").is_empty());
        assert_eq!(buffer.push(b"!"), ["hello, world!"]);
    }

    #[test]
    fn a_header_split_across_chunks() {
        let mut buffer = FrameBuffer::new(ROOMY);
        assert!(buffer.push(b"\0").is_empty());
        assert!(buffer.push(b"\0\0").is_empty());
        assert_eq!(buffer.push(b"\x02hi"), ["hi"]);
    }

    #[test]
    fn three_frames_in_one_chunk() {
        let mut buffer = FrameBuffer::new(ROOMY);
        let bytes = frames(&[b"one", b"two", b"three"]);
        assert_eq!(buffer.push(&bytes), ["one", "two", "three"]);
    }

    #[test]
    fn a_chunk_ends_one_frame_and_starts_the_next() {
        let mut buffer = FrameBuffer::new(ROOMY);
        let bytes = frames(&[b"one", b"two", b"three"]);
        // Cut inside the second payload, then inside the third header.
        assert_eq!(buffer.push(&bytes[..9]), ["one"]);
        assert_eq!(buffer.push(&bytes[9..16]), ["two"]);
        assert_eq!(buffer.push(&bytes[16..]), ["three"]);
    }

    #[test]
    fn one_byte_at_a_time() {
        let mut buffer = FrameBuffer::new(ROOMY);
        let mut messages = Vec::new();
        for &byte in &frames(&[b"byte by byte", b"and again"]) {
            messages.extend(buffer.push(&[byte]));
        }
        assert_eq!(messages, ["byte by byte", "and again"]);
    }

    #[test]
    fn newlines_and_nul_are_ordinary_payload_bytes() {
        let mut buffer = FrameBuffer::new(ROOMY);
        let bytes = frames(&[b"line one\nline two\n", b"a\0b", b"crlf\r\n"]);
        assert_eq!(
            buffer.push(&bytes),
            ["line one\nline two\n", "a\0b", "crlf\r\n"]
        );
    }

    #[test]
    fn zero_length_frames_are_returned_as_empty_strings() {
        // Whether to ignore them is the server's business, not the framing's.
        let mut buffer = FrameBuffer::new(ROOMY);
        let bytes = frames(&[b"", b"x", b""]);
        assert_eq!(buffer.push(&bytes), ["", "x", ""]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut buffer = FrameBuffer::new(ROOMY);
        assert_eq!(buffer.push(&frame(b"caf\xff!")), ["caf\u{FFFD}!"]);
    }

    #[test]
    fn a_character_split_across_chunks_stays_whole() {
        // "é" is two bytes in UTF-8; each chunk holds one of them.
        let mut buffer = FrameBuffer::new(ROOMY);
        assert!(buffer.push(b"\0\0\0\x05caf\xc3").is_empty());
        assert_eq!(buffer.push(b"\xa9"), ["café"]);
    }

    #[test]
    fn the_buffer_forgets_delivered_frames() {
        let mut buffer = FrameBuffer::new(ROOMY);
        assert_eq!(buffer.push(b"\0\0\0\x05first\0\0"), ["first"]);
        assert_eq!(buffer.pending, b"\0\0");
        assert_eq!(buffer.push(b"\0\x01x"), ["x"]);
        assert!(buffer.pending.is_empty());
    }

    // The limit.

    #[test]
    fn exactly_the_limit_is_accepted() {
        assert_eq!(
            decode(8, &[&frame(b"12345678")]),
            (vec!["12345678".to_string()], false)
        );
    }

    #[test]
    fn one_byte_over_the_limit_is_refused_from_the_header_alone() {
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
    fn frames_before_the_long_one_still_come_out() {
        let mut buffer = FrameBuffer::new(8);
        let mut bytes = frames(&[b"ok", b"fine"]);
        bytes.extend_from_slice(b"\xff\xff\xff\xff");
        bytes.extend(frame(b"lost"));
        assert_eq!(buffer.push(&bytes), ["ok", "fine"]);
        assert!(buffer.is_too_long());
        // Dead from now on.
        assert!(buffer.push(&frame(b"more")).is_empty());
    }

    #[test]
    fn a_frame_within_the_limit_may_arrive_slowly() {
        let mut buffer = FrameBuffer::new(64 * 1024);
        let payload = vec![b'x'; 64 * 1024];
        let bytes = frame(&payload);
        let mut messages = Vec::new();
        for chunk in bytes.chunks(1000) {
            messages.extend(buffer.push(chunk));
            assert!(buffer.pending.len() <= HEADER_LEN + payload.len());
        }
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].len(), payload.len());
        assert!(!buffer.is_too_long());
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

    #[test]
    fn encode_then_decode_is_the_identity() {
        let mut bytes = Vec::new();
        for message in ["", "hello", "two\nlines", "é\0🦀"] {
            encode(message, &mut bytes);
        }
        assert_eq!(
            decode(ROOMY, &[&bytes]),
            (
                vec![
                    "".to_string(),
                    "hello".into(),
                    "two\nlines".into(),
                    "é\0🦀".into()
                ],
                false
            )
        );
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

    /// A byte stream of frames (any payload bytes, so also `\n`, NUL,
    /// invalid UTF-8 and halves of characters, and some empty frames),
    /// perhaps with an unfinished last frame or a huge header in the middle,
    /// and offsets where TCP might cut it.
    fn stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
        let payload = prop::collection::vec(any::<u8>(), 0..40);
        (
            prop::collection::vec(payload, 0..20),
            prop::option::of(any::<u32>()),
            any::<bool>(),
        )
            .prop_flat_map(|(payloads, huge_at, unfinished)| {
                let mut bytes = Vec::new();
                for (i, payload) in payloads.iter().enumerate() {
                    if huge_at.is_some_and(|at| at as usize % (payloads.len() + 1) == i) {
                        bytes.extend_from_slice(&[0x80, 0, 0, 0]);
                    }
                    bytes.extend(frame(payload));
                }
                if unfinished {
                    bytes.extend_from_slice(b"\0\0\0\x20half a fram\xc3");
                }
                let len = bytes.len();
                (Just(bytes), prop::collection::vec(0..=len, 0..12))
            })
    }

    proptest! {
        /// However TCP cuts the stream, the same messages come out, and a
        /// frame over the limit is refused at the same place.
        #[test]
        fn any_split_decodes_to_the_same_messages(
            (bytes, cuts) in stream_and_cuts(),
            max_frame in 0usize..48,
        ) {
            let whole = decode(max_frame, &[&bytes]);
            prop_assert_eq!(&decode(max_frame, &split_at(&bytes, &cuts)), &whole);
            let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
            prop_assert_eq!(&decode(max_frame, &bytewise), &whole);
        }

        /// Within the limit, the messages that come out are exactly the
        /// messages that went in, newlines and all.
        #[test]
        fn messages_come_out_as_sent(
            messages in prop::collection::vec("(?s).{0,30}", 0..20),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut bytes = Vec::new();
            for message in &messages {
                encode(message, &mut bytes);
            }
            let cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
            prop_assert_eq!(decode(ROOMY, &split_at(&bytes, &cuts)), (messages, false));
        }

        /// Memory stays bounded whatever arrives: never more than one
        /// unfinished frame within the limit is kept between chunks.
        #[test]
        fn the_buffer_never_outgrows_one_frame(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..64),
            max_frame in 0usize..100,
        ) {
            let mut buffer = FrameBuffer::new(max_frame);
            for chunk in &chunks {
                buffer.push(chunk);
                prop_assert!(buffer.pending.len() < HEADER_LEN + max_frame);
            }
        }
    }
}
