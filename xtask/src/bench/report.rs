//! Reporting: a criterion-style block per case as it finishes, one table
//! for the whole run, and the same figures as CSV.

use std::fmt::Write as _;
use std::time::Duration;

use super::load::{End, Load, Outcome};
use super::scenarios::{Scenario, mib, same_load};

/// One finished case: which server, what load, what came out.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: Scenario,
    /// The step (`step6`) or address the load went to.
    pub target: String,
    pub load: Load,
    /// The run reported: the median by deliveries/s, or the first run that
    /// lost or garbled texts (a failure is never hidden by a median).
    pub outcome: Outcome,
    /// Deliveries/s of every run of the case, lowest first.
    pub rates: Vec<f64>,
}

impl Row {
    /// The row for several runs of one case against one target.
    pub fn from_runs(
        scenario: Scenario,
        target: String,
        load: Load,
        mut runs: Vec<Outcome>,
    ) -> Row {
        assert!(!runs.is_empty(), "a case runs at least once");
        runs.sort_by(|a, b| a.deliveries_per_sec().total_cmp(&b.deliveries_per_sec()));
        let rates = runs.iter().map(Outcome::deliveries_per_sec).collect();
        let pick = runs
            .iter()
            .position(|o| !o.accounted_for() || o.end != End::Finished)
            .unwrap_or(runs.len() / 2);
        Row {
            scenario,
            target,
            load,
            outcome: runs.swap_remove(pick),
            rates,
        }
    }

    /// `fanout/step6/100`.
    pub fn label(&self) -> String {
        format!(
            "{}/{}/{}",
            self.scenario.name(),
            self.target,
            self.load.clients
        )
    }

    /// Deliveries per second relative to `base`'s.
    pub fn ratio_to(&self, base: &Row) -> Option<f64> {
        let base = base.outcome.deliveries_per_sec();
        (base > 0.0).then(|| self.outcome.deliveries_per_sec() / base)
    }

    /// The server's peak resident memory (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.outcome.server.map(|s| s.end.last.peak_rss_kib)
    }

    /// How much the peak grew past the memory held once everyone had
    /// joined: what the texts themselves cost the server.
    pub fn rss_growth_kib(&self) -> Option<u64> {
        self.outcome
            .server
            .map(|s| s.end.last.peak_rss_kib.saturating_sub(s.joined.rss_kib))
    }

    /// Memory each connected client costs the server, in KiB.
    pub fn kib_per_client(&self) -> Option<f64> {
        // Echo clients are not in a room: nothing to measure per client.
        if self.scenario == Scenario::Echo {
            return None;
        }
        self.outcome.server.map(|s| {
            s.joined.rss_kib.saturating_sub(s.idle.rss_kib) as f64 / self.load.clients as f64
        })
    }

    /// Healthy readers the server closed: every client it no longer held,
    /// but for the stalled ones it rightly dropped.
    pub fn healthy_dropped(&self) -> usize {
        let o = &self.outcome;
        // In a flood, the flooder is disconnected on purpose: only its
        // listeners are readers.
        if let Some(flood) = o.flood {
            return flood.readers_dropped;
        }
        o.joined.saturating_sub(o.held + o.stalled_dropped)
    }

    /// The most threads the server ran at once.
    pub fn max_threads(&self) -> Option<u64> {
        self.outcome.server.map(|s| s.end.max_threads)
    }

    /// `ok`, or what went wrong, in a few words.
    pub fn result(&self) -> String {
        let o = &self.outcome;
        let mut words = Vec::new();
        match o.end {
            End::Finished => {}
            End::Stalled => words.push("STALLED".to_string()),
            End::TimedOut => words.push("TIMED OUT".to_string()),
        }
        if o.delivered < o.expected {
            words.push(format!("{} missing", o.expected - o.delivered));
        }
        if o.violations > 0 {
            words.push(format!("{} out of order/garbled", o.violations));
        }
        if words.is_empty() {
            words.push("ok".into());
        }
        if let Some(flood) = o.flood {
            words.push(format!(
                "{} listeners dropped, prank: {} lines relayed, {}",
                flood.readers_dropped,
                flood.flood_relayed,
                if flood.flooder_left {
                    "disconnected"
                } else {
                    "still there"
                }
            ));
        }
        if self.load.stalled > 0 {
            let fate = if o.stalled_dropped == self.load.stalled {
                "dropped"
            } else {
                "kept"
            };
            words.push(format!("stalled client {fate}"));
        }
        words.join(", ")
    }

    /// `10x200` senders and texts, with the rate when there is one.
    fn load_text(&self) -> String {
        let l = &self.load;
        let mut text = format!("{}x{}", l.senders, l.messages);
        if let Some(rate) = l.rate {
            let _ = write!(text, " @{rate}/s");
        }
        if l.size > 0 {
            let _ = write!(text, " {}B", l.size);
        }
        text
    }
}

/// The row `row` is compared with: the baseline step under the same load.
pub fn baseline_of<'a>(rows: &'a [Row], row: &Row, baseline: &str) -> Option<&'a Row> {
    rows.iter().find(|b| {
        b.target == baseline && b.scenario == row.scenario && same_load(&b.load, &row.load)
    })
}

/// A duration the way a person reads it: `412 µs`, `2.31 ms`, `1.23 s`.
pub fn human(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos < 1_000 {
        format!("{nanos} ns")
    } else if nanos < 1_000_000 {
        format!("{:.0} µs", nanos as f64 / 1e3)
    } else if nanos < 1_000_000_000 {
        format!("{:.2} ms", nanos as f64 / 1e6)
    } else {
        format!("{:.2} s", nanos as f64 / 1e9)
    }
}

/// A rate with a K or M suffix: `162.1 K`.
pub fn per_sec(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1} K", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

fn quantile(o: &Outcome, q: f64) -> String {
    o.latency.quantile(q).map_or("-".into(), human)
}

/// The criterion-style block printed as each case finishes.
pub fn criterion(row: &Row, base: Option<&Row>) -> String {
    let o = &row.outcome;
    let vs = match base.filter(|b| b.target != row.target) {
        Some(b) => row
            .ratio_to(b)
            .map_or(String::new(), |r| format!("  ({r:.2}x {})", b.target)),
        None => String::new(),
    };
    // Like criterion's [low estimate high], when the case ran several times.
    let thrpt = match row.rates.as_slice() {
        [low, .., high] => format!(
            "{} {} {}",
            per_sec(*low),
            per_sec(o.deliveries_per_sec()),
            per_sec(*high)
        ),
        _ => per_sec(o.deliveries_per_sec()),
    };
    let mut out = format!(
        "{:<28}time:    [{}]  thrpt:  [{thrpt} deliveries/s]{vs}\n",
        row.label(),
        human(o.elapsed),
    );
    let _ = write!(
        out,
        "{:<28}latency: [p50 {}  p99 {}  max {}]  delivered {}/{}  held {}/{}",
        "",
        quantile(o, 0.5),
        quantile(o, 0.99),
        if o.latency.count() > 0 {
            human(o.latency.max())
        } else {
            "-".into()
        },
        o.delivered,
        o.expected,
        o.held,
        o.joined,
    );
    if let Some(s) = o.server {
        let _ = write!(
            out,
            "\n{:<28}server:  [peak RSS {:.1} MiB  growth {:.1} MiB{}  {} threads]",
            "",
            mib(s.end.last.peak_rss_kib),
            mib(row.rss_growth_kib().unwrap_or(0)),
            row.kib_per_client()
                .map_or(String::new(), |k| format!("  {k:.1} KiB/client")),
            s.end.max_threads,
        );
    }
    let result = row.result();
    if result != "ok" {
        let _ = write!(out, "\n{:<28}result:  {result}", "");
    }
    for sample in o.violation_samples.iter().chain(&o.missing_samples) {
        let _ = write!(out, "\n{:<28}  {sample}", "");
    }
    out
}

const HEADERS: [&str; 15] = [
    "case",
    "clients",
    "load",
    "delivered",
    "deliv/s",
    "vs base",
    "p50",
    "p99",
    "max",
    "held",
    "peak RSS",
    "RSS growth",
    "per client",
    "threads",
    "result",
];

fn cells(rows: &[Row], row: &Row, baseline: &str) -> [String; 15] {
    let o = &row.outcome;
    let ratio = baseline_of(rows, row, baseline)
        .and_then(|b| row.ratio_to(b))
        .map_or("-".into(), |r| format!("{r:.2}x"));
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    [
        format!("{}/{}", row.scenario.name(), row.target),
        row.load.clients.to_string(),
        row.load_text(),
        format!("{}/{}", o.delivered, o.expected),
        per_sec(o.deliveries_per_sec()),
        ratio,
        quantile(o, 0.5),
        quantile(o, 0.99),
        if o.latency.count() > 0 {
            human(o.latency.max())
        } else {
            "-".into()
        },
        format!("{}/{}", o.held, o.joined),
        opt(row.peak_rss_kib().map(|k| format!("{:.1} MiB", mib(k)))),
        opt(row.rss_growth_kib().map(|k| format!("{:.1} MiB", mib(k)))),
        opt(row.kib_per_client().map(|k| format!("{k:.1} KiB"))),
        opt(row.max_threads().map(|t| t.to_string())),
        row.result(),
    ]
}

/// The whole run as one aligned table; ratios are against `baseline`.
pub fn table(rows: &[Row], baseline: &str) -> String {
    let body: Vec<[String; 15]> = rows.iter().map(|r| cells(rows, r, baseline)).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for line in &body {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push = |cells: &[String]| {
        let mut line = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Text columns lean left, figures lean right.
            if matches!(i, 0 | 2 | 14) {
                let _ = write!(line, "{cell:<w$}  ");
            } else {
                let _ = write!(line, "{cell:>w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push(&HEADERS.map(String::from));
    push(&widths.map(|w| "-".repeat(w)));
    for line in &body {
        push(line);
    }
    out
}

/// The same figures as CSV, raw numbers in fixed units.
pub fn csv(rows: &[Row], baseline: &str) -> String {
    let mut out = String::from(
        "scenario,step,clients,senders,messages,rate_per_sender,size_bytes,stalled,\
         expected,delivered,violations,elapsed_s,deliveries_per_s,ratio_vs_baseline,\
         p50_us,p99_us,max_us,held,peak_rss_kib,rss_growth_kib,kib_per_client,\
         max_threads,result,runs,deliveries_per_s_min,deliveries_per_s_max\n",
    );
    let micros = |d: Option<Duration>| d.map_or(String::new(), |d| d.as_micros().to_string());
    let opt = |v: Option<String>| v.unwrap_or_default();
    for row in rows {
        let (l, o) = (&row.load, &row.outcome);
        let ratio = baseline_of(rows, row, baseline).and_then(|b| row.ratio_to(b));
        let fields = [
            row.scenario.name().to_string(),
            row.target.clone(),
            l.clients.to_string(),
            l.senders.to_string(),
            l.messages.to_string(),
            opt(l.rate.map(|r| r.to_string())),
            l.size.to_string(),
            l.stalled.to_string(),
            o.expected.to_string(),
            o.delivered.to_string(),
            o.violations.to_string(),
            format!("{:.6}", o.elapsed.as_secs_f64()),
            format!("{:.1}", o.deliveries_per_sec()),
            opt(ratio.map(|r| format!("{r:.3}"))),
            micros(o.latency.quantile(0.5)),
            micros(o.latency.quantile(0.99)),
            micros((o.latency.count() > 0).then(|| o.latency.max())),
            o.held.to_string(),
            opt(row.peak_rss_kib().map(|v| v.to_string())),
            opt(row.rss_growth_kib().map(|v| v.to_string())),
            opt(row.kib_per_client().map(|v| format!("{v:.1}"))),
            opt(row.max_threads().map(|v| v.to_string())),
            row.result(),
            row.rates.len().to_string(),
            format!("{:.1}", row.rates.first().copied().unwrap_or(0.0)),
            format!("{:.1}", row.rates.last().copied().unwrap_or(0.0)),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::latency::Histogram;
    use crate::bench::load::{DEFAULT_DEADLINE, DEFAULT_STALL_AFTER, DEFAULT_WINDOW};

    fn row(target: &str, delivered: u64, secs: u64) -> Row {
        let mut latency = Histogram::default();
        latency.record(Duration::from_micros(500));
        Row {
            scenario: Scenario::Fanout,
            target: target.into(),
            load: Load {
                clients: 3,
                senders: 2,
                messages: 5,
                rate: None,
                size: 32,
                stalled: 0,
                window: DEFAULT_WINDOW,
                stall_after: DEFAULT_STALL_AFTER,
                deadline: DEFAULT_DEADLINE,
            },
            outcome: Outcome {
                expected: 20,
                delivered,
                elapsed: Duration::from_secs(secs),
                latency,
                joined: 3,
                held: 3,
                stalled_dropped: 0,
                leaves_seen: 0,
                violations: 0,
                violation_samples: vec![],
                missing_samples: vec![],
                end: End::Finished,
                server: None,
                flood: None,
            },
            rates: vec![delivered as f64 / secs as f64],
        }
    }

    #[test]
    fn table_and_csv_carry_ratios_against_the_baseline() {
        let rows = [row("step4", 20, 4), row("step6", 20, 1)];
        let table = table(&rows, "step4");
        assert!(table.lines().next().unwrap().starts_with("case"));
        let step6 = table
            .lines()
            .find(|l| l.starts_with("fanout/step6"))
            .unwrap();
        assert!(step6.contains("4.00x"), "{step6}");
        assert!(step6.ends_with("ok"), "{step6}");
        let csv = csv(&rows, "step4");
        let last = csv.lines().last().unwrap();
        assert!(last.starts_with("fanout,step6,3,2,5,,32,0,20,20,0,1.000000,20.0,4.000,"));
        assert_eq!(csv.lines().count(), 3);
    }

    #[test]
    fn missing_deliveries_show_in_the_result() {
        let short = row("step4", 15, 1);
        assert_eq!(short.result(), "5 missing");
        assert!(criterion(&short, None).contains("result:  5 missing"));
    }

    #[test]
    fn humans_read_durations_and_rates() {
        assert_eq!(human(Duration::from_micros(412)), "412 µs");
        assert_eq!(human(Duration::from_micros(2310)), "2.31 ms");
        assert_eq!(per_sec(162_100.0), "162.1 K");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
