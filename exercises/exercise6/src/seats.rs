//! Seats: how many connections the server takes, in all and from one address.
//!
//! Every connection costs two threads and a file descriptor, so there is a
//! bound for the whole room (`--max-clients`). Alone, it lets one laptop
//! take every seat with a loop of `nc`: so there is a bound per address too
//! (`--max-per-host`, 8 by default, plenty for a laptop, a phone and a few
//! terminals). Connections from this machine itself (loopback) are not
//! counted by default: the instructor's demo, the grader and the benchmark
//! open many, and they are no prankster's. `--count-loopback` counts them,
//! for tests.
//!
//! A seat is a value: [`Seats::take`] hands out a [`Seat`], and dropping it
//! gives the place back, also when a client thread panics (drops run while
//! a panic unwinds), so no path can forget to.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// The limits and who holds the seats.
pub struct Seats {
    max_clients: usize,
    max_per_host: usize,
    count_loopback: bool,
    taken: Mutex<Taken>,
}

#[derive(Default)]
struct Taken {
    total: usize,
    /// Seats held per counted address; an address holding none is removed,
    /// so the map never outgrows the room.
    per_host: HashMap<IpAddr, usize>,
}

/// Why a newcomer gets no seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-clients` connections already.
    Full,
    /// `--max-per-host` connections from this address already.
    TooManyFromHost,
}

impl Refusal {
    /// The line the newcomer receives before the connection is closed.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Full => "SERVER: server is full",
            Refusal::TooManyFromHost => "SERVER: too many connections from your address",
        }
    }
}

/// One taken seat, given back when dropped.
pub struct Seat {
    seats: Arc<Seats>,
    /// The address it counts against (`None`: not counted, loopback).
    host: Option<IpAddr>,
}

impl Seats {
    pub fn new(max_clients: usize, max_per_host: usize, count_loopback: bool) -> Arc<Seats> {
        Arc::new(Seats {
            max_clients,
            max_per_host,
            count_loopback,
            taken: Mutex::default(),
        })
    }

    /// A seat for a connection from `peer`, if the limits allow it. Checked
    /// and taken under one lock, so two newcomers cannot both get the last.
    pub fn take(self: &Arc<Self>, peer: IpAddr) -> Result<Seat, Refusal> {
        let host = self.counted_host(peer);
        let mut taken = self.lock();
        if taken.total >= self.max_clients {
            return Err(Refusal::Full);
        }
        if let Some(host) = host {
            let held = taken.per_host.entry(host).or_default();
            if *held >= self.max_per_host {
                return Err(Refusal::TooManyFromHost);
            }
            *held += 1;
        }
        taken.total += 1;
        Ok(Seat {
            seats: Arc::clone(self),
            host,
        })
    }

    /// The address `peer` counts as, or `None` if it is not counted.
    ///
    /// An IPv4 client of a server listening on `::` shows up as an IPv6
    /// address (`::ffff:192.168.1.23`): `to_canonical` turns it back, so it
    /// counts as the same address either way. An IPv6 machine may use many
    /// addresses (privacy extensions make up a new one every day, or on
    /// demand), all in its network's /64: so IPv6 addresses count by their
    /// first 64 bits.
    fn counted_host(&self, peer: IpAddr) -> Option<IpAddr> {
        let peer = peer.to_canonical();
        if peer.is_loopback() && !self.count_loopback {
            return None;
        }
        Some(match peer {
            IpAddr::V4(_) => peer,
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & u128::MAX << 64)),
        })
    }

    /// Takes the lock, also after a thread panicked holding it: every
    /// change under it is a single counter step, so the data is consistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, Taken> {
        self.taken.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut taken = self.seats.lock();
        taken.total -= 1;
        if let Some(host) = self.host {
            if let Some(held) = taken.per_host.get_mut(&host) {
                *held -= 1;
                if *held == 0 {
                    taken.per_host.remove(&host);
                }
            }
        }
    }
}
