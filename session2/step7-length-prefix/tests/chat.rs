//! Step 7 speaks the chat of `session2/PROTOCOL.md` over length-prefixed
//! frames ("Step 7"): step 6's chat tests with every message a frame, and the
//! cases that only frames have (a header split across writes, a newline
//! inside a payload, a Python client). Commands: `commands.rs`; limits and
//! hostile clients: `hardening.rs`.
//!
//! Tests wait on notices, not on the clock: when Alice reads
//! `SERVER: bob has joined the chat.`, Bob is in the room.

use std::process::{Command as Process, Stdio};
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use testkit::{Client, Server};

const BIN: &str = env!("CARGO_BIN_EXE_step7-length-prefix");

const QUIET: Duration = Duration::from_millis(300);

/// One frame's bytes: the payload's length in 4 big-endian bytes, then it.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut bytes = u32::try_from(payload.len()).unwrap().to_be_bytes().to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// Connects and sends `name` as the first frame.
fn join(server: &Server, name: &str) -> Client {
    let mut client = server.connect();
    client.send_frame(name.as_bytes());
    client
}

/// Joins every name in turn. The first is known to be in the room from the
/// server's log; each later one from the join notice that everyone already
/// there reads.
fn room(server: &Server, names: &[&str]) -> Vec<Client> {
    let mut clients: Vec<Client> = Vec::new();
    for name in names {
        let newcomer = join(server, name);
        if clients.is_empty() {
            server.wait_for_output(&format!(" joined as {name} ("));
        }
        for client in &mut clients {
            client.expect_frame(&format!("SERVER: {name} has joined the chat."));
        }
        clients.push(newcomer);
    }
    clients
}

#[test]
fn others_hear_who_joins_and_who_leaves_and_the_newcomer_hears_nothing() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    bob.expect_silence(QUIET);

    let carol = join(&server, "carol");
    alice.expect_frame("SERVER: carol has joined the chat.");
    bob.expect_frame("SERVER: carol has joined the chat.");
    drop(carol);
    alice.expect_frame("SERVER: carol has left the chat.");
    bob.expect_frame("SERVER: carol has left the chat.");
    alice.expect_silence(QUIET);
    bob.expect_silence(QUIET);
}

#[test]
fn a_message_reaches_everyone_but_the_sender_as_a_frame() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob", "carol"]);
    let [alice, bob, carol] = &mut clients[..] else {
        unreachable!()
    };
    alice.send_frame(b"hello, room");
    // Byte exact: a 4-byte big-endian length, then the text, no newline.
    let expected = frame(b"alice: hello, room");
    assert_eq!(bob.read_exact_bytes(expected.len()), expected);
    carol.expect_frame("alice: hello, room");
    alice.expect_silence(QUIET);

    carol.send_frame(b"hi alice");
    alice.expect_frame("carol: hi alice");
    bob.expect_frame("carol: hi alice");
    carol.expect_silence(QUIET);
}

#[test]
fn three_frames_in_one_write_are_three_messages() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    let mut bytes = frame(b"one");
    bytes.extend(frame(b"two"));
    bytes.extend(frame(b"three"));
    alice.send(&bytes);
    bob.expect_frame("alice: one");
    bob.expect_frame("alice: two");
    bob.expect_frame("alice: three");
    bob.expect_silence(QUIET);
}

#[test]
fn a_frame_written_a_byte_at_a_time_is_one_message() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    for &byte in &frame("byte by byte, with é".as_bytes()) {
        alice.send(&[byte]);
    }
    bob.expect_frame("alice: byte by byte, with é");
    bob.expect_silence(QUIET);
}

#[test]
fn a_header_split_across_writes_is_put_back_together() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    let bytes = frame(b"split header");
    // Half a header, the other half with half the payload, then the rest;
    // then one with a whole header and no payload yet.
    alice.send(&bytes[..2]);
    bob.expect_silence(Duration::from_millis(100));
    alice.send(&bytes[2..9]);
    bob.expect_silence(Duration::from_millis(100));
    alice.send(&bytes[9..]);
    bob.expect_frame("alice: split header");
    let bytes = frame(b"payload later");
    alice.send(&bytes[..4]);
    bob.expect_silence(Duration::from_millis(100));
    alice.send(&bytes[4..]);
    bob.expect_frame("alice: payload later");
    bob.expect_silence(QUIET);
}

#[test]
fn the_nickname_and_the_first_message_may_share_a_write() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice"]);
    let alice = &mut clients[0];
    let mut bob = server.connect();
    let mut bytes = frame(b"bob");
    bytes.extend(frame(b"hi alice"));
    bob.send(&bytes);
    alice.expect_frame("SERVER: bob has joined the chat.");
    alice.expect_frame("bob: hi alice");
}

#[test]
fn the_nickname_is_the_first_non_empty_frame_trimmed() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice"]);
    let alice = &mut clients[0];
    let mut bob = server.connect();
    let mut bytes = frame(b"");
    bytes.extend(frame(b""));
    bytes.extend(frame(b"  bob  "));
    bob.send(&bytes);
    alice.expect_frame("SERVER: bob has joined the chat.");
    bob.send_frame(b"hi");
    alice.expect_frame("bob: hi");
}

#[test]
fn zero_length_frames_are_ignored() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    let mut bytes = frame(b"");
    bytes.extend(frame(b"between the empties"));
    bytes.extend(frame(b""));
    bytes.extend(frame(b"   "));
    alice.send(&bytes);
    bob.expect_frame("alice: between the empties");
    bob.expect_silence(QUIET);
    alice.expect_silence(QUIET);
}

/// The binary-safety test: a `\n` inside a payload does not end the message
/// (with lines it would have made two), and neither do NUL or `\r`: the
/// payload is relayed as it came.
#[test]
fn a_payload_with_a_newline_inside_is_one_message() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    alice.send_frame(b"line one\nline two");
    bob.expect_frame("alice: line one\nline two");
    alice.send_frame(b"nul\0inside, and a tab\there\r\n");
    bob.expect_frame("alice: nul\0inside, and a tab\there\r\n");
    bob.expect_silence(QUIET);
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    alice.send_frame(b"caf\xff\xfe!");
    bob.expect_frame("alice: caf\u{FFFD}\u{FFFD}!");
    alice.send_frame(b"still connected");
    bob.expect_frame("alice: still connected");
}

#[test]
fn every_goodbye_gets_done_then_a_close_and_one_leave_notice() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["watcher"]);
    let watcher = &mut clients[0];
    for (i, goodbye) in ["EXIT", "exit", "Exit", "bye", "BYE", "Bye", "/quit"]
        .iter()
        .enumerate()
    {
        let name = format!("guest{i}");
        let mut guest = join(&server, &name);
        watcher.expect_frame(&format!("SERVER: {name} has joined the chat."));
        guest.send_frame(goodbye.as_bytes());
        let expected = frame(b"DONE");
        assert_eq!(guest.read_exact_bytes(expected.len()), expected);
        guest.expect_closed();
        watcher.expect_frame(&format!("SERVER: {name} has left the chat."));
    }
    // Each guest was announced leaving once, and its goodbye was never
    // broadcast as a message.
    watcher.expect_silence(QUIET);
}

#[test]
fn frames_after_a_goodbye_are_not_sent() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    let mut bytes = frame(b"see you");
    bytes.extend(frame(b"bye"));
    bytes.extend(frame(b"too late"));
    alice.send(&bytes);
    bob.expect_frame("alice: see you");
    alice.expect_frame("DONE");
    bob.expect_frame("SERVER: alice has left the chat.");
    bob.expect_silence(QUIET);
}

#[test]
fn reset_clients_are_announced_once_and_the_room_goes_on() {
    let server = Server::start(BIN, &[]);
    let ghosts = ["ghost1", "ghost2", "ghost3", "ghost4"];
    let mut names = vec!["alice", "carol"];
    names.extend(ghosts);
    let mut clients = room(&server, &names);
    let gone: Vec<Client> = clients.drain(2..).collect();
    let [alice, carol] = &mut clients[..] else {
        unreachable!()
    };
    // Four clients vanish with a TCP reset while Alice keeps talking: Carol
    // gets every message in order and hears of each ghost leaving once.
    for ghost in gone {
        ghost.reset();
    }
    for i in 0..5 {
        alice.send_frame(format!("message {i}").as_bytes());
    }
    let mut received: Vec<String> = (0..5 + ghosts.len())
        .map(|_| String::from_utf8(carol.read_frame()).expect("UTF-8"))
        .collect();
    for ghost in ghosts {
        let notice = format!("SERVER: {ghost} has left the chat.");
        let count = received.iter().filter(|l| **l == notice).count();
        assert_eq!(count, 1, "{notice:?} should come once: {received:?}");
    }
    received.retain(|l| !l.starts_with("SERVER: "));
    let expected: Vec<String> = (0..5).map(|i| format!("alice: message {i}")).collect();
    assert_eq!(received, expected);
    carol.expect_silence(QUIET);
}

#[test]
fn a_client_without_a_name_hears_nothing_and_is_never_announced() {
    let server = Server::start(BIN, &[]);
    let mut lurker = server.connect();
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    alice.send_frame(b"hello");
    bob.expect_frame("alice: hello");
    lurker.expect_silence(QUIET);
    drop(lurker);
    server.wait_for_output("disconnected: ");
    bob.send_frame(b"still two of us");
    alice.expect_frame("bob: still two of us");
    alice.expect_silence(QUIET);
}

#[test]
fn logs_connect_message_and_disconnect() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    clients[0].send_frame(b"for the log");
    clients[1].expect_frame("alice: for the log");
    server.wait_for_output("alice: \"for the log\"");
    drop(clients);
    server.wait_for_output("disconnected: 127.0.0.1:");
    assert!(server.output().contains("connected: 127.0.0.1:"));
}

/// The Python lesson's way to send a frame, `struct.pack('!I', len(b)) + b`,
/// interoperates: a Python client joins and talks, a Rust client listens.
#[test]
fn a_python_client_using_struct_pack_interoperates() {
    let python = Process::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !python.is_ok_and(|status| status.success()) {
        eprintln!("note: python3 is not on PATH; skipping the Python interoperability test");
        return;
    }
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice"]);
    let alice = &mut clients[0];
    // The script joins, says two things (one with a newline inside), reads
    // alice's answer frame by frame, checks it, and says goodbye.
    let script = r#"
import socket, struct, sys

def send(s, text):
    b = text.encode()
    s.sendall(struct.pack('!I', len(b)) + b)

def recv_exact(s, n):
    data = b''
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise SystemExit('closed after %d of %d bytes' % (len(data), n))
        data += chunk
    return data

def recv(s):
    (length,) = struct.unpack('!I', recv_exact(s, 4))
    return recv_exact(s, length).decode()

s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
send(s, 'py')
send(s, 'hello from python')
send(s, 'two\nlines')
answer = recv(s)
if answer != 'alice: hi python, ünïcödé':
    raise SystemExit('unexpected answer %r' % answer)
send(s, 'bye')
done = recv(s)
if done != 'DONE':
    raise SystemExit('unexpected goodbye %r' % done)
print('python client ok')
"#;
    let child = Process::new("python3")
        .args(["-c", script, &server.addr.port().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    // Killed if the test fails before it ends by itself.
    let child = KillOnDrop(Some(child));
    alice.expect_frame("SERVER: py has joined the chat.");
    alice.expect_frame("py: hello from python");
    alice.expect_frame("py: two\nlines");
    alice.send_frame("hi python, ünïcödé".as_bytes());
    alice.expect_frame("SERVER: py has left the chat.");
    let output = child.wait_with_output();
    assert!(
        output.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "python client ok\n"
    );
    alice.expect_silence(QUIET);
}

/// A child process that is killed if the test panics before waiting on it.
struct KillOnDrop(Option<std::process::Child>);

impl KillOnDrop {
    fn wait_with_output(mut self) -> std::process::Output {
        let child = self.0.take().expect("not waited on yet");
        child.wait_with_output().expect("wait for python")
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn help_shows_host_and_port_defaults() {
    Command::new(BIN)
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("--host").and(predicate::str::contains("65433")));
}

#[test]
fn port_in_use_is_a_clear_error() {
    let server = Server::start(BIN, &[]);
    Command::new(BIN)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &server.addr.port().to_string(),
        ])
        .timeout(Duration::from_secs(10))
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot listen on 127.0.0.1"));
}
