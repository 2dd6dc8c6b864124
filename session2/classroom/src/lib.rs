//! The small library every server of the course shares.
//!
//! Each step in `session2/` stands alone, except for what a server says when
//! it starts. That part is the same everywhere and is not the lesson, so it
//! lives here:
//!
//! * [`announce`] prints the `listening on IP:PORT` line (tests and the grader
//!   read it) and then tells a human which address classmates should type;
//! * [`lan`] finds and ranks this machine's LAN addresses (also behind
//!   `cargo xtask myip`);
//! * [`timestamp`] stamps the servers' log lines.

pub mod lan;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{SystemTime, UNIX_EPOCH};

/// Prints the `listening on IP:PORT` line with the port really bound (so
/// `--port 0` is usable), then a hint for humans on how classmates connect.
///
/// `client_command` is what a classmate runs, without host and port, for
/// example `cargo run -p chat-client --`.
pub fn announce(listener: &TcpListener, client_command: &str) -> io::Result<SocketAddr> {
    let bound = listener.local_addr()?;
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {bound}")?;
    for line in connect_hint(bound, client_command, &lan::local_candidates()) {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(bound)
}

/// The lines that tell a human where classmates should connect, given the
/// address the server is bound to and this machine's ranked LAN addresses.
/// A pure function so it can be tested on fixed inputs.
pub fn connect_hint(
    bound: SocketAddr,
    client_command: &str,
    candidates: &[lan::Candidate],
) -> Vec<String> {
    let port = bound.port();
    let on_this_machine = format!("{client_command} --host 127.0.0.1 --port {port}");
    if bound.ip().is_loopback() {
        return vec![
            format!("  only this machine can connect: {on_this_machine}"),
            "  classmates cannot reach 127.0.0.1; restart with --host 0.0.0.0 to let them in"
                .to_string(),
        ];
    }
    let bound_ip = bound.ip();
    if !bound_ip.is_unspecified() {
        // Bound to one address: that one, and only that one, works.
        return vec![
            format!("  classmates connect with: {client_command} --host {bound_ip} --port {port}"),
            format!(
                "  this server listens on {bound_ip} only: use that address on this machine too"
            ),
        ];
    }
    // 0.0.0.0 accepts on every IPv4 address, `::` on every address. The
    // suggestion is the best ranked address, the one `cargo xtask myip`
    // puts first, so the two always agree.
    let Some(best) = candidates.first() else {
        return vec![
            format!("  no LAN address found (Wi-Fi off?): practise locally with {on_this_machine}"),
            "  run `cargo xtask myip` once you are on the network".to_string(),
        ];
    };
    if bound_ip.is_ipv4() && best.ip.is_ipv6() {
        return vec![
            format!(
                "  this machine's LAN address is IPv6 ({}), but the server listens on IPv4 only",
                best.ip
            ),
            "  restart with --host :: to let classmates in".to_string(),
            format!("  on this machine:         {on_this_machine}"),
        ];
    }
    let mut lines = vec![format!(
        "  classmates connect with: {client_command} --host {} --port {port}",
        best.ip
    )];
    if let Some(what) = best.virtual_kind() {
        lines.push(format!(
            "  ({} is a {what}: classmates may not reach it; see `cargo xtask myip`)",
            best.interface
        ));
    }
    lines.push(format!("  on this machine:         {on_this_machine}"));
    lines
}

/// Wall-clock time of day as `HH:MM:SS` (UTC), for log lines. The standard
/// library has no time zones; UTC keeps the course free of extra crates.
pub fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// Prints one timestamped log line on stdout: `[12:04:31] text`.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        println!("[{}] {}", $crate::timestamp(), format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use lan::{Candidate, Kind};

    fn wifi() -> Candidate {
        Candidate {
            interface: "wlan0".into(),
            ip: "192.168.1.23".parse().unwrap(),
            kind: Kind::PrivateV4,
            is_virtual: false,
        }
    }

    #[test]
    fn unspecified_bind_suggests_the_best_lan_address() {
        let lines = connect_hint(
            "0.0.0.0:65433".parse().unwrap(),
            "cargo run -p chat-client --",
            &[wifi()],
        );
        assert_eq!(
            lines[0],
            "  classmates connect with: cargo run -p chat-client -- --host 192.168.1.23 --port 65433"
        );
    }

    fn candidate(interface: &str, ip: &str, kind: Kind) -> Candidate {
        Candidate {
            interface: interface.into(),
            ip: ip.parse().unwrap(),
            kind,
            is_virtual: lan::is_virtual_interface(interface),
        }
    }

    #[test]
    fn the_suggestion_is_the_first_ranked_address() {
        // What `cargo xtask myip --plain` prints is `candidates[0]`; a
        // server on 0.0.0.0 must tell the same address.
        let ranked = lan::rank(&[
            ("eth0".to_string(), "fd00::2".parse().unwrap()),
            ("eth0".to_string(), "192.0.2.2".parse().unwrap()),
        ]);
        let lines = connect_hint("0.0.0.0:65433".parse().unwrap(), "c --", &ranked);
        assert_eq!(
            lines[0],
            format!(
                "  classmates connect with: c -- --host {} --port 65433",
                ranked[0].ip
            )
        );
        assert_eq!(ranked[0].ip.to_string(), "192.0.2.2");
    }

    #[test]
    fn ipv6_only_lan_on_an_ipv4_bind_says_to_listen_on_ipv6() {
        let lines = connect_hint(
            "0.0.0.0:65433".parse().unwrap(),
            "c --",
            &[candidate("wlan0", "2001:db8::42", Kind::V6)],
        );
        assert!(lines[0].contains("IPv6 (2001:db8::42)"), "{lines:?}");
        assert!(lines[1].contains("--host ::"), "{lines:?}");
        let lines = connect_hint(
            "[::]:65433".parse().unwrap(),
            "c --",
            &[candidate("wlan0", "2001:db8::42", Kind::V6)],
        );
        assert_eq!(
            lines[0],
            "  classmates connect with: c -- --host 2001:db8::42 --port 65433"
        );
    }

    #[test]
    fn a_virtual_best_address_is_flagged() {
        let lines = connect_hint(
            "0.0.0.0:7".parse().unwrap(),
            "c --",
            &[candidate("docker0", "172.17.0.1", Kind::PrivateV4)],
        );
        assert!(lines[0].ends_with("--host 172.17.0.1 --port 7"));
        assert!(lines[1].contains("docker0 is a Docker bridge"), "{lines:?}");
    }

    #[test]
    fn a_specific_bind_suggests_that_address() {
        let lines = connect_hint("192.168.1.23:7".parse().unwrap(), "c --", &[]);
        assert_eq!(
            lines[0],
            "  classmates connect with: c -- --host 192.168.1.23 --port 7"
        );
    }

    #[test]
    fn loopback_bind_warns_that_classmates_cannot_connect() {
        let lines = connect_hint("127.0.0.1:4000".parse().unwrap(), "x", &[wifi()]);
        assert!(lines.iter().any(|l| l.contains("classmates cannot reach")));
        assert!(lines.iter().any(|l| l.contains("--host 0.0.0.0")));
    }

    #[test]
    fn no_lan_address_says_how_to_practise_locally() {
        let lines = connect_hint("0.0.0.0:1".parse().unwrap(), "x", &[]);
        assert!(lines[0].contains("no LAN address"));
        assert!(lines[0].contains("--host 127.0.0.1 --port 1"));
    }

    #[test]
    fn timestamp_has_clock_shape() {
        let t = timestamp();
        assert_eq!(t.len(), 8);
        assert_eq!(t.as_bytes()[2], b':');
        assert_eq!(t.as_bytes()[5], b':');
    }
}
