//! The class board as a room of students and a prankster use it, on
//! loopback: thirty students reporting at once each get their row right;
//! every prank of the issue gets its sender a one-line refusal (or a slower
//! pace), leaves the board running and every honest row as it was, and
//! memory bounded.
//!
//! Students report from several loopback addresses where the system has
//! them (127.0.0.2 ... on Linux and Windows), as laptops on a Wi-Fi would;
//! where only 127.0.0.1 exists (macOS), the board is told that many
//! students share one address, and the parts that need a second address
//! say they are skipped.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};
use testkit::{Server, TIMEOUT};
use xtask::course::EXERCISES;

const BOARD: &str = env!("CARGO_BIN_EXE_class-board");

/// A CSV file in a directory removed on drop.
struct TempCsv {
    dir: PathBuf,
}

impl TempCsv {
    fn new(name: &str) -> TempCsv {
        let dir = std::env::temp_dir().join(format!("class-board-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempCsv { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("grades.csv")
    }

    fn arg(&self) -> String {
        self.path().to_string_lossy().into_owned()
    }

    fn read(&self) -> String {
        std::fs::read_to_string(self.path()).unwrap_or_default()
    }

    /// Waits (at most [`TIMEOUT`]) until the CSV has `rows` rows and
    /// satisfies `done`: the board writes it just after it answers.
    fn wait_for(&self, rows: usize, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = self.read();
            if text.lines().count() == rows + 1 && done(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "the CSV never had {rows} rows as expected:\n{text}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TempCsv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `127.0.0.N`.
fn loopback(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// Whether connections can come from 127.0.0.2 (and the like) here.
fn several_addresses() -> bool {
    Socket::new(Domain::IPV4, Type::STREAM, None)
        .and_then(|s| s.bind(&SockAddr::from(SocketAddr::new(loopback(2), 0))))
        .is_ok()
}

/// A connection to the board from `from`.
fn connect(board: SocketAddr, from: IpAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&SockAddr::from(SocketAddr::new(from, 0)))
        .unwrap_or_else(|e| panic!("cannot send from {from}: {e}"));
    socket
        .connect_timeout(&SockAddr::from(board), TIMEOUT)
        .unwrap_or_else(|e| panic!("cannot connect to {board} from {from}: {e}"));
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// Sends `bytes` from `from` and returns the board's answer (its line).
fn send(board: SocketAddr, from: IpAddr, bytes: &[u8]) -> String {
    let mut stream = connect(board, from);
    stream.write_all(bytes).unwrap();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    answer(&mut stream)
}

/// Reads the answer up to its newline or the close.
fn answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 512];
    while !answer.contains(&b'\n') {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(e) => panic!("no answer from the board: {e}"),
        }
    }
    String::from_utf8_lossy(&answer).trim_end().to_string()
}

/// A report as `check --share` sends it (see xtask::share::wire).
fn report(name: &str, exercise: u8, result: &Outcome) -> String {
    let rows = match result {
        Outcome::Passed => {
            r#","rows":[{"scenario":"one","passed":true,"seconds":0.1},{"scenario":"two","passed":true,"seconds":0.2}]"#
        }
        Outcome::Failing => {
            r#","rows":[{"scenario":"one","passed":true,"seconds":0.1},{"scenario":"two","passed":false,"seconds":3.0,"diagnosis":"missing-newline"},{"scenario":"three","passed":false,"seconds":0.5,"diagnosis":"crashed"}]"#
        }
        Outcome::DoesNotBuild => "",
    };
    let builds = !matches!(result, Outcome::DoesNotBuild);
    format!("{{\"name\":\"{name}\",\"exercise\":{exercise},\"builds\":{builds}{rows}}}\n")
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Passed,
    Failing,
    DoesNotBuild,
}

impl Outcome {
    fn cell(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failing => "1/3 missing-newline",
            Outcome::DoesNotBuild => "does not build",
        }
    }
}

/// The CSV row whose name and address are these, as fields.
fn csv_row(csv: &str, name: &str, address: IpAddr) -> Vec<String> {
    let rows: Vec<Vec<String>> = csv
        .lines()
        .map(csv_fields)
        .filter(|fields: &Vec<String>| {
            fields.get(1).map(String::as_str) == Some(name)
                && fields.get(2) == Some(&address.to_string())
        })
        .collect();
    assert_eq!(rows.len(), 1, "one row for {name} from {address}:\n{csv}");
    rows.into_iter().next().unwrap()
}

/// The fields of a CSV line (RFC 4180: quoted fields, `""` for a quote).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[test]
fn thirty_students_reporting_at_once_each_get_their_row() {
    let several = several_addresses();
    let csv = TempCsv::new("thirty");
    // Where thirty students must share 127.0.0.1, the board is told so.
    let per_address = if several { "4" } else { "30" };
    let board = Server::start(BOARD, &["--csv", &csv.arg(), "--per-address", per_address]);
    let addr = board.addr;
    let exercises: Vec<u8> = EXERCISES.collect();
    let students: Vec<(String, IpAddr, u8, Outcome)> = (0..30u8)
        .map(|i| {
            let from = if several {
                loopback(i + 1)
            } else {
                loopback(1)
            };
            let outcome =
                [Outcome::Passed, Outcome::Failing, Outcome::DoesNotBuild][usize::from(i % 3)];
            let exercise = exercises[usize::from(i) % exercises.len()];
            (format!("student{i:02}"), from, exercise, outcome)
        })
        .collect();
    let start = Arc::new(Barrier::new(students.len()));
    let senders: Vec<_> = students
        .iter()
        .cloned()
        .map(|(name, from, exercise, outcome)| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                let line = report(&name, exercise, &outcome);
                let mut stream = connect(addr, from);
                start.wait();
                stream.write_all(line.as_bytes()).unwrap();
                answer(&mut stream)
            })
        })
        .collect();
    for (sender, (name, ..)) in senders.into_iter().zip(&students) {
        let said = sender.join().unwrap();
        assert!(
            said.starts_with("ok: exercise")
                && said.contains(&format!("recorded for {name} (row ")),
            "{name}: {said}"
        );
    }
    let text = csv.wait_for(students.len(), |_| true);
    for (name, from, exercise, outcome) in &students {
        let fields = csv_row(&text, name, *from);
        for (i, n) in EXERCISES.enumerate() {
            let expected = if n == *exercise { outcome.cell() } else { "" };
            assert_eq!(fields[3 + i], expected, "{name}, exercise{n}:\n{text}");
        }
        assert_eq!(
            fields.last().map(String::as_str),
            Some(""),
            "no note for {name}:\n{text}"
        );
    }
    // Without a terminal, one line per report.
    for (name, from, exercise, outcome) in &students {
        board.wait_for_output(&format!(
            "{name} {from} exercise{exercise} {}",
            outcome.cell()
        ));
    }
}

#[test]
fn pranks_leave_the_board_running_and_every_honest_row_as_it_was() {
    // The prankster's thousand connections need as many file descriptors.
    let _ = rlimit::increase_nofile_limit(4096);
    let several = several_addresses();
    if !several {
        println!("note: only 127.0.0.1 here: the second-address parts are skipped");
    }
    let csv = TempCsv::new("pranks");
    // On one address, the honest and the prankster share it: room for all.
    let per_address: usize = if several { 4 } else { 8 };
    let mut board = Server::start(
        BOARD,
        &[
            "--csv",
            &csv.arg(),
            "--per-address",
            &per_address.to_string(),
        ],
    );
    let addr = board.addr;
    let honest = loopback(1);
    let prankster = if several { loopback(2) } else { loopback(1) };

    let said = send(
        addr,
        honest,
        report("alice", 1, &Outcome::Passed).as_bytes(),
    );
    assert!(said.starts_with("ok: "), "{said}");
    let said = send(addr, honest, report("bob", 2, &Outcome::Failing).as_bytes());
    assert!(said.starts_with("ok: "), "{said}");
    let before = csv.wait_for(2, |_| true);
    let alice = csv_row(&before, "alice", honest);
    let bob = csv_row(&before, "bob", honest);

    // A connection that trickles half a line and stalls: refused in time.
    let mut stalled = connect(addr, prankster);
    // Longer than the board waits for a line.
    stalled.set_read_timeout(Some(TIMEOUT * 2)).unwrap();
    stalled.write_all(b"{\"name\":").unwrap();
    let stalled = thread::spawn(move || answer(&mut stalled));

    let refused = |bytes: &[u8], why: &str| {
        let said = send(addr, prankster, bytes);
        assert!(
            said.starts_with("refused: ") && said.contains(why),
            "{why}: {said}"
        );
    };
    let mut long = vec![b'x'; 20 * 1024];
    long.push(b'\n');
    refused(&long, "a line longer than 16 KiB");
    refused(b"{not json\n", "not a report");
    refused(b"\xff\xfe\xfd\n", "not a report");
    refused(
        report("mallory", 99, &Outcome::Passed).as_bytes(),
        "unknown exercise",
    );
    refused(
        report("mal\\u001b[2Jlory", 1, &Outcome::Passed).as_bytes(),
        "control character",
    );
    refused(
        report("yrollam\\u202e", 1, &Outcome::Passed).as_bytes(),
        "direction-changing",
    );
    refused(
        report("mal\\u200blory", 1, &Outcome::Passed).as_bytes(),
        "invisible",
    );

    if several {
        // Alice's name from a second address: a second row, marked.
        let said = send(
            addr,
            prankster,
            report("alice", 1, &Outcome::Failing).as_bytes(),
        );
        assert!(said.starts_with("ok: "), "{said}");
        let text = csv.wait_for(3, |_| true);
        let twin = csv_row(&text, "alice", prankster);
        assert_eq!(twin[3], "1/3 missing-newline");
        assert_eq!(
            twin.last().map(String::as_str),
            Some("same name as row 1"),
            "{text}"
        );
        assert_eq!(csv_row(&text, "alice", honest), alice, "never merged");
    }

    // A thousand connections at once from one laptop.
    let flood: Vec<TcpStream> = (0..1000).map(|_| connect(addr, prankster)).collect();
    if several {
        // Meanwhile, a classmate elsewhere reports as usual.
        let said = send(
            addr,
            honest,
            report("carol", 3, &Outcome::Passed).as_bytes(),
        );
        assert!(said.starts_with("ok: "), "during the flood: {said}");
    }
    // Most were refused at once, in one line.
    let mut told = 0;
    for mut stream in flood.into_iter().take(50) {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buffer = [0u8; 256];
        if let Ok(n) = stream.read(&mut buffer) {
            told +=
                usize::from(String::from_utf8_lossy(&buffer[..n]).contains("too many connections"));
        }
    }
    assert!(told > 0, "no connection was refused");
    if !several {
        let said = send(
            addr,
            honest,
            report("carol", 3, &Outcome::Passed).as_bytes(),
        );
        assert!(said.starts_with("ok: "), "after the flood: {said}");
    }

    // A thousand reports as fast as one laptop can send them: paced.
    let mut recorded = 0;
    let mut paced = 0;
    for _ in 0..1000 {
        let said = send(
            addr,
            prankster,
            report("mallory", 1, &Outcome::Passed).as_bytes(),
        );
        if said.starts_with("ok: ") {
            recorded += 1;
        } else if said.contains("too many") {
            paced += 1;
        }
    }
    // A burst of ten per student, then a steady pace: a few more.
    let most = 10 * per_address + 20;
    assert!(recorded <= most, "{recorded} of 1000 recorded");
    assert!(paced >= 1000 - most, "only {paced} of 1000 paced");

    let said = stalled.join().unwrap();
    assert!(said.contains("no complete line within 5 s"), "{said}");

    // Still running, still answering, the honest rows as they were.
    assert!(board.is_running(), "the board stopped:\n{}", board.output());
    let dave = report("dave", 4, &Outcome::DoesNotBuild);
    let mut said = send(addr, honest, dave.as_bytes());
    if !several {
        // Dave shares the flooder's address, and so its pace: the next
        // report is due within a second.
        let deadline = Instant::now() + TIMEOUT;
        while said.contains("too many reports") && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
            said = send(addr, honest, dave.as_bytes());
        }
    }
    assert!(said.starts_with("ok: "), "{said}");
    let rows = if several { 6 } else { 5 };
    let text = csv.wait_for(rows, |text| text.contains("dave"));
    assert_eq!(csv_row(&text, "alice", honest), alice, "{text}");
    assert_eq!(csv_row(&text, "bob", honest), bob, "{text}");

    // Bounded: memory and threads, where /proc tells (Linux).
    if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", board.pid())) {
        let field = |name: &str| -> u64 {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            line[name.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap()
        };
        let peak_mib = field("VmHWM:") / 1024;
        assert!(
            peak_mib < 100,
            "the board's memory peaked at {peak_mib} MiB"
        );
        assert!(field("Threads:") < 300, "{status}");
    }
    // The log says every refusal, but not a line per flooded connection.
    let output = board.output();
    assert!(
        output.lines().count() < 200,
        "{} lines:\n{output}",
        output.lines().count()
    );
    assert!(output.contains("refused 127.0.0."), "{output}");
}

#[test]
fn a_full_board_and_a_busy_address_still_answer_in_one_line() {
    let board = Server::start(BOARD, &["--per-address", "1"]);
    let from = loopback(1);
    let said = send(
        board.addr,
        from,
        report("ann", 1, &Outcome::Passed).as_bytes(),
    );
    assert!(said.starts_with("ok: "), "{said}");
    let said = send(
        board.addr,
        from,
        report("ben", 1, &Outcome::Passed).as_bytes(),
    );
    assert_eq!(
        said,
        "refused: 127.0.0.1 already reports as ann; the board takes 1 name per address"
    );
    // A connection that says nothing is no report and no refusal.
    drop(connect(board.addr, from));
    let said = send(
        board.addr,
        from,
        report("ann", 2, &Outcome::Failing).as_bytes(),
    );
    assert!(
        said.starts_with("ok: exercise2 failing (1/3) recorded for ann (row 1)"),
        "{said}"
    );
}
