//! `cargo xtask bench`: load the course's servers with real TCP clients and
//! measure deliveries per second, latency, connections held and the server's
//! memory and threads.
//!
//! * `scenarios` says what each scenario sends, to which steps, and which
//!   targets it has (`async_targets`: issue 14's, for the one-thread step);
//! * `load` is the engine (clients, senders, the exactly-once check), and
//!   `fault` what it reports when the bench itself fails;
//! * `server` starts a step on 127.0.0.1 port 0, `proc` samples it;
//!   `dialect` says how a server words its notices;
//! * `report` and `chart` turn rows into a table, CSV and an SVG chart.
//!
//! Every case gets a fresh server, so one case's memory does not leak into
//! the next; cases of several steps alternate, so they share the machine's
//! state of the moment (the ratios are fair even on a busy laptop).

mod async_targets;
mod chart;
mod dialect;
mod fault;
mod flood;
mod framing;
mod latency;
mod load;
mod proc;
mod progress;
mod report;
mod scenarios;
mod server;

use std::collections::BTreeSet;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

pub use dialect::Dialect;
pub use fault::BenchFault;
pub use framing::Framing;
pub use load::{End, Load, Outcome};
pub use report::Row;
pub use scenarios::{Mark, Scenario, Verdict};
pub use server::Defence;
use server::{Protocol, ServerProcess, Step};

use crate::build::{self, Profile};
use crate::term::{self, Colour};
use crate::workspace;

/// Where the chart goes unless `--chart` says otherwise.
const CHART: &str = "benchmarks/fanout.svg";
/// File descriptors the bench keeps for itself beyond one per client.
const SPARE_FDS: u64 = 64;

/// Measure the course's servers: deliveries/s, latency, memory, threads.
///
/// Without a scenario, runs `quick` (fan-out at 100 clients, step 4 against
/// steps 6, 8 and 9; under a minute once built). With `--compare` and no
/// scenario, runs `all`. Servers are built in release mode and started on
/// 127.0.0.1 with port 0, one fresh server per case.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    after_help = "Examples:\n  cargo xtask bench\n  cargo xtask bench echo\n  \
                  cargo xtask bench all --csv bench.csv\n  \
                  cargo xtask bench crowd\n  \
                  cargo xtask bench starvation\n  \
                  cargo xtask bench fanout --compare step4,step6 --clients 10,100\n  \
                  cargo xtask bench latency --addr 127.0.0.1:65433"
)]
pub struct Args {
    /// What to measure.
    #[arg(value_enum)]
    pub scenario: Option<Scenario>,
    /// Steps to run side by side, the first one being the baseline for the ratios
    /// (default: step4,step6,step8,step9; echo: step1,step2; starvation:
    /// step6,step8,step9; crowd: step9).
    #[arg(long, value_delimiter = ',', value_name = "STEPS")]
    pub compare: Vec<String>,
    /// Load a server that is already running instead (no memory figures).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "compare")]
    pub addr: Option<String>,
    /// How the `--addr` server frames messages (chat scenarios).
    #[arg(long, value_enum, default_value = "lines", requires = "addr")]
    pub framing: Framing,
    /// How the `--addr` server announces a newcomer to the others, with
    /// {name} for the name.
    #[arg(long, value_name = "PATTERN", default_value = dialect::COURSE_JOIN, requires = "addr")]
    pub join_pattern: String,
    /// How the `--addr` server announces a departure, with {name}.
    #[arg(long, value_name = "PATTERN", default_value = dialect::COURSE_LEAVE, requires = "addr")]
    pub leave_pattern: String,
    /// Lines the `--addr` server sends every newcomer before anything else
    /// (a prompt for the name), to be ignored.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "addr")]
    pub greeting_lines: usize,
    /// Clients connected, one case per count: 10,100,1000.
    #[arg(long, value_delimiter = ',', value_name = "N,N")]
    pub clients: Vec<usize>,
    /// Clients that send.
    #[arg(long, value_name = "N")]
    pub senders: Option<usize>,
    /// Texts each sender sends.
    #[arg(long, value_name = "N")]
    pub messages: Option<usize>,
    /// Texts per second per sender (default: as fast as the server takes them).
    #[arg(long, value_name = "PER_SEC")]
    pub rate: Option<f64>,
    /// Bytes per text (padded).
    #[arg(long, value_name = "BYTES")]
    pub size: Option<usize>,
    /// Clients that join and never read.
    #[arg(long, value_name = "N")]
    pub stalled: Option<usize>,
    /// Senders wait while a reader is this many texts behind (0: flood).
    #[arg(long, value_name = "TEXTS")]
    pub window: Option<usize>,
    /// Call a case stalled after this many seconds without a delivery.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub stall_after: f64,
    /// Also write the table as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Where to write the fan-out chart (SVG) [default: benchmarks/fanout.svg].
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
    /// Run every case this many times (steps alternating) and report the
    /// median, with the spread.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: usize,
    /// Do not write the chart.
    #[arg(long, conflicts_with = "chart")]
    pub no_chart: bool,
    /// Build the servers in the dev profile (quick smoke runs, not for figures).
    #[arg(long)]
    pub dev: bool,
}

/// What a bench run produced.
#[derive(Debug)]
pub struct Report {
    pub rows: Vec<Row>,
    /// The step (or address) the ratios are against.
    pub baseline: String,
    pub verdicts: Vec<Verdict>,
    /// Where the chart was written, if it was.
    pub chart: Option<PathBuf>,
}

/// A server the cases are run against.
enum Target {
    /// A step the bench builds and starts itself, once per case, with the
    /// options of the case that it has (its `--help` lists them).
    Step {
        step: Step,
        binary: PathBuf,
        options: BTreeSet<String>,
    },
    /// A server already running.
    Addr {
        addr: SocketAddr,
        protocol: Protocol,
        dialect: Dialect,
    },
}

impl Target {
    fn name(&self) -> String {
        match self {
            Target::Step { step, .. } => step.short.clone(),
            Target::Addr { addr, .. } => addr.to_string(),
        }
    }

    /// Whether it has `defence`, by its `--help` (a server the bench did not
    /// start says nothing of its options: it is taken at its word).
    fn has(&self, defence: Defence) -> bool {
        match self {
            Target::Step { options, .. } => options.contains(defence.option()),
            Target::Addr { .. } => true,
        }
    }
}

/// `cargo xtask bench`: runs, prints, and exits with success unless the
/// bench itself failed (missed targets are reported, not fatal).
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    execute(args)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the bench as `args` say, printing as it goes, and returns the rows.
pub fn execute(args: &Args) -> anyhow::Result<Report> {
    let scenario = args.scenario.unwrap_or(if args.compare.is_empty() {
        Scenario::Quick
    } else {
        Scenario::All
    });
    let overrides = scenarios::Overrides {
        clients: args.clients.clone(),
        senders: args.senders,
        messages: args.messages,
        rate: args.rate,
        size: args.size,
        stalled: args.stalled,
        window: args.window,
        stall_after: Some(
            Duration::try_from_secs_f64(args.stall_after)
                .context("--stall-after must be a positive number of seconds")?,
        ),
    };
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    if args.stall_after.is_nan() || args.stall_after <= 0.0 {
        bail!("--stall-after must be a positive number of seconds");
    }
    let cases = scenarios::cases(scenario, &overrides);
    if cases.iter().any(|c| c.load.clients == 0) {
        bail!("--clients must be at least 1");
    }
    let targets = targets(args, scenario)?;
    let most_clients = cases.iter().map(|c| c.load.clients).max().unwrap_or(0);
    ensure_fds(most_clients as u64 + SPARE_FDS)?;

    let colour = term::colour_enabled();
    let baseline = targets[0].name();
    println!("machine: {}", machine());
    if let Some(note) = flood_control_note(&cases, &targets) {
        println!("{note}");
    }
    println!();
    let mut rows: Vec<Row> = Vec::new();
    for case in &cases {
        let targets: Vec<&Target> = targets
            .iter()
            .filter(|t| runs_on(case, t, scenario))
            .collect();
        // Repetitions alternate between the steps, so a machine that gets
        // busier during the run slows them all alike.
        let mut runs: Vec<Vec<Outcome>> = vec![Vec::new(); targets.len()];
        for round in 1..=args.repeat {
            for (target, outcomes) in targets.iter().zip(&mut runs) {
                outcomes.push(run_case(case, target, (round, args.repeat))?);
            }
        }
        for (target, outcomes) in targets.iter().zip(runs) {
            let row = Row::from_runs(case.scenario, target.name(), case.load.clone(), outcomes);
            let base = report::baseline_of(&rows, &row, &baseline);
            println!("{}\n", report::criterion(&row, base));
            rows.push(row);
        }
    }

    println!("{}", term::paint("Summary", Colour::Bold, colour));
    print!("{}", report::table(&rows, &baseline));
    let has =
        |step: &str, defence: Defence| targets.iter().any(|t| t.name() == step && t.has(defence));
    let verdicts = scenarios::verdicts(&rows, &baseline, &has);
    if !verdicts.is_empty() {
        println!(
            "\n{}",
            term::paint(
                &format!("Targets in this run (ratios against {baseline})"),
                Colour::Bold,
                colour
            )
        );
        print_verdicts(&verdicts, colour);
    }
    let async_verdicts = async_targets::verdicts(&rows);
    if !async_verdicts.is_empty() {
        println!(
            "\n{}",
            term::paint(
                &format!(
                    "Targets (issue 14), {} in this run",
                    async_targets::judged()
                ),
                Colour::Bold,
                colour
            )
        );
        print_verdicts(&async_verdicts, colour);
    }
    if let Some(path) = &args.csv {
        std::fs::write(path, report::csv(&rows, &baseline))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("\ncsv: {}", path.display());
    }
    let mut chart_path = None;
    let series = chart::fanout_series(&rows);
    if !args.no_chart && chart::chartable(&series) {
        let path = args
            .chart
            .clone()
            .unwrap_or_else(|| workspace::root().join(CHART));
        chart::draw(&series, &chart_subtitle(&rows), &path)?;
        let root = workspace::root();
        println!(
            "chart: {}",
            path.strip_prefix(&root).unwrap_or(&path).display()
        );
        chart_path = Some(path);
    }
    let mut verdicts = verdicts;
    verdicts.extend(async_verdicts);
    Ok(Report {
        rows,
        baseline,
        verdicts,
        chart: chart_path,
    })
}

fn print_verdicts(verdicts: &[Verdict], colour: bool) {
    for v in verdicts {
        let mark = match v.mark {
            Mark::Pass => term::paint("pass", Colour::Green, colour),
            Mark::Fail => term::paint("FAIL", Colour::Red, colour),
            Mark::NoClaim => term::paint("note", Colour::Yellow, colour),
        };
        println!("  {mark}  {:<6} {}: {}", v.step, v.target, v.measured);
    }
}

/// Whether `case` runs on `target`: everywhere, but for a scenario that
/// runs only on some steps when it is part of `all` (asked for by name,
/// with `--compare`, it runs where it is told).
fn runs_on(case: &scenarios::Case, target: &Target, asked: Scenario) -> bool {
    match (case.scenario.only_on(), target) {
        (Some(steps), Target::Step { step, .. }) if asked != case.scenario => {
            steps.contains(&step.number)
        }
        _ => true,
    }
}

/// The servers to load: `--addr`, or the steps, built.
fn targets(args: &Args, scenario: Scenario) -> anyhow::Result<Vec<Target>> {
    let wants_echo = scenario == Scenario::Echo;
    if let Some(addr) = &args.addr {
        let resolved = addr
            .to_socket_addrs()
            .with_context(|| format!("`{addr}` is not a HOST:PORT address"))?
            .next()
            .with_context(|| format!("`{addr}` resolves to no address"))?;
        let protocol = if wants_echo {
            Protocol::Echo
        } else {
            Protocol::Chat(args.framing)
        };
        let dialect = Dialect::new(&args.join_pattern, &args.leave_pattern, args.greeting_lines)?;
        return Ok(vec![Target::Addr {
            addr: resolved,
            protocol,
            dialect,
        }]);
    }
    let names: Vec<String> = if args.compare.is_empty() {
        scenario
            .default_steps()
            .iter()
            .copied()
            .map(server::short_name)
            .collect()
    } else {
        args.compare.clone()
    };
    let mut steps = Vec::new();
    for name in &names {
        match Step::find(name.trim()) {
            Ok(step) => steps.push(step),
            // A default list may name a step not written yet: run the rest.
            Err(e) if args.compare.is_empty() => eprintln!("skipping {name}: {e:#}"),
            Err(e) => return Err(e),
        }
    }
    if steps.is_empty() {
        bail!("none of {} is written yet", names.join(", "));
    }
    for step in &steps {
        match (wants_echo, step.protocol) {
            (true, Protocol::Chat(_)) => bail!(
                "{} is a chat server; the echo scenario compares echo servers (step1,step2)",
                step.short
            ),
            (false, Protocol::Echo) => bail!(
                "{} is an echo server; the {} scenario needs chat servers (step4 or later): \
                 try `cargo xtask bench echo`",
                step.short,
                scenario.name()
            ),
            _ => {}
        }
    }
    let profile = if args.dev {
        Profile::Dev
    } else {
        Profile::Release
    };
    let packages: Vec<&str> = steps.iter().map(|s| s.package.as_str()).collect();
    eprintln!("building {} ({profile:?})", packages.join(", "));
    let binaries = build::build_binaries(&packages, profile)?;
    steps
        .into_iter()
        .zip(binaries)
        .map(|(step, binary)| {
            let options = server::options_of(&binary)?;
            Ok(Target::Step {
                step,
                binary,
                options,
            })
        })
        .collect()
}

/// Runs one case against one target, with a fresh server when it is a step.
fn run_case(
    case: &scenarios::Case,
    target: &Target,
    (round, rounds): (usize, usize),
) -> anyhow::Result<Outcome> {
    let label = format!(
        "{}/{}/{}",
        case.scenario.name(),
        target.name(),
        case.load.clients
    );
    let progress = progress::Progress::new(&if rounds > 1 {
        format!("{label} ({round}/{rounds})")
    } else {
        label.clone()
    });
    // The flood scenario has its own engine (a flooder, listeners at a
    // terminal's pace, chatters); every other one is the load engine's.
    let run = |addr, protocol, dialect: &Dialect, sampler: Option<&proc::Sampler>| match (
        case.scenario,
        protocol,
    ) {
        (Scenario::Flood, Protocol::Chat(framing)) => {
            flood::run(addr, framing, &case.load, sampler, &progress)
        }
        _ => load::run(addr, protocol, dialect, &case.load, sampler, &progress),
    };
    let outcome = match target {
        Target::Addr {
            addr,
            protocol,
            dialect,
        } => run(*addr, *protocol, dialect, None).map_err(|e| bench_error(e, &label, None))?,
        Target::Step {
            step,
            binary,
            options,
        } => {
            let args = step_args(case, options);
            let mut server = ServerProcess::start(binary, &args)?;
            let sampler = proc::Sampler::start(server.pid());
            let outcome = run(
                server.addr,
                step.protocol,
                &Dialect::course(),
                sampler.as_ref(),
            )
            .map_err(|e| bench_error(e, &label, Some(&server)))?;
            if let Some(s) = sampler {
                s.finish();
            }
            if !server.is_running() {
                eprintln!(
                    "warning: {} exited during {label}; its last output:\n{}",
                    step.package,
                    server.tail()
                );
            }
            outcome
        }
    };
    Ok(outcome)
}

/// The options `case` starts a step with: those of
/// [`Case::server_options`](scenarios::Case::server_options) that the
/// step's `--help` lists (steps 4 and 6 have no flood control to set).
fn step_args(case: &scenarios::Case, options: &BTreeSet<String>) -> Vec<String> {
    case.server_options()
        .into_iter()
        .filter(|(option, _)| options.contains(*option))
        .flat_map(|(option, value)| [option.to_string(), value])
        .collect()
}

/// What the run does to the steps' flood control, one line per scenario,
/// for the steps that have it; and which steps have none.
fn flood_control_note(cases: &[scenarios::Case], targets: &[Target]) -> Option<String> {
    let steps = |has: bool| -> Vec<String> {
        targets
            .iter()
            .filter(|t| matches!(t, Target::Step { .. }) && t.has(Defence::FloodControl) == has)
            .map(Target::name)
            .collect()
    };
    let (with, without) = (steps(true), steps(false));
    if with.is_empty() {
        return None;
    }
    let mut lines: Vec<String> = Vec::new();
    for case in cases {
        let line = format!("  {}", case.flood_control());
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    let mut note = format!(
        "flood control of {} in every run:\n{}",
        with.join(", "),
        lines.join("\n")
    );
    if !without.is_empty() {
        let option = Defence::FloodControl.option();
        note.push_str(&format!(
            "\nno flood control in {} (no {option} in their --help): they get none of these",
            without.join(", ")
        ));
    }
    Some(note)
}

/// The error a case ended with, said for what it is: the bench's own
/// failure, or a server the bench could not load (with its last words).
fn bench_error(error: anyhow::Error, label: &str, server: Option<&ServerProcess>) -> anyhow::Error {
    if error.is::<BenchFault>() {
        return error.context(format!(
            "{label} was not measured: the bench failed, whatever the server did"
        ));
    }
    match server {
        Some(server) => error.context(format!(
            "{label} failed; the server's last output:\n{}",
            server.tail()
        )),
        None => error.context(format!("{label} failed")),
    }
}

/// Makes sure this process (and the servers it starts, which inherit the
/// limit) may open `needed` files: raises the soft limit up to the hard one,
/// or says what to run.
fn ensure_fds(needed: u64) -> anyhow::Result<()> {
    let limit = rlimit::increase_nofile_limit(needed)
        .context("cannot read the open-files limit (ulimit -n)")?;
    if limit < needed {
        bail!(
            "this run needs about {needed} open files but the limit is {limit}; \
             raise it in this shell first (`ulimit -n {needed}`) or run fewer --clients"
        );
    }
    Ok(())
}

/// The machine the figures come from: cores, CPU model (where the system
/// says), operating system.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("model name"))?;
            Some(line.split_once(':')?.1.trim().to_string())
        })
        .map_or(String::new(), |model| format!(" ({model})"));
    format!("{cores} cores{cpu}, {}", std::env::consts::OS)
}

/// The load and machine the chart's figures come from.
fn chart_subtitle(rows: &[Row]) -> String {
    let load = rows
        .iter()
        .find(|r| r.scenario == Scenario::Fanout)
        .map(|r| {
            let rate = r
                .load
                .rate
                .map_or("full speed".into(), |x| format!("{x}/s"));
            let runs = match r.rates.len() {
                1 => String::new(),
                n => format!(", median of {n} runs"),
            };
            format!(
                "{} senders at {rate}, {}-byte texts{runs}",
                r.load.senders, r.load.size
            )
        })
        .unwrap_or_default();
    format!("{load}; {}; higher is better", machine())
}
