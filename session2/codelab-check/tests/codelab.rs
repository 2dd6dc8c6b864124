//! The drift test: what the course's documents say must be true of the
//! workspace, today.
//!
//! Checked in `session2/README.md` (the codelab), every
//! `exercises/*/README.md` and the root `README.md`:
//!
//! * every `cargo run -p X` (and `cargo test -p X`...) names a workspace
//!   package, and every `cargo xtask Y` a subcommand the runner has;
//! * every option shown after `cargo run -p X --` or `cargo xtask Y` is in
//!   that program's `--help` (the binaries are built once, then asked);
//! * `cargo xtask check 4`, `diff 3 4`, `demo 5`: the exercise or step exists;
//! * every relative link resolves, `#anchors` included, and every path
//!   written in code (`session2/PROTOCOL.md`) exists;
//! * every code excerpt is still, line for line, in the source it names, and
//!   every Rust block of the codelab is an excerpt or a declared sketch;
//! * every step has its part in the codelab (`<a id="step-N">` and a
//!   `cargo run -p` of it), and the codelab and each exercise link to each
//!   other;
//! * no spoilers: each part says "the answer follows" before it quotes its
//!   step's code, and no hint of an exercise quotes a line its solution adds
//!   to the starter (the skeleton of Hint 3 leaves blanks there).
//! * each exercise's "What the grader tries" lists the grader's own scenario
//!   titles (`cargo xtask check N --list`), in order, and every scenario a
//!   document quotes by name exists.
//!
//! Deleting `solutions/` (the answer key) is allowed: what the documents say
//! about it is then skipped, not failed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::OnceLock;

use codelab_check::{
    Command, Document, answer_lines, find_excerpt, flags, grader_tries, help_flags,
    help_subcommands, hints, path_like, quoted_answers, quoted_scenarios,
};

/// The codelab, relative to the repository root.
const CODELAB: &str = "session2/README.md";

fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .expect("the repository root")
    })
}

/// One document, parsed.
struct Doc {
    /// Path from the repository root, with `/`.
    name: String,
    parsed: Document,
}

impl Doc {
    fn dir(&self) -> PathBuf {
        root()
            .join(&self.name)
            .parent()
            .expect("a document lives in a directory")
            .to_path_buf()
    }

    fn at(&self, line: usize) -> String {
        format!("{}:{line}", self.name)
    }
}

/// The documents under test: the root README, the codelab, and every
/// exercise README that exists.
fn documents() -> &'static [Doc] {
    static DOCS: OnceLock<Vec<Doc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut names = vec!["README.md".to_string(), CODELAB.to_string()];
        for n in exercise_numbers() {
            names.push(format!("exercises/exercise{n}/README.md"));
        }
        names
            .into_iter()
            .filter(|name| root().join(name).is_file())
            .map(|name| {
                let text = std::fs::read_to_string(root().join(&name))
                    .unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
                Doc {
                    parsed: Document::parse(&text),
                    name,
                }
            })
            .collect()
    })
}

fn codelab() -> &'static Doc {
    documents()
        .iter()
        .find(|d| d.name == CODELAB)
        .expect("session2/README.md exists")
}

/// The numbers N of `exercises/exerciseN/` that exist, in order.
fn exercise_numbers() -> Vec<u32> {
    numbered_dirs(&root().join("exercises"), "exercise", "")
}

/// The numbers N of `session2/stepN-*/` that exist, in order.
fn step_numbers() -> Vec<u32> {
    numbered_dirs(&root().join("session2"), "step", "-")
}

fn step_package(n: u32) -> Option<String> {
    let prefix = format!("step{n}-");
    let mut names: Vec<String> = std::fs::read_dir(root().join("session2"))
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| name.starts_with(&prefix))
        .collect();
    names.sort();
    names.into_iter().next()
}

/// Directories `PREFIX<N><SEPARATOR>...` holding a Cargo.toml.
fn numbered_dirs(parent: &Path, prefix: &str, separator: &str) -> Vec<u32> {
    let mut numbers: Vec<u32> = std::fs::read_dir(parent)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .filter_map(|e| {
                    let name = e.file_name().to_str()?.to_string();
                    let rest = name.strip_prefix(prefix)?;
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let after = &rest[digits.len()..];
                    let shaped = if separator.is_empty() {
                        after.is_empty()
                    } else {
                        after.starts_with(separator)
                    };
                    shaped.then(|| digits.parse().ok()).flatten()
                })
                .collect()
        })
        .unwrap_or_default();
    numbers.sort();
    numbers.dedup();
    numbers
}

fn solutions_present() -> bool {
    root().join("solutions").is_dir()
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO")))
}

/// The workspace's packages, by name, as `cargo metadata` lists them.
fn packages() -> &'static BTreeSet<String> {
    static PACKAGES: OnceLock<BTreeSet<String>> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        let output = Process::new(cargo())
            .current_dir(root())
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--offline",
            ])
            .output()
            .expect("cannot run cargo metadata");
        assert!(
            output.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let json = String::from_utf8(output.stdout).expect("UTF-8 metadata");
        // Each package object has one "manifest_path"; its Cargo.toml has
        // the name. (No JSON crate for one field.)
        let names: BTreeSet<String> = json
            .split("\"manifest_path\":\"")
            .skip(1)
            .map(|rest| {
                let end = rest.find('"').expect("a closed string");
                let path = rest[..end].replace("\\\\", "\\");
                package_name(Path::new(&path))
            })
            .collect();
        assert!(names.contains("xtask"), "metadata lists xtask: {names:?}");
        names
    })
}

/// The `name` in a manifest's `[package]` section.
fn package_name(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line.strip_prefix("name").map(str::trim_start) {
                if let Some(value) = value.strip_prefix('=') {
                    return value.trim().trim_matches('"').to_string();
                }
            }
        }
    }
    panic!("{} has no [package] name", manifest.display())
}

/// Every command the documents write, with where.
fn all_commands() -> Vec<(String, Command)> {
    let mut found = Vec::new();
    for doc in documents() {
        for snippet in &doc.parsed.code {
            for command in codelab_check::commands(&snippet.text) {
                found.push((doc.at(snippet.line), command));
            }
        }
    }
    found
}

/// A placeholder written in capitals (`cargo run -p X`), not a name.
fn is_placeholder(word: &str) -> bool {
    word.chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A package the documents may name even when it is absent: the answer key
/// may be deleted before the repository is handed out.
fn may_be_absent(package: &str) -> bool {
    package.starts_with("solution") && !solutions_present()
}

/// The `--help` texts of every program whose options the documents show,
/// and of the runner and its subcommands. Built with one cargo run.
struct Helps {
    programs: BTreeMap<String, String>,
    xtask: String,
    xtask_subcommands: BTreeMap<String, String>,
}

fn helps() -> &'static Helps {
    static HELPS: OnceLock<Helps> = OnceLock::new();
    HELPS.get_or_init(|| {
        let mut wanted: BTreeSet<String> = BTreeSet::from(["xtask".to_string()]);
        let mut subcommands: BTreeSet<String> = BTreeSet::new();
        for (_, command) in all_commands() {
            match command {
                Command::Package { package, args, .. }
                    if !flags(&args).is_empty() && packages().contains(&package) =>
                {
                    wanted.insert(package);
                }
                Command::Xtask { sub: Some(sub), .. } => {
                    subcommands.insert(sub);
                }
                _ => {}
            }
        }
        let mut build = Process::new(cargo());
        build.current_dir(root()).args(["build", "--quiet"]);
        for package in &wanted {
            build.args(["--package", package, "--bin", package]);
        }
        let status = build.status().expect("cannot run cargo build");
        assert!(status.success(), "cargo build of {wanted:?} failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target"))
            .join("debug");
        let help = |package: &str, sub: Option<&str>| -> String {
            let binary = target.join(format!("{package}{}", std::env::consts::EXE_SUFFIX));
            let mut run = Process::new(&binary);
            run.args(sub).arg("--help");
            let output = run
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            // An unknown subcommand fails: its help is then empty.
            if output.status.success() {
                String::from_utf8_lossy(&output.stdout).into_owned()
            } else {
                String::new()
            }
        };
        let xtask = help("xtask", None);
        let known = help_subcommands(&xtask);
        Helps {
            programs: wanted.iter().map(|p| (p.clone(), help(p, None))).collect(),
            xtask_subcommands: subcommands
                .into_iter()
                .filter(|s| known.contains(s))
                .map(|s| {
                    let text = help("xtask", Some(&s));
                    (s, text)
                })
                .collect(),
            xtask,
        }
    })
}

/// Fails with every problem found, one per line, each with its place.
fn report(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s)\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn every_cargo_command_names_a_real_package_or_subcommand() {
    let subcommands = help_subcommands(&helps().xtask);
    assert!(
        subcommands.contains(&"check".to_string()),
        "cargo xtask --help lists its subcommands: {subcommands:?}"
    );
    let mut problems = Vec::new();
    for (at, command) in all_commands() {
        match command {
            Command::Package {
                cargo_sub, package, ..
            } => {
                if !is_placeholder(&package)
                    && !may_be_absent(&package)
                    && !packages().contains(&package)
                {
                    problems.push(format!(
                        "{at}: `cargo {cargo_sub} -p {package}`: no package {package} in the workspace"
                    ));
                }
            }
            Command::Xtask {
                sub: Some(sub),
                args,
            } => {
                if !subcommands.contains(&sub) {
                    problems.push(format!(
                        "{at}: `cargo xtask {sub}`: not a subcommand (there are {})",
                        subcommands.join(", ")
                    ));
                    continue;
                }
                problems.extend(
                    missing_targets(&sub, &args)
                        .into_iter()
                        .map(|what| format!("{at}: `cargo xtask {sub}`: {what}")),
                );
            }
            Command::Xtask { sub: None, .. } => {}
        }
    }
    report("commands that name nothing", problems);
}

/// What an xtask command's arguments name that does not exist: the exercise
/// of `check 4`, the step of `check 6 --step=5`, the steps of `diff 3 4`, the
/// step of `demo 5`.
fn missing_targets(sub: &str, args: &[String]) -> Vec<String> {
    let positional: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .take_while(|a| !a.starts_with('-'))
        .filter(|a| !is_placeholder(a))
        .collect();
    let option = |name: &str| {
        args.iter()
            .find(|a| a.as_str() == name || a.starts_with(&format!("{name}=")))
            .map(|a| a.split_once('=').map(|(_, value)| value))
    };
    let number = |word: &str, prefix: &str| -> Option<u32> {
        word.strip_prefix(prefix).unwrap_or(word).parse().ok()
    };
    let no_exercise = |n: u32| {
        (!exercise_numbers().contains(&n)).then(|| format!("there is no exercises/exercise{n}"))
    };
    let no_step =
        |n: u32| (!step_numbers().contains(&n)).then(|| format!("there is no session2/step{n}-*"));
    let first = positional.first().copied();
    let missing = match sub {
        "check" => {
            let Some(n) = first.and_then(|w| number(w, "exercise")) else {
                return Vec::new(); // `check --all`
            };
            if let Some(step) = option("--step") {
                // `--step` grades step N, `--step=M` step M: no exercise needed.
                no_step(step.and_then(|m| number(m, "step")).unwrap_or(n))
            } else if option("--addr").is_some() {
                // A running server is graded by the scenarios of N: they
                // exist as long as the exercise or the step does.
                no_exercise(n).and(no_step(n))
            } else if option("--solution").is_some() {
                let missing = !root().join(format!("solutions/exercise{n}")).is_dir();
                (missing && solutions_present())
                    .then(|| format!("there is no solutions/exercise{n}"))
            } else {
                no_exercise(n)
            }
        }
        "hint" | "reset" => first
            .and_then(|w| number(w, "exercise"))
            .and_then(no_exercise),
        "demo" => first.and_then(|w| number(w, "step")).and_then(no_step),
        "diff" => match positional.as_slice() {
            [one] if one.starts_with("exercise") => number(one, "exercise").and_then(no_exercise),
            words => {
                return words
                    .iter()
                    .filter_map(|w| number(w, "step").and_then(no_step))
                    .collect();
            }
        },
        _ => None,
    };
    missing.into_iter().collect()
}

#[test]
fn every_option_shown_is_in_the_programs_help() {
    let helps = helps();
    let mut problems = Vec::new();
    for (at, command) in all_commands() {
        let (program, help, args) = match &command {
            Command::Package { package, args, .. } => match helps.programs.get(package) {
                Some(help) => (format!("cargo run -p {package} --"), help, args),
                None => continue, // no options shown, or no such package (reported elsewhere)
            },
            Command::Xtask {
                sub: Some(sub),
                args,
            } => match helps.xtask_subcommands.get(sub) {
                Some(help) => (format!("cargo xtask {sub}"), help, args),
                None => continue, // not a subcommand: reported elsewhere
            },
            Command::Xtask { sub: None, args } => ("cargo xtask".to_string(), &helps.xtask, args),
        };
        let offered = help_flags(help);
        assert!(
            offered.contains("--help"),
            "{program} --help printed no options:\n{help}"
        );
        for flag in flags(args) {
            if !offered.contains(&flag) {
                problems.push(format!(
                    "{at}: `{program} {flag}`: not an option of {program} (it has {})",
                    offered.iter().cloned().collect::<Vec<_>>().join(" ")
                ));
            }
        }
    }
    report("options that do not exist", problems);
}

#[test]
fn every_link_and_anchor_resolves() {
    let mut problems = Vec::new();
    for doc in documents() {
        for link in &doc.parsed.links {
            let target = link.text.as_str();
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
            let file = if path.is_empty() {
                root().join(&doc.name)
            } else {
                doc.dir().join(path)
            };
            if !file.exists() {
                if !answer_key_deleted(path) {
                    problems.push(format!(
                        "{}: link to {target}: no such file",
                        doc.at(link.line)
                    ));
                }
                continue;
            }
            if fragment.is_empty() || file.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("a readable Markdown file");
            let anchors = Document::parse(&text).anchors;
            if !anchors.contains(fragment) {
                problems.push(format!(
                    "{}: link to {target}: no anchor #{fragment} there",
                    doc.at(link.line)
                ));
            }
        }
    }
    report("links that lead nowhere", problems);
}

/// Whether `path` is in `solutions/` and the answer key has been deleted.
fn answer_key_deleted(path: &str) -> bool {
    path.split('/').any(|part| part == "solutions") && !solutions_present()
}

#[test]
fn every_path_written_in_code_exists() {
    let mut problems = Vec::new();
    for doc in documents() {
        for snippet in &doc.parsed.code {
            let path = snippet.text.trim_end_matches('/');
            if !path_like(&snippet.text) || answer_key_deleted(path) {
                continue;
            }
            // From the document's folder (`src/main.rs` in an exercise) or
            // from the repository root (`session2/PROTOCOL.md`); a bare file
            // name (`room.rs`, once its folder was given) anywhere below the
            // document's folder.
            let found = doc.dir().join(path).exists()
                || root().join(path).exists()
                || (!path.contains('/') && exists_below(&doc.dir(), path, 3));
            if !found {
                problems.push(format!(
                    "{}: `{}`: no such file or directory",
                    doc.at(snippet.line),
                    snippet.text
                ));
            }
        }
    }
    report("paths that do not exist", problems);
}

/// Whether a file called `name` is in `dir` or its subfolders, `depth`
/// levels down at most (build output and hidden folders skipped).
fn exists_below(dir: &Path, name: &str, depth: u32) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|entry| {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if file_name == name {
            return true;
        }
        let skip = file_name == "target" || file_name.starts_with('.');
        depth > 0
            && !skip
            && entry.file_type().is_ok_and(|t| t.is_dir())
            && exists_below(&entry.path(), name, depth - 1)
    })
}

#[test]
fn every_excerpt_is_still_in_its_source() {
    let mut problems = Vec::new();
    for doc in documents() {
        for fence in &doc.parsed.fences {
            let marker = fence.marker.as_deref().unwrap_or("");
            if let Some(source) = marker.strip_prefix("excerpt:").map(str::trim) {
                match std::fs::read_to_string(root().join(source)) {
                    Err(e) => {
                        problems.push(format!("{}: excerpt of {source}: {e}", doc.at(fence.line)))
                    }
                    Ok(text) => {
                        if let Err(why) = find_excerpt(&text, &fence.body) {
                            problems.push(format!(
                                "{}: excerpt of {source} no longer matches: {why}",
                                doc.at(fence.line)
                            ));
                        }
                    }
                }
            } else if doc.name == CODELAB && fence.info == "rust" && !marker.starts_with("sketch:")
            {
                problems.push(format!(
                    "{}: a Rust block must be an excerpt (`<!-- excerpt: PATH -->` on the line \
                     before) or a declared sketch (`<!-- sketch: why -->`)",
                    doc.at(fence.line)
                ));
            }
        }
    }
    report("code that drifted from the steps", problems);
}

#[test]
fn every_step_has_its_part_and_every_exercise_its_links() {
    let codelab = codelab();
    let runs: BTreeSet<String> = codelab
        .parsed
        .code
        .iter()
        .flat_map(|s| codelab_check::commands(&s.text))
        .filter_map(|c| match c {
            Command::Package {
                cargo_sub, package, ..
            } if cargo_sub == "run" => Some(package),
            _ => None,
        })
        .collect();
    let links: BTreeSet<&str> = codelab
        .parsed
        .links
        .iter()
        .map(|l| l.text.as_str())
        .collect();
    let mut problems = Vec::new();
    for n in step_numbers() {
        let anchor = format!("step-{n}");
        if !codelab.parsed.anchors.contains(&anchor) {
            problems.push(format!(
                "{CODELAB}: no part for step {n} (`<a id=\"{anchor}\"></a>`)"
            ));
        }
        let package = step_package(n).expect("the step exists");
        if !runs.contains(&package) {
            problems.push(format!("{CODELAB}: never says `cargo run -p {package}`"));
        }
    }
    for n in exercise_numbers() {
        let readme = format!("../exercises/exercise{n}/README.md");
        if !links.contains(readme.as_str()) {
            problems.push(format!("{CODELAB}: no link to {readme}"));
        }
        let back = format!("../../session2/README.md#step-{n}");
        let name = format!("exercises/exercise{n}/README.md");
        match documents().iter().find(|d| d.name == name) {
            Some(doc) if doc.parsed.links.iter().any(|l| l.text == back) => {}
            Some(_) => problems.push(format!("{name}: no link back to {back}")),
            None => problems.push(format!("{name}: missing")),
        }
    }
    report("parts and links missing", problems);
}

/// Every file under `dir/src`, by path relative to `dir`.
fn source_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::from("src")];
    while let Some(relative) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&relative)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let child = relative.join(entry.file_name());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(child);
            } else {
                found.push(child);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn no_hint_quotes_what_the_solution_adds() {
    if !solutions_present() {
        println!("note: no solutions/ here: the hints cannot be compared with the answer key");
        return;
    }
    let mut problems = Vec::new();
    for n in exercise_numbers() {
        let solution = root().join(format!("solutions/exercise{n}"));
        if !solution.is_dir() {
            continue;
        }
        let starter = root().join(format!("exercises/exercise{n}"));
        let readme = format!("exercises/exercise{n}/README.md");
        let Ok(text) = std::fs::read_to_string(root().join(&readme)) else {
            continue;
        };
        for file in source_files(&solution) {
            let solved = std::fs::read_to_string(solution.join(&file)).unwrap_or_default();
            let given = std::fs::read_to_string(starter.join(&file)).unwrap_or_default();
            let answer = answer_lines(&given, &solved);
            for (title, body) in hints(&text) {
                for line in quoted_answers(&body, &answer) {
                    problems.push(format!(
                        "{readme}: {title} gives the answer away: it quotes `{line}`, a line \
                         solutions/exercise{n}/{} adds to the starter; leave a blank (`____`) there",
                        file.display().to_string().replace('\\', "/")
                    ));
                }
            }
        }
    }
    report("hints that hand over the solution", problems);
}

#[test]
fn every_part_says_the_answer_follows_before_its_steps_code() {
    let codelab = std::fs::read_to_string(root().join(CODELAB)).expect("the codelab");
    let lines: Vec<&str> = codelab.lines().collect();
    let mut problems = Vec::new();
    for n in step_numbers() {
        let anchor = format!("<a id=\"step-{n}\"></a>");
        let Some(start) = lines.iter().position(|l| l.trim() == anchor) else {
            continue; // reported by every_step_has_its_part...
        };
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.trim().starts_with("<a id=\"") && l.trim().ends_with("\"></a>"))
            .map_or(lines.len(), |i| start + 1 + i);
        let part = &lines[start..end];
        let step_dir = step_package(n).map(|p| format!("session2/{p}/"));
        let first_code = part.iter().position(|l| {
            step_dir
                .as_deref()
                .is_some_and(|dir| l.contains("<!-- excerpt: ") && l.contains(dir))
        });
        let marker = part
            .iter()
            .position(|l| l.to_lowercase().contains("the answer follows"));
        let exercise = format!("exercises/exercise{n}/README.md");
        let has_exercise = part.iter().any(|l| l.contains(&exercise));
        match (has_exercise, marker, first_code) {
            (true, None, _) => problems.push(format!(
                "{CODELAB}:{}: part {n} never says when to do exercise {n} (\"the answer follows\")",
                start + 1
            )),
            (_, Some(m), Some(c)) if c < m => problems.push(format!(
                "{CODELAB}:{}: part {n} quotes step {n}'s code before saying \"the answer follows\"",
                start + c + 1
            )),
            _ => {}
        }
    }
    report("parts that spoil their exercise", problems);
}

/// The scenario titles of check `n`, as the grader prints them.
fn scenario_titles(n: u32) -> Vec<String> {
    // `helps()` has built the runner already.
    let _ = helps();
    let binary = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("debug")
        .join(format!("xtask{}", std::env::consts::EXE_SUFFIX));
    let output = Process::new(&binary)
        .args(["check", &n.to_string(), "--list"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    assert!(output.status.success(), "xtask check {n} --list failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn what_the_grader_tries_is_what_the_grader_tries() {
    let mut problems = Vec::new();
    let mut all_titles = BTreeSet::new();
    for n in exercise_numbers() {
        let titles = scenario_titles(n);
        all_titles.extend(titles.iter().cloned());
        let name = format!("exercises/exercise{n}/README.md");
        let Some(doc) = documents().iter().find(|d| d.name == name) else {
            continue;
        };
        let text = std::fs::read_to_string(root().join(&name)).expect("the README reads");
        let listed = grader_tries(&text);
        let listed_titles: Vec<&str> = listed.iter().map(|item| item.text.as_str()).collect();
        if listed_titles != titles {
            problems.push(format!(
                "{}: \"What the grader tries\" lists\n      {listed_titles:?}\n    but \
                 `cargo xtask check {n} --list` says\n      {titles:?}\n    (each item starts \
                 with the title in bold, in the grader's order)",
                doc.at(listed.first().map_or(1, |item| item.line))
            ));
        }
    }
    for doc in documents() {
        let text = std::fs::read_to_string(root().join(&doc.name)).expect("the document reads");
        for quoted in quoted_scenarios(&text) {
            if !all_titles.contains(&quoted.text) {
                problems.push(format!(
                    "{}: names the scenario `{}`, which no check has",
                    doc.at(quoted.line),
                    quoted.text
                ));
            }
        }
    }
    report("scenario titles that drifted from the grader", problems);
}
