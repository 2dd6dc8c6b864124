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
    let output = xtask().args(["check", "9"]).output().unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("exercise1 .. exercise7"), "{err}");
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
