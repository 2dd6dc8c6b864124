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
//! Waiting here means that the reader thread sleeps and reads nothing from
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
//! No sockets and no sleeping in here: every function takes the time, so
//! the tests can make time pass without waiting.

use std::time::{Duration, Instant};

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
        // TODO: the rule above, in code. Every message is handled at once
        // for now, however fast they come: that is the flood that drops the
        // listeners. Move the clock forward by the message's cost (one
        // `interval` for each `COST_BYTES` it has begun, at least one, at
        // most `burst`), after letting it catch up with `now`; if it is then
        // more than `window` ahead of `now`, the message waits for the
        // difference, unless the run of waiting messages began more than a
        // `window` before that: then `Pace::TooFast`. (Delete the `let _`
        // line: it only keeps the compiler quiet about what you will use.)
        let _ = (now, bytes, self.interval, self.window, self.clock);
        let _ = (self.slowed_since, self.burst, COST_BYTES, Pace::TooFast);
        let _ = Pace::Wait {
            wait: Duration::ZERO,
            first: true,
        };
        Pace::Now
    }
}
