//! Flood control, as in step 6, with frames (PROTOCOL.md "Step 7"): the
//! room slows the one who floods, never the ones who listen. Real sockets;
//! the server's defaults (50 messages at once, then 10 a second) where the
//! point is a classroom's flooder, a faster limit where the point is only
//! the rule, so the test is quick.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use testkit::{Client, Server};

const BIN: &str = env!("CARGO_BIN_EXE_step7-length-prefix");

const QUIET: Duration = Duration::from_millis(300);

/// How fast a person's terminal shows lines (one message each), roughly:
/// the pace of the listeners in these tests.
const TERMINAL_LINES_PER_SECOND: u32 = 2000;

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

/// Reads one frame, as text.
fn read_text(client: &mut Client) -> String {
    String::from_utf8(client.read_frame()).expect("UTF-8 from the server")
}

/// Joins every name in turn; each is known to be in the room once the
/// server logs it (the first) or everyone already there reads its notice.
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

/// Message `i` of a flood: its number, then `x` up to 1000 bytes.
fn flood_line(i: usize) -> String {
    let number = format!("{i:05} ");
    format!("{number}{}", "x".repeat(1000 - number.len()))
}

/// Writes `lines` flood frames from `client`'s connection in one go, from a
/// thread: the server soon stops reading them, so the write blocks until
/// the server disconnects the flooder (then it fails, which is the point).
fn flood(client: &Client, lines: usize) -> thread::JoinHandle<()> {
    let mut stream = client.stream().try_clone().expect("clone");
    // Blocked for the whole flood (five seconds with the defaults).
    stream
        .set_write_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    thread::spawn(move || {
        let bytes: Vec<u8> = (0..lines)
            .flat_map(|i| frame(flood_line(i).as_bytes()))
            .collect();
        let _ = stream.write_all(&bytes);
    })
}

/// A listener reading at a terminal's pace: reads what `from` sends, which
/// must come in order, until `from` leaves; returns how many lines came.
fn listen(mut client: Client, from: &'static str) -> thread::JoinHandle<(Client, usize)> {
    thread::spawn(move || {
        let started = Instant::now();
        let left = format!("SERVER: {from} has left the chat.");
        let mut count = 0;
        loop {
            let line = read_text(&mut client);
            if line == left {
                return (client, count);
            }
            assert_eq!(
                line,
                format!("{from}: {}", flood_line(count)),
                "out of order"
            );
            count += 1;
            // The pace: line `count` is shown no earlier than its time.
            let due = started + Duration::from_secs(1) * count as u32 / TERMINAL_LINES_PER_SECOND;
            thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    })
}

/// The hardening issue's classroom: two people listening at a terminal's
/// pace, one sending 10,000 frames of 1,000 bytes at once (10 MB). Without
/// flood control, both listeners' queues overflow within a second, and the
/// room drops them while the flooder stays.
#[test]
fn a_flooder_is_slowed_then_disconnected_and_the_listeners_stay() {
    let server = Server::start(BIN, &[]);
    let clients = room(&server, &["alice", "bob", "prank"]);
    let [alice, bob, mut prank]: [Client; 3] = clients.try_into().ok().unwrap();
    let flooding = flood(&prank, 10_000);
    let listeners = [listen(alice, "prank"), listen(bob, "prank")];
    let mut heard = Vec::new();
    for listener in listeners {
        let (client, count) = listener
            .join()
            .expect("a listener heard the flood in order");
        heard.push((client, count));
    }
    // 49 at once (the name took one of the 50), then ten a second for five
    // seconds: about a hundred messages, in order, then prank's leave notice.
    for (_, count) in &heard {
        assert!((49..=120).contains(count), "{count} messages relayed");
    }
    assert_eq!(heard[0].1, heard[1].1, "both heard the same lines");
    prank.expect_frame(
        "SERVER: you are sending too fast (the limit is 50 messages at once, then 10 a \
         second); closing the connection",
    );
    prank.expect_closed();
    flooding.join().expect("the flood thread");
    server.wait_for_output("prank left: sent too fast for too long (Excess Flood)");
    let output = server.output();
    assert!(output.contains("prank is sending too fast: slowed to 10 messages a second"));
    assert!(
        !output.contains("dropped"),
        "a listener was dropped:\n{output}"
    );
    // Both listeners are still in the room.
    let [(mut alice, _), (mut bob, _)]: [(Client, usize); 2] = heard.try_into().ok().unwrap();
    alice.send_frame(b"still here");
    bob.expect_frame("alice: still here");
    bob.send_frame(b"me too");
    alice.expect_frame("bob: me too");
}

#[test]
fn a_paste_of_a_burst_is_not_slowed_at_all() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    // 49 messages, and the name: one burst.
    let paste: Vec<u8> = (0..49)
        .flat_map(|i| frame(format!("pasted line {i}").as_bytes()))
        .collect();
    alice.send(&paste);
    for i in 0..49 {
        bob.expect_frame(&format!("alice: pasted line {i}"));
    }
    // Had any line waited, the server would have logged it before relaying
    // it; carol's join is logged after all of them.
    let _carol = join(&server, "carol");
    server.wait_for_output(" joined as carol (");
    let output = server.output();
    assert!(!output.contains("too fast"), "{output}");
}

/// Names and commands count too: otherwise a flood of `/who` (each answered
/// with the whole list) or of refused names would go unchecked.
#[test]
fn commands_and_refused_names_count_against_the_limit() {
    // 10 at once, then 100 a second: Excess Flood after 0.1 s of slowing.
    let limit = ["--flood-rate", "100", "--flood-burst", "10"];
    let too_fast = "SERVER: you are sending too fast (the limit is 10 messages at once, then 100 \
                    a second); closing the connection";
    let server = Server::start(BIN, &limit);
    let mut clients = room(&server, &["alice", "who"]);
    let [alice, who] = &mut clients[..] else {
        unreachable!()
    };
    who.send(&frame(b"/who").repeat(10_000));
    let mut answers = 0;
    loop {
        match read_text(who).as_str() {
            "SERVER: online: alice, who" => answers += 1,
            line => {
                assert_eq!(line, too_fast);
                break;
            }
        }
    }
    who.expect_closed();
    assert!((9..=30).contains(&answers), "{answers} answers to /who");
    alice.expect_frame("SERVER: who has left the chat.");

    // Before a name: every message is a try, and a try costs one too.
    let mut nameless = server.connect();
    nameless.send(&frame(b"SERVER").repeat(10_000));
    let mut refusals = 0;
    loop {
        match read_text(&mut nameless).as_str() {
            "SERVER: the name SERVER is reserved" => refusals += 1,
            line => {
                assert_eq!(line, too_fast);
                break;
            }
        }
    }
    nameless.expect_closed();
    assert!((9..=30).contains(&refusals), "{refusals} refusals");
    // It never joined, so nobody heard of it.
    alice.expect_silence(QUIET);
}

/// `--flood-rate 0`: no flood control, every line relayed at once, as in
/// the step before; the log stays readable all the same.
#[test]
fn flood_rate_zero_turns_flood_control_off_and_the_log_stays_short() {
    // Ten bursts' worth, and fewer than bob's queue holds (1024 messages),
    // so that bob cannot be dropped even if his writer thread is slow to
    // start: without flood control, nothing else protects him.
    const LINES: usize = 500;
    let server = Server::start(BIN, &["--flood-rate", "0"]);
    let mut clients = room(&server, &["alice", "bob"]);
    let started = Instant::now();
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    let paste: Vec<u8> = (0..LINES)
        .flat_map(|i| frame(format!("line {i}").as_bytes()))
        .collect();
    alice.send(&paste);
    for i in 0..LINES {
        bob.expect_frame(&format!("alice: line {i}"));
    }
    alice.send_frame(b"bye");
    alice.expect_frame("DONE");
    bob.expect_frame("SERVER: alice has left the chat.");
    server.wait_for_output("more lines about alice not logged)");
    let seconds = started.elapsed().as_secs() + 1;
    let output = server.output();
    assert!(!output.contains("too fast"), "{output}");
    // At most five of alice's lines a second reached the log; the rest
    // were counted (here, perhaps over several reports).
    let logged = output.matches("alice: \"line ").count() as u64;
    assert!(
        logged <= 5 * seconds,
        "{logged} lines logged in {seconds} s"
    );
    let counted: u64 = output
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("] (")?;
            rest.strip_suffix(" more lines about alice not logged)")?
                .parse::<u64>()
                .ok()
        })
        .sum();
    // Her name and her messages: all logged or counted (not her goodbye).
    let about_alice = output.matches(" joined as alice (").count() as u64 + logged;
    assert_eq!(about_alice + counted, LINES as u64 + 1, "{output}");
}
