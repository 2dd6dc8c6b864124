//! The targets issue 14 sets for the one-thread server (bonus step 9),
//! judged against the threaded server with the same room (bonus step 8) in
//! the same run: as fast with few clients, quicker to deliver at a
//! classroom's pace, ten thousand idle clients in little memory on a few
//! threads, and no healthy reader ever dropped.
//!
//! (Its other target, twice the deliveries of tokio's own chat example, is
//! measured beside it with `--addr`; see BENCHMARKS.md.)

use super::report::Row;
use super::scenarios::{
    Mark, ONE_THREAD, Overrides, Scenario, THREADED, Verdict, load_for, mib, same_load,
};
use super::server::short_name;

/// Issue 14's bounds.
const CROWD: usize = 10_000;
const CROWD_RSS_KIB: u64 = 100 * 1024;
const CROWD_THREADS: u64 = 10;

/// The row of `target` for `scenario` at `clients`, run with the scenario's
/// own load (overridden runs are not judged).
fn find<'a>(rows: &'a [Row], target: &str, scenario: Scenario, clients: usize) -> Option<&'a Row> {
    let default = load_for(scenario, clients, &Overrides::default());
    rows.iter().find(|r| {
        r.target == target
            && r.scenario == scenario
            && r.load.clients == clients
            && same_load(&r.load, &default)
    })
}

/// Who is judged against whom, in words: `step 9 against step 8`.
pub fn judged() -> String {
    format!("step {ONE_THREAD} against step {THREADED}")
}

fn pass_if(met: bool) -> Mark {
    if met { Mark::Pass } else { Mark::Fail }
}

/// Issue 14's verdicts for the rows of this run (none when it has no
/// one-thread step).
pub fn verdicts(rows: &[Row]) -> Vec<Verdict> {
    let (one_thread, threaded) = (short_name(ONE_THREAD), short_name(THREADED));
    let mut out = Vec::new();
    if !rows.iter().any(|r| r.target == one_thread) {
        return out;
    }
    let pair = |scenario, clients| {
        Some((
            find(rows, &one_thread, scenario, clients)?,
            find(rows, &threaded, scenario, clients)?,
        ))
    };
    if let Some((fast, other)) = pair(Scenario::Fanout, 30) {
        let ratio = fast.ratio_to(other);
        out.push(Verdict {
            target: format!("fan-out at 30 clients: >= {threaded}'s deliveries/s"),
            step: one_thread.clone(),
            measured: ratio.map_or("no figure".into(), |r| format!("{r:.2}x {threaded}")),
            mark: pass_if(
                fast.outcome.accounted_for()
                    && other.outcome.accounted_for()
                    && ratio.is_some_and(|r| r >= 1.0),
            ),
        });
    }
    if let Some((fast, other)) = pair(Scenario::Latency, 20) {
        let p99 = |row: &Row| row.outcome.latency.quantile(0.99);
        let (mine, theirs) = (p99(fast), p99(other));
        out.push(Verdict {
            target: format!("20 clients x 100 texts/s: p99 latency below {threaded}'s"),
            step: one_thread.clone(),
            measured: match (mine, theirs) {
                (Some(a), Some(b)) => format!("p99 {a:.2?} against {b:.2?}"),
                _ => "no deliveries".into(),
            },
            mark: pass_if(
                fast.outcome.accounted_for()
                    && matches!((mine, theirs), (Some(a), Some(b)) if a < b),
            ),
        });
    }
    if let Some(crowd) = find(rows, &one_thread, Scenario::Crowd, CROWD) {
        let (peak, threads) = (crowd.peak_rss_kib(), crowd.max_threads());
        out.push(Verdict {
            target: "10,000 idle named clients held: RSS < 100 MiB, < 10 threads".into(),
            step: one_thread.clone(),
            measured: format!(
                "{} held, peak RSS {}, {} threads",
                crowd.outcome.held,
                peak.map_or("not measured".into(), |p| format!("{:.1} MiB", mib(p))),
                threads.map_or("not measured".into(), |t| t.to_string()),
            ),
            mark: pass_if(
                crowd.outcome.accounted_for()
                    && crowd.outcome.held == CROWD
                    && peak.is_some_and(|p| p < CROWD_RSS_KIB)
                    && threads.is_some_and(|t| t < CROWD_THREADS),
            ),
        });
    }
    for step in [&one_thread, &threaded] {
        let runs: Vec<&Row> = rows.iter().filter(|r| &r.target == step).collect();
        if runs.is_empty() {
            continue;
        }
        let dropped: Vec<String> = runs
            .iter()
            .filter(|r| r.healthy_dropped() > 0)
            .map(|r| format!("{} in {}", r.healthy_dropped(), r.label()))
            .collect();
        out.push(Verdict {
            target: "every run: no healthy reader dropped".into(),
            step: step.clone(),
            measured: if dropped.is_empty() {
                format!("none dropped in {} runs", runs.len())
            } else {
                format!("dropped: {}", dropped.join(", "))
            },
            mark: pass_if(dropped.is_empty()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::latency::Histogram;
    use crate::bench::load::{End, Outcome};
    use std::time::Duration;

    /// A p99 for the tests' rows.
    const TEST_P99: Duration = Duration::from_micros(400);

    fn row(target: &str, scenario: Scenario, clients: usize, rate: f64, p99: Duration) -> Row {
        let load = load_for(scenario, clients, &Overrides::default());
        let mut latency = Histogram::default();
        latency.record(p99);
        let expected = 10;
        Row {
            scenario,
            target: target.into(),
            load,
            outcome: Outcome {
                delivered: expected,
                elapsed: Duration::from_secs_f64(expected as f64 / rate),
                latency,
                ..Outcome::start(expected, clients, clients, End::Finished)
            },
            rates: vec![rate],
        }
    }

    #[test]
    fn step9_is_judged_against_step8() {
        let rows = [
            row("step8", Scenario::Fanout, 30, 100.0, TEST_P99),
            row("step9", Scenario::Fanout, 30, 150.0, TEST_P99),
            row("step8", Scenario::Latency, 20, 10.0, TEST_P99 * 2),
            row("step9", Scenario::Latency, 20, 10.0, TEST_P99),
        ];
        let verdicts = verdicts(&rows);
        let fanout = &verdicts[0];
        assert!(fanout.passed(), "{fanout:?}");
        assert_eq!(fanout.step, "step9");
        assert_eq!(fanout.measured, "1.50x step8");
        assert!(verdicts[1].passed(), "{:?}", verdicts[1]);
        // No crowd run: no crowd verdict; both steps dropped nobody.
        assert_eq!(verdicts.len(), 4, "{verdicts:#?}");
        assert!(verdicts[2..].iter().all(Verdict::passed));
        assert_eq!(judged(), "step 9 against step 8");
    }

    #[test]
    fn a_flooder_disconnected_on_purpose_is_no_dropped_reader() {
        let mut flood = row("step9", Scenario::Flood, 31, 242.0, TEST_P99);
        flood.outcome.held = 30;
        flood.outcome.flood = Some(crate::bench::flood::FloodFigures {
            readers_dropped: 0,
            flood_relayed: 99,
            flooder_left: true,
        });
        let judged = verdicts(&[flood.clone()]);
        let dropped = judged
            .iter()
            .find(|v| v.target.contains("dropped"))
            .unwrap();
        assert!(dropped.passed(), "{dropped:?}");
        flood.outcome.flood = flood
            .outcome
            .flood
            .map(|f| crate::bench::flood::FloodFigures {
                readers_dropped: 1,
                ..f
            });
        let judged = verdicts(&[flood]);
        let dropped = judged
            .iter()
            .find(|v| v.target.contains("dropped"))
            .unwrap();
        assert_eq!(dropped.mark, Mark::Fail, "a listener dropped: {dropped:?}");
    }

    #[test]
    fn a_dropped_reader_or_a_slower_step9_fails() {
        let mut dropped = row("step9", Scenario::Fanout, 30, 50.0, TEST_P99);
        dropped.outcome.held = 29;
        let rows = [row("step8", Scenario::Fanout, 30, 100.0, TEST_P99), dropped];
        let verdicts = verdicts(&rows);
        assert_eq!(
            verdicts[0].mark,
            Mark::Fail,
            "half as fast: {:?}",
            verdicts[0]
        );
        let step9 = verdicts
            .iter()
            .find(|v| v.step == "step9" && v.target.contains("dropped"));
        let step9 = step9.unwrap();
        assert_eq!(step9.mark, Mark::Fail);
        assert_eq!(step9.measured, "dropped: 1 in fanout/step9/30");
    }

    #[test]
    fn a_run_without_step9_has_no_verdicts() {
        let rows = [
            row("step6", Scenario::Fanout, 30, 100.0, TEST_P99),
            row("step8", Scenario::Fanout, 30, 100.0, TEST_P99),
        ];
        assert!(verdicts(&rows).is_empty());
    }
}
