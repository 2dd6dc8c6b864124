//! From a [`Problem`] to a plain-language hint: what a beginner should check
//! first. The scenario's own advice (about the idea it tests) comes on top.

use super::failure::{Problem, Waiting};
use super::transcript::{Entry, Event, Voice};

/// The hint for `problem`, in words a beginner understands.
pub fn hint(problem: &Problem) -> String {
    match problem {
        Problem::Refused { addr } => format!(
            "Nothing is listening at {addr}. Is the server running, and on that port? A server \
             prints `listening on IP:PORT` when it starts: use exactly that port. If it was \
             running, it may have crashed: look at its output."
        ),
        Problem::ConnectFailed { addr, .. } => format!(
            "Could not reach {addr}. Check the address and port; for another machine, check \
             that the server listens on 0.0.0.0 (not 127.0.0.1) and that no firewall blocks \
             the port."
        ),
        Problem::Timeout {
            waiting, partial, ..
        } => timeout_hint(*waiting, partial),
        Problem::Closed {
            waiting, partial, ..
        } => {
            let mut text = String::from(
                "The server closed the connection early (the client read EOF). Does the \
                 server stop serving this client too soon: returning after the first read, or \
                 treating an error or an unexpected message as the end? ",
            );
            if *waiting == Waiting::Silence {
                text = String::from(
                    "The server closed the connection when it should have kept quiet and kept \
                     the client. ",
                );
            }
            if !partial.is_empty() {
                text.push_str("Part of the reply arrived, then the connection was closed. ");
            }
            text.push_str("The server's output may say why.");
            text
        }
        Problem::Reset { .. } => "The server reset the connection (TCP RST): it closed the \
             socket while bytes were still unread, or its process died. Look at its output."
            .into(),
        Problem::SendFailed {
            timed_out: true, ..
        } => "Sending blocked: the server stopped reading from this client. Is it stuck, \
             waiting on a lock another thread holds while it writes to a slow client?"
            .into(),
        Problem::SendFailed { .. } => "The server had already closed this connection when the \
             client sent more (broken pipe / reset). A server keeps serving a client until \
             that client leaves."
            .into(),
        Problem::Mismatch { expected, got, .. } => mismatch_hint(expected, got),
        Problem::NotSilent { .. } => "Something arrived that should not have: compare it with \
             what was expected. (In a chat, a sender never gets its own message back, command \
             replies and errors go only to the one who asked, and a newcomer gets no notice \
             about itself.)"
            .into(),
        Problem::FrameTooLong { header, .. } => {
            if header.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
                "Those 4 bytes are text, not a length: the server sent a line where a frame \
                 was due. A frame is a 4-byte big-endian length, then that many bytes \
                 (`(payload.len() as u32).to_be_bytes()`)."
                    .into()
            } else {
                "A frame starts with its length as 4 bytes, big-endian \
                 (`u32::to_be_bytes`), then exactly that many payload bytes. Check the byte \
                 order and that the length counts the payload only."
                    .into()
            }
        }
        Problem::NoListeningLine { .. } => "The server did not print `listening on IP:PORT` \
             as its first line on stdout. Call `classroom::announce(&listener, ...)` right \
             after binding, before anything else is printed. If it did, is the server stuck \
             before `bind` (waiting for input, or in an endless loop)?"
            .into(),
        Problem::BadListeningLine { .. } => "The first line on stdout must be exactly \
             `listening on IP:PORT` with the port really bound: the grader reads it to know \
             where to connect. Print other things after it."
            .into(),
        Problem::AddrInUse => "The address is already in use: another server is still running \
             on that port (find it and stop it with Ctrl-C), or the port is still in \
             TIME_WAIT after a server just closed (wait a minute, or pick another port). The \
             grader starts the server with `--port 0`: does the server ignore `--port`?"
            .into(),
        Problem::ExitedEarly { status } => format!(
            "The server exited ({status}) before it was listening. {} Its output is above.",
            status_meaning(status)
        ),
        Problem::CannotRun { .. } => "The grader could not run the server's binary. Build it \
             with `cargo build -p PACKAGE` and look at the errors."
            .into(),
        Problem::Crashed { status, .. } => format!(
            "The server process died ({status}) during the scenario: a server must never die \
             because of what one client does. {} Look at the end of its output above.",
            status_meaning(status)
        ),
        Problem::Wrong { .. } => {
            "The server's behaviour differs from session2/PROTOCOL.md; compare the transcript \
             with it."
                .into()
        }
    }
}

/// Whether the problem alone pinpoints the cause (a line without its
/// newline, a `\r` left in, text where a frame was due, a crash, a taken
/// address...), so its hint should come before the scenario's general
/// advice.
pub fn is_specific(problem: &Problem) -> bool {
    match problem {
        Problem::Timeout {
            waiting: Waiting::Line,
            partial,
            ..
        } => !partial.is_empty() && !partial.contains(&b'\n'),
        Problem::Timeout {
            waiting: Waiting::Frame,
            partial,
            ..
        } => !partial.is_empty(),
        Problem::Mismatch { got, .. } => String::from_utf8_lossy(got).contains('\r'),
        Problem::FrameTooLong { .. }
        | Problem::Crashed { .. }
        | Problem::AddrInUse
        | Problem::NoListeningLine { .. }
        | Problem::BadListeningLine { .. }
        | Problem::ExitedEarly { .. }
        | Problem::CannotRun { .. }
        | Problem::Refused { .. } => true,
        _ => false,
    }
}

/// A hint from the server's own output, when it shows the cause: a panic
/// in one of its threads (the process lives on, that client's connection dies).
pub fn output_hint(output: &[Entry]) -> Option<String> {
    let panic = output
        .iter()
        .find_map(|entry| match (&entry.voice, &entry.event) {
            (Voice::ServerStderr, Event::Printed(text)) if text.contains("panicked at") => {
                Some(text)
            }
            _ => None,
        })?;
    Some(format!(
        "The server's output shows a panic ({}): that thread died and its client's connection \
         with it. Handle the error instead of `unwrap()`/`expect()`, or find the bug it points at.",
        panic.trim()
    ))
}

fn timeout_hint(waiting: Waiting, partial: &[u8]) -> String {
    match waiting {
        Waiting::Line if !partial.is_empty() && !partial.contains(&b'\n') => {
            "Bytes arrived but no newline: a line is complete only at its `\\n`, so the client \
             keeps waiting. Did you forget to write the `\\n` (use `writeln!` or push '\\n')?"
                .into()
        }
        Waiting::Frame if !partial.is_empty() && partial.len() < 4 => {
            "Fewer than 4 bytes arrived: a frame starts with a 4-byte length. Write the whole \
             header (`write_all`)."
                .into()
        }
        Waiting::Frame if partial.len() >= 4 => {
            "The length arrived but not that many payload bytes: write the whole payload with \
             `write_all`, and make sure the length counts exactly the payload's bytes."
                .into()
        }
        Waiting::Bytes(_) if !partial.is_empty() => {
            "Only part of the data came back. Keep reading and writing in a loop until the \
             client closes, and use `write_all` (one `write` may send only part)."
                .into()
        }
        Waiting::Frame => "Nothing arrived in time. Did the server write the reply at all, to \
             the right client, as a frame: the 4-byte big-endian length, then the payload? If \
             you write through a `BufWriter`, call `flush()`. If nothing at all moves, the server \
             may be stuck: waiting for bytes that never come (a header read as a line?), or a \
             lock held while writing to a slow client."
            .into(),
        Waiting::Close => "The server kept the connection open. After answering (`DONE`, or \
             an error that ends the connection), close it: return from the client's function \
             so the stream is dropped."
            .into(),
        _ => "Nothing arrived in time. Did the server write the reply at all, to the right \
             client? Lines must end with `\\n`: the reader waits for it. If you write through \
             a `BufWriter`, call `flush()`. If nothing at all moves, the server may be stuck: \
             a blocked read, or a lock held while writing to a slow client."
            .into(),
    }
}

fn mismatch_hint(expected: &str, got: &[u8]) -> String {
    let got_text = String::from_utf8_lossy(got);
    if got_text.ends_with('\r') || got_text.contains("\r\n") {
        return "A `\\r` came through: drop the trailing `\\r` of each line (Windows clients \
                end lines with `\\r\\n`)."
            .into();
    }
    if expected.contains(got_text.trim_end()) && got_text.trim_end().len() > 2 {
        return "Only part of the expected message arrived in this piece: a message must be \
                one unit (one line, one frame), not split or prefixed piecewise."
            .into();
    }
    "The server sent something else than expected. Compare the two byte by byte: the exact \
     texts are in session2/PROTOCOL.md."
        .into()
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

    #[test]
    fn a_panic_in_the_servers_output_is_pointed_at() {
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
        let text = output_hint(&lines).expect("a hint");
        assert!(text.contains("src/main.rs:40:10"), "{text}");
        assert_eq!(output_hint(&lines[..1]), None);
    }

    #[test]
    fn a_missing_newline_is_more_specific_than_advice() {
        assert!(is_specific(&timeout(Waiting::Line, b"bob: hi")));
        assert!(!is_specific(&timeout(Waiting::Line, b"")));
        assert!(!is_specific(&timeout(Waiting::Line, b"bob: hi\nbob: ")));
        assert!(is_specific(&Problem::AddrInUse));
    }

    #[test]
    fn refused_asks_whether_the_server_runs_and_which_port() {
        let text = hint(&Problem::Refused {
            addr: "127.0.0.1:4000".into(),
        });
        assert!(text.contains("Is the server running"), "{text}");
        assert!(text.contains("port"), "{text}");
        assert!(text.contains("127.0.0.1:4000"), "{text}");
    }

    #[test]
    fn a_timeout_with_nothing_asks_about_flush_and_newline() {
        let text = hint(&timeout(Waiting::Line, b""));
        assert!(text.contains("flush()"), "{text}");
        assert!(text.contains("\\n"), "{text}");
        assert!(text.contains("stuck"), "{text}");
    }

    #[test]
    fn a_timeout_with_a_line_missing_its_newline_says_so() {
        let text = hint(&timeout(Waiting::Line, b"bob: hi"));
        assert!(text.contains("forget to write the `\\n`"), "{text}");
    }

    #[test]
    fn a_timeout_on_frames_points_at_the_header_or_the_payload() {
        assert!(hint(&timeout(Waiting::Frame, b"\0\0")).contains("4-byte length"));
        assert!(hint(&timeout(Waiting::Frame, b"\0\0\0\x09bob")).contains("whole payload"));
    }

    #[test]
    fn a_timeout_on_frames_with_nothing_talks_frames_not_lines() {
        let text = hint(&timeout(Waiting::Frame, b""));
        assert!(text.contains("4-byte big-endian length"), "{text}");
        assert!(!text.contains("Lines must end"), "{text}");
    }

    #[test]
    fn a_partial_echo_suggests_the_loop_and_write_all() {
        let text = hint(&timeout(Waiting::Bytes(100), b"abc"));
        assert!(text.contains("write_all"), "{text}");
    }

    #[test]
    fn eof_says_the_server_closed_early() {
        let text = hint(&Problem::Closed {
            client: "ann".into(),
            waiting: Waiting::Line,
            partial: vec![],
        });
        assert!(text.contains("closed the connection early"), "{text}");
    }

    #[test]
    fn address_in_use_mentions_another_server_and_time_wait() {
        let text = hint(&Problem::AddrInUse);
        assert!(text.contains("another server"), "{text}");
        assert!(text.contains("TIME_WAIT"), "{text}");
    }

    #[test]
    fn a_crash_names_the_status_and_explains_a_panic() {
        let text = hint(&Problem::Crashed {
            status: "exit status: 101".into(),
            during: None,
        });
        assert!(text.contains("exit status: 101"), "{text}");
        assert!(text.contains("panic"), "{text}");
    }

    #[test]
    fn a_hang_before_listening_mentions_announce() {
        let text = hint(&Problem::NoListeningLine {
            waited: Duration::from_secs(9),
        });
        assert!(text.contains("classroom::announce"), "{text}");
    }

    #[test]
    fn a_carriage_return_is_spotted() {
        let text = hint(&Problem::Mismatch {
            client: "ann".into(),
            waiting: Waiting::Line,
            expected: "\"bob: hi\"".into(),
            got: b"bob: hi\r".to_vec(),
        });
        assert!(text.contains("`\\r`"), "{text}");
    }

    #[test]
    fn text_where_a_frame_header_was_due_is_spotted() {
        let text = hint(&Problem::FrameTooLong {
            client: "ann".into(),
            header: *b"SERV",
            length: u32::from_be_bytes(*b"SERV"),
        });
        assert!(text.contains("sent a line where a frame"), "{text}");
    }

    #[test]
    fn a_blocked_send_suggests_a_stuck_server() {
        let text = hint(&Problem::SendFailed {
            client: "ann".into(),
            error: "timed out".into(),
            timed_out: true,
        });
        assert!(text.contains("stopped reading"), "{text}");
    }
}
