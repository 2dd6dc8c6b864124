//! Step 8's defences, one module each, as a library: none of them does any
//! I/O or knows about threads, so the server of this step uses them, and so
//! does step 9's, which runs the same room on one thread.
//!
//! The server itself (the room, the client threads, the accept loop) is in
//! `main.rs` and the modules it declares.

pub mod flood;
pub mod lines;
pub mod log_quota;
pub mod names;
pub mod scrub;
pub mod seats;
pub mod spare;
