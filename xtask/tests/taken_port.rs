//! Every server of the course (the steps, the exercises' starters and the
//! solutions that are there) says in one line and a hint that its port is
//! taken, and nothing more, even with `RUST_BACKTRACE=1`, which many
//! students have set: no `Error:` dump, no backtrace.

use std::net::TcpListener;
use std::time::Duration;

use assert_cmd::Command;
use xtask::build::{self, Profile};
use xtask::course::{self, EXERCISES};

#[test]
fn a_taken_port_is_one_clear_line_and_a_hint_whatever_rust_backtrace_says() {
    let mut packages: Vec<String> = (1..=99)
        .filter_map(course::step)
        .map(|step| step.name)
        .collect();
    for n in EXERCISES {
        packages.extend(course::exercise(n).map(|p| p.name));
        packages.extend(course::solution(n).map(|p| p.name));
    }
    let names: Vec<&str> = packages.iter().map(String::as_str).collect();
    let binaries = build::build_binaries(&names, Profile::Dev).expect("the servers build");

    // Held for the whole test: every server finds this port taken.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let mut wrong = Vec::new();
    for (name, binary) in names.iter().zip(&binaries) {
        let output = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port])
            .env("RUST_BACKTRACE", "1")
            .timeout(Duration::from_secs(10))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let ok = output.status.code() == Some(1)
            && output.stdout.is_empty()
            && lines.len() == 2
            && lines[0].starts_with(&format!("error: cannot listen on 127.0.0.1:{port}: "))
            && lines[1].contains("another server is running")
            && lines[1].contains("--port 0");
        if !ok {
            wrong.push(format!("{name} ({}):\n{stderr}", output.status));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
