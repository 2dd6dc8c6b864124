//! `cargo xtask demo [STEP]`: a chat server and three clients, at once.
//!
//! With tmux, on a terminal or inside tmux, each program gets a pane to type
//! into ([`tmux`]): a session of its own, or a window of the tmux session
//! it runs in. Otherwise (or with `--script`) three scripted clients hold a
//! conversation in this terminal ([`script`]), and the demo says why.
//! Either way the demo stops everything it started, also on Ctrl-C
//! ([`cleanup`]).

pub mod cleanup;
pub mod script;
pub mod tmux;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;

use crate::build::{self, Profile};
use crate::course;
use crate::term;
use script::Dialect;

/// The chat steps, oldest first, the bonus steps 8 and 9 included: they
/// are shown when asked for by number; the default is the session's latest
/// step (see `course::LAST_SESSION_STEP`), which builds without tokio.
const CHAT_STEPS: std::ops::RangeInclusive<u8> = 3..=9;

/// Show a chat server and three clients: in tmux panes, or as a scripted
/// conversation.
///
/// With tmux installed and a terminal, opens a tmux session with one pane
/// per program (detach with Ctrl-b d to end it); inside tmux, a window of
/// the current session instead (Ctrl-b & closes it). Otherwise, or with
/// --script, three scripted clients (alice, bob, carol) talk in this
/// terminal. Everything started is stopped at the end, also on Ctrl-C.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The chat step to show, 3 to 9 (default: the latest one there is, not
    /// counting the bonus steps 8 and 9).
    pub step: Option<String>,
    /// Play the scripted conversation here, even where tmux is available.
    #[arg(long, conflicts_with_all = ["tmux", "detach"])]
    pub script: bool,
    /// Use tmux, even without a terminal.
    #[arg(long)]
    pub tmux: bool,
    /// With tmux: start the session but do not enter it (implies --tmux).
    #[arg(long)]
    pub detach: bool,
    /// Scripted demo: milliseconds between two acts of the conversation.
    #[arg(long, value_name = "MS", default_value_t = 400)]
    pub pace: u64,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let step = match &args.step {
        Some(text) => parse_step(text)?,
        None => latest_chat_step()?,
    };
    let Some(package) = course::step(step) else {
        bail!("there is no step {step} in session2/ yet");
    };
    let dialect = Dialect::of_step(step).expect("parse_step accepts chat steps only");
    cleanup::on_interrupt();

    let on_terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let inside_tmux = tmux::inside_tmux();
    let tmux_wanted = args.tmux || args.detach;
    let use_tmux = if args.script {
        false
    } else if tmux_wanted {
        if !tmux::available() {
            bail!("tmux is not installed: install it, or run `cargo xtask demo --script`");
        }
        true
    } else {
        let available = tmux::available();
        // Inside tmux, a new window needs no terminal of ours.
        let can_show = on_terminal || inside_tmux;
        if !available {
            println!(
                "(tmux is not installed, so here is the scripted demo; with tmux, each program \
                 gets a pane)\n"
            );
        } else if !can_show {
            println!(
                "(no terminal to show tmux panes in, so here is the scripted demo; run it in a \
                 terminal, or `cargo xtask demo --detach` and then `tmux attach -t {}`)\n",
                tmux::SESSION
            );
        }
        available && can_show
    };

    if use_tmux {
        let binaries =
            build::build_binaries(&[package.name.as_str(), "chat-client"], Profile::Dev)?;
        let framing: &[&str] = if dialect == Dialect::Frames {
            &["--framing", "length-prefix"]
        } else {
            &[]
        };
        let programs = tmux::Programs {
            package: &package.name,
            server: &binaries[0],
            client: &binaries[1],
            client_args: framing,
        };
        let place = if args.detach {
            tmux::Place::DetachedSession
        } else if inside_tmux {
            tmux::Place::WindowHere
        } else {
            tmux::Place::Session
        };
        return tmux::run(&programs, place);
    }
    let server = build::build_binary(&package.name, Profile::Dev)?;
    let played = script::run(
        step,
        &package.name,
        &server,
        Duration::from_millis(args.pace),
        term::colour_enabled(),
        &mut std::io::stdout(),
    );
    match played {
        // Piped into `head`, say: the reader has seen enough.
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `5` or `step5`, for a chat step.
pub fn parse_step(text: &str) -> anyhow::Result<u8> {
    let number = text.strip_prefix("step").unwrap_or(text);
    match number.parse::<u8>() {
        Ok(n) if CHAT_STEPS.contains(&n) => Ok(n),
        Ok(n @ (1 | 2)) => bail!(
            "step {n} is an echo server, not a chat: the demo shows steps {} to {}",
            CHAT_STEPS.start(),
            CHAT_STEPS.end()
        ),
        _ => bail!(
            "`{text}` is not a chat step: give a number from {} to {}",
            CHAT_STEPS.start(),
            CHAT_STEPS.end()
        ),
    }
}

/// The most advanced chat step of the lesson in session2/.
fn latest_chat_step() -> anyhow::Result<u8> {
    match CHAT_STEPS
        .rev()
        .find(|&n| n <= course::LAST_SESSION_STEP && course::step(n).is_some())
    {
        Some(n) => Ok(n),
        None => bail!("session2/ has no chat step yet (step3-... to step7-...)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_and_echo_steps_are_refused() {
        assert_eq!(parse_step("5").unwrap(), 5);
        assert_eq!(parse_step("step7").unwrap(), 7);
        let err = parse_step("2").unwrap_err().to_string();
        assert!(err.contains("echo server"), "{err}");
        let err = parse_step("10").unwrap_err().to_string();
        assert!(err.contains("from 3 to 9"), "{err}");
        assert!(parse_step("five").is_err());
    }

    #[test]
    fn every_chat_step_has_a_dialect() {
        for n in CHAT_STEPS {
            assert!(Dialect::of_step(n).is_some(), "step {n}");
        }
    }
}
