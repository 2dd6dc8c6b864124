//! # The chat client (for steps 3 to 7)
//!
//! **What it is:** a client with two threads. Reading the keyboard blocks
//! (`read_line` waits for Enter) and reading the socket blocks (`read` waits
//! for bytes), and one thread cannot wait for both at once. So the main
//! thread waits for the keyboard and sends what you type, while a reader
//! thread waits for the server and prints whatever arrives.
//!
//! The first thing sent is your name (`--name`, or it asks). Then every line
//! you type is one message. `EXIT`, `bye` or `/quit` leaves: the server
//! answers `DONE` and closes, and the client ends. Step 7 sends frames
//! instead of lines: `--framing length-prefix`.
//!
//! **Try it** (three terminals):
//!
//! ```text
//! terminal 1:  cargo run -p step4-framed-chat
//! terminal 2:  cargo run -p chat-client -- --name alice
//! terminal 3:  cargo run -p chat-client -- --name bob
//! ```
//!
//! For step 7: `cargo run -p step7-length-prefix` and
//! `cargo run -p chat-client -- --framing length-prefix`.
//!
//! **Observe:** start typing in alice's terminal, and before you press Enter
//! send something from bob's. Bob's message appears in alice's terminal
//! right away, even in the middle of her half-typed line: the reader thread
//! printed it while the main thread was still waiting for Enter. What alice
//! typed is not lost (the terminal keeps it until Enter); finish the line
//! and it is sent.
//!
//! Messages are printed with control characters removed, so a peer cannot
//! clear your screen or move your cursor through a server that forwards
//! escape sequences.

use std::io::{self, BufRead, BufReader, ErrorKind, IsTerminal, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};

/// Chat servers listen here unless told otherwise.
const DEFAULT_PORT: u16 = 65433;
/// How long to wait for a server to accept before calling the address wrong.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A server that stops reading must not freeze the keyboard for ever.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After saying goodbye, how long to wait for `DONE` or the close.
const GOODBYE_WAIT: Duration = Duration::from_secs(3);
/// The longest frame we accept: the longest a server of the course sends
/// (PROTOCOL.md). Step 7 limits what clients send (`--max-frame`, 64 KiB by
/// default), but what it relays is longer (a name and `: ` in front, and
/// each invalid byte replaced takes 3), and it refuses a `--max-frame` that
/// would make it send more than this. Not whatever a header claims.
const MAX_FRAME: u32 = 1024 * 1024;
/// The longest line we buffer; a longer one is shown in pieces.
const MAX_LINE: u64 = 64 * 1024;
/// What a server with every place taken says before it closes (step 8).
const SERVER_FULL: &[u8] = b"SERVER: server is full";
/// What it says to one more connection from an address that holds as many
/// as it allows (step 8's `--max-per-host`).
const TOO_MANY_FROM_HERE: &[u8] = b"SERVER: too many connections from your address";
/// The keys that end the keyboard's input on this system.
const END_OF_INPUT: &str = if cfg!(windows) {
    "Ctrl-Z then Enter"
} else {
    "Ctrl-D"
};

/// True while `Your name: ` waits on the screen without a newline, so that
/// a message arriving meanwhile starts on a line of its own.
static PROMPT_OPEN: AtomicBool = AtomicBool::new(false);

/// Chat with a course server: a reader thread prints the room while you type.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The server's address: 127.0.0.1 for this machine, or a classmate's IP.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The server's port (chat servers listen on 65433).
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Your nickname. Without it the client asks (or, when input is piped,
    /// takes the first line).
    #[arg(long)]
    name: Option<String>,
    /// How messages travel: lines ending in \n (every step but 7), or frames
    /// with a 4-byte big-endian length in front (step 7).
    #[arg(long, value_enum, default_value_t = Framing::Lines)]
    framing: Framing,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Framing {
    Lines,
    LengthPrefix,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            // `{:#}` prints the whole chain of context on one line.
            eprintln!("chat-client: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stream = connect(&args.host, args.port, args.framing)?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let at_keyboard = io::stdin().is_terminal();
    if at_keyboard {
        eprintln!("connected to {}", stream.peer_addr()?);
    }

    // Set before we say goodbye, so the reader thread knows that a close
    // from the server is the answer we asked for, not an accident.
    let leaving = Arc::new(AtomicBool::new(false));

    // The reader thread gets its own handle to the same connection:
    // `try_clone` duplicates the handle, not the connection. It starts before
    // we send the name so that anything the server says early is shown.
    let reader = stream.try_clone().context("cannot share the connection")?;
    let reader_leaving = Arc::clone(&leaving);
    thread::spawn(move || {
        let end = match args.framing {
            Framing::Lines => receive_lines(reader),
            Framing::LengthPrefix => receive_frames(reader),
        };
        finish(end, reader_leaving.load(Ordering::SeqCst))
    });

    let mut keyboard = io::stdin().lock();
    let name = match args.name {
        Some(name) if name.trim().is_empty() => bail!("--name must not be empty"),
        Some(name) => name.trim().to_string(),
        None => ask_name(&mut keyboard, at_keyboard)?,
    };
    let mut sender = Sender {
        stream,
        framing: args.framing,
    };
    sender.send(name.as_bytes())?;
    if at_keyboard {
        // "Sent", not "joined": a server may refuse the name (step 8 says so
        // with a `SERVER: ...` line), and then the next line you type is
        // your next try.
        eprintln!(
            "name sent: {name}. Type a message and press Enter; EXIT, bye, /quit or \
             {END_OF_INPUT} leaves."
        );
    }

    // The main thread's whole job: read a line, send it, repeat.
    let mut line = Vec::new();
    loop {
        line.clear();
        // `read_until` rather than `read_line`: input that is not valid UTF-8
        // is sent as it is (the servers replace it) instead of ending us.
        let n = keyboard
            .read_until(b'\n', &mut line)
            .context("cannot read standard input")?;
        if n == 0 {
            // End of input (Ctrl-D; Ctrl-Z then Enter on Windows; or the
            // pipe ran dry): leave politely.
            leaving.store(true, Ordering::SeqCst);
            sender.send(b"/quit")?;
            break;
        }
        trim_line_end(&mut line);
        if line.is_empty() {
            continue; // the servers ignore empty messages anyway
        }
        if is_goodbye(&line) {
            leaving.store(true, Ordering::SeqCst);
            sender.send(&line)?;
            break;
        }
        sender.send(&line)?;
    }

    // Closing our sending half tells any server we are done, even one that
    // does not know the goodbye words (step 3 simply sees the end of stream).
    let _ = sender.stream.shutdown(Shutdown::Write);
    // Now the reader thread should see `DONE` or the close, and end the
    // program. If the server says nothing, we do not wait for ever.
    thread::sleep(GOODBYE_WAIT);
    eprintln!(
        "no answer to goodbye within {} s; leaving anyway.",
        GOODBYE_WAIT.as_secs()
    );
    Ok(ExitCode::SUCCESS)
}

/// Asks for a name until a non-empty one is typed. From a pipe there is no
/// prompt: the first non-empty line is the name.
fn ask_name(keyboard: &mut impl BufRead, at_keyboard: bool) -> anyhow::Result<String> {
    loop {
        if at_keyboard {
            eprint!("Your name: ");
            io::stderr().flush()?;
            PROMPT_OPEN.store(true, Ordering::SeqCst);
        }
        let mut line = Vec::new();
        let n = keyboard.read_until(b'\n', &mut line)?;
        PROMPT_OPEN.store(false, Ordering::SeqCst);
        if n == 0 {
            if at_keyboard {
                eprintln!(); // end of input left the cursor after the prompt
            }
            bail!("no name given: pass --name NAME, or type a name when asked");
        }
        let name = String::from_utf8_lossy(&line).trim().to_string();
        if !name.is_empty() {
            return Ok(name);
        }
    }
}

/// The sending half: turns one message into bytes on the wire.
struct Sender {
    stream: TcpStream,
    framing: Framing,
}

impl Sender {
    /// Sends one message in a single write, framed as the server expects.
    fn send(&mut self, message: &[u8]) -> anyhow::Result<()> {
        let mut bytes = Vec::with_capacity(message.len() + 4);
        match self.framing {
            // A line: the text, then the newline that ends it.
            Framing::Lines => {
                bytes.extend_from_slice(message);
                bytes.push(b'\n');
            }
            // A frame: the length as 4 bytes, most significant first (what
            // Python's `struct.pack('!I', n)` writes), then the text.
            // No limit of our own here: the server enforces its `--max-frame`
            // and says so, which is worth seeing once.
            Framing::LengthPrefix => {
                let len = u32::try_from(message.len()).context("a message over 4 GiB")?;
                bytes.extend_from_slice(&len.to_be_bytes());
                bytes.extend_from_slice(message);
            }
        }
        self.stream.write_all(&bytes).map_err(|e| match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => anyhow::anyhow!(
                "the server has not taken our messages for {} s; giving up",
                WRITE_TIMEOUT.as_secs()
            ),
            _ => anyhow::anyhow!("cannot send: {e}"),
        })
    }
}

/// How the conversation ended, as the reader thread saw it.
enum End {
    /// The server answered `DONE`.
    Done,
    /// The server closed the connection; `after` is the last message it
    /// sent (empty if none).
    Closed { after: Vec<u8> },
    /// The server announced a frame larger than we accept.
    TooBig(u32),
    /// Reading failed: a reset, or a frame cut off by the close.
    Lost { error: io::Error, after: Vec<u8> },
}

impl End {
    /// A reset right after a `SERVER:` line is the server closing the
    /// connection on purpose (full, or a limit hit): it closed without
    /// reading what we had sent, our name for instance, and a close with
    /// unread data goes out as a reset. That is not a lost connection.
    fn closed_on_purpose(self) -> End {
        match self {
            End::Lost { error, after }
                if matches!(
                    error.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) && after.starts_with(b"SERVER: ") =>
            {
                End::Closed { after }
            }
            end => end,
        }
    }
}

/// The reader thread, lines edition: prints each line until the end.
fn receive_lines(stream: TcpStream) -> End {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    // The last message shown, to tell how the conversation ended.
    let mut last = Vec::new();
    loop {
        line.clear();
        // `take` bounds how much one line may make us buffer: a server that
        // never sends `\n` gets its text shown in 64 KiB pieces instead.
        match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line) {
            Ok(0) => return End::Closed { after: last },
            Ok(_) => {
                trim_line_end(&mut line);
                if line == b"DONE" {
                    return End::Done;
                }
                show(&line);
                std::mem::swap(&mut last, &mut line);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(error) => return End::Lost { error, after: last },
        }
    }
}

/// The reader thread, frames edition: reads a 4-byte length, then exactly
/// that many bytes, however TCP cut them into pieces.
fn receive_frames(mut stream: TcpStream) -> End {
    // The last message shown, to tell how the conversation ended.
    let mut last = Vec::new();
    loop {
        let mut header = [0u8; 4];
        match read_frame_part(&mut stream, &mut header) {
            Ok(true) => {}
            Ok(false) => return End::Closed { after: last },
            Err(error) => return End::Lost { error, after: last },
        }
        let len = u32::from_be_bytes(header);
        // Check before allocating: a hostile header may claim 4 GiB.
        if len > MAX_FRAME {
            return End::TooBig(len);
        }
        let mut payload = vec![0u8; len as usize];
        let cut = match read_frame_part(&mut stream, &mut payload) {
            Ok(true) => None,
            Ok(false) => Some(cut_frame()),
            Err(error) => Some(error),
        };
        if let Some(error) = cut {
            return End::Lost { error, after: last };
        }
        if payload.is_empty() {
            continue; // a zero-length frame carries nothing
        }
        if payload == b"DONE" {
            return End::Done;
        }
        show(&payload);
        last = payload;
    }
}

/// Fills `buf` completely. `Ok(false)` if the stream ended before its first
/// byte (a clean close between frames); an error if it ended halfway.
fn read_frame_part(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(cut_frame()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn cut_frame() -> io::Error {
    io::Error::new(
        ErrorKind::UnexpectedEof,
        "the server closed the connection in the middle of a frame",
    )
}

/// Prints one message, made safe for a terminal: invalid UTF-8 becomes �,
/// and control characters (escape sequences, bells, carriage returns that
/// would overwrite the line) are dropped. Tab stays.
fn show(message: &[u8]) {
    let text: String = String::from_utf8_lossy(message)
        .chars()
        .filter(|&c| c == '\t' || !c.is_control())
        .collect();
    let lead = if PROMPT_OPEN.swap(false, Ordering::SeqCst) {
        "\n"
    } else {
        ""
    };
    // If nobody reads our output any more there is no one to tell.
    let _ = writeln!(io::stdout().lock(), "{lead}{text}");
}

/// Ends the program when the conversation ends. Called by the reader
/// thread: the main thread is blocked reading the keyboard and there is no
/// portable way to wake it, so we end the whole process from here.
fn finish(end: End, leaving: bool) -> ! {
    if PROMPT_OPEN.swap(false, Ordering::SeqCst) {
        eprintln!();
    }
    let code = match end.closed_on_purpose() {
        End::Done => {
            eprintln!("server answered DONE: you have left the chat.");
            0
        }
        End::Closed { .. } if leaving => {
            eprintln!("the server closed the connection: you have left the chat.");
            0
        }
        End::Closed { after } if after == SERVER_FULL => {
            eprintln!(
                "chat-client: every place in the room is taken; try again when someone has left."
            );
            1
        }
        End::Closed { after } if after == TOO_MANY_FROM_HERE => {
            eprintln!(
                "chat-client: this address already has every connection the server allows one \
                 address; close one of them (another terminal?) and try again."
            );
            1
        }
        End::Closed { .. } => {
            eprintln!("chat-client: the server closed the connection.");
            1
        }
        End::TooBig(len) => {
            eprintln!(
                "chat-client: the server announced a frame of {len} bytes, over our \
                 {MAX_FRAME}-byte limit; is it speaking length-prefix frames? closing."
            );
            1
        }
        End::Lost { error, .. } if leaving => {
            eprintln!("connection ended: {error}");
            0
        }
        End::Lost { error, .. } => {
            eprintln!("chat-client: connection lost: {error}");
            1
        }
    };
    let _ = io::stdout().flush();
    std::process::exit(code)
}

/// Drops the `\n` that ends a line, and a `\r` before it (Windows).
fn trim_line_end(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
}

/// The goodbye words every line server (steps 4 to 6) understands.
fn is_goodbye(line: &[u8]) -> bool {
    line.eq_ignore_ascii_case(b"exit") || line.eq_ignore_ascii_case(b"bye") || line == b"/quit"
}

/// Connects to the first address `host` resolves to that accepts, and turns
/// the usual failures into advice instead of a raw OS error.
fn connect(host: &str, port: u16, framing: Framing) -> anyhow::Result<TcpStream> {
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
        _ if refused => bail!("{}", refused_advice(host, port, framing, this_machine)),
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
fn refused_advice(host: &str, port: u16, framing: Framing, this_machine: bool) -> String {
    let package = match framing {
        Framing::Lines => "step3-chat-server",
        Framing::LengthPrefix => "step7-length-prefix",
    };
    let start = if port == DEFAULT_PORT {
        format!("cargo run -p {package}")
    } else {
        format!("cargo run -p {package} -- --port {port}")
    };
    if this_machine {
        format!(
            "cannot connect to {host}:{port}: no server is listening there. Start one in \
             another terminal: {start} (chat servers listen on {DEFAULT_PORT})"
        )
    } else {
        format!(
            "cannot connect to {host}:{port}: no server is listening there. Check the address \
             and port the server printed, and that it was started with --host 0.0.0.0 \
             (on your own machine: {start})"
        )
    }
}
