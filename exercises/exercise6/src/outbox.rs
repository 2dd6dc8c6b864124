//! Each client's outbound queue, and the writer thread that empties it.
//!
//! In step 5, the thread that read a message wrote it to every other socket
//! itself, holding the room's lock. A socket write blocks when the kernel's
//! send buffer for that client is full, which is exactly what happens when
//! the client stops reading (a closed laptop lid, a paused terminal). Then
//! the writer blocks with the lock held, and so does everyone else.
//!
//! Here nobody but a client's own writer thread ever writes to its socket.
//! Everyone else *queues* messages for it with [`Outbox::push`], which never
//! blocks: if the queue is full, the push fails and the room drops that
//! client. A slow client can only ever stall its own writer thread.
//!
//! The queue is bounded twice, in messages and in bytes, by two counters
//! shared with the writer, so a stalled client costs at most
//! `--queue-bytes` of memory, whatever the others send. The channel under
//! them has no bound of its own (`mpsc::channel`): a bounded
//! `sync_channel(n)` would reserve room for all `n` messages the moment it
//! is made, for every client, reading or not. This one takes memory only
//! for the messages that wait.

// TODO: the queue is a channel from `std::sync::mpsc` (`channel`, `Sender`,
// `Receiver`) and its counters are `AtomicUsize`s from `std::sync::atomic`
// (with `Ordering`); the writer's loop may want `std::iter`. Import what
// you use.
use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;

use crate::lines;

/// One message, shared: a broadcast to 30 clients allocates its text once
/// and queues 30 pointers to it.
pub type Message = Arc<str>;

// TODO: what is queued or being written, counted by the senders and the
// writer alike: `struct Backlog` with two counters, `messages` and `bytes`
// (`AtomicUsize`; `#[derive(Default)]` starts both at 0), and a method
// `fn release(&self, messages: usize, bytes: usize)` that takes that many
// off both.

/// How much may wait for one client (`--queue-messages`, `--queue-bytes`).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub messages: usize,
    pub bytes: usize,
}

/// The sending side of a client's queue. Cheap to clone: the client's own
/// thread holds one (for its replies and `DONE`), the room holds another.
#[derive(Clone)]
pub struct Outbox {
    // TODO: the sending side of a channel of messages (`Sender<Message>`),
    // and the counts of what is queued and not written yet, shared with the
    // writer (`Arc<Backlog>`). Once the writer writes, the socket below is
    // only there to `close` it.
    bounds: Bounds,
    stream: Arc<TcpStream>,
}

/// The receiving side, run by the client's writer thread.
pub struct Writer {
    // TODO: the channel's receiving side (`Receiver<Message>`), and the same
    // `Arc<Backlog>` as the `Outbox`.
    stream: Arc<TcpStream>,
}

/// A new queue for `stream`, holding at most what `bounds` allow.
pub fn new(stream: Arc<TcpStream>, bounds: Bounds) -> (Outbox, Writer) {
    // TODO: make the channel (`mpsc::channel()`: it has no bound of its own,
    // so a send never waits) and one `Backlog` that both ends share
    // (`Arc::clone`), and give each end its part.
    let outbox = Outbox {
        bounds,
        stream: Arc::clone(&stream),
    };
    let writer = Writer { stream };
    (outbox, writer)
}

impl Outbox {
    /// Queues `message` without ever blocking, so it is safe to call with
    /// the room's lock held. An error means the client must go: it is not
    /// keeping up (its queue is full), or its writer has stopped (its
    /// connection failed).
    pub fn push(&self, message: &Message) -> io::Result<()> {
        // TODO: this is the bug. It queues nothing: it writes the message to
        // the socket right here, in the caller's thread, and `broadcast` calls
        // it with the room's lock held. A client that stops reading fills its
        // socket's buffers, then this write blocks (until `--write-timeout`),
        // and the whole room waits for the lock. Instead: count the message
        // against both bounds, refuse it at once over either (give the count
        // back first), and send it down the channel. (The `let _` line only
        // keeps the compiler quiet about the bounds until you use them.)
        let _ = (self.bounds.messages, self.bounds.bytes);
        let mut bytes = Vec::new();
        lines::encode(message, &mut bytes);
        (&*self.stream).write_all(&bytes)
    }

    /// Shuts the connection down in both directions. The client's reader
    /// thread, blocked in `read`, wakes up with end-of-file, and its writer
    /// thread, perhaps blocked in `write`, with an error: both finish.
    pub fn close(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

impl Writer {
    /// Writes queued messages until every [`Outbox`] is gone (`Ok`) or the
    /// socket fails (`Err`: reset, broken pipe, write timeout).
    ///
    /// Each wake-up takes *everything* queued and sends it with one
    /// `write_all`: when ten clients talk at once, a listener's writer wakes
    /// once for a dozen messages and makes one system call, not a dozen.
    pub fn run(self) -> io::Result<()> {
        // TODO: the writer thread's loop. Wait for a message (`recv` blocks
        // until one comes, and fails once every `Outbox` is gone: the normal
        // end), write it with `write_all` (through `&*self.stream`; `lines::encode`
        // makes the bytes), and only then take it off the counts: until it is
        // written it still counts, so a client whose writes block fills its
        // queue and is dropped. Until then `push` writes, and this ends at once.
        let _ = &self.stream;
        Ok(())
    }
}
