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
//! shared with the writer, so a stalled client costs at most `queue_bytes`
//! of memory, whatever the others send. The channel under them has no
//! bound of its own (`mpsc::channel`): a bounded `sync_channel(n)` reserves
//! room for all `n` messages the moment it is made, 1.5 MiB per client at
//! 65,536 messages, for every client, reading or not. This one allocates a
//! small block when messages arrive and frees it once they are written, so
//! an idle client's queue costs a few hundred bytes, whatever the bounds.

// TODO: the queue is a channel from `std::sync::mpsc` (`channel`, `Sender`,
// `Receiver`) and its counters are `AtomicUsize`s from `std::sync::atomic`
// (with `Ordering`); the writer's loop needs `std::iter` and `io::Result`.
// Import what you use.
use std::io::{ErrorKind, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;

use crate::lines;

/// One message, shared: a broadcast to 100 clients allocates its text once
/// and queues 100 pointers to it.
pub type Message = Arc<str>;

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The client is not keeping up: its queue is at its bound.
    Full,
    /// Its writer thread has stopped (the socket failed).
    Closed,
}

// TODO: what is queued or being written, counted by the senders and the
// writer alike: `struct Backlog` with two counters, `messages` and `bytes`
// (`AtomicUsize`; `#[derive(Default)]` starts both at 0), and a method
// `fn release(&self, messages: usize, bytes: usize)` that takes that many
// off (`fetch_sub`, with `Ordering::Relaxed`: nothing else depends on
// their order).

/// The sending side of a client's queue. Cheap to clone: the client's own
/// thread holds one (for replies such as `DONE`), the room holds another.
#[derive(Clone)]
pub struct Outbox {
    // TODO: the sending side of a channel of messages (`Sender<Message>`);
    // the counts of what is queued and not written yet, shared with the
    // writer (`Arc<Backlog>`); and their bounds (`max_messages: usize`,
    // `max_bytes: usize`).
    /// The socket. For now `push` writes to it; once there is a writer
    /// thread, it is only kept to [`close`](Self::close) it.
    stream: Arc<TcpStream>,
}

// TODO: the receiving side, run by the client's writer thread:
// `pub struct Writer`, holding the channel's `Receiver<Message>`, the same
// `Arc<Backlog>` as the `Outbox`, and the socket (`Arc<TcpStream>`).

/// A new queue for `stream`, holding at most `max_messages` messages and
/// `max_bytes` bytes of text.
// TODO: make the queue, and return both of its ends, `(Outbox, Writer)`:
// `mpsc::channel()` gives the sender and the receiver, and the two ends
// share one `Backlog` (`Arc::clone`). Not `sync_channel(max_messages)`: it
// would reserve room for all `max_messages` messages at once, for every
// client, reading or not; the counters bound the queue instead. Then delete
// the `let _` line below: it only keeps the compiler quiet about the bounds
// until you use them. (`client.rs` calls this, and needs a change too.)
pub fn new(stream: Arc<TcpStream>, max_messages: usize, max_bytes: usize) -> Outbox {
    let _ = (max_messages, max_bytes);
    Outbox { stream }
}

impl Outbox {
    /// Queues `message` without ever blocking, so it is safe to call with
    /// the room's lock held.
    pub fn push(&self, message: &Message) -> Result<(), PushError> {
        // TODO: this is the bug. It queues nothing: it writes the message to
        // the socket right here, in the caller's thread, and the room calls
        // `push` with its lock held. A client that stops reading fills its
        // socket's buffers, then this write blocks (up to
        // `--write-timeout`, 10 s) and every other thread waits for the
        // lock: the room freezes.
        //
        // Instead, count the message in the backlog (one more message,
        // `message.len()` more bytes: `fetch_add`), and if that takes either
        // count over its bound, take it back (`release`) and refuse the
        // message as `PushError::Full` (the room then drops this client).
        // Otherwise hand it to the channel with `send`, which never blocks
        // on a channel without a bound; it fails only when the writer has
        // stopped: give the counts back, that is `PushError::Closed`.
        let mut bytes = Vec::with_capacity(message.len() + 1);
        lines::encode(message, &mut bytes);
        (&*self.stream)
            .write_all(&bytes)
            .map_err(|e| match e.kind() {
                // The write timed out: this client is not keeping up.
                ErrorKind::WouldBlock | ErrorKind::TimedOut => PushError::Full,
                _ => PushError::Closed,
            })
    }

    /// Shuts the connection down in both directions. The client's reader
    /// thread, blocked in `read`, wakes up with end-of-file, and its writer
    /// thread, perhaps blocked in `write`, with an error: both finish.
    pub fn close(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

// TODO: the writer thread's loop, `impl Writer { pub fn run(self) ->
// io::Result<()> }`. Wait for a message (`recv` blocks until one comes),
// write it to the socket with `write_all` (through `&*self.stream`, as
// `push` does now: `lines::encode` turns it into bytes), and only once it is
// written, take it off the backlog (`release(1, message.len())`). `recv`
// fails when every `Outbox` is gone and the queue is empty: that is the
// normal end, `Ok(())`. A failed write (a reset, a broken pipe, the write
// timeout) ends it with that error: the client is gone or not reading.
