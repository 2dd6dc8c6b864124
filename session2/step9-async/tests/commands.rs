//! Step 9 keeps step 5's commands (PROTOCOL.md "Step 5"): `/name NEW`, `/who`, `/quit`,
//! and an error for anything else. Errors go to the asker only.

use std::thread;
use std::time::Duration;

use testkit::{Client, Server};

const BIN: &str = env!("CARGO_BIN_EXE_step9-async");

const QUIET: Duration = Duration::from_millis(300);

/// Joins every name in turn; each is known to be in the room once the
/// server logs it (the first) or everyone already there reads its notice.
fn room(server: &Server, names: &[&str]) -> Vec<Client> {
    let mut clients: Vec<Client> = Vec::new();
    for name in names {
        let newcomer = server.join(name);
        if clients.is_empty() {
            server.wait_for_output(&format!(" joined as {name} ("));
        }
        for client in &mut clients {
            client.expect_line(&format!("SERVER: {name} has joined the chat."));
        }
        clients.push(newcomer);
    }
    clients
}

#[test]
fn a_rename_reaches_everyone_including_the_renamed_client() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob", "carol"]);
    clients[1].send_line("/name robert");
    for client in &mut clients {
        client.expect_line("SERVER: bob is now robert");
    }
    // The new name is used from now on, also in the leave notice.
    clients[1].send_line("hello as robert");
    clients[0].expect_line("robert: hello as robert");
    clients[2].expect_line("robert: hello as robert");
    let robert = clients.remove(1);
    drop(robert);
    for client in &mut clients {
        client.expect_line("SERVER: robert has left the chat.");
        client.expect_silence(QUIET);
    }
}

#[test]
fn a_taken_name_in_any_case_is_an_error_to_the_asker_only() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    for attempt in ["alice", "ALICE", "Alice"] {
        bob.send_line(&format!("/name {attempt}"));
        bob.expect_line(&format!("SERVER: the name {attempt} is taken"));
    }
    alice.expect_silence(QUIET);
    // Bob is still bob.
    bob.send_line("still bob");
    alice.expect_line("bob: still bob");
    // Changing the case of one's own name is not taking someone else's.
    alice.send_line("/name Alice");
    alice.expect_line("SERVER: alice is now Alice");
    bob.expect_line("SERVER: alice is now Alice");
}

#[test]
fn name_without_a_name_is_an_error() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    alice.send_line("/name");
    alice.expect_line("SERVER: usage: /name NEW");
    alice.send_line("/name    ");
    alice.expect_line("SERVER: usage: /name NEW");
    bob.expect_silence(QUIET);
}

#[test]
fn who_lists_everyone_in_joining_order_to_the_asker_only() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob", "carol"]);
    clients[2].send_line("/who");
    clients[2].expect_line("SERVER: online: alice, bob, carol");
    // A rename keeps its place; a departure leaves the list.
    clients[0].send_line("/name zoe");
    for client in &mut clients {
        client.expect_line("SERVER: alice is now zoe");
    }
    let bob = clients.remove(1);
    drop(bob);
    clients[0].expect_line("SERVER: bob has left the chat.");
    clients[1].expect_line("SERVER: bob has left the chat.");
    clients[1].send_line("/who");
    clients[1].expect_line("SERVER: online: zoe, carol");
    clients[0].expect_silence(QUIET);
}

#[test]
fn an_unknown_command_is_an_error_and_never_broadcast() {
    let server = Server::start(BIN, &[]);
    let mut clients = room(&server, &["alice", "bob"]);
    let [alice, bob] = &mut clients[..] else {
        unreachable!()
    };
    alice.send_line("/shout hello");
    alice.expect_line("SERVER: unknown command /shout; try /name NEW, /who or /quit");
    alice.send_line("/");
    alice.expect_line("SERVER: unknown command /; try /name NEW, /who or /quit");
    bob.expect_silence(QUIET);
    // Ordinary messages still go out.
    alice.send_line("not a command: /shout");
    bob.expect_line("alice: not a command: /shout");
}

#[test]
fn two_clients_racing_for_one_name_cannot_both_win() {
    let server = Server::start(BIN, &[]);
    let clients = room(&server, &["watcher", "a", "b"]);
    let [mut watcher, a, b]: [Client; 3] = clients.try_into().ok().unwrap();
    let mut racers = [(a, "a".to_string()), (b, "b".to_string())];
    for round in 0..10 {
        // Both ask for the same name (in different case) at the same moment,
        // from two threads.
        let wanted = [format!("same{round}"), format!("SAME{round}")];
        thread::scope(|s| {
            for ((client, _), wanted) in racers.iter_mut().zip(&wanted) {
                s.spawn(move || client.send_line(&format!("/name {wanted}")));
            }
        });
        // The watcher hears exactly one rename: that racer won.
        let notice = watcher.read_line();
        watcher.expect_silence(Duration::from_millis(100));
        let winner = (0..2)
            .find(|&i| notice == format!("SERVER: {} is now {}", racers[i].1, wanted[i]))
            .unwrap_or_else(|| panic!("not a rename of either racer: {notice:?}"));
        let loser = 1 - winner;
        // The winner hears its rename; the loser hears it too, and that the
        // name is taken, in either order.
        racers[winner].0.expect_line(&notice);
        let mut heard = [racers[loser].0.read_line(), racers[loser].0.read_line()];
        heard.sort();
        let mut expected = [
            notice.clone(),
            format!("SERVER: the name {} is taken", wanted[loser]),
        ];
        expected.sort();
        assert_eq!(heard, expected);
        racers[winner].1 = wanted[winner].clone();
    }
}
