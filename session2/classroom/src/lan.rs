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

/// How virtual interfaces are recognised, by name: (pattern, what it is).
/// A pattern ending in `*` is a prefix, any other is matched anywhere in the
/// name; both ignore case; the first match wins. Linux and macOS name
/// interfaces after their driver (`docker0`, `utun3`); Windows by the
/// adapter's friendly name, as its network settings show it (`Wi-Fi`,
/// `vEthernet (WSL)`, `VirtualBox Host-Only Network`).
const VIRTUAL_PATTERNS: &[(&str, &str)] = &[
    // Before `veth*`, which would also match it.
    ("vEthernet", "Hyper-V or WSL switch"),
    // Windows: the virtual adapters of Wi-Fi Direct and the mobile hotspot
    // are `Local Area Connection* 2`; a real one has no star.
    ("Connection* ", "Wi-Fi Direct or hotspot adapter"),
    ("Bluetooth", "Bluetooth network"),
    ("docker*", "Docker bridge"),
    ("br-*", "Docker bridge"),
    ("podman*", "Podman bridge"),
    ("cni*", "container network"),
    ("flannel*", "container network"),
    ("cali*", "container network"),
    ("kube*", "container network"),
    ("lxc*", "container bridge"),
    ("lxd*", "container bridge"),
    ("veth*", "container link"),
    ("virbr*", "virtual machine bridge"),
    ("vmnet*", "VMware network"),
    ("vboxnet*", "VirtualBox network"),
    ("vnic*", "virtual machine network"),
    ("bridge*", "bridge (Internet Sharing or a VM)"),
    ("VirtualBox", "VirtualBox network"),
    ("VMware", "VMware network"),
    ("tailscale*", "VPN tunnel (Tailscale)"),
    ("zt*", "VPN tunnel (ZeroTier)"),
    ("wg*", "VPN tunnel (WireGuard)"),
    ("nordlynx*", "VPN tunnel (NordVPN)"),
    ("utun*", "VPN tunnel"),
    ("tun*", "VPN tunnel"),
    ("tap*", "VPN tunnel"),
    ("ppp*", "VPN or dial-up tunnel"),
    ("ipsec*", "VPN tunnel"),
    ("gpd*", "VPN tunnel (GlobalProtect)"),
    ("cscotun*", "VPN tunnel (Cisco)"),
    // Windows names of the same tunnels.
    ("ZeroTier", "VPN tunnel (ZeroTier)"),
    ("TAP-Windows", "VPN tunnel (OpenVPN)"),
    ("OpenVPN", "VPN tunnel (OpenVPN)"),
    ("WireGuard", "VPN tunnel (WireGuard)"),
    ("VPN", "VPN tunnel"),
];

/// What kind of virtual interface `name` is (`"Docker bridge"`, `"VPN
/// tunnel"`...), or `None` for what looks like a real network card.
pub fn virtual_kind(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    VIRTUAL_PATTERNS.iter().find_map(|(pattern, what)| {
        let pattern = pattern.to_ascii_lowercase();
        let found = match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name.contains(&pattern),
        };
        found.then_some(*what)
    })
}

/// Whether an interface name looks like a virtual interface.
pub fn is_virtual_interface(name: &str) -> bool {
    virtual_kind(name).is_some()
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

/// Among private IPv4 ranges, which one a classroom network most likely
/// uses (lower is likelier). Wi-Fi routers hand out 192.168/16, campus
/// networks 10/8; 172.16/12 comes last because Docker, WSL 2 and Hyper-V
/// put their internal networks there, sometimes on an ordinary-looking
/// interface name (inside WSL 2, `eth0` is such a network).
fn private_preference(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(v4) => match v4.octets() {
            [192, 168, ..] => 0,
            [10, ..] => 1,
            _ => 2,
        },
        IpAddr::V6(_) => 0,
    }
}

impl Candidate {
    /// What kind of virtual interface this is (`"Docker bridge"`...), or
    /// `None` for a real network card.
    pub fn virtual_kind(&self) -> Option<&'static str> {
        virtual_kind(&self.interface)
    }
}

/// Ranks `(interface name, address)` pairs: unusable addresses are dropped;
/// real interfaces come before virtual ones; within each, private IPv4 first
/// (192.168/16, then 10/8, then 172.16/12), then other IPv4, then IPv6.
/// Ties keep the operating system's order.
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
    candidates.sort_by_key(|c| (c.is_virtual, c.kind, private_preference(c.ip)));
    candidates
}

/// The interfaces of this machine, as `(name, address)` pairs. An error
/// listing them (rare) is treated as "no interfaces".
pub fn local_interfaces() -> Vec<(String, IpAddr)> {
    if_addrs::get_if_addrs()
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
    fn ten_and_192_168_rank_192_168_first_whatever_the_os_order() {
        let ranked = rank(&list(&[("eth0", "10.0.0.5"), ("wlan0", "192.168.0.7")]));
        assert_eq!(ips(&ranked), ["192.168.0.7", "10.0.0.5"]);
        let ranked = rank(&list(&[("wlan0", "192.168.0.7"), ("eth0", "10.0.0.5")]));
        assert_eq!(ips(&ranked), ["192.168.0.7", "10.0.0.5"]);
    }

    #[test]
    fn private_ranges_in_classroom_order() {
        let ranked = rank(&list(&[
            ("eth0", "172.20.0.3"),
            ("eth1", "10.1.2.3"),
            ("wlan0", "192.168.4.5"),
        ]));
        assert_eq!(ips(&ranked), ["192.168.4.5", "10.1.2.3", "172.20.0.3"]);
    }

    #[test]
    fn equal_addresses_keep_os_order() {
        let ranked = rank(&list(&[("eth0", "10.0.0.5"), ("wlan0", "10.9.9.9")]));
        assert_eq!(ips(&ranked), ["10.0.0.5", "10.9.9.9"]);
    }

    #[test]
    fn this_test_machine_shape_puts_ipv4_first() {
        // eth0 with a TEST-NET address and a unique-local IPv6 address, as on
        // the machine the course is developed on.
        let ranked = rank(&list(&[
            ("lo", "127.0.0.1"),
            ("eth0", "fd00::2"),
            ("eth0", "192.0.2.2"),
            ("eth0", "fe80::fc:ff:fe00:1"),
        ]));
        assert_eq!(ips(&ranked), ["192.0.2.2", "fd00::2"]);
        assert_eq!(ranked[0].kind, Kind::OtherV4);
        assert_eq!(ranked[0].interface, "eth0");
    }

    #[test]
    fn virtual_ipv4_ranks_below_real_ipv6() {
        let ranked = rank(&list(&[
            ("docker0", "172.17.0.1"),
            ("wlan0", "2001:db8::7"),
        ]));
        assert_eq!(ips(&ranked), ["2001:db8::7", "172.17.0.1"]);
    }

    #[test]
    fn virtual_interfaces_are_labelled() {
        let ranked = rank(&list(&[
            ("tun0", "10.8.0.2"),
            ("docker0", "172.17.0.1"),
            ("wlan0", "192.168.1.23"),
        ]));
        let labels: Vec<Option<&str>> = ranked.iter().map(Candidate::virtual_kind).collect();
        assert_eq!(labels, [None, Some("VPN tunnel"), Some("Docker bridge")]);
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
        assert_eq!(
            virtual_kind("vEthernet (WSL)"),
            Some("Hyper-V or WSL switch")
        );
        assert_eq!(virtual_kind("Docker0"), Some("Docker bridge"));
        // Windows friendly names.
        for (name, what) in [
            ("vEthernet (Default Switch)", "Hyper-V or WSL switch"),
            (
                "Local Area Connection* 10",
                "Wi-Fi Direct or hotspot adapter",
            ),
            ("VirtualBox Host-Only Network", "VirtualBox network"),
            ("VMware Network Adapter VMnet8", "VMware network"),
            ("Tailscale", "VPN tunnel (Tailscale)"),
            ("ZeroTier One [8056c2e21c000001]", "VPN tunnel (ZeroTier)"),
            ("OpenVPN Data Channel Offload", "VPN tunnel (OpenVPN)"),
            ("ProtonVPN", "VPN tunnel"),
            ("Bluetooth Network Connection", "Bluetooth network"),
        ] {
            assert_eq!(virtual_kind(name), Some(what), "{name}");
        }
        for name in [
            "eth0",
            "wlan0",
            "en0",
            "wlp3s0",
            "Wi-Fi",
            "enp0s31f6",
            "br0",
            "Ethernet 2",
            "Local Area Connection",
        ] {
            assert!(!is_virtual_interface(name), "{name}");
        }
    }
}
