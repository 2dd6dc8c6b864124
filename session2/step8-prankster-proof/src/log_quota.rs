//! Log rationing: each client may cause a few log lines a second.
//!
//! The server's log is on the projector. A client that floods, or a laptop
//! that opens a connection a millisecond, would scroll everything else away
//! in a second, and the log itself (a `println!` per line) would become the
//! bottleneck. So each client has a quota of lines per second, like flood
//! control's for messages: the lines beyond it are counted, and the count is
//! logged instead ("(37 more lines about prank not logged)"). The accept
//! loop has one for the newcomers it refuses.
//!
//! No sockets in here, and the time is an argument where it matters, so the
//! tests can make time pass without waiting.

use std::fmt;
use std::time::{Duration, Instant};

use classroom::log;

/// How many log lines one client may cause in a second. A few: enough to
/// follow a conversation on the projector, too few to scroll it away.
pub const LOG_LINES_PER_SECOND: u32 = 5;

/// One client's share of the log: at most [`LOG_LINES_PER_SECOND`] lines in
/// any one-second window; the lines beyond are counted instead.
#[derive(Debug)]
pub struct LogQuota {
    /// When the current one-second window began.
    window_start: Instant,
    /// Lines logged in it.
    used: u32,
    /// Lines left out since the last report.
    skipped: u64,
}

impl LogQuota {
    pub fn new(now: Instant) -> LogQuota {
        LogQuota {
            window_start: now,
            used: 0,
            skipped: 0,
        }
    }

    /// Whether one more line may be logged `now`: `Some(n)` if so, where
    /// `n` lines were left out before it (say so first); `None` if this
    /// one is to be left out.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.used = 0;
        }
        if self.used < LOG_LINES_PER_SECOND {
            self.used += 1;
            Some(self.take_skipped())
        } else {
            self.skipped += 1;
            None
        }
    }

    /// The lines left out and not reported yet (for the client's last line).
    pub fn take_skipped(&mut self) -> u64 {
        std::mem::take(&mut self.skipped)
    }

    /// Logs `line`, about `who`, if the quota allows it now: first the
    /// count of the lines left out before it, if any.
    pub fn log(&mut self, who: &dyn fmt::Display, line: fmt::Arguments<'_>) {
        let Some(skipped) = self.allow(Instant::now()) else {
            return;
        };
        if skipped > 0 {
            log!("({skipped} more lines about {who} not logged)");
        }
        log!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_log_quota_counts_what_it_leaves_out() {
        let start = Instant::now();
        let mut quota = LogQuota::new(start);
        for _ in 0..LOG_LINES_PER_SECOND {
            assert_eq!(quota.allow(start), Some(0));
        }
        for _ in 0..95 {
            assert_eq!(quota.allow(start + 500 * MS), None);
        }
        // A new second: the count comes with the first line logged in it.
        assert_eq!(quota.allow(start + 1000 * MS), Some(95));
        assert_eq!(quota.allow(start + 1001 * MS), Some(0));
        quota.allow(start + 1002 * MS);
        quota.allow(start + 1003 * MS);
        quota.allow(start + 1004 * MS);
        assert_eq!(quota.allow(start + 1005 * MS), None);
        assert_eq!(quota.take_skipped(), 1);
        assert_eq!(quota.take_skipped(), 0);
    }
}
