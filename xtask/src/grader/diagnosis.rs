//! One diagnosis per failure, chosen from the evidence: what the clients
//! saw (the [`Problem`]), whether the process died, what it printed, and
//! whether the server still answered a fresh client afterwards
//! ([`Liveness`]). The most telling evidence wins:
//!
//! 1. the process died, or never started: nothing else matters;
//! 2. a thread panicked: the panic is the cause of what the clients saw;
//! 3. nobody got an answer any more: a deadlock or a lock held across a
//!    blocking call, whatever the scenario was testing;
//! 4. the server is alive: the scenario's own finding if it recognised the
//!    symptom, else what the problem itself says, followed by the scenario's
//!    advice where that advice is about this kind of symptom.

use super::failure::{Failure, Problem};
use super::hints::{self, Words};
use super::liveness::{Kind, Liveness};
use super::timeouts::Timeouts;
use super::transcript::Entry;

/// The diagnosis of one failed scenario: an id (stable, for tests and
/// `--json`) and the hint a student reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub id: &'static str,
    pub hint: String,
}

impl From<Words> for Diagnosis {
    fn from(words: Words) -> Diagnosis {
        Diagnosis {
            id: words.id,
            hint: words.text,
        }
    }
}

/// Everything known about a failed scenario.
pub struct Evidence<'a> {
    pub failure: &'a Failure,
    pub liveness: Liveness,
    /// What the server printed (empty for a server given with `--addr`).
    pub server_output: &'a [Entry],
    /// Whether any client received anything during the scenario (or, on
    /// a shared server, in an earlier one): a server that never answered did
    /// not *stop* answering.
    pub answered_before: bool,
    /// Whether it was during this scenario that it answered.
    pub heard_here: bool,
    /// A client of the scenario that stopped reading on purpose, if any.
    pub slow_reader: Option<&'a str>,
    pub kind: Kind,
    pub timeouts: Timeouts,
}

/// Whether the problem is a silence that the liveness probe can explain (a
/// wait that ran out, a send that blocked). Anything else means the server
/// answered or closed: it is alive.
pub fn worth_probing(problem: &Problem) -> bool {
    matches!(
        problem,
        Problem::Timeout { .. }
            | Problem::SendFailed {
                timed_out: true,
                ..
            }
    )
}

pub fn diagnose(evidence: &Evidence) -> Diagnosis {
    let problem = &*evidence.failure.problem;
    let panic = hints::panic_line(evidence.server_output);
    match problem {
        Problem::Crashed { status, .. } => {
            return hints::crashed(status, panic.as_deref()).into();
        }
        Problem::NoListeningLine { .. }
        | Problem::BadListeningLine { .. }
        | Problem::AddrInUse
        | Problem::ExitedEarly { .. }
        | Problem::CannotRun { .. } => return hints::for_problem(problem, false).into(),
        _ => {}
    }
    if let Some(panic) = &panic {
        return hints::thread_panicked(panic).into();
    }
    match evidence.liveness {
        Liveness::Silent if evidence.answered_before => {
            let waited = evidence.timeouts.probe();
            return if evidence.heard_here {
                hints::stopped_answering(waited)
            } else {
                hints::answers_no_more(waited)
            }
            .into();
        }
        Liveness::AnswersOnceTheyLeft => {
            return match (evidence.slow_reader, evidence.kind) {
                (Some(slow), _) => hints::stalled_by_slow_reader(slow),
                (None, Kind::Echo { .. }) => hints::one_client_at_a_time(),
                (None, _) => hints::blocked_on_a_client(),
            }
            .into();
        }
        _ => {}
    }
    let words = hints::for_problem(problem, evidence.liveness == Liveness::Answers);
    if !words.open {
        return words.into();
    }
    if let Some(finding) = &evidence.failure.finding {
        return Diagnosis {
            id: finding.id,
            hint: finding.text.clone(),
        };
    }
    let follow = evidence.failure.advice.as_deref().or(words.otherwise);
    let mut diagnosis = Diagnosis::from(words);
    if let Some(follow) = follow {
        diagnosis.hint.push(' ');
        diagnosis.hint.push_str(follow);
    }
    diagnosis
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::grader::failure::Waiting;
    use crate::grader::transcript::{Event, Voice};

    fn nothing_for_ann() -> Failure {
        Failure::new(
            Problem::Timeout {
                client: "ann".into(),
                waiting: Waiting::Line,
                waited: Duration::from_secs(3),
                partial: vec![],
            },
            "ann receives the line \"bob: hi\\n\"",
        )
        .with_advice("Send each message to every other client.")
    }

    fn evidence(failure: &Failure, liveness: Liveness) -> Evidence<'_> {
        Evidence {
            failure,
            liveness,
            server_output: &[],
            answered_before: true,
            heard_here: true,
            slow_reader: None,
            kind: Kind::Chat,
            timeouts: Timeouts::default(),
        }
    }

    #[test]
    fn a_dead_room_is_a_deadlock_not_the_scenarios_bug() {
        let failure = nothing_for_ann();
        let diagnosis = diagnose(&evidence(&failure, Liveness::Silent));
        assert_eq!(diagnosis.id, "stopped-answering");
        assert!(
            !diagnosis.hint.contains("every other client"),
            "{diagnosis:?}"
        );
    }

    #[test]
    fn a_server_that_never_answered_did_not_stop() {
        let failure = nothing_for_ann();
        let mut evidence = evidence(&failure, Liveness::Silent);
        evidence.answered_before = false;
        let diagnosis = diagnose(&evidence);
        assert_eq!(diagnosis.id, "nothing-arrived");
        assert!(
            diagnosis.hint.ends_with("every other client."),
            "{diagnosis:?}"
        );
    }

    #[test]
    fn a_live_server_gets_the_advice_after_the_symptom() {
        let failure = nothing_for_ann();
        let diagnosis = diagnose(&evidence(&failure, Liveness::Answers));
        assert!(
            diagnosis
                .hint
                .starts_with("Nothing arrived for ann in 3.0 s, and the server still answers"),
            "{diagnosis:?}"
        );
        assert!(
            diagnosis.hint.ends_with("every other client."),
            "{diagnosis:?}"
        );
    }

    #[test]
    fn a_finding_replaces_the_general_words_while_the_server_lives() {
        let failure = nothing_for_ann().found("framing", "Only the first line was taken.");
        let alive = diagnose(&evidence(&failure, Liveness::Answers));
        assert_eq!(alive.id, "framing");
        assert_eq!(alive.hint, "Only the first line was taken.");
        let dead = diagnose(&evidence(&failure, Liveness::Silent));
        assert_eq!(dead.id, "stopped-answering");
    }

    #[test]
    fn frozen_until_the_clients_left_names_the_slow_reader_or_the_threads() {
        let failure = nothing_for_ann();
        let mut evidence = evidence(&failure, Liveness::AnswersOnceTheyLeft);
        assert_eq!(diagnose(&evidence).id, "blocked-on-a-client");
        evidence.slow_reader = Some("sid");
        assert_eq!(diagnose(&evidence).id, "stalled-by-slow-reader");
        evidence.slow_reader = None;
        evidence.kind = Kind::Echo {
            one_at_a_time: false,
        };
        assert_eq!(diagnose(&evidence).id, "one-client-at-a-time");
    }

    #[test]
    fn a_panic_explains_what_the_clients_saw() {
        let failure = nothing_for_ann();
        let output = [Entry::new(
            Voice::ServerStderr,
            Event::Printed("thread '<unnamed>' panicked at src/main.rs:9:5:".into()),
        )];
        let mut evidence = evidence(&failure, Liveness::Answers);
        evidence.server_output = &output;
        let diagnosis = diagnose(&evidence);
        assert_eq!(diagnosis.id, "thread-panicked");
        assert!(diagnosis.hint.contains("src/main.rs:9:5"), "{diagnosis:?}");
    }

    #[test]
    fn a_specific_symptom_gets_no_unrelated_advice() {
        let failure = Failure::new(
            Problem::Timeout {
                client: "ann".into(),
                waiting: Waiting::Line,
                waited: Duration::from_secs(3),
                partial: b"bob: hi".to_vec(),
            },
            "x",
        )
        .with_advice("Split the stream at each newline.");
        let diagnosis = diagnose(&evidence(&failure, Liveness::NotChecked));
        assert_eq!(diagnosis.id, "missing-newline");
        assert!(!diagnosis.hint.contains("Split"), "{diagnosis:?}");
    }
}
