//! # Exercise 6: a writer thread per client (dead and stalled clients)
//!
//! Goal: a client that stops reading (a closed laptop lid, a terminal paused
//! with Ctrl+Z) must never stall the room, and one that stops reading for
//! good, or vanishes, must leave with the usual notice, once.
//!
//! This is step 5 with one change made for you: the room holds each
//! client's `Outbox` (`src/outbox.rs`) instead of its socket, and
//! `broadcast` and `reply` call `Outbox::push`. But `push` still writes to
//! the socket right there, in the caller's thread, with the room's lock
//! held, exactly as step 5 did: one client that stops reading freezes
//! everyone. Make `push` only *queue* the message, and let the client's
//! writer thread (`Writer::run`, started for each client by `start_writer`
//! in this file) do the writing.
//!
//! Fill in the TODOs in `src/outbox.rs` (read README.md for what the grader
//! tries, and hints), then check your work:
//!
//! ```text
//! cargo xtask check exercise6
//! ```
//!
//! Try it by hand: `cargo run -p exercise6` in one terminal and
//! `cargo run -p chat-client` in two others. A client that stops reading
//! takes megabytes of chat before any write to it blocks, so the grader
//! plays it: `cargo xtask check exercise6` (the README says more).

mod lines;
mod outbox;

use std::io::{ErrorKind, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use classroom::log;

use lines::LineBuffer;
use outbox::{Bounds, Message, Outbox};

/// A chat server: lines, nicknames, and notices when people come and go.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; 0.0.0.0 lets classmates connect.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Port to listen on; 0 lets the system pick a free one.
    #[arg(long, default_value_t = 65433)]
    port: u16,
    /// Most messages waiting for one client; one more and it is dropped as
    /// too slow.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    queue_messages: u64,
    /// Most bytes waiting for one client; one more and it is dropped as too
    /// slow. Memory is taken only as messages wait: an idle client's queue
    /// costs almost nothing.
    #[arg(long, default_value_t = 8 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    queue_bytes: u64,
    /// Seconds one write to a client may block before it is dropped as not
    /// reading.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    write_timeout: u64,
}

/// How much may wait for each client, and how long a write may take.
#[derive(Clone, Copy)]
struct Limits {
    queue: Bounds,
    write_timeout: Duration,
}

/// One named client in the room.
struct Member {
    addr: SocketAddr,
    /// The room knows names, for `/who` and to refuse a name that is taken.
    name: String,
    /// New in this step: not its socket, but its queue. Only the client's
    /// writer thread writes to the socket.
    outbox: Outbox,
}

/// Everyone in the room, in joining order (the order `/who` lists them:
/// a `Vec` keeps it, a `HashMap` would not).
///
/// `Arc` lets every thread own a pointer to the same list; `Mutex` makes them
/// take turns, so that no thread walks the list while another changes it.
type Clients = Arc<Mutex<Vec<Member>>>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let limits = Limits {
        queue: Bounds {
            messages: usize::try_from(args.queue_messages)?,
            bytes: usize::try_from(args.queue_bytes)?,
        },
        write_timeout: Duration::from_secs(args.write_timeout),
    };
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))
        .unwrap_or_else(classroom::cannot_listen);
    classroom::announce(&listener, "cargo run -p chat-client --")?;
    println!("  run the client command above in two more terminals: type in one, watch the other");
    println!("  (Ctrl-C stops the server)");

    // The one and only list of clients. Each thread gets a clone of the
    // `Arc`: a second pointer to the same list, not a copy of it.
    let clients: Clients = Arc::new(Mutex::new(Vec::new()));

    // `incoming()` calls `accept` in a loop. Each call blocks until a client
    // arrives; now that clients are served elsewhere, we get back here at once.
    for connection in listener.incoming() {
        match connection {
            Ok(stream) => {
                // From now on the address is how the room knows this client.
                // (It can only fail if the client vanished already.)
                let Ok(peer) = stream.peer_addr() else {
                    continue;
                };
                log!("connected: {peer}");
                let clients = Arc::clone(&clients);
                // Serve this client on a thread of its own. `move` hands the
                // closure ownership of `stream`, `peer` and this clone of
                // `clients`: the thread may outlive this loop iteration, so it
                // cannot borrow anything from it. We do not keep the thread's
                // handle; it ends by itself when its client leaves.
                thread::spawn(move || {
                    // `relay` fills in the nickname as soon as the client
                    // sends it, so that we know who left, however it left.
                    let mut name = None;
                    if let Err(e) = relay(stream, peer, &clients, &mut name, limits) {
                        log!("error with {peer}: {e}");
                    }
                    // However the conversation ended, this client is gone:
                    // take it out of the room so nobody writes to it again.
                    clients.lock().unwrap().retain(|m| m.addr != peer);
                    // The only place a leave notice is sent: exactly one per
                    // client, whether it said goodbye, closed, or died. A
                    // client that never gave a name never joined: no notice.
                    if let Some(name) = name {
                        let notice = format!("SERVER: {name} has left the chat.");
                        broadcast(&clients, peer, &notice);
                    }
                    log!("disconnected: {peer}");
                });
            }
            // One failed accept (say, a client that gave up during the
            // handshake) must not stop the server.
            Err(e) => log!("accept failed: {e}"),
        }
    }
    Ok(())
}

/// Reads the client's lines. The first non-empty one is its nickname, which
/// puts it in the room; each later one goes to everyone else as `NAME: TEXT`,
/// until the client says goodbye or closes.
fn relay(
    mut stream: TcpStream,
    peer: SocketAddr,
    clients: &Clients,
    name: &mut Option<String>,
    limits: Limits,
) -> std::io::Result<()> {
    // New in this step: this client's queue, and the thread that empties it
    // into the socket. From now on nothing else writes to this socket.
    let outbox = start_writer(&stream, peer, clients, limits)?;

    // This connection's own buffer: bytes that do not make a whole line yet
    // wait here for the next `read`. One per connection, because each client
    // is halfway through its own line.
    let mut lines = LineBuffer::new();

    let mut buffer = [0u8; 1024];
    loop {
        // `read` blocks until at least one byte arrives. It returns 0 when
        // the client has closed its side: the end of the stream. Half a line
        // left in the buffer then is dropped: it never became a message.
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        // One chunk may complete no line, one line, or several.
        for line in lines.push(&buffer[..n]) {
            if line.trim().is_empty() {
                continue;
            }
            let Some(sender) = name.as_deref() else {
                // The first line is the nickname: only now does the client
                // enter the room, and the others hear about it.
                let nickname = line.trim().to_string();
                // `lock()` waits for our turn and returns a guard: while it
                // lives, the list is ours alone. (`unwrap`: the lock is only
                // "poisoned" if a thread panicked while holding it, and none
                // of ours do.)
                let mut room = clients.lock().unwrap();
                // The room gets a copy of the queue's sending side: others
                // reach this client through it.
                room.push(Member {
                    addr: peer,
                    name: nickname.clone(),
                    outbox: outbox.clone(),
                });
                log!("{peer} joined as {nickname} ({} in the chat)", room.len());
                // Dropping the guard unlocks the mutex, which `broadcast`
                // is about to lock again.
                drop(room);
                let notice = format!("SERVER: {nickname} has joined the chat.");
                broadcast(clients, peer, &notice);
                *name = Some(nickname);
                continue;
            };
            if is_goodbye(&line) {
                log!("{sender} says goodbye");
                // Leave the room first, so that nobody queues more for us.
                clients.lock().unwrap().retain(|m| m.addr != peer);
                // Our writer sends `DONE` after whatever is queued, then
                // closes: it ends once this function drops our `outbox`.
                return reply(&outbox, "DONE");
            }
            // A line starting with `/` is a command for the server, never a
            // message for the room.
            if line.starts_with('/') {
                command(&outbox, peer, clients, name, &line)?;
                continue;
            }
            log!("{sender}: {line:?}");
            if !broadcast(clients, peer, &format!("{sender}: {line}")) {
                // The room dropped us meanwhile (our queue was full): stop
                // reading, so nobody hears from us after we were dropped.
                return Ok(());
            }
        }
    }
}

/// New in this step: creates the client's queue and starts its writer
/// thread; returns the queue's sending side.
fn start_writer(
    stream: &TcpStream,
    peer: SocketAddr,
    clients: &Clients,
    limits: Limits,
) -> std::io::Result<Outbox> {
    // A client that stops reading makes writes block once the kernel's
    // buffers are full. The timeout turns "blocked forever" into an error.
    stream.set_write_timeout(Some(limits.write_timeout))?;
    // A second handle to the socket, for the writer (the reader keeps
    // `stream`).
    let socket = Arc::new(stream.try_clone()?);
    let (outbox, writer) = outbox::new(Arc::clone(&socket), limits.queue);
    let clients = Arc::clone(clients);
    thread::Builder::new().spawn(move || {
        // `run` returns `Ok` when every `Outbox` is gone: the client left.
        // An error means the socket failed (a reset, a write timeout).
        if let Err(e) = writer.run() {
            let why = match e.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                    "stopped reading (write timed out)".to_string()
                }
                _ => format!("connection failed: {e}"),
            };
            // Out of the room, so nobody queues for it any more...
            let mut room = clients.lock().unwrap();
            if let Some(index) = room.iter().position(|m| m.addr == peer) {
                log!("{} left: {why}", room[index].name);
                room.remove(index);
            }
            drop(room);
            // ...and wake its reader, which tells the others it left.
            let _ = socket.shutdown(Shutdown::Both);
        }
    })?;
    Ok(outbox)
}

/// `EXIT` or `bye` in any case, or `/quit`: a client's ways to say goodbye.
fn is_goodbye(line: &str) -> bool {
    let word = line.trim();
    word.eq_ignore_ascii_case("exit") || word.eq_ignore_ascii_case("bye") || word == "/quit"
}

/// Runs one command for the client at `peer`. Answers and errors go to that
/// client alone.
fn command(
    outbox: &Outbox,
    peer: SocketAddr,
    clients: &Clients,
    name: &mut Option<String>,
    line: &str,
) -> std::io::Result<()> {
    // "/name  bob " is the command "/name" with the argument "bob".
    let (command, argument) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let argument = argument.trim();
    match command {
        "/name" if argument.is_empty() => reply(outbox, "SERVER: usage: /name NEW"),
        "/name" => rename(outbox, peer, clients, name, argument),
        "/who" => {
            let room = clients.lock().unwrap();
            let names: Vec<&str> = room.iter().map(|m| m.name.as_str()).collect();
            let answer = format!("SERVER: online: {}", names.join(", "));
            drop(room);
            reply(outbox, &answer)
        }
        _ => reply(
            outbox,
            &format!("SERVER: unknown command {command}; try /name NEW, /who or /quit"),
        ),
    }
}

/// `/name NEW`: takes the name if no one else has it, in any case, and
/// tells everyone, the renamed client included.
fn rename(
    outbox: &Outbox,
    peer: SocketAddr,
    clients: &Clients,
    name: &mut Option<String>,
    new: &str,
) -> std::io::Result<()> {
    // Check and take under ONE lock. Two clients sending `/name sam` at the
    // same moment are served by two threads; if each could check (free!),
    // unlock, then take, both would become sam. With one lock around both
    // steps, the second thread to get the lock finds sam taken.
    let mut room = clients.lock().unwrap();
    let taken = room
        .iter()
        .any(|m| m.addr != peer && m.name.to_lowercase() == new.to_lowercase());
    if taken {
        drop(room);
        return reply(outbox, &format!("SERVER: the name {new} is taken"));
    }
    if let Some(me) = room.iter_mut().find(|m| m.addr == peer) {
        me.name = new.to_string();
    }
    drop(room);
    // This thread's own copy of the name, for its messages and its leave
    // notice.
    let old = name.replace(new.to_string()).unwrap_or_default();
    log!("{old} is now {new}");
    let notice = format!("SERVER: {old} is now {new}");
    broadcast(clients, peer, &notice);
    reply(outbox, &notice)
}

/// Queues one line for this client only. No lock is needed any more: the
/// queue keeps this reply and the broadcasts from other threads in order,
/// and only the writer thread touches the socket.
fn reply(outbox: &Outbox, text: &str) -> std::io::Result<()> {
    outbox.push(&Message::from(text))
}

/// Queues `message` for every client in the room except `sender`. Returns
/// whether `sender` is still in the room.
///
/// New in this step: no socket write under the lock. A push never blocks,
/// so the lock is held for microseconds, whatever the clients do. A client
/// whose queue is full (it stopped reading) or whose writer has stopped
/// (its connection failed) is dropped, and its own thread tells the others
/// it left.
fn broadcast(clients: &Clients, sender: SocketAddr, message: &str) -> bool {
    // One allocation for everyone: each queue gets a pointer to the text.
    let message = Message::from(message);
    let mut clients = clients.lock().unwrap();
    // `retain` visits every entry and keeps those for which we return true.
    // A client whose queue refuses the message is dropped right here, under
    // the lock we already hold. (Locking again to remove it would deadlock: a
    // `Mutex` is not reentrant. The Python version of this lesson has exactly
    // that bug.)
    clients.retain(|member| {
        if member.addr == sender {
            return true;
        }
        match member.outbox.push(&message) {
            Ok(()) => true,
            Err(e) => {
                log!("{} dropped: {e}", member.name);
                // Wake that client's own thread, blocked in `read`, so that it
                // ends and announces the departure, once.
                member.outbox.close();
                false
            }
        }
    });
    clients.iter().any(|m| m.addr == sender)
}
