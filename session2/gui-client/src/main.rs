//! `gui-client`: the chat window, or with `--serve` the server window. The
//! lesson is in the library's doc comment (`src/lib.rs`).

use std::process::ExitCode;

use clap::Parser;
use eframe::egui;

use gui_client::chat::{ChatApp, Settings};
use gui_client::serve::{ChildSlot, ServeSettings, ServerApp};
use gui_client::wire::{DEFAULT_PORT, Framing};

/// Chat with a course server in a window; or, with --serve, run a server
/// in a window that shows the address to type, who is online and the log.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Open the server window: runs step8-prankster-proof (step7-length-prefix
    /// with --framing length-prefix) and shows its address in large type.
    #[arg(long)]
    serve: bool,
    /// The server's address (default 127.0.0.1); with --serve, the address
    /// to listen on (default 0.0.0.0, so classmates can connect).
    #[arg(long)]
    host: Option<String>,
    /// The server's port; with --serve, the port to listen on.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Your nickname: fills the form and connects at once.
    #[arg(long, conflicts_with = "serve")]
    name: Option<String>,
    /// How messages travel: lines (every step but 7) or length-prefix
    /// frames (step 7).
    #[arg(long, value_enum, default_value_t = Framing::Lines)]
    framing: Framing,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if args.serve { serve(args) } else { chat(args) };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gui-client: cannot open a window: {e}");
            eprintln!(
                "  (a desktop session is needed; on Linux, DISPLAY or WAYLAND_DISPLAY must be \
                 set; the terminal client works everywhere: cargo run -p chat-client)"
            );
            ExitCode::FAILURE
        }
    }
}

fn chat(args: Args) -> eframe::Result {
    let settings = Settings {
        host: args.host.unwrap_or_else(|| "127.0.0.1".to_string()),
        port: args.port,
        name: args.name.clone().unwrap_or_default(),
        framing: args.framing,
    };
    let app = ChatApp::new(settings, args.name.is_some());
    eframe::run_native(
        "Chat",
        options([720.0, 540.0]),
        Box::new(|_| Ok(Box::new(app))),
    )
}

fn serve(args: Args) -> eframe::Result {
    let settings = ServeSettings {
        host: args.host.unwrap_or_else(|| "0.0.0.0".to_string()),
        port: args.port,
        framing: args.framing,
    };
    let child = ChildSlot::default();
    stop_child_on_panic_and_signals(&child);
    let app = ServerApp::new(settings, child);
    eframe::run_native(
        "Chat server",
        options([1024.0, 720.0]),
        Box::new(|_| Ok(Box::new(app))),
    )
}

fn options(size: [f32; 2]) -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size(size),
        ..Default::default()
    }
}

/// A panic may end the program without running destructors (a panic inside
/// the windowing system's callbacks aborts on some platforms), and a signal
/// ends it without them for sure; either way the server must not outlive
/// the window. The panic hook runs before any of that.
fn stop_child_on_panic_and_signals(child: &ChildSlot) {
    let on_panic = child.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        on_panic.kill();
        previous(info);
    }));
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        use signal_hook::iterator::Signals;
        let on_signal = child.clone();
        match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            Ok(mut signals) => {
                std::thread::spawn(move || {
                    if let Some(signal) = signals.forever().next() {
                        on_signal.kill();
                        std::process::exit(128 + signal);
                    }
                });
            }
            Err(e) => eprintln!("gui-client: cannot watch for Ctrl-C ({e}); close the window"),
        }
    }
}
