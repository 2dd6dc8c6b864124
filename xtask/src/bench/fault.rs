//! A failure of the bench itself, told apart from anything a server did.
//!
//! A case measures a server; when one of the bench's own threads panics (a
//! bug in the bench: an overflow, a broken invariant), whatever the case
//! would report afterwards, a stall, missing texts, is the bench's doing,
//! not the server's. So such a failure ends the case with a [`BenchFault`],
//! an error that says so, and never becomes a row of results.

use std::any::Any;
use std::fmt;

/// A panic in one of the bench's threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchFault {
    /// The thread's name (`bench-send-3`).
    pub thread: String,
    /// What it panicked with.
    pub message: String,
}

impl fmt::Display for BenchFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the bench itself failed: its thread {} panicked ({}); this is a bug in the bench, \
             not a result of the server",
            self.thread, self.message
        )
    }
}

impl std::error::Error for BenchFault {}

/// The text a panic carries (`panic!("...")` makes a `&str` or a `String`).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_whose_fault_it_is() {
        let payload = std::panic::catch_unwind(|| {
            let (sent, own) = (std::hint::black_box(1u64), std::hint::black_box(2u64));
            sent - own
        })
        .unwrap_err();
        let fault = BenchFault {
            thread: "bench-send-3".into(),
            message: panic_message(&*payload),
        };
        let text = fault.to_string();
        assert!(text.contains("bench-send-3"), "{text}");
        assert!(text.contains("attempt to subtract with overflow"), "{text}");
        assert!(text.contains("not a result of the server"), "{text}");
        assert_eq!(
            panic_message(&*std::panic::catch_unwind(|| panic!("a {}", "String")).unwrap_err()),
            "a String"
        );
    }
}
