//! Step 1 serves one client at a time: the second client is accepted by the
//! kernel but gets no echo until the first one leaves.

use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use testkit::Server;

const BIN: &str = env!("CARGO_BIN_EXE_step1-blocking-echo");

#[test]
fn echoes_what_it_receives() {
    let server = Server::start(BIN, &[]);
    let mut client = server.connect();
    client.send(b"hello\n");
    client.expect_line("hello");
    client.send("héllo wörld\n".as_bytes());
    client.expect_line("héllo wörld");
}

#[test]
fn second_client_waits_until_the_first_leaves() {
    let server = Server::start(BIN, &[]);
    let mut first = server.connect();
    first.send(b"one\n");
    first.expect_line("one");

    // The kernel accepts the connection, but the server is busy with `first`.
    let mut second = server.connect();
    second.send(b"two\n");
    second.expect_silence(Duration::from_millis(300));

    // As soon as the first client leaves, the queued one is served, and the
    // line it sent while waiting is echoed.
    drop(first);
    second.expect_line("two");
}

#[test]
fn logs_connect_and_disconnect() {
    let server = Server::start(BIN, &[]);
    let mut client = server.connect();
    client.send(b"x\n");
    client.expect_line("x");
    drop(client);
    server.wait_for_output("disconnected: 127.0.0.1:");
    assert!(server.output().contains("connected: 127.0.0.1:"));
}

#[test]
fn help_shows_host_and_port_defaults() {
    Command::new(BIN)
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("--host").and(predicate::str::contains("65432")));
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
