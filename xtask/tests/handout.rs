//! `cargo xtask handout DIR --up-to 3`, proven the way an instructor needs
//! it: a fresh clone of the handout holds no code of the later steps, and
//! passes its own `cargo test --workspace`.
//!
//! The nested build gets a target directory of its own, kept inside this
//! workspace's (`target/handout-test`), so that only the first run pays for
//! the dependencies. Sharing this workspace's own directory is not safe:
//! cargo names the handout's artifacts exactly like this workspace's (same
//! packages, same relative paths), so the nested build would replace this
//! workspace's binaries, test binaries included, with the handout's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use xtask::build;
use xtask::course;
use xtask::workspace;

/// The step handed out: the later ones must not leak.
const UP_TO: u8 = 3;
/// A generous bound for the nested `cargo test --workspace` (a cold build
/// of every dependency on a two-core laptop included).
const NESTED_LIMIT: Duration = Duration::from_secs(40 * 60);

/// A temporary directory, removed on drop (also when the test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("xtask-handout-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file below `dir`, except `.git` and build output.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap().flatten() {
            let name = entry.file_name();
            if name == ".git" || name == "target" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    found
}

/// The lines of a text file, trimmed, that are long enough to be code of
/// their own (not `}` or `Ok(())`).
fn code_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| line.len() >= 24)
        .map(str::to_string)
        .collect()
}

/// The Rust files of a directory of this workspace.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_below(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

/// What the later steps' code holds that nothing handed out legitimately
/// does: their lines that are in no file of steps 1 to 3, exercises 1 to
/// 3, or the rest of the course (clients, libraries, the runner).
fn later_steps_own_lines(root: &Path) -> BTreeSet<String> {
    let mut given: BTreeSet<String> = BTreeSet::new();
    let mut later: BTreeSet<String> = BTreeSet::new();
    for file in rust_files(root) {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let step = course::steps()
            .into_iter()
            .find(|(_, p)| relative.starts_with(&format!("session2/{}/", p.name)))
            .map(|(n, _)| n);
        let exercise = (1..=99).find(|n| {
            relative.starts_with(&format!("exercises/exercise{n}/"))
                || relative.starts_with(&format!("solutions/exercise{n}/"))
        });
        let is_later = step.is_some_and(|n| n > UP_TO) || exercise.is_some_and(|n| n > UP_TO);
        let target = if is_later { &mut later } else { &mut given };
        target.extend(code_lines(&file));
    }
    later.retain(|line| !given.contains(line));
    later
}

#[test]
fn a_handout_up_to_step_3_holds_no_later_code_and_passes_its_own_tests() {
    if course::solution(1).is_none() {
        println!("note: no solutions/ here (this is a handout): nothing to hand out from");
        return;
    }
    if course::step(UP_TO + 1).is_none() {
        println!("note: no step after {UP_TO}: nothing a handout must leave out");
        return;
    }
    let root = workspace::root();
    let temp = TempDir::new();
    let handout = temp.0.join("handout");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "handout",
            handout.to_str().unwrap(),
            "--up-to",
            &UP_TO.to_string(),
        ])
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "handout failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("steps 1 to 3 and exercises 1 to 3"), "{said}");

    // A fresh clone, as a student gets it.
    let clone = temp.0.join("clone");
    let status = StdCommand::new("git")
        .args(["clone", "-q"])
        .arg(&handout)
        .arg(&clone)
        .status()
        .unwrap();
    assert!(status.success(), "git clone of the handout");

    // No answer key, no later step or exercise.
    assert!(!clone.join("solutions").exists());
    for n in UP_TO + 1..=99 {
        if let Some(step) = course::step(n) {
            assert!(
                !clone.join("session2").join(&step.name).exists(),
                "{}",
                step.name
            );
        }
        assert!(
            !clone.join(format!("exercises/exercise{n}")).exists(),
            "exercise{n}"
        );
    }
    for n in 1..=UP_TO {
        assert!(
            clone
                .join(format!("exercises/exercise{n}/README.md"))
                .is_file()
        );
    }
    // No line of the later steps' own code, in any file: not in the
    // codelab's excerpts, not in a hint, not in a starter.
    let later = later_steps_own_lines(&root);
    assert!(
        later.len() > 100,
        "the later steps' code was found: {}",
        later.len()
    );
    let mut leaks = Vec::new();
    for file in files_below(&clone) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if later.contains(line.trim()) {
                leaks.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "code of steps after {UP_TO}:\n{}",
        leaks.join("\n")
    );
    let codelab = std::fs::read_to_string(clone.join("session2/README.md")).unwrap();
    assert!(
        codelab.contains("<a id=\"step-4\"></a>\n## Part 4"),
        "part 4 keeps its anchor"
    );
    assert!(codelab.contains("*Coming later: this part comes with step 4"));

    // Its own tests pass, in its own target directory.
    let started = Instant::now();
    let target = build::target_dir().join("handout-test");
    let mut nested = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    nested
        .current_dir(&clone)
        .args(["test", "--workspace", "--quiet", "--no-fail-fast"])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .timeout(NESTED_LIMIT);
    let output = nested.output().unwrap();
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "the handout's cargo test --workspace took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        output.status.success(),
        "the handout's own tests failed:\n{}",
        tail(&log, 120)
    );
    assert!(log.contains("test result: ok"), "{}", tail(&log, 40));
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
