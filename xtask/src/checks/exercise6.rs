//! Exercise 6: a writer thread per client. A client that vanishes (reset)
//! or stops reading never stalls the room and is announced as gone once:
//! nobody writes to a socket while holding the room's lock.
//!
//! The floods past a client that stops reading are not a person's pace: a
//! server with flood control (step 8's) is started with it off for them
//! (`Ctx::with_flood_control_off`); step 6's has none to turn off.

use std::time::Instant;

use super::chat::{
    LEAVE_ADVICE, all_silent, chat, from_server, join, join_with_tiny_buffer, left, said,
};
use crate::grader::failure::{Advise, Expect, Failure, Problem};
use crate::grader::liveness::Kind;
use crate::grader::peer::{Peer, Wire};
use crate::grader::{Check, Ctx, Scenario};

/// A flood that a client which never reads must not turn into a stall:
/// `lines` lines of `line_bytes` bytes from ann, sent in batches of `batch`
/// lines that bob, reading, drains as they come.
struct Flood {
    lines: usize,
    line_bytes: usize,
    batch: usize,
    /// What the flood fills, for the transcript's note.
    why: &'static str,
    advice: &'static str,
}

/// Long lines: 2000 of 4000 bytes (8 MB, more than any socket buffers
/// hold). A server that writes to sockets under the lock stalls. Run with
/// the server's flood control off.
const LONG_LINES: Flood = Flood {
    lines: 2000,
    line_bytes: 4000,
    batch: 16,
    why: "more than any socket buffers hold",
    advice: STALL_ADVICE,
};

/// Short lines: 32000 of 200 bytes (6.4 MB). That is more than the kernel
/// holds for sid (loopback grows a send buffer up to about 4 MB) plus its
/// queue of 1024 messages, and 1024 messages of 210 bytes (even with as many
/// again in its writer's hands) stay far below the 8 MiB `--queue-bytes`:
/// the message bound trips first. A push that then waits for room stalls
/// the room; one that fails at once drops sid. Run with the server's flood
/// control off.
const SHORT_LINES: Flood = Flood {
    lines: 32_000,
    line_bytes: 200,
    batch: 400,
    why: "more than sid's socket buffers and a 1024-message queue hold",
    advice: FULL_QUEUE_ADVICE,
};

/// What the two floods are sized against: step 6's defaults for
/// `--queue-messages` and `--queue-bytes`, the largest send buffer loopback
/// grows to (Linux's `tcp_wmem` maximum, macOS's `autosndbufmax`), and the
/// `NAME: ` before each relayed line (a grader name has 8 characters).
const QUEUE_MESSAGES: usize = 1024;
const QUEUE_BYTES: usize = 8 << 20;
const LARGEST_SEND_BUFFER: usize = 4 << 20;
const NAME_PREFIX: usize = "ann_k3x9: ".len();

// Long lines: the flood goes well past the kernel's buffers, where a
// server that writes under the lock blocks.
const _: () = assert!(LONG_LINES.lines * LONG_LINES.line_bytes > LARGEST_SEND_BUFFER * 3 / 2);
// Short lines: a full queue, plus as much again in its writer's hands, stays
// below half the byte bound; and the flood goes past the kernel's buffers
// and twice that.
const SHORT_MESSAGE: usize = NAME_PREFIX + SHORT_LINES.line_bytes + 1;
const _: () = assert!(2 * QUEUE_MESSAGES * SHORT_MESSAGE < QUEUE_BYTES / 2);
const _: () = assert!(
    SHORT_LINES.lines * SHORT_MESSAGE
        > LARGEST_SEND_BUFFER + 2 * 2 * QUEUE_MESSAGES * SHORT_MESSAGE
);

const STALL_ADVICE: &str = "One client that stops reading must not stall the others: never \
    write to a socket while holding the shared lock. Give each client a bounded outbound \
    queue (a channel) drained by its own writer thread, and drop a client whose queue \
    overflows or whose writes time out.";

const FULL_QUEUE_ADVICE: &str = "A full queue must not block: once a client's queue holds \
    `--queue-messages` messages, one more push must fail at once. A push that waits for room \
    (a blocking `send` on a full `sync_channel`, a loop until the counts go down) waits with \
    the room's lock held, so everyone waits for the client that stopped reading (until its \
    writer times out). In `Outbox::push`, count the message first; over a bound, take it \
    back and return an error: the room drops the slow client.";

const FLOOD_CONTROL_ADVICE: &str = "This server limits how fast one client may send (flood \
    control), so one grader client cannot push megabytes past a client that stops reading. \
    Start it with its flood control off to grade this scenario (the course's servers: \
    `--flood-rate 0`), or let the grader start it: `cargo xtask check exercise6` turns flood \
    control off for this scenario only.";

pub fn check() -> Check {
    Check {
        exercise: 6,
        idea: "dead and stalled clients never stall the room",
        wire: Wire::Lines,
        kind: Kind::Chat,
        scenarios: vec![
            Scenario {
                name: "a client reset mid-chat is announced once, and the room goes on",
                run: reset_mid_chat,
            },
            Scenario {
                name: "clients that vanish while others talk are announced once each, and the \
                       room goes on",
                run: vanish_while_others_talk,
            },
            Scenario {
                name: "a client that stops reading never stalls the others (8 MB of chat, flood \
                       control off)",
                run: |ctx| ctx.with_flood_control_off(|ctx| stalled_reader(ctx, &LONG_LINES)),
            },
            Scenario {
                name: "a full queue never stalls the room: 32000 short lines past a client that \
                       stops reading (flood control off)",
                run: |ctx| ctx.with_flood_control_off(|ctx| stalled_reader(ctx, &SHORT_LINES)),
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

/// How many times clients vanish in the middle of everyone's bursts, how
/// many lines each talker sends per burst, and how many each of the
/// vanishing clients sends first. Within any flood control's allowance: 3
/// bursts of 15 lines, plus a name and a last line, stay under 50.
const VANISHING_ROUNDS: usize = 3;
const BURST_LINES: usize = 15;
const LAST_WORDS: usize = 10;

/// ann and bob each send a burst of lines in one write while three clients,
/// busy sending lines of their own, reset their connections. The server is
/// writing to them as they vanish, and their own threads are busy with
/// their last words: some write to a departed client fails before its
/// reader notices the reset. That failed write must remove the client
/// (once) without stopping the others. A server whose cleanup takes the
/// room's lock again (the Python lesson's `broadcast()` calling
/// `remove_client()`) deadlocks right here.
fn vanish_while_others_talk(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "A write to a client that vanished fails: remove that client right \
        there (once), under the lock you already hold, tell the others once, and go on with \
        the rest of the room.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let lines = |who: &str, round: usize, count: usize| -> Vec<String> {
        (0..count)
            .map(|i| format!("{who} {round}.{i:02}"))
            .collect()
    };
    let bytes = |texts: &[String]| -> Vec<u8> {
        texts
            .iter()
            .flat_map(|t| format!("{t}\n").into_bytes())
            .collect()
    };
    for round in 0..VANISHING_ROUNDS {
        let mut cat = join(ctx, "cat", &mut [&mut ann, &mut bob])?;
        let mut dan = join(ctx, "dan", &mut [&mut ann, &mut bob, &mut cat])?;
        let eve = join(ctx, "eve", &mut [&mut ann, &mut bob, &mut cat, &mut dan])?;
        let mut vanishing = [cat, dan, eve];
        ctx.note(format!(
            "cat, dan and eve send {LAST_WORDS} lines each and vanish (reset), while ann and \
             bob send {BURST_LINES} lines each in one write"
        ));
        // Their last words may arrive or not, their leave notices anywhere:
        // each is allowed once.
        for victim in &vanishing {
            for text in lines(victim.label(), round, LAST_WORDS) {
                for peer in [&mut ann, &mut bob] {
                    peer.tolerate_once(&said(&victim.name, &text));
                }
            }
            for peer in [&mut ann, &mut bob] {
                peer.tolerate_once(&left(&victim.name));
            }
        }
        for victim in &mut vanishing {
            let last_words = bytes(&lines(victim.label(), round, LAST_WORDS));
            victim.send(&last_words)?;
        }
        let (from_ann, from_bob) = (
            lines("ann", round, BURST_LINES),
            lines("bob", round, BURST_LINES),
        );
        ann.send(&bytes(&from_ann))?;
        bob.send(&bytes(&from_bob))?;
        let gone: Vec<String> = vanishing.iter().map(|v| v.name.clone()).collect();
        for victim in vanishing {
            victim.reset();
        }
        for text in &from_bob {
            ann.expect(&said(&bob.name, text)).advice(ADVICE)?;
        }
        for text in &from_ann {
            bob.expect(&said(&ann.name, text)).advice(ADVICE)?;
        }
        for peer in [&mut ann, &mut bob] {
            for name in &gone {
                peer.expect_tolerated(&left(name)).advice(LEAVE_ADVICE)?;
            }
        }
    }
    chat(&mut ann, "still here", &mut [&mut bob]).advice(ADVICE)?;
    all_silent(&mut [&mut ann, &mut bob], LEAVE_ADVICE)
}

impl Flood {
    /// Line `i`: its number, then `x` up to `line_bytes`.
    fn line(&self, i: usize) -> String {
        let mut line = format!("{i:05} ");
        line.extend(std::iter::repeat_n('x', self.line_bytes - line.len()));
        line
    }
}

fn stalled_reader(ctx: &Ctx, flood: &Flood) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut sid = join_with_tiny_buffer(ctx, "sid", &mut [&mut ann])?;
    sid.set_quiet(true);
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    // The server may drop sid during the flood (that is fine), once.
    for peer in [&mut ann, &mut bob] {
        peer.tolerate_once(&left(&sid.name));
    }
    let Flood {
        lines: total,
        line_bytes,
        batch,
        why,
        advice,
    } = *flood;
    ctx.note(format!(
        "sid never reads; ann sends {total} lines of {line_bytes} bytes ({:.1} MB, {why}) \
         in batches of {batch}; bob reads each batch (not shown byte by byte)",
        (total * (line_bytes + 1)) as f64 / 1e6
    ));
    ann.set_quiet(true);
    bob.set_quiet(true);
    let started = Instant::now();
    for first in (0..total).step_by(batch) {
        let lines = first..(first + batch).min(total);
        let mut bytes = Vec::with_capacity(batch * (line_bytes + 1));
        for i in lines.clone() {
            bytes.extend_from_slice(flood.line(i).as_bytes());
            bytes.push(b'\n');
        }
        let batch_started = Instant::now();
        if let Err(failure) = ann.send(&bytes) {
            return Err(flood_control_or(
                ctx, &mut ann, first, started, failure, advice,
            ));
        }
        for i in lines {
            if let Err(failure) = bob.expect(&said(&ann.name, &flood.line(i))) {
                bob.note(format!("had received {i} of the {total} lines"));
                return Err(flood_control_or(ctx, &mut ann, i, started, failure, advice));
            }
        }
        // A shared server may pace ann on purpose: every line arrives, but
        // at a person's pace. That is flood control, not a stalled room.
        if ctx.shared_server() && batch_started.elapsed() > ctx.timeouts().settle() {
            return Err(slowed_down(first + batch, started, None));
        }
    }
    ann.set_quiet(false);
    bob.set_quiet(false);
    bob.note(format!("received all {total} lines, in order"));
    chat(&mut bob, "the room still works", &mut [&mut ann]).advice(advice)?;
    drop(sid);
    Ok(())
}

/// The failure of a flood on a shared server whose flood control may have
/// slowed (or disconnected) ann: if ann was told she sends too fast, that
/// is the diagnosis; otherwise `failure`, with `advice`.
fn flood_control_or(
    ctx: &Ctx,
    ann: &mut Peer,
    received: usize,
    started: Instant,
    failure: Failure,
    advice: &str,
) -> Failure {
    if ctx.shared_server() {
        let words = ann
            .expect_where("a SERVER: line saying ann sends too fast", |line| {
                from_server(line) && (line.contains("too fast") || line.contains("flood"))
            })
            .ok();
        if words.is_some() {
            return slowed_down(received, started, words);
        }
    }
    failure.with_advice(advice)
}

/// The report for a flood that the server's own flood control slowed down:
/// `received` lines in the time since `started`, and what the server said.
fn slowed_down(received: usize, started: Instant, said: Option<String>) -> Failure {
    let seconds = started.elapsed().as_secs_f64();
    let mut what = format!(
        "the server slowed ann down on purpose (flood control): bob received {received} lines \
         in {seconds:.1} s, about {:.0} a second, so this scenario cannot tell whether a client \
         that stops reading stalls the room",
        received as f64 / seconds.max(0.001)
    );
    if let Some(said) = said {
        what.push_str(&format!("; the server told ann {said:?}"));
    }
    Failure::new(
        Problem::Wrong { what },
        "ann's lines reach bob as fast as she sends them (flood control off)",
    )
    .with_advice(FLOOD_CONTROL_ADVICE)
}
