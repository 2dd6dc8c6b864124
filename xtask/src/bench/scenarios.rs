//! The bench's scenarios, each one command: what load each applies, to which
//! steps by default, with which server options, and the targets set for
//! the final server (step 8's are in `async_targets`).

use std::time::Duration;

use super::load::{DEFAULT_DEADLINE, DEFAULT_STALL_AFTER, DEFAULT_WINDOW, Load};
use super::report::Row;

/// The scenarios `cargo xtask bench` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The default, under a minute: fan-out at 100 clients, step 4 against the hardened steps.
    Quick,
    /// Blocking against threaded echo: step 1 and step 2 with 10 concurrent clients.
    Echo,
    /// Fan-out: 10 senders at full speed with 30, 100, 500 and 1,000 clients connected.
    Fanout,
    /// Latency: 20 clients each sending 100 texts per second.
    Latency,
    /// One stalled client (never reads) among 20 while the others send 20 MB.
    Stalled,
    /// 1,000 idle clients held: server memory per client.
    Idle,
    /// One client floods 10,000 lines of 1,000 bytes while 30 read at a
    /// terminal's pace and 5 of them chat: listeners dropped, chatter p99.
    Flood,
    /// 10,000 idle named clients held by the one-thread server (step 8 only).
    Crowd,
    /// Every scenario with a target: fanout, latency, stalled, idle, flood,
    /// crowd.
    All,
}

impl Scenario {
    /// The name used in labels and tables.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Quick => "quick",
            Scenario::Echo => "echo",
            Scenario::Fanout => "fanout",
            Scenario::Latency => "latency",
            Scenario::Stalled => "stalled",
            Scenario::Idle => "idle",
            Scenario::Flood => "flood",
            Scenario::Crowd => "crowd",
            Scenario::All => "all",
        }
    }

    /// The scenarios a run of this one is made of.
    pub fn parts(self) -> Vec<Scenario> {
        match self {
            Scenario::Quick => vec![Scenario::Fanout],
            Scenario::All => vec![
                Scenario::Fanout,
                Scenario::Latency,
                Scenario::Stalled,
                Scenario::Idle,
                Scenario::Flood,
                Scenario::Crowd,
            ],
            one => vec![one],
        }
    }

    /// The steps it compares when `--compare` is not given; the first one is
    /// the baseline.
    pub fn default_steps(self) -> &'static [&'static str] {
        match self {
            Scenario::Echo => &["step1", "step2"],
            Scenario::Crowd => CROWD_STEPS,
            _ => &["step4", "step6", "step8"],
        }
    }

    /// The only steps this scenario runs on within `all` (the others would
    /// take many minutes, or thousands of threads, for a known answer).
    pub fn only_on(self) -> Option<&'static [&'static str]> {
        match self {
            Scenario::Crowd => Some(CROWD_STEPS),
            _ => None,
        }
    }

    /// The client counts it runs when `--clients` is not given.
    fn default_clients(self) -> &'static [usize] {
        match self {
            Scenario::Quick => &[100],
            Scenario::Echo => &[10],
            Scenario::Fanout => &[30, 100, 500, 1000],
            Scenario::Latency | Scenario::Stalled => &[20],
            Scenario::Idle => &[1000],
            Scenario::Flood => &[FLOOD_CLIENTS],
            Scenario::Crowd => &[10_000],
            Scenario::All => &[],
        }
    }
}

/// The knobs a user may turn; `None` keeps the scenario's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub clients: Vec<usize>,
    pub senders: Option<usize>,
    pub messages: Option<usize>,
    pub rate: Option<f64>,
    pub size: Option<usize>,
    pub stalled: Option<usize>,
    pub stall_after: Option<Duration>,
    pub window: Option<usize>,
}

/// Fan-out senders ("10 senders at full speed").
const FANOUT_SENDERS: usize = 10;
/// A fan-out case sends enough texts for about this many deliveries, so a
/// case with 10 clients lasts about as long as one with 1,000.
const FANOUT_DELIVERIES: u64 = 200_000;
/// A typical chat line.
const CHAT_SIZE: usize = 32;
/// Echo: texts per client (each waits for its echo).
const ECHO_MESSAGES: usize = 200;
/// Latency: every client sends this many texts per second, for 3 seconds.
const LATENCY_RATE: f64 = 100.0;
const LATENCY_MESSAGES: usize = 300;
/// Flood: 30 listeners and the flooder; 5 listeners chat, 2 texts a second
/// for 10 seconds (the flood itself is `flood.rs`'s).
const FLOOD_CLIENTS: usize = 31;
const FLOOD_CHATTERS: usize = 5;
const FLOOD_CHAT_RATE: f64 = 2.0;
const FLOOD_CHAT_MESSAGES: usize = 20;
/// Stalled: what the healthy clients send together, in texts of this size.
const STALLED_BYTES: usize = 20 << 20;
const STALLED_SIZE: usize = 1024;
/// Crowd: the one step built to hold ten thousand clients on one thread.
const CROWD_STEPS: &[&str] = &["step8"];

/// Flood control for senders at full speed (fan-out, stalled): the most
/// lines a second `--flood-rate` allows, and bursts of 1,000 lines. Such
/// senders are floods by a classroom's measure (thousands of lines a second
/// each), which the defaults (50 at once, then 10 a second) slow down and
/// disconnect within seconds; these limits keep flood control on, every
/// line still paced, and never slow the bench's senders.
const FULL_SPEED_FLOOD_RATE: u32 = 1_000_000;
const FULL_SPEED_FLOOD_BURST: u32 = 1_000;
/// Flood control for rated senders (latency): twice their rate, the
/// default burst; a sender at a steady rate below it is never slowed.
const RATED_FLOOD_HEADROOM: f64 = 2.0;
/// Steps 6 and 8 take this many clients by default (`--max-clients`); a
/// case with more passes its own count.
const DEFAULT_MAX_CLIENTS: usize = 1024;

/// The load one case of `scenario` applies with `clients` connected.
pub fn load_for(scenario: Scenario, clients: usize, o: &Overrides) -> Load {
    let base = Load {
        clients,
        senders: 1,
        messages: 1,
        rate: None,
        size: CHAT_SIZE,
        stalled: 0,
        window: o.window.unwrap_or(DEFAULT_WINDOW),
        stall_after: o.stall_after.unwrap_or(DEFAULT_STALL_AFTER),
        deadline: DEFAULT_DEADLINE,
    };
    let mut load = match scenario {
        Scenario::Quick | Scenario::Fanout | Scenario::All => Load {
            senders: FANOUT_SENDERS.min(clients),
            ..base
        },
        Scenario::Echo => Load {
            senders: clients,
            messages: ECHO_MESSAGES,
            ..base
        },
        Scenario::Latency => Load {
            senders: clients,
            messages: LATENCY_MESSAGES,
            rate: Some(LATENCY_RATE),
            ..base
        },
        Scenario::Stalled => Load {
            stalled: 1,
            senders: clients.saturating_sub(1).max(1),
            size: STALLED_SIZE,
            ..base
        },
        Scenario::Idle | Scenario::Crowd => base,
        Scenario::Flood => Load {
            senders: FLOOD_CHATTERS.min(clients.saturating_sub(1)),
            messages: FLOOD_CHAT_MESSAGES,
            rate: Some(FLOOD_CHAT_RATE),
            ..base
        },
    };
    if let Some(v) = o.senders {
        load.senders = v;
    }
    if let Some(v) = o.stalled {
        load.stalled = v;
    }
    if scenario == Scenario::Stalled && o.senders.is_none() {
        load.senders = clients.saturating_sub(load.stalled).max(1);
    }
    if let Some(v) = o.size {
        load.size = v;
    }
    if o.rate.is_some() {
        load.rate = o.rate;
    }
    load.messages = match (o.messages, scenario) {
        (Some(v), _) => v,
        (None, Scenario::Quick | Scenario::Fanout | Scenario::All) => {
            let per_text = (load.senders * clients.saturating_sub(1)).max(1) as u64;
            FANOUT_DELIVERIES.div_ceil(per_text) as usize
        }
        (None, Scenario::Stalled) => STALLED_BYTES.div_ceil(load.senders.max(1) * load.size.max(1)),
        (None, _) => load.messages,
    };
    load
}

/// One case to run: a scenario with a client count.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub scenario: Scenario,
    pub load: Load,
}

impl Case {
    /// The options this case starts a server with, as `(option, value)`,
    /// for the servers that have them (steps 6 and 8; step 4 has none).
    pub fn server_options(&self) -> Vec<(&'static str, String)> {
        let mut options = Vec::new();
        match self.load.rate {
            // The flood's point is the server's own flood control, as a
            // class meets it: the defaults, whatever the chatters' rate.
            _ if self.scenario == Scenario::Flood => {}
            Some(rate) => {
                let allowed = (rate * RATED_FLOOD_HEADROOM).ceil();
                let allowed = allowed.min(f64::from(FULL_SPEED_FLOOD_RATE)) as u32;
                options.push(("--flood-rate", allowed.max(1).to_string()));
            }
            None if self.load.messages > 1 => {
                options.push(("--flood-rate", FULL_SPEED_FLOOD_RATE.to_string()));
                options.push(("--flood-burst", FULL_SPEED_FLOOD_BURST.to_string()));
            }
            // One text per sender (idle, crowd): the defaults hold.
            None => {}
        }
        if self.load.clients > DEFAULT_MAX_CLIENTS {
            options.push(("--max-clients", self.load.clients.to_string()));
        }
        options
    }
}

/// The cases of `scenario` (expanded when it is `All`).
pub fn cases(scenario: Scenario, o: &Overrides) -> Vec<Case> {
    scenario
        .parts()
        .into_iter()
        .flat_map(|part| {
            let clients = if o.clients.is_empty() {
                // Quick is fan-out at its own (single) client count.
                let defaults = if scenario == Scenario::Quick {
                    scenario
                } else {
                    part
                };
                defaults.default_clients().to_vec()
            } else {
                o.clients.clone()
            };
            clients.into_iter().map(move |c| Case {
                scenario: part,
                load: load_for(part, c, o),
            })
        })
        .collect()
}

/// How a target judged one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// What was asked, in words.
    pub target: String,
    /// The step judged.
    pub step: String,
    /// What was measured, in words.
    pub measured: String,
    pub pass: bool,
}

/// The targets for the hardened server, judged against `rows` for
/// every step but the baseline. A target is judged only where the run used
/// its exact load; overridden runs get no verdicts.
pub fn verdicts(rows: &[Row], baseline: &str) -> Vec<Verdict> {
    let mut out = Vec::new();
    for row in rows.iter().filter(|r| r.target != baseline) {
        let o = &row.outcome;
        let step = row.target.clone();
        let default = load_for(row.scenario, row.load.clients, &Overrides::default());
        if !same_load(&row.load, &default) {
            continue;
        }
        match (row.scenario, row.load.clients) {
            (Scenario::Fanout, 100) => {
                let base = rows.iter().find(|b| {
                    b.target == baseline
                        && b.scenario == row.scenario
                        && same_load(&b.load, &row.load)
                });
                let Some(base) = base else { continue };
                let ratio = row.ratio_to(base);
                out.push(Verdict {
                    target: format!(
                        "100 clients, 10 senders at full speed: >= 3x {baseline}'s deliveries/s"
                    ),
                    step,
                    measured: match ratio {
                        Some(r) => format!("{r:.2}x {baseline}"),
                        None => "no figure".into(),
                    },
                    pass: o.accounted_for() && ratio.is_some_and(|r| r >= 3.0),
                });
            }
            (Scenario::Latency, 20) => {
                let p99 = o.latency.quantile(0.99);
                out.push(Verdict {
                    target: "20 clients x 100 texts/s: p99 latency < 5 ms".into(),
                    step,
                    measured: p99.map_or("no deliveries".into(), |p| format!("p99 {p:.2?}")),
                    pass: o.accounted_for() && p99.is_some_and(|p| p < Duration::from_millis(5)),
                });
            }
            (Scenario::Stalled, 20) => {
                let growth = row.rss_growth_kib();
                out.push(Verdict {
                    target: "1 stalled among 20: the others finish, RSS grows < 16 MiB".into(),
                    step,
                    measured: format!(
                        "{}, RSS growth {}",
                        if o.accounted_for() {
                            "others finished"
                        } else {
                            "others did NOT finish"
                        },
                        growth.map_or("not measured".into(), |g| format!("{:.1} MiB", mib(g)))
                    ),
                    pass: o.accounted_for() && growth.is_some_and(|g| g < 16 * 1024),
                });
            }
            (Scenario::Flood, FLOOD_CLIENTS) => {
                let flood = o.flood.unwrap_or_default();
                let p99 = o.latency.quantile(0.99);
                out.push(Verdict {
                    target: "1 flooder, 30 listeners at 2,000 lines/s: no listener dropped".into(),
                    step,
                    measured: format!(
                        "{} dropped, chatter p99 {}",
                        flood.readers_dropped,
                        p99.map_or("(no chatter arrived)".into(), |p| format!("{p:.2?}"))
                    ),
                    pass: flood.readers_dropped == 0,
                });
            }
            (Scenario::Idle, 1000) => {
                let peak = row.peak_rss_kib();
                out.push(Verdict {
                    target: "1,000 idle clients held, server RSS < 64 MiB".into(),
                    step,
                    measured: format!(
                        "{} held, peak RSS {}",
                        o.held,
                        peak.map_or("not measured".into(), |p| format!("{:.1} MiB", mib(p)))
                    ),
                    pass: o.accounted_for()
                        && o.held == 1000
                        && peak.is_some_and(|p| p < 64 * 1024),
                });
            }
            _ => {}
        }
    }
    out
}

/// Whether two loads send the same traffic (timeouts aside).
pub fn same_load(a: &Load, b: &Load) -> bool {
    (
        a.clients, a.senders, a.messages, a.rate, a.size, a.stalled, a.window,
    ) == (
        b.clients, b.senders, b.messages, b.rate, b.size, b.stalled, b.window,
    )
}

/// KiB to MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_expands_into_the_four_targets() {
        let cases = cases(Scenario::All, &Overrides::default());
        let names: Vec<_> = cases
            .iter()
            .map(|c| (c.scenario.name(), c.load.clients))
            .collect();
        assert_eq!(
            names,
            [
                ("fanout", 30),
                ("fanout", 100),
                ("fanout", 500),
                ("fanout", 1000),
                ("latency", 20),
                ("stalled", 20),
                ("idle", 1000),
                ("flood", 31),
                ("crowd", 10_000)
            ]
        );
    }

    fn option<'a>(options: &'a [(&str, String)], name: &str) -> Option<&'a str> {
        options
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn flood_control_stays_on_with_limits_the_load_never_reaches() {
        let all = cases(Scenario::All, &Overrides::default());
        let of = |scenario: Scenario| {
            let case = all.iter().find(|c| c.scenario == scenario).unwrap();
            case.server_options()
        };
        let fanout = of(Scenario::Fanout);
        assert_eq!(option(&fanout, "--flood-rate"), Some("1000000"));
        assert_eq!(option(&fanout, "--flood-burst"), Some("1000"));
        assert_eq!(
            option(&of(Scenario::Stalled), "--flood-rate"),
            Some("1000000")
        );
        // 100 texts a second each: allowed 200.
        let latency = of(Scenario::Latency);
        assert_eq!(option(&latency, "--flood-rate"), Some("200"));
        assert_eq!(option(&latency, "--flood-burst"), None);
        // One text in all: the defaults hold.
        assert!(of(Scenario::Idle).is_empty());
        // Never 0: flood control is on in every run.
        for case in &all {
            assert_ne!(option(&case.server_options(), "--flood-rate"), Some("0"));
        }
    }

    #[test]
    fn the_crowd_gets_its_seats() {
        let crowd = cases(Scenario::Crowd, &Overrides::default());
        assert_eq!(crowd.len(), 1);
        let options = crowd[0].server_options();
        assert_eq!(option(&options, "--max-clients"), Some("10000"));
        assert_eq!(Scenario::Crowd.only_on(), Some(&["step8"][..]));
        assert_eq!(Scenario::Fanout.only_on(), None);
    }

    #[test]
    fn quick_is_fanout_at_100_clients() {
        let cases = cases(Scenario::Quick, &Overrides::default());
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].scenario, Scenario::Fanout);
        assert_eq!(cases[0].load.clients, 100);
    }

    #[test]
    fn fanout_cases_deliver_about_the_same_amount() {
        for clients in [30, 100, 500, 1000] {
            let load = load_for(Scenario::Fanout, clients, &Overrides::default());
            assert_eq!(load.senders, 10);
            let deliveries = (load.senders * load.messages * (clients - 1)) as u64;
            assert!(deliveries >= FANOUT_DELIVERIES);
            assert!(deliveries < FANOUT_DELIVERIES + (10 * (clients as u64)));
        }
    }

    #[test]
    fn stalled_sends_20_mb_from_the_healthy_clients() {
        let load = load_for(Scenario::Stalled, 20, &Overrides::default());
        assert_eq!((load.stalled, load.senders, load.size), (1, 19, 1024));
        assert!(load.senders * load.messages * load.size >= 20 << 20);
    }

    #[test]
    fn overrides_win_over_defaults() {
        let o = Overrides {
            clients: vec![3],
            senders: Some(2),
            messages: Some(5),
            rate: Some(50.0),
            ..Overrides::default()
        };
        let cases = cases(Scenario::Fanout, &o);
        assert_eq!(cases.len(), 1);
        let load = &cases[0].load;
        assert_eq!(
            (load.clients, load.senders, load.messages, load.rate),
            (3, 2, 5, Some(50.0))
        );
    }
}
