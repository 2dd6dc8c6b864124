//! Sharing results with the instructor's class board (`cargo xtask
//! board`), for students who opt in:
//!
//! * `cargo xtask check exercise5 --share HOST[:PORT] --name alice` sends
//!   that one result;
//! * `cargo xtask share HOST[:PORT] --name alice` remembers both, so every
//!   later `check` and `watch` sends its results; `cargo xtask share --off`
//!   forgets them. They live in `target/xtask-share.txt`, beside the
//!   results `list` shows.
//!
//! The board only listens: it never asks a student's machine for
//! anything. What is sent is in `wire.rs`; how, in `send.rs`.

pub mod send;
pub mod wire;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::build;
use crate::term::{self, Colour, paint};
pub use send::{Destination, Shared, Sharer};

/// Share your results with the class board: remember its address and your name.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The board's address, as the instructor's board prints it: HOST or
    /// HOST:PORT (port 65434 when left out).
    #[arg(value_name = "HOST[:PORT]", conflicts_with = "off")]
    pub board: Option<String>,
    /// Your name on the board, as your instructor knows you.
    #[arg(long, conflicts_with = "off")]
    pub name: Option<String>,
    /// Stop sharing: forget the board and the name.
    #[arg(long)]
    pub off: bool,
}

/// What `cargo xtask share` remembers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub board: Option<(String, u16)>,
    pub name: Option<String>,
}

/// Where the settings are remembered.
pub fn settings_file() -> PathBuf {
    build::state_dir().join("xtask-share.txt")
}

/// Reads `board HOST:PORT` and `name NAME` lines; anything garbled (or a
/// name that breaks the rules) is not remembered.
pub fn read_settings(path: &Path) -> Settings {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut settings = Settings::default();
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("board", board)) => settings.board = wire::parse_board(board).ok(),
            Some(("name", name)) if wire::check_name(name).is_ok() => {
                settings.name = Some(name.to_string());
            }
            _ => {}
        }
    }
    settings
}

pub fn write_settings(path: &Path, settings: &Settings) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut text = String::new();
    if let Some((host, port)) = &settings.board {
        text.push_str(&format!("board {}\n", wire::board_text(host, *port)));
    }
    if let Some(name) = &settings.name {
        text.push_str(&format!("name {name}\n"));
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Where `check` sends its results: `--share` and `--name` as given, each
/// completed by what `cargo xtask share` remembers; nowhere when neither
/// says anything.
pub fn destination(
    share: Option<&str>,
    name: Option<&str>,
    remembered: &Settings,
) -> anyhow::Result<Option<Destination>> {
    let board = match share {
        Some(text) => Some(wire::parse_board(text).map_err(anyhow::Error::msg)?),
        None => remembered.board.clone(),
    };
    let name = name.map(str::to_string).or_else(|| remembered.name.clone());
    match (board, name) {
        (None, None) => Ok(None),
        (Some(_), None) => {
            bail!("say who you are on the class board: add --name YOUR_NAME")
        }
        (None, Some(_)) => bail!(
            "--name goes with --share HOST[:PORT] (or remember both once with `cargo xtask \
             share HOST[:PORT] --name YOUR_NAME`)"
        ),
        (Some((host, port)), Some(name)) => {
            wire::check_name(&name).map_err(anyhow::Error::msg)?;
            Ok(Some(Destination { host, port, name }))
        }
    }
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let path = settings_file();
    let colour = term::colour_enabled();
    if args.off {
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
        term::say("not sharing any more: check and watch keep their results to themselves");
        return Ok(ExitCode::SUCCESS);
    }
    let remembered = read_settings(&path);
    if args.board.is_none() && args.name.is_none() {
        match destination(None, None, &remembered) {
            Ok(Some(destination)) => term::say(format!(
                "sharing with the class board at {} as {} (`cargo xtask share --off` stops)",
                destination.board(),
                destination.name
            )),
            _ => term::say(
                "not sharing: `cargo xtask share HOST[:PORT] --name YOUR_NAME` sends every \
                 later result to your instructor's class board",
            ),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(destination) = destination(args.board.as_deref(), args.name.as_deref(), &remembered)?
    else {
        unreachable!("a board or a name was given");
    };
    write_settings(
        &path,
        &Settings {
            board: Some((destination.host.clone(), destination.port)),
            name: Some(destination.name.clone()),
        },
    )?;
    term::say(format!(
        "from now on, check and watch share each result with the class board at {} as {} \
         (`cargo xtask share --off` stops)",
        destination.board(),
        destination.name
    ));
    // Only a connection, no report: whether the address is right.
    let reached = match send::reachable(&destination.host, destination.port) {
        Ok(()) => paint("the board is reachable", Colour::Green, colour),
        Err(why) => paint(
            &format!("the board cannot be reached now ({why}); each check will try again"),
            Colour::Yellow,
            colour,
        ),
    };
    term::say(reached);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_garbage_is_forgotten() {
        let dir = std::env::temp_dir().join(format!("xtask-share-{}", std::process::id()));
        let path = dir.join("xtask-share.txt");
        let settings = Settings {
            board: Some(("fd00::2".into(), 7000)),
            name: Some("Zoë Ng".into()),
        };
        write_settings(&path, &settings).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "board [fd00::2]:7000\nname Zoë Ng\n"
        );
        assert_eq!(read_settings(&path), settings);
        std::fs::write(&path, "board x y\nname \u{202e}evil\njunk\n").unwrap();
        assert_eq!(read_settings(&path), Settings::default());
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(read_settings(&path), Settings::default());
    }

    #[test]
    fn flags_complete_what_is_remembered() {
        let nothing = Settings::default();
        assert_eq!(destination(None, None, &nothing).unwrap(), None);
        let one_off = destination(Some("10.0.0.1"), Some("ann"), &nothing)
            .unwrap()
            .unwrap();
        assert_eq!(one_off.board(), "10.0.0.1:65434");
        assert!(destination(Some("10.0.0.1"), None, &nothing).is_err());
        assert!(destination(None, Some("ann"), &nothing).is_err());
        let remembered = Settings {
            board: Some(("10.0.0.9".into(), 7000)),
            name: Some("bob".into()),
        };
        let both = destination(None, None, &remembered).unwrap().unwrap();
        assert_eq!(
            (both.board(), both.name.as_str()),
            ("10.0.0.9:7000".into(), "bob")
        );
        let renamed = destination(None, Some("robert"), &remembered)
            .unwrap()
            .unwrap();
        assert_eq!(renamed.name, "robert");
        let error = destination(Some("10.0.0.1"), Some("a\x1bb"), &nothing).unwrap_err();
        assert!(error.to_string().contains("control character"), "{error}");
    }
}
