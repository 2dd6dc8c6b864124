//! Exercise 7: length-prefixed frames. The same chat, each message a 4-byte
//! big-endian length and that many bytes: headers split across writes, two
//! frames in one write, a newline inside a payload, and a length over the
//! limit refused without allocating it.

use super::chat::{self, all_silent, chat, from_server, join, said};
use crate::grader::failure::{Advise, Expect, Problem};
use crate::grader::liveness::Kind;
use crate::grader::peer::{Wire, encode};
use crate::grader::{Check, Ctx, Scenario};

pub fn check() -> Check {
    Check {
        exercise: 7,
        idea: "length-prefixed frames",
        wire: Wire::Frames,
        kind: Kind::Chat,
        scenarios: vec![
            Scenario {
                name: "a newcomer is announced and messages carry the sender's name, as frames",
                run: chat::newcomer_announced,
            },
            Scenario {
                name: "a frame sent a byte at a time (header split across writes) is one message",
                run: split_header,
            },
            Scenario {
                name: "two frames in one write are two messages; an empty frame is ignored",
                run: two_frames_in_one_write,
            },
            Scenario {
                name: "a payload with a newline inside stays one message",
                run: newline_inside,
            },
            Scenario {
                name: "an oversize length is refused, without waiting for it, and the room goes on",
                run: oversize,
            },
            Scenario {
                name: "EXIT, bye and /quit get DONE and a close, as frames",
                run: chat::goodbyes,
            },
        ],
    }
}

fn split_header(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "A read can return part of the 4-byte header, or part of the \
        payload: keep the bytes until you have all 4, then until the whole payload is in \
        (`read_exact` does both).";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    bob.send_in_pieces(&encode(Wire::Frames, b"in pieces"), 1)?;
    ann.expect(&said(&bob.name, "in pieces")).advice(ADVICE)?;
    ann.expect_silence().advice(ADVICE)
}

fn two_frames_in_one_write(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "One read can hold several frames: right after a payload comes the \
        next header. A zero-length frame is ignored.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut bytes = encode(Wire::Frames, b"first");
    bytes.extend(encode(Wire::Frames, b""));
    bytes.extend(encode(Wire::Frames, b"second"));
    bob.send(&bytes)?;
    ann.expect(&said(&bob.name, "first")).advice(ADVICE)?;
    ann.expect(&said(&bob.name, "second")).advice(ADVICE)?;
    all_silent(&mut [&mut ann, &mut bob], ADVICE)
}

fn newline_inside(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "A frame's payload may hold any bytes, newlines too: it is one \
        message; do not split it into lines.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    bob.say("line one\nline two")?;
    let start = said(&bob.name, "line one");
    ann.expect_where("one frame from bob holding both lines", |payload| {
        payload.starts_with(&start) && payload.ends_with("line two")
    })
    .advice(ADVICE)?;
    all_silent(&mut [&mut ann, &mut bob], ADVICE)
}

fn oversize(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "Check the announced length against the limit (`--max-frame`, 64 \
        KiB) before allocating or reading the payload: answer an error frame `SERVER: ...` \
        and close. A client can claim 4 GB and send nothing.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut cat = join(ctx, "cat", &mut [&mut ann, &mut bob])?;
    // A header claiming almost 4 GiB, then a few bytes of payload only.
    cat.send(b"\xff\xff\xff\xf0abc")?;
    match cat.expect_where("an error frame starting with `SERVER: `", from_server) {
        Ok(_) => cat.expect_closed().advice(ADVICE)?,
        Err(failure) if matches!(&*failure.problem, Problem::Reset { partial, .. } if partial.is_empty()) =>
        {
            cat.note("(the reset arrived before the error frame could be read: accepted)");
        }
        Err(failure) => return Err(failure.with_advice(ADVICE)),
    }
    chat::seen_leaving(&cat.name, &mut [&mut ann, &mut bob]).advice(ADVICE)?;
    chat(&mut ann, "still here", &mut [&mut bob]).advice(ADVICE)?;
    all_silent(&mut [&mut ann, &mut bob], ADVICE)
}
