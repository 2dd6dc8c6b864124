//! Flood control: the room slows the one who talks too fast.
//!
//! A full outbound queue drops the client whose queue it is. That is right
//! for a reader that stopped reading, and wrong for one that is merely
//! behind a flood: `seq 1 10000 | chat-client` from one laptop fills every
//! other queue in a second, and the room drops its *listeners*, while the
//! flooder stays. Nothing slowed the sender.
//!
//! IRC servers solved this long ago with *fake lag*: each client has a
//! clock that every message it sends moves forward. While the clock is less
//! than a burst ahead of real time, messages are handled at once; beyond
//! that, the server waits before handling the next one. A client that keeps
//! pushing past its allowance is disconnected for *Excess Flood*.
//!
//! Waiting here means that the reader task sleeps and reads nothing from
//! the socket meanwhile. The bytes the client keeps sending pile up in the
//! kernel's receive buffer; when it is full, TCP's flow control tells the
//! client's kernel to stop, and the client's own `write` blocks. The
//! flooder, and only the flooder, is slowed down to the rate of the room.
//! Nothing is lost: every message it sent is still handled, in order, later.
//!
//! With the defaults (`--flood-burst 50`, `--flood-rate 10`) a person who
//! pastes fifty lines, or types as fast as they can, never waits. A script
//! is slowed to ten messages a second, and if it is still being slowed
//! after one more burst's worth (five seconds, fifty more), it is told
//! `SERVER: you are sending too fast ...` and disconnected.
//!
//! A long message costs more than a short one: one for each 4 KiB it has
//! begun ([`COST_BYTES`]). Otherwise a burst of fifty 64 KiB frames would
//! weigh 3 MiB; this way a burst is at most 200 KiB of text, whatever the
//! size limit, and a listener's queue always has room for every burst one
//! laptop may send. One message never costs more than a whole burst,
//! though: a message as long as the limit allows must always get through.
//!
//! The same idea keeps the server's log readable: each client may cause a
//! few log lines per second ([`LogQuota`]); the rest are counted, and the
//! count is logged instead.
//!
//! No sockets and no sleeping in here: every function takes the time, so
//! the tests can make time pass without waiting.

use std::fmt;
use std::time::{Duration, Instant};

use classroom::log;

/// What one message costs is one for each `COST_BYTES` it has begun.
pub const COST_BYTES: usize = 4096;

/// How fast one client may send messages, commands and names included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodLimit {
    /// Messages a second, once the burst is spent.
    pub rate: u32,
    /// Messages at once, from a client that was quiet for a while.
    pub burst: u32,
}

/// What to do with a client's next message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Handle it now.
    Now,
    /// Wait this long, reading nothing, then handle it. `first` for the
    /// first wait of a run of them (the client has just started flooding).
    Wait { wait: Duration, first: bool },
    /// Excess Flood: the client has been slowed down for longer than the
    /// bound, so it is not going to stop. Disconnect it.
    TooFast,
}

/// One client's fake-lag clock.
#[derive(Debug)]
pub struct Pacer {
    /// What one message costs: 1 / rate.
    interval: Duration,
    /// How far ahead of real time the clock may run before messages wait:
    /// the time a burst takes at the steady rate, burst / rate.
    window: Duration,
    /// The client's clock: the time by which its messages so far are paid
    /// for at the steady rate. Never behind real time when one arrives.
    clock: Instant,
    /// Since when every message has had to wait (`None`: the last did not).
    slowed_since: Option<Instant>,
    /// The most one message may cost: a burst.
    burst: u32,
}

impl Pacer {
    /// A clock for a client that connects `now`, or `None` when flood
    /// control is off (a rate of 0).
    pub fn new(limit: FloodLimit, now: Instant) -> Option<Pacer> {
        if limit.rate == 0 {
            return None;
        }
        let interval = Duration::from_secs(1) / limit.rate;
        Some(Pacer {
            interval,
            window: interval * limit.burst,
            clock: now,
            slowed_since: None,
            burst: limit.burst,
        })
    }

    /// Decides about the message of `bytes` bytes that is there to be
    /// handled `now`.
    ///
    /// The rule, exactly: the message moves the clock forward by its cost
    /// times `interval` (and the clock first catches up with `now`, so quiet
    /// time is saved up to one burst and no more). The message may be handled
    /// once the clock is at most `window` ahead of real time: at once for
    /// the first `burst` messages, then one every `interval`. A message that
    /// must wait starts (or continues) a run of waiting messages; one that
    /// need not wait ends it: the client slowed down by itself. If a
    /// message of a run could only be handled more than `window` after the
    /// run began, the client kept sending faster than the rate for a whole
    /// burst's time (with the defaults, fifty messages beyond the first
    /// fifty): that is Excess Flood.
    pub fn pace(&mut self, now: Instant, bytes: usize) -> Pace {
        let cost = bytes.div_ceil(COST_BYTES).clamp(1, self.burst as usize);
        // At most a burst, so this fits in a u32.
        self.clock = self.clock.max(now) + self.interval * cost as u32;
        let Some(wait) = self
            .clock
            .checked_duration_since(now + self.window)
            .filter(|wait| !wait.is_zero())
        else {
            self.slowed_since = None;
            return Pace::Now;
        };
        let first = self.slowed_since.is_none();
        let since = *self.slowed_since.get_or_insert(now);
        // The message would be handled at `now + wait`.
        if now + wait > since + self.window {
            return Pace::TooFast;
        }
        Pace::Wait { wait, first }
    }
}

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

    const DEFAULTS: FloodLimit = FloodLimit {
        rate: 10,
        burst: 50,
    };
    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_rate_of_zero_turns_flood_control_off() {
        let off = FloodLimit { rate: 0, burst: 50 };
        assert!(Pacer::new(off, Instant::now()).is_none());
    }

    #[test]
    fn a_burst_passes_at_once_then_one_message_per_interval() {
        let start = Instant::now();
        let mut pacer = Pacer::new(DEFAULTS, start).unwrap();
        for _ in 0..50 {
            assert_eq!(pacer.pace(start, 10), Pace::Now);
        }
        // The 51st waits one interval, and says it is the first to wait.
        assert_eq!(
            pacer.pace(start, 10),
            Pace::Wait {
                wait: 100 * MS,
                first: true
            }
        );
        // Handled after that wait, the next one waits another interval.
        assert_eq!(
            pacer.pace(start + 100 * MS, 10),
            Pace::Wait {
                wait: 100 * MS,
                first: false
            }
        );
    }

    #[test]
    fn typing_at_the_rate_never_waits() {
        let start = Instant::now();
        let mut pacer = Pacer::new(DEFAULTS, start).unwrap();
        for i in 0..1000 {
            assert_eq!(pacer.pace(start + i * 100 * MS, 10), Pace::Now);
        }
    }

    #[test]
    fn a_long_message_costs_one_for_each_4_kib_begun_but_never_over_a_burst() {
        let start = Instant::now();
        let mut pacer = Pacer::new(DEFAULTS, start).unwrap();
        // 12 messages of 16 KiB (costing 4 each) and two short ones: 50.
        for _ in 0..12 {
            assert_eq!(pacer.pace(start, 16 * 1024), Pace::Now);
        }
        assert_eq!(pacer.pace(start, 4096), Pace::Now);
        assert_eq!(pacer.pace(start, 1), Pace::Now);
        // 4097 bytes have begun a second 4 KiB: they wait two intervals.
        assert_eq!(
            pacer.pace(start, 4097),
            Pace::Wait {
                wait: 200 * MS,
                first: true
            }
        );
        // A message of 16 MiB costs a burst, not 4,096: after a rest it
        // passes at once, and is not a flood on its own.
        let later = start + Duration::from_secs(60);
        assert_eq!(pacer.pace(later, 16 << 20), Pace::Now);
        assert_eq!(
            pacer.pace(later, 16 << 20),
            Pace::Wait {
                wait: 5000 * MS,
                first: true
            }
        );
    }

    #[test]
    fn quiet_time_refills_the_burst_but_no_more() {
        let start = Instant::now();
        let mut pacer = Pacer::new(DEFAULTS, start).unwrap();
        for _ in 0..50 {
            pacer.pace(start, 10);
        }
        // An hour later: one burst again, not 36,000 messages.
        let later = start + Duration::from_secs(3600);
        for _ in 0..50 {
            assert_eq!(pacer.pace(later, 10), Pace::Now);
        }
        assert!(matches!(pacer.pace(later, 10), Pace::Wait { .. }));
    }

    /// Feeds messages as fast as the pacer lets them through (a flooder
    /// whose next one is always there already); returns how many were handled
    /// before `TooFast`, and when that came.
    fn flood(limit: FloodLimit) -> (u32, Duration) {
        let start = Instant::now();
        let mut pacer = Pacer::new(limit, start).unwrap();
        let mut now = start;
        for handled in 0.. {
            match pacer.pace(now, 10) {
                Pace::Now => {}
                Pace::Wait { wait, .. } => now += wait,
                Pace::TooFast => return (handled, now - start),
            }
        }
        unreachable!()
    }

    #[test]
    fn a_flooder_is_disconnected_after_one_more_burst_at_the_rate() {
        // 50 at once, then 10 a second for 5 s: 100, then Excess Flood.
        assert_eq!(flood(DEFAULTS), (100, Duration::from_secs(5)));
        // The bound follows the flags: burst / rate seconds of slowing.
        let quick = FloodLimit {
            rate: 100,
            burst: 10,
        };
        assert_eq!(flood(quick), (20, Duration::from_millis(100)));
    }

    #[test]
    fn a_long_paste_that_ends_in_time_is_only_slowed() {
        let start = Instant::now();
        let mut pacer = Pacer::new(DEFAULTS, start).unwrap();
        let mut now = start;
        // 100 at once: the last one is handled 5 s later, not kicked.
        for _ in 0..100 {
            match pacer.pace(now, 10) {
                Pace::Now => {}
                Pace::Wait { wait, .. } => now += wait,
                Pace::TooFast => panic!("a 100-line paste is not a flood"),
            }
        }
        assert_eq!(now - start, Duration::from_secs(5));
        // A pause long enough for one token ends the run: the next paste
        // starts a new one, it does not carry the old one on.
        now += Duration::from_secs(1);
        assert_eq!(pacer.pace(now, 10), Pace::Now);
        for _ in 0..9 {
            assert_eq!(pacer.pace(now, 10), Pace::Now);
        }
        assert!(matches!(
            pacer.pace(now, 10),
            Pace::Wait { first: true, .. }
        ));
    }

    #[test]
    fn a_script_slightly_over_the_rate_is_disconnected_too() {
        // 11 a second, for ever: it never gives the clock a rest.
        let start = Instant::now();
        let mut pacer = Pacer::new(DEFAULTS, start).unwrap();
        let gap = Duration::from_secs(1) / 11;
        let mut now = start;
        let mut kicked = None;
        for i in 0..10_000 {
            match pacer.pace(now, 10) {
                Pace::Now => {}
                Pace::Wait { wait, .. } => now += wait,
                Pace::TooFast => {
                    kicked = Some(i);
                    break;
                }
            }
            now += gap;
        }
        assert!(kicked.is_some(), "11 a second for 15 minutes");
    }

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
