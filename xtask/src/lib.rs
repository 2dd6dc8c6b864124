//! The course runner's library: one module per responsibility. `main.rs`
//! only parses the command line and dispatches here, and the integration
//! tests in `tests/` call the same code (the grader proves itself this way).

pub mod bench;
pub mod board;
pub mod build;
pub mod check;
pub mod checks;
pub mod course;
pub mod demo;
pub mod diff;
pub mod grader;
pub mod handout;
pub mod hint;
pub mod json;
pub mod list;
pub mod manifest;
pub mod myip;
pub mod reset;
pub mod results;
pub mod share;
pub mod term;
pub mod watch;
pub mod workspace;
