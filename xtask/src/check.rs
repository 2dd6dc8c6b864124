//! `cargo xtask check exercise4`: builds the exercise, starts it, plays the
//! scenarios against it as real clients, and says what passed, and for what
//! failed, why.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::build::{self, Profile};
use crate::checks;
use crate::course::{self, EXERCISES, Package};
use crate::grader::report::{
    details, details_repeating, json_line, json_not_run_lines, not_run_lines, scenario_line,
};
use crate::grader::timeouts::{DEFAULT_WAIT_SECS, Timeouts};
use crate::grader::{self, Options, Report, Target};
use crate::results::{self, Graded};
use crate::share::{self, Sharer, wire};
use crate::term::{self, Colour, paint};

/// Grade an exercise: `cargo xtask check exercise4` (or `4`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The exercise to grade: `exercise4`, or just `4`.
    #[arg(value_parser = course::parse_exercise, required_unless_present = "all")]
    pub exercise: Option<u8>,
    /// Grade every exercise, with a summary (`3/8 passed`).
    #[arg(long, conflicts_with_all = ["exercise", "addr"])]
    pub all: bool,
    /// Grade the reference answer (solutions/exerciseN) instead.
    #[arg(long, conflicts_with_all = ["step", "addr"])]
    pub solution: bool,
    /// Grade the lesson's step instead: `--step` grades step N with check
    /// N, `--step=M` grades step M with it (`check 4 --step=3` fails: step 3
    /// lacks what exercise 4 adds).
    #[arg(long, conflicts_with = "addr", value_name = "M", num_args = 0..=1, require_equals = true)]
    pub step: Option<Option<u8>>,
    /// Grade a server that is already running, anywhere, in any language
    /// (best started fresh; other people's chatter in the room is ignored).
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// How long to wait for any one reply, in seconds; every other wait
    /// scales with it (raise it for a server on another machine).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_WAIT_SECS)]
    pub timeout: f64,
    /// Show the transcript of passing scenarios too.
    #[arg(long, short)]
    pub verbose: bool,
    /// Print one JSON object per scenario per line (for instructors).
    #[arg(long)]
    pub json: bool,
    /// Only list the scenarios the grader tries, one title a line; grade nothing.
    #[arg(long, conflicts_with_all = ["all", "addr", "json", "verbose", "share"])]
    pub list: bool,
    /// Send the result to your instructor's class board too, at HOST or
    /// HOST:PORT (`cargo xtask share` remembers it for every check).
    #[arg(long, value_name = "HOST[:PORT]", conflicts_with_all = ["solution", "step", "addr"])]
    pub share: Option<String>,
    /// Your name on the class board (with --share).
    #[arg(long, conflicts_with_all = ["solution", "step", "addr"])]
    pub name: Option<String>,
}

/// Which kind of package is graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Exercise,
    Solution,
    /// A step of the lesson: the given one, or the exercise's own.
    Step(Option<u8>),
}

impl Args {
    fn flavour(&self) -> Flavour {
        if self.solution {
            Flavour::Solution
        } else if let Some(step) = self.step {
            Flavour::Step(step)
        } else {
            Flavour::Exercise
        }
    }
}

/// The package graded as exercise `n` in `flavour`, or why there is none.
fn package(n: u8, flavour: Flavour) -> anyhow::Result<Package> {
    let found = match flavour {
        Flavour::Exercise => course::exercise(n),
        Flavour::Solution => course::solution(n),
        Flavour::Step(step) => course::step(step.unwrap_or(n)),
    };
    found.with_context(|| match flavour {
        Flavour::Exercise => format!("there is no exercises/exercise{n}"),
        Flavour::Solution => format!(
            "there is no solutions/exercise{n} (the answer key may have been removed from \
             this copy)"
        ),
        Flavour::Step(step) => format!("there is no session2/step{}-*", step.unwrap_or(n)),
    })
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if args.list {
        let n = args
            .exercise
            .expect("clap requires an exercise without --all");
        for scenario in checks::check(n).scenarios {
            term::say(scenario.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !(args.timeout > 0.0 && args.timeout <= 3600.0) {
        bail!("--timeout takes a number of seconds between 0 and 3600");
    }
    let options = Options {
        timeouts: Timeouts::new(Duration::from_secs_f64(args.timeout)),
        // A shared server gets one scenario at a time.
        sequential: args.addr.is_some(),
    };
    let out = Output {
        colour: term::colour_enabled() && !args.json,
        verbose: args.verbose,
        json: args.json,
        details: !args.all || args.verbose,
    };
    // Only the student's own exercises go to the class board.
    let mut sharer = if args.flavour() == Flavour::Exercise && args.addr.is_none() {
        let remembered = share::read_settings(&share::settings_file());
        share::destination(args.share.as_deref(), args.name.as_deref(), &remembered)?
            .map(Sharer::start)
    } else {
        None
    };
    if let Some(addr) = &args.addr {
        let n = args
            .exercise
            .expect("clap requires an exercise without --all");
        let addr = resolve(addr)?;
        let report = out.grade(n, &addr.to_string(), &Target::Address(addr), &options);
        return Ok(exit(report.passed()));
    }
    if !args.all {
        let n = args
            .exercise
            .expect("clap requires an exercise without --all");
        let flavour = args.flavour();
        let package = package(n, flavour)?;
        let binary = match build::build_binary(&package.name, Profile::Dev) {
            Ok(binary) => binary,
            Err(error) => {
                if flavour == Flavour::Exercise {
                    results::remember(n, &package, Graded::DoesNotBuild);
                }
                share_result(&mut sharer, n, None);
                out.shared(sharer);
                return Err(error);
            }
        };
        let report = out.grade(n, &package.shown_dir(), &Target::Binary(binary), &options);
        if flavour == Flavour::Exercise {
            results::remember(n, &package, result_of(&report));
        }
        share_result(&mut sharer, n, Some(&report));
        out.shared(sharer);
        return Ok(exit(report.passed()));
    }

    let mut passed = 0;
    let mut graded = 0;
    let flavour = args.flavour();
    for n in EXERCISES {
        if term::stdout_closed() {
            // Nobody reads on: grade no more.
            break;
        }
        let Ok(package) = package(n, flavour) else {
            continue;
        };
        graded += 1;
        let report = match build::build_binary(&package.name, Profile::Dev) {
            Ok(binary) => out.grade(n, &package.shown_dir(), &Target::Binary(binary), &options),
            Err(error) => {
                out.line(&format!(
                    "exercise{n}: {} {error:#}",
                    paint("does not build:", Colour::Red, out.colour)
                ));
                if flavour == Flavour::Exercise {
                    results::remember(n, &package, Graded::DoesNotBuild);
                }
                share_result(&mut sharer, n, None);
                continue;
            }
        };
        if flavour == Flavour::Exercise {
            results::remember(n, &package, result_of(&report));
        }
        share_result(&mut sharer, n, Some(&report));
        if report.passed() {
            passed += 1;
        }
    }
    if graded == 0 {
        bail!("found nothing to grade");
    }
    let colour = if passed == graded {
        Colour::Green
    } else {
        Colour::Red
    };
    out.line(&paint(
        &format!("{passed}/{graded} passed"),
        colour,
        out.colour,
    ));
    if passed < graded && !args.verbose {
        out.line("(run `cargo xtask check exerciseN` to see what failed and why)");
    }
    out.shared(sharer);
    Ok(exit(passed == graded))
}

/// Queues exercise `n`'s result (`None`: it does not build) for the class
/// board, when sharing.
fn share_result(sharer: &mut Option<Sharer>, n: u8, report: Option<&Report>) {
    if let Some(sharer) = sharer {
        let line = wire::report_line(sharer.name(), n, report);
        sharer.share(line);
    }
}

/// A report as the result `list` shows.
fn result_of(report: &Report) -> Graded {
    if report.passed() {
        Graded::Passing
    } else {
        Graded::Failing {
            passed: report.passed_count(),
            total: report.total(),
        }
    }
}

fn exit(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `HOST:PORT` to a socket address (a name is looked up).
fn resolve(addr: &str) -> anyhow::Result<SocketAddr> {
    addr.to_socket_addrs()
        .with_context(|| format!("`{addr}` is not HOST:PORT (for example 192.168.1.20:65433)"))?
        .next()
        .with_context(|| format!("`{addr}` resolves to no address"))
}

/// How results are printed.
struct Output {
    colour: bool,
    verbose: bool,
    json: bool,
    /// Print the failures' details (not in the `--all` overview).
    details: bool,
}

impl Output {
    /// A human line (nothing in JSON mode, where stdout is JSON only).
    fn line(&self, text: &str) {
        if !self.json {
            term::say(text);
        }
    }

    /// Waits for the class board's answers (two seconds at most) and says
    /// in one line whether it got the results. On stderr with `--json`,
    /// whose stdout holds JSON only.
    fn shared(&self, sharer: Option<Sharer>) {
        let Some(summary) = sharer.map(Sharer::finish) else {
            return;
        };
        let Some(line) = summary.summary() else {
            return;
        };
        if self.json {
            eprintln!("{line}");
        } else {
            let colour = if summary.all_delivered() {
                Colour::Dim
            } else {
                Colour::Yellow
            };
            self.line(&paint(&line, colour, self.colour));
        }
    }

    /// Grades exercise `n` on `target` and prints the results as they come.
    fn grade(&self, n: u8, shown: &str, target: &Target, options: &Options) -> Report {
        let check = checks::check(n);
        let how = match target {
            Target::Binary(_) => "a fresh server per scenario".to_string(),
            Target::Address(_) => "the server already running there".to_string(),
        };
        self.line(&paint(
            &format!("exercise{n}: {} — grading {shown} ({how})", check.idea),
            Colour::Bold,
            self.colour,
        ));
        // A diagnosis that does not depend on the scenario (a deadlock, a
        // crash) is explained in full once; later failures point back to it.
        let mut explained: Vec<(&'static str, &'static str)> = Vec::new();
        let report = grader::grade(&check, target, options, |outcome| {
            if self.json {
                term::say(json_line(n, shown, outcome));
                return;
            }
            term::say(scenario_line(outcome, self.colour));
            if !self.details || (outcome.passed() && !self.verbose) {
                return;
            }
            let id = outcome.diagnosis.as_ref().map(|d| d.id);
            let first = id.and_then(|id| {
                explained
                    .iter()
                    .find(|(seen, _)| *seen == id)
                    .map(|(_, scenario)| *scenario)
            });
            let lines = match first {
                Some(first) => details_repeating(outcome, first, self.colour),
                None => details(outcome, self.colour),
            };
            for line in lines {
                term::say(line);
            }
            if let Some(id) = id.filter(|id| SAID_ONCE.contains(id)) {
                explained.push((id, outcome.scenario));
            }
        });
        if self.json {
            for line in json_not_run_lines(&report, shown) {
                term::say(line);
            }
        } else if self.details {
            for line in not_run_lines(&report, self.colour) {
                term::say(line);
            }
        }
        let summary = if report.passed() {
            format!("exercise{n}: all {} scenarios passed", report.total())
        } else if report
            .outcomes
            .first()
            .is_some_and(|o| o.scenario == grader::STARTUP)
        {
            format!(
                "exercise{n}: the server did not start, {} scenarios not run",
                report.not_run.len()
            )
        } else if !report.not_run.is_empty() {
            format!(
                "exercise{n}: {}/{} scenarios passed, {} not tested (restart the server to test \
                 them)",
                report.passed_count(),
                report.total(),
                report.not_run.len()
            )
        } else {
            format!(
                "exercise{n}: {}/{} scenarios passed",
                report.passed_count(),
                report.total()
            )
        };
        let colour = if report.passed() {
            Colour::Green
        } else {
            Colour::Red
        };
        self.line(&paint(&summary, colour, self.colour));
        report
    }
}

/// The diagnoses that say the same whatever the scenario: explained once.
const SAID_ONCE: &[&str] = &[
    "stopped-answering",
    "stalled-by-slow-reader",
    "blocked-on-a-client",
    "one-client-at-a-time",
    "crashed",
];
