//! `cargo xtask list`: every exercise with its last graded result, a
//! progress line and the next one to do. It grades nothing: `cargo xtask
//! check` remembers each result in `target/xtask-results.txt` (see
//! `results.rs`), with a fingerprint of the exercise's files, so `list` can
//! tell "passing" from "changed since the last check". An exercise never
//! checked is "not started" if git says it is untouched.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::checks;
use crate::course::{self, EXERCISES, Package};
use crate::results::{self, Graded, Record};
use crate::term::{self, Colour, paint};

/// List the exercises with their last result and your progress.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Where an exercise stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    NotStarted,
    /// Changed, never checked.
    NotChecked,
    /// The last check, for the files as they are.
    Graded(Graded),
    /// Checked once, changed since: the result may no longer hold.
    Changed {
        was: Graded,
    },
}

impl State {
    /// The state of exercise `package`, from its remembered result (if any)
    /// and whether git says it is untouched (`None`: git cannot tell).
    pub fn of(package: &Package, record: Option<&Record>, untouched: Option<bool>) -> State {
        match record {
            Some(record) if record.fingerprint == results::fingerprint(&package.dir) => {
                State::Graded(record.graded)
            }
            Some(record) => State::Changed { was: record.graded },
            None if untouched == Some(true) => State::NotStarted,
            None => State::NotChecked,
        }
    }

    fn shown(&self, colour: bool) -> String {
        let (text, paint_as) = match self {
            State::NotStarted => ("not started".to_string(), Colour::Dim),
            State::NotChecked => ("not checked yet".to_string(), Colour::Yellow),
            State::Graded(Graded::Passing) => ("passing".to_string(), Colour::Green),
            State::Graded(graded) => (graded.to_string(), Colour::Red),
            State::Changed { was } => (format!("changed since: was {was}"), Colour::Yellow),
        };
        // Pad before painting, so the colour codes do not upset the columns.
        paint(&format!("{text:<30}"), paint_as, colour)
    }

    pub fn passing(&self) -> bool {
        *self == State::Graded(Graded::Passing)
    }
}

/// `[###....]`: one mark per exercise, filled for those passing.
pub fn progress_bar(passing: usize, total: usize) -> String {
    format!("[{}{}]", "#".repeat(passing), ".".repeat(total - passing))
}

/// `progress: [##.....] 2/7 exercises passing`.
pub fn progress_line(passing: usize, total: usize) -> String {
    format!(
        "progress: {} {passing}/{total} exercises passing",
        progress_bar(passing, total)
    )
}

/// Every exercise there is, and whether its last check passed for its
/// files as they are now (what `list` shows as passing; no git asked).
pub fn passing() -> Vec<(u8, bool)> {
    let recorded: BTreeMap<u8, Record> = results::read(&results::results_file());
    EXERCISES
        .filter_map(|n| {
            let package = course::exercise(n)?;
            Some((n, State::of(&package, recorded.get(&n), None).passing()))
        })
        .collect()
}

pub fn run(_args: &Args) -> anyhow::Result<ExitCode> {
    let recorded: BTreeMap<u8, Record> = results::read(&results::results_file());
    let exercises: Vec<(u8, State)> = EXERCISES
        .filter_map(|n| {
            let package = course::exercise(n)?;
            let untouched = course::is_untouched(&package);
            Some((n, State::of(&package, recorded.get(&n), untouched)))
        })
        .collect();

    let colour = term::colour_enabled();
    for (n, state) in &exercises {
        term::say(format!(
            "  exercise{n}  {}  {}",
            state.shown(colour),
            checks::check(*n).idea
        ));
    }
    let passing = exercises.iter().filter(|(_, s)| s.passing()).count();
    term::say(progress_line(passing, exercises.len()));
    if let Some((n, _)) = exercises.iter().find(|(_, state)| !state.passing()) {
        term::say(format!(
            "next: cargo xtask check exercise{n}   (stuck? cargo xtask hint exercise{n})"
        ));
    }
    term::say(paint(
        "(each result is the last `cargo xtask check` of that exercise, kept in \
         target/xtask-results.txt)",
        Colour::Dim,
        colour,
    ));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_has_one_mark_per_exercise() {
        assert_eq!(progress_bar(0, 3), "[...]");
        assert_eq!(progress_bar(2, 7), "[##.....]");
    }

    #[test]
    fn states_line_up_without_colour() {
        let width = |state: State| state.shown(false).chars().count();
        assert_eq!(
            State::Graded(Graded::Passing).shown(false).trim(),
            "passing"
        );
        let failing = Graded::Failing {
            passed: 3,
            total: 5,
        };
        assert_eq!(State::Graded(failing).shown(false).trim(), "failing 3/5");
        assert_eq!(
            State::Changed { was: failing }.shown(false).trim(),
            "changed since: was failing 3/5"
        );
        assert_eq!(
            width(State::NotStarted),
            width(State::Changed { was: failing })
        );
    }

    #[test]
    fn a_result_holds_until_the_files_change() {
        let dir = std::env::temp_dir().join(format!("xtask-list-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/main.rs"), "fn main() {}").unwrap();
        let package = Package {
            name: "exercise9".into(),
            dir: dir.clone(),
        };
        let record = Record {
            graded: Graded::Passing,
            fingerprint: results::fingerprint(&dir),
        };
        assert_eq!(
            State::of(&package, Some(&record), Some(false)),
            State::Graded(Graded::Passing)
        );
        std::fs::write(dir.join("src/main.rs"), "fn main() { todo!() }").unwrap();
        assert_eq!(
            State::of(&package, Some(&record), Some(false)),
            State::Changed {
                was: Graded::Passing
            }
        );
        assert_eq!(State::of(&package, None, Some(true)), State::NotStarted);
        assert_eq!(State::of(&package, None, None), State::NotChecked);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
