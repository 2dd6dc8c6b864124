//! The targets issue 14 sets for step 8, the one-thread server, judged
//! against step 6 in the same run: as fast with few clients, quicker to
//! deliver at a classroom's pace, ten thousand idle clients in little memory
//! on a few threads, and no healthy reader ever dropped.
//!
//! (Its other target, twice the deliveries of tokio's own chat example, is
//! measured beside step 8 with `--addr`; see BENCHMARKS.md.)

use super::report::Row;
use super::scenarios::{Overrides, Scenario, Verdict, load_for, mib, same_load};

/// The step judged, and the one it is judged against.
const ASYNC: &str = "step8";
const THREADED: &str = "step6";

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

/// Healthy readers the server closed in `row`: every client it no longer
/// held, but for the stalled ones it rightly dropped.
fn healthy_dropped(row: &Row) -> usize {
    let o = &row.outcome;
    // In a flood, the flooder is disconnected on purpose: only its
    // listeners are readers.
    if let Some(flood) = o.flood {
        return flood.readers_dropped;
    }
    o.joined.saturating_sub(o.held + o.stalled_dropped)
}

/// Issue 14's verdicts for the rows of this run (none when it has no step 8).
pub fn verdicts(rows: &[Row]) -> Vec<Verdict> {
    let mut out = Vec::new();
    if !rows.iter().any(|r| r.target == ASYNC) {
        return out;
    }
    let pair = |scenario, clients| {
        Some((
            find(rows, ASYNC, scenario, clients)?,
            find(rows, THREADED, scenario, clients)?,
        ))
    };
    if let Some((fast, threaded)) = pair(Scenario::Fanout, 30) {
        let ratio = fast.ratio_to(threaded);
        out.push(Verdict {
            target: format!("fan-out at 30 clients: >= {THREADED}'s deliveries/s"),
            step: ASYNC.into(),
            measured: ratio.map_or("no figure".into(), |r| format!("{r:.2}x {THREADED}")),
            pass: fast.outcome.accounted_for()
                && threaded.outcome.accounted_for()
                && ratio.is_some_and(|r| r >= 1.0),
        });
    }
    if let Some((fast, threaded)) = pair(Scenario::Latency, 20) {
        let p99 = |row: &Row| row.outcome.latency.quantile(0.99);
        let (mine, theirs) = (p99(fast), p99(threaded));
        out.push(Verdict {
            target: format!("20 clients x 100 texts/s: p99 latency below {THREADED}'s"),
            step: ASYNC.into(),
            measured: match (mine, theirs) {
                (Some(a), Some(b)) => format!("p99 {a:.2?} against {b:.2?}"),
                _ => "no deliveries".into(),
            },
            pass: fast.outcome.accounted_for()
                && matches!((mine, theirs), (Some(a), Some(b)) if a < b),
        });
    }
    if let Some(crowd) = find(rows, ASYNC, Scenario::Crowd, CROWD) {
        let (peak, threads) = (crowd.peak_rss_kib(), crowd.max_threads());
        out.push(Verdict {
            target: "10,000 idle named clients held: RSS < 100 MiB, < 10 threads".into(),
            step: ASYNC.into(),
            measured: format!(
                "{} held, peak RSS {}, {} threads",
                crowd.outcome.held,
                peak.map_or("not measured".into(), |p| format!("{:.1} MiB", mib(p))),
                threads.map_or("not measured".into(), |t| t.to_string()),
            ),
            pass: crowd.outcome.accounted_for()
                && crowd.outcome.held == CROWD
                && peak.is_some_and(|p| p < CROWD_RSS_KIB)
                && threads.is_some_and(|t| t < CROWD_THREADS),
        });
    }
    for step in [ASYNC, THREADED] {
        let runs: Vec<&Row> = rows.iter().filter(|r| r.target == step).collect();
        if runs.is_empty() {
            continue;
        }
        let dropped: Vec<String> = runs
            .iter()
            .filter(|r| healthy_dropped(r) > 0)
            .map(|r| format!("{} in {}", healthy_dropped(r), r.label()))
            .collect();
        out.push(Verdict {
            target: "every run, flood control on: no healthy reader dropped".into(),
            step: step.into(),
            measured: if dropped.is_empty() {
                format!("none dropped in {} runs", runs.len())
            } else {
                format!("dropped: {}", dropped.join(", "))
            },
            pass: dropped.is_empty(),
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
    fn step8_is_judged_against_step6() {
        let rows = [
            row("step6", Scenario::Fanout, 30, 100.0, TEST_P99),
            row("step8", Scenario::Fanout, 30, 150.0, TEST_P99),
            row("step6", Scenario::Latency, 20, 10.0, TEST_P99 * 2),
            row("step8", Scenario::Latency, 20, 10.0, TEST_P99),
        ];
        let verdicts = verdicts(&rows);
        let fanout = &verdicts[0];
        assert!(fanout.pass, "{fanout:?}");
        assert_eq!(fanout.measured, "1.50x step6");
        assert!(verdicts[1].pass, "{:?}", verdicts[1]);
        // No crowd run: no crowd verdict; both steps dropped nobody.
        assert_eq!(verdicts.len(), 4, "{verdicts:#?}");
        assert!(verdicts[2..].iter().all(|v| v.pass));
    }

    #[test]
    fn a_flooder_disconnected_on_purpose_is_no_dropped_reader() {
        let mut flood = row("step8", Scenario::Flood, 31, 242.0, TEST_P99);
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
        assert!(dropped.pass, "{dropped:?}");
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
        assert!(!dropped.pass, "a listener dropped: {dropped:?}");
    }

    #[test]
    fn a_dropped_reader_or_a_slower_step8_fails() {
        let mut dropped = row("step8", Scenario::Fanout, 30, 50.0, TEST_P99);
        dropped.outcome.held = 29;
        let rows = [row("step6", Scenario::Fanout, 30, 100.0, TEST_P99), dropped];
        let verdicts = verdicts(&rows);
        assert!(!verdicts[0].pass, "half as fast: {:?}", verdicts[0]);
        let step8 = verdicts
            .iter()
            .find(|v| v.step == "step8" && v.target.contains("dropped"));
        let step8 = step8.unwrap();
        assert!(!step8.pass);
        assert_eq!(step8.measured, "dropped: 1 in fanout/step8/30");
    }

    #[test]
    fn a_run_without_step8_has_no_verdicts() {
        let rows = [row("step6", Scenario::Fanout, 30, 100.0, TEST_P99)];
        assert!(verdicts(&rows).is_empty());
    }
}
