//! A server process the grader started: on 127.0.0.1, port 0, its output
//! drained continuously (a server that logs every message would otherwise
//! block on a full pipe), its `listening on` line read with a timeout, and
//! killed when dropped, also on error or panic.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::Instant;

use super::failure::Problem;
use super::timeouts::Timeouts;
use super::transcript::{Entry, Event, Voice};

/// How many output lines are kept (the newest), and how long each may be.
const KEPT_LINES: usize = 2000;
const KEPT_LINE_CHARS: usize = 160;

/// The server's output so far, shared with the threads that drain it.
#[derive(Default)]
struct Output {
    lines: Mutex<Lines>,
    changed: Condvar,
}

#[derive(Default)]
struct Lines {
    kept: VecDeque<Entry>,
    /// How many of the two pipes have closed.
    closed: u8,
}

impl Output {
    fn push(&self, voice: Voice, mut text: String) {
        if text.chars().count() > KEPT_LINE_CHARS {
            text = text.chars().take(KEPT_LINE_CHARS).collect::<String>() + " ...";
        }
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.kept.len() == KEPT_LINES {
            lines.kept.pop_front();
        }
        lines
            .kept
            .push_back(Entry::new(voice, Event::Printed(text)));
        self.changed.notify_all();
    }
}

/// Why a server did not start, and what it printed meanwhile. Boxed: a
/// `Problem` is large, and the `Ok` side is what every caller wants.
pub type StartFailure = Box<(Problem, Vec<Entry>)>;

/// A running server under test. Dropping it kills the process.
pub struct ServerProcess {
    child: Mutex<Child>,
    /// Where to connect (from the `listening on` line).
    pub addr: SocketAddr,
    output: Arc<Output>,
}

impl ServerProcess {
    /// Starts `binary --host 127.0.0.1 --port 0` and waits for its first
    /// stdout line, which must be `listening on IP:PORT`.
    ///
    /// On failure, returns the problem and whatever the server printed.
    // A large error, returned once per failed start: not worth a box.
    #[allow(clippy::result_large_err)]
    pub fn start(binary: &Path, timeouts: &Timeouts) -> Result<ServerProcess, StartFailure> {
        Self::start_with(binary, &[], timeouts)
    }

    /// [`start`](Self::start), with `args` after the host and port.
    pub fn start_with(
        binary: &Path,
        args: &[&str],
        timeouts: &Timeouts,
    ) -> Result<ServerProcess, StartFailure> {
        let mut command = Command::new(binary);
        command
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| {
            Box::new((
                Problem::CannotRun {
                    error: format!("{}: {e}", binary.display()),
                },
                vec![],
            ))
        })?;
        let output = Arc::new(Output::default());
        let (first_tx, first_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        drain(stdout, Voice::Server, Arc::clone(&output), Some(first_tx));
        drain(stderr, Voice::ServerStderr, Arc::clone(&output), None);

        // The server is killed by Drop from here on, whatever happens.
        let mut server = ServerProcess {
            child: Mutex::new(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            output,
        };
        let first = match first_rx.recv_timeout(timeouts.startup()) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(server.fail(Problem::NoListeningLine {
                    waited: timeouts.startup(),
                }));
            }
            // stdout closed without a line: the process is exiting.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = server.wait_for_exit(timeouts);
                return Err(server.exited_early(status, timeouts));
            }
        };
        let Some(addr) = parse_listening_line(&first) else {
            return Err(server.fail(Problem::BadListeningLine { line: first }));
        };
        // A server on 0.0.0.0 accepts on loopback too.
        server.addr = if addr.ip().is_unspecified() {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        } else {
            addr
        };
        Ok(server)
    }

    fn fail(&self, problem: Problem) -> StartFailure {
        Box::new((problem, self.output()))
    }

    /// After stdout closed: the exit status, if the process ends in time.
    fn wait_for_exit(&self, timeouts: &Timeouts) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeouts.wait();
        loop {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(timeouts.piece_gap());
        }
    }

    fn exited_early(&self, status: Option<ExitStatus>, timeouts: &Timeouts) -> StartFailure {
        // Read what it said on the way out (stderr may still be in the pipe).
        let deadline = Instant::now() + timeouts.wait();
        let mut lines = self.output.lines.lock().unwrap_or_else(|e| e.into_inner());
        while lines.closed < 2 && Instant::now() < deadline {
            lines = self
                .output
                .changed
                .wait_timeout(lines, deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(lines);
        let output = self.output();
        let said_in_use = output.iter().any(|entry| match &entry.event {
            Event::Printed(text) => mentions_addr_in_use(text),
            _ => false,
        });
        let problem = if said_in_use {
            Problem::AddrInUse
        } else {
            Problem::ExitedEarly {
                status: status.map_or_else(|| "still running".into(), |s| s.to_string()),
            }
        };
        Box::new((problem, output))
    }

    /// Everything the server printed so far (the newest lines if it printed a lot).
    pub fn output(&self) -> Vec<Entry> {
        let lines = self.output.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.kept.iter().cloned().collect()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.lock().unwrap_or_else(|e| e.into_inner()).id()
    }

    /// Waits until the server's output contains `needle`, at most until
    /// `deadline`; returns whether it did. For a server's log as a sign of
    /// progress; the grader's scenarios sync on what clients receive.
    pub fn wait_for_output(&self, needle: &str, deadline: Instant) -> bool {
        let mut lines = self.output.lines.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let found = lines.kept.iter().any(|entry| match &entry.event {
                Event::Printed(text) => text.contains(needle),
                _ => false,
            });
            let now = Instant::now();
            if found || now >= deadline {
                return found;
            }
            lines = self
                .output
                .changed
                .wait_timeout(lines, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The exit status if the process has ended.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        child.try_wait().ok().flatten()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Reads `pipe` line by line into `output` until it closes. Invalid UTF-8 is
/// replaced, so one odd byte never stops the draining.
fn drain(
    pipe: impl Read + Send + 'static,
    voice: Voice,
    output: Arc<Output>,
    mut first_line: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buffer);
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            output.push(voice.clone(), line.clone());
            if let Some(tx) = first_line.take() {
                let _ = tx.send(line);
            }
        }
        let mut lines = output.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.closed += 1;
        output.changed.notify_all();
    });
}

/// Whether `binary --help` mentions `flag` (within the startup timeout;
/// a binary that does not answer `--help` knows no flags).
pub fn knows_flag(binary: &Path, flag: &str, timeouts: &Timeouts) -> bool {
    let Ok(mut child) = Command::new(binary)
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut help = String::new();
        let _ = BufReader::new(stdout).read_to_string(&mut help);
        let _ = tx.send(help);
    });
    let help = rx.recv_timeout(timeouts.startup()).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    help.contains(flag)
}

/// Parses `listening on IP:PORT` (IPv6 as `[::1]:PORT`).
pub fn parse_listening_line(line: &str) -> Option<SocketAddr> {
    line.strip_prefix("listening on ")?.trim().parse().ok()
}

/// Whether a line of output reports that the address was taken (the texts
/// of Linux, macOS and Windows).
pub fn mentions_addr_in_use(text: &str) -> bool {
    let text = text.to_lowercase();
    text.contains("address already in use")
        || text.contains("address in use")
        || text.contains("addrinuse")
        || text.contains("os error 98)")
        || text.contains("os error 48)")
        || text.contains("os error 10048)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_listening_line() {
        assert_eq!(
            parse_listening_line("listening on 127.0.0.1:4000"),
            Some(SocketAddr::from(([127, 0, 0, 1], 4000)))
        );
        assert_eq!(
            parse_listening_line("listening on [::1]:80").map(|a| a.port()),
            Some(80)
        );
        assert_eq!(parse_listening_line("Listening on 127.0.0.1:4000"), None);
        assert_eq!(parse_listening_line("listening on localhost:4000"), None);
    }

    #[test]
    fn recognises_address_in_use_on_every_platform() {
        assert!(mentions_addr_in_use(
            "Error: cannot listen on 127.0.0.1:0: Address already in use (os error 98)"
        ));
        assert!(mentions_addr_in_use("Os { code: 48, kind: AddrInUse }"));
        assert!(mentions_addr_in_use("... (os error 10048)"));
        assert!(!mentions_addr_in_use("connected: 127.0.0.1:50412"));
    }
}
