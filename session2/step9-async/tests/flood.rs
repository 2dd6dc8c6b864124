//! Flood control (PROTOCOL.md "Step 8"): the room slows the one who floods,
//! never the ones who listen. Real sockets; the server's defaults (50 lines
//! at once, then 10 a second) where the point is a classroom's flooder, a
//! faster limit where the point is only the rule, so the test is quick.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use testkit::{Client, Server};

const BIN: &str = env!("CARGO_BIN_EXE_step9-async");

const QUIET: Duration = Duration::from_millis(300);

/// How fast a person's terminal shows lines, roughly: the pace of the
/// listeners in these tests.
const TERMINAL_LINES_PER_SECOND: u32 = 2000;

/// Joins every name in turn; each is known to be in the room once the
/// server logs it (the first) or everyone already there reads its notice.
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

/// Line `i` of a flood: its number, then `x` up to 1000 bytes.
fn flood_line(i: usize) -> String {
    let number = format!("{i:05} ");
    format!("{number}{}", "x".repeat(1000 - number.len()))
}

/// Writes `lines` flood lines from `client`'s connection in one go, from a
/// thread: the server soon stops reading them, so the write blocks until
/// the server disconnects the flooder (then it fails, which is the point).
fn flood(client: &Client, lines: usize) -> thread::JoinHandle<()> {
    let mut stream = client.stream().try_clone().expect("clone");
    // Blocked for the whole flood (five seconds with the defaults).
    stream
        .set_write_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    thread::spawn(move || {
        let bytes: String = (0..lines).map(|i| flood_line(i) + "\n").collect();
        let _ = stream.write_all(bytes.as_bytes());
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
            let line = client.read_line();
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
/// pace, one sending 10,000 lines of 1,000 bytes at once (10 MB). Without
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
    // seconds: about a hundred lines, in order, then prank's leave notice.
    for (_, count) in &heard {
        assert!((49..=120).contains(count), "{count} lines relayed");
    }
    assert_eq!(heard[0].1, heard[1].1, "both heard the same lines");
    prank.expect_line(
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
    alice.send_line("still here");
    bob.expect_line("alice: still here");
    bob.send_line("me too");
    alice.expect_line("bob: me too");
}

#[test]
fn a_paste_of_a_burst_is_not_slowed_at_all() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    // 49 lines, and the name: one burst.
    let paste: String = (0..49).map(|i| format!("pasted line {i}\n")).collect();
    alice.send(paste.as_bytes());
    for i in 0..49 {
        bob.expect_line(&format!("alice: pasted line {i}"));
    }
    // Had any line waited, the server would have logged it before relaying
    // it; carol's join is logged after all of them.
    let _carol = server.join("carol");
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
    who.send("/who\n".repeat(10_000).as_bytes());
    let mut answers = 0;
    loop {
        match who.read_line().as_str() {
            "SERVER: online: alice, who" => answers += 1,
            line => {
                assert_eq!(line, too_fast);
                break;
            }
        }
    }
    who.expect_closed();
    assert!((9..=30).contains(&answers), "{answers} answers to /who");
    alice.expect_line("SERVER: who has left the chat.");

    // Before a name: every line is a try, and a try costs a line too.
    let mut nameless = server.connect();
    nameless.send("SERVER\n".repeat(10_000).as_bytes());
    let mut refusals = 0;
    loop {
        match nameless.read_line().as_str() {
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
    // so that bob cannot be dropped even if his writer task is slow to
    // start: without flood control, nothing else protects him.
    const LINES: usize = 500;
    let server = Server::start(BIN, &["--flood-rate", "0"]);
    let mut clients = room(&server, &["alice", "bob"]);
    let started = Instant::now();
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    let paste: String = (0..LINES).map(|i| format!("line {i}\n")).collect();
    alice.send(paste.as_bytes());
    for i in 0..LINES {
        bob.expect_line(&format!("alice: line {i}"));
    }
    alice.send_line("bye");
    alice.expect_line("DONE");
    bob.expect_line("SERVER: alice has left the chat.");
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
    // Her name and her lines: all logged or counted (not her goodbye).
    let about_alice = output.matches(" joined as alice (").count() as u64 + logged;
    assert_eq!(about_alice + counted, LINES as u64 + 1, "{output}");
}
