//! # Step 2: a threaded echo server
//!
//! **New in this step:** one thread per client. As soon as `accept` hands us a
//! connection, `thread::spawn` starts a new thread to serve it, and the main
//! thread goes straight back to `accept`. The echo code itself is step 1's,
//! unchanged: each thread still blocks in `read`, but a blocked thread only
//! holds up its own client.
//!
//! **Try it** (three terminals):
//!
//! ```text
//! terminal 1:  cargo run -p step2-threaded-echo
//! terminal 2:  cargo run -p echo-client            (type a line, see it back)
//! terminal 3:  cargo run -p echo-client            (type a line, see it back too!)
//! ```
//!
//! **Observe:** both clients get their echoes at once, in any order you type.
//! The server's log interleaves them: `connected` for the second client
//! appears while the first is still connected. Compare with step 1, where the
//! second client waited. Each client is alone, though: nobody sees what the
//! others type. Step 3 lets the threads share a list of clients and turns the
//! echo into a chat.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

use anyhow::Context;
use clap::Parser;
use classroom::log;

/// A threaded echo server: every client at once, one thread each.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; 0.0.0.0 lets classmates connect.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Port to listen on; 0 lets the system pick a free one.
    #[arg(long, default_value_t = 65432)]
    port: u16,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))
        .unwrap_or_else(classroom::cannot_listen);
    classroom::announce(&listener, "cargo run -p echo-client --")?;

    // `incoming()` calls `accept` in a loop. Each call blocks until a client
    // arrives; now that clients are served elsewhere, we get back here at once.
    for connection in listener.incoming() {
        match connection {
            Ok(stream) => {
                let peer = stream.peer_addr().ok();
                log!("connected: {}", show(peer));
                // Serve this client on a thread of its own. `move` hands the
                // closure ownership of `stream` (and a copy of `peer`): the
                // thread may outlive this loop iteration, so it cannot borrow
                // anything from it. We do not keep the thread's handle; it
                // ends by itself when its client leaves.
                thread::spawn(move || {
                    if let Err(e) = echo(stream) {
                        log!("error with {}: {e}", show(peer));
                    }
                    log!("disconnected: {}", show(peer));
                });
            }
            // One failed accept (say, a client that gave up during the
            // handshake) must not stop the server.
            Err(e) => log!("accept failed: {e}"),
        }
    }
    Ok(())
}

/// Reads whatever arrives and writes it back, until the client closes.
fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buffer = [0u8; 1024];
    loop {
        // `read` blocks until at least one byte arrives. It returns 0 when
        // the client has closed its side: the end of the stream.
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        log!(
            "echo {n} bytes: {:?}",
            String::from_utf8_lossy(&buffer[..n])
        );
        // `write_all` loops until every byte is handed to the kernel.
        stream.write_all(&buffer[..n])?;
    }
}

fn show(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "unknown peer".to_string(), |p| p.to_string())
}
