//! The chat window: a connect form, the conversation, who is online, an
//! entry, and a status line. Everything here runs on the interface thread
//! and never waits for the network: it reads events with `try_event` and
//! queues what you type with `send`, both of which return at once.

use std::collections::VecDeque;
use std::net::SocketAddr;

use eframe::egui::{self, Color32, RichText, text::LayoutJob};

use crate::net::{Connection, Event, NotSent};
use crate::room::{self, Online, Said};
use crate::wire::{self, DEFAULT_PORT, End, Framing, MAX_FRAME};

/// How many lines the conversation keeps; older ones are forgotten, so a
/// flood costs a fixed amount of memory, however long it lasts.
pub const MAX_KEPT_LINES: usize = 3000;
/// How many events one frame takes from the channel. A flood then costs a
/// few frames, each as quick as usual, instead of one frame that lasts
/// until the flood stops: the window keeps answering clicks meanwhile.
pub const EVENTS_PER_FRAME: usize = 500;

/// What the connect form holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub name: String,
    pub framing: Framing,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            host: "127.0.0.1".to_string(),
            port: DEFAULT_PORT,
            name: String::new(),
            framing: Framing::Lines,
        }
    }
}

/// How a line of the conversation is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `NAME: TEXT` from someone else.
    Chat,
    /// What we sent, shown as we sent it.
    Own,
    /// Joined, left, renamed, who is online.
    Notice,
    /// Any other `SERVER: ...` line (an error, to us only).
    Server,
    /// The window's own remarks (connected, disconnected).
    Local,
}

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: Kind,
    pub text: String,
}

/// Where the conversation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Not connected yet: the form is shown.
    Form,
    Connecting,
    /// The name is sent; waiting for the server to take it.
    Joining,
    /// The server refused the name (the reason, from the server).
    Refused(String),
    Joined,
    /// We said goodbye; waiting for `DONE` or the close.
    Leaving,
    /// Over (why, and what to do).
    Disconnected(String),
}

/// The chat window's state. [`ChatApp::ui`] draws one frame.
pub struct ChatApp {
    pub settings: Settings,
    phase: Phase,
    connection: Option<Connection>,
    peer: Option<SocketAddr>,
    /// Our name as the server knows it (it changes with `/name`).
    me: String,
    /// The next name to try, after a refusal.
    retry_name: String,
    /// After a refusal, the server's answer to the `/who` we sent right
    /// after the name (it took it for another try at a name) is still to
    /// come; it is not shown.
    answer_to_skip: bool,
    /// The last line, if it was a `SERVER: ...` message: a server that
    /// closes the connection says why just before.
    last_word: Option<String>,
    /// Set when sending failed: that is why the connection ends.
    send_error: Option<String>,
    /// Why the form was not enough to connect: a missing name, say.
    form_error: Option<String>,
    /// Why the last try to connect failed, with what to do.
    connect_error: Option<String>,
    connect_at_start: bool,
    lines: VecDeque<Line>,
    online: Online,
    entry: String,
    /// Messages received since the window opened, and frames drawn (both
    /// for the status bar's tooltip and the tests).
    received: u64,
    frames: u64,
    /// How many events the last frame took from the channel.
    last_batch: usize,
}

impl ChatApp {
    /// A window showing the form filled with `settings`. With
    /// `connect_at_start` (and a name), it connects on its first frame,
    /// as `chat-client --name` does.
    pub fn new(settings: Settings, connect_at_start: bool) -> ChatApp {
        ChatApp {
            retry_name: settings.name.clone(),
            settings,
            phase: Phase::Form,
            connection: None,
            peer: None,
            me: String::new(),
            answer_to_skip: false,
            last_word: None,
            send_error: None,
            form_error: None,
            connect_error: None,
            connect_at_start,
            lines: VecDeque::new(),
            online: Online::default(),
            entry: String::new(),
            received: 0,
            frames: 0,
            last_batch: 0,
        }
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    pub fn lines(&self) -> &VecDeque<Line> {
        &self.lines
    }

    pub fn online(&self) -> &[String] {
        self.online.names()
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn last_batch(&self) -> usize {
        self.last_batch
    }

    /// The status line: where we are connected, as whom, or why not.
    pub fn status(&self) -> String {
        let at = self
            .peer
            .map(|p| p.to_string())
            .unwrap_or_else(|| format!("{}:{}", self.settings.host, self.settings.port));
        match &self.phase {
            Phase::Form => match &self.connect_error {
                // The advice is under the form; its first clause says it all.
                Some(error) => {
                    let what = error
                        .split_once(": ")
                        .map_or(error.as_str(), |(what, _)| what);
                    format!("disconnected: {what}")
                }
                None => "not connected".to_string(),
            },
            Phase::Connecting => format!("connecting to {at}…"),
            Phase::Joining => format!("connected to {at}, joining as {}…", self.me),
            Phase::Refused(why) => format!("connected to {at}: name refused: {why}"),
            Phase::Joined => format!("connected to {at} as {}", self.me),
            Phase::Leaving => format!("connected to {at} as {}, leaving…", self.me),
            Phase::Disconnected(why) => format!("disconnected: {why}"),
        }
    }

    /// Draws one frame. Called by eframe (see `main.rs`) or by a test.
    pub fn ui(&mut self, ctx: &egui::Context) {
        self.frames += 1;
        if self.connect_at_start {
            self.connect_at_start = false;
            if !self.settings.name.trim().is_empty() {
                self.connect(ctx);
            }
        }
        // Take what the network threads sent, a bounded amount per frame.
        // If some is left, draw another frame right after this one.
        if self.take_events(EVENTS_PER_FRAME) {
            ctx.request_repaint();
        }

        egui::TopBottomPanel::top("status").show(ctx, |ui| self.status_bar(ui, ctx));
        if self.phase == Phase::Form {
            egui::CentralPanel::default().show(ctx, |ui| self.form(ui, ctx));
            return;
        }
        egui::SidePanel::right("online")
            .resizable(true)
            .default_width(150.0)
            .show(ctx, |ui| self.online_list(ui));
        egui::TopBottomPanel::bottom("entry").show(ctx, |ui| self.entry_row(ui));
        egui::CentralPanel::default().show(ctx, |ui| self.conversation(ui));
    }

    // ---- events from the network ------------------------------------

    /// Applies at most `budget` events; `true` if more may be waiting.
    fn take_events(&mut self, budget: usize) -> bool {
        self.last_batch = 0;
        while self.last_batch < budget {
            let Some(event) = self.connection.as_ref().and_then(Connection::try_event) else {
                return false;
            };
            self.last_batch += 1;
            self.apply(event);
        }
        true
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Connected(peer) => {
                self.peer = Some(peer);
                self.phase = Phase::Joining;
                self.local(format!("connected to {peer}; joining as {}", self.me));
            }
            Event::ConnectFailed(advice) => {
                // Back to the form, with the advice under it: the address
                // or the port is what usually needs fixing.
                self.connection = None;
                self.local(advice.clone());
                self.connect_error = Some(advice);
                self.phase = Phase::Form;
            }
            Event::Message(text) => self.message(text),
            Event::SendFailed(why) => self.send_error = Some(why),
            Event::Ended(end) => {
                // The threads are done: dropping our end frees their channels.
                self.connection = None;
                let why = self.why_it_ended(end);
                self.local(format!("disconnected: {why}"));
                self.online.clear();
                self.phase = Phase::Disconnected(why);
            }
        }
    }

    fn message(&mut self, text: String) {
        self.received += 1;
        let said = room::parse(&text);
        if self.answer_to_skip && matches!(said, Said::Server(_)) {
            self.answer_to_skip = false;
            return;
        }
        self.last_word = match said {
            Said::Server(word) => Some(word.to_string()),
            // Before joining, whatever came may explain a close: a step 7
            // server's error frame read as a line, say.
            Said::Chat(line) if self.phase == Phase::Joining => Some(line.to_string()),
            _ => None,
        };
        let kind = match &said {
            Said::Server(why) if self.phase == Phase::Joining => {
                // Before a name is taken the server sends us nothing but
                // answers to our own lines: this one refuses the name.
                self.phase = Phase::Refused(why.to_string());
                self.answer_to_skip = true;
                self.retry_name = self.me.clone();
                Kind::Server
            }
            Said::Server(_) => Kind::Server,
            Said::Chat(_) => Kind::Chat,
            Said::Joined(_) | Said::Left(_) | Said::Renamed { .. } | Said::Online(_) => {
                Kind::Notice
            }
        };
        // The answer to `/who`, or any notice, means the server took the
        // name: only members hear notices, and `/who` answers only them.
        if kind == Kind::Notice && self.phase == Phase::Joining {
            self.phase = Phase::Joined;
            // Reconnect uses the name that worked.
            self.settings.name = self.me.clone();
        }
        if let Said::Renamed { old, new } = said {
            if old == self.me {
                self.me = new.to_string();
                self.settings.name = self.me.clone();
            }
        }
        self.online.apply(&said);
        self.push(kind, text);
    }

    fn why_it_ended(&mut self, end: End) -> String {
        let leaving = self.phase == Phase::Leaving;
        if let Some(why) = self.send_error.take() {
            return format!("{why}. Press Reconnect to try again.");
        }
        let said = self
            .last_word
            .take()
            .map(|w| format!(" after saying \"{w}\""))
            .unwrap_or_default();
        let refused = self.phase == Phase::Joining
            && (matches!(end, End::Closed) || (matches!(end, End::Lost(_)) && !said.is_empty()));
        match end {
            End::Done => "you have left the chat (the server answered DONE)".to_string(),
            End::Closed if leaving => "you have left the chat".to_string(),
            // A server that refuses us may close with our `/who` still
            // unread, which makes the close a reset: refused all the same.
            _ if refused => format!(
                "the server closed the connection before you joined{said}. If it runs step 7, \
                 choose length-prefix framing; every other step uses lines."
            ),
            End::Closed => format!("the server closed the connection{said}"),
            End::TooBig(len) => format!(
                "the server announced a frame of {len} bytes, over our {MAX_FRAME}-byte limit: \
                 is it speaking length-prefix frames? Only step 7 does; choose lines and \
                 reconnect."
            ),
            End::Lost(e) if leaving => format!("you have left the chat ({e})"),
            End::Lost(e) => format!("connection lost: {e}"),
        }
    }

    fn push(&mut self, kind: Kind, text: String) {
        if self.lines.len() == MAX_KEPT_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(Line { kind, text });
    }

    fn local(&mut self, text: String) {
        self.push(Kind::Local, text);
    }

    // ---- actions ----------------------------------------------------

    /// Opens a connection with the form's settings and queues the name.
    fn connect(&mut self, ctx: &egui::Context) {
        let name = self.settings.name.trim().to_string();
        if name.is_empty() {
            self.form_error = Some("type a name first: it is how classmates see you".into());
            return;
        }
        if self.settings.host.trim().is_empty() {
            self.form_error =
                Some("type the server's address: 127.0.0.1 for this machine".to_string());
            return;
        }
        let waker = ctx.clone();
        // Dropping an old connection here ends its threads (see net.rs).
        let connection = Connection::open(
            self.settings.host.trim(),
            self.settings.port,
            self.settings.framing,
            move || waker.request_repaint(),
        );
        self.connection = Some(connection);
        self.peer = None;
        self.online.clear();
        self.form_error = None;
        self.connect_error = None;
        self.send_error = None;
        self.last_word = None;
        self.answer_to_skip = false;
        self.received = 0;
        self.phase = Phase::Connecting;
        self.join(&name);
    }

    /// Sends a name, then `/who`: the answer fills the online list, and
    /// its arrival tells us the name was taken (a refusal comes first).
    fn join(&mut self, name: &str) {
        self.me = name.to_string();
        if self.phase != Phase::Connecting {
            self.phase = Phase::Joining;
        }
        // The writer queue is empty or nearly: these fit.
        self.send_raw(name);
        self.send_raw("/who");
    }

    fn send_raw(&mut self, message: &str) -> bool {
        let Some(connection) = &self.connection else {
            return false;
        };
        match connection.send(message) {
            Ok(()) => true,
            Err(NotSent::Busy) => {
                self.local(
                    "the server has not taken your last messages yet; wait a moment and send \
                     again"
                        .to_string(),
                );
                false
            }
            Err(NotSent::Closed) => false,
        }
    }

    /// Sends what is in the entry, one message per line.
    fn send_entry(&mut self) {
        let entry = std::mem::take(&mut self.entry);
        let mut unsent = Vec::new();
        for message in entry
            .lines()
            .map(str::trim_end)
            .filter(|m| !m.trim().is_empty())
        {
            if !unsent.is_empty() || !self.send_raw(message) {
                unsent.push(message);
                continue;
            }
            // A command is shown as typed, as a terminal shows it: it is
            // not something we said to the room.
            let shown = if message.starts_with('/') {
                message.to_string()
            } else {
                format!("{}: {message}", self.me)
            };
            self.push(Kind::Own, shown);
            if wire::is_goodbye(message) {
                self.said_goodbye();
                break;
            }
        }
        // What could not be queued stays in the entry, to send again.
        self.entry = unsent.join("\n");
    }

    /// Says goodbye as the terminal client does; the server answers
    /// `DONE` and closes, and that ends the conversation.
    fn leave(&mut self) {
        if self.send_raw("bye") {
            self.push(Kind::Own, format!("{}: bye", self.me));
            self.said_goodbye();
        }
    }

    fn said_goodbye(&mut self) {
        self.phase = Phase::Leaving;
        if let Some(connection) = &self.connection {
            // Queued behind the goodbye, so it cannot fail for lack of room
            // unless the server stopped reading; then the close comes anyway.
            let _ = connection.finish();
        }
    }

    /// Gives up waiting for the server's answer to a goodbye.
    fn disconnect(&mut self) {
        self.connection = None;
        self.online.clear();
        self.phase = Phase::Disconnected("you have left the chat".to_string());
    }

    // ---- drawing ----------------------------------------------------

    fn status_bar(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        ui.horizontal(|ui| {
            let colour = match self.phase {
                Phase::Joined => Color32::from_rgb(80, 180, 90),
                Phase::Disconnected(_) | Phase::Refused(_) => Color32::from_rgb(220, 90, 70),
                _ => ui.visuals().text_color(),
            };
            ui.label(RichText::new(self.status()).color(colour))
                .on_hover_text(format!("{} messages received", self.received));
            // Which buttons make sense now; drawn right to left.
            let buttons: &[&str] = match self.phase {
                Phase::Joined | Phase::Joining => &["Leave"],
                Phase::Leaving => &["Disconnect"],
                Phase::Disconnected(_) => &["Reconnect", "Change server"],
                Phase::Form if self.connect_error.is_some() => &["Reconnect"],
                _ => &[],
            };
            let mut pressed = None;
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                for &button in buttons.iter().rev() {
                    if ui.button(button).clicked() {
                        pressed = Some(button);
                    }
                }
            });
            match pressed {
                Some("Leave") => self.leave(),
                Some("Disconnect") => self.disconnect(),
                Some("Reconnect") => self.connect(ctx),
                Some("Change server") => self.phase = Phase::Form,
                _ => {}
            }
        });
    }

    fn form(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        ui.add_space(8.0);
        ui.heading("Join a chat room");
        ui.add_space(8.0);
        let mut submit = false;
        egui::Grid::new("form")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                let label = ui.label("Host");
                let host = ui
                    .text_edit_singleline(&mut self.settings.host)
                    .labelled_by(label.id);
                submit |= host.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.end_row();
                let label = ui.label("Port");
                ui.add(egui::DragValue::new(&mut self.settings.port).speed(0))
                    .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Name");
                let name = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.settings.name)
                            .hint_text("how classmates see you"),
                    )
                    .labelled_by(label.id);
                submit |= name.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.end_row();
                ui.label("Framing");
                ui.horizontal(|ui| {
                    for framing in [Framing::Lines, Framing::LengthPrefix] {
                        ui.radio_value(&mut self.settings.framing, framing, framing.label());
                    }
                });
                ui.end_row();
            });
        ui.add_space(8.0);
        if ui.button("Connect").clicked() || submit {
            self.connect(ctx);
        }
        if let Some(error) = self.form_error.as_ref().or(self.connect_error.as_ref()) {
            ui.add_space(8.0);
            ui.label(RichText::new(error).color(Color32::from_rgb(220, 90, 70)));
        }
        ui.add_space(16.0);
        ui.label(
            RichText::new(
                "127.0.0.1 is this machine. A classmate's server shows the address to type. \
                 Step 7 uses length-prefix frames, every other step lines.",
            )
            .weak(),
        );
    }

    fn online_list(&mut self, ui: &mut egui::Ui) {
        ui.heading(format!("Online ({})", self.online.names().len()));
        ui.separator();
        egui::ScrollArea::vertical().show(ui, |ui| {
            for name in self.online.names() {
                if *name == self.me {
                    ui.label(RichText::new(format!("{name} (you)")).strong());
                } else {
                    ui.label(name);
                }
            }
        });
    }

    fn entry_row(&mut self, ui: &mut egui::Ui) {
        ui.add_space(4.0);
        if let Phase::Refused(why) = &self.phase {
            let why = why.clone();
            ui.label(
                RichText::new(format!(
                    "The server refused the name: {why}. Choose another:"
                ))
                .color(Color32::from_rgb(220, 90, 70)),
            );
            ui.horizontal(|ui| {
                let label = ui.label("New name");
                let field = ui
                    .text_edit_singleline(&mut self.retry_name)
                    .labelled_by(label.id);
                let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (ui.button("Join").clicked() || enter) && !self.retry_name.trim().is_empty() {
                    let name = self.retry_name.trim().to_string();
                    self.join(&name);
                }
            });
            ui.add_space(4.0);
            return;
        }
        let open = matches!(self.phase, Phase::Joining | Phase::Joined);
        ui.add_enabled_ui(open, |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("Message");
                let send_width = 60.0;
                let field = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.entry)
                            .hint_text("text, /name NEW, /who, or bye")
                            .desired_width(ui.available_width() - send_width),
                    )
                    .labelled_by(label.id);
                let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if ui.button("Send").clicked() || enter {
                    self.send_entry();
                    field.request_focus();
                }
            });
        });
        ui.add_space(4.0);
    }

    fn conversation(&mut self, ui: &mut egui::Ui) {
        // `stick_to_bottom`: while the view is at the end, new lines keep
        // it there; once you scroll up to read, it stays where you are.
        egui::ScrollArea::vertical()
            .stick_to_bottom(true)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for line in &self.lines {
                    ui.label(styled(ui, line));
                }
            });
    }
}

/// What eframe calls once per frame (see `main.rs`).
impl eframe::App for ChatApp {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.ui(ctx);
    }
}

/// One line as the window draws it: notices in italics, the server's
/// own messages in orange, our messages in blue, names in bold.
fn styled(ui: &egui::Ui, line: &Line) -> LayoutJob {
    let visuals = ui.visuals();
    let body = egui::TextFormat {
        font_id: egui::TextStyle::Body.resolve(ui.style()),
        color: visuals.text_color(),
        ..Default::default()
    };
    let mut job = LayoutJob::default();
    match line.kind {
        Kind::Chat | Kind::Own => {
            let name_colour = if line.kind == Kind::Own {
                Color32::from_rgb(90, 160, 255)
            } else {
                visuals.strong_text_color()
            };
            match line.text.split_once(": ") {
                Some((name, text)) => {
                    let strong = egui::TextFormat {
                        color: name_colour,
                        ..body.clone()
                    };
                    job.append(&format!("{name}: "), 0.0, strong);
                    job.append(text, 0.0, body);
                }
                None => job.append(&line.text, 0.0, body),
            }
        }
        Kind::Notice => job.append(
            &line.text,
            0.0,
            egui::TextFormat {
                italics: true,
                color: visuals.weak_text_color(),
                ..body
            },
        ),
        Kind::Server => job.append(
            &line.text,
            0.0,
            egui::TextFormat {
                color: Color32::from_rgb(230, 150, 60),
                ..body
            },
        ),
        Kind::Local => job.append(
            &line.text,
            0.0,
            egui::TextFormat {
                font_id: egui::TextStyle::Small.resolve(ui.style()),
                color: visuals.weak_text_color(),
                ..body
            },
        ),
    }
    job
}
