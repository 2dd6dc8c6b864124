//! Smoke runs of every `cargo xtask bench` scenario: a few clients and texts,
//! dev-profile servers on 127.0.0.1 port 0. They prove that each scenario
//! runs to the end with every delivery accounted for (exactly once, in
//! order); they never look at a timing, which belongs to the bench itself.

use std::path::PathBuf;

use clap::Parser;
use xtask::bench::{self, Args, End, Report};
use xtask::course;

/// Whether every one of these steps is here; a handout that stops before
/// one of them skips the run, with a note.
fn steps_here(steps: &[u8]) -> bool {
    let missing = course::missing_steps(steps);
    if !missing.is_empty() {
        println!("note: no step {missing:?} here: skipped");
    }
    missing.is_empty()
}

/// Runs `cargo xtask bench` with these arguments (plus `--dev`).
fn bench(args: &[&str]) -> Report {
    let mut argv = vec!["bench", "--dev"];
    argv.extend_from_slice(args);
    let args = Args::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    bench::execute(&args).unwrap_or_else(|e| panic!("{argv:?} failed: {e:#}"))
}

/// Every case finished, and every text reached every reader once, in order.
fn assert_all_accounted_for(report: &Report, cases: usize) {
    assert_eq!(report.rows.len(), cases, "{:#?}", report.rows);
    for row in &report.rows {
        let o = &row.outcome;
        assert_eq!(o.end, End::Finished, "{} did not finish", row.label());
        assert!(o.expected > 0, "{} expected nothing", row.label());
        assert_eq!(
            o.delivered,
            o.expected,
            "{}: deliveries missing; violations: {:?}",
            row.label(),
            o.violation_samples
        );
        assert_eq!(
            o.violations,
            0,
            "{}: {:?}",
            row.label(),
            o.violation_samples
        );
        assert_eq!(o.latency.count(), o.delivered, "{}", row.label());
    }
}

/// A scratch directory for the files a run writes, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn echo_blocking_against_threaded() {
    if !steps_here(&[1, 2]) {
        return;
    }
    let report = bench(&["echo", "--clients", "3", "--messages", "5"]);
    assert_all_accounted_for(&report, 2);
    assert_eq!(report.baseline, "step1");
    assert_eq!(report.rows[1].target, "step2");
    assert_eq!(report.rows[0].outcome.expected, 15);
}

#[test]
fn fanout_writes_the_table_csv_and_chart() {
    if !steps_here(&[4, 6]) {
        return;
    }
    let scratch = Scratch::new("fanout");
    let (csv, chart) = (scratch.file("fanout.csv"), scratch.file("fanout.svg"));
    let report = bench(&[
        "fanout",
        "--compare",
        "step4,step6",
        "--clients",
        "2,5",
        "--messages",
        "10",
        "--csv",
        &csv,
        "--chart",
        &chart,
    ]);
    assert_all_accounted_for(&report, 4);
    // 5 clients, all 5 send 10 texts, each reaching the 4 others.
    let five = report.rows.iter().find(|r| r.load.clients == 5).unwrap();
    assert_eq!(five.outcome.expected, 5 * 10 * 4);
    assert!(report.rows.iter().all(|r| r.outcome.held == r.load.clients));
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("fanout,step4,2,"));
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("step4") && svg.contains("step6"));
}

#[test]
fn latency_at_a_fixed_rate() {
    if !steps_here(&[4, 6]) {
        return;
    }
    let report = bench(&[
        "latency",
        "--compare",
        "step4,step6",
        "--clients",
        "3",
        "--messages",
        "5",
        "--rate",
        "200",
    ]);
    assert_all_accounted_for(&report, 2);
    assert_eq!(report.rows[0].load.rate, Some(200.0));
}

#[test]
fn stalled_client_among_readers() {
    if !steps_here(&[4, 6]) {
        return;
    }
    let report = bench(&[
        "stalled",
        "--compare",
        "step4,step6",
        "--clients",
        "4",
        "--messages",
        "20",
        "--no-chart",
    ]);
    assert_all_accounted_for(&report, 2);
    for row in &report.rows {
        assert_eq!(row.load.stalled, 1);
        // 3 healthy clients send 20 texts each to the 2 other healthy ones.
        assert_eq!(row.outcome.expected, 3 * 20 * 2);
    }
}

#[test]
fn idle_clients_are_held() {
    if !steps_here(&[4, 6]) {
        return;
    }
    let report = bench(&["idle", "--compare", "step4,step6", "--clients", "6"]);
    assert_all_accounted_for(&report, 2);
    for row in &report.rows {
        assert_eq!(row.outcome.held, 6, "{}", row.label());
        assert_eq!(row.outcome.expected, 5, "one text reaches the 5 others");
    }
}

/// The flood keeps the servers' flood control: step 8 slows prank down
/// and disconnects him, and no listener is dropped. Step 6 has no flood
/// control (no `--flood-rate` to pass it: it starts, and prank stays).
#[test]
fn a_flood_drops_no_listener_of_a_step_with_flood_control() {
    if !steps_here(&[6, 8]) {
        return;
    }
    let report = bench(&[
        "flood",
        "--compare",
        "step6,step8",
        "--clients",
        "6",
        "--messages",
        "10",
    ]);
    assert_eq!(report.rows.len(), 2);
    let (step6, step8) = (&report.rows[0], &report.rows[1]);
    assert_eq!(
        (step6.target.as_str(), step8.target.as_str()),
        ("step6", "step8")
    );
    let flood = |row: &bench::Row| row.outcome.flood.expect("flood figures");
    assert!(!flood(step6).flooder_left, "step 6 has no flood control");
    let o = &step8.outcome;
    assert_eq!(flood(step8).readers_dropped, 0, "{o:#?}");
    assert!(
        flood(step8).flooder_left,
        "prank was not disconnected: {o:#?}"
    );
    assert!(flood(step8).flood_relayed < 200, "{o:#?}");
    assert!(o.accounted_for(), "{o:#?}");
    assert!(report.verdicts.is_empty(), "a smoke run has no verdicts");
}

/// The starvation scenario, flood control off where there is one: the live
/// reader gets every line on step 6 (threads) and step 9 (one thread, where
/// a reader task that never yields would starve the writers). 2,000 lines
/// of 1,000 bytes, twice a queue's 1,024: a room that never runs the live
/// reader's writer drops him, but 2 MB fit in his socket's buffers, so how
/// fast the test's reader reads, on a machine busy with other builds, does
/// not matter. (With the bench's 20 MB it does: a reader slower than the
/// flood falls a queue behind, which is what flood control is for.)
#[test]
fn starvation_feeds_the_live_reader_on_steps_6_and_9() {
    if !steps_here(&[6, 9]) {
        return;
    }
    let report = bench(&[
        "starvation",
        "--compare",
        "step6,step9",
        "--messages",
        "2000",
    ]);
    assert_all_accounted_for(&report, 2);
    for row in &report.rows {
        let load = &row.load;
        assert_eq!(
            (load.senders, load.stalled, load.window),
            (1, 1, 0),
            "one flooder that never waits, one reader who never reads"
        );
        assert_eq!(row.outcome.expected, 2000, "{}", row.label());
        assert_eq!(row.healthy_dropped(), 0, "{}", row.label());
    }
}

#[test]
fn scenarios_refuse_servers_of_the_wrong_kind() {
    if !steps_here(&[4]) {
        return;
    }
    let args = Args::try_parse_from(["bench", "fanout", "--compare", "step1", "--dev"]).unwrap();
    let err = bench::execute(&args).unwrap_err().to_string();
    assert!(err.contains("echo server"), "{err}");
    let args = Args::try_parse_from(["bench", "echo", "--compare", "step4", "--dev"]).unwrap();
    let err = bench::execute(&args).unwrap_err().to_string();
    assert!(err.contains("chat server"), "{err}");
}

#[test]
fn length_prefixed_frames_on_step7() {
    if !steps_here(&[7]) {
        return;
    }
    let report = bench(&[
        "fanout",
        "--compare",
        "step7",
        "--clients",
        "4",
        "--messages",
        "10",
        "--no-chart",
    ]);
    assert_all_accounted_for(&report, 1);
    assert_eq!(report.rows[0].outcome.expected, 4 * 10 * 3);
    let report = bench(&[
        "stalled",
        "--compare",
        "step7",
        "--clients",
        "4",
        "--messages",
        "20",
    ]);
    assert_all_accounted_for(&report, 1);
}

/// Steps 6, 8 and 9 side by side, with more texts per sender than the
/// default flood control lets through (50 at once, then 10 a second, and a
/// sender still slowed after 5 s is disconnected): the fan-out case starts
/// steps 8 and 9 with raised limits, and every sender stays; step 6, which
/// has no flood control, gets no such option (it would refuse to start).
#[test]
fn bonus_steps_beside_step6_with_flood_control_raised_for_full_speed() {
    if !steps_here(&[6, 8, 9]) {
        return;
    }
    let report = bench(&[
        "fanout",
        "--compare",
        "step6,step8,step9",
        "--clients",
        "3",
        "--messages",
        "400",
        "--no-chart",
    ]);
    assert_all_accounted_for(&report, 3);
    let targets: Vec<&str> = report.rows.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["step6", "step8", "step9"]);
    for row in &report.rows {
        assert_eq!(row.outcome.held, 3, "{}", row.label());
    }
    let issue14: Vec<_> = report
        .verdicts
        .iter()
        .filter(|v| v.target.contains("no healthy reader dropped"))
        .collect();
    let judged: Vec<&str> = issue14.iter().map(|v| v.step.as_str()).collect();
    assert_eq!(judged, ["step9", "step8"], "{:#?}", report.verdicts);
    assert!(issue14.iter().all(|v| v.passed()), "{issue14:#?}");
}

/// The crowd scenario, at a size a test can afford; more than 1,024 clients
/// would pass `--max-clients` too.
#[test]
fn a_crowd_of_idle_clients_on_step9() {
    if !steps_here(&[9]) {
        return;
    }
    let report = bench(&["crowd", "--clients", "250"]);
    assert_all_accounted_for(&report, 1);
    let row = &report.rows[0];
    assert_eq!(row.target, "step9");
    assert_eq!(row.outcome.held, 250);
    if let Some(threads) = row.max_threads() {
        assert!(threads < 10, "{threads} threads for 250 clients");
    }
}

#[test]
fn another_servers_wording_needs_addr() {
    let parsed = Args::try_parse_from([
        "bench",
        "fanout",
        "--join-pattern",
        "{name} has joined the chat",
    ]);
    assert!(parsed.is_err(), "--join-pattern without --addr");
}
