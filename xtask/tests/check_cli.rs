//! `cargo xtask check`, `list` and `hint` as a student runs them: exit
//! status, what the output says, `--json`, `--addr`.

use std::net::TcpListener;

use assert_cmd::Command;
use xtask::course;

fn xtask() -> Command {
    let mut command = Command::cargo_bin("xtask").unwrap();
    command.env("NO_COLOR", "1");
    command
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_passing_solution_exits_zero_with_a_summary() {
    if course::solution(1).is_none() {
        println!("note: no solutions/ here: skipped");
        return;
    }
    let output = xtask().args(["check", "1", "--solution"]).output().unwrap();
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("PASS  a line comes back unchanged"), "{text}");
    assert!(text.contains("exercise1: all 6 scenarios passed"), "{text}");
    assert!(!text.contains('\x1b'), "no colour off a terminal: {text}");
}

#[test]
fn the_untouched_starter_fails_with_a_transcript_and_a_hint() {
    let Some(exercise) = course::exercise(1) else {
        return;
    };
    if course::is_untouched(&exercise) == Some(false) {
        println!("note: exercises/exercise1 was changed; skipped");
        return;
    }
    let output = xtask().args(["check", "exercise1"]).output().unwrap();
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    for needle in [
        "FAIL  a line comes back unchanged",
        r#"expected: ann receives "hello\n""#,
        "got:      the server closed ann's connection",
        r#"ann -> "hello\n""#,
        "server |  listening on 127.0.0.1:",
        "hint: The server closed ann's connection",
        "Read what the client sent",
        "exercise1: 0/6 scenarios passed",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn json_gives_one_object_per_scenario() {
    if course::solution(1).is_none() {
        println!("note: no solutions/ here: skipped");
        return;
    }
    let output = xtask()
        .args(["check", "1", "--solution", "--json"])
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    for line in lines {
        assert!(
            line.starts_with(r#"{"exercise":1,"target":"solutions/exercise1","scenario":""#),
            "{line}"
        );
        assert!(
            line.contains(r#""passed":true"#) && line.ends_with('}'),
            "{line}"
        );
    }
}

#[test]
fn addr_with_nothing_listening_says_so() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let output = xtask()
        .args(["check", "2", "--addr", &addr, "--timeout", "1"])
        .output()
        .unwrap();
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("connection to {addr} refused")),
        "{text}"
    );
    assert!(text.contains("Is the server running"), "{text}");
    assert!(
        text.contains("the server's own output is not visible from here"),
        "{text}"
    );
}

#[test]
fn a_step_can_be_graded_with_a_later_check() {
    if course::step(2).is_none() {
        return;
    }
    let output = xtask().args(["check", "2", "--step=1"]).output().unwrap();
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("grading session2/step1-"), "{text}");
}

#[test]
fn bad_arguments_are_explained() {
    let output = xtask().args(["check", "10"]).output().unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("exercise1 .. exercise8"), "{err}");
    let output = xtask()
        .args(["check", "1", "--addr", "nowhere"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("is not HOST:PORT"), "{err}");
}

#[test]
fn list_shows_every_exercise_and_progress() {
    let output = xtask().args(["list"]).output().unwrap();
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("exercise1"), "{text}");
    assert!(text.contains("progress: ["), "{text}");
}

/// A directory of its own for a command's remembered state (results,
/// hints): `CARGO_TARGET_DIR` moves it, for commands that build nothing.
fn state_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn list_shows_the_last_result_of_each_exercise_and_what_changed_since() {
    use std::collections::BTreeMap;
    use xtask::results::{self, Graded, Record};
    let (Some(one), Some(two)) = (course::exercise(1), course::exercise(2)) else {
        return;
    };
    let dir = state_dir("list");
    let results = BTreeMap::from([
        (
            1,
            Record {
                graded: Graded::Failing {
                    passed: 2,
                    total: 6,
                },
                fingerprint: results::fingerprint(&one.dir),
            },
        ),
        (
            2,
            Record {
                graded: Graded::Passing,
                // Not the files as they are: changed since that check.
                fingerprint: results::fingerprint(&two.dir) ^ 1,
            },
        ),
    ]);
    results::write(&dir.join("xtask-results.txt"), &results).unwrap();
    let output = xtask()
        .env("CARGO_TARGET_DIR", &dir)
        .arg("list")
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    let line = |n: u8| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("exercise{n} ")))
            .unwrap_or_else(|| panic!("no exercise{n} in:\n{text}"))
            .to_string()
    };
    assert!(line(1).contains("failing 2/6"), "{text}");
    assert!(line(2).contains("changed since: was passing"), "{text}");
    assert!(text.contains("next: cargo xtask check exercise1"), "{text}");
    assert!(text.contains("target/xtask-results.txt"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs xtask with `args` and its stdout closed before it writes a byte
/// (as `| head -1` does after one line): it must end quietly, without a
/// panic about a broken pipe.
fn with_stdout_closed(args: &[&str], target_dir: Option<&std::path::Path>) {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("xtask"));
    command
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(dir) = target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    let mut child = command.spawn().unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "xtask {args:?} with stdout closed said:\n{err}"
    );
    assert_ne!(
        output.status.code(),
        Some(101),
        "xtask {args:?} panicked:\n{err}"
    );
}

#[test]
fn a_closed_stdout_ends_check_list_hint_and_myip_quietly() {
    with_stdout_closed(&["check", "1", "--solution"], None);
    with_stdout_closed(&["check", "4", "--list"], None);
    with_stdout_closed(&["list"], None);
    with_stdout_closed(&["myip"], None);
    with_stdout_closed(&["myip", "--json"], None);
    // `hint` remembers what it showed: in a directory of its own here.
    let dir = state_dir("hint");
    with_stdout_closed(&["hint", "1"], Some(&dir));
    with_stdout_closed(&["hint", "1", "--all"], Some(&dir));
    std::fs::remove_dir_all(dir).unwrap();
}
