//! Building the course's packages and finding their binaries. Every command
//! that runs a server or a client (check, demo, bench) builds it through here.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

use crate::workspace;

/// Which cargo profile to build with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The everyday profile, shared with `cargo run` and `cargo test`.
    Dev,
    /// Optimised, for benchmarks.
    Release,
}

impl Profile {
    fn dir(self) -> &'static str {
        match self {
            Profile::Dev => "debug",
            Profile::Release => "release",
        }
    }
}

/// The cargo binary that runs us (cargo sets `CARGO` for `cargo run`).
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// The target directory, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace::root().join("target"))
}

/// Where the runner keeps what it remembers between runs: the results
/// `list` shows, the hints seen, the class board to share with. The target
/// directory (no commit carries it; `cargo clean` forgets it), unless
/// `XTASK_STATE_DIR` says otherwise: the tests keep a student's own state
/// out of their way, and theirs out of the student's.
pub fn state_dir() -> PathBuf {
    std::env::var_os("XTASK_STATE_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(target_dir)
}

/// Builds `package` (its binary has the package's name) and returns the
/// path of the binary. Compiler errors go to the terminal as usual.
pub fn build_binary(package: &str, profile: Profile) -> anyhow::Result<PathBuf> {
    let mut binaries = build_binaries(&[package], profile)?;
    Ok(binaries.remove(0))
}

/// Builds several packages in one cargo run (much faster than one run each)
/// and returns their binaries, in the same order.
pub fn build_binaries(packages: &[&str], profile: Profile) -> anyhow::Result<Vec<PathBuf>> {
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace::root())
        .args(["build", "--quiet"]);
    for package in packages {
        command.args(["--package", package, "--bin", package]);
    }
    if profile == Profile::Release {
        command.arg("--release");
    }
    let shown = packages
        .iter()
        .map(|p| format!("-p {p}"))
        .collect::<Vec<_>>()
        .join(" ");
    let status = command
        .status()
        .with_context(|| format!("cannot run cargo to build {shown}"))?;
    if !status.success() {
        bail!("`cargo build {shown}` failed: fix the compiler errors above first");
    }
    packages
        .iter()
        .map(|package| {
            let binary = target_dir()
                .join(profile.dir())
                .join(format!("{package}{}", std::env::consts::EXE_SUFFIX));
            if !binary.exists() {
                bail!(
                    "built {package} but found no binary at {}",
                    binary.display()
                );
            }
            Ok(binary)
        })
        .collect()
}

/// Builds `package` (saying on stderr, the first time, that `what` is
/// being built, since it takes a while), then runs its binary with `args`
/// in this terminal and ends as it ends. For the tools with dependencies
/// a plain `check` should not compile: the class board, watch mode.
pub fn run_package(package: &str, what: &str, args: &[OsString]) -> anyhow::Result<ExitCode> {
    let binary = target_dir()
        .join(Profile::Dev.dir())
        .join(format!("{package}{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        eprintln!("building {what} (the first time only)...");
    }
    let binary = build_binary(package, Profile::Dev)?;
    let status = Command::new(&binary)
        .args(args)
        .status()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        // Stopped by a signal (Ctrl-C): as a shell reports it.
        None => ExitCode::from(130),
    })
}
