//! `cargo xtask watch` away from a terminal, and how it stops a grading.
//! (Its keys and screen need a terminal: the course checks them in tmux;
//! what decides when to grade is tested in `src/watch/files.rs`.)

use std::time::Duration;

use assert_cmd::Command;

#[test]
fn without_a_terminal_it_says_so_in_one_line_and_fails() {
    let output = Command::cargo_bin("xtask")
        .unwrap()
        .arg("watch")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("needs a terminal"), "{stderr}");
}

/// Stopping a grading stops what it started too: a build, the servers
/// under test. Played here by a shell that starts a sleeper.
#[cfg(unix)]
#[test]
fn stopping_a_grading_stops_everything_it_started() {
    use std::path::Path;
    use std::process::Command as Process;
    use std::sync::mpsc;
    use std::time::Instant;

    use xtask::watch::child::{Grading, Said};

    let mut command = Process::new("sh");
    command
        .args(["-c", "sleep 300 & echo $!; wait"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let (tx, rx) = mpsc::channel();
    let grading = Grading::start(command, 1, tx, |id, said| (id, said)).unwrap();
    let pid = match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
        (1, Said::Line(line)) => line.trim().parse::<u32>().unwrap(),
        other => panic!("expected the sleeper's pid, got {other:?}"),
    };
    let alive = |pid: u32| {
        // A zombie is as good as gone: it runs nothing.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| !stat.contains(") Z "))
            .unwrap_or(false)
    };
    if !Path::new("/proc/self/stat").exists() {
        println!("note: no /proc here: cannot see the sleeper; skipped");
        return;
    }
    assert!(alive(pid), "the sleeper runs");
    grading.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "the sleeper {pid} outlived its grading"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
