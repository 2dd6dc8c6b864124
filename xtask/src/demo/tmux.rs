//! The demo in tmux: a new tmux session with one pane per program, the
//! chat server and three chat clients (alice, bob, carol), for a person to
//! type into. Leaving the session (detach, `Ctrl-b d`) ends it, and with it
//! every program in it: tmux hangs up on them.

use std::path::Path;
use std::process::{Command, ExitCode, Output};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::cleanup;
use super::script::PEOPLE;
use crate::grader::server::parse_listening_line;
use crate::grader::timeouts::Timeouts;

/// The tmux session's name.
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

/// Starts the session and, unless `detach`, puts this terminal in it.
pub fn run(programs: &Programs, detach: bool) -> anyhow::Result<ExitCode> {
    if tmux(&["has-session", "-t", SESSION]).is_ok() {
        bail!(
            "a demo is already running in the tmux session {SESSION}: \
             `tmux attach -t {SESSION}` to see it, `tmux kill-session -t {SESSION}` to end it"
        );
    }
    let server = command_line(programs.server, &["--host", "127.0.0.1", "--port", "0"]);
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
    // Until someone is attached, a failure or Ctrl-C here must not leave
    // the session behind.
    let session = cleanup::register(|| {
        let _ = tmux(&["kill-session", "-t", SESSION]);
    });
    let window = format!("{SESSION}:chat");
    // Keep a pane that exits on screen during start-up, so that a server
    // that fails to start can be read.
    tmux(&["set-option", "-w", "-t", &window, "remain-on-exit", "on"])?;
    let server_pane = first_pane(&window)?;
    let port = wait_for_port(&server_pane)?;
    tmux(&["set-option", "-w", "-t", &window, "remain-on-exit", "off"])?;

    let title = format!("server: {}", programs.package);
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
    tmux(&["select-pane", "-t", &panes[0]])?;

    if detach {
        session.disarm();
        println!(
            "The demo runs in the tmux session {SESSION}: `tmux attach -t {SESSION}` to join it,\n\
             `tmux kill-session -t {SESSION}` to end it (and every program in it)."
        );
        return Ok(ExitCode::SUCCESS);
    }
    // Once attached, the session ends when nobody is attached any more
    // (destroy-unattached): detaching, or switching away, ends the demo.
    // Set only now: on a session nobody is attached to, it ends it at once.
    let inside_tmux = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
    let enter = if inside_tmux {
        "switch-client"
    } else {
        "attach-session"
    };
    let status = Command::new("tmux")
        .args([enter, "-t", SESSION, ";", "set-option", "-t", SESSION])
        .args(["destroy-unattached", "on"])
        .status()
        .context("cannot run tmux")?;
    // A failed attach leaves the session unattached, so still there (a
    // detach ends it); whatever tmux's status says, this tells them apart.
    if !status.success() && tmux(&["has-session", "-t", SESSION]).is_ok() {
        bail!("tmux could not {enter} to the session {SESSION} ({status})");
    }
    if inside_tmux {
        // switch-client returns at once; tmux ends the session when this
        // client switches away from it.
        session.disarm();
    } else {
        // attach returns when the user detaches or every program ended.
        drop(session);
        println!("Demo over: the tmux session {SESSION} and every program in it are gone.");
    }
    Ok(ExitCode::SUCCESS)
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
