//! What both fuzz targets share: a heap meter (to check that a decoder never
//! holds, or even briefly allocates, more than its limit allows), the way a
//! fuzzer's bytes become a limit, a byte stream and the chunks TCP cut it
//! into, and the cutting itself.
//!
//! The decoders under test are the course's own files, included with
//! `#[path]` by each target, so what is fuzzed is exactly what students read.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes alive now and the most alive
/// since the last [`reset_peak`].
pub struct Meter;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl Meter {
    fn grew(size: usize) {
        let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }

    fn shrank(size: usize) {
        LIVE.fetch_sub(size, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed on unchanged to `System`; the counters only
// watch the sizes.
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `layout` are `System`'s.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            Meter::grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            Meter::grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `System` with this `layout`.
        unsafe { System.dealloc(pointer, layout) };
        Meter::shrank(layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `pointer` came from `System` with this `layout`.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            // Count the new block before forgetting the old one: during a
            // move both exist.
            Meter::grew(new_size);
            Meter::shrank(layout.size());
        }
        moved
    }
}

#[global_allocator]
static GLOBAL: Meter = Meter;

/// Heap bytes alive right now.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts measuring a new peak from now.
pub fn reset_peak() {
    PEAK.store(live(), Ordering::Relaxed);
}

/// The most heap bytes alive at once since [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// A fuzzer's input, read as a test case.
#[derive(Debug)]
pub struct Case<'a> {
    /// The decoder's limit.
    pub max: usize,
    /// Chunk lengths, used in turn (and again from the start) to cut the
    /// stream; empty means the whole stream in one chunk. A 0 is an empty
    /// chunk, which a `read` never returns but `push` must take.
    pub cuts: &'a [u8],
    /// Whether the target should build a well-formed stream from `rest`
    /// (messages it knows) instead of taking `rest` as raw bytes.
    pub structured: bool,
    /// The remaining bytes.
    pub rest: &'a [u8],
}

impl<'a> Case<'a> {
    /// Layout: a flags byte, a limit byte, a count `n`, `n` chunk lengths,
    /// then the rest. Flag bit 0: the server's default limit (`default_max`)
    /// instead of the small limit byte, so both the limit's edge and real
    /// sizes get explored. Flag bit 1: structured.
    pub fn parse(data: &'a [u8], default_max: usize) -> Option<Case<'a>> {
        let (&[flags, small_max, count], data) = data.split_first_chunk::<3>()?;
        let count = usize::from(count % 32).min(data.len());
        let (cuts, rest) = data.split_at(count);
        Some(Case {
            max: if flags & 1 == 1 {
                default_max
            } else {
                usize::from(small_max)
            },
            cuts,
            structured: flags & 2 == 2,
            rest,
        })
    }
}

/// `stream` cut into chunks whose lengths are taken from `cuts` in turn.
pub fn chunks<'s>(stream: &'s [u8], cuts: &[u8]) -> Vec<&'s [u8]> {
    if cuts.is_empty() {
        return vec![stream];
    }
    if cuts.iter().all(|&cut| cut == 0) {
        // Only empty chunks would never get anywhere: one, then the rest.
        return vec![&stream[..0], stream];
    }
    let mut chunks = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().cycle() {
        if from >= stream.len() {
            break;
        }
        let to = (from + usize::from(cut)).min(stream.len());
        chunks.push(&stream[from..to]);
        from = to;
    }
    chunks
}

/// What a decoder's `push` may cost at most, by its own design. Its buffer
/// holds at most one unfinished message (`unfinished` bytes) plus the new
/// chunk, in a `Vec` whose new block may be twice that. The messages it
/// returns are at most 3 bytes of text per byte received (U+FFFD for one
/// invalid byte), in `String`s that may grow to twice that while being
/// built, and a `String` each (24 bytes) in a `Vec` that doubles, so that
/// its old and new blocks are briefly alive together (3 times). Generous,
/// and still nothing like what a header's claim could make it allocate.
pub fn push_budget(unfinished: usize, chunk: usize) -> usize {
    let bytes = unfinished + chunk;
    2 * bytes + 2 * 3 * bytes + 3 * 24 * (chunk + 1) + 4096
}
