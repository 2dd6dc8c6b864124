//! The demo in tmux: one pane per program, the chat server and three chat
//! clients (alice, bob, carol), for a person to type into.
//!
//! Run from a plain terminal, the demo is a tmux session of its own:
//! leaving it (detach, `Ctrl-b d`) ends it, and with it every program in
//! it: tmux hangs up on them. Run inside tmux (an instructor's own
//! session, attached or not), it is a window of that session instead, so
//! nothing ever detaches the user's tmux: closing the window (`Ctrl-b &`)
//! ends the demo. Either way a client that leaves keeps its pane, with its
//! last words (`DONE`), until the demo ends.

use std::path::Path;
use std::process::{Command, ExitCode, Output};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::cleanup;
use super::script::PEOPLE;
use crate::grader::server::parse_listening_line;
use crate::grader::timeouts::Timeouts;

/// The tmux session's name, and the window's inside an existing session.
pub const SESSION: &str = "chat-demo";

/// How often to look at the server's pane for its `listening on` line.
const POLL: Duration = Duration::from_millis(50);

/// Whether tmux is installed.
pub fn available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|output| output.status.success())
}

fn tmux(args: &[&str]) -> anyhow::Result<Output> {
    let output = Command::new("tmux")
        .args(args)
        .output()
        .context("cannot run tmux")?;
    if !output.status.success() {
        bail!(
            "tmux {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// `text` quoted for the POSIX shell tmux runs pane commands with.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

fn command_line(program: &Path, args: &[&str]) -> String {
    let mut words = vec![shell_quote(&program.to_string_lossy())];
    words.extend(args.iter().map(|arg| shell_quote(arg)));
    words.join(" ")
}

/// What the demo session runs.
pub struct Programs<'a> {
    pub package: &'a str,
    pub server: &'a Path,
    pub client: &'a Path,
    /// Extra client arguments (`--framing length-prefix` for step 7).
    pub client_args: &'a [&'a str],
}

/// Where the demo goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A tmux session of its own; this terminal attaches to it.
    Session,
    /// A tmux session of its own, left running in the background.
    DetachedSession,
    /// A new window of the tmux session this runs in (`$TMUX` is set).
    WindowHere,
}

/// Whether this process runs inside tmux (in one of its panes).
pub fn inside_tmux() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

/// Starts the demo's panes at `place` and, for [`Place::Session`], puts this
/// terminal in them until the user leaves.
pub fn run(programs: &Programs, place: Place) -> anyhow::Result<ExitCode> {
    let server = command_line(programs.server, &["--host", "127.0.0.1", "--port", "0"]);
    let (window, undo) = if place == Place::WindowHere {
        let taken = tmux(&["list-windows", "-F", "#{window_name}"])?;
        if String::from_utf8_lossy(&taken.stdout)
            .lines()
            .any(|name| name == SESSION)
        {
            bail!(
                "a demo is already running in the window {SESSION} of this tmux session: \
                 `tmux select-window -t {SESSION}` to see it, \
                 `tmux kill-window -t {SESSION}` to end it"
            );
        }
        // No -t: tmux opens it in the session this process runs in, found
        // from $TMUX, whether or not anyone is attached to it.
        let output = tmux(&[
            "new-window",
            "-d",
            "-P",
            "-F",
            "#{window_id}",
            "-n",
            SESSION,
            &server,
        ])?;
        let window = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let target = window.clone();
        let undo = cleanup::register(move || {
            let _ = tmux(&["kill-window", "-t", &target]);
        });
        (window, undo)
    } else {
        if tmux(&["has-session", "-t", SESSION]).is_ok() {
            bail!(
                "a demo is already running in the tmux session {SESSION}: \
                 `tmux attach -t {SESSION}` to see it, `tmux kill-session -t {SESSION}` to end it"
            );
        }
        tmux(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            "160",
            "-y",
            "48",
            "-n",
            "chat",
            &server,
        ])?;
        // Until someone is attached, a failure or Ctrl-C here must not
        // leave the session behind.
        let undo = cleanup::register(|| {
            let _ = tmux(&["kill-session", "-t", SESSION]);
        });
        (format!("{SESSION}:chat"), undo)
    };
    // A pane whose program exits stays on screen until the demo ends: a
    // server that fails to start can be read, and a client that says bye
    // keeps showing the server's DONE.
    tmux(&["set-option", "-w", "-t", &window, "remain-on-exit", "on"])?;
    // tmux 3.3 and later: say so in plain words (older ones say "Pane is
    // dead"; nothing is lost without it).
    let _ = tmux(&[
        "set-option",
        "-w",
        "-t",
        &window,
        "remain-on-exit-format",
        " #{pane_title} has left: this pane stays until the demo ends ",
    ]);
    let server_pane = first_pane(&window)?;
    let port = wait_for_port(&server_pane)?;

    let title = match place {
        Place::WindowHere => format!("server: {} (Ctrl-b & ends the demo)", programs.package),
        _ => format!("server: {}", programs.package),
    };
    tmux(&["select-pane", "-t", &server_pane, "-T", &title])?;
    let port = port.to_string();
    let mut panes: Vec<String> = Vec::new();
    for (name, _) in PEOPLE {
        let mut args = vec!["--host", "127.0.0.1", "--port", &port, "--name", name];
        args.extend_from_slice(programs.client_args);
        let client = command_line(programs.client, &args);
        // Split the newest pane, so the panes read server, alice, bob, carol.
        let after = panes.last().unwrap_or(&server_pane).clone();
        let output = tmux(&[
            "split-window",
            "-d",
            "-P",
            "-F",
            "#{pane_id}",
            "-t",
            &after,
            &client,
        ])?;
        let pane = String::from_utf8_lossy(&output.stdout).trim().to_string();
        tmux(&["select-pane", "-t", &pane, "-T", name])?;
        tmux(&["select-layout", "-t", &window, "tiled"])?;
        panes.push(pane);
    }
    for (option, value) in [
        ("pane-border-status", "top"),
        ("pane-border-format", " #{pane_title} "),
    ] {
        tmux(&["set-option", "-w", "-t", &window, option, value])?;
    }
    tmux(&["select-pane", "-t", &panes[0]])?;

    match place {
        Place::WindowHere => {
            // The user's own session: its status bar and its clients are
            // theirs. Only show the new window.
            tmux(&["select-window", "-t", &window])?;
            undo.disarm();
            println!(
                "The demo runs in the window {SESSION} of this tmux session (Ctrl-b n and \
                 Ctrl-b p switch windows).\nCtrl-b & in it, or `tmux kill-window -t {SESSION}`, \
                 ends the demo and every program in it."
            );
            Ok(ExitCode::SUCCESS)
        }
        Place::DetachedSession => {
            set_status_bar()?;
            undo.disarm();
            println!(
                "The demo runs in the tmux session {SESSION}: `tmux attach -t {SESSION}` to join it,\n\
                 `tmux kill-session -t {SESSION}` to end it (and every program in it)."
            );
            Ok(ExitCode::SUCCESS)
        }
        Place::Session => {
            set_status_bar()?;
            // Once attached, the session ends when nobody is attached any
            // more (destroy-unattached): detaching ends the demo. Set only
            // now: on a session nobody is attached to, it ends it at once.
            let status = Command::new("tmux")
                .args([
                    "attach-session",
                    "-t",
                    SESSION,
                    ";",
                    "set-option",
                    "-t",
                    SESSION,
                ])
                .args(["destroy-unattached", "on"])
                .status()
                .context("cannot run tmux")?;
            // A failed attach leaves the session unattached, so still there
            // (a detach ends it); whatever tmux's status says, this tells
            // them apart.
            if !status.success() && tmux(&["has-session", "-t", SESSION]).is_ok() {
                bail!("tmux could not attach to the session {SESSION} ({status})");
            }
            // attach returns when the user detached.
            drop(undo);
            println!("Demo over: the tmux session {SESSION} and every program in it are gone.");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The demo's own session says how to move and how to leave. (Detaching
/// from it detaches only the client that attached to the demo.)
fn set_status_bar() -> anyhow::Result<()> {
    for (option, value) in [
        (
            "status-right",
            " Ctrl-b o: next pane | Ctrl-b d: end the demo ",
        ),
        ("status-right-length", "60"),
        ("status-left-length", "20"),
    ] {
        tmux(&["set-option", "-t", SESSION, option, value])?;
    }
    Ok(())
}

fn first_pane(window: &str) -> anyhow::Result<String> {
    let output = tmux(&["list-panes", "-t", window, "-F", "#{pane_id}"])?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .map(str::to_string)
        .context("the new tmux window has no pane")
}

/// Reads the server pane until it shows `listening on IP:PORT`.
fn wait_for_port(pane: &str) -> anyhow::Result<u16> {
    let deadline = Instant::now() + Timeouts::default().startup();
    loop {
        let output = tmux(&["capture-pane", "-p", "-J", "-t", pane])?;
        let screen = String::from_utf8_lossy(&output.stdout);
        if let Some(addr) = screen.lines().find_map(parse_listening_line) {
            return Ok(addr.port());
        }
        let dead = tmux(&["display-message", "-p", "-t", pane, "#{pane_dead}"])?;
        if String::from_utf8_lossy(&dead.stdout).trim() == "1" || Instant::now() >= deadline {
            bail!(
                "the server did not print its `listening on` line; its pane showed:\n{}",
                screen.trim_end()
            );
        }
        thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(
            shell_quote("/work/target/debug/step5"),
            "/work/target/debug/step5"
        );
        assert_eq!(shell_quote("--port"), "--port");
        assert_eq!(shell_quote("/my dir/x"), "'/my dir/x'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a;rm -rf"), "'a;rm -rf'");
    }
}
