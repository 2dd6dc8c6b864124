//! The room lives in several copies, on purpose: the steps 6 and 7 that a
//! student reads, the starters and solutions of exercises 6 and 7, and
//! step 9's room, which runs step 8's on one thread. A fix made in one copy
//! and forgotten in another is a bug that a student finds in class. This
//! test ties them together, so that such drift fails `cargo test`:
//!
//! * a **solution** is its step, without the step's tests (every
//!   `#[cfg(test)]` item) and with its own opening doc comment (`//!`);
//!   solution 8 holds only its step's `flood.rs` and compiles the rest of
//!   step 8 by `#[path]` or takes it from step 8's library, which it must
//!   all be;
//! * a **starter** is its solution, except inside its TODO regions: a
//!   `// TODO` comment and the lines after it, up to the next blank line
//!   (what the TODO is about), or right after it;
//! * **step 7** is step 6 in every file they share, but for the framing: the
//!   table `FRAMING` lists each difference, file by file (the doc comment
//!   of `main.rs` aside, which is each step's own);
//! * **step 8**'s outbound queue is step 6's, tests aside;
//! * **step 9** keeps step 8's room (`room.rs`), tests aside, but for a task
//!   where step 8 has a thread (the table `TASKS`), and step 8's options
//!   (`Args`), every flag and default.
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

/// The exercises whose solutions and starters are copies of a step.
const COPIED: [u8; 3] = [6, 7, 8];

/// The files `#[path = "..."]` includes into `main.rs`, by file name, and
/// whether each is in `step`'s `src/`.
fn included(main: &str, step: &Path) -> Vec<(String, bool)> {
    main.lines()
        .filter_map(|line| line.trim().strip_prefix("#[path = \""))
        .filter_map(|rest| rest.strip_suffix("\"]"))
        .map(|path| {
            let name = path.rsplit('/').next().unwrap_or(path).to_string();
            let here = path.contains(&format!(
                "/{}/src/",
                step.file_name().unwrap().to_string_lossy()
            ));
            (
                name,
                here && step
                    .join("src")
                    .join(path.rsplit('/').next().unwrap())
                    .is_file(),
            )
        })
        .collect()
}

/// The modules a library's `lib.rs` declares (`pub mod NAME;`), as file names.
fn library_modules(step: &Path) -> Vec<String> {
    let Ok(lib) = fs::read_to_string(step.join("src/lib.rs")) else {
        return Vec::new();
    };
    lib.lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .map(|name| format!("{}.rs", name.trim_end_matches(';')))
        .collect()
}

#[test]
fn each_solution_is_its_step_without_the_tests() {
    for n in COPIED {
        let Some(Package { dir: solution, .. }) = course::solution(n) else {
            println!("note: no solutions/exercise{n}: skipped");
            continue;
        };
        if !steps_here(&[n]) {
            continue;
        }
        let step = step(n);
        let main = read(&solution, "main.rs");
        let borrowed = included(&main, &step);
        for (name, found) in &borrowed {
            assert!(
                found,
                "{} includes {name} by #[path], which is not in {}/src",
                shown(&solution, "main.rs"),
                step.display()
            );
        }
        // Every file of the step is in the solution, included, or in the
        // step's library (`lib.rs` itself included).
        let library = library_modules(&step);
        for name in sources(&step) {
            let accounted = sources(&solution).contains(&name)
                || borrowed.iter().any(|(b, _)| *b == name)
                || library.contains(&name)
                || (name == "lib.rs" && !library.is_empty());
            assert!(
                accounted,
                "{} is neither in solutions/exercise{n}/src, nor included by its main.rs, nor \
                 in the step's library",
                shown(&step, &name)
            );
        }
        for name in sources(&solution) {
            if name == "main.rs" && !borrowed.is_empty() {
                // A main.rs of its own: it includes the step's files.
                continue;
            }
            assert!(
                sources(&step).contains(&name),
                "{} is not a file of {}",
                shown(&solution, &name),
                step.display()
            );
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
    for n in COPIED {
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

#[test]
fn step_8_queues_as_step_6_does() {
    if !steps_here(&[6, 8]) {
        return;
    }
    let (six, eight) = (step(6), step(8));
    let (expected, actual) = (
        without_tests(&read(&six, "outbox.rs")),
        without_tests(&read(&eight, "outbox.rs")),
    );
    assert!(
        expected == actual,
        "{} is not {}, tests aside: change both the same way.\n{}",
        shown(&eight, "outbox.rs"),
        shown(&six, "outbox.rs"),
        first_difference(&expected, &actual)
    );
}

#[test]
fn step_9_keeps_step_8s_room_and_options_but_says_task() {
    if !steps_here(&[8, 9]) {
        return;
    }
    let (eight, nine) = (step(8), step(9));
    let expected = without_tests(&read(&eight, "room.rs"));
    let actual = without_tests(&read(&nine, "room.rs"));
    assert_differs_by(&eight, &nine, "room.rs", expected, actual, TASKS, "tasks");
    // The options: the same flags, defaults and help (`pub struct Args`).
    let args = |dir: &Path| -> String {
        let text = read(dir, "server.rs");
        let start = text
            .find("pub struct Args {")
            .expect("server.rs declares Args");
        let end = start + text[start..].find("\n}\n").expect("Args ends");
        text[start..end].to_string()
    };
    let (expected, actual) = (args(&eight), args(&nine));
    assert!(
        expected == actual,
        "{}'s options are not {}'s: change both the same way.\n{}",
        shown(&nine, "server.rs"),
        shown(&eight, "server.rs"),
        first_difference(&expected, &actual)
    );
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
    ("main.rs", r#"mod lines;"#, r#"mod frames;"#),
    (
        "main.rs",
        r#"use lines::LineBuffer;"#,
        r#"use frames::FrameBuffer;"#,
    ),
    (
        "main.rs",
        r#"/// A chat server: lines, nicknames, and notices when people come and go."#,
        r#"/// A chat server speaking length-prefixed frames."#,
    ),
    (
        "main.rs",
        r#"    port: u16,"#,
        r#"    port: u16,
    /// Longest frame payload accepted, in bytes; a header announcing more
    /// gets an error frame and the connection is closed (nothing of that
    /// size is ever allocated). At most 174762: a frame the others receive
    /// (a name and a text, each a payload whose every byte may become a
    /// 3-byte U+FFFD) must stay within the 1 MiB a chat-client accepts.
    #[arg(long, default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(1..=174_762))]
    max_frame: u64,"#,
    ),
    (
        "main.rs",
        r#"/// How much may wait for each client, and how long a write may take."#,
        r#"/// How long a frame may be, how much may wait for each client, and how long
/// a write may take."#,
    ),
    (
        "main.rs",
        r#"struct Limits {"#,
        r#"struct Limits {
    max_frame: usize,"#,
    ),
    (
        "main.rs",
        r#"    let limits = Limits {"#,
        r#"    let limits = Limits {
        max_frame: usize::try_from(args.max_frame)?,"#,
    ),
    (
        "main.rs",
        r#"/// Reads the client's lines. The first non-empty one is its nickname, which"#,
        r#"/// Reads the client's frames. The first non-empty one is its nickname, which"#,
    ),
    (
        "main.rs",
        r#"/// until the client says goodbye or closes."#,
        r#"/// until the client says goodbye, closes, or announces a frame over the
/// limit."#,
    ),
    (
        "main.rs",
        r#"    // This connection's own buffer: bytes that do not make a whole line yet"#,
        r#"    // This connection's own buffer: bytes that do not make a whole frame yet"#,
    ),
    (
        "main.rs",
        r#"    // is halfway through its own line.
    let mut lines = LineBuffer::new();"#,
        r#"    // is halfway through its own frame.
    let mut frames = FrameBuffer::new(limits.max_frame);"#,
    ),
    (
        "main.rs",
        r#"        // the client has closed its side: the end of the stream. Half a line"#,
        r#"        // the client has closed its side: the end of the stream. Half a frame"#,
    ),
    (
        "main.rs",
        r#"        // One chunk may complete no line, one line, or several.
        for line in lines.push(&buffer[..n]) {
            if line.trim().is_empty() {"#,
        r#"        // One chunk may complete no frame, one frame, or several.
        for message in frames.push(&buffer[..n]) {
            if message.trim().is_empty() {"#,
    ),
    (
        "main.rs",
        r#"                // The first line is the nickname: only now does the client"#,
        r#"                // The first frame is the nickname: only now does the client"#,
    ),
    (
        "main.rs",
        r#"                let nickname = line.trim().to_string();"#,
        r#"                let nickname = message.trim().to_string();"#,
    ),
    (
        "main.rs",
        r#"            if is_goodbye(&line) {"#,
        r#"            if is_goodbye(&message) {"#,
    ),
    (
        "main.rs",
        r#"            // A line starting with `/` is a command for the server, never a
            // message for the room.
            if line.starts_with('/') {
                command(&outbox, peer, clients, name, &line)?;"#,
        r#"            // A message starting with `/` is a command for the server, never
            // a message for the room.
            if message.starts_with('/') {
                command(&outbox, peer, clients, name, &message)?;"#,
    ),
    (
        "main.rs",
        r#"            log!("{sender}: {line:?}");
            if !broadcast(clients, peer, &format!("{sender}: {line}")) {"#,
        r#"            log!("{sender}: {message:?}");
            if !broadcast(clients, peer, &format!("{sender}: {message}")) {"#,
    ),
    (
        "main.rs",
        r#"                return Ok(());
            }"#,
        r#"                return Ok(());
            }
        }
        if frames.is_too_long() {
            // A lie or a mistake (a client speaking lines?): either way we
            // will not wait for, nor keep, that many bytes.
            let who = name.clone().unwrap_or_else(|| peer.to_string());
            log!(
                "{who} left: announced a frame over {} bytes",
                limits.max_frame
            );
            let error = format!(
                "SERVER: frame too long (the limit is {} bytes); closing the connection",
                limits.max_frame
            );
            return reply(&outbox, &error);"#,
    ),
    (
        "main.rs",
        r#"/// Queues one line for this client only. No lock is needed any more: the"#,
        r#"/// Queues one message for this client only. No lock is needed any more: the"#,
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
        client.read_to_string(&mut received).unwrap();
        let expected: String = (0..50).map(|i| format!("line {i}\n")).collect();"#,
        r#"        let mut received = Vec::new();
        client.read_to_end(&mut received).unwrap();
        let mut expected = Vec::new();
        for i in 0..50 {
            frames::encode(&format!("line {i}"), &mut expected);
        }"#,
    ),
];

/// How step 9's room differs from step 8's: a task where step 8 has a
/// thread, and nothing else.
const TASKS: &[(&str, &str, &str)] = &[
    (
        "room.rs",
        r#"//!    happen in each client's writer thread, with no lock held. (Python's"#,
        r#"//!    happen in each client's writer task, with no lock held. (Python's"#,
    ),
    (
        "room.rs",
        r#"//! A panic in some client's thread while it holds the lock *poisons* a std"#,
        r#"//! A panic in some client's task while it holds the lock *poisons* a std"#,
    ),
    (
        "room.rs",
        r#"    /// while a panic unwinds, so even a client thread that crashes leaves"#,
        r#"    /// while a panic unwinds, so even a client task that crashes leaves"#,
    ),
    (
        "room.rs",
        r#"        self.room.leave(self.id, "its thread stopped unexpectedly");"#,
        r#"        self.room.leave(self.id, "its task stopped unexpectedly");"#,
    ),
];
