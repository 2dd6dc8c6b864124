//! The grader's diagnoses, proven on the mistakes students make. Each wrong
//! solution below is a copy of solutions/exerciseN with one realistic
//! mistake (a few lines changed, or a whole file: the Python lesson's server
//! ported to Rust), built and graded; each named scenario must fail with the
//! expected diagnosis, and every failure must fit on one screen. A change to
//! the hints or the scenarios that makes a diagnosis wrong again fails here.
//! A race is a matter of luck for one grading, so the racy rename is graded
//! again and again: it must fail every time, and the solution pass.
//!
//! The copies live in one workspace of their own under
//! `target/wrong-solutions/`, built with the repository's target directory,
//! so the dependencies are already compiled. Without solutions/ (the answer
//! key removed before the repository is handed out) the tests are skipped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::Instant;

use xtask::build;
use xtask::checks;
use xtask::course;
use xtask::grader::report::{ONE_SCREEN, details, scenario_line};
use xtask::grader::{self, Options, Outcome, Report, Target};
use xtask::workspace;

/// How many gradings run at once (as in `proof.rs`: they mostly wait).
const PARALLEL: usize = 6;

/// One wrong solution.
struct Wrong {
    /// Its name: the copy is the package `wrong-NAME`.
    name: &'static str,
    exercise: u8,
    /// Changes to the solution's files: (file, text, replacement). Each text
    /// must occur exactly once, so a change to the solution that moves it
    /// fails loudly instead of testing the solution itself.
    edits: &'static [(&'static str, &'static str, &'static str)],
    /// Whole files replaced: (file, new contents).
    files: &'static [(&'static str, &'static str)],
    /// Scenario (a part of its title) and the diagnosis it must get.
    expect: &'static [(&'static str, &'static str)],
}

const LESSON_SERVER: &str = include_str!("wrong/lesson_server.rs");

/// Exercise 5's race scenario (a part of its title).
const RACE: &str = "pairs racing for";

/// The wrong solution whose rename checks, unlocks, then takes the name.
const RACY_RENAME: &str = "ex5-check-then-set";

const WRONG: &[Wrong] = &[
    Wrong {
        name: "ex1-whole-buffer",
        exercise: 1,
        edits: &[(
            "src/main.rs",
            "stream.write_all(&buffer[..n])?;",
            "stream.write_all(&buffer)?;",
        )],
        files: &[],
        expect: &[("a line comes back unchanged", "unexpected-message")],
    },
    Wrong {
        name: "ex1-one-read",
        exercise: 1,
        edits: &[(
            "src/main.rs",
            "        stream.write_all(&buffer[..n])?;\n    }",
            "        stream.write_all(&buffer[..n])?;\n        return Ok(());\n    }",
        )],
        files: &[],
        expect: &[
            ("several messages on one connection", "closed-early"),
            ("100 KB sent at once", "partial-echo"),
        ],
    },
    Wrong {
        // A server that answers only the first client.
        name: "ex2-join",
        exercise: 2,
        edits: &[(
            "src/main.rs",
            "                    log!(\"disconnected: {}\", show(peer));\n                });",
            "                    log!(\"disconnected: {}\", show(peer));\n                })\n                \
             .join()\n                .ok();",
        )],
        files: &[],
        expect: &[
            ("three clients connected at once", "one-client-at-a-time"),
            (
                "each client gets only its own echoes",
                "one-client-at-a-time",
            ),
        ],
    },
    Wrong {
        name: "ex2-one-read",
        exercise: 2,
        edits: &[(
            "src/main.rs",
            "        stream.write_all(&buffer[..n])?;\n    }",
            "        stream.write_all(&buffer[..n])?;\n        return Ok(());\n    }",
        )],
        files: &[],
        expect: &[("two clients send 100 KB each", "partial-echo")],
    },
    Wrong {
        // Departed clients are never removed from the shared list.
        name: "ex3-never-forgotten",
        exercise: 3,
        edits: &[
            (
                "src/main.rs",
                "                    clients.lock().unwrap().remove(&peer);\n",
                "",
            ),
            (
                "src/main.rs",
                "                let _ = stream.shutdown(std::net::Shutdown::Both);\n                false",
                "                true",
            ),
        ],
        files: &[],
        expect: &[("a client that left is forgotten", "not-forgotten")],
    },
    Wrong {
        // A sender that gets its own words.
        name: "ex3-echo-to-sender",
        exercise: 3,
        edits: &[(
            "src/main.rs",
            "        if *addr == sender {\n            return true;\n        }\n",
            "",
        )],
        files: &[],
        expect: &[("everyone but the sender gets each message", "own-words")],
    },
    Wrong {
        // `if let` where `while let` belongs: one line per read.
        name: "ex4-if-let",
        exercise: 4,
        edits: &[(
            "src/lines.rs",
            "while let Some(offset) = self.pending[search_from..]",
            "if let Some(offset) = self.pending[search_from..]",
        )],
        files: &[],
        expect: &[
            ("three lines in one write", "framing"),
            ("\\r\\n endings", "framing"),
        ],
    },
    Wrong {
        name: "ex4-keeps-cr",
        exercise: 4,
        edits: &[(
            "src/lines.rs",
            "    let line = line.strip_suffix(b\"\\r\").unwrap_or(line);\n",
            "",
        )],
        files: &[],
        expect: &[("\\r\\n endings", "carriage-return")],
    },
    Wrong {
        // Every `\r` dropped, where only the one ending a line goes:
        // `tick\rtock` reaches the others as `ticktock`.
        name: "ex4-every-cr",
        exercise: 4,
        edits: &[(
            "src/lines.rs",
            "    let line = line.strip_suffix(b\"\\r\").unwrap_or(line);\n    \
             String::from_utf8_lossy(line).into_owned()",
            "    String::from_utf8_lossy(line).replace('\\r', \"\")",
        )],
        files: &[],
        expect: &[("\\r\\n endings", "inner-carriage-return")],
    },
    Wrong {
        // The Python lesson's server: its framing is right; it passes empty
        // lines on and knows only `EXIT`.
        name: "ex4-lesson-server",
        exercise: 4,
        edits: &[],
        files: &[("src/main.rs", LESSON_SERVER)],
        expect: &[
            ("\\r\\n endings", "empty-line"),
            ("EXIT, bye and /quit get DONE", "nothing-arrived"),
        ],
    },
    Wrong {
        // `reply()` while holding the room's guard: a lock taken twice.
        name: "ex5-reply-under-lock",
        exercise: 5,
        edits: &[(
            "src/main.rs",
            "return stream.write_all(format!(\"SERVER: the name {new} is taken\\n\").as_bytes());",
            "return reply(stream, clients, &format!(\"SERVER: the name {new} is taken\"));",
        )],
        files: &[],
        expect: &[
            ("a taken name (in any case) is refused", "stopped-answering"),
            (RACE, "stopped-answering"),
        ],
    },
    Wrong {
        // Check, unlock, then take, as a student writes it: the name is
        // checked under one lock (the guard is dropped at the end of the
        // statement), then taken under another. No sleep in between: the
        // race scenario must catch it as it is, every time (see
        // `the_race_catches_a_racy_rename_every_time`).
        name: RACY_RENAME,
        exercise: 5,
        edits: &[(
            "src/main.rs",
            "    let mut room = clients.lock().unwrap();\n    let taken = room\n        .iter()\n        \
             .any(|m| m.addr != peer && m.name.to_lowercase() == new.to_lowercase());\n    if taken \
             {\n        // Still holding the lock, like every write in this step (see `reply`).\n        \
             return stream.write_all(format!(\"SERVER: the name {new} is taken\\n\").as_bytes());\n    \
             }\n",
            "    let taken = clients\n        .lock()\n        .unwrap()\n        .iter()\n        \
             .any(|m| m.addr != peer && m.name.to_lowercase() == new.to_lowercase());\n    if taken \
             {\n        return reply(stream, clients, &format!(\"SERVER: the name {new} is taken\"));\n    \
             }\n    let mut room = clients.lock().unwrap();\n",
        )],
        files: &[],
        expect: &[(RACE, "check-then-set")],
    },
    Wrong {
        // The lesson's real bug: a send to a departed client while others
        // are broadcasting deadlocks the server.
        name: "ex6-lesson-server",
        exercise: 6,
        edits: &[],
        files: &[("src/main.rs", LESSON_SERVER)],
        expect: &[("clients that vanish while others talk", "stopped-answering")],
    },
    Wrong {
        // A bounded channel whose `send` waits for room in a full queue (the
        // room's lock held) instead of refusing.
        name: "ex6-blocking-send",
        exercise: 6,
        edits: &[
            (
                "src/outbox.rs",
                "queue: Sender<Message>,",
                "queue: mpsc::SyncSender<Message>,",
            ),
            (
                "src/outbox.rs",
                "let (sender, receiver) = mpsc::channel();",
                "let (sender, receiver) = mpsc::sync_channel(bounds.messages);",
            ),
            (
                "src/outbox.rs",
                "if messages > self.bounds.messages || bytes > self.bounds.bytes {",
                "if bytes > self.bounds.bytes + messages * 0 {",
            ),
        ],
        files: &[],
        expect: &[(
            "a full queue never stalls the room",
            "stalled-by-slow-reader",
        )],
    },
    Wrong {
        name: "ex7-little-endian",
        exercise: 7,
        edits: &[(
            "src/frames.rs",
            "out.extend_from_slice(&length.to_be_bytes());",
            "out.extend_from_slice(&length.to_le_bytes());",
        )],
        files: &[],
        expect: &[("a newcomer is announced", "bad-frame-length")],
    },
    Wrong {
        name: "ex7-lines-for-frames",
        exercise: 7,
        edits: &[(
            "src/frames.rs",
            "    out.extend_from_slice(&length.to_be_bytes());\n    out.extend_from_slice(message.as_bytes());",
            "    let _ = length;\n    out.extend_from_slice(message.as_bytes());\n    out.push(b'\\n');",
        )],
        files: &[],
        expect: &[("a newcomer is announced", "line-for-frame")],
    },
    Wrong {
        // Flood control that slows a flooder for ever: no Excess Flood.
        name: "ex8-never-too-fast",
        exercise: 8,
        edits: &[(
            "src/flood.rs",
            "        if now + wait > since + self.window {\n            return Pace::TooFast;\n        }\n",
            "        let _ = since;\n",
        )],
        files: &[],
        expect: &[(
            "a flooder is slowed, then disconnected",
            "never-disconnected",
        )],
    },
];

/// Where the copies are made.
fn workspace_dir() -> PathBuf {
    build::target_dir().join("wrong-solutions")
}

/// Copies `from` into `to`, skipping build output.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "target" {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Makes the copy of `wrong`, its mistake applied.
fn make_copy(wrong: &Wrong, solution: &Path, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    copy_dir(solution, dir);
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replacen(
        &format!("name = \"solution{}\"", wrong.exercise),
        &format!("name = \"wrong-{}\"", wrong.name),
        1,
    );
    std::fs::write(&manifest, text).unwrap();
    for (file, find, replace) in wrong.edits {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.matches(find).count(),
            1,
            "{}: {find:?} must occur exactly once in solutions/exercise{}/{file}",
            wrong.name,
            wrong.exercise
        );
        std::fs::write(&path, text.replacen(find, replace, 1)).unwrap();
    }
    for (file, contents) in wrong.files {
        std::fs::write(dir.join(file), contents).unwrap();
    }
    // A solution that compiles a step's files by relative `#[path]`
    // (solution 8 does) reaches them from its new place by absolute path.
    let main = dir.join("src/main.rs");
    let text = std::fs::read_to_string(&main).unwrap();
    let session2 = workspace::root().join("session2");
    let session2 = session2.to_string_lossy().replace('\\', "/");
    std::fs::write(
        &main,
        text.replace(
            "#[path = \"../../../session2/",
            &format!("#[path = \"{session2}/"),
        ),
    )
    .unwrap();
}

/// A workspace of the copies: the repository's own manifest (so the same
/// dependencies, lints and profiles), with these members and absolute paths
/// to the course's libraries; and its lock file, so nothing is resolved anew.
fn make_workspace(root: &Path) -> PathBuf {
    let dir = workspace_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members: Vec<String> = WRONG.iter().map(|w| format!("\"{}\"", w.name)).collect();
    let session2 = root.join("session2").to_string_lossy().replace('\\', "/");
    let mut text = String::new();
    // The repository's default-members name its own folders: left out, so
    // every member is a default one.
    let mut in_default_members = false;
    for line in manifest.lines() {
        if in_default_members || line.trim_start().starts_with("default-members") {
            // Skipped up to the line that closes its array.
            in_default_members = !line.contains(']');
        } else if line.trim_start().starts_with("members") {
            let _ = writeln!(text, "members = [{}]", members.join(", "));
        } else {
            let _ = writeln!(
                text,
                "{}",
                line.replace("path = \"session2/", &format!("path = \"{session2}/"))
            );
        }
    }
    std::fs::write(dir.join("Cargo.toml"), text).unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    dir
}

/// Builds every copy in one cargo run; returns the binaries, in `WRONG`'s order.
fn build_all(dir: &Path) -> Vec<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", build::target_dir())
        .args(["build", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"));
    for wrong in WRONG {
        command.args(["--package", &format!("wrong-{}", wrong.name)]);
    }
    // The mistakes leave warnings (a value never read...): show the output
    // only if the build fails.
    let output = command.output().expect("cannot run cargo");
    assert!(
        output.status.success(),
        "the wrong solutions do not build:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    WRONG
        .iter()
        .map(|wrong| {
            build::target_dir().join("debug").join(format!(
                "wrong-{}{}",
                wrong.name,
                std::env::consts::EXE_SUFFIX
            ))
        })
        .collect()
}

/// Grades `wrong`'s binary with its check.
fn grade(wrong: &Wrong, binary: &Path) -> Report {
    grader::grade(
        &checks::check(wrong.exercise),
        &Target::Binary(binary.to_path_buf()),
        &Options::default(),
        |_| {},
    )
}

/// What is wrong with how `wrong` was graded, if anything.
fn judge(wrong: &Wrong, report: &Report) -> Vec<String> {
    let mut problems = Vec::new();
    for (part, id) in wrong.expect {
        let Some(outcome) = report.outcomes.iter().find(|o| o.scenario.contains(part)) else {
            problems.push(format!("{}: no scenario like {part:?} was run", wrong.name));
            continue;
        };
        let got = outcome.diagnosis.as_ref().map(|d| d.id);
        if got != Some(id) {
            problems.push(format!(
                "{}: `{}` should be diagnosed {id}, got {got:?}:\n{}",
                wrong.name,
                outcome.scenario,
                details(outcome, false).join("\n")
            ));
        }
    }
    for outcome in report.outcomes.iter().filter(|o| !o.passed()) {
        let lines = details(outcome, false);
        if lines.len() > ONE_SCREEN {
            problems.push(format!(
                "{}: the failure of `{}` takes {} lines, more than {ONE_SCREEN}:\n{}",
                wrong.name,
                outcome.scenario,
                lines.len(),
                lines.join("\n")
            ));
        }
    }
    problems
}

/// The wrong solutions' binaries, in `WRONG`'s order, built once for the
/// tests of this file (they run side by side); `None` without solutions/.
fn built() -> Option<&'static [PathBuf]> {
    static BUILT: OnceLock<Option<Vec<PathBuf>>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = workspace::root();
            let solutions: Vec<Option<PathBuf>> = WRONG
                .iter()
                .map(|w| course::solution(w.exercise).map(|p| p.dir))
                .collect();
            if solutions.iter().any(Option::is_none) {
                println!(
                    "note: skipped: the wrong solutions are copies of solutions/exerciseN, and \
                     this copy of the repository has no (complete) solutions/ (the answer key \
                     was removed)"
                );
                return None;
            }
            let started = Instant::now();
            let dir = make_workspace(&root);
            for (wrong, solution) in WRONG.iter().zip(&solutions) {
                make_copy(wrong, solution.as_deref().unwrap(), &dir.join(wrong.name));
            }
            let binaries = build_all(&dir);
            println!(
                "built {} wrong solutions in {:.1} s",
                WRONG.len(),
                started.elapsed().as_secs_f64()
            );
            Some(binaries)
        })
        .as_deref()
}

#[test]
fn each_wrong_solution_gets_the_diagnosis_of_its_mistake() {
    let Some(binaries) = built() else {
        return;
    };
    let started = Instant::now();
    let next = Mutex::new(WRONG.iter().zip(binaries));
    let problems = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| {
                loop {
                    let Some((wrong, binary)) = next.lock().unwrap().next() else {
                        break;
                    };
                    // Timing decides some symptoms (which write fails first,
                    // whether a race is lost): on a loaded machine, a wrong
                    // diagnosis gets one more try before it counts.
                    let mut report = grade(wrong, binary);
                    if !judge(wrong, &report).is_empty() {
                        println!("note: wrong-{} graded again", wrong.name);
                        report = grade(wrong, binary);
                    }
                    let mut summary = format!(
                        "wrong-{} (check {}): {}/{} passed",
                        wrong.name,
                        wrong.exercise,
                        report.passed_count(),
                        report.total()
                    );
                    // Every failure in full (seen with `--nocapture`).
                    for outcome in report.outcomes.iter().filter(|o| !o.passed()) {
                        let id = outcome.diagnosis.as_ref().map_or("-", |d| d.id);
                        let lines = details(outcome, false);
                        let _ = write!(
                            summary,
                            "\n{}  [{id}, {} lines]\n{}",
                            scenario_line(outcome, false),
                            lines.len(),
                            lines.join("\n")
                        );
                    }
                    println!("{summary}");
                    problems.lock().unwrap().extend(judge(wrong, &report));
                }
            });
        }
    });
    println!(
        "graded {} wrong solutions in {:.1} s",
        WRONG.len(),
        started.elapsed().as_secs_f64()
    );
    let problems = problems.into_inner().unwrap();
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

/// How many times the race scenario is graded on the racy rename: every
/// one must fail. A scenario that caught the race nine times in ten would
/// pass all of these with a chance of 1 in 70.
const RACY_RUNS: usize = 40;

/// How many times it is graded on solutions/exercise5: every one must pass
/// (no second winner is ever seen where the lock is held).
const SAFE_RUNS: usize = 10;

/// The race scenario is not a matter of luck: it fails a rename that
/// checks under one lock and takes under another every time, with no
/// sleep to help it, and passes the solution every time. One grading at a
/// time, as a student runs it.
#[test]
fn the_race_catches_a_racy_rename_every_time() {
    let Some(binaries) = built() else {
        return;
    };
    let at = WRONG.iter().position(|w| w.name == RACY_RENAME).unwrap();
    let racy = &binaries[at];
    let solution = build::build_binaries(&["solution5"], build::Profile::Dev)
        .expect("solution5 builds")
        .remove(0);
    let mut check = checks::check(5);
    check.scenarios.retain(|s| s.name.contains(RACE));
    assert_eq!(check.scenarios.len(), 1, "one scenario is the race");
    let caught = |o: &Outcome| {
        o.diagnosis
            .as_ref()
            .is_some_and(|d| d.id == "check-then-set")
    };
    let grade_once = |binary: &Path| -> Outcome {
        let target = Target::Binary(binary.to_path_buf());
        let report = grader::grade(&check, &target, &Options::default(), |_| {});
        report
            .outcomes
            .into_iter()
            .next()
            .expect("the race was run")
    };
    // One grading after the other, as a student runs them. As in the test
    // above, a failure diagnosed otherwise (a stall on a loaded machine)
    // gets one more try before it counts; a pass never does.
    let graded = |binary: &Path, runs: usize| -> (Vec<Outcome>, f64) {
        let started = Instant::now();
        let outcomes = (0..runs)
            .map(|_| match grade_once(binary) {
                outcome if outcome.passed() || caught(&outcome) => outcome,
                _ => {
                    println!("note: the race graded again");
                    grade_once(binary)
                }
            })
            .collect();
        (outcomes, started.elapsed().as_secs_f64())
    };
    let (racy, racy_seconds) = graded(racy, RACY_RUNS);
    let (safe, safe_seconds) = graded(&solution, SAFE_RUNS);
    println!(
        "the race: the racy rename failed {}/{RACY_RUNS} gradings with check-then-set (in {:.1} \
         s), the solution passed {}/{SAFE_RUNS} (in {:.1} s)",
        racy.iter().filter(|o| caught(o)).count(),
        racy_seconds,
        safe.iter().filter(|o| o.passed()).count(),
        safe_seconds
    );
    let mut problems = Vec::new();
    for (run, outcome) in racy.iter().enumerate() {
        if !caught(outcome) {
            problems.push(format!(
                "grading {} of the racy rename was not diagnosed check-then-set:\n{}",
                run + 1,
                details(outcome, false).join("\n")
            ));
        }
    }
    for (run, outcome) in safe.iter().enumerate() {
        if !outcome.passed() {
            problems.push(format!(
                "grading {} of solutions/exercise5 failed:\n{}",
                run + 1,
                details(outcome, false).join("\n")
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}
