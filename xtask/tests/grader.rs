//! The grader facing servers that misbehave in ways no exercise does on
//! purpose: hanging before `listening on`, a wrong first line, a taken
//! address, a crash, nothing listening at all. Each must become a clear
//! report, and whatever the grader started must be gone afterwards.

use std::net::TcpListener;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use xtask::build::{self, Profile};
use xtask::checks;
use xtask::course;
use xtask::grader::failure::Problem;
use xtask::grader::report::{self, details, hint_text};
use xtask::grader::server::ServerProcess;
use xtask::grader::timeouts::Timeouts;
use xtask::grader::{self, Options, Report, Target};

/// Short waits: these servers fail at once or never answer.
fn quick() -> Options {
    Options {
        timeouts: Timeouts::new(Duration::from_millis(300)),
        sequential: false,
    }
}

fn first_problem(report: &Report) -> &Problem {
    let failure = report
        .outcomes
        .iter()
        .find_map(|o| o.failure.as_ref())
        .expect("a failure");
    &failure.problem
}

/// A port where nothing listens (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn nothing_listening_is_a_refused_connection_with_a_hint() {
    let addr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let report = grader::grade(&checks::check(1), &Target::Address(addr), &quick(), |_| {});
    assert!(!report.passed());
    assert!(
        matches!(first_problem(&report), Problem::Refused { .. }),
        "{:?}",
        first_problem(&report)
    );
    let hint = hint_text(&report.outcomes[0]).unwrap();
    assert!(hint.contains("Is the server running"), "{hint}");
    assert!(!report.outcomes[0].has_server_output);
}

#[test]
fn servers_already_running_elsewhere_are_graded_in_a_shared_room() {
    // Each step's check on a server the grader did not start (`--addr`):
    // scenarios one after the other in one room, nothing to read in the
    // server's log, each scenario with its own names. Not check 6: no one
    // server passes all of it through its address, since its floods past a
    // stalled reader need flood control off and its burst needs it on (see
    // the next test).
    let steps: Vec<(u8, PathBuf)> = course::EXERCISES
        .filter(|&n| n != 6)
        .filter_map(|n| course::step(n).map(|step| (n, step)))
        .map(|(n, step)| (n, build::build_binary(&step.name, Profile::Dev).unwrap()))
        .collect();
    let failures: Vec<String> = thread::scope(|scope| {
        let handles: Vec<_> = steps
            .iter()
            .map(|(n, binary)| {
                scope.spawn(move || {
                    let server = ServerProcess::start(binary, &Timeouts::default()).unwrap();
                    let options = Options {
                        sequential: true,
                        ..Options::default()
                    };
                    let report = grader::grade(
                        &checks::check(*n),
                        &Target::Address(server.addr),
                        &options,
                        |_| {},
                    );
                    report
                        .outcomes
                        .iter()
                        .filter(|o| !o.passed())
                        .map(|o| {
                            format!(
                                "check {n} on step {n} via its address: {}\n{}",
                                o.scenario,
                                details(o, false).join("\n")
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Check 6 through step 8's address: a shared server that keeps its flood
/// control slows the grader's floods past a stalled reader down on purpose,
/// and the report says so instead of reporting a stall; every other
/// scenario passes.
#[test]
fn a_shared_server_s_flood_control_is_reported_as_such() {
    let Some(step) = course::step(8) else {
        println!("note: no step 8 here (a handout before it): skipped");
        return;
    };
    let binary = build::build_binary(&step.name, Profile::Dev).unwrap();
    let server = ServerProcess::start(&binary, &Timeouts::default()).unwrap();
    let options = Options {
        sequential: true,
        ..Options::default()
    };
    let report = grader::grade(
        &checks::check(6),
        &Target::Address(server.addr),
        &options,
        |_| {},
    );
    for outcome in &report.outcomes {
        let text = details(outcome, false).join("\n");
        if outcome.scenario.contains("stops reading") {
            assert!(!outcome.passed(), "{}", outcome.scenario);
            assert!(
                text.contains("the server slowed ann down on purpose (flood control)")
                    && text.contains("--flood-rate 0"),
                "{}:\n{text}",
                outcome.scenario
            );
        } else {
            assert!(outcome.passed(), "{}:\n{text}", outcome.scenario);
        }
    }
}

#[cfg(unix)]
mod fake_servers {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use super::*;

    /// Writes an executable shell script standing in for a server.
    fn script(name: &str, body: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-grader-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn alive(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    /// Grades the script as exercise 1. A script just written can be "busy"
    /// for a moment when another test thread forks meanwhile (the child holds
    /// the written file open until it execs): try again then.
    fn grade(path: PathBuf) -> Report {
        let target = Target::Binary(path);
        for _ in 0..20 {
            let report = grader::grade(&checks::check(1), &target, &quick(), |_| {});
            match first_problem(&report) {
                Problem::CannotRun { error } if error.contains("busy") => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => return report,
            }
        }
        panic!("{target:?} stayed busy");
    }

    /// [`ServerProcess::start`], trying again while the script is busy.
    fn start(path: &Path) -> ServerProcess {
        for _ in 0..20 {
            match ServerProcess::start(path, &Timeouts::default()).map_err(|failure| failure.0) {
                Ok(server) => return server,
                Err(Problem::CannotRun { error }) if error.contains("busy") => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(problem) => panic!("{problem:?}"),
            }
        }
        panic!("{} stayed busy", path.display());
    }

    #[test]
    fn a_server_that_never_says_listening_is_reported_and_nothing_else_runs() {
        let report = grade(script("hang", "exec sleep 30"));
        assert!(
            matches!(first_problem(&report), Problem::NoListeningLine { .. }),
            "{:?}",
            first_problem(&report)
        );
        assert_eq!(report.outcomes.len(), 1, "one report, not one per scenario");
        assert_eq!(report.not_run.len(), checks::check(1).scenarios.len());
        assert!(
            hint_text(&report.outcomes[0])
                .unwrap()
                .contains("classroom::announce")
        );
    }

    #[test]
    fn a_wrong_first_line_is_quoted() {
        let report = grade(script("wrong", "echo 'Listening on port 5'; exec sleep 30"));
        assert_eq!(
            *first_problem(&report),
            Problem::BadListeningLine {
                line: "Listening on port 5".into()
            }
        );
    }

    #[test]
    fn address_in_use_is_recognised() {
        let report = grade(script(
            "taken",
            "echo 'Error: cannot listen on 127.0.0.1:0: Address already in use (os error 98)' >&2; exit 1",
        ));
        assert_eq!(*first_problem(&report), Problem::AddrInUse);
        let outcome = &report.outcomes[0];
        assert!(hint_text(outcome).unwrap().contains("TIME_WAIT"));
        assert!(
            outcome
                .transcript
                .iter()
                .any(|l| l.contains("stderr |  Error: cannot listen")),
            "{:#?}",
            outcome.transcript
        );
    }

    #[test]
    fn a_server_that_dies_is_reported_as_crashed_with_its_status() {
        let report = grade(script(
            "crash",
            "echo 'listening on 127.0.0.1:1'; echo 'thread main panicked at src/main.rs:9:5' >&2; exit 101",
        ));
        match first_problem(&report) {
            Problem::Crashed { status, .. } => assert!(status.contains("101"), "{status}"),
            other => panic!("expected a crash, got {other:?}"),
        }
        let hint = hint_text(&report.outcomes[0]).unwrap();
        assert!(hint.contains("Rust panic"), "{hint}");
    }

    #[test]
    fn a_started_server_is_killed_when_dropped_even_on_panic() {
        let path = script("idle", "echo 'listening on 127.0.0.1:1'; exec sleep 30");
        let server = start(&path);
        let pid = server.pid();
        assert!(alive(pid));
        drop(server);
        assert!(!alive(pid), "dropped server {pid} still runs");

        let (tx, rx) = std::sync::mpsc::channel();
        let panicked = std::panic::catch_unwind(|| {
            let server = start(&path);
            tx.send(server.pid()).unwrap();
            panic!("a grader bug");
        });
        assert!(panicked.is_err());
        let pid = rx.recv().unwrap();
        assert!(!alive(pid), "server {pid} survived a panic");
    }
}

/// A server that echoes for its first client only, then accepts and never
/// answers again: what a server deadlocked by its first client's departure
/// looks like from outside.
fn echo_once_then_deadlock() -> (std::net::SocketAddr, thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let mut quiet = Vec::new();
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { break };
            if i > 0 {
                // Keep it open, unanswered; stop after a few.
                quiet.push(stream);
                if quiet.len() > 6 {
                    break;
                }
                continue;
            }
            let mut buffer = [0; 1024];
            while let Ok(n) = stream.read(&mut buffer) {
                if n == 0 || stream.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    });
    (addr, handle)
}

#[test]
fn a_shared_server_that_stops_answering_stops_the_grading_and_says_what_was_not_tested() {
    let (addr, server) = echo_once_then_deadlock();
    let options = Options {
        sequential: true,
        ..quick()
    };
    let report = grader::grade(&checks::check(1), &Target::Address(addr), &options, |_| {});
    // The first scenario passed its checks, then nobody got an answer.
    let first = &report.outcomes[0];
    assert_eq!(report.outcomes.len(), 1, "grading stops there");
    assert!(first.server_gone);
    let diagnosis = first.diagnosis.as_ref().expect("a diagnosis");
    assert_eq!(diagnosis.id, "stopped-answering", "{diagnosis:?}");
    assert!(diagnosis.hint.contains("when this scenario's clients left"));
    assert_eq!(report.not_run.len(), checks::check(1).scenarios.len() - 1);
    let why = report.why_not_run.as_deref().unwrap();
    assert!(why.contains("stopped answering anyone"), "{why}");
    // --json says the same, one line per scenario not tested.
    let json = report::json_not_run_lines(&report, "127.0.0.1");
    assert_eq!(json.len(), report.not_run.len());
    assert!(
        json[0].contains(
            r#""passed":false,"tested":false,"reason":"the server stopped answering anyone"#
        ),
        "{}",
        json[0]
    );
    assert!(
        report::json_line(1, "127.0.0.1", first).contains(r#""diagnosis":"stopped-answering""#)
    );
    // Let the fake server go: a few connections end its loop.
    for _ in 0..8 {
        let _ = std::net::TcpStream::connect(addr);
    }
    server.join().unwrap();
}
