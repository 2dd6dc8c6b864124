//! Every wait the grader makes, in one place. `--timeout SECS` sets the base
//! wait and everything else scales with it, so grading a server on another
//! laptop over Wi-Fi only needs a bigger `--timeout`.

use std::time::Duration;

/// The default base wait, in seconds: how long a grader client waits for one
/// expected reply. A server on loopback answers in milliseconds, so this is
/// generous; it only matters when something is wrong.
pub const DEFAULT_WAIT_SECS: f64 = 3.0;

/// The waits derived from one base wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    wait: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::new(Duration::from_secs_f64(DEFAULT_WAIT_SECS))
    }
}

impl Timeouts {
    /// Timeouts scaled from `wait`, the longest a single expected reply may take.
    pub fn new(wait: Duration) -> Self {
        Timeouts { wait }
    }

    /// One expected reply, one connect, one write.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// A started server printing its `listening on` line (a freshly built
    /// binary can be slow to start the first time, on Windows especially).
    pub fn startup(&self) -> Duration {
        self.wait * 3
    }

    /// The window that proves an absence (no echo to the sender, no second
    /// leave notice). Short: it is paid on every pass.
    pub fn silence(&self) -> Duration {
        self.wait / 10
    }

    /// How long a fresh client waits for any answer at all, to tell a live
    /// server from a stuck one (it answers in milliseconds when it lives).
    pub fn probe(&self) -> Duration {
        self.wait / 2
    }

    /// The most to wait for the server to show progress in its log before
    /// going on without it.
    pub fn settle(&self) -> Duration {
        self.wait / 3
    }

    /// The most time a scenario that repeats a race spends repeating it
    /// (after a minimum of rounds): hundreds of rounds on loopback, and not
    /// much longer than a scenario takes anyway on a slow network.
    pub fn race(&self) -> Duration {
        self.wait / 3
    }

    /// The pause between the pieces of a message sent in pieces, so that the
    /// server's reads are likely to see them separately. Part of the stimulus,
    /// not a way to wait for the server.
    pub fn piece_gap(&self) -> Duration {
        self.wait / 300
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_scales_with_the_base_wait() {
        let base = Timeouts::default();
        let double = Timeouts::new(base.wait() * 2);
        assert_eq!(double.startup(), base.startup() * 2);
        assert_eq!(double.silence(), base.silence() * 2);
        assert_eq!(double.settle(), base.settle() * 2);
        assert!(base.silence() < base.wait() && base.wait() < base.startup());
        assert!(base.silence() < base.probe() && base.probe() < base.wait());
    }
}
