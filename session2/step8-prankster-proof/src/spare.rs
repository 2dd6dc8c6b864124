//! The spare file descriptor: a newcomer is told the server is full even
//! when the process has no descriptor left to give it.
//!
//! Every connection costs a file descriptor, and a process has a limit (1024
//! on Linux by default, 256 on macOS). A laptop that opens connections in a
//! loop reaches it; from then on `accept` fails at once, and the newcomers
//! wait in the kernel's backlog for ever, never told why. So the server
//! keeps one descriptor in reserve (an open `/dev/null`). Out of
//! descriptors, it closes the spare, which lets `accept` take one more
//! connection, tells that one `SERVER: server is full`, closes it, and takes
//! the spare back.

use std::fs::File;
use std::io;

/// A file that is always there to open, and costs nothing to hold open.
const NULL_DEVICE: &str = if cfg!(windows) { "NUL" } else { "/dev/null" };

/// The descriptor held in reserve (none if it could not be opened).
pub struct Spare(Option<File>);

impl Spare {
    /// Opens the spare.
    pub fn new() -> Spare {
        Spare(File::open(NULL_DEVICE).ok())
    }

    /// Whether the spare is held (it may not be, right after a release).
    pub fn is_held(&self) -> bool {
        self.0.is_some()
    }

    /// Gives the spare back to the system, so `accept` can take one more.
    pub fn release(&mut self) {
        self.0 = None;
    }

    /// Takes the spare again if it is not held; whether it is now. Failing
    /// means no descriptor was freed meanwhile.
    pub fn restore(&mut self) -> bool {
        if self.0.is_none() {
            self.0 = File::open(NULL_DEVICE).ok();
        }
        self.is_held()
    }
}

impl Default for Spare {
    fn default() -> Self {
        Spare::new()
    }
}

/// Whether `accept` failed for lack of file descriptors: EMFILE (this
/// process's limit) or ENFILE (the whole system's). The standard library
/// has no name for them; their numbers are 24 and 23 on Linux and macOS,
/// and WSAEMFILE is 10024 on Windows.
pub fn out_of_descriptors(error: &io::Error) -> bool {
    let codes: &[i32] = if cfg!(windows) { &[10024] } else { &[23, 24] };
    error
        .raw_os_error()
        .is_some_and(|code| codes.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_spare_comes_back() {
        let mut spare = Spare::new();
        assert!(spare.is_held());
        spare.release();
        assert!(!spare.is_held());
        assert!(spare.restore());
    }

    #[test]
    fn emfile_is_out_of_descriptors_and_a_reset_is_not() {
        let emfile = io::Error::from_raw_os_error(if cfg!(windows) { 10024 } else { 24 });
        assert!(out_of_descriptors(&emfile));
        assert!(!out_of_descriptors(&io::Error::from(
            io::ErrorKind::ConnectionReset
        )));
    }
}
