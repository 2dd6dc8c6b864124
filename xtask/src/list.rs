//! `cargo xtask list`: every exercise with its state (not started, failing,
//! passing) and a progress line. An exercise git says is untouched is "not
//! started" without grading it; the others are built and graded, side by
//! side, which takes a few seconds; `--quick` skips the grading.

use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;

use crate::build::{self, Profile};
use crate::checks;
use crate::course::{self, EXERCISES, Package};
use crate::grader::{self, Options, Target};
use crate::term::{self, Colour, paint};

/// List the exercises with their state and your progress.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Do not grade: only tell started from not started (by git).
    #[arg(long)]
    pub quick: bool,
}

/// Where an exercise stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    NotStarted,
    /// Changed, not graded (`--quick`).
    Started,
    /// Not graded (`--quick`) and git cannot tell (a copy without `.git`).
    Unknown,
    DoesNotBuild,
    Failing {
        passed: usize,
        total: usize,
    },
    Passing,
}

impl State {
    fn shown(&self, colour: bool) -> String {
        let (text, paint_as) = match self {
            State::NotStarted => ("not started".to_string(), Colour::Dim),
            State::Started => ("started".to_string(), Colour::Yellow),
            State::Unknown => ("? (no git)".to_string(), Colour::Dim),
            State::DoesNotBuild => ("does not build".to_string(), Colour::Red),
            State::Failing { passed, total } => (format!("failing {passed}/{total}"), Colour::Red),
            State::Passing => ("passing".to_string(), Colour::Green),
        };
        // Pad before painting, so the colour codes do not upset the columns.
        paint(&format!("{text:<14}"), paint_as, colour)
    }
}

/// `[###....]`: one mark per exercise, filled for those passing.
pub fn progress_bar(passing: usize, total: usize) -> String {
    format!("[{}{}]", "#".repeat(passing), ".".repeat(total - passing))
}

/// Grades `binary` as exercise `n`: its state.
fn grade(n: u8, binary: PathBuf) -> State {
    let report = grader::grade(
        &checks::check(n),
        &Target::Binary(binary),
        &Options::default(),
        |_| {},
    );
    if report.passed() {
        State::Passing
    } else {
        State::Failing {
            passed: report.passed_count(),
            total: report.total(),
        }
    }
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let exercises: Vec<(u8, Package)> = EXERCISES
        .filter_map(|n| course::exercise(n).map(|p| (n, p)))
        .collect();
    let untouched: Vec<Option<bool>> = exercises
        .iter()
        .map(|(_, package)| course::is_untouched(package))
        .collect();
    // Build one at a time (compiler errors stay readable), grade side by side.
    let states: Vec<State> = thread::scope(|scope| {
        let handles: Vec<_> = exercises
            .iter()
            .zip(&untouched)
            .map(|((n, package), &untouched)| {
                if untouched == Some(true) {
                    None
                } else if args.quick {
                    Some(Err(if untouched.is_some() {
                        State::Started
                    } else {
                        State::Unknown
                    }))
                } else {
                    match build::build_binary(&package.name, Profile::Dev) {
                        Err(_) => Some(Err(State::DoesNotBuild)),
                        Ok(binary) => Some(Ok(scope.spawn(move || grade(*n, binary)))),
                    }
                }
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle {
                None => State::NotStarted,
                Some(Err(state)) => state,
                Some(Ok(handle)) => handle.join().unwrap_or(State::DoesNotBuild),
            })
            .collect()
    });

    let colour = term::colour_enabled();
    for ((n, _), state) in exercises.iter().zip(&states) {
        println!(
            "  exercise{n}  {}  {}",
            state.shown(colour),
            checks::check(*n).idea
        );
    }
    let passing = states.iter().filter(|s| **s == State::Passing).count();
    println!(
        "progress: {} {passing}/{} exercises passing",
        progress_bar(passing, states.len()),
        states.len()
    );
    if let Some(((n, _), _)) = exercises
        .iter()
        .zip(&states)
        .find(|(_, state)| **state != State::Passing)
    {
        println!("next: cargo xtask check exercise{n}   (stuck? cargo xtask hint exercise{n})");
    }
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
        assert_eq!(State::Passing.shown(false), "passing       ");
        assert_eq!(
            State::Failing {
                passed: 3,
                total: 5
            }
            .shown(false),
            "failing 3/5   "
        );
    }
}
