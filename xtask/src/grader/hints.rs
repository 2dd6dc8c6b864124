//! The words of every diagnosis: from a [`Problem`] (or from what the
//! liveness probe found) to the one sentence a beginner reads first, and
//! what to do about it. `diagnosis.rs` decides which of these applies.
//!
//! Each text states the symptom in the transcript's own terms first (who
//! waited for what, what arrived instead), then the usual cause, then the
//! fix. None of them talks about a bug the symptom does not point at.

use std::time::Duration;

use super::failure::{Problem, Waiting, first_difference};
use super::transcript::{Entry, Event, Voice, escape_shortened};

/// One diagnosis in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    /// A stable name, for tests and `--json` (`framing`, `stopped-answering`).
    pub id: &'static str,
    pub text: String,
    /// Whether the scenario's advice about its idea may follow: only when
    /// the server answered something else, or nothing, while alive. A
    /// crash, a deadlock or a missing newline has its own explanation.
    pub open: bool,
    /// What to say instead when the scenario has no advice to follow.
    pub otherwise: Option<&'static str>,
}

impl Words {
    fn closed(id: &'static str, text: impl Into<String>) -> Words {
        Words {
            id,
            text: text.into(),
            open: false,
            otherwise: None,
        }
    }

    fn open(id: &'static str, text: impl Into<String>) -> Words {
        Words {
            id,
            text: text.into(),
            open: true,
            otherwise: None,
        }
    }

    fn otherwise(mut self, text: &'static str) -> Words {
        self.otherwise = Some(text);
        self
    }
}

/// Where the exact texts are, for a symptom no advice explains.
const SEE_THE_PROTOCOL: &str = "Compare the transcript with session2/PROTOCOL.md: the exact \
    texts, and who gets what.";

// ----- what the liveness probe found -----

/// Nobody gets an answer any more, even once the scenario's clients left.
pub fn stopped_answering(waited: Duration) -> Words {
    Words::closed(
        "stopped-answering",
        format!(
            "The server stopped answering anyone during this scenario: after it had answered, \
             a fresh client got no answer in {:.1} s, not even once the scenario's clients had \
             left. That is a deadlock: a thread waits for a lock that is never released. The \
             usual cause is a lock taken twice: a function that locks (a `broadcast`, a \
             `reply`, a `remove`) called while the same thread still holds the guard. A \
             `Mutex` is not reentrant (nor is Python's `threading.Lock`): the second `lock()` \
             waits for the first forever. Drop the guard before the call, or do the work \
             through the guard you hold.",
            waited.as_secs_f64()
        ),
    )
}

/// A shared server that answered in earlier scenarios answers no one from
/// the start of this one: it stopped in between, as the earlier clients left.
pub fn answers_no_more(waited: Duration) -> Words {
    Words::closed(
        "stopped-answering",
        format!(
            "The server answers no one any more: it did in the scenarios before, but in this \
             one nothing arrived, and a fresh client got no answer in {:.1} s, not even once \
             the scenario's clients had left. It stopped as the earlier clients left: that is \
             a deadlock, a thread waiting for a lock that is never released. Clients leaving \
             is when writes to them start failing: cleaning up by calling a function that \
             takes the lock again (a `remove` called from inside `broadcast`, with its lock \
             held) waits for itself forever. Restart the server, and remove a client through \
             the guard you already hold.",
            waited.as_secs_f64()
        ),
    )
}

/// The scenario passed, then nobody got an answer once its clients left.
pub fn stopped_answering_when_they_left(waited: Duration) -> Words {
    Words::closed(
        "stopped-answering",
        format!(
            "The server stopped answering anyone when this scenario's clients left: after they \
             had gone, a fresh client got no answer in {:.1} s. That is a deadlock: a \
             thread waits for a lock that is never released. Clients leaving is when writes to \
             them start failing, so look at what happens on a failed write: cleaning up by \
             calling a function that takes the lock again (a `remove` called from inside \
             `broadcast`, with its lock held) waits for itself forever. Remove the client \
             through the guard you already hold.",
            waited.as_secs_f64()
        ),
    )
}

/// No answer while a client that stopped reading was connected; answers
/// again once it was gone.
pub fn stalled_by_slow_reader(slow: &str) -> Words {
    Words::closed(
        "stalled-by-slow-reader",
        format!(
            "The whole room froze while {slow} was not reading: even a fresh client got no \
             answer, until {slow}'s connection closed. A thread waited on {slow} with the \
             room's lock held: a write to a socket whose buffers are full blocks (so does a \
             push that waits for room in a full queue), and every thread that wants the lock \
             waits behind it. Never block with the lock held: queue the message in a push that \
             never waits (a full queue refuses at once), write from each client's own thread, \
             and drop a client that cannot keep up."
        ),
    )
}

/// No answer while the scenario's clients were connected; answers again
/// once they left (a chat or a relay).
pub fn blocked_on_a_client() -> Words {
    Words::closed(
        "blocked-on-a-client",
        "The server answered no one while this scenario's clients were connected, not even a \
         fresh client, and answered again once they had left. A thread waited on one of them \
         (in a `read`, or in a write to a socket that is full) while holding the lock every \
         other thread needs. Never hold the lock across a call that can block: take what you \
         need, drop the guard, then read or write.",
    )
}

/// An echo server that serves one client at a time (exercise 2).
pub fn one_client_at_a_time() -> Words {
    Words::closed(
        "one-client-at-a-time",
        "The server answers only one client at a time: while the scenario's first client was \
         connected, no other client got an answer, not even a fresh one; once they had all \
         left, it answered again. Serve each client on its own thread: `thread::spawn(move || \
         ...)` right after `accept`, and do not `join()` it there, so the loop goes straight \
         back to `accept`.",
    )
}

// ----- what the server's process and output show -----

/// The first line of a panic in the server's output, if it printed one.
pub fn panic_line(output: &[Entry]) -> Option<String> {
    output
        .iter()
        .find_map(|entry| match (&entry.voice, &entry.event) {
            (Voice::ServerStderr, Event::Printed(text)) if text.contains("panicked at") => {
                Some(text.trim().to_string())
            }
            _ => None,
        })
}

/// A thread of the server panicked; the process lives on.
pub fn thread_panicked(panic: &str) -> Words {
    Words::closed(
        "thread-panicked",
        format!(
            "A thread of the server panicked ({panic}): it died, and its client's connection \
             with it, while the rest of the server went on. Handle the error instead of \
             `unwrap()` or `expect()`, or fix what the panic points at."
        ),
    )
}

/// The process died.
pub fn crashed(status: &str, panic: Option<&str>) -> Words {
    let mut text = format!(
        "The server process died ({status}) during the scenario: a server must never die \
         because of what one client does. {}",
        status_meaning(status)
    );
    match panic {
        Some(panic) => text.push_str(&format!(" Its last words: {panic}.")),
        None => text.push_str(" Look at the end of its output above."),
    }
    Words::closed("crashed", text)
}

// ----- what a client observed -----

/// The diagnosis for `problem` alone. `still_answers`: a fresh client got
/// an answer after the failure, so the server is alive and listening.
pub fn for_problem(problem: &Problem, still_answers: bool) -> Words {
    match problem {
        Problem::Refused { addr } => Words::closed(
            "refused",
            format!(
                "Nothing is listening at {addr}. Is the server running, and on that port? A \
                 server prints `listening on IP:PORT` when it starts: use exactly that port. If \
                 it was running, it may have crashed: look at its output."
            ),
        ),
        Problem::ConnectFailed { addr, .. } => Words::closed(
            "cannot-connect",
            format!(
                "Could not reach {addr}. Check the address and port; for another machine, check \
                 that the server listens on 0.0.0.0 (not 127.0.0.1) and that no firewall blocks \
                 the port."
            ),
        ),
        Problem::Timeout {
            client,
            waiting,
            waited,
            partial,
        } => timeout(client, *waiting, *waited, partial, still_answers),
        Problem::Closed {
            client,
            waiting: Waiting::Bytes(wanted),
            partial,
        }
        | Problem::Reset {
            client,
            waiting: Waiting::Bytes(wanted),
            partial,
        } if !partial.is_empty() => partial_echo(
            client,
            *wanted,
            partial,
            "then the server ended the connection",
        ),
        Problem::Closed {
            client,
            waiting,
            partial,
        } => {
            let text = if *waiting == Waiting::Silence {
                format!(
                    "The server closed {client}'s connection where it should have kept quiet \
                     and kept the client."
                )
            } else if partial.is_empty() {
                format!(
                    "The server closed {client}'s connection (the client read EOF) instead of \
                     answering: does it stop serving this client too soon, returning after the \
                     first read, or treating an error or an unexpected message as the end?"
                )
            } else {
                format!(
                    "The server closed {client}'s connection after part of the answer: does it \
                     return before writing all of it?"
                )
            };
            Words::open("closed-early", text)
        }
        // A close with the client's bytes unread comes as a reset: the
        // same mistake as an early close, whichever the timing gave.
        Problem::Reset { client, .. } => Words::open(
            "closed-early",
            format!(
                "The server reset {client}'s connection (TCP RST): it closed the socket while \
                 bytes from the client were still unread. Does it stop serving this client \
                 without reading what it sent?"
            ),
        ),
        Problem::SendFailed {
            client,
            timed_out: true,
            ..
        } => Words::open(
            "send-blocked",
            format!(
                "{client} could not send: the server stopped reading from {client}, whose \
                 socket filled up. The thread that should read {client}'s lines is stuck \
                 elsewhere, for example waiting for a lock that another thread holds while it \
                 writes to a client that does not read."
            ),
        ),
        Problem::SendFailed { client, .. } => Words::open(
            "send-failed",
            format!(
                "The server had already closed {client}'s connection when {client} sent more \
                 (broken pipe or reset). A server keeps serving a client until that client \
                 leaves."
            ),
        ),
        Problem::Mismatch {
            client,
            waiting: Waiting::Bytes(_),
            got,
            wanted: Some(wanted),
            ..
        } => different_bytes(client, got, wanted),
        Problem::Mismatch {
            client,
            waiting: Waiting::Close,
            got,
            ..
        } => Words::closed(
            "unexpected-message",
            format!(
                "{client} received {} where the server should have closed the connection: it \
                 sent more than was due. Compare with what was sent before.",
                escape_shortened(got)
            ),
        ),
        Problem::Mismatch {
            client,
            waiting,
            expected,
            got,
            wanted,
            followed,
        } => {
            let lines = *waiting == Waiting::Line;
            lines
                .then(|| line_cuts(client, got, wanted.as_deref(), followed))
                .flatten()
                .unwrap_or_else(|| {
                    Words::open(
                        "different-message",
                        format!(
                            "{client} received {} where {expected} was due.",
                            escape_shortened(got)
                        ),
                    )
                    .otherwise(SEE_THE_PROTOCOL)
                })
        }
        Problem::NotSilent { client, got } => Words::open(
            "unexpected-message",
            format!(
                "{client} received {}, and nothing should have arrived there.",
                escape_shortened(got)
            ),
        )
        .otherwise(SEE_THE_PROTOCOL),
        Problem::OwnWords { client, got } => {
            let text = String::from_utf8_lossy(got);
            if text.contains(" has joined the chat.") {
                Words::closed(
                    "own-words",
                    format!(
                        "{client} received the notice of its own arrival ({}): a newcomer \
                         gets no notice about itself. Announce it to the others only: before \
                         adding it to the room, or skipping it.",
                        escape_shortened(got)
                    ),
                )
            } else {
                Words::closed(
                    "own-words",
                    format!(
                        "{client} received its own words back ({}): a sender never gets its \
                         own message. Skip the sender when you broadcast (compare each \
                         client's address or id with the sender's).",
                        escape_shortened(got)
                    ),
                )
            }
        }
        Problem::FrameTooLong { header, .. } => {
            if header.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
                Words::closed(
                    "line-for-frame",
                    "Those 4 bytes are text, not a length: the server sent a line where a frame \
                     was due. A frame is a 4-byte big-endian length, then that many bytes \
                     (`(payload.len() as u32).to_be_bytes()`).",
                )
            } else {
                Words::closed(
                    "bad-frame-length",
                    "A frame starts with its length as 4 bytes, big-endian \
                     (`u32::to_be_bytes`), then exactly that many payload bytes. Check the \
                     byte order and that the length counts the payload only.",
                )
            }
        }
        Problem::NoListeningLine { .. } => Words::closed(
            "no-listening-line",
            "The server did not print `listening on IP:PORT` as its first line on stdout. Call \
             `classroom::announce(&listener, ...)` right after binding, before anything else \
             is printed. If it did, is the server stuck before `bind` (waiting for input, or \
             in an endless loop)?",
        ),
        Problem::BadListeningLine { .. } => Words::closed(
            "bad-listening-line",
            "The first line on stdout must be exactly `listening on IP:PORT` with the port \
             really bound: the grader reads it to know where to connect. Print other things \
             after it.",
        ),
        Problem::AddrInUse => Words::closed(
            "address-in-use",
            "The address is already in use: another server is still running on that port \
             (find it and stop it with Ctrl-C), or the port is still in TIME_WAIT after a \
             server just closed (wait a minute, or pick another port). The grader starts the \
             server with `--port 0`: does the server ignore `--port`?",
        ),
        Problem::ExitedEarly { status } => Words::closed(
            "exited-early",
            format!(
                "The server exited ({status}) before it was listening. {} Its output is above.",
                status_meaning(status)
            ),
        ),
        Problem::CannotRun { .. } => Words::closed(
            "cannot-run",
            "The grader could not run the server's binary. Build it with `cargo build -p \
             PACKAGE` and look at the errors.",
        ),
        Problem::Crashed { status, .. } => crashed(status, None),
        Problem::Unresponsive { waited, .. } => stopped_answering_when_they_left(*waited),
        Problem::Wrong { what } => Words::open(
            "protocol",
            format!("{what}: compare the transcript with session2/PROTOCOL.md."),
        ),
    }
}

fn timeout(
    client: &str,
    waiting: Waiting,
    waited: Duration,
    partial: &[u8],
    still_answers: bool,
) -> Words {
    let secs = waited.as_secs_f64();
    match waiting {
        Waiting::Line if !partial.is_empty() && !partial.contains(&b'\n') => Words::closed(
            "missing-newline",
            format!(
                "Bytes arrived but no newline: {client} has {} and waits for its `\\n`, which \
                 never comes. A line is complete only at its `\\n`: write it (`writeln!`, or \
                 push '\\n').",
                escape_shortened(partial)
            ),
        ),
        Waiting::Frame if !partial.is_empty() && partial.len() < 4 => Words::closed(
            "short-frame",
            "Fewer than 4 bytes arrived: a frame starts with a 4-byte length. Write the whole \
             header (`write_all`).",
        ),
        Waiting::Frame if !partial.is_empty() => Words::closed(
            "short-frame",
            "The length arrived but not that many payload bytes: write the whole payload with \
             `write_all`, and make sure the length counts exactly the payload's bytes.",
        ),
        Waiting::Bytes(wanted) if !partial.is_empty() => partial_echo(
            client,
            wanted,
            partial,
            &format!("then nothing for {secs:.1} s"),
        ),
        Waiting::Close => Words::open(
            "kept-open",
            format!(
                "The server kept {client}'s connection open for {secs:.1} s. After answering \
                 (`DONE`, or an error that ends the connection), close it: return from the \
                 client's function so the stream is dropped."
            ),
        ),
        _ => {
            let alive = if still_answers {
                ", and the server still answers a fresh client: it is running, and it never \
                 sent this"
            } else {
                ""
            };
            Words::open(
                "nothing-arrived",
                format!("Nothing arrived for {client} in {secs:.1} s{alive}."),
            )
            .otherwise(SEE_THE_PROTOCOL)
        }
    }
}

/// Only the start of an echo came back.
fn partial_echo(client: &str, wanted: usize, partial: &[u8], then: &str) -> Words {
    Words::closed(
        "partial-echo",
        format!(
            "Only {} of the {wanted} bytes came back to {client}, {then}. One `read` returns at \
             most one buffer's worth: echo in a loop until the client closes, and write each \
             chunk with `write_all` (one `write` may send only part).",
            partial.len()
        ),
    )
}

/// Reads a wrong line on a line wire: bytes of one line in another, a line
/// without its sender's name, a `\r` left in, an empty line passed on.
/// `None` when the line is simply another message.
fn line_cuts(client: &str, got: &[u8], wanted: Option<&[u8]>, followed: &[u8]) -> Option<Words> {
    let wanted = String::from_utf8_lossy(wanted?);
    let wanted = wanted.strip_suffix('\n').unwrap_or(&wanted);
    let (name, wanted_text) = wanted.split_once(": ")?;
    if name == "SERVER" || name.contains(char::is_whitespace) {
        return None;
    }
    let prefix = format!("{name}: ");
    let mut arrived = got.to_vec();
    arrived.extend_from_slice(followed);
    let arrived = String::from_utf8_lossy(&arrived).into_owned();
    let lines: Vec<&str> = arrived.split_terminator('\n').collect();
    let shown = escape_shortened(got);
    // The next line is enough to show where the cut went.
    let then = match followed.iter().position(|&b| b == b'\n') {
        Some(end) => format!(", then {}", escape_shortened(&followed[..=end])),
        None => String::new(),
    };
    // Somebody's message always starts with a name and `: `; a notice with
    // `SERVER: `. A line that does not is a piece of a line.
    let headless = lines.iter().find(|line| {
        !line.starts_with(&prefix) && !line.starts_with("SERVER: ") && !looks_named(line)
    });
    if let Some(piece) = headless {
        let piece = if piece.is_empty() {
            "An empty line".to_string()
        } else {
            format!("The line {}", escape_shortened(piece.as_bytes()))
        };
        return Some(Words::closed(
            "framing",
            format!(
                "The lines are cut in the wrong places: {client} received {shown}{then}. {piece} \
                 carries no sender's name: it is a piece of what {name} sent, passed on inside \
                 another message. One `read` may return several lines, or part of one: append \
                 each read to the client's buffer, take out every complete line (up to each \
                 `\\n`), and keep the rest for the next read."
            ),
        ));
    }
    let texts: Vec<&str> = lines
        .iter()
        .filter_map(|line| line.strip_prefix(&prefix))
        .collect();
    if texts.iter().any(|text| text.ends_with('\r')) {
        return Some(Words::closed(
            "carriage-return",
            format!(
                "A `\\r` came through: {client} received {shown}. Drop the trailing `\\r` of \
                 each line (Windows clients end lines with `\\r\\n`)."
            ),
        ));
    }
    if wanted_text.contains('\r') && texts.first() == Some(&wanted_text.replace('\r', "").as_str())
    {
        return Some(Words::closed(
            "inner-carriage-return",
            format!(
                "A `\\r` inside a line was dropped: {client} received {shown} where {} was due. \
                 Only a trailing `\\r` is dropped, the one right before the `\\n` (Windows \
                 clients end lines with `\\r\\n`); a `\\r` anywhere else is part of the text \
                 and goes through. Remove the last byte only if it is a `\\r`, not every `\\r` \
                 of the line.",
                escape_shortened(format!("{wanted}\n").as_bytes())
            ),
        ));
    }
    if texts.first() == Some(&"") {
        return Some(Words::closed(
            "empty-line",
            format!(
                "An empty line was passed on: {client} received {shown}, a message with no \
                 text. Skip lines that are empty (once their trailing `\\r` is dropped)."
            ),
        ));
    }
    let first = texts.first()?;
    if wanted_text.contains(first) || first.contains(wanted_text) {
        return Some(Words::closed(
            "framing",
            format!(
                "The lines are cut in the wrong places: {client} received {shown}{then}, where \
                 one line was due. One `read` may return part of a line, or several: keep the \
                 bytes after the last `\\n` in the client's buffer until the rest arrives, and \
                 pass a line on only once its `\\n` is in."
            ),
        ));
    }
    None
}

/// Whether `line` looks like somebody's message: a name (no whitespace),
/// then `: `.
fn looks_named(line: &str) -> bool {
    line.split_once(": ")
        .is_some_and(|(name, _)| !name.is_empty() && !name.contains(char::is_whitespace))
}

fn different_bytes(client: &str, got: &[u8], wanted: &[u8]) -> Words {
    let at = first_difference(wanted, got).unwrap_or(0);
    Words::open(
        "different-bytes",
        format!(
            "{client} received different bytes than were due, from byte {at} on: {} instead of \
             {}.",
            escape_shortened(&got[at.min(got.len())..]),
            escape_shortened(&wanted[at.min(wanted.len())..])
        ),
    )
}

/// What an exit status usually means for a Rust program.
fn status_meaning(status: &str) -> &'static str {
    if status.contains("101") {
        "Exit status 101 is a Rust panic: an `unwrap()` or `expect()` on an error, an index \
         out of range, a poisoned lock."
    } else if status.contains("SIGABRT") || status.contains("signal: 6") {
        "An abort often means memory allocation failed (a huge `vec![0; len]`)."
    } else if status.contains("SIGKILL") || status.contains("signal: 9") {
        "Killed: perhaps the system ran out of memory."
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn timeout(waiting: Waiting, partial: &[u8]) -> Problem {
        Problem::Timeout {
            client: "ann".into(),
            waiting,
            waited: Duration::from_secs(3),
            partial: partial.to_vec(),
        }
    }

    fn mismatch(wanted: &str, got: &str, followed: &str) -> Problem {
        Problem::Mismatch {
            client: "ann".into(),
            waiting: Waiting::Line,
            expected: format!("the line {wanted:?}"),
            got: got.as_bytes().to_vec(),
            wanted: Some(wanted.as_bytes().into()),
            followed: followed.as_bytes().into(),
        }
    }

    fn id(problem: &Problem) -> &'static str {
        for_problem(problem, true).id
    }

    #[test]
    fn a_panic_in_the_servers_output_is_found() {
        let lines = vec![
            Entry::new(
                Voice::Server,
                Event::Printed("listening on 127.0.0.1:1".into()),
            ),
            Entry::new(
                Voice::ServerStderr,
                Event::Printed("thread '<unnamed>' panicked at src/main.rs:40:10:".into()),
            ),
        ];
        let panic = panic_line(&lines).expect("a panic");
        assert!(thread_panicked(&panic).text.contains("src/main.rs:40:10"));
        assert_eq!(panic_line(&lines[..1]), None);
    }

    #[test]
    fn refused_asks_whether_the_server_runs_and_which_port() {
        let text = for_problem(
            &Problem::Refused {
                addr: "127.0.0.1:4000".into(),
            },
            false,
        )
        .text;
        assert!(text.contains("Is the server running"), "{text}");
        assert!(text.contains("127.0.0.1:4000"), "{text}");
    }

    #[test]
    fn nothing_arrived_says_only_that_and_whether_the_server_answers() {
        let alive = for_problem(&timeout(Waiting::Line, b""), true);
        assert_eq!(alive.id, "nothing-arrived");
        assert!(alive.open);
        assert!(
            alive.text.contains("still answers a fresh client"),
            "{}",
            alive.text
        );
        assert!(alive.text.contains("never sent this"), "{}", alive.text);
        // No boilerplate about newlines, BufWriter or locks.
        for word in ["flush", "BufWriter", "lock", "\\n"] {
            assert!(!alive.text.contains(word), "{}", alive.text);
        }
        let unknown = for_problem(&timeout(Waiting::Line, b""), false);
        assert!(!unknown.text.contains("still answers"), "{}", unknown.text);
    }

    #[test]
    fn a_line_missing_its_newline_says_so() {
        let words = for_problem(&timeout(Waiting::Line, b"bob: hi"), true);
        assert_eq!(words.id, "missing-newline");
        assert!(!words.open);
        assert!(words.text.contains("\"bob: hi\""), "{}", words.text);
    }

    #[test]
    fn frames_cut_short_point_at_the_header_or_the_payload() {
        let header = for_problem(&timeout(Waiting::Frame, b"\0\0"), true);
        assert!(header.text.contains("4-byte length"), "{}", header.text);
        let payload = for_problem(&timeout(Waiting::Frame, b"\0\0\0\x09bob"), true);
        assert!(payload.text.contains("whole payload"), "{}", payload.text);
    }

    #[test]
    fn a_partial_echo_counts_the_bytes() {
        let words = for_problem(&timeout(Waiting::Bytes(100), b"abc"), true);
        assert_eq!(words.id, "partial-echo");
        assert!(
            words.text.contains("Only 3 of the 100 bytes"),
            "{}",
            words.text
        );
        assert!(words.text.contains("write_all"), "{}", words.text);
    }

    #[test]
    fn a_piece_of_a_line_without_a_name_is_framing() {
        // `if let` instead of `while let`: the second line's bytes travel
        // inside the next message.
        let problem = mismatch("bob: from windows\n", "bob: \n", "from windows\n");
        assert_eq!(id(&problem), "framing");
        // Each chunk taken as one line: "two" arrives without a name.
        let problem = mismatch("bob: two\n", "two\n", "three\n");
        assert_eq!(id(&problem), "framing");
        // A line sent a byte at a time, passed on piece by piece.
        let problem = mismatch("bob: a line\n", "bob: a\n", "bob:  \nbob: l\n");
        assert_eq!(id(&problem), "framing");
    }

    #[test]
    fn empty_lines_and_carriage_returns_are_not_framing() {
        // Framing right, empty lines broadcast (the Python lesson's server).
        let problem = mismatch(
            "bob: from windows\n",
            "bob: \n",
            "bob: \nbob: from windows\n",
        );
        assert_eq!(id(&problem), "empty-line");
        let problem = mismatch("bob: from windows\n", "bob: from windows\r\n", "");
        assert_eq!(id(&problem), "carriage-return");
        // Only the trailing `\r` goes: one inside the line stays.
        let problem = mismatch("bob: x\ry\n", "bob: xy\n", "");
        assert_eq!(id(&problem), "inner-carriage-return");
        assert!(
            for_problem(&problem, true)
                .text
                .contains("Only a trailing `\\r` is dropped"),
            "{problem:?}"
        );
        let problem = mismatch("bob: x\ry\n", "bob: x\ry\r\n", "");
        assert_eq!(id(&problem), "carriage-return");
        // Another text altogether is just a different message.
        let problem = mismatch("bob: hi\n", "SERVER: bob has left the chat.\n", "");
        assert_eq!(id(&problem), "different-message");
    }

    #[test]
    fn own_words_say_skip_the_sender() {
        let words = for_problem(
            &Problem::OwnWords {
                client: "ann".into(),
                got: b"ann_x: hi\n".to_vec(),
            },
            true,
        );
        assert_eq!(words.id, "own-words");
        assert!(words.text.contains("Skip the sender"), "{}", words.text);
    }

    #[test]
    fn address_in_use_mentions_another_server_and_time_wait() {
        let text = for_problem(&Problem::AddrInUse, false).text;
        assert!(text.contains("another server"), "{text}");
        assert!(text.contains("TIME_WAIT"), "{text}");
    }

    #[test]
    fn a_crash_names_the_status_and_explains_a_panic() {
        let words = crashed(
            "exit status: 101",
            Some("thread 'main' panicked at src/x.rs:1"),
        );
        assert!(words.text.contains("exit status: 101"), "{}", words.text);
        assert!(words.text.contains("Rust panic"), "{}", words.text);
        assert!(words.text.contains("src/x.rs:1"), "{}", words.text);
    }

    #[test]
    fn text_where_a_frame_header_was_due_is_spotted() {
        let words = for_problem(
            &Problem::FrameTooLong {
                client: "ann".into(),
                header: *b"SERV",
                length: u32::from_be_bytes(*b"SERV"),
            },
            true,
        );
        assert_eq!(words.id, "line-for-frame");
        assert!(words.text.contains("sent a line where a frame"));
    }

    #[test]
    fn the_lock_diagnoses_name_their_cause() {
        let wait = Duration::from_secs(3);
        assert!(stopped_answering(wait).text.contains("a lock taken twice"));
        assert!(
            stalled_by_slow_reader("sid")
                .text
                .contains("sid was not reading")
        );
        assert!(one_client_at_a_time().text.contains("join()"));
        assert!(
            stopped_answering_when_they_left(wait)
                .text
                .contains("when this scenario's clients left")
        );
    }
}
