//! How the board shows the class: a table on the terminal, the same table
//! as CSV for a gradebook, and one line per report when the output is not
//! a terminal. One function writes each cell, so the three agree.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use xtask::course::EXERCISES;
use xtask::term::{Colour, paint};

use crate::report::Result;
use crate::roster::{Cell, Row, Twin};

/// What a cell says: `passed`; for a failing exercise, the scenarios passed
/// out of all and the first failing scenario's diagnosis, `3/6
/// missing-newline` (red on the terminal: the diagnosis is what the
/// instructor needs, and it must fit); `does not build`; or nothing (not
/// tried).
pub fn cell_text(cell: Option<&Cell>) -> String {
    match cell.map(|cell| &cell.result) {
        None => String::new(),
        Some(Result::Passed) => "passed".into(),
        Some(Result::Failing {
            passed,
            total,
            diagnosis,
        }) => match diagnosis {
            Some(id) => format!("{passed}/{total} {id}"),
            None => format!("{passed}/{total}"),
        },
        Some(Result::DoesNotBuild) => "does not build".into(),
    }
}

/// The note on a row: a name shared with (or looking like) an earlier
/// row's from another address (the address column shows which), and how
/// long the student has been stuck. Short: it must fit beside the table.
pub fn note(row: &Row, now: Instant, stuck_after: Duration) -> String {
    let mut parts = Vec::new();
    match row.twin {
        Some(Twin::SameName { row }) => parts.push(format!("same name as row {row}")),
        Some(Twin::LooksLike { row }) => parts.push(format!("looks like row {row}'s name")),
        None => {}
    }
    if let Some((exercise, failing)) = row.stuck(now, stuck_after) {
        parts.push(format!(
            "stuck {} min on exercise{exercise}",
            failing.as_secs() / 60
        ));
    }
    parts.join("; ")
}

/// The columns, as the CSV names them.
fn headers() -> Vec<String> {
    let mut headers = vec!["row".to_string(), "name".into(), "address".into()];
    headers.extend(EXERCISES.map(|n| format!("exercise{n}")));
    headers.extend(["last report (UTC)".to_string(), "note".into()]);
    headers
}

/// One row's fields, in the columns' order.
fn fields(number: usize, row: &Row, now: Instant, stuck_after: Duration) -> Vec<String> {
    let mut fields = vec![number.to_string(), row.name.clone(), address(row.address)];
    fields.extend(EXERCISES.map(|n| cell_text(row.cells.get(&n))));
    fields.push(row.last_clock.clone());
    fields.push(note(row, now, stuck_after));
    fields
}

fn address(ip: IpAddr) -> String {
    ip.to_string()
}

/// The table as CSV (RFC 4180), header first.
pub fn csv(rows: &[Row], now: Instant, stuck_after: Duration) -> String {
    let mut out = String::new();
    let mut line = |fields: &[String]| {
        let cells: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    line(&headers());
    for (i, row) in rows.iter().enumerate() {
        line(&fields(i + 1, row, now, stuck_after));
    }
    out
}

/// A CSV field: quoted when it must be, and never a formula a spreadsheet
/// would run (a name starting with `=`, `+`, `-` or `@` gets a `'` first).
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// One line for a report, when the output is not a terminal.
pub fn log_line(
    number: usize,
    row: &Row,
    exercise: u8,
    now: Instant,
    stuck_after: Duration,
) -> String {
    let mut line = format!(
        "{} row {number} {} {} exercise{exercise} {}",
        row.last_clock,
        row.name,
        address(row.address),
        cell_text(row.cells.get(&exercise))
    );
    let note = note(row, now, stuck_after);
    if !note.is_empty() {
        let _ = write!(line, " ({note})");
    }
    line
}

/// The table for a terminal `width` columns wide: the exercise columns
/// share what the others leave, and a cell too long is cut with `…` (the
/// CSV has it whole). The stuck stand out in reverse video.
pub fn table(
    rows: &[Row],
    now: Instant,
    stuck_after: Duration,
    width: usize,
    colour: bool,
) -> Vec<String> {
    let mut headers = headers();
    for (i, n) in EXERCISES.enumerate() {
        headers[3 + i] = format!("ex{n}");
    }
    let headers_len = headers.len();
    headers[headers_len - 2] = "last (UTC)".into();
    let body: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| fields(i + 1, row, now, stuck_after))
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for fields in &body {
        for (w, field) in widths.iter_mut().zip(fields) {
            *w = (*w).max(field.chars().count());
        }
    }
    fit(&mut widths, width);
    let mut lines = vec![join(&headers, &widths, |_, text| {
        paint(text, Colour::Bold, colour)
    })];
    for (fields, row) in body.iter().zip(rows) {
        let stuck = row.stuck(now, stuck_after).is_some();
        lines.push(join(fields, &widths, |column, text| {
            let exercise = column
                .checked_sub(3)
                .and_then(|i| EXERCISES.collect::<Vec<u8>>().get(i).copied());
            let painted = match exercise.and_then(|n| row.cells.get(&n)) {
                Some(cell) if cell.failing() => paint(text, Colour::Red, colour),
                Some(_) => paint(text, Colour::Green, colour),
                None if exercise.is_some() => paint(text, Colour::Dim, colour),
                None if column == widths.len() - 1 && row.twin.is_some() => {
                    paint(text, Colour::Yellow, colour)
                }
                None => text.to_string(),
            };
            if stuck && (column == 1 || column == widths.len() - 1) && colour {
                format!("\x1b[7m{painted}\x1b[27m")
            } else {
                painted
            }
        }));
    }
    if rows.is_empty() {
        lines.push(paint("(no reports yet)", Colour::Dim, colour));
    }
    lines
}

/// Shrinks the widest columns until the line fits `width` (two spaces
/// between columns), none below a few characters: the exercise columns
/// first (their full text is in the CSV), the others (the name, the note
/// that marks a twin or the stuck) only if that is not enough.
fn fit(widths: &mut [usize], width: usize) {
    const NARROWEST: usize = 6;
    let exercises = 3..3 + EXERCISES.count();
    let total =
        |widths: &[usize]| widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
    for first in [true, false] {
        while total(widths) > width {
            let Some((widest, w)) = widths
                .iter()
                .copied()
                .enumerate()
                .filter(|(i, w)| *w > NARROWEST && (!first || exercises.contains(i)))
                .max_by_key(|(_, w)| *w)
            else {
                break;
            };
            widths[widest] = w - 1;
        }
    }
}

/// A table line: each field cut or padded to its width, then painted.
fn join(
    fields: &[String],
    widths: &[usize],
    paint_field: impl Fn(usize, &str) -> String,
) -> String {
    let mut line = String::new();
    for (column, (field, &width)) in fields.iter().zip(widths).enumerate() {
        if column > 0 {
            line.push_str("  ");
        }
        let shown = if field.chars().count() > width {
            let cut: String = field.chars().take(width.saturating_sub(1)).collect();
            format!("{cut}…")
        } else if field.is_empty() && (3..3 + EXERCISES.count()).contains(&column) {
            "-".to_string()
        } else {
            field.clone()
        };
        let padded = format!("{shown:<width$}");
        line.push_str(&paint_field(column, &padded));
    }
    line.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn row(name: &str, cells: &[(u8, Result)], at: Instant) -> Row {
        Row {
            name: name.into(),
            address: IpAddr::from([10, 0, 0, 5]),
            cells: cells
                .iter()
                .map(|(n, result)| {
                    (
                        *n,
                        Cell {
                            result: result.clone(),
                            at,
                            since: at,
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
            last: at,
            last_clock: "12:04:31".into(),
            twin: None,
        }
    }

    fn failing() -> Result {
        Result::Failing {
            passed: 3,
            total: 6,
            diagnosis: Some("missing-newline".into()),
        }
    }

    #[test]
    fn cells_say_passed_failing_with_the_diagnosis_or_nothing() {
        let t0 = Instant::now();
        let alice = row(
            "alice",
            &[
                (1, Result::Passed),
                (2, failing()),
                (3, Result::DoesNotBuild),
            ],
            t0,
        );
        assert_eq!(cell_text(alice.cells.get(&1)), "passed");
        assert_eq!(cell_text(alice.cells.get(&2)), "3/6 missing-newline");
        assert_eq!(cell_text(alice.cells.get(&3)), "does not build");
        assert_eq!(cell_text(alice.cells.get(&4)), "");
    }

    #[test]
    fn the_csv_is_the_table() {
        let t0 = Instant::now();
        let mut twin = row("=HYPERLINK(\"x\")", &[(2, failing())], t0);
        twin.twin = Some(Twin::SameName { row: 1 });
        let rows = [row("alice", &[(1, Result::Passed)], t0), twin];
        let csv = csv(&rows, t0, Duration::from_secs(600));
        let lines: Vec<&str> = csv.split("\r\n").collect();
        let blanks = ",".repeat(EXERCISES.count() - 1);
        assert!(
            lines[0].starts_with("row,name,address,exercise1,exercise2,"),
            "{csv}"
        );
        assert!(lines[0].ends_with(",last report (UTC),note"), "{csv}");
        assert_eq!(
            lines[1],
            format!("1,alice,10.0.0.5,passed{blanks},12:04:31,")
        );
        assert!(
            lines[2].starts_with("2,\"'=HYPERLINK(\"\"x\"\")\",10.0.0.5,,3/6 missing-newline,"),
            "{csv}"
        );
        assert!(lines[2].ends_with(",12:04:31,same name as row 1"), "{csv}");
        let table = table(&rows, t0, Duration::from_secs(600), 500, false);
        let words: Vec<&str> = table[1].split_whitespace().collect();
        assert_eq!(
            words[..4],
            ["1", "alice", "10.0.0.5", "passed"],
            "{table:?}"
        );
        assert!(table[2].contains("3/6 missing-newline"), "{table:?}");
    }

    #[test]
    fn the_note_is_cut_last() {
        let t0 = Instant::now();
        let mut twin = row(
            "alice",
            &[(1, failing()), (2, failing()), (3, failing())],
            t0,
        );
        twin.twin = Some(Twin::SameName { row: 1 });
        // 142 columns uncut: 120 is narrow enough to cut the three failing
        // cells and wide enough to keep the note whole.
        let table = table(&[twin], t0, Duration::from_secs(600), 120, false);
        assert!(table[1].contains('…'), "{table:#?}");
        assert!(table[1].ends_with("same name as row 1"), "{table:#?}");
        assert!(
            table.iter().all(|line| line.chars().count() <= 120),
            "{table:#?}"
        );
    }

    #[test]
    fn a_narrow_terminal_cuts_cells_not_rows() {
        let t0 = Instant::now();
        let rows = [row("alice", &[(1, failing()), (2, failing())], t0)];
        let table = table(&rows, t0, Duration::from_secs(600), 80, false);
        assert!(
            table.iter().all(|line| line.chars().count() <= 80),
            "{table:#?}"
        );
        assert!(table[1].contains('…'), "{table:#?}");
        assert!(table[1].contains("alice"), "{table:#?}");
    }

    #[test]
    fn the_stuck_are_noted() {
        let t0 = Instant::now();
        let rows = [row("ann", &[(3, failing())], t0)];
        let later = t0 + Duration::from_secs(14 * 60);
        assert_eq!(
            note(&rows[0], later, Duration::from_secs(600)),
            "stuck 14 min on exercise3"
        );
        let table = table(&rows, later, Duration::from_secs(600), 200, true);
        assert!(table[1].contains("\x1b[7m"), "reverse video: {table:?}");
        assert_eq!(
            log_line(1, &rows[0], 3, later, Duration::from_secs(600)),
            "12:04:31 row 1 ann 10.0.0.5 exercise3 3/6 missing-newline (stuck 14 min on exercise3)"
        );
    }
}
