//! # Exercise 7: length-prefixed frames
//!
//! Goal: the same chat as step 6, but every message, both ways, travels as a
//! *frame*: a 4-byte unsigned big-endian length, then exactly that many
//! bytes of payload, with no newline. Python's `struct.pack('!I', len(b)) +
//! b` makes one. A frame may carry any bytes, newlines included, and the
//! server knows a message's size before it arrives, so it can refuse one
//! that claims too much (`--max-frame`, 64 KiB by default) from its header
//! alone, without allocating what the header claims.
//!
//! This server already has the rest of step 7: the room, the outbound
//! queues and writer threads, flood control, names, seats and every other
//! limit, from step 6; the
//! `--max-frame` option; a reader (`src/client.rs`) that pushes every chunk
//! it reads into a `FrameBuffer` and handles the messages that come out; an
//! error frame and a close when `is_too_long` says so. What is missing is
//! the framing itself, in `src/frames.rs`: cutting frames out of the bytes
//! that arrive, and putting the length in front of the bytes that leave.
//!
//! Fill in the TODOs in `src/frames.rs` (read README.md for what the grader
//! tries, and hints), then check your work:
//!
//! ```text
//! cargo xtask check exercise7
//! ```
//!
//! Try it by hand: `cargo run -p exercise7` in one terminal and
//! `cargo run -p chat-client -- --framing length-prefix` in two others.

mod client;
mod flood;
mod frames;
mod names;
mod outbox;
mod room;
mod seats;

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::Parser;
use classroom::log;

use client::Limits;
use flood::{FloodLimit, LogQuota};
use room::{ClientId, Room};
use seats::{Refusal, Seats};

/// Stack size of every client thread. The default (2 MiB on Linux) is
/// address space that a thousand idle clients never use. The hungriest
/// thing a client thread may do is print a panic with a backtrace: it
/// overflows 16 KiB and fits in 32 KiB (the steps' tests check), so 128 KiB
/// leaves a wide margin. Only the pages a thread touches cost memory.
const STACK_SIZE: usize = 128 * 1024;

/// How long to wait after a failed `accept` before trying again. Out of
/// file descriptors, `accept` fails at once every time; retrying without a
/// pause would spin a core at 100% until a client leaves.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A file that is always there to open, and costs nothing to hold open.
const NULL_DEVICE: &str = if cfg!(windows) { "NUL" } else { "/dev/null" };

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
    /// size is ever allocated). At most 349482: the frames the others
    /// receive (`NAME: ` first, a replaced byte taking 3) must stay within
    /// the 1 MiB a chat-client accepts.
    #[arg(long, default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    max_frame: u64,
    /// Seconds a new connection has to send a valid name before it is closed.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    name_timeout: u64,
    /// Most connections at once; one more gets "SERVER: server is full" (so
    /// does a newcomer while the server is out of file descriptors).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    max_clients: u64,
    /// Most connections at once from one address (IPv6: one /64 network);
    /// one more gets "SERVER: too many connections from your address".
    /// Connections from this machine are not counted (see --count-loopback).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    max_per_host: u64,
    /// Count connections from this machine (loopback) against --max-per-host
    /// too; by default the demo, the grader and benchmarks may open many.
    #[arg(long)]
    count_loopback: bool,
    /// Messages a second one client may send once its burst is spent (names
    /// and commands count); 0 turns flood control off. A faster client is
    /// read more slowly, so TCP slows it down; one still slowed down after
    /// burst/rate seconds (5 by default) is told it sends too fast and is
    /// disconnected.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    flood_rate: u32,
    /// Messages one client may send at once, when it was quiet for a while.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    flood_burst: u32,
    /// Most messages waiting for one client; one more and it is dropped as
    /// too slow.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    queue_messages: u64,
    /// Most bytes waiting for one client; one more and it is dropped as too
    /// slow. The default holds a whole burst of the longest frames from every
    /// connection one address may have. Memory is taken only as messages
    /// wait: an idle client's queue costs almost nothing.
    #[arg(long, default_value_t = 8 << 20)]
    queue_bytes: u64,
    /// Seconds one write to a client may block before it is dropped as not
    /// reading.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    write_timeout: u64,
}

/// The longest message the room relays for `--max-frame` `max`: `NAME: `
/// (32 characters of up to 4 bytes, and 2) before the text, whose every
/// byte may become a 3-byte U+FFFD (a control character or invalid UTF-8).
fn longest_message(max: u64) -> u64 {
    3 * max + 4 * 32 + 2
}

/// The longest frame any server of the course sends (PROTOCOL.md), and so
/// the longest the chat-client accepts. A client has to draw the line
/// somewhere, or one header could make it allocate 4 GiB; the server must
/// then never send more, or it would relay frames that make every
/// chat-client in the room give up.
const MAX_SENT_FRAME: u64 = 1 << 20;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let longest = longest_message(args.max_frame);
    ensure!(
        longest <= MAX_SENT_FRAME,
        "--max-frame {} would relay frames of up to {longest} bytes, more than the \
         {MAX_SENT_FRAME} a chat-client accepts; the most is {}",
        args.max_frame,
        (MAX_SENT_FRAME - longest_message(0)) / 3
    );
    // A queue smaller than one message would drop everybody on the first
    // long frame.
    ensure!(
        args.queue_bytes >= 2 * longest,
        "--queue-bytes ({}) must hold two of the longest messages, {} bytes for --max-frame {}",
        args.queue_bytes,
        2 * longest,
        args.max_frame
    );
    let limits = Arc::new(Limits {
        max_frame: usize::try_from(args.max_frame)?,
        name_timeout: Duration::from_secs(args.name_timeout),
        write_timeout: Duration::from_secs(args.write_timeout),
        queue_messages: usize::try_from(args.queue_messages)?,
        queue_bytes: usize::try_from(args.queue_bytes)?,
        flood: FloodLimit {
            rate: args.flood_rate,
            burst: args.flood_burst,
        },
        stack_size: STACK_SIZE,
    });
    let seats = Seats::new(
        usize::try_from(args.max_clients)?,
        usize::try_from(args.max_per_host)?,
        args.count_loopback,
    );

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
    // Out of file descriptors, `accept` fails and the newcomer would wait
    // in the kernel's backlog for ever, never told why. This descriptor is
    // kept in reserve for that moment: closed, it lets `accept` take one
    // more connection, which is told the server is full and closed.
    let mut spare = File::open(NULL_DEVICE).ok();
    // Refusals are logged like a client's lines: a few a second at most,
    // whatever one laptop tries.
    let mut refusals = LogQuota::new(Instant::now());
    let mut next_id: ClientId = 0;
    let mut failed_accepts: u64 = 0;
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if out_of_descriptors(&e) && spare.is_some() => {
                // Out of descriptors, `accept` fails at once, whether a
                // client waits or not: give up the spare, and take the next
                // client with it (waiting for one, if need be).
                drop(spare.take());
                let accepted = listener.accept();
                spare = File::open(NULL_DEVICE).ok();
                match accepted {
                    // The spare came back, so a descriptor was freed
                    // meanwhile (someone left): this one may stay.
                    Ok(accepted) if spare.is_some() => accepted,
                    Ok((stream, peer)) => {
                        refuse(&stream, Refusal::Full.message());
                        drop(stream);
                        spare = File::open(NULL_DEVICE).ok();
                        refusals.log(
                            &"newcomers",
                            format_args!("refused {peer}: out of file descriptors ({e})"),
                        );
                        continue;
                    }
                    Err(_) => continue,
                }
            }
            Err(e) => {
                // Without a spare descriptor, or another error: say it once,
                // then retry quietly. A client leaving frees a descriptor
                // and the queued ones get in.
                if failed_accepts == 0 {
                    log!("accept failed: {e}; retrying every {ACCEPT_BACKOFF:?}");
                }
                failed_accepts += 1;
                thread::sleep(ACCEPT_BACKOFF);
                spare = spare.or_else(|| File::open(NULL_DEVICE).ok());
                continue;
            }
        };
        if failed_accepts > 0 {
            log!("accepting again after {failed_accepts} failed attempts");
            failed_accepts = 0;
        }
        let seat = match seats.take(peer.ip()) {
            Ok(seat) => seat,
            Err(refusal) => {
                refuse(&stream, refusal.message());
                let why = refusal.message().trim_start_matches("SERVER: ");
                refusals.log(&"newcomers", format_args!("refused {peer}: {why}"));
                continue;
            }
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
                // Free the seat before saying so: whoever reads this line
                // can connect again at once.
                drop(seat);
                log!("disconnected: {peer} ({reason})");
            });
        // Out of threads or memory: that client is dropped (the closure,
        // with its socket and seat, is freed), the server goes on.
        if let Err(e) = spawned {
            log!("cannot start a thread for {peer}: {e}");
        }
    }
}

/// Whether `accept` failed for lack of file descriptors: EMFILE (this
/// process's limit) or ENFILE (the whole system's). The standard library
/// has no name for them; their numbers are 24 and 23 on Linux and macOS,
/// and WSAEMFILE is 10024 on Windows.
fn out_of_descriptors(error: &io::Error) -> bool {
    let codes: &[i32] = if cfg!(windows) { &[10024] } else { &[23, 24] };
    error
        .raw_os_error()
        .is_some_and(|code| codes.contains(&code))
}

/// Tells a client why it gets no seat, then closes (when `stream` is dropped).
fn refuse(stream: &TcpStream, message: &str) {
    let mut bytes = Vec::new();
    frames::encode(message, &mut bytes);
    // A new connection's send buffer is empty, so this cannot block; making
    // the socket non-blocking guarantees the accept loop never waits on it.
    let _ = stream.set_nonblocking(true);
    let _ = (&*stream).write_all(&bytes);
    // A client often sends its name before we get to it (`--name`). Closed
    // with those bytes unread, the socket would reset the connection, and
    // a reset may throw our message away before the client reads it
    // (Windows does). Read away what has arrived, a little at most.
    let mut unread = [0; 1024];
    for _ in 0..16 {
        if !matches!((&*stream).read(&mut unread), Ok(n) if n > 0) {
            break;
        }
    }
}
