//! Watch mode, behind `cargo xtask watch`: rustlings' watch mode for the
//! course. It starts on the first exercise not passing yet (from the
//! results `list` keeps), grades it on every save under its folder, and
//! shows the result exactly as `check` prints it (it runs `check`), under
//! a progress line. One key each: `h` the next hint, `n` the next exercise,
//! `l` the list, `r` grade again, `q` (or Ctrl-C) quit.
//!
//! Saves are noticed by the system's file events; where those never come
//! (WSL 2 on a Windows drive, network folders) `watch` sees the save by its
//! modification time and proposes polling (`p`, or `--poll` from the
//! start); `--manual` grades on `r` only. See `files.rs`.
//!
//! Its own package (see `xtask/src/watch.rs`): a plain `cargo xtask check`
//! does not compile the file watcher and the terminal crate.

mod child;
mod files;
mod screen;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use xtask::course::{self, EXERCISES, Package};
use xtask::list;
use xtask::results;
use xtask::term::{self, Colour};

use child::{Grading, Said};
use files::{FileWatcher, Mode, Silence, Trigger};
use screen::{RawMode, Screen};

/// Grade the current exercise on every save; one key for hint, next, list.
#[derive(Parser)]
#[command(name = "cargo xtask watch", version, about)]
struct Cli {
    #[command(flatten)]
    args: xtask::watch::Args,
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Hint,
    Next,
    List,
    Regrade,
    Poll,
    Quit,
}

/// The command a key press means, if any.
fn command_for(key: &KeyEvent) -> Option<Command> {
    if key.kind != KeyEventKind::Press {
        // Windows reports releases too.
        return None;
    }
    let KeyCode::Char(c) = key.code else {
        return None;
    };
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        // Raw mode turns Ctrl-C into a key: it still quits.
        return (c == 'c').then_some(Command::Quit);
    }
    match c.to_ascii_lowercase() {
        'h' => Some(Command::Hint),
        'n' => Some(Command::Next),
        'l' => Some(Command::List),
        'r' => Some(Command::Regrade),
        'p' => Some(Command::Poll),
        'q' => Some(Command::Quit),
        _ => None,
    }
}

/// Where to start: the first exercise not passing, else the last one.
fn starting_exercise(passing: &[(u8, bool)]) -> Option<u8> {
    passing
        .iter()
        .find(|(_, passes)| !passes)
        .or(passing.last())
        .map(|(n, _)| *n)
}

/// The exercise after `n` that this copy of the course has.
fn next_exercise(n: u8) -> Option<u8> {
    EXERCISES
        .filter(|&m| m > n)
        .find(|&m| course::exercise(m).is_some())
}

/// What the main loop hears.
#[derive(Debug, Clone)]
enum Event {
    Key(KeyEvent),
    /// The keyboard cannot be read any more.
    KeysGone,
    /// A file changed under the exercise's folder.
    Saved,
    /// What grading number `id` said.
    Grading(u64, Said),
}

/// How often the loop wakes up with nothing to do (to see quiet files).
const TICK: Duration = Duration::from_millis(50);

fn main() -> ExitCode {
    // As the runner says errors: one plain line.
    match run(&Cli::parse().args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &xtask::watch::Args) -> anyhow::Result<ExitCode> {
    xtask::watch::needs_a_terminal()?;
    let passing = list::passing();
    let n = match args.exercise {
        Some(n) => n,
        None => starting_exercise(&passing).context("this copy of the course has no exercises")?,
    };
    let package =
        course::exercise(n).with_context(|| format!("there is no exercises/exercise{n}"))?;
    let mode = if args.manual {
        Mode::Manual
    } else if args.poll {
        Mode::Polling
    } else {
        Mode::Events
    };
    let stop = stop_on_signals();
    let colour = term::colour_enabled();
    let (tx, rx) = mpsc::channel();
    let _raw = RawMode::enable().context("cannot put the terminal in raw mode")?;
    read_keys(tx.clone());
    let mut watch = Watch {
        tx,
        exercise: n,
        package,
        mode,
        watcher: None,
        grading: None,
        next_id: 0,
        trigger: Trigger::default(),
        silence: Silence::default(),
        screen: Screen::new(colour),
        progress: (0, 0),
        verdict: None,
        polling_proposed: false,
    };
    watch.start_watching();
    watch.grade();
    watch.main_loop(&rx, &stop);
    let interrupted = watch.grading.is_some();
    watch.stop_grading();
    let parting = watch.parting_words(interrupted);
    watch.screen.set_footer(parting);
    watch.screen.finish();
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C arrives as a key in raw mode; a signal (a closed terminal, `kill`)
/// sets this flag, and the loop ends as on `q`.
fn stop_on_signals() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
    }
    flag
}

/// Reads key presses on a thread of its own.
fn read_keys(tx: Sender<Event>) {
    thread::spawn(move || {
        loop {
            match crossterm::event::read() {
                Ok(crossterm::event::Event::Key(key)) => {
                    if tx.send(Event::Key(key)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    let _ = tx.send(Event::KeysGone);
                    return;
                }
            }
        }
    });
}

/// How the last grading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Passed,
    Failed,
}

struct Watch {
    tx: Sender<Event>,
    exercise: u8,
    package: Package,
    mode: Mode,
    watcher: Option<FileWatcher>,
    grading: Option<Grading>,
    next_id: u64,
    trigger: Trigger,
    silence: Silence,
    screen: Screen,
    /// Exercises passing, out of all (recounted after each grading).
    progress: (usize, usize),
    verdict: Option<Verdict>,
    polling_proposed: bool,
}

impl Watch {
    fn main_loop(&mut self, rx: &Receiver<Event>, stop: &AtomicBool) {
        loop {
            match rx.recv_timeout(TICK) {
                Ok(event) => {
                    if !self.handle(event) {
                        return;
                    }
                    // Take what else is there before drawing the footer.
                    while let Ok(event) = rx.try_recv() {
                        if !self.handle(event) {
                            return;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if stop.load(Ordering::Relaxed) {
                return;
            }
            self.on_time(Instant::now());
            let footer = self.footer();
            self.screen.set_footer(footer);
            self.screen.flush();
        }
    }

    /// Handles one event; `false` to quit.
    fn handle(&mut self, event: Event) -> bool {
        let now = Instant::now();
        match event {
            Event::Key(key) => match command_for(&key) {
                Some(Command::Quit) => return false,
                Some(command) => self.command(command),
                None => {}
            },
            Event::KeysGone => return false,
            Event::Saved => {
                self.trigger.saved(now);
                self.silence.event(now);
            }
            Event::Grading(id, said) => {
                let Some(grading) = self.grading.as_mut().filter(|g| g.id == id) else {
                    // An earlier grading's last words.
                    return true;
                };
                match said {
                    Said::Line(line) => self.screen.line(&line),
                    Said::Closed => {
                        if let Some(status) = grading.pipe_closed() {
                            self.graded(status.success());
                        }
                    }
                }
            }
        }
        true
    }

    /// What happens with time: a grading once saves settle, a look at the
    /// files' modification times.
    fn on_time(&mut self, now: Instant) {
        let dir = self.package.dir.clone();
        if self.mode == Mode::Events && self.silence.time_to_look(now) {
            self.silence.looked(now, files::stamp(&dir));
            if self.silence.unreported(now) {
                self.propose_polling();
                // The save it saw is graded all the same.
                self.trigger.saved(now);
            }
        }
        let grading = self.grading.is_some();
        if self
            .trigger
            .due(now, grading, || results::fingerprint(&dir))
        {
            self.grade();
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Hint => self.show(&["hint".to_string(), format!("exercise{}", self.exercise)]),
            Command::List => self.show(&["list".to_string()]),
            Command::Regrade => self.grade(),
            Command::Next => match next_exercise(self.exercise) {
                Some(next) => self.switch_to(next),
                None => self.screen.note(
                    &format!(
                        "exercise{} is the last exercise: l lists where you stand",
                        self.exercise
                    ),
                    Colour::Yellow,
                ),
            },
            Command::Poll if self.mode == Mode::Events => {
                self.mode = Mode::Polling;
                self.start_watching();
                self.screen
                    .note("looking for saves every second from now on", Colour::Yellow);
            }
            Command::Poll | Command::Quit => {}
        }
    }

    /// Runs a quick subcommand and prints what it says below the rest.
    fn show(&mut self, args: &[String]) {
        self.screen.line("");
        match child::output_lines(args, self.screen.colour()) {
            Ok(lines) => {
                for line in lines {
                    self.screen.line(&line);
                }
            }
            Err(error) => self.screen.note(&format!("{error:#}"), Colour::Red),
        }
    }

    fn switch_to(&mut self, n: u8) {
        let Some(package) = course::exercise(n) else {
            return;
        };
        self.stop_grading();
        self.exercise = n;
        self.package = package;
        self.trigger = Trigger::default();
        self.silence = Silence::default();
        self.polling_proposed = false;
        self.start_watching();
        self.grade();
    }

    /// Watches the exercise's folder (again) in the current mode; if the
    /// system refuses file events, polls instead, and says so.
    fn start_watching(&mut self) {
        self.watcher = None;
        let dir = self.package.dir.clone();
        let on_save = || files::forward(self.tx.clone(), Event::Saved);
        match files::watch(&dir, self.mode, on_save()) {
            Ok(watcher) => self.watcher = Some(watcher),
            Err(error) if self.mode == Mode::Events => {
                self.mode = Mode::Polling;
                self.screen.note(
                    &format!(
                        "file events cannot be watched here ({error}): looking for saves every \
                         second instead"
                    ),
                    Colour::Yellow,
                );
                self.watcher = files::watch(&dir, self.mode, on_save()).ok();
            }
            Err(error) => {
                self.mode = Mode::Manual;
                self.screen.note(
                    &format!("cannot watch {} ({error}): press r to grade", dir.display()),
                    Colour::Red,
                );
            }
        }
    }

    fn propose_polling(&mut self) {
        if self.polling_proposed {
            return;
        }
        self.polling_proposed = true;
        self.screen.note(
            "a save came without a file event (WSL 2 on a Windows drive? a network folder?): \
             press p to look for saves every second instead",
            Colour::Yellow,
        );
    }

    /// Starts grading the current exercise (stopping a grading under way).
    fn grade(&mut self) {
        self.stop_grading();
        self.trigger
            .grading(results::fingerprint(&self.package.dir));
        self.verdict = None;
        self.progress = progress();
        self.screen.clear();
        let command = format!("cargo xtask check exercise{}", self.exercise);
        self.screen.note(&format!("$ {command}"), Colour::Dim);
        self.next_id += 1;
        let args = ["check".to_string(), format!("exercise{}", self.exercise)];
        let started = child::subcommand(&args, self.screen.colour()).and_then(|command| {
            Grading::start(command, self.next_id, self.tx.clone(), Event::Grading)
        });
        match started {
            Ok(grading) => self.grading = Some(grading),
            Err(error) => self.screen.note(&format!("{error:#}"), Colour::Red),
        }
    }

    /// A grading ended (the check's exit status says whether it passed).
    fn graded(&mut self, passed: bool) {
        self.grading = None;
        self.progress = progress();
        self.verdict = Some(if passed {
            Verdict::Passed
        } else {
            Verdict::Failed
        });
        if passed {
            self.screen.line("");
            let (passing, total) = self.progress;
            let text = match next_exercise(self.exercise) {
                _ if passing == total => format!(
                    "exercise{} passes, and so does every exercise: well done!",
                    self.exercise
                ),
                Some(next) => format!(
                    "exercise{} passes! Press n for exercise{next}.",
                    self.exercise
                ),
                None => format!("exercise{} passes! l shows what is left.", self.exercise),
            };
            self.screen.note(&text, Colour::Green);
        }
        let dir = self.package.dir.clone();
        if self.trigger.ended(|| results::fingerprint(&dir)) {
            self.grade();
        }
    }

    fn stop_grading(&mut self) {
        if let Some(grading) = self.grading.take() {
            grading.stop();
        }
    }

    /// The two lines at the bottom.
    fn footer(&self) -> Vec<String> {
        let (passing, total) = self.progress;
        let doing = match (self.grading.is_some(), self.verdict) {
            (true, _) => "grading...",
            (false, Some(Verdict::Passed)) => "passing",
            (false, Some(Verdict::Failed)) => "not passing yet",
            (false, None) => "",
        };
        let how = match self.mode {
            Mode::Events => "grades on every save",
            Mode::Polling => "looks for saves every second",
            Mode::Manual => "grades when you press r",
        };
        let mut keys = "h hint · n next · l list · r grade again · q quit".to_string();
        if self.polling_proposed && self.mode == Mode::Events {
            keys.push_str(" · p poll");
        }
        vec![
            format!(
                "{}   exercise{}: {doing}",
                list::progress_line(passing, total),
                self.exercise
            ),
            format!("{keys}   (watch {how})"),
        ]
    }
}

impl Watch {
    /// The footer left on the screen after `q`: no keys any more.
    fn parting_words(&self, interrupted: bool) -> Vec<String> {
        let (passing, total) = self.progress;
        let doing = match (interrupted, self.verdict) {
            (true, _) => "grading stopped",
            (false, Some(Verdict::Passed)) => "passing",
            (false, Some(Verdict::Failed)) => "not passing yet",
            (false, None) => "not graded",
        };
        vec![
            format!(
                "{}   exercise{}: {doing}",
                list::progress_line(passing, total),
                self.exercise
            ),
            "watch stopped: `cargo xtask watch` starts again where you are".to_string(),
        ]
    }
}

/// Exercises passing, and how many there are.
fn progress() -> (usize, usize) {
    let passing = list::passing();
    (passing.iter().filter(|(_, p)| *p).count(), passing.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn one_key_each() {
        let plain = |c| command_for(&key(KeyCode::Char(c), KeyModifiers::NONE));
        assert_eq!(plain('h'), Some(Command::Hint));
        assert_eq!(plain('n'), Some(Command::Next));
        assert_eq!(plain('l'), Some(Command::List));
        assert_eq!(plain('r'), Some(Command::Regrade));
        assert_eq!(plain('q'), Some(Command::Quit));
        assert_eq!(plain('Q'), Some(Command::Quit));
        assert_eq!(plain('x'), None);
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(command_for(&ctrl_c), Some(Command::Quit));
        let ctrl_h = key(KeyCode::Char('h'), KeyModifiers::CONTROL);
        assert_eq!(command_for(&ctrl_h), None);
        let mut release = key(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(command_for(&release), None, "Windows reports releases too");
        assert_eq!(command_for(&key(KeyCode::Enter, KeyModifiers::NONE)), None);
    }

    #[test]
    fn it_starts_on_the_first_exercise_not_passing() {
        assert_eq!(
            starting_exercise(&[(1, true), (2, false), (3, false)]),
            Some(2)
        );
        assert_eq!(starting_exercise(&[(1, false), (2, true)]), Some(1));
        assert_eq!(starting_exercise(&[(1, true), (2, true)]), Some(2));
        assert_eq!(starting_exercise(&[]), None);
    }
}
