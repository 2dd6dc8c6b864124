//! # Exercise 8 (bonus): flood control's pacer
//!
//! Goal: one classmate who pastes ten thousand lines (`seq 1 10000 |
//! chat-client`) must slow down *themselves*, not cost the listeners their
//! place. Without flood control, that flood fills every listener's queue in
//! a second and the room drops the listeners ("too slow, its queue is
//! full") while the flooder stays. With it, a client may send a burst of
//! messages at once, then a steady rate; beyond that its reader waits
//! before handling the next message and reads nothing meanwhile, so TCP
//! slows that sender and nobody else; and one that keeps pushing for a
//! whole burst's time more is disconnected for Excess Flood.
//!
//! Everything but the pacer is step 8's own code: this crate compiles step
//! 8's files as they are (the `#[path]` lines below), with your
//! `src/flood.rs` in place of step 8's, and takes the other defences from
//! step 8's library. The reader (`client.rs`) asks a client's `Pacer` about
//! every message it gets; `Pacer::pace`, which decides, is yours.
//!
//! Fill in the TODOs in `src/flood.rs` (read README.md for what the grader
//! tries, and hints), then check your work:
//!
//! ```text
//! cargo xtask check exercise8
//! ```
//!
//! Try it by hand: `cargo run -p exercise8` in one terminal,
//! `cargo run -p chat-client` in two others, and in a fourth
//! `seq 1 10000 | cargo run -p chat-client -- --name prank`.

// Step 8's server, file by file: compiled into this crate, so that the
// `crate::flood` they name is yours (`src/flood.rs`).
#[path = "../../../session2/step8-prankster-proof/src/client.rs"]
mod client;
#[path = "../../../session2/step8-prankster-proof/src/outbox.rs"]
mod outbox;
#[path = "../../../session2/step8-prankster-proof/src/room.rs"]
mod room;
#[path = "../../../session2/step8-prankster-proof/src/server.rs"]
mod server;

// Yours: the pacer.
mod flood;

// Step 8's other defences, from its library.
use step8_prankster_proof::{lines, log_quota, names, scrub, seats, spare};

fn main() -> anyhow::Result<()> {
    server::run(clap::Parser::parse())
}
