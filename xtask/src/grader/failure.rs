//! What went wrong in a scenario, as data: the grader's clients report a
//! [`Problem`] (a timeout, an EOF, a wrong line, ...), the scenario adds what
//! it expected, advice about the idea it tests and, where it recognises the
//! symptom, its own [`Finding`]. `diagnosis.rs` picks the one diagnosis that
//! fits what the transcript shows; `hints.rs` puts it into plain words.

use std::fmt;
use std::time::Duration;

use super::transcript::{MAX_SHOWN_BYTES, escape_shortened};

/// What a grader client was waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// A line ending in `\n`.
    Line,
    /// A length-prefixed frame.
    Frame,
    /// This many bytes (an echo, a raw relay).
    Bytes(usize),
    /// The server to close the connection.
    Close,
    /// Nothing: a window of silence.
    Silence,
}

impl fmt::Display for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Waiting::Line => write!(f, "a line"),
            Waiting::Frame => write!(f, "a frame"),
            Waiting::Bytes(1) => write!(f, "1 byte"),
            Waiting::Bytes(n) => write!(f, "{n} bytes"),
            Waiting::Close => write!(f, "the server to close the connection"),
            Waiting::Silence => write!(f, "nothing (a moment of silence)"),
        }
    }
}

/// The observable problem, in the grader's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Nothing listens at the address.
    Refused { addr: String },
    /// Connecting failed otherwise (timeout, unreachable).
    ConnectFailed { addr: String, error: String },
    /// Nothing (complete) arrived in time. `partial` is what did arrive.
    Timeout {
        client: String,
        waiting: Waiting,
        waited: Duration,
        partial: Vec<u8>,
    },
    /// The server closed the connection (EOF) while a client waited.
    Closed {
        client: String,
        waiting: Waiting,
        partial: Vec<u8>,
    },
    /// The server reset the connection while a client waited.
    Reset {
        client: String,
        waiting: Waiting,
        partial: Vec<u8>,
    },
    /// A client could not send (the server closed, or stopped reading).
    SendFailed {
        client: String,
        error: String,
        timed_out: bool,
    },
    /// Something arrived, but not what was expected.
    Mismatch {
        client: String,
        waiting: Waiting,
        expected: String,
        got: Vec<u8>,
        /// The exact message (or bytes) that was due, when one was.
        wanted: Option<Box<[u8]>>,
        /// What arrived right after `got` (on a line wire, the next few
        /// lines): where the server cut the stream shows in it.
        followed: Box<[u8]>,
    },
    /// Something arrived where nothing should have.
    NotSilent { client: String, got: Vec<u8> },
    /// A client received its own message back, or the notice of its own
    /// arrival.
    OwnWords { client: String, got: Vec<u8> },
    /// The scenario passed, but afterwards a fresh client got no answer.
    Unresponsive { waited: Duration, when: String },
    /// A frame header announced an absurd length.
    FrameTooLong {
        client: String,
        header: [u8; 4],
        length: u32,
    },
    /// The server printed no `listening on` line in time.
    NoListeningLine { waited: Duration },
    /// The first line was not `listening on IP:PORT`.
    BadListeningLine { line: String },
    /// The server could not bind: the address is taken.
    AddrInUse,
    /// The server exited before it was listening.
    ExitedEarly { status: String },
    /// The server binary could not be started at all.
    CannotRun { error: String },
    /// The server process died during the scenario.
    Crashed {
        status: String,
        during: Option<Box<Problem>>,
    },
    /// A scenario's own observation (a wrong list, a duplicate notice).
    Wrong { what: String },
}

impl Problem {
    /// The grader client that saw the problem, if one did.
    pub fn client(&self) -> Option<&str> {
        match self {
            Problem::Timeout { client, .. }
            | Problem::Closed { client, .. }
            | Problem::Reset { client, .. }
            | Problem::SendFailed { client, .. }
            | Problem::Mismatch { client, .. }
            | Problem::NotSilent { client, .. }
            | Problem::OwnWords { client, .. }
            | Problem::FrameTooLong { client, .. } => Some(client),
            _ => None,
        }
    }

    /// What was observed, in one sentence (see also [`Failure::observed`]).
    pub fn observed(&self) -> String {
        match self {
            Problem::Refused { addr } => format!("connection to {addr} refused"),
            Problem::ConnectFailed { addr, error } => format!("cannot connect to {addr}: {error}"),
            Problem::Timeout {
                client,
                waiting,
                waited,
                partial,
            } => {
                let secs = waited.as_secs_f64();
                if partial.is_empty() {
                    format!("{client} waited {secs:.1} s for {waiting}: nothing arrived")
                } else {
                    format!(
                        "{client} waited {secs:.1} s for {waiting}: only {} arrived",
                        escape_shortened(partial)
                    )
                }
            }
            Problem::Closed {
                client,
                waiting,
                partial,
            } => with_partial(
                format!("the server closed {client}'s connection while it waited for {waiting}"),
                partial,
            ),
            Problem::Reset {
                client,
                waiting,
                partial,
            } => with_partial(
                format!("the server reset {client}'s connection while it waited for {waiting}"),
                partial,
            ),
            Problem::SendFailed { client, error, .. } => {
                format!("{client} could not send: {error}")
            }
            Problem::Mismatch {
                client,
                got,
                wanted,
                waiting: Waiting::Bytes(_),
                ..
            } => match wanted.as_deref().and_then(|w| first_difference(w, got)) {
                Some(at) if got.len() > MAX_SHOWN_BYTES => format!(
                    "{client} received {} bytes, different from byte {at} on: {}",
                    got.len(),
                    escape_shortened(&got[at..])
                ),
                _ => format!("{client} received {}", escape_shortened(got)),
            },
            Problem::Mismatch { client, got, .. } => {
                format!("{client} received {}", escape_shortened(got))
            }
            Problem::NotSilent { client, got } => {
                format!("{client} received {}", escape_shortened(got))
            }
            Problem::OwnWords { client, got } => {
                format!(
                    "{client} received its own words back: {}",
                    escape_shortened(got)
                )
            }
            Problem::Unresponsive { waited, when } => format!(
                "{when}, a fresh client got no answer in {:.1} s",
                waited.as_secs_f64()
            ),
            Problem::FrameTooLong {
                client,
                header,
                length,
            } => format!(
                "{client} received the header {} (a length of {length} bytes)",
                escape_shortened(header)
            ),
            Problem::NoListeningLine { waited } => {
                format!("no `listening on` line after {:.1} s", waited.as_secs_f64())
            }
            Problem::BadListeningLine { line } => {
                format!("the first line was {}", escape_shortened(line.as_bytes()))
            }
            Problem::AddrInUse => "the server could not bind: address already in use".into(),
            Problem::ExitedEarly { status } => {
                format!("the server exited ({status}) before it was listening")
            }
            Problem::CannotRun { error } => format!("cannot start the server: {error}"),
            Problem::Crashed { status, during } => match during {
                Some(problem) => format!(
                    "the server process died ({status}); meanwhile {}",
                    problem.observed()
                ),
                None => format!("the server process died ({status})"),
            },
            Problem::Wrong { what } => what.clone(),
        }
    }
}

/// Where `got` first differs from `wanted` (`None` if one is the start of
/// the other).
pub fn first_difference(wanted: &[u8], got: &[u8]) -> Option<usize> {
    wanted.iter().zip(got).position(|(w, g)| w != g)
}

fn with_partial(text: String, partial: &[u8]) -> String {
    if partial.is_empty() {
        text
    } else {
        format!("{text}, after only {}", escape_shortened(partial))
    }
}

/// A scenario's own diagnosis of a symptom it recognises (`ann got the first
/// of three lines, not the others` is framing): an id, for tests and JSON,
/// and the hint's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: &'static str,
    pub text: String,
}

/// A failed expectation: what went wrong, what was expected, and what the
/// scenario knows about the likely cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Boxed: a `Failure` travels in every `Result` of the grader.
    pub problem: Box<Problem>,
    /// The expectation, as a sentence: `ann receives "bob: hi\n"`.
    pub expected: String,
    /// The scenario's advice about the idea it tests, if any. It follows
    /// the diagnosis only when the server is alive and answered something
    /// else, or nothing, in time: advice about a message never explains a
    /// crash or a deadlock.
    pub advice: Option<String>,
    /// The scenario's own diagnosis, which replaces the general one (again
    /// only while the server is alive and answering).
    pub finding: Option<Finding>,
    /// What the failed wait had already accepted, in order, when a client
    /// waited for several messages (`Peer::expect_all`): the problem came
    /// after these.
    pub before: Vec<Vec<u8>>,
}

impl Failure {
    pub fn new(problem: Problem, expected: impl Into<String>) -> Failure {
        Failure {
            problem: Box::new(problem),
            expected: expected.into(),
            advice: None,
            finding: None,
            before: Vec::new(),
        }
    }

    /// The same failure, coming after `before`: the messages the wait had
    /// accepted (each as it travels, with its newline or length).
    pub fn after(mut self, before: Vec<Vec<u8>>) -> Failure {
        self.before = before;
        self
    }

    /// What was observed, in one sentence: the `got:` line of a report. A
    /// wait for several messages tells what it received first, in order,
    /// then what contradicted it.
    pub fn observed(&self) -> String {
        /// The most earlier messages shown (the latest ones).
        const SHOWN: usize = 8;
        let observed = self.problem.observed();
        let Some(client) = self.problem.client() else {
            return observed;
        };
        if self.before.is_empty() {
            return observed;
        }
        let skipped = self.before.len().saturating_sub(SHOWN);
        let mut shown: Vec<String> = self.before[skipped..]
            .iter()
            .map(|m| escape_shortened(m))
            .collect();
        if skipped > 0 {
            shown.insert(0, format!("{skipped} earlier messages"));
        }
        let earlier = shown.join(", then ");
        match &*self.problem {
            Problem::Mismatch { got, .. } | Problem::NotSilent { got, .. } => {
                format!(
                    "{client} received {earlier}, then {}",
                    escape_shortened(got)
                )
            }
            _ => format!("{client} received {earlier}; then {observed}"),
        }
    }

    /// The same failure with the scenario's advice.
    pub fn with_advice(mut self, advice: impl Into<String>) -> Failure {
        self.advice = Some(advice.into());
        self
    }

    /// The same failure with the scenario's own diagnosis (the first given wins).
    pub fn found(mut self, id: &'static str, text: impl Into<String>) -> Failure {
        if self.finding.is_none() {
            self.finding = Some(Finding {
                id,
                text: text.into(),
            });
        }
        self
    }

    /// Whether nothing at all arrived while a client waited for a message.
    pub fn nothing_arrived(&self) -> bool {
        matches!(&*self.problem, Problem::Timeout { partial, .. } if partial.is_empty())
    }

    /// A scenario's own check failed: `what` was observed instead.
    pub fn wrong(what: impl Into<String>, expected: impl Into<String>) -> Failure {
        Failure::new(Problem::Wrong { what: what.into() }, expected)
    }
}

/// The grader's result type: every expectation returns one.
pub type Expect<T = ()> = Result<T, Failure>;

/// `expectation.advice("...")?` attaches the scenario's advice to a failure
/// (the first advice given wins: it is the most specific).
pub trait Advise<T> {
    fn advice(self, advice: &str) -> Expect<T>;
}

impl<T> Advise<T> for Expect<T> {
    fn advice(self, advice: &str) -> Expect<T> {
        self.map_err(|mut failure| {
            if failure.advice.is_none() {
                failure.advice = Some(advice.to_string());
            }
            failure
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_shows_partial_bytes_escaped() {
        let problem = Problem::Timeout {
            client: "ann".into(),
            waiting: Waiting::Line,
            waited: Duration::from_secs(3),
            partial: b"bob: hi".to_vec(),
        };
        assert_eq!(
            problem.observed(),
            r#"ann waited 3.0 s for a line: only "bob: hi" arrived"#
        );
    }

    #[test]
    fn first_advice_wins() {
        let failing: Expect = Err(Failure::wrong("x", "y"));
        let failure = failing.advice("specific").advice("general").unwrap_err();
        assert_eq!(failure.advice.as_deref(), Some("specific"));
    }
}
