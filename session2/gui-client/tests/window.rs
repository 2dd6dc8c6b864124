//! The chat window, headless, against real servers (step 8 and step 7 on
//! 127.0.0.1 port 0) and, for what no honest server sends (a flood, escape
//! codes, a hostile frame header), against a fake server played by the
//! test. Widgets are found and clicked as a person would, by their labels.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::thread::{self, JoinHandle};

use eframe::egui;
use egui_kittest::kittest::Queryable;
use gui_client::chat::{ChatApp, EVENTS_PER_FRAME, Kind, MAX_KEPT_LINES, Phase, Settings};
use gui_client::screen;
use gui_client::wire::Framing;
use testkit::{Client, Server};

use common::{Window, step_binary};

/// A chat window with its form filled in for `port`, as `--host` and
/// `--port` would; for length-prefix frames, the test picks them in the
/// form as a person would.
fn window(port: u16, framing: Framing) -> Window<ChatApp> {
    let settings = Settings {
        host: "127.0.0.1".to_string(),
        port,
        ..Settings::default()
    };
    let mut window = Window::new(ChatApp::new(settings, false), ChatApp::ui);
    if framing == Framing::LengthPrefix {
        window
            .harness
            .get_by_label("length-prefix (step 7)")
            .click();
        window.harness.run_ok();
    }
    assert_eq!(window.app().settings.framing, framing);
    window
}

/// Types `name` into the form and presses Connect, then waits until the
/// server has taken the name (the answer to `/who` arrived).
fn join(window: &mut Window<ChatApp>, name: &str) {
    connect(window, name);
    window.run_until("the server to take the name", |h| {
        *h.state().phase() == Phase::Joined
    });
}

fn connect(window: &mut Window<ChatApp>, name: &str) {
    window.harness.get_by_label("Name").click();
    window.harness.step();
    window.harness.get_by_label("Name").type_text(name);
    window.harness.step();
    window.harness.get_by_label("Connect").click();
    window.harness.step();
}

fn until_disconnected(window: &mut Window<ChatApp>, what: &str) {
    window.run_until(what, |h| {
        matches!(h.state().phase(), Phase::Disconnected(_))
    });
}

/// Types `text` into the message entry and presses Enter.
fn say(window: &mut Window<ChatApp>, text: &str) {
    window.harness.get_by_label("Message").click();
    window.harness.step();
    window.harness.get_by_label("Message").type_text(text);
    window.harness.step();
    window.harness.key_press(egui::Key::Enter);
    window.harness.step();
}

fn shows(window: &Window<ChatApp>, label: &str) -> bool {
    window.harness.query_by_label(label).is_some()
}

fn status(window: &Window<ChatApp>) -> String {
    window.app().status()
}

fn step8() -> Server {
    Server::start(step_binary("step8-prankster-proof"), &[])
}

#[test]
fn chats_with_a_terminal_client_through_step_6() {
    let server = step8();
    let mut alice = window(server.addr.port(), Framing::Lines);
    join(&mut alice, "alice");
    assert_eq!(
        status(&alice),
        format!("connected to {} as alice", server.addr)
    );
    assert!(shows(&alice, "SERVER: online: alice"));

    let mut bob = server.join("bob");
    alice.run_until("bob's join notice", |h| {
        h.query_by_label("SERVER: bob has joined the chat.")
            .is_some()
    });

    say(&mut alice, "hello bob");
    bob.expect_line("alice: hello bob");
    // Our own message, shown as sent, and the entry is empty again.
    let own = alice.app().lines().back().unwrap();
    assert_eq!(
        (own.kind, own.text.as_str()),
        (Kind::Own, "alice: hello bob")
    );
    assert_eq!(
        alice.harness.get_by_label("Message").value().as_deref(),
        Some("")
    );

    bob.send_line("hi alice");
    alice.run_until("bob's message", |h| {
        h.query_by_label("bob: hi alice").is_some()
    });
    let last = alice.app().lines().back().unwrap();
    assert_eq!(last.kind, Kind::Chat);
}

#[test]
fn the_online_list_follows_joins_renames_and_leaves() {
    let server = step8();
    // carol is there first: the `/who` sent on joining lists her.
    let mut carol = server.join("carol");
    carol.send_line("/who");
    carol.expect_line("SERVER: online: carol");
    let mut alice = window(server.addr.port(), Framing::Lines);
    join(&mut alice, "alice");
    assert_eq!(alice.app().online(), ["carol", "alice"]);
    assert!(shows(&alice, "carol"));
    assert!(shows(&alice, "alice (you)"));
    assert!(shows(&alice, "Online (2)"));
    carol.expect_line("SERVER: alice has joined the chat.");

    let mut bob = server.join("bob");
    alice.run_until("bob in the list", |h| h.query_by_label("bob").is_some());
    bob.send_line("/name robert");
    alice.run_until("robert instead of bob", |h| {
        h.query_by_label("robert").is_some() && h.query_by_label("bob").is_none()
    });
    assert!(shows(&alice, "SERVER: bob is now robert"));

    bob.send_line("bye");
    bob.expect_line("SERVER: bob is now robert");
    bob.expect_line("DONE");
    alice.run_until("robert gone", |h| h.query_by_label("robert").is_none());
    assert_eq!(alice.app().online(), ["carol", "alice"]);

    // Our own rename changes the status line and our entry in the list.
    say(&mut alice, "/name alicia");
    alice.run_until("the rename", |h| h.query_by_label("alicia (you)").is_some());
    // A command shows as typed, not as a message to the room.
    assert!(shows(&alice, "/name alicia"));
    assert!(!shows(&alice, "alice: /name alicia"));
    assert_eq!(
        status(&alice),
        format!("connected to {} as alicia", server.addr)
    );
    for notice in [
        "bob has joined the chat.",
        "bob is now robert",
        "robert has left the chat.",
        "alice is now alicia",
    ] {
        carol.expect_line(&format!("SERVER: {notice}"));
    }

    // `/who` typed by hand answers in the conversation too.
    say(&mut alice, "/who");
    alice.run_until("the answer to /who", |h| {
        h.state().lines().back().map(|l| l.text.as_str()) == Some("SERVER: online: carol, alicia")
    });
}

#[test]
fn a_refused_name_is_shown_and_another_can_be_chosen() {
    let server = step8();
    let mut bob = server.join("alice");
    bob.send_line("/who");
    bob.expect_line("SERVER: online: alice");
    let mut window = window(server.addr.port(), Framing::Lines);
    connect(&mut window, "ALICE");
    window.run_until("the refusal", |h| {
        matches!(h.state().phase(), Phase::Refused(_))
    });
    assert_eq!(
        status(&window),
        format!(
            "connected to {}: name refused: the name ALICE is taken",
            server.addr
        )
    );
    assert!(shows(
        &window,
        "The server refused the name: the name ALICE is taken. Choose another:"
    ));

    // The field holds the refused name; replace it and press Join.
    window.harness.get_by_label("New name").click();
    window.harness.step();
    window
        .harness
        .key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    window.harness.get_by_label("New name").type_text("alice2");
    window.harness.step();
    assert_eq!(
        window.harness.get_by_label("New name").value().as_deref(),
        Some("alice2")
    );
    window.harness.get_by_label("Join").click();
    window.run_until("the second name to be taken", |h| {
        *h.state().phase() == Phase::Joined
    });
    assert_eq!(
        status(&window),
        format!("connected to {} as alice2", server.addr)
    );
    bob.expect_line("SERVER: alice2 has joined the chat.");
    // The server's answer to the `/who` sent after the refused name (it
    // took it for a name too) is not shown: it would only confuse.
    assert!(
        !window
            .app()
            .lines()
            .iter()
            .any(|l| l.text.contains("cannot start with /")),
        "{:?}",
        window.app().lines()
    );
    assert_eq!(window.app().online(), ["alice", "alice2"]);
}

#[test]
fn a_dropped_connection_shows_in_the_status_line_and_reconnect_explains() {
    let server = step8();
    let addr = server.addr;
    let mut window = window(addr.port(), Framing::Lines);
    join(&mut window, "alice");
    drop(server); // killed: the kernel closes its sockets
    until_disconnected(&mut window, "the disconnection");
    assert_eq!(
        status(&window),
        "disconnected: the server closed the connection"
    );
    assert!(window.app().online().is_empty());

    // Nobody listens there now: Reconnect says so and what to do.
    window.harness.get_by_label("Reconnect").click();
    window.harness.step();
    window.run_until("the refused connection", |h| {
        *h.state().phase() == Phase::Form
    });
    assert_eq!(
        status(&window),
        format!("disconnected: cannot connect to {addr}")
    );
    let advice = window
        .harness
        .get_by_label_contains("no server is listening there")
        .value()
        .unwrap_or_default();
    assert!(
        advice.contains("cargo run -p step8-prankster-proof"),
        "{advice}"
    );
}

#[test]
fn nothing_listening_is_explained_in_the_form() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut window = window(port, Framing::Lines);
    connect(&mut window, "alice");
    window.run_until("the refused connection", |h| {
        h.query_by_label_contains("no server is listening there")
            .is_some()
    });
    assert_eq!(
        status(&window),
        format!("disconnected: cannot connect to 127.0.0.1:{port}")
    );
    // An empty name is refused by the form itself, before any network.
    let mut empty = self::window(port, Framing::Lines);
    empty.harness.get_by_label("Connect").click();
    empty.harness.run();
    assert!(shows(
        &empty,
        "type a name first: it is how classmates see you"
    ));
    assert_eq!(*empty.app().phase(), Phase::Form);
}

#[test]
fn bye_leaves_like_the_terminal_client_and_reconnect_comes_back() {
    let server = step8();
    let mut window = window(server.addr.port(), Framing::Lines);
    join(&mut window, "alice");
    say(&mut window, "/name alicia");
    window.run_until("the rename", |h| h.query_by_label("alicia (you)").is_some());
    say(&mut window, "bye");
    until_disconnected(&mut window, "the goodbye");
    assert_eq!(
        status(&window),
        "disconnected: you have left the chat (the server answered DONE)"
    );
    // The conversation stays; Reconnect joins again, as the name that worked.
    assert!(shows(&window, "SERVER: alice is now alicia"));
    window.harness.get_by_label("Reconnect").click();
    window.run_until("joined again", |h| *h.state().phase() == Phase::Joined);
    assert_eq!(
        status(&window),
        format!("connected to {} as alicia", server.addr)
    );
}

#[test]
fn length_prefix_frames_through_step_7() {
    let server = Server::start(step_binary("step7-length-prefix"), &[]);
    let mut window = window(server.addr.port(), Framing::LengthPrefix);
    join(&mut window, "alice");
    let mut bob = server.connect();
    bob.send_frame(b"bob");
    window.run_until("bob's join notice", |h| {
        h.query_by_label("SERVER: bob has joined the chat.")
            .is_some()
    });
    say(&mut window, "hello in a frame");
    bob.expect_frame("alice: hello in a frame");
    bob.send_frame("hé, a frame".as_bytes());
    window.run_until("bob's frame", |h| {
        h.query_by_label("bob: hé, a frame").is_some()
    });
}

#[test]
fn the_wrong_framing_is_diagnosed_both_ways() {
    // Lines to step 7: it reads `alic` as a length, answers with an error
    // frame and closes.
    let step7 = Server::start(step_binary("step7-length-prefix"), &[]);
    let mut window = window(step7.addr.port(), Framing::Lines);
    connect(&mut window, "alice");
    until_disconnected(&mut window, "the close");
    shows_step_7s_refusal(&window);

    // Frames to step 8: no newline ever comes, so no name; when the server
    // gives up, its `SERVER: ...` line reads as a huge frame header.
    let step8 = Server::start(
        step_binary("step8-prankster-proof"),
        &["--name-timeout", "1"],
    );
    let mut window = self::window(step8.addr.port(), Framing::LengthPrefix);
    connect(&mut window, "alice");
    until_disconnected(&mut window, "the close");
    let said = status(&window);
    assert!(
        said.contains("is it speaking length-prefix frames?"),
        "{said}"
    );
}

/// The status line after step 7 refused lines: its error, and the advice.
fn shows_step_7s_refusal(window: &Window<ChatApp>) {
    let said = status(window);
    assert!(
        said.starts_with("disconnected: the server closed the connection before you joined"),
        "{said}"
    );
    assert!(said.contains("frame too long"), "{said}");
    assert!(said.contains("choose length-prefix framing"), "{said}");
}

#[test]
fn a_refusal_that_ends_in_a_reset_is_still_diagnosed() {
    // Step 7 closes with our `/who` still unread, and such a close is a
    // reset: what the server said before it still explains the close.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let mut client = testkit::accept(&listener);
        client.expect_line("alice");
        client
            .send_line("ISERVER: frame too long (the limit is 4096 bytes); closing the connection");
        client.reset();
    });
    let mut window = window(port, Framing::Lines);
    connect(&mut window, "alice");
    until_disconnected(&mut window, "the reset");
    server.join().unwrap();
    shows_step_7s_refusal(&window);
}

/// A fake server: accepts one client, reads its name and `/who`, answers
/// `/who`, then runs `script` with the connection.
fn fake_server(script: impl FnOnce(&mut Client) + Send + 'static) -> (u16, JoinHandle<Client>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let mut client = testkit::accept(&listener);
        script(&mut client);
        client
    });
    (port, handle)
}

fn greet(client: &mut Client, name: &str) {
    client.expect_line(name);
    client.expect_line("/who");
    client.send_line(&format!("SERVER: online: {name}"));
}

#[test]
fn a_flood_keeps_the_window_drawing_and_memory_bounded() {
    const FLOOD: usize = 10_000;
    let (go, start_flood) = std::sync::mpsc::channel::<()>();
    let (port, server) = fake_server(move |client| {
        greet(client, "alice");
        start_flood.recv_timeout(testkit::TIMEOUT).unwrap();
        // `seq 1 10000` as one burst of lines.
        let mut flood = Vec::new();
        for n in 1..=FLOOD {
            writeln!(flood, "bob: {n}").unwrap();
        }
        client.send(&flood);
    });
    let mut window = window(port, Framing::Lines);
    join(&mut window, "alice");

    // While lines pour in, every frame takes a bounded batch and is drawn,
    // and the entry still answers the keyboard.
    let total = FLOOD as u64 + 1; // the `/who` answer, then the flood
    let frames_before = window.app().frames();
    go.send(()).unwrap();
    let mut typed_at = None;
    window.run_until("the whole flood", |h| {
        let app = h.state();
        assert!(app.last_batch() <= EVENTS_PER_FRAME);
        assert!(app.lines().len() <= MAX_KEPT_LINES);
        if typed_at.is_none() && app.received() > 1 {
            // Mid-flood (a batch or two is in): click the entry and type.
            typed_at = Some(app.received());
            let entry = h.get_by_label("Message");
            entry.click();
            entry.type_text("still here");
        }
        app.received() == total
    });
    let frames = window.app().frames() - frames_before;
    assert!(
        frames > (FLOOD / EVENTS_PER_FRAME) as u64,
        "only {frames} frames drew the flood"
    );
    let typed_at = typed_at.unwrap();
    assert!(typed_at < total / 2, "typed after {typed_at} lines");
    // What was typed mid-flood landed in the entry.
    assert_eq!(
        window.harness.get_by_label("Message").value().as_deref(),
        Some("still here")
    );
    let app = window.app();
    assert_eq!(app.lines().len(), MAX_KEPT_LINES);
    assert_eq!(app.lines().back().unwrap().text, format!("bob: {FLOOD}"));
    assert_eq!(
        app.lines().front().unwrap().text,
        format!("bob: {}", FLOOD - MAX_KEPT_LINES + 1)
    );
    // Scrolled to the newest: the last line is laid out on screen.
    assert!(shows(&window, &format!("bob: {FLOOD}")));
    drop(server.join().unwrap());
}

#[test]
fn no_control_bidi_or_zero_width_character_reaches_the_screen() {
    let (port, server) = fake_server(|client| {
        greet(client, "alice");
        client.send(
            b"bob: \x1b[2Jclear\x07 \xe2\x80\xaeevil\xe2\x80\xac \xe2\x80\x8bal\xe2\x80\x8bice\n",
        );
        client.send("bob: one\u{2028}SERVER: carol has left the chat.\n".as_bytes());
        client.send(b"bob: bad \xff utf-8\tand tab\n");
    });
    let mut window = window(port, Framing::Lines);
    join(&mut window, "alice");
    window.run_until("the three lines", |h| h.state().received() == 4);
    for line in window.app().lines() {
        assert!(
            !line.text.chars().any(screen::is_hidden),
            "{:?} reached the screen",
            line.text
        );
    }
    assert!(shows(&window, "bob: [2Jclear evil alice"));
    // A separator cannot start a fake notice: it is one chat line.
    assert!(shows(&window, "bob: oneSERVER: carol has left the chat."));
    assert!(shows(&window, "bob: bad \u{fffd} utf-8 and tab"));
    drop(server.join().unwrap());
}

#[test]
fn a_hostile_frame_header_ends_the_connection_with_advice() {
    let (port, server) = fake_server(|client| {
        assert_eq!(client.read_frame(), b"alice");
        assert_eq!(client.read_frame(), b"/who");
        client.send(&u32::MAX.to_be_bytes());
    });
    let mut window = window(port, Framing::LengthPrefix);
    connect(&mut window, "alice");
    until_disconnected(&mut window, "the disconnection");
    let status = status(&window);
    assert!(
        status.starts_with("disconnected: the server announced a frame of 4294967295 bytes"),
        "{status}"
    );
    assert!(status.contains("choose lines"), "{status}");
    drop(server.join().unwrap());
}
