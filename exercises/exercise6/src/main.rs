//! # Exercise 6: dead and stalled clients
//!
//! Goal: a client that stops reading (a closed laptop lid, a terminal paused
//! with Ctrl+Z) must never stall the room, and a client that vanishes must be
//! dropped with the usual leave notice, once.
//!
//! In step 5 the thread that reads a message writes it to every other socket
//! itself, holding the room's lock. When a client stops reading, the kernel's
//! send buffer for it fills up, that write blocks, and every other thread
//! waits for the lock: the room freezes. The cure: nobody but a client's own
//! **writer thread** ever writes to its socket. The others put messages in
//! its **outbound queue**, bounded, with a push that never blocks; a client
//! whose queue overflows, or whose writes fail or time out, is dropped.
//!
//! This server already has the rest of step 6: limits on lines, names and
//! clients (`src/lines.rs`, `src/names.rs`, the flags below), a room that
//! drops a client it cannot deliver to and announces it once (`src/room.rs`),
//! each client's reader (`src/client.rs`). What is missing is the heart of
//! it: delivering a message, `Outbox::push` in `src/outbox.rs`, still writes
//! to the socket right there, with the room's lock held, and there is no
//! writer thread.
//!
//! Fill in the TODOs in `src/outbox.rs` and `src/client.rs` (read README.md
//! for what the grader tries, and hints), then check your work:
//!
//! ```text
//! cargo xtask check exercise6
//! ```
//!
//! Try it by hand: `cargo run -p exercise6` in one terminal and
//! `cargo run -p chat-client` in two others, plus one client that stops
//! reading: `nc 127.0.0.1 65433`, type a name, then press Ctrl+Z. Paste a
//! long text a few times in one chat window and watch the other.

mod client;
mod lines;
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
/// overflows 16 KiB and fits in 32 KiB (step 6's tests check), so 128 KiB
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
    /// Longest line accepted, in bytes (without its newline); a longer one
    /// gets an error line and the connection is closed.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1 << 24))]
    max_line: u64,
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
    /// slow. Must hold a few of the longest lines.
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
    // long line. The longest message the room relays is `NAME: ` (32
    // characters of up to 4 bytes, and 2) before the text, whose every byte
    // may become a 3-byte U+FFFD: a control character or invalid UTF-8.
    let longest_message = 3 * args.max_line + 4 * 32 + 2;
    ensure!(
        args.queue_bytes >= 2 * longest_message,
        "--queue-bytes ({}) must hold two of the longest messages, {} bytes for --max-line {}",
        args.queue_bytes,
        2 * longest_message,
        args.max_line
    );
    let limits = Arc::new(Limits {
        max_line: usize::try_from(args.max_line)?,
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
    classroom::announce(&listener, "cargo run -p chat-client --")?;
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
            .stack_size(limits.stack_size)
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
    lines::encode(FULL, &mut bytes);
    // A new connection's send buffer is empty, so this cannot block; making
    // the socket non-blocking guarantees the accept loop never waits on it.
    let _ = stream.set_nonblocking(true);
    let _ = (&*stream).write_all(&bytes);
}
