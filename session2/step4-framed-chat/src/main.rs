//! # Step 4: a framed chat (lines and nicknames)
//!
//! **New in this step:** framing. TCP delivers a stream of bytes, and where
//! one message ends is for the protocol to say. Ours says: a message is a line
//! ending in `\n`. Each connection gets its own `LineBuffer` (in `lines.rs`):
//! every chunk a `read` returns goes in, and out come the lines that chunk
//! completed, however the bytes were cut up on the way; half a line waits in
//! the buffer for the rest. With whole lines to work with, the chat speaks the
//! protocol of `session2/PROTOCOL.md`: the first line a client sends is its
//! nickname, messages go out as `NAME: TEXT`, the others hear
//! `SERVER: NAME has joined the chat.` and `SERVER: NAME has left the chat.`,
//! and `EXIT`, `bye` or `/quit` get `DONE` and a close.
//!
//! **Try it** (three terminals, or three laptops):
//!
//! ```text
//! terminal 1:  cargo run -p step4-framed-chat
//! terminal 2:  cargo run -p chat-client           (give a nickname, then type)
//! terminal 3:  cargo run -p chat-client           (see who joined, and who says what)
//! ```
//!
//! **Observe:** the join notice when the second client names itself; every
//! message prefixed with a nickname; `bye` answered with `DONE` while the
//! others see you leave. The stream bug of step 3 is gone: two lines written
//! at once arrive as two messages (`printf 'me\none\ntwo\n' | nc 127.0.0.1 65433`
//! if you have netcat) and a line written in pieces arrives whole; the tests
//! prove both (`cargo test -p step4-framed-chat`). One weakness is left on
//! purpose: `broadcast` writes to every socket while holding the lock, so a
//! client that stops reading can stall the whole room. Step 6 fixes that.

mod lines;

use std::collections::HashMap;
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

/// Everyone in the room: each named client's address and a handle to its
/// socket that any thread can write to. (Its nickname stays with the thread
/// that serves it: nobody else needs it in this step.)
///
/// `Arc` lets every thread own a pointer to the same map; `Mutex` makes them
/// take turns, so that no thread walks the map while another changes it.
type Clients = Arc<Mutex<HashMap<SocketAddr, TcpStream>>>;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))
        .unwrap_or_else(classroom::cannot_listen);
    classroom::announce(&listener, "cargo run -p chat-client --")?;
    println!("  run the client command above in two more terminals: type in one, watch the other");
    println!("  (Ctrl-C stops the server)");

    // The one and only list of clients. Each thread gets a clone of the
    // `Arc`: a second pointer to the same map, not a copy of it.
    let clients: Clients = Arc::new(Mutex::new(HashMap::new()));

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
                    clients.lock().unwrap().remove(&peer);
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
                // lives, the map is ours alone. (`unwrap`: the lock is only
                // "poisoned" if a thread panicked while holding it, and none
                // of ours do.)
                let mut room = clients.lock().unwrap();
                // The map needs a handle it owns. `try_clone` makes a second
                // handle to the same socket: other threads write through it
                // while this one reads.
                room.insert(peer, stream.try_clone()?);
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
                clients.lock().unwrap().remove(&peer);
                stream.write_all(b"DONE\n")?;
                return Ok(());
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

/// Writes `message` to every client in the room except `sender`.
///
/// This writes to the sockets while holding the lock, on purpose: it is the
/// simple way, and it works while every client reads promptly. But a client
/// that stops reading fills its socket buffer, `write_all` then blocks, and
/// the whole room waits behind the lock. Step 6 fixes that, and
/// `cargo xtask bench` compares the two.
fn broadcast(clients: &Clients, sender: SocketAddr, message: &[u8]) {
    let mut clients = clients.lock().unwrap();
    // `retain` visits every entry and keeps those for which we return true.
    // A client we cannot write to is dropped right here, under the lock we
    // already hold. (Locking again to remove it would deadlock: a `Mutex` is
    // not reentrant. The Python version of this lesson has exactly that bug.)
    clients.retain(|addr, stream| {
        if *addr == sender {
            return true;
        }
        match stream.write_all(message) {
            Ok(()) => true,
            Err(e) => {
                log!("cannot write to {addr} ({e}); dropping it");
                // Wake that client's own thread, blocked in `read`, so that it
                // ends and logs the disconnect.
                let _ = stream.shutdown(Shutdown::Both);
                false
            }
        }
    });
}
