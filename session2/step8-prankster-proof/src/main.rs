//! # Step 8 (bonus): the prankster-proof room
//!
//! **New in this step:** step 6's room, with a defence against each thing a
//! classroom's prankster tries, one module each. Step 6 survives a client
//! that dies or stops reading; it does not survive one that means harm:
//!
//! * `seq 1 10000 | chat-client` fills every listener's queue in a second,
//!   and step 6 drops the *listeners* ("too slow, its queue is full") while
//!   the flooder stays. **Flood control** (`src/flood.rs`, IRC's "fake
//!   lag") slows the sender at the source: a burst of messages, then a
//!   steady rate; beyond it the reader sleeps and reads nothing, so TCP
//!   slows that sender and nobody else, and one that keeps pushing is
//!   disconnected for Excess Flood.
//! * `ЅERVER` (a Cyrillic `Ѕ`) passes for the server, `cаnary` for the real
//!   canary, `al ice` and an empty name are accepted, and two people may
//!   share a name. **Names** (`src/names.rs`) are checked before anyone
//!   joins: length, no spaces, control or invisible characters, not
//!   `SERVER` nor anything that looks like it or like someone present
//!   (Unicode's confusable skeletons), and the client is asked again.
//! * An escape sequence in a message clears everyone's screen, a U+202E
//!   prints it backwards. **Scrubbing** (`src/scrub.rs`) replaces what a
//!   terminal would obey instead of show.
//! * 64 MiB without a newline is 64 MiB of the server's memory.
//!   **Bounded lines** (`src/lines.rs`, `--max-line`): a longer line gets
//!   an error and a disconnect, and is never held.
//! * One laptop opens every connection the server can take. **Seats**
//!   (`src/seats.rs`): `--max-clients` in all, `--max-per-host` per
//!   address, a connection that never names itself is closed after
//!   `--name-timeout`, and a **spare descriptor** (`src/spare.rs`) lets the
//!   server tell a newcomer it is full even when it has no descriptor left.
//! * Each of these writes to the log, which is on the projector too: **log
//!   rationing** (`src/log_quota.rs`) lets each client cause a few lines a
//!   second and counts the rest.
//!
//! The room itself (`src/room.rs`, `src/outbox.rs`, `src/client.rs`) is
//! step 6's idea, organised so that every way out goes through one place.
//! The defences live in this step's library (`src/lib.rs`): step 9 runs the
//! same room on one thread and uses them as they are.
//!
//! **Try it** (four terminals):
//!
//! ```text
//! terminal 1:  cargo run -p step8-prankster-proof
//! terminal 2:  cargo run -p chat-client            (name: alice)
//! terminal 3:  cargo run -p chat-client            (name: bob)
//! terminal 4:  seq 1 10000 | cargo run -p chat-client -- --name prank
//!              (PowerShell: 1..10000 | cargo run -p chat-client -- --name prank)
//! ```
//!
//! **Observe:** alice and bob see prank's ten thousand lines come out fifty
//! at once, then ten a second, and can chat meanwhile. About five seconds
//! later the server logs `prank left: sent too fast for too long (Excess
//! Flood)` and everyone sees prank leave; alice and bob stay. (Prank's own
//! client stopped waiting three seconds after its input ran out; on Linux
//! or macOS, `(echo prank; yes 'flood flood flood') | nc 127.0.0.1 65433`
//! stays to read the server's last word, `SERVER: you are sending too fast
//! ...`.) Then try `SERVER`, `al ice` or `ЅERVER` as a name in a new
//! chat-client. Do the same against step 6 to see each defence missing.

mod client;
mod outbox;
mod room;
mod server;

// The defences, from this step's library: `crate::flood` and the others
// name them in the modules above.
use step8_prankster_proof::{flood, lines, log_quota, names, scrub, seats, spare};

fn main() -> anyhow::Result<()> {
    server::run(clap::Parser::parse())
}
