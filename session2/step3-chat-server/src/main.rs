//! # Step 3: a chat server (raw relay)
//!
//! **New in this step:** shared state. Every client thread needs to write to
//! every *other* client, so the threads share one list of connected clients:
//! a `HashMap` from each client's address to its socket, inside a `Mutex` (one
//! thread at a time may touch it) inside an `Arc` (each thread holds a
//! reference-counted pointer to the same map). A client is added when it
//! connects and removed when it leaves. Whatever one client sends, the server
//! passes on to all the others as `ADDRESS: bytes`, and nothing goes back to
//! the sender.
//!
//! **Try it** (three terminals, or three laptops):
//!
//! ```text
//! terminal 1:  cargo run -p step3-chat-server
//! terminal 2:  cargo run -p chat-client           (type a line)
//! terminal 3:  cargo run -p chat-client           (read it here, prefixed with the sender's address)
//! ```
//!
//! A classmate can join from their laptop with the `--host` line the server
//! prints. Step 3 knows nothing about nicknames yet: if your client sends one
//! first, the others see it as an ordinary message.
//!
//! **Observe:** the server log shows every chunk one `read` returned, as
//! `127.0.0.1:50412 sent 6 bytes: "hello\n"`. Typed by hand, one chunk is one
//! line, so all looks well. But TCP carries a stream of bytes, not messages:
//! two lines written at once arrive as one chunk under one prefix, and a line
//! written in pieces arrives as several prefixed pieces. Try it with netcat
//! if you have it (`printf 'one\ntwo\n' | nc 127.0.0.1 65433`), watch carol
//! do it in `cargo xtask demo 3 --script` (on every system), or read the
//! tests that prove it (`cargo test -p step3-chat-server`). Step 4 fixes this
//! with newline framing.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::Context;
use clap::Parser;
use classroom::log;

/// A chat server: whatever one client sends goes to all the others.
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

/// Everyone in the room: each client's address (its name, in this step) and
/// a handle to its socket that any thread can write to.
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
                    if let Err(e) = relay(stream, peer, &clients) {
                        log!("error with {peer}: {e}");
                    }
                    // However the conversation ended, this client is gone:
                    // take it out of the room so nobody writes to it again.
                    clients.lock().unwrap().remove(&peer);
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

/// Puts the client in the room, then passes on whatever it sends to everyone
/// else, until it closes.
fn relay(mut stream: TcpStream, peer: SocketAddr, clients: &Clients) -> std::io::Result<()> {
    // `lock()` waits for our turn and returns a guard: while it lives, the
    // map is ours alone. (`unwrap`: the lock is only "poisoned" if a thread
    // panicked while holding it, and none of ours do.)
    let mut room = clients.lock().unwrap();
    // The map needs a handle it owns. `try_clone` makes a second handle to the
    // same socket: other threads write through it while this one reads.
    room.insert(peer, stream.try_clone()?);
    log!("{peer} joined the room ({} connected)", room.len());
    // Dropping the guard unlocks the mutex. Holding it while we wait in
    // `read` below would freeze every other thread that wants the map.
    drop(room);

    let mut buffer = [0u8; 1024];
    loop {
        // `read` blocks until at least one byte arrives. It returns 0 when
        // the client has closed its side: the end of the stream.
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        log!(
            "{peer} sent {n} bytes: {:?}",
            String::from_utf8_lossy(&buffer[..n])
        );
        // The chunk goes out exactly as it came in, whatever it holds: a
        // line, half a line, or three lines. `read` knows nothing of lines.
        let mut message = format!("{peer}: ").into_bytes();
        message.extend_from_slice(&buffer[..n]);
        broadcast(clients, peer, &message);
    }
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
