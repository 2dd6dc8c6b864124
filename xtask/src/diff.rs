//! `cargo xtask diff 3 4` and `cargo xtask diff exercise4`: what changed
//! between two steps of the lesson, or between a starter and its solution,
//! as one unified diff over the crates' `src/` and `Cargo.toml`.
//!
//! Each step adds exactly one idea to the one before, so the diff *is* the
//! lesson: the source comes first, and the manifest's lines that only name
//! the package (`name`, `description`) are left out. A bare number is a
//! step: `diff 4` is what step 4 adds, the same as `diff 3 4` (and `diff 8`
//! compares with step 6, which the bonus step 8 builds on). A file that one
//! step replaces with another (`lines.rs` by `frames.rs`) is compared with
//! it, as git pairs a rename; a file the new step takes from the old one's
//! library is listed, not shown as deleted. The line diff itself comes from
//! the `similar` crate; this module finds the two crates, pairs their files
//! and prints the result, coloured on a terminal.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use similar::{ChangeTag, TextDiff};

use crate::course;
use crate::term::{self, Colour};
use crate::workspace;

/// Show what changed between two steps, or between an exercise and its solution.
///
/// `cargo xtask diff 3 4` compares session2's step 3 with step 4, and
/// `cargo xtask diff 4` is the same (what step 4 adds);
/// `cargo xtask diff exercise4` compares the starter with its solution.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A step number (alone: compared with the step it builds on) or an exercise,
    /// like `exercise4`.
    pub from: String,
    /// A second step number, to compare with the first.
    pub to: Option<String>,
}

/// Lines of context around each change, as `diff -u`.
const CONTEXT_LINES: usize = 3;

pub fn run(args: &Args) -> anyhow::Result<std::process::ExitCode> {
    let root = workspace::root();
    let (old, new) = resolve(&args.from, args.to.as_deref())?;
    let diff = diff_crates(&root, &old, &new)?;
    print!("{}", diff.render(term::colour_enabled()));
    Ok(std::process::ExitCode::SUCCESS)
}

/// Turns the command-line arguments into the two crate directories to
/// compare (relative to the repository root).
pub fn resolve(from: &str, to: Option<&str>) -> anyhow::Result<(PathBuf, PathBuf)> {
    match (step_number(from), to) {
        (Some(a), Some(to)) => {
            let Some(b) = step_number(to) else {
                bail!("`{to}` is not a step number: try `cargo xtask diff 3 4`");
            };
            Ok((step_dir(a)?, step_dir(b)?))
        }
        (Some(n), None) => {
            if n <= 1 {
                bail!(
                    "step {n} comes first: nothing before it to compare with; \
                     try `cargo xtask diff 1 2`"
                );
            }
            Ok((step_dir(course::builds_on(n))?, step_dir(n)?))
        }
        (None, Some(_)) => bail!("`{from}` is not a step number: try `cargo xtask diff 3 4`"),
        (None, None) => {
            if !from.starts_with("ex") {
                bail!(
                    "`{from}` is neither two step numbers nor an exercise: \
                     try `cargo xtask diff 3 4` or `cargo xtask diff exercise4`"
                );
            }
            let n = course::parse_exercise(from).map_err(anyhow::Error::msg)?;
            exercise_dirs(n)
        }
    }
}

/// `3` or `step3` as a step number.
fn step_number(text: &str) -> Option<u8> {
    text.strip_prefix("step").unwrap_or(text).parse().ok()
}

/// The crate of step `n` (the directory of `session2/` named `stepN-...`).
pub fn step_dir(n: u8) -> anyhow::Result<PathBuf> {
    if let Some(step) = course::step(n) {
        return Ok(PathBuf::from(step.shown_dir()));
    }
    let steps: Vec<String> = (0..=99)
        .filter_map(course::step)
        .map(|step| step.name)
        .collect();
    bail!(
        "there is no step {n} in session2/ (there is: {})",
        if steps.is_empty() {
            "none".to_string()
        } else {
            steps.join(", ")
        }
    )
}

/// The starter and the solution of exercise `n`.
fn exercise_dirs(n: u8) -> anyhow::Result<(PathBuf, PathBuf)> {
    let Some(starter) = course::exercise(n) else {
        bail!("there is no exercises/exercise{n}");
    };
    let Some(solution) = course::solution(n) else {
        bail!(
            "there is no solutions/exercise{n}: instructors may hand the course out \
             without solutions/"
        );
    };
    Ok((
        PathBuf::from(starter.shown_dir()),
        PathBuf::from(solution.shown_dir()),
    ))
}

/// The diff of two crates, file by file.
#[derive(Debug)]
pub struct CrateDiff {
    pub files: Vec<FileDiff>,
    /// Files of the old crate's library that the new crate uses as they
    /// are (it depends on the old crate): not deleted, only moved out of
    /// sight. Shown as one line.
    pub from_library: Vec<String>,
}

/// How alike (0 to 1, `similar`'s ratio) a deleted and an added file must be
/// to be shown as one file renamed.
const RENAME_SIMILARITY: f32 = 0.5;

/// One file's diff. A file only on one side is compared with nothing.
#[derive(Debug)]
pub struct FileDiff {
    /// A crate's `Cargo.toml`: its hunks that only change the package's
    /// `name` or `description` are left out (every crate has its own, and
    /// that is not the lesson).
    pub is_manifest: bool,
    /// Shown after `--- ` and `+++ `: `a/<path>` and `b/<path>`, or
    /// `/dev/null` for a missing side, as git does. Two different file
    /// names are a rename.
    pub old_label: String,
    pub new_label: String,
    pub old_text: Option<String>,
    pub new_text: Option<String>,
}

/// Compares every file under `src/` of two crates, then their `Cargo.toml`
/// (`target/` and everything else is left out).
pub fn diff_crates(root: &Path, old: &Path, new: &Path) -> anyhow::Result<CrateDiff> {
    let old_files = crate_files(&root.join(old))?;
    let new_files = crate_files(&root.join(new))?;
    let read = |dir: &Path, relative: &Path| -> anyhow::Result<String> {
        let path = root.join(dir).join(relative);
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    let label = |prefix: &str, dir: &Path, relative: &Path| {
        format!("{prefix}/{}", slashed(&dir.join(relative)))
    };

    // The old crate's library, if the new one depends on it.
    let library = library_used(root, old, new)?;
    let from_library: Vec<PathBuf> = old_files
        .difference(&new_files)
        .filter(|path| library.contains(*path))
        .cloned()
        .collect();
    // A module swapped for another (`mod lines;` in the old `main.rs`,
    // `mod frames;` in the new one, in its place) is one file renamed,
    // however much of it changed. Then each other file only the old crate
    // has is paired with the most alike of those only the new one has, if
    // alike enough.
    let mut renames: Vec<(PathBuf, PathBuf)> = swapped_module(
        &read(old, Path::new("src/main.rs")).unwrap_or_default(),
        &read(new, Path::new("src/main.rs")).unwrap_or_default(),
    )
    .filter(|(from, to)| {
        old_files.contains(from)
            && new_files.contains(to)
            && !new_files.contains(from)
            && !old_files.contains(to)
    })
    .into_iter()
    .collect();
    let added: Vec<&PathBuf> = new_files.difference(&old_files).collect();
    for gone in old_files.difference(&new_files) {
        if from_library.contains(gone) || renames.iter().any(|(from, _)| from == gone) {
            continue;
        }
        let old_text = read(old, gone)?;
        let mut best: Option<(f32, &PathBuf)> = None;
        for candidate in &added {
            if renames.iter().any(|(_, taken)| taken == *candidate) {
                continue;
            }
            let ratio = TextDiff::from_lines(&old_text, &read(new, candidate)?).ratio();
            if ratio >= RENAME_SIMILARITY && best.is_none_or(|(r, _)| ratio > r) {
                best = Some((ratio, candidate));
            }
        }
        if let Some((_, candidate)) = best {
            renames.push((gone.clone(), candidate.clone()));
        }
    }

    let mut all: Vec<&PathBuf> = old_files
        .iter()
        .chain(&new_files)
        .filter(|path| !from_library.contains(*path))
        .filter(|path| !renames.iter().any(|(_, to)| to == *path))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // The source is the lesson: it comes first, the manifest last.
    all.sort_by_key(|path| (path.as_path() == Path::new(MANIFEST), *path));
    let mut files = Vec::new();
    for relative in all {
        let renamed_to = renames
            .iter()
            .find(|(from, _)| from == relative)
            .map(|(_, to)| to);
        let (old_relative, new_relative) = (relative, renamed_to.unwrap_or(relative));
        let old_text = match old_files.contains(old_relative) {
            true => Some(read(old, old_relative)?),
            false => None,
        };
        let new_text = match new_files.contains(new_relative) {
            true => Some(read(new, new_relative)?),
            false => None,
        };
        if old_text == new_text {
            continue;
        }
        files.push(FileDiff {
            is_manifest: relative.as_path() == Path::new(MANIFEST),
            old_label: match old_text {
                Some(_) => label("a", old, old_relative),
                None => "/dev/null".to_string(),
            },
            new_label: match new_text {
                Some(_) => label("b", new, new_relative),
                None => "/dev/null".to_string(),
            },
            old_text,
            new_text,
        });
    }
    Ok(CrateDiff {
        files,
        from_library: from_library
            .iter()
            .map(|path| slashed(&old.join(path)))
            .collect(),
    })
}

/// The module that `new_main` declares in place of one of `old_main`'s, as
/// the two files: when exactly one `mod NAME;` went and exactly one came.
fn swapped_module(old_main: &str, new_main: &str) -> Option<(PathBuf, PathBuf)> {
    let modules = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter_map(|line| line.strip_prefix("mod "))
            .map(|name| name.trim_end_matches(';').trim().to_string())
            .collect()
    };
    let (old, new) = (modules(old_main), modules(new_main));
    let gone: Vec<&String> = old.difference(&new).collect();
    let came: Vec<&String> = new.difference(&old).collect();
    match (gone.as_slice(), came.as_slice()) {
        ([gone], [came]) => Some((
            PathBuf::from("src").join(format!("{gone}.rs")),
            PathBuf::from("src").join(format!("{came}.rs")),
        )),
        _ => None,
    }
}

/// The files of `old`'s library (`src/lib.rs` and the modules it declares
/// with `pub mod`), if `new` depends on `old`'s package; none otherwise.
fn library_used(root: &Path, old: &Path, new: &Path) -> anyhow::Result<BTreeSet<PathBuf>> {
    let mut files = BTreeSet::new();
    let Some(package) = old.file_name().and_then(|name| name.to_str()) else {
        return Ok(files);
    };
    let manifest = fs::read_to_string(root.join(new).join(MANIFEST)).unwrap_or_default();
    let depends = manifest.lines().any(|line| {
        line.trim_start().starts_with(&format!("{package}."))
            || line.trim_start().starts_with(&format!("{package} "))
    });
    let Ok(lib) = fs::read_to_string(root.join(old).join("src/lib.rs")) else {
        return Ok(files);
    };
    if !depends {
        return Ok(files);
    }
    files.insert(PathBuf::from("src/lib.rs"));
    for line in lib.lines() {
        if let Some(module) = line.trim().strip_prefix("pub mod ") {
            let module = module.trim_end_matches(';').trim();
            files.insert(PathBuf::from("src").join(format!("{module}.rs")));
        }
    }
    Ok(files)
}

/// A path with `/` separators on every system, for diff headers.
fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

const MANIFEST: &str = "Cargo.toml";

/// Whether a changed manifest line only names the package.
fn names_the_package(line: &str) -> bool {
    let key = line.split('=').next().unwrap_or("").trim();
    line.contains('=') && (key == "name" || key == "description")
}

/// `Cargo.toml` and the files under `src/`, relative to the crate, sorted.
fn crate_files(dir: &Path) -> anyhow::Result<BTreeSet<PathBuf>> {
    let mut files = BTreeSet::new();
    if dir.join(MANIFEST).is_file() {
        files.insert(PathBuf::from(MANIFEST));
    }
    let mut pending = vec![PathBuf::from("src")];
    while let Some(relative) = pending.pop() {
        let path = dir.join(&relative);
        if !path.is_dir() {
            continue;
        }
        for entry in
            fs::read_dir(&path).with_context(|| format!("cannot list {}", path.display()))?
        {
            let entry = entry?;
            let child = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(child);
            } else {
                files.insert(child);
            }
        }
    }
    Ok(files)
}

impl CrateDiff {
    /// The unified diff as `diff -u` / `git diff` print it, coloured when
    /// `colour` is set, ending with a one-line summary.
    pub fn render(&self, colour: bool) -> String {
        let mut out = String::new();
        let (mut files, mut added, mut removed) = (0, 0, 0);
        for file in &self.files {
            let old = file.old_text.as_deref().unwrap_or("");
            let new = file.new_text.as_deref().unwrap_or("");
            let diff = TextDiff::from_lines(old, new);
            let hunks: Vec<_> = diff
                .unified_diff()
                .context_radius(CONTEXT_LINES)
                .iter_hunks()
                .filter(|hunk| {
                    !file.is_manifest
                        || hunk
                            .iter_changes()
                            .filter(|c| c.tag() != ChangeTag::Equal)
                            .any(|c| !names_the_package(c.value()))
                })
                .collect();
            if hunks.is_empty() {
                continue;
            }
            files += 1;
            let renamed = |label: &str| label.rsplit('/').next().map(str::to_string);
            if file.old_text.is_some()
                && file.new_text.is_some()
                && renamed(&file.old_label) != renamed(&file.new_label)
            {
                let _ = writeln!(
                    out,
                    "{}",
                    term::paint(
                        &format!(
                            "renamed: {} -> {}",
                            &file.old_label[2..],
                            &file.new_label[2..]
                        ),
                        Colour::Bold,
                        colour
                    )
                );
            }
            let _ = writeln!(
                out,
                "{}",
                term::paint(&format!("--- {}", file.old_label), Colour::Bold, colour)
            );
            let _ = writeln!(
                out,
                "{}",
                term::paint(&format!("+++ {}", file.new_label), Colour::Bold, colour)
            );
            for hunk in hunks {
                let _ = writeln!(
                    out,
                    "{}",
                    term::paint(&hunk.header().to_string(), Colour::Cyan, colour)
                );
                for change in hunk.iter_changes() {
                    let (sign, paint_as) = match change.tag() {
                        ChangeTag::Delete => {
                            removed += 1;
                            ('-', Some(Colour::Red))
                        }
                        ChangeTag::Insert => {
                            added += 1;
                            ('+', Some(Colour::Green))
                        }
                        ChangeTag::Equal => (' ', None),
                    };
                    let line = format!("{sign}{}", change.value().trim_end_matches(['\n', '\r']));
                    let line = match paint_as {
                        Some(c) => term::paint(&line, c, colour),
                        None => line,
                    };
                    let _ = writeln!(out, "{line}");
                    if change.missing_newline() {
                        out.push_str("\\ No newline at end of file\n");
                    }
                }
            }
        }
        if !self.from_library.is_empty() {
            let _ = writeln!(
                out,
                "unchanged, used from the library of the first: {}",
                self.from_library.join(", ")
            );
        }
        if files == 0 {
            out.push_str("no differences in src/ and Cargo.toml\n");
            return out;
        }
        let _ = writeln!(
            out,
            "{files} file{} changed, {added} insertion{}(+), {removed} deletion{}(-)",
            plural(files),
            plural(added),
            plural(removed)
        );
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(old: Option<&str>, new: Option<&str>) -> CrateDiff {
        CrateDiff {
            files: vec![FileDiff {
                is_manifest: false,
                old_label: if old.is_some() { "a/x.rs" } else { "/dev/null" }.to_string(),
                new_label: if new.is_some() { "b/x.rs" } else { "/dev/null" }.to_string(),
                old_text: old.map(str::to_string),
                new_text: new.map(str::to_string),
            }],
            from_library: Vec::new(),
        }
    }

    #[test]
    fn renders_a_unified_diff_with_a_summary() {
        let out = file(Some("a\nb\nc\n"), Some("a\nB\nc\n")).render(false);
        assert_eq!(
            out,
            "--- a/x.rs\n+++ b/x.rs\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n\
             1 file changed, 1 insertion(+), 1 deletion(-)\n"
        );
    }

    #[test]
    fn colours_only_when_asked() {
        let out = file(Some("a\n"), Some("b\n")).render(true);
        assert!(out.contains("\x1b[31m-a\x1b[0m\n"));
        assert!(out.contains("\x1b[32m+b\x1b[0m\n"));
        assert!(out.contains("\x1b[36m@@ -1 +1 @@\x1b[0m\n"));
    }

    #[test]
    fn new_file_and_missing_newline() {
        let out = file(None, Some("fn main() {}")).render(false);
        assert!(out.starts_with("--- /dev/null\n+++ b/x.rs\n@@ -0,0 +1 @@\n+fn main() {}\n\\ No newline at end of file\n"), "{out}");
    }

    #[test]
    fn nothing_to_show() {
        let out = CrateDiff {
            files: vec![],
            from_library: Vec::new(),
        }
        .render(false);
        assert_eq!(out, "no differences in src/ and Cargo.toml\n");
    }

    #[test]
    fn a_manifest_that_only_renames_the_package_is_left_out() {
        let manifest = |old: &str, new: &str| FileDiff {
            is_manifest: true,
            old_label: "a/Cargo.toml".to_string(),
            new_label: "b/Cargo.toml".to_string(),
            old_text: Some(old.to_string()),
            new_text: Some(new.to_string()),
        };
        let head = "[package]\nname = \"step3\"\nversion = \"0.1.0\"\ndescription = \"three\"\n";
        let renamed = "[package]\nname = \"step4\"\nversion = \"0.1.0\"\ndescription = \"four\"\n";
        let only = CrateDiff {
            files: vec![manifest(head, renamed)],
            from_library: Vec::new(),
        };
        assert_eq!(
            only.render(false),
            "no differences in src/ and Cargo.toml\n"
        );
        // A real change (a dependency) is shown, the renaming hunk is not.
        let padding = "\n".repeat(10);
        let old = format!("{head}{padding}[dependencies]\n");
        let new = format!("{renamed}{padding}[dependencies]\nsocket2 = \"0.5\"\n");
        let out = CrateDiff {
            files: vec![manifest(&old, &new)],
            from_library: Vec::new(),
        }
        .render(false);
        assert!(out.contains("+socket2 = \"0.5\"\n"), "{out}");
        assert!(!out.contains("name = "), "{out}");
        assert!(
            out.ends_with("1 file changed, 1 insertion(+), 0 deletions(-)\n"),
            "{out}"
        );
    }

    #[test]
    fn a_bare_number_is_the_step_against_the_one_before() {
        assert_eq!(
            resolve("2", None).unwrap(),
            resolve("1", Some("2")).unwrap()
        );
        let err = resolve("1", None).unwrap_err().to_string();
        assert!(err.contains("`cargo xtask diff 1 2`"), "{err}");
    }

    #[test]
    fn arguments_are_checked_with_a_clear_message() {
        let err = resolve("3", Some("four")).unwrap_err().to_string();
        assert!(err.contains("not a step number"), "{err}");
        let err = resolve("hello", None).unwrap_err().to_string();
        assert!(err.contains("neither"), "{err}");
        let err = resolve("exercise99", None).unwrap_err().to_string();
        assert!(err.contains("not an exercise"), "{err}");
        let err = resolve("99", Some("100")).unwrap_err().to_string();
        assert!(err.contains("no step 99 in session2/"), "{err}");
        assert!(err.contains("step1-blocking-echo"), "{err}");
    }

    #[test]
    fn steps_and_exercises_resolve_to_their_directories() {
        assert_eq!(
            step_dir(1).unwrap(),
            PathBuf::from("session2/step1-blocking-echo")
        );
        let (a, b) = resolve("step1", Some("1")).unwrap();
        assert_eq!(a, b);
        if course::solution(1).is_none() {
            return; // a handout: no answer key to compare with
        }
        let (starter, solution) = resolve("exercise1", None).unwrap();
        assert_eq!(starter, PathBuf::from("exercises/exercise1"));
        assert_eq!(solution, PathBuf::from("solutions/exercise1"));
    }
}
