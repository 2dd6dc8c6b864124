//! `cargo xtask watch` away from a terminal. (Its keys and screen need a
//! terminal: the course checks them in tmux; what decides when to grade,
//! and how a grading stops, is tested in the xtask-watch package.)

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
