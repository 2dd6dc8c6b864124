//! The names a scenario uses, and how to tell its own traffic from other
//! people's on a shared server.
//!
//! Names are unique per run (`ann_k3x9`), so a scenario never collides with
//! someone already in the room. On a server the grader did not start
//! (`--addr`), a notice about somebody else (a classmate, or a client of the
//! previous scenario whose leave notice is still on its way) is recorded and
//! skipped; on a server the grader started for one scenario alone, nothing is
//! skipped and every line counts.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A scenario's names, and whether others may share the room.
#[derive(Debug, Default)]
pub struct Room {
    shared: bool,
    /// This scenario's names, in lower case.
    ours: Mutex<HashSet<String>>,
    /// Names of probe clients (see `checks/chat.rs`): notices about them
    /// are skipped by every client, whenever they come.
    probes: Mutex<Vec<String>>,
}

impl Room {
    /// `shared`: the server may have other clients than this scenario's.
    pub fn new(shared: bool) -> Room {
        Room {
            shared,
            ..Room::default()
        }
    }

    /// A fresh name for a probe client.
    pub fn probe_name(&self) -> String {
        let name = format!("probe_{}", random_suffix());
        self.probes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        name
    }

    /// Every probe client's name so far.
    pub fn probe_names(&self) -> Vec<String> {
        self.probes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether `name` is a probe client's.
    pub fn is_probe(&self, name: &str) -> bool {
        let probes = self.probes.lock().unwrap_or_else(|e| e.into_inner());
        probes.iter().any(|probe| probe == name)
    }

    /// Whether `message` is a notice about a probe client.
    pub fn is_about_probe(&self, message: &[u8]) -> bool {
        let text = String::from_utf8_lossy(message);
        text.starts_with("SERVER: ") && names_in(&text).iter().any(|name| self.is_probe(name))
    }

    /// A fresh name starting with `label`, remembered as this scenario's:
    /// never one it used before, in any case. (Four random characters
    /// repeat now and then among the thousands of names a race uses, and a
    /// name given twice would be refused as taken.)
    pub fn unique_name(&self, label: &str) -> String {
        let mut ours = self.ours.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let name = format!("{label}_{}", random_suffix());
            if ours.insert(name.to_ascii_lowercase()) {
                return name;
            }
        }
    }

    fn is_ours(&self, name: &str) -> bool {
        self.ours
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&name.to_ascii_lowercase())
    }

    /// Whether `message` is about people outside this scenario (only ever on
    /// a shared server): a join, leave or rename notice, or `NAME: TEXT`,
    /// naming none of this scenario's clients.
    pub fn is_foreign(&self, message: &[u8]) -> bool {
        if !self.shared {
            return false;
        }
        let text = String::from_utf8_lossy(message);
        let names = names_in(&text);
        !names.is_empty() && names.iter().all(|name| !self.is_ours(name))
    }
}

/// The name in a join notice (`SERVER: NAME has joined the chat.`), if
/// `text` is one.
pub fn joined_name(text: &str) -> Option<&str> {
    text.strip_prefix("SERVER: ")?
        .strip_suffix(" has joined the chat.")
}

/// The names a chat message is about: a join, leave or rename notice, or
/// `NAME: TEXT` (a name has no whitespace). None for anything else.
fn names_in(text: &str) -> Vec<&str> {
    if let Some(rest) = text.strip_prefix("SERVER: ") {
        if let Some(name) = rest.strip_suffix(" has joined the chat.") {
            vec![name]
        } else if let Some(name) = rest.strip_suffix(" has left the chat.") {
            vec![name]
        } else if let Some((old, new)) = rest.split_once(" is now ") {
            vec![old, new]
        } else {
            vec![]
        }
    } else if let Some((name, _)) = text.split_once(": ") {
        if name.is_empty() || name.contains(char::is_whitespace) {
            vec![]
        } else {
            vec![name]
        }
    } else {
        vec![]
    }
}

/// Four characters from `[0-9a-z]`, different on every call and every run.
fn random_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64: spreads nearby inputs over the whole range.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..4)
        .map(|i| DIGITS[((x >> (i * 8)) % 36) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_valid() {
        let room = Room::new(false);
        let a = room.unique_name("ann");
        let b = room.unique_name("ann");
        assert_ne!(a, b);
        assert!(a.starts_with("ann_") && a.len() == 8, "{a}");
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[test]
    fn a_room_never_gives_a_name_twice() {
        let room = Room::new(false);
        let mut seen = HashSet::new();
        // Far more than 36^4 / 1000: four random characters alone would
        // repeat many times.
        for _ in 0..20_000 {
            assert!(seen.insert(room.unique_name("zoe")), "a name came twice");
        }
    }

    #[test]
    fn probe_notices_are_recognised_in_any_room() {
        let room = Room::new(false);
        let probe = room.probe_name();
        assert!(room.is_about_probe(format!("SERVER: {probe} has left the chat.").as_bytes()));
        assert!(!room.is_about_probe(format!("{probe}: hi").as_bytes()));
        assert!(!room.is_about_probe(b"SERVER: zed has left the chat."));
    }

    #[test]
    fn a_private_room_skips_nothing() {
        let room = Room::new(false);
        assert!(!room.is_foreign(b"SERVER: zed has left the chat."));
    }

    #[test]
    fn a_shared_room_skips_only_other_peoples_traffic() {
        let room = Room::new(true);
        let ann = room.unique_name("ann");
        assert!(room.is_foreign(b"SERVER: zed has left the chat."));
        assert!(room.is_foreign(b"SERVER: zed has joined the chat."));
        assert!(room.is_foreign(b"SERVER: zed is now zoe"));
        assert!(room.is_foreign(b"zed: hello"));
        assert!(!room.is_foreign(format!("SERVER: {ann} has joined the chat.").as_bytes()));
        assert!(!room.is_foreign(format!("{ann}: hello").as_bytes()));
        assert!(!room.is_foreign(format!("SERVER: zed is now {}", ann.to_uppercase()).as_bytes()));
        // Anything that is not clearly someone else's stays visible.
        assert!(!room.is_foreign(b"hello"));
        assert!(!room.is_foreign(b"SERVER: online: zed"));
        assert!(!room.is_foreign(b"DONE"));
        assert!(!room.is_foreign(b"two words: text"));
    }
}
