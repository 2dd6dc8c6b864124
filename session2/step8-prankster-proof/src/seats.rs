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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn one_address_gets_at_most_max_per_host_seats() {
        let seats = Seats::new(100, 2, false);
        let a1 = seats.take(ip("192.168.1.10")).unwrap();
        let _a2 = seats.take(ip("192.168.1.10")).unwrap();
        assert_eq!(
            seats.take(ip("192.168.1.10")).err(),
            Some(Refusal::TooManyFromHost)
        );
        // The same address over IPv6 (a server on `::`) counts the same.
        assert_eq!(
            seats.take(ip("::ffff:192.168.1.10")).err(),
            Some(Refusal::TooManyFromHost)
        );
        // Others are not affected; a seat given back can be taken again.
        let _b = seats.take(ip("192.168.1.11")).unwrap();
        drop(a1);
        let _a3 = seats.take(ip("192.168.1.10")).unwrap();
    }

    #[test]
    fn ipv6_addresses_count_by_their_network() {
        let seats = Seats::new(100, 1, false);
        let _first = seats.take(ip("2001:db8:1:2::10")).unwrap();
        assert_eq!(
            seats.take(ip("2001:db8:1:2:abcd::99")).err(),
            Some(Refusal::TooManyFromHost)
        );
        let _other_network = seats.take(ip("2001:db8:1:3::10")).unwrap();
    }

    #[test]
    fn loopback_is_not_counted_unless_asked() {
        let seats = Seats::new(100, 1, false);
        let many: Vec<Seat> = (0..10)
            .map(|_| seats.take(ip("127.0.0.1")).unwrap())
            .collect();
        assert_eq!(many.len(), 10);
        let counted = Seats::new(100, 1, true);
        let _one = counted.take(ip("::1")).unwrap();
        assert_eq!(
            counted.take(ip("::1")).err(),
            Some(Refusal::TooManyFromHost)
        );
    }

    #[test]
    fn the_room_has_max_clients_seats_in_all() {
        let seats = Seats::new(2, 8, false);
        let _a = seats.take(ip("10.0.0.1")).unwrap();
        let b = seats.take(ip("127.0.0.1")).unwrap();
        assert_eq!(seats.take(ip("10.0.0.2")).err(), Some(Refusal::Full));
        drop(b);
        let _c = seats.take(ip("10.0.0.2")).unwrap();
        assert_eq!(seats.lock().per_host.len(), 2);
    }
}
