//! The echo client against fake servers played by the test itself: a
//! listener on 127.0.0.1 port 0 in a thread, with a timeout on every read.

use std::net::TcpListener;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use testkit::Client;

const BIN: &str = env!("CARGO_BIN_EXE_echo-client");
/// No client run may take longer than this, whatever goes wrong.
const RUN_LIMIT: Duration = Duration::from_secs(20);

/// Starts a one-client fake server; `serve` plays the server's part.
fn fake_server<T: Send + 'static>(
    serve: impl FnOnce(Client) -> T + Send + 'static,
) -> (u16, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    let handle = thread::spawn(move || serve(testkit::accept(&listener)));
    (port, handle)
}

/// An echo server that sends each line back one byte per write, so the
/// client must collect an echo from several pieces. Returns the lines it got.
fn echo_in_pieces(mut client: Client) -> Vec<String> {
    let mut received = Vec::new();
    while let Some(line) = client.try_read_line() {
        for byte in line.bytes().chain([b'\n']) {
            client.send(&[byte]);
        }
        received.push(line);
    }
    received
}

fn echo_client(port: u16) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .timeout(RUN_LIMIT);
    command
}

#[test]
fn round_trip_through_stdin_and_stdout() {
    let (port, server) = fake_server(echo_in_pieces);
    echo_client(port)
        .write_stdin("hi\nhéllo wörld\n")
        .assert()
        .success()
        .stdout("hi\nhéllo wörld\n");
    // The server saw both lines, then the end of the stream.
    assert_eq!(server.join().unwrap(), ["hi", "héllo wörld"]);
}

#[test]
fn a_last_line_without_newline_is_sent_with_one() {
    let (port, server) = fake_server(echo_in_pieces);
    echo_client(port)
        .write_stdin("no newline")
        .assert()
        .success()
        .stdout("no newline\n")
        // End of input is the end of the conversation: the client says so.
        .stderr("end of input: connection closed. Goodbye!\n");
    assert_eq!(server.join().unwrap(), ["no newline"]);
}

#[test]
fn a_busy_server_gets_a_note_then_the_client_gives_up() {
    // Like step 1 serving someone else: the connection is accepted but the
    // line is never echoed.
    let (port, server) = fake_server(|mut client| {
        client.expect_line("anyone there?");
        client.expect_closed(); // the client hangs up after giving up
    });
    echo_client(port)
        .args(["--wait", "3"])
        .write_stdin("anyone there?\n")
        .assert()
        .failure()
        .stdout("")
        .stderr(
            predicate::str::contains(
                "no answer yet: is the server busy with another client? \
                 (step 1 serves one at a time)",
            )
            .and(predicate::str::contains("no echo within 3 s")),
        );
    server.join().unwrap();
}

#[test]
fn a_server_that_closes_early_is_reported() {
    let (port, server) = fake_server(|mut client| {
        client.expect_line("one");
        client.send(b"on"); // half an echo, then gone
    });
    echo_client(port)
        .write_stdin("one\ntwo\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "echo-client: the server closed the connection",
        ));
    server.join().unwrap();
}

#[test]
fn connection_refused_names_the_server_to_start() {
    // A port that was free a moment ago: nothing listens there now.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    echo_client(port)
        .write_stdin("hi\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "cannot connect to 127.0.0.1:{port}: no server is listening there. \
             Start one in another terminal: cargo run -p step1-blocking-echo -- --port {port}"
        )));
}

#[test]
fn help_lists_the_flags_and_defaults() {
    Command::new(BIN)
        .arg("--help")
        .timeout(RUN_LIMIT)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--host")
                .and(predicate::str::contains("--port"))
                .and(predicate::str::contains("--wait"))
                .and(predicate::str::contains("127.0.0.1"))
                .and(predicate::str::contains("65432")),
        );
}
