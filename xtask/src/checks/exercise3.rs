//! Exercise 3: the raw relay. Each chunk a read returns goes to every other
//! client as `ADDR: ` and the chunk's bytes, where ADDR is the sender's
//! address as the server sees it (on loopback: the grader client's own
//! local address). Nothing goes back to the sender; no notices yet.

use crate::grader::failure::{Advise, Expect, Problem};
use crate::grader::peer::{Peer, Wire};
use crate::grader::{Check, Ctx, Scenario};

const RELAY_ADVICE: &str = "Send each chunk you read to every other client, as the sender's \
    address (`peer_addr()`), a colon and a space, then the chunk's bytes unchanged. Keep the \
    clients in shared state (`Arc<Mutex<Vec<...>>>`), added when accepted.";
const NOT_TO_SENDER: &str = "Nothing goes back to the sender (this client received its own \
    words): skip the sender when you relay (compare the addresses).";

pub fn check() -> Check {
    Check {
        exercise: 3,
        idea: "a raw relay: every chunk goes to everyone else",
        wire: Wire::Raw,
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
                name: "a client that left is forgotten; the others go on",
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
    let mut peer = ctx.connect(label)?;
    if room.is_empty() {
        ctx.note(format!(
            "a probe sends a chunk, to know when the server has {label} in the room"
        ));
        // As in `chat::confirm_first`: soon, then longer.
        for divisor in [20, 6, 2] {
            let mut probe = ctx.connect("probe")?;
            probe.send(b"probe\n")?;
            let expected = relayed(&probe, b"probe\n");
            let seen = peer.wait_for_bytes(&expected, ctx.timeouts().wait() / divisor)?;
            probe.close();
            if seen {
                break;
            }
        }
    } else {
        relay(&mut peer, format!("{label} arrives\n").as_bytes(), room)?;
    }
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
        let own_prefix = format!("{}: ", peer.local_addr());
        peer.expect_bytes(&relayed(from, chunk))
            .map_err(|failure| match &*failure.problem {
                // Its own words came back: say so, not just "something else".
                Problem::Mismatch { got, .. } if got.starts_with(own_prefix.as_bytes()) => {
                    failure.with_advice(NOT_TO_SENDER)
                }
                _ => failure,
            })
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
    relay(&mut cat, b"cat says bye\n", &mut [&mut ann, &mut bob])?;
    cat.close();
    // Writing to the closed connection fails from the second write on.
    for line in [&b"one\n"[..], b"two\n", b"three\n"] {
        relay(&mut ann, line, &mut [&mut bob]).advice(ADVICE)?;
    }
    relay(&mut bob, b"bob still here\n", &mut [&mut ann]).advice(ADVICE)
}
