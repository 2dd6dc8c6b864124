//! # Exercise 5: commands (`/name`, `/who`)
//!
//! Goal: a line that starts with `/` is a command for the server, never a
//! message for the room. `/name NEW` renames you, and everyone, you
//! included, hears `SERVER: OLD is now NEW`; `/who` answers you alone with
//! `SERVER: online: A, B, C`, in joining order. Mistakes (`/name` without a
//! name, a name another client has, in any case) get an error line that
//! starts with `SERVER: `, to the asker only. And two clients asking for the
//! same free name at the same moment must not both get it.
//!
//! This server is step 4's chat with the groundwork laid: the room keeps each
//! client's nickname next to its socket, in joining order; a line starting
//! with `/` already goes to `command` instead of to the room; `/quit` and
//! unknown commands already work. `/name` and `/who` only answer "not
//! written yet".
//!
//! Fill in the TODOs: in `struct Member`, near the top of this file, then
//! in `command` and `rename`, at the bottom (read README.md for what the
//! grader tries, and hints), then check your work:
//!
//! ```text
//! cargo xtask check exercise5
//! ```
//!
//! Try it by hand: `cargo run -p exercise5` in one terminal and
//! `cargo run -p chat-client` in two others.

mod lines;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::Context;
use clap::Parser;
use classroom::log;

use lines::LineBuffer;

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
}

/// One named client in the room.
struct Member {
    addr: SocketAddr,
    /// New since step 4: the room knows names, for `/who` and to refuse a
    /// name that is taken.
    name: String,
    /// A handle to its socket that any thread can write to.
    stream: TcpStream,
}

/// Everyone in the room, in joining order (the order `/who` lists them:
/// a `Vec` keeps it, a `HashMap` would not).
///
/// `Arc` lets every thread own a pointer to the same list; `Mutex` makes them
/// take turns, so that no thread walks the list while another changes it.
type Clients = Arc<Mutex<Vec<Member>>>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
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
                    if let Err(e) = relay(stream, peer, &clients, &mut name) {
                        log!("error with {peer}: {e}");
                    }
                    // However the conversation ended, this client is gone:
                    // take it out of the room so nobody writes to it again.
                    clients.lock().unwrap().retain(|m| m.addr != peer);
                    // The only place a leave notice is sent: exactly one per
                    // client, whether it said goodbye, closed, or died. A
                    // client that never gave a name never joined: no notice.
                    if let Some(name) = name {
                        let notice = format!("SERVER: {name} has left the chat.\n");
                        broadcast(&clients, peer, notice.as_bytes());
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
) -> std::io::Result<()> {
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
                // The list needs a handle it owns. `try_clone` makes a second
                // handle to the same socket: other threads write through it
                // while this one reads.
                room.push(Member {
                    addr: peer,
                    name: nickname.clone(),
                    stream: stream.try_clone()?,
                });
                log!("{peer} joined as {nickname} ({} in the chat)", room.len());
                // Dropping the guard unlocks the mutex, which `broadcast`
                // is about to lock again.
                drop(room);
                let notice = format!("SERVER: {nickname} has joined the chat.\n");
                broadcast(clients, peer, notice.as_bytes());
                *name = Some(nickname);
                continue;
            };
            if is_goodbye(&line) {
                log!("{sender} says goodbye");
                // Leave the room first, so that no other thread writes to
                // this socket while we do.
                clients.lock().unwrap().retain(|m| m.addr != peer);
                stream.write_all(b"DONE\n")?;
                return Ok(());
            }
            // New since step 4: a line starting with `/` is a command for
            // the server, never a message for the room.
            if line.starts_with('/') {
                command(&mut stream, peer, clients, name, &line)?;
                continue;
            }
            log!("{sender}: {line:?}");
            broadcast(clients, peer, format!("{sender}: {line}\n").as_bytes());
        }
    }
}

/// `EXIT` or `bye` in any case, or `/quit`: a client's ways to say goodbye.
fn is_goodbye(line: &str) -> bool {
    let word = line.trim();
    word.eq_ignore_ascii_case("exit") || word.eq_ignore_ascii_case("bye") || word == "/quit"
}

/// Runs one command for the client at `peer`. Answers and errors go to that
/// client alone.
fn command(
    stream: &mut TcpStream,
    peer: SocketAddr,
    clients: &Clients,
    name: &mut Option<String>,
    line: &str,
) -> std::io::Result<()> {
    // "/name  bob " is the command "/name" with the argument "bob".
    let (command, argument) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let argument = argument.trim();
    match command {
        "/name" if argument.is_empty() => reply(stream, clients, "SERVER: usage: /name NEW"),
        "/name" => rename(stream, peer, clients, name, argument),
        "/who" => {
            let room = clients.lock().unwrap();
            let names: Vec<&str> = room.iter().map(|m| m.name.as_str()).collect();
            let answer = format!("SERVER: online: {}", names.join(", "));
            drop(room);
            reply(stream, clients, &answer)
        }
        _ => reply(
            stream,
            clients,
            &format!("SERVER: unknown command {command}; try /name NEW, /who or /quit"),
        ),
    }
}

/// `/name NEW`: takes the name if no one else has it, in any case, and
/// tells everyone, the renamed client included.
fn rename(
    stream: &mut TcpStream,
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
        // Still holding the lock, like every write in this step (see `reply`).
        return stream.write_all(format!("SERVER: the name {new} is taken\n").as_bytes());
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
    broadcast(clients, peer, format!("{notice}\n").as_bytes());
    reply(stream, clients, &notice)
}

/// Writes one line to this client only. The lock is held for the write, as
/// in `broadcast`: without it, a broadcast to this client from another
/// thread could land in the middle of our line.
fn reply(stream: &mut TcpStream, clients: &Clients, text: &str) -> std::io::Result<()> {
    let _room = clients.lock().unwrap();
    stream.write_all(format!("{text}\n").as_bytes())
}

/// Writes `message` to every client in the room except `sender`.
///
/// This writes to the sockets while holding the lock, on purpose: it is the
/// simple way, and it works while every client reads promptly. But a client
/// that stops reading fills its socket buffer, `write_all` then blocks, and
/// the whole room waits behind the lock. Step 6 fixes that, and
/// `cargo xtask bench` compares the two.
fn broadcast(clients: &Clients, sender: SocketAddr, message: &[u8]) {
    let mut clients = clients.lock().unwrap();
    // `retain_mut` visits every entry (mutably: writing to a socket needs
    // `&mut`) and keeps those for which we return true.
    // A client we cannot write to is dropped right here, under the lock we
    // already hold. (Locking again to remove it would deadlock: a `Mutex` is
    // not reentrant. The Python version of this lesson has exactly that bug.)
    clients.retain_mut(|member| {
        if member.addr == sender {
            return true;
        }
        match member.stream.write_all(message) {
            Ok(()) => true,
            Err(e) => {
                log!("cannot write to {} ({e}); dropping it", member.addr);
                // Wake that client's own thread, blocked in `read`, so that it
                // ends and logs the disconnect.
                let _ = member.stream.shutdown(Shutdown::Both);
                false
            }
        }
    });
}
