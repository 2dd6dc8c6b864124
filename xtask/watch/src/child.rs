//! The commands `watch` runs for the student: `check`, `hint` and `list`,
//! as subcommands of the runner beside it (`xtask`, in the same target
//! directory), so what they print is exactly what they print in a terminal
//! of their own (colours included).
//!
//! A grading is a process tree: the check, its `cargo build` (and rustc),
//! the servers it grades. Stopping one (a new save, `n`, `q`, Ctrl-C) stops
//! the whole tree: on Unix the check runs in a process group of its own,
//! which one signal ends (rustix: no unsafe code); on Windows `taskkill /T`
//! ends the tree.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Sender;
use std::thread;

use anyhow::{Context, bail};

/// The longest line passed on (a runaway line is cut, not buffered whole).
const MAX_LINE: u64 = 64 * 1024;

/// The runner (`cargo xtask`'s binary), beside this one.
fn runner() -> anyhow::Result<PathBuf> {
    let here = std::env::current_exe().context("cannot find where watch mode runs from")?;
    let runner = here.with_file_name(format!("xtask{}", std::env::consts::EXE_SUFFIX));
    if !runner.is_file() {
        bail!(
            "cannot find the runner at {}: run `cargo xtask watch`",
            runner.display()
        );
    }
    Ok(runner)
}

/// The runner, running `args`, its output piped to us. With `colour`, it
/// and cargo colour their output as they would on a terminal.
pub fn subcommand(args: &[String], colour: bool) -> anyhow::Result<Command> {
    let mut command = Command::new(runner()?);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if colour {
        command
            .env("CLICOLOR_FORCE", "1")
            .env("CARGO_TERM_COLOR", "always");
    }
    Ok(command)
}

/// Runs a quick subcommand (`hint`, `list`) to its end: its output lines,
/// stdout then stderr.
pub fn output_lines(args: &[String], colour: bool) -> anyhow::Result<Vec<String>> {
    let output = subcommand(args, colour)?
        .output()
        .context("cannot run the runner")?;
    let mut lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.extend(
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .map(str::to_string),
    );
    Ok(lines)
}

/// What a running grading reports to the main loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// A line of its output (stdout or stderr, as they come).
    Line(String),
    /// One of its two pipes closed; after both, it has ended.
    Closed,
}

/// A running grading: a process tree, stopped when dropped.
pub struct Grading {
    child: Child,
    /// Which grading this is: lines of an earlier one still in the channel
    /// carry its id and are ignored.
    pub id: u64,
    open_pipes: u8,
    ended: bool,
}

impl Grading {
    /// Starts `command` (from [`subcommand`]) in a process group of its own,
    /// sending what it says as `wrap(id, said)`.
    pub fn start<E: Send + 'static>(
        mut command: Command,
        id: u64,
        tx: Sender<E>,
        wrap: fn(u64, Said) -> E,
    ) -> anyhow::Result<Grading> {
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = command.spawn().context("cannot start the check")?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        pass_on(stdout, id, tx.clone(), wrap);
        pass_on(stderr, id, tx, wrap);
        Ok(Grading {
            child,
            id,
            open_pipes: 2,
            ended: false,
        })
    }

    /// A pipe closed. Once both have, the check has ended (or is ending):
    /// its exit status.
    pub fn pipe_closed(&mut self) -> Option<ExitStatus> {
        self.open_pipes = self.open_pipes.saturating_sub(1);
        if self.open_pipes > 0 {
            return None;
        }
        let status = self.child.wait().ok();
        self.ended = true;
        status
    }

    /// Stops the whole tree now and waits for the check to end.
    pub fn stop(mut self) {
        self.kill_tree();
    }

    fn kill_tree(&mut self) {
        if self.ended || matches!(self.child.try_wait(), Ok(Some(_))) {
            self.ended = true;
            return;
        }
        kill_tree(&mut self.child);
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.ended = true;
    }
}

impl Drop for Grading {
    fn drop(&mut self) {
        self.kill_tree();
    }
}

/// Ends the process group the child leads: the check, cargo, rustc, the
/// servers under test.
#[cfg(unix)]
fn kill_tree(child: &mut Child) {
    let pid = rustix::process::Pid::from_child(child);
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

/// Ends the child and every process it started (`taskkill /T`, which every
/// Windows has).
#[cfg(windows)]
fn kill_tree(child: &mut Child) {
    let _ = Command::new("taskkill")
        .args(["/PID", &child.id().to_string(), "/T", "/F"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(not(any(unix, windows)))]
fn kill_tree(_child: &mut Child) {}

/// Reads `pipe` line by line on a thread of its own, sending each line,
/// then [`Said::Closed`].
fn pass_on<E: Send + 'static>(
    pipe: impl Read + Send + 'static,
    id: u64,
    tx: Sender<E>,
    wrap: fn(u64, Said) -> E,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        loop {
            let mut line = Vec::new();
            match reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']).to_string();
                    if tx.send(wrap(id, Said::Line(text))).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(wrap(id, Said::Closed));
    });
}

#[cfg(all(test, unix))]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::*;

    /// Stopping a grading stops what it started too: a build, the servers
    /// under test. Played here by a shell that starts a sleeper.
    #[test]
    fn stopping_a_grading_stops_everything_it_started() {
        let alive = |pid: u32| {
            // A zombie is as good as gone: it runs nothing.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|stat| !stat.contains(") Z "))
                .unwrap_or(false)
        };
        if !std::path::Path::new("/proc/self/stat").exists() {
            println!("note: no /proc here: cannot see the sleeper; skipped");
            return;
        }
        let mut command = Command::new("sh");
        command
            .args(["-c", "sleep 300 & echo $!; wait"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (tx, rx) = mpsc::channel();
        let grading = Grading::start(command, 1, tx, |id, said| (id, said)).unwrap();
        let pid = match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            (1, Said::Line(line)) => line.trim().parse::<u32>().unwrap(),
            other => panic!("expected the sleeper's pid, got {other:?}"),
        };
        assert!(alive(pid), "the sleeper runs");
        grading.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(pid) {
            assert!(
                Instant::now() < deadline,
                "the sleeper {pid} outlived its grading"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
