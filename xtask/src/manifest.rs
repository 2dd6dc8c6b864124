//! The few values the course reads from its `Cargo.toml` files, such as
//! `[package.metadata.course] from-step = 6`. Cargo ignores these tables;
//! `handout` and the course map read them, line by line: they are written
//! by hand, one key a line, and need no TOML parser.

/// The raw value of `key` in the `[section]` of a TOML text.
pub fn value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
        } else if inside {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// The strings of a one-line TOML array, `key = ["a", "b"]`.
pub fn list(text: &str, section: &str, key: &str) -> Vec<String> {
    value(text, section, key)
        .map(|v| {
            v.trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_lists() {
        let text = "[package]\nname = \"gui\"\n\n[package.metadata.course]\nfrom-step = 6\n\
                    [workspace.metadata.handout]\nleave-out = [\"BENCHMARKS.md\", \"fuzz\"]\n";
        assert_eq!(
            value(text, "package.metadata.course", "from-step").as_deref(),
            Some("6")
        );
        assert_eq!(value(text, "package", "from-step"), None);
        assert_eq!(
            list(text, "workspace.metadata.handout", "leave-out"),
            ["BENCHMARKS.md", "fuzz"]
        );
    }
}
