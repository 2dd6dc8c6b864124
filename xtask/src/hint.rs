//! `cargo xtask hint exercise4`: the exercise's next hint each time it is
//! asked, from gentle to explicit; `--all` shows them all.
//!
//! Hints live in the exercise's README.md, in a `## Hints` section made of
//! `### Hint 1`, `### Hint 2`, ... subsections. How many a student has seen
//! is remembered in `target/xtask-hints.txt` (one `exerciseN COUNT` a line).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::build;
use crate::course;
use crate::term::{self, Colour, paint};

/// Show the next hint for an exercise: `cargo xtask hint exercise4`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The exercise: `exercise4`, or just `4`.
    #[arg(value_parser = course::parse_exercise)]
    pub exercise: u8,
    /// Show every hint at once.
    #[arg(long)]
    pub all: bool,
    /// Forget which hints were shown, and start again from the first.
    #[arg(long, conflicts_with = "all")]
    pub reset: bool,
}

/// One hint: its heading (`Hint 2`) and its text (Markdown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub title: String,
    pub body: String,
}

/// The hints of a README: the `### ...` subsections of `## Hints`, up to
/// the next `## ` heading. Headings inside code fences do not count.
pub fn parse_hints(readme: &str) -> Vec<Hint> {
    let mut hints: Vec<Hint> = Vec::new();
    let mut in_section = false;
    let mut in_fence = false;
    for line in readme.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        if !in_fence {
            if let Some(title) = line.strip_prefix("### ") {
                if in_section {
                    hints.push(Hint {
                        title: title.trim().to_string(),
                        body: String::new(),
                    });
                }
                continue;
            }
            if let Some(title) = line.strip_prefix("## ") {
                if in_section {
                    break;
                }
                in_section = title.trim().eq_ignore_ascii_case("hints");
                continue;
            }
        }
        if let Some(hint) = hints.last_mut() {
            hint.body.push_str(line);
            hint.body.push('\n');
        }
    }
    for hint in &mut hints {
        hint.body = hint.body.trim().to_string();
    }
    hints
}

/// Where progress is remembered.
pub fn progress_file() -> PathBuf {
    build::state_dir().join("xtask-hints.txt")
}

/// Reads `exerciseN COUNT` lines; a missing or garbled file is no progress.
pub fn read_progress(path: &Path) -> BTreeMap<u8, usize> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (name, count) = line.split_once(' ')?;
            let n = course::parse_exercise(name).ok()?;
            Some((n, count.trim().parse().ok()?))
        })
        .collect()
}

pub fn write_progress(path: &Path, progress: &BTreeMap<u8, usize>) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text: String = progress
        .iter()
        .map(|(n, count)| format!("exercise{n} {count}\n"))
        .collect();
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Which hint to show next (0-based) when `seen` were shown already, and
/// the count to remember afterwards. After the last, the last again.
pub fn next_hint(seen: usize, total: usize) -> (usize, usize) {
    let index = seen.min(total.saturating_sub(1));
    (index, (index + 1).min(total))
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let n = args.exercise;
    let path = progress_file();
    let mut progress = read_progress(&path);
    if args.reset {
        progress.remove(&n);
        write_progress(&path, &progress)?;
        term::say(format!("exercise{n}: hints start again from the first"));
        return Ok(ExitCode::SUCCESS);
    }
    let readme = course::readme(n);
    let text = std::fs::read_to_string(&readme)
        .with_context(|| format!("cannot read {}", readme.display()))?;
    let hints = parse_hints(&text);
    if hints.is_empty() {
        bail!(
            "{} has no hints (a `## Hints` section with `### Hint 1`, ...)",
            readme.display()
        );
    }
    let colour = term::colour_enabled();
    let total = hints.len();
    let show = |i: usize| {
        term::say(paint(
            &format!("exercise{n}, {} ({} of {total})", hints[i].title, i + 1),
            Colour::Bold,
            colour,
        ));
        term::say(format!("{}\n", hints[i].body));
    };
    if args.all {
        (0..total).for_each(show);
        progress.insert(n, total);
    } else {
        let seen = progress.get(&n).copied().unwrap_or(0);
        let (index, now_seen) = next_hint(seen, total);
        show(index);
        progress.insert(n, now_seen);
        let footer = if seen >= total {
            format!(
                "That was the last hint, again. `cargo xtask hint exercise{n} --all` shows \
                 them all; `--reset` starts over."
            )
        } else if now_seen == total {
            "That was the last hint.".to_string()
        } else {
            format!("Run `cargo xtask hint exercise{n}` again for the next hint.")
        };
        term::say(paint(&footer, Colour::Dim, colour));
    }
    write_progress(&path, &progress)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "# Exercise 4\n\nGoal.\n\n## Hints\n\nIntro text.\n\n\
        ### Hint 1\n\nGentle.\n\n### Hint 2\n\nMore:\n\n```rust\n## not a heading\n\
        ### nor this\n```\n\n### Hint 3\n\nExplicit.\n\n## Checking\n\n### Not a hint\n";

    #[test]
    fn parses_the_hint_subsections_only() {
        let hints = parse_hints(README);
        let titles: Vec<&str> = hints.iter().map(|h| h.title.as_str()).collect();
        assert_eq!(titles, ["Hint 1", "Hint 2", "Hint 3"]);
        assert_eq!(hints[0].body, "Gentle.");
        assert_eq!(
            hints[1].body,
            "More:\n\n```rust\n## not a heading\n### nor this\n```"
        );
        assert_eq!(hints[2].body, "Explicit.");
    }

    #[test]
    fn no_hints_section_means_no_hints() {
        assert!(parse_hints("# Title\n\n### Hint 1\n\ntext\n").is_empty());
    }

    #[test]
    fn next_hint_walks_then_repeats_the_last() {
        assert_eq!(next_hint(0, 3), (0, 1));
        assert_eq!(next_hint(2, 3), (2, 3));
        assert_eq!(next_hint(3, 3), (2, 3));
        assert_eq!(next_hint(9, 3), (2, 3));
    }

    #[test]
    fn progress_round_trips_through_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-hints-test-{}", std::process::id()));
        let path = dir.join("xtask-hints.txt");
        let progress = BTreeMap::from([(2, 1), (4, 3)]);
        write_progress(&path, &progress).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "exercise2 1\nexercise4 3\n"
        );
        assert_eq!(read_progress(&path), progress);
        std::fs::write(&path, "garbage\nexercise9 1\nexercise3 x\nexercise5 2\n").unwrap();
        assert_eq!(read_progress(&path), BTreeMap::from([(5, 2)]));
        std::fs::remove_dir_all(dir).unwrap();
        assert!(read_progress(&path).is_empty());
    }
}
