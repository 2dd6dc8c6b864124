//! `cargo xtask check --share` as a student runs it: the result reaches a
//! real class board; a board that is down, or that never answers, costs
//! one line and at most two seconds, and the result is printed all the
//! same; `cargo xtask share` remembers and forgets. Loopback only.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use testkit::Server;
use xtask::build::{self, Profile};
use xtask::course;
use xtask::share::wire::SEND_DEADLINE;

/// The runner, with its state files (results, hints, sharing) in a target
/// directory of the test's own, so that nothing a student remembered
/// (a board to share with) changes what the test sees, and the reverse.
fn xtask(state: &TempTarget) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .env("NO_COLOR", "1")
        .env("XTASK_STATE_DIR", &state.0);
    command
}

/// A directory removed on drop (also when the test fails).
struct TempTarget(std::path::PathBuf);

impl TempTarget {
    fn new(name: &str) -> TempTarget {
        let dir = std::env::temp_dir().join(format!("xtask-share-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempTarget(dir)
    }
}

impl Drop for TempTarget {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills the child on drop (also on panic).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What `check` printed, each line with when it arrived, and how it ended.
struct Run {
    lines: Vec<(Instant, String)>,
    ended: Instant,
    code: Option<i32>,
}

impl Run {
    fn text(&self) -> String {
        let lines: Vec<&str> = self.lines.iter().map(|(_, l)| l.as_str()).collect();
        lines.join("\n")
    }

    /// When the line starting with `prefix` was printed.
    fn printed(&self, prefix: &str) -> Instant {
        self.lines
            .iter()
            .find(|(_, line)| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{}", self.text()))
            .0
    }
}

/// Runs `command`, timing each stdout line; stderr is kept too.
fn run(mut command: Command) -> Run {
    let mut child = Running(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send((Instant::now(), line));
        }
    });
    let errors = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("check did not end in 5 minutes"),
        }
    }
    let status = child.0.wait().unwrap();
    let ended = Instant::now();
    for line in errors.join().unwrap().lines() {
        lines.push((ended, format!("stderr: {line}")));
    }
    Run {
        lines,
        ended,
        code: status.code(),
    }
}

fn exercise1_is_there() -> bool {
    if course::exercise(1).is_none() {
        println!("note: no exercises/exercise1 here: skipped");
        return false;
    }
    true
}

#[test]
fn a_result_reaches_a_real_board_and_is_on_its_row() {
    if !exercise1_is_there() {
        return;
    }
    let board = build::build_binary(xtask::board::PACKAGE, Profile::Dev).expect("the board builds");
    let board = Server::start(board, &[]);
    let state = TempTarget::new("real");
    let mut check = xtask(&state);
    check.args([
        "check",
        "exercise1",
        "--share",
        &board.addr.to_string(),
        "--name",
        "Zoë",
    ]);
    let run = run(check);
    let text = run.text();
    assert!(text.contains("exercise1: "), "{text}");
    assert!(
        text.contains(&format!(
            "shared the result with the class board at {} as Zoë",
            board.addr
        )),
        "{text}"
    );
    board.wait_for_output("row 1 Zoë 127.0.0.1 exercise1 ");
}

#[test]
fn a_board_that_is_down_costs_one_line() {
    if !exercise1_is_there() {
        return;
    }
    // A port nothing listens on any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let state = TempTarget::new("down");
    let mut check = xtask(&state);
    check.args([
        "check",
        "1",
        "--share",
        &format!("127.0.0.1:{port}"),
        "--name",
        "ann",
    ]);
    let run = run(check);
    let text = run.text();
    let said: Vec<&str> = text.lines().filter(|l| l.contains("class board")).collect();
    assert_eq!(
        said,
        [format!(
            "the class board at 127.0.0.1:{port} did not get this result: nothing listens \
             there (is the board running?); your result above stands"
        )],
        "{text}"
    );
    // The result is there, and the exit status is the grading's.
    assert!(text.contains("exercise1: "), "{text}");
    let graded = results_say_graded(&state);
    assert_eq!(run.code, Some(if graded { 0 } else { 1 }), "{text}");
}

#[test]
fn a_board_that_never_answers_delays_the_check_two_seconds_at_most() {
    if !exercise1_is_there() {
        return;
    }
    // Connections complete (the system accepts them) but nothing is ever
    // read or answered.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = silent.local_addr().unwrap();
    let state = TempTarget::new("silent");
    let mut check = xtask(&state);
    check.args(["check", "1", "--share", &addr.to_string(), "--name", "ann"]);
    let run = run(check);
    let text = run.text();
    assert!(
        text.contains(&format!(
            "the class board at {addr} did not get this result: no answer within 2 s"
        )),
        "{text}"
    );
    // From the grading's last line to the end: the sharing's two seconds,
    // and the time a process takes to end (generous: the machine is shared).
    let waited = run.ended - run.printed("exercise1: ");
    assert!(
        waited < SEND_DEADLINE + Duration::from_secs(2),
        "the check ended {waited:?} after its result:\n{text}"
    );
    drop(silent);
}

#[test]
fn share_remembers_for_every_check_and_off_forgets() {
    let state = TempTarget::new("remember");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let board = format!("127.0.0.1:{port}");
    let run_share = |args: &[&str]| {
        let output = xtask(&state).arg("share").args(args).output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (ok, text) = run_share(&[&board, "--name", "ann"]);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!(
            "share each result with the class board at {board} as ann"
        )),
        "{text}"
    );
    assert!(text.contains("cannot be reached now"), "{text}");
    let (_, text) = run_share(&[]);
    assert!(
        text.contains(&format!("sharing with the class board at {board} as ann")),
        "{text}"
    );
    // A prank name is refused before anything is remembered.
    let (ok, text) = run_share(&[&board, "--name", "ann\u{202e}"]);
    assert!(!ok && text.contains("direction-changing"), "{text}");
    let (ok, _) = run_share(&["--off"]);
    assert!(ok);
    let (_, text) = run_share(&[]);
    assert!(text.contains("not sharing"), "{text}");
    // --name alone has nowhere to go.
    let output = xtask(&state)
        .args(["check", "1", "--name", "ann"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("--name goes with --share"),
        "{stderr}"
    );
}

/// Whether the results file says exercise 1 passes.
fn results_say_graded(state: &TempTarget) -> bool {
    std::fs::read_to_string(state.0.join("xtask-results.txt"))
        .unwrap_or_default()
        .contains("exercise1 passing")
}
