//! The two framings the course's servers speak: newline-terminated lines
//! (steps 1–6) and 4-byte big-endian length prefixes (step 7). The bench
//! writes and reads messages through here, so the load engine does not care
//! which one a server uses.

use std::io::{self, BufRead, ErrorKind};

/// The largest message the bench accepts from a server. Its own messages are
/// far smaller; anything bigger means the stream is out of step.
pub const MAX_MESSAGE: usize = 1 << 20;

/// How messages are delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Framing {
    /// UTF-8 text ending in `\n` (steps 1–6).
    Lines,
    /// A 4-byte unsigned big-endian length, then the payload (step 7).
    Frames,
}

impl Framing {
    /// Appends `payload` as one message to `out`.
    pub fn encode(self, payload: &[u8], out: &mut Vec<u8>) {
        match self {
            Framing::Lines => {
                out.extend_from_slice(payload);
                out.push(b'\n');
            }
            Framing::Frames => {
                let len = u32::try_from(payload.len()).expect("bench messages are small");
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(payload);
            }
        }
    }

    /// Reads one message into `buf` (cleared first), without its delimiter
    /// (and without a trailing `\r` for lines). Returns `Ok(false)` at a clean
    /// end of stream. A read timeout surfaces as an error of kind
    /// `WouldBlock`/`TimedOut`; partial data stays buffered in `reader` for
    /// lines, but a timeout in the middle of a frame is reported as
    /// `InvalidData` because the frame boundary is lost.
    pub fn read(self, reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        match self {
            Framing::Lines => read_line(reader, buf),
            Framing::Frames => read_frame(reader, buf),
        }
    }
}

fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<bool> {
    // `read_until` keeps what it read so far in `buf` when a timeout
    // interrupts it, so a retry must not clear: loop here until the newline.
    loop {
        match reader.read_until(b'\n', buf) {
            Ok(0) if buf.is_empty() => return Ok(false),
            Ok(_) if buf.ends_with(b"\n") => {
                buf.pop();
                if buf.ends_with(b"\r") {
                    buf.pop();
                }
                return Ok(true);
            }
            // End of stream in the middle of a line: hand back what came.
            Ok(_) => return Ok(true),
            Err(e) if is_timeout(&e) && !buf.is_empty() => {
                if buf.len() > MAX_MESSAGE {
                    return Err(io::Error::new(ErrorKind::InvalidData, "line too long"));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

fn read_frame(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut header = [0u8; 4];
    match read_exact_or_eof(reader, &mut header)? {
        Filled::Eof => return Ok(false),
        Filled::Partial => {
            return Err(io::Error::new(
                ErrorKind::UnexpectedEof,
                "stream ended inside a frame header",
            ));
        }
        Filled::Full => {}
    }
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_MESSAGE {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            format!("frame of {len} bytes announced, more than the bench accepts"),
        ));
    }
    buf.resize(len, 0);
    match read_exact_or_eof(reader, buf)? {
        Filled::Full => Ok(true),
        _ => Err(io::Error::new(
            ErrorKind::UnexpectedEof,
            "stream ended inside a frame",
        )),
    }
}

enum Filled {
    Full,
    Partial,
    Eof,
}

/// Fills `buf` completely, retrying after read timeouts once the first byte
/// has arrived (a frame must not be torn in half by a timeout).
fn read_exact_or_eof(reader: &mut impl BufRead, buf: &mut [u8]) -> io::Result<Filled> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(Filled::Eof),
            Ok(0) => return Ok(Filled::Partial),
            Ok(n) => filled += n,
            Err(e) if filled > 0 && (is_timeout(&e) || e.kind() == ErrorKind::Interrupted) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Filled::Full)
}

/// Whether an error is a read or write timeout (the kind differs by OS).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn read_all(framing: Framing, bytes: &[u8]) -> Vec<String> {
        let mut reader = BufReader::new(bytes);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while framing.read(&mut reader, &mut buf).unwrap() {
            out.push(String::from_utf8(buf.clone()).unwrap());
        }
        out
    }

    #[test]
    fn lines_round_trip_and_drop_carriage_returns() {
        let mut wire = Vec::new();
        Framing::Lines.encode(b"c1: s1 0 5", &mut wire);
        wire.extend_from_slice(b"SERVER: x\r\n");
        assert_eq!(read_all(Framing::Lines, &wire), ["c1: s1 0 5", "SERVER: x"]);
    }

    #[test]
    fn frames_round_trip() {
        let mut wire = Vec::new();
        Framing::Frames.encode(b"hello", &mut wire);
        Framing::Frames.encode(b"", &mut wire);
        assert_eq!(&wire[..4], &[0, 0, 0, 5]);
        assert_eq!(read_all(Framing::Frames, &wire), ["hello", ""]);
    }

    #[test]
    fn a_torn_or_oversized_frame_is_an_error() {
        let mut reader = BufReader::new(&[0u8, 0, 0, 9, b'a'][..]);
        let mut buf = Vec::new();
        assert!(Framing::Frames.read(&mut reader, &mut buf).is_err());
        let mut reader = BufReader::new(&[0xffu8, 0xff, 0xff, 0xff][..]);
        let err = Framing::Frames.read(&mut reader, &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }
}
