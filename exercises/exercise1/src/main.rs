//! # Exercise 1: the blocking echo server
//!
//! Goal: every byte a client sends comes straight back to it. One client at a
//! time is fine (that is the point of this step).
//!
//! The server below already binds, prints its `listening on` line and accepts
//! connections, but it hangs up on every client after its first read. Fill
//! in the TODOs in `echo`, then check your work:
//!
//! ```text
//! cargo xtask check exercise1
//! ```
//!
//! Try it by hand: `cargo run -p exercise1` in one terminal and
//! `cargo run -p echo-client` in another.

// TODO: `write_all` comes from the `Write` trait: import it here too.
use std::io::Read;
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

    for connection in listener.incoming() {
        match connection {
            Ok(stream) => {
                let peer = stream.peer_addr().ok();
                log!("connected: {}", show(peer));
                if let Err(e) = echo(stream) {
                    log!("error with {}: {e}", show(peer));
                }
                log!("disconnected: {}", show(peer));
            }
            Err(e) => log!("accept failed: {e}"),
        }
    }
    Ok(())
}

/// Reads whatever arrives and writes it back, until the client closes.
fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buffer = [0u8; 1024];
    // TODO: do this in a loop. A read of 0 bytes means the client closed its
    // side: return Ok(()). Otherwise write `buffer[..n]` back with
    // `write_all`, which keeps writing until every byte is sent.
    let n = stream.read(&mut buffer)?;
    log!("received {n} bytes and sent nothing back");
    Ok(())
}

fn show(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "unknown peer".to_string(), |p| p.to_string())
}
