//! The course's map: which exercises exist, where they live, which package
//! grades as what. One place, so `check`, `list`, `hint` (and the classroom
//! tools) agree.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::manifest;
use crate::workspace;

/// The exercise numbers, in order: one per step of the session (1 to 7),
/// and the bonus step 8's. (Step 9, the async bonus, has no exercise.)
pub const EXERCISES: std::ops::RangeInclusive<u8> = 1..=8;

/// The last step of the session itself; the steps after it are bonuses
/// (8, the prankster-proof room; 9, the same on one thread), which the
/// classroom tools show only when asked.
pub const LAST_SESSION_STEP: u8 = 7;

/// A gradable package: an exercise, its solution, or a step of the lesson.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The cargo package name (its binary has the same name).
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
}

impl Package {
    fn at(name: String, dir: PathBuf) -> Option<Package> {
        dir.join("Cargo.toml")
            .is_file()
            .then_some(Package { name, dir })
    }

    /// The directory relative to the repository root, for messages.
    pub fn shown_dir(&self) -> String {
        self.dir
            .strip_prefix(workspace::root())
            .unwrap_or(&self.dir)
            .display()
            .to_string()
            .replace('\\', "/")
    }
}

/// `exercises/exerciseN` (package `exerciseN`), if it exists.
pub fn exercise(n: u8) -> Option<Package> {
    Package::at(
        format!("exercise{n}"),
        workspace::root()
            .join("exercises")
            .join(format!("exercise{n}")),
    )
}

/// `solutions/exerciseN` (package `solutionN`), if the answer key is there.
pub fn solution(n: u8) -> Option<Package> {
    Package::at(
        format!("solution{n}"),
        workspace::root()
            .join("solutions")
            .join(format!("exercise{n}")),
    )
}

/// Which of `steps` this copy of the course lacks (a handout stops
/// before some): a test that needs them skips, saying so.
pub fn missing_steps(steps: &[u8]) -> Vec<u8> {
    steps
        .iter()
        .copied()
        .filter(|&n| step(n).is_none())
        .collect()
}

/// The lesson's step `n`: the directory `session2/stepN-*` (its package has
/// the directory's name), if it exists.
pub fn step(n: u8) -> Option<Package> {
    let prefix = format!("step{n}-");
    let session = workspace::root().join("session2");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&session)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&prefix))
        })
        .collect();
    found.sort();
    let dir = found.into_iter().next()?;
    let name = dir.file_name()?.to_str()?.to_string();
    Package::at(name, dir)
}

/// The step that step `n` is built on: the one before, unless its
/// `Cargo.toml` says otherwise (`[package.metadata.course] builds-on = 6`:
/// the bonus step 8 adds its defences to step 6, not to step 7's frames).
/// What `diff N` compares with, and the step that must fail check N.
pub fn builds_on(n: u8) -> u8 {
    step(n)
        .and_then(|step| std::fs::read_to_string(step.dir.join("Cargo.toml")).ok())
        .and_then(|text| manifest::value(&text, "package.metadata.course", "builds-on"))
        .and_then(|value| value.parse().ok())
        .unwrap_or(n.saturating_sub(1))
}

/// Every step of the lesson, in order: the directories `session2/stepN-*`.
pub fn steps() -> Vec<(u8, Package)> {
    let Ok(entries) = std::fs::read_dir(workspace::root().join("session2")) else {
        return Vec::new();
    };
    let mut numbers: Vec<u8> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            let (number, _) = name.strip_prefix("step")?.split_once('-')?;
            number.parse().ok()
        })
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .into_iter()
        .filter_map(|n| step(n).map(|package| (n, package)))
        .collect()
}

/// The exercise's README (its hints live there).
pub fn readme(n: u8) -> PathBuf {
    workspace::root()
        .join("exercises")
        .join(format!("exercise{n}"))
        .join("README.md")
}

/// Whether `package` is exactly as shipped, by git: no change against the
/// upstream branch (or `origin/HEAD`, or `HEAD` when there is no remote, so
/// that committing one's work does not make it look untouched), and no
/// untracked file. `None` when git cannot tell (no git, not a clone).
pub fn is_untouched(package: &Package) -> Option<bool> {
    let root = workspace::root();
    let base = ["@{upstream}", "origin/HEAD", "HEAD"]
        .into_iter()
        .find(|rev| {
            git(&root, &["rev-parse", "--verify", "--quiet", rev]).is_some_and(|(ok, _)| ok)
        })?;
    let dir = package.dir.to_str()?;
    let (same, _) = git(&root, &["diff", "--quiet", base, "--", dir])?;
    let (listed, untracked) = git(
        &root,
        &["ls-files", "--others", "--exclude-standard", "--", dir],
    )?;
    Some(same && listed && untracked.trim().is_empty())
}

/// Runs git in `root`: whether it succeeded, and its stdout. `None` if git
/// cannot be run.
fn git(root: &Path, args: &[&str]) -> Option<(bool, String)> {
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    Some((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

/// Parses `exercise4`, `ex4` or `4` into 4.
pub fn parse_exercise(text: &str) -> Result<u8, String> {
    let digits = text
        .strip_prefix("exercise")
        .or_else(|| text.strip_prefix("ex"))
        .unwrap_or(text);
    match digits.parse::<u8>() {
        Ok(n) if EXERCISES.contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not an exercise: use exercise1 .. exercise{}",
            EXERCISES.end()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exercise_names() {
        assert_eq!(parse_exercise("exercise4"), Ok(4));
        assert_eq!(parse_exercise("4"), Ok(4));
        assert_eq!(parse_exercise("ex7"), Ok(7));
        assert_eq!(parse_exercise("8"), Ok(8));
        assert!(parse_exercise("9").is_err());
        assert!(parse_exercise("exercise").is_err());
        assert!(parse_exercise("solution4").is_err());
    }

    #[test]
    fn finds_the_first_step_and_exercise() {
        let step = step(1).expect("session2/step1-* exists");
        assert!(step.name.starts_with("step1-"), "{step:?}");
        assert_eq!(exercise(1).map(|p| p.name), Some("exercise1".to_string()));
        assert_eq!(exercise(9), None);
    }

    #[test]
    fn each_step_builds_on_the_one_before_but_the_bonus_on_step_6() {
        assert_eq!(builds_on(4), 3);
        assert_eq!(builds_on(7), 6);
        if step(8).is_some() {
            assert_eq!(builds_on(8), 6);
            assert_eq!(builds_on(9), 8);
        }
    }
}
