//! The grader: runs an exercise's scenarios against a server, as real TCP
//! clients, and reports each one with a transcript when it fails.
//!
//! A server the grader starts itself is started afresh for every scenario
//! (so one scenario's leftovers never break the next, and a crash is pinned
//! on the scenario that caused it), and the scenarios run side by side. A
//! server given with `--addr` is shared: the scenarios run one after the
//! other and skip traffic that is not theirs (see `room.rs`).

pub mod failure;
pub mod hints;
pub mod peer;
pub mod report;
pub mod room;
pub mod server;
pub mod timeouts;
pub mod transcript;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use failure::{Expect, Failure, Problem};
use peer::{Connections, Links, Peer, Wire};
use room::Room;
use server::ServerProcess;
use timeouts::Timeouts;
use transcript::{Entry, Event, Log};

/// One scenario: a name that says what it proves, and the code that plays it.
pub struct Scenario {
    pub name: &'static str,
    pub run: fn(&Ctx) -> Expect,
}

/// The check of one exercise.
pub struct Check {
    pub exercise: u8,
    /// The idea the exercise adds, for the report's header.
    pub idea: &'static str,
    /// How chat messages travel (echo and raw relay: `Raw`).
    pub wire: Wire,
    pub scenarios: Vec<Scenario>,
}

/// What to grade.
#[derive(Debug, Clone)]
pub enum Target {
    /// A binary the grader starts (once per scenario) and kills.
    Binary(PathBuf),
    /// A server someone else runs, anywhere.
    Address(SocketAddr),
}

/// How to grade.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub timeouts: Timeouts,
    /// Run the scenarios side by side (only with a server per scenario).
    pub sequential: bool,
}

/// The result of one scenario.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub scenario: &'static str,
    pub failure: Option<Failure>,
    /// The transcript, rendered (both voices).
    pub transcript: Vec<String>,
    /// Whether the transcript holds the server's own output.
    pub has_server_output: bool,
    /// Whether the clients' bytes are shown as frames.
    pub framed: bool,
    /// The hint drawn from the server's output (a panic message), if any.
    pub output_hint: Option<String>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The results of one check.
#[derive(Debug, Clone)]
pub struct Report {
    pub exercise: u8,
    pub outcomes: Vec<Outcome>,
    /// Scenarios not run because the server did not start.
    pub not_run: usize,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.not_run == 0 && self.outcomes.iter().all(Outcome::passed)
    }

    pub fn passed_count(&self) -> usize {
        self.outcomes.iter().filter(|o| o.passed()).count()
    }

    pub fn total(&self) -> usize {
        self.outcomes.len() + self.not_run
    }
}

/// The name of the pseudo-scenario reported when the server does not start.
pub const STARTUP: &str = "the server starts and prints `listening on IP:PORT`";

/// Grades `target` with `check`, calling `each` with every scenario's
/// outcome in order as soon as it is known.
pub fn grade(
    check: &Check,
    target: &Target,
    options: &Options,
    mut each: impl FnMut(&Outcome),
) -> Report {
    let mut report = Report {
        exercise: check.exercise,
        outcomes: Vec::new(),
        not_run: 0,
    };
    let mut emit = |outcome: Outcome, report: &mut Report| {
        each(&outcome);
        report.outcomes.push(outcome);
    };
    let binary = match target {
        Target::Binary(binary) => binary,
        Target::Address(addr) => {
            for scenario in &check.scenarios {
                let outcome = run_scenario(check, scenario, Server::Shared(*addr), options);
                emit(outcome, &mut report);
            }
            return report;
        }
    };
    // Start one server first: if it cannot start, say so once, not per scenario.
    let started = Instant::now();
    let first = match ServerProcess::start(binary, &options.timeouts) {
        Ok(server) => server,
        Err((problem, output)) => {
            let outcome = startup_failure(problem, &output, started.elapsed());
            emit(outcome, &mut report);
            report.not_run = check.scenarios.len();
            return report;
        }
    };
    if options.sequential {
        let mut first = Some(first);
        for scenario in &check.scenarios {
            let server = Server::Own(first.take(), binary.clone());
            emit(run_scenario(check, scenario, server, options), &mut report);
        }
        return report;
    }
    thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        let mut first = Some(first);
        for (i, scenario) in check.scenarios.iter().enumerate() {
            let tx = tx.clone();
            let server = Server::Own(first.take(), binary.clone());
            scope.spawn(move || {
                let _ = tx.send((i, run_scenario(check, scenario, server, options)));
            });
        }
        drop(tx);
        // Report in order: hold back outcomes that finish early.
        let mut waiting: Vec<Option<Outcome>> = vec![None; check.scenarios.len()];
        let mut next = 0;
        for (i, outcome) in rx {
            waiting[i] = Some(outcome);
            while let Some(outcome) = waiting.get_mut(next).and_then(Option::take) {
                emit(outcome, &mut report);
                next += 1;
            }
        }
    });
    report
}

/// Where a scenario's server comes from.
enum Server {
    /// Started by the grader for this scenario (maybe already running).
    Own(Option<ServerProcess>, PathBuf),
    /// Run by someone else, possibly shared with others.
    Shared(SocketAddr),
}

fn startup_failure(problem: Problem, output: &[Entry], elapsed: Duration) -> Outcome {
    Outcome {
        scenario: STARTUP,
        output_hint: hints::output_hint(output),
        transcript: transcript::render(&[], output, false),
        framed: false,
        has_server_output: true,
        failure: Some(Failure::new(
            problem,
            "the first line on stdout is `listening on IP:PORT`",
        )),
        elapsed,
    }
}

fn run_scenario(check: &Check, scenario: &Scenario, server: Server, options: &Options) -> Outcome {
    let started = Instant::now();
    let timeouts = options.timeouts;
    let (process, addr, binary) = match server {
        Server::Shared(addr) => (None, addr, None),
        Server::Own(Some(process), binary) => {
            let addr = process.addr;
            (Some(process), addr, Some(binary))
        }
        Server::Own(None, binary) => match ServerProcess::start(&binary, &timeouts) {
            Ok(process) => {
                let addr = process.addr;
                (Some(process), addr, Some(binary))
            }
            Err((problem, output)) => {
                let mut outcome = startup_failure(problem, &output, started.elapsed());
                outcome.scenario = scenario.name;
                return outcome;
            }
        },
    };
    let log = Log::default();
    let connections = Arc::new(Connections::default());
    let (result, restarted) = {
        let ctx = Ctx {
            addr,
            wire: check.wire,
            links: Links {
                log: log.clone(),
                timeouts,
                room: Arc::new(Room::new(process.is_none())),
                connections: Arc::clone(&connections),
            },
            server: process.as_ref(),
            binary: binary.as_deref(),
            restarted: Mutex::default(),
        };
        let result = (scenario.run)(&ctx);
        let restarted = ctx
            .restarted
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        (result, restarted)
    };
    // A scenario that started its own server (see `Ctx::with_flood_control_off`)
    // is reported with that one: its output, its crash.
    let process = restarted.or(process);
    // Every client stays connected until here: record what they left
    // unread, then close them all.
    connections.close_all(&log);
    let mut failure = result.err();
    if let Some(process) = &process {
        // A server that died shows it: its connections end. Give the exit a
        // moment to be visible, then blame the crash rather than its symptom.
        let connection_ended = failure.as_ref().is_some_and(|f| {
            matches!(
                *f.problem,
                Problem::Closed { .. }
                    | Problem::Reset { .. }
                    | Problem::Refused { .. }
                    | Problem::SendFailed { .. }
            )
        });
        let deadline = Instant::now() + timeouts.silence();
        let mut status = process.exit_status();
        while status.is_none() && connection_ended && Instant::now() < deadline {
            thread::sleep(timeouts.piece_gap());
            status = process.exit_status();
        }
        if let Some(status) = status {
            let (during, expected) = match failure {
                Some(f) => (Some(f.problem), f.expected),
                None => (None, "the server keeps running".to_string()),
            };
            failure = Some(Failure::new(
                Problem::Crashed {
                    status: status.to_string(),
                    during,
                },
                expected,
            ));
        }
    }
    let has_server_output = process.is_some();
    let server_output = process
        .as_ref()
        .map(ServerProcess::output)
        .unwrap_or_default();
    drop(process); // kills the server
    Outcome {
        scenario: scenario.name,
        output_hint: failure
            .as_ref()
            .and_then(|_| hints::output_hint(&server_output)),
        transcript: transcript::render(&log.entries(), &server_output, check.wire == Wire::Frames),
        framed: check.wire == Wire::Frames,
        has_server_output,
        failure,
        elapsed: started.elapsed(),
    }
}

/// What a scenario works with: where the server is, the timeouts, and a way
/// to make recording clients.
pub struct Ctx<'a> {
    addr: SocketAddr,
    wire: Wire,
    links: Links,
    server: Option<&'a ServerProcess>,
    /// The binary, when the grader starts the server itself.
    binary: Option<&'a Path>,
    /// A server started for this scenario alone, kept for the report.
    restarted: Mutex<Option<ServerProcess>>,
}

/// How a server of the course turns its flood control off (steps 6 and 7:
/// a client may send a burst of messages, then a steady rate).
const FLOOD_CONTROL_OFF: [&str; 2] = ["--flood-rate", "0"];

impl Ctx<'_> {
    pub fn timeouts(&self) -> Timeouts {
        self.links.timeouts
    }

    /// Whether the server may have other clients than this scenario's (a
    /// server given with `--addr`).
    pub fn shared_server(&self) -> bool {
        self.server.is_none()
    }

    /// How this check's messages travel.
    pub fn wire(&self) -> Wire {
        self.wire
    }

    /// Runs `scenario` with the server's flood control off, for a scenario
    /// that must send faster than a person does (megabytes past a client
    /// that stops reading). When the grader starts the server and its
    /// `--help` lists `--flood-rate`, that is a server of its own, started
    /// with `--flood-rate 0` for this scenario; a server without the flag
    /// has no flood control to turn off. A shared server (`--addr`) runs
    /// as it was started: the scenario has to tell flood control from a
    /// stall itself ([`Ctx::shared_server`] says when).
    pub fn with_flood_control_off(&self, scenario: impl FnOnce(&Ctx) -> Expect) -> Expect {
        let Some(binary) = self.binary else {
            return scenario(self);
        };
        let timeouts = self.timeouts();
        if !server::knows_flag(binary, FLOOD_CONTROL_OFF[0], &timeouts) {
            return scenario(self);
        }
        let process = ServerProcess::start_with(binary, &FLOOD_CONTROL_OFF, &timeouts).map_err(
            |(problem, _)| {
                Failure::new(
                    problem,
                    format!("the server starts with {}", FLOOD_CONTROL_OFF.join(" ")),
                )
            },
        )?;
        self.note(format!(
            "(the server was started again with {}: this scenario is about the room, not the \
             sender's pace)",
            FLOOD_CONTROL_OFF.join(" ")
        ));
        let ctx = Ctx {
            addr: process.addr,
            wire: self.wire,
            links: self.links.clone(),
            server: Some(&process),
            binary: None,
            restarted: Mutex::default(),
        };
        let result = scenario(&ctx);
        drop(ctx);
        *self
            .restarted
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(process);
        result
    }

    /// Connects a new client called `label` in the transcript.
    pub fn connect(&self, label: &str) -> Expect<Peer> {
        self.open(label, false)
    }

    /// Connects a client with a tiny receive buffer, to play one that stops
    /// reading: the server feels it after a few kilobytes.
    pub fn connect_with_tiny_buffer(&self, label: &str) -> Expect<Peer> {
        self.open(label, true)
    }

    fn open(&self, label: &str, tiny: bool) -> Expect<Peer> {
        Peer::connect(label, self.addr, self.wire, tiny, self.links.clone())
    }

    /// A name for a probe client: notices about it are skipped by all.
    pub fn probe_name(&self) -> String {
        self.links.room.probe_name()
    }

    /// Whether `name` is a probe client's.
    pub fn is_probe(&self, name: &str) -> bool {
        self.links.room.is_probe(name)
    }

    /// A name no one else uses, starting with `label`.
    pub fn unique_name(&self, label: &str) -> String {
        self.links.room.unique_name(label)
    }

    /// A note in the grader's own voice.
    pub fn note(&self, text: impl Into<String>) {
        self.links.log.push(
            transcript::Voice::Client("grader".into()),
            Event::Note(text.into()),
        );
    }
}
