//! The room lives in seven copies: session2's steps 6 and 7, the starters
//! of exercises 6 and 7, their solutions, and the bonus step 8. A fix made in one copy and
//! forgotten in another is a bug that a student finds in class. This test
//! ties them together, so that such drift fails `cargo test`:
//!
//! * a **solution** is its step, without the step's tests (every
//!   `#[cfg(test)]` item) and with its own opening doc comment (`//!`);
//! * a **starter** is its solution, except inside its TODO regions: a
//!   `// TODO` comment and the lines after it, up to the next blank line
//!   (what the TODO is about), or right after it;
//! * **step 7** is step 6 in every file they share, but for the framing: the
//!   table at the end lists each difference, file by file (the doc comment
//!   of `main.rs` aside, which is each step's own);
//! * **step 8** is step 6 in the files of its room (room, names, lines,
//!   flood control, seats), tests aside, but for a task where step 6 has a
//!   thread: the table `TASKS` lists each.
//!
//! When a copy drifts, the failure names the file and shows the first line
//! that differs. A solution that was deleted (an instructor hands the repo
//! out without the answers) or a starter a student is working on is skipped
//! with a note.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use similar::{DiffOp, TextDiff};
use xtask::course::{self, Package};
use xtask::workspace;

/// The steps' directories, by number.
fn step(n: u8) -> PathBuf {
    course::step(n)
        .unwrap_or_else(|| panic!("session2 has a step {n}"))
        .dir
}

/// Whether every one of these steps is here; a handout that stops before
/// one of them skips the comparison, with a note.
fn steps_here(steps: &[u8]) -> bool {
    let missing = course::missing_steps(steps);
    if !missing.is_empty() {
        println!("note: no step {missing:?} here: skipped");
    }
    missing.is_empty()
}

/// The names of the `.rs` files in `dir/src`, sorted.
fn sources(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("src"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").file_name())
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.ends_with(".rs"))
        .collect();
    names.sort();
    names
}

fn read(dir: &Path, name: &str) -> String {
    let path = dir.join("src").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A path for messages, from the repository's root.
fn shown(dir: &Path, name: &str) -> String {
    let path = dir.join("src").join(name);
    path.strip_prefix(workspace::root())
        .unwrap_or(&path)
        .display()
        .to_string()
        .replace('\\', "/")
}

/// `text` without its opening doc comment (the `//!` lines at the top).
fn without_doc(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|line| !line.starts_with("//!"))
        .unwrap_or(lines.len());
    lines[start..].join("\n")
}

/// `text` without its tests: every item marked `#[cfg(test)]`, with the doc
/// comment above it and the blank line before that. rustfmt puts an item's
/// closing brace alone on a line, at the indentation of its attribute.
fn without_tests(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim() != "#[cfg(test)]" {
            kept.push(line);
            i += 1;
            continue;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        while kept
            .last()
            .is_some_and(|l| l.starts_with(&format!("{indent}///")))
        {
            kept.pop();
        }
        if kept.last().is_some_and(|l| l.trim().is_empty()) {
            kept.pop();
        }
        let close = format!("{indent}}}");
        let end = (i + 1..lines.len())
            .find(|&j| lines[j] == close)
            .unwrap_or_else(|| panic!("no closing brace for the #[cfg(test)] at line {}", i + 1));
        i = end + 1;
    }
    kept.join("\n")
}

/// The first line where `expected` and `actual` differ, for a message.
fn first_difference(expected: &str, actual: &str) -> String {
    let (expected, actual): (Vec<&str>, Vec<&str>) =
        (expected.lines().collect(), actual.lines().collect());
    let at = (0..expected.len().max(actual.len()))
        .find(|&i| expected.get(i) != actual.get(i))
        .unwrap_or(0);
    format!(
        "first difference at line {} (counting from the comparison's start):\n  expected: {:?}\n  found:    {:?}",
        at + 1,
        expected.get(at).copied().unwrap_or("(end of file)"),
        actual.get(at).copied().unwrap_or("(end of file)")
    )
}

/// The TODO regions of a starter's lines: each `// TODO` line, and the
/// lines after it up to (not including) the next blank line.
fn todo_regions(lines: &[&str]) -> Vec<Range<usize>> {
    let mut regions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("// TODO") {
            let end = (i..lines.len())
                .find(|&j| lines[j].trim().is_empty())
                .unwrap_or(lines.len());
            regions.push(i..end);
            i = end;
        } else {
            i += 1;
        }
    }
    regions
}

/// Checks that `starter` is `solution` outside its TODO regions: every
/// change lies inside a region, or next to one, blank lines apart (where a
/// line diff may put lines of the solution that the starter takes out).
fn differs_only_in_todos(solution: &str, starter: &str) -> Result<(), String> {
    let lines: Vec<&str> = starter.lines().collect();
    let blank = |j: usize| lines[j].trim().is_empty();
    // Each region, widened over the blank lines around it.
    let regions: Vec<Range<usize>> = todo_regions(&lines)
        .into_iter()
        .map(|Range { mut start, mut end }| {
            while start > 0 && blank(start - 1) {
                start -= 1;
            }
            while end < lines.len() && blank(end) {
                end += 1;
            }
            start..end
        })
        .collect();
    let diff = TextDiff::from_lines(solution, starter);
    for op in diff.ops() {
        let (solution_lines, starter_lines) = match *op {
            DiffOp::Equal { .. } => continue,
            DiffOp::Delete {
                old_index,
                old_len,
                new_index,
            } => (old_index..old_index + old_len, new_index..new_index),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => (old_index..old_index, new_index..new_index + new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (
                old_index..old_index + old_len,
                new_index..new_index + new_len,
            ),
        };
        let covered = regions
            .iter()
            .any(|region| region.start <= starter_lines.start && starter_lines.end <= region.end);
        if !covered {
            let solution_text: Vec<&str> = solution.lines().collect();
            return Err(format!(
                "lines {}..{} of the starter differ from the solution outside any TODO region:\n  solution: {:?}\n  starter:  {:?}",
                starter_lines.start + 1,
                starter_lines.end + 1,
                &solution_text[solution_lines],
                &lines[starter_lines],
            ));
        }
    }
    Ok(())
}

#[test]
fn each_solution_is_its_step_without_the_tests() {
    for n in [6, 7] {
        let Some(Package { dir: solution, .. }) = course::solution(n) else {
            println!("note: no solutions/exercise{n}: skipped");
            continue;
        };
        let step = step(n);
        assert_eq!(
            sources(&solution),
            sources(&step),
            "solutions/exercise{n}/src and {} hold different files",
            step.display()
        );
        for name in sources(&step) {
            let (mut expected, mut actual) =
                (without_tests(&read(&step, &name)), read(&solution, &name));
            if name == "main.rs" {
                (expected, actual) = (without_doc(&expected), without_doc(&actual));
            }
            assert!(
                expected.trim_end() == actual.trim_end(),
                "{} is not {} without its tests: change both the same way.\n{}",
                shown(&solution, &name),
                shown(&step, &name),
                first_difference(&expected, &actual)
            );
        }
    }
}

#[test]
fn each_starter_is_its_solution_but_in_the_todo_regions() {
    for n in [6, 7] {
        let (Some(solution), Some(starter)) = (course::solution(n), course::exercise(n)) else {
            println!("note: exercise {n} or its solution is missing: skipped");
            continue;
        };
        if course::is_untouched(&starter) == Some(false) {
            println!("note: exercises/exercise{n} is being worked on: skipped");
            continue;
        }
        assert_eq!(
            sources(&starter.dir),
            sources(&solution.dir),
            "exercises/exercise{n}/src and solutions/exercise{n}/src hold different files"
        );
        let mut todos = 0;
        for name in sources(&solution.dir) {
            let (solution_text, starter_text) =
                (read(&solution.dir, &name), read(&starter.dir, &name));
            todos += todo_regions(&starter_text.lines().collect::<Vec<_>>()).len();
            if let Err(problem) = differs_only_in_todos(&solution_text, &starter_text) {
                panic!(
                    "{} drifted from {}: {problem}",
                    shown(&starter.dir, &name),
                    shown(&solution.dir, &name)
                );
            }
        }
        assert!(todos > 0, "exercises/exercise{n} has no TODO left");
    }
}

#[test]
fn step_7_is_step_6_but_for_the_framing() {
    if !steps_here(&[6, 7]) {
        return;
    }
    let (six, seven) = (step(6), step(7));
    let shared: Vec<String> = sources(&six)
        .into_iter()
        .filter(|name| sources(&seven).contains(name))
        .collect();
    for name in &shared {
        let (mut expected, mut actual) = (read(&six, name), read(&seven, name));
        if name == "main.rs" {
            (expected, actual) = (without_doc(&expected), without_doc(&actual));
        }
        assert_differs_by(&six, &seven, name, expected, actual, FRAMING, "framing");
    }
    for (name, _, _) in FRAMING {
        assert!(
            shared.iter().any(|s| s == name),
            "{name} is not in both steps"
        );
    }
}

/// Step 8 keeps step 6's room: these files are step 6's, their tests aside
/// (step 8's sockets are tokio's), but for the words of the table.
const STEP_8_KEEPS: &[&str] = &["flood.rs", "lines.rs", "names.rs", "room.rs", "seats.rs"];

#[test]
fn step_8_keeps_step_6s_room_but_says_task() {
    if !steps_here(&[6, 8]) {
        return;
    }
    let (six, eight) = (step(6), step(8));
    for name in STEP_8_KEEPS {
        let expected = without_tests(&read(&six, name));
        let actual = without_tests(&read(&eight, name));
        assert_differs_by(&six, &eight, name, expected, actual, TASKS, "tasks");
    }
    for (name, _, _) in TASKS {
        assert!(
            STEP_8_KEEPS.contains(name),
            "{name} is not a file step 8 keeps"
        );
    }
}

/// Checks that `actual` (file `name` of `to`) is `expected` (the same file
/// of `from`) with the replacements that `table` lists for `name`, the
/// `kind` of difference the two steps are allowed.
fn assert_differs_by(
    from: &Path,
    to: &Path,
    name: &str,
    mut expected: String,
    actual: String,
    table: &[(&str, &str, &str)],
    kind: &str,
) {
    for (file, in_from, in_to) in table.iter().filter(|(file, _, _)| *file == name) {
        assert!(
            expected.matches(in_from).count() == 1,
            "the {kind} table's text for {file} is no longer found once in {}: {in_from:?}\n\
             (changed it there? change {} the same way, and the table)",
            shown(from, file),
            shown(to, file)
        );
        expected = expected.replacen(in_from, in_to, 1);
    }
    assert!(
        expected == actual,
        "{} is not {} with the {kind} differences of its table: change both the same way \
         (or, for a new difference of that kind, the table in xtask/tests/copies.rs).\n{}",
        shown(to, name),
        shown(from, name),
        first_difference(&expected, &actual)
    );
}

#[test]
fn the_rules_see_what_they_should() {
    let step = "a\n\n/// doc\n#[cfg(test)]\nfn only_in_tests() {\n    x();\n}\nb\n";
    assert_eq!(without_tests(step), "a\nb");
    assert_eq!(
        without_doc("//! one\n//!\n//! two\nfn main() {}\n"),
        "fn main() {}"
    );
    let solution = "use a;\nuse b;\n\nfn f() {\n    real();\n}\n\nfn g() {}\n";
    let starter = "// TODO: import b.\nuse a;\n\n// TODO: write f.\n\nfn g() {}\n";
    assert_eq!(differs_only_in_todos(solution, starter), Ok(()));
    let drifted = "// TODO: import b.\nuse a;\n\n// TODO: write f.\n\nfn g() { changed() }\n";
    assert!(differs_only_in_todos(solution, drifted).is_err());
}

/// How step 7 differs from step 6, file by file: each text of step 6 that
/// step 7 replaces, and what it has instead. Only framing belongs here.
const FRAMING: &[(&str, &str, &str)] = &[
    (
        "client.rs",
        r#"//! * its **reader** (this module): reads bytes, cuts them into lines, waits"#,
        r#"//! * its **reader** (this module): reads bytes, cuts them into frames, waits"#,
    ),
    (
        "client.rs",
        r#"//! dies (reset, broken pipe), sends a line that is too long, never names"#,
        r#"//! dies (reset, broken pipe), sends a frame that is too long, never names"#,
    ),
    (
        "client.rs",
        r#"use crate::lines::LineBuffer;"#,
        r#"use crate::frames::FrameBuffer;"#,
    ),
    (
        "client.rs",
        r#"    /// Longest line, in bytes.
    pub max_line: usize,"#,
        r#"    /// Longest frame payload, in bytes.
    pub max_frame: usize,"#,
    ),
    (
        "client.rs",
        r#"    /// A line over `max_line` bytes."#,
        r#"    /// A frame header claiming over `max_frame` bytes."#,
    ),
    (
        "client.rs",
        r#"                "SERVER: line too long (the limit is {} bytes); closing the connection",
                limits.max_line"#,
        r#"                "SERVER: frame too long (the limit is {} bytes); closing the connection",
                limits.max_frame"#,
    ),
    (
        "client.rs",
        r#"            format!("sent a line over {} bytes", limits.max_line),"#,
        r#"            format!("announced a frame over {} bytes", limits.max_frame),"#,
    ),
    (
        "client.rs",
        r#"fn is_goodbye(line: &str) -> bool {
    let word = line.trim();"#,
        r#"fn is_goodbye(message: &str) -> bool {
    let word = message.trim();"#,
    ),
    (
        "client.rs",
        r#"        // This connection's own buffer, now with a limit (see `lines.rs`).
        let mut lines = LineBuffer::new(self.limits.max_line);"#,
        r#"        // This connection's own buffer, now of frames (see `frames.rs`).
        let mut frames = FrameBuffer::new(self.limits.max_frame);"#,
    ),
    (
        "client.rs",
        r#"            for line in lines.push(&buffer[..n]) {
                if let Some(end) = self.pace(line.len()).or_else(|| self.handle(&line)) {"#,
        r#"            for message in frames.push(&buffer[..n]) {
                if let Some(end) = self.pace(message.len()).or_else(|| self.handle(&message)) {"#,
    ),
    (
        "client.rs",
        r#"            if lines.is_too_long() {"#,
        r#"            if frames.is_too_long() {"#,
    ),
    (
        "client.rs",
        r#"    /// Handles one line; `Some(end)` when the connection should end."#,
        r#"    /// Handles one message; `Some(end)` when the connection should end."#,
    ),
    (
        "client.rs",
        r#"        // Empty lines are ignored. (Before a name, a line of spaces is not:
        // it is an empty name, and the client hears why it is refused.)"#,
        r#"        // Empty messages (zero-length frames) are ignored. (Before a name,
        // a message of spaces is not: it is an empty name, and the client
        // hears why it is refused.)"#,
    ),
    (
        "client.rs",
        r#"            // `/quit` works before a name too; any other line is a try."#,
        r#"            // `/quit` works before a name too; any other message is a try."#,
    ),
    (
        "client.rs",
        r#"    /// Before the client has a name, every line is an attempt at one."#,
        r#"    /// Before the client has a name, every message is an attempt at one."#,
    ),
    (
        "client.rs",
        r#"    /// A line starting with `/` is a command and is never broadcast."#,
        r#"    /// A message starting with `/` is a command and is never broadcast."#,
    ),
    (
        "client.rs",
        r#"    /// A `SERVER: ...` line to this client only."#,
        r#"    /// A `SERVER: ...` message to this client only."#,
    ),
    ("main.rs", r#"mod lines;"#, r#"mod frames;"#),
    (
        "main.rs",
        r#"    /// Longest line accepted, in bytes (without its newline); a longer one
    /// gets an error line and the connection is closed.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1 << 24))]
    max_line: u64,"#,
        r#"    /// Longest frame payload accepted, in bytes; a header announcing more
    /// gets an error frame and the connection is closed (nothing of that
    /// size is ever allocated). At most 349482: the frames the others
    /// receive (`NAME: ` first, a replaced byte taking 3) must stay within
    /// the 1 MiB a chat-client accepts.
    #[arg(long, default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    max_frame: u64,"#,
    ),
    (
        "main.rs",
        r#"    /// slow. The default holds a whole burst of the longest lines from every"#,
        r#"    /// slow. The default holds a whole burst of the longest frames from every"#,
    ),
    (
        "main.rs",
        r#"/// The longest message the room relays for `--max-line` (or `--max-frame`)
/// `max`: `NAME: ` (32 characters of up to 4 bytes, and 2) before the text,
/// whose every byte may become a 3-byte U+FFFD (a control character or
/// invalid UTF-8)."#,
        r#"/// The longest message the room relays for `--max-frame` `max`: `NAME: `
/// (32 characters of up to 4 bytes, and 2) before the text, whose every
/// byte may become a 3-byte U+FFFD (a control character or invalid UTF-8)."#,
    ),
    (
        "main.rs",
        r#"    3 * max + 4 * 32 + 2
}
"#,
        r#"    3 * max + 4 * 32 + 2
}

/// The longest frame any server of the course sends (PROTOCOL.md), and so
/// the longest the chat-client accepts. A client has to draw the line
/// somewhere, or one header could make it allocate 4 GiB; the server must
/// then never send more, or it would relay frames that make every
/// chat-client in the room give up.
const MAX_SENT_FRAME: u64 = 1 << 20;
"#,
    ),
    (
        "main.rs",
        r#"    let longest = longest_message(args.max_line);"#,
        r#"    let longest = longest_message(args.max_frame);
    ensure!(
        longest <= MAX_SENT_FRAME,
        "--max-frame {} would relay frames of up to {longest} bytes, more than the \
         {MAX_SENT_FRAME} a chat-client accepts; the most is {}",
        args.max_frame,
        (MAX_SENT_FRAME - longest_message(0)) / 3
    );"#,
    ),
    ("main.rs", r#"    // long line."#, r#"    // long frame."#),
    (
        "main.rs",
        r#"        "--queue-bytes ({}) must hold two of the longest messages, {} bytes for --max-line {}","#,
        r#"        "--queue-bytes ({}) must hold two of the longest messages, {} bytes for --max-frame {}","#,
    ),
    (
        "main.rs",
        r#"        args.max_line"#,
        r#"        args.max_frame"#,
    ),
    (
        "main.rs",
        r#"        max_line: usize::try_from(args.max_line)?,"#,
        r#"        max_frame: usize::try_from(args.max_frame)?,"#,
    ),
    (
        "main.rs",
        r#"    classroom::announce(&listener, "cargo run -p chat-client --")?;"#,
        r#"    classroom::announce(
        &listener,
        "cargo run -p chat-client -- --framing length-prefix",
    )?;"#,
    ),
    (
        "main.rs",
        r#"    lines::encode(message, &mut bytes);"#,
        r#"    frames::encode(message, &mut bytes);"#,
    ),
    (
        "main.rs",
        r#"        let longest_for_a_message = longest_message(args.max_line.min(flood::COST_BYTES as u64));"#,
        r#"        let longest_for_a_message = longest_message(args.max_frame.min(flood::COST_BYTES as u64));"#,
    ),
    (
        "names.rs",
        r#"    // The line was decoded with `from_utf8_lossy`, so invalid bytes are"#,
        r#"    // The frame was decoded with `from_utf8_lossy`, so invalid bytes are"#,
    ),
    (
        "names.rs",
        r#"///   `\r` rewrites the line so a message can pretend to be from someone else;"#,
        r#"///   `\r` rewrites the line so a message can pretend to be from someone
///   else. Frames can carry a `\n` too, and it is replaced like the rest:
///   printed raw, it would start a new line that could pretend to be
///   `SERVER: bob has left the chat.` The message still arrives whole, as
///   one frame;"#,
    ),
    (
        "names.rs",
        r#"        assert_eq!(sanitize("fake\rbob: hi"), "fake\u{fffd}bob: hi");"#,
        r#"        assert_eq!(sanitize("fake\rbob: hi"), "fake\u{fffd}bob: hi");
        assert_eq!(sanitize("two\nlines"), "two\u{fffd}lines");"#,
    ),
    ("outbox.rs", r#"use crate::lines;"#, r#"use crate::frames;"#),
    (
        "outbox.rs",
        r#"                lines::encode(&message, &mut batch);"#,
        r#"                frames::encode(&message, &mut batch);"#,
    ),
    (
        "outbox.rs",
        r#"        let mut received = String::new();
        client.read_to_string(&mut received).unwrap_or_default();
        let expected: String = (0..50).map(|i| format!("line {i}\n")).collect();"#,
        r#"        let mut received = Vec::new();
        client.read_to_end(&mut received).unwrap_or_default();
        // Each message as a frame: its length in 4 bytes, then its text.
        let expected: Vec<u8> = (0..50)
            .flat_map(|i| {
                let text = format!("line {i}");
                let mut frame = u32::try_from(text.len()).unwrap().to_be_bytes().to_vec();
                frame.extend_from_slice(text.as_bytes());
                frame
            })
            .collect();"#,
    ),
];

/// How step 8 words what it keeps of step 6: a task where step 6 has a
/// thread. Only that belongs here.
const TASKS: &[(&str, &str, &str)] = &[
    (
        "flood.rs",
        "the reader thread sleeps",
        "the reader task sleeps",
    ),
    (
        "lines.rs",
        "client's writer thread calls",
        "client's writer task calls",
    ),
    (
        "room.rs",
        "in each client's writer thread, with no lock held",
        "in each client's writer task, with no lock held",
    ),
    (
        "room.rs",
        "A panic in some client's thread while",
        "A panic in some client's task while",
    ),
    (
        "room.rs",
        "so even a client thread that crashes",
        "so even a client task that crashes",
    ),
    (
        "room.rs",
        "its thread stopped unexpectedly",
        "its task stopped unexpectedly",
    ),
    (
        "seats.rs",
        "costs two threads and a file descriptor",
        "costs two tasks and a file descriptor",
    ),
    (
        "seats.rs",
        "also when a client thread panics",
        "also when a client task panics",
    ),
];
