//! One connection, from accept to goodbye.
//!
//! Each client has two tasks:
//!
//! * its **reader** (this module): reads bytes, cuts them into lines, waits
//!   for a valid name, runs commands, and queues messages for the others;
//! * its **writer** ([`outbox::Writer::run`]): the only task that ever
//!   writes to this socket.
//!
//! The reader also paces its client: before each message it asks the
//! client's [`Pacer`] (flood control, `src/flood.rs`) whether to handle it
//! now, or to sleep first, reading nothing, so that TCP slows that sender
//! alone.
//!
//! **New in step 9:** tasks instead of threads. The code reads as step 8's
//! did, with `.await` at each place where a thread used to block: waiting
//! for bytes, sleeping for flood control, lingering before the close. At
//! each `.await` the task hands the thread back to the runtime, which runs
//! whichever other task can go on, and comes back to this one when the
//! event it waits for has happened (the socket has bytes, the time is up).
//! The rest, every rule of the room, is step 8's code unchanged.
//!
//! A client ends in one of a few ways (see [`End`]): it says goodbye, closes,
//! dies (reset, broken pipe), sends a line that is too long, never names
//! itself, floods, or stops reading until its queue overflows. Every way goes
//! through [`Room::leave`], which announces the departure exactly once.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use classroom::log;
use tokio::net::TcpStream;
use tokio::{task, time};

use crate::flood::{FloodLimit, Pace, Pacer};
use crate::lines::LineBuffer;
use crate::log_quota::LogQuota;
use crate::names;
use crate::outbox::{self, Bounds, Message, Outbox, Writer};
use crate::room::{ClientId, Room};
use crate::scrub::sanitize;

/// How long a connection that was cut off in the middle of sending stays
/// open after its last word (see `serve`).
const LINGER: Duration = Duration::from_millis(500);

/// The limits every connection runs under (from the command line).
pub struct Limits {
    /// Longest line, in bytes.
    pub max_line: usize,
    /// How long a new connection may take to send a valid name.
    pub name_timeout: Duration,
    /// How long one write may block before the client counts as dead.
    pub write_timeout: Duration,
    /// Bounds of each client's outbound queue.
    pub queue: Bounds,
    /// How fast a client may send messages (`rate` 0: no limit).
    pub flood: FloodLimit,
}

/// How the reader's loop ended.
enum End {
    /// The client closed the connection (end of file).
    Closed,
    /// `EXIT`, `bye` or `/quit`.
    Quit,
    /// A line over `max_line` bytes.
    TooLong,
    /// No valid name before `name_timeout`.
    NameTimeout,
    /// Slowed down by flood control for too long: Excess Flood.
    Flooding,
    /// Its queue was full, so the room (or its own reply) dropped it.
    Dropped,
    /// Reading failed: a reset, usually.
    Failed(io::Error),
}

/// Serves one client until it is gone; returns why it ended, for the log.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    id: ClientId,
    room: &Arc<Room>,
    limits: &Limits,
) -> String {
    // Nagle's algorithm off: it holds back a small write until the
    // previous one is acknowledged, to merge them, which can cost a chat
    // message tens of milliseconds. Our writer merges what is queued itself.
    // (There is no write timeout to set: an async socket never blocks, so
    // the writer times its own waits, see `outbox::write_all`.)
    if let Err(e) = stream.set_nodelay(true) {
        return format!("cannot set up its socket: {e}");
    }
    // One socket, shared by the two tasks: tokio's `&TcpStream` can wait
    // for and make reads and writes (`readable`, `try_read`, `writable`,
    // `try_write`), so there is no need for a second file descriptor.
    let stream = Arc::new(stream);
    let (outbox, writer) = outbox::new(Arc::clone(&stream), limits.queue);
    spawn_writer(writer, id, room, &stream, limits.write_timeout);
    // If anything below panics, this guard still takes the client out of
    // the room as the task is dropped (tokio catches the panic of a task,
    // and drops it): the others get a leave notice and the server goes on.
    // On a normal end it finds nothing left to do.
    let _departure = room.departure(id);

    let now = Instant::now();
    let mut connection = Connection {
        peer,
        id,
        room,
        outbox,
        limits,
        stream: &stream,
        name: None,
        scratch: String::new(),
        pacer: Pacer::new(limits.flood, now),
        slowed_before: false,
        log_quota: LogQuota::new(now),
    };
    let end = connection.run().await;
    // A client stopped in the middle of sending still has bytes on the way.
    let still_sending = matches!(end, End::TooLong | End::Flooding);
    let (last_word, reason) = match end {
        End::Closed => (None, "closed the connection".to_string()),
        End::Quit => (Some("DONE".to_string()), "said goodbye".to_string()),
        End::TooLong => (
            Some(format!(
                "SERVER: line too long (the limit is {} bytes); closing the connection",
                limits.max_line
            )),
            format!("sent a line over {} bytes", limits.max_line),
        ),
        End::NameTimeout => (
            Some(format!(
                "SERVER: no name after {} s; closing the connection",
                limits.name_timeout.as_secs()
            )),
            "sent no valid name in time".to_string(),
        ),
        End::Flooding => (
            Some(format!(
                "SERVER: you are sending too fast (the limit is {} messages at once, then {} \
                 a second); closing the connection",
                limits.flood.burst, limits.flood.rate
            )),
            "sent too fast for too long (Excess Flood)".to_string(),
        ),
        End::Dropped => (None, "dropped by the server".to_string()),
        End::Failed(e) => (None, describe(&e)),
    };
    if let Some(text) = last_word {
        // Best effort: if even this does not fit, the client was not reading.
        let _ = connection.outbox.push(&Message::from(text));
    }
    room.leave(id, &reason);
    if still_sending {
        // Closing a socket with unread bytes in it makes the kernel reset
        // the connection, and a client busy writing (`yes | nc`) may then
        // quit before it reads why it was cut off. Staying a moment gives
        // it time to read our last word.
        time::sleep(LINGER).await;
    }
    let skipped = connection.log_quota.take_skipped();
    if skipped > 0 {
        log!(
            "({skipped} more lines about {} not logged)",
            connection.who()
        );
    }
    // Returning drops our `Outbox`. Once the room's copy is gone too, the
    // writer sends what is still queued (that `DONE`), then closes.
    reason
}

/// Starts the client's writer task. Unlike a thread, a task cannot fail
/// to start: it is a value in the runtime's queue, not a kernel resource.
fn spawn_writer(
    writer: Writer,
    id: ClientId,
    room: &Arc<Room>,
    stream: &Arc<TcpStream>,
    write_timeout: Duration,
) {
    let room = Arc::clone(room);
    let stream = Arc::clone(stream);
    tokio::spawn(async move {
        // However the writer ends (even by a panic), shut the socket so
        // that the reader, maybe waiting for bytes, wakes up and ends too.
        let _guard = ShutdownOnDrop(stream);
        if let Err(e) = writer.run(write_timeout).await {
            // A reset, a broken pipe or a write timeout: the client is
            // gone or not reading. The others hear it left, once.
            room.leave(id, &describe(&e));
        }
    });
}

/// `EXIT` or `bye` in any case, or `/quit`: a client's ways to say goodbye.
fn is_goodbye(line: &str) -> bool {
    let word = line.trim();
    word.eq_ignore_ascii_case("exit") || word.eq_ignore_ascii_case("bye") || word == "/quit"
}

/// A short reason for the log.
fn describe(error: &io::Error) -> String {
    match error.kind() {
        // A write timeout shows up as one of these, depending on the OS.
        ErrorKind::WouldBlock | ErrorKind::TimedOut => "stopped reading (write timed out)".into(),
        ErrorKind::ConnectionReset => "connection reset".into(),
        ErrorKind::BrokenPipe => "connection broken (broken pipe)".into(),
        _ => format!("connection failed: {error}"),
    }
}

struct ShutdownOnDrop(Arc<TcpStream>);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        // The same system call as `Outbox::close` (see there).
        let _ = socket2::SockRef::from(&*self.0).shutdown(std::net::Shutdown::Both);
    }
}

/// The reader's state for one client.
struct Connection<'a> {
    peer: SocketAddr,
    id: ClientId,
    room: &'a Room,
    outbox: Outbox,
    limits: &'a Limits,
    stream: &'a TcpStream,
    /// `None` until the client has sent a valid, free name.
    name: Option<String>,
    /// Where `NAME: TEXT` is put together, reused so that a message costs
    /// one allocation (the shared [`Message`]) and not two.
    scratch: String,
    /// Flood control (`None` when it is off).
    pacer: Option<Pacer>,
    /// Whether flood control has slowed this client down already.
    slowed_before: bool,
    /// This client's share of the log.
    log_quota: LogQuota,
}

impl Connection<'_> {
    async fn run(&mut self) -> End {
        // This connection's own buffer, now with a limit (see `lines.rs`).
        let mut lines = LineBuffer::new(self.limits.max_line);
        let deadline = time::Instant::from_std(Instant::now() + self.limits.name_timeout);
        loop {
            // Wait until the socket has bytes (or is closed). Where step 8's
            // `read` blocked its thread, this parks the task: the runtime
            // has asked the kernel (epoll, kqueue, IOCP) to tell it when
            // this socket is readable, and serves the others meanwhile.
            // Until the client has a name, the wait may only last until the
            // deadline; after that, forever (a named client may listen for
            // hours without saying a word).
            let ready = match self.name {
                Some(_) => self.stream.readable().await,
                None => match time::timeout_at(deadline, self.stream.readable()).await {
                    Ok(ready) => ready,
                    Err(_) => return End::NameTimeout,
                },
            };
            if let Err(e) = ready {
                return End::Failed(e);
            }
            // Then read what is there: `try_read` never blocks. The buffer
            // lives in this block only, between two `.await`s: a task keeps
            // across an `.await` just what it needs after it, so ten
            // thousand waiting clients hold no read buffer at all.
            let (received, more_waiting) = {
                let mut buffer = [0u8; 4096];
                match self.stream.try_read(&mut buffer) {
                    Ok(0) => return End::Closed,
                    Ok(n) => (lines.push(&buffer[..n]), n == buffer.len()),
                    // The kernel's word may be stale: then wait again.
                    Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return End::Failed(e),
                }
            };
            for line in received {
                if let Some(end) = self.pace(line.len()).await.or_else(|| self.handle(&line)) {
                    return end;
                }
            }
            if lines.is_too_long() {
                return End::TooLong;
            }
            // A read that filled the buffer leaves more waiting: give the
            // thread to the others before reading on. During a flood this
            // socket always has bytes, so `readable().await` is ready at
            // once and never hands the thread back: the flooder's task would
            // run on and fill every listener's queue before their writer
            // tasks got a turn to empty them, and the room would drop them
            // as too slow. A thread is interrupted by the kernel when its
            // time is up; a task runs until it awaits something that is not
            // ready yet, so it has to make room for the others itself. (A
            // client that sent less is done for now: its next `readable()`
            // waits, and hands the thread back by itself.)
            if more_waiting {
                task::yield_now().await;
            }
        }
    }

    /// Flood control: waits, if this client sends too fast, until its next
    /// message (of `bytes` bytes) may be handled. Meanwhile nothing is read
    /// from its socket, so the kernel's buffers fill and TCP makes the
    /// sender wait too; the others are not slowed at all. `Some(End::Flooding)` for a client that
    /// went on for too long (see [`Pacer::pace`]).
    async fn pace(&mut self, bytes: usize) -> Option<End> {
        let pacer = self.pacer.as_mut()?;
        match pacer.pace(Instant::now(), bytes) {
            Pace::Now => None,
            Pace::Wait { wait, first } => {
                if first {
                    let who = self.who();
                    let rate = self.limits.flood.rate;
                    let line =
                        format!("{who} is sending too fast: slowed to {rate} messages a second");
                    // The first time always makes the log: the instructor
                    // should know who floods, even in the middle of it.
                    if self.slowed_before {
                        self.log_quota.log(&who, format_args!("{line}"));
                    } else {
                        log!("{line}");
                        self.slowed_before = true;
                    }
                }
                // Only this task sleeps: the thread serves the others.
                time::sleep(wait).await;
                None
            }
            Pace::TooFast => Some(End::Flooding),
        }
    }

    /// Handles one line; `Some(end)` when the connection should end.
    fn handle(&mut self, text: &str) -> Option<End> {
        // Empty lines are ignored. (Before a name, a line of spaces is not:
        // it is an empty name, and the client hears why it is refused.)
        if text.is_empty() || (self.name.is_some() && text.trim().is_empty()) {
            return None;
        }
        if self.name.is_none() {
            // `/quit` works before a name too; any other line is a try.
            if text.trim() == "/quit" {
                return Some(End::Quit);
            }
            return self.choose_name(text);
        }
        if is_goodbye(text) {
            return Some(End::Quit);
        }
        if text.starts_with('/') {
            return self.command(text);
        }
        self.chat(text)
    }

    /// Before the client has a name, every line is an attempt at one.
    fn choose_name(&mut self, proposed: &str) -> Option<End> {
        // Valid, then free: `join` checks and claims under one lock.
        let joined = names::validate(proposed).and_then(|name| {
            let present = self.room.join(self.id, name, self.outbox.clone())?;
            Ok((name, present))
        });
        match joined {
            Ok((name, present)) => {
                self.log_quota.log(
                    &name,
                    format_args!("{} joined as {name} ({present} in the chat)", self.peer),
                );
                self.name = Some(name.to_string());
                None
            }
            // Refused: say why, and wait for another try. No join notice.
            Err(e) => self.reply(format!("SERVER: {e}")),
        }
    }

    /// A line starting with `/` is a command and is never broadcast.
    fn command(&mut self, text: &str) -> Option<End> {
        let (command, argument) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        match command {
            "/name" => self.rename(argument),
            "/who" => {
                let list = self.room.who();
                self.send(&list)
            }
            _ => self.reply(format!(
                "SERVER: unknown command {}; try /name NEW, /who or /quit",
                sanitize(command)
            )),
        }
    }

    fn rename(&mut self, argument: &str) -> Option<End> {
        if argument.trim().is_empty() {
            return self.reply("SERVER: usage: /name NEW".to_string());
        }
        let renamed =
            names::validate(argument).and_then(|new| self.room.rename(self.id, new).map(|()| new));
        match renamed {
            Ok(new) => {
                let old = self.name.replace(new.to_string()).unwrap_or_default();
                self.log_quota.log(&new, format_args!("{old} is now {new}"));
                None
            }
            Err(e) => self.reply(format!("SERVER: {e}")),
        }
    }

    /// An ordinary message: to everyone else as `NAME: TEXT`.
    fn chat(&mut self, text: &str) -> Option<End> {
        let name = self.name.as_deref().unwrap_or_default();
        self.scratch.clear();
        self.scratch.push_str(name);
        self.scratch.push_str(": ");
        // ESC and friends never reach another terminal (names are already
        // clean: `validate` refuses control characters).
        self.scratch.push_str(&sanitize(text));
        let message = Message::from(self.scratch.as_str());
        self.log_quota.log(&name, format_args!("{name}: {text:?}"));
        if self.room.say(self.id, &message) {
            None
        } else {
            // The room dropped us (our queue was full): stop reading.
            Some(End::Dropped)
        }
    }

    /// Who this client is, for the log: its name, or its address before it
    /// has one.
    fn who(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => self.peer.to_string(),
        }
    }

    /// A `SERVER: ...` line to this client only.
    fn reply(&mut self, text: String) -> Option<End> {
        self.send(&Message::from(text))
    }

    fn send(&mut self, message: &Message) -> Option<End> {
        match self.outbox.push(message) {
            Ok(()) => None,
            // A client that does not even read its own replies is stalled.
            Err(_) => Some(End::Dropped),
        }
    }
}
