//! The last graded result of each exercise, remembered for `cargo xtask
//! list`: `check` writes it, `list` reads it. It lives in
//! `target/xtask-results.txt` (next to `xtask-hints.txt`), which no commit
//! carries and a `cargo build` leaves alone; `cargo clean` forgets it.
//!
//! Each line is `exerciseN RESULT FINGERPRINT`, where RESULT is `passing`,
//! `failing PASSED/TOTAL` or `does-not-build`, and FINGERPRINT a hash of the
//! exercise's sources when it was graded: if they changed since, `list` says
//! so instead of showing a result that may no longer hold.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::build;
use crate::course::{self, Package};

/// What the last check of an exercise found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Graded {
    Passing,
    Failing { passed: usize, total: usize },
    DoesNotBuild,
}

impl fmt::Display for Graded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Graded::Passing => write!(f, "passing"),
            Graded::Failing { passed, total } => write!(f, "failing {passed}/{total}"),
            Graded::DoesNotBuild => write!(f, "does not build"),
        }
    }
}

/// One remembered result, and the fingerprint of the files it was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub graded: Graded,
    pub fingerprint: u64,
}

/// Where results are remembered.
pub fn results_file() -> PathBuf {
    build::state_dir().join("xtask-results.txt")
}

/// Reads the remembered results; a missing or garbled file (or line) is
/// simply no result.
pub fn read(path: &Path) -> BTreeMap<u8, Record> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<(u8, Record)> {
    let mut words = line.split_whitespace();
    let n = course::parse_exercise(words.next()?).ok()?;
    let graded = match words.next()? {
        "passing" => Graded::Passing,
        "does-not-build" => Graded::DoesNotBuild,
        "failing" => {
            let (passed, total) = words.next()?.split_once('/')?;
            Graded::Failing {
                passed: passed.parse().ok()?,
                total: total.parse().ok()?,
            }
        }
        _ => return None,
    };
    let fingerprint = u64::from_str_radix(words.next()?, 16).ok()?;
    Some((
        n,
        Record {
            graded,
            fingerprint,
        },
    ))
}

pub fn write(path: &Path, results: &BTreeMap<u8, Record>) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text: String = results
        .iter()
        .map(|(n, record)| {
            let graded = match record.graded {
                Graded::DoesNotBuild => "does-not-build".to_string(),
                other => other.to_string(),
            };
            format!("exercise{n} {graded} {:016x}\n", record.fingerprint)
        })
        .collect();
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Remembers `graded` as exercise `n`'s result, for its files as they are
/// now. Failing to remember is not worth failing the check: it says so on
/// stderr and goes on.
pub fn remember(n: u8, package: &Package, graded: Graded) {
    let path = results_file();
    let mut results = read(&path);
    results.insert(
        n,
        Record {
            graded,
            fingerprint: fingerprint(&package.dir),
        },
    );
    if let Err(error) = write(&path, &results) {
        eprintln!("note: cannot remember the result for `cargo xtask list`: {error:#}");
    }
}

/// A hash of what the package is built from (its `Cargo.toml`, `build.rs`
/// and everything under `src/`: names and contents, in a stable order), so
/// that editing the README changes nothing. FNV-1a: a few lines, the same on
/// every platform and every Rust version, unlike `DefaultHasher`.
pub fn fingerprint(dir: &Path) -> u64 {
    let mut hash = Fnv::default();
    for (relative, path) in source_files(dir) {
        hash.write(relative.as_bytes());
        hash.write(&[0]);
        hash.write(&std::fs::read(path).unwrap_or_default());
        hash.write(&[0]);
    }
    hash.0
}

/// The files a package is built from (its `Cargo.toml`, `build.rs` and
/// everything under `src/`), as (path relative to `dir` with `/`, path), in
/// a stable order: what [`fingerprint`] hashes, and `watch` watches.
pub fn source_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    for file in ["Cargo.toml", "build.rs"] {
        if dir.join(file).is_file() {
            files.push((file.to_string(), dir.join(file)));
        }
    }
    collect_files(dir, &dir.join("src"), &mut files);
    files.sort();
    files
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let relative = relative.to_string_lossy().replace('\\', "/");
            files.push((relative, path));
        }
    }
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-results-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn results_round_trip_through_the_file() {
        let dir = temp_dir("file");
        let path = dir.join("xtask-results.txt");
        let results = BTreeMap::from([
            (
                2,
                Record {
                    graded: Graded::Passing,
                    fingerprint: 0xabc,
                },
            ),
            (
                4,
                Record {
                    graded: Graded::Failing {
                        passed: 2,
                        total: 7,
                    },
                    fingerprint: 1,
                },
            ),
            (
                5,
                Record {
                    graded: Graded::DoesNotBuild,
                    fingerprint: 2,
                },
            ),
        ]);
        write(&path, &results).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "exercise2 passing 0000000000000abc\nexercise4 failing 2/7 0000000000000001\n\
             exercise5 does-not-build 0000000000000002\n"
        );
        assert_eq!(read(&path), results);
        std::fs::write(&path, "junk\nexercise9 passing 1\nexercise3 failing x 1\n").unwrap();
        assert!(read(&path).is_empty());
        std::fs::remove_dir_all(dir).unwrap();
        assert!(read(&path).is_empty());
    }

    #[test]
    fn the_fingerprint_changes_with_the_sources_only() {
        let dir = temp_dir("fingerprint");
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/main.rs"), "fn main() {}").unwrap();
        let before = fingerprint(&dir);
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join("target/junk"), "x").unwrap();
        std::fs::write(dir.join("README.md"), "# Notes").unwrap();
        assert_eq!(fingerprint(&dir), before);
        std::fs::write(dir.join("Cargo.toml"), "[package]").unwrap();
        assert_ne!(fingerprint(&dir), before);
        let before = fingerprint(&dir);
        std::fs::write(dir.join("src/main.rs"), "fn main() { }").unwrap();
        assert_ne!(fingerprint(&dir), before);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
