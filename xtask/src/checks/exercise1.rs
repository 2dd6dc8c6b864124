//! Exercise 1: the blocking echo server. Every byte a client sends comes back
//! unchanged, for as long as it stays; one client at a time is fine.

use super::echo::{self, EXACT_ADVICE, LOOP_ADVICE, round_trip};
use crate::grader::failure::{Advise, Expect};
use crate::grader::liveness::Kind;
use crate::grader::peer::Wire;
use crate::grader::{Check, Ctx, Scenario};

pub fn check() -> Check {
    Check {
        exercise: 1,
        idea: "a blocking echo server: every byte comes back",
        wire: Wire::Raw,
        kind: Kind::Echo {
            one_at_a_time: true,
        },
        scenarios: vec![
            Scenario {
                name: "a line comes back unchanged",
                run: one_line,
            },
            Scenario {
                name: "several messages on one connection all come back",
                run: several_messages,
            },
            Scenario {
                name: "any bytes come back exactly (binary, no newline)",
                run: exact_bytes,
            },
            Scenario {
                name: "100 KB sent at once comes back whole",
                run: big_message,
            },
            Scenario {
                name: "clients one after another are each served",
                run: one_after_another,
            },
            Scenario {
                name: "a client that vanishes (reset) does not stop the server",
                run: echo::survives_a_reset,
            },
        ],
    }
}

fn one_line(ctx: &Ctx) -> Expect {
    let mut ann = ctx.connect("ann")?;
    round_trip(&mut ann, b"hello\n").advice(
        "Read what the client sent, then write those same bytes back with `write_all` \
         (`use std::io::Write` brings it in).",
    )?;
    ann.expect_silence().advice(EXACT_ADVICE)
}

fn several_messages(ctx: &Ctx) -> Expect {
    let mut ann = ctx.connect("ann")?;
    for line in [&b"one\n"[..], b"two\n", b"three\n"] {
        round_trip(&mut ann, line).advice(LOOP_ADVICE)?;
    }
    Ok(())
}

fn exact_bytes(ctx: &Ctx) -> Expect {
    let mut ann = ctx.connect("ann")?;
    round_trip(&mut ann, "h\u{e9}llo w\u{f6}rld".as_bytes())?;
    round_trip(&mut ann, b"\x00\x01\xfe\xff no newline").advice(EXACT_ADVICE)?;
    ann.expect_silence().advice(EXACT_ADVICE)
}

fn big_message(ctx: &Ctx) -> Expect {
    let mut ann = ctx.connect("ann")?;
    echo::big_messages(&mut [&mut ann], echo::BIG_ADVICE)
}

fn one_after_another(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "When a client leaves (a read returns 0), go back to `accept` and \
        serve the next one.";
    let mut ann = ctx.connect("ann")?;
    round_trip(&mut ann, b"first client\n")?;
    ann.close();
    let mut bob = ctx.connect("bob")?;
    round_trip(&mut bob, b"second client\n").advice(ADVICE)?;
    bob.shutdown_write();
    bob.expect_closed().advice(
        "When the client closes its side, the read returns 0: return from the echo loop so \
         the connection is closed.",
    )?;
    let mut cat = ctx.connect("cat")?;
    round_trip(&mut cat, b"third client\n").advice(ADVICE)
}
