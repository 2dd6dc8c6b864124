//! Fuzzes step 7's frame buffer (`session2/step7-length-prefix/src/frames.rs`):
//! whatever bytes arrive, cut into chunks however TCP likes, it must not
//! panic, must never hold (or allocate) more than its limit allows, whatever
//! length a header claims, and must hand out exactly the messages a simple
//! reference decoder finds in the whole stream at once, stopping at the same
//! header when one claims too much. Structured inputs also check that what
//! `encode` writes decodes to the same messages.

#![no_main]

use chat_fuzz::{Case, chunks, live, peak, push_budget, reset_peak};
use libfuzzer_sys::fuzz_target;

#[path = "../../session2/step7-length-prefix/src/frames.rs"]
#[allow(dead_code)]
mod frames;

/// Step 7's default `--max-frame`.
const DEFAULT_MAX_FRAME: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some(case) = Case::parse(data, DEFAULT_MAX_FRAME) else {
        return;
    };
    // Structured: `rest` is a list of messages, each a length byte and that
    // many bytes (as text), encoded with the server's own `encode`, with
    // the leftover bytes at the end as raw bytes (perhaps an unfinished or
    // a lying header). Raw: any bytes at all.
    let mut sent = Vec::new();
    let stream = if case.structured {
        let mut stream = Vec::new();
        let mut rest = case.rest;
        while let Some((&len, after)) = rest.split_first() {
            let Some((message, after)) = after.split_at_checked(usize::from(len)) else {
                break;
            };
            let message = String::from_utf8_lossy(message).into_owned();
            frames::encode(&message, &mut stream);
            sent.push(message);
            rest = after;
        }
        stream.extend_from_slice(rest);
        stream
    } else {
        case.rest.to_vec()
    };

    let expected = reference(&stream, case.max);
    if case.structured {
        // The messages `encode` wrote come back out, in order, up to the
        // first one over the limit.
        let fitting = sent
            .iter()
            .position(|m| m.len() > case.max)
            .unwrap_or(sent.len());
        assert_eq!(expected.0[..fitting], sent[..fitting]);
    }

    let mut buffer = frames::FrameBuffer::new(case.max);
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
        let messages = buffer.push(chunk);
        let spent = peak() - start;
        // Never anything like the claimed length: at most one frame within
        // the limit, and the chunk.
        assert!(
            spent <= push_budget(frames::HEADER_LEN + case.max, chunk.len()),
            "push of {} bytes (max_frame {}) allocated {spent} bytes",
            chunk.len(),
            case.max
        );
        got.extend(messages);
        let held = live() - before - got_heap(&got);
        assert!(
            held <= 2 * (frames::HEADER_LEN + case.max + largest).max(8),
            "the buffer holds {held} bytes (max_frame {}, largest chunk {largest})",
            case.max,
        );
    }
    assert_eq!((got, buffer.is_too_long()), expected);
});

/// The heap bytes of the messages collected so far.
fn got_heap(got: &Vec<String>) -> usize {
    got.capacity() * size_of::<String>() + got.iter().map(String::capacity).sum::<usize>()
}

/// The messages of the whole stream, read the obvious way, and whether a
/// header claiming over `max_frame` bytes stopped the decoding.
fn reference(stream: &[u8], max_frame: usize) -> (Vec<String>, bool) {
    let mut messages = Vec::new();
    let mut rest = stream;
    while let Some((header, after)) = rest.split_first_chunk::<4>() {
        let length = u32::from_be_bytes(*header) as usize;
        if length > max_frame {
            return (messages, true);
        }
        let Some((payload, after)) = after.split_at_checked(length) else {
            break;
        };
        messages.push(String::from_utf8_lossy(payload).into_owned());
        rest = after;
    }
    (messages, false)
}
