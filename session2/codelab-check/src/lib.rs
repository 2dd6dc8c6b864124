//! Reading the course's Markdown the way the drift test needs it.
//!
//! The codelab (`session2/README.md`), the exercise READMEs and the root
//! README tell students what to type and show them code from the steps. All
//! of that goes stale the day someone renames a flag or edits a step. The
//! test in `tests/codelab.rs` checks every such fact against the workspace;
//! this library only *reads* the documents, with no file system and no
//! processes, so each rule can be unit-tested on a few lines of text:
//!
//! * [`Document::parse`] finds fenced blocks, inline code, links and anchors;
//! * [`commands`] finds `cargo run -p X -- ...`, `cargo xtask Y ...` and the
//!   like in a piece of code;
//! * [`help_flags`] and [`help_subcommands`] read a program's `--help`;
//! * [`find_excerpt`] checks that a code block is a verbatim excerpt of a
//!   source file;
//! * [`grader_tries`] and [`quoted_scenarios`] find the grader's scenario
//!   titles a document names, to compare with `cargo xtask check N --list`.
//!
//! Two conventions in the documents make the last one work. A Rust block
//! copied from a step is preceded by `<!-- excerpt: PATH -->` (PATH from the
//! repository root); a line `// ...` inside it stands for lines left out. A
//! Rust block that is deliberately not from any source (a sketch of a bug,
//! say) is preceded by `<!-- sketch: why -->`.

use std::collections::BTreeSet;

/// A piece of text and the 1-based line of the document it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub line: usize,
    pub text: String,
}

/// A fenced code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// Line of the opening fence.
    pub line: usize,
    /// The info string: `rust`, `text`, `mermaid`...
    pub info: String,
    /// The lines between the fences, with the fence's own indent removed.
    pub body: Vec<String>,
    /// The HTML comment on the line just before the opening fence, without
    /// `<!--` and `-->`, if there is one.
    pub marker: Option<String>,
}

/// What the drift test needs from one Markdown document.
#[derive(Debug, Default)]
pub struct Document {
    pub fences: Vec<Fence>,
    /// Where commands and paths may be written: every inline code span, and
    /// every line of every fenced block that is not Rust or a diagram.
    pub code: Vec<Snippet>,
    /// The targets of inline links and images, `[text](target)`, and of
    /// `href="target"`, outside code.
    pub links: Vec<Snippet>,
    /// Every `#fragment` a link may point to: explicit `<a id="...">` and
    /// the slugs GitHub gives headings.
    pub anchors: BTreeSet<String>,
}

impl Document {
    pub fn parse(text: &str) -> Document {
        let mut doc = Document::default();
        let mut headings_seen: Vec<String> = Vec::new();
        let mut open: Option<(Fence, String, usize)> = None; // fence, closing run, indent
        let mut previous_line = "";
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let trimmed = raw.trim_start();
            if let Some((fence, closing, indent)) = &mut open {
                if trimmed.trim_end() == closing.as_str() {
                    let (fence, _, _) = open.take().expect("a fence is open");
                    if !matches!(fence.info.as_str(), "rust" | "mermaid") {
                        for (offset, body_line) in fence.body.iter().enumerate() {
                            doc.code.push(Snippet {
                                line: fence.line + 1 + offset,
                                text: body_line.clone(),
                            });
                        }
                    }
                    doc.fences.push(fence);
                } else {
                    let cut = raw.len() - raw.trim_start().len();
                    let body_line = &raw[cut.min(*indent)..];
                    fence.body.push(body_line.to_string());
                }
                previous_line = raw;
                continue;
            }
            if let Some(run) = fence_run(trimmed) {
                let info = trimmed[run.len()..].trim().to_string();
                let marker = previous_line
                    .trim()
                    .strip_prefix("<!--")
                    .and_then(|rest| rest.strip_suffix("-->"))
                    .map(|inside| inside.trim().to_string());
                let indent = raw.len() - trimmed.len();
                open = Some((
                    Fence {
                        line: line_no,
                        info,
                        body: Vec::new(),
                        marker,
                    },
                    run,
                    indent,
                ));
                previous_line = raw;
                continue;
            }
            if let Some(heading) = heading_text(trimmed) {
                let base = slug(&heading);
                let count = headings_seen.iter().filter(|h| **h == base).count();
                let anchor = if count == 0 {
                    base.clone()
                } else {
                    format!("{base}-{count}")
                };
                headings_seen.push(base);
                doc.anchors.insert(anchor);
            }
            let (spans, prose) = split_code_spans(raw);
            for span in spans {
                doc.code.push(Snippet {
                    line: line_no,
                    text: span,
                });
            }
            for target in link_targets(&prose) {
                doc.links.push(Snippet {
                    line: line_no,
                    text: target,
                });
            }
            doc.anchors.extend(explicit_anchors(&prose));
            previous_line = raw;
        }
        if let Some((fence, _, _)) = open {
            // An unclosed fence runs to the end of the document (as GitHub
            // renders it); keep it so its excerpt is still checked.
            doc.fences.push(fence);
        }
        doc
    }
}

/// The run of backticks or tildes that opens a fence, if `line` opens one.
fn fence_run(line: &str) -> Option<String> {
    for mark in ['`', '~'] {
        let run: String = line.chars().take_while(|&c| c == mark).collect();
        if run.len() >= 3 {
            return Some(run);
        }
    }
    None
}

/// The text of an ATX heading (`## Part 1`), if `line` is one.
fn heading_text(line: &str) -> Option<String> {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    Some(rest.trim().trim_end_matches('#').trim().to_string())
}

/// The anchor GitHub gives a heading: its rendered text, lower-cased, with
/// punctuation removed (but `-` and `_` kept) and spaces turned into `-`.
pub fn slug(heading: &str) -> String {
    // Render the inline Markdown that may appear in our headings: code spans
    // keep their text, links keep their text.
    let mut rendered = String::new();
    let mut rest = heading;
    while let Some(start) = rest.find('[') {
        rendered.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after
            .find("](")
            .and_then(|mid| after[mid..].find(')').map(|end| (mid, mid + end)))
        {
            Some((mid, end)) => {
                rendered.push_str(&after[..mid]);
                rest = &after[end + 1..];
            }
            None => {
                rendered.push('[');
                rest = after;
            }
        }
    }
    rendered.push_str(rest);
    rendered
        .to_lowercase()
        .chars()
        .filter(|&c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Splits a line into its inline code spans and the prose around them (the
/// spans replaced by a space, so links are not found inside code).
fn split_code_spans(line: &str) -> (Vec<String>, String) {
    let mut spans = Vec::new();
    let mut prose = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        prose.push_str(&rest[..start]);
        let run = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + run..];
        let closing = "`".repeat(run);
        match find_closing(after, &closing) {
            Some(end) => {
                spans.push(after[..end].trim().to_string());
                prose.push(' ');
                rest = &after[end + run..];
            }
            None => {
                // An unmatched backtick is just a character.
                prose.push_str(&rest[start..start + run]);
                rest = after;
            }
        }
    }
    prose.push_str(rest);
    (spans, prose)
}

/// Where a run of exactly `closing.len()` backticks starts in `text`.
fn find_closing(text: &str, closing: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = text[from..].find(closing) {
        let at = from + at;
        let run = text[at..].chars().take_while(|&c| c == '`').count();
        if run == closing.len() {
            return Some(at);
        }
        from = at + run;
    }
    None
}

/// Targets of `[text](target)`, `![alt](target)` and `href="target"`.
fn link_targets(prose: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = prose;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        // `[text](target "title")`: the target is the first word.
        let target = after[..end].split_whitespace().next().unwrap_or("");
        let target = target.trim_start_matches('<').trim_end_matches('>');
        if !target.is_empty() {
            targets.push(target.to_string());
        }
        rest = &after[end + 1..];
    }
    targets.extend(attribute_values(prose, "href"));
    targets
}

/// `<a id="x">` and `<a name="x">`: anchors written by hand.
fn explicit_anchors(prose: &str) -> Vec<String> {
    let mut anchors = attribute_values(prose, "id");
    anchors.extend(attribute_values(prose, "name"));
    anchors
}

/// The values of `attribute="..."` inside HTML tags on this line.
fn attribute_values(prose: &str, attribute: &str) -> Vec<String> {
    let pattern = format!(" {attribute}=\"");
    let mut values = Vec::new();
    let mut rest = prose;
    while let Some(at) = rest.find(&pattern) {
        let inside_tag = rest[..at].rfind('<') > rest[..at].rfind('>');
        let after = &rest[at + pattern.len()..];
        let Some(end) = after.find('"') else { break };
        if inside_tag {
            values.push(after[..end].to_string());
        }
        rest = &after[end + 1..];
    }
    values
}

/// A cargo command written in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `cargo SUB ... -p PACKAGE ...`, for `run`, `build`, `test`...;
    /// `args` are the program's arguments after `--` (`run` only).
    Package {
        cargo_sub: String,
        package: String,
        args: Vec<String>,
    },
    /// `cargo xtask SUB ARGS...`; `sub` is `None` for `cargo xtask --help`.
    Xtask {
        sub: Option<String>,
        args: Vec<String>,
    },
}

/// Every cargo command in a piece of code: a line of a code block or an
/// inline code span. A command ends at the end of the text, at a comment
/// (`# ...`), at a parenthesised remark, or at a shell operator.
pub fn commands(code: &str) -> Vec<Command> {
    let tokens: Vec<&str> = code.split_whitespace().collect();
    let mut found = Vec::new();
    for (i, _) in tokens.iter().enumerate().filter(|(_, t)| **t == "cargo") {
        let words: Vec<&str> = tokens[i + 1..]
            .iter()
            .copied()
            .take_while(|t| !ends_a_command(t))
            .collect();
        let Some((&sub, rest)) = words.split_first() else {
            continue;
        };
        if sub == "xtask" {
            let (sub, args) = match rest.split_first() {
                Some((first, args)) if !first.starts_with('-') => {
                    (Some(first.to_string()), args.to_vec())
                }
                _ => (None, rest.to_vec()),
            };
            found.push(Command::Xtask {
                sub,
                args: args.iter().map(|s| s.to_string()).collect(),
            });
            continue;
        }
        if sub.starts_with('-') {
            continue; // `cargo --version` and friends
        }
        let mut package = None;
        let mut args = Vec::new();
        let mut iter = rest.iter();
        while let Some(&word) = iter.next() {
            if word == "--" {
                if sub == "run" {
                    args = iter.map(|s| s.to_string()).collect();
                }
                break;
            }
            if word == "-p" || word == "--package" {
                package = iter.next().map(|s| s.to_string());
            } else if let Some(name) = word.strip_prefix("--package=") {
                package = Some(name.to_string());
            } else if let Some(name) = word.strip_prefix("-p").filter(|n| !n.is_empty()) {
                package = Some(name.to_string());
            }
        }
        if let Some(package) = package {
            found.push(Command::Package {
                cargo_sub: sub.to_string(),
                package,
                args,
            });
        }
    }
    found
}

fn ends_a_command(token: &str) -> bool {
    token.starts_with('#')
        || token.starts_with('(')
        || matches!(token, "|" | "||" | "&&" | ";" | ">" | "<" | "2>&1")
}

/// The options among a command's arguments, by name: `--port 0` gives
/// `--port`, `--step=3` gives `--step`, `-y` gives `-y`. Negative numbers
/// and a lone `-` are not options.
pub fn flags(args: &[String]) -> Vec<String> {
    args.iter()
        .filter(|a| a.starts_with('-') && a.len() > 1)
        .filter(|a| !a[1..].starts_with(|c: char| c.is_ascii_digit()))
        .filter(|a| a.as_str() != "--")
        .map(|a| a.split('=').next().unwrap_or(a).to_string())
        .collect()
}

/// Every option a `--help` text offers, long and short.
pub fn help_flags(help: &str) -> BTreeSet<String> {
    help.split(|c: char| c.is_whitespace() || ",[]<>=".contains(c))
        .filter(|word| is_option_name(word))
        .map(str::to_string)
        .collect()
}

fn is_option_name(word: &str) -> bool {
    let name = word
        .strip_prefix("--")
        .or_else(|| word.strip_prefix('-'))
        .unwrap_or("");
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && (word.starts_with("--") || name.len() == 1)
}

/// The subcommands a clap `--help` lists under `Commands:`.
pub fn help_subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Checks that `excerpt` is copied verbatim from `source`.
///
/// The excerpt may be indented differently (a method shown on its own); a
/// line whose text is `// ...` stands for source lines left out. Each run of
/// lines between such gaps must appear in the source as consecutive lines,
/// the runs in order. On failure, says which line differs from the closest
/// match, so fixing the text is quick.
pub fn find_excerpt(source: &str, excerpt: &[String]) -> Result<(), String> {
    let source: Vec<&str> = source.lines().collect();
    let mut from = 0;
    for run in excerpt.split(|line| line.trim() == "// ...") {
        let run: Vec<&str> = trim_blank_ends(run);
        if run.is_empty() {
            continue;
        }
        let run_indent = run
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| indent_of(l))
            .min()
            .unwrap_or(0);
        let run: Vec<&str> = run
            .iter()
            .map(|l| {
                if l.trim().is_empty() {
                    ""
                } else {
                    &l[run_indent..]
                }
            })
            .collect();
        let mut best: Option<(usize, usize)> = None; // (source start, lines matched)
        let mut found = None;
        for start in from..source.len() {
            let matched = matching_lines(&source[start..], &run);
            if matched == run.len() {
                found = Some(start);
                break;
            }
            if matched > 0 && best.is_none_or(|(_, b)| matched > b) {
                best = Some((start, matched));
            }
        }
        match found {
            Some(start) => from = start + run.len(),
            None => {
                return Err(match best {
                    Some((start, matched)) => format!(
                        "excerpt line {:?} does not match source line {}: {:?} \
                         (the {matched} line(s) before it match from source line {})",
                        run[matched],
                        start + matched + 1,
                        source.get(start + matched).unwrap_or(&"<end of file>"),
                        start + 1
                    ),
                    None => format!(
                        "the excerpt's line {:?} is nowhere in the source{}",
                        run[0],
                        if from > 0 {
                            " after the previous part of the excerpt"
                        } else {
                            ""
                        }
                    ),
                });
            }
        }
    }
    Ok(())
}

/// How many lines of `run` match the start of `source`, all with the same
/// extra indent (the indent of the source line matching `run[0]`).
fn matching_lines(source: &[&str], run: &[&str]) -> usize {
    let Some(first) = source.first() else {
        return 0;
    };
    let Some(indent) = first.strip_suffix(run[0]) else {
        return 0;
    };
    if !indent.chars().all(|c| c == ' ' || c == '\t') {
        return 0;
    }
    run.iter()
        .zip(source)
        .take_while(|(want, have)| {
            if want.is_empty() {
                have.trim().is_empty()
            } else {
                have.strip_prefix(indent) == Some(**want)
            }
        })
        .count()
}

fn trim_blank_ends(lines: &[String]) -> Vec<&str> {
    let mut lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// How long a line a solution adds must be to count as part of the answer:
/// shorter ones (`loop {`, `return Ok(());`, `}`) are the skeleton any
/// hint may show.
pub const ANSWER_LINE_MIN: usize = 20;

/// A line with its indent and runs of spaces collapsed, for comparing code
/// written in a file with code quoted in a document.
fn normalised(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lines of `solution` that are the answer: not in `starter`, not even
/// as part of a starter line (in any indent: a block moved inside a `loop`
/// is the student's own code; a struct field `bound: usize,` is no secret
/// when the starter's `fn new(bound: usize, ...)` already names it) and at
/// least [`ANSWER_LINE_MIN`] characters long.
pub fn answer_lines(starter: &str, solution: &str) -> Vec<String> {
    let given: Vec<String> = starter.lines().map(normalised).collect();
    let mut answer: Vec<String> = solution
        .lines()
        .map(normalised)
        .filter(|line| {
            line.chars().count() >= ANSWER_LINE_MIN
                && !given.iter().any(|known| known.contains(line.as_str()))
        })
        .collect();
    answer.dedup();
    answer
}

/// The answer lines that `text` (a hint) quotes, each at most once.
pub fn quoted_answers<'a>(text: &str, answer: &'a [String]) -> Vec<&'a str> {
    let text: Vec<String> = text.lines().map(normalised).collect();
    let mut quoted: Vec<&str> = answer
        .iter()
        .filter(|line| text.iter().any(|t| t.contains(line.as_str())))
        .map(String::as_str)
        .collect();
    quoted.dedup();
    quoted
}

/// The hints of an exercise README: `(title, body)` for each `### ...`
/// under `## Hints`, up to the next `## ` heading (code fences skipped), as
/// `cargo xtask hint` reads them.
pub fn hints(readme: &str) -> Vec<(String, String)> {
    let mut hints: Vec<(String, String)> = Vec::new();
    let (mut in_section, mut in_fence) = (false, false);
    for line in readme.lines() {
        if fence_run(line.trim_start()).is_some() {
            in_fence = !in_fence;
        }
        if !in_fence {
            if let Some(title) = line.strip_prefix("### ") {
                if in_section {
                    hints.push((title.trim().to_string(), String::new()));
                }
                continue;
            }
            if let Some(title) = line.strip_prefix("## ") {
                if in_section {
                    break;
                }
                in_section = title.trim().eq_ignore_ascii_case("hints");
                continue;
            }
        }
        if let Some((_, body)) = hints.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    hints
}

/// Whether an inline code span names a file or directory of the repository:
/// `session2/PROTOCOL.md`, `exercises/exercise4/src/lines.rs`, `src/main.rs`.
/// Placeholders (`exerciseN`, `*`, `…`) and anything with spaces or a
/// scheme are not paths.
pub fn path_like(span: &str) -> bool {
    const ROOTS: [&str; 7] = [
        "session2/",
        "exercises/",
        "solutions/",
        "xtask/",
        "src/",
        ".ci/",
        ".cargo/",
    ];
    let placeholder = ["exerciseN", "solutionN", "stepN", "*", "…", "...", "<", "{"]
        .iter()
        .any(|p| span.contains(p));
    !span.is_empty()
        && !placeholder
        && !span.contains(char::is_whitespace)
        && !span.contains("://")
        && (ROOTS.iter().any(|root| span.starts_with(root))
            || [".md", ".rs", ".toml"]
                .iter()
                .any(|ext| span.ends_with(ext)))
}

/// The titles listed in a document's `## What the grader tries` section:
/// each list item starts with the scenario's title in bold, exactly as the
/// grader prints it (`- **three lines in one write are three messages**;`),
/// possibly wrapped over several lines. Returns (line, title) for each item
/// in order; an item without a bold title gives an empty title, so that it
/// shows up as a difference.
pub fn grader_tries(text: &str) -> Vec<Snippet> {
    let mut items: Vec<Snippet> = Vec::new();
    let mut in_section = false;
    for (index, line) in text.lines().enumerate() {
        if let Some(heading) = line.strip_prefix("## ") {
            in_section = heading.trim() == "What the grader tries";
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some(item) = line.strip_prefix("- ") {
            items.push(Snippet {
                line: index + 1,
                text: item.to_string(),
            });
        } else if line.starts_with("  ") && !line.trim().is_empty() {
            if let Some(item) = items.last_mut() {
                item.text.push(' ');
                item.text.push_str(line.trim());
            }
        }
    }
    for item in &mut items {
        item.text = item
            .text
            .strip_prefix("**")
            .and_then(|rest| rest.split_once("**"))
            .map(|(title, _)| title.to_string())
            .unwrap_or_default();
    }
    items
}

/// The scenario titles a document quotes as ``scenario `TITLE` `` (the
/// span may be wrapped over lines): each must be one the grader has.
pub fn quoted_scenarios(text: &str) -> Vec<Snippet> {
    const MARK: &str = "scenario `";
    let mut found = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(at) = rest.find(MARK) {
        let start = at + MARK.len();
        let Some(end) = rest[start..].find('`') else {
            break;
        };
        let title = rest[start..start + end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let line = text[..offset + at].matches('\n').count() + 1;
        found.push(Snippet { line, text: title });
        offset += start + end + 1;
        rest = &rest[start + end + 1..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_run_command_names_its_package_and_program_arguments() {
        let found = commands(
            "terminal 1:  cargo run -q -p step6-dead-clients -- --max-line 64   (then type)",
        );
        assert_eq!(
            found,
            [Command::Package {
                cargo_sub: "run".into(),
                package: "step6-dead-clients".into(),
                args: vec!["--max-line".into(), "64".into()],
            }]
        );
        let found = commands("cargo test --package=testkit -- --nocapture");
        assert_eq!(
            found,
            [Command::Package {
                cargo_sub: "test".into(),
                package: "testkit".into(),
                args: vec![],
            }]
        );
    }

    #[test]
    fn an_xtask_command_names_its_subcommand_and_stops_at_a_comment() {
        let found = commands("cargo xtask check exercise4 --addr 10.0.0.2:65433  # grade it");
        assert_eq!(
            found,
            [Command::Xtask {
                sub: Some("check".into()),
                args: vec!["exercise4".into(), "--addr".into(), "10.0.0.2:65433".into()],
            }]
        );
        assert_eq!(
            commands("cargo xtask --help"),
            [Command::Xtask {
                sub: None,
                args: vec!["--help".into()]
            }]
        );
        assert!(commands("cargo build --workspace").is_empty());
    }

    #[test]
    fn two_commands_on_one_line_are_both_found() {
        assert_eq!(
            commands("cargo xtask demo 3 && cargo xtask demo 4").len(),
            2
        );
    }

    #[test]
    fn flags_are_named_without_their_values() {
        let args: Vec<String> = ["4", "--step=3", "-y", "--port", "-1", "--"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(flags(&args), ["--step", "-y", "--port"]);
    }

    #[test]
    fn help_flags_and_subcommands_are_read_from_clap_output() {
        let help = "Usage: xtask <COMMAND>\n\nCommands:\n  check  Grade\n  myip   Show\n\n\
                    Options:\n      --step[=<M>]  Grade\n  -v, --verbose  More\n      --addr <HOST:PORT>\n";
        assert_eq!(help_subcommands(help), ["check", "myip"]);
        let flags = help_flags(help);
        for flag in ["--step", "-v", "--verbose", "--addr"] {
            assert!(flags.contains(flag), "{flag} in {flags:?}");
        }
        assert!(!flags.contains("--max-line"));
    }

    #[test]
    fn slugs_follow_github() {
        assert_eq!(
            slug("Part 4 · TCP is a stream (step 4)"),
            "part-4--tcp-is-a-stream-step-4"
        );
        assert_eq!(slug("What's next: `tokio`, TLS"), "whats-next-tokio-tls");
        assert_eq!(slug("See [the protocol](PROTOCOL.md)"), "see-the-protocol");
    }

    #[test]
    fn parse_finds_fences_code_links_and_anchors() {
        let doc = Document::parse(
            "# Title\n<a id=\"step-1\"></a>\n## Title\nRun `cargo xtask list` or see [here](../x.md#a).\n\
             <!-- excerpt: src/main.rs -->\n```rust\nfn main() {}\n```\n```text\ncargo run -p a\n```\n",
        );
        assert!(doc.anchors.contains("title"));
        assert!(doc.anchors.contains("title-1"));
        assert!(doc.anchors.contains("step-1"));
        assert_eq!(doc.links[0].text, "../x.md#a");
        assert_eq!(doc.links[0].line, 4);
        let code: Vec<&str> = doc.code.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(code, ["cargo xtask list", "cargo run -p a"]);
        assert_eq!(doc.fences.len(), 2);
        assert_eq!(
            doc.fences[0].marker.as_deref(),
            Some("excerpt: src/main.rs")
        );
        assert_eq!(doc.fences[0].body, ["fn main() {}"]);
        assert_eq!(doc.fences[1].marker, None);
    }

    #[test]
    fn links_inside_code_are_not_links() {
        let doc = Document::parse("Type `[a](b)` and see [c](d).\n");
        let links: Vec<&str> = doc.links.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(links, ["d"]);
    }

    const SOURCE: &str =
        "fn main() {\n    let a = 1;\n\n    let b = 2;\n    // why\n    let c = a + b;\n}\n";

    #[test]
    fn an_excerpt_may_be_dedented_and_skip_lines() {
        assert_eq!(
            find_excerpt(SOURCE, &lines("let a = 1;\n\nlet b = 2;")),
            Ok(())
        );
        assert_eq!(
            find_excerpt(
                SOURCE,
                &lines("fn main() {\n    // ...\n    let c = a + b;\n}")
            ),
            Ok(())
        );
    }

    #[test]
    fn a_changed_line_fails_and_says_where() {
        let err = find_excerpt(SOURCE, &lines("let a = 1;\n\nlet b = 3;")).unwrap_err();
        assert!(err.contains("\"let b = 3;\""), "{err}");
        assert!(err.contains("source line 4"), "{err}");
    }

    #[test]
    fn an_inserted_or_reordered_line_fails() {
        assert!(find_excerpt(SOURCE, &lines("let a = 1;\nlet b = 2;")).is_err());
        assert!(find_excerpt(SOURCE, &lines("let b = 2;\n// ...\nlet a = 1;")).is_err());
    }

    #[test]
    fn the_answer_is_what_the_solution_adds_in_any_indent() {
        let starter = "fn echo() {\n    let n = stream.read(&mut buffer)?;\n    Ok(())\n}\n";
        let solution = "fn echo() {\n    loop {\n        let n = stream.read(&mut buffer)?;\n        \
                        stream.write_all(&buffer[..n])?;\n    }\n}\n";
        let answer = answer_lines(starter, solution);
        assert_eq!(answer, ["stream.write_all(&buffer[..n])?;"]);
        let skeleton = "```rust\nloop {\n    let n = stream.read(&mut buffer)?;\n    ____;\n}\n```";
        assert!(quoted_answers(skeleton, &answer).is_empty());
        let spoiler = "Then call `stream.write_all(&buffer[..n])?;` and loop.";
        assert_eq!(
            quoted_answers(spoiler, &answer),
            ["stream.write_all(&buffer[..n])?;"]
        );
    }

    #[test]
    fn a_fragment_the_starter_already_shows_is_not_the_answer() {
        let starter =
            "pub fn new(stream: Stream, max_messages: usize, max_bytes: usize) -> Outbox {\n";
        let solution =
            "struct Outbox {\n    max_messages: usize,\n    sender: Sender<Message>,\n}\n";
        assert_eq!(
            answer_lines(starter, solution),
            ["sender: Sender<Message>,"]
        );
    }

    #[test]
    fn hints_are_the_subsections_of_the_hints_section() {
        let readme = "# X\n## Goal\n### Not a hint\n## Hints\n### Hint 1\nidea\n\
                      ```rust\n## not a heading\n```\n### Hint 2\nmore\n## Checking\n### No\n";
        let titles: Vec<String> = hints(readme).into_iter().map(|(t, _)| t).collect();
        assert_eq!(titles, ["Hint 1", "Hint 2"]);
        assert!(hints(readme)[0].1.contains("## not a heading"));
    }

    #[test]
    fn path_like_spans() {
        assert!(path_like("session2/PROTOCOL.md"));
        assert!(path_like("src/lines.rs"));
        assert!(path_like("Cargo.toml"));
        assert!(!path_like("exercises/exerciseN/README.md"));
        assert!(!path_like("session2/*"));
        assert!(!path_like("cargo run -p x"));
        assert!(!path_like("Arc<Mutex<..>>"));
    }

    #[test]
    fn the_grader_tries_list_gives_its_bold_titles() {
        let text = "# Ex\n\n## What the grader tries\n\nIntro.\n\n- **one line**;\n- **a title\n  wrapped** and then: detail\n  more detail;\n- no title here\n\nAfter.\n\n## Hints\n\n- **not this**\n";
        let items = grader_tries(text);
        let titles: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(titles, ["one line", "a title wrapped", ""]);
        assert_eq!(items[1].line, 8);
    }

    #[test]
    fn quoted_scenarios_are_found_across_lines() {
        let text = "Find the scenario `three lines in one\n  write`; then the grader's scenario `x (8 MB)` fails.";
        let found = quoted_scenarios(text);
        let titles: Vec<&str> = found.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(titles, ["three lines in one write", "x (8 MB)"]);
        assert_eq!((found[0].line, found[1].line), (1, 2));
    }
}
