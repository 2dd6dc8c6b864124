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

use std::io::{self, Write};
use std::iter;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};

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

/// The sending side of a client's queue. Cheap to clone: the client's own
/// thread holds one (for replies such as `DONE`), the room holds another.
#[derive(Clone)]
pub struct Outbox {
    queue: Sender<Message>,
    /// Messages and bytes queued or being written, shared with the writer.
    backlog: Arc<Backlog>,
    max_messages: usize,
    max_bytes: usize,
    /// Only to [`close`](Self::close) it: never written to from here.
    stream: Arc<TcpStream>,
}

/// The receiving side, run by the client's writer thread.
pub struct Writer {
    queue: Receiver<Message>,
    backlog: Arc<Backlog>,
    stream: Arc<TcpStream>,
}

/// A new queue for `stream`, holding at most `max_messages` messages and
/// `max_bytes` bytes of text.
pub fn new(stream: Arc<TcpStream>, max_messages: usize, max_bytes: usize) -> (Outbox, Writer) {
    let (sender, receiver) = mpsc::channel();
    let backlog = Arc::new(Backlog::default());
    let outbox = Outbox {
        queue: sender,
        backlog: Arc::clone(&backlog),
        max_messages,
        max_bytes,
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
    /// the room's lock held.
    pub fn push(&self, message: &Message) -> Result<(), PushError> {
        let size = message.len();
        // Claim first, then check: two threads pushing at once cannot both
        // squeeze under a bound.
        let messages = self.backlog.messages.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self.backlog.bytes.fetch_add(size, Ordering::Relaxed) + size;
        if messages > self.max_messages || bytes > self.max_bytes {
            self.backlog.release(1, size);
            return Err(PushError::Full);
        }
        // The channel has no bound, so `send` never waits; it fails only
        // when the writer is gone.
        self.queue.send(Arc::clone(message)).map_err(|_| {
            self.backlog.release(1, size);
            PushError::Closed
        })
    }

    /// Shuts the connection down in both directions. The client's reader
    /// thread, blocked in `read`, wakes up with end-of-file, and its writer
    /// thread, perhaps blocked in `write`, with an error: both finish.
    pub fn close(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// A batch buffer bigger than this is given back to the allocator after use,
/// so a burst does not leave a thousand idle clients holding megabytes.
const KEEP_BATCH_CAPACITY: usize = 16 * 1024;

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
            let (mut messages, mut bytes) = (0, 0);
            for message in iter::once(first).chain(self.queue.try_iter()) {
                messages += 1;
                bytes += message.len();
                lines::encode(&message, &mut batch);
            }
            let written = (&*self.stream).write_all(&batch);
            // Only now are those messages off our hands. Until here they
            // still counted against the bounds, so a client whose writes
            // block fills its queue quickly and is dropped.
            self.backlog.release(messages, bytes);
            batch.clear();
            batch.shrink_to(KEEP_BATCH_CAPACITY);
            written?;
        }
        Ok(())
    }

    /// The queue itself, for tests that read it without a socket.
    #[cfg(test)]
    pub fn queue_for_tests(&self) -> &Receiver<Message> {
        &self.queue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    /// A connected pair of sockets on loopback: (server side, client side).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (server, client)
    }

    fn message(text: &str) -> Message {
        Arc::from(text)
    }

    #[test]
    fn bounded_in_messages() {
        let (server, _client) = pair();
        let (outbox, _writer) = new(Arc::new(server), 2, 1000);
        assert_eq!(outbox.push(&message("a")), Ok(()));
        assert_eq!(outbox.push(&message("b")), Ok(()));
        assert_eq!(outbox.push(&message("c")), Err(PushError::Full));
    }

    #[test]
    fn bounded_in_bytes() {
        let (server, _client) = pair();
        let (outbox, _writer) = new(Arc::new(server), 100, 10);
        assert_eq!(outbox.push(&message("12345")), Ok(()));
        assert_eq!(outbox.push(&message("123456")), Err(PushError::Full));
        // A refused push gives its bytes back: a smaller one still fits.
        assert_eq!(outbox.push(&message("12345")), Ok(()));
        assert_eq!(outbox.push(&message("1")), Err(PushError::Full));
    }

    #[test]
    fn a_stopped_writer_reads_as_closed() {
        let (server, _client) = pair();
        let (outbox, writer) = new(Arc::new(server), 4, 100);
        drop(writer);
        assert_eq!(outbox.push(&message("a")), Err(PushError::Closed));
    }

    #[test]
    fn writer_sends_everything_in_order_then_stops() {
        let (server, mut client) = pair();
        let (outbox, writer) = new(Arc::new(server), 100, 10_000);
        for i in 0..50 {
            outbox.push(&message(&format!("line {i}"))).unwrap();
        }
        drop(outbox);
        // Every sender is gone, so the writer drains the queue and returns.
        writer.run().unwrap();
        let mut received = String::new();
        client.read_to_string(&mut received).unwrap_or_default();
        let expected: String = (0..50).map(|i| format!("line {i}\n")).collect();
        assert_eq!(received, expected);
    }

    #[test]
    fn written_bytes_are_released() {
        let (server, _client) = pair();
        let (outbox, writer) = new(Arc::new(server), 100, 10);
        let backlog = Arc::clone(&outbox.backlog);
        outbox.push(&message("1234567890")).unwrap();
        assert_eq!(outbox.push(&message("x")), Err(PushError::Full));
        drop(outbox);
        writer.run().unwrap();
        assert_eq!(backlog.messages.load(Ordering::Relaxed), 0);
        assert_eq!(backlog.bytes.load(Ordering::Relaxed), 0);
    }
}
