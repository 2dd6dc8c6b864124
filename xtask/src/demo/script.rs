//! The scripted demo: one chat server, three scripted clients (alice, bob,
//! carol) that join, talk, rename and leave, and the whole conversation
//! printed in one terminal with a colour per person.
//!
//! The script is data ([`script`]) and what each client must receive follows
//! from the protocol ([`deliveries`], a small model of the room). The demo
//! checks every line it receives against that model, so it doubles as a
//! smoke test: a server that answers wrongly stops the demo with a clear
//! message instead of printing a conversation that did not happen.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::cleanup;
use crate::grader::peer::{Wire, encode};
use crate::grader::server::ServerProcess;
use crate::grader::timeouts::Timeouts;
use crate::grader::transcript::Event;
use crate::term::{self, Colour};

/// What the chat steps speak, as far as the script cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Step 3: raw chunks relayed as `ADDR: bytes`, no names, no notices.
    Relay,
    /// Step 4: lines, nicknames, join/leave notices, goodbyes.
    Lines,
    /// Steps 5, 6 and 8: lines plus `/name` and `/who`.
    Commands,
    /// Step 7: step 6's chat in length-prefixed frames.
    Frames,
}

impl Dialect {
    /// The dialect of chat step `n`, or `None` for a step that is no chat.
    pub fn of_step(n: u8) -> Option<Dialect> {
        match n {
            3 => Some(Dialect::Relay),
            4 => Some(Dialect::Lines),
            5 | 6 | 8 | 9 => Some(Dialect::Commands),
            7 => Some(Dialect::Frames),
            _ => None,
        }
    }

    fn has_names(self) -> bool {
        self != Dialect::Relay
    }

    pub fn wire(self) -> Wire {
        match self {
            Dialect::Frames => Wire::Frames,
            _ => Wire::Lines,
        }
    }
}

/// The three scripted people, in joining order, with their colours.
pub const PEOPLE: [(&str, Colour); 3] = [
    ("alice", Colour::Cyan),
    ("bob", Colour::Magenta),
    ("carol", Colour::Yellow),
];
const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;

/// One step of the script; the `usize` is who acts (an index in [`PEOPLE`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Connects, and sends the nickname where the step has names.
    Join(usize),
    /// Sends one message.
    Say(usize, &'static str),
    /// Sends several lines in one single write.
    Burst(usize, &'static [&'static str]),
    /// `/name NEW`.
    Rename(usize, &'static str),
    /// `/who`.
    Who(usize),
    /// Says goodbye with this word, gets `DONE`, is closed.
    Leave(usize, &'static str),
    /// Closes the connection without a word.
    Close(usize),
    /// A line of explanation for the audience.
    Note(&'static str),
}

/// The conversation for a dialect.
pub fn script(dialect: Dialect) -> Vec<Act> {
    use Act::*;
    let mut acts = vec![
        Join(ALICE),
        Join(BOB),
        Join(CAROL),
        Say(ALICE, "hi everyone!"),
        Say(BOB, "hello alice"),
        Say(CAROL, "hey both, carol here"),
    ];
    match dialect {
        Dialect::Relay => acts.extend([
            Note("carol sends two lines in one single write:"),
            Burst(CAROL, &["two lines", "in one write"]),
            Note("step 3 relays raw chunks, so the second line arrives without a sender; step 4 fixes this"),
            Close(CAROL),
            Close(BOB),
            Close(ALICE),
        ]),
        Dialect::Lines => acts.extend([Leave(CAROL, "bye"), Leave(BOB, "EXIT"), Leave(ALICE, "/quit")]),
        Dialect::Commands | Dialect::Frames => acts.extend([
            Rename(BOB, "robert"),
            Who(CAROL),
            Say(BOB, "robert is my full name"),
            Leave(CAROL, "bye"),
            Leave(BOB, "EXIT"),
            Leave(ALICE, "/quit"),
        ]),
    }
    acts
}

/// Who is in the room, as the model sees it.
#[derive(Debug, Clone)]
pub struct Room {
    /// Members in joining order.
    pub members: Vec<usize>,
    /// Current nicknames.
    pub names: Vec<String>,
    /// Each client's address as the server sees it (step 3's prefix).
    pub addrs: Vec<Option<SocketAddr>>,
}

impl Default for Room {
    fn default() -> Self {
        Room {
            members: Vec::new(),
            names: PEOPLE.iter().map(|(name, _)| name.to_string()).collect(),
            addrs: vec![None; PEOPLE.len()],
        }
    }
}

impl Room {
    /// How the server labels what `who` sends: the nickname, or in step 3
    /// the address.
    fn sender(&self, dialect: Dialect, who: usize) -> String {
        if dialect.has_names() {
            self.names[who].clone()
        } else {
            self.addrs[who].map_or_else(|| "?".to_string(), |a| a.to_string())
        }
    }

    fn others(&self, who: usize) -> impl Iterator<Item = usize> + '_ {
        self.members.iter().copied().filter(move |&m| m != who)
    }

    /// Applies `act` once its deliveries are done.
    pub fn apply(&mut self, act: &Act) {
        match act {
            Act::Join(who) => self.members.push(*who),
            Act::Rename(who, new) => self.names[*who] = new.to_string(),
            Act::Leave(who, _) | Act::Close(who) => self.members.retain(|m| m != who),
            _ => {}
        }
    }
}

/// What each client receives after `act`, in order: `(recipient, message)`.
pub fn deliveries(dialect: Dialect, room: &Room, act: &Act) -> Vec<(usize, String)> {
    let to_others = |who: usize, message: String| -> Vec<(usize, String)> {
        room.others(who).map(|m| (m, message.clone())).collect()
    };
    match act {
        Act::Join(who) if dialect.has_names() => to_others(
            *who,
            format!("SERVER: {} has joined the chat.", room.names[*who]),
        ),
        Act::Join(_) | Act::Note(_) => Vec::new(),
        Act::Say(who, text) => to_others(*who, format!("{}: {text}", room.sender(dialect, *who))),
        Act::Burst(who, lines) => {
            let sender = room.sender(dialect, *who);
            let mut out = Vec::new();
            for m in room.others(*who) {
                for (i, line) in lines.iter().enumerate() {
                    // A raw relay prefixes the chunk, not each line in it.
                    let message = if i == 0 || dialect.has_names() {
                        format!("{sender}: {line}")
                    } else {
                        line.to_string()
                    };
                    out.push((m, message));
                }
            }
            out
        }
        Act::Rename(who, new) => {
            let notice = format!("SERVER: {} is now {new}", room.names[*who]);
            room.members.iter().map(|&m| (m, notice.clone())).collect()
        }
        Act::Who(who) => {
            let names: Vec<&str> = room
                .members
                .iter()
                .map(|&m| room.names[m].as_str())
                .collect();
            vec![(*who, format!("SERVER: online: {}", names.join(", ")))]
        }
        Act::Leave(who, _) => {
            let mut out = vec![(*who, "DONE".to_string())];
            out.extend(to_others(
                *who,
                format!("SERVER: {} has left the chat.", room.names[*who]),
            ));
            out
        }
        Act::Close(who) if dialect.has_names() => to_others(
            *who,
            format!("SERVER: {} has left the chat.", room.names[*who]),
        ),
        Act::Close(_) => Vec::new(),
    }
}

/// The longest message the demo accepts from a server (far above anything
/// the script causes), so a runaway server cannot exhaust memory.
const MAX_MESSAGE: usize = 64 * 1024;

/// One scripted client: a TCP connection where every read has a deadline.
struct Chatter {
    stream: TcpStream,
    wire: Wire,
    pending: Vec<u8>,
    wait: Duration,
}

impl Chatter {
    fn connect(addr: SocketAddr, wire: Wire, wait: Duration) -> anyhow::Result<Chatter> {
        let stream = TcpStream::connect_timeout(&addr, wait)
            .with_context(|| format!("cannot connect to the server at {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(wait))?;
        Ok(Chatter {
            stream,
            wire,
            pending: Vec::new(),
            wait,
        })
    }

    fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream
            .write_all(bytes)
            .context("cannot send to the server")
    }

    /// The next message, or `None` when the server closed the connection.
    fn receive(&mut self) -> anyhow::Result<Option<String>> {
        let deadline = Instant::now() + self.wait;
        loop {
            if let Some(message) = self.take_message()? {
                return Ok(Some(message));
            }
            if self.fill(deadline)? == 0 {
                return Ok(None);
            }
        }
    }

    fn take_message(&mut self) -> anyhow::Result<Option<String>> {
        let bytes: Vec<u8> = match self.wire {
            Wire::Frames => {
                let Some(header) = self.pending.first_chunk::<4>() else {
                    return Ok(None);
                };
                let length = u32::from_be_bytes(*header) as usize;
                if length > MAX_MESSAGE {
                    bail!("the server announced a frame of {length} bytes");
                }
                if self.pending.len() < 4 + length {
                    return Ok(None);
                }
                self.pending.drain(..4 + length).skip(4).collect()
            }
            _ => {
                let Some(end) = self.pending.iter().position(|&b| b == b'\n') else {
                    if self.pending.len() > MAX_MESSAGE {
                        bail!("the server sent {MAX_MESSAGE} bytes without a newline");
                    }
                    return Ok(None);
                };
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                line
            }
        };
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Reads once, waiting until `deadline` at most; 0 means the end.
    fn fill(&mut self, deadline: Instant) -> anyhow::Result<usize> {
        let mut chunk = [0u8; 4096];
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                bail!("nothing arrived for {:.1} s", self.wait.as_secs_f64());
            }
            self.stream.set_read_timeout(Some(remaining))?;
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.pending.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    bail!("nothing arrived for {:.1} s", self.wait.as_secs_f64())
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(0),
                Err(e) => return Err(e).context("cannot read from the server"),
            }
        }
    }
}

/// Runs the scripted demo of `step` (package `package`, binary `server`):
/// starts the server on 127.0.0.1 port 0, plays the script with `pace`
/// between acts, prints the conversation to `out`, and stops the server.
pub fn run(
    step: u8,
    package: &str,
    server: &Path,
    pace: Duration,
    colour: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let Some(dialect) = Dialect::of_step(step) else {
        bail!("step {step} is not a chat step");
    };
    let timeouts = Timeouts::default();
    let process = ServerProcess::start(server, &timeouts).map_err(|failure| {
        let (problem, output) = *failure;
        let printed: Vec<String> = output
            .iter()
            .filter_map(|entry| match &entry.event {
                Event::Printed(line) => Some(format!("  | {line}")),
                _ => None,
            })
            .collect();
        anyhow::anyhow!(
            "the {package} server did not start: {}\n{}",
            problem.observed(),
            printed.join("\n")
        )
    })?;
    let addr = process.addr;
    // The server lives in a slot the Ctrl-C handler can empty: dropping a
    // ServerProcess kills the process.
    let slot = Arc::new(Mutex::new(Some(process)));
    let handler_slot = Arc::clone(&slot);
    let _stop_server = cleanup::register(move || {
        drop(
            handler_slot
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
    });

    writeln!(
        out,
        "Step {step} ({package}) listens on {addr}; three scripted clients talk.\n"
    )?;
    let mut room = Room::default();
    let mut chatters: Vec<Option<Chatter>> = PEOPLE.iter().map(|_| None).collect();
    // Wait for the server's "ADDR joined" log line after each join, since
    // no reply tells a client it is in the room (without it, on a busy
    // machine the next client may join first); as long as for any reply,
    // and stop waiting for good if this server does not log that.
    let mut settle = true;
    let acts = script(dialect);
    for (i, act) in acts.iter().enumerate() {
        if i > 0 && !pace.is_zero() {
            std::thread::sleep(pace);
        }
        // Names in a column of 6 (`robert`), padded outside the colour.
        let paint_name = |who: usize, name: &str| {
            let padding = " ".repeat(6usize.saturating_sub(name.chars().count()));
            format!("{}{padding}", term::paint(name, PEOPLE[who].1, colour))
        };
        match act {
            Act::Join(who) => {
                let mut chatter = Chatter::connect(addr, dialect.wire(), timeouts.wait())?;
                let local = chatter.stream.local_addr()?;
                room.addrs[*who] = Some(local);
                let name = room.names[*who].clone();
                if dialect.has_names() {
                    writeln!(out, "{} joins", term::paint(&name, PEOPLE[*who].1, colour))?;
                    chatter.send(&encode(dialect.wire(), name.as_bytes()))?;
                } else {
                    writeln!(
                        out,
                        "{} connects (the server sees {local})",
                        term::paint(&name, PEOPLE[*who].1, colour)
                    )?;
                }
                chatters[*who] = Some(chatter);
                if settle {
                    let deadline = Instant::now() + timeouts.wait();
                    let guard = slot.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(server) = guard.as_ref() {
                        settle = server.wait_for_output(&format!("{local} joined"), deadline);
                    }
                }
            }
            Act::Note(text) => {
                writeln!(
                    out,
                    "{}",
                    term::paint(&format!("  ({text})"), Colour::Dim, colour)
                )?;
            }
            _ => {
                let (who, bytes, shown) = outgoing(dialect, act);
                let name = room.names[who].clone();
                writeln!(out, "{}  >  {shown}", paint_name(who, &name))?;
                let chatter = chatters[who]
                    .as_mut()
                    .context("scripted a client before it joined")?;
                match bytes {
                    Some(bytes) => chatter.send(&bytes)?,
                    // Close: dropping the stream closes the connection.
                    None => chatters[who] = None,
                }
            }
        }
        out.flush()?;
        for (to, expected) in deliveries(dialect, &room, act) {
            let name = room.names[to].clone();
            let chatter = chatters[to]
                .as_mut()
                .context("a delivery to a client that left")?;
            let got = loop {
                let got = chatter
                    .receive()
                    .with_context(|| format!("{name} was waiting for {expected:?}"))?;
                match got {
                    Some(line)
                        if line != expected && announces_an_earlier_member(&room, to, &line) => {}
                    got => break got,
                }
            };
            match got {
                Some(got) if got == expected => {
                    writeln!(out, "    {}  <  {got}", paint_name(to, &name))?;
                }
                Some(got) => bail!(
                    "{name} expected {expected:?} but received {got:?}: this server does not \
                     speak step {step}'s protocol (see session2/PROTOCOL.md)"
                ),
                None => {
                    bail!("the server closed {name}'s connection; {name} expected {expected:?}")
                }
            }
            out.flush()?;
        }
        if let Act::Leave(who, _) = act {
            let name = room.names[*who].clone();
            let chatter = chatters[*who].as_mut().context("a client left twice")?;
            if let Some(extra) = chatter.receive()? {
                bail!("after DONE, {name} expected the server to close, but received {extra:?}");
            }
            chatters[*who] = None;
        }
        room.apply(act);
    }
    writeln!(out, "\nEveryone left; the server is stopped.")?;
    writeln!(
        out,
        "Try it yourself: `cargo run -p {package}`, then in two more terminals \
         `cargo run -p chat-client -- --name YOU{}`.",
        if dialect == Dialect::Frames {
            " --framing length-prefix"
        } else {
            ""
        }
    )?;
    Ok(())
}

/// What the acting client sends for `act`: who, the bytes (`None` to
/// close the connection), and how the demo shows it.
fn outgoing(dialect: Dialect, act: &Act) -> (usize, Option<Vec<u8>>, String) {
    let wire = dialect.wire();
    let message = |text: &str| Some(encode(wire, text.as_bytes()));
    match act {
        Act::Say(who, text) => (*who, message(text), text.to_string()),
        Act::Burst(who, lines) => {
            let bytes: Vec<u8> = lines
                .iter()
                .flat_map(|line| encode(wire, line.as_bytes()))
                .collect();
            let shown = format!("{:?}", String::from_utf8_lossy(&bytes));
            (*who, Some(bytes), shown)
        }
        Act::Rename(who, new) => {
            let command = format!("/name {new}");
            (*who, message(&command), command)
        }
        Act::Who(who) => (*who, message("/who"), "/who".to_string()),
        Act::Leave(who, word) => (*who, message(word), word.to_string()),
        Act::Close(who) => (*who, None, "(closes the connection)".to_string()),
        Act::Join(who) => (*who, None, String::new()),
        Act::Note(_) => (0, None, String::new()),
    }
}

/// Whether `line` is the join notice of someone already in the room when
/// `to` joined. Steps 4 to 7 send a join notice after releasing the lock
/// that added its client, so a client who joins a moment later (the script
/// does not wait between joins) may hear it too, although it came first.
fn announces_an_earlier_member(room: &Room, to: usize, line: &str) -> bool {
    let before = match room.members.iter().position(|&m| m == to) {
        Some(joined_at) => &room.members[..joined_at],
        None => &room.members[..],
    };
    before
        .iter()
        .any(|&k| line == format!("SERVER: {} has joined the chat.", room.names[k]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays a script through the model alone, as `(recipient, message)`.
    fn play(dialect: Dialect) -> Vec<(usize, String)> {
        let mut room = Room {
            addrs: vec![
                Some("127.0.0.1:1001".parse().unwrap()),
                Some("127.0.0.1:1002".parse().unwrap()),
                Some("127.0.0.1:1003".parse().unwrap()),
            ],
            ..Room::default()
        };
        let mut all = Vec::new();
        for act in script(dialect) {
            all.extend(deliveries(dialect, &room, &act));
            room.apply(&act);
        }
        assert!(room.members.is_empty(), "everyone leaves in the end");
        all
    }

    #[test]
    fn only_the_join_notice_of_an_earlier_member_may_be_skipped() {
        let mut room = Room::default();
        room.apply(&Act::Join(0));
        let alice = format!("SERVER: {} has joined the chat.", room.names[0]);
        let bob = format!("SERVER: {} has joined the chat.", room.names[1]);
        // Bob, joining: he may hear of alice, who came first.
        assert!(announces_an_earlier_member(&room, 1, &alice));
        room.apply(&Act::Join(1));
        assert!(announces_an_earlier_member(&room, 1, &alice));
        // Alice hears of bob for real; any other line is a real mismatch.
        assert!(!announces_an_earlier_member(&room, 0, &bob));
        assert!(!announces_an_earlier_member(&room, 1, &bob));
        assert!(!announces_an_earlier_member(
            &room,
            1,
            "SERVER: carol has joined the chat."
        ));
        assert!(!announces_an_earlier_member(
            &room,
            1,
            &format!("{}: hi", room.names[0])
        ));
    }

    #[test]
    fn step_4_joins_talks_and_leaves() {
        let got = play(Dialect::Lines);
        let expected: Vec<(usize, String)> = [
            (ALICE, "SERVER: bob has joined the chat."),
            (ALICE, "SERVER: carol has joined the chat."),
            (BOB, "SERVER: carol has joined the chat."),
            (BOB, "alice: hi everyone!"),
            (CAROL, "alice: hi everyone!"),
            (ALICE, "bob: hello alice"),
            (CAROL, "bob: hello alice"),
            (ALICE, "carol: hey both, carol here"),
            (BOB, "carol: hey both, carol here"),
            (CAROL, "DONE"),
            (ALICE, "SERVER: carol has left the chat."),
            (BOB, "SERVER: carol has left the chat."),
            (BOB, "DONE"),
            (ALICE, "SERVER: bob has left the chat."),
            (ALICE, "DONE"),
        ]
        .into_iter()
        .map(|(who, text)| (who, text.to_string()))
        .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn rename_reaches_everyone_and_who_lists_in_joining_order() {
        let got = play(Dialect::Commands);
        let renamed: Vec<usize> = got
            .iter()
            .filter(|(_, m)| m == "SERVER: bob is now robert")
            .map(|(who, _)| *who)
            .collect();
        assert_eq!(renamed, [ALICE, BOB, CAROL]);
        assert!(got.contains(&(CAROL, "SERVER: online: alice, robert, carol".to_string())));
        assert!(got.contains(&(ALICE, "robert: robert is my full name".to_string())));
        assert!(got.contains(&(ALICE, "SERVER: robert has left the chat.".to_string())));
        assert_eq!(play(Dialect::Frames), got, "step 7 says the same in frames");
    }

    #[test]
    fn step_3_relays_with_addresses_and_shows_the_stream_bug() {
        let got = play(Dialect::Relay);
        assert!(
            !got.iter().any(|(_, m)| m.starts_with("SERVER:")),
            "no notices"
        );
        assert!(got.contains(&(BOB, "127.0.0.1:1001: hi everyone!".to_string())));
        let to_alice: Vec<&str> = got
            .iter()
            .filter(|(who, _)| *who == ALICE)
            .map(|(_, m)| m.as_str())
            .collect();
        assert_eq!(
            to_alice,
            [
                "127.0.0.1:1002: hello alice",
                "127.0.0.1:1003: hey both, carol here",
                "127.0.0.1:1003: two lines",
                "in one write",
            ]
        );
    }

    #[test]
    fn the_sender_never_gets_its_own_message() {
        for dialect in [Dialect::Relay, Dialect::Lines, Dialect::Commands] {
            let mut room = Room::default();
            for who in [ALICE, BOB, CAROL] {
                room.apply(&Act::Join(who));
            }
            let got = deliveries(dialect, &room, &Act::Say(BOB, "x"));
            assert_eq!(
                got.iter().map(|(w, _)| *w).collect::<Vec<_>>(),
                [ALICE, CAROL]
            );
        }
    }

    /// A one-connection fake server on loopback that writes `bytes`, in
    /// the given pieces, then closes.
    fn fake_server(pieces: Vec<Vec<u8>>) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            for piece in pieces {
                stream.write_all(&piece).unwrap();
                stream.flush().unwrap();
            }
        });
        addr
    }

    #[test]
    fn chatter_reads_frames_split_anyhow_and_sees_the_close() {
        let mut bytes = encode(Wire::Frames, b"SERVER: bob is now robert");
        bytes.extend(encode(Wire::Frames, b"DONE"));
        // A header split in two, then the rest in one piece.
        let pieces = vec![bytes[..2].to_vec(), bytes[2..].to_vec()];
        let addr = fake_server(pieces);
        let mut chatter = Chatter::connect(addr, Wire::Frames, Duration::from_secs(5)).unwrap();
        assert_eq!(
            chatter.receive().unwrap().as_deref(),
            Some("SERVER: bob is now robert")
        );
        assert_eq!(chatter.receive().unwrap().as_deref(), Some("DONE"));
        assert_eq!(chatter.receive().unwrap(), None);
    }

    #[test]
    fn chatter_refuses_a_huge_frame_without_allocating_it() {
        let addr = fake_server(vec![vec![0xff, 0xff, 0xff, 0xff, b'x']]);
        let mut chatter = Chatter::connect(addr, Wire::Frames, Duration::from_secs(5)).unwrap();
        let err = chatter.receive().unwrap_err().to_string();
        assert!(err.contains("4294967295 bytes"), "{err}");
    }

    #[test]
    fn chatter_reads_lines_and_drops_carriage_returns() {
        let addr = fake_server(vec![b"alice: hi\r\nbob: ".to_vec(), b"yo\n".to_vec()]);
        let mut chatter = Chatter::connect(addr, Wire::Lines, Duration::from_secs(5)).unwrap();
        assert_eq!(chatter.receive().unwrap().as_deref(), Some("alice: hi"));
        assert_eq!(chatter.receive().unwrap().as_deref(), Some("bob: yo"));
        assert_eq!(chatter.receive().unwrap(), None);
    }

    #[test]
    fn only_chat_steps_have_a_dialect() {
        assert_eq!(Dialect::of_step(2), None);
        assert_eq!(Dialect::of_step(3), Some(Dialect::Relay));
        assert_eq!(Dialect::of_step(7).map(Dialect::wire), Some(Wire::Frames));
        assert_eq!(Dialect::of_step(8), Some(Dialect::Commands));
        assert_eq!(Dialect::of_step(9), Some(Dialect::Commands));
        assert_eq!(Dialect::of_step(10), None);
    }
}
