//! The server: its options, and the accept loop that gives each newcomer a
//! seat (or tells it why not) and a thread of its own.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::Parser;
use classroom::log;

use crate::client::{self, Limits};
use crate::flood::FloodLimit;
use crate::lines;
use crate::log_quota::LogQuota;
use crate::outbox::Bounds;
use crate::room::{ClientId, Room};
use crate::seats::{Refusal, Seats};
use crate::spare::{Spare, out_of_descriptors};

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

/// A chat server that survives dead, stalled and hostile clients.
#[derive(Parser)]
#[command(version, about)]
pub struct Args {
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
    /// slow. The default holds a whole burst of the longest lines from every
    /// connection one address may have. Memory is taken only as messages
    /// wait: an idle client's queue costs almost nothing.
    #[arg(long, default_value_t = 8 << 20)]
    queue_bytes: u64,
    /// Seconds one write to a client may block before it is dropped as not
    /// reading.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    write_timeout: u64,
}

/// The longest message the room relays for `--max-line` (or `--max-frame`)
/// `max`: `NAME: ` (32 characters of up to 4 bytes, and 2) before the text,
/// whose every byte may become a 3-byte U+FFFD (a control character or
/// invalid UTF-8).
fn longest_message(max: u64) -> u64 {
    3 * max + 4 * 32 + 2
}

/// Runs the server with `args` until it is stopped.
pub fn run(args: Args) -> anyhow::Result<()> {
    let longest = longest_message(args.max_line);
    // A queue smaller than one message would drop everybody on the first
    // long line.
    ensure!(
        args.queue_bytes >= 2 * longest,
        "--queue-bytes ({}) must hold two of the longest messages, {} bytes for --max-line {}",
        args.queue_bytes,
        2 * longest,
        args.max_line
    );
    let limits = Arc::new(Limits {
        max_line: usize::try_from(args.max_line)?,
        name_timeout: Duration::from_secs(args.name_timeout),
        write_timeout: Duration::from_secs(args.write_timeout),
        queue: Bounds {
            messages: usize::try_from(args.queue_messages)?,
            bytes: usize::try_from(args.queue_bytes)?,
        },
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
    classroom::announce(&listener, "cargo run -p chat-client --")?;
    println!("  run the client command above in two more terminals: type in one, watch the other");
    println!("  (Ctrl-C stops the server)");

    let room = Arc::new(Room::new());
    // Kept in reserve for the moment the process runs out of descriptors
    // (see `spare.rs`).
    let mut spare = Spare::new();
    // Refusals are logged like a client's lines: a few a second at most,
    // whatever one laptop tries.
    let mut refusals = LogQuota::new(Instant::now());
    let mut next_id: ClientId = 0;
    let mut failed_accepts: u64 = 0;
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if out_of_descriptors(&e) && spare.is_held() => {
                // Out of descriptors, `accept` fails at once, whether a
                // client waits or not: give up the spare, and take the next
                // client with it (waiting for one, if need be).
                spare.release();
                let accepted = listener.accept();
                let freed_meanwhile = spare.restore();
                match accepted {
                    // The spare came back, so a descriptor was freed
                    // meanwhile (someone left): this one may stay.
                    Ok(accepted) if freed_meanwhile => accepted,
                    Ok((stream, peer)) => {
                        refuse(&stream, Refusal::Full.message());
                        drop(stream);
                        spare.restore();
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
                spare.restore();
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

/// Tells a client why it gets no seat, then closes (when `stream` is dropped).
fn refuse(stream: &TcpStream, message: &str) {
    let mut bytes = Vec::new();
    lines::encode(message, &mut bytes);
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

    /// With flood control on, the most a listener can be sent at once is a
    /// burst from each connection of one address (more addresses mean more
    /// people, who do not all paste at the same second). A burst is at most
    /// `flood-burst` messages, or that many times `COST_BYTES` of text. The
    /// default queue holds all of it, even if the listener reads nothing
    /// meanwhile, so a listener is never dropped because of one prankster.
    #[test]
    fn the_default_queue_holds_every_burst_one_address_may_send() {
        let args = Args::parse_from(["server"]);
        let worst_burst = args.max_per_host * u64::from(args.flood_burst);
        assert!(args.queue_messages >= worst_burst);
        let longest_for_a_message =
            longest_message(args.max_line.min(crate::flood::COST_BYTES as u64));
        assert!(args.queue_bytes >= worst_burst * longest_for_a_message);
    }
}
