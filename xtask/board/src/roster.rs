//! The class, as the board knows it: one row per student, that is per name
//! *and* address the reports come from. A report can only ever change a
//! row of the address it comes from, so no prankster can touch a
//! classmate's row; a name reported from a second address gets a second
//! row, marked, never merged into the first (and so does a name that only
//! looks like it: `аlice` with a Cyrillic `а`, by Unicode's confusable
//! skeletons).
//!
//! Bounded: at most [`MAX_ROWS`] rows, and `per_address` names from one
//! address; each row holds one cell per exercise.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use unicode_security::skeleton;

use crate::report::{Report, Result};

/// The most rows the board keeps (a class of sixty, five times over).
pub const MAX_ROWS: usize = 300;

/// One exercise of one student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub result: Result,
    /// When it was reported.
    pub at: Instant,
    /// Since when it has been failing without a pass between (for a pass:
    /// when it passed).
    pub since: Instant,
}

impl Cell {
    pub fn failing(&self) -> bool {
        !matches!(self.result, Result::Passed)
    }
}

/// How a row's name relates to an earlier row's from another address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Twin {
    /// The same name (ignoring case).
    SameName { row: usize },
    /// A name that looks the same and is not.
    LooksLike { row: usize },
}

#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub address: IpAddr,
    pub cells: BTreeMap<u8, Cell>,
    /// The last report, and its wall-clock time as shown (`HH:MM:SS`, UTC).
    pub last: Instant,
    pub last_clock: String,
    pub twin: Option<Twin>,
}

impl Row {
    /// The exercise this student has been failing for longer than `after`
    /// (the longest-failing one), with for how long.
    pub fn stuck(&self, now: Instant, after: Duration) -> Option<(u8, Duration)> {
        self.cells
            .iter()
            .filter(|(_, cell)| cell.failing())
            .map(|(n, cell)| (*n, now.duration_since(cell.since)))
            .filter(|(_, failing)| *failing >= after)
            .max_by_key(|(_, failing)| *failing)
    }
}

#[derive(Debug)]
pub struct Roster {
    rows: Vec<Row>,
    per_address: usize,
}

impl Roster {
    pub fn new(per_address: usize) -> Roster {
        Roster {
            rows: Vec::new(),
            per_address,
        }
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Records `report`, from `address`, at `now` (`clock`: the same time as
    /// shown). `Ok`: its row (from 1) and what the board answers; `Err`: why
    /// it refuses.
    pub fn record(
        &mut self,
        address: IpAddr,
        report: Report,
        now: Instant,
        clock: &str,
    ) -> std::result::Result<(usize, String), String> {
        let index = match self
            .rows
            .iter()
            .position(|row| row.address == address && row.name == report.name)
        {
            Some(index) => index,
            None => self.add_row(address, &report.name, now)?,
        };
        let row = &mut self.rows[index];
        let since = match row.cells.get(&report.exercise) {
            Some(cell) if cell.failing() && report.result != Result::Passed => cell.since,
            _ => now,
        };
        let said = match &report.result {
            Result::Passed => "passed".to_string(),
            Result::Failing { passed, total, .. } => format!("failing ({passed}/{total})"),
            Result::DoesNotBuild => "does not build".to_string(),
        };
        row.cells.insert(
            report.exercise,
            Cell {
                result: report.result,
                at: now,
                since,
            },
        );
        row.last = now;
        row.last_clock = clock.to_string();
        let said = format!(
            "exercise{} {said} recorded for {} (row {})",
            report.exercise,
            row.name,
            index + 1
        );
        Ok((index + 1, said))
    }

    fn add_row(
        &mut self,
        address: IpAddr,
        name: &str,
        now: Instant,
    ) -> std::result::Result<usize, String> {
        let from_here: Vec<&str> = self
            .rows
            .iter()
            .filter(|row| row.address == address)
            .map(|row| row.name.as_str())
            .collect();
        if from_here.len() >= self.per_address {
            let names = if self.per_address == 1 {
                "name"
            } else {
                "names"
            };
            return Err(format!(
                "{address} already reports as {}; the board takes {} {names} per address",
                from_here.join(", "),
                self.per_address
            ));
        }
        if self.rows.len() >= MAX_ROWS {
            return Err(format!("the board is full ({MAX_ROWS} rows)"));
        }
        let twin = self.twin_of(name, address);
        self.rows.push(Row {
            name: name.to_string(),
            address,
            cells: BTreeMap::new(),
            last: now,
            last_clock: String::new(),
            twin,
        });
        Ok(self.rows.len() - 1)
    }

    /// The first earlier row, from another address, whose name is this one
    /// or looks like it.
    fn twin_of(&self, name: &str, address: IpAddr) -> Option<Twin> {
        let lower = name.to_lowercase();
        let shape: String = skeleton(&lower).collect();
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, row)| row.address != address)
            .find_map(|(i, row)| {
                let theirs = row.name.to_lowercase();
                if theirs == lower {
                    Some(Twin::SameName { row: i + 1 })
                } else if skeleton(&theirs).collect::<String>() == shape {
                    Some(Twin::LooksLike { row: i + 1 })
                } else {
                    None
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, exercise: u8, result: Result) -> Report {
        Report {
            name: name.into(),
            exercise,
            result,
        }
    }

    fn failing(diagnosis: &str) -> Result {
        Result::Failing {
            passed: 1,
            total: 6,
            diagnosis: Some(diagnosis.into()),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_report_updates_its_own_row() {
        let t0 = Instant::now();
        let mut roster = Roster::new(4);
        let ok = roster
            .record(
                ip("10.0.0.5"),
                report("alice", 1, failing("crashed")),
                t0,
                "12:00:00",
            )
            .unwrap();
        assert_eq!(
            ok,
            (
                1,
                "exercise1 failing (1/6) recorded for alice (row 1)".into()
            )
        );
        roster
            .record(
                ip("10.0.0.5"),
                report("alice", 1, Result::Passed),
                t0,
                "12:00:05",
            )
            .unwrap();
        roster
            .record(
                ip("10.0.0.6"),
                report("bob", 2, Result::DoesNotBuild),
                t0,
                "12:00:06",
            )
            .unwrap();
        let rows = roster.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].cells[&1].result, Result::Passed);
        assert_eq!(rows[0].last_clock, "12:00:05");
        assert_eq!(rows[1].cells[&2].result, Result::DoesNotBuild);
    }

    #[test]
    fn a_name_from_a_second_address_is_a_second_row_marked() {
        let t0 = Instant::now();
        let mut roster = Roster::new(4);
        roster
            .record(
                ip("10.0.0.5"),
                report("alice", 1, Result::Passed),
                t0,
                "12:00:00",
            )
            .unwrap();
        roster
            .record(
                ip("10.0.0.66"),
                report("Alice", 1, failing("crashed")),
                t0,
                "12:00:01",
            )
            .unwrap();
        roster
            .record(
                ip("10.0.0.67"),
                report("\u{430}lice", 1, failing("crashed")),
                t0,
                "12:00:02",
            )
            .unwrap();
        let rows = roster.rows();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].cells[&1].result, Result::Passed, "never merged");
        assert_eq!(rows[0].twin, None);
        assert_eq!(rows[1].twin, Some(Twin::SameName { row: 1 }));
        assert_eq!(rows[2].twin, Some(Twin::LooksLike { row: 1 }));
    }

    #[test]
    fn one_address_reports_for_a_few_names_only() {
        let t0 = Instant::now();
        let mut roster = Roster::new(2);
        let from = ip("10.0.0.9");
        roster
            .record(from, report("a", 1, Result::Passed), t0, "")
            .unwrap();
        roster
            .record(from, report("b", 1, Result::Passed), t0, "")
            .unwrap();
        let refused = roster
            .record(from, report("c", 1, Result::Passed), t0, "")
            .unwrap_err();
        assert_eq!(
            refused,
            "10.0.0.9 already reports as a, b; the board takes 2 names per address"
        );
        // Its own names still report.
        roster
            .record(from, report("a", 2, Result::Passed), t0, "")
            .unwrap();
        roster
            .record(ip("10.0.0.10"), report("c", 1, Result::Passed), t0, "")
            .unwrap();
    }

    #[test]
    fn the_board_has_room_for_max_rows() {
        let t0 = Instant::now();
        let mut roster = Roster::new(1);
        for i in 0..MAX_ROWS {
            let from = IpAddr::from([10, 1, (i / 256) as u8, (i % 256) as u8]);
            roster
                .record(from, report(&format!("s{i}"), 1, Result::Passed), t0, "")
                .unwrap();
        }
        let refused = roster
            .record(ip("10.9.9.9"), report("late", 1, Result::Passed), t0, "")
            .unwrap_err();
        assert!(refused.contains("full"), "{refused}");
        assert_eq!(roster.rows().len(), MAX_ROWS);
    }

    #[test]
    fn stuck_is_failing_the_same_exercise_for_long() {
        let t0 = Instant::now();
        let minutes = |m: u64| Duration::from_secs(m * 60);
        let mut roster = Roster::new(4);
        let from = ip("10.0.0.5");
        roster
            .record(from, report("ann", 3, failing("crashed")), t0, "")
            .unwrap();
        roster
            .record(
                from,
                report("ann", 3, failing("missing-newline")),
                t0 + minutes(8),
                "",
            )
            .unwrap();
        let row = &roster.rows()[0];
        assert_eq!(row.stuck(t0 + minutes(9), minutes(10)), None);
        assert_eq!(
            row.stuck(t0 + minutes(11), minutes(10)),
            Some((3, minutes(11)))
        );
        roster
            .record(from, report("ann", 3, Result::Passed), t0 + minutes(12), "")
            .unwrap();
        assert_eq!(roster.rows()[0].stuck(t0 + minutes(30), minutes(10)), None);
    }
}
