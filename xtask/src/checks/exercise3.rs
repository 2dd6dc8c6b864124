//! Exercise 3: the raw relay. Each chunk a read returns goes to every other
//! client as `ADDR: ` and the chunk's bytes, where ADDR is the sender's
//! address as the server sees it (on loopback: the grader client's own
//! local address). Nothing goes back to the sender; no notices yet.

use crate::grader::failure::{Advise, Expect, Problem, Waiting};
use crate::grader::liveness::Kind;
use crate::grader::peer::{Peer, Wire};
use crate::grader::{Check, Ctx, Scenario};

const RELAY_ADVICE: &str = "Send each chunk you read to every other client, as the sender's \
    address (`peer_addr()`), a colon and a space, then the chunk's bytes unchanged. Keep the \
    clients in shared state (`Arc<Mutex<Vec<...>>>`), added when accepted.";
const NOT_TO_SENDER: &str = "Nothing goes back to the sender: skip the sender when you relay \
    (compare the addresses).";

pub fn check() -> Check {
    Check {
        exercise: 3,
        idea: "a raw relay: every chunk goes to everyone else",
        wire: Wire::Raw,
        kind: Kind::Relay,
        scenarios: vec![
            Scenario {
                name: "a message reaches the other client, prefixed with the sender's address",
                run: two_clients,
            },
            Scenario {
                name: "everyone but the sender gets each message (three clients)",
                run: three_clients,
            },
            Scenario {
                name: "a client that left is forgotten: it gets nothing more; the others go on",
                run: one_leaves,
            },
        ],
    }
}

/// Connects `label` and makes sure the server has it in the room before
/// going on (nothing in a raw relay tells): the newcomer announces itself
/// with a chunk the others must receive (the server reads it, so it has
/// registered it), and the very first client waits for a probe's chunk.
fn arrive(ctx: &Ctx, label: &str, room: &mut [&mut Peer]) -> Expect<Peer> {
    // An arrival that works is one line of the transcript.
    let mark = ctx.mark();
    let mut peer = ctx.connect(label)?;
    let from = peer.local_addr().to_string();
    let mut about = vec![from.clone()];
    let seen = if room.is_empty() {
        ctx.note(format!(
            "a probe sends a chunk, to know when the server has {label} in the room"
        ));
        // As in `chat::confirm_first`: soon, then longer.
        let mut seen = false;
        for divisor in [20, 6, 2] {
            let mut probe = ctx.connect("probe")?;
            about.push(probe.local_addr().to_string());
            probe.send(b"probe\n")?;
            let expected = relayed(&probe, b"probe\n");
            seen = peer.wait_for_bytes(&expected, ctx.timeouts().wait() / divisor)?;
            probe.close();
            if seen {
                break;
            }
        }
        if !seen {
            // Keep every byte: the scenario's expectations will say more.
            return Ok(peer);
        }
        "a probe's chunk reached it".to_string()
    } else {
        relay(&mut peer, format!("{label} arrives\n").as_bytes(), room)?;
        let others: Vec<&str> = room.iter().map(|p| p.label()).collect();
        format!("its first chunk reached {}", others.join(", "))
    };
    ctx.fold(mark, label, format!("connected from {from}; {seen}"), about);
    Ok(peer)
}

/// What the others receive when `from` sends `chunk`.
fn relayed(from: &Peer, chunk: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{}: ", from.local_addr()).into_bytes();
    bytes.extend_from_slice(chunk);
    bytes
}

/// `from` sends `chunk`; each of `to` receives it, prefixed.
fn relay(from: &mut Peer, chunk: &[u8], to: &mut [&mut Peer]) -> Expect {
    from.send(chunk)?;
    for peer in to.iter_mut() {
        peer.expect_bytes(&relayed(from, chunk))
            .advice(RELAY_ADVICE)?;
    }
    Ok(())
}

fn two_clients(ctx: &Ctx) -> Expect {
    let mut ann = arrive(ctx, "ann", &mut [])?;
    let mut bob = arrive(ctx, "bob", &mut [&mut ann])?;
    relay(&mut bob, b"hi from bob\n", &mut [&mut ann])?;
    relay(&mut ann, b"hello bob\n", &mut [&mut bob])?;
    ann.expect_silence().advice(NOT_TO_SENDER)?;
    bob.expect_silence().advice(NOT_TO_SENDER)
}

fn three_clients(ctx: &Ctx) -> Expect {
    let mut ann = arrive(ctx, "ann", &mut [])?;
    let mut bob = arrive(ctx, "bob", &mut [&mut ann])?;
    let mut cat = arrive(ctx, "cat", &mut [&mut ann, &mut bob])?;
    relay(&mut cat, b"cat to all\n", &mut [&mut ann, &mut bob])?;
    relay(&mut ann, b"ann to all\n", &mut [&mut bob, &mut cat])?;
    relay(&mut bob, b"bob to all\n", &mut [&mut ann, &mut cat])?;
    for peer in [&mut ann, &mut bob, &mut cat] {
        peer.expect_silence().advice(NOT_TO_SENDER)?;
    }
    Ok(())
}

fn one_leaves(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "When a client's read returns 0 or fails, remove it from the shared \
        list; and a failed write to one client must not end the sender's thread (ignore or \
        log the error, and go on with the others).";
    let mut ann = arrive(ctx, "ann", &mut [])?;
    let mut bob = arrive(ctx, "bob", &mut [&mut ann])?;
    let mut cat = arrive(ctx, "cat", &mut [&mut ann, &mut bob])?;
    let mut dan = arrive(ctx, "dan", &mut [&mut ann, &mut bob, &mut cat])?;
    relay(
        &mut cat,
        b"cat says bye\n",
        &mut [&mut ann, &mut bob, &mut dan],
    )?;
    // Done sending: the server's read returns 0, and cat must be gone from
    // the room. A room that keeps it holds a handle to its socket, so the
    // connection stays open (and cat, still reading, would get more).
    cat.shutdown_write();
    cat.expect_closed()
        .map_err(|failure| match &*failure.problem {
            Problem::Mismatch { .. }
            | Problem::Timeout {
                waiting: Waiting::Close,
                ..
            } => failure.found(
                "not-forgotten",
                "cat left (it closed its sending side, so the server's read returned 0), yet the \
             server kept its connection open: cat is still in the room's list, holding a \
             handle to its socket, and everyone's words keep going to it. When a client's \
             read returns 0 or fails, take it out of the shared list, so that its connection \
             closes and nobody writes to it again.",
            ),
            _ => failure,
        })?;
    relay(&mut ann, b"one\n", &mut [&mut bob, &mut dan]).advice(ADVICE)?;
    // Writing to a connection that is closed fails from the second write on.
    dan.close();
    for line in [&b"two\n"[..], b"three\n", b"four\n"] {
        relay(&mut ann, line, &mut [&mut bob]).advice(ADVICE)?;
    }
    relay(&mut bob, b"bob still here\n", &mut [&mut ann]).advice(ADVICE)
}
