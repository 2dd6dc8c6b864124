//! The server under test: which step it is, how it speaks, and the process
//! the bench starts (on 127.0.0.1, port 0) and kills when done.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::{Context, bail};

use super::framing::Framing;
use crate::course;
use crate::grader::server::parse_listening_line;

/// How long a freshly started server may take to print its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of the server's output to keep for error messages.
const TAIL_BYTES: usize = 4096;

/// What a server does with what it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Sends every byte back to its sender (steps 1–2).
    Echo,
    /// The chat of PROTOCOL.md: name first, then `NAME: TEXT` to all others.
    Chat(Framing),
}

/// One step of the lesson, found in `session2/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its number, 4.
    pub number: u8,
    /// Short name, `step4`.
    pub short: String,
    /// Package (and binary) name, `step4-framed-chat`.
    pub package: String,
    /// What it speaks.
    pub protocol: Protocol,
}

/// The short name of step `number`: `step4`, as rows and `--compare` name it.
pub fn short_name(number: u8) -> String {
    format!("step{number}")
}

impl Step {
    /// Finds a step by short name (`step4`, `4`) or package name.
    pub fn find(name: &str) -> anyhow::Result<Step> {
        let digits = match name.strip_prefix("step") {
            Some(rest) => rest.split('-').next().unwrap_or(rest),
            None => name,
        };
        let Some(number) = digits
            .parse::<u8>()
            .ok()
            .filter(|_| digits.chars().all(|c| c.is_ascii_digit()))
        else {
            bail!("`{name}` is not a step: use {}", steps_here());
        };
        let protocol = match number {
            1 | 2 => Protocol::Echo,
            3 => bail!(
                "step3 relays raw chunks with no framing, so deliveries cannot be counted; \
                 bench step4 or later"
            ),
            // Step 7 frames its messages with a length; every other chat
            // step speaks lines, the bonus steps 8 and 9 included.
            7 => Protocol::Chat(Framing::Frames),
            _ => Protocol::Chat(Framing::Lines),
        };
        let Some(package) = course::step(number).map(|package| package.name) else {
            bail!(
                "there is no step {number} in session2/ (not written yet, or left out of \
                 this copy): use {}",
                steps_here()
            );
        };
        Ok(Step {
            number,
            short: short_name(number),
            package,
            protocol,
        })
    }
}

/// The steps this copy of the course has, for messages: `step1 … step9`.
fn steps_here() -> String {
    let steps = course::steps();
    match (steps.first(), steps.last()) {
        (Some((first, _)), Some((last, _))) => {
            format!("{} … {}", short_name(*first), short_name(*last))
        }
        _ => "a step of session2/ (none found)".to_string(),
    }
}

/// A defence a step may have, known by the option that tunes it in the
/// step's `--help`: a case passes that option only to the steps that list
/// it, and a target about a defence judges only the steps that have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defence {
    /// Flood control (the bonus steps 8 and 9): a client past its burst
    /// and rate is read more slowly, then disconnected.
    FloodControl,
    /// A bounded queue and a writer per client (step 6 on): a reader
    /// that is truly stuck is dropped, the others go on.
    Outbox,
}

impl Defence {
    /// The option that tunes it.
    pub fn option(self) -> &'static str {
        match self {
            Defence::FloodControl => "--flood-rate",
            Defence::Outbox => "--queue-messages",
        }
    }

    /// What it is, in words.
    pub fn name(self) -> &'static str {
        match self {
            Defence::FloodControl => "flood control",
            Defence::Outbox => "a bounded queue per client",
        }
    }
}

/// A server process started by the bench. Dropping it kills the process.
pub struct ServerProcess {
    child: Child,
    /// The address from its `listening on` line.
    pub addr: SocketAddr,
    tail: Arc<Mutex<Vec<u8>>>,
}

/// The options a server's `--help` lists (`--flood-rate`, ...), so that a
/// case passes a limit only to the steps that have it (step 4 has none;
/// step 6 has its queue's, steps 8 and 9 flood control and `--max-clients`
/// too), and the targets judge a step only on a defence it has.
pub fn options_of(binary: &Path) -> anyhow::Result<BTreeSet<String>> {
    let output = Command::new(binary)
        .arg("--help")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {} --help", binary.display()))?;
    if !output.status.success() {
        bail!("{} --help failed", binary.display());
    }
    Ok(help_options(&String::from_utf8_lossy(&output.stdout)))
}

/// The long options named in a `--help` text.
fn help_options(help: &str) -> BTreeSet<String> {
    help.split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[' || c == ']')
        .filter(|word| word.starts_with("--") && word.len() > 2)
        .map(str::to_string)
        .collect()
}

impl ServerProcess {
    /// Starts `binary --host 127.0.0.1 --port 0 ARGS` and waits for its
    /// `listening on` line. Its output keeps being drained (a server logs
    /// every message; a full pipe would block it) and only the tail is kept.
    pub fn start(binary: &Path, args: &[String]) -> anyhow::Result<ServerProcess> {
        let mut child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let tail = Arc::new(Mutex::new(Vec::new()));
        let (first_tx, first_rx) = mpsc::channel();
        let stdout = child.stdout.take().context("piped stdout")?;
        let stderr = child.stderr.take().context("piped stderr")?;
        spawn_drain(stdout, Arc::clone(&tail), Some(first_tx))?;
        spawn_drain(stderr, Arc::clone(&tail), None)?;
        let mut server = ServerProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tail,
        };
        let first = first_rx.recv_timeout(STARTUP_TIMEOUT).map_err(|_| {
            anyhow::anyhow!(
                "{} printed no `listening on` line within {STARTUP_TIMEOUT:?}; output:\n{}",
                binary.display(),
                server.tail()
            )
        })?;
        server.addr = parse_listening_line(&first).with_context(|| {
            format!("first line should be `listening on IP:PORT`, got {first:?}")
        })?;
        Ok(server)
    }

    /// The process id (for `/proc` sampling).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last few kilobytes the server printed.
    pub fn tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&tail).into_owned()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `pipe` until it closes, sending the first line to `first` and
/// keeping the last [`TAIL_BYTES`] in `tail`.
fn spawn_drain(
    pipe: impl Read + Send + 'static,
    tail: Arc<Mutex<Vec<u8>>>,
    first: Option<mpsc::Sender<String>>,
) -> anyhow::Result<()> {
    thread::Builder::new()
        .name("bench-server-output".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut reader = BufReader::with_capacity(64 * 1024, pipe);
            if let Some(first) = first {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                keep(&tail, line.as_bytes());
                let _ = first.send(line.trim_end().to_string());
            }
            let mut chunk = vec![0u8; 64 * 1024];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                keep(&tail, &chunk[..n]);
            }
        })
        .context("cannot start a thread to read the server's output")?;
    Ok(())
}

fn keep(tail: &Mutex<Vec<u8>>, bytes: &[u8]) {
    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
    tail.extend_from_slice(bytes);
    if tail.len() > TAIL_BYTES {
        let cut = tail.len() - TAIL_BYTES;
        tail.drain(..cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_found_by_short_or_package_name() {
        let step1 = Step::find("step1").unwrap();
        assert_eq!(step1.package, "step1-blocking-echo");
        assert_eq!(step1.protocol, Protocol::Echo);
        assert_eq!(Step::find("1").unwrap(), step1);
        assert_eq!(Step::find("step1-blocking-echo").unwrap(), step1);
    }

    #[test]
    fn the_bonus_steps_speak_lines() {
        for number in [8, 9] {
            if course::step(number).is_none() {
                println!("note: no step {number} here (a handout before it): skipped");
                continue;
            }
            let step = Step::find(&short_name(number)).unwrap();
            assert_eq!(step.number, number);
            assert_eq!(step.protocol, Protocol::Chat(Framing::Lines));
        }
        if course::step(9).is_some() {
            assert_eq!(Step::find("step9").unwrap().package, "step9-async");
            assert_eq!(Step::find("9").unwrap().short, "step9");
        }
    }

    #[test]
    fn options_are_read_from_a_help_text() {
        let help = "Usage: step8 [OPTIONS]\n\nOptions:\n      --host <HOST>  Address [default: 0.0.0.0]\n      \
                    --flood-rate <FLOOD_RATE>  Lines a second\n  -h, --help  Print help\n";
        let options = help_options(help);
        assert!(options.contains("--flood-rate") && options.contains("--host"));
        assert!(options.contains("--help") && !options.contains("--"));
        assert!(!options.contains("--max-clients"));
    }

    #[test]
    fn unusable_names_get_a_reason() {
        assert!(Step::find("step3").unwrap_err().to_string().contains("raw"));
        let err = Step::find("step10").unwrap_err().to_string();
        assert!(
            err.contains("no step 10") && err.contains("step1 … step"),
            "{err}"
        );
        assert!(
            Step::find("banana")
                .unwrap_err()
                .to_string()
                .contains("step1 … ")
        );
        assert!(Step::find("step+4").is_err());
    }
}
