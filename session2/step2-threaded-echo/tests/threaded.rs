//! Step 2 serves every client at once: a second client is echoed while the
//! first is still connected, where step 1 made it wait.

use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use testkit::Server;

const BIN: &str = env!("CARGO_BIN_EXE_step2-threaded-echo");

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
fn second_client_is_served_while_the_first_is_still_connected() {
    let server = Server::start(BIN, &[]);
    let mut first = server.connect();
    first.send(b"one\n");
    first.expect_line("one");

    // Step 1 left this client waiting in the kernel's queue; step 2 answers.
    let mut second = server.connect();
    second.send(b"two\n");
    second.expect_line("two");

    // And the first client was not forgotten meanwhile.
    first.send(b"one again\n");
    first.expect_line("one again");
}

#[test]
fn three_clients_at_once_each_get_their_own_echoes() {
    let server = Server::start(BIN, &[]);
    let mut clients = [server.connect(), server.connect(), server.connect()];

    // Interleave the clients, round after round: each must get exactly its
    // own bytes back, never a neighbour's.
    for round in 0..3 {
        for (i, client) in clients.iter_mut().enumerate() {
            client.send(format!("client {i} round {round}\n").as_bytes());
        }
        for (i, client) in clients.iter_mut().enumerate() {
            client.expect_line(&format!("client {i} round {round}"));
        }
    }
    for client in &mut clients {
        client.expect_silence(Duration::from_millis(100));
    }
}

#[test]
fn one_client_leaving_does_not_disturb_the_others() {
    let server = Server::start(BIN, &[]);
    let mut staying = server.connect();
    let leaving = server.connect();
    leaving.reset();
    let mut newcomer = server.connect();
    staying.send(b"still here\n");
    staying.expect_line("still here");
    newcomer.send(b"hi\n");
    newcomer.expect_line("hi");
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
