//! `cargo xtask myip`: which address classmates type to reach this laptop.
//!
//! The addresses and their ranking come from `classroom::lan`, the same code
//! every server uses for its "classmates connect with" hint, so the two
//! always name the same address. This module only renders the ranked list:
//! for people (aligned, best highlighted, a command to paste), for scripts
//! (`--plain`: the best address alone) and for tools (`--json`).

use std::fmt::Write as _;
use std::process::ExitCode;

use classroom::lan::{self, Candidate, Kind};

use crate::json;
use crate::term::{self, Colour};

/// What a classmate runs to join a chat server on this machine, without the
/// host (chat clients default to the chat port, 65433).
pub const CLIENT_COMMAND: &str = "cargo run -p chat-client --";

// `--help` says in two lines where the address comes from.
#[derive(Debug, clap::Args)]
#[command(
    about = "Show the addresses classmates can use to reach this laptop, best first",
    long_about = "Show the addresses classmates can use to reach this laptop, best first.\n\n\
        The address comes from the network: its router hands one to each laptop (DHCP) as it joins.\n\
        It can change each time you join, so check it again at the start of each session."
)]
pub struct Args {
    /// Print only the best address, nothing else (for scripts); exit status 1
    /// when there is none.
    #[arg(long, conflicts_with = "json")]
    pub plain: bool,
    /// Print every address with its rank, as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let candidates = lan::local_candidates();
    if args.plain {
        return Ok(match render_plain(&candidates) {
            Some(line) => {
                term::say(line);
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("no LAN address (only loopback): run `cargo xtask myip` for why");
                ExitCode::FAILURE
            }
        });
    }
    if args.json {
        term::say_raw(render_json(&candidates));
    } else {
        term::say_raw(render_human(&candidates, term::colour_enabled()));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--plain`: the best address alone, or `None` when there is none.
pub fn render_plain(candidates: &[Candidate]) -> Option<String> {
    candidates.first().map(|best| best.ip.to_string())
}

/// A stable, machine-friendly name for each kind of address.
fn kind_id(kind: Kind) -> &'static str {
    match kind {
        Kind::PrivateV4 => "private-ipv4",
        Kind::OtherV4 => "ipv4",
        Kind::V6 => "ipv6",
    }
}

/// `--json`: an array of `{"rank", "interface", "ip", "kind", "virtual"}`
/// objects, best (rank 1) first, one per line. `virtual` is `null` for a
/// real interface, else what kind of virtual interface it is.
pub fn render_json(candidates: &[Candidate]) -> String {
    let objects: Vec<String> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let virtual_kind = c.virtual_kind().map_or("null".to_string(), json::string);
            format!(
                "  {{\"rank\": {}, \"interface\": {}, \"ip\": {}, \"kind\": {}, \"virtual\": {}}}",
                i + 1,
                json::string(&c.interface),
                json::string(&c.ip.to_string()),
                json::string(kind_id(c.kind)),
                virtual_kind,
            )
        })
        .collect();
    if objects.is_empty() {
        "[]\n".to_string()
    } else {
        format!("[\n{}\n]\n", objects.join(",\n"))
    }
}

/// The full report for a person: every address, the best one marked and
/// highlighted, then the command classmates paste; or, with no address,
/// why and how to practise locally.
pub fn render_human(candidates: &[Candidate], colour: bool) -> String {
    let Some(best) = candidates.first() else {
        return no_address_report(colour);
    };
    let mut out = String::from("This machine's addresses, best first:\n\n");
    let ip_width = column_width(candidates, |c| c.ip.to_string());
    let name_width = column_width(candidates, |c| c.interface.clone());
    for (i, c) in candidates.iter().enumerate() {
        let mut line = format!(
            "{} {:<ip_width$}  {:<name_width$}  {}",
            if i == 0 { "*" } else { " " },
            c.ip.to_string(),
            c.interface,
            c.kind.label(),
        );
        if let Some(what) = c.virtual_kind() {
            let _ = write!(line, ", virtual ({what}): other laptops rarely reach it");
        }
        let line = match (i, c.is_virtual) {
            (0, _) => term::paint(&line, Colour::Green, colour),
            (_, true) => term::paint(&line, Colour::Dim, colour),
            _ => line,
        };
        let _ = writeln!(out, "  {}", line.trim_end());
    }
    let command = format!("{CLIENT_COMMAND} --host {}", best.ip);
    let _ = writeln!(
        out,
        "\nClassmates join your chat server with:\n\n    {}\n",
        term::paint(&command, Colour::Bold, colour)
    );
    if best.ip.is_ipv6() {
        out.push_str(
            "This address is IPv6, but servers listen on IPv4 (0.0.0.0) by default:\n\
             start yours with --host :: so that classmates can reach it.\n",
        );
    }
    if let Some(what) = best.virtual_kind() {
        let _ = writeln!(
            out,
            "Only virtual interfaces have an address ({} is a {what}): join the classroom\n\
             Wi-Fi (or plug in a cable) and run `cargo xtask myip` again.",
            best.interface
        );
    }
    out.push_str("(Loopback and link-local addresses are left out: classmates cannot use them.)\n");
    out
}

fn column_width(candidates: &[Candidate], text: impl Fn(&Candidate) -> String) -> usize {
    candidates
        .iter()
        .map(|c| text(c).chars().count())
        .max()
        .unwrap_or(0)
}

fn no_address_report(colour: bool) -> String {
    let command = format!("{CLIENT_COMMAND} --host 127.0.0.1");
    format!(
        "{}\n\n\
         This machine has only loopback (127.0.0.1), which other laptops cannot reach.\n\
         That happens when Wi-Fi is off or not connected yet, or when the network has not\n\
         handed out an address yet (DHCP). Join the classroom network and run\n\
         `cargo xtask myip` again.\n\n\
         Meanwhile, practise locally: start a server, and in another terminal run\n\n    {}\n",
        term::paint("No LAN address found.", Colour::Yellow, colour),
        term::paint(&command, Colour::Bold, colour),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(pairs: &[(&str, &str)]) -> Vec<Candidate> {
        let list: Vec<_> = pairs
            .iter()
            .map(|(name, ip)| (name.to_string(), ip.parse().unwrap()))
            .collect();
        lan::rank(&list)
    }

    #[test]
    fn human_report_marks_the_best_and_gives_the_command() {
        let out = render_human(
            &ranked(&[
                ("docker0", "172.17.0.1"),
                ("wlan0", "192.168.1.23"),
                ("wlan0", "2001:db8::5"),
            ]),
            false,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[2], "  * 192.168.1.23  wlan0    private IPv4");
        assert_eq!(lines[3], "    2001:db8::5   wlan0    IPv6");
        assert_eq!(
            lines[4],
            "    172.17.0.1    docker0  private IPv4, virtual (Docker bridge): other laptops rarely reach it"
        );
        assert!(out.contains("\n    cargo run -p chat-client -- --host 192.168.1.23\n"));
        assert!(!out.contains("IPv6, but"));
        assert!(!out.contains('\x1b'), "no colour when disabled");
    }

    #[test]
    fn colour_highlights_the_best_line_only_when_enabled() {
        let out = render_human(&ranked(&[("eth0", "10.0.0.2"), ("eth1", "10.0.0.3")]), true);
        assert!(out.contains("\x1b[32m* 10.0.0.2"));
        assert!(out.contains("  10.0.0.3"));
        assert!(!out.contains("\x1b[32m  10.0.0.3"));
    }

    #[test]
    fn ipv6_best_says_to_listen_on_ipv6() {
        let out = render_human(&ranked(&[("wlan0", "2001:db8::42")]), false);
        assert!(out.contains("--host 2001:db8::42\n"));
        assert!(out.contains("start yours with --host ::"));
    }

    #[test]
    fn only_virtual_interfaces_say_to_join_the_network() {
        let out = render_human(&ranked(&[("docker0", "172.17.0.1")]), false);
        assert!(
            out.contains("Only virtual interfaces have an address (docker0 is a Docker bridge)")
        );
    }

    #[test]
    fn no_address_explains_why_and_how_to_practise() {
        let candidates = ranked(&[("lo", "127.0.0.1"), ("lo", "::1")]);
        let out = render_human(&candidates, false);
        assert!(out.starts_with("No LAN address found."));
        assert!(out.contains("Wi-Fi is off"));
        assert!(out.contains("(DHCP)"));
        assert!(out.contains("cargo run -p chat-client -- --host 127.0.0.1\n"));
        assert_eq!(render_plain(&candidates), None);
        assert_eq!(render_json(&candidates), "[]\n");
    }

    #[test]
    fn plain_is_the_first_ranked_address() {
        let candidates = ranked(&[("eth0", "fd00::2"), ("eth0", "192.0.2.2")]);
        assert_eq!(render_plain(&candidates).as_deref(), Some("192.0.2.2"));
    }

    #[test]
    fn json_lists_every_address_with_its_rank() {
        let out = render_json(&ranked(&[("docker0", "172.17.0.1"), ("eth0", "192.0.2.2")]));
        assert_eq!(
            out,
            "[\n  {\"rank\": 1, \"interface\": \"eth0\", \"ip\": \"192.0.2.2\", \"kind\": \"ipv4\", \"virtual\": null},\n  \
             {\"rank\": 2, \"interface\": \"docker0\", \"ip\": \"172.17.0.1\", \"kind\": \"private-ipv4\", \"virtual\": \"Docker bridge\"}\n]\n"
        );
    }
}
