//! # Step 7: length-prefixed frames
//!
//! **New in this step:** a message no longer ends with a newline; it starts
//! with its length. Every message, both ways, is a *frame*: 4 bytes giving
//! the payload's length (unsigned, big-endian, "network byte order"), then
//! exactly that many bytes. Python's `struct.pack('!I', len(b)) + b` makes
//! one. Everything else is step 6: the same texts, the same room, the same
//! defences. Only `src/frames.rs` (instead of `src/lines.rs`) and the flag
//! `--max-frame` (instead of `--max-line`) are new.
//!
//! **Why bother, when lines work?** Lines cannot carry a newline: a message
//! of two lines, a pasted stack trace, a file or a picture would be cut in
//! pieces. A frame can carry any bytes, `\n` and NUL included (binary
//! safe), because nobody looks inside it to find where it ends. And the
//! receiver knows a message's size before it arrives, so it can refuse an
//! oversized one from its header alone, instead of buffering until a
//! newline that may never come. This is how most real protocols do it
//! (HTTP/2, WebSocket, Kafka, PostgreSQL...).
//!
//! **Why a limit, still.** The header is the client's word, and a client
//! can lie: `ff ff ff ff` claims 4 GiB. A server that allocated what the
//! header says before reading it would be one malicious packet away from
//! running out of memory. Here a header over `--max-frame` (64 KiB by
//! default) gets an error frame and a disconnect, and nothing of its size
//! is ever allocated. A zero-length frame carries nothing and is ignored.
//!
//! **What a payload may hold.** Any bytes travel; what the *others* see is
//! still made safe for their terminals, as in step 6: invalid UTF-8 becomes
//! U+FFFD, and so does every control character but tab, a `\n` inside a
//! payload included (a raw newline could fake a `SERVER:` line on someone's
//! screen). A payload with a newline inside arrives as one message.
//!
//! **Try it** (four terminals):
//!
//! ```text
//! terminal 1:  cargo run -p step7-length-prefix
//! terminal 2:  cargo run -p chat-client -- --framing length-prefix   (name: alice)
//! terminal 3:  cargo run -p chat-client -- --framing length-prefix   (name: bob)
//! terminal 4:  nc 127.0.0.1 65433                                    (type hello)
//! ```
//!
//! **Observe:** alice and bob chat as before. The `nc` user speaks lines,
//! not frames: the server reads the first four bytes, `hell`, as a length
//! (0x68656c6c, 1,751,477,356 bytes), refuses it at once and closes the
//! connection (`nc` may show the error frame's text after four odd bytes).
//! Then send frames from Python, in terminal 4 (single quotes outside, so
//! that the shell leaves `!I` alone):
//!
//! ```text
//! python3 -c 'import socket, struct; s = socket.create_connection(("127.0.0.1", 65433));
//! f = lambda b: s.sendall(struct.pack("!I", len(b)) + b); f(b"py"); f(b"two\nlines"); input("Enter leaves ")'
//! ```
//!
//! alice and bob see `py` join, then one message with a � where the
//! newline was; press Enter and they see `py` leave.

mod client;
mod frames;
mod names;
mod outbox;
mod room;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::Parser;
use classroom::log;

use client::Limits;
use room::{ClientId, Room};

/// Stack size of every client thread. The default (2 MiB on Linux) is
/// address space that a thousand idle clients never use. The hungriest
/// thing a client thread may do is print a panic with a backtrace: it
/// overflows 16 KiB and fits in 32 KiB (the test below checks), so 128 KiB
/// leaves a wide margin. Only the pages a thread touches cost memory.
const STACK_SIZE: usize = 128 * 1024;

/// How long to wait after a failed `accept` before trying again. Out of
/// file descriptors, `accept` fails at once every time; retrying without a
/// pause would spin a core at 100% until a client leaves.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What a client gets when every place is taken.
const FULL: &str = "SERVER: server is full";

/// A chat server that survives dead, stalled and hostile clients.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; 0.0.0.0 lets classmates connect.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Port to listen on; 0 lets the system pick a free one.
    #[arg(long, default_value_t = 65433)]
    port: u16,
    /// Longest frame payload accepted, in bytes; a header announcing more
    /// gets an error frame and the connection is closed (nothing of that
    /// size is ever allocated).
    #[arg(long, default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(1..=1 << 24))]
    max_frame: u64,
    /// Seconds a new connection has to send a valid name before it is closed.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    name_timeout: u64,
    /// Most connections at once; one more gets "SERVER: server is full".
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    max_clients: u64,
    /// Most messages waiting for one client; one more and it is dropped as
    /// too slow.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    queue_messages: u64,
    /// Most bytes waiting for one client; one more and it is dropped as too
    /// slow. Must hold a few of the longest frames.
    #[arg(long, default_value_t = 1 << 20)]
    queue_bytes: u64,
    /// Seconds one write to a client may block before it is dropped as not
    /// reading.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    write_timeout: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // A queue smaller than one message would drop everybody on the first
    // long frame. The longest message the room relays is `NAME: ` (32
    // characters of up to 4 bytes, and 2) before the text, whose every byte
    // may become a 3-byte U+FFFD: a control character or invalid UTF-8.
    let longest_message = 3 * args.max_frame + 4 * 32 + 2;
    ensure!(
        args.queue_bytes >= 2 * longest_message,
        "--queue-bytes ({}) must hold two of the longest messages, {} bytes for --max-frame {}",
        args.queue_bytes,
        2 * longest_message,
        args.max_frame
    );
    let limits = Arc::new(Limits {
        max_frame: usize::try_from(args.max_frame)?,
        name_timeout: Duration::from_secs(args.name_timeout),
        write_timeout: Duration::from_secs(args.write_timeout),
        queue_messages: usize::try_from(args.queue_messages)?,
        queue_bytes: usize::try_from(args.queue_bytes)?,
        stack_size: STACK_SIZE,
    });
    let max_clients = usize::try_from(args.max_clients)?;

    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))
        .unwrap_or_else(classroom::cannot_listen);
    classroom::announce(
        &listener,
        "cargo run -p chat-client -- --framing length-prefix",
    )?;
    println!("  run the client command above in two more terminals: type in one, watch the other");
    println!("  (Ctrl-C stops the server)");

    let room = Arc::new(Room::new());
    let connected = Arc::new(AtomicUsize::new(0));
    let mut next_id: ClientId = 0;
    let mut failed_accepts: u64 = 0;
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE ("too many open files") is the classic: every
                // client costs a file descriptor and the limit is per
                // process. Say it once, then retry quietly: a client
                // leaving frees a descriptor and the queued ones get in.
                if failed_accepts == 0 {
                    log!("accept failed: {e}; retrying every {ACCEPT_BACKOFF:?}");
                }
                failed_accepts += 1;
                thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        if failed_accepts > 0 {
            log!("accepting again after {failed_accepts} failed attempts");
            failed_accepts = 0;
        }
        let Some(place) = Place::take(&connected, max_clients) else {
            refuse(&stream);
            log!("refused {peer}: server is full ({max_clients} clients)");
            continue;
        };
        next_id += 1;
        let id = next_id;
        let room = Arc::clone(&room);
        let limits = Arc::clone(&limits);
        let spawned = thread::Builder::new()
            .name(format!("reader {id}"))
            .stack_size(STACK_SIZE)
            .spawn(move || {
                log!("connected: {peer}");
                let reason = client::serve(stream, peer, id, &room, &limits);
                // Free the place before saying so: whoever reads this line
                // can connect again at once.
                drop(place);
                log!("disconnected: {peer} ({reason})");
            });
        // Out of threads or memory: that client is dropped (the closure,
        // with its socket and place, is freed), the server goes on.
        if let Err(e) = spawned {
            log!("cannot start a thread for {peer}: {e}");
        }
    }
}

/// One of the `--max-clients` places, given back when dropped (also when a
/// client thread panics: drops run while a panic unwinds).
struct Place(Arc<AtomicUsize>);

impl Place {
    fn take(connected: &Arc<AtomicUsize>, max: usize) -> Option<Place> {
        let before = connected.fetch_add(1, Ordering::SeqCst);
        if before >= max {
            connected.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Place(Arc::clone(connected)))
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Tells a client there is no room, then closes (when `stream` is dropped).
fn refuse(stream: &TcpStream) {
    let mut bytes = Vec::new();
    frames::encode(FULL, &mut bytes);
    // A new connection's send buffer is empty, so this cannot block; making
    // the socket non-blocking guarantees the accept loop never waits on it.
    let _ = stream.set_nonblocking(true);
    let _ = (&*stream).write_all(&bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most stack a client thread can need is for a panic message with
    /// a backtrace (`RUST_BACKTRACE=1`): finding the function names reads
    /// debug info with deep call chains. If that overflowed `STACK_SIZE`,
    /// the process would abort, and one client's bug would end the server.
    #[test]
    fn a_client_thread_has_stack_for_a_panic_backtrace() {
        let thread = thread::Builder::new()
            .stack_size(STACK_SIZE)
            .spawn(|| {
                // What a reader keeps on its stack: its read buffer.
                let buffer = std::hint::black_box([0u8; 4096]);
                let trace = std::backtrace::Backtrace::force_capture();
                trace.to_string().len() + buffer.len()
            })
            .expect("spawn");
        assert!(thread.join().expect("no overflow") > 4096);
    }
}
