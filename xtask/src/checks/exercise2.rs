//! Exercise 2: the threaded echo server. Several clients at once, each with
//! its own echoes; a blocking server makes the later ones wait.

use super::echo::{self, round_trip};
use crate::grader::failure::{Advise, Expect};
use crate::grader::liveness::Kind;
use crate::grader::peer::Wire;
use crate::grader::{Check, Ctx, Scenario};

const THREAD_ADVICE: &str = "Serve each client in its own thread: `thread::spawn(move || \
    ...)` right after `accept`, and do not `join()` it there, so the loop goes straight back \
    to `accept`.";

pub fn check() -> Check {
    Check {
        exercise: 2,
        idea: "a threaded echo server: several clients at once",
        wire: Wire::Raw,
        kind: Kind::Echo {
            one_at_a_time: false,
        },
        scenarios: vec![
            Scenario {
                name: "three clients connected at once each get their echoes, last one first",
                run: three_at_once,
            },
            Scenario {
                name: "each client gets only its own echoes",
                run: own_echoes,
            },
            Scenario {
                name: "a client that leaves does not disturb the others",
                run: one_leaves,
            },
            Scenario {
                name: "two clients send 100 KB each at the same time",
                run: big_messages,
            },
            Scenario {
                name: "a client that vanishes (reset) does not stop the server",
                run: echo::survives_a_reset,
            },
        ],
    }
}

fn three_at_once(ctx: &Ctx) -> Expect {
    let mut ann = ctx.connect("ann")?;
    let mut bob = ctx.connect("bob")?;
    let mut cat = ctx.connect("cat")?;
    // The newest first: a server still busy with ann never gets to cat.
    round_trip(&mut cat, b"cat here\n").advice(THREAD_ADVICE)?;
    round_trip(&mut bob, b"bob here\n").advice(THREAD_ADVICE)?;
    round_trip(&mut ann, b"ann here\n")?;
    round_trip(&mut cat, b"cat again\n")?;
    round_trip(&mut ann, b"ann again\n")
}

fn own_echoes(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "Each thread echoes to its own client: give the thread the stream \
        it accepted (`move`), and keep its buffer inside the thread.";
    let mut ann = ctx.connect("ann")?;
    let mut bob = ctx.connect("bob")?;
    ann.send(b"from ann\n")?;
    bob.send(b"from bob\n")?;
    ann.expect_bytes(b"from ann\n").advice(ADVICE)?;
    bob.expect_bytes(b"from bob\n").advice(ADVICE)?;
    ann.expect_silence().advice(ADVICE)?;
    bob.expect_silence().advice(ADVICE)
}

fn one_leaves(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "When one client leaves, only its thread ends: the others and the \
        accept loop go on.";
    let mut ann = ctx.connect("ann")?;
    let mut bob = ctx.connect("bob")?;
    round_trip(&mut ann, b"ann here\n")?;
    round_trip(&mut bob, b"bob here\n").advice(THREAD_ADVICE)?;
    ann.close();
    round_trip(&mut bob, b"bob still here\n").advice(ADVICE)?;
    let mut cat = ctx.connect("cat")?;
    round_trip(&mut cat, b"cat joins later\n").advice(ADVICE)
}

fn big_messages(ctx: &Ctx) -> Expect {
    let mut ann = ctx.connect("ann")?;
    let mut bob = ctx.connect("bob")?;
    echo::big_messages(&mut [&mut ann, &mut bob], THREAD_ADVICE)
}
