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
//! The queue is bounded twice: in messages (the capacity of the
//! `sync_channel`) and in bytes (a counter shared with the writer), so a
//! stalled client costs at most `queue_bytes` of memory, whatever the others
//! send.

use std::io::{self, Write};
use std::iter;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

use crate::frames;

/// One message, shared: a broadcast to 100 clients allocates its text once
/// and queues 100 pointers to it.
pub type Message = Arc<str>;

/// A batch buffer bigger than this is given back to the allocator after use,
/// so a burst does not leave a thousand idle clients holding megabytes.
const KEEP_BATCH_CAPACITY: usize = 16 * 1024;

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The client is not keeping up: its queue is at its bound.
    Full,
    /// Its writer thread has stopped (the socket failed).
    Closed,
}

/// The sending side of a client's queue. Cheap to clone: the client's own
/// thread holds one (for replies such as `DONE`), the room holds another.
#[derive(Clone)]
pub struct Outbox {
    queue: SyncSender<Message>,
    /// Bytes queued or being written, shared with the writer.
    queued_bytes: Arc<AtomicUsize>,
    max_bytes: usize,
    /// Only to [`close`](Self::close) it: never written to from here.
    stream: Arc<TcpStream>,
}

/// The receiving side, run by the client's writer thread.
pub struct Writer {
    queue: Receiver<Message>,
    queued_bytes: Arc<AtomicUsize>,
    stream: Arc<TcpStream>,
}

/// A new queue for `stream`, holding at most `max_messages` messages and
/// `max_bytes` bytes of text.
pub fn new(stream: Arc<TcpStream>, max_messages: usize, max_bytes: usize) -> (Outbox, Writer) {
    let (sender, receiver) = mpsc::sync_channel(max_messages);
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    let outbox = Outbox {
        queue: sender,
        queued_bytes: Arc::clone(&queued_bytes),
        max_bytes,
        stream: Arc::clone(&stream),
    };
    let writer = Writer {
        queue: receiver,
        queued_bytes,
        stream,
    };
    (outbox, writer)
}

impl Outbox {
    /// Queues `message` without ever blocking, so it is safe to call with
    /// the room's lock held.
    pub fn push(&self, message: &Message) -> Result<(), PushError> {
        let size = message.len();
        // Claim the bytes first, then check: two threads pushing at once
        // cannot both squeeze under the bound.
        let before = self.queued_bytes.fetch_add(size, Ordering::Relaxed);
        if before + size > self.max_bytes {
            self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            return Err(PushError::Full);
        }
        // `try_send` is the non-blocking `send`: on a full channel it hands
        // the message back instead of waiting for room.
        match self.queue.try_send(Arc::clone(message)) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
                Err(match error {
                    TrySendError::Full(_) => PushError::Full,
                    TrySendError::Disconnected(_) => PushError::Closed,
                })
            }
        }
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
    /// `write_all`. When 10 clients talk at once, a listener's writer wakes
    /// once for a dozen messages and makes one system call instead of a
    /// dozen: the busier the room, the bigger the batches.
    pub fn run(self) -> io::Result<()> {
        let mut batch = Vec::new();
        // `recv` blocks until a message arrives, and fails once every
        // sender is dropped and the queue is empty: that is the normal end.
        while let Ok(first) = self.queue.recv() {
            let mut taken = 0;
            for message in iter::once(first).chain(self.queue.try_iter()) {
                taken += message.len();
                frames::encode(&message, &mut batch);
            }
            let written = (&*self.stream).write_all(&batch);
            // Only now are those bytes off our hands. Until here they still
            // counted against the bound, so a client whose writes block
            // fills its queue quickly and is dropped.
            self.queued_bytes.fetch_sub(taken, Ordering::Relaxed);
            batch.clear();
            batch.shrink_to(KEEP_BATCH_CAPACITY);
            written?;
        }
        Ok(())
    }
}
