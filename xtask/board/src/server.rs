//! The board's network side: a thread accepts, the [`Gate`] decides who
//! comes in, and each connection gets a thread of its own for one report:
//! one line read (at most [`MAX_LINE`] bytes, within [`READ_DEADLINE`]),
//! one line answered, closed. The board never writes first, never asks a
//! student's machine for anything, and runs nothing it receives.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use xtask::share::wire::{MAX_LINE, OK, REFUSED};

use crate::gate::{Gate, Ticket};
use crate::report;
use crate::roster::Roster;

/// How long a connection has to send its line (an honest `check` sends it
/// at once; a connection that trickles bytes is not kept waiting for).
pub const READ_DEADLINE: Duration = Duration::from_secs(5);

/// How long the answer may take to leave.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// A refused sender's bytes are read away for this long, so that closing
/// does not reset the connection and destroy the refusal on its way.
const DRAIN: Duration = Duration::from_millis(200);

/// Each connection's thread needs little: serde_json's nesting limit keeps
/// its parsing shallow.
const STACK: usize = 256 * 1024;

/// What the display hears about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    /// A report was recorded on row `row` (from 1).
    Recorded { row: usize, exercise: u8 },
    /// A sender was refused.
    Refused { address: IpAddr, why: String },
}

/// Everything the threads share.
pub struct Board {
    pub roster: Mutex<Roster>,
    pub gate: Gate,
    pub news: SyncSender<News>,
    pub reports: AtomicU64,
    pub refused: AtomicU64,
}

impl Board {
    pub fn roster(&self) -> MutexGuard<'_, Roster> {
        self.roster.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells the display, unless it is behind: then the news is dropped
    /// (the table shows the state anyway), so a flood cannot grow a queue.
    fn tell(&self, news: News) {
        let _ = self.news.try_send(news);
    }

    fn refuse(&self, address: IpAddr, why: String) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        self.tell(News::Refused { address, why });
    }
}

/// Accepts connections forever.
pub fn accept(listener: TcpListener, board: &'static Board) {
    for incoming in listener.incoming() {
        let stream = match incoming {
            Ok(stream) => stream,
            Err(_) => {
                // Out of file descriptors, most likely: let some close
                // rather than spin.
                thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let Ok(peer) = stream.peer_addr() else {
            continue;
        };
        let address = peer.ip().to_canonical();
        match board.gate.admit(address, Instant::now()) {
            Ok(ticket) => {
                let spawned = thread::Builder::new()
                    .name("report".into())
                    .stack_size(STACK)
                    .spawn(move || serve(stream, address, ticket, board));
                if spawned.is_err() {
                    board.refuse(address, "the board is busy: try again in a moment".into());
                }
            }
            Err(why) => {
                // From the accepting thread, which must not wait: one try.
                let _ = stream.set_nonblocking(true);
                let _ = (&stream).write_all(format!("{REFUSED}{why}\n").as_bytes());
                board.refuse(address, why);
            }
        }
    }
}

/// One connection: one report, one answer.
fn serve(mut stream: TcpStream, address: IpAddr, _ticket: Ticket, board: &Board) {
    let line = match read_line(&mut stream) {
        Ok(Some(line)) => line,
        // Connected and left without a word: `cargo xtask share` seeing
        // that the board is there.
        Ok(None) => return,
        Err(why) => return refuse(stream, address, why, board),
    };
    if !board.gate.spend(address, Instant::now()) {
        let wait = board.gate.wait_hint().as_secs().max(1);
        let why = format!("too many reports from {address}: wait {wait} s between reports");
        return refuse(stream, address, why, board);
    }
    let report = match report::parse(&line) {
        Ok(report) => report,
        Err(why) => return refuse(stream, address, why, board),
    };
    let exercise = report.exercise;
    let clock = classroom::timestamp();
    let recorded = board
        .roster()
        .record(address, report, Instant::now(), &clock);
    match recorded {
        Ok((row, said)) => {
            board.reports.fetch_add(1, Ordering::Relaxed);
            board.tell(News::Recorded { row, exercise });
            answer(&mut stream, &format!("{OK}{said}"));
        }
        Err(why) => refuse(stream, address, why, board),
    }
}

/// Reads one line (its `\n` and a `\r` before it dropped). `Ok(None)`:
/// the connection closed without a byte. A line without its newline counts
/// when the sender closes after it.
fn read_line(stream: &mut TcpStream) -> Result<Option<Vec<u8>>, String> {
    let deadline = Instant::now() + READ_DEADLINE;
    let mut line = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or_else(too_slow)?;
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        let n = match stream.read(&mut buffer) {
            Ok(0) if line.is_empty() => return Ok(None),
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(too_slow());
            }
            Err(e) => return Err(format!("the connection failed: {e}")),
        };
        let chunk = &buffer[..n];
        if let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&chunk[..end]);
            break;
        }
        line.extend_from_slice(chunk);
        if line.len() > MAX_LINE {
            return Err(format!("a line longer than {} KiB", MAX_LINE / 1024));
        }
    }
    if line.len() > MAX_LINE {
        return Err(format!("a line longer than {} KiB", MAX_LINE / 1024));
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

fn too_slow() -> String {
    format!("no complete line within {} s", READ_DEADLINE.as_secs())
}

/// Writes the one-line answer and closes.
fn answer(stream: &mut TcpStream, text: &str) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.write_all(format!("{text}\n").as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

/// Refuses in one line, then reads what the sender still sends for a
/// moment before closing (closing on unread bytes would reset the
/// connection, and a reset can destroy the refusal before it is read).
fn refuse(mut stream: TcpStream, address: IpAddr, why: String, board: &Board) {
    answer(&mut stream, &format!("{REFUSED}{why}"));
    board.refuse(address, why);
    let deadline = Instant::now() + DRAIN;
    let mut buffer = [0u8; 4096];
    let mut drained = 0;
    while drained < 4 * MAX_LINE {
        let Some(left) = deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
        else {
            break;
        };
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}
