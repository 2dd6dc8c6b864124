//! The handout's Markdown: the same documents, told only what the students
//! have. Three rules, each driven by the text itself:
//!
//! * **Marked text.** A block between `<!-- handout: from step K -->` and
//!   `<!-- handout: end -->` is kept only when step K is handed out; one
//!   between `<!-- handout: leave out -->` and `<!-- handout: end -->`
//!   (the instructors' section) never. The same markers at the end of a
//!   line (a table row) apply to that line alone. Markers are HTML
//!   comments, so nothing shows where they stay.
//! * **Parts that come later.** A part starts at an anchor line
//!   `<a id="...">` followed by a `## ` heading. The part of a step not
//!   handed out (`<a id="step-K">`), or another part that names only such
//!   steps' packages (a bonus that runs step 6), keeps its anchor and
//!   heading, so every link to it still works, and says it comes later.
//! * **Links to what is left out** (`../solutions/...`, an exercise not
//!   handed out) become their plain text.

use std::collections::BTreeSet;

/// What the rules need to know about the handout.
pub struct Context<'a> {
    /// The last step handed out.
    pub up_to: u8,
    /// The steps not handed out.
    pub later: Vec<u8>,
    /// Every file of the handout, by path from its root (with `/`).
    pub files: &'a BTreeSet<&'a str>,
}

/// `text`, the document at `path` (from the root), as the handout has it.
pub fn for_handout(text: &str, path: &str, context: &Context) -> String {
    let marked = apply_markers(text, context.up_to);
    let parts = stub_later_parts(&marked, &context.later);
    unlink_missing(&parts, path, context.files)
}

/// The step numbers K of every `-p stepK-...` in text that no marker
/// guards: what the document asks every student to run.
pub fn steps_named_outside_markers(text: &str) -> Vec<u8> {
    step_numbers(&apply_markers(text, 0), "-p step")
}

/// What a marker comment says.
#[derive(Debug, PartialEq)]
enum Marker {
    FromStep(u8),
    LeaveOut,
    End,
}

fn marker(comment: &str) -> Option<Marker> {
    let inside = comment
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim()
        .strip_prefix("handout:")?
        .trim();
    match inside {
        "end" => Some(Marker::End),
        "leave out" => Some(Marker::LeaveOut),
        _ => inside
            .strip_prefix("from step")
            .and_then(|n| n.trim().parse().ok())
            .map(Marker::FromStep),
    }
}

/// A marker at the end of a line that has text before it.
fn trailing_marker(line: &str) -> Option<Marker> {
    let start = line.rfind("<!--")?;
    if line[..start].trim().is_empty() {
        return None;
    }
    marker(&line[start..])
}

fn keeps(marker: &Marker, up_to: u8) -> bool {
    match marker {
        Marker::FromStep(k) => *k <= up_to,
        Marker::LeaveOut | Marker::End => false,
    }
}

fn apply_markers(text: &str, up_to: u8) -> String {
    let mut out = String::new();
    // Inside a block: whether its lines are kept.
    let mut block: Option<bool> = None;
    for line in text.split_inclusive('\n') {
        if let Some(m) = marker(line) {
            match (m, block) {
                (Marker::End, Some(_)) => block = None,
                (Marker::End, None) => out.push_str(line),
                (m, _) => block = Some(keeps(&m, up_to)),
            }
            continue;
        }
        if block == Some(false) {
            continue;
        }
        if let Some(m) = trailing_marker(line) {
            if m != Marker::End && !keeps(&m, up_to) {
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

/// The K of every `<prefix>K` in `text` (`-p step3-...` gives 3).
fn step_numbers(text: &str, prefix: &str) -> Vec<u8> {
    let mut numbers: Vec<u8> = text
        .match_indices(prefix)
        .filter_map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            rest[digits.len()..]
                .starts_with('-')
                .then(|| digits.parse().ok())
                .flatten()
        })
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
}

/// `<a id="X"></a>` alone on a line: X.
fn anchor_id(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("<a id=\"")?
        .strip_suffix("\"></a>")
}

fn stub_later_parts(text: &str, later: &[u8]) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // Where each part starts: an anchor line, then a `## ` heading.
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            anchor_id(lines[i]).is_some() && lines.get(i + 1).is_some_and(|l| l.starts_with("## "))
        })
        .collect();
    let mut out = String::new();
    let first = starts.first().copied().unwrap_or(lines.len());
    lines[..first].iter().for_each(|l| out.push_str(l));
    for (index, &start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(lines.len());
        let part = &lines[start..end];
        let id = anchor_id(part[0]).unwrap_or_default();
        let comes_with = match id.strip_prefix("step-").and_then(|n| n.parse::<u8>().ok()) {
            Some(k) => later.contains(&k).then_some(k),
            None => {
                // Another part: later if every step it runs is later.
                let named = step_numbers(&part.concat(), "step");
                (!named.is_empty() && named.iter().all(|k| later.contains(k))).then(|| named[0])
            }
        };
        match comes_with {
            Some(k) => {
                out.push_str(part[0]);
                out.push_str(part[1]);
                out.push_str(&format!(
                    "\n*Coming later: this part comes with step {k}, in a later handout.*\n\n"
                ));
            }
            None => part.iter().for_each(|l| out.push_str(l)),
        }
    }
    out
}

/// The repository path a relative link in `document` points to, or `None`
/// for an absolute URL or a link within the page.
fn link_path(document: &str, target: &str) -> Option<String> {
    let path = target.split('#').next().unwrap_or("");
    if path.is_empty() || target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let mut parts: Vec<&str> = document.split('/').collect();
    parts.pop(); // the document's own name
    for piece in path.split('/') {
        match piece {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            piece => parts.push(piece),
        }
    }
    Some(parts.join("/"))
}

fn exists(path: &str, files: &BTreeSet<&str>) -> bool {
    let dir = format!("{path}/");
    files.contains(path) || files.iter().any(|f| f.starts_with(&dir))
}

fn unlink_missing(text: &str, document: &str, files: &BTreeSet<&str>) -> String {
    let mut out = String::new();
    let mut in_fence = false;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence {
            out.push_str(line);
            continue;
        }
        out.push_str(&unlink_line(line, document, files));
    }
    out
}

/// `[text](target)` becomes `text` where the target is a file left out.
fn unlink_line(line: &str, document: &str, files: &BTreeSet<&str>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(mid) = rest.find("](") {
        let Some(open) = rest[..mid].rfind('[') else {
            out.push_str(&rest[..mid + 2]);
            rest = &rest[mid + 2..];
            continue;
        };
        let after = &rest[mid + 2..];
        let Some(close) = after.find(')') else {
            break;
        };
        let target = after[..close].split_whitespace().next().unwrap_or("");
        let missing = link_path(document, target).is_some_and(|p| !exists(&p, files));
        // An image's `!` goes with its link.
        let open = if open > 0 && rest.as_bytes()[open - 1] == b'!' {
            open - 1
        } else {
            open
        };
        out.push_str(&rest[..open]);
        if missing {
            let text_start = rest[open..].find('[').map_or(open, |i| open + i + 1);
            out.push_str(&rest[text_start..mid]);
        } else {
            out.push_str(&rest[open..mid + 2 + close + 1]);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[&'static str]) -> BTreeSet<&'static str> {
        list.iter().copied().collect()
    }

    #[test]
    fn marked_blocks_and_lines_follow_the_step() {
        let text = "a\n<!-- handout: from step 4 -->\nb\n<!-- handout: end -->\nc\n\
                    | row 5 | x | <!-- handout: from step 5 -->\n\
                    <!-- handout: leave out -->\nsecret\n<!-- handout: end -->\nd\n";
        assert_eq!(apply_markers(text, 3), "a\nc\nd\n");
        assert_eq!(apply_markers(text, 4), "a\nb\nc\nd\n");
        assert_eq!(
            apply_markers(text, 9),
            "a\nb\nc\n| row 5 | x | <!-- handout: from step 5 -->\nd\n"
        );
    }

    #[test]
    fn what_everyone_must_run_ignores_marked_text() {
        let text = "`cargo run -p step3-chat-server`\n<!-- handout: from step 4 -->\n\
                    cargo run -p step4-framed-chat\n<!-- handout: end -->\n";
        assert_eq!(steps_named_outside_markers(text), [3]);
    }

    const CODELAB: &str = "# Codelab\n- [Part 4](#step-4)\n\
        <a id=\"step-3\"></a>\n## Part 3\ncargo run -p step3-chat-server\n\
        <a id=\"firewalls\"></a>\n**Firewalls.** inside part 3\n\
        <a id=\"step-4\"></a>\n## Part 4\n<!-- excerpt: session2/step4-framed-chat/src/lines.rs -->\n\
        secret code\n\
        <a id=\"gui\"></a>\n## Bonus\ncargo run -p gui-client, with cargo run -p step6-dead-clients\n\
        <a id=\"troubleshooting\"></a>\n## Troubleshooting\nsteps 3 to 7, step 7's frames\n";

    #[test]
    fn later_parts_keep_their_anchor_and_heading_only() {
        let out = stub_later_parts(CODELAB, &[4, 5, 6, 7]);
        assert!(out.contains(
            "<a id=\"step-4\"></a>\n## Part 4\n\n*Coming later: this part comes with step 4"
        ));
        assert!(!out.contains("secret code"), "{out}");
        // A part that runs only later steps comes later too.
        assert!(
            out.contains("## Bonus\n\n*Coming later: this part comes with step 6"),
            "{out}"
        );
        // An anchor inside a part is not a part; a part that runs no step stays.
        assert!(out.contains("**Firewalls.** inside part 3"), "{out}");
        assert!(out.contains("steps 3 to 7, step 7's frames"), "{out}");
        assert_eq!(stub_later_parts(CODELAB, &[]), CODELAB);
    }

    #[test]
    fn links_to_files_left_out_become_text() {
        let kept = files(&[
            "session2/README.md",
            "exercises/exercise3/README.md",
            "exercises/exercise3/src/main.rs",
        ]);
        let line = "see [exercise 3](../exercises/exercise3/README.md), \
                    [exercise 4](../exercises/exercise4/README.md), [this](#step-4), \
                    [the key](../solutions/) and [web](https://tokio.rs)\n";
        assert_eq!(
            unlink_line(line, "session2/README.md", &kept),
            "see [exercise 3](../exercises/exercise3/README.md), exercise 4, [this](#step-4), \
             the key and [web](https://tokio.rs)\n"
        );
        assert_eq!(
            link_path(
                "exercises/exercise3/README.md",
                "../../session2/README.md#step-3"
            )
            .as_deref(),
            Some("session2/README.md")
        );
        assert!(exists("exercises/exercise3", &kept));
    }
}
