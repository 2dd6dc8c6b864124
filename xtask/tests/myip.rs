//! `cargo xtask myip` on this machine, through the real binary: what it
//! prints must be what `classroom::lan` ranks first, the address every
//! server started with defaults suggests too.

use assert_cmd::Command;
use classroom::lan;

fn xtask() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    // Plain output whatever the terminal running the tests.
    command.env("NO_COLOR", "1");
    command
}

#[test]
fn plain_prints_the_first_ranked_address() {
    let candidates = lan::local_candidates();
    let output = xtask().args(["myip", "--plain"]).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    match candidates.first() {
        Some(best) => {
            assert!(output.status.success());
            assert_eq!(stdout, format!("{}\n", best.ip));
        }
        None => {
            // A machine with only loopback: nothing on stdout, a failure
            // status and a reason on stderr.
            assert_eq!(output.status.code(), Some(1));
            assert_eq!(stdout, "");
            assert!(String::from_utf8_lossy(&output.stderr).contains("no LAN address"));
        }
    }
}

#[test]
fn report_highlights_the_same_address_a_default_server_suggests() {
    let candidates = lan::local_candidates();
    let output = xtask().arg("myip").output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let hint = classroom::connect_hint(
        "0.0.0.0:65433".parse().unwrap(),
        "cargo run -p chat-client --",
        &candidates,
    );
    match candidates.first() {
        Some(best) => {
            let marked = stdout
                .lines()
                .find(|l| l.starts_with("  * "))
                .expect("a line marked as best");
            assert!(marked.contains(&format!(" {} ", best.ip)), "{marked}");
            assert!(marked.contains(&best.interface), "{marked}");
            assert!(stdout.contains(&format!("cargo run -p chat-client -- --host {}\n", best.ip)));
            if best.ip.is_ipv4() {
                assert!(
                    hint[0].contains(&format!("--host {} --port", best.ip)),
                    "{hint:?}"
                );
            }
        }
        None => {
            assert!(stdout.starts_with("No LAN address found."));
            assert!(hint[0].contains("no LAN address"));
        }
    }
}

#[test]
fn json_has_one_object_per_address_in_rank_order() {
    let candidates = lan::local_candidates();
    let output = xtask().args(["myip", "--json"]).output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let objects: Vec<&str> = stdout.lines().filter(|l| l.contains("\"rank\"")).collect();
    assert_eq!(objects.len(), candidates.len(), "{stdout}");
    for (i, (object, candidate)) in objects.iter().zip(&candidates).enumerate() {
        assert!(
            object.contains(&format!("\"rank\": {},", i + 1)),
            "{object}"
        );
        assert!(
            object.contains(&format!("\"ip\": \"{}\"", candidate.ip)),
            "{object}"
        );
    }
}

#[test]
fn plain_and_json_do_not_mix() {
    xtask()
        .args(["myip", "--plain", "--json"])
        .assert()
        .failure();
}

/// Kills the child when dropped, also when the test panics.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_server_started_with_defaults_names_the_address_myip_prints_first() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command as StdCommand, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    let plain = xtask().args(["myip", "--plain"]).output().unwrap();
    let best = String::from_utf8(plain.stdout).unwrap().trim().to_string();
    let binary =
        xtask::build::build_binary("step1-blocking-echo", xtask::build::Profile::Dev).unwrap();
    // Default host (0.0.0.0), a free port. Nothing connects: only its banner is read.
    let mut server = KillOnDrop(
        StdCommand::new(binary)
            .args(["--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = server.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().take(2) {
            let _ = tx.send(line.unwrap_or_default());
        }
    });
    let timeout = Duration::from_secs(10);
    let listening = rx.recv_timeout(timeout).expect("a listening line");
    assert!(
        listening.starts_with("listening on 0.0.0.0:"),
        "{listening}"
    );
    let hint = rx.recv_timeout(timeout).expect("a hint line");
    if best.is_empty() {
        assert!(hint.contains("no LAN address"), "{hint}");
    } else if best.contains(':') {
        // An IPv6 best address: the IPv4-only default bind says to use --host ::.
        assert!(hint.contains(&format!("IPv6 ({best})")), "{hint}");
    } else {
        assert!(hint.contains(&format!("--host {best} --port")), "{hint}");
    }
}
