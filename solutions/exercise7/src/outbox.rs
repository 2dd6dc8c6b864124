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

use std::io::{self, Write};
use std::iter;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};

use crate::frames;

/// One message, shared: a broadcast to 30 clients allocates its text once
/// and queues 30 pointers to it.
pub type Message = Arc<str>;

/// What is queued or being written, counted by the senders and the writer.
#[derive(Default)]
struct Backlog {
    messages: AtomicUsize,
    bytes: AtomicUsize,
}

impl Backlog {
    /// Gives back `messages` messages of `bytes` bytes in all.
    fn release(&self, messages: usize, bytes: usize) {
        self.messages.fetch_sub(messages, Ordering::Relaxed);
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
}

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
    queue: Sender<Message>,
    /// Messages and bytes queued or being written, shared with the writer.
    backlog: Arc<Backlog>,
    bounds: Bounds,
    /// Only to [`close`](Self::close) it: never written to from here.
    stream: Arc<TcpStream>,
}

/// The receiving side, run by the client's writer thread.
pub struct Writer {
    queue: Receiver<Message>,
    backlog: Arc<Backlog>,
    stream: Arc<TcpStream>,
}

/// A new queue for `stream`, holding at most what `bounds` allow.
pub fn new(stream: Arc<TcpStream>, bounds: Bounds) -> (Outbox, Writer) {
    let (sender, receiver) = mpsc::channel();
    let backlog = Arc::new(Backlog::default());
    let outbox = Outbox {
        queue: sender,
        backlog: Arc::clone(&backlog),
        bounds,
        stream: Arc::clone(&stream),
    };
    let writer = Writer {
        queue: receiver,
        backlog,
        stream,
    };
    (outbox, writer)
}

impl Outbox {
    /// Queues `message` without ever blocking, so it is safe to call with
    /// the room's lock held. An error means the client must go: it is not
    /// keeping up (its queue is full), or its writer has stopped (its
    /// connection failed).
    pub fn push(&self, message: &Message) -> io::Result<()> {
        let size = message.len();
        // Claim first, then check: two threads pushing at once cannot both
        // squeeze under a bound.
        let messages = self.backlog.messages.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self.backlog.bytes.fetch_add(size, Ordering::Relaxed) + size;
        if messages > self.bounds.messages || bytes > self.bounds.bytes {
            self.backlog.release(1, size);
            return Err(io::Error::other("too slow, its queue is full"));
        }
        // The channel has no bound, so `send` never waits; it fails only
        // when the writer is gone.
        self.queue.send(Arc::clone(message)).map_err(|_| {
            self.backlog.release(1, size);
            io::Error::other("its connection failed")
        })
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
        let mut batch = Vec::new();
        // `recv` blocks until a message arrives, and fails once every
        // sender is dropped and the queue is empty: that is the normal end.
        while let Ok(first) = self.queue.recv() {
            let (mut messages, mut bytes) = (0, 0);
            for message in iter::once(first).chain(self.queue.try_iter()) {
                messages += 1;
                bytes += message.len();
                frames::encode(&message, &mut batch);
            }
            let written = (&*self.stream).write_all(&batch);
            // Only now are those messages off our hands. Until here they
            // still counted against the bounds, so a client whose writes
            // block fills its queue quickly and is dropped.
            self.backlog.release(messages, bytes);
            batch.clear();
            // A burst must not leave every idle client holding megabytes.
            batch.shrink_to(16 * 1024);
            written?;
        }
        Ok(())
    }
}
