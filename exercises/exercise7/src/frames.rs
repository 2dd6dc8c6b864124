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

        // TODO: cut every whole frame off the front of `pending`, in order,
        // and return their payloads as text (`to_text`), in a `Vec` named
        // `messages`. A loop, because one chunk may finish several frames:
        //
        // - fewer than `HEADER_LEN` bytes left: stop and wait for more;
        // - otherwise read the length the header claims
        //   (`u32::from_be_bytes`) and check it against `self.max_frame`
        //   *now*, before waiting for the payload, which may never come:
        //   over the limit, `return self.give_up(messages)`;
        // - the whole payload not there yet: stop and wait for more;
        // - otherwise the payload is one message; go on right after it.
        //
        // Then remove the frames you returned from `pending` (`drain`): what
        // stays is the start of the next frame. And delete the `let _` line
        // below: it only keeps the compiler quiet about what you will use.
        // Until then no message ever comes out, not even a nickname.
        let _ = (self.max_frame, HEADER_LEN, to_text, Self::give_up);
        Vec::new()
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
    // TODO: this is still step 6's line: the bytes, then a `\n`. A frame
    // has no newline; it starts with the message's length in bytes, as a
    // `u32` in 4 bytes, most significant first (`to_be_bytes`), and then
    // come the bytes.
    out.extend_from_slice(message.as_bytes());
    out.push(b'\n');
}
