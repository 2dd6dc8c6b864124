//! Fuzzes step 8's line buffer (`session2/step8-prankster-proof/src/lines.rs`):
//! whatever bytes arrive, cut into chunks however TCP likes, it must not
//! panic, must never hold (or allocate) more than its limit allows, and must
//! hand out exactly the lines a simple reference decoder finds in the whole
//! stream at once, stopping at the same place when a line is too long.

#![no_main]

use chat_fuzz::{Case, chunks, live, peak, push_budget, reset_peak};
use libfuzzer_sys::fuzz_target;

#[path = "../../session2/step8-prankster-proof/src/lines.rs"]
#[allow(dead_code)]
mod lines;

/// Step 8's default `--max-line`.
const DEFAULT_MAX_LINE: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some(case) = Case::parse(data, DEFAULT_MAX_LINE) else {
        return;
    };
    // Structured: the rest, with every 0xFF byte turned into a newline, so
    // the stream has many lines, some with `\r\n`; raw: any bytes at all.
    let stream: Vec<u8> = if case.structured {
        case.rest
            .iter()
            .map(|&b| if b == 0xFF { b'\n' } else { b })
            .collect()
    } else {
        case.rest.to_vec()
    };

    let expected = reference(&stream, case.max);

    let mut buffer = lines::LineBuffer::new(case.max);
    let mut got = Vec::new();
    let chunks = chunks(&stream, case.cuts);
    let before = live();
    // A `Vec` keeps its capacity when bytes are drained from it, so what
    // the buffer holds is bounded by the largest chunk so far, not the last.
    let mut largest = 0;
    for chunk in chunks {
        largest = largest.max(chunk.len());
        reset_peak();
        let start = peak();
        let lines = buffer.push(chunk);
        let spent = peak() - start;
        assert!(
            spent <= push_budget(case.max + 1, chunk.len()),
            "push of {} bytes (max_line {}) allocated {spent} bytes",
            chunk.len(),
            case.max
        );
        got.extend(lines);
        // What the buffer keeps between chunks: its unfinished line (at most
        // max_line + 1 bytes, a `\r` waiting for its `\n`), in a Vec of at
        // most twice that plus the largest chunk.
        let held = live() - before - got_heap(&got);
        assert!(
            held <= 2 * (case.max + 1 + largest).max(8),
            "the buffer holds {held} bytes (max_line {}, largest chunk {largest})",
            case.max,
        );
    }
    assert_eq!((got, buffer.is_too_long()), expected);
});

/// The heap bytes of the lines collected so far.
fn got_heap(got: &Vec<String>) -> usize {
    got.capacity() * size_of::<String>() + got.iter().map(String::capacity).sum::<usize>()
}

/// The lines of the whole stream, found the obvious way, and whether a line
/// over `max_line` bytes (not counting a `\r` before its `\n`; an unfinished
/// last line counts too: it may never end) stopped the decoding.
fn reference(stream: &[u8], max_line: usize) -> (Vec<String>, bool) {
    let over = |line: &[u8]| line.len() > max_line + usize::from(line.ends_with(b"\r"));
    let mut lines = Vec::new();
    let mut pieces: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    // The last piece is what follows the last newline: unfinished.
    let unfinished = pieces.pop().unwrap_or_default();
    for line in pieces {
        if over(line) {
            return (lines, true);
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        lines.push(String::from_utf8_lossy(line).into_owned());
    }
    (lines, over(unfinished))
}
