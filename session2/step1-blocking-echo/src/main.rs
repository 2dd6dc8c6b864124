//! # Step 1: a blocking echo server
//!
//! **New in this step:** the four calls every TCP server makes. `bind` claims
//! a port, `listen` (done for us by `TcpListener::bind`) tells the kernel to
//! queue incoming connections, `accept` takes the next one off that queue, and
//! then we `read` bytes and `write` them straight back.
//!
//! **Try it** (three terminals):
//!
//! ```text
//! terminal 1:  cargo run -p step1-blocking-echo
//! terminal 2:  cargo run -p echo-client            (type a line, see it back)
//! terminal 3:  cargo run -p echo-client            (type a line... nothing!)
//! ```
//!
//! **Observe:** the second client connects (the kernel completes the TCP
//! handshake and queues it) but gets no echo until the first client quits.
//! The server is stuck inside `read` for client one, so it never gets back to
//! `accept`. That is the blocking problem; step 2 fixes it with threads.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use anyhow::Context;
use clap::Parser;
use classroom::log;

/// A blocking echo server: one client at a time.
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
    // arrives; while we are busy below, new clients wait in the kernel's queue.
    for connection in listener.incoming() {
        match connection {
            Ok(stream) => {
                let peer = stream.peer_addr().ok();
                log!("connected: {}", show(peer));
                // Serve this client until it leaves. Nothing else runs meanwhile.
                if let Err(e) = echo(stream) {
                    log!("error with {}: {e}", show(peer));
                }
                log!("disconnected: {}", show(peer));
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
