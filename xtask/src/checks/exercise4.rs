//! Exercise 4: newline framing and nicknames. A message is a line, however
//! TCP cuts the stream; the first line is the nickname; the others see
//! `NAME: TEXT`, join and leave notices; goodbyes get `DONE`.

use super::chat::{self, NOT_TO_SENDER, all_silent, join, join_ending, said};
use crate::grader::failure::{Advise, Expect};
use crate::grader::liveness::Kind;
use crate::grader::peer::Wire;
use crate::grader::{Check, Ctx, Scenario};

pub fn check() -> Check {
    Check {
        exercise: 4,
        idea: "newline framing, nicknames, join and leave notices",
        wire: Wire::Lines,
        kind: Kind::Chat,
        scenarios: vec![
            Scenario {
                name: "a newcomer is announced to the others, and messages carry the sender's name",
                run: chat::newcomer_announced,
            },
            Scenario {
                name: "everyone but the sender gets each line (three clients)",
                run: chat::everyone_but_the_sender,
            },
            Scenario {
                name: "three lines in one write are three messages",
                run: three_lines_in_one_write,
            },
            Scenario {
                name: "a line sent a byte at a time is one message",
                run: byte_at_a_time,
            },
            Scenario {
                name: "\\r\\n endings (a \\r inside a line stays), empty lines and invalid UTF-8 \
                       are handled",
                run: awkward_input,
            },
            Scenario {
                name: "EXIT, bye and /quit get DONE and a close; the others see one leave notice",
                run: chat::goodbyes,
            },
            Scenario {
                name: "a client that just closes is announced as gone, once",
                run: chat::close_announced,
            },
        ],
    }
}

fn three_lines_in_one_write(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "One read can hold several lines: append what you read to the \
        client's buffer, then take out every complete line (up to each `\\n`), not just the \
        first.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    bob.send(b"one\ntwo\nthree\n")?;
    for (i, text) in ["one", "two", "three"].into_iter().enumerate() {
        ann.expect(&said(&bob.name, text))
            .map_err(|failure| {
                // The first line came through, the next never did: a
                // read's first line is taken, and the rest dropped.
                if i > 0 && failure.nothing_arrived() {
                    failure.found(
                        "framing",
                        format!(
                            "ann received bob's first line, and never the others sent in the \
                             same write: the server takes only the first line out of a read \
                             and drops the rest (an `if let` where a `while let` belongs?). One \
                             read can hold several lines: take out every complete line, up to \
                             each `\\n`, before reading again ({} of 3 arrived).",
                            i
                        ),
                    )
                } else {
                    failure
                }
            })
            .advice(ADVICE)?;
    }
    all_silent(&mut [&mut ann, &mut bob], NOT_TO_SENDER)
}

fn byte_at_a_time(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "A read can end in the middle of a line: keep the incomplete part in \
        the client's buffer until its `\\n` arrives, and only then send it on.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    bob.send_in_pieces(b"a line in pieces\n", 1)?;
    ann.expect(&said(&bob.name, "a line in pieces"))
        .advice(ADVICE)?;
    ann.expect_silence().advice(ADVICE)
}

fn awkward_input(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join_ending(ctx, "bob", &mut [&mut ann], "\r\n").advice(
        "Drop a trailing `\\r` from each line (Windows clients end lines with `\\r\\n`), the \
         name line too.",
    )?;
    // Two empty lines and a line, in one write: only framing that takes
    // every line out of a read gets "from windows" out of it.
    bob.send(b"\r\n\nfrom windows\r\n")?;
    ann.expect(&said(&bob.name, "from windows"))
        .map_err(|failure| {
            if failure.nothing_arrived() {
                failure.found(
                    "framing",
                    "ann never received \"from windows\", which bob sent in one write after two \
                     empty lines: the line stays behind in the server's buffer. When a read \
                     holds several lines, take them all out (a `while let`, not an `if let`), \
                     not just the first.",
                )
            } else {
                failure
            }
        })
        .advice("Ignore empty lines (after dropping the `\\r`), and drop the trailing `\\r`.")?;
    // Only the `\r` that ends a line goes: one inside it is part of the
    // text (a progress bar on a terminal is made of them).
    bob.send(b"tick\rtock\r\n")?;
    ann.expect(&said(&bob.name, "tick\rtock")).advice(
        "Drop only the `\\r` that ends a line, right before its `\\n`; a `\\r` inside the line \
         is text.",
    )?;
    bob.send(b"caf\xc3\xa9 \xff!\n")?;
    ann.expect(&said(&bob.name, "caf\u{e9} \u{FFFD}!")).advice(
        "Invalid UTF-8 is replaced with U+FFFD (`String::from_utf8_lossy`), never fatal: the \
         client stays.",
    )?;
    let mut cat = join(ctx, "cat", &mut [&mut ann, &mut bob])?;
    ann.expect_silence()?;
    cat.expect_silence()?;
    Ok(())
}
