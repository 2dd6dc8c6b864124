//! The class board, behind `cargo xtask board`: the instructor's live view
//! of who has passed what, as students share their results with `cargo
//! xtask check --share` (or once for all with `cargo xtask share`).
//!
//! It listens like every server of the course (port 65434; first stdout
//! line `listening on IP:PORT`, then the address students should use) and
//! keeps a table on the terminal: one row per student and address, one
//! column per exercise (`passed`, `3/6 missing-newline`, `does not build`,
//! or `-`), the stuck in reverse video. `--csv FILE` keeps the
//! same table as CSV for a gradebook. Output that is not a terminal (a
//! file, a pipe) gets one line per report instead.
//!
//! It is a server in a room with a prankster, held to the course's rules:
//! see `gate.rs` (connections and pace per address), `server.rs` (one
//! bounded line per connection), `report.rs` (what a report may hold) and
//! `roster.rs` (whose row a report may change).

mod gate;
mod report;
mod roster;
mod server;
mod show;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use crossterm::cursor::MoveTo;
use crossterm::queue;
use crossterm::terminal::{self, Clear, ClearType};
use xtask::share::wire::{self, DEFAULT_PORT};
use xtask::term::{self, Colour, paint};

use gate::Gate;
use roster::{Roster, Row};
use server::{Board, News};

/// The class board: who has passed what, live, as students share it.
#[derive(Parser)]
#[command(name = "cargo xtask board", version, about)]
struct Cli {
    #[command(flatten)]
    args: xtask::board::Args,
}

/// How much news may wait for the display before it is dropped.
const NEWS_QUEUE: usize = 1024;

fn main() -> ExitCode {
    match run(Cli::parse().args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: xtask::board::Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))
        .unwrap_or_else(classroom::cannot_listen);
    let (bound, hint) = classroom::announce_with(&listener, &|ip, port| {
        format!(
            "cargo xtask share {} --name YOUR_NAME",
            board_address(ip, port)
        )
    })?;
    let (news, heard) = mpsc::sync_channel(NEWS_QUEUE);
    let board: &'static Board = Box::leak(Box::new(Board {
        roster: Mutex::new(Roster::new(usize::from(args.per_address))),
        gate: Gate::new(usize::from(args.per_address)),
        news,
        reports: AtomicU64::new(0),
        refused: AtomicU64::new(0),
    }));
    thread::Builder::new()
        .name("accept".into())
        .spawn(move || server::accept(listener, board))
        .context("cannot start the board's accepting thread")?;
    let mut display = Display {
        board,
        stuck_after: Duration::from_secs(u64::from(args.stuck_after) * 60),
        terminal: std::io::stdout().is_terminal(),
        colour: term::colour_enabled(),
        header: std::iter::once(format!("listening on {bound}"))
            .chain(hint)
            .collect(),
        csv: args.csv.map(CsvFile::new),
        last_refusal: None,
        refusals: RefusalLog::default(),
    };
    if !display.terminal {
        term::say("  one line per report follows; Ctrl-C stops the board");
    }
    display.run(&heard);
    Ok(())
}

/// How a student types the board's address: the port only when it is not
/// the default.
fn board_address(ip: IpAddr, port: u16) -> String {
    if port == DEFAULT_PORT {
        ip.to_string()
    } else {
        wire::board_text(&ip.to_string(), port)
    }
}

struct Display {
    board: &'static Board,
    stuck_after: Duration,
    terminal: bool,
    colour: bool,
    /// The listening line and the address hint, kept above the table.
    header: Vec<String>,
    csv: Option<CsvFile>,
    last_refusal: Option<String>,
    refusals: RefusalLog,
}

impl Display {
    fn run(&mut self, heard: &Receiver<News>) {
        let mut drawn: Option<Instant> = None;
        loop {
            let mut changed = false;
            match heard.recv_timeout(Duration::from_millis(250)) {
                Ok(news) => {
                    self.hear(news);
                    while let Ok(news) = heard.try_recv() {
                        self.hear(news);
                    }
                    changed = true;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let now = Instant::now();
            let rows = self.board.roster().rows().to_vec();
            if let Some(csv) = &mut self.csv {
                csv.update(&show::csv(&rows, now, self.stuck_after), self.terminal);
            }
            // A redraw a second at least: "stuck" comes with time alone.
            if self.terminal
                && (changed || drawn.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)))
            {
                self.draw(&rows, now);
                drawn = Some(now);
            }
        }
    }

    fn hear(&mut self, news: News) {
        let now = Instant::now();
        match news {
            News::Recorded { row, exercise } if !self.terminal => {
                let line = self
                    .board
                    .roster()
                    .rows()
                    .get(row - 1)
                    .map(|r| show::log_line(row, r, exercise, now, self.stuck_after));
                if let Some(line) = line {
                    term::say(line);
                }
            }
            News::Recorded { .. } => {}
            News::Refused { address, why } => {
                let line = format!("{} refused {address}: {why}", classroom::timestamp());
                if self.terminal {
                    self.last_refusal = Some(line);
                } else if let Some(line) = self.refusals.line(address, line, now) {
                    term::say(line);
                }
            }
        }
    }

    /// Draws the whole screen over the last one (line by line, without
    /// clearing first, so it does not flicker).
    fn draw(&self, rows: &[Row], now: Instant) {
        let (width, height) =
            terminal::size().map_or((100, 40), |(w, h)| (usize::from(w), usize::from(h)));
        let reports = self.board.reports.load(Ordering::Relaxed);
        let refused = self.board.refused.load(Ordering::Relaxed);
        // Every line on one screen line (cut before painting), so that the
        // screen holds what was counted.
        let fit = |text: &str, colour: Colour| {
            let cut: String = text.chars().take(width.saturating_sub(1)).collect();
            paint(&cut, colour, self.colour)
        };
        let students = match rows.len() {
            1 => "1 student".to_string(),
            n => format!("{n} students"),
        };
        let title = format!(
            "class board: {students}, {reports} reports, {refused} refused   (Ctrl-C stops it)"
        );
        let mut lines = vec![fit(&title, Colour::Bold)];
        lines.extend(self.header.iter().map(|line| {
            let cut: String = line.chars().take(width.saturating_sub(1)).collect();
            cut
        }));
        lines.push(String::new());
        let mut table = show::table(
            rows,
            now,
            self.stuck_after,
            width.saturating_sub(1),
            self.colour,
        );
        let mut footer = Vec::new();
        footer.push(String::new());
        if let Some(refusal) = &self.last_refusal {
            footer.push(fit(&format!("last refused: {refusal}"), Colour::Yellow));
        }
        if let Some(csv) = &self.csv {
            footer.push(fit(&csv.status(), Colour::Dim));
        }
        // Rows that do not fit are left out, and said so: the CSV has them.
        let room = height.saturating_sub(lines.len() + footer.len() + 2);
        if table.len() > room.max(2) {
            let hidden = table.len() - room.max(2);
            table.truncate(room.max(2));
            table.push(paint(
                &format!(
                    "... and {hidden} more rows (a taller terminal, or --csv, shows them all)"
                ),
                Colour::Dim,
                self.colour,
            ));
        }
        lines.extend(table);
        lines.extend(footer);
        let mut out = std::io::stdout().lock();
        let _ = queue!(out, MoveTo(0, 0));
        for line in &lines {
            let _ = write!(out, "{line}");
            let _ = queue!(out, Clear(ClearType::UntilNewLine));
            let _ = writeln!(out);
        }
        let _ = queue!(out, Clear(ClearType::FromCursorDown));
        let _ = out.flush();
    }
}

/// The CSV file, rewritten whenever the table changes: written beside it
/// and renamed over it, so a gradebook never reads half a file.
struct CsvFile {
    path: PathBuf,
    written: Option<String>,
    at: Option<String>,
    problem: Option<String>,
}

impl CsvFile {
    fn new(path: PathBuf) -> CsvFile {
        CsvFile {
            path,
            written: None,
            at: None,
            problem: None,
        }
    }

    fn update(&mut self, text: &str, quiet: bool) {
        if self.written.as_deref() == Some(text) {
            return;
        }
        let mut partial = self.path.clone().into_os_string();
        partial.push(".partial");
        let result =
            std::fs::write(&partial, text).and_then(|()| std::fs::rename(&partial, &self.path));
        match result {
            Ok(()) => {
                self.written = Some(text.to_string());
                self.at = Some(classroom::timestamp());
                self.problem = None;
            }
            Err(error) => {
                let problem = format!(
                    "cannot write {}: {error} (open in a spreadsheet? it is tried again)",
                    self.path.display()
                );
                if !quiet && self.problem.as_ref() != Some(&problem) {
                    eprintln!("{problem}");
                }
                self.problem = Some(problem);
            }
        }
    }

    fn status(&self) -> String {
        match (&self.problem, &self.at) {
            (Some(problem), _) => problem.clone(),
            (None, Some(at)) => format!("CSV: {} (updated {at} UTC)", self.path.display()),
            (None, None) => format!("CSV: {} (written at the first report)", self.path.display()),
        }
    }
}

/// Without a terminal, one refusal line per address a second at most: a
/// flood of refusals is one line and a count, not a flood of lines.
#[derive(Default)]
struct RefusalLog {
    last: HashMap<IpAddr, (Instant, u64)>,
}

impl RefusalLog {
    fn line(&mut self, address: IpAddr, line: String, now: Instant) -> Option<String> {
        if self.last.len() > 1024 {
            self.last.clear();
        }
        match self.last.get_mut(&address) {
            Some((at, hidden)) if now.duration_since(*at) < Duration::from_secs(1) => {
                *hidden += 1;
                None
            }
            Some((at, hidden)) => {
                let more = std::mem::take(hidden);
                *at = now;
                Some(if more > 0 {
                    format!("{line} (and {more} more refused from {address} before)")
                } else {
                    line
                })
            }
            None => {
                self.last.insert(address, (now, 0));
                Some(line)
            }
        }
    }
}
