//! The grader proves itself. For every exercise N whose packages exist:
//!
//! * solution N passes check N, and session2's step N passes it too;
//! * the untouched exercise N fails it (there is work to do);
//! * the step that step N builds on (N-1, or step 6 for the bonus step 8)
//!   fails it: the check tests the idea exercise N adds, not an older one;
//! * every failure fits on one screen.
//!
//! Table-driven: a package that does not exist (yet, or because the answer
//! key was removed) is skipped with a printed note, so exercises and steps
//! that land later are covered without touching this file.

use std::sync::Mutex;
use std::thread;
use std::time::Instant;

use xtask::build::{self, Profile};
use xtask::checks;
use xtask::course::{self, EXERCISES, Package};
use xtask::grader::report::{ONE_SCREEN, details, scenario_line};
use xtask::grader::{self, Options, Report, Target};

/// How many gradings run at once. Each starts a server per scenario and
/// mostly waits (a failing grading waits for a timeout), so more than the
/// two cores of a small machine is fine.
const PARALLEL: usize = 6;

struct Case {
    exercise: u8,
    package: Package,
    role: &'static str,
    should_pass: bool,
}

/// The table: what must pass or fail which check, and what was skipped.
fn cases() -> (Vec<Case>, Vec<String>) {
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    let mut add = |exercise, found: Option<Package>, role, should_pass, missing: String| match found
    {
        Some(package) => cases.push(Case {
            exercise,
            package,
            role,
            should_pass,
        }),
        None => skipped.push(format!("check {exercise}: skipped {role} ({missing})")),
    };
    for n in EXERCISES {
        add(
            n,
            course::solution(n),
            "the solution",
            true,
            format!("no solutions/exercise{n}"),
        );
        add(
            n,
            course::step(n),
            "its step",
            true,
            format!("no session2/step{n}-*"),
        );
        if n > 1 {
            let before = course::builds_on(n);
            add(
                n,
                course::step(before),
                "the step it builds on",
                false,
                format!("no session2/step{before}-*"),
            );
        }
        match course::exercise(n) {
            // A student's work in progress is not the untouched starter.
            Some(package) if course::is_untouched(&package) == Some(false) => add(
                n,
                None,
                "the untouched starter",
                false,
                format!("exercises/exercise{n} differs from the shipped starter"),
            ),
            found => add(
                n,
                found,
                "the untouched starter",
                false,
                format!("no exercises/exercise{n}"),
            ),
        }
    }
    (cases, skipped)
}

#[test]
fn every_check_passes_its_answers_and_fails_what_came_before() {
    let started = Instant::now();
    let (cases, skipped) = cases();
    for note in &skipped {
        println!("note: {note}");
    }
    assert!(!cases.is_empty(), "nothing to prove: no exercise packages");

    // One cargo run builds everything (a freshness check under `cargo test`).
    let mut names: Vec<&str> = cases.iter().map(|c| c.package.name.as_str()).collect();
    names.sort();
    names.dedup();
    let binaries = build::build_binaries(&names, Profile::Dev).expect("the packages build");
    let binary_of = |name: &str| binaries[names.iter().position(|n| *n == name).unwrap()].clone();

    let next = Mutex::new(cases.iter());
    let results: Mutex<Vec<(&Case, Report)>> = Mutex::new(Vec::new());
    thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| {
                loop {
                    let Some(case) = next.lock().unwrap().next() else {
                        break;
                    };
                    let report = grader::grade(
                        &checks::check(case.exercise),
                        &Target::Binary(binary_of(&case.package.name)),
                        &Options::default(),
                        |_| {},
                    );
                    results.lock().unwrap().push((case, report));
                }
            });
        }
    });

    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(case, _)| (case.exercise, !case.should_pass, case.role));
    let mut wrong = Vec::new();
    for (case, report) in &results {
        let verdict = if report.passed() { "passes" } else { "fails" };
        let line = format!(
            "check {}: {} ({}) {verdict}, {}/{} scenarios",
            case.exercise,
            case.role,
            case.package.name,
            report.passed_count(),
            report.total()
        );
        println!("{line}");
        for outcome in report.outcomes.iter().filter(|o| !o.passed()) {
            let lines = details(outcome, false);
            if lines.len() > ONE_SCREEN {
                wrong.push(format!(
                    "{line}: the failure of `{}` takes {} lines, more than one screen \
                     ({ONE_SCREEN}):\n{}",
                    outcome.scenario,
                    lines.len(),
                    lines.join("\n")
                ));
            }
        }
        if report.passed() != case.should_pass {
            let mut text = format!(
                "{line}, but it should {}",
                if case.should_pass { "pass" } else { "fail" }
            );
            for outcome in report.outcomes.iter().filter(|o| !o.passed()) {
                text.push('\n');
                text.push_str(&scenario_line(outcome, false));
                for detail in details(outcome, false) {
                    text.push('\n');
                    text.push_str(&detail);
                }
            }
            wrong.push(text);
        }
    }
    println!(
        "proved {} cases in {:.1} s",
        results.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n\n"));
}

/// `cargo xtask hint` reads each exercise's README: every README present has
/// a `## Hints` section with at least one `### Hint`.
#[test]
fn every_exercise_readme_has_hints() {
    for n in EXERCISES {
        let readme = course::readme(n);
        let Ok(text) = std::fs::read_to_string(&readme) else {
            println!("note: no {} yet", readme.display());
            continue;
        };
        let hints = xtask::hint::parse_hints(&text);
        assert!(
            !hints.is_empty(),
            "{} has no `## Hints` section with `### Hint 1` ...",
            readme.display()
        );
        assert!(
            hints.iter().all(|h| !h.body.is_empty()),
            "{}: an empty hint",
            readme.display()
        );
    }
}
