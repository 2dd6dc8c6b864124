//! `cargo xtask watch`: rustlings' watch mode for the course. It grades
//! the current exercise on every save, shows what `check` prints under a
//! progress line, and takes one key for a hint, the next exercise, the
//! list, grading again, quitting.
//!
//! Watch mode is its own package, `xtask-watch` (`xtask/watch`): its file
//! watcher and terminal crates are compiled by `cargo build` (what the
//! codelab has students run first) or by the first `cargo xtask watch`,
//! never by a plain `cargo xtask check`, which stays as quick to build as
//! it was. This subcommand holds its options (the package parses the same
//! [`Args`]) and runs it.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::bail;

use crate::build;
use crate::course;

/// The package that is watch mode.
pub const PACKAGE: &str = "xtask-watch";

/// Grade the current exercise on every save; one key for hint, next, list.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The exercise to start on (default: the first one not passing yet).
    #[arg(value_parser = course::parse_exercise)]
    pub exercise: Option<u8>,
    /// Look for saves every second instead of waiting for the system to
    /// report them (WSL 2 on a Windows drive, network folders).
    #[arg(long, conflicts_with = "manual")]
    pub poll: bool,
    /// Watch no files: grade when you press r.
    #[arg(long)]
    pub manual: bool,
}

impl Args {
    /// The same options, as watch mode's command line.
    pub fn to_command_line(&self) -> Vec<OsString> {
        let mut line: Vec<OsString> = Vec::new();
        if let Some(n) = self.exercise {
            line.push(format!("exercise{n}").into());
        }
        if self.poll {
            line.push("--poll".into());
        }
        if self.manual {
            line.push("--manual".into());
        }
        line
    }
}

/// Watch mode reads single keys and redraws: it needs a terminal on both
/// sides. The reason, in one line, when it has none.
pub fn needs_a_terminal() -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!(
            "cargo xtask watch needs a terminal (it reads single keys); in a script, use \
             `cargo xtask check exerciseN`"
        );
    }
    Ok(())
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    // Said before anything is built.
    needs_a_terminal()?;
    build::run_package(PACKAGE, "watch mode", &args.to_command_line())
}
