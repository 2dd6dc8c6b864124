//! Step 9 still speaks the line protocol of `session2/PROTOCOL.md` ("Steps 4–6"):
//! these are step 4's tests, unchanged (commands: `commands.rs`; the rest: `hardening.rs`).
//!
//! Tests wait on notices, not on the clock: when Alice reads
//! `SERVER: bob has joined the chat.`, Bob is in the room.

use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use testkit::{Client, Server};

const BIN: &str = env!("CARGO_BIN_EXE_step9-async");

const QUIET: Duration = Duration::from_millis(300);

/// Joins every name in turn. The first is known to be in the room from the
/// server's log; each later one from the join notice that everyone already
/// there reads.
fn room(server: &Server, names: &[&str]) -> Vec<Client> {
    let mut clients: Vec<Client> = Vec::new();
    for name in names {
        let newcomer = server.join(name);
        if clients.is_empty() {
            server.wait_for_output(&format!(" joined as {name} ("));
        }
        for client in &mut clients {
            client.expect_line(&format!("SERVER: {name} has joined the chat."));
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

    let carol = server.join("carol");
    alice.expect_line("SERVER: carol has joined the chat.");
    bob.expect_line("SERVER: carol has joined the chat.");
    drop(carol);
    alice.expect_line("SERVER: carol has left the chat.");
    bob.expect_line("SERVER: carol has left the chat.");
    alice.expect_silence(QUIET);
    bob.expect_silence(QUIET);
}

#[test]
fn a_message_reaches_everyone_but_the_sender() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob", "carol"]);
    let [alice, bob, carol] = &mut clients[..] else {
        unreachable!()
    };
    alice.send_line("hello, room");
    bob.expect_line("alice: hello, room");
    carol.expect_line("alice: hello, room");
    alice.expect_silence(QUIET);

    carol.send_line("hi alice");
    alice.expect_line("carol: hi alice");
    bob.expect_line("carol: hi alice");
    carol.expect_silence(QUIET);
}

#[test]
fn three_lines_in_one_write_are_three_messages() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    alice.send(b"one\ntwo\nthree\n");
    bob.expect_line("alice: one");
    bob.expect_line("alice: two");
    bob.expect_line("alice: three");
    bob.expect_silence(QUIET);
}

#[test]
fn one_line_written_a_byte_at_a_time_is_one_message() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    for &byte in "byte by byte, with é\n".as_bytes() {
        alice.send(&[byte]);
    }
    bob.expect_line("alice: byte by byte, with é");
    bob.expect_silence(QUIET);
}

#[test]
fn the_nickname_and_the_first_message_may_share_a_write() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice"]);
    let alice = &mut clients[0];
    let mut bob = server.connect();
    bob.send(b"bob\nhi alice\n");
    alice.expect_line("SERVER: bob has joined the chat.");
    alice.expect_line("bob: hi alice");
}

#[test]
fn the_nickname_is_the_first_non_empty_line_trimmed() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice"]);
    let alice = &mut clients[0];
    let mut bob = server.connect();
    bob.send(b"\n\r\n  bob  \r\n");
    alice.expect_line("SERVER: bob has joined the chat.");
    bob.send_line("hi");
    alice.expect_line("bob: hi");
}

#[test]
fn crlf_line_endings_lose_the_cr() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    alice.send(b"from windows\r\n");
    // Read raw bytes: `expect_line` would hide a stray `\r`.
    let expected = b"alice: from windows\n";
    assert_eq!(bob.read_exact_bytes(expected.len()), expected);
}

#[test]
fn empty_lines_are_ignored() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    alice.send(b"\n\r\n   \nafter the blanks\n");
    bob.expect_line("alice: after the blanks");
    bob.expect_silence(QUIET);
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    alice.send(b"caf\xff\xfe!\n");
    bob.expect_line("alice: caf\u{FFFD}\u{FFFD}!");
    alice.send_line("still connected");
    bob.expect_line("alice: still connected");
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
        let mut guest = server.join(&name);
        watcher.expect_line(&format!("SERVER: {name} has joined the chat."));
        guest.send_line(goodbye);
        guest.expect_line("DONE");
        guest.expect_closed();
        watcher.expect_line(&format!("SERVER: {name} has left the chat."));
    }
    // Each guest was announced leaving once, and its goodbye was never
    // broadcast as a message.
    watcher.expect_silence(QUIET);
}

#[test]
fn lines_after_a_goodbye_are_not_sent() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    alice.send(b"see you\nbye\ntoo late\n");
    bob.expect_line("alice: see you");
    alice.expect_line("DONE");
    bob.expect_line("SERVER: alice has left the chat.");
    bob.expect_silence(QUIET);
}

#[test]
fn a_client_that_closes_is_announced_leaving_exactly_once() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob", "carol"]);
    let mut carol = clients.pop().unwrap();
    // Half a line at the close never became a message.
    carol.send(b"no newline, so never sent");
    drop(carol);
    for client in &mut clients {
        client.expect_line("SERVER: carol has left the chat.");
    }
    for client in &mut clients {
        client.expect_silence(QUIET);
    }
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

    // Four clients vanish with a TCP reset while Alice keeps talking. The
    // server notices each one through its own `read` or through a failed
    // write in `broadcast` (with four of them, at least one write fails in
    // practice), whichever comes first. Either way Carol gets every message
    // in order, hears of each ghost leaving exactly once, and nothing
    // deadlocks.
    for ghost in gone {
        ghost.reset();
    }
    for i in 0..5 {
        alice.send_line(&format!("message {i}"));
    }
    let mut received: Vec<String> = (0..5 + ghosts.len()).map(|_| carol.read_line()).collect();
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
    alice.send_line("hello");
    bob.expect_line("alice: hello");
    lurker.expect_silence(QUIET);
    drop(lurker);
    server.wait_for_output("disconnected: ");
    bob.send_line("still two of us");
    alice.expect_line("bob: still two of us");
    alice.expect_silence(QUIET);
}

#[test]
fn logs_connect_message_and_disconnect() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    clients[0].send_line("for the log");
    clients[1].expect_line("alice: for the log");
    server.wait_for_output("alice: \"for the log\"");
    drop(clients);
    server.wait_for_output("disconnected: 127.0.0.1:");
    assert!(server.output().contains("connected: 127.0.0.1:"));
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
