//! Echo scenarios (exercises 1 and 2): every byte comes back to its sender.

use crate::grader::Ctx;
use crate::grader::failure::{Advise, Expect, Problem};
use crate::grader::peer::Peer;

/// The size of the "big message": several reads' worth, and more than one
/// `write` is guaranteed to send, but small enough for any socket buffers.
pub const BIG: usize = 100 * 1024;

/// A big message whose bytes depend on `seed`, so mix-ups show.
pub fn big_message(seed: u8) -> Vec<u8> {
    (0..BIG)
        .map(|i| b'a' + ((i / 1000) as u8).wrapping_add(seed) % 26)
        .collect()
}

/// Sends `bytes` and expects them back. Other bytes coming back is about
/// what is written, whatever the scenario is about.
pub fn round_trip(peer: &mut Peer, bytes: &[u8]) -> Expect {
    peer.send(bytes)?;
    peer.expect_bytes(bytes).map_err(|failure| {
        if matches!(*failure.problem, Problem::Mismatch { .. }) {
            failure.with_advice(EXACT_ADVICE)
        } else {
            failure
        }
    })
}

pub const EXACT_ADVICE: &str = "Write back exactly the bytes you read, `&buffer[..n]`: not the \
    whole buffer, not a String, nothing added.";

pub const LOOP_ADVICE: &str = "Echo in a loop: read, write back what you read, read again, \
    until a read returns 0 (the client closed its side).";

pub const BIG_ADVICE: &str = "A big message arrives over several reads: keep looping, and \
    write each chunk back with `write_all` (one `write` may send only part).";

/// Big messages from `peers`, all sent before any is read back.
pub fn big_messages(peers: &mut [&mut Peer], advice: &str) -> Expect {
    for (seed, peer) in peers.iter_mut().enumerate() {
        peer.send(&big_message(seed as u8))?;
    }
    for (seed, peer) in peers.iter_mut().enumerate() {
        peer.expect_bytes(&big_message(seed as u8)).advice(advice)?;
    }
    Ok(())
}

/// A client resets its connection mid-conversation; the next one is served.
pub fn survives_a_reset(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "A client that vanishes makes `read` fail (connection reset): \
        handle the error for that client (log it, drop the connection) and carry on; never \
        `unwrap()` it.";
    let mut ann = ctx.connect("ann")?;
    round_trip(&mut ann, b"about to vanish\n")?;
    ann.send(b"unread bytes, then gone")?;
    ann.reset();
    let mut bob = ctx.connect("bob").advice(ADVICE)?;
    round_trip(&mut bob, b"still there?\n").advice(ADVICE)
}
