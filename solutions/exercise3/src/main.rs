//! # Exercise 3: a chat room (shared state and broadcast)
//!
//! Goal: whatever one client sends reaches every *other* client, prefixed
//! with the sender's address: `127.0.0.1:50412: hello`. Nothing goes back to
//! the sender. To do that, the client threads share one map of everyone in
//! the room, `Arc<Mutex<HashMap<SocketAddr, TcpStream>>>`; it is already
//! created and handed to every thread. Nobody is ever put in it, taken out of
//! it, or sent anything yet: that is your job.
//!
//! Fill in the TODOs (read README.md for what the grader tries, and hints),
//! then check your work:
//!
//! ```text
//! cargo xtask check exercise3
//! ```
//!
//! Try it by hand: `cargo run -p exercise3` in one terminal and
//! `cargo run -p chat-client` in two others.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
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
    // arrives; clients are served on their own threads.
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
                // `move` hands the closure ownership of `stream`, `peer` and
                // this clone of `clients`.
                thread::spawn(move || {
                    if let Err(e) = relay(stream, peer, &clients) {
                        log!("error with {peer}: {e}");
                    }
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
fn broadcast(clients: &Clients, sender: SocketAddr, message: &[u8]) {
    let mut clients = clients.lock().unwrap();
    // `retain` keeps the entries for which the closure returns true, so a
    // client we cannot write to is dropped right here, under the lock we
    // already hold. (Locking again to remove it would deadlock.)
    clients.retain(|addr, stream| {
        if *addr == sender {
            return true;
        }
        match stream.write_all(message) {
            Ok(()) => true,
            Err(e) => {
                log!("cannot write to {addr} ({e}); dropping it");
                let _ = stream.shutdown(std::net::Shutdown::Both);
                false
            }
        }
    });
}
