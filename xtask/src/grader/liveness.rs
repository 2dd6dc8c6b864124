//! Whether a server still answers: after a scenario fails by silence, a
//! fresh client (unknown to the scenario, its bytes not in the transcript)
//! tries the simplest exchange the server offers. The answer tells a bug in
//! the idea under test from a server that stopped answering everyone.
//!
//! The probe runs twice if needed: while the scenario's clients are still
//! connected, then once they have all left. A server that answers only the
//! second time was held up by one of them (a lock held while it waited on a
//! client, or one client served at a time); one that answers neither time is
//! deadlocked.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::peer::{Connections, Links, Peer, Wire, encode};
use super::room::Room;
use super::timeouts::Timeouts;
use super::transcript::Log;

/// What kind of server a check talks to, for the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bytes come back to their sender. `one_at_a_time`: serving one
    /// client after the other is correct (exercise 1).
    Echo { one_at_a_time: bool },
    /// A chunk from one client reaches the others, prefixed.
    Relay,
    /// Named clients, notices and messages (lines or frames).
    Chat,
}

/// What the probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Not probed: nothing called for it.
    NotChecked,
    /// A fresh client got an answer at once.
    Answers,
    /// No answer while the scenario's clients were connected; an answer
    /// once they had left.
    AnswersOnceTheyLeft,
    /// No answer even once the scenario's clients had left.
    Silent,
}

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub answered: bool,
    /// The probe clients' addresses and names, to leave the server's lines
    /// about them out of the transcript.
    pub about: Vec<String>,
}

/// Whether a fresh client gets any answer from the server at `addr` within
/// the probe's wait. Its bytes go to a log of its own, not the scenario's.
pub fn answers(kind: Kind, wire: Wire, addr: SocketAddr, timeouts: Timeouts) -> Probe {
    let about = std::sync::Mutex::new(Vec::new());
    let answered = exchange(kind, wire, addr, timeouts, &about);
    let about = about.into_inner().unwrap_or_else(|e| e.into_inner());
    Probe { answered, about }
}

fn exchange(
    kind: Kind,
    wire: Wire,
    addr: SocketAddr,
    timeouts: Timeouts,
    about: &std::sync::Mutex<Vec<String>>,
) -> bool {
    let links = Links {
        log: Log::default(),
        timeouts,
        room: Arc::new(Room::new(false)),
        connections: Arc::new(Connections::default()),
        slow_readers: Arc::default(),
        heard: Arc::default(),
    };
    let connect = |label| {
        let peer = Peer::connect(label, addr, wire, false, links.clone()).ok()?;
        about
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(peer.local_addr().to_string());
        Some(peer)
    };
    let name = || {
        let name = links.room.probe_name();
        about
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        name
    };
    let tries = 3;
    let each = timeouts.probe() / tries;
    let answered = match kind {
        Kind::Echo { .. } => connect("probe").is_some_and(|mut probe| {
            probe.send(b"are you there?\n").is_ok() && probe.wait_for_anything(timeouts.probe())
        }),
        Kind::Relay | Kind::Chat => {
            // Two clients; the listener should hear of the talker: its
            // arrival, or its words. The talker repeats itself, in case the
            // server took the two in the other order. In a chat each starts
            // with its name; a relay's listener says nothing, since a chunk
            // of its own, read late by the server, could reach the next
            // scenario's clients in a shared room.
            let line = |text: String| match wire {
                Wire::Raw => format!("{text}\n").into_bytes(),
                _ => encode(wire, text.as_bytes()),
            };
            let Some(mut listener) = connect("probe") else {
                return false;
            };
            if kind == Kind::Chat && listener.send(&line(name())).is_err() {
                return false;
            }
            let Some(mut talker) = connect("probe") else {
                return false;
            };
            let answered = talker.send(&line(name())).is_ok()
                && (0..tries).any(|_| {
                    let answered = listener.wait_for_anything(each);
                    if !answered {
                        let _ = talker.send(&line("are you there?".into()));
                    }
                    answered
                });
            // Leave one after the other, the talker first, as a careful
            // visitor would: two departures at once are what deadlocks a
            // server whose failed writes take the lock twice, and the
            // probe must not be what breaks it. In a chat the listener
            // hears the talker leave; a relay says nothing.
            talker.close();
            if answered && kind == Kind::Chat {
                listener.wait_for_anything(each);
            }
            answered
        }
    };
    links.connections.close_all();
    answered
}

/// The liveness after a probe while the scenario's clients were connected
/// (`during`, if one was made) and one after they left (`after`).
pub fn judge(during: Option<bool>, after: Option<bool>) -> Liveness {
    match (during, after) {
        (Some(true), _) => Liveness::Answers,
        (Some(false), Some(true)) => Liveness::AnswersOnceTheyLeft,
        (None, Some(true)) => Liveness::Answers,
        (_, Some(false)) => Liveness::Silent,
        (Some(false), None) | (None, None) => Liveness::NotChecked,
    }
}

/// How long a server given with `--addr` is left to handle the departure
/// of a scenario's clients before the probe checks that it survived it (a
/// deadlock on a failed write to a departed client takes a moment to happen).
pub fn after_departures(timeouts: Timeouts) -> Duration {
    timeouts.silence()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    #[test]
    fn the_verdict_follows_both_probes() {
        assert_eq!(judge(Some(true), None), Liveness::Answers);
        assert_eq!(
            judge(Some(false), Some(true)),
            Liveness::AnswersOnceTheyLeft
        );
        assert_eq!(judge(Some(false), Some(false)), Liveness::Silent);
        assert_eq!(judge(None, Some(false)), Liveness::Silent);
        assert_eq!(judge(None, Some(true)), Liveness::Answers);
        assert_eq!(judge(None, None), Liveness::NotChecked);
    }

    #[test]
    fn an_echo_answers_and_a_mute_server_does_not() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let echo = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buffer = [0; 64];
            let n = stream.read(&mut buffer).unwrap();
            stream.write_all(&buffer[..n]).unwrap();
        });
        let quick = Timeouts::new(Duration::from_millis(500));
        let kind = Kind::Echo {
            one_at_a_time: false,
        };
        assert!(answers(kind, Wire::Raw, addr, quick).answered);
        echo.join().unwrap();

        // Accepts (the backlog does), never answers.
        let mute = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = mute.local_addr().unwrap();
        let probe = answers(kind, Wire::Raw, addr, quick);
        assert!(!probe.answered);
        assert_eq!(probe.about.len(), 1);
        assert!(!answers(Kind::Chat, Wire::Lines, addr, quick).answered);
        drop(mute);
    }
}
