//! The bench's scenarios, each one command: what load each applies, to which
//! steps by default, with which server options, and the targets set for
//! the hardened servers (issue 14's, for the one-thread step, are in
//! `async_targets`).

use std::time::Duration;

use super::load::{DEFAULT_DEADLINE, DEFAULT_STALL_AFTER, DEFAULT_WINDOW, End, Load};
use super::report::Row;
use super::server::Defence;

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
    /// Flood control off, one client sends 20,000 lines of 1,000 bytes at
    /// full speed; one never reads, one reads as fast as it can and must get
    /// every line (steps 6, 8 and 9).
    Starvation,
    /// 10,000 idle named clients held by the one-thread server (step 9 only).
    Crowd,
    /// Every scenario with a target: fanout, latency, stalled, idle, flood,
    /// starvation, crowd.
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
            Scenario::Starvation => "starvation",
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
                Scenario::Starvation,
                Scenario::Crowd,
            ],
            one => vec![one],
        }
    }

    /// The steps (by number) it compares when `--compare` is not given; the
    /// first one is the baseline.
    pub fn default_steps(self) -> &'static [u8] {
        match self {
            Scenario::Echo => ECHO_STEPS,
            Scenario::Starvation => STARVATION_STEPS,
            Scenario::Crowd => CROWD_STEPS,
            _ => CHAT_STEPS,
        }
    }

    /// The only steps this scenario runs on within `all` (the others would
    /// take many minutes, or thousands of threads, for a known answer).
    pub fn only_on(self) -> Option<&'static [u8]> {
        match self {
            Scenario::Starvation => Some(STARVATION_STEPS),
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
            Scenario::Starvation => &[STARVATION_CLIENTS],
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

/// The echo servers: blocking (the baseline) against threaded.
const ECHO_STEPS: &[u8] = &[1, 2];
/// The one-thread server (bonus step 9), and the threaded one with the same
/// room and defences (bonus step 8): issue 14's targets judge the first
/// against the second (`async_targets`), and the crowd runs on the first.
pub const ONE_THREAD: u8 = 9;
pub const THREADED: u8 = 8;
/// The chat steps compared by default: step 4 writes to everyone under the
/// lock (the baseline), step 6 gives each client a bounded queue and a
/// writer, and the two bonus rooms add every defence, on threads and on one
/// thread.
const CHAT_STEPS: &[u8] = &[4, 6, THREADED, ONE_THREAD];
/// Crowd: the one step built to hold ten thousand clients on one thread.
const CROWD_STEPS: &[u8] = &[ONE_THREAD];
/// Starvation: the steps with a bounded queue per client (step 4 has none:
/// a reader that never reads stops its whole room, as the stalled scenario
/// shows already).
const STARVATION_STEPS: &[u8] = &[6, THREADED, ONE_THREAD];

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
/// Starvation: the flooder, the one who never reads, the one who reads as
/// fast as it can; 20,000 lines of 1,000 bytes (20 MB, as in steps 6 and
/// 9's own test of it), with flood control off.
const STARVATION_CLIENTS: usize = 3;
const STARVATION_LINES: usize = 20_000;
const STARVATION_SIZE: usize = 1000;
/// `--flood-rate 0`: flood control off.
const FLOOD_CONTROL_OFF: &str = "0";

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
/// Steps 8 and 9 take this many clients by default (`--max-clients`; step 6
/// has no such limit); a case with more passes its own count.
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
        // No window: the flooder never waits for the readers.
        Scenario::Starvation => Load {
            stalled: 1,
            messages: STARVATION_LINES,
            size: STARVATION_SIZE,
            window: o.window.unwrap_or(0),
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
    /// for the servers that have them (steps 8 and 9; steps 4 and 6 have no
    /// flood control and no seats).
    pub fn server_options(&self) -> Vec<(&'static str, String)> {
        let flood_rate = Defence::FloodControl.option();
        let mut options = Vec::new();
        match self.load.rate {
            // The flood's point is the server's own flood control, as a
            // class meets it: the defaults, whatever the chatters' rate.
            _ if self.scenario == Scenario::Flood => {}
            // Starvation's is what happens without it.
            _ if self.scenario == Scenario::Starvation => {
                options.push((flood_rate, FLOOD_CONTROL_OFF.to_string()));
            }
            Some(rate) => {
                let allowed = (rate * RATED_FLOOD_HEADROOM).ceil();
                let allowed = allowed.min(f64::from(FULL_SPEED_FLOOD_RATE)) as u32;
                options.push((flood_rate, allowed.max(1).to_string()));
            }
            None if self.load.messages > 1 => {
                options.push((flood_rate, FULL_SPEED_FLOOD_RATE.to_string()));
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

    /// What this case does to the flood control of a step that has it, in
    /// words: `fanout: --flood-rate 1000000 --flood-burst 1000 (on, ...)`.
    pub fn flood_control(&self) -> String {
        let flood: Vec<(&str, String)> = self
            .server_options()
            .into_iter()
            .filter(|(option, _)| option.starts_with("--flood-"))
            .collect();
        let said = match flood.as_slice() {
            [] => "the defaults (10 a second, bursts of 50)".to_string(),
            [(option, value)]
                if *option == Defence::FloodControl.option() && value == FLOOD_CONTROL_OFF =>
            {
                format!("{option} {value} (off: the point is a flood without it)")
            }
            options => {
                let options: Vec<String> =
                    options.iter().map(|(o, v)| format!("{o} {v}")).collect();
                format!("{} (on, above what the load sends)", options.join(" "))
            }
        };
        format!("{}: {said}", self.scenario.name())
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
    pub mark: Mark,
}

/// A verdict's mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Pass,
    Fail,
    /// The target is about a defence the step does not have (its `--help`
    /// does not list the option): what it did is a finding about the step,
    /// shown beside the others, not a failure of the step or of the bench.
    NoClaim,
}

impl Verdict {
    /// Whether the step met a target it claims.
    pub fn passed(&self) -> bool {
        self.mark == Mark::Pass
    }
}

/// The mark of a target about `defence`, for a step that met it or not.
fn mark(has: bool, met: bool) -> Mark {
    match (has, met) {
        (false, _) => Mark::NoClaim,
        (true, true) => Mark::Pass,
        (true, false) => Mark::Fail,
    }
}

/// The targets for the hardened servers, judged against `rows`. Those of
/// the hardening issue (fan-out, latency, stalled, idle) are for every step
/// but the baseline; those about a defence (flood, starvation) for every
/// step that has it, by `has(step, defence)`, and the others' figures are
/// shown as findings. A target is judged only where the run used its exact
/// load; overridden runs get no verdicts.
pub fn verdicts(rows: &[Row], baseline: &str, has: &dyn Fn(&str, Defence) -> bool) -> Vec<Verdict> {
    let mut out = Vec::new();
    for row in rows {
        let o = &row.outcome;
        let step = row.target.clone();
        let default = load_for(row.scenario, row.load.clients, &Overrides::default());
        if !same_load(&row.load, &default) {
            continue;
        }
        let is_baseline = row.target == baseline;
        match (row.scenario, row.load.clients) {
            (Scenario::Fanout, 100) if !is_baseline => {
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
                    mark: mark(true, o.accounted_for() && ratio.is_some_and(|r| r >= 3.0)),
                });
            }
            (Scenario::Latency, 20) if !is_baseline => {
                let p99 = o.latency.quantile(0.99);
                out.push(Verdict {
                    target: "20 clients x 100 texts/s: p99 latency < 5 ms".into(),
                    step,
                    measured: p99.map_or("no deliveries".into(), |p| format!("p99 {p:.2?}")),
                    mark: mark(
                        true,
                        o.accounted_for() && p99.is_some_and(|p| p < Duration::from_millis(5)),
                    ),
                });
            }
            (Scenario::Stalled, 20) if !is_baseline => {
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
                    mark: mark(
                        true,
                        o.accounted_for() && growth.is_some_and(|g| g < 16 * 1024),
                    ),
                });
            }
            (Scenario::Flood, FLOOD_CLIENTS) => {
                let flood = o.flood.unwrap_or_default();
                let p99 = o.latency.quantile(0.99);
                let defence = Defence::FloodControl;
                let has = has(&step, defence);
                out.push(Verdict {
                    target: format!(
                        "1 flooder, {} listeners at 2,000 lines/s, {} at its defaults: \
                         no listener dropped",
                        FLOOD_CLIENTS - 1,
                        defence.name()
                    ),
                    measured: format!(
                        "{}{} of {} dropped, chatter p99 {}, prank {}",
                        lacks(has, defence),
                        flood.readers_dropped,
                        FLOOD_CLIENTS - 1,
                        p99.map_or("(no chatter arrived)".into(), |p| format!("{p:.2?}")),
                        if flood.flooder_left {
                            "disconnected"
                        } else {
                            "still there"
                        }
                    ),
                    step,
                    mark: mark(has, flood.readers_dropped == 0),
                });
            }
            (Scenario::Starvation, STARVATION_CLIENTS) => {
                let defence = Defence::Outbox;
                let has = has(&step, defence);
                out.push(Verdict {
                    target: "flood control off, 1 flooder at full speed, 1 reader who never \
                             reads: the live reader gets every line"
                        .into(),
                    measured: format!(
                        "{}{} of {} lines to the live reader, the one who never reads {}",
                        lacks(has, defence),
                        o.delivered,
                        o.expected,
                        if o.stalled_dropped == row.load.stalled {
                            "dropped"
                        } else {
                            "kept"
                        }
                    ),
                    step,
                    mark: mark(
                        has,
                        o.accounted_for() && o.end == End::Finished && row.healthy_dropped() == 0,
                    ),
                });
            }
            (Scenario::Idle, 1000) if !is_baseline => {
                let peak = row.peak_rss_kib();
                out.push(Verdict {
                    target: "1,000 idle clients held, server RSS < 64 MiB".into(),
                    step,
                    measured: format!(
                        "{} held, peak RSS {}",
                        o.held,
                        peak.map_or("not measured".into(), |p| format!("{:.1} MiB", mib(p)))
                    ),
                    mark: mark(
                        true,
                        o.accounted_for() && o.held == 1000 && peak.is_some_and(|p| p < 64 * 1024),
                    ),
                });
            }
            _ => {}
        }
    }
    out
}

/// The start of a finding's figures for a step without `defence`.
fn lacks(has: bool, defence: Defence) -> String {
    if has {
        String::new()
    } else {
        format!(
            "without {} (no {} in its --help), so not judged: ",
            defence.name(),
            defence.option()
        )
    }
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
    fn all_expands_into_every_scenario_with_a_target() {
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
                ("starvation", 3),
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
        // Never 0 (off) but where a flood without it is the point.
        for case in &all {
            let off = option(&case.server_options(), "--flood-rate") == Some("0");
            assert_eq!(off, case.scenario == Scenario::Starvation, "{case:?}");
        }
        assert!(
            of(Scenario::Flood).is_empty(),
            "the flood meets the defaults"
        );
        let said: Vec<String> = all.iter().map(Case::flood_control).collect();
        assert!(said.contains(&"flood: the defaults (10 a second, bursts of 50)".to_string()));
        assert!(
            said.iter()
                .any(|s| s.starts_with("starvation: --flood-rate 0 (off"))
        );
        assert!(
            said.iter()
                .any(|s| s.starts_with("fanout: --flood-rate 1000000 --flood-burst 1000 (on"))
        );
    }

    #[test]
    fn starvation_floods_one_live_reader_past_one_who_never_reads() {
        let load = load_for(Scenario::Starvation, 3, &Overrides::default());
        assert_eq!(
            (load.senders, load.stalled, load.window, load.rate),
            (1, 1, 0, None),
            "one flooder that never waits for the readers"
        );
        assert_eq!(load.messages * load.size, 20_000_000);
        assert_eq!(
            load.expected(super::super::server::Protocol::Chat(
                super::super::framing::Framing::Lines
            )),
            20_000
        );
        assert_eq!(Scenario::Starvation.only_on(), Some(&[6, 8, 9][..]));
        assert_eq!(Scenario::Starvation.default_steps(), &[6, 8, 9]);
    }

    #[test]
    fn chat_scenarios_compare_steps_4_6_8_and_9() {
        for scenario in [
            Scenario::Quick,
            Scenario::Fanout,
            Scenario::Flood,
            Scenario::All,
        ] {
            assert_eq!(scenario.default_steps(), &[4, 6, 8, 9], "{scenario:?}");
        }
        assert_eq!(Scenario::Echo.default_steps(), &[1, 2]);
    }

    #[test]
    fn the_crowd_gets_its_seats() {
        let crowd = cases(Scenario::Crowd, &Overrides::default());
        assert_eq!(crowd.len(), 1);
        let options = crowd[0].server_options();
        assert_eq!(option(&options, "--max-clients"), Some("10000"));
        assert_eq!(Scenario::Crowd.only_on(), Some(&[9][..]));
        assert_eq!(Scenario::Crowd.default_steps(), &[9]);
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

    /// A finished row of `scenario`'s own load for `step`.
    fn judged_row(step: &str, scenario: Scenario, clients: usize) -> Row {
        let load = load_for(scenario, clients, &Overrides::default());
        let expected = 10;
        let mut latency = crate::bench::latency::Histogram::default();
        latency.record(Duration::from_micros(900));
        Row {
            scenario,
            target: step.into(),
            load,
            outcome: crate::bench::load::Outcome {
                delivered: expected,
                elapsed: Duration::from_secs(1),
                latency,
                ..crate::bench::load::Outcome::start(expected, clients, clients, End::Finished)
            },
            rates: vec![expected as f64],
        }
    }

    /// Steps 8 and 9 have flood control, 4 and 6 do not.
    fn course_defences(step: &str, defence: Defence) -> bool {
        match defence {
            Defence::FloodControl => ["step8", "step9"].contains(&step),
            Defence::Outbox => ["step6", "step7", "step8", "step9"].contains(&step),
        }
    }

    fn flood_row(step: &str, dropped: usize, flooder_left: bool) -> Row {
        let mut row = judged_row(step, Scenario::Flood, FLOOD_CLIENTS);
        row.outcome.held = FLOOD_CLIENTS - dropped - usize::from(flooder_left);
        row.outcome.flood = Some(crate::bench::flood::FloodFigures {
            readers_dropped: dropped,
            flood_relayed: if flooder_left { 99 } else { 10_000 },
            flooder_left,
        });
        row
    }

    #[test]
    fn a_flood_judges_only_the_steps_with_flood_control() {
        let rows = [
            flood_row("step4", 0, false),
            flood_row("step6", 30, false),
            flood_row("step8", 0, true),
            flood_row("step9", 1, true),
        ];
        let verdicts = verdicts(&rows, "step4", &course_defences);
        let marks: Vec<(&str, Mark)> = verdicts.iter().map(|v| (v.step.as_str(), v.mark)).collect();
        assert_eq!(
            marks,
            [
                ("step4", Mark::NoClaim),
                ("step6", Mark::NoClaim),
                ("step8", Mark::Pass),
                ("step9", Mark::Fail),
            ]
        );
        // Step 6's dropped listeners are said plainly, as a finding.
        let step6 = &verdicts[1];
        assert!(
            step6
                .measured
                .starts_with("without flood control (no --flood-rate in its --help)"),
            "{step6:?}"
        );
        assert!(step6.measured.contains("30 of 30 dropped"), "{step6:?}");
        assert!(step6.measured.ends_with("prank still there"), "{step6:?}");
        assert!(
            verdicts[2].measured.starts_with("0 of 30 dropped"),
            "{:?}",
            verdicts[2]
        );
    }

    #[test]
    fn starvation_is_judged_on_every_step_with_a_queue_baseline_or_not() {
        let mut starved = judged_row("step9", Scenario::Starvation, STARVATION_CLIENTS);
        starved.outcome.delivered = 3;
        starved.outcome.held = 1;
        let mut fed = judged_row("step6", Scenario::Starvation, STARVATION_CLIENTS);
        fed.outcome.stalled_dropped = 1;
        fed.outcome.held = 2;
        let stuck = judged_row("step4", Scenario::Starvation, STARVATION_CLIENTS);
        let verdicts = verdicts(&[fed, starved, stuck], "step6", &course_defences);
        let marks: Vec<Mark> = verdicts.iter().map(|v| v.mark).collect();
        assert_eq!(
            marks,
            [Mark::Pass, Mark::Fail, Mark::NoClaim],
            "{verdicts:#?}"
        );
        assert_eq!(
            verdicts[0].measured,
            "10 of 10 lines to the live reader, the one who never reads dropped"
        );
        assert!(
            verdicts[1].measured.starts_with("3 of 10 lines"),
            "{verdicts:#?}"
        );
    }

    #[test]
    fn the_hardening_targets_skip_the_baseline() {
        let rows = [
            judged_row("step4", Scenario::Idle, 1000),
            judged_row("step6", Scenario::Idle, 1000),
        ];
        let verdicts = verdicts(&rows, "step4", &course_defences);
        assert_eq!(verdicts.len(), 1, "{verdicts:#?}");
        assert_eq!(verdicts[0].step, "step6");
    }
}
