//! What the server's lines mean, and who is online.
//!
//! The protocol has no separate channel for notices: everything is a line,
//! and a line from the server itself starts with `SERVER: `. The window
//! reads the few notices the course servers send (joined, left, renamed,
//! the `/who` answer) to style them apart from chat and to keep the list of
//! who is online, the way a person reading the terminal would.

/// What one line from the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said<'a> {
    /// `SERVER: NAME has joined the chat.`
    Joined(&'a str),
    /// `SERVER: NAME has left the chat.`
    Left(&'a str),
    /// `SERVER: OLD is now NEW`
    Renamed { old: &'a str, new: &'a str },
    /// `SERVER: online: A, B, C` (the answer to `/who`).
    Online(Vec<&'a str>),
    /// Any other `SERVER: ...` line: an error or a refusal, to us only.
    Server(&'a str),
    /// `NAME: TEXT` from a classmate (or anything else a server relays).
    Chat(&'a str),
}

/// Reads one (already sanitised) line.
pub fn parse(line: &str) -> Said<'_> {
    let Some(text) = line.strip_prefix("SERVER: ") else {
        return Said::Chat(line);
    };
    if let Some(name) = text.strip_suffix(" has joined the chat.") {
        return Said::Joined(name);
    }
    if let Some(name) = text.strip_suffix(" has left the chat.") {
        return Said::Left(name);
    }
    if let Some(list) = text.strip_prefix("online:") {
        let names = list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        return Said::Online(names);
    }
    // Names have no spaces (steps 6 and 7 refuse them), so a rename is
    // exactly `OLD is now NEW`; anything longer is some other message.
    let words: Vec<&str> = text.split(' ').collect();
    if let [old, "is", "now", new] = words[..] {
        return Said::Renamed { old, new };
    }
    Said::Server(text)
}

/// Who is online, in joining order, kept from the notices.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Online {
    names: Vec<String>,
}

impl Online {
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn clear(&mut self) {
        self.names.clear();
    }

    /// Updates the list from one line; other lines change nothing.
    pub fn apply(&mut self, said: &Said<'_>) {
        match said {
            Said::Joined(name) => {
                if !self.names.iter().any(|n| n == name) {
                    self.names.push(name.to_string());
                }
            }
            Said::Left(name) => self.names.retain(|n| n != name),
            Said::Renamed { old, new } => {
                for n in &mut self.names {
                    if n == old {
                        *n = new.to_string();
                    }
                }
            }
            Said::Online(names) => self.names = names.iter().map(|n| n.to_string()).collect(),
            Said::Server(_) | Said::Chat(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_recognised() {
        assert_eq!(
            parse("SERVER: bob has joined the chat."),
            Said::Joined("bob")
        );
        assert_eq!(parse("SERVER: bob has left the chat."), Said::Left("bob"));
        assert_eq!(
            parse("SERVER: bob is now robert"),
            Said::Renamed {
                old: "bob",
                new: "robert"
            }
        );
        assert_eq!(
            parse("SERVER: online: alice, bob"),
            Said::Online(vec!["alice", "bob"])
        );
        assert_eq!(
            parse("SERVER: the name alice is taken"),
            Said::Server("the name alice is taken")
        );
        assert_eq!(parse("bob: hi"), Said::Chat("bob: hi"));
    }

    #[test]
    fn a_chat_line_cannot_pass_for_a_notice() {
        // Only a line that *starts* with `SERVER: ` is the server's.
        assert_eq!(
            parse("bob: SERVER: carol has left the chat."),
            Said::Chat("bob: SERVER: carol has left the chat.")
        );
        // A longer sentence with "is now" in it is not a rename.
        assert_eq!(
            parse("SERVER: the room is now full"),
            Said::Server("the room is now full")
        );
    }

    #[test]
    fn the_online_list_follows_join_rename_and_leave() {
        let mut online = Online::default();
        online.apply(&parse("SERVER: online: alice"));
        online.apply(&parse("SERVER: bob has joined the chat."));
        online.apply(&parse("SERVER: bob has joined the chat."));
        assert_eq!(online.names(), ["alice", "bob"]);
        online.apply(&parse("SERVER: bob is now robert"));
        assert_eq!(online.names(), ["alice", "robert"]);
        online.apply(&parse("robert: SERVER: alice has left the chat."));
        online.apply(&parse("SERVER: robert has left the chat."));
        assert_eq!(online.names(), ["alice"]);
    }
}
