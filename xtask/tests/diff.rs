//! `cargo xtask diff` through the real binary, on the course's own crates:
//! each diff must show the idea that step or exercise is about. A diff
//! whose crates are not there (a handout without step 4, or without
//! solutions/) is skipped with a note.

use assert_cmd::Command;
use xtask::course;

/// Whether steps `a` and `b` are both there; prints a note if not.
fn steps_present(a: u8, b: u8) -> bool {
    let present = course::step(a).is_some() && course::step(b).is_some();
    if !present {
        println!("note: no step {a} or {b} here: skipped");
    }
    present
}

/// Runs `cargo xtask diff ARGS` without colour and returns its stdout.
fn diff(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("diff")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "diff {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn added(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect()
}

fn removed(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect()
}

#[test]
fn steps_1_to_2_add_the_thread_spawn() {
    let out = diff(&["1", "2"]);
    assert!(
        out.contains("--- a/session2/step1-blocking-echo/src/main.rs\n"),
        "{out}"
    );
    assert!(
        out.contains("+++ b/session2/step2-threaded-echo/src/main.rs\n"),
        "{out}"
    );
    assert!(
        added(&out).iter().any(|l| l.contains("thread::spawn")),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "no colour off a terminal");
    assert!(out.lines().last().unwrap().contains("changed"), "{out}");
}

#[test]
fn steps_3_to_4_add_the_line_framing() {
    if !steps_present(3, 4) {
        return;
    }
    let out = diff(&["3", "step4"]);
    // The source comes first; the manifest only renames the package, so
    // it is left out.
    let first = out.lines().find(|l| l.starts_with("+++ ")).unwrap();
    assert!(
        first.starts_with("+++ b/session2/step4-framed-chat/src/"),
        "{out}"
    );
    assert!(!out.contains("Cargo.toml"), "{out}");
    assert!(
        out.contains("--- a/session2/step3-chat-server/src/main.rs\n"),
        "{out}"
    );
    assert!(
        out.contains("+++ b/session2/step4-framed-chat/src/main.rs\n"),
        "{out}"
    );
    // The per-connection line buffer arrives in a file of its own...
    assert!(
        out.contains("--- /dev/null\n+++ b/session2/step4-framed-chat/src/lines.rs\n"),
        "{out}"
    );
    // ...and the reading loop now splits what arrives into whole lines.
    let added = added(&out);
    assert!(added.iter().any(|l| l.contains("LineBuffer")), "{out}");
    assert!(
        added.iter().any(|l| l.contains("has joined the chat.")),
        "{out}"
    );
}

/// Step 6's lesson is the writer thread: its diff adds the outbox and the
/// writer, and none of the bonus step's defences.
#[test]
fn step_6_adds_the_outbox_and_nothing_else() {
    if !steps_present(5, 6) {
        return;
    }
    let out = diff(&["5", "6"]);
    assert!(
        out.contains("+++ b/session2/step6-dead-clients/src/outbox.rs\n"),
        "{out}"
    );
    let added = added(&out);
    assert!(
        added.iter().any(|l| l.contains("fn start_writer(")),
        "{out}"
    );
    for defence in ["flood", "Pacer", "skeleton", "max_per_host", "max_line"] {
        assert!(
            !added.iter().any(|l| l.contains(defence)),
            "step 6 adds {defence}:\n{out}"
        );
    }
}

/// Step 7 swaps the line module for the frame module: the diff pairs them,
/// as one file renamed, instead of a file deleted and another added.
#[test]
fn step_7_pairs_lines_with_frames() {
    if !steps_present(6, 7) {
        return;
    }
    let out = diff(&["7"]);
    assert!(
        out.contains(
            "--- a/session2/step6-dead-clients/src/lines.rs\n\
             +++ b/session2/step7-length-prefix/src/frames.rs\n"
        ),
        "{out}"
    );
    assert!(!out.contains("+++ /dev/null"), "{out}");
}

/// The bonus step 8 builds on step 6, not on step 7: `diff 8` compares with
/// step 6, and adds the defences.
#[test]
fn step_8_is_compared_with_step_6() {
    if !steps_present(6, 8) {
        return;
    }
    let out = diff(&["8"]);
    assert_eq!(out, diff(&["6", "8"]));
    assert!(
        out.contains("+++ b/session2/step8-prankster-proof/src/flood.rs\n"),
        "{out}"
    );
}

/// The async bonus is step 8 with tasks instead of threads: its diff shows
/// the `.await`s and `tokio::spawn`; step 8's defences, which it uses from
/// step 8's library, are listed as unchanged, not shown as deleted.
#[test]
fn step_9_shows_only_the_async_change() {
    if !steps_present(8, 9) {
        return;
    }
    let out = diff(&["9"]);
    assert!(
        out.contains("+++ b/session2/step9-async/src/client.rs\n"),
        "{out}"
    );
    let added = added(&out);
    assert!(added.iter().any(|l| l.contains("tokio::spawn")), "{out}");
    assert!(
        added.iter().any(|l| l.contains("readable().await")),
        "{out}"
    );
    assert!(
        added.iter().any(|l| l.contains("time::sleep(wait).await")),
        "{out}"
    );
    assert!(
        removed(&out)
            .iter()
            .any(|l| l.contains("thread::sleep(wait)")),
        "{out}"
    );
    assert!(!out.contains("+++ /dev/null"), "{out}");
    let library = out
        .lines()
        .find(|l| l.starts_with("unchanged, used from the library"))
        .unwrap_or_else(|| panic!("no library line:\n{out}"));
    for file in ["flood.rs", "names.rs", "lines.rs", "seats.rs"] {
        assert!(library.contains(file), "{library}");
    }
}

#[test]
fn exercise_1_diff_is_the_echo_loop() {
    if course::solution(1).is_none() {
        println!("note: no solutions/exercise1 here: skipped");
        return;
    }
    let out = diff(&["exercise1"]);
    assert!(
        out.contains("--- a/exercises/exercise1/src/main.rs\n"),
        "{out}"
    );
    assert!(
        out.contains("+++ b/solutions/exercise1/src/main.rs\n"),
        "{out}"
    );
    let added = added(&out);
    assert!(added.iter().any(|l| l[1..].trim() == "loop {"), "{out}");
    assert!(
        added.iter().any(|l| l.contains("write_all(&buffer[..n])")),
        "{out}"
    );
    assert!(removed(&out).iter().any(|l| l.contains("TODO")), "{out}");
}

#[test]
fn one_number_is_that_step_against_the_one_it_builds_on() {
    assert_eq!(diff(&["2"]), diff(&["1", "2"]));
}

#[test]
fn an_exercise_that_does_not_exist_is_named_without_mentioning_bare_numbers() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["diff", "exercise9"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`exercise9` is not an exercise"),
        "{stderr}"
    );
    assert!(!stderr.contains("number"), "{stderr}");
}
