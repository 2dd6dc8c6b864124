//! # The echo client (for steps 1 and 2)
//!
//! **What it is:** the simplest client there is. It connects, then for each
//! line you type it sends the line and waits for the echo before reading the
//! next one: send, receive, repeat. It prints exactly the bytes that come
//! back.
//!
//! **Try it** (three terminals):
//!
//! ```text
//! terminal 1:  cargo run -p step1-blocking-echo
//! terminal 2:  cargo run -p echo-client            (type hello: hello comes back)
//! terminal 3:  cargo run -p echo-client            (type hello: no answer...)
//! ```
//!
//! Without typing: `printf 'hi\nthere\n' | cargo run -q -p echo-client`
//! (in PowerShell: `"hi", "there" | cargo run -q -p echo-client`) prints the
//! two echoes and exits when its input ends.
//!
//! **Observe:** the client in terminal 3 connects without complaint (the
//! server's kernel completed the handshake and queued it) but its line gets
//! no echo; after two seconds it says so. Press Ctrl-D in terminal 2 (on
//! Windows: Ctrl-Z, then Enter) and the
//! waiting echo appears in terminal 3 at once: the line was sitting in the
//! server's receive buffer while the server was stuck serving client 2.
//! Against step 2 both clients get their echoes immediately.

use std::io::{self, BufRead, ErrorKind, IsTerminal, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;

/// Echo servers listen here unless told otherwise.
const DEFAULT_PORT: u16 = 65432;
/// How long an echo may take before we suspect a busy server and say so.
const NOTE_AFTER: Duration = Duration::from_secs(2);
/// How long to wait for a server to accept before calling the address wrong.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The keys that end the keyboard's input on this system.
const END_OF_INPUT: &str = if cfg!(windows) {
    "Ctrl-Z then Enter"
} else {
    "Ctrl-D"
};

/// Sends each line of standard input to an echo server and prints the echo.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The server's address: 127.0.0.1 for this machine, or a classmate's IP.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The server's port (echo servers listen on 65432).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// When input comes from a pipe or a file: give up if an echo takes longer
    /// than this many seconds. (At a keyboard the client waits for as long as
    /// you do; Ctrl-C gives up.)
    #[arg(long, value_name = "SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    wait: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole chain of context on one line.
            eprintln!("echo-client: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut stream = connect(&args.host, args.port)?;
    // A person at a keyboard can decide how long to wait; a script cannot.
    let at_keyboard = io::stdin().is_terminal();
    let give_up_after = (!at_keyboard).then(|| Duration::from_secs(args.wait));
    if at_keyboard {
        eprintln!(
            "connected to {}. Type a line and press Enter; {END_OF_INPUT} quits.",
            stream.peer_addr()?
        );
    }

    let mut keyboard = io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        // `read_until` rather than `read_line`: bytes that are not valid
        // UTF-8 are sent as they are, which is what an echo test wants.
        let n = keyboard
            .read_until(b'\n', &mut line)
            .context("cannot read standard input")?;
        if n == 0 {
            break; // end of input: Ctrl-D (Ctrl-Z, Enter on Windows), or the pipe ran dry
        }
        if !line.ends_with(b"\n") {
            line.push(b'\n'); // the last line of a file may lack its newline
        }
        stream.write_all(&line).map_err(lost)?;
        receive_echo(&mut stream, line.len(), give_up_after)?;
    }
    // Closing our sending half tells the server we are done: its `read`
    // returns 0, exactly as if we had closed the whole connection.
    let _ = stream.shutdown(Shutdown::Write);
    eprintln!("end of input: connection closed. Goodbye!");
    Ok(())
}

/// Reads until `expected` bytes have come back, printing them as they come.
///
/// One `read` is not enough: TCP is a stream of bytes, not of messages, so
/// the echo of one line may arrive in several pieces.
fn receive_echo(
    stream: &mut TcpStream,
    expected: usize,
    give_up_after: Option<Duration>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut noted = false;
    let mut received = 0;
    let mut buffer = [0u8; 4096];
    let mut out = io::stdout();
    while received < expected {
        // Block in `read` only until the next moment we must act: time for
        // the note, or time to give up. `None` means wait for ever.
        let next_moment = match (noted, give_up_after) {
            (false, Some(limit)) => Some(NOTE_AFTER.min(limit)),
            (false, None) => Some(NOTE_AFTER),
            (true, limit) => limit,
        };
        let timeout = next_moment.map(|moment| {
            moment
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(1)) // a zero timeout is an error
        });
        stream.set_read_timeout(timeout)?;
        match stream.read(&mut buffer) {
            // `read` returns 0 only when the other side closed the stream.
            Ok(0) => bail!("the server closed the connection before echoing everything"),
            Ok(n) => {
                out.write_all(&buffer[..n])?;
                out.flush()?;
                received += n;
            }
            // A read timeout shows up as WouldBlock (Unix) or TimedOut (Windows).
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let waited = started.elapsed();
                if let Some(limit) = give_up_after.filter(|&limit| waited >= limit) {
                    bail!(
                        "no echo within {} s: is the server busy with another client? \
                         (step 1 serves one at a time)",
                        limit.as_secs()
                    );
                }
                if !noted && waited >= NOTE_AFTER {
                    eprintln!(
                        "no answer yet: is the server busy with another client? \
                         (step 1 serves one at a time)"
                    );
                    noted = true;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(lost(e)),
        }
    }
    Ok(())
}

/// Connects to the first address `host` resolves to that accepts, and turns
/// the usual failures into advice instead of a raw OS error.
fn connect(host: &str, port: u16) -> anyhow::Result<TcpStream> {
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot find the host {host:?}; check how it is spelled"))?
        .collect();
    // `localhost` may resolve to both ::1 and 127.0.0.1: try each in turn.
    let mut refused = false;
    let mut other_error = None;
    for address in &addresses {
        match TcpStream::connect_timeout(address, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => refused = true,
            Err(e) => other_error = Some(e),
        }
    }
    let this_machine = addresses.iter().all(|a| a.ip().is_loopback());
    match other_error {
        // "Refused" means the machine answered: nothing listens on that port.
        _ if refused => bail!("{}", refused_advice(host, port, this_machine)),
        Some(e) if e.kind() == ErrorKind::TimedOut => bail!(
            "no answer from {host}:{port} within {} s: check the address the server printed, \
             and that you are on the same network (a firewall may be dropping the connection)",
            CONNECT_TIMEOUT.as_secs()
        ),
        Some(e) => bail!("cannot connect to {host}:{port}: {e}"),
        None => bail!("cannot connect to {host}:{port}: the name resolved to no address"),
    }
}

/// What to say when nothing listens at `host:port`.
fn refused_advice(host: &str, port: u16, this_machine: bool) -> String {
    let start = if port == DEFAULT_PORT {
        "cargo run -p step1-blocking-echo".to_string()
    } else {
        format!("cargo run -p step1-blocking-echo -- --port {port}")
    };
    if this_machine {
        format!(
            "cannot connect to {host}:{port}: no server is listening there. Start one in \
             another terminal: {start} (echo servers listen on {DEFAULT_PORT})"
        )
    } else {
        format!(
            "cannot connect to {host}:{port}: no server is listening there. Check the address \
             and port the server printed, and that it was started with --host 0.0.0.0 \
             (on your own machine: {start})"
        )
    }
}

/// Words for a failed send or receive on an established connection.
fn lost(e: io::Error) -> anyhow::Error {
    match e.kind() {
        ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
            anyhow::anyhow!("the server closed the connection ({e})")
        }
        _ => anyhow::anyhow!("connection lost: {e}"),
    }
}
