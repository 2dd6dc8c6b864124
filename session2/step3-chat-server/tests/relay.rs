//! Step 3 relays every chunk it reads to every other client, prefixed with
//! the sender's address, and nothing to the sender. It reads raw chunks
//! without framing, so two lines written together arrive under one prefix
//! and a line written in pieces arrives as several prefixed pieces.
//!
//! There are no join notices in this step, so a test knows a client is in
//! the room when the server logs `ADDRESS joined the room`.

use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use testkit::{Client, Server};

const BIN: &str = env!("CARGO_BIN_EXE_step3-chat-server");

const QUIET: Duration = Duration::from_millis(300);

/// Connects a client and waits until the server has put it in the room.
/// Returns the client and its address as the server sees it (the prefix).
fn enter(server: &Server) -> (Client, String) {
    let client = server.connect();
    let addr = client
        .stream()
        .local_addr()
        .expect("local address")
        .to_string();
    server.wait_for_output(&format!("{addr} joined the room"));
    (client, addr)
}

#[test]
fn a_message_reaches_everyone_but_the_sender_prefixed_with_its_address() {
    let server = Server::start(BIN, &[]);
    let (mut alice, alice_addr) = enter(&server);
    let (mut bob, bob_addr) = enter(&server);
    let (mut carol, _) = enter(&server);

    alice.send(b"hello\n");
    bob.expect_line(&format!("{alice_addr}: hello"));
    carol.expect_line(&format!("{alice_addr}: hello"));
    // The sender gets nothing back, and nobody got a notice of any kind.
    alice.expect_silence(QUIET);

    bob.send("ça va ?\n".as_bytes());
    alice.expect_line(&format!("{bob_addr}: ça va ?"));
    carol.expect_line(&format!("{bob_addr}: ça va ?"));
    bob.expect_silence(QUIET);
    carol.expect_silence(QUIET);
}

#[test]
fn bytes_are_relayed_unchanged() {
    let server = Server::start(BIN, &[]);
    let (mut alice, alice_addr) = enter(&server);
    let (mut bob, _) = enter(&server);

    // No newline, a carriage return, invalid UTF-8: relayed as they are.
    let raw = b"\r\xff\x00tab\there";
    alice.send(raw);
    let mut expected = format!("{alice_addr}: ").into_bytes();
    expected.extend_from_slice(raw);
    assert_eq!(bob.read_exact_bytes(expected.len()), expected);
}

#[test]
fn two_lines_in_one_write_arrive_under_one_prefix() {
    let server = Server::start(BIN, &[]);
    let (mut alice, alice_addr) = enter(&server);
    let (mut bob, _) = enter(&server);

    // One write, so one chunk for the server's `read`, so one prefix: the
    // second line reaches Bob without saying who sent it. The stream bug.
    alice.send(b"one\ntwo\n");
    bob.expect_line(&format!("{alice_addr}: one"));
    bob.expect_line("two");
    server.wait_for_output(&format!("{alice_addr} sent 8 bytes: \"one\\ntwo\\n\""));
}

#[test]
fn a_line_written_in_pieces_arrives_as_prefixed_pieces() {
    let server = Server::start(BIN, &[]);
    let (mut alice, alice_addr) = enter(&server);
    let (mut bob, _) = enter(&server);

    // Bob sees the first piece before Alice even sends the second: the
    // server relays each chunk as it comes, whole line or not.
    alice.send(b"hel");
    let first = format!("{alice_addr}: hel");
    assert_eq!(bob.read_exact_bytes(first.len()), first.as_bytes());
    alice.send(b"lo\n");
    bob.expect_line(&format!("{alice_addr}: lo"));
}

#[test]
fn a_client_that_leaves_is_removed_from_the_room() {
    let server = Server::start(BIN, &[]);
    let (mut alice, alice_addr) = enter(&server);
    let (bob, bob_addr) = enter(&server);
    drop(bob);
    server.wait_for_output(&format!("disconnected: {bob_addr}"));

    // Alice and Carol: two in the room, not three.
    let (mut carol, carol_addr) = enter(&server);
    assert!(
        server
            .output()
            .contains(&format!("{carol_addr} joined the room (2 connected)")),
        "Bob should have left the room:\n{}",
        server.output()
    );
    alice.send(b"who is here?\n");
    carol.expect_line(&format!("{alice_addr}: who is here?"));
    // Bob was taken out when he left, so the server never wrote to him.
    assert!(
        !server
            .output()
            .contains(&format!("cannot write to {bob_addr}")),
        "server still wrote to a departed client:\n{}",
        server.output()
    );
}

#[test]
fn a_reset_client_does_not_stop_the_room() {
    let server = Server::start(BIN, &[]);
    let (mut alice, alice_addr) = enter(&server);
    let (bob, bob_addr) = enter(&server);
    let (mut carol, _) = enter(&server);

    // Bob vanishes with a TCP reset while Alice keeps talking: whether the
    // server notices through Bob's `read` or through a failed write to him,
    // Carol keeps getting every message.
    bob.reset();
    for i in 0..5 {
        alice.send(format!("message {i}\n").as_bytes());
        carol.expect_line(&format!("{alice_addr}: message {i}"));
    }
    server.wait_for_output(&format!("disconnected: {bob_addr}"));
}

#[test]
fn logs_connect_message_and_disconnect() {
    let server = Server::start(BIN, &[]);
    let (mut alice, alice_addr) = enter(&server);
    alice.send(b"anyone?\n");
    server.wait_for_output(&format!("{alice_addr} sent 8 bytes: \"anyone?\\n\""));
    drop(alice);
    server.wait_for_output(&format!("disconnected: {alice_addr}"));
    assert!(
        server
            .output()
            .contains(&format!("connected: {alice_addr}"))
    );
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
