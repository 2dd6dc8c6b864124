//! Exercise 6: dead and stalled clients. A client that vanishes (reset) or
//! stops reading never stalls the room and is announced as gone once; and
//! the hardening basics: names are checked, over-long lines are refused,
//! control characters never reach another terminal.

use super::chat::{
    self, LEAVE_ADVICE, NOT_TO_SENDER, all_silent, chat, from_server, join, join_with_tiny_buffer,
    joined, left, said,
};
use crate::grader::failure::{Advise, Expect, Problem};
use crate::grader::peer::{Peer, Wire};
use crate::grader::{Check, Ctx, Scenario};

/// The default `--max-line` of step 6 (session2/PROTOCOL.md).
const MAX_LINE: usize = 4096;

/// The flood that a client which never reads must not turn into a stall:
/// 2000 lines of 4000 bytes (8 MB, more than any socket buffers hold), sent
/// in batches that the reading client drains as they come.
const FLOOD_LINES: usize = 2000;
const FLOOD_LINE_BYTES: usize = 4000;
const FLOOD_BATCH: usize = 16;

const STALL_ADVICE: &str = "One client that stops reading must not stall the others: never \
    write to a socket while holding the shared lock. Give each client a bounded outbound \
    queue (a channel) drained by its own writer thread, and drop a client whose queue \
    overflows or whose writes time out.";

pub fn check() -> Check {
    Check {
        exercise: 6,
        idea: "dead and stalled clients never stall the room",
        wire: Wire::Lines,
        scenarios: vec![
            Scenario {
                name: "a client reset mid-chat is announced once, and the room goes on",
                run: reset_mid_chat,
            },
            Scenario {
                name: "a client that stops reading never stalls the others (8 MB of chat)",
                run: stalled_reader,
            },
            Scenario {
                name: "names are checked: SERVER, too long, with spaces, taken in any case",
                run: names_checked,
            },
            Scenario {
                name: "an over-long line gets an error and a disconnect; the others never see it",
                run: long_line,
            },
            Scenario {
                name: "control characters never reach another client",
                run: control_characters,
            },
        ],
    }
}

fn reset_mid_chat(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "A reset makes that client's read (or a write to it) fail: treat it \
        like a close — remove the client once, tell the others once, and never let the error \
        end another client's thread or the server.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut cat = join(ctx, "cat", &mut [&mut ann, &mut bob])?;
    chat(&mut cat, "about to vanish", &mut [&mut ann, &mut bob])?;
    let name = cat.name.clone();
    cat.reset();
    // The leave notice may come at any point from here on, once.
    for peer in [&mut ann, &mut bob] {
        peer.tolerate_once(&left(&name));
    }
    // Talk at once: the server may learn of the reset from a failed write.
    chat(&mut ann, "cat?", &mut [&mut bob]).advice(ADVICE)?;
    chat(&mut bob, "gone, it seems", &mut [&mut ann]).advice(ADVICE)?;
    for peer in [&mut ann, &mut bob] {
        peer.expect_tolerated(&left(&name)).advice(LEAVE_ADVICE)?;
    }
    all_silent(&mut [&mut ann, &mut bob], LEAVE_ADVICE)
}

fn flood_line(i: usize) -> String {
    let mut line = format!("{i:05} ");
    line.extend(std::iter::repeat_n('x', FLOOD_LINE_BYTES - line.len()));
    line
}

fn stalled_reader(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut sid = join_with_tiny_buffer(ctx, "sid", &mut [&mut ann])?;
    sid.set_quiet(true);
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    // The server may drop sid during the flood (that is fine), once.
    for peer in [&mut ann, &mut bob] {
        peer.tolerate_once(&left(&sid.name));
    }
    ctx.note(format!(
        "sid never reads; ann sends {FLOOD_LINES} lines of {FLOOD_LINE_BYTES} bytes ({} MB) \
         in batches of {FLOOD_BATCH}; bob reads each batch (not shown byte by byte)",
        FLOOD_LINES * FLOOD_LINE_BYTES / 1_000_000
    ));
    ann.set_quiet(true);
    bob.set_quiet(true);
    for batch in (0..FLOOD_LINES).step_by(FLOOD_BATCH) {
        let lines = batch..(batch + FLOOD_BATCH).min(FLOOD_LINES);
        let mut bytes = Vec::with_capacity(FLOOD_BATCH * (FLOOD_LINE_BYTES + 1));
        for i in lines.clone() {
            bytes.extend_from_slice(flood_line(i).as_bytes());
            bytes.push(b'\n');
        }
        ann.send(&bytes).advice(STALL_ADVICE)?;
        for i in lines {
            if let Err(failure) = bob.expect(&said(&ann.name, &flood_line(i))) {
                bob.note(format!("had received {i} of the {FLOOD_LINES} lines"));
                return Err(failure.with_advice(STALL_ADVICE));
            }
        }
    }
    ann.set_quiet(false);
    bob.set_quiet(false);
    bob.note(format!("received all {FLOOD_LINES} lines, in order"));
    chat(&mut bob, "the room still works", &mut [&mut ann]).advice(STALL_ADVICE)?;
    drop(sid);
    Ok(())
}

/// Expects an error line (`SERVER: ...`) to `peer`, not a notice.
fn expect_error(peer: &mut Peer, advice: &str) -> Expect<String> {
    peer.expect_where("an error line starting with `SERVER: `", |line| {
        from_server(line) && !line.contains(" has joined ") && !line.contains(" has left ")
    })
    .advice(advice)
}

fn names_checked(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "Check each name before accepting it: at most 32 characters, no \
        whitespace or control characters, not `SERVER` (any case), not taken (any case). \
        Refuse with an error line `SERVER: ...` and let the client send another name.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = ctx.connect("bob")?;
    let too_long = "b".repeat(33);
    let taken = ann.name.to_uppercase();
    for bad in ["SERVER", too_long.as_str(), "two words", taken.as_str()] {
        bob.say(bad)?;
        expect_error(&mut bob, ADVICE)?;
    }
    ann.expect_silence()
        .advice("A refused name is not announced: the client has not joined yet.")?;
    let name = ctx.unique_name("bob");
    bob.say(&name)?;
    ann.expect(&joined(&name)).advice(ADVICE)?;
    bob.name = name;
    chat(&mut bob, "finally in", &mut [&mut ann])?;
    all_silent(&mut [&mut ann, &mut bob], NOT_TO_SENDER)
}

fn long_line(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "Stop reading a line at the limit (`--max-line`, 4096 bytes): \
        answer an error line `SERVER: ...`, close the connection, and never broadcast or keep \
        the rest. Memory stays bounded whatever a client sends.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut long = vec![b'y'; MAX_LINE + 100];
    long.push(b'\n');
    bob.send(&long)?;
    match expect_error(&mut bob, ADVICE) {
        Ok(_) => bob.expect_closed().advice(ADVICE)?,
        // The server closed with the rest of the line unread, and the reset
        // overtook its error line: the refusal still happened.
        Err(failure) if matches!(&*failure.problem, Problem::Reset { partial, .. } if partial.is_empty()) =>
        {
            bob.note("(the reset arrived before the error line could be read: accepted)");
        }
        Err(failure) => return Err(failure),
    }
    chat::seen_leaving(&bob.name, &mut [&mut ann]).advice(ADVICE)?;
    let mut cat = join(ctx, "cat", &mut [&mut ann])?;
    chat(&mut cat, "the room goes on", &mut [&mut ann])?;
    all_silent(&mut [&mut ann, &mut cat], ADVICE)
}

fn control_characters(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    bob.send(b"\x1b[2J\x1b[31mred alert\x1b[0m\x07 and a\ttab\n")?;
    let prefix = format!("{}: ", bob.name);
    ann.expect_where(
        "bob's line with no control characters but tab (and still its words)",
        |line| {
            line.starts_with(&prefix)
                && line.contains("alert")
                && line.contains("tab")
                && !line.chars().any(|c| c.is_control() && c != '\t')
        },
    )
    .advice(
        "Remove (or replace) control characters other than tab before broadcasting: an \
         escape sequence would clear or recolour the other terminals.",
    )?;
    all_silent(&mut [&mut ann, &mut bob], NOT_TO_SENDER)
}
