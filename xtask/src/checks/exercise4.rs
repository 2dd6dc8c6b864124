//! Exercise 4: newline framing and nicknames. A message is a line, however
//! TCP cuts the stream; the first line is the nickname; the others see
//! `NAME: TEXT`, join and leave notices; goodbyes get `DONE`.

use super::chat::{self, NOT_TO_SENDER, all_silent, introduce, join, said};
use crate::grader::failure::{Advise, Expect};
use crate::grader::peer::Wire;
use crate::grader::{Check, Ctx, Scenario};

pub fn check() -> Check {
    Check {
        exercise: 4,
        idea: "newline framing, nicknames, join and leave notices",
        wire: Wire::Lines,
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
                name: "\\r\\n endings, empty lines and invalid UTF-8 are handled",
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
    for text in ["one", "two", "three"] {
        ann.expect(&said(&bob.name, text)).advice(ADVICE)?;
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
    let bob = ctx.connect("bob")?;
    let mut bob = introduce(ctx, bob, &mut [&mut ann], "\r\n").advice(
        "Drop a trailing `\\r` from each line (Windows clients end lines with `\\r\\n`), the \
         name line too.",
    )?;
    bob.send(b"\r\n\n")?;
    bob.send(b"from windows\r\n")?;
    ann.expect(&said(&bob.name, "from windows"))
        .advice("Ignore empty lines (after dropping the `\\r`), and drop the trailing `\\r`.")?;
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
