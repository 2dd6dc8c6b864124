//! How a chat server words what the bench listens for: who joined, who
//! left, and any greeting it sends a newcomer before the name. The course's
//! servers all speak PROTOCOL.md (`SERVER: NAME has joined the chat.`); a
//! server of another course or language (`--addr`) may word it otherwise,
//! and `--join-pattern`, `--leave-pattern` and `--greeting-lines` say how.

use anyhow::bail;

/// Where the name goes in a pattern.
const NAME: &str = "{name}";

/// The course's notices (session2/PROTOCOL.md).
pub const COURSE_JOIN: &str = "SERVER: {name} has joined the chat.";
pub const COURSE_LEAVE: &str = "SERVER: {name} has left the chat.";

/// A notice about one client: the text before and after its name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    before: String,
    after: String,
}

impl Pattern {
    fn parse(pattern: &str, flag: &str) -> anyhow::Result<Pattern> {
        let Some((before, after)) = pattern.split_once(NAME) else {
            bail!("{flag} must contain {NAME} where the client's name goes, as in {COURSE_JOIN:?}");
        };
        if after.contains(NAME) {
            bail!("{flag} must contain {NAME} once");
        }
        Ok(Pattern {
            before: before.to_string(),
            after: after.to_string(),
        })
    }

    /// Whether `line` is this notice, about some client.
    fn matches(&self, line: &str) -> bool {
        line.len() > self.before.len() + self.after.len()
            && line.starts_with(&self.before)
            && line.ends_with(&self.after)
    }
}

/// What a chat server's notices look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    join: Pattern,
    leave: Pattern,
    /// Lines a newcomer receives before anything else (a prompt), ignored.
    pub greeting_lines: usize,
}

/// What a line from the server is, as far as the bench cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Joined,
    Left,
}

impl Dialect {
    /// The course's own (PROTOCOL.md): no greeting, `SERVER: ` notices.
    pub fn course() -> Dialect {
        Dialect::new(COURSE_JOIN, COURSE_LEAVE, 0).expect("the course's patterns are valid")
    }

    pub fn new(join: &str, leave: &str, greeting_lines: usize) -> anyhow::Result<Dialect> {
        Ok(Dialect {
            join: Pattern::parse(join, "--join-pattern")?,
            leave: Pattern::parse(leave, "--leave-pattern")?,
            greeting_lines,
        })
    }

    /// Whether `line` is a join or leave notice.
    pub fn notice(&self, line: &str) -> Option<Notice> {
        if self.join.matches(line) {
            Some(Notice::Joined)
        } else if self.leave.matches(line) {
            Some(Notice::Left)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_course_dialect_reads_protocol_md() {
        let course = Dialect::course();
        assert_eq!(
            course.notice("SERVER: c12 has joined the chat."),
            Some(Notice::Joined)
        );
        assert_eq!(
            course.notice("SERVER: c12 has left the chat."),
            Some(Notice::Left)
        );
        assert_eq!(course.notice("c3: s3 0 12345"), None);
        assert_eq!(course.notice("SERVER:  has joined the chat."), None);
        assert_eq!(course.greeting_lines, 0);
    }

    #[test]
    fn another_servers_wording_is_given_by_patterns() {
        // tokio's examples/chat.rs words its notices this way.
        let other =
            Dialect::new("{name} has joined the chat", "{name} has left the chat", 1).unwrap();
        assert_eq!(other.notice("c7 has joined the chat"), Some(Notice::Joined));
        assert_eq!(other.notice("c7 has left the chat"), Some(Notice::Left));
        assert_eq!(other.notice("SERVER: c7 has joined the chat."), None);
    }

    #[test]
    fn a_pattern_needs_one_name() {
        assert!(Dialect::new("has joined", COURSE_LEAVE, 0).is_err());
        assert!(Dialect::new("{name} and {name}", COURSE_LEAVE, 0).is_err());
    }
}
