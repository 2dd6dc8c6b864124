//! Who may come in, and how often: the board's defences against a laptop
//! that opens a thousand connections or sends a thousand reports a second.
//! Each address gets a few connections at a time and a pace of reports (a
//! token bucket: a burst, then a steady rate); past either, that address
//! is refused in one line, and everyone else goes on as before. All of it
//! bounded: connections overall, and the addresses remembered.
//!
//! `per_address` (the board's `--per-address`) is how many students may
//! share one address; the limits of an address grow with it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Connections open at once, overall (each holds a thread for a moment).
pub const MAX_CONNECTIONS: usize = 256;

/// Connections open at once from one address, per student it may hold
/// (a connection is let go a moment after its sender closed it)...
const CONNECTIONS_PER_STUDENT: usize = 2;

/// ... and at least this many.
const CONNECTIONS_PER_ADDRESS: usize = 8;

/// Reports one student may send in a burst (`check --all` sends seven).
const BURST_PER_STUDENT: f64 = 10.0;

/// Reports per second one student may keep sending (a grading takes
/// seconds: no honest student comes close).
const RATE_PER_STUDENT: f64 = 0.5;

/// Addresses remembered at most; idle ones are forgotten first.
const MAX_ADDRESSES: usize = 4096;

#[derive(Debug)]
struct Peer {
    open: usize,
    tokens: f64,
    refilled: Instant,
}

#[derive(Debug)]
struct Inner {
    open: usize,
    peers: HashMap<IpAddr, Peer>,
}

/// The limits, shared by the accepting thread and every connection's.
#[derive(Debug, Clone)]
pub struct Gate {
    inner: Arc<Mutex<Inner>>,
    per_address: usize,
}

/// A connection let in; dropping it lets the next one in.
#[derive(Debug)]
pub struct Ticket {
    gate: Gate,
    address: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut inner = self.gate.lock();
        inner.open = inner.open.saturating_sub(1);
        if let Some(peer) = inner.peers.get_mut(&self.address) {
            peer.open = peer.open.saturating_sub(1);
        }
    }
}

impl Gate {
    pub fn new(per_address: usize) -> Gate {
        Gate {
            inner: Arc::new(Mutex::new(Inner {
                open: 0,
                peers: HashMap::new(),
            })),
            per_address: per_address.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn burst(&self) -> f64 {
        BURST_PER_STUDENT * self.per_address as f64
    }

    /// Lets a connection from `address` in, or says why not.
    pub fn admit(&self, address: IpAddr, now: Instant) -> Result<Ticket, String> {
        let burst = self.burst();
        let most_from_one =
            (CONNECTIONS_PER_STUDENT * self.per_address).max(CONNECTIONS_PER_ADDRESS);
        let mut inner = self.lock();
        if inner.open >= MAX_CONNECTIONS {
            return Err("the board is busy: try again in a moment".into());
        }
        if !inner.peers.contains_key(&address) && inner.peers.len() >= MAX_ADDRESSES {
            forget_idle(&mut inner.peers, burst);
            if inner.peers.len() >= MAX_ADDRESSES {
                return Err("the board is busy: try again in a moment".into());
            }
        }
        let peer = inner.peers.entry(address).or_insert(Peer {
            open: 0,
            tokens: burst,
            refilled: now,
        });
        if peer.open >= most_from_one {
            return Err(format!(
                "too many connections from {address} at once ({most_from_one} at most)"
            ));
        }
        peer.open += 1;
        inner.open += 1;
        Ok(Ticket {
            gate: self.clone(),
            address,
        })
    }

    /// Takes one report's worth from `address`'s bucket: `false` when it
    /// is empty (it refills at a steady rate).
    pub fn spend(&self, address: IpAddr, now: Instant) -> bool {
        let burst = self.burst();
        let rate = RATE_PER_STUDENT * self.per_address as f64;
        let mut inner = self.lock();
        let Some(peer) = inner.peers.get_mut(&address) else {
            return false;
        };
        let elapsed = now.saturating_duration_since(peer.refilled).as_secs_f64();
        peer.tokens = (peer.tokens + elapsed * rate).min(burst);
        peer.refilled = now;
        if peer.tokens >= 1.0 {
            peer.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until `address` may report again, roughly.
    pub fn wait_hint(&self) -> Duration {
        Duration::from_secs_f64(1.0 / (RATE_PER_STUDENT * self.per_address as f64))
    }

    /// Connections open now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.lock().open
    }
}

/// Forgets addresses with nothing open whose bucket has refilled: they
/// would start afresh anyway.
fn forget_idle(peers: &mut HashMap<IpAddr, Peer>, burst: f64) {
    peers.retain(|_, peer| peer.open > 0 || peer.tokens < burst);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn an_address_holds_a_few_connections_and_others_are_unaffected() {
        let gate = Gate::new(1);
        let now = Instant::now();
        let held: Vec<Ticket> = (0..CONNECTIONS_PER_ADDRESS)
            .map(|_| gate.admit(ip(1), now).unwrap())
            .collect();
        let refused = gate.admit(ip(1), now).unwrap_err();
        assert!(refused.contains("too many connections"), "{refused}");
        assert!(gate.admit(ip(2), now).is_ok(), "another address comes in");
        drop(held);
        assert_eq!(gate.open(), 0);
        assert!(gate.admit(ip(1), now).is_ok(), "room again once they close");
    }

    #[test]
    fn connections_overall_are_bounded() {
        let gate = Gate::new(1000);
        let now = Instant::now();
        let held: Vec<Ticket> = (0..MAX_CONNECTIONS)
            .map(|i| {
                gate.admit(IpAddr::from([10, 0, (i / 200) as u8, (i % 200) as u8]), now)
                    .unwrap()
            })
            .collect();
        assert!(gate.admit(ip(250), now).unwrap_err().contains("busy"));
        drop(held);
        assert!(gate.admit(ip(250), now).is_ok());
    }

    #[test]
    fn a_flood_of_reports_is_paced_and_others_keep_their_pace() {
        let gate = Gate::new(1);
        let t0 = Instant::now();
        let _a = gate.admit(ip(1), t0).unwrap();
        let _b = gate.admit(ip(2), t0).unwrap();
        let allowed = (0..1000).filter(|_| gate.spend(ip(1), t0)).count();
        assert_eq!(allowed, BURST_PER_STUDENT as usize);
        assert!(gate.spend(ip(2), t0), "the flooder's bucket is its own");
        // Two seconds later, one more (0.5 a second).
        assert!(gate.spend(ip(1), t0 + Duration::from_secs(2)));
        assert!(!gate.spend(ip(1), t0 + Duration::from_secs(2)));
    }

    #[test]
    fn addresses_remembered_are_bounded() {
        let gate = Gate::new(1);
        let now = Instant::now();
        for i in 0..MAX_ADDRESSES + 10 {
            let address = IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
            drop(gate.admit(address, now).unwrap());
        }
        assert!(gate.lock().peers.len() <= MAX_ADDRESSES);
    }
}
