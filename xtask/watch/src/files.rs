//! Noticing saves: the system's file events (notify: inotify, FSEvents,
//! ReadDirectoryChangesW), or notify's polling watcher where events never
//! come (WSL 2 on a Windows drive, network folders), or nothing at all
//! (`--manual`).
//!
//! Two small pieces of logic decide what a save does, kept apart from the
//! terminal so they can be tested on their own: [`Trigger`] turns a burst
//! of saves into one grading, and a save during a grading into one more
//! grading when it ends; [`Silence`] notices saves that the system never
//! reported, by their modification times, so that `watch` can propose
//! polling.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use notify::{EventKind, PollWatcher, RecursiveMode, Watcher};

use xtask::results;

/// How long the files must stay quiet after a save before grading: an
/// editor that writes three files (or a file and a backup) is one save.
pub const QUIET: Duration = Duration::from_millis(300);

/// How often files are looked at when polling (and when checking that the
/// system reports saves at all).
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// How saves are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The system tells us (notify's recommended watcher).
    Events,
    /// We look every [`POLL_EVERY`] (notify's polling watcher).
    Polling,
    /// We do not: the student presses `r`.
    Manual,
}

/// A running watcher; dropping it stops watching.
pub struct FileWatcher {
    _watcher: Option<Box<dyn Watcher + Send>>,
}

/// Watches `dir` (recursively) in `mode`, calling `on_save` for every
/// change reported there (reads are not changes). Fails when the system
/// refuses (inotify's watch limit, say): the caller falls back to polling.
pub fn watch(
    dir: &Path,
    mode: Mode,
    on_save: impl Fn() + Send + 'static,
) -> notify::Result<FileWatcher> {
    let handler = move |event: notify::Result<notify::Event>| {
        // An error is reported as a change: grading once too often is
        // harmless, and the fingerprint check skips a grading for nothing.
        let is_change = event.map_or(true, |e| !matches!(e.kind, EventKind::Access(_)));
        if is_change {
            on_save();
        }
    };
    let mut watcher: Box<dyn Watcher + Send> = match mode {
        Mode::Manual => return Ok(FileWatcher { _watcher: None }),
        Mode::Events => Box::new(notify::recommended_watcher(handler)?),
        Mode::Polling => Box::new(PollWatcher::new(
            handler,
            notify::Config::default().with_poll_interval(POLL_EVERY),
        )?),
    };
    watcher.watch(dir, RecursiveMode::Recursive)?;
    Ok(FileWatcher {
        _watcher: Some(watcher),
    })
}

/// Forwards a save to the main loop as `event` (ignoring a closed loop).
pub fn forward<E: Clone + Send + 'static>(tx: Sender<E>, event: E) -> impl Fn() + Send + 'static {
    move || {
        let _ = tx.send(event.clone());
    }
}

/// What the sources of the package in `dir` look like from outside: their
/// names, sizes and modification times, hashed. It changes on every save
/// without reading a byte.
pub fn stamp(dir: &Path) -> u64 {
    let mut hash = DefaultHasher::new();
    for (relative, path) in results::source_files(dir) {
        relative.hash(&mut hash);
        if let Ok(meta) = std::fs::metadata(&path) {
            meta.len().hash(&mut hash);
            meta.modified().ok().hash(&mut hash);
        }
    }
    hash.finish()
}

/// Decides when to grade: once the files have been quiet for [`QUIET`]
/// after a save, if what the package is built from changed since the last
/// grading; and once more when a grading ends, if it changed meanwhile.
#[derive(Debug, Default)]
pub struct Trigger {
    /// When the last save not yet acted on was reported.
    last_save: Option<Instant>,
    /// The fingerprint of the sources the last grading started with.
    graded: Option<u64>,
}

impl Trigger {
    /// A save was reported.
    pub fn saved(&mut self, now: Instant) {
        self.last_save = Some(now);
    }

    /// A grading started on sources with `fingerprint` (on a save, `r`,
    /// or a new exercise).
    pub fn grading(&mut self, fingerprint: u64) {
        self.graded = Some(fingerprint);
    }

    /// Whether a save waits for the files to be quiet.
    pub fn waiting(&self) -> bool {
        self.last_save.is_some()
    }

    /// Called often: whether to start a grading now. `grading` says whether
    /// one is running (then [`Trigger::ended`] decides, when it ends);
    /// `fingerprint` is asked only when the files have been quiet.
    pub fn due(&mut self, now: Instant, grading: bool, fingerprint: impl FnOnce() -> u64) -> bool {
        match self.last_save {
            Some(at) if now.duration_since(at) >= QUIET => {
                self.last_save = None;
                !grading && self.graded != Some(fingerprint())
            }
            _ => false,
        }
    }

    /// A grading ended: whether to grade again at once (the sources changed
    /// while it ran, and no save is still settling).
    pub fn ended(&mut self, fingerprint: impl FnOnce() -> u64) -> bool {
        !self.waiting() && self.graded.is_some() && self.graded != Some(fingerprint())
    }
}

/// Notices saves the system did not report: every [`POLL_EVERY`], the
/// sources' [`stamp`]; when it changes and no event came since shortly
/// before, file events do not work here.
#[derive(Debug, Default)]
pub struct Silence {
    stamp: Option<u64>,
    last_event: Option<Instant>,
    /// When a change of the stamp was seen, not yet judged.
    changed_at: Option<Instant>,
    last_look: Option<Instant>,
}

impl Silence {
    /// A file event arrived.
    pub fn event(&mut self, now: Instant) {
        self.last_event = Some(now);
    }

    /// Whether it is time to look at the stamp again.
    pub fn time_to_look(&self, now: Instant) -> bool {
        self.last_look
            .is_none_or(|at| now.duration_since(at) >= POLL_EVERY)
    }

    /// The stamp now. The first look only sets the baseline.
    pub fn looked(&mut self, now: Instant, stamp: u64) {
        self.last_look = Some(now);
        if self.stamp.is_some_and(|before| before != stamp) && self.changed_at.is_none() {
            self.changed_at = Some(now);
        }
        self.stamp = Some(stamp);
    }

    /// Whether a save went unreported: a change seen a while ago (so its
    /// event had time to arrive), and no event since just before the look
    /// before it. Says so once per unreported save.
    pub fn unreported(&mut self, now: Instant) -> bool {
        let Some(seen) = self.changed_at else {
            return false;
        };
        if now.duration_since(seen) < POLL_EVERY {
            return false;
        }
        self.changed_at = None;
        // The save happened at most one look before it was seen.
        let since = seen.checked_sub(POLL_EVERY + QUIET).unwrap_or(seen);
        self.last_event.is_none_or(|at| at < since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_of_saves_is_one_grading() {
        let t0 = Instant::now();
        let mut trigger = Trigger::default();
        trigger.grading(1);
        let mut gradings = 0;
        // Three files written 10 ms apart, then the loop ticking every 50 ms.
        for save in [0, 10, 20] {
            trigger.saved(t0 + ms(save));
        }
        for tick in (0..40).map(|i| t0 + ms(i * 50)) {
            if trigger.due(tick, false, || 2) {
                gradings += 1;
                trigger.grading(2);
            }
        }
        assert_eq!(gradings, 1);
        assert!(!trigger.waiting());
    }

    #[test]
    fn grading_waits_for_quiet_files() {
        let t0 = Instant::now();
        let mut trigger = Trigger::default();
        trigger.saved(t0);
        assert!(!trigger.due(t0 + QUIET - ms(1), false, || 2));
        trigger.saved(t0 + ms(200));
        assert!(!trigger.due(t0 + QUIET + ms(1), false, || 2));
        assert!(trigger.due(t0 + ms(200) + QUIET, false, || 2));
    }

    #[test]
    fn a_save_that_changes_nothing_grades_nothing() {
        let t0 = Instant::now();
        let mut trigger = Trigger::default();
        trigger.grading(7);
        trigger.saved(t0);
        assert!(!trigger.due(t0 + QUIET, false, || 7));
        assert!(!trigger.waiting());
    }

    #[test]
    fn a_save_during_a_grading_grades_again_once_it_ends() {
        let t0 = Instant::now();
        let mut trigger = Trigger::default();
        trigger.grading(1);
        trigger.saved(t0);
        // Quiet, but a grading runs: not now.
        assert!(!trigger.due(t0 + QUIET, true, || 2));
        // It ends: grade again, once.
        assert!(trigger.ended(|| 2));
        trigger.grading(2);
        assert!(!trigger.ended(|| 2));
    }

    #[test]
    fn a_grading_that_ends_during_a_burst_leaves_it_to_the_quiet() {
        let t0 = Instant::now();
        let mut trigger = Trigger::default();
        trigger.grading(1);
        trigger.saved(t0);
        assert!(!trigger.ended(|| 2), "the burst is still settling");
        assert!(trigger.due(t0 + QUIET, false, || 3));
    }

    #[test]
    fn silence_is_a_change_seen_by_time_with_no_event() {
        let t0 = Instant::now();
        let mut silence = Silence::default();
        silence.looked(t0, 1);
        assert!(
            !silence.unreported(t0 + ms(5000)),
            "a baseline is no change"
        );
        silence.looked(t0 + ms(1000), 2);
        assert!(
            !silence.unreported(t0 + ms(1500)),
            "its event may still come"
        );
        assert!(silence.unreported(t0 + ms(2000)));
        assert!(!silence.unreported(t0 + ms(3000)), "said once");
    }

    #[test]
    fn a_reported_save_is_no_silence() {
        let t0 = Instant::now() + ms(10_000);
        let mut silence = Silence::default();
        silence.looked(t0, 1);
        // Saved at 1.2 s, reported at once; the look at 2 s sees it.
        silence.event(t0 + ms(1200));
        silence.looked(t0 + ms(2000), 2);
        assert!(!silence.unreported(t0 + ms(3000)));
        // The event came just after the look that saw it.
        silence.looked(t0 + ms(4000), 3);
        silence.event(t0 + ms(4010));
        assert!(!silence.unreported(t0 + ms(5000)));
        // An old event says nothing about a new save.
        silence.looked(t0 + ms(9000), 4);
        assert!(silence.unreported(t0 + ms(10_000)));
    }

    #[test]
    fn looks_are_spaced() {
        let t0 = Instant::now();
        let mut silence = Silence::default();
        assert!(silence.time_to_look(t0));
        silence.looked(t0, 1);
        assert!(!silence.time_to_look(t0 + ms(999)));
        assert!(silence.time_to_look(t0 + POLL_EVERY));
    }

    #[test]
    fn the_stamp_changes_with_a_save_and_not_with_other_files() {
        let dir = std::env::temp_dir().join(format!("xtask-watch-stamp-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/main.rs"), "fn main() {}").unwrap();
        let before = stamp(&dir);
        std::fs::write(dir.join("README.md"), "notes").unwrap();
        assert_eq!(stamp(&dir), before);
        std::fs::write(dir.join("src/main.rs"), "fn main() { }").unwrap();
        assert_ne!(stamp(&dir), before);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
