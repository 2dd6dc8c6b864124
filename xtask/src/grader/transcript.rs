//! The transcript of a scenario, in two voices: what each grader client sent
//! and received, byte-exact, and what the server printed, interleaved in the
//! order it happened. A failing scenario prints it, so a student sees the
//! conversation the way the server had it.
//!
//! ```text
//!     ann .. connected from 127.0.0.1:50412
//!     ann -> "ann_4f2q\n"
//!  server |  [10:31:02] ann_4f2q joined
//!     bob -> "bob_9dk1\n"
//!     ann <- "SERVER: bob_9dk1 has joined the chat.\n"
//! ```

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Who speaks in a transcript line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Voice {
    /// A grader client, by its label (`ann`, `bob`, ...).
    Client(String),
    /// The server's stdout.
    Server,
    /// The server's stderr (panics land here).
    ServerStderr,
}

impl Voice {
    fn label(&self) -> &str {
        match self {
            Voice::Client(label) => label,
            Voice::Server => "server",
            Voice::ServerStderr => "stderr",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Bytes a client wrote (one write).
    Sent(Vec<u8>),
    /// Bytes a client read (one read).
    Received(Vec<u8>),
    /// A line the server printed.
    Printed(String),
    /// Anything else worth a line: a connect, a close, a wait that ran out.
    Note(String),
}

/// One transcript line, stamped so the two voices can be interleaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: Instant,
    pub voice: Voice,
    pub event: Event,
}

impl Entry {
    pub fn new(voice: Voice, event: Event) -> Entry {
        Entry {
            at: Instant::now(),
            voice,
            event,
        }
    }
}

/// The clients' side of a transcript, shared by every client of a scenario
/// (each client appends from its own thread if it has one).
#[derive(Debug, Clone, Default)]
pub struct Log {
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl Log {
    pub fn push(&self, voice: Voice, event: Event) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Entry::new(voice, event));
    }

    /// A client's note: `ann .. connected from ...`.
    pub fn note(&self, label: &str, text: impl Into<String>) {
        self.push(Voice::Client(label.to_string()), Event::Note(text.into()));
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// How many bytes of one entry are shown; the rest is counted, not printed.
pub const MAX_SHOWN_BYTES: usize = 160;
/// How many server lines a transcript keeps (the first few and the last ones).
pub const MAX_SERVER_LINES: usize = 40;
/// How many lines a rendered transcript may have in all.
pub const MAX_LINES: usize = 120;

/// Writes `bytes` as a quoted string a beginner can read and that shows every
/// byte: `\n`, `\r`, `\t`, `\0`, `\\`, `\"` by name, other control characters
/// and invalid UTF-8 as `\xNN` (or `\u{NN}` for a non-ASCII control
/// character), everything printable as itself.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\0' => out.push_str("\\0"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if c.is_ascii_control() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
    out
}

/// [`escape`], cut after [`MAX_SHOWN_BYTES`] with the rest counted.
pub fn escape_shortened(bytes: &[u8]) -> String {
    if bytes.len() <= MAX_SHOWN_BYTES {
        return escape(bytes);
    }
    format!(
        "{}... (+{} more bytes)",
        escape(&bytes[..MAX_SHOWN_BYTES]),
        bytes.len() - MAX_SHOWN_BYTES
    )
}

/// Bytes on a framed connection, frame by frame: `[5] "hello"` is a
/// 4-byte length of 5, then the payload; a frame cut short says so.
pub fn escape_frames(bytes: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut rest = bytes;
    while let Some(header) = rest.first_chunk::<4>() {
        let length = u32::from_be_bytes(*header) as usize;
        let payload = &rest[4..];
        if payload.len() < length {
            parts.push(format!(
                "[{length}] {} (incomplete: {} of {length} bytes)",
                escape_shortened(payload),
                payload.len()
            ));
            rest = &[];
            break;
        }
        parts.push(format!(
            "[{length}] {}",
            escape_shortened(&payload[..length])
        ));
        rest = &payload[length..];
    }
    if !rest.is_empty() {
        parts.push(format!("{} (incomplete header)", escape(rest)));
    }
    parts.join(" ")
}

/// Interleaves the clients' log with the server's lines by time and renders
/// the whole as indented lines (no trailing newline on each).
///
/// Consecutive writes (or reads) by one client are shown as one line with a
/// count, so a message sent a byte at a time reads as what it is. With
/// `framed`, the clients' bytes are shown frame by frame ([`escape_frames`]).
/// Long server logs keep their first and last lines.
pub fn render(clients: &[Entry], server: &[Entry], framed: bool) -> Vec<String> {
    let mut entries: Vec<Entry> = clients.to_vec();
    entries.extend(shorten_server_lines(server));
    // A stable sort keeps each voice's own order when two stamps are equal.
    entries.sort_by_key(|e| e.at);

    let width = entries
        .iter()
        .map(|e| e.voice.label().chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        let entry = &entries[i];
        let label = entry.voice.label();
        let line = match &entry.event {
            Event::Sent(_) | Event::Received(_) => {
                // Gather the run of same-voice, same-direction entries.
                let sent = matches!(entry.event, Event::Sent(_));
                let mut bytes = Vec::new();
                let mut count = 0;
                while let Some(next) = entries.get(i) {
                    match (&next.event, sent) {
                        (Event::Sent(b), true) | (Event::Received(b), false)
                            if next.voice == entry.voice =>
                        {
                            bytes.extend_from_slice(b);
                            count += 1;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                i -= 1;
                let arrow = if sent { "->" } else { "<-" };
                let shown = if framed {
                    escape_frames(&bytes)
                } else {
                    escape_shortened(&bytes)
                };
                let mut line = format!("{label:>width$} {arrow} {shown}");
                if count > 1 {
                    let what = if sent { "writes" } else { "reads" };
                    let _ = write!(line, "  (in {count} {what})");
                }
                line
            }
            Event::Printed(text) => format!("{label:>width$} |  {text}"),
            Event::Note(text) => format!("{label:>width$} .. {text}"),
        };
        lines.push(line);
        i += 1;
    }
    if lines.len() > MAX_LINES {
        let head = MAX_LINES / 4;
        let tail = MAX_LINES - head;
        let hidden = lines.len() - head - tail;
        let mut kept: Vec<String> = lines[..head].to_vec();
        kept.push(format!("{:>width$} .. ({hidden} lines not shown)", ""));
        kept.extend_from_slice(&lines[lines.len() - tail..]);
        lines = kept;
    }
    lines
}

/// The server's lines, at most [`MAX_SERVER_LINES`]: the first few (the
/// `listening on` line and the start) and the last ones (where a crash is).
fn shorten_server_lines(server: &[Entry]) -> Vec<Entry> {
    if server.len() <= MAX_SERVER_LINES {
        return server.to_vec();
    }
    let head = 5;
    let tail = MAX_SERVER_LINES - head;
    let hidden = server.len() - head - tail;
    let mut kept = server[..head].to_vec();
    let mut gap = server[head].clone();
    gap.event = Event::Printed(format!("... ({hidden} more server lines not shown)"));
    kept.push(gap);
    kept.extend_from_slice(&server[server.len() - tail..]);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn escape_names_the_usual_suspects() {
        assert_eq!(escape(b"hello\n"), r#""hello\n""#);
        assert_eq!(escape(b"a\r\nb\tc\0"), r#""a\r\nb\tc\0""#);
        assert_eq!(escape(br#"say "hi" \o/"#), r#""say \"hi\" \\o/""#);
    }

    #[test]
    fn escape_shows_control_bytes_and_invalid_utf8_as_hex() {
        assert_eq!(escape(b"\x1b[31mred\x07"), r#""\x1b[31mred\x07""#);
        assert_eq!(escape(b"caf\xff!"), r#""caf\xff!""#);
        assert_eq!(escape(&[0, 0, 0, 5]), r#""\0\0\0\x05""#);
        assert_eq!(escape("\u{85}".as_bytes()), r#""\u{85}""#);
    }

    #[test]
    fn escape_keeps_printable_unicode() {
        assert_eq!(
            escape("héllo wörld \u{FFFD}".as_bytes()),
            "\"héllo wörld \u{FFFD}\""
        );
    }

    #[test]
    fn long_payloads_are_cut_and_counted() {
        let long = vec![b'x'; MAX_SHOWN_BYTES + 10];
        let shown = escape_shortened(&long);
        assert!(shown.ends_with("... (+10 more bytes)"), "{shown}");
        assert_eq!(escape_shortened(b"short"), r#""short""#);
    }

    fn at(base: Instant, ms: u64, voice: Voice, event: Event) -> Entry {
        Entry {
            at: base + Duration::from_millis(ms),
            voice,
            event,
        }
    }

    fn client(name: &str) -> Voice {
        Voice::Client(name.to_string())
    }

    #[test]
    fn render_interleaves_the_two_voices_by_time() {
        let t = Instant::now();
        let clients = vec![
            at(t, 0, client("ann"), Event::Sent(b"ann\n".to_vec())),
            at(t, 20, client("ann"), Event::Received(b"DONE\n".to_vec())),
            at(
                t,
                30,
                client("ann"),
                Event::Note("the server closed the connection".into()),
            ),
        ];
        let server = vec![
            at(
                t,
                10,
                Voice::Server,
                Event::Printed("[10:00:00] ann joined".into()),
            ),
            at(t, 25, Voice::ServerStderr, Event::Printed("oops".into())),
        ];
        assert_eq!(
            render(&clients, &server, false),
            vec![
                "   ann -> \"ann\\n\"",
                "server |  [10:00:00] ann joined",
                "   ann <- \"DONE\\n\"",
                "stderr |  oops",
                "   ann .. the server closed the connection",
            ]
        );
    }

    #[test]
    fn render_joins_a_run_of_writes_and_counts_them() {
        let t = Instant::now();
        let clients: Vec<Entry> = b"hi\n"
            .iter()
            .enumerate()
            .map(|(i, b)| at(t, i as u64, client("bob"), Event::Sent(vec![*b])))
            .chain([
                at(t, 5, client("ann"), Event::Received(b"bob: ".to_vec())),
                at(t, 6, client("ann"), Event::Received(b"hi\n".to_vec())),
                at(t, 7, client("bob"), Event::Sent(b"x".to_vec())),
            ])
            .collect();
        assert_eq!(
            render(&clients, &[], false),
            vec![
                "bob -> \"hi\\n\"  (in 3 writes)",
                "ann <- \"bob: hi\\n\"  (in 2 reads)",
                "bob -> \"x\"",
            ]
        );
    }

    #[test]
    fn frames_show_their_length_and_payload() {
        assert_eq!(escape_frames(b"\0\0\0\x05hello"), r#"[5] "hello""#);
        assert_eq!(
            escape_frames(b"\0\0\0\x01a\0\0\0\0\0\0\0\x02\nb"),
            r#"[1] "a" [0] "" [2] "\nb""#
        );
        assert_eq!(
            escape_frames(b"\xff\xff\xff\xf0abc"),
            r#"[4294967280] "abc" (incomplete: 3 of 4294967280 bytes)"#
        );
        assert_eq!(escape_frames(b"\0\0"), r#""\0\0" (incomplete header)"#);
        assert_eq!(
            escape_frames(b"SERVER: hi\n"),
            r#"[1397051990] "ER: hi\n" (incomplete: 7 of 1397051990 bytes)"#
        );
    }

    #[test]
    fn render_shows_framed_bytes_frame_by_frame() {
        let t = Instant::now();
        let clients = vec![
            at(t, 0, client("bob"), Event::Sent(b"\0\0\0\x03bob".to_vec())),
            at(
                t,
                1,
                client("ann"),
                Event::Received(b"\0\0\0\x02hi".to_vec()),
            ),
        ];
        assert_eq!(
            render(&clients, &[], true),
            vec![r#"bob -> [3] "bob""#, r#"ann <- [2] "hi""#]
        );
    }

    #[test]
    fn render_keeps_the_start_and_end_of_a_long_server_log() {
        let t = Instant::now();
        let server: Vec<Entry> = (0..100)
            .map(|i| at(t, i, Voice::Server, Event::Printed(format!("line {i}"))))
            .collect();
        let lines = render(&[], &server, false);
        assert_eq!(lines.len(), MAX_SERVER_LINES + 1);
        assert_eq!(lines[0], "server |  line 0");
        assert!(
            lines[5].contains("(60 more server lines not shown)"),
            "{}",
            lines[5]
        );
        assert_eq!(lines.last().unwrap(), "server |  line 99");
    }

    #[test]
    fn log_is_shared_between_clones() {
        let log = Log::default();
        let other = log.clone();
        other.note("ann", "connected");
        assert_eq!(log.entries().len(), 1);
        assert_eq!(log.entries()[0].event, Event::Note("connected".into()));
    }
}
