//! This machine's LAN addresses, ranked by how likely a classmate can reach
//! them.
//!
//! The router hands each laptop its address by DHCP when it joins the Wi-Fi;
//! the operating system lists it among many others (loopback, Docker bridges,
//! VPN tunnels). [`rank`] is a pure function over such a list so that the
//! ordering can be tested on fixed inputs; [`local_candidates`] applies it to
//! the real interfaces.

use std::net::IpAddr;

/// What kind of address this is, in rank order (best first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// 192.168/16, 10/8, 172.16/12: what a classroom router hands out.
    PrivateV4,
    /// Any other IPv4 address (a campus network may use public ranges).
    OtherV4,
    /// A global or unique-local IPv6 address.
    V6,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::PrivateV4 => "private IPv4",
            Kind::OtherV4 => "IPv4",
            Kind::V6 => "IPv6",
        }
    }
}

/// One address a classmate might use to reach this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub interface: String,
    pub ip: IpAddr,
    pub kind: Kind,
    /// Docker, veth, bridges, VPN tunnels: reachable from this machine only,
    /// or through a tunnel, rarely by the person at the next desk.
    pub is_virtual: bool,
}

/// Interface name prefixes of virtual interfaces.
const VIRTUAL_PREFIXES: &[&str] = &[
    "docker",
    "veth",
    "br-",
    "virbr",
    "vmnet",
    "vboxnet",
    "tun",
    "tap",
    "wg",
    "utun",
    "zt",
    "tailscale",
    "lxc",
    "lxd",
    "cni",
    "flannel",
    "cali",
    "podman",
    "vEthernet",
];

/// Whether an interface name looks like a virtual interface.
pub fn is_virtual_interface(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    VIRTUAL_PREFIXES
        .iter()
        .any(|prefix| lower.starts_with(&prefix.to_ascii_lowercase()))
}

/// Classifies one address, or `None` when no classmate could use it
/// (loopback, link-local, unspecified, multicast).
pub fn classify(ip: IpAddr) -> Option<Kind> {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
            {
                None
            } else if v4.is_private() {
                Some(Kind::PrivateV4)
            } else {
                Some(Kind::OtherV4)
            }
        }
        IpAddr::V6(v6) => {
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            if v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || link_local {
                None
            } else {
                Some(Kind::V6)
            }
        }
    }
}

/// Ranks `(interface name, address)` pairs: unusable addresses are dropped;
/// real interfaces come before virtual ones; within each, private IPv4 first,
/// then other IPv4, then IPv6. Ties keep the operating system's order.
pub fn rank(interfaces: &[(String, IpAddr)]) -> Vec<Candidate> {
    let mut candidates: Vec<Candidate> = interfaces
        .iter()
        .filter_map(|(name, ip)| {
            classify(*ip).map(|kind| Candidate {
                interface: name.clone(),
                ip: *ip,
                kind,
                is_virtual: is_virtual_interface(name),
            })
        })
        .collect();
    // A stable sort keeps the OS order among equals.
    candidates.sort_by_key(|c| (c.is_virtual, c.kind));
    candidates
}

/// The interfaces of this machine, as `(name, address)` pairs. An error
/// listing them (rare) is treated as "no interfaces".
pub fn local_interfaces() -> Vec<(String, IpAddr)> {
    get_if_addrs::get_if_addrs()
        .map(|list| list.into_iter().map(|i| (i.name.clone(), i.ip())).collect())
        .unwrap_or_default()
}

/// This machine's addresses, ranked best first.
pub fn local_candidates() -> Vec<Candidate> {
    rank(&local_interfaces())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: &[(&str, &str)]) -> Vec<(String, IpAddr)> {
        pairs
            .iter()
            .map(|(n, ip)| (n.to_string(), ip.parse().unwrap()))
            .collect()
    }

    fn ips(c: &[Candidate]) -> Vec<String> {
        c.iter().map(|c| c.ip.to_string()).collect()
    }

    #[test]
    fn only_loopback_gives_nothing() {
        assert!(rank(&list(&[("lo", "127.0.0.1"), ("lo", "::1")])).is_empty());
    }

    #[test]
    fn wifi_ranks_above_docker_bridge() {
        let ranked = rank(&list(&[
            ("docker0", "172.17.0.1"),
            ("lo", "127.0.0.1"),
            ("wlan0", "192.168.1.23"),
        ]));
        assert_eq!(ips(&ranked), ["192.168.1.23", "172.17.0.1"]);
        assert!(!ranked[0].is_virtual);
        assert!(ranked[1].is_virtual);
    }

    #[test]
    fn two_private_networks_keep_os_order() {
        let ranked = rank(&list(&[("eth0", "10.0.0.5"), ("wlan0", "192.168.0.7")]));
        assert_eq!(ips(&ranked), ["10.0.0.5", "192.168.0.7"]);
    }

    #[test]
    fn private_before_public_before_v6() {
        let ranked = rank(&list(&[
            ("eth0", "2001:db8::5"),
            ("eth1", "198.51.100.4"),
            ("wlan0", "172.20.1.9"),
        ]));
        assert_eq!(ips(&ranked), ["172.20.1.9", "198.51.100.4", "2001:db8::5"]);
    }

    #[test]
    fn ipv6_only_network() {
        let ranked = rank(&list(&[
            ("lo", "::1"),
            ("wlan0", "fe80::1"),
            ("wlan0", "2001:db8::42"),
        ]));
        assert_eq!(ips(&ranked), ["2001:db8::42"]);
        assert_eq!(ranked[0].kind, Kind::V6);
    }

    #[test]
    fn link_local_v4_is_dropped() {
        assert!(rank(&list(&[("eth0", "169.254.3.4")])).is_empty());
    }

    #[test]
    fn vpn_and_veth_are_virtual() {
        for name in ["tun0", "wg0", "veth12ab", "br-5f2", "utun3", "virbr0"] {
            assert!(is_virtual_interface(name), "{name}");
        }
        for name in ["eth0", "wlan0", "en0", "wlp3s0", "Wi-Fi"] {
            assert!(!is_virtual_interface(name), "{name}");
        }
    }
}
