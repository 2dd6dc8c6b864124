//! Test helpers shared by the course's test suites.
//!
//! A test starts a server with [`Server::start`] (always on 127.0.0.1, port 0),
//! which waits for the server's `listening on IP:PORT` line instead of
//! sleeping, and kills the process when the [`Server`] is dropped, also when
//! the test panics. [`Client`] is a plain `TcpStream` with a timeout on every
//! read, so a test that waits for a line that never comes fails with a clear
//! message instead of hanging.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait in a test may take before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A server process under test. Dropping it kills the process.
pub struct Server {
    child: Child,
    /// The address from the `listening on` line.
    pub addr: SocketAddr,
    output: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `program` with `--host 127.0.0.1 --port 0` followed by `args`,
    /// and waits (at most [`TIMEOUT`]) for its `listening on IP:PORT` line.
    ///
    /// In an integration test, pass `env!("CARGO_BIN_EXE_<name>")`.
    pub fn start(program: impl AsRef<Path>, args: &[&str]) -> Server {
        let mut command = Command::new(program.as_ref());
        command
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args);
        Server::start_command(command)
    }

    /// Starts a prepared command (the caller chose every argument) and waits
    /// for its `listening on` line.
    pub fn start_command(mut command: Command) -> Server {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        let (first_line_tx, first_line_rx) = mpsc::channel();
        // Keep draining both pipes for the whole life of the server: a server
        // that logs every message would otherwise block once the pipe is full.
        let stdout = child.stdout.take().expect("piped stdout");
        let log = Arc::clone(&output);
        thread::spawn(move || {
            let mut first = Some(first_line_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(tx) = first.take() {
                    let _ = tx.send(line.clone());
                }
                push_line(&log, &line);
            }
        });
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::clone(&output);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                push_line(&log, &format!("stderr: {line}"));
            }
        });
        let mut server = Server {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            output,
        };
        let first = match first_line_rx.recv_timeout(TIMEOUT) {
            Ok(line) => line,
            Err(_) => panic!(
                "server printed no first line within {TIMEOUT:?}; output so far:\n{}",
                server.output()
            ),
        };
        server.addr = parse_listening_line(&first).unwrap_or_else(|| {
            panic!(
                "first stdout line should be `listening on IP:PORT`, got {first:?}; output:\n{}",
                server.output()
            )
        });
        server
    }

    /// Everything the server printed so far (stdout, and stderr prefixed).
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits (at most [`TIMEOUT`]) until the server's output contains `needle`.
    /// This is how a test waits for something only the log shows.
    pub fn wait_for_output(&self, needle: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "server output never contained {needle:?}; output:\n{}",
            self.output()
        );
    }

    /// The process id, for reading /proc in tests.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Connects a new client to this server.
    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Connects a chat client and sends its nickname line.
    pub fn join(&self, name: &str) -> Client {
        let mut client = self.connect();
        client.send_line(name);
        client
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn push_line(log: &Mutex<String>, line: &str) {
    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
    log.push_str(line);
    log.push('\n');
}

/// Parses `listening on IP:PORT` (IPv6 as `[::1]:PORT`).
pub fn parse_listening_line(line: &str) -> Option<SocketAddr> {
    line.strip_prefix("listening on ")?.trim().parse().ok()
}

/// A test client: a `TcpStream` where every read has a timeout.
pub struct Client {
    stream: TcpStream,
    /// Bytes received but not yet returned as a line or frame.
    pending: Vec<u8>,
}

impl Client {
    /// Connects with a timeout; panics with the reason on failure.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
            .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
        stream.set_read_timeout(Some(TIMEOUT)).expect("set timeout");
        stream
            .set_write_timeout(Some(TIMEOUT))
            .expect("set timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            pending: Vec::new(),
        }
    }

    /// The underlying stream, for tests that need raw control.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends raw bytes in one write.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send to server");
    }

    /// Sends `text` followed by `\n`, in one write.
    pub fn send_line(&mut self, text: &str) {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(b'\n');
        self.send(&bytes);
    }

    /// Sends one length-prefixed frame: 4-byte big-endian length, then payload.
    pub fn send_frame(&mut self, payload: &[u8]) {
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        self.send(&bytes);
    }

    /// Reads more bytes into `pending`; returns 0 on EOF. Panics on timeout.
    fn fill(&mut self, waiting_for: &str) -> usize {
        let mut chunk = [0u8; 4096];
        // A signal delivered to the test process (a child that exits, say)
        // may interrupt the read before any byte came: just read again.
        let mut read = self.stream.read(&mut chunk);
        while matches!(&read, Err(e) if e.kind() == ErrorKind::Interrupted) {
            read = self.stream.read(&mut chunk);
        }
        match read {
            Ok(n) => {
                self.pending.extend_from_slice(&chunk[..n]);
                n
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "timed out after {TIMEOUT:?} waiting for {waiting_for}; received so far: {:?}",
                    String::from_utf8_lossy(&self.pending)
                )
            }
            // A reset counts as the end of the stream for a test.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read failed while waiting for {waiting_for}: {e}"),
        }
    }

    /// Reads one line (without `\n`, a trailing `\r` dropped).
    pub fn read_line(&mut self) -> String {
        self.try_read_line()
            .unwrap_or_else(|| panic!("server closed the connection while a line was expected"))
    }

    /// Reads one line, or `None` on EOF. Panics on timeout.
    pub fn try_read_line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            if self.fill("a line") == 0 {
                return None;
            }
        }
    }

    /// Reads one line and asserts it equals `expected`.
    pub fn expect_line(&mut self, expected: &str) {
        let got = self.read_line();
        assert_eq!(got, expected, "unexpected line from server");
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact_bytes(&mut self, n: usize) -> Vec<u8> {
        while self.pending.len() < n {
            if self.fill(&format!("{n} bytes")) == 0 {
                panic!(
                    "server closed the connection after {} of {n} expected bytes",
                    self.pending.len()
                );
            }
        }
        self.pending.drain(..n).collect()
    }

    /// Reads one length-prefixed frame's payload.
    pub fn read_frame(&mut self) -> Vec<u8> {
        let header = self.read_exact_bytes(4);
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        self.read_exact_bytes(len)
    }

    /// Reads one frame and asserts its payload is the UTF-8 text `expected`.
    pub fn expect_frame(&mut self, expected: &str) {
        let got = self.read_frame();
        assert_eq!(
            String::from_utf8_lossy(&got),
            expected,
            "unexpected frame from server"
        );
    }

    /// Asserts that the server closes the connection (EOF or reset) within
    /// [`TIMEOUT`], ignoring whatever bytes arrive first.
    pub fn expect_closed(&mut self) {
        while self.fill("the server to close the connection") > 0 {}
    }

    /// Asserts that nothing arrives for `quiet`. This is the one bounded wait
    /// a test may do: proving an absence needs a window of time.
    pub fn expect_silence(&mut self, quiet: Duration) {
        self.stream.set_read_timeout(Some(quiet)).expect("timeout");
        let mut chunk = [0u8; 1024];
        let result = self.stream.read(&mut chunk);
        self.stream
            .set_read_timeout(Some(TIMEOUT))
            .expect("timeout");
        match result {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Ok(0) => panic!("expected silence, but the server closed the connection"),
            Ok(n) => panic!(
                "expected silence, got {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
            Err(e) => panic!("expected silence, got error {e}"),
        }
        assert!(
            self.pending.is_empty(),
            "expected silence, but {:?} was already buffered",
            String::from_utf8_lossy(&self.pending)
        );
    }

    /// Closes the write half, as a client does when it is done sending.
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Closes the connection with a TCP reset (RST) instead of a FIN, like a
    /// laptop that vanishes mid-chat: SO_LINGER with a zero timeout, then close.
    pub fn reset(self) {
        reset_connection(self.stream);
    }
}

/// Drops `stream` so that the kernel sends RST rather than FIN.
pub fn reset_connection(stream: TcpStream) {
    let socket = socket2::Socket::from(stream);
    socket
        .set_linger(Some(Duration::ZERO))
        .expect("set SO_LINGER to zero");
    drop(socket);
}

// The server side, for testing clients: a test binds a `TcpListener` on
// 127.0.0.1 port 0, runs the client against it, and plays the server with
// the same timed reads and byte-exact assertions as a `Client`.
impl Client {
    /// Wraps a stream the test accepted, with the same timeouts as
    /// [`Client::connect`].
    pub fn from_stream(stream: TcpStream) -> Client {
        // A socket accepted from a non-blocking listener may inherit that
        // mode (macOS, Windows); the timed reads need blocking mode.
        stream.set_nonblocking(false).expect("blocking mode");
        stream.set_read_timeout(Some(TIMEOUT)).expect("set timeout");
        stream
            .set_write_timeout(Some(TIMEOUT))
            .expect("set timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            pending: Vec::new(),
        }
    }
}

/// Accepts one connection on `listener`, waiting at most [`TIMEOUT`], so a
/// fake server in a test cannot hang when the client under test never
/// connects.
pub fn accept(listener: &std::net::TcpListener) -> Client {
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match listener.accept() {
            Ok((stream, _)) => return Client::from_stream(stream),
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                panic!("no client connected within {TIMEOUT:?}")
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

/// Polls `condition` every 10 ms until it holds, for at most [`TIMEOUT`];
/// panics naming `what` otherwise. Only for facts no line announces, such
/// as a thread count in `/proc` going back down.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        if Instant::now() > deadline {
            panic!("timed out after {TIMEOUT:?} waiting until {what}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// What the kernel says about a running process, read from `/proc`. Linux
/// only: elsewhere every function returns `None`, and tests skip the figure.
pub mod proc {
    /// A size field of `/proc/PID/status` in KiB: `VmRSS` (resident memory
    /// now), `VmHWM` (the most it ever was).
    pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
        status_field(pid, field)?
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    }

    /// The number of threads of the process.
    pub fn threads(pid: u32) -> Option<u64> {
        status_field(pid, "Threads")?.parse().ok()
    }

    /// The number of open file descriptors of the process.
    pub fn open_fds(pid: u32) -> Option<usize> {
        Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
    }

    fn status_field(pid: u32, field: &str) -> Option<String> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name == field).then(|| value.trim().to_string())
        })
    }

    #[cfg(all(test, target_os = "linux"))]
    mod tests {
        #[test]
        fn reads_this_process() {
            let me = std::process::id();
            assert!(super::status_kib(me, "VmRSS").unwrap() > 0);
            assert!(super::status_kib(me, "VmHWM").unwrap() > 0);
            assert!(super::threads(me).unwrap() >= 1);
            assert!(super::open_fds(me).unwrap() >= 3);
            assert_eq!(super::status_kib(me, "NoSuchField"), None);
        }
    }
}
