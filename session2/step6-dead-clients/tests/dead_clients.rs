//! Step 6's idea, tested with real sockets: no socket write under the lock,
//! so dead clients (a reset, a broken pipe) and clients that stop reading
//! leave the room, once, and never stall the others (PROTOCOL.md "Step 6").
//!
//! Figures that only the kernel knows (memory, threads, file descriptors)
//! are read from `/proc` on Linux; elsewhere those tests skip the figure, or
//! are not compiled when the figure is the whole point.

use std::io::Write;
// Only the Linux-only tests below open raw connections.
#[cfg(target_os = "linux")]
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use testkit::{Client, Server, proc, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_step6-dead-clients");

const QUIET: Duration = Duration::from_millis(300);

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

/// Resident memory of the server now and at its peak, in KiB (Linux).
fn memory(server: &Server) -> Option<(u64, u64)> {
    let pid = server.pid();
    Some((
        proc::status_kib(pid, "VmRSS")?,
        proc::status_kib(pid, "VmHWM")?,
    ))
}

// ---------------------------------------------------------------------------
// The three flags

#[test]
fn help_lists_the_queue_and_write_limits_with_their_defaults() {
    let mut expected = predicate::str::contains("65433").boxed();
    for (flag, default) in [
        ("--queue-messages", "[default: 1024]"),
        ("--queue-bytes", "[default: 8388608]"),
        ("--write-timeout", "[default: 10]"),
    ] {
        expected = expected
            .and(predicate::str::contains(flag))
            .and(predicate::str::contains(default))
            .boxed();
    }
    Command::new(BIN)
        .arg("--help")
        .assert()
        .success()
        .stdout(expected);
}

#[test]
fn limits_that_make_no_sense_are_refused_at_start() {
    for args in [
        &["--queue-messages", "0"][..],
        &["--queue-bytes", "0"],
        &["--write-timeout", "0"],
    ] {
        Command::new(BIN)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .timeout(Duration::from_secs(10))
            .assert()
            .failure()
            .stderr(predicate::str::is_empty().not());
    }
}

// ---------------------------------------------------------------------------
// Dead clients

#[test]
fn a_reset_client_leaves_once_and_the_others_go_on() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob", "carol"]);
    let carol = clients.pop().unwrap();
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    // A laptop closed mid-chat: no goodbye, no FIN, a TCP reset.
    carol.reset();
    alice.expect_line("SERVER: carol has left the chat.");
    bob.expect_line("SERVER: carol has left the chat.");

    alice.send_line("still there?");
    bob.expect_line("alice: still there?");
    bob.send_line("yes");
    alice.expect_line("bob: yes");
    // Exactly one notice: nothing more arrives.
    alice.expect_silence(QUIET);
    bob.expect_silence(QUIET);
}

#[test]
fn a_client_reset_while_messages_are_queued_for_it_leaves_once() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob", "carol"]);
    let carol = clients.pop().unwrap();
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    // Bob talks while Carol vanishes: writes to her hit the reset (broken
    // pipe or reset) while her reader sees it too. Two threads notice; the
    // room announces it once.
    let burst: String = (0..200).map(|i| format!("message {i}\n")).collect();
    bob.send(burst.as_bytes());
    carol.reset();
    bob.send(burst.as_bytes());
    let mut notices = 0;
    let mut messages = 0;
    while messages < 400 || notices == 0 {
        match alice.read_line().as_str() {
            "SERVER: carol has left the chat." => notices += 1,
            line => {
                assert_eq!(line, format!("bob: message {}", messages % 200));
                messages += 1;
            }
        }
    }
    alice.expect_silence(QUIET);
    assert_eq!(notices, 1);
}

// ---------------------------------------------------------------------------
// Clients that stop reading

/// The main case: one client stops reading while the others send 20 MB.
#[test]
fn a_client_that_stops_reading_is_dropped_and_the_others_get_everything() {
    const PER_SENDER: usize = 10_000;
    const LINE: usize = 1000;
    // Senders stay at most this many lines ahead of the healthy readers, as
    // people in a chat do. Without it, a test reader starved of CPU on a
    // busy machine could fall 1 MiB behind and be dropped as stalled: right
    // of the server, but not what this test is about.
    const WINDOW: usize = 200;
    const SENDERS: [&str; 2] = ["s1", "s2"];
    let server = Server::start(BIN, &[]);
    let clients = room(&server, &["s1", "s2", "listener", "stalled"]);
    let [s1, s2, listener, stalled]: [Client; 4] = clients.try_into().ok().unwrap();
    let before = memory(&server);

    // The line number `i` of `sender`, padded to LINE bytes.
    let line = |sender: &str, i: usize| {
        let text = format!("{sender} {i:06} ");
        format!("{text}{}", "x".repeat(LINE - text.len()))
    };
    // progress[reader][sender]: how many lines that reader got from that
    // sender. Readers 0 and 1 are the senders themselves, 2 the listener.
    let progress: Arc<[[AtomicUsize; 2]; 3]> = Arc::default();

    // Reads until every line of `hears` (sender indices) and the stalled
    // client's leave notice have arrived, checking each sender's order;
    // returns the client and how many leave notices it got.
    let receive = {
        let progress = Arc::clone(&progress);
        move |reader: usize, mut client: Client, hears: Vec<usize>| {
            let mut notices = 0;
            let count = |s: usize| progress[reader][s].load(Ordering::SeqCst);
            while notices == 0 || hears.iter().any(|&s| count(s) < PER_SENDER) {
                let got = client.read_line();
                if got == "SERVER: stalled has left the chat." {
                    notices += 1;
                    continue;
                }
                let (from, text) = got.split_once(": ").expect("NAME: TEXT");
                let sender = SENDERS.iter().position(|s| *s == from).expect("a sender");
                assert!(hears.contains(&sender), "{from} heard itself");
                assert_eq!(text, line(from, count(sender)), "out of order from {from}");
                progress[reader][sender].fetch_add(1, Ordering::SeqCst);
            }
            // Kept open until everyone is done: a client that leaves early
            // would be one more leave notice for the others.
            (client, notices)
        }
    };
    let send = |sender: usize, client: &Client| {
        let mut stream = client.stream().try_clone().expect("clone");
        let progress = Arc::clone(&progress);
        thread::spawn(move || {
            let behind = |sent: usize| {
                (0..3).any(|reader| {
                    reader != sender
                        && progress[reader][sender].load(Ordering::SeqCst) + WINDOW < sent
                })
            };
            for first in (0..PER_SENDER).step_by(50) {
                wait_until("the readers catch up", || !behind(first));
                let bytes: String = (first..first + 50)
                    .map(|i| line(SENDERS[sender], i) + "\n")
                    .collect();
                stream.write_all(bytes.as_bytes()).expect("send");
            }
        })
    };
    // Each sender also reads (the other sender's messages): a sender that
    // did not would be a stalled client too.
    let senders = [send(0, &s1), send(1, &s2)];
    let readers = [
        thread::spawn({
            let receive = receive.clone();
            move || receive(0, s1, vec![1])
        }),
        thread::spawn({
            let receive = receive.clone();
            move || receive(1, s2, vec![0])
        }),
        thread::spawn(move || receive(2, listener, vec![0, 1])),
    ];
    for sender in senders {
        sender.join().expect("sender");
    }
    let mut done = Vec::new();
    for reader in readers {
        let (client, notices) = reader.join().expect("reader");
        assert_eq!(notices, 1, "one leave notice each");
        done.push(client);
    }
    for client in &mut done {
        client.expect_silence(QUIET);
    }
    server.wait_for_output("stalled dropped: too slow, its queue is full");
    drop(stalled);

    if let (Some((rss_before, _)), Some((rss_after, peak))) = (before, memory(&server)) {
        eprintln!(
            "stalled client, 20 MB sent: VmRSS {rss_before} KiB before, {rss_after} KiB after, VmHWM {peak} KiB"
        );
        // The stalled client's queue is bounded (8 MiB by default); without
        // a bound it would have grown by most of the 10+ MB it missed.
        assert!(
            peak < rss_before + 16 * 1024,
            "server memory grew to {peak} KiB"
        );
    }
}

/// One write of 20 MB from alice: sloth never reads and is dropped; bob
/// reads as fast as he can and gets every line, in order.
#[test]
fn a_flood_in_one_write_drops_only_the_reader_who_stopped() {
    const LINES: usize = 20_000;
    const LINE: usize = 1000;
    // Room for bob to fall 8 MiB behind (the byte bound) before he counts
    // as stalled: a test reader may lose the CPU for a moment on a busy
    // machine.
    let server = Server::start(BIN, &["--queue-messages", "20000"]);
    let clients = room(&server, &["sloth", "bob", "alice"]);
    let [sloth, bob, mut alice]: [Client; 3] = clients.try_into().ok().unwrap();
    let line = |i: usize| format!("{i:05} {}", "x".repeat(LINE - 6));
    let reader = thread::spawn(move || {
        let mut bob = bob;
        let (mut next, mut notices) = (0, 0);
        while next < LINES || notices == 0 {
            let got = bob.read_line();
            if got == "SERVER: sloth has left the chat." {
                notices += 1;
            } else {
                assert_eq!(got, format!("alice: {}", line(next)), "line {next}");
                next += 1;
            }
        }
        assert_eq!(notices, 1);
    });
    let flood: String = (0..LINES).map(|i| line(i) + "\n").collect();
    alice.send(flood.as_bytes());
    reader
        .join()
        .expect("bob got every line, and one leave notice");
    server.wait_for_output("sloth dropped: too slow, its queue is full");
    assert!(
        !server.output().contains("bob dropped"),
        "{}",
        server.output()
    );
    drop(sloth);
}

/// An idle client's queue costs only what it holds: the bound is a limit,
/// not a reservation. (A `sync_channel(65536)` reserved 1.5 MiB for each.)
#[cfg(target_os = "linux")]
#[test]
fn an_idle_client_costs_little_memory_whatever_the_queue_bound() {
    const IDLE: usize = 100;
    let server = Server::start(BIN, &["--queue-messages", "65536"]);
    let mut clients = room(&server, &["alice"]);
    let pid = server.pid();
    let before = proc::status_kib(pid, "VmRSS").expect("VmRSS");
    for i in 0..IDLE {
        let name = format!("idle{i}");
        clients.push(server.join(&name));
        clients[0].expect_line(&format!("SERVER: {name} has joined the chat."));
    }
    let after = proc::status_kib(pid, "VmRSS").expect("VmRSS");
    let per_client = after.saturating_sub(before) / IDLE as u64;
    eprintln!(
        "{IDLE} idle clients at --queue-messages 65536: VmRSS {before} KiB before, {after} KiB after, {per_client} KiB each"
    );
    assert!(per_client < 64, "{per_client} KiB per idle client");
}

#[test]
fn a_client_whose_writes_time_out_is_dropped() {
    // A queue far too big to fill: only the write timeout can catch it.
    let server = Server::start(
        BIN,
        &[
            "--write-timeout",
            "1",
            "--queue-bytes",
            "268435456",
            "--queue-messages",
            "10000",
        ],
    );
    let clients = room(&server, &["alice", "bob", "stalled"]);
    let [mut alice, bob, stalled]: [Client; 3] = clients.try_into().ok().unwrap();
    const LINES: usize = 2000;
    let reader = thread::spawn(move || {
        let mut bob = bob;
        for i in 0..LINES {
            assert_eq!(
                bob.read_line(),
                format!("alice: {i:04} {}", "y".repeat(4000))
            );
        }
        bob.expect_line("SERVER: stalled has left the chat.");
        bob.expect_silence(QUIET);
    });
    // 8 MB: more than the kernel buffers between server and `stalled`.
    for i in 0..LINES {
        alice.send_line(&format!("{i:04} {}", "y".repeat(4000)));
    }
    server.wait_for_output("stalled left: stopped reading (write timed out)");
    reader.join().expect("bob got everything, then one notice");
    alice.expect_line("SERVER: stalled has left the chat.");
    drop(stalled);
}

// ---------------------------------------------------------------------------
// Threads come and go with their clients

#[cfg(target_os = "linux")]
#[test]
fn five_thousand_connections_leave_no_trace() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice"]);
    let alice = &mut clients[0];
    let pid = server.pid();
    let (fds, threads) = (proc::open_fds(pid).unwrap(), proc::threads(pid).unwrap());

    for i in 0..5_000 {
        let mut stream = TcpStream::connect(server.addr).expect("connect");
        match i % 100 {
            // Most come and go without a word...
            0..=96 => {}
            // ...some send half a line, some vanish with a reset...
            97 => stream.write_all(b"half a na").expect("send"),
            98 => testkit::reset_connection(stream),
            // ...and some join, talk and leave in one write.
            _ => {
                let name = format!("churn{i}");
                stream
                    .write_all(format!("{name}\nbye from {name}\nbye\n").as_bytes())
                    .expect("send");
                alice.expect_line(&format!("SERVER: {name} has joined the chat."));
                alice.expect_line(&format!("{name}: bye from {name}"));
                alice.expect_line(&format!("SERVER: {name} has left the chat."));
            }
        }
    }
    wait_until(
        "descriptors and threads are back to where they were",
        || proc::open_fds(pid) == Some(fds) && proc::threads(pid) == Some(threads),
    );
    eprintln!("after 5,000 connections: {fds} descriptors, {threads} threads, as before");
    alice.expect_silence(QUIET);
}

// ---------------------------------------------------------------------------
// Order

#[test]
fn every_sender_is_heard_in_order_exactly_once() {
    const EACH: usize = 300;
    let server = Server::start(BIN, &[]);
    let names = ["alice", "bob", "carol", "dave"];
    let clients = room(&server, &names);
    // Everyone sends at once (each in one write, small enough to fit in the
    // socket buffers) while everyone reads.
    let threads: Vec<_> = clients
        .into_iter()
        .zip(names)
        .map(|(mut client, me)| {
            thread::spawn(move || {
                let burst: String = (0..EACH).map(|i| format!("{me} {i}\n")).collect();
                client.send(burst.as_bytes());
                let others: Vec<&str> = names.into_iter().filter(|n| *n != me).collect();
                let mut next = vec![0; others.len()];
                // And a newcomer joins and leaves in the middle of it.
                let mut erin = Vec::new();
                while next.iter().any(|&n| n < EACH)
                    || erin.last().is_none_or(|l: &String| !l.contains("left"))
                {
                    let line = client.read_line();
                    if line.starts_with("SERVER: erin") || line.starts_with("erin: ") {
                        erin.push(line);
                        continue;
                    }
                    let (from, text) = line.split_once(": ").expect("NAME: TEXT");
                    let k = others.iter().position(|o| *o == from).expect("a sender");
                    assert_eq!(
                        text,
                        format!("{from} {}", next[k]),
                        "{me} got it out of order"
                    );
                    next[k] += 1;
                }
                (client, erin)
            })
        })
        .collect();
    // Erin's name, her messages and her goodbye in one write: the join
    // notice must come before her first message, the leave notice after
    // her last, at everyone.
    let mut erin = server.connect();
    let erins: String = (0..50).map(|i| format!("erin says {i}\n")).collect();
    erin.send(format!("erin\n{erins}bye\n").as_bytes());
    // Until her goodbye, Erin hears the others like everyone; then DONE.
    while erin.read_line() != "DONE" {}
    erin.expect_closed();
    let mut expected = vec!["SERVER: erin has joined the chat.".to_string()];
    expected.extend((0..50).map(|i| format!("erin: erin says {i}")));
    expected.push("SERVER: erin has left the chat.".to_string());
    let mut done = Vec::new();
    for thread in threads {
        let (client, heard_of_erin) = thread.join().expect("a reader");
        assert_eq!(heard_of_erin, expected);
        done.push(client);
    }
    // Nothing twice: nothing more arrives.
    for client in &mut done {
        client.expect_silence(QUIET);
    }
}
