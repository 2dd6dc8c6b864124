//! `cargo xtask`: the course's runner, in the style of matklad's cargo-xtask:
//! one small binary of subcommands, no install step.
//!
//! Each subcommand lives in its own module of the library (`src/lib.rs`)
//! with its own `Args` and `run`; this file only dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The modules live in the library (src/lib.rs); add new ones there.
use xtask::workspace;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "The course runner",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print where the workspace is (a sanity check that the alias works).
    Root,
    Check(xtask::check::Args),
    Watch(xtask::watch::Args),
    List(xtask::list::Args),
    Hint(xtask::hint::Args),
    Share(xtask::share::Args),
    Board(xtask::board::Args),
    Myip(xtask::myip::Args),
    Diff(xtask::diff::Args),
    Reset(xtask::reset::Args),
    Demo(xtask::demo::Args),
    // Boxed: its many options would make every other command as big.
    Bench(Box<xtask::bench::Args>),
    Handout(xtask::handout::Args),
}

fn main() -> ExitCode {
    // Errors are printed as one plain sentence with its causes. Returning
    // `anyhow::Result` from main would also print a backtrace whenever
    // RUST_BACKTRACE is set, which reads like a crash of the tool.
    match dispatch(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Root => {
            println!("{}", workspace::root().display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => xtask::check::run(&args),
        Command::Watch(args) => xtask::watch::run(&args),
        Command::List(args) => xtask::list::run(&args),
        Command::Hint(args) => xtask::hint::run(&args),
        Command::Share(args) => xtask::share::run(&args),
        Command::Board(args) => xtask::board::run(&args),
        Command::Myip(args) => xtask::myip::run(&args),
        Command::Diff(args) => xtask::diff::run(&args),
        Command::Reset(args) => xtask::reset::run(&args),
        Command::Demo(args) => xtask::demo::run(&args),
        Command::Bench(args) => xtask::bench::run(&args),
        Command::Handout(args) => xtask::handout::run(&args),
    }
}
