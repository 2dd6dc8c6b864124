//! # Step 9 (bonus): one thread, a thousand clients
//!
//! **New in this step:** step 8's room, every defence of it, on one thread.
//! Each connection is two *tasks* instead of two threads (its reader, its
//! writer), and one runtime, [tokio](https://tokio.rs), runs every task of
//! every client on the program's main thread.
//!
//! **Why threads stop paying.** A thread is the kernel's: it has a stack,
//! and making it run again is a system call and a context switch. In
//! step 8, every message wakes the writer thread of every listener: at 500
//! clients that is more than one wake-up (a futex call and a context
//! switch) per delivery, and it costs far more than the write itself. A
//! thousand idle clients cost step 8 two thousand threads and about 50 MiB.
//! A task is a value in the runtime's queue, a few hundred bytes: waking
//! one means pushing it onto that queue, and the one thread runs it soon
//! after, with all the other tasks that have work, one after the other.
//!
//! **What `.await` means.** The code reads like step 8's, with `.await`
//! wherever step 8 blocks: in `accept`, waiting for bytes, waiting for room
//! to write, in every sleep (`src/server.rs`, `src/client.rs`,
//! `src/outbox.rs`). A thread that blocks is parked by the kernel; a task
//! that awaits returns to the runtime, *not ready yet*, having said which
//! event it waits for (this socket readable, that one writable, this time
//! reached). The runtime runs other tasks meanwhile and resumes this one,
//! just after its `.await`, once the event has happened. So a task must
//! never block: one `std::thread::sleep` or blocking `read` in a task would
//! stop every client at once. (The one blocking call left is the log's
//! `println!`; the log quota keeps it to a few lines a second.)
//!
//! **A task that never waits starves the others.** The kernel interrupts a
//! thread when its time slice is up; nobody interrupts a task. It runs
//! until it awaits something that is not ready. A flooder's socket always
//! has bytes, so its reader's `readable().await` is always ready: left
//! alone, that one task would read and queue thousands of lines before any
//! listener's writer task ran once, every listener's queue would fill, and
//! the room would drop the listeners as too slow (with flood control off,
//! `--flood-rate 0`, that is exactly what happened). So a reader whose read
//! filled its buffer, and so has more waiting, hands the thread back before
//! reading on (`task::yield_now`, in `src/client.rs`): the writers get their
//! turn, as threads get theirs.
//!
//! **What happens underneath.** The runtime registers each socket once with
//! the kernel's readiness service: `epoll` on Linux, `kqueue` on macOS and
//! the BSDs, I/O completion ports (IOCP) on Windows. When no task can go
//! on, it makes one system call (`epoll_wait`, `kevent`,
//! `GetQueuedCompletionStatusEx`) that sleeps until *any* of the ten
//! thousand sockets is ready or a timer is due, and returns the list of
//! those that are: their tasks run next. One thread waits on all the
//! sockets at once, instead of one thread waiting on each.
//!
//! **What did not change.** The defences (flood control, names, scrubbing,
//! lines, seats, the spare descriptor, the log quota) are step 8's own
//! modules, used from its library: nothing in them waits or blocks. The
//! room (`src/room.rs`) is step 8's too. Its lock is still a plain
//! `std::sync::Mutex`, taken for a few list operations and never held
//! across an `.await`: the compiler checks that, because `tokio::spawn`
//! wants a task that may move between threads (`Send`), and a task that
//! holds a `MutexGuard` across an `.await` may not. Queuing a message still
//! never waits (`Outbox::push` is not even `async`). The writer still sends
//! everything queued with one write; with one thread, a burst from ten
//! senders has queued many messages for each listener by the time its
//! writer runs, so the batches are bigger than in step 8.
//!
//! **One thread, not a pool.** Tokio also has a multi-thread runtime (one
//! thread per core, stealing tasks from each other). Measured side by side
//! on a 2-core machine, on this step's first version (BENCHMARKS.md, "Not
//! measured in this run"), two workers delivered more with 30 clients and
//! about as much with 100 to 1,000, for about the same CPU per delivery: the
//! room is one list behind one lock, and on two cores a second worker takes
//! its CPU from the clients. One thread keeps the point of this step plain
//! to see.
//!
//! **Try it** (four terminals; the flags and the rest are step 8's):
//!
//! ```text
//! terminal 1:  cargo run --release -p step9-async
//! terminal 2:  cargo run -p chat-client            (name: alice)
//! terminal 3:  cargo run -p chat-client            (name: bob)
//! terminal 4:  seq 1 10000 | cargo run -p chat-client -- --name prank
//!              (PowerShell: 1..10000 | cargo run -p chat-client -- --name prank)
//! ```
//!
//! **Observe:** everything behaves as in step 8: prank's ten thousand lines
//! come out fifty at once, then ten a second, while alice and bob go on
//! chatting; five seconds later the server disconnects prank for Excess
//! Flood, and everyone sees it leave. (On Linux or macOS, `(echo prank; yes
//! 'flood flood flood') | nc 127.0.0.1 65433` gets the same, and shows the
//! server's last word: `SERVER: you are sending too fast ...`.) Now count
//! the server's threads (Linux: `ps -o nlwp= -C step9-async`): one. Then
//! let the bench connect ten thousand clients to it: `cargo xtask bench
//! crowd`.

mod client;
mod outbox;
mod room;
mod server;

// The defences, from step 8's library: `crate::flood` and the others name
// them in the modules above, as they do in step 8.
use step8_prankster_proof::{flood, lines, log_quota, names, scrub, seats, spare};

fn main() -> anyhow::Result<()> {
    server::run(clap::Parser::parse())
}
