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
