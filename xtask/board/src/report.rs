//! One student's report, as a line of JSON from the room (see
//! `xtask::share::wire`), checked field by field: whatever a prankster
//! sends is either a report the board understands or a refusal that says
//! why in a few words. serde_json parses it (its recursion limit keeps a
//! deeply nested line harmless); nothing is parsed by hand.

use serde_json::{Map, Value};
use xtask::course::EXERCISES;
use xtask::share::wire;

/// The most scenario rows one report may carry (a check has about ten).
pub const MAX_SCENARIOS: usize = 100;

/// The longest scenario title kept, in characters.
const MAX_SCENARIO_CHARS: usize = 200;

/// The longest diagnosis id (the grader's are 7 to 22 characters).
const MAX_DIAGNOSIS_CHARS: usize = 40;

/// What a check found for one exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Result {
    Passed,
    Failing {
        passed: usize,
        total: usize,
        /// The first failing scenario's diagnosis id, when it has one.
        diagnosis: Option<String>,
    },
    DoesNotBuild,
}

/// A report the board understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub name: String,
    pub exercise: u8,
    pub result: Result,
}

/// Parses and checks one line (without its newline).
pub fn parse(line: &[u8]) -> std::result::Result<Report, String> {
    let value: Value = serde_json::from_slice(line)
        .map_err(|_| "not a report: one line of JSON is expected".to_string())?;
    let Value::Object(object) = value else {
        return Err("not a report: a JSON object is expected".into());
    };
    let name = string(&object, "name")?;
    wire::check_name(name)?;
    let exercise = object
        .get("exercise")
        .ok_or("the report has no \"exercise\"")?
        .as_u64()
        .and_then(|n| u8::try_from(n).ok())
        .filter(|n| EXERCISES.contains(n))
        .ok_or_else(|| {
            format!(
                "unknown exercise: this board knows exercise{} to exercise{}",
                EXERCISES.start(),
                EXERCISES.end()
            )
        })?;
    let builds = object
        .get("builds")
        .and_then(Value::as_bool)
        .ok_or("the report has no \"builds\" (true or false)")?;
    let rows = match object.get("rows") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(rows)) => rows.as_slice(),
        Some(_) => return Err("\"rows\" is not a list".into()),
    };
    let result = if builds {
        graded(rows)?
    } else if rows.is_empty() {
        Result::DoesNotBuild
    } else {
        return Err("an exercise that does not build has no scenario rows".into());
    };
    Ok(Report {
        name: name.to_string(),
        exercise,
        result,
    })
}

/// The verdict of the scenario rows.
fn graded(rows: &[Value]) -> std::result::Result<Result, String> {
    if rows.is_empty() {
        return Err("a graded exercise has scenario rows".into());
    }
    if rows.len() > MAX_SCENARIOS {
        return Err(format!("more than {MAX_SCENARIOS} scenario rows"));
    }
    let mut passed = 0;
    let mut first_failure: Option<Option<String>> = None;
    for row in rows {
        let Value::Object(row) = row else {
            return Err("a scenario row is not a JSON object".into());
        };
        let scenario = string(row, "scenario")?;
        if scenario.chars().count() > MAX_SCENARIO_CHARS || scenario.chars().any(char::is_control) {
            return Err("a scenario title is too long or holds control characters".into());
        }
        let ok = row
            .get("passed")
            .and_then(Value::as_bool)
            .ok_or("a scenario row has no \"passed\" (true or false)")?;
        let diagnosis = match row.get("diagnosis") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if is_diagnosis_id(id) => Some(id.clone()),
            Some(_) => {
                return Err("a diagnosis is not a diagnosis id (like missing-newline)".into());
            }
        };
        if ok {
            passed += 1;
        } else if first_failure.is_none() {
            first_failure = Some(diagnosis);
        }
    }
    Ok(match first_failure {
        None => Result::Passed,
        Some(diagnosis) => Result::Failing {
            passed,
            total: rows.len(),
            diagnosis,
        },
    })
}

/// `missing-newline`: lowercase ASCII letters, digits and dashes.
fn is_diagnosis_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_DIAGNOSIS_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn string<'a>(object: &'a Map<String, Value>, field: &str) -> std::result::Result<&'a str, String> {
    object
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the report has no \"{field}\" (a string)"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use xtask::grader::diagnosis::Diagnosis;
    use xtask::grader::{Outcome, Report as Graded};

    use super::*;

    fn outcome(scenario: &'static str, diagnosis: Option<&'static str>) -> Outcome {
        Outcome {
            scenario,
            failure: None,
            diagnosis: diagnosis.map(|id| Diagnosis {
                id,
                hint: "a hint".into(),
            }),
            transcript: vec!["ann -> \"hello\\n\"".into()],
            has_server_output: false,
            framed: false,
            server_gone: false,
            heard: true,
            elapsed: Duration::from_millis(300),
        }
    }

    #[test]
    fn what_check_sends_is_what_the_board_reads() {
        let report = Graded {
            exercise: 4,
            outcomes: vec![outcome("one", None), outcome("two", None)],
            not_run: vec![],
            why_not_run: None,
            stop_hint: None,
        };
        let line = wire::report_line("Zoë", 4, Some(&report));
        assert_eq!(
            parse(line.as_bytes()),
            Ok(Report {
                name: "Zoë".into(),
                exercise: 4,
                result: Result::Passed
            })
        );
        let line = wire::report_line("bob", 2, None);
        assert_eq!(parse(line.as_bytes()).unwrap().result, Result::DoesNotBuild);
    }

    #[test]
    fn the_first_failure_gives_the_diagnosis() {
        // What check sends for a failure: a Failure is not needed to read it,
        // the row says passed false. Built by hand, as a student's JSON.
        let line = r#"{"name":"ann","exercise":4,"builds":true,"rows":[
            {"scenario":"a","passed":true,"seconds":0.1},
            {"scenario":"b","passed":false,"seconds":3.0,"diagnosis":"missing-newline"},
            {"scenario":"c","passed":false,"seconds":0.2,"diagnosis":"crashed"},
            {"scenario":"d","passed":false,"tested":false}]}"#
            .replace('\n', "");
        assert_eq!(
            parse(line.as_bytes()).unwrap().result,
            Result::Failing {
                passed: 1,
                total: 4,
                diagnosis: Some("missing-newline".into())
            }
        );
    }

    #[test]
    fn pranks_are_refused_with_a_reason() {
        let cases: &[(&str, &str)] = &[
            ("hello", "one line of JSON"),
            ("[1,2]", "a JSON object"),
            (r#"{"exercise":1,"builds":false}"#, "no \"name\""),
            (
                r#"{"name":"a\u001b[2J","exercise":1,"builds":false}"#,
                "control character",
            ),
            (
                r#"{"name":"bob\u202e","exercise":1,"builds":false}"#,
                "direction-changing",
            ),
            (
                r#"{"name":"ann","exercise":99,"builds":false}"#,
                "unknown exercise",
            ),
            (
                r#"{"name":"ann","exercise":-1,"builds":false}"#,
                "unknown exercise",
            ),
            (
                r#"{"name":"ann","exercise":"1","builds":false}"#,
                "unknown exercise",
            ),
            (r#"{"name":"ann","exercise":1}"#, "no \"builds\""),
            (
                r#"{"name":"ann","exercise":1,"builds":true,"rows":[]}"#,
                "has scenario rows",
            ),
            (
                r#"{"name":"ann","exercise":1,"builds":true,"rows":{}}"#,
                "not a list",
            ),
            (
                r#"{"name":"ann","exercise":1,"builds":true,"rows":[7]}"#,
                "not a JSON object",
            ),
            (
                r#"{"name":"ann","exercise":1,"builds":true,"rows":[{"scenario":"a","passed":false,"diagnosis":"\u001b[31m"}]}"#,
                "not a diagnosis id",
            ),
            (
                r#"{"name":"ann","exercise":1,"builds":true,"rows":[{"scenario":"a\u0007","passed":true}]}"#,
                "control characters",
            ),
            (
                r#"{"name":"ann","exercise":1,"builds":false,"rows":[{"scenario":"a","passed":true}]}"#,
                "does not build",
            ),
        ];
        for (line, why) in cases {
            let refusal = parse(line.as_bytes()).expect_err(line);
            assert!(refusal.contains(why), "{line}: {refusal}");
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(deep.as_bytes()).is_err());
        let many: Vec<String> = (0..=MAX_SCENARIOS)
            .map(|i| format!(r#"{{"scenario":"s{i}","passed":true}}"#))
            .collect();
        let line = format!(
            r#"{{"name":"ann","exercise":1,"builds":true,"rows":[{}]}}"#,
            many.join(",")
        );
        assert!(parse(line.as_bytes()).unwrap_err().contains("more than"));
        assert!(parse(b"\xff\xfe").is_err());
    }
}
