//! What both widget test files share: a headless window that can wait for
//! the network the way the real one does, and the steps' servers.

#![allow(dead_code)] // each test file uses its own part

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use gui_client::serve::{self, ChildSlot};

/// The longest any one wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// A window under test: egui runs headless, widgets are found through
/// AccessKit (what screen readers use), nothing needs a display.
pub struct Window<A: 'static> {
    pub harness: Harness<'static, A>,
    woken: Receiver<()>,
}

impl<A: 'static> Window<A> {
    pub fn new(app: A, ui: fn(&mut A, &egui::Context)) -> Window<A> {
        let harness = Harness::builder()
            .with_size(egui::vec2(900.0, 640.0))
            .build_state(move |ctx, app| ui(app, ctx), app);
        // The network threads call `request_repaint` after every event; in
        // a real window that wakes the event loop, here it wakes the test.
        let (tx, woken) = mpsc::channel();
        harness.ctx.set_request_repaint_callback(move |info| {
            if info.delay.is_zero() {
                let _ = tx.send(());
            }
        });
        Window { harness, woken }
    }

    pub fn app(&self) -> &A {
        self.harness.state()
    }

    /// Draws frames until `done` holds: one frame, then (if not yet) wait
    /// for the next repaint request, as eframe would; then a few more
    /// frames while the window asks for them. Fails after [`WAIT`],
    /// saying what it waited for and what the window showed.
    pub fn run_until(&mut self, what: &str, mut done: impl FnMut(&Harness<'static, A>) -> bool)
    where
        A: Describe,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            self.harness.step();
            if done(&self.harness) {
                // A panel that grew this frame is drawn at its new size in
                // the next: let the layout settle before the test clicks.
                self.harness.run_ok();
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if self.woken.recv_timeout(left).is_err() {
                panic!(
                    "waited {WAIT:?} for {what}; the window shows:\n{}",
                    self.app().describe()
                );
            }
            // Several wake-ups may have piled up: one frame serves them all.
            while self.woken.try_recv().is_ok() {}
        }
    }
}

/// What a failing test prints about the window.
pub trait Describe {
    fn describe(&self) -> String;
}

impl Describe for gui_client::chat::ChatApp {
    fn describe(&self) -> String {
        let lines: Vec<&str> = self.lines().iter().map(|l| l.text.as_str()).collect();
        let tail = &lines[lines.len().saturating_sub(8)..];
        format!(
            "status: {}\nonline: {:?}\nlast lines: {tail:#?}",
            self.status(),
            self.online()
        )
    }
}

impl Describe for gui_client::serve::ServerApp {
    fn describe(&self) -> String {
        let log: Vec<&str> = self.log().iter().map(String::as_str).collect();
        let tail = &log[log.len().saturating_sub(12)..];
        format!(
            "state: {:?}\nonline: {:?}\nlog: {tail:#?}",
            self.state(),
            self.online()
        )
    }
}

/// A step's server binary, built once per test run by the same code the
/// server window uses.
pub fn step_binary(package: &'static str) -> PathBuf {
    static STEP8: OnceLock<PathBuf> = OnceLock::new();
    static STEP7: OnceLock<PathBuf> = OnceLock::new();
    let cell = match package {
        "step8-prankster-proof" => &STEP8,
        "step7-length-prefix" => &STEP7,
        other => panic!("no cell for {other}"),
    };
    cell.get_or_init(|| {
        let mut output = String::new();
        serve::build_step(package, &ChildSlot::default(), |line| {
            output.push_str(&line);
            output.push('\n');
        })
        .unwrap_or_else(|e| panic!("{e}\n{output}"))
    })
    .clone()
}

/// Whether process `pid` is gone (Linux: no `/proc/PID`; elsewhere the
/// tests rely on the port being closed).
pub fn process_gone(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}
