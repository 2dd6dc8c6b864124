//! The grader: runs an exercise's scenarios against a server, as real TCP
//! clients, and reports each one with a transcript when it fails.
//!
//! A server the grader starts itself is started afresh for every scenario
//! (so one scenario's leftovers never break the next, and a crash or a
//! deadlock is pinned on the scenario that caused it), and the scenarios
//! run side by side. A server given with `--addr` is shared: the scenarios
//! run one after the other and skip traffic that is not theirs (see
//! `room.rs`); after each, a fresh client checks that the server still
//! answers, and if it does not, grading stops there and says what could
//! not be tested.
//!
//! Each failure gets one diagnosis (`diagnosis.rs`), from what the clients
//! saw and from whether the server still answered a fresh client
//! (`liveness.rs`).

pub mod diagnosis;
pub mod failure;
pub mod hints;
pub mod liveness;
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

use diagnosis::{Diagnosis, Evidence};
use failure::{Expect, Failure, Problem};
use liveness::{Kind, Liveness};
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
    /// What kind of server it is, for the liveness probe.
    pub kind: Kind,
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
    /// The one diagnosis of the failure (none for a pass).
    pub diagnosis: Option<Diagnosis>,
    /// The transcript, rendered (both voices).
    pub transcript: Vec<String>,
    /// Whether the transcript holds the server's own output.
    pub has_server_output: bool,
    /// Whether the clients' bytes are shown as frames.
    pub framed: bool,
    /// Whether the server answered no one any more when the scenario ended
    /// (nothing more can be tested on it).
    pub server_gone: bool,
    /// Whether any client received anything from the server.
    pub heard: bool,
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
    /// Scenarios that could not be run, in order.
    pub not_run: Vec<&'static str>,
    /// Why they could not (the server did not start, or stopped answering).
    pub why_not_run: Option<String>,
    /// The diagnosis of the server going quiet, when no scenario's own
    /// diagnosis already says it (it went quiet as a scenario's clients left).
    pub stop_hint: Option<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.not_run.is_empty() && self.outcomes.iter().all(Outcome::passed)
    }

    pub fn passed_count(&self) -> usize {
        self.outcomes.iter().filter(|o| o.passed()).count()
    }

    pub fn total(&self) -> usize {
        self.outcomes.len() + self.not_run.len()
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
        not_run: Vec::new(),
        why_not_run: None,
        stop_hint: None,
    };
    let mut emit = |outcome: Outcome, report: &mut Report| {
        each(&outcome);
        report.outcomes.push(outcome);
    };
    let binary = match target {
        Target::Binary(binary) => binary,
        Target::Address(addr) => {
            // Whether the server answered anything in an earlier scenario:
            // silence from then on means it stopped.
            let mut answered = false;
            for (i, scenario) in check.scenarios.iter().enumerate() {
                let server = Server::Shared(*addr, answered);
                let outcome = run_scenario(check, scenario, server, options);
                answered |= outcome.heard;
                let gone = outcome.server_gone;
                emit(outcome, &mut report);
                if gone {
                    // Everything after would fail for the same reason.
                    report.not_run = check.scenarios[i + 1..].iter().map(|s| s.name).collect();
                    let last = report.outcomes.last();
                    report.why_not_run = Some(why_gone(last, scenario.name));
                    let explained = last
                        .and_then(|o| o.diagnosis.as_ref())
                        .is_some_and(|d| d.id == "stopped-answering");
                    let reachable = !last.and_then(|o| o.failure.as_ref()).is_some_and(|f| {
                        matches!(
                            *f.problem,
                            Problem::Refused { .. } | Problem::ConnectFailed { .. }
                        )
                    });
                    if !explained && reachable {
                        let words =
                            hints::stopped_answering_when_they_left(options.timeouts.probe());
                        report.stop_hint = Some(words.text);
                    }
                    break;
                }
            }
            return report;
        }
    };
    // Start one server first: if it cannot start, say so once, not per scenario.
    let started = Instant::now();
    let first = match ServerProcess::start(binary, &options.timeouts) {
        Ok(server) => server,
        Err(failure) => {
            let (problem, output) = *failure;
            let outcome = startup_failure(problem, &output, started.elapsed());
            emit(outcome, &mut report);
            report.not_run = check.scenarios.iter().map(|s| s.name).collect();
            report.why_not_run = Some("the server did not start".into());
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

/// Why a shared server cannot be graded further after `scenario`.
fn why_gone(outcome: Option<&Outcome>, scenario: &str) -> String {
    let problem = outcome
        .and_then(|o| o.failure.as_ref())
        .map(|f| &*f.problem);
    let diagnosis = outcome.and_then(|o| o.diagnosis.as_ref()).map(|d| d.id);
    match problem {
        Some(Problem::Refused { .. } | Problem::ConnectFailed { .. }) => {
            format!("the server could not be reached any more during `{scenario}`")
        }
        Some(Problem::Unresponsive { .. }) => {
            format!("the server stopped answering anyone when the clients of `{scenario}` left")
        }
        _ if diagnosis == Some("stopped-answering") && !outcome.is_some_and(|o| o.heard) => {
            format!("the server answered no one any more from `{scenario}` on")
        }
        _ if diagnosis == Some("stopped-answering") => {
            format!("the server stopped answering anyone during `{scenario}`")
        }
        _ => format!("the server stopped answering anyone when the clients of `{scenario}` left"),
    }
}

/// Where a scenario's server comes from.
enum Server {
    /// Started by the grader for this scenario (maybe already running).
    Own(Option<ServerProcess>, PathBuf),
    /// Run by someone else, possibly shared with others; and whether it
    /// answered anything in an earlier scenario.
    Shared(SocketAddr, bool),
}

fn startup_failure(problem: Problem, output: &[Entry], elapsed: Duration) -> Outcome {
    let failure = Failure::new(
        problem,
        "the first line on stdout is `listening on IP:PORT`",
    );
    let diagnosis = Diagnosis::from(hints::for_problem(&failure.problem, false));
    Outcome {
        scenario: STARTUP,
        diagnosis: Some(diagnosis),
        transcript: transcript::render(&Log::default(), output, false),
        framed: false,
        has_server_output: true,
        failure: Some(failure),
        server_gone: true,
        heard: false,
        elapsed,
    }
}

fn run_scenario(check: &Check, scenario: &Scenario, server: Server, options: &Options) -> Outcome {
    let started = Instant::now();
    let timeouts = options.timeouts;
    let (process, addr, binary, answered_earlier) = match server {
        Server::Shared(addr, answered) => (None, addr, None, answered),
        Server::Own(Some(process), binary) => {
            let addr = process.addr;
            (Some(process), addr, Some(binary), false)
        }
        Server::Own(None, binary) => match ServerProcess::start(&binary, &timeouts) {
            Ok(process) => {
                let addr = process.addr;
                (Some(process), addr, Some(binary), false)
            }
            Err(failure) => {
                let (problem, output) = *failure;
                let mut outcome = startup_failure(problem, &output, started.elapsed());
                outcome.scenario = scenario.name;
                return outcome;
            }
        },
    };
    let log = Log::default();
    let connections = Arc::new(Connections::default());
    let slow_readers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let shared = process.is_none();
    let (result, restarted) = {
        let ctx = Ctx {
            addr,
            wire: check.wire,
            links: Links {
                log: log.clone(),
                timeouts,
                room: Arc::new(Room::new(shared)),
                connections: Arc::clone(&connections),
                slow_readers: Arc::clone(&slow_readers),
                heard: Arc::clone(&heard),
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
    // And probed there: the first one may be gone.
    let addr = process.as_ref().map_or(addr, |p| p.addr);
    let mut failure = result.err();
    let heard = heard.load(std::sync::atomic::Ordering::Relaxed);
    let answered_before = heard || answered_earlier;
    // Every client stays connected until here: record what they left unread.
    connections.record_unread(&log);
    let status = process
        .as_ref()
        .and_then(|p| exit_status(p, failure.as_ref(), &timeouts));
    if let Some(status) = &status {
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
    // A failure by silence: does the server still answer a fresh client?
    // (A chat or a relay that never answered anything cannot have stopped;
    // an echo server may have been busy with another client all along.)
    let doubtful = status.is_none()
        && (answered_before || matches!(check.kind, Kind::Echo { .. }))
        && failure
            .as_ref()
            .is_some_and(|f| diagnosis::worth_probing(&f.problem));
    let Probed { liveness, after } = probe_around_departures(
        check,
        addr,
        &timeouts,
        &log,
        &connections,
        Probing {
            doubtful,
            shared,
            crashed: status.is_some(),
        },
    );
    if failure.is_none() && after == Some(false) {
        failure = Some(Failure::new(
            Problem::Unresponsive {
                waited: timeouts.probe(),
                when: "once this scenario's clients had left".into(),
            },
            "the server keeps answering once the scenario's clients have left",
        ));
    }
    let refused = failure.as_ref().is_some_and(|f| {
        matches!(
            *f.problem,
            Problem::Refused { .. } | Problem::ConnectFailed { .. }
        )
    });
    let server_gone = after == Some(false) || status.is_some() || (shared && refused);
    let has_server_output = process.is_some();
    let server_output = process
        .as_ref()
        .map(ServerProcess::output)
        .unwrap_or_default();
    drop(process); // kills the server
    let slow_readers = slow_readers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let diagnosis = failure.as_ref().map(|failure| {
        diagnosis::diagnose(&Evidence {
            failure,
            liveness,
            server_output: &server_output,
            answered_before,
            heard_here: heard,
            slow_reader: slow_readers.first().map(String::as_str),
            kind: check.kind,
            timeouts,
        })
    });
    Outcome {
        scenario: scenario.name,
        diagnosis,
        transcript: transcript::render(&log, &server_output, check.wire == Wire::Frames),
        framed: check.wire == Wire::Frames,
        has_server_output,
        failure,
        server_gone,
        heard,
        elapsed: started.elapsed(),
    }
}

/// When to probe a server's liveness after a scenario.
struct Probing {
    /// The scenario failed by a silence the probes can explain.
    doubtful: bool,
    /// Someone else's server (`--addr`): check it survived the departures.
    shared: bool,
    crashed: bool,
}

/// What the probes found.
struct Probed {
    /// What explains the failure (only a doubtful one is explained).
    liveness: Liveness,
    /// Whether a fresh client got an answer once the scenario's clients had
    /// left, if that was tried.
    after: Option<bool>,
}

/// Closes the scenario's connections, probing the server before (with the
/// scenario's clients still connected) and after, as `probing` calls for:
/// see `liveness.rs`.
fn probe_around_departures(
    check: &Check,
    addr: SocketAddr,
    timeouts: &Timeouts,
    log: &Log,
    connections: &Connections,
    probing: Probing,
) -> Probed {
    let probe = || {
        let mark = log.mark();
        let probe = liveness::answers(check.kind, check.wire, addr, *timeouts);
        log.hide(mark, probe.about);
        probe.answered
    };
    let Probing {
        doubtful,
        shared,
        crashed,
    } = probing;
    // Serving one client at a time is correct for exercise 1: only the
    // probe after its clients left can tell.
    let one_at_a_time = matches!(
        check.kind,
        Kind::Echo {
            one_at_a_time: true
        }
    );
    let during = (doubtful && !one_at_a_time).then(|| {
        let answered = probe();
        note_probe(
            log,
            "with the scenario's clients still connected",
            answered,
            timeouts,
        );
        answered
    });
    connections.close_all();
    let after = if crashed || (during == Some(true) && !shared) {
        None
    } else if doubtful || shared {
        if shared {
            // Clients leaving is a classic moment for a server to deadlock
            // (a failed write to a departed client): let it happen first.
            thread::sleep(liveness::after_departures(*timeouts));
        }
        let answered = probe();
        if doubtful || !answered {
            note_probe(
                log,
                "once the scenario's clients had left",
                answered,
                timeouts,
            );
        }
        Some(answered)
    } else {
        None
    };
    // Only a silence is explained by the probes; a wrong answer stays the
    // diagnosis even if the server died afterwards.
    let liveness = if doubtful {
        liveness::judge(during, after)
    } else {
        Liveness::NotChecked
    };
    Probed { liveness, after }
}

/// Writes what a liveness probe found into the transcript, in the grader's voice.
fn note_probe(log: &Log, when: &str, answered: bool, timeouts: &Timeouts) {
    let verdict = if answered {
        "it answered".to_string()
    } else {
        format!("no answer in {:.1} s", timeouts.probe().as_secs_f64())
    };
    log.note(
        "grader",
        format!("{when}, a fresh client tries the server: {verdict}"),
    );
}

/// The exit status of a server process that died during the scenario. A
/// dying server shows it first by ending its connections: then give the
/// exit a moment to be visible, so the crash is blamed, not its symptom.
fn exit_status(
    process: &ServerProcess,
    failure: Option<&Failure>,
    timeouts: &Timeouts,
) -> Option<std::process::ExitStatus> {
    let connection_ended = failure.is_some_and(|f| {
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
    status
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
            |failure| {
                Failure::new(
                    failure.0,
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

    /// Marks the start of a stretch of the transcript that may be folded
    /// into one line once it went as planned (see [`Ctx::fold`]).
    pub fn mark(&self) -> transcript::Mark {
        self.links.log.mark()
    }

    /// Tells everything since `mark` in one line by `label` (a join that
    /// worked), leaving out the server's lines of that moment that mention
    /// `about` or any probe client.
    pub fn fold(
        &self,
        mark: transcript::Mark,
        label: &str,
        summary: String,
        mut about: Vec<String>,
    ) {
        about.extend(self.links.room.probe_names());
        self.links.log.fold(mark, label, summary, about);
    }

    /// A note in the grader's own voice.
    pub fn note(&self, text: impl Into<String>) {
        self.links.log.push(
            transcript::Voice::Client("grader".into()),
            Event::Note(text.into()),
        );
    }
}
