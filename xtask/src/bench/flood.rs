//! The flood scenario, from the hardening issue: one client (`prank`) sends
//! 10,000 lines of 1,000 bytes as fast as its socket takes them, while the
//! others read at a terminal's pace (2,000 lines a second) and a few of them
//! chat at a person's pace. It measures what the listeners pay for the
//! flood: how many of them the server dropped, and the latency of their
//! chatter while it lasts.
//!
//! Unlike the other scenarios, the servers keep their flood control (the
//! point is the flooder): a server that slows prank down and disconnects
//! him keeps every listener; one whose only defence is a full queue drops
//! them. The run lasts as long as the chatter (its texts at its rate), plus
//! two seconds, whatever happens to prank.

use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::framing::{Framing, is_timeout};
use super::latency::Histogram;
use super::load::{End, Load, Outcome, ServerFigures};
use super::proc::Sampler;
use super::progress::Progress;

/// Lines prank sends, and the size of each.
const FLOOD_LINES: usize = 10_000;
const FLOOD_SIZE: usize = 1000;
/// How fast a terminal shows lines, roughly: the listeners' pace.
const TERMINAL_LINES_PER_SEC: f64 = 2000.0;
/// The listeners' receive buffer: what a laptop's kernel keeps for a chat
/// over Wi-Fi. On loopback Linux grows it up to 6 MiB, which would hide
/// most of a 10 MB flood in the kernel, where no classroom has it.
const LISTENER_RECEIVE_BUFFER: usize = 256 * 1024;
/// How long to wait for one join notice, or to connect.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// The reads' timeout, so that every thread notices the end of the run.
const POLL: Duration = Duration::from_millis(100);
/// The run goes on this long after the last text of the chatter is due.
const TAIL: Duration = Duration::from_secs(2);
const FLOODER: &str = "prank";

/// What the flood did to the room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloodFigures {
    /// Listeners the server dropped (their connection ended).
    pub readers_dropped: usize,
    /// The most of prank's lines any listener received.
    pub flood_relayed: u64,
    /// Whether the listeners heard prank leave (disconnected for flooding).
    pub flooder_left: bool,
}

/// State the threads of a run share.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Client `i` (by joining order) was seen joining by client `i - 1`;
    /// `[0]`: c1 saw c0 join (the server took c1's name first).
    seen_joining: Vec<AtomicBool>,
    delivered: AtomicU64,
}

/// What one listener found.
#[derive(Default)]
struct Heard {
    latency: Histogram,
    chatter: u64,
    flood: u64,
    flooder_left: bool,
    leaves: u64,
    dropped: bool,
}

fn name(index: usize, readers: usize) -> String {
    if index == readers {
        FLOODER.to_string()
    } else {
        format!("c{index}")
    }
}

fn connect(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, JOIN_TIMEOUT)
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(POLL))?;
    Ok(stream)
}

/// Writes `bytes` unless the run stops first; `false` once the server
/// closed the connection (prank disconnected) or the run stopped.
fn write_all(mut stream: &TcpStream, mut bytes: &[u8], shared: &Shared) -> bool {
    while !bytes.is_empty() {
        if shared.stop.load(Ordering::Relaxed) {
            return false;
        }
        match stream.write(bytes) {
            Ok(0) => return false,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// Runs the flood against the server at `addr`: `load.clients - 1`
/// listeners, the first `load.senders` of whom chat (`load.messages` texts
/// each at `load.rate`), and prank.
pub fn run(
    addr: SocketAddr,
    framing: Framing,
    load: &Load,
    sampler: Option<&Sampler>,
    progress: &Progress,
) -> anyhow::Result<Outcome> {
    let readers = load.clients.saturating_sub(1);
    let rate = load.rate.unwrap_or(2.0);
    if readers < 2 || load.senders > readers || rate <= 0.0 {
        bail!("the flood needs 2 listeners or more, at most as many chatters, at a positive rate");
    }
    let idle = sampler.map(Sampler::now);
    let shared = Arc::new(Shared {
        seen_joining: (0..=readers).map(|_| AtomicBool::new(false)).collect(),
        ..Shared::default()
    });
    let epoch = Instant::now();
    let mut streams = Vec::new();
    let mut listeners = Vec::new();
    let result = (|| -> anyhow::Result<Outcome> {
        // Join one by one; each joins once the one before it has seen its
        // notice, so everybody is in before the flood. (c0 hears of no one
        // before it: whichever of c0 and c1 sees the other join will do.)
        for index in 0..=readers {
            progress.note(&format!("joining {index}/{}", readers + 1));
            let stream = connect(addr)?;
            let mut hello = Vec::new();
            framing.encode(name(index, readers).as_bytes(), &mut hello);
            (&stream).write_all(&hello)?;
            if index < readers {
                socket2::SockRef::from(&stream)
                    .set_recv_buffer_size(LISTENER_RECEIVE_BUFFER)
                    .context("cannot set a listener's receive buffer")?;
                let (conn, shared) = (stream.try_clone()?, Arc::clone(&shared));
                let chatters = load.senders;
                listeners.push(
                    thread::Builder::new()
                        .name(format!("flood-read-{index}"))
                        .stack_size(128 * 1024)
                        .spawn(move || {
                            listen(conn, index, readers, chatters, framing, &shared, epoch)
                        })
                        .context("cannot start a listener thread")?,
                );
            }
            streams.push(stream);
            if index > 0 {
                let deadline = Instant::now() + JOIN_TIMEOUT;
                let seen = |i: usize| shared.seen_joining[i].load(Ordering::Relaxed);
                while !(seen(index) || (index == 1 && seen(0))) {
                    if Instant::now() > deadline {
                        bail!(
                            "{} never saw `SERVER: {} has joined the chat.`",
                            name(index - 1, readers),
                            name(index, readers)
                        );
                    }
                    thread::sleep(Duration::from_millis(5));
                }
            }
        }
        let joined = sampler.map(Sampler::now);

        // The flood and the chatter start together.
        let t0 = Instant::now();
        let flooder = {
            let (stream, shared) = (streams[readers].try_clone()?, Arc::clone(&shared));
            thread::spawn(move || {
                let mut chunk = Vec::new();
                for first in (0..FLOOD_LINES).step_by(100) {
                    chunk.clear();
                    for i in first..first + 100 {
                        let text = format!("flood {i:05} ");
                        let line = format!("{text}{}", "x".repeat(FLOOD_SIZE - text.len()));
                        framing.encode(line.as_bytes(), &mut chunk);
                    }
                    if !write_all(&stream, &chunk, &shared) {
                        return;
                    }
                }
            })
        };
        let mut chatters = Vec::new();
        for (id, stream) in streams.iter().enumerate().take(load.senders) {
            let (stream, shared) = (stream.try_clone()?, Arc::clone(&shared));
            let messages = load.messages;
            chatters.push(thread::spawn(move || {
                for seq in 0..messages {
                    let due = t0 + Duration::from_secs_f64((seq as f64 + id as f64 / 10.0) / rate);
                    while Instant::now() < due {
                        if shared.stop.load(Ordering::Relaxed) {
                            return;
                        }
                        thread::sleep((due - Instant::now()).min(POLL));
                    }
                    let nanos = epoch.elapsed().as_nanos() as u64;
                    let mut wire = Vec::new();
                    framing.encode(format!("t{id} {seq} {nanos}").as_bytes(), &mut wire);
                    if !write_all(&stream, &wire, &shared) {
                        return;
                    }
                }
            }));
        }
        let length = Duration::from_secs_f64(load.messages as f64 / rate) + TAIL;
        let expected = (load.senders * load.messages * (readers - 1)) as u64;
        while t0.elapsed() < length {
            progress.deliveries(shared.delivered.load(Ordering::Relaxed), expected);
            thread::sleep(Duration::from_millis(50));
        }
        shared.stop.store(true, Ordering::Relaxed);
        for chatter in chatters {
            let _ = chatter.join();
        }
        let _ = flooder.join();
        let mut outcome = Outcome::start(expected, readers + 1, 0, End::Finished);
        let mut figures = FloodFigures::default();
        for listener in listeners.drain(..) {
            let heard = listener
                .join()
                .map_err(|_| anyhow::anyhow!("a listener thread panicked"))?;
            outcome.latency.merge(&heard.latency);
            outcome.delivered += heard.chatter;
            outcome.leaves_seen += heard.leaves;
            figures.readers_dropped += usize::from(heard.dropped);
            figures.flood_relayed = figures.flood_relayed.max(heard.flood);
            figures.flooder_left |= heard.flooder_left;
        }
        outcome.held = readers - figures.readers_dropped + usize::from(!figures.flooder_left);
        outcome.elapsed = length;
        outcome.flood = Some(figures);
        if let (Some(idle), Some(joined), Some(sampler)) = (idle, joined, sampler) {
            outcome.server = Some(ServerFigures {
                idle,
                joined,
                end: sampler.peaks(),
            });
        }
        Ok(outcome)
    })();
    shared.stop.store(true, Ordering::Relaxed);
    for stream in &streams {
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
    for listener in listeners {
        let _ = listener.join();
    }
    progress.clear();
    result
}

/// A listener: reads at a terminal's pace until the run stops or the server
/// drops it, and notes what it heard.
fn listen(
    stream: TcpStream,
    index: usize,
    readers: usize,
    chatters: usize,
    framing: Framing,
    shared: &Shared,
    epoch: Instant,
) -> Heard {
    let mut heard = Heard::default();
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    let next_join = format!("SERVER: {} has joined the chat.", name(index + 1, readers));
    let first_join = format!("SERVER: {} has joined the chat.", name(0, readers));
    let flooder_left = format!("SERVER: {FLOODER} has left the chat.");
    let started = Instant::now();
    let mut shown = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        match framing.read(&mut reader, &mut buf) {
            Ok(true) => {}
            Ok(false) => {
                heard.dropped = !shared.stop.load(Ordering::Relaxed);
                break;
            }
            Err(e) if is_timeout(&e) => continue,
            Err(_) => {
                heard.dropped = !shared.stop.load(Ordering::Relaxed);
                break;
            }
        }
        let text = String::from_utf8_lossy(&buf);
        if text == next_join {
            shared.seen_joining[index + 1].store(true, Ordering::Relaxed);
        } else if index == 1 && text == first_join {
            shared.seen_joining[0].store(true, Ordering::Relaxed);
        } else if text == flooder_left {
            heard.flooder_left = true;
        } else if text.ends_with(" has left the chat.") {
            heard.leaves += 1;
        } else if text.starts_with(&format!("{FLOODER}: flood ")) {
            heard.flood += 1;
        } else if let Some(sent) = chatter_text(&text, chatters) {
            let now = epoch.elapsed().as_nanos() as u64;
            heard
                .latency
                .record(Duration::from_nanos(now.saturating_sub(sent)));
            heard.chatter += 1;
            shared.delivered.fetch_add(1, Ordering::Relaxed);
        }
        // The terminal's pace: line `shown` is on screen no sooner than this.
        shown += 1;
        let due = started + Duration::from_secs_f64(shown as f64 / TERMINAL_LINES_PER_SEC);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
    }
    heard
}

/// The send time of a chatter's text `cN: tN SEQ NANOS`.
fn chatter_text(text: &str, chatters: usize) -> Option<u64> {
    let (from, body) = text.split_once(": ")?;
    let id: usize = from.strip_prefix('c')?.parse().ok()?;
    let mut fields = body.split(' ');
    let tag = fields.next()?;
    (id < chatters && tag == format!("t{id}")).then_some(())?;
    let _seq: u64 = fields.next()?.parse().ok()?;
    fields.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatter_texts_are_told_from_the_flood() {
        assert_eq!(chatter_text("c1: t1 4 12345", 5), Some(12345));
        assert_eq!(chatter_text("c7: t7 4 12345", 5), None);
        assert_eq!(chatter_text("prank: flood 00001 xxx", 5), None);
        assert_eq!(chatter_text("c1: t2 4 12345", 5), None);
    }
}
