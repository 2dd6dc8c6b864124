//! The load generator: real TCP clients on blocking std sockets, one reader
//! thread per client (small stacks, one file descriptor each), one writer
//! thread per sender.
//!
//! A chat run goes in three phases:
//!
//! 1. **Join.** Clients connect and send their names in waves (one by one
//!    up to 199 clients, then up to 100 at once for ten thousand); the next
//!    wave connects only once an earlier client has seen the join notices of
//!    the one before. So each client receives the notices of the clients
//!    after it, and the run waits until the readers have seen all of them
//!    (for every pair of readers, one notice): nobody misses a message
//!    because it was not in the room yet.
//! 2. **Send.** `senders` clients each send `messages` texts
//!    `s<ID> <SEQ> <NANOS>` (padded to `size` bytes), at full speed or at
//!    `rate` per second. NANOS is when the text was written, on a clock every
//!    thread of the bench shares, so a receiver computes the delivery latency.
//!    "Full speed" stops `window` texts ahead of the slowest reader: faster
//!    than any reader can follow would measure the readers' backlog.
//! 3. **Receive.** Every reader checks that each sender's texts arrive
//!    exactly once and in order, and stops when it has them all. The run ends
//!    when every reader is done or gone, when no delivery happened for
//!    `stall_after` (a stalled server), or at `deadline`.
//!
//! Stalled clients (the last ones to join) never read a byte: they model a
//! classmate whose laptop went to sleep.
//!
//! An echo run connects every client at once and has each one send its
//! texts and wait for each echo in turn; latency is the round trip.
//!
//! A panic in any of the bench's threads stops the run at once and ends it
//! with a [`BenchFault`]: a bug of the bench is never reported as a stall,
//! or any other result, of the server.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::dialect::{Dialect, Notice};
use super::fault::{BenchFault, panic_message};
use super::framing::{Framing, is_timeout};
use super::latency::Histogram;
use super::proc::{Peaks, Sampler, Status};
use super::progress::Progress;
use super::server::Protocol;

/// How long connecting one client may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the join notices may stop arriving before the bench gives up.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the main thread looks at the join notices' count.
const JOIN_POLL: Duration = Duration::from_millis(2);
/// Clients connect in waves of `clients / JOIN_WAVES` (at least one, at
/// most [`MAX_JOIN_WAVE`]): ten thousand join in a hundred waves of a
/// hundred, so the fifty million join notices they cause travel many to a
/// `write`, as in a real room, instead of one by one.
const JOIN_WAVES: usize = 100;
const MAX_JOIN_WAVE: usize = 100;
/// Reads and writes wake up this often to notice the end of a run.
const POLL: Duration = Duration::from_millis(200);
/// How often the main thread checks on a run (and redraws the progress line).
const TICK: Duration = Duration::from_millis(50);
/// How long the bench drains a stalled client at the end to learn whether the
/// server still holds it, and how much it reads at most.
const PROBE_TIME: Duration = Duration::from_secs(2);
const PROBE_BYTES: usize = 256 << 20;
/// Stack of each client thread: they hold little on the stack, and a
/// thousand clients with the default 2 MiB would reserve 2 GiB.
const CLIENT_STACK: usize = 128 * 1024;
/// Read buffer of each client.
const READ_BUFFER: usize = 16 * 1024;
/// How often a sender checks whether the window has room again.
const WINDOW_POLL: Duration = Duration::from_micros(50);
/// Default window: how many texts the slowest reader may be behind before
/// the senders wait. Well under step 6's queue of 1,024 texts per client.
pub const DEFAULT_WINDOW: usize = 256;
/// Give up on a run that makes no progress for this long by default.
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(5);
/// Give up on any run after this long by default.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(180);

/// What to do to a server.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// Connected clients, stalled ones included.
    pub clients: usize,
    /// Clients that send (chat: the first ones; echo: every client sends).
    pub senders: usize,
    /// Texts each sender sends.
    pub messages: usize,
    /// Texts per second per sender; `None` is full speed.
    pub rate: Option<f64>,
    /// Minimum text size in bytes (padded with `x`).
    pub size: usize,
    /// Clients that join but never read (chat only).
    pub stalled: usize,
    /// "Full speed" is as fast as the readers keep up: senders wait while
    /// some reader is this many texts behind (0: no limit, a pure flood
    /// that a server with bounded queues answers by dropping readers).
    pub window: usize,
    /// End the run after no delivery for this long.
    pub stall_after: Duration,
    /// End the run after this long whatever happens.
    pub deadline: Duration,
}

impl Load {
    /// Deliveries a complete run makes.
    pub fn expected(&self, protocol: Protocol) -> u64 {
        match protocol {
            Protocol::Echo => (self.clients * self.messages) as u64,
            Protocol::Chat(_) => {
                // Every healthy client receives every sender's texts but its own.
                let healthy = self.clients - self.stalled;
                let per_sender = (healthy - 1) as u64;
                self.senders as u64 * self.messages as u64 * per_sender
            }
        }
    }

    fn validate(&self, protocol: Protocol) -> anyhow::Result<()> {
        if self.clients == 0 || self.messages == 0 {
            bail!("a run needs at least one client and one message");
        }
        if let Protocol::Chat(_) = protocol {
            let healthy = self.clients.saturating_sub(self.stalled);
            if healthy < 2 {
                bail!("a chat run needs at least two clients that read");
            }
            if self.senders == 0 || self.senders > healthy {
                bail!(
                    "senders must be between 1 and the {healthy} clients that read, not {}",
                    self.senders
                );
            }
        } else if self.stalled > 0 {
            bail!("stalled clients only make sense in a chat");
        }
        if self.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
            bail!("--rate must be a positive number of texts per second");
        }
        Ok(())
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Every reader got everything it expected (or was closed by the server).
    Finished,
    /// No delivery happened for the stall timeout.
    Stalled,
    /// The deadline passed while deliveries were still trickling in.
    TimedOut,
}

/// The server's figures, when the bench started it and can read `/proc`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerFigures {
    /// Before any client connected.
    pub idle: Status,
    /// Once every client had joined, before the first text.
    pub joined: Status,
    /// At the end, with the peak (VmHWM) and the most threads seen.
    pub end: Peaks,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Deliveries a complete run makes.
    pub expected: u64,
    /// Deliveries that arrived, exactly once and in order.
    pub delivered: u64,
    /// From the first text sent to the last delivery.
    pub elapsed: Duration,
    /// Delivery latency (chat) or round trip (echo).
    pub latency: Histogram,
    /// Clients connected (and named) at the start.
    pub joined: usize,
    /// Clients the server still held at the end.
    pub held: usize,
    /// Stalled clients the server dropped (it should, from step 6 on).
    pub stalled_dropped: usize,
    /// Leave notices the healthy clients received.
    pub leaves_seen: u64,
    /// Duplicated, reordered, corrupt or unexpected messages.
    pub violations: u64,
    /// The first few violations, for the report.
    pub violation_samples: Vec<String>,
    /// Which senders' texts went missing, when some did.
    pub missing_samples: Vec<String>,
    /// How the run ended.
    pub end: End,
    /// Server memory and threads, if sampled.
    pub server: Option<ServerFigures>,
    /// What a flood did to the room (the flood scenario).
    pub flood: Option<super::flood::FloodFigures>,
}

impl Outcome {
    /// The outcome before the readers report: nothing delivered yet, `held`
    /// clients still connected, no server figures.
    pub(super) fn start(expected: u64, joined: usize, held: usize, end: End) -> Outcome {
        Outcome {
            expected,
            delivered: 0,
            elapsed: Duration::ZERO,
            latency: Histogram::default(),
            joined,
            held,
            stalled_dropped: 0,
            leaves_seen: 0,
            violations: 0,
            violation_samples: Vec::new(),
            missing_samples: Vec::new(),
            end,
            server: None,
            flood: None,
        }
    }

    /// Deliveries per second over the sending phase.
    pub fn deliveries_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.delivered as f64 / secs
        } else {
            0.0
        }
    }

    /// Whether every expected delivery arrived and nothing arrived twice,
    /// out of order or garbled.
    pub fn accounted_for(&self) -> bool {
        self.delivered == self.expected && self.violations == 0
    }
}

/// Runs `load` against the server at `addr`, which words its notices in
/// `dialect` (chat). `sampler`, when present, watches the server process.
/// `progress` draws the progress line. An error is the bench's: the server
/// could not be loaded, or (a [`BenchFault`]) the bench itself failed.
pub fn run(
    addr: SocketAddr,
    protocol: Protocol,
    dialect: &Dialect,
    load: &Load,
    sampler: Option<&Sampler>,
    progress: &Progress,
) -> anyhow::Result<Outcome> {
    load.validate(protocol)?;
    let idle = sampler.map(Sampler::now);
    let mut outcome = match protocol {
        Protocol::Echo => run_echo(addr, load, progress)?,
        Protocol::Chat(framing) => run_chat(
            addr,
            Chat { framing, dialect },
            load,
            progress,
            || sampler.map(Sampler::now),
            chat_sender,
        )?,
    };
    if let (Some(sampler), Some(idle)) = (sampler, idle) {
        let end = sampler.peaks();
        let joined = outcome.server.map_or(idle, |s| s.joined);
        outcome.server = Some(ServerFigures { idle, joined, end });
    }
    Ok(outcome)
}

/// State every thread of a run shares.
struct Shared {
    /// The clock every timestamp counts from.
    epoch: Instant,
    /// Set when the run is over: threads stop at their next wake-up.
    stop: AtomicBool,
    /// Set when the senders start.
    sending: AtomicBool,
    /// Deliveries so far, all clients together.
    delivered: AtomicU64,
    /// Readers that have finished (got everything, or lost the connection).
    finished: AtomicUsize,
    /// Join notices each reader has seen, all of them together, and a way
    /// to wait for them.
    joins: Vec<AtomicUsize>,
    joins_total: AtomicU64,
    joins_lock: Mutex<()>,
    joins_changed: Condvar,
    /// Texts each client has received so far ([`GONE`] once it no longer
    /// reads: finished, dropped, or stalled on purpose).
    received: Vec<AtomicU64>,
    /// Texts each client has sent so far, and all clients together.
    sent_by: Vec<AtomicU64>,
    sent: AtomicU64,
    /// Most texts a reader may be behind before senders wait (0: no limit).
    window: u64,
    /// The first panic in a bench thread, if one panicked.
    fault: Mutex<Option<BenchFault>>,
}

/// A reader that no longer counts for the window.
const GONE: u64 = u64::MAX;

impl Shared {
    fn new(load: &Load) -> Shared {
        let readers = load.clients - load.stalled;
        Shared {
            epoch: Instant::now(),
            stop: AtomicBool::new(false),
            sending: AtomicBool::new(false),
            delivered: AtomicU64::new(0),
            finished: AtomicUsize::new(0),
            joins: (0..load.clients).map(|_| AtomicUsize::new(0)).collect(),
            joins_total: AtomicU64::new(0),
            joins_lock: Mutex::new(()),
            joins_changed: Condvar::new(),
            received: (0..load.clients)
                .map(|i| AtomicU64::new(if i < readers { 0 } else { GONE }))
                .collect(),
            sent_by: (0..load.clients).map(|_| AtomicU64::new(0)).collect(),
            sent: AtomicU64::new(0),
            window: load.window as u64,
            fault: Mutex::new(None),
        }
    }

    /// Records that the bench thread `thread` panicked, and stops the run.
    fn fail(&self, thread: &str, message: String) {
        let mut fault = self.fault.lock().unwrap_or_else(|e| e.into_inner());
        fault.get_or_insert(BenchFault {
            thread: thread.to_string(),
            message,
        });
        self.stop.store(true, Ordering::Relaxed);
        // Wake the main thread if it waits for join notices (under their
        // lock, so that it cannot miss this between its check and its wait).
        let _joins = self.joins_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.joins_changed.notify_all();
    }

    /// The bench's own failure, if a thread of it panicked.
    fn fault(&self) -> Option<BenchFault> {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `Err` if a bench thread panicked: then nothing the run measured is
    /// the server's doing.
    fn check_fault(&self) -> anyhow::Result<()> {
        match self.fault() {
            Some(fault) => Err(fault.into()),
            None => Ok(()),
        }
    }

    /// Whether some reader is `window` or more texts behind the senders.
    fn window_full(&self) -> bool {
        if self.window == 0 {
            return false;
        }
        let sent = self.sent.load(Ordering::Relaxed);
        self.received.iter().zip(&self.sent_by).any(|(got, own)| {
            let got = got.load(Ordering::Relaxed);
            // A client never receives its own texts. Its own count is read
            // after the total, and a sender may count a text between the
            // two reads (each counter on its own), so `own` can exceed
            // `sent` for a moment: saturate instead of underflowing.
            let for_it = sent.saturating_sub(own.load(Ordering::Relaxed));
            got != GONE && for_it >= got + self.window
        })
    }

    /// Waits (briefly polling) while the window is full.
    fn wait_window(&self) {
        while self.window_full() && !self.stopped() {
            thread::sleep(WINDOW_POLL);
        }
    }

    /// Counts a text just written by client `id`.
    fn count_sent(&self, id: usize) {
        self.sent_by[id].fetch_add(1, Ordering::Relaxed);
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether phase 2 has begun (every join notice has been seen).
    fn sending(&self) -> bool {
        self.sending.load(Ordering::Relaxed)
    }

    fn saw_join(&self, client: usize) {
        self.joins[client].fetch_add(1, Ordering::Relaxed);
        self.joins_total.fetch_add(1, Ordering::Relaxed);
        // Only c0 and c1 can be the anchor the main thread waits on; the
        // final count it polls (ten thousand readers notifying it for each
        // of fifty million notices would be most of the work).
        if client < 2 {
            let _joins = self.joins_lock.lock().unwrap_or_else(|e| e.into_inner());
            self.joins_changed.notify_all();
        }
    }

    /// Join notices seen by `client`.
    fn joins_of(&self, client: usize) -> usize {
        self.joins[client].load(Ordering::Relaxed)
    }

    /// Waits until `done()` holds; false once no join notice arrived for
    /// `timeout`, or at once when the run is stopped (a bench thread failed).
    fn wait_joins(&self, timeout: Duration, done: impl Fn() -> bool) -> bool {
        let mut last = (self.joins_total.load(Ordering::Relaxed), Instant::now());
        let mut lock = self.joins_lock.lock().unwrap_or_else(|e| e.into_inner());
        while !done() && !self.stopped() {
            let total = self.joins_total.load(Ordering::Relaxed);
            if total != last.0 {
                last = (total, Instant::now());
            } else if last.1.elapsed() >= timeout {
                return false;
            }
            (lock, _) = self
                .joins_changed
                .wait_timeout(lock, JOIN_POLL)
                .unwrap_or_else(|e| e.into_inner());
        }
        done()
    }
}

/// The start line: client threads wait here until the main thread opens it
/// (every sender starts at the same instant) or calls the run off.
#[derive(Default)]
struct Gate {
    state: Mutex<Option<Option<Instant>>>,
    changed: Condvar,
}

impl Gate {
    /// Lets everyone go, with the run's start time.
    fn open(&self, t0: Instant) {
        self.set(Some(t0));
    }

    /// Calls the run off (does nothing once open).
    fn cancel(&self) {
        self.set(None);
    }

    fn set(&self, value: Option<Instant>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.is_none() {
            *state = Some(value);
            self.changed.notify_all();
        }
    }

    /// Waits for the gate: the start time, or `None` if the run was called off.
    fn wait(&self) -> Option<Instant> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = self
            .changed
            .wait_while(state, |s| s.is_none())
            .unwrap_or_else(|e| e.into_inner());
        state.flatten()
    }
}

/// A client's socket shared by its reader, its sender and the main thread:
/// `&TcpStream` reads and writes, so one descriptor serves all three.
#[derive(Clone)]
struct Conn(Arc<TcpStream>);

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl Conn {
    fn connect(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
            .with_context(|| format!("cannot connect to {addr}"))?;
        // Small texts must leave at once, not wait for Nagle's algorithm.
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(POLL))?;
        stream.set_write_timeout(Some(POLL))?;
        Ok(Conn(Arc::new(stream)))
    }

    /// Writes all of `bytes`, retrying after write timeouts until the run
    /// stops (a server that stopped reading must not hang the bench).
    fn write_all(&self, mut bytes: &[u8], shared: &Shared) -> io::Result<()> {
        while !bytes.is_empty() {
            match (&*self.0).write(bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                    if shared.stopped() {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn shutdown(&self) {
        let _ = self.0.shutdown(Shutdown::Both);
    }
}

/// Spawns a client thread with a small stack. If it panics, the panic is
/// recorded in `shared` (which stops the run) and the thread returns `None`.
fn spawn<T: Send + 'static>(
    name: String,
    shared: &Arc<Shared>,
    f: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<JoinHandle<Option<T>>> {
    let shared = Arc::clone(shared);
    thread::Builder::new()
        .name(name.clone())
        .stack_size(CLIENT_STACK)
        .spawn(move || match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(done) => Some(done),
            Err(payload) => {
                shared.fail(&name, panic_message(&*payload));
                None
            }
        })
        .context("cannot start a client thread (too many threads for this machine?)")
}

/// Waits for a bench thread; `None` if it panicked (see [`spawn`]).
fn join<T>(handle: JoinHandle<Option<T>>) -> Option<T> {
    handle.join().ok().flatten()
}

/// The text sender `id` sends as its `seq`-th message.
fn compose(id: usize, seq: usize, nanos: u64, size: usize) -> Vec<u8> {
    let mut text = format!("s{id} {seq} {nanos}").into_bytes();
    if text.len() < size {
        text.push(b' ');
        text.resize(size, b'x');
    }
    text
}

/// The fields of a text made by [`compose`]: sender id, sequence, nanos.
fn parse_text(text: &[u8]) -> Option<(usize, u64, u64)> {
    let text = std::str::from_utf8(text).ok()?;
    let mut fields = text.split(' ');
    let id = fields.next()?.strip_prefix('s')?.parse().ok()?;
    let seq = fields.next()?.parse().ok()?;
    let nanos = fields.next()?.parse().ok()?;
    match fields.next() {
        None => Some((id, seq, nanos)),
        Some(pad) if pad.bytes().all(|b| b == b'x') => Some((id, seq, nanos)),
        Some(_) => None,
    }
}

/// How many clients connect at once while `clients` join (see [`JOIN_WAVES`]).
fn join_wave(clients: usize) -> usize {
    (clients / JOIN_WAVES).clamp(1, MAX_JOIN_WAVE)
}

fn client_name(index: usize) -> String {
    format!("c{index}")
}

/// When sender `id` of `senders` should send its `seq`-th text at `rate`:
/// senders are spread evenly over one period so they do not all fire at once.
fn scheduled(start: Instant, rate: f64, id: usize, senders: usize, seq: usize) -> Instant {
    let offset = id as f64 / (senders as f64 * rate);
    start + Duration::from_secs_f64(offset + seq as f64 / rate)
}

/// Sleeps until `when` unless the run stops first.
fn sleep_until(when: Instant, shared: &Shared) {
    loop {
        let now = Instant::now();
        if now >= when || shared.stopped() {
            return;
        }
        thread::sleep((when - now).min(POLL));
    }
}

/// What a chat reader thread found.
#[derive(Default)]
struct ReaderReport {
    latency: Histogram,
    received: u64,
    last_delivery: Option<Instant>,
    leaves: u64,
    violations: u64,
    samples: Vec<String>,
    /// The server closed or reset the connection.
    closed: bool,
    /// How many texts of each sender arrived (chat).
    per_sender: Vec<u64>,
}

impl ReaderReport {
    fn violation(&mut self, what: String) {
        self.violations += 1;
        if self.samples.len() < 3 {
            self.samples.push(what);
        }
    }
}

/// How a chat server speaks: its framing, and the wording of its notices.
#[derive(Clone, Copy)]
struct Chat<'a> {
    framing: Framing,
    dialect: &'a Dialect,
}

/// Everything a chat reader needs to know about its place in the run.
struct ReaderPlan {
    index: usize,
    framing: Framing,
    dialect: Dialect,
    senders: usize,
    messages: u64,
}

impl ReaderPlan {
    fn expected(&self) -> u64 {
        let others = if self.index < self.senders {
            self.senders - 1
        } else {
            self.senders
        };
        others as u64 * self.messages
    }
}

fn chat_reader(conn: Conn, plan: ReaderPlan, shared: Arc<Shared>) -> ReaderReport {
    let mut report = ReaderReport {
        per_sender: vec![0; plan.senders],
        ..ReaderReport::default()
    };
    let expected = plan.expected();
    let mut reader = BufReader::with_capacity(READ_BUFFER, conn);
    let mut buf = Vec::with_capacity(256);
    let mut greeting = plan.dialect.greeting_lines;
    let finish = |report: ReaderReport| {
        shared.received[plan.index].store(GONE, Ordering::Relaxed);
        shared.finished.fetch_add(1, Ordering::Relaxed);
        report
    };
    loop {
        if shared.stopped() || (report.received >= expected && shared.sending()) {
            return finish(report);
        }
        match plan.framing.read(&mut reader, &mut buf) {
            Ok(true) => {}
            Ok(false) => {
                report.closed = !shared.stopped();
                return finish(report);
            }
            Err(e) if is_timeout(&e) => continue,
            Err(e) => {
                if !shared.stopped() {
                    report.closed = true;
                    if e.kind() == io::ErrorKind::InvalidData {
                        report.violation(format!("{}: {e}", client_name(plan.index)));
                    }
                }
                return finish(report);
            }
        }
        if shared.stopped() {
            // Whatever arrives once the run is over (say, after a stall
            // was declared) is not counted.
            return finish(report);
        }
        let now = shared.now_nanos();
        if greeting > 0 {
            // What the server says to every newcomer first (a prompt).
            greeting -= 1;
            continue;
        }
        let message = String::from_utf8_lossy(&buf);
        match plan.dialect.notice(&message) {
            Some(Notice::Joined) => {
                shared.saw_join(plan.index);
                continue;
            }
            Some(Notice::Left) => {
                report.leaves += 1;
                continue;
            }
            None if message.starts_with("SERVER: ") => {
                report.violation(format!("{} got {message:?}", client_name(plan.index)));
                continue;
            }
            None => {}
        }
        let Some((name, text)) = message.split_once(": ") else {
            report.violation(format!("{} got {message:?}", client_name(plan.index)));
            continue;
        };
        let parsed = parse_text(text.as_bytes());
        let Some((id, seq, sent)) = parsed
            .filter(|(id, ..)| *id < plan.senders && *id != plan.index && name == client_name(*id))
        else {
            report.violation(format!("{} got {message:?}", client_name(plan.index)));
            continue;
        };
        if seq != report.per_sender[id] {
            report.violation(format!(
                "{} got text {seq} of {name} when text {} was due",
                client_name(plan.index),
                report.per_sender[id]
            ));
            if seq < report.per_sender[id] {
                continue; // a repeat, or one overtaken: delivered before
            }
            // A gap: the texts in between are lost (they will show as
            // missing); this one is new, and counts.
        }
        report.per_sender[id] = seq + 1;
        report
            .latency
            .record(Duration::from_nanos(now.saturating_sub(sent)));
        report.received += 1;
        report.last_delivery = Some(Instant::now());
        shared.delivered.fetch_add(1, Ordering::Relaxed);
        shared.received[plan.index].store(report.received, Ordering::Relaxed);
        if report.received == expected {
            return finish(report);
        }
    }
}

/// Where the missing texts went missing: for each sender some reader is
/// short of, how many readers are short and the least any of them got.
fn missing_by_sender(reports: &[ReaderReport], senders: usize, messages: u64) -> Vec<String> {
    (0..senders)
        .filter_map(|id| {
            let counts: Vec<u64> = reports
                .iter()
                .enumerate()
                .filter(|(reader, _)| *reader != id)
                .map(|(_, r)| r.per_sender.get(id).copied().unwrap_or(0))
                .collect();
            let short = counts.iter().filter(|&&n| n < messages).count();
            let least = counts.iter().copied().min()?;
            (short > 0).then(|| {
                format!(
                    "{}'s texts: {short} of {} readers short, the furthest behind stopped \
                     at text {least} of {messages}",
                    client_name(id),
                    counts.len()
                )
            })
        })
        .collect()
}

/// What a sender thread runs: [`chat_sender`], or a test's stand-in.
type SenderFn = fn(Conn, usize, Load, Framing, Arc<Gate>, Arc<Shared>) -> io::Result<()>;

fn chat_sender(
    conn: Conn,
    id: usize,
    load: Load,
    framing: Framing,
    gate: Arc<Gate>,
    shared: Arc<Shared>,
) -> io::Result<()> {
    let Some(t0) = gate.wait() else {
        return Ok(()); // the run was called off before it began
    };
    let mut wire = Vec::with_capacity(load.size + 64);
    for seq in 0..load.messages {
        if let Some(rate) = load.rate {
            sleep_until(scheduled(t0, rate, id, load.senders, seq), &shared);
        }
        shared.wait_window();
        if shared.stopped() {
            return Ok(());
        }
        wire.clear();
        framing.encode(&compose(id, seq, shared.now_nanos(), load.size), &mut wire);
        conn.write_all(&wire, &shared)?;
        shared.count_sent(id);
    }
    Ok(())
}

fn run_chat(
    addr: SocketAddr,
    chat: Chat<'_>,
    load: &Load,
    progress: &Progress,
    sample: impl Fn() -> Option<Status>,
    sender: SenderFn,
) -> anyhow::Result<Outcome> {
    let framing = chat.framing;
    let shared = Arc::new(Shared::new(load));
    let readers_count = load.clients - load.stalled;
    let mut conns = Vec::with_capacity(load.clients);
    let mut readers = Vec::with_capacity(readers_count);
    let gate = Arc::new(Gate::default());
    // Whatever goes wrong, stop and unblock every thread before returning.
    let result = (|| -> anyhow::Result<Outcome> {
        // Phase 1: join in waves; the stalled clients come last.
        let mut anchor = 0;
        let mut index = 0;
        while index < load.clients {
            // c0 and c1 join alone (see below); a wave never mixes readers
            // and stalled clients, which must join after every reader.
            let boundary = if index < readers_count {
                readers_count
            } else {
                load.clients
            };
            let wave = if index < 2 {
                1
            } else {
                join_wave(load.clients).min(boundary - index)
            };
            progress.note(&format!("joining {index}/{}", load.clients));
            for index in index..index + wave {
                let conn = Conn::connect(addr)?;
                let mut hello = Vec::new();
                framing.encode(client_name(index).as_bytes(), &mut hello);
                conn.write_all(&hello, &shared)
                    .with_context(|| format!("{} could not send its name", client_name(index)))?;
                conns.push(conn.clone());
                if index < readers_count {
                    let plan = ReaderPlan {
                        index,
                        framing,
                        dialect: chat.dialect.clone(),
                        senders: load.senders,
                        messages: load.messages as u64,
                    };
                    let thread_shared = Arc::clone(&shared);
                    readers.push(spawn(format!("bench-read-{index}"), &shared, move || {
                        chat_reader(conn, plan, thread_shared)
                    })?);
                }
            }
            let last = index + wave - 1;
            // The first client gets no notice of its own, so nothing tells
            // when the server has taken its name: c1 may be registered
            // first. Whichever of the two sees the other's notice was in the
            // room first, and becomes the anchor that witnesses each later
            // join (and so sees every one of them).
            let witnessed = match last {
                0 => true,
                1 => shared.wait_joins(JOIN_TIMEOUT, || {
                    shared.joins_of(0) >= 1 || shared.joins_of(1) >= 1
                }),
                _ => shared.wait_joins(JOIN_TIMEOUT, || shared.joins_of(anchor) >= last),
            };
            shared.check_fault()?;
            if !witnessed {
                bail!(
                    "nobody saw `SERVER: {} has joined the chat.` within {JOIN_TIMEOUT:?}",
                    client_name(last)
                );
            }
            if last == 1 && shared.joins_of(0) == 0 {
                anchor = 1;
            }
            index += wave;
        }
        // Of every two readers, the one that joined first hears of the
        // other; and every reader hears of every stalled client.
        let (readers_due, stalled) = (readers_count as u64, load.stalled as u64);
        let due = readers_due * readers_due.saturating_sub(1) / 2 + readers_due * stalled;
        let all_joined = || shared.joins_total.load(Ordering::Relaxed) >= due;
        let joined = shared.wait_joins(JOIN_TIMEOUT, all_joined);
        shared.check_fault()?;
        if !joined {
            bail!("not every client saw the join notices of those after it");
        }
        let joined_status = sample();

        // Phase 2: start every sender at the same instant.
        let mut senders = Vec::with_capacity(load.senders);
        for (id, conn) in conns.iter().enumerate().take(load.senders) {
            let (conn, load, gate, thread_shared) = (
                conn.clone(),
                load.clone(),
                Arc::clone(&gate),
                Arc::clone(&shared),
            );
            senders.push(spawn(format!("bench-send-{id}"), &shared, move || {
                sender(conn, id, load, framing, gate, thread_shared)
            })?);
        }
        let t0 = Instant::now();
        shared.sending.store(true, Ordering::Relaxed);
        gate.open(t0);

        // Phase 3: wait for the readers, or for the run to stall.
        let expected = load.expected(Protocol::Chat(framing));
        let end = watch(&shared, readers_count, expected, load, progress);
        shared.stop.store(true, Ordering::Relaxed);
        shared.check_fault()?;
        let stalled_dropped = conns[readers_count..]
            .iter()
            .filter(|c| !probe_held(c))
            .count();
        let mut outcome = Outcome {
            stalled_dropped,
            server: joined_status.map(|joined| ServerFigures {
                joined,
                ..ServerFigures::default()
            }),
            ..Outcome::start(expected, load.clients, 0, end)
        };
        let mut last = t0;
        let mut closed = 0;
        let mut reports = Vec::with_capacity(readers_count);
        for reader in readers.drain(..) {
            match join(reader) {
                Some(report) => reports.push(report),
                None => shared.check_fault()?,
            }
        }
        for r in &reports {
            outcome.latency.merge(&r.latency);
            outcome.delivered += r.received;
            outcome.leaves_seen += r.leaves;
            outcome.violations += r.violations;
            for s in &r.samples {
                if outcome.violation_samples.len() < 5 {
                    outcome.violation_samples.push(s.clone());
                }
            }
            closed += usize::from(r.closed);
            last = last.max(r.last_delivery.unwrap_or(t0));
        }
        if outcome.delivered < expected {
            outcome.missing_samples =
                missing_by_sender(&reports, load.senders, load.messages as u64);
            outcome.missing_samples.truncate(5);
        }
        outcome.held = load.clients - closed - stalled_dropped;
        outcome.elapsed = last - t0;
        for conn in &conns {
            conn.shutdown();
        }
        for sender in senders {
            // A sender whose server hung up is no bench failure: the missing
            // deliveries already tell that story. One that panicked is.
            let _ = join(sender);
        }
        shared.check_fault()?;
        Ok(outcome)
    })();
    gate.cancel();
    shared.stop.store(true, Ordering::Relaxed);
    for conn in &conns {
        conn.shutdown();
    }
    for reader in readers {
        let _ = join(reader);
    }
    progress.clear();
    result
}

/// Waits until every reader is finished, or the run stalls or times out,
/// or a bench thread failed (then the caller finds the fault in `shared`).
fn watch(shared: &Shared, readers: usize, expected: u64, load: &Load, progress: &Progress) -> End {
    let start = Instant::now();
    let mut last_count = 0;
    let mut last_change = start;
    loop {
        if shared.finished.load(Ordering::Relaxed) >= readers || shared.stopped() {
            return End::Finished;
        }
        let now = Instant::now();
        let count = shared.delivered.load(Ordering::Relaxed);
        if count != last_count {
            last_count = count;
            last_change = now;
        }
        if now - last_change >= load.stall_after {
            return End::Stalled;
        }
        if now - start >= load.deadline {
            return End::TimedOut;
        }
        progress.deliveries(count, expected);
        thread::sleep(TICK);
    }
}

/// Whether the server still holds a client that never read: drains what is
/// waiting for it until nothing more comes (held) or the stream ends (dropped).
fn probe_held(conn: &Conn) -> bool {
    let mut conn = conn.clone();
    let _ = conn.0.set_read_timeout(Some(Duration::from_millis(100)));
    let deadline = Instant::now() + PROBE_TIME;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut drained = 0;
    while Instant::now() < deadline && drained < PROBE_BYTES {
        match conn.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => drained += n,
            Err(e) if is_timeout(&e) => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

fn run_echo(addr: SocketAddr, load: &Load, progress: &Progress) -> anyhow::Result<Outcome> {
    let shared = Arc::new(Shared::new(load));
    let mut conns = Vec::with_capacity(load.clients);
    let mut threads = Vec::with_capacity(load.clients);
    let gate = Arc::new(Gate::default());
    let result = (|| -> anyhow::Result<Outcome> {
        // Everyone connects first: a blocking server leaves them queued in
        // the kernel's backlog, which is exactly what the run shows.
        for index in 0..load.clients {
            progress.note(&format!("connecting {index}/{}", load.clients));
            let conn = Conn::connect(addr)?;
            conns.push(conn.clone());
            let (load, gate, thread_shared) =
                (load.clone(), Arc::clone(&gate), Arc::clone(&shared));
            threads.push(spawn(format!("bench-echo-{index}"), &shared, move || {
                echo_client(conn, index, load, gate, thread_shared)
            })?);
        }
        let t0 = Instant::now();
        gate.open(t0);
        let expected = load.expected(Protocol::Echo);
        let end = watch(&shared, load.clients, expected, load, progress);
        shared.stop.store(true, Ordering::Relaxed);
        let mut outcome = Outcome::start(expected, load.clients, load.clients, end);
        let mut last = t0;
        for thread in threads.drain(..) {
            let Some(r) = join(thread) else {
                shared.check_fault()?;
                continue;
            };
            outcome.latency.merge(&r.latency);
            outcome.delivered += r.received;
            outcome.violations += r.violations;
            outcome.violation_samples.extend(r.samples);
            outcome.held -= usize::from(r.closed);
            last = last.max(r.last_delivery.unwrap_or(t0));
        }
        outcome.violation_samples.truncate(5);
        outcome.elapsed = last - t0;
        shared.check_fault()?;
        Ok(outcome)
    })();
    gate.cancel();
    shared.stop.store(true, Ordering::Relaxed);
    for conn in &conns {
        conn.shutdown();
    }
    for thread in threads {
        let _ = join(thread);
    }
    progress.clear();
    result
}

fn echo_client(
    conn: Conn,
    index: usize,
    load: Load,
    gate: Arc<Gate>,
    shared: Arc<Shared>,
) -> ReaderReport {
    let mut report = ReaderReport::default();
    let Some(t0) = gate.wait() else {
        shared.finished.fetch_add(1, Ordering::Relaxed);
        return report;
    };
    let mut reader = BufReader::with_capacity(READ_BUFFER, conn.clone());
    let mut wire = Vec::with_capacity(load.size + 64);
    let mut echoed = Vec::with_capacity(load.size + 64);
    'texts: for seq in 0..load.messages {
        if let Some(rate) = load.rate {
            sleep_until(scheduled(t0, rate, index, load.clients, seq), &shared);
        }
        let sent = shared.now_nanos();
        let text = compose(index, seq, sent, load.size);
        wire.clear();
        Framing::Lines.encode(&text, &mut wire);
        if conn.write_all(&wire, &shared).is_err() {
            report.closed = !shared.stopped();
            break;
        }
        loop {
            if shared.stopped() {
                break 'texts;
            }
            match Framing::Lines.read(&mut reader, &mut echoed) {
                Ok(true) => break,
                Ok(false) => {
                    report.closed = !shared.stopped();
                    break 'texts;
                }
                Err(e) if is_timeout(&e) => {}
                Err(_) => {
                    report.closed = !shared.stopped();
                    break 'texts;
                }
            }
        }
        if echoed != text {
            report.violation(format!(
                "{} sent {:?} and got back {:?}",
                client_name(index),
                String::from_utf8_lossy(&text),
                String::from_utf8_lossy(&echoed)
            ));
            break;
        }
        report.latency.record(Duration::from_nanos(
            shared.now_nanos().saturating_sub(sent),
        ));
        report.received += 1;
        report.last_delivery = Some(Instant::now());
        shared.delivered.fetch_add(1, Ordering::Relaxed);
    }
    // Leave, as a real client does when it is done: a blocking server can
    // only turn to the next client once this one has gone.
    conn.shutdown();
    shared.finished.fetch_add(1, Ordering::Relaxed);
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// What the fake server does wrong.
    #[derive(Clone, Copy)]
    enum Fault {
        None,
        /// Never relays text number 1 of any sender.
        DropsText1,
        /// Relays text number 1 of every sender twice.
        RepeatsText1,
        /// Never relays anything c0 says.
        SilencesC0,
    }

    /// A tiny chat on 127.0.0.1 for `clients` clients (then it stops
    /// accepting), in either framing, with a deliberate fault, to prove the
    /// bench notices.
    fn fake_chat(clients: usize, framing: Framing, fault: Fault) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let room: Arc<Mutex<Vec<(String, TcpStream)>>> = Arc::default();
        let send = move |to: &mut TcpStream, text: String| {
            let mut wire = Vec::new();
            framing.encode(text.as_bytes(), &mut wire);
            let _ = to.write_all(&wire);
        };
        thread::spawn(move || {
            for stream in listener.incoming().take(clients) {
                let stream = stream.unwrap();
                let room = Arc::clone(&room);
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut buf = Vec::new();
                    if !framing.read(&mut reader, &mut buf).unwrap_or(false) {
                        return;
                    }
                    let name = String::from_utf8(buf.clone()).unwrap();
                    let mut members = room.lock().unwrap();
                    for (_, other) in members.iter_mut() {
                        send(other, format!("SERVER: {name} has joined the chat."));
                    }
                    members.push((name.clone(), stream));
                    drop(members);
                    while framing.read(&mut reader, &mut buf).unwrap_or(false) {
                        let text = String::from_utf8(buf.clone()).unwrap();
                        let text_1 = parse_text(&buf).is_some_and(|t| t.1 == 1);
                        let copies = match fault {
                            Fault::DropsText1 if text_1 => 0,
                            Fault::SilencesC0 if name == "c0" => 0,
                            Fault::RepeatsText1 if text_1 => 2,
                            _ => 1,
                        };
                        let mut members = room.lock().unwrap();
                        for (other_name, other) in members.iter_mut() {
                            for _ in 0..copies {
                                if *other_name != name {
                                    send(other, format!("{name}: {text}"));
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    fn small_load() -> Load {
        Load {
            clients: 3,
            senders: 2,
            messages: 4,
            rate: None,
            size: 0,
            stalled: 0,
            window: DEFAULT_WINDOW,
            stall_after: Duration::from_millis(500),
            deadline: Duration::from_secs(20),
        }
    }

    fn run_fake(framing: Framing, fault: Fault) -> Outcome {
        let load = small_load();
        let addr = fake_chat(load.clients, framing, fault);
        let chat = Protocol::Chat(framing);
        let course = Dialect::course();
        run(addr, chat, &course, &load, None, &Progress::new("test")).unwrap()
    }

    #[test]
    fn a_faithful_chat_has_every_delivery_accounted_for() {
        for framing in [Framing::Lines, Framing::Frames] {
            let o = run_fake(framing, Fault::None);
            // 2 senders x 4 texts, each to the 2 other clients.
            assert_eq!((o.expected, o.delivered, o.violations), (16, 16, 0));
            assert_eq!(o.end, End::Finished);
            assert_eq!(o.held, 3);
            assert_eq!(o.latency.count(), 16);
        }
    }

    #[test]
    fn a_lost_text_is_missing_and_out_of_order() {
        let o = run_fake(Framing::Frames, Fault::DropsText1);
        // Text 1 of each of the 2 senders misses its 2 receivers.
        assert_eq!(o.delivered, 16 - 4);
        assert_eq!(o.violations, 4, "{:?}", o.violation_samples);
        assert!(o.violation_samples[0].contains("when text 1 was due"));
        assert_eq!(o.end, End::Stalled);
        assert!(!o.accounted_for());
    }

    #[test]
    fn a_silenced_sender_is_named_in_the_missing_report() {
        let o = run_fake(Framing::Lines, Fault::SilencesC0);
        assert_eq!(o.delivered, 8, "only c1's texts arrive");
        assert_eq!(o.violations, 0);
        assert_eq!(
            o.missing_samples,
            ["c0's texts: 2 of 2 readers short, the furthest behind stopped at text 0 of 4"]
        );
    }

    #[test]
    fn a_repeated_text_is_a_violation() {
        let o = run_fake(Framing::Lines, Fault::RepeatsText1);
        assert_eq!(o.delivered, 16);
        assert_eq!(o.violations, 4, "{:?}", o.violation_samples);
        assert!(!o.accounted_for());
    }

    /// The bug behind a run that reported step 7 as STALLED: a sender
    /// thread panicked (`attempt to subtract with overflow`), the texts
    /// stopped, and the stall was put down to the server.
    #[test]
    fn a_panic_in_a_bench_thread_is_the_benchs_failure_not_a_stall() {
        fn overflowing_sender(
            _: Conn,
            _: usize,
            _: Load,
            _: Framing,
            gate: Arc<Gate>,
            _: Arc<Shared>,
        ) -> io::Result<()> {
            gate.wait();
            let (sent, own) = (std::hint::black_box(1u64), std::hint::black_box(2u64));
            let _ = std::hint::black_box(sent - own);
            Ok(())
        }
        let load = small_load();
        let addr = fake_chat(load.clients, Framing::Lines, Fault::None);
        let chat = Chat {
            framing: Framing::Lines,
            dialect: &Dialect::course(),
        };
        let progress = Progress::new("test");
        let result = run_chat(addr, chat, &load, &progress, || None, overflowing_sender);
        let error = result.expect_err("a bench failure, not an outcome");
        let fault = error.downcast_ref::<BenchFault>().expect("a BenchFault");
        assert!(fault.thread.starts_with("bench-send-"), "{fault:?}");
        assert!(
            fault.message.contains("attempt to subtract with overflow"),
            "{fault:?}"
        );
        assert!(error.to_string().contains("not a result of the server"));
    }

    /// A sender may count a text between the two reads of `window_full`,
    /// so its own count can pass the total for a moment.
    #[test]
    fn a_senders_count_ahead_of_the_total_does_not_overflow() {
        let shared = Shared::new(&small_load());
        shared.sent_by[0].fetch_add(1, Ordering::Relaxed);
        assert!(!shared.window_full());
    }

    #[test]
    fn another_servers_wording_is_understood() {
        // Like tokio's examples/chat.rs: a prompt, then notices without
        // `SERVER: `; the texts are `NAME: TEXT` as in the course.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let load = small_load();
        let clients = load.clients;
        thread::spawn(move || {
            let room: Arc<Mutex<Vec<(String, TcpStream)>>> = Arc::default();
            for stream in listener.incoming().take(clients) {
                let mut stream = stream.unwrap();
                let room = Arc::clone(&room);
                thread::spawn(move || {
                    stream.write_all(b"Please enter your username:\n").unwrap();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut buf = Vec::new();
                    if !Framing::Lines.read(&mut reader, &mut buf).unwrap_or(false) {
                        return;
                    }
                    let name = String::from_utf8(buf.clone()).unwrap();
                    let mut members = room.lock().unwrap();
                    for (_, other) in members.iter_mut() {
                        let _ = other.write_all(format!("{name} has joined the chat\n").as_bytes());
                    }
                    members.push((name.clone(), stream));
                    drop(members);
                    while Framing::Lines.read(&mut reader, &mut buf).unwrap_or(false) {
                        let text = String::from_utf8_lossy(&buf).into_owned();
                        for (other_name, other) in room.lock().unwrap().iter_mut() {
                            if *other_name != name {
                                let _ = other.write_all(format!("{name}: {text}\n").as_bytes());
                            }
                        }
                    }
                });
            }
        });
        let dialect =
            Dialect::new("{name} has joined the chat", "{name} has left the chat", 1).unwrap();
        let chat = Protocol::Chat(Framing::Lines);
        let o = run(addr, chat, &dialect, &load, None, &Progress::new("test")).unwrap();
        assert_eq!((o.expected, o.delivered, o.violations), (16, 16, 0));
        assert_eq!(o.end, End::Finished);
    }

    #[test]
    fn texts_round_trip_with_and_without_padding() {
        let short = compose(3, 42, 123, 0);
        assert_eq!(short, b"s3 42 123");
        assert_eq!(parse_text(&short), Some((3, 42, 123)));
        let padded = compose(3, 42, 123, 64);
        assert_eq!(padded.len(), 64);
        assert_eq!(parse_text(&padded), Some((3, 42, 123)));
        assert_eq!(parse_text(b"s3 42 123 xxy"), None);
        assert_eq!(parse_text(b"hello"), None);
    }

    #[test]
    fn expected_deliveries_exclude_the_sender_and_stalled_clients() {
        let load = Load {
            clients: 20,
            senders: 4,
            messages: 10,
            rate: None,
            size: 0,
            stalled: 1,
            window: DEFAULT_WINDOW,
            stall_after: DEFAULT_STALL_AFTER,
            deadline: DEFAULT_DEADLINE,
        };
        // 4 senders x 10 texts x the 18 other healthy clients.
        assert_eq!(load.expected(Protocol::Chat(Framing::Lines)), 720);
        let plan = |index| ReaderPlan {
            index,
            framing: Framing::Lines,
            dialect: Dialect::course(),
            senders: 4,
            messages: 10,
        };
        assert_eq!(plan(0).expected(), 30);
        assert_eq!(plan(10).expected(), 40);
    }

    #[test]
    fn rated_senders_are_spread_over_one_period() {
        let t0 = Instant::now();
        let at = |id, seq| scheduled(t0, 100.0, id, 4, seq) - t0;
        assert_eq!(at(0, 0), Duration::ZERO);
        assert_eq!(at(2, 0), Duration::from_millis(5));
        assert_eq!(at(0, 3), Duration::from_millis(30));
    }

    #[test]
    fn impossible_loads_are_refused() {
        let load = Load {
            clients: 3,
            senders: 3,
            messages: 1,
            rate: None,
            size: 0,
            stalled: 1,
            window: DEFAULT_WINDOW,
            stall_after: DEFAULT_STALL_AFTER,
            deadline: DEFAULT_DEADLINE,
        };
        assert!(load.validate(Protocol::Chat(Framing::Lines)).is_err());
        assert!(load.validate(Protocol::Echo).is_err());
        let fine = Load {
            senders: 2,
            ..load.clone()
        };
        assert!(fine.validate(Protocol::Chat(Framing::Lines)).is_ok());
    }
}
