//! `cargo xtask diff` through the real binary, on the course's own crates:
//! each diff must show the idea that step or exercise is about.

use assert_cmd::Command;

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
    let out = diff(&["3", "step4"]);
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

/// The bonus step is step 6 with tasks instead of threads: its diff shows
/// the `.await`s and `tokio::spawn`, and nothing of the room's rules.
#[test]
fn steps_6_to_8_show_only_the_async_change() {
    let out = diff(&["6", "8"]);
    assert!(
        out.contains("+++ b/session2/step8-async/src/client.rs\n"),
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
    // Names, lines, flood control and seats are step 6's files: at most a
    // word of their comments changed (thread, task), none of their code.
    for file in ["names.rs", "lines.rs", "flood.rs", "seats.rs"] {
        let header = format!("+++ b/session2/step8-async/src/{file}\n");
        let Some(start) = out.find(&header) else {
            continue; // identical, so not in the diff at all
        };
        let section = &out[start + header.len()..];
        let end = section.find("\n--- ").unwrap_or(section.len());
        for line in section[..end].lines() {
            let changed = line.starts_with('+') || line.starts_with('-');
            assert!(
                !changed || line[1..].trim_start().starts_with("//"),
                "{file} changed outside its comments: {line}"
            );
        }
    }
}

#[test]
fn exercise_1_diff_is_the_echo_loop() {
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
fn one_lone_number_is_refused_with_both_meanings() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["diff", "4"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cargo xtask diff 3 4"), "{stderr}");
    assert!(stderr.contains("cargo xtask diff exercise4"), "{stderr}");
}
