//! `cargo xtask board`: the instructor's live class board, fed by the
//! students who share their results (`check --share`, `cargo xtask share`).
//!
//! The board itself is the package `class-board` (`xtask/board`): it
//! parses what the room sends with serde_json, which no student needs to
//! build, so it stays out of `cargo xtask check`'s build. This subcommand
//! holds its options (one definition: the board parses the same [`Args`]),
//! builds it, and runs it with the arguments it was given.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::build;
use crate::share::wire::DEFAULT_PORT;

/// The package that is the board.
pub const PACKAGE: &str = "class-board";

/// Show the class's results live, as students share them (instructors).
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Address to listen on; 0.0.0.0 lets students' laptops reach it.
    #[arg(long, default_value = "0.0.0.0")]
    pub host: String,
    /// Port to listen on; 0 lets the system pick a free one.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Keep a CSV of the table in FILE, rewritten after every report (for a
    /// gradebook).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// How many students may report from one address (two on one laptop, or
    /// a lab behind one NAT address): names per address, and their pace.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub per_address: u16,
    /// Mark a student as stuck after this many minutes of failing the same
    /// exercise.
    #[arg(long, value_name = "MINUTES", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub stuck_after: u32,
}

impl Args {
    /// The same options, as the board's command line.
    pub fn to_command_line(&self) -> Vec<OsString> {
        let mut line: Vec<OsString> = vec![
            "--host".into(),
            self.host.clone().into(),
            "--port".into(),
            self.port.to_string().into(),
            "--per-address".into(),
            self.per_address.to_string().into(),
            "--stuck-after".into(),
            self.stuck_after.to_string().into(),
        ];
        if let Some(csv) = &self.csv {
            line.push("--csv".into());
            line.push(csv.clone().into());
        }
        line
    }
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    build::run_package(PACKAGE, "the class board", &args.to_command_line())
}
