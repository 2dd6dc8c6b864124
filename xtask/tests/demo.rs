//! `cargo xtask demo` through the real binary: the scripted demo ends by
//! itself with the expected conversation, and nothing it started outlives
//! it, whether it ends normally, by Ctrl-C or by SIGTERM; the tmux mode
//! opens one pane per program, and ending the session ends them all;
//! inside tmux it opens a window of that session, and a client that leaves
//! keeps its pane.
//!
//! Every process the demo starts inherits a marker variable from its
//! environment; scanning /proc for that marker finds them. The tests that
//! need that, signals or tmux are Linux only (the helpers they use too, so
//! that nothing is left unused on Windows and macOS).

#[cfg(target_os = "linux")]
use std::io::{BufRead, BufReader};
#[cfg(target_os = "linux")]
use std::path::PathBuf;
#[cfg(target_os = "linux")]
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(target_os = "linux")]
use std::sync::mpsc;
#[cfg(target_os = "linux")]
use std::thread;
use std::time::Duration;
#[cfg(target_os = "linux")]
use std::time::Instant;

use assert_cmd::Command;
use xtask::build::{self, Profile};
use xtask::course;

/// Every wait in these tests.
const TIMEOUT: Duration = Duration::from_secs(20);
const MARKER_VAR: &str = "XTASK_DEMO_TEST_MARKER";

/// A marker unique to this test process and call.
fn marker() -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The processes whose environment holds `MARKER_VAR=marker`.
fn marked_processes(marker: &str) -> Vec<u32> {
    let needle = format!("{MARKER_VAR}={marker}");
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|&b| b == 0)
            .any(|var| var == needle.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// Waits (bounded) until no marked process is left; returns those left.
#[cfg(target_os = "linux")]
fn wait_until_gone(marker: &str) -> Vec<u32> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left = marked_processes(marker);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The last chat step the demo shows when asked for by number (the bonus
/// steps 8 and 9 included).
const LAST_CHAT_STEP: u8 = 9;

/// The chat steps session2/ has, with their packages, built.
fn chat_steps() -> Vec<(u8, String)> {
    let steps: Vec<(u8, String)> = (3..=LAST_CHAT_STEP)
        .filter_map(|n| course::step(n).map(|p| (n, p.name)))
        .collect();
    assert!(!steps.is_empty(), "session2/ has chat steps");
    let mut packages: Vec<&str> = steps.iter().map(|(_, p)| p.as_str()).collect();
    packages.push("chat-client");
    build::build_binaries(&packages, Profile::Dev).expect("the steps build");
    steps
}

/// The latest chat step with names and goodbyes (step 4 on), which the
/// tmux tests type into; `None`, with a note, in a handout before step 4.
#[cfg(target_os = "linux")]
fn named_chat_step() -> Option<(u8, String)> {
    let found = chat_steps().into_iter().rfind(|(n, _)| *n >= 4);
    if found.is_none() {
        println!("note: no chat step with names here (step 4 on): skipped");
    }
    found
}

fn xtask() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.env("NO_COLOR", "1").env_remove("TMUX");
    command
}

const STEP_4: &str = "\
alice joins
bob joins
    alice   <  SERVER: bob has joined the chat.
carol joins
    alice   <  SERVER: carol has joined the chat.
    bob     <  SERVER: carol has joined the chat.
alice   >  hi everyone!
    bob     <  alice: hi everyone!
    carol   <  alice: hi everyone!
bob     >  hello alice
    alice   <  bob: hello alice
    carol   <  bob: hello alice
carol   >  hey both, carol here
    alice   <  carol: hey both, carol here
    bob     <  carol: hey both, carol here
";

/// The goodbyes, with bob's name at the end of the chat.
fn leaves(bob: &str) -> String {
    format!(
        "\
carol   >  bye
    carol   <  DONE
    alice   <  SERVER: carol has left the chat.
    {bob:<6}  <  SERVER: carol has left the chat.
{bob:<6}  >  EXIT
    {bob:<6}  <  DONE
    alice   <  SERVER: {bob} has left the chat.
alice   >  /quit
    alice   <  DONE
"
    )
}

const COMMANDS: &str = "\
bob     >  /name robert
    alice   <  SERVER: bob is now robert
    bob     <  SERVER: bob is now robert
    carol   <  SERVER: bob is now robert
carol   >  /who
    carol   <  SERVER: online: alice, robert, carol
robert  >  robert is my full name
    alice   <  robert: robert is my full name
    carol   <  robert: robert is my full name
";

const STEP_3: &str = "\
alice connects (the server sees <alice>)
bob connects (the server sees <bob>)
carol connects (the server sees <carol>)
alice   >  hi everyone!
    bob     <  <alice>: hi everyone!
    carol   <  <alice>: hi everyone!
bob     >  hello alice
    alice   <  <bob>: hello alice
    carol   <  <bob>: hello alice
carol   >  hey both, carol here
    alice   <  <carol>: hey both, carol here
    bob     <  <carol>: hey both, carol here
  (carol sends two lines in one single write:)
carol   >  \"two lines\\nin one write\\n\"
    alice   <  <carol>: two lines
    alice   <  in one write
    bob     <  <carol>: two lines
    bob     <  in one write
  (step 3 relays raw chunks, so the second line arrives without a sender; step 4 fixes this)
carol   >  (closes the connection)
bob     >  (closes the connection)
alice   >  (closes the connection)
";

/// The conversation the demo of step `n` must print.
fn expected_conversation(n: u8) -> String {
    match n {
        3 => STEP_3.to_string(),
        4 => format!("{STEP_4}{}", leaves("bob")),
        _ => format!("{STEP_4}{COMMANDS}{}", leaves("robert")),
    }
}

/// Step 3 shows the addresses the server sees; name them for comparing.
fn with_addresses_named(output: &str) -> String {
    let mut output = output.to_string();
    for name in ["alice", "bob", "carol"] {
        let prefix = format!("{name} connects (the server sees ");
        let addr = output.lines().find_map(|l| {
            l.strip_prefix(&prefix)?
                .strip_suffix(')')
                .map(str::to_string)
        });
        if let Some(addr) = addr {
            output = output.replace(&addr, &format!("<{name}>"));
        }
    }
    output
}

#[test]
fn scripted_demo_of_every_chat_step_ends_with_the_expected_conversation() {
    for (n, package) in chat_steps() {
        let marker = marker();
        let output = xtask()
            .args(["demo", &n.to_string(), "--script", "--pace", "0"])
            .env(MARKER_VAR, &marker)
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "demo {n} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut lines = stdout.lines();
        let header = lines.next().unwrap();
        assert!(
            header.starts_with(&format!("Step {n} ({package}) listens on 127.0.0.1:")),
            "{header}"
        );
        let rest: Vec<&str> = lines.collect();
        let conversation = rest[1..]
            .iter()
            .take_while(|l| !l.is_empty())
            .map(|l| format!("{l}\n"))
            .collect::<String>();
        assert_eq!(
            with_addresses_named(&conversation),
            expected_conversation(n),
            "step {n}"
        );
        assert!(stdout.contains("Everyone left; the server is stopped."));
        if cfg!(target_os = "linux") {
            assert_eq!(
                marked_processes(&marker),
                Vec::<u32>::new(),
                "step {n} left processes"
            );
        }
    }
}

#[test]
fn the_default_is_the_latest_chat_step_of_the_lesson() {
    let latest = chat_steps()
        .into_iter()
        .rfind(|(n, _)| *n <= course::LAST_SESSION_STEP)
        .unwrap();
    let output = xtask()
        .args(["demo", "--script", "--pace", "0"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with(&format!("Step {} ({})", latest.0, latest.1)),
        "{stdout}"
    );
}

#[test]
fn an_echo_step_is_refused() {
    let output = xtask().args(["demo", "2", "--script"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("step 2 is an echo server"), "{stderr}");
}

/// Starts a slow scripted demo in a process group of its own, and returns
/// it once its server is up (its first client has joined).
#[cfg(target_os = "linux")]
fn start_slow_demo(marker: &str) -> (Child, mpsc::Receiver<String>) {
    use std::os::unix::process::CommandExt;
    let (n, _) = chat_steps().into_iter().last().unwrap();
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["demo", &n.to_string(), "--script", "--pace", "5000"])
        .env("NO_COLOR", "1")
        .env(MARKER_VAR, marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with("alice") => break,
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                panic!("the demo did not start: {e}");
            }
        }
    }
    (child, rx)
}

#[cfg(target_os = "linux")]
fn signal(signal: &str, target: &str) {
    let status = StdCommand::new("kill")
        .args([signal, "--", target])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {target}");
}

#[cfg(target_os = "linux")]
fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the demo did not stop");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_stops_the_demo_and_its_server() {
    let marker = marker();
    let (mut child, _lines) = start_slow_demo(&marker);
    let server: Vec<u32> = marked_processes(&marker)
        .into_iter()
        .filter(|&pid| pid != child.id())
        .collect();
    assert_eq!(server.len(), 1, "one server process: {server:?}");
    // Ctrl-C in a terminal signals the whole foreground process group.
    signal("-INT", &format!("-{}", child.id()));
    let status = wait_for_exit(&mut child);
    assert_eq!(status.code(), Some(130));
    assert_eq!(wait_until_gone(&marker), Vec::<u32>::new());
}

#[cfg(target_os = "linux")]
#[test]
fn sigterm_to_the_demo_alone_still_stops_its_server() {
    let marker = marker();
    let (mut child, _lines) = start_slow_demo(&marker);
    let server: Vec<u32> = marked_processes(&marker)
        .into_iter()
        .filter(|&pid| pid != child.id())
        .collect();
    assert_eq!(server.len(), 1, "one server process: {server:?}");
    // Only xtask gets the signal: its handler must stop the server.
    signal("-TERM", &child.id().to_string());
    let status = wait_for_exit(&mut child);
    assert_eq!(status.code(), Some(130));
    assert_eq!(wait_until_gone(&marker), Vec::<u32>::new());
}

/// A tmux server of the test's own (its socket in a temporary directory),
/// killed on drop.
#[cfg(target_os = "linux")]
struct PrivateTmux {
    dir: PathBuf,
}

#[cfg(target_os = "linux")]
impl PrivateTmux {
    fn new() -> PrivateTmux {
        let dir = std::env::temp_dir().join(format!("xtask-demo-tmux-{}", marker()));
        std::fs::create_dir_all(&dir).unwrap();
        PrivateTmux { dir }
    }

    fn command(&self, args: &[&str]) -> StdCommand {
        let mut command = StdCommand::new("tmux");
        command
            .args(args)
            .env("TMUX_TMPDIR", &self.dir)
            .env_remove("TMUX");
        command
    }

    fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).output().unwrap();
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits (bounded) until `pane` shows `text`.
    fn wait_for_text(&self, pane: &str, text: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let screen = self.run(&["capture-pane", "-p", "-J", "-t", pane]);
            if screen.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pane {pane} never showed {text:?}:\n{screen}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for PrivateTmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn tmux_mode_opens_one_pane_per_program_and_ending_it_ends_them() {
    if StdCommand::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: the tmux mode is not tested here");
        return;
    }
    let Some((n, package)) = named_chat_step() else {
        return;
    };
    let tmux = PrivateTmux::new();
    let marker = marker();
    let output = xtask()
        .args(["demo", &n.to_string(), "--detach"])
        .env("TMUX_TMPDIR", &tmux.dir)
        .env(MARKER_VAR, &marker)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("tmux attach -t chat-demo"));

    let panes = tmux.run(&[
        "list-panes",
        "-t",
        "chat-demo",
        "-F",
        "#{pane_id} #{pane_title}",
    ]);
    let panes: Vec<(&str, &str)> = panes.lines().map(|l| l.split_once(' ').unwrap()).collect();
    let titles: Vec<&str> = panes.iter().map(|(_, title)| *title).collect();
    assert_eq!(
        titles,
        [
            format!("server: {package}").as_str(),
            "alice",
            "bob",
            "carol"
        ]
    );
    // The tmux server xtask started carries the marker too; count the rest.
    let programs: Vec<String> = marked_processes(&marker)
        .into_iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).ok())
        .map(|comm| comm.trim().to_string())
        .filter(|comm| !comm.starts_with("tmux"))
        .collect();
    assert_eq!(
        programs.len(),
        4,
        "a server and three clients: {programs:?}"
    );
    assert_eq!(programs.iter().filter(|c| *c == "chat-client").count(), 3);

    // Type in alice's pane; bob and carol see it.
    let (alice, bob, carol) = (panes[1].0, panes[2].0, panes[3].0);
    tmux.wait_for_text(alice, "name sent");
    tmux.wait_for_text(carol, "name sent");
    tmux.run(&["send-keys", "-t", alice, "hi from the test", "Enter"]);
    tmux.wait_for_text(bob, "alice: hi from the test");
    tmux.wait_for_text(carol, "alice: hi from the test");

    tmux.run(&["kill-session", "-t", "chat-demo"]);
    assert_eq!(wait_until_gone(&marker), Vec::<u32>::new());
}

#[test]
fn a_server_that_speaks_another_step_stops_the_demo_with_a_clear_message() {
    chat_steps();
    let step3 = course::step(3).expect("step 3 exists");
    let binary = build::build_binary(&step3.name, Profile::Dev).unwrap();
    let mut out = Vec::new();
    let err = xtask::demo::script::run(
        4,
        "step4-framed-chat",
        &binary,
        Duration::ZERO,
        false,
        &mut out,
    )
    .unwrap_err()
    .to_string();
    // Step 3 relays bob's name line instead of announcing him.
    assert!(
        err.starts_with(
            "alice expected \"SERVER: bob has joined the chat.\" but received \"127.0.0.1:"
        ),
        "{err}"
    );
    assert!(err.contains("does not speak step 4's protocol"), "{err}");
}

#[test]
fn a_server_that_cannot_start_is_reported() {
    let mut out = Vec::new();
    let missing = std::env::temp_dir().join("no-such-server-binary");
    let err = xtask::demo::script::run(
        5,
        "step5-name-command",
        &missing,
        Duration::ZERO,
        false,
        &mut out,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("the step5-name-command server did not start"),
        "{err}"
    );
    assert!(out.is_empty(), "nothing printed before the server runs");
}

/// Inside tmux (here an instructor's session nobody is attached to, the
/// case that used to fail with `no current client`), the demo opens a
/// window of that session instead of a session of its own, and a client
/// that says bye keeps its pane, with the server's DONE, until the demo
/// ends.
#[cfg(target_os = "linux")]
#[test]
fn inside_tmux_the_demo_is_a_window_of_that_session_and_leavers_keep_their_pane() {
    if StdCommand::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: the tmux mode is not tested here");
        return;
    }
    let Some((n, _)) = named_chat_step() else {
        return;
    };
    let tmux = PrivateTmux::new();
    let marker = marker();
    let demo = format!("{} demo {n}; sleep 60", env!("CARGO_BIN_EXE_xtask"));
    let status = tmux
        .command(&[
            "new-session",
            "-d",
            "-s",
            "class",
            "-x",
            "200",
            "-y",
            "50",
            &demo,
        ])
        .env(MARKER_VAR, &marker)
        .env("NO_COLOR", "1")
        .status()
        .unwrap();
    assert!(status.success());

    // The window appears in the user's session, with its four panes.
    let deadline = Instant::now() + TIMEOUT;
    let panes = loop {
        let listed = tmux
            .command(&[
                "list-panes",
                "-t",
                "class:chat-demo",
                "-F",
                "#{pane_id} #{pane_title}",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&listed.stdout).into_owned();
        if listed.status.success() && text.lines().count() == 4 {
            break text;
        }
        assert!(Instant::now() < deadline, "no demo window: {text}");
        thread::sleep(Duration::from_millis(50));
    };
    let panes: Vec<(&str, &str)> = panes.lines().map(|l| l.split_once(' ').unwrap()).collect();
    assert!(panes[0].1.starts_with("server: "), "{panes:?}");
    assert!(panes[0].1.contains("Ctrl-b & ends the demo"), "{panes:?}");
    tmux.wait_for_text("class:0", "The demo runs in the window chat-demo");
    let said = tmux.run(&["capture-pane", "-p", "-J", "-t", "class:0"]);
    assert!(!said.contains("no current client"), "{said}");
    assert_eq!(
        tmux.run(&["list-sessions", "-F", "#{session_name}"]),
        "class\n"
    );

    // Bob leaves: his pane stays, showing the server's DONE.
    let bob = panes[2].0;
    tmux.wait_for_text(bob, "name sent");
    tmux.run(&["send-keys", "-t", bob, "bye", "Enter"]);
    tmux.wait_for_text(bob, "server answered DONE");
    let deadline = Instant::now() + TIMEOUT;
    while tmux
        .run(&["display-message", "-p", "-t", bob, "#{pane_dead}"])
        .trim()
        != "1"
    {
        assert!(Instant::now() < deadline, "bob's client did not end");
        thread::sleep(Duration::from_millis(20));
    }
    tmux.wait_for_text(bob, "server answered DONE");

    // Closing the window ends the demo and every program in it.
    tmux.run(&["kill-window", "-t", "class:chat-demo"]);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let programs: Vec<String> = marked_processes(&marker)
            .into_iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
            // Zombies (state Z) are gone already; tmux reaps them later.
            .filter(|stat| !stat.contains(") Z "))
            .filter(|stat| stat.contains("(chat-client)") || stat.contains("(step"))
            .collect();
        if programs.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still running: {programs:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Without a terminal (and outside tmux) the demo plays the script, and
/// says why, whether tmux is installed or not.
#[test]
fn without_a_terminal_the_demo_says_why_it_plays_the_script() {
    let (n, _) = chat_steps().into_iter().last().unwrap();
    let output = xtask()
        .args(["demo", &n.to_string(), "--pace", "0"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let first = stdout.lines().next().unwrap_or("");
    let why = if tmux_installed() {
        "(no terminal to show tmux panes in, so here is the scripted demo"
    } else {
        "(tmux is not installed, so here is the scripted demo"
    };
    assert!(first.starts_with(why), "{stdout}");
    assert!(
        stdout.contains("Everyone left; the server is stopped."),
        "{stdout}"
    );
}

fn tmux_installed() -> bool {
    std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}
