//! `cargo xtask handout DIR [--up-to N]`: the student copy of the course.
//!
//! An instructor hands the repository out without the answer key, and
//! often step by step. The answer key is more than `solutions/`: step N is
//! exercise N solved, the codelab's part N walks through step N's code, and
//! exercise N+1's starter is step N plus groundwork. So a handout up to
//! step N holds:
//!
//! * the committed files (`git`'s `HEAD`: exercises exactly as shipped,
//!   whatever the instructor tried in this working copy), without
//!   `solutions/`;
//! * steps 1 to N and exercises 1 to N, and no later ones;
//! * every other crate, unless its `Cargo.toml` says it needs a later step
//!   (`[package.metadata.course] from-step = 6`), and none of the paths the
//!   workspace `Cargo.toml` lists under `[workspace.metadata.handout]
//!   leave-out` (the instructor's material);
//! * the Markdown rewritten by [`markdown::for_handout`]: the codelab's
//!   parts after N become "coming later" (found by their `<a id="step-K">`
//!   anchors), text marked for later steps or for instructors goes, and
//!   links to files left out become plain text.
//!
//! The copy is written as a fresh git repository with one commit, so that
//! `cargo xtask list` and `reset` work in the students' clones, and its
//! `Cargo.lock` is trimmed to the crates that remain (offline).

pub mod markdown;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};

use crate::course;
use crate::manifest;
use crate::workspace;

/// Write a student copy of the course: no answer key, no steps after --up-to.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write it: a new (or empty) directory outside this repository.
    /// It becomes a git repository of its own, for students to clone.
    pub dir: PathBuf,
    /// The last step students get; its exercise is the last one too
    /// (default: every step).
    #[arg(long, value_name = "N")]
    pub up_to: Option<u8>,
}

/// What a handout holds, decided from the committed files alone.
#[derive(Debug)]
pub struct Plan {
    /// The last step kept.
    pub up_to: u8,
    /// Every step of the course, by number.
    pub steps: Vec<u8>,
    /// The committed files kept, by path from the root (with `/`).
    pub files: Vec<String>,
}

impl Plan {
    /// Steps after `up_to`.
    pub fn later_steps(&self) -> Vec<u8> {
        self.steps
            .iter()
            .copied()
            .filter(|&n| n > self.up_to)
            .collect()
    }
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let root = workspace::root();
    let dir = std::path::absolute(&args.dir)
        .with_context(|| format!("cannot use {}", args.dir.display()))?;
    if dir.starts_with(&root) {
        bail!(
            "{} is inside the course; write the handout somewhere else (it becomes a \
             repository of its own), for example ../handout",
            args.dir.display()
        );
    }
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!(
            "{} is not empty: give a new directory (nothing is overwritten)",
            args.dir.display()
        );
    }
    let tracked = committed_files(&root)?;
    let plan = plan(&root, &tracked, args.up_to)?;
    if has_uncommitted_changes(&root) {
        println!(
            "note: this working copy has uncommitted changes; the handout is made of the \
             last commit (HEAD), as shipped"
        );
    }
    write(&root, &tracked, &plan, &dir)?;
    let later = plan.later_steps();
    println!(
        "Wrote a student copy of the course to {}:",
        args.dir.display()
    );
    println!(
        "  steps 1 to {n} and exercises 1 to {n}, without solutions/",
        n = plan.up_to
    );
    if let (Some(first), Some(last)) = (later.first(), later.last()) {
        println!(
            "  the codelab's parts {first} to {last} say they come later; hand them out with \
             `cargo xtask handout DIR --up-to {last}`"
        );
    }
    println!(
        "  a git repository with one commit: publish it for students to clone, or zip it\n\
         Check it first: cd {} && cargo test --workspace",
        args.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A committed file: its path (with `/`) and git's object id.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub path: String,
    pub oid: String,
    pub executable: bool,
}

/// Every file of `HEAD`, from git.
pub fn committed_files(root: &Path) -> anyhow::Result<Vec<Tracked>> {
    let output = Command::new("git")
        .current_dir(root)
        .args(["ls-tree", "-r", "-z", "--full-tree", "HEAD"])
        .stderr(Stdio::piped())
        .output()
        .context("the handout is made from git's last commit, and git cannot be run")?;
    if !output.status.success() {
        bail!(
            "the handout is made from git's last commit, and git cannot read it here: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let mut files = Vec::new();
    for entry in output.stdout.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        // `<mode> <type> <oid>\t<path>`
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let fields: Vec<&str> = meta.split(' ').collect();
        if let [mode, "blob", oid] = fields.as_slice() {
            files.push(Tracked {
                path: path.to_string(),
                oid: oid.to_string(),
                executable: *mode == "100755",
            });
        }
    }
    Ok(files)
}

fn has_uncommitted_changes(root: &Path) -> bool {
    Command::new("git")
        .current_dir(root)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// The number N of a path's `stepN-...` or `exerciseN` directory under
/// `parent` (`session2` or `exercises`), if it is in one.
fn numbered(path: &str, parent: &str, prefix: &str) -> Option<u8> {
    let rest = path.strip_prefix(parent)?.strip_prefix('/')?;
    let dir = rest.split('/').next()?;
    let after = dir.strip_prefix(prefix)?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    let tail = &after[digits.len()..];
    let shaped = if prefix == "step" {
        tail.starts_with('-')
    } else {
        tail.is_empty()
    };
    if shaped && rest.len() > dir.len() {
        digits.parse().ok()
    } else {
        None
    }
}

/// Decides what goes in: see the module's documentation.
pub fn plan(root: &Path, tracked: &[Tracked], up_to: Option<u8>) -> anyhow::Result<Plan> {
    let steps: Vec<u8> = course::steps().into_iter().map(|(n, _)| n).collect();
    let Some(&last) = steps.last() else {
        bail!("session2/ has no step (session2/step1-...) to hand out");
    };
    let up_to = up_to.unwrap_or(last);
    let minimum = markdown::steps_named_outside_markers(&read(root, "README.md")?)
        .into_iter()
        .max()
        .unwrap_or(1);
    if !steps.contains(&up_to) {
        bail!(
            "there is no step {up_to} in session2/: --up-to takes a step from {minimum} to {last}"
        );
    }
    if up_to < minimum {
        bail!(
            "README.md runs step {minimum} for everyone; hand out at least --up-to {minimum} \
             (or mark that text in README.md with `<!-- handout: from step {minimum} -->`)"
        );
    }
    let left_out = left_out_paths(root, up_to)?;
    let files = tracked
        .iter()
        .map(|t| t.path.clone())
        .filter(|path| {
            let later = numbered(path, "session2", "step").is_some_and(|n| n > up_to)
                || numbered(path, "exercises", "exercise").is_some_and(|n| n > up_to);
            let answer_key = path.starts_with("solutions/");
            let listed = left_out
                .iter()
                .any(|out| path == out || path.starts_with(&format!("{out}/")));
            !(later || answer_key || listed)
        })
        .collect();
    Ok(Plan {
        up_to,
        steps,
        files,
    })
}

fn read(root: &Path, path: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(root.join(path)).with_context(|| format!("cannot read {path}"))
}

/// The paths the workspace says to leave out, and the crates that need a
/// step after `up_to`.
fn left_out_paths(root: &Path, up_to: u8) -> anyhow::Result<Vec<String>> {
    let workspace_manifest = read(root, "Cargo.toml")?;
    let mut out = manifest::list(
        &workspace_manifest,
        "workspace.metadata.handout",
        "leave-out",
    );
    for dir in ["session2", "."] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let manifest = entry.path().join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            let from_step = manifest::value(&text, "package.metadata.course", "from-step")
                .and_then(|v| v.parse::<u8>().ok());
            if from_step.is_some_and(|k| k > up_to) {
                let name = entry.file_name().to_string_lossy().into_owned();
                out.push(if dir == "." {
                    name
                } else {
                    format!("{dir}/{name}")
                });
            }
        }
    }
    Ok(out)
}

/// Writes the plan's files into `dir`, rewrites the Markdown, trims
/// Cargo.lock and commits it all in a new git repository.
pub fn write(root: &Path, tracked: &[Tracked], plan: &Plan, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let kept: BTreeSet<&str> = plan.files.iter().map(String::as_str).collect();
    let wanted: Vec<&Tracked> = tracked
        .iter()
        .filter(|t| kept.contains(t.path.as_str()))
        .collect();
    let contents = read_blobs(root, &wanted)?;
    let context = markdown::Context {
        up_to: plan.up_to,
        later: plan.later_steps(),
        files: &kept,
    };
    for (file, bytes) in wanted.iter().zip(contents) {
        let target = dir.join(&file.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let bytes = if file.path.ends_with(".md") {
            let text = String::from_utf8_lossy(&bytes);
            markdown::for_handout(&text, &file.path, &context).into_bytes()
        } else {
            bytes
        };
        std::fs::write(&target, bytes)
            .with_context(|| format!("cannot write {}", target.display()))?;
        if file.executable {
            make_executable(&target)?;
        }
    }
    trim_lock_file(dir);
    commit(dir, plan)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_mode(0o755);
    std::fs::set_permissions(path, permissions)
        .with_context(|| format!("cannot make {} executable", path.display()))
}

/// Windows has no executable bit; git keeps the mode it was given.
#[cfg(not(unix))]
fn make_executable(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// The contents of `files`, through one `git cat-file --batch`.
fn read_blobs(root: &Path, files: &[&Tracked]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut child = Command::new("git")
        .current_dir(root)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run git cat-file")?;
    let mut stdin = child.stdin.take().context("git's stdin")?;
    let ids: String = files.iter().map(|f| format!("{}\n", f.oid)).collect();
    // Written from a thread: git answers while we still ask, and a full
    // pipe either way would stall both.
    let asking = std::thread::spawn(move || stdin.write_all(ids.as_bytes()));
    let mut out = BufReader::new(child.stdout.take().context("git's stdout")?);
    let mut contents = Vec::with_capacity(files.len());
    for file in files {
        let mut header = String::new();
        out.read_line(&mut header)?;
        // `<oid> blob <size>`
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("git cat-file: no size for {} in {header:?}", file.path))?;
        let mut bytes = vec![0; size];
        out.read_exact(&mut bytes)?;
        let mut newline = [0u8; 1];
        out.read_exact(&mut newline)?;
        contents.push(bytes);
    }
    asking
        .join()
        .map_err(|_| anyhow::anyhow!("the thread feeding git panicked"))??;
    child.wait()?;
    Ok(contents)
}

/// The workspace's Cargo.lock still lists the packages left out;
/// `cargo update --workspace --offline` drops them (and changes no version)
/// without building or downloading anything. If that fails, the first
/// build of a student trims it instead.
fn trim_lock_file(dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let trimmed = Command::new(cargo)
        .current_dir(dir)
        .args(["update", "--workspace", "--offline", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !trimmed {
        println!("note: could not trim Cargo.lock offline; cargo will on the first build");
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .context("cannot run git")?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// A fresh repository, on a branch called main, with everything in one
/// commit. Git needs an author: the instructor's, or a neutral one.
fn commit(dir: &Path, plan: &Plan) -> anyhow::Result<()> {
    git(dir, &["init", "-q"])?;
    git(dir, &["symbolic-ref", "HEAD", "refs/heads/main"])?;
    git(dir, &["add", "-A"])?;
    let has_identity = Command::new("git")
        .current_dir(dir)
        .args(["config", "user.email"])
        .output()
        .is_ok_and(|o| o.status.success());
    let message = format!("The course, steps 1 to {}", plan.up_to);
    let mut args = Vec::new();
    if !has_identity {
        args.extend([
            "-c",
            "user.name=cargo xtask handout",
            "-c",
            "user.email=handout@localhost",
        ]);
    }
    args.extend(["commit", "-q", "-m", &message]);
    git(dir, &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_directories() {
        assert_eq!(
            numbered("session2/step4-framed-chat/src/main.rs", "session2", "step"),
            Some(4)
        );
        assert_eq!(
            numbered("session2/step4-framed-chat", "session2", "step"),
            None
        );
        assert_eq!(
            numbered("exercises/exercise12/README.md", "exercises", "exercise"),
            Some(12)
        );
        assert_eq!(numbered("session2/stepper/x", "session2", "step"), None);
        assert_eq!(numbered("session2/README.md", "session2", "step"), None);
        assert_eq!(
            numbered("exercises/exercise1x/a", "exercises", "exercise"),
            None
        );
    }
}
