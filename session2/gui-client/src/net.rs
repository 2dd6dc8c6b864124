//! The network side of the chat window: two threads per connection, and the
//! two channels that are their only contact with the interface.
//!
//! ```text
//!             events (bounded)                        socket
//!  reader  ─────────────────────▶  interface  ◀─────────────────  server
//!  thread   + request_repaint()     thread                          ▲
//!                                      │   outgoing (bounded)       │
//!                                      └──────────────▶  writer ────┘
//!                                                        thread
//! ```
//!
//! The reader thread connects (which may take seconds), then waits in
//! `read` for as long as the server is quiet, which may be hours. The writer
//! thread waits in `write` when the server does not take our bytes. Both
//! waits are fine *there*; on the interface thread either one would freeze
//! the window. So the interface only ever calls `try_recv` and `try_send`,
//! which return at once.

use std::io::{ErrorKind, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread;
use std::time::Duration;

use crate::screen;
use crate::wire::{self, DEFAULT_PORT, Decoder, End, Framing};

/// How long to wait for a server to accept before calling the address wrong.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A server that stops reading must not hold our writer for ever.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many messages may wait for the interface. When the window falls
/// behind (or is minimised, and some systems stop drawing it), the reader
/// waits for room instead of piling up memory; TCP then holds the server
/// back, and a server that drops clients who stop reading may drop us.
pub const EVENT_QUEUE: usize = 1024;
/// How many typed messages may wait for the writer.
pub const OUTGOING_QUEUE: usize = 64;

/// What the network threads tell the interface.
#[derive(Debug)]
pub enum Event {
    /// The connection is up (the name is already queued to be sent).
    Connected(SocketAddr),
    /// Connecting failed; the text says what to do.
    ConnectFailed(String),
    /// One message from the server, cleaned for the screen.
    Message(String),
    /// Sending failed; the connection is being closed.
    SendFailed(String),
    /// The conversation is over (always the last event).
    Ended(End),
}

/// Why a message could not be handed to the writer.
#[derive(Debug, PartialEq, Eq)]
pub enum NotSent {
    /// The writer has [`OUTGOING_QUEUE`] messages the server has not taken.
    Busy,
    /// The connection is gone.
    Closed,
}

/// The interface's end of one connection: two channels, nothing that blocks.
pub struct Connection {
    events: Receiver<Event>,
    outgoing: SyncSender<Outgoing>,
    framing: Framing,
}

/// What the interface hands the writer thread.
enum Outgoing {
    /// One message, already framed.
    Bytes(Vec<u8>),
    /// We said goodbye: close our sending half, as `chat-client` does, so
    /// that even a server without goodbye words (step 3) sees the end.
    Finish,
}

impl Connection {
    /// Starts connecting to `host:port` in a new thread and returns at once.
    /// `wake` is called after every event, so a window asleep until the
    /// next input draws again (in the window it is `request_repaint`).
    pub fn open(
        host: &str,
        port: u16,
        framing: Framing,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> Connection {
        let (event_tx, events) = mpsc::sync_channel(EVENT_QUEUE);
        let (outgoing, outgoing_rx) = mpsc::sync_channel(OUTGOING_QUEUE);
        let host = host.to_string();
        let wake = std::sync::Arc::new(wake);
        thread::spawn(move || {
            let notify = Notify { tx: event_tx, wake };
            let stream = match connect(&host, port, framing) {
                Ok(stream) => stream,
                Err(advice) => {
                    notify.send(Event::ConnectFailed(advice));
                    return;
                }
            };
            let peer = stream
                .peer_addr()
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], port)));
            let writer = stream.try_clone();
            let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
            let _ = stream.set_nodelay(true);
            match writer {
                Ok(writer) => {
                    let notify = notify.clone();
                    thread::spawn(move || write_loop(writer, outgoing_rx, notify));
                }
                Err(e) => {
                    notify.send(Event::ConnectFailed(format!(
                        "cannot use the connection: {e}"
                    )));
                    return;
                }
            }
            if notify.send(Event::Connected(peer)) {
                read_loop(stream, framing, notify);
            }
        });
        Connection {
            events,
            outgoing,
            framing,
        }
    }

    /// Hands one message to the writer thread; never waits.
    pub fn send(&self, message: &str) -> Result<(), NotSent> {
        let bytes = wire::encode(self.framing, message.as_bytes());
        self.hand_over(Outgoing::Bytes(bytes))
    }

    /// After a goodbye: nothing more will be sent (see [`Outgoing::Finish`]).
    pub fn finish(&self) -> Result<(), NotSent> {
        self.hand_over(Outgoing::Finish)
    }

    fn hand_over(&self, item: Outgoing) -> Result<(), NotSent> {
        match self.outgoing.try_send(item) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(NotSent::Busy),
            Err(TrySendError::Disconnected(_)) => Err(NotSent::Closed),
        }
    }

    /// The next event if one is waiting; never waits. `None` also once the
    /// threads are gone and everything they sent has been read.
    pub fn try_event(&self) -> Option<Event> {
        self.events.try_recv().ok()
    }
}

// Dropping a `Connection` drops both channel ends: the writer sees the
// outgoing channel close, sends what is queued and shuts the socket down,
// which wakes the reader from `read`; the reader's next send fails and it
// ends too. No thread outlives its connection for long.

/// The reader's and writer's way to reach the interface.
#[derive(Clone)]
struct Notify {
    tx: SyncSender<Event>,
    wake: std::sync::Arc<dyn Fn() + Send + Sync>,
}

impl Notify {
    /// Sends one event and wakes the window. `false` when the interface
    /// has dropped the connection (nobody is listening any more).
    fn send(&self, event: Event) -> bool {
        let delivered = self.tx.send(event).is_ok();
        (self.wake)();
        delivered
    }
}

/// The reader thread: every message the server sends becomes an event.
/// The cleaning happens here, so the interface only stores and draws.
fn read_loop(stream: TcpStream, framing: Framing, notify: Notify) {
    let mut decoder = Decoder::new(stream, framing);
    loop {
        match decoder.next_message() {
            Ok(message) => {
                if !notify.send(Event::Message(screen::for_screen(&message))) {
                    return;
                }
            }
            Err(end) => {
                notify.send(Event::Ended(end));
                return;
            }
        }
    }
}

/// The writer thread: sends what the interface queued, in order.
fn write_loop(mut stream: TcpStream, outgoing: Receiver<Outgoing>, notify: Notify) {
    for item in outgoing {
        let bytes = match item {
            Outgoing::Bytes(bytes) => bytes,
            Outgoing::Finish => {
                let _ = stream.shutdown(Shutdown::Write);
                continue;
            }
        };
        if let Err(e) = stream.write_all(&bytes) {
            let why = match e.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut => format!(
                    "the server has not taken our messages for {} s",
                    WRITE_TIMEOUT.as_secs()
                ),
                _ => format!("cannot send: {e}"),
            };
            notify.send(Event::SendFailed(why));
            break;
        }
    }
    // The interface dropped the connection (or sending failed): closing
    // both directions also wakes the reader, blocked in `read`.
    let _ = stream.shutdown(Shutdown::Both);
}

/// Connects to the first address `host` resolves to that accepts, and turns
/// the usual failures into advice instead of a raw OS error (as
/// `chat-client` does).
fn connect(host: &str, port: u16, framing: Framing) -> Result<TcpStream, String> {
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|_| format!("cannot find the host {host:?}: check how it is spelled"))?
        .collect();
    // `localhost` may resolve to both ::1 and 127.0.0.1: try each in turn.
    let mut refused = false;
    let mut other_error = None;
    for address in &addresses {
        match TcpStream::connect_timeout(address, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => refused = true,
            Err(e) => other_error = Some(e),
        }
    }
    let this_machine = addresses.iter().all(|a| a.ip().is_loopback());
    Err(match other_error {
        // "Refused" means the machine answered: nothing listens on that port.
        _ if refused => refused_advice(host, port, framing, this_machine),
        Some(e) if e.kind() == ErrorKind::TimedOut => format!(
            "no answer from {host}:{port} within {} s: check the address the server shows, \
             and that you are on the same network (a firewall may be dropping the connection)",
            CONNECT_TIMEOUT.as_secs()
        ),
        Some(e) => format!("cannot connect to {host}:{port}: {e}"),
        None => format!("cannot connect to {host}:{port}: the name resolved to no address"),
    })
}

/// What to say when nothing listens at `host:port`.
pub fn refused_advice(host: &str, port: u16, framing: Framing, this_machine: bool) -> String {
    let package = crate::serve::step_package(framing);
    let start = if port == DEFAULT_PORT {
        format!("cargo run -p {package}")
    } else {
        format!("cargo run -p {package} -- --port {port}")
    };
    if this_machine {
        format!(
            "cannot connect to {host}:{port}: no server is listening there. Start one in a \
             terminal ({start}) or in a window (cargo run -p gui-client -- --serve), then \
             press Reconnect."
        )
    } else {
        format!(
            "cannot connect to {host}:{port}: no server is listening there. Check the address \
             and port the server shows, and that it was started with --host 0.0.0.0 \
             (on your own machine: {start})."
        )
    }
}
