//! Sending results to the class board without holding up the grading: a
//! thread sends them one after the other while the grading goes on, and
//! the check waits at most [`SEND_DEADLINE`] for the last one. A board that
//! is down, or never answers, costs a student two seconds and one line.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::wire::{self, OK, REFUSED, SEND_DEADLINE};

/// Where results go, and under which name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub host: String,
    pub port: u16,
    pub name: String,
}

impl Destination {
    /// `HOST:PORT`, as the board printed it.
    pub fn board(&self) -> String {
        wire::board_text(&self.host, self.port)
    }
}

/// The longest answer read from a board (it sends one short line).
const MAX_ANSWER: usize = 512;

/// Sends `line` (no newline) to the board at `host:port` and reads its
/// answer, all before `deadline`. `Ok`: what the board said after `ok: `;
/// `Err`: why it did not get the result, in a few words.
pub fn send_line(host: &str, port: u16, line: &str, deadline: Instant) -> Result<String, String> {
    let addrs = resolve(host, port, deadline)?;
    let mut last_error = format!("`{host}` has no address");
    let mut stream = None;
    for addr in addrs {
        let Some(left) = remaining(deadline) else {
            break;
        };
        match TcpStream::connect_timeout(&addr, left) {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(error) => last_error = why(&error),
        }
    }
    let mut stream = stream.ok_or(last_error)?;
    let mut bytes = line.as_bytes().to_vec();
    bytes.push(b'\n');
    let left = remaining(deadline).ok_or_else(too_slow)?;
    stream.set_write_timeout(Some(left)).map_err(|e| why(&e))?;
    stream.write_all(&bytes).map_err(|e| why(&e))?;
    let answer = read_answer(&mut stream, deadline)?;
    if let Some(said) = answer.strip_prefix(OK) {
        Ok(said.to_string())
    } else if let Some(said) = answer.strip_prefix(REFUSED) {
        Err(format!("it refused it: {said}"))
    } else if answer.is_empty() {
        Err("it closed the connection without an answer".into())
    } else {
        Err(format!(
            "it answered `{answer}`, which is not a class board's answer"
        ))
    }
}

/// Only tries to connect (and closes at once): whether a board listens.
pub fn reachable(host: &str, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + SEND_DEADLINE;
    let mut last_error = format!("`{host}` has no address");
    for addr in resolve(host, port, deadline)? {
        let Some(left) = remaining(deadline) else {
            break;
        };
        match TcpStream::connect_timeout(&addr, left) {
            Ok(_) => return Ok(()),
            Err(error) => last_error = why(&error),
        }
    }
    Err(last_error)
}

/// Looks `host` up, giving up at `deadline`: a name lookup has no timeout
/// of its own, so a slow one runs on a thread that is left behind.
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let target = (host.to_string(), port);
    thread::spawn(move || {
        let found = target.to_socket_addrs().map(Iterator::collect::<Vec<_>>);
        let _ = tx.send(found);
    });
    let left = remaining(deadline).ok_or_else(too_slow)?;
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(_)) => Err(format!("the name `{host}` is unknown here")),
        Err(_) => Err(format!("looking up the name `{host}` took too long")),
    }
}

/// Reads the board's one-line answer, at most [`MAX_ANSWER`] bytes,
/// before `deadline`; made safe to print (no control characters).
fn read_answer(stream: &mut TcpStream, deadline: Instant) -> Result<String, String> {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 256];
    while answer.len() < MAX_ANSWER && !answer.contains(&b'\n') {
        let left = remaining(deadline).ok_or_else(too_slow)?;
        stream.set_read_timeout(Some(left)).map_err(|e| why(&e))?;
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(why(&error)),
        }
    }
    let line = answer.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(&line[..line.len().min(MAX_ANSWER)]);
    Ok(line
        .trim_end_matches('\r')
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect())
}

fn remaining(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
}

fn too_slow() -> String {
    format!("no answer within {} s", SEND_DEADLINE.as_secs())
}

/// A network error in a few plain words.
fn why(error: &std::io::Error) -> String {
    match error.kind() {
        ErrorKind::ConnectionRefused => "nothing listens there (is the board running?)".into(),
        ErrorKind::TimedOut | ErrorKind::WouldBlock => too_slow(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            "the board closed the connection".into()
        }
        _ => error.to_string(),
    }
}

/// Sends results in the background, in order, while the grading goes on.
pub struct Sharer {
    destination: Destination,
    lines: Option<mpsc::Sender<String>>,
    answers: mpsc::Receiver<Result<String, String>>,
    queued: usize,
}

/// What became of the results a [`Sharer`] was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    pub board: String,
    pub name: String,
    pub queued: usize,
    pub delivered: usize,
    /// Why the first result that did not get there did not.
    pub problem: Option<String>,
}

impl Sharer {
    pub fn start(destination: Destination) -> Sharer {
        let (lines, to_send) = mpsc::channel::<String>();
        let (answered, answers) = mpsc::channel();
        let (host, port) = (destination.host.clone(), destination.port);
        thread::spawn(move || {
            for line in to_send {
                let deadline = Instant::now() + SEND_DEADLINE;
                if answered
                    .send(send_line(&host, port, &line, deadline))
                    .is_err()
                {
                    break;
                }
            }
        });
        Sharer {
            destination,
            lines: Some(lines),
            answers,
            queued: 0,
        }
    }

    /// The name results are sent under.
    pub fn name(&self) -> &str {
        &self.destination.name
    }

    /// Queues one result line.
    pub fn share(&mut self, line: String) {
        if let Some(lines) = &self.lines {
            if lines.send(line).is_ok() {
                self.queued += 1;
            }
        }
    }

    /// Waits for the answers, [`SEND_DEADLINE`] at most; a result still
    /// on its way then counts as not delivered.
    pub fn finish(mut self) -> Shared {
        self.lines = None;
        let deadline = Instant::now() + SEND_DEADLINE;
        let mut shared = Shared {
            board: self.destination.board(),
            name: self.destination.name.clone(),
            queued: self.queued,
            delivered: 0,
            problem: None,
        };
        for _ in 0..self.queued {
            let answer = match remaining(deadline) {
                Some(left) => self.answers.recv_timeout(left).map_err(|_| too_slow()),
                None => Err(too_slow()),
            };
            match answer.and_then(|result| result) {
                Ok(_) => shared.delivered += 1,
                Err(problem) => {
                    shared.problem.get_or_insert(problem);
                }
            }
        }
        shared
    }
}

impl Shared {
    /// One line for the student: where the results went, or why not.
    pub fn summary(&self) -> Option<String> {
        let Shared {
            board,
            name,
            queued,
            delivered,
            ..
        } = self;
        if *queued == 0 {
            return None;
        }
        let problem = self.problem.as_deref().unwrap_or("no answer");
        Some(if delivered == queued {
            let what = if *queued == 1 {
                "the result".to_string()
            } else {
                format!("{queued} results")
            };
            format!("shared {what} with the class board at {board} as {name}")
        } else if *queued == 1 {
            format!(
                "the class board at {board} did not get this result: {problem}; your result \
                 above stands"
            )
        } else {
            format!(
                "the class board at {board} did not get {} of {queued} results: {problem}; your \
                 results above stand",
                queued - delivered
            )
        })
    }

    pub fn all_delivered(&self) -> bool {
        self.delivered == self.queued
    }
}
