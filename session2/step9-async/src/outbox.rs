//! Each client's outbound queue, and the writer task that empties it.
//!
//! In step 5, the thread that read a message wrote it to every other socket
//! itself, holding the room's lock. A socket write blocks when the kernel's
//! send buffer for that client is full, which is exactly what happens when
//! the client stops reading (a closed laptop lid, a paused terminal). Then
//! the writer blocks with the lock held, and so does everyone else.
//!
//! Here nobody but a client's own writer task ever writes to its socket.
//! Everyone else *queues* messages for it with [`Outbox::push`], which never
//! waits: if the queue is full, the push fails and the room drops that
//! client. A slow client can only ever stall its own writer task.
//!
//! **New in step 9:** the writer is a task, not a thread, and the queue is
//! tokio's bounded channel (`tokio::sync::mpsc::channel`), bounded in
//! messages; a shared counter bounds it in bytes too, so a stalled client
//! costs at most `--queue-bytes` of memory, whatever the others send. Like
//! step 8's channel, it takes memory only as messages arrive: it holds
//! them in blocks of 32, allocated when needed and freed (but for a few
//! kept for reuse) once read, so an idle client's queue costs one block,
//! whatever the bound.

use std::io::{self, ErrorKind};
use std::iter;
use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use socket2::SockRef;
use tokio::net::TcpStream;
use tokio::sync::mpsc::{self, Receiver, Sender, error::TrySendError};
use tokio::time;

use crate::lines;

/// One message, shared: a broadcast to 30 clients allocates its text once
/// and queues 30 pointers to it.
pub type Message = Arc<str>;

/// How much may wait for one client (`--queue-messages`, `--queue-bytes`).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub messages: usize,
    pub bytes: usize,
}

/// The bytes queued or being written, counted by the senders and the
/// writer. (The channel counts the messages itself.)
#[derive(Default)]
struct Backlog {
    bytes: AtomicUsize,
}

impl Backlog {
    /// Gives back `bytes` bytes.
    fn release(&self, bytes: usize) {
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// The sending side of a client's queue. Cheap to clone: the client's own
/// task holds one (for its replies and `DONE`), the room holds another.
#[derive(Clone)]
pub struct Outbox {
    queue: Sender<Message>,
    /// Bytes queued or being written, shared with the writer.
    backlog: Arc<Backlog>,
    max_bytes: usize,
    /// Only to [`close`](Self::close) it: never written to from here.
    stream: Arc<TcpStream>,
}

/// The receiving side, run by the client's writer task.
pub struct Writer {
    queue: Receiver<Message>,
    backlog: Arc<Backlog>,
    stream: Arc<TcpStream>,
}

/// A new queue for `stream`, holding at most what `bounds` allow.
pub fn new(stream: Arc<TcpStream>, bounds: Bounds) -> (Outbox, Writer) {
    let (sender, receiver) = mpsc::channel(bounds.messages);
    let backlog = Arc::new(Backlog::default());
    let outbox = Outbox {
        queue: sender,
        backlog: Arc::clone(&backlog),
        max_bytes: bounds.bytes,
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
    /// Queues `message` without ever waiting, so it is safe to call with
    /// the room's lock held (and it is not `async`: there is nothing to
    /// wait for). An error means the client must go: it is not keeping up
    /// (its queue is full), or its writer has stopped (its connection
    /// failed).
    pub fn push(&self, message: &Message) -> io::Result<()> {
        let size = message.len();
        // Claim first, then check: two pushes at once cannot both squeeze
        // under the bound.
        let bytes = self.backlog.bytes.fetch_add(size, Ordering::Relaxed) + size;
        if bytes > self.max_bytes {
            self.backlog.release(size);
            return Err(io::Error::other("too slow, its queue is full"));
        }
        // `try_send` never waits: it fails when the channel holds its bound
        // of messages, or when the writer is gone. (`send(..).await` would
        // wait for room, with the room's lock held: the stall of step 5.)
        self.queue.try_send(Arc::clone(message)).map_err(|e| {
            self.backlog.release(size);
            match e {
                TrySendError::Full(_) => io::Error::other("too slow, its queue is full"),
                TrySendError::Closed(_) => io::Error::other("its connection failed"),
            }
        })
    }

    /// Shuts the connection down in both directions. The client's reader
    /// task, waiting for bytes, wakes up with end-of-file, and its writer
    /// task, perhaps waiting for room to write, with an error: both finish.
    /// Tokio's `TcpStream` has no `shutdown(Both)` of its own; `SockRef`
    /// makes the same system call on its socket as step 8's `shutdown`.
    pub fn close(&self) {
        let _ = SockRef::from(&*self.stream).shutdown(Shutdown::Both);
    }
}

impl Writer {
    /// Writes queued messages until every [`Outbox`] is gone (`Ok`) or the
    /// socket fails (`Err`: reset, broken pipe, `write_timeout` without
    /// progress).
    ///
    /// Each wake-up takes *everything* queued and sends it with one write.
    /// When 10 clients talk at once, a listener's writer wakes once for a
    /// dozen messages and makes one system call instead of a dozen: the
    /// busier the room, the bigger the batches.
    pub async fn run(mut self, write_timeout: Duration) -> io::Result<()> {
        // `recv` waits until a message arrives, and gives `None` once every
        // sender is dropped and the queue is empty: that is the normal end.
        while let Some(first) = self.queue.recv().await {
            // The batch is made for this write and freed after it: ten
            // thousand idle clients keep no buffers between two bursts.
            let mut batch = Vec::new();
            let mut bytes = 0;
            for message in iter::once(first).chain(iter::from_fn(|| self.queue.try_recv().ok())) {
                bytes += message.len();
                lines::encode(&message, &mut batch);
            }
            let written = write_all(&self.stream, &batch, write_timeout).await;
            // Only now are those bytes off our hands. Until here they still
            // counted against the bound, so a client whose writes wait
            // fills its queue quickly and is dropped.
            self.backlog.release(bytes);
            written?;
        }
        Ok(())
    }

    /// The queue itself, for tests that read it without a socket.
    #[cfg(test)]
    pub fn queue_for_tests(&mut self) -> &mut Receiver<Message> {
        &mut self.queue
    }
}

/// Writes all of `bytes` to `stream`, waiting at most `timeout` each time
/// the kernel has no room for more. Where step 8's `write_all` blocked its
/// thread, `writable().await` parks this task until epoll (kqueue, IOCP)
/// says the socket can take bytes again, and the thread serves everyone
/// else meanwhile; `try_write` is the write itself, which never blocks.
async fn write_all(stream: &TcpStream, mut bytes: &[u8], timeout: Duration) -> io::Result<()> {
    while !bytes.is_empty() {
        match time::timeout(timeout, stream.writable()).await {
            Ok(ready) => ready?,
            Err(_) => return Err(ErrorKind::TimedOut.into()),
        }
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            // The readiness was stale: the buffer filled up again. Wait.
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use tokio::runtime::Runtime;

    /// A runtime for one test: the sockets below need its event loop.
    fn runtime() -> Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A connected pair of sockets on loopback: (server side, as tokio's,
    /// client side, blocking). Call it inside the runtime.
    fn pair() -> (Arc<TcpStream>, std::net::TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        (Arc::new(TcpStream::from_std(server).unwrap()), client)
    }

    fn message(text: &str) -> Message {
        Arc::from(text)
    }

    const TIMEOUT: Duration = Duration::from_secs(5);

    #[test]
    fn bounded_in_messages() {
        let runtime = runtime();
        let _inside = runtime.enter();
        let (server, _client) = pair();
        let (outbox, _writer) = new(
            server,
            Bounds {
                messages: 2,
                bytes: 1000,
            },
        );
        assert!(outbox.push(&message("a")).is_ok());
        assert!(outbox.push(&message("b")).is_ok());
        assert!(outbox.push(&message("c")).is_err());
    }

    #[test]
    fn bounded_in_bytes() {
        let runtime = runtime();
        let _inside = runtime.enter();
        let (server, _client) = pair();
        let (outbox, _writer) = new(
            server,
            Bounds {
                messages: 100,
                bytes: 10,
            },
        );
        assert!(outbox.push(&message("12345")).is_ok());
        assert!(outbox.push(&message("123456")).is_err());
        // A refused push gives its bytes back: a smaller one still fits.
        assert!(outbox.push(&message("12345")).is_ok());
        assert!(outbox.push(&message("1")).is_err());
    }

    #[test]
    fn a_stopped_writer_reads_as_closed() {
        let runtime = runtime();
        let _inside = runtime.enter();
        let (server, _client) = pair();
        let (outbox, writer) = new(
            server,
            Bounds {
                messages: 4,
                bytes: 100,
            },
        );
        drop(writer);
        assert!(outbox.push(&message("a")).is_err());
    }

    #[test]
    fn writer_sends_everything_in_order_then_stops() {
        let runtime = runtime();
        let (server, mut client) = runtime.block_on(async { pair() });
        let (outbox, writer) = new(
            server,
            Bounds {
                messages: 100,
                bytes: 10_000,
            },
        );
        for i in 0..50 {
            outbox.push(&message(&format!("line {i}"))).unwrap();
        }
        drop(outbox);
        // Every sender is gone, so the writer drains the queue and returns.
        runtime.block_on(writer.run(TIMEOUT)).unwrap();
        drop(runtime);
        let mut received = String::new();
        client.read_to_string(&mut received).unwrap_or_default();
        let expected: String = (0..50).map(|i| format!("line {i}\n")).collect();
        assert_eq!(received, expected);
    }

    #[test]
    fn written_bytes_are_released() {
        let runtime = runtime();
        let (server, _client) = runtime.block_on(async { pair() });
        let (outbox, writer) = new(
            server,
            Bounds {
                messages: 100,
                bytes: 10,
            },
        );
        let backlog = Arc::clone(&outbox.backlog);
        outbox.push(&message("1234567890")).unwrap();
        assert!(outbox.push(&message("x")).is_err());
        drop(outbox);
        runtime.block_on(writer.run(TIMEOUT)).unwrap();
        assert_eq!(backlog.bytes.load(Ordering::Relaxed), 0);
    }

    /// A client that reads nothing: once the kernel's buffers are full, no
    /// write makes progress, and after `timeout` the writer gives up.
    #[test]
    fn a_writer_that_makes_no_progress_times_out() {
        let runtime = runtime();
        let (server, _client) = runtime.block_on(async { pair() });
        let (outbox, writer) = new(
            server,
            Bounds {
                messages: 100_000,
                bytes: 1 << 30,
            },
        );
        let line = message(&"x".repeat(64 * 1024));
        // 64 MiB: far more than loopback buffers hold.
        for _ in 0..1024 {
            outbox.push(&line).unwrap();
        }
        let result = runtime.block_on(writer.run(Duration::from_millis(200)));
        assert_eq!(result.unwrap_err().kind(), ErrorKind::TimedOut);
    }
}
