//! The server window, headless: it builds and starts step 8 (on 127.0.0.1
//! port 0 here, never on the network), shows who joins, and leaves no
//! process behind, whether stopped with its button or closed.

mod common;

use std::net::{SocketAddr, TcpStream};

use egui_kittest::kittest::Queryable;
use gui_client::serve::{ChildSlot, ServeSettings, ServerApp, State};
use gui_client::wire::Framing;
use testkit::Client;

use common::{Window, process_gone, step_binary};

fn server_window(framing: Framing) -> Window<ServerApp> {
    let settings = ServeSettings {
        host: "127.0.0.1".to_string(),
        port: 0,
        framing,
    };
    Window::new(
        ServerApp::new(settings, ChildSlot::default()),
        ServerApp::ui,
    )
}

/// Waits until the server runs; its address and process id.
fn running(window: &mut Window<ServerApp>) -> (SocketAddr, u32) {
    window.run_until("the server to listen", |h| {
        matches!(h.state().state(), State::Running(_))
    });
    let State::Running(addr) = *window.app().state() else {
        unreachable!()
    };
    (
        addr,
        window.app().pid().expect("a running server has a pid"),
    )
}

fn refused(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, testkit::TIMEOUT).is_err()
}

#[test]
fn starts_shows_who_is_online_and_stops_without_leaving_a_process() {
    // Built once up front, so the window's own build is a quick no-op.
    step_binary("step8-prankster-proof");
    let mut window = server_window(Framing::Lines);
    let (addr, pid) = running(&mut window);
    assert!(addr.ip().is_loopback());
    // Bound to 127.0.0.1, the large address says only this machine.
    assert!(window.harness.query_by_label("127.0.0.1").is_some());
    assert!(
        window
            .harness
            .query_by_label(&format!("port {}", addr.port()))
            .is_some()
    );
    let note = "only this machine can connect: start with --host 0.0.0.0 to let classmates in";
    assert!(window.harness.query_by_label(note).is_some());

    let mut bob = Client::connect(addr);
    bob.send_line("bob");
    window.run_until("bob online", |h| h.state().online() == ["bob"]);
    let mut carol = Client::connect(addr);
    carol.send_line("carol");
    window.run_until("bob and carol online", |h| {
        h.state().online() == ["bob", "carol"]
    });
    assert!(window.harness.query_by_label("Online (2)").is_some());
    bob.expect_line("SERVER: carol has joined the chat.");
    bob.send_line("/name robert");
    window.run_until("the rename", |h| h.state().online() == ["robert", "carol"]);
    carol.send_line("bye");
    window.run_until("carol to leave", |h| h.state().online() == ["robert"]);
    // The log is live: the join line is in it, as the server printed it.
    assert!(
        window
            .app()
            .log()
            .iter()
            .any(|l| l.contains("joined as bob"))
    );

    window.harness.get_by_label("Stop").click();
    window.harness.run_ok();
    assert!(process_gone(pid), "the server (pid {pid}) still runs");
    assert!(refused(addr));
    assert!(matches!(window.app().state(), State::Stopped(_)));
    assert!(window.app().online().is_empty());
    bob.expect_closed();

    // Start runs it again (on a new port: port 0).
    window.harness.get_by_label("Start").click();
    window.harness.run_ok();
    let (_, second) = running(&mut window);
    assert_ne!(pid, second);
}

#[test]
fn closing_the_window_stops_the_server() {
    step_binary("step7-length-prefix");
    let mut window = server_window(Framing::LengthPrefix);
    let (addr, pid) = running(&mut window);
    assert!(
        window
            .app()
            .log()
            .iter()
            .any(|l| l.contains("cargo build -p step7-length-prefix"))
    );
    // It is step 7: a frame gets in.
    let mut bob = Client::connect(addr);
    bob.send_frame(b"bob");
    window.run_until("bob online", |h| h.state().online() == ["bob"]);
    drop(window);
    assert!(process_gone(pid), "the server (pid {pid}) still runs");
    assert!(refused(addr));
}

#[test]
fn a_port_in_use_is_reported_with_the_servers_own_words() {
    step_binary("step8-prankster-proof");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let settings = ServeSettings {
        host: "127.0.0.1".to_string(),
        port: taken.local_addr().unwrap().port(),
        framing: Framing::Lines,
    };
    let mut window = Window::new(
        ServerApp::new(settings, ChildSlot::default()),
        ServerApp::ui,
    );
    window.run_until("the server to give up", |h| {
        matches!(h.state().state(), State::Stopped(_))
            && h.state().log().iter().any(|l| l.contains("cannot listen"))
    });
    let State::Stopped(why) = window.app().state() else {
        unreachable!()
    };
    assert!(why.contains("ended by itself"), "{why}");
    assert!(window.harness.query_by_label("Start").is_some());
}
