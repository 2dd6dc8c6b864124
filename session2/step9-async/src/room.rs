//! The room: who is here, under which name, and how to reach them.
//!
//! Three rules keep it from ever stalling, and each one fixes a way the
//! Python lesson's server breaks:
//!
//! 1. **The lock guards memory, never I/O.** Delivering a message means
//!    [`Outbox::push`]: a queue operation that cannot block. Socket writes
//!    happen in each client's writer task, with no lock held. (Python's
//!    `broadcast()` calls `sendall` with `clients_lock` held, so one client
//!    that stops reading freezes every thread that wants the lock.)
//! 2. **The lock is taken once per operation.** Every public method locks,
//!    works on the [`State`] through `&mut`, and unlocks. A client found dead
//!    halfway through a broadcast is removed by the same code, under the
//!    same guard. (Python's `broadcast()` calls `remove_client()`, which
//!    takes the non-reentrant `clients_lock` again: the first failed send
//!    deadlocks the whole server. Rust's `Mutex` would deadlock or panic the
//!    same way, but `State`'s methods cannot even see the mutex.)
//! 3. **A client leaves exactly once.** Removal from the member list is the
//!    one place that announces `has left the chat.`, whoever notices first:
//!    its own reader (EOF), its writer (a failed write), or a broadcast that
//!    found its queue full. Whoever comes second finds nothing to remove.
//!
//! A panic in some client's task while it holds the lock *poisons* a std
//! `Mutex`: every later `lock()` returns an error. Unwrapping that error
//! would spread one client's bug to everyone. Every change to [`State`] is
//! a single `Vec` operation or a field assignment, so the data is consistent
//! even after such a panic, and [`Room::lock`] simply takes it back.

use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};

use classroom::log;

use crate::names::{self, Key, NameError};
use crate::outbox::{Message, Outbox};

/// Every connection gets a number, so the room can tell two clients apart
/// even while they rename themselves.
pub type ClientId = u64;

struct Member {
    id: ClientId,
    name: String,
    /// What the name is compared by (see [`Key`]), computed once.
    key: Key,
    outbox: Outbox,
}

/// The data behind the lock.
struct State {
    /// In joining order (that is the order `/who` lists).
    members: Vec<Member>,
}

/// A member removed because a message could not be queued for it.
struct Dropped {
    member: Member,
    why: io::Error,
}

pub struct Room {
    state: Mutex<State>,
}

impl Default for Room {
    fn default() -> Self {
        Room::new()
    }
}

impl Room {
    pub fn new() -> Room {
        Room {
            state: Mutex::new(State {
                members: Vec::new(),
            }),
        }
    }

    /// Takes the lock, also after another thread panicked holding it (see
    /// the module comment: the data is consistent anyway).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a client under `name` (already validated) and tells everyone
    /// else. Checking that the name is free and claiming it happen under one
    /// lock, so two clients asking for the same name cannot both get it.
    /// Returns how many are in the room now.
    pub fn join(&self, id: ClientId, name: &str, outbox: Outbox) -> Result<usize, NameError> {
        // The key takes some table look-ups: done before taking the lock.
        let key = Key::new(name);
        let mut dropped = Vec::new();
        let present = {
            let mut state = self.lock();
            state.check_free(name, &key, id)?;
            // Announce first, then add: the newcomer receives nothing.
            let notice = Message::from(format!("SERVER: {name} has joined the chat."));
            state.broadcast(None, &notice, &mut dropped);
            state.members.push(Member {
                id,
                name: name.to_string(),
                key,
                outbox,
            });
            state.members.len()
        };
        close(dropped);
        Ok(present)
    }

    /// Renames a member (`new` already validated) and tells everyone,
    /// the renamed client included. Check and change under one lock.
    pub fn rename(&self, id: ClientId, new: &str) -> Result<(), NameError> {
        let key = Key::new(new);
        let mut dropped = Vec::new();
        {
            let mut state = self.lock();
            state.check_free(new, &key, id)?;
            let Some(member) = state.members.iter_mut().find(|m| m.id == id) else {
                // Dropped a moment ago; its reader is about to find out.
                return Ok(());
            };
            member.key = key;
            let old = std::mem::replace(&mut member.name, new.to_string());
            let notice = Message::from(format!("SERVER: {old} is now {new}"));
            state.broadcast(None, &notice, &mut dropped);
        }
        close(dropped);
        Ok(())
    }

    /// The `/who` answer: everyone present, in joining order.
    pub fn who(&self) -> Message {
        let state = self.lock();
        let names: Vec<&str> = state.members.iter().map(|m| m.name.as_str()).collect();
        Message::from(format!("SERVER: online: {}", names.join(", ")))
    }

    /// Queues `message` for every member except `from`. Returns `false` if
    /// `from` is no longer a member (it was dropped): nothing is sent then,
    /// so nobody hears from a client after its leave notice.
    pub fn say(&self, from: ClientId, message: &Message) -> bool {
        let mut dropped = Vec::new();
        {
            let mut state = self.lock();
            if !state.members.iter().any(|m| m.id == from) {
                return false;
            }
            state.broadcast(Some(from), message, &mut dropped);
        }
        close(dropped);
        true
    }

    /// Removes a member and tells the others it left. Does nothing if it
    /// already left (or never joined), so every path that ends a client can
    /// call it and the notice still goes out exactly once.
    pub fn leave(&self, id: ClientId, reason: &str) -> bool {
        let mut dropped = Vec::new();
        let left = {
            let mut state = self.lock();
            match state.members.iter().position(|m| m.id == id) {
                Some(index) => {
                    let member = state.members.remove(index);
                    let notice = left_notice(&member.name);
                    state.broadcast(None, &notice, &mut dropped);
                    Some(member)
                }
                None => None,
            }
        };
        close(dropped);
        match left {
            Some(member) => {
                log!("{} left: {reason}", member.name);
                true
            }
            None => false,
        }
    }
}

/// Takes a client out of the room when dropped: see [`Room::departure`].
pub struct Departure<'a> {
    room: &'a Room,
    id: ClientId,
}

impl Room {
    /// A guard that makes client `id` leave when it is dropped. Drops run
    /// while a panic unwinds, so even a client task that crashes leaves
    /// properly: the others get the notice, nobody queues for it forever.
    /// After a normal [`leave`](Room::leave) it finds nothing to do.
    pub fn departure(&self, id: ClientId) -> Departure<'_> {
        Departure { room: self, id }
    }
}

impl Drop for Departure<'_> {
    fn drop(&mut self) {
        self.room.leave(self.id, "its task stopped unexpectedly");
    }
}

impl State {
    /// An error if a member other than `id` has a name that could be taken
    /// for `name` (whose key is `key`): the same in another case, or a
    /// lookalike. Renaming oneself to another case of one's name is fine.
    fn check_free(&self, name: &str, key: &Key, id: ClientId) -> Result<(), NameError> {
        match self
            .members
            .iter()
            .find(|m| m.id != id && m.key.clashes(key))
        {
            Some(present) => Err(names::clash(name, &present.name)),
            None => Ok(()),
        }
    }

    /// Queues `message` for every member except `except`. A member whose
    /// queue refuses it is removed on the spot and the others get its leave
    /// notice, which may in turn find another queue full: `dropped` is both
    /// the result and the to-do list.
    fn broadcast(
        &mut self,
        except: Option<ClientId>,
        message: &Message,
        dropped: &mut Vec<Dropped>,
    ) {
        let mut announced = dropped.len();
        self.deliver(except, message, dropped);
        while announced < dropped.len() {
            let notice = left_notice(&dropped[announced].member.name);
            announced += 1;
            self.deliver(None, &notice, dropped);
        }
    }

    fn deliver(&mut self, except: Option<ClientId>, message: &Message, dropped: &mut Vec<Dropped>) {
        let mut index = 0;
        while index < self.members.len() {
            let member = &self.members[index];
            if Some(member.id) != except {
                if let Err(why) = member.outbox.push(message) {
                    let member = self.members.remove(index);
                    dropped.push(Dropped { member, why });
                    continue;
                }
            }
            index += 1;
        }
    }
}

fn left_notice(name: &str) -> Message {
    Message::from(format!("SERVER: {name} has left the chat."))
}

/// Closes the connections of dropped members, after the lock is released:
/// `shutdown` is a system call, and system calls stay outside the lock.
fn close(dropped: Vec<Dropped>) {
    for Dropped { member, why } in dropped {
        log!("{} dropped: {why}", member.name);
        member.outbox.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{self, Bounds, Writer};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, LazyLock};
    use std::thread;
    use tokio::runtime::Runtime;
    use tokio::sync::mpsc::error::TryRecvError;

    /// A runtime for the tests' sockets: tokio's sockets belong to one.
    /// Nothing runs on it; the room itself is not async.
    static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    });

    /// A member's test double: a real socket (so `close` works) and the
    /// receiving end of its queue, read directly instead of by a writer.
    struct Fake {
        outbox: Outbox,
        writer: Writer,
        _peer: TcpStream,
    }

    fn fake(max_messages: usize) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().unwrap();
        stream.set_nonblocking(true).unwrap();
        let _inside = RUNTIME.enter();
        let stream = tokio::net::TcpStream::from_std(stream).unwrap();
        let bounds = Bounds {
            messages: max_messages,
            bytes: 1 << 20,
        };
        let (outbox, writer) = outbox::new(Arc::new(stream), bounds);
        Fake {
            outbox,
            writer,
            _peer: peer,
        }
    }

    impl Fake {
        fn received(&mut self) -> Vec<String> {
            let mut got = Vec::new();
            loop {
                match self.writer.queue_for_tests().try_recv() {
                    Ok(message) => got.push(message.to_string()),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => return got,
                }
            }
        }
    }

    #[test]
    fn join_say_leave() {
        let room = Room::new();
        let mut alice = fake(16);
        let mut bob = fake(16);
        room.join(1, "alice", alice.outbox.clone()).unwrap();
        room.join(2, "bob", bob.outbox.clone()).unwrap();
        assert!(room.say(1, &Message::from("alice: hi")));
        assert!(room.leave(2, "test"));
        assert!(!room.leave(2, "again"));
        assert_eq!(
            alice.received(),
            [
                "SERVER: bob has joined the chat.",
                "SERVER: bob has left the chat."
            ]
        );
        assert_eq!(bob.received(), ["alice: hi"]);
    }

    #[test]
    fn names_are_unique_in_any_case() {
        let room = Room::new();
        let (a, b) = (fake(16), fake(16));
        room.join(1, "Alice", a.outbox.clone()).unwrap();
        assert_eq!(
            room.join(2, "aLiCe", b.outbox.clone()),
            Err(NameError::Taken("aLiCe".into()))
        );
        room.join(2, "bob", b.outbox.clone()).unwrap();
        assert_eq!(
            room.rename(2, "ALICE"),
            Err(NameError::Taken("ALICE".into()))
        );
        // Changing the case of one's own name is fine.
        room.rename(1, "alice").unwrap();
        assert_eq!(&*room.who(), "SERVER: online: alice, bob");
    }

    #[test]
    fn a_lookalike_of_a_member_is_refused_and_free_once_it_leaves() {
        let room = Room::new();
        let (a, b) = (fake(16), fake(16));
        room.join(1, "canary", a.outbox.clone()).unwrap();
        // Cyrillic "с" and "о": one script, the same skeleton as Latin "coco".
        let cyrillic_coco = "\u{441}\u{43e}\u{441}\u{43e}";
        room.join(2, cyrillic_coco, b.outbox.clone()).unwrap();
        assert_eq!(
            room.rename(1, "coco"),
            Err(NameError::LooksLike("coco".into(), cyrillic_coco.into()))
        );
        assert!(room.leave(2, "test"));
        room.rename(1, "coco").unwrap();
    }

    #[test]
    fn a_full_queue_drops_that_member_once_and_tells_the_others() {
        let room = Room::new();
        let (alice, mut bob, mut stalled) = (fake(16), fake(16), fake(1));
        room.join(1, "alice", alice.outbox.clone()).unwrap();
        room.join(2, "bob", bob.outbox.clone()).unwrap();
        room.join(3, "stalled", stalled.outbox.clone()).unwrap();
        room.say(1, &Message::from("alice: one")); // fills stalled's queue
        room.say(1, &Message::from("alice: two")); // overflows it
        room.say(1, &Message::from("alice: three"));
        assert!(!room.leave(3, "its reader noticed later"));
        assert_eq!(
            bob.received(),
            [
                "SERVER: stalled has joined the chat.",
                "alice: one",
                "alice: two",
                "SERVER: stalled has left the chat.",
                "alice: three",
            ]
        );
        assert_eq!(stalled.received(), ["alice: one"]);
        assert_eq!(&*room.who(), "SERVER: online: alice, bob");
    }

    #[test]
    fn a_leave_notice_that_overflows_another_queue_is_handled_too() {
        let room = Room::new();
        let (mut alice, slow1, slow2) = (fake(16), fake(1), fake(1));
        room.join(1, "alice", alice.outbox.clone()).unwrap();
        room.join(2, "slow1", slow1.outbox.clone()).unwrap();
        room.join(3, "slow2", slow2.outbox.clone()).unwrap();
        // slow1 holds "slow2 has joined"; slow2's queue is empty.
        room.say(1, &Message::from("alice: x")); // slow1 dropped; slow2 full
        // slow1's leave notice overflows slow2: both gone, each announced once.
        assert_eq!(
            alice.received(),
            [
                "SERVER: slow1 has joined the chat.",
                "SERVER: slow2 has joined the chat.",
                "SERVER: slow1 has left the chat.",
                "SERVER: slow2 has left the chat.",
            ]
        );
        assert_eq!(&*room.who(), "SERVER: online: alice");
    }

    #[test]
    fn racing_renames_have_one_winner() {
        for _ in 0..20 {
            let room = Arc::new(Room::new());
            let fakes: Vec<Fake> = (0..8).map(|_| fake(64)).collect();
            for (i, f) in fakes.iter().enumerate() {
                room.join(i as u64, &format!("c{i}"), f.outbox.clone())
                    .unwrap();
            }
            let winners: usize = thread::scope(|s| {
                let handles: Vec<_> = (0..8u64)
                    .map(|i| {
                        let room = &room;
                        s.spawn(move || room.rename(i, "same").is_ok() as usize)
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).sum()
            });
            assert_eq!(winners, 1);
        }
    }

    #[test]
    fn a_client_task_that_panics_still_leaves() {
        let room = Arc::new(Room::new());
        let (mut alice, bob) = (fake(16), fake(16));
        room.join(1, "alice", alice.outbox.clone()).unwrap();
        room.join(2, "bob", bob.outbox.clone()).unwrap();
        let bobs_task = Arc::clone(&room);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let task = runtime.spawn(async move {
            let _departure = bobs_task.departure(2);
            panic!("a bug while serving bob");
        });
        let result = runtime.block_on(task);
        assert!(result.is_err_and(|e| e.is_panic()), "the task panicked");
        assert_eq!(
            alice.received(),
            [
                "SERVER: bob has joined the chat.",
                "SERVER: bob has left the chat."
            ]
        );
        assert_eq!(&*room.who(), "SERVER: online: alice");
    }

    #[test]
    fn a_panic_with_the_lock_held_does_not_poison_the_room() {
        let room = Arc::new(Room::new());
        let mut alice = fake(16);
        room.join(1, "alice", alice.outbox.clone()).unwrap();
        let crashing = Arc::clone(&room);
        let result = thread::spawn(move || {
            let _guard = crashing.lock();
            panic!("a bug in some client's thread");
        })
        .join();
        assert!(result.is_err(), "the thread panicked");
        assert!(room.state.is_poisoned());
        // Everything still works for everyone else.
        let bob = fake(16);
        room.join(2, "bob", bob.outbox.clone()).unwrap();
        assert!(room.say(2, &Message::from("bob: still here?")));
        assert!(room.leave(2, "done"));
        assert_eq!(
            alice.received(),
            [
                "SERVER: bob has joined the chat.",
                "bob: still here?",
                "SERVER: bob has left the chat."
            ]
        );
    }
}
