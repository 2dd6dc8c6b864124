//! A wrong solution for the grader's tests (`tests/wrong_solutions.rs`):
//! the Python lesson's thread-per-client chat server, step for step in
//! Rust, with its bugs:
//!
//! * `broadcast` holds the clients' lock while it sends, and when a send
//!   fails it calls `remove_client`, which takes the same lock again. A
//!   `Mutex` is not reentrant (no more than Python's `threading.Lock`): the
//!   first failed send deadlocks the whole server.
//! * Empty lines are passed on as empty messages; only `EXIT` says goodbye
//!   (no `bye`, no `/quit`); the name line is whatever came first.
//!
//! The grader must tell each of these apart from a framing bug.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    #[arg(long, default_value_t = 65433)]
    port: u16,
}

/// `clients = []`: (id, connection, name), the id standing in for Python's
/// `conn is exclude_conn`.
type Clients = Arc<Mutex<Vec<(u64, TcpStream, String)>>>;

fn send_line(conn: &TcpStream, text: &str) -> bool {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(b'\n');
    (&*conn).write_all(&bytes).is_ok()
}

fn broadcast(clients: &Clients, text: &str, exclude: Option<u64>) {
    let guard = clients.lock().unwrap();
    for (id, conn, _) in guard.iter() {
        if Some(*id) == exclude {
            continue;
        }
        if !send_line(conn, text) {
            // The lesson's bug: the lock is still held here.
            remove_client(clients, *id);
        }
    }
}

fn remove_client(clients: &Clients, id: u64) {
    let mut guard = clients.lock().unwrap();
    if let Some(index) = guard.iter().position(|(i, _, _)| *i == id) {
        let (_, conn, _) = guard.remove(index);
        let _ = conn.shutdown(std::net::Shutdown::Both);
    }
}

/// Reads once; returns the complete lines (`None` at EOF or on an error).
fn recv_lines(conn: &TcpStream, buffer: &mut Vec<u8>) -> Option<Vec<String>> {
    let mut data = [0u8; 1024];
    let n = match (&*conn).read(&mut data) {
        Ok(0) | Err(_) => return None,
        Ok(n) => n,
    };
    buffer.extend_from_slice(&data[..n]);
    let mut lines = Vec::new();
    while let Some(index) = buffer.iter().position(|&b| b == b'\n') {
        let raw: Vec<u8> = buffer.drain(..=index).collect();
        let line = String::from_utf8_lossy(&raw[..index]).into_owned();
        lines.push(line.trim_end_matches('\r').to_string());
    }
    Some(lines)
}

fn handle_client(conn: TcpStream, addr: SocketAddr, id: u64, clients: Clients) {
    let mut buffer = Vec::new();
    let mut lines = Vec::new();
    while lines.is_empty() {
        match recv_lines(&conn, &mut buffer) {
            Some(got) => lines = got,
            None => return,
        }
    }
    let name = match lines[0].trim() {
        "" => addr.to_string(),
        name => name.to_string(),
    };
    let Ok(handle) = conn.try_clone() else {
        return;
    };
    clients.lock().unwrap().push((id, handle, name.clone()));
    println!("{name} joined from {addr}");
    broadcast(
        &clients,
        &format!("SERVER: {name} has joined the chat."),
        Some(id),
    );
    'serving: while let Some(lines) = recv_lines(&conn, &mut buffer) {
        for line in lines {
            if line.trim().to_uppercase() == "EXIT" {
                send_line(&conn, "DONE");
                break 'serving;
            }
            let text = format!("{name}: {line}");
            println!("{text}");
            broadcast(&clients, &text, Some(id));
        }
    }
    remove_client(&clients, id);
    broadcast(
        &clients,
        &format!("SERVER: {name} has left the chat."),
        None,
    );
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind((args.host.as_str(), args.port))?;
    classroom::announce(&listener, "cargo run -p chat-client --")?;
    let clients: Clients = Arc::default();
    let next_id = AtomicU64::new(0);
    for connection in listener.incoming() {
        let Ok(conn) = connection else { continue };
        let Ok(addr) = conn.peer_addr() else { continue };
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let clients = Arc::clone(&clients);
        thread::spawn(move || handle_client(conn, addr, id, clients));
    }
    Ok(())
}
