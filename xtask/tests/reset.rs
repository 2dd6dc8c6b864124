//! `cargo xtask reset` through the real binary, always on a temporary clone
//! of this repository (`--repo`), never on the work tree the tests run in.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;

/// The git variables that would point git at another repository than the
/// one a command runs in (a test run from a git hook has them set).
const GIT_ENV: &[&str] = &["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"];

/// A directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-reset-test-{}-{label}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let mut command = StdCommand::new("git");
    command.current_dir(dir).args(args);
    for var in GIT_ENV {
        command.env_remove(var);
    }
    let output = command.output().expect("git is installed");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A fresh clone of this repository's last commit.
fn clone_repo() -> (TempDir, PathBuf) {
    let tmp = TempDir::new("clone");
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let clone = tmp.0.join("course");
    git(
        &tmp.0,
        &[
            "clone",
            "--quiet",
            "--no-hardlinks",
            repo_root.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    (tmp, clone)
}

fn reset(repo: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .arg("reset")
        .args(args)
        .arg("--repo")
        .arg(repo)
        .write_stdin(stdin);
    for var in GIT_ENV {
        command.env_remove(var);
    }
    command.output().unwrap()
}

/// Changes a file, deletes one and adds one in the clone's exercise 1.
fn spoil_exercise_1(clone: &Path) {
    let dir = clone.join("exercises/exercise1");
    let main = dir.join("src/main.rs");
    let mut text = fs::read_to_string(&main).unwrap();
    text.push_str("\nfn student_was_here() {}\n");
    fs::write(&main, text).unwrap();
    fs::remove_file(dir.join("Cargo.toml")).unwrap();
    fs::write(dir.join("src/extra.rs"), "// a file the student added\n").unwrap();
}

fn status(clone: &Path) -> String {
    git(
        clone,
        &[
            "status",
            "--porcelain",
            "--untracked-files=all",
            "--",
            "exercises/exercise1",
        ],
    )
}

#[test]
fn yes_restores_a_modified_starter_as_shipped() {
    let (_tmp, clone) = clone_repo();
    spoil_exercise_1(&clone);
    assert_eq!(status(&clone).lines().count(), 3);

    let output = reset(&clone, &["exercise1", "--yes"], "");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("changed:  exercises/exercise1/src/main.rs"),
        "{stdout}"
    );
    assert!(
        stdout.contains("deleted:  exercises/exercise1/Cargo.toml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("new file: exercises/exercise1/src/extra.rs"),
        "{stdout}"
    );
    assert!(stdout.contains("is back as shipped"), "{stdout}");

    assert_eq!(status(&clone), "");
    let shipped = git(&clone, &["show", "HEAD:exercises/exercise1/src/main.rs"]);
    let now = fs::read_to_string(clone.join("exercises/exercise1/src/main.rs")).unwrap();
    assert_eq!(now, shipped);
    assert!(clone.join("exercises/exercise1/Cargo.toml").is_file());
    assert!(!clone.join("exercises/exercise1/src/extra.rs").exists());
}

#[test]
fn asks_first_and_anything_but_yes_changes_nothing() {
    let (_tmp, clone) = clone_repo();
    spoil_exercise_1(&clone);
    let before = status(&clone);

    for answer in ["n\n", "", "maybe\n"] {
        let output = reset(&clone, &["1"], answer);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "{stdout}");
        assert!(stdout.contains("Reset it? [y/N]"), "{stdout}");
        assert!(stdout.contains("Nothing changed."), "{stdout}");
        assert_eq!(status(&clone), before);
    }

    let output = reset(&clone, &["1"], "y\n");
    assert!(output.status.success());
    assert_eq!(status(&clone), "");

    // Already as shipped: nothing to ask.
    let output = reset(&clone, &["exercise1"], "");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("already as shipped"));
}

#[test]
fn leaves_the_other_exercises_alone() {
    let (_tmp, clone) = clone_repo();
    spoil_exercise_1(&clone);
    // A change elsewhere in the checkout must survive a reset of exercise 1.
    let readme = clone.join("session2/PROTOCOL.md");
    fs::write(&readme, "edited by the student\n").unwrap();
    let output = reset(&clone, &["exercise1", "--yes"], "");
    assert!(output.status.success());
    assert_eq!(
        fs::read_to_string(&readme).unwrap(),
        "edited by the student\n"
    );
}

#[test]
fn refuses_outside_a_git_checkout() {
    let tmp = TempDir::new("nogit");
    fs::create_dir_all(tmp.0.join("exercises/exercise1/src")).unwrap();
    fs::write(
        tmp.0.join("exercises/exercise1/src/main.rs"),
        "fn main() {}\n",
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(["reset", "exercise1", "--yes", "--repo"])
        .arg(&tmp.0)
        // Keep git from finding a repository in a directory above.
        .env("GIT_CEILING_DIRECTORIES", tmp.0.parent().unwrap());
    for var in GIT_ENV {
        command.env_remove(var);
    }
    let output = command.output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a git checkout"), "{stderr}");
    assert!(tmp.0.join("exercises/exercise1/src/main.rs").is_file());
}

#[test]
fn an_unknown_exercise_is_refused() {
    let (_tmp, clone) = clone_repo();
    let output = reset(&clone, &["exercise99", "--yes"], "");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`exercise99` is not an exercise"),
        "{stderr}"
    );
}

#[test]
fn an_exercise_missing_from_head_cannot_be_restored() {
    let (_tmp, clone) = clone_repo();
    git(&clone, &["rm", "-r", "--quiet", "exercises/exercise1"]);
    git(
        &clone,
        &[
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.invalid",
            "commit",
            "--quiet",
            "-m",
            "drop exercise 1",
        ],
    );
    let output = reset(&clone, &["exercise1", "--yes"], "");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("exercises/exercise1 is not in git's last commit"),
        "{stderr}"
    );
}
