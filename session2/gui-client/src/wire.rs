//! Bytes on the wire: the same two framings, limits and goodbye words as the
//! terminal `chat-client` (session2/chat-client/src/main.rs), so the window
//! talks to every course server exactly as the terminal client does.

use std::io::{self, BufRead, BufReader, ErrorKind, Read};
use std::net::TcpStream;

use clap::ValueEnum;

/// Chat servers listen here unless told otherwise.
pub const DEFAULT_PORT: u16 = 65433;
/// The longest frame we accept. Step 7 limits what clients send to 64 KiB,
/// but what it sends may be longer (`NAME: ` in front, and each replaced
/// byte takes 3), so we allow far more, yet not whatever a header claims.
pub const MAX_FRAME: u32 = 1024 * 1024;
/// The longest line we buffer; a longer one is shown in pieces.
pub const MAX_LINE: u64 = 64 * 1024;

/// How messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Framing {
    /// Lines ending in `\n` (steps 3 to 6).
    Lines,
    /// A 4-byte big-endian length, then the message (step 7).
    LengthPrefix,
}

impl Framing {
    pub fn label(self) -> &'static str {
        match self {
            Framing::Lines => "lines (every step but 7)",
            Framing::LengthPrefix => "length-prefix (step 7)",
        }
    }
}

/// One message as bytes on the wire, framed as the server expects: the text
/// and a newline, or the length as 4 bytes, most significant first (what
/// Python's `struct.pack('!I', n)` writes), then the text.
pub fn encode(framing: Framing, message: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(message.len() + 4);
    match framing {
        Framing::Lines => {
            bytes.extend_from_slice(message);
            bytes.push(b'\n');
        }
        Framing::LengthPrefix => {
            // The entry cannot hold 4 GiB; saturating keeps this total.
            let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(message);
        }
    }
    bytes
}

/// `EXIT` or `bye` in any case, or `/quit`: the goodbye words every line
/// server (steps 4 to 7) understands.
pub fn is_goodbye(message: &str) -> bool {
    let word = message.trim();
    word.eq_ignore_ascii_case("exit") || word.eq_ignore_ascii_case("bye") || word == "/quit"
}

/// How a conversation ended, as the reader thread saw it.
#[derive(Debug)]
pub enum End {
    /// The server answered `DONE`.
    Done,
    /// The server closed the connection.
    Closed,
    /// The server announced a frame larger than we accept.
    TooBig(u32),
    /// Reading failed: a reset, or a frame cut off by the close.
    Lost(io::Error),
}

/// Cuts the byte stream from the server into messages, in either framing.
pub struct Decoder {
    reader: BufReader<TcpStream>,
    framing: Framing,
}

impl Decoder {
    pub fn new(stream: TcpStream, framing: Framing) -> Decoder {
        Decoder {
            reader: BufReader::new(stream),
            framing,
        }
    }

    /// The next message, or how the conversation ended. `DONE` is an end,
    /// not a message; empty frames carry nothing and are skipped.
    pub fn next_message(&mut self) -> Result<Vec<u8>, End> {
        loop {
            let message = match self.framing {
                Framing::Lines => self.next_line()?,
                Framing::LengthPrefix => self.next_frame()?,
            };
            if message == b"DONE" {
                return Err(End::Done);
            }
            if !message.is_empty() {
                return Ok(message);
            }
        }
    }

    fn next_line(&mut self) -> Result<Vec<u8>, End> {
        let mut line = Vec::new();
        loop {
            // `take` bounds how much one line may make us buffer: a server
            // that never sends `\n` gets its text shown in 64 KiB pieces.
            match (&mut self.reader)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)
            {
                Ok(0) => return Err(End::Closed),
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                    }
                    return Ok(line);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(End::Lost(e)),
            }
        }
    }

    fn next_frame(&mut self) -> Result<Vec<u8>, End> {
        let mut header = [0u8; 4];
        if !self.fill(&mut header).map_err(End::Lost)? {
            return Err(End::Closed);
        }
        let len = u32::from_be_bytes(header);
        // Check before allocating: a hostile header may claim 4 GiB.
        if len > MAX_FRAME {
            return Err(End::TooBig(len));
        }
        let mut payload = vec![0u8; len as usize];
        if !self.fill(&mut payload).map_err(End::Lost)? && len > 0 {
            return Err(End::Lost(cut_frame()));
        }
        Ok(payload)
    }

    /// Fills `buf` completely. `Ok(false)` if the stream ended before its
    /// first byte (a clean close between frames); an error if halfway.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => return Err(cut_frame()),
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

fn cut_frame() -> io::Error {
    io::Error::new(
        ErrorKind::UnexpectedEof,
        "the server closed the connection in the middle of a frame",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_a_big_endian_length() {
        assert_eq!(encode(Framing::Lines, b"hi"), b"hi\n");
        assert_eq!(encode(Framing::LengthPrefix, b"hi"), b"\0\0\0\x02hi");
    }

    #[test]
    fn goodbye_words() {
        for word in ["bye", "BYE", "exit", "Exit", "/quit", " bye "] {
            assert!(is_goodbye(word), "{word}");
        }
        for word in ["/QUIT", "goodbye", "bye bye", "/who"] {
            assert!(!is_goodbye(word), "{word}");
        }
    }
}
