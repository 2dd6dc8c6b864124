//! Whatever the demo starts, it stops: on a normal end, on an error, on a
//! panic, and on Ctrl-C or a termination signal.
//!
//! Each thing started registers an undo task here and keeps the returned
//! [`Undo`]; dropping that runs the task (normal end, error, panic). A
//! signal never runs destructors, so [`on_interrupt`] installs a handler
//! (the `signal-hook` crate: std has no signal API and this workspace
//! forbids `unsafe`) that runs every task still registered, then exits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

type Task = Box<dyn FnOnce() + Send>;

/// The undo tasks not yet run, with the id their [`Undo`] knows them by.
static TASKS: Mutex<Vec<(u64, Task)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn tasks() -> std::sync::MutexGuard<'static, Vec<(u64, Task)>> {
    TASKS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs its task when dropped, unless [`Undo::disarm`]ed first.
#[must_use = "dropping the Undo runs the task at once"]
pub struct Undo {
    id: u64,
}

/// Registers `task` to run when the returned [`Undo`] is dropped, or on
/// Ctrl-C, whichever comes first; it runs at most once.
pub fn register(task: impl FnOnce() + Send + 'static) -> Undo {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    tasks().push((id, Box::new(task)));
    Undo { id }
}

impl Undo {
    /// Forgets the task: what it would undo now belongs to someone else
    /// (a tmux session the user is attached to, say).
    pub fn disarm(self) {
        take(self.id);
        std::mem::forget(self);
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(task) = take(self.id) {
            task();
        }
    }
}

fn take(id: u64) -> Option<Task> {
    let mut tasks = tasks();
    let index = tasks.iter().position(|(task_id, _)| *task_id == id)?;
    Some(tasks.remove(index).1)
}

/// Runs every registered task, newest first (clients before the server
/// they talk to).
pub fn run_all() {
    let all = std::mem::take(&mut *tasks());
    for (_, task) in all.into_iter().rev() {
        task();
    }
}

/// Installs the Ctrl-C (and SIGTERM, SIGHUP) handler once per process: it
/// runs every task still registered and exits with status 130, as a shell
/// reports a program stopped by Ctrl-C.
pub fn on_interrupt() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Without a handler, Ctrl-C still reaches the server too (it is in
        // the terminal's foreground process group), so the demo goes on.
        if let Err(e) = install_handler() {
            eprintln!("note: cannot handle Ctrl-C ({e}); the demo cleans up on a normal end only");
        }
    });
}

#[cfg(unix)]
fn install_handler() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            run_all();
            eprintln!("\ninterrupted: stopped everything the demo started");
            std::process::exit(130);
        }
    });
    Ok(())
}

/// On Windows, Ctrl-C reaches every process attached to the console, the
/// server included, and tmux does not run: nothing to add.
#[cfg(not(unix))]
fn install_handler() -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    fn counter() -> (Arc<AtomicUsize>, impl FnOnce() + Send + 'static) {
        let count = Arc::new(AtomicUsize::new(0));
        let task_count = Arc::clone(&count);
        (count, move || {
            task_count.fetch_add(1, Ordering::SeqCst);
        })
    }

    #[test]
    fn dropping_runs_the_task_once_and_disarm_forgets_it() {
        let (ran, task) = counter();
        let undo = register(task);
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        drop(undo);
        assert_eq!(ran.load(Ordering::SeqCst), 1);

        let (ran, task) = counter();
        let undo = register(task);
        let id = undo.id;
        undo.disarm();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert!(take(id).is_none(), "a disarmed task is gone");
    }

    #[test]
    fn a_panic_still_runs_the_task() {
        let (ran, task) = counter();
        let result = std::panic::catch_unwind(move || {
            let _undo = register(task);
            panic!("the demo failed");
        });
        assert!(result.is_err());
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
