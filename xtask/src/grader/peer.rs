//! A grader client: a real TCP client that records every byte it sends and
//! receives in the scenario's transcript, and whose every wait has a
//! deadline. Expectations return a [`Failure`] instead of panicking, so a
//! misbehaving server becomes a report, never a crash of the grader.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::failure::{Expect, Failure, Problem, Waiting};
use super::room::{self, Room};
use super::timeouts::Timeouts;
use super::transcript::{Event, Log, Voice, escape, escape_shortened};

/// How messages are delimited on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// No framing: an echo or a raw relay; compare bytes.
    Raw,
    /// Lines ending in `\n` (steps 4 to 6).
    Lines,
    /// 4-byte big-endian length, then the payload (step 7).
    Frames,
}

/// The largest line or frame the grader accepts from a server: far above
/// anything the protocol sends, so a runaway server cannot exhaust memory.
const MAX_INCOMING: usize = 1 << 20;

/// How much a client left unread is recorded when it is dropped.
const MAX_UNREAD_SHOWN: usize = 64 * 1024;

/// A receive buffer small enough that a client which never reads fills up
/// after a few kilobytes (the kernel may round it up a little).
const SMALL_RECEIVE_BUFFER: usize = 4096;

/// Every connection of a scenario stays open until the scenario ends,
/// unless the scenario closes or resets it on purpose: this keeps a
/// duplicate of each, so that when the scenario is over, what every client
/// received and never read is recorded before any of them leaves (a client
/// leaving would otherwise cause notices that blur the picture).
#[derive(Debug, Default)]
pub struct Connections {
    open: Mutex<Vec<Open>>,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct Open {
    id: u64,
    label: String,
    stream: TcpStream,
    quiet: Arc<AtomicBool>,
}

impl Connections {
    fn register(&self, label: &str, stream: &TcpStream, quiet: &Arc<AtomicBool>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(stream) = stream.try_clone() {
            self.lock().push(Open {
                id,
                label: label.to_string(),
                stream,
                quiet: Arc::clone(quiet),
            });
        }
        id
    }

    /// Lets go of a connection's duplicate, so that closing it closes it.
    fn forget(&self, id: u64) {
        self.lock().retain(|open| open.id != id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records what each open connection received and nobody read (a
    /// message broadcast by mistake shows up here).
    pub fn record_unread(&self, log: &Log) {
        for connection in self.lock().iter() {
            if !connection.quiet.load(Ordering::Relaxed) {
                record_unread(connection, log);
            }
        }
    }

    /// Closes every connection still open (their last handles are these).
    pub fn close_all(&self) {
        drop(std::mem::take(&mut *self.lock()));
    }
}

fn record_unread(connection: &Open, log: &Log) {
    let mut stream = &connection.stream;
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let mut chunk = [0u8; 16 * 1024];
    let mut unread = 0;
    while unread < MAX_UNREAD_SHOWN {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                unread += n;
                log.push(
                    Voice::Client(connection.label.clone()),
                    Event::Received(chunk[..n].to_vec()),
                );
            }
        }
    }
    if unread > 0 {
        log.note(
            &connection.label,
            "(that had arrived, unread, when the scenario ended)",
        );
    }
}

/// What the clients of one scenario share.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    pub log: Log,
    pub timeouts: Timeouts,
    pub room: Arc<Room>,
    pub connections: Arc<Connections>,
    /// The labels of the clients that stop reading on purpose.
    pub slow_readers: Arc<Mutex<Vec<String>>>,
    /// Set once any client received anything from the server.
    pub heard: Arc<AtomicBool>,
}

/// Why a read stopped without data.
enum Stop {
    Timeout,
    Eof,
    Reset,
    Failed(String),
}

/// One grader client.
pub struct Peer {
    label: String,
    /// The chat name this client joined with (empty before it joins).
    pub name: String,
    stream: TcpStream,
    wire: Wire,
    pending: Vec<u8>,
    ended: Option<Stop>,
    log: Log,
    timeouts: Timeouts,
    room: Arc<Room>,
    connections: Arc<Connections>,
    /// This connection's number in `connections`.
    id: u64,
    quiet: Arc<AtomicBool>,
    heard: Arc<AtomicBool>,
    /// Messages that may arrive at most once, anywhere, and are then skipped.
    tolerated: Vec<(Vec<u8>, bool)>,
}

impl Peer {
    /// Connects to `addr`. With `small_receive_buffer`, the client's receive
    /// buffer is shrunk before connecting, so that a client which never reads
    /// pushes back on the server quickly.
    pub(crate) fn connect(
        label: &str,
        addr: SocketAddr,
        wire: Wire,
        small_receive_buffer: bool,
        links: Links,
    ) -> Expect<Peer> {
        let Links {
            log,
            timeouts,
            room,
            connections,
            slow_readers,
            heard,
        } = links;
        let expected = format!("{label} can connect to {addr}");
        let failed = |error: std::io::Error| {
            let problem = match error.kind() {
                ErrorKind::ConnectionRefused => Problem::Refused {
                    addr: addr.to_string(),
                },
                _ => Problem::ConnectFailed {
                    addr: addr.to_string(),
                    error: error.to_string(),
                },
            };
            Failure::new(problem, expected.clone())
        };
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(failed)?;
        if small_receive_buffer {
            socket
                .set_recv_buffer_size(SMALL_RECEIVE_BUFFER)
                .map_err(failed)?;
        }
        socket
            .connect_timeout(&addr.into(), timeouts.wait())
            .map_err(failed)?;
        let stream: TcpStream = socket.into();
        stream.set_nodelay(true).map_err(failed)?;
        stream
            .set_write_timeout(Some(timeouts.wait()))
            .map_err(failed)?;
        let local = stream
            .local_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        let note = if small_receive_buffer {
            slow_readers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(label.to_string());
            format!("connected from {local} (with a tiny receive buffer)")
        } else {
            format!("connected from {local}")
        };
        log.note(label, note);
        let quiet = Arc::new(AtomicBool::new(false));
        let id = connections.register(label, &stream, &quiet);
        Ok(Peer {
            label: label.to_string(),
            name: String::new(),
            stream,
            wire,
            pending: Vec::new(),
            ended: None,
            log,
            timeouts,
            room,
            connections,
            id,
            quiet,
            heard,
            tolerated: Vec::new(),
        })
    }

    /// The label in the transcript (`ann`, `bob`, ...).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// This client's address, as the server sees it on loopback.
    pub fn local_addr(&self) -> SocketAddr {
        self.stream
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Stops (or resumes) recording bytes, for bulk transfers that would
    /// drown the transcript; write a note that says what happened instead.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet.store(quiet, Ordering::Relaxed);
    }

    fn is_quiet(&self) -> bool {
        self.quiet.load(Ordering::Relaxed)
    }

    /// Adds a note to the transcript in this client's voice.
    pub fn note(&self, text: impl Into<String>) {
        self.log.note(&self.label, text);
    }

    /// Allows `message` to arrive once, at any point, without disturbing the
    /// expectations (a leave notice whose timing the server decides).
    pub fn tolerate_once(&mut self, message: &str) {
        self.tolerated.push((message.as_bytes().to_vec(), false));
    }

    /// Whether a tolerated message has arrived.
    pub fn saw(&self, message: &str) -> bool {
        self.tolerated
            .iter()
            .any(|(m, seen)| *seen && m == message.as_bytes())
    }

    /// Requires a tolerated message after all: done if it has arrived,
    /// otherwise it is expected now (and no longer skipped).
    pub fn expect_tolerated(&mut self, message: &str) -> Expect {
        let seen = self.saw(message);
        self.tolerated.retain(|(m, _)| m != message.as_bytes());
        if seen { Ok(()) } else { self.expect(message) }
    }

    // ----- sending -----

    /// Sends `bytes` in one write.
    pub fn send(&mut self, bytes: &[u8]) -> Expect {
        if !self.is_quiet() {
            self.log.push(
                Voice::Client(self.label.clone()),
                Event::Sent(bytes.to_vec()),
            );
        }
        self.stream.write_all(bytes).map_err(|error| {
            let timed_out = matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
            let error = if timed_out {
                format!(
                    "the write blocked for {:.1} s",
                    self.timeouts.wait().as_secs_f64()
                )
            } else {
                error.to_string()
            };
            self.note(format!("could not send: {error}"));
            Failure::new(
                Problem::SendFailed {
                    client: self.label.clone(),
                    error,
                    timed_out,
                },
                format!("{} can send {}", self.label, escape_shortened(bytes)),
            )
        })
    }

    /// Sends `bytes` in pieces of `size` bytes, one write each, with a short
    /// pause between, so the server's reads are likely to see them apart.
    pub fn send_in_pieces(&mut self, bytes: &[u8], size: usize) -> Expect {
        for (i, piece) in bytes.chunks(size.max(1)).enumerate() {
            if i > 0 {
                thread::sleep(self.timeouts.piece_gap());
            }
            self.send(piece)?;
        }
        Ok(())
    }

    /// `text` encoded for this connection's wire: a line or a frame.
    pub fn encode(&self, text: &str) -> Vec<u8> {
        encode(self.wire, text.as_bytes())
    }

    /// Sends one chat message (a line, or a frame on a framed connection).
    pub fn say(&mut self, text: &str) -> Expect {
        let bytes = self.encode(text);
        self.send(&bytes)
    }

    /// Closes the sending side (FIN), as a client that is done does.
    pub fn shutdown_write(&mut self) {
        self.note("closes its sending side (FIN)");
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Closes the connection the polite way (FIN), now.
    pub fn close(self) {
        self.note("closes the connection");
        let _ = self.stream.shutdown(Shutdown::Both);
        self.connections.forget(self.id);
    }

    /// Drops the connection with a TCP reset, like a laptop that vanished
    /// mid-chat: SO_LINGER with a zero timeout, then close.
    pub fn reset(self) {
        self.note("resets the connection (RST), like a laptop that vanished");
        let _ = SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        // The duplicate goes first, so that dropping `self` is the last close.
        self.connections.forget(self.id);
    }

    // ----- receiving -----

    /// Reads once into `pending`, waiting at most until `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<usize, Stop> {
        if let Some(stop) = &self.ended {
            return Err(match stop {
                Stop::Reset => Stop::Reset,
                _ => Stop::Eof,
            });
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Stop::Timeout);
            }
            if let Err(e) = self.stream.set_read_timeout(Some(remaining)) {
                return Err(Stop::Failed(e.to_string()));
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.note("the server closed the connection");
                    self.ended = Some(Stop::Eof);
                    return Err(Stop::Eof);
                }
                Ok(n) => {
                    acknowledge_now(&self.stream);
                    self.heard.store(true, Ordering::Relaxed);
                    if !self.is_quiet() {
                        self.log.push(
                            Voice::Client(self.label.clone()),
                            Event::Received(chunk[..n].to_vec()),
                        );
                    }
                    self.pending.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(Stop::Timeout);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                    ) =>
                {
                    self.note("the server reset the connection");
                    self.ended = Some(Stop::Reset);
                    return Err(Stop::Reset);
                }
                Err(e) => return Err(Stop::Failed(e.to_string())),
            }
        }
    }

    /// Turns a stopped read into the problem a report shows.
    fn stopped(&self, stop: Stop, waiting: Waiting, waited: Duration) -> Problem {
        let client = self.label.clone();
        let partial = self.pending.clone();
        match stop {
            Stop::Timeout => {
                self.note(format!(
                    "waited {:.1} s for {waiting}: nothing more arrived",
                    waited.as_secs_f64()
                ));
                Problem::Timeout {
                    client,
                    waiting,
                    waited,
                    partial,
                }
            }
            Stop::Eof => Problem::Closed {
                client,
                waiting,
                partial,
            },
            Stop::Reset => Problem::Reset {
                client,
                waiting,
                partial,
            },
            Stop::Failed(error) => Problem::Wrong {
                what: format!("{client}'s read failed: {error}"),
            },
        }
    }

    /// Takes one complete message out of `pending`, if there is one.
    fn take_message(&mut self) -> Result<Option<Vec<u8>>, Problem> {
        match self.wire {
            Wire::Raw => Ok(None),
            Wire::Lines => match self.pending.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let mut line: Vec<u8> = self.pending.drain(..=i).collect();
                    line.pop();
                    Ok(Some(line))
                }
                None if self.pending.len() > MAX_INCOMING => Err(Problem::Wrong {
                    what: format!(
                        "{} received over {MAX_INCOMING} bytes without a newline",
                        self.label
                    ),
                }),
                None => Ok(None),
            },
            Wire::Frames => {
                let Some(header) = self.pending.first_chunk::<4>().copied() else {
                    return Ok(None);
                };
                let length = u32::from_be_bytes(header);
                if length as usize > MAX_INCOMING {
                    return Err(Problem::FrameTooLong {
                        client: self.label.clone(),
                        header,
                        length,
                    });
                }
                let end = 4 + length as usize;
                if self.pending.len() < end {
                    return Ok(None);
                }
                let frame: Vec<u8> = self.pending.drain(..end).skip(4).collect();
                Ok(Some(frame))
            }
        }
    }

    /// Whether `message` is to be skipped: another room member's chatter on
    /// a shared server, or a tolerated message's first arrival.
    fn skip(&mut self, message: &[u8]) -> bool {
        if self.room.is_about_probe(message) {
            return true;
        }
        if self.room.is_foreign(message) {
            self.note(format!(
                "ignores {}: about someone outside this scenario",
                escape(message)
            ));
            return true;
        }
        if let Some(entry) = self
            .tolerated
            .iter_mut()
            .find(|(m, seen)| !*seen && m == message)
        {
            entry.1 = true;
            return true;
        }
        false
    }

    /// The next message that is not skipped, waiting at most until `deadline`.
    fn next_message(&mut self, deadline: Instant, waited: Duration) -> Result<Vec<u8>, Problem> {
        let waiting = self.waiting_for_message();
        loop {
            while let Some(message) = self.take_message()? {
                if !self.skip(&message) {
                    return Ok(message);
                }
            }
            if let Err(stop) = self.fill(deadline) {
                return Err(self.stopped(stop, waiting, waited));
            }
        }
    }

    fn waiting_for_message(&self) -> Waiting {
        match self.wire {
            Wire::Frames => Waiting::Frame,
            _ => Waiting::Line,
        }
    }

    fn describe(&self, message: &str) -> String {
        match self.wire {
            Wire::Frames => format!("the frame {}", escape_shortened(message.as_bytes())),
            _ => format!("the line {}", escape_shortened(&self.encode(message))),
        }
    }

    /// Waits up to `window` for `message`: `true` if it came, `false` if
    /// nothing did; anything else (not skipped) is a failure. For syncing
    /// with the server, where a miss is not yet a fault.
    pub fn wait_for(&mut self, message: &str, window: Duration) -> Expect<bool> {
        let expected = format!("{} receives {}", self.label, self.describe(message));
        let deadline = Instant::now() + window;
        loop {
            while let Some(got) = self
                .take_message()
                .map_err(|p| Failure::new(p, expected.clone()))?
            {
                if got == message.as_bytes() {
                    if let Some(entry) = self.tolerated.iter_mut().find(|(m, _)| *m == got) {
                        entry.1 = true;
                    }
                    return Ok(true);
                }
                if !self.skip(&got) {
                    let description = self.describe(message);
                    let problem = self.unexpected(&got, description, Some(message.as_bytes()));
                    return Err(Failure::new(problem, expected));
                }
            }
            match self.fill(deadline) {
                Ok(_) => {}
                Err(Stop::Timeout) => return Ok(false),
                Err(stop) => {
                    let problem = self.stopped(stop, self.waiting_for_message(), window);
                    return Err(Failure::new(problem, expected));
                }
            }
        }
    }

    /// Waits up to `window` for exactly `expected` (raw bytes): `true` if it
    /// came, `false` if nothing came; other bytes are a failure.
    pub fn wait_for_bytes(&mut self, expected: &[u8], window: Duration) -> Expect<bool> {
        let deadline = Instant::now() + window;
        loop {
            let have = self.pending.len().min(expected.len());
            if have == expected.len() && self.pending[..have] == *expected {
                self.pending.drain(..have);
                return Ok(true);
            }
            match self.fill(deadline) {
                Ok(_) => {}
                Err(Stop::Timeout) if self.pending.is_empty() => return Ok(false),
                // Something else, or part of it: let the usual check say what.
                Err(Stop::Timeout) => return self.expect_bytes(expected).map(|()| true),
                Err(stop) => {
                    let problem = self.stopped(stop, Waiting::Bytes(expected.len()), window);
                    let description =
                        format!("{} receives {}", self.label, escape_shortened(expected));
                    return Err(Failure::new(problem, description));
                }
            }
        }
    }

    /// Waits up to `window` for any byte at all: `true` if one came (it is
    /// kept, unread), `false` on silence, EOF or a reset.
    pub fn wait_for_anything(&mut self, window: Duration) -> bool {
        !self.pending.is_empty() || self.fill(Instant::now() + window).is_ok()
    }

    /// Receives the next message, whatever it is.
    pub fn receive(&mut self) -> Expect<String> {
        self.expect_where("a message", |_| true)
    }

    /// Receives the next message and checks it is exactly `message`.
    pub fn expect(&mut self, message: &str) -> Expect {
        let description = self.describe(message);
        self.receive_checked(&description, |got| got == message, Some(message))
            .map(|_| ())
    }

    /// Receives the next message and checks it with `fits`; returns it.
    pub fn expect_where(
        &mut self,
        description: &str,
        fits: impl Fn(&str) -> bool,
    ) -> Expect<String> {
        self.receive_checked(description, fits, None)
    }

    /// Receives messages until each of `wanted` has come, in any order,
    /// each fitting one of them once; returns them in the order they came.
    /// For a client that waits for several messages whose order the server
    /// decides (a rename notice and an error, from two threads). A message
    /// that fits none of those still due fails the wait, and the failure
    /// shows it after those the wait had accepted, in order: the
    /// contradiction is often the pair, not the last line alone.
    pub fn expect_all(&mut self, wanted: &[Wanted]) -> Expect<Vec<String>> {
        let descriptions: Vec<String> = wanted.iter().map(|w| w.describe(self)).collect();
        let expected = match descriptions.as_slice() {
            [one] => format!("{} receives {one}", self.label),
            _ => format!(
                "{} receives, in any order, {}",
                self.label,
                and_list(&descriptions)
            ),
        };
        let waited = self.timeouts.wait();
        let mut due: Vec<usize> = (0..wanted.len()).collect();
        let mut accepted: Vec<Vec<u8>> = Vec::new();
        let mut texts = Vec::new();
        let wire = self.wire;
        let encoded = |accepted: &[Vec<u8>]| accepted.iter().map(|m| encode(wire, m)).collect();
        while !due.is_empty() {
            let message = match self.next_message(Instant::now() + waited, waited) {
                Ok(message) => message,
                Err(problem) => {
                    return Err(Failure::new(problem, expected).after(encoded(&accepted)));
                }
            };
            let text = String::from_utf8_lossy(&message).into_owned();
            if let Some(k) = due.iter().position(|&i| (wanted[i].fits)(&text)) {
                due.remove(k);
                accepted.push(message);
                texts.push(text);
                continue;
            }
            let still_due: Vec<String> = due.iter().map(|&i| descriptions[i].clone()).collect();
            let exact = match due.as_slice() {
                [i] => wanted[*i].exact.clone(),
                _ => None,
            };
            let problem = self.unexpected(
                &message,
                or_list(&still_due),
                exact.as_deref().map(str::as_bytes),
            );
            return Err(Failure::new(problem, expected).after(encoded(&accepted)));
        }
        Ok(texts)
    }

    fn receive_checked(
        &mut self,
        description: &str,
        fits: impl Fn(&str) -> bool,
        wanted: Option<&str>,
    ) -> Expect<String> {
        let expected = format!("{} receives {description}", self.label);
        let waited = self.timeouts.wait();
        let message = self
            .next_message(Instant::now() + waited, waited)
            .map_err(|problem| Failure::new(problem, expected.clone()))?;
        let text = String::from_utf8_lossy(&message).into_owned();
        if fits(&text) {
            Ok(text)
        } else {
            let problem =
                self.unexpected(&message, description.to_string(), wanted.map(str::as_bytes));
            Err(Failure::new(problem, expected))
        }
    }

    /// Whether `message` is this client's own: its words coming back
    /// (`NAME: ...` with its own name, or on a raw relay its own address
    /// as the prefix), or the notice of its own arrival.
    fn is_own(&self, message: &[u8]) -> bool {
        let text = String::from_utf8_lossy(message);
        match self.wire {
            Wire::Raw => text.starts_with(&format!("{}: ", self.local_addr())),
            _ if self.name.is_empty() => false,
            _ => {
                text.starts_with(&format!("{}: ", self.name))
                    || room::joined_name(&text) == Some(self.name.as_str())
            }
        }
    }

    /// The problem when `message` arrived instead of what `description`
    /// says: its own words, or a mismatch with what followed it (where the
    /// server cut the stream shows there).
    fn unexpected(
        &mut self,
        message: &[u8],
        description: String,
        wanted: Option<&[u8]>,
    ) -> Problem {
        let got = encode(self.wire, message);
        if self.is_own(message) && !wanted.is_some_and(|w| self.is_own(w)) {
            return Problem::OwnWords {
                client: self.label.clone(),
                got,
            };
        }
        let followed = if self.wire == Wire::Lines {
            self.following_lines()
        } else {
            Vec::new()
        };
        Problem::Mismatch {
            client: self.label.clone(),
            waiting: self.waiting_for_message(),
            expected: description,
            got,
            wanted: wanted.map(|w| encode(self.wire, w).into()),
            followed: followed.into(),
        }
    }

    /// The next few lines that arrive within the silence window (left in
    /// `pending`, since the scenario is over anyway): what came right after
    /// a wrong line tells a line cut in the wrong place from a wrong text.
    fn following_lines(&mut self) -> Vec<u8> {
        const LINES: usize = 4;
        let deadline = Instant::now() + self.timeouts.silence();
        while self.pending.iter().filter(|&&b| b == b'\n').count() < LINES {
            if self.fill(deadline).is_err() {
                break;
            }
        }
        let mut end = 0;
        for _ in 0..LINES {
            match self.pending[end..].iter().position(|&b| b == b'\n') {
                Some(i) => end += i + 1,
                None => break,
            }
        }
        self.pending[..end].to_vec()
    }

    /// Receives exactly `expected` (raw bytes, however TCP splits them).
    pub fn expect_bytes(&mut self, expected: &[u8]) -> Expect {
        let description = format!("{} receives {}", self.label, escape_shortened(expected));
        let waited = self.timeouts.wait();
        let deadline = Instant::now() + waited;
        loop {
            let have = self.pending.len().min(expected.len());
            if self.pending[..have] != expected[..have] {
                let got = self.pending.clone();
                let problem = if self.is_own(&got) && !self.is_own(expected) {
                    Problem::OwnWords {
                        client: self.label.clone(),
                        got,
                    }
                } else {
                    Problem::Mismatch {
                        client: self.label.clone(),
                        waiting: Waiting::Bytes(expected.len()),
                        expected: escape_shortened(expected),
                        got,
                        wanted: Some(expected.into()),
                        followed: Box::default(),
                    }
                };
                return Err(Failure::new(problem, description));
            }
            if have == expected.len() {
                self.pending.drain(..have);
                return Ok(());
            }
            if let Err(stop) = self.fill(deadline) {
                let problem = self.stopped(stop, Waiting::Bytes(expected.len()), waited);
                return Err(Failure::new(problem, description));
            }
        }
    }

    /// Checks that nothing (except skipped messages) arrives for the silence
    /// window: the one bounded wait that proves an absence.
    pub fn expect_silence(&mut self) -> Expect {
        let window = self.timeouts.silence();
        let expected = format!(
            "{} receives nothing (watched for {:.1} s)",
            self.label,
            window.as_secs_f64()
        );
        let deadline = Instant::now() + window;
        loop {
            while let Some(message) = self
                .take_message()
                .map_err(|p| Failure::new(p, expected.clone()))?
            {
                if !self.skip(&message) {
                    let got = encode(self.wire, &message);
                    return Err(self.not_silent(got, &expected));
                }
            }
            match self.fill(deadline) {
                Ok(_) => {}
                Err(Stop::Timeout) if self.pending.is_empty() => return Ok(()),
                Err(Stop::Timeout) => {
                    let got = self.pending.clone();
                    return Err(self.not_silent(got, &expected));
                }
                Err(stop) => {
                    let problem = self.stopped(stop, Waiting::Silence, window);
                    return Err(Failure::new(problem, expected));
                }
            }
        }
    }

    fn not_silent(&self, got: Vec<u8>, expected: &str) -> Failure {
        let client = self.label.clone();
        let own = match self.wire {
            Wire::Raw => self.is_own(&got),
            // `got` is one whole message, encoded.
            _ => self
                .take_message_from(&got)
                .is_some_and(|m| self.is_own(&m)),
        };
        let problem = if own {
            Problem::OwnWords { client, got }
        } else {
            Problem::NotSilent { client, got }
        };
        Failure::new(problem, expected)
    }

    /// The payload of the one message `bytes` holds on this wire.
    fn take_message_from(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        match self.wire {
            Wire::Raw => Some(bytes.to_vec()),
            Wire::Lines => Some(bytes.strip_suffix(b"\n").unwrap_or(bytes).to_vec()),
            Wire::Frames => bytes.get(4..).map(<[u8]>::to_vec),
        }
    }

    /// Checks that the server closes this connection (EOF or reset) soon,
    /// sending nothing more first (skipped messages aside).
    pub fn expect_closed(&mut self) -> Expect {
        let expected = format!("the server closes {}'s connection", self.label);
        let waited = self.timeouts.wait();
        let deadline = Instant::now() + waited;
        loop {
            let unexpected = match self.wire {
                Wire::Raw if !self.pending.is_empty() => Some(std::mem::take(&mut self.pending)),
                Wire::Raw => None,
                _ => loop {
                    match self
                        .take_message()
                        .map_err(|p| Failure::new(p, expected.clone()))?
                    {
                        Some(message) if self.skip(&message) => continue,
                        Some(message) => break Some(encode(self.wire, &message)),
                        None => break None,
                    }
                },
            };
            if let Some(got) = unexpected {
                let own = self
                    .take_message_from(&got)
                    .is_some_and(|m| self.is_own(&m));
                let problem = if own {
                    Problem::OwnWords {
                        client: self.label.clone(),
                        got,
                    }
                } else {
                    Problem::Mismatch {
                        client: self.label.clone(),
                        waiting: Waiting::Close,
                        expected: "the connection to close".into(),
                        got,
                        wanted: None,
                        followed: Box::default(),
                    }
                };
                return Err(Failure::new(problem, expected));
            }
            match self.fill(deadline) {
                Ok(_) => {}
                Err(Stop::Eof | Stop::Reset) => return Ok(()),
                Err(stop) => {
                    let problem = self.stopped(stop, Waiting::Close, waited);
                    return Err(Failure::new(problem, expected));
                }
            }
        }
    }
}

/// One of the messages a client waits for among others (see
/// [`Peer::expect_all`]): how to recognise it, and what it is in words.
pub struct Wanted<'a> {
    description: Option<String>,
    /// The exact message, when one is due (the hints compare bytes with it).
    exact: Option<String>,
    fits: Box<dyn Fn(&str) -> bool + 'a>,
}

impl<'a> Wanted<'a> {
    /// Exactly `message`.
    pub fn exactly(message: &str) -> Wanted<'a> {
        let owned = message.to_string();
        Wanted {
            description: None,
            exact: Some(message.to_string()),
            fits: Box::new(move |text| text == owned),
        }
    }

    /// Any message that `fits`, described as `description`.
    pub fn matching(description: impl Into<String>, fits: impl Fn(&str) -> bool + 'a) -> Self {
        Wanted {
            description: Some(description.into()),
            exact: None,
            fits: Box::new(fits),
        }
    }

    fn describe(&self, peer: &Peer) -> String {
        match (&self.description, &self.exact) {
            (Some(description), _) => description.clone(),
            (None, Some(message)) => peer.describe(message),
            (None, None) => "a message".to_string(),
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[impl AsRef<str>]) -> String {
    joined(items, "and")
}

/// `a`, `a or b`, `a, b or c`.
pub fn or_list(items: &[impl AsRef<str>]) -> String {
    joined(items, "or")
}

fn joined(items: &[impl AsRef<str>], word: &str) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}

/// Acknowledges what just arrived at once, where the system allows it
/// (Linux's `TCP_QUICKACK`). A server that writes two small messages in a
/// row to one client (a rename notice, then an error) has the second held
/// back by Nagle's algorithm until the first is acknowledged, and a client
/// that delays its acknowledgement (40 ms on Linux) slows every such
/// exchange to a crawl: the rename race could race 25 times a second
/// instead of hundreds. Elsewhere the system's own timing stays.
fn acknowledge_now(stream: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = SockRef::from(stream).set_quickack(true);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = stream;
}

/// `payload` as one message on `wire`.
pub fn encode(wire: Wire, payload: &[u8]) -> Vec<u8> {
    match wire {
        Wire::Raw => payload.to_vec(),
        Wire::Lines => {
            let mut bytes = payload.to_vec();
            bytes.push(b'\n');
            bytes
        }
        Wire::Frames => {
            let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
            bytes.extend_from_slice(payload);
            bytes
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grader client of a server that sends `bytes` at once, then closes.
    fn receiving(bytes: &[u8]) -> Peer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let links = Links {
            log: Log::default(),
            timeouts: Timeouts::new(Duration::from_millis(500)),
            room: Arc::new(Room::new(false)),
            connections: Arc::default(),
            slow_readers: Arc::default(),
            heard: Arc::default(),
        };
        let addr = listener.local_addr().unwrap();
        let peer = Peer::connect("bob", addr, Wire::Lines, false, links).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(bytes).unwrap();
        peer
    }

    fn notice_and_error() -> [Wanted<'static>; 2] {
        [
            Wanted::exactly("SERVER: cat is now zoe"),
            Wanted::matching("an error", |line| line.contains(" is taken")),
        ]
    }

    #[test]
    fn several_messages_are_awaited_in_any_order() {
        let mut bob = receiving(b"SERVER: the name zoe is taken\nSERVER: cat is now zoe\n");
        let got = bob.expect_all(&notice_and_error()).unwrap();
        assert_eq!(
            got,
            ["SERVER: the name zoe is taken", "SERVER: cat is now zoe"]
        );
    }

    #[test]
    fn a_contradiction_is_shown_after_what_the_wait_accepted() {
        let mut bob = receiving(
            b"SERVER: cat is now zoe\nSERVER: dan is now zoe\nSERVER: the name zoe is taken\n",
        );
        let failure = bob.expect_all(&notice_and_error()).unwrap_err();
        assert_eq!(
            failure.expected,
            r#"bob receives, in any order, the line "SERVER: cat is now zoe\n" and an error"#
        );
        assert_eq!(
            failure.observed(),
            r#"bob received "SERVER: cat is now zoe\n", then "SERVER: dan is now zoe\n""#
        );
        // Nothing more: what the wait accepted comes first, then the silence.
        let mut bob = receiving(b"SERVER: cat is now zoe\n");
        let failure = bob.expect_all(&notice_and_error()).unwrap_err();
        assert_eq!(
            failure.observed(),
            r#"bob received "SERVER: cat is now zoe\n"; then the server closed bob's connection while it waited for a line"#
        );
    }

    #[test]
    fn lists_read_as_english() {
        let items = |n: usize| -> Vec<String> {
            ["a", "b", "c"][..n].iter().map(|s| s.to_string()).collect()
        };
        assert_eq!(and_list(&items(1)), "a");
        assert_eq!(and_list(&items(2)), "a and b");
        assert_eq!(or_list(&items(3)), "a, b or c");
    }

    #[test]
    fn encodes_lines_and_frames() {
        assert_eq!(encode(Wire::Lines, b"hi"), b"hi\n");
        assert_eq!(encode(Wire::Frames, b"hello"), b"\0\0\0\x05hello");
        assert_eq!(encode(Wire::Raw, b"x"), b"x");
    }
}
