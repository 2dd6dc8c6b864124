//! # Exercise 2: one thread per client
//!
//! Goal: serve every client at once. This is the blocking echo server of
//! exercise 1: it works, but while it serves one client, a second one gets
//! no echo at all; it waits until the first leaves. Give each client a thread
//! of its own, so the main loop goes straight back to `accept`.
//!
//! Fill in the TODOs (read README.md for what the grader tries, and hints),
//! then check your work:
//!
//! ```text
//! cargo xtask check exercise2
//! ```
//!
//! Try it by hand: `cargo run -p exercise2` in one terminal and
//! `cargo run -p echo-client` in two others.

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
    // arrives.
    for connection in listener.incoming() {
        match connection {
            Ok(stream) => {
                let peer = stream.peer_addr().ok();
                log!("connected: {}", show(peer));
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
