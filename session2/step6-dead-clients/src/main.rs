//! # Step 6: dead and stalled clients
//!
//! **New in this step:** the chat survives its clients. A laptop that
//! vanishes mid-chat (its connection is reset), a client that stops reading,
//! someone who pastes 64 MiB without a newline, calls themselves `SERVER`,
//! sends escape codes that wipe everyone's screen, or opens a thousand
//! connections: none of it stalls the room or takes the server down.
//!
//! **Why step 5 (and the Python lesson) can stall.** There, the thread that
//! reads a message writes it to every other socket while holding the room's
//! lock. When a client stops reading, the kernel's send buffer for it fills
//! up, the write blocks, and the lock is never released: every other client
//! thread waits for the lock, and the room freezes. The Python lesson's
//! `broadcast()` is worse: on the first failed send it calls
//! `remove_client()`, which takes the same non-reentrant lock again, so one
//! dead client deadlocks the whole server.
//!
//! **Why this one cannot.** No socket write ever happens with the lock held.
//! Each client has an outbound queue (bounded in messages and in bytes) and
//! a writer thread that is the only one to write to its socket; delivering
//! a message is a queue push that never blocks (`src/outbox.rs`). A client
//! whose queue overflows, or whose writes time out, is dropped with the
//! usual leave notice, exactly once (`src/room.rs`). The writer sends
//! everything queued with one `write_all`, so a busy room costs fewer
//! system calls, not more.
//!
//! Every limit has a flag (`--help` shows them with their defaults): line
//! length (`src/lines.rs`), time to choose a name, number of clients, queue
//! size, write timeout. Names are validated (`src/names.rs`).
//!
//! **Try it** (four terminals):
//!
//! ```text
//! terminal 1:  cargo run -p step6-dead-clients
//! terminal 2:  cargo run -p chat-client            (name: alice)
//! terminal 3:  cargo run -p chat-client            (name: bob)
//! terminal 4:  nc 127.0.0.1 65433                  (type a name, then press Ctrl+Z)
//! ```
//!
//! **Observe:** with the `nc` client suspended by Ctrl+Z it reads nothing.
//! Paste a long text a few times in alice's window: bob keeps receiving
//! everything. After a while (a full queue, or `--write-timeout` seconds of
//! blocked writes) the server logs that the stalled client was dropped and
//! everyone sees it leave. Try the same against step 5: once its buffers are
//! full, the whole room freezes. Then try `SERVER` or `al ice` as a name,
//! and `printf 'x\033[2Jy\n'` through `nc` as a message.

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
    lines::encode(FULL, &mut bytes);
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
