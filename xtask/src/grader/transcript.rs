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
use std::time::{Duration, Instant};

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
    folds: Arc<Mutex<Vec<Fold>>>,
}

/// A stretch of the transcript told in one line (a client joining, seen
/// by everyone): the server's lines of that moment about `about` (names,
/// addresses) go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    pub from: Instant,
    pub to: Instant,
    pub about: Vec<String>,
}

/// How late a server's line about a folded stretch may come and still go
/// with it (unless a client writes again before).
const FOLD_SLACK: Duration = Duration::from_millis(50);

/// Where a stretch to fold starts: see [`Log::fold`].
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    index: usize,
    at: Instant,
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

    pub fn folds(&self) -> Vec<Fold> {
        self.folds.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Marks the start of a stretch that may be folded.
    pub fn mark(&self) -> Mark {
        Mark {
            index: self.entries.lock().unwrap_or_else(|e| e.into_inner()).len(),
            at: Instant::now(),
        }
    }

    /// Leaves out the server's lines since `mark` that mention `about`
    /// (clients the transcript does not show, like the liveness probe's).
    pub fn hide(&self, mark: Mark, about: Vec<String>) {
        self.folds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Fold {
                from: mark.at,
                to: Instant::now(),
                about,
            });
    }

    /// Replaces everything logged since `mark` with one note by `label`,
    /// for a stretch that went as planned and would only fill the screen;
    /// the server's lines of that moment about `about` are left out too.
    pub fn fold(&self, mark: Mark, label: &str, summary: impl Into<String>, about: Vec<String>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.truncate(mark.index);
        entries.push(Entry {
            at: mark.at,
            voice: Voice::Client(label.to_string()),
            event: Event::Note(summary.into()),
        });
        drop(entries);
        self.hide(mark, about);
    }
}

/// How long bytes may be, escaped, before only their start and end are
/// shown: the first [`SHOWN_HEAD`] characters and the last [`SHOWN_TAIL`].
pub const MAX_SHOWN_BYTES: usize = 160;
const SHOWN_HEAD: usize = 60;
const SHOWN_TAIL: usize = 20;
/// How much of one line the server printed is shown.
const SHOWN_SERVER_CHARS: usize = 100;
/// How many server lines a transcript keeps (the first few and the last ones).
pub const MAX_SERVER_LINES: usize = 40;
/// How many lines a rendered transcript may have in all, so that a failure
/// (expected, got, transcript, hint) fits on one screen.
pub const MAX_LINES: usize = 28;
/// Of those, how many come from the start; the rest from the end, where
/// the failure is.
const HEAD_LINES: usize = 6;
/// How many times a pattern of lines must repeat before the middle
/// repetitions are counted instead of shown.
const REPEATS_TO_FOLD: usize = 4;

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

/// [`escape`], for bulk data only the start and the end (about
/// [`SHOWN_HEAD`] and [`SHOWN_TAIL`] characters once escaped), with a count
/// of the bytes in all.
pub fn escape_shortened(bytes: &[u8]) -> String {
    let whole = escape(bytes);
    if whole.chars().count() <= MAX_SHOWN_BYTES {
        return whole;
    }
    let width = |part: &[u8]| escape(part).chars().count() - 2;
    let mut head = SHOWN_HEAD.min(bytes.len());
    while head > 1 && width(&bytes[..head]) > SHOWN_HEAD {
        head -= 1;
    }
    let mut tail = bytes.len() - SHOWN_TAIL.min(bytes.len() - head);
    while tail < bytes.len() - 1 && width(&bytes[tail..]) > SHOWN_TAIL {
        tail += 1;
    }
    format!(
        "{} ... ({} bytes in all) ... {}",
        escape(&bytes[..head]),
        bytes.len(),
        escape(&bytes[tail..])
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
/// To keep a failure on one screen: folded stretches are one line each
/// ([`Log::fold`]), the server's welcome is one line, a pattern repeated
/// many times shows its first and last repetitions, and a transcript still
/// too long keeps its start and its end.
pub fn render(log: &Log, server: &[Entry], framed: bool) -> Vec<String> {
    let clients = log.entries();
    let mut folds = log.folds();
    // The server's lines reach the grader through a pipe and a thread, a
    // little late: a fold also takes those that come before any client's
    // next write (and at most a moment later).
    for fold in &mut folds {
        let next_write = clients
            .iter()
            .filter(|e| e.at > fold.to && matches!(e.event, Event::Sent(_)))
            .map(|e| e.at)
            .min();
        let late = fold.to + FOLD_SLACK;
        fold.to = next_write.map_or(late, |next| next.min(late));
    }
    let first_client = clients.iter().map(|e| e.at).min();
    let server: Vec<Entry> = server
        .iter()
        .filter(|entry| !folds.iter().any(|fold| fold.hides(entry)))
        .cloned()
        .collect();
    let mut entries: Vec<Entry> = clients;
    entries.extend(shorten_server_lines(&fold_welcome(&server, first_client)));
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
            Event::Printed(text) if text.chars().count() > SHOWN_SERVER_CHARS => {
                let cut: String = text.chars().take(SHOWN_SERVER_CHARS).collect();
                format!("{label:>width$} |  {cut} ...")
            }
            Event::Printed(text) => format!("{label:>width$} |  {text}"),
            Event::Note(text) => format!("{label:>width$} .. {text}"),
        };
        lines.push(line);
        i += 1;
    }
    let lines = fold_repeats(lines, width);
    cap(lines, width)
}

impl Fold {
    /// Whether the server's `entry` belongs to this folded stretch.
    fn hides(&self, entry: &Entry) -> bool {
        let Event::Printed(text) = &entry.event else {
            return false;
        };
        entry.voice == Voice::Server
            && self.from <= entry.at
            && entry.at <= self.to
            && self.about.iter().any(|about| text.contains(about.as_str()))
    }
}

/// The server's welcome as one line: the `listening on` line, with a count
/// of the indented lines that follow it (what `classroom::announce` and the
/// starters print: where classmates connect, how to stop).
fn fold_welcome(server: &[Entry], first_client: Option<Instant>) -> Vec<Entry> {
    // Without clients (a server that did not start) every line counts.
    if first_client.is_none() {
        return server.to_vec();
    }
    let indented = |entry: &Entry| match &entry.event {
        Event::Printed(text) => entry.voice == Voice::Server && text.starts_with(' '),
        _ => false,
    };
    let welcome = 1 + server.iter().skip(1).take_while(|e| indented(e)).count();
    if welcome < 2 || server.len() < welcome {
        return server.to_vec();
    }
    let mut first = server[0].clone();
    if let Event::Printed(text) = &mut first.event {
        let _ = write!(text, "  (+{} more lines)", welcome - 1);
    }
    let mut kept = vec![first];
    kept.extend_from_slice(&server[welcome..]);
    kept
}

/// What a line looks like once its numbers and quoted bytes are left out:
/// lines of one shape say the same kind of thing.
fn shape(line: &str) -> String {
    let line = match line.rfind("  (in ") {
        Some(at) => &line[..at],
        None => line,
    };
    let mut shape = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in line.chars() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    quoted = false;
                    shape.push(c);
                }
                _ => {}
            }
        } else if c == '"' {
            quoted = true;
            shape.push(c);
        } else if !c.is_ascii_digit() {
            shape.push(c);
        }
    }
    shape
}

/// A pattern of one or two lines repeated [`REPEATS_TO_FOLD`] times or more
/// keeps its first and last repetitions, and the ones between are counted.
fn fold_repeats(lines: Vec<String>, width: usize) -> Vec<String> {
    let shapes: Vec<String> = lines.iter().map(|line| shape(line)).collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let repeated = (1..=2).find_map(|period| {
            let same = |rep: usize| {
                i + (rep + 1) * period <= lines.len()
                    && (0..period).all(|k| shapes[i + rep * period + k] == shapes[i + k])
            };
            let reps = (1..).take_while(|&rep| same(rep)).count() + 1;
            (reps >= REPEATS_TO_FOLD).then_some((period, reps))
        });
        match repeated {
            Some((period, reps)) => {
                kept.extend_from_slice(&lines[i..i + period]);
                kept.push(format!(
                    "{:>width$} .. ({} more lines like these)",
                    "",
                    (reps - 2) * period
                ));
                let last = i + (reps - 1) * period;
                kept.extend_from_slice(&lines[last..last + period]);
                i += reps * period;
            }
            None => {
                kept.push(lines[i].clone());
                i += 1;
            }
        }
    }
    kept
}

/// At most [`MAX_LINES`]: the first few and the last ones.
fn cap(lines: Vec<String>, width: usize) -> Vec<String> {
    if lines.len() <= MAX_LINES {
        return lines;
    }
    let tail = MAX_LINES - HEAD_LINES - 1;
    let hidden = lines.len() - HEAD_LINES - tail;
    let mut kept: Vec<String> = lines[..HEAD_LINES].to_vec();
    kept.push(format!("{:>width$} .. ({hidden} lines not shown)", ""));
    kept.extend_from_slice(&lines[lines.len() - tail..]);
    kept
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
    fn long_payloads_show_their_start_and_end_and_a_count() {
        let mut long = vec![b'a'; 1000];
        long.extend_from_slice(b"the end");
        let shown = escape_shortened(&long);
        assert!(
            shown.starts_with(&format!("\"{}\"", "a".repeat(SHOWN_HEAD))),
            "{shown}"
        );
        assert!(shown.contains(" ... (1007 bytes in all) ... "), "{shown}");
        assert!(shown.ends_with("the end\""), "{shown}");
        assert_eq!(escape_shortened(b"short"), r#""short""#);
        // Escaped bytes count as what they take on the screen.
        let zeros = escape_shortened(&[0; 1000]);
        assert!(
            zeros.chars().count() < 2 * (SHOWN_HEAD + SHOWN_TAIL),
            "{zeros}"
        );
        assert!(zeros.contains("(1000 bytes in all)"), "{zeros}");
    }

    fn log_of(entries: Vec<Entry>) -> Log {
        Log {
            entries: Arc::new(Mutex::new(entries)),
            folds: Arc::default(),
        }
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
            render(&log_of(clients), &server, false),
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
            render(&log_of(clients), &[], false),
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
            render(&log_of(clients), &[], true),
            vec![r#"bob -> [3] "bob""#, r#"ann <- [2] "hi""#]
        );
    }

    #[test]
    fn render_keeps_the_start_and_end_of_a_long_server_log() {
        let t = Instant::now();
        let server: Vec<Entry> = (0..100)
            .map(|i| at(t, i, Voice::Server, Event::Printed(format!("line {i}"))))
            .collect();
        let lines = render(&Log::default(), &server, false);
        assert!(lines.len() <= MAX_LINES, "{lines:#?}");
        assert_eq!(lines[0], "server |  line 0");
        assert_eq!(lines.last().unwrap(), "server |  line 99");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("more server lines not shown"))
        );
    }

    #[test]
    fn the_welcome_is_one_line_and_a_fold_hides_its_server_lines() {
        let t = Instant::now();
        let server = vec![
            at(
                t,
                0,
                Voice::Server,
                Event::Printed("listening on 127.0.0.1:9".into()),
            ),
            at(t, 1, Voice::Server, Event::Printed("  share this".into())),
            at(
                t,
                2,
                Voice::Server,
                Event::Printed("  (Ctrl-C stops it)".into()),
            ),
        ];
        let log = Log::default();
        std::thread::sleep(Duration::from_millis(5));
        let mark = log.mark();
        log.note("ann", "connected from 127.0.0.1:5");
        log.push(client("ann"), Event::Sent(b"ann_x\n".to_vec()));
        let mut server = server;
        server.push(Entry::new(
            Voice::Server,
            Event::Printed("127.0.0.1:5 joined as ann_x".into()),
        ));
        server.push(Entry::new(
            Voice::Server,
            Event::Printed("unrelated".into()),
        ));
        log.fold(mark, "ann", "joined as ann_x", vec!["ann_x".into()]);
        log.note("ann", "then this");
        let lines = render(&log, &server, false);
        assert_eq!(
            lines,
            vec![
                "server |  listening on 127.0.0.1:9  (+2 more lines)",
                "   ann .. joined as ann_x",
                "server |  unrelated",
                "   ann .. then this",
            ]
        );
    }

    #[test]
    fn a_pattern_repeated_many_times_shows_its_ends() {
        let t = Instant::now();
        let mut clients = Vec::new();
        for (i, piece) in "a line in pieces".chars().enumerate() {
            let ms = 2 * i as u64;
            clients.push(at(t, ms, client("bob"), Event::Sent(vec![piece as u8])));
            clients.push(at(
                t,
                ms + 1,
                client("srv"),
                Event::Note(format!("[10:00:0{}] bob_1x2y: \"{piece}\"", i % 10)),
            ));
        }
        let lines = render(&log_of(clients), &[], false);
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert_eq!(lines[0], "bob -> \"a\"");
        assert_eq!(lines[2], "    .. (28 more lines like these)");
        assert_eq!(lines[4], "srv .. [10:00:05] bob_1x2y: \"s\"");
    }

    #[test]
    fn a_long_transcript_keeps_its_start_and_its_end() {
        let t = Instant::now();
        let clients: Vec<Entry> = (0..100)
            .map(|i| {
                at(
                    t,
                    i,
                    client("ann"),
                    Event::Note(format!("step {}", "x".repeat(i as usize))),
                )
            })
            .collect();
        let lines = render(&log_of(clients), &[], false);
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(lines[0], "ann .. step ");
        assert!(lines[HEAD_LINES].contains("lines not shown"), "{lines:#?}");
        assert!(lines.last().unwrap().ends_with(&"x".repeat(99)));
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
