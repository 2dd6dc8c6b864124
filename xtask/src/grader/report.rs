//! How outcomes are shown: one line per scenario, and for a failure the
//! expectation, what happened, the transcript and a hint; or one JSON object
//! per scenario, for instructors collecting results.

use std::fmt::Write as _;

use super::{Outcome, Report};
use crate::json;
use crate::term::{Colour, paint};

/// The width hint paragraphs are wrapped to.
const WRAP: usize = 92;

/// The most lines one failure may take (expected, got, transcript, hint):
/// one screen. The tests hold every failure they see to it.
pub const ONE_SCREEN: usize = 40;

/// One line: `  PASS  name  (0.4 s)`.
pub fn scenario_line(outcome: &Outcome, colour: bool) -> String {
    let verdict = if outcome.passed() {
        paint("PASS", Colour::Green, colour)
    } else {
        paint("FAIL", Colour::Red, colour)
    };
    let time = paint(
        &format!("({:.1} s)", outcome.elapsed.as_secs_f64()),
        Colour::Dim,
        colour,
    );
    format!("  {verdict}  {}  {time}", outcome.scenario)
}

/// The lines under a scenario: for a failure, expected / got / transcript /
/// hint; for a pass (shown with `--verbose`), the transcript alone.
pub fn details(outcome: &Outcome, colour: bool) -> Vec<String> {
    let mut lines = body(outcome, colour);
    if let Some(text) = hint_text(outcome) {
        lines.extend(hint_lines("hint:", &text, colour));
    }
    lines
}

/// [`details`] for a failure whose diagnosis was explained in full under
/// the scenario `first`: the hint only points there.
pub fn details_repeating(outcome: &Outcome, first: &str, colour: bool) -> Vec<String> {
    let mut lines = body(outcome, colour);
    lines.extend(repeated_hint(outcome, first, colour));
    lines
}

fn body(outcome: &Outcome, colour: bool) -> Vec<String> {
    const INDENT: &str = "        ";
    let mut lines = Vec::new();
    if let Some(failure) = &outcome.failure {
        lines.push(format!(
            "{INDENT}{} {}",
            paint("expected:", Colour::Bold, colour),
            failure.expected
        ));
        lines.push(format!(
            "{INDENT}{} {}",
            paint("got:     ", Colour::Bold, colour),
            failure.observed()
        ));
    }
    lines.push(format!("{INDENT}{}", transcript_legend(outcome, colour)));
    for line in &outcome.transcript {
        lines.push(format!("{INDENT}  {line}"));
    }
    lines
}

fn transcript_legend(outcome: &Outcome, colour: bool) -> String {
    let frames = if outcome.framed {
        ", [N] a frame of N bytes"
    } else {
        ""
    };
    let legend = if outcome.has_server_output {
        format!(
            "transcript (-> sent by a grader client, <- received by it{frames}, | printed by the \
             server):"
        )
    } else {
        format!(
            "transcript (-> sent by a grader client, <- received by it{frames}; the server's own \
             output is not visible from here):"
        )
    };
    paint(&legend, Colour::Bold, colour)
}

/// The hint: the failure's one diagnosis (see `diagnosis.rs`).
pub fn hint_text(outcome: &Outcome) -> Option<String> {
    outcome.diagnosis.as_ref().map(|d| d.hint.clone())
}

/// A hint as indented, wrapped lines under a label.
fn hint_lines(label: &str, text: &str, colour: bool) -> Vec<String> {
    const INDENT: &str = "        ";
    let painted = paint(label, Colour::Yellow, colour);
    let pad = " ".repeat(label.chars().count() + 1);
    wrap(text, WRAP)
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                format!("{INDENT}{painted} {line}")
            } else {
                format!("{INDENT}{pad}{line}")
            }
        })
        .collect()
}

/// A short hint for a diagnosis already explained in full above, under an
/// earlier scenario: its first sentence, and where the rest is.
fn repeated_hint(outcome: &Outcome, first: &str, colour: bool) -> Vec<String> {
    let Some(diagnosis) = &outcome.diagnosis else {
        return Vec::new();
    };
    let headline = diagnosis.hint.split(": ").next().unwrap_or(&diagnosis.hint);
    hint_lines(
        "hint:",
        &format!("{headline}, as in `{first}` above: see the hint there."),
        colour,
    )
}

/// The lines saying which scenarios could not be run, and why.
pub fn not_run_lines(report: &Report, colour: bool) -> Vec<String> {
    let Some(why) = &report.why_not_run else {
        return Vec::new();
    };
    if report.not_run.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!("  {}  {why}", paint("STOP", Colour::Red, colour))];
    if let Some(hint) = &report.stop_hint {
        lines.extend(hint_lines("hint:", hint, colour));
    }
    for name in &report.not_run {
        lines.push(format!("        not tested: {name}"));
    }
    lines
}

/// Wraps `text` at word boundaries to lines of at most `width` characters
/// (a longer word gets a line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// One JSON object (one line) for a scenario's outcome.
pub fn json_line(exercise: u8, target: &str, outcome: &Outcome) -> String {
    let mut out = format!(
        "{{\"exercise\":{exercise},\"target\":{},\"scenario\":{},\"passed\":{},\"seconds\":{:.3}",
        json::string(target),
        json::string(outcome.scenario),
        outcome.passed(),
        outcome.elapsed.as_secs_f64()
    );
    if let Some(failure) = &outcome.failure {
        let _ = write!(
            out,
            ",\"expected\":{},\"got\":{},\"diagnosis\":{},\"hint\":{},\"transcript\":[{}]",
            json::string(&failure.expected),
            json::string(&failure.observed()),
            json::string(outcome.diagnosis.as_ref().map_or("", |d| d.id)),
            json::string(&hint_text(outcome).unwrap_or_default()),
            outcome
                .transcript
                .iter()
                .map(|line| json::string(line))
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    out.push('}');
    out
}

/// One JSON object per scenario that could not be run.
pub fn json_not_run_lines(report: &Report, target: &str) -> Vec<String> {
    let why = report.why_not_run.as_deref().unwrap_or_default();
    report
        .not_run
        .iter()
        .map(|name| {
            let mut line = format!(
                "{{\"exercise\":{},\"target\":{},\"scenario\":{},\"passed\":false,\
                 \"tested\":false,\"reason\":{}",
                report.exercise,
                json::string(target),
                json::string(name),
                json::string(why)
            );
            if let Some(hint) = &report.stop_hint {
                let _ = write!(line, ",\"hint\":{}", json::string(hint));
            }
            line.push('}');
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::grader::diagnosis::{self, Evidence};
    use crate::grader::failure::{Failure, Problem, Waiting};
    use crate::grader::liveness::{Kind, Liveness};
    use crate::grader::timeouts::Timeouts;

    fn failing() -> Outcome {
        let failure = Failure::new(
            Problem::Timeout {
                client: "ann".into(),
                waiting: Waiting::Line,
                waited: Duration::from_secs(3),
                partial: b"bob: one".to_vec(),
            },
            r#"ann receives the line "bob: one\n""#,
        )
        .with_advice("Split the stream at each newline.");
        let diagnosis = diagnosis::diagnose(&Evidence {
            failure: &failure,
            liveness: Liveness::NotChecked,
            server_output: &[],
            answered_before: true,
            heard_here: true,
            slow_reader: None,
            kind: Kind::Chat,
            timeouts: Timeouts::default(),
        });
        Outcome {
            scenario: "three lines in one write are three messages",
            failure: Some(failure),
            diagnosis: Some(diagnosis),
            transcript: vec![r#"bob -> "one\ntwo\n""#.into()],
            has_server_output: true,
            framed: false,
            server_gone: false,
            heard: true,
            elapsed: Duration::from_millis(3012),
        }
    }

    #[test]
    fn a_failure_shows_expected_got_transcript_and_hint() {
        let lines = details(&failing(), false);
        assert_eq!(
            lines[0],
            r#"        expected: ann receives the line "bob: one\n""#
        );
        assert_eq!(
            lines[1],
            r#"        got:      ann waited 3.0 s for a line: only "bob: one" arrived"#
        );
        assert!(lines[2].contains("| printed by the server"));
        assert_eq!(lines[3], r#"          bob -> "one\ntwo\n""#);
        assert!(lines[4].starts_with("        hint: Bytes arrived but no newline"));
        // The symptom explains itself: no advice about other bugs under it.
        let hint = hint_text(&failing()).unwrap();
        assert!(!hint.contains("Split the stream"), "{hint}");
        assert!(
            lines.iter().all(|l| l.chars().count() <= WRAP + 14),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_repeated_diagnosis_points_at_the_first() {
        let lines = details_repeating(&failing(), "a line sent a byte at a time", false);
        let at = lines.iter().position(|l| l.contains("hint:")).unwrap();
        let hint: Vec<&str> = lines[at..].iter().map(|l| l.trim()).collect();
        assert_eq!(
            hint.join(" "),
            "hint: Bytes arrived but no newline, as in `a line sent a byte at a time` above: \
             see the hint there."
        );
    }

    #[test]
    fn the_scenario_line_is_plain_without_colour() {
        assert_eq!(
            scenario_line(&failing(), false),
            "  FAIL  three lines in one write are three messages  (3.0 s)"
        );
    }

    #[test]
    fn wrap_breaks_at_words() {
        assert_eq!(wrap("aa bb cc dd", 5), vec!["aa bb", "cc dd"]);
        assert_eq!(wrap("a verylongword b", 4), vec!["a", "verylongword", "b"]);
        assert!(wrap("   ", 10).is_empty());
    }

    #[test]
    fn json_line_has_the_fields_instructors_collect() {
        let line = json_line(4, "exercise4", &failing());
        assert!(line.starts_with(
            r#"{"exercise":4,"target":"exercise4","scenario":"three lines in one write are three messages","passed":false,"seconds":3.012,"expected":"ann receives the line \"bob: one\\n\"""#
        ), "{line}");
        assert!(
            line.contains(r#""diagnosis":"missing-newline","hint":"Bytes"#),
            "{line}"
        );
        assert!(
            line.ends_with(r#""transcript":["bob -> \"one\\ntwo\\n\""]}"#),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let mut passing = failing();
        passing.failure = None;
        assert_eq!(
            json_line(4, "exercise4", &passing),
            r#"{"exercise":4,"target":"exercise4","scenario":"three lines in one write are three messages","passed":true,"seconds":3.012}"#
        );
    }
}
