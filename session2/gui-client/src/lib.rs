//! # The bonus: a window instead of a terminal
//!
//! **What is new:** the same chat as `chat-client`, in a desktop window
//! (egui), and a server window for the projector. The protocol, framing,
//! limits and cleaning of text are the terminal client's; what is new is
//! *who waits for what*.
//!
//! **The rule of every GUI: the interface thread never blocks on the
//! network.** A window is a loop on one thread: take the input (a click, a
//! key), draw a frame, repeat, sixty times a second when something moves.
//! While that thread is inside `connect` (up to 5 s for an address that
//! does not answer), `read` (for as long as the room is quiet) or `write`
//! (for as long as a stalled server takes nothing), no frame is drawn: the
//! window turns grey, the system offers to kill it, and the Send button
//! that would have told you what is wrong cannot even be pressed. The
//! terminal client had two blocking waits and used two threads; a window
//! has one thread that must not wait at all.
//!
//! **The solution is the one the Python lesson's tkinter version uses with
//! `queue.Queue`: the network runs in its own threads and talks to the
//! interface only through channels** (`std::sync::mpsc`):
//!
//! * a reader thread connects, then reads messages, cleans them for the
//!   screen, and sends each one as an event; after each it calls
//!   `request_repaint`, which wakes a window that is asleep waiting for
//!   input (egui draws nothing until something happens);
//! * a writer thread takes what you typed from a second channel and writes
//!   it to the socket, so a server that stops reading stalls only it;
//! * the interface calls only `try_recv` and `try_send`, which never wait.
//!   Each frame it takes a bounded batch of events, so a flood of 10,000
//!   lines takes a few quick frames instead of one frozen one, and it keeps
//!   only the last few thousand lines, so memory stays bounded.
//!
//! Both channels are bounded too: a window that cannot keep up slows its
//! reader, which slows TCP, which slows the server's writer for us alone
//! (step 6's lesson, from the other side).
//!
//! **Try it** (three terminals, or the server window instead of the first):
//!
//! ```text
//! terminal 1:  cargo run -p step8-prankster-proof   (or: cargo run -p gui-client -- --serve)
//! terminal 2:  cargo run -p gui-client              (a window: type a name, press Connect)
//! terminal 3:  cargo run -p chat-client -- --name bob
//! ```
//!
//! **Observe:** bob's lines appear in the window while you are typing in
//! it, and the window still answers clicks while a connection attempt to a
//! wrong address waits its 5 seconds. Try a name that is taken, `/name`,
//! `/who`, then stop the server: the status line says why the conversation
//! ended, and Reconnect tries again.
//!
//! Modules: [`wire`] (framing, as in `chat-client`), [`screen`] (what may be
//! shown), [`room`] (what the server's lines mean), [`net`] (the threads
//! and channels), [`chat`] (the chat window), [`serve`] (the server window).

pub mod chat;
pub mod net;
pub mod room;
pub mod screen;
pub mod serve;
pub mod wire;
