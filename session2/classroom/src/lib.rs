//! The small library every server of the course shares.
//!
//! Each step in `session2/` stands alone, except for what a server says when
//! it starts. That part is the same everywhere and is not the lesson, so it
//! lives here:
//!
//! * [`announce`] prints the `listening on IP:PORT` line (tests and the grader
//!   read it) and then tells a human which address classmates should type;
//! * [`cannot_listen`] explains, in one line and a hint, why a server could
//!   not claim its port (another server holds it, most often), and stops;
//! * [`lan`] finds and ranks this machine's LAN addresses (also behind
//!   `cargo xtask myip`);
//! * [`timestamp`] stamps the servers' log lines.

pub mod lan;

use std::io::{self, ErrorKind, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::{SystemTime, UNIX_EPOCH};

/// Prints the `listening on IP:PORT` line with the port really bound (so
/// `--port 0` is usable), then a hint for humans on how classmates connect.
///
/// `client_command` is what a classmate runs, without host and port, for
/// example `cargo run -p chat-client --`.
pub fn announce(listener: &TcpListener, client_command: &str) -> io::Result<SocketAddr> {
    let (bound, _) = announce_with(listener, &host_and_port(client_command))?;
    Ok(bound)
}

/// [`announce`] for a server whose clients are not told `--host` and
/// `--port` (the class board: `cargo xtask share HOST:PORT`): `command`
/// writes what to run to reach a host and port. Returns the hint lines too,
/// for a screen that is redrawn.
pub fn announce_with(
    listener: &TcpListener,
    command: &dyn Fn(IpAddr, u16) -> String,
) -> io::Result<(SocketAddr, Vec<String>)> {
    let bound = listener.local_addr()?;
    let hint = connect_hint_with(bound, command, &lan::local_candidates());
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {bound}")?;
    for line in &hint {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok((bound, hint))
}

/// `CLIENT --host HOST --port PORT`: how the course's clients are told.
fn host_and_port(client_command: &str) -> impl Fn(IpAddr, u16) -> String + '_ {
    move |host, port| format!("{client_command} --host {host} --port {port}")
}

/// The lines that tell a human where classmates should connect, given the
/// address the server is bound to and this machine's ranked LAN addresses.
/// A pure function so it can be tested on fixed inputs.
pub fn connect_hint(
    bound: SocketAddr,
    client_command: &str,
    candidates: &[lan::Candidate],
) -> Vec<String> {
    connect_hint_with(bound, &host_and_port(client_command), candidates)
}

/// [`connect_hint`], with `command` writing what to run to reach a host
/// and port.
pub fn connect_hint_with(
    bound: SocketAddr,
    command: &dyn Fn(IpAddr, u16) -> String,
    candidates: &[lan::Candidate],
) -> Vec<String> {
    let port = bound.port();
    let on_this_machine = command(IpAddr::from([127, 0, 0, 1]), port);
    if bound.ip().is_loopback() {
        return vec![format!(
            "  only this machine can connect: {on_this_machine}"
        )];
    }
    let bound_ip = bound.ip();
    if !bound_ip.is_unspecified() {
        // Bound to one address: that one, and only that one, works.
        return vec![
            format!("  classmates connect with: {}", command(bound_ip, port)),
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
        "  classmates connect with: {}",
        command(best.ip, port)
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

/// Prints why the server cannot listen, with a hint, and ends the program
/// with status 1. Every server calls it on a failed `bind`:
///
/// ```text
/// TcpListener::bind(...).with_context(...).unwrap_or_else(classroom::cannot_listen);
/// ```
///
/// Returning the error from `main` instead would print it with `Error: ` in
/// front and, whenever `RUST_BACKTRACE` is set (common on students'
/// machines), a backtrace of forty lines that reads like a crash. (It never
/// returns; the type parameter only lets `unwrap_or_else` take it.)
pub fn cannot_listen<T>(error: anyhow::Error) -> T {
    eprintln!("{}", listen_error_text(&error));
    std::process::exit(1)
}

/// What [`cannot_listen`] prints: the error and its causes on one line,
/// then, when the cause is a common one, a line that says what to do.
pub fn listen_error_text(error: &anyhow::Error) -> String {
    let mut text = format!("error: {error:#}");
    let kind = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<io::Error>())
        .map(io::Error::kind);
    let hint = match kind {
        Some(ErrorKind::AddrInUse) => Some(
            "another server is running on this port (one you started in another terminal?): \
             stop it with Ctrl-C, or start this one with --port 0 to get a free port",
        ),
        // Windows answers 10013 for a port inside a range it reserved for
        // Hyper-V, WSL or Docker; Unix refuses ports below 1024.
        Some(ErrorKind::PermissionDenied) if cfg!(windows) => Some(
            "Windows reserves some ports (Hyper-V, WSL, Docker); \
             `netsh interface ipv4 show excludedportrange protocol=tcp` lists them: \
             pick a port outside those ranges, or use --port 0",
        ),
        Some(ErrorKind::PermissionDenied) => {
            Some("ports below 1024 need administrator rights: pick a higher one, or use --port 0")
        }
        Some(ErrorKind::AddrNotAvailable) => Some(
            "this machine has no such address: leave out --host to listen on all of them, \
             or see `cargo xtask myip`",
        ),
        _ => None,
    };
    if let Some(hint) = hint {
        text.push_str("\n  ");
        text.push_str(hint);
    }
    text
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
    fn loopback_bind_says_only_this_machine_can_connect() {
        let lines = connect_hint("127.0.0.1:4000".parse().unwrap(), "x", &[wifi()]);
        assert_eq!(
            lines,
            ["  only this machine can connect: x --host 127.0.0.1 --port 4000"]
        );
    }

    fn bind_error(kind: ErrorKind) -> anyhow::Error {
        anyhow::Error::new(io::Error::from(kind)).context("cannot listen on 0.0.0.0:65433")
    }

    #[test]
    fn a_taken_port_is_one_line_and_a_hint() {
        let text = listen_error_text(&bind_error(ErrorKind::AddrInUse));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("error: cannot listen on 0.0.0.0:65433: "),
            "{text}"
        );
        assert!(lines[1].contains("another server is running"), "{text}");
        assert!(lines[1].contains("--port 0"), "{text}");
    }

    #[test]
    fn other_bind_errors_get_their_own_hint_or_none() {
        let denied = listen_error_text(&bind_error(ErrorKind::PermissionDenied));
        if cfg!(windows) {
            assert!(denied.contains("excludedportrange"), "{denied}");
        } else {
            assert!(denied.contains("below 1024"), "{denied}");
        }
        let missing = listen_error_text(&bind_error(ErrorKind::AddrNotAvailable));
        assert!(missing.contains("leave out --host"), "{missing}");
        let other = listen_error_text(&bind_error(ErrorKind::InvalidInput));
        assert_eq!(other.lines().count(), 1, "{other}");
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
