//! The server window, for the projector: it runs a chat server step as a
//! child process and shows, in large type, the address classmates type,
//! who is online, and the server's log as it is written.
//!
//! **Which program runs.** The step's own binary (`step8-prankster-proof`,
//! the room a prankster cannot spoil, or `step7-length-prefix` for
//! length-prefix frames), the one `cargo run -p` would run. It sits next to `gui-client` in the same target directory
//! (`target/debug/`). Before starting it the window asks cargo to build it
//! there (a no-op when it is up to date), so it always runs the step's
//! current code; the build's output goes to the log. Without cargo or the
//! workspace (a `gui-client` copied elsewhere), it runs the binary that
//! sits next to it, if there is one.
//!
//! **No process left behind.** The child is killed and waited for when you
//! press Stop, when the window closes (the app is dropped), when the
//! program panics (a panic hook, see `main.rs`), and on Ctrl-C or SIGTERM
//! (a signal thread on Unix; on Windows, Ctrl-C reaches every process of
//! the console, the child included).
//!
//! Like the chat window, the interface thread never waits: a supervisor
//! thread builds, starts and reads the child, and sends what it sees
//! through a channel.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use classroom::lan::{self, Candidate};
use eframe::egui::{self, Color32, RichText};

use crate::wire::Framing;

/// How many log lines the window keeps.
pub const MAX_LOG_LINES: usize = 3000;
/// How many events one frame takes from the channel (see the chat window).
const EVENTS_PER_FRAME: usize = 500;

/// What the server window runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeSettings {
    /// Where the server listens: 0.0.0.0 lets classmates in.
    pub host: String,
    pub port: u16,
    pub framing: Framing,
}

/// The step that speaks `framing`: the strongest server of its kind (with
/// lines, the bonus step 8, every defence against a prankster).
pub fn step_package(framing: Framing) -> &'static str {
    match framing {
        Framing::Lines => "step8-prankster-proof",
        Framing::LengthPrefix => "step7-length-prefix",
    }
}

/// The child process (the build, then the server), shared by the window,
/// the supervisor thread, the panic hook and the signal thread: whoever
/// ends things kills it. Each child gets a number, so that a supervisor
/// whose server was stopped cannot take the next one by mistake.
#[derive(Clone, Default)]
pub struct ChildSlot(Arc<Mutex<Slot>>);

#[derive(Default)]
struct Slot {
    next: u64,
    child: Option<(u64, Child)>,
}

impl ChildSlot {
    fn put(&self, child: Child) -> u64 {
        let mut slot = self.lock();
        slot.next += 1;
        let id = slot.next;
        slot.child = Some((id, child));
        id
    }

    /// Kills the child, if any, and waits for it, so no zombie is left.
    pub fn kill(&self) {
        if let Some((_, mut child)) = self.lock().child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for child `id`, which ended by itself (its output closed).
    /// `None` if it is not there any more: someone stopped it.
    fn reap(&self, id: u64) -> Option<ExitStatus> {
        let mut slot = self.lock();
        match &slot.child {
            Some((current, _)) if *current == id => {
                let (_, mut child) = slot.child.take()?;
                drop(slot);
                child.wait().ok()
            }
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        // A panic elsewhere must not stop us from killing the child.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the supervisor thread tells the window.
#[derive(Debug)]
enum Report {
    /// A line of output (the build's, or the server's).
    Log(String),
    /// The server is up: its `listening on` line, and its process id.
    Listening(SocketAddr, u32),
    /// It could not be built or started.
    Failed(String),
    /// The server ended: by itself (with its status), or stopped by us.
    Exited(Option<ExitStatus>),
}

/// Where the server stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Starting,
    Running(SocketAddr),
    Stopped(String),
}

/// The server window's state. [`ServerApp::ui`] draws one frame.
pub struct ServerApp {
    settings: ServeSettings,
    child: ChildSlot,
    reports: Option<Receiver<Report>>,
    state: State,
    pid: Option<u32>,
    log: VecDeque<String>,
    online: Vec<String>,
    candidates: Vec<Candidate>,
    started: bool,
}

impl ServerApp {
    /// A window that starts the server on its first frame; `child` is the
    /// slot the caller may also give to a panic hook.
    pub fn new(settings: ServeSettings, child: ChildSlot) -> ServerApp {
        ServerApp {
            settings,
            child,
            reports: None,
            state: State::Starting,
            pid: None,
            log: VecDeque::new(),
            online: Vec::new(),
            // The same ranking `cargo xtask myip` and the servers' hint use.
            candidates: lan::local_candidates(),
            started: false,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn online(&self) -> &[String] {
        &self.online
    }

    pub fn log(&self) -> &VecDeque<String> {
        &self.log
    }

    /// Builds (if cargo can) and starts the server in a supervisor thread.
    pub fn start(&mut self, ctx: &egui::Context) {
        self.child.kill();
        let (tx, rx) = mpsc::channel();
        self.reports = Some(rx);
        self.state = State::Starting;
        self.pid = None;
        self.online.clear();
        let settings = self.settings.clone();
        let child = self.child.clone();
        let ctx = ctx.clone();
        thread::spawn(move || {
            let report = Reporter { tx, ctx };
            supervise(&settings, &child, &report);
        });
    }

    /// Ends the server (Stop): kills it and waits for it.
    pub fn stop(&mut self) {
        self.child.kill();
        self.pid = None;
        self.online.clear();
        if !matches!(self.state, State::Stopped(_)) {
            self.state = State::Stopped("stopped: press Start to run it again".to_string());
        }
    }

    /// Draws one frame. Called by eframe (see `main.rs`) or by a test.
    pub fn ui(&mut self, ctx: &egui::Context) {
        if !self.started {
            self.started = true;
            // Dark text on white reads best on a projector.
            ctx.set_theme(egui::Theme::Light);
            self.start(ctx);
        }
        if self.take_reports(EVENTS_PER_FRAME) {
            ctx.request_repaint();
        }
        egui::TopBottomPanel::top("address").show(ctx, |ui| self.address_panel(ui, ctx));
        egui::SidePanel::right("online")
            .default_width(260.0)
            .show(ctx, |ui| self.online_panel(ui));
        egui::CentralPanel::default().show(ctx, |ui| self.log_panel(ui));
    }

    fn take_reports(&mut self, budget: usize) -> bool {
        for _ in 0..budget {
            let Some(report) = self.reports.as_ref().and_then(|rx| rx.try_recv().ok()) else {
                return false;
            };
            self.apply(report);
        }
        true
    }

    fn apply(&mut self, report: Report) {
        match report {
            Report::Log(line) => {
                if let Some(change) = read_log_line(&line) {
                    change.apply(&mut self.online);
                }
                if self.log.len() == MAX_LOG_LINES {
                    self.log.pop_front();
                }
                self.log.push_back(line);
            }
            Report::Listening(addr, pid) => {
                self.state = State::Running(addr);
                self.pid = Some(pid);
            }
            Report::Failed(why) => self.state = State::Stopped(why),
            Report::Exited(status) => {
                self.pid = None;
                self.online.clear();
                if let Some(status) = status {
                    self.state = State::Stopped(format!(
                        "the server ended by itself ({status}): see its last lines in the log"
                    ));
                }
            }
        }
    }

    fn address_panel(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        ui.add_space(6.0);
        let step = step_package(self.settings.framing);
        match &self.state {
            State::Starting => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(RichText::new(format!("building and starting {step}…")).size(24.0));
                });
            }
            State::Running(addr) => {
                let share = address_to_share(*addr, &self.candidates);
                ui.label(RichText::new("Classmates connect to").size(22.0));
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(&share.host).size(72.0).strong());
                    ui.label(RichText::new(format!("port {}", addr.port())).size(40.0));
                });
                if let Some(note) = &share.note {
                    ui.label(
                        RichText::new(note)
                            .size(18.0)
                            .color(Color32::from_rgb(230, 150, 60)),
                    );
                }
                ui.label(
                    RichText::new(format!(
                        "in the chat window: host {} port {}; in a terminal: \
                         cargo run -p chat-client -- --host {} --port {}{}",
                        share.host,
                        addr.port(),
                        share.host,
                        addr.port(),
                        match self.settings.framing {
                            Framing::Lines => "",
                            Framing::LengthPrefix => " --framing length-prefix",
                        }
                    ))
                    .size(16.0),
                );
            }
            State::Stopped(why) => {
                ui.label(RichText::new(format!("{step} is not running")).size(24.0));
                if !why.is_empty() {
                    ui.label(RichText::new(why).color(Color32::from_rgb(220, 90, 70)));
                }
            }
        }
        ui.horizontal(|ui| {
            match self.state {
                State::Stopped(_) => {
                    if ui.button(RichText::new("Start").size(18.0)).clicked() {
                        self.start(ctx);
                    }
                }
                _ => {
                    if ui.button(RichText::new("Stop").size(18.0)).clicked() {
                        self.stop();
                    }
                }
            }
            ui.label(
                RichText::new(format!(
                    "{step}, {} framing, listening on {}",
                    match self.settings.framing {
                        Framing::Lines => "line",
                        Framing::LengthPrefix => "length-prefix",
                    },
                    self.settings.host
                ))
                .weak(),
            );
        });
        ui.add_space(6.0);
    }

    fn online_panel(&mut self, ui: &mut egui::Ui) {
        ui.label(
            RichText::new(format!("Online ({})", self.online.len()))
                .size(28.0)
                .strong(),
        );
        ui.separator();
        egui::ScrollArea::vertical().show(ui, |ui| {
            for name in &self.online {
                ui.label(RichText::new(name).size(24.0));
            }
        });
    }

    fn log_panel(&mut self, ui: &mut egui::Ui) {
        ui.label(RichText::new("Server log").strong());
        egui::ScrollArea::vertical()
            .stick_to_bottom(true)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for line in &self.log {
                    ui.label(RichText::new(line).monospace().size(15.0));
                }
            });
    }
}

/// What eframe calls once per frame (see `main.rs`).
impl eframe::App for ServerApp {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.ui(ctx);
    }
}

impl Drop for ServerApp {
    /// Closing the window ends the server.
    fn drop(&mut self) {
        self.child.kill();
    }
}

/// The supervisor thread's way to reach the window.
struct Reporter {
    tx: Sender<Report>,
    ctx: egui::Context,
}

impl Reporter {
    fn send(&self, report: Report) {
        let _ = self.tx.send(report);
        self.ctx.request_repaint();
    }
}

/// Builds, starts and reads the server until it ends.
fn supervise(settings: &ServeSettings, slot: &ChildSlot, report: &Reporter) {
    let package = step_package(settings.framing);
    let program = match build_step(package, slot, |line| report.send(Report::Log(line))) {
        Ok(program) => program,
        Err(why) => return report.send(Report::Failed(why)),
    };
    let spawned = Command::new(&program)
        .args([
            "--host",
            &settings.host,
            "--port",
            &settings.port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            return report.send(Report::Failed(format!(
                "cannot start {}: {e}",
                program.display()
            )));
        }
    };
    let pid = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let id = slot.put(child);
    if let Some(stderr) = stderr {
        forward(stderr, report.tx.clone(), report.ctx.clone());
    }
    let Some(stdout) = stdout else { return };
    let mut first = true;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if first {
            first = false;
            if let Some(addr) = line
                .strip_prefix("listening on ")
                .and_then(|a| a.parse().ok())
            {
                report.send(Report::Listening(addr, pid));
            }
        }
        report.send(Report::Log(line));
    }
    // Its output closed: it ended, by itself or because we killed it.
    report.send(Report::Exited(slot.reap(id)));
}

/// Sends each line `from` prints to the window, in a thread.
fn forward(from: impl Read + Send + 'static, tx: Sender<Report>, ctx: egui::Context) {
    thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(Report::Log(line));
            ctx.request_repaint();
        }
    });
}

/// Builds `package` next to this program and returns its binary (see the
/// module comment); cargo's output goes to `log`. The build is a child in
/// `slot` too, so closing the window during a first, long build stops it.
/// The tests find the steps' servers through here as well.
pub fn build_step(
    package: &str,
    slot: &ChildSlot,
    mut log: impl FnMut(String),
) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let dir = binary_dir(&exe);
    let program = dir.join(format!("{package}{}", std::env::consts::EXE_SUFFIX));
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let Some(profile) = profile_of(&dir) else {
        return found(program);
    };
    let target_dir = dir.parent().unwrap_or(&dir).to_path_buf();
    if !manifest.exists() {
        return found(program);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let spawned = Command::new(&cargo)
        .arg("build")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .args([
            "--profile",
            &profile,
            "--package",
            package,
            "--bin",
            package,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        // No cargo on this machine: use what is there.
        Err(_) => return found(program),
    };
    log(format!(
        "cargo build -p {package} (a no-op when it is up to date)"
    ));
    let stderr = child.stderr.take();
    let id = slot.put(child);
    if let Some(stderr) = stderr {
        // Read here, not in a thread: the build is over when this ends.
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            log(format!("  {}", line.trim_start()));
        }
    }
    match slot.reap(id) {
        Some(status) if status.success() => found(program),
        Some(status) => Err(format!(
            "cargo build -p {package} failed ({status}): see the log for the compiler's errors"
        )),
        None => Err("stopped while building".to_string()),
    }
}

fn found(program: PathBuf) -> Result<PathBuf, String> {
    if program.exists() {
        Ok(program)
    } else {
        Err(format!(
            "no server program at {}: build it with `cargo build -p {}`",
            program.display(),
            program.file_stem().unwrap_or_default().to_string_lossy()
        ))
    }
}

/// The directory where cargo puts the workspace's binaries, from where this
/// program runs: `target/debug/` itself, or `target/debug/deps/` for a
/// test binary.
fn binary_dir(exe: &Path) -> PathBuf {
    let dir = exe.parent().unwrap_or(Path::new("."));
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().unwrap_or(dir).to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The cargo profile that builds into `dir`: `target/debug` is `dev`,
/// `target/release` is `release`, any other is its own name. `None` when
/// `dir` is not inside a `target` directory (then we do not build).
fn profile_of(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    let parent = dir.parent()?.file_name()?.to_str()?;
    if parent != "target" && std::env::var_os("CARGO_TARGET_DIR").is_none() {
        return None;
    }
    Some(match name {
        "debug" => "dev".to_string(),
        other => other.to_string(),
    })
}

/// What the window shows classmates, in large type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub host: String,
    /// A warning when that address may not work.
    pub note: Option<String>,
}

/// The address to share for a server bound to `bound`, given this
/// machine's ranked addresses: the first one, as `cargo xtask myip` and the
/// servers' own hint (`classroom::connect_hint`) choose.
pub fn address_to_share(bound: SocketAddr, candidates: &[Candidate]) -> Share {
    let ip = bound.ip();
    if ip.is_loopback() {
        return Share {
            host: ip.to_string(),
            note: Some(
                "only this machine can connect: start with --host 0.0.0.0 to let classmates in"
                    .to_string(),
            ),
        };
    }
    if !ip.is_unspecified() {
        return Share {
            host: ip.to_string(),
            note: None,
        };
    }
    let Some(best) = candidates.first() else {
        return Share {
            host: "127.0.0.1".to_string(),
            note: Some(
                "no LAN address found (Wi-Fi off?): only this machine can connect for now; \
                 run `cargo xtask myip` once you are on the network"
                    .to_string(),
            ),
        };
    };
    if ip.is_ipv4() && best.ip.is_ipv6() {
        return Share {
            host: best.ip.to_string(),
            note: Some(
                "this machine's LAN address is IPv6, but the server listens on IPv4 only: \
                 restart with --host ::"
                    .to_string(),
            ),
        };
    }
    Share {
        host: match best.ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        },
        note: best.virtual_kind().map(|what| {
            format!(
                "{} is a {what}: classmates may not reach it; see `cargo xtask myip`",
                best.interface
            )
        }),
    }
}

/// A change to the online list, read from one line of a step 7 or 8 log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Joined(String),
    Renamed { old: String, new: String },
    Left(String),
}

impl Change {
    fn apply(self, online: &mut Vec<String>) {
        match self {
            Change::Joined(name) => online.push(name),
            Change::Renamed { old, new } => {
                for n in online.iter_mut().filter(|n| **n == old) {
                    *n = new.clone();
                }
            }
            Change::Left(name) => online.retain(|n| *n != name),
        }
    }
}

/// Reads the log lines that change who is online:
///
/// ```text
/// [12:00:01] 127.0.0.1:50312 joined as alice (1 in the chat)
/// [12:00:09] alice is now alicia
/// [12:00:30] alicia left: said goodbye
/// ```
///
/// A chat line is logged as `NAME: "TEXT"` (quoted), and names have no
/// spaces, so no message can pass for one of these.
pub fn read_log_line(line: &str) -> Option<Change> {
    let (_, text) = line.strip_prefix('[')?.split_once("] ")?;
    let words: Vec<&str> = text.split(' ').collect();
    match words[..] {
        [_, "joined", "as", name, ..] => Some(Change::Joined(name.to_string())),
        [old, "is", "now", new] => Some(Change::Renamed {
            old: old.to_string(),
            new: new.to_string(),
        }),
        [name, "left:", ..] => Some(Change::Left(name.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use classroom::lan::Kind;

    fn candidate(interface: &str, ip: &str) -> Candidate {
        let ip: IpAddr = ip.parse().unwrap();
        Candidate {
            interface: interface.to_string(),
            ip,
            kind: lan::classify(ip).unwrap(),
            is_virtual: lan::is_virtual_interface(interface),
        }
    }

    #[test]
    fn shares_the_first_ranked_address_like_myip() {
        let ranked = lan::rank(&[
            ("docker0".to_string(), "172.17.0.1".parse().unwrap()),
            ("wlan0".to_string(), "192.168.1.23".parse().unwrap()),
        ]);
        let share = address_to_share("0.0.0.0:65433".parse().unwrap(), &ranked);
        assert_eq!(share.host, "192.168.1.23");
        assert_eq!(share.note, None);
        assert_eq!(ranked[0].kind, Kind::PrivateV4);
    }

    #[test]
    fn warns_about_loopback_virtual_and_missing_addresses() {
        let share = address_to_share("127.0.0.1:7".parse().unwrap(), &[]);
        assert_eq!(share.host, "127.0.0.1");
        assert!(share.note.unwrap().contains("--host 0.0.0.0"));
        let share = address_to_share(
            "0.0.0.0:7".parse().unwrap(),
            &[candidate("docker0", "172.17.0.1")],
        );
        assert_eq!(share.host, "172.17.0.1");
        assert!(share.note.unwrap().contains("Docker bridge"));
        let share = address_to_share("0.0.0.0:7".parse().unwrap(), &[]);
        assert!(share.note.unwrap().contains("no LAN address"));
        let share = address_to_share(
            "0.0.0.0:7".parse().unwrap(),
            &[candidate("wlan0", "2001:db8::42")],
        );
        assert!(share.note.unwrap().contains("--host ::"));
        let share = address_to_share(
            "[::]:7".parse().unwrap(),
            &[candidate("wlan0", "2001:db8::42")],
        );
        assert_eq!(share.host, "[2001:db8::42]");
    }

    #[test]
    fn reads_joins_renames_and_leaves_from_the_log() {
        assert_eq!(
            read_log_line("[12:00:01] 127.0.0.1:50312 joined as alice (1 in the chat)"),
            Some(Change::Joined("alice".into()))
        );
        assert_eq!(
            read_log_line("[12:00:09] alice is now alicia"),
            Some(Change::Renamed {
                old: "alice".into(),
                new: "alicia".into()
            })
        );
        assert_eq!(
            read_log_line("[12:00:30] alicia left: said goodbye"),
            Some(Change::Left("alicia".into()))
        );
        for line in [
            "[12:00:02] alice: \"bob is now x\"",
            "[12:00:02] alice: \"left: x\"",
            "[12:00:02] connected: 127.0.0.1:50312",
            "[12:00:02] disconnected: 127.0.0.1:50312 (said goodbye)",
            "listening on 0.0.0.0:65433",
            "  classmates connect with: cargo run -p chat-client -- --host 192.168.1.23",
        ] {
            assert_eq!(read_log_line(line), None, "{line}");
        }
    }

    #[test]
    fn a_test_binary_finds_the_workspace_binaries_one_level_up() {
        let dir = binary_dir(Path::new("/w/target/debug/deps/window-0123"));
        assert_eq!(dir, Path::new("/w/target/debug"));
        let dir = binary_dir(Path::new("/w/target/release/gui-client"));
        assert_eq!(dir, Path::new("/w/target/release"));
    }
}
