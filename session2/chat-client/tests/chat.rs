//! The chat client against fake servers played by the test itself: a
//! listener on 127.0.0.1 port 0 in a thread, with a timeout on every read.
//!
//! Runs whose whole input is known use `assert_cmd` (input written, then
//! closed). Runs that must keep the keyboard open while the server talks,
//! which is the reason the client has a reader thread, use [`Running`].

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, Command as StdCommand, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use testkit::{Client, TIMEOUT};

const BIN: &str = env!("CARGO_BIN_EXE_chat-client");
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

/// The client with its input written in advance and then closed.
fn chat_client(port: u16, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(extra)
        .timeout(RUN_LIMIT);
    command
}

/// The client with its keyboard held open, as when a person sits at it.
/// Killed on drop, also when the test panics.
struct Running {
    child: Child,
    keyboard: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    fn start(port: u16, extra: &[&str]) -> Running {
        let mut child = StdCommand::new(BIN)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chat-client");
        let (lines, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let log = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Running {
            keyboard: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    /// Types one line, as a person pressing Enter.
    fn type_line(&mut self, line: &str) {
        let keyboard = self.keyboard.as_mut().expect("keyboard open");
        writeln!(keyboard, "{line}").expect("type into the client");
        keyboard.flush().unwrap();
    }

    /// Asserts the next line the client prints is `expected`.
    fn expect_printed(&self, expected: &str) {
        match self.stdout.recv_timeout(TIMEOUT) {
            Ok(line) => assert_eq!(line, expected, "unexpected line printed by the client"),
            Err(_) => panic!(
                "the client printed nothing within {TIMEOUT:?} (expected {expected:?}); \
                 stderr:\n{}",
                self.stderr()
            ),
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (bounded) for the client to exit, with the keyboard still open.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + RUN_LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the client did not exit within {RUN_LIMIT:?}; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until stderr contains `needle` (the process has exited, so
    /// the pipe is drained soon; still bounded).
    fn expect_stderr(&self, needle: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.stderr().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "stderr never contained {needle:?}; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sends_the_name_first_then_each_line_then_quit_at_end_of_input() {
    let (port, server) = fake_server(|mut client| {
        client.expect_line("alice");
        client.expect_line("hello");
        // The empty line was not sent; the Windows `\r` was dropped.
        client.expect_line("how are you?");
        client.expect_line("/quit");
        client.send_line("DONE");
        // Nothing after the goodbye: the client closes.
        assert_eq!(client.try_read_line(), None);
    });
    chat_client(port, &["--name", "alice"])
        .write_stdin("hello\n\nhow are you?\r\n")
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("DONE"));
    server.join().unwrap();
}

#[test]
fn without_a_name_flag_the_first_input_line_is_the_name() {
    let (port, server) = fake_server(|mut client| {
        client.expect_line("alice");
        client.expect_line("hello");
        client.expect_line("/quit");
        client.send_line("DONE");
    });
    chat_client(port, &[])
        .write_stdin("\n  alice  \nhello\n")
        .assert()
        .success();
    server.join().unwrap();
}

#[test]
fn no_name_at_all_is_a_clear_error() {
    let (port, server) = fake_server(|mut client| {
        assert_eq!(client.try_read_line(), None, "nothing should be sent");
    });
    chat_client(port, &[])
        .write_stdin("")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "chat-client: no name given: pass --name NAME",
        ));
    server.join().unwrap();
}

#[test]
fn prints_incoming_lines_while_the_keyboard_is_idle() {
    // The server speaks first while the person has typed nothing: only a
    // reader thread can print this, the main thread is waiting for Enter.
    let (port, server) = fake_server(|mut client| {
        client.expect_line("alice");
        client.send(b"SERVER: bob has joined the chat.\nbob: hi alice\n");
        client.expect_line("hi bob");
        client.send_line("bob: how are you?");
        client.expect_line("bye");
        client.send_line("DONE");
        assert_eq!(client.try_read_line(), None);
    });
    let mut alice = Running::start(port, &["--name", "alice"]);
    alice.expect_printed("SERVER: bob has joined the chat.");
    alice.expect_printed("bob: hi alice");
    alice.type_line("hi bob");
    alice.expect_printed("bob: how are you?");
    alice.type_line("bye");
    assert!(alice.wait().success(), "stderr:\n{}", alice.stderr());
    server.join().unwrap();
}

#[test]
fn each_goodbye_word_is_sent_once_and_done_ends_the_client() {
    for word in ["EXIT", "exit", "bye", "Bye", "/quit"] {
        let (port, server) = fake_server(move |mut client| {
            client.expect_line("alice");
            client.expect_line(word);
            client.send_line("DONE");
            // The line after the goodbye is never sent, and no `/quit`.
            assert_eq!(client.try_read_line(), None, "after {word}");
        });
        chat_client(port, &["--name", "alice"])
            .write_stdin(format!("{word}\nnot sent\n"))
            .assert()
            .success()
            .stderr(predicate::str::contains("server answered DONE"));
        server.join().unwrap();
    }
}

#[test]
fn a_server_that_ignores_goodbye_is_left_after_a_bounded_wait() {
    // Step 3 knows no goodbye words: it relays them and answers nothing.
    // The client half-closes, and this server does not even close back.
    let (port, server) = fake_server(|mut client| {
        client.expect_line("alice");
        client.expect_line("EXIT");
        assert_eq!(client.try_read_line(), None); // the half-close
        client // kept open until the test ends
    });
    chat_client(port, &["--name", "alice"])
        .write_stdin("EXIT\n")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "no answer to goodbye within 3 s; leaving anyway.",
        ));
    drop(server.join().unwrap());
}

#[test]
fn a_server_closing_unasked_is_reported_and_fails() {
    let (port, server) = fake_server(|mut client| {
        client.expect_line("alice");
        client.send_line("SERVER: server is full");
        // Dropping the stream closes the connection.
    });
    let mut alice = Running::start(port, &["--name", "alice"]);
    alice.expect_printed("SERVER: server is full");
    let status = alice.wait();
    assert_eq!(status.code(), Some(1), "stderr:\n{}", alice.stderr());
    alice.expect_stderr("chat-client: every place in the room is taken");
    server.join().unwrap();
}

#[test]
fn too_many_connections_from_one_address_is_explained() {
    let (port, server) = fake_server(|mut client| {
        client.expect_line("erin");
        client.send_line("SERVER: too many connections from your address");
    });
    let mut erin = Running::start(port, &["--name", "erin"]);
    erin.expect_printed("SERVER: too many connections from your address");
    let status = erin.wait();
    assert_eq!(status.code(), Some(1), "stderr:\n{}", erin.stderr());
    erin.expect_stderr("chat-client: this address already has every connection");
    server.join().unwrap();
}

/// Step 8 with every place taken: one line, then a close without reading
/// the name the client sent, which TCP turns into a reset. The client must
/// read that as the server's answer, not as a crash.
#[test]
fn a_full_server_that_resets_is_reported_as_full_not_as_a_lost_connection() {
    for framing in ["lines", "length-prefix"] {
        let (port, server) = fake_server(move |mut client| {
            if framing == "lines" {
                client.expect_line("dave");
                client.send_line("SERVER: server is full");
            } else {
                client.expect_frame("dave");
                client.send_frame(b"SERVER: server is full");
            }
            // What the client sends next stays unread: the close is a reset.
            client.reset();
        });
        let mut dave = Running::start(port, &["--name", "dave", "--framing", framing]);
        dave.expect_printed("SERVER: server is full");
        let status = dave.wait();
        assert_eq!(status.code(), Some(1), "stderr:\n{}", dave.stderr());
        dave.expect_stderr("chat-client: every place in the room is taken");
        assert!(
            !dave.stderr().contains("connection lost"),
            "{framing}: {}",
            dave.stderr()
        );
        server.join().unwrap();
    }
}

#[test]
fn length_prefix_frames_what_it_sends_and_decodes_what_it_receives() {
    let (port, server) = fake_server(|mut client| {
        client.expect_frame("alice");
        client.expect_frame("hello");
        client.expect_frame("/quit");
        // A header split across two writes: the client must wait for all
        // four bytes. The pause makes the split reach the client as such.
        client.send(&[0, 0]);
        thread::sleep(Duration::from_millis(50));
        client.send(&[0, 7]);
        client.send(b"bob: hi");
        // Two frames in one write, with an empty frame between them.
        let mut two = Vec::new();
        for payload in [&b"carol: one"[..], b"", b"carol: two"] {
            two.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            two.extend_from_slice(payload);
        }
        client.send(&two);
        client.send_frame(b"DONE");
    });
    chat_client(port, &["--name", "alice", "--framing", "length-prefix"])
        .write_stdin("hello\n")
        .assert()
        .success()
        .stdout("bob: hi\ncarol: one\ncarol: two\n");
    server.join().unwrap();
}

#[test]
fn length_prefix_sends_exactly_header_and_payload() {
    // Byte-exact: 4-byte big-endian length, payload, no newline.
    let (port, server) = fake_server(|mut client| {
        assert_eq!(client.read_exact_bytes(9), b"\0\0\0\x05alice");
        assert_eq!(client.read_exact_bytes(7), b"\0\0\0\x03h\xc3\xa9");
        client.send_frame(b"DONE");
    });
    chat_client(port, &["--name", "alice", "--framing", "length-prefix"])
        .write_stdin("hé\n")
        .assert()
        .success();
    server.join().unwrap();
}

#[test]
fn an_oversize_frame_header_is_refused_without_waiting_for_it() {
    // 4 GiB claimed, and one byte over the client's 1 MiB limit: refused on
    // the header alone, with no payload sent (the fake server waits).
    for header in [
        [0xff, 0xff, 0xff, 0xff],
        (1024 * 1024 + 1_u32).to_be_bytes(),
    ] {
        let (port, server) = fake_server(move |mut client| {
            client.expect_frame("alice");
            client.send(&header);
            client.expect_closed();
        });
        let mut alice = Running::start(port, &["--name", "alice", "--framing", "length-prefix"]);
        let status = alice.wait();
        assert_eq!(status.code(), Some(1), "stderr:\n{}", alice.stderr());
        alice.expect_stderr(&format!(
            "frame of {} bytes, over our 1048576-byte limit",
            u32::from_be_bytes(header)
        ));
        server.join().unwrap();
    }
}

#[test]
fn a_server_frame_longer_than_what_clients_may_send_is_shown() {
    // Step 7 caps what clients send at 64 KiB, but its own frames can be
    // longer: `NAME: ` in front, and replaced bytes grow threefold.
    let long = format!("bob: {}", "\u{fffd}".repeat(65_536));
    let expected = long.clone();
    let (port, server) = fake_server(move |mut client| {
        client.expect_frame("alice");
        client.send_frame(long.as_bytes());
        client.expect_frame("/quit");
        client.send_frame(b"DONE");
    });
    chat_client(port, &["--name", "alice", "--framing", "length-prefix"])
        .write_stdin("")
        .assert()
        .success()
        .stdout(format!("{expected}\n"));
    server.join().unwrap();
}

/// The two limits agree: step 7 never sends a frame over 1 MiB (it
/// refuses a `--max-frame` that would), and one of exactly 1 MiB is shown.
#[test]
fn the_longest_frame_a_server_may_send_is_shown() {
    let prefix = "bob: ";
    let long = format!("{prefix}{}", "x".repeat(1024 * 1024 - prefix.len()));
    assert_eq!(long.len(), 1024 * 1024);
    let expected = long.clone();
    let (port, server) = fake_server(move |mut client| {
        client.expect_frame("alice");
        client.send_frame(long.as_bytes());
        client.expect_frame("/quit");
        client.send_frame(b"DONE");
    });
    chat_client(port, &["--name", "alice", "--framing", "length-prefix"])
        .write_stdin("")
        .assert()
        .success()
        .stdout(format!("{expected}\n"));
    server.join().unwrap();
}

#[test]
fn control_characters_are_stripped_from_what_it_prints() {
    let (port, server) = fake_server(|mut client| {
        client.expect_line("alice");
        // Clear screen, cursor home, bell, a carriage return that would
        // overwrite the line, a C1 control (CSI), invalid UTF-8; tab stays.
        client.send(b"mallory: \x1b[2J\x1b[Hgotcha\x07\tend\rX\r\n");
        client.send("mallory: \u{9b}31mred\n".as_bytes());
        client.send(b"mallory: \xff\n");
        client.expect_line("/quit");
        client.send_line("DONE");
    });
    chat_client(port, &["--name", "alice"])
        .write_stdin("")
        .assert()
        .success()
        .stdout("mallory: [2J[Hgotcha\tendX\nmallory: 31mred\nmallory: \u{fffd}\n");
    server.join().unwrap();
}

#[test]
fn control_characters_are_stripped_from_frames_too() {
    let (port, server) = fake_server(|mut client| {
        client.expect_frame("alice");
        client.send_frame(b"mallory: \x1b]0;pwned\x07two\nlines");
        client.expect_frame("/quit");
        client.send_frame(b"DONE");
    });
    chat_client(port, &["--name", "alice", "--framing", "length-prefix"])
        .write_stdin("")
        .assert()
        .success()
        .stdout("mallory: ]0;pwnedtwolines\n");
    server.join().unwrap();
}

#[test]
fn connection_refused_names_the_server_to_start() {
    // A port that was free a moment ago: nothing listens there now.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    for (framing, package) in [
        ("lines", "step3-chat-server"),
        ("length-prefix", "step7-length-prefix"),
    ] {
        chat_client(port, &["--name", "alice", "--framing", framing])
            .assert()
            .failure()
            .stderr(predicate::str::contains(format!(
                "cannot connect to 127.0.0.1:{port}: no server is listening there. \
                 Start one in another terminal: cargo run -p {package} -- --port {port}"
            )));
    }
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
                .and(predicate::str::contains("--name"))
                .and(predicate::str::contains("--framing"))
                .and(predicate::str::contains("length-prefix"))
                .and(predicate::str::contains("65433")),
        );
}
