//! `cargo xtask reset exercise4`: puts a starter back as it was shipped.
//!
//! "As shipped" is what git's last commit (HEAD) holds: changed and deleted
//! files come back from it, files the student added are removed, so the
//! exercise is exactly the one the course handed out. That throws work
//! away, so the command lists what it will undo and asks first (`--yes`
//! skips the question); outside a git checkout it refuses, since there is
//! nothing to restore from.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

use anyhow::{Context, bail};

use crate::{course, workspace};

/// Put an exercise's starter back as it was shipped (from git), losing your changes.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The exercise: `exercise4` or just `4`.
    pub exercise: String,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The course checkout to work in (default: the one this xtask belongs to).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let n = course::parse_exercise(&args.exercise).map_err(anyhow::Error::msg)?;
    let root = args.repo.clone().unwrap_or_else(workspace::root);
    let exercise = format!("exercises/exercise{n}");
    let git = Git::new(&root)?;
    if !git.in_head(&exercise)? {
        bail!("{exercise} is not in git's last commit (HEAD): there is nothing to restore it from");
    }
    let changes = git.changes(&exercise)?;
    if changes.is_empty() {
        println!("{exercise} is already as shipped: nothing to do.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("This puts {exercise} back as shipped (git's last commit), undoing:");
    for change in &changes {
        println!("  {}", change.describe());
    }
    if !args.yes && !confirm("Reset it? [y/N] ")? {
        println!("Nothing changed.");
        return Ok(ExitCode::FAILURE);
    }
    git.restore(&exercise)?;
    let left = git.changes(&exercise)?;
    if !left.is_empty() {
        let left: Vec<String> = left.iter().map(Change::describe).collect();
        bail!("git left {exercise} changed: {}", left.join("; "));
    }
    println!("{exercise} is back as shipped.");
    Ok(ExitCode::SUCCESS)
}

/// Asks `question` on stdout and reads the answer from stdin: only `y` or
/// `yes` (any case) agree; anything else, end of input included, refuses.
fn confirm(question: &str) -> anyhow::Result<bool> {
    print!("{question}");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(is_yes(&answer))
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// One file that differs from HEAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Modified(String),
    Deleted(String),
    /// Not in HEAD at all: reset removes it.
    Added(String),
}

impl Change {
    pub fn describe(&self) -> String {
        match self {
            Change::Modified(path) => format!("changed:  {path}"),
            Change::Deleted(path) => format!("deleted:  {path} (comes back)"),
            Change::Added(path) => format!("new file: {path} (will be removed)"),
        }
    }
}

/// Parses `git status --porcelain` lines: `XY path`, X for the index and Y
/// for the work tree, `??` for an untracked file.
pub fn parse_status(porcelain: &str) -> Vec<Change> {
    porcelain
        .lines()
        .filter(|line| line.len() > 3)
        .map(|line| {
            let (code, path) = line.split_at(3);
            let path = path.to_string();
            match code.trim_end() {
                "??" | "A" | "AM" | "AD" => Change::Added(path),
                code if code.contains('D') => Change::Deleted(path),
                _ => Change::Modified(path),
            }
        })
        .collect()
}

/// Runs git inside one checkout.
struct Git {
    root: PathBuf,
}

impl Git {
    /// Checks that git is installed and `root` is inside a git checkout.
    fn new(root: &Path) -> anyhow::Result<Git> {
        if !root.is_dir() {
            bail!("{} is not a directory", root.display());
        }
        let git = Git {
            root: root.to_path_buf(),
        };
        let output = git
            .command(&["rev-parse", "--is-inside-work-tree"])
            .output()
            .context(
                "cannot run git: reset restores the starter from git, so git must be installed",
            )?;
        if !output.status.success() || String::from_utf8_lossy(&output.stdout).trim() != "true" {
            bail!(
                "{} is not a git checkout, so there is no shipped copy to restore from.\n\
                 Get a fresh copy of the course (git clone) and copy the exercise from there.",
                root.display()
            );
        }
        Ok(git)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        command.current_dir(&self.root).args(args);
        command
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        let output = self
            .command(args)
            .output()
            .with_context(|| format!("cannot run git {}", args.join(" ")))?;
        if !output.status.success() {
            bail!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(output)
    }

    /// Whether HEAD holds `path` (relative to the root).
    fn in_head(&self, path: &str) -> anyhow::Result<bool> {
        let spec = format!("HEAD:./{path}");
        Ok(self
            .command(&["cat-file", "-e", &spec])
            .output()
            .context("cannot run git")?
            .status
            .success())
    }

    /// What differs from HEAD under `path`, added files included.
    fn changes(&self, path: &str) -> anyhow::Result<Vec<Change>> {
        let output = self.run(&[
            "status",
            "--porcelain=v1",
            "--untracked-files=all",
            "--",
            path,
        ])?;
        Ok(parse_status(&String::from_utf8_lossy(&output.stdout)))
    }

    /// Restores every file under `path` from HEAD, in the index and the work
    /// tree (files HEAD does not have are dropped), then removes untracked
    /// files (ignored ones stay).
    fn restore(&self, path: &str) -> anyhow::Result<()> {
        self.run(&[
            "restore",
            "--source=HEAD",
            "--staged",
            "--worktree",
            "--",
            path,
        ])?;
        self.run(&["clean", "--force", "-d", "--quiet", "--", path])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_agrees() {
        for answer in ["y\n", "Y\n", "yes\n", " YES \r\n"] {
            assert!(is_yes(answer), "{answer:?}");
        }
        for answer in ["", "\n", "n\n", "no\n", "yep\n", "oui\n"] {
            assert!(!is_yes(answer), "{answer:?}");
        }
    }

    #[test]
    fn status_lines_become_changes() {
        let changes = parse_status(
            " M exercises/exercise4/src/main.rs\n D exercises/exercise4/Cargo.toml\n\
             ?? exercises/exercise4/src/extra.rs\nA  exercises/exercise4/src/new.rs\n\
             MM exercises/exercise4/src/lib.rs\nD  exercises/exercise4/README.md\n",
        );
        assert_eq!(
            changes,
            [
                Change::Modified("exercises/exercise4/src/main.rs".into()),
                Change::Deleted("exercises/exercise4/Cargo.toml".into()),
                Change::Added("exercises/exercise4/src/extra.rs".into()),
                Change::Added("exercises/exercise4/src/new.rs".into()),
                Change::Modified("exercises/exercise4/src/lib.rs".into()),
                Change::Deleted("exercises/exercise4/README.md".into()),
            ]
        );
        assert!(parse_status("").is_empty());
    }
}
