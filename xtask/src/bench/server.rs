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
    /// Short name, `step4`.
    pub short: String,
    /// Package (and binary) name, `step4-framed-chat`.
    pub package: String,
    /// What it speaks.
    pub protocol: Protocol,
}

impl Step {
    /// Finds a step by short name (`step4`, `4`) or package name.
    pub fn find(name: &str) -> anyhow::Result<Step> {
        let short = match name.strip_prefix("step") {
            Some(_) => name.split('-').next().unwrap_or(name).to_string(),
            None if name.chars().all(|c| c.is_ascii_digit()) => format!("step{name}"),
            None => bail!("`{name}` is not a step: use step1 … step8"),
        };
        let number: u8 = short["step".len()..]
            .parse()
            .with_context(|| format!("`{name}` is not a step: use step1 … step8"))?;
        let protocol = match number {
            1 | 2 => Protocol::Echo,
            3 => bail!(
                "step3 relays raw chunks with no framing, so deliveries cannot be counted; \
                 bench step4 or later"
            ),
            // Step 8 is step 6 on one thread, with step 6's protocol.
            4..=6 | 8 => Protocol::Chat(Framing::Lines),
            7 => Protocol::Chat(Framing::Frames),
            _ => bail!("there is no step {number}: use step1 … step8"),
        };
        let Some(package) = course::step(number).map(|package| package.name) else {
            bail!("no package for {short} in session2/: it has not been written yet");
        };
        Ok(Step {
            short,
            package,
            protocol,
        })
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
/// case passes a limit only to the steps that have it: step 4 has none,
/// steps 6 and 8 have flood control and `--max-clients`.
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
    fn step8_speaks_step6s_lines() {
        if course::step(8).is_none() {
            println!("note: no step 8 here (a handout before it): skipped");
            return;
        }
        let step8 = Step::find("step8").unwrap();
        assert_eq!(step8.package, "step8-async");
        assert_eq!(step8.protocol, Protocol::Chat(Framing::Lines));
    }

    #[test]
    fn options_are_read_from_a_help_text() {
        let help = "Usage: step6 [OPTIONS]\n\nOptions:\n      --host <HOST>  Address [default: 0.0.0.0]\n      \
                    --flood-rate <FLOOD_RATE>  Lines a second\n  -h, --help  Print help\n";
        let options = help_options(help);
        assert!(options.contains("--flood-rate") && options.contains("--host"));
        assert!(options.contains("--help") && !options.contains("--"));
        assert!(!options.contains("--max-clients"));
    }

    #[test]
    fn unusable_names_get_a_reason() {
        assert!(Step::find("step3").unwrap_err().to_string().contains("raw"));
        assert!(Step::find("step9").is_err());
        assert!(Step::find("banana").is_err());
    }
}
