//! The chat's texts and the scenarios every chat check shares (exercises 4
//! to 7). They speak through `Peer::say` and `Peer::expect`, so the same
//! scenario plays lines for exercises 4-6 and frames for exercise 7.

use crate::grader::failure::{Advise, Expect};
use crate::grader::peer::Peer;
use crate::grader::{Ctx, transcript};

// ----- the texts of session2/PROTOCOL.md -----

pub fn joined(name: &str) -> String {
    format!("SERVER: {name} has joined the chat.")
}

pub fn left(name: &str) -> String {
    format!("SERVER: {name} has left the chat.")
}

pub fn said(name: &str, text: &str) -> String {
    format!("{name}: {text}")
}

pub fn renamed(old: &str, new: &str) -> String {
    format!("SERVER: {old} is now {new}")
}

pub const DONE: &str = "DONE";

/// Whether `message` is a server notice or error (`SERVER: ...`).
pub fn from_server(message: &str) -> bool {
    message.starts_with("SERVER: ")
}

// ----- advice shared by the checks -----

pub const JOIN_ADVICE: &str = "The first message a client sends is its name. Once you have \
    it, send `SERVER: NAME has joined the chat.` to every other named client.";
pub const SAID_ADVICE: &str = "Send each message to every other client as `NAME: TEXT`.";
pub const NOT_TO_SENDER: &str = "A sender never gets its own message back, and a newcomer \
    gets no notice about itself: skip that client when you broadcast.";
pub const LEAVE_ADVICE: &str = "When a named client leaves (goodbye, close, reset), remove it \
    and tell every remaining client `SERVER: NAME has left the chat.`, exactly once.";

// ----- joining -----

/// Connects a client called `label`, sends a fresh unique name as its first
/// message, and waits until every client in `room` has seen it join.
pub fn join(ctx: &Ctx, label: &str, room: &mut [&mut Peer]) -> Expect<Peer> {
    join_ending(ctx, label, room, "")
}

/// Like [`join`], the name line ending in `ending` (on a line-based wire,
/// if not empty: to send `\r\n`).
pub fn join_ending(ctx: &Ctx, label: &str, room: &mut [&mut Peer], ending: &str) -> Expect<Peer> {
    let mark = ctx.mark();
    let peer = ctx.connect(label)?;
    introduce_after(ctx, mark, peer, room, ending, "")
}

/// Like [`join`], for a client with a tiny receive buffer that will stop
/// reading.
pub fn join_with_tiny_buffer(ctx: &Ctx, label: &str, room: &mut [&mut Peer]) -> Expect<Peer> {
    let mark = ctx.mark();
    let peer = ctx.connect_with_tiny_buffer(label)?;
    introduce_after(ctx, mark, peer, room, "", " (with a tiny receive buffer)")
}

/// Sends `peer`'s name (followed by `ending` on a line-based wire, if not
/// empty) and waits for `room` to see it join. Once it worked, the
/// transcript from `mark` on is folded into one line, with `remark` after
/// the address.
fn introduce_after(
    ctx: &Ctx,
    mark: transcript::Mark,
    peer: Peer,
    room: &mut [&mut Peer],
    ending: &str,
    remark: &str,
) -> Expect<Peer> {
    // A join that works is one line of the transcript; one that fails
    // shows every byte.
    let mut probes = Vec::new();
    let (peer, confirmed) = introduce_in_full(ctx, peer, room, ending, &mut probes)?;
    let seen_by = match room.len() {
        // Nothing showed the first one in: keep it all for the record.
        0 if !confirmed => return Ok(peer),
        0 => "a probe's arrival showed it is in the room".to_string(),
        _ => format!(
            "{} saw the notice",
            room.iter()
                .map(|p| p.label())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let from = peer.local_addr().to_string();
    ctx.fold(
        mark,
        peer.label(),
        format!("joined as {} from {from}{remark}; {seen_by}", peer.name),
        [vec![peer.name.clone(), from], probes].concat(),
    );
    Ok(peer)
}

/// [`introduce`], every byte recorded; also says whether the server was
/// seen to have the newcomer.
fn introduce_in_full(
    ctx: &Ctx,
    mut peer: Peer,
    room: &mut [&mut Peer],
    ending: &str,
    probes: &mut Vec<String>,
) -> Expect<(Peer, bool)> {
    let name = ctx.unique_name(peer.label());
    if ending.is_empty() {
        peer.say(&name)?;
    } else {
        peer.send(format!("{name}{ending}").as_bytes())?;
    }
    peer.name = name;
    // Nothing answers a newcomer, so nothing says when the server has it in
    // the room. A later newcomer is confirmed by the others seeing it join;
    // the first one, by a probe that it sees join.
    let confirmed = !room.is_empty() || confirm_first(ctx, &mut peer, probes)?;
    // A server may still be announcing an earlier arrival while this one
    // connects: such a notice reaching the newcomer is a harmless race.
    for other in room.iter() {
        peer.tolerate_once(&joined(&other.name));
    }
    for other in room.iter_mut() {
        other.expect(&joined(&peer.name)).advice(JOIN_ADVICE)?;
    }
    Ok((peer, confirmed))
}

/// Makes sure the server has registered `first`, the first client of a
/// scenario: a probe client joins until `first` sees it (a few tries), then
/// leaves. This syncs on a notice, never on a sleep. Notices about probes
/// are skipped by every client (see `Room::is_about_probe`).
/// Says whether it saw a probe join; the probes' addresses go to `probes`,
/// for the transcript.
fn confirm_first(ctx: &Ctx, first: &mut Peer, probes: &mut Vec<String>) -> Expect<bool> {
    ctx.note(format!(
        "a probe joins, to know when the server has {} in the room (nothing else tells)",
        first.label()
    ));
    // A missed notice never comes, so try soon, then wait longer (a remote
    // server may be slow); an extra probe costs little.
    for divisor in [20, 6, 2] {
        let mut probe = ctx.connect("probe")?;
        probes.push(probe.local_addr().to_string());
        let name = ctx.probe_name();
        probe.say(&name)?;
        let seen = first.wait_for(&joined(&name), ctx.timeouts().wait() / divisor)?;
        probe.close();
        if seen {
            // Let it be gone before the scenario starts (if the server says
            // so: leave notices are tested elsewhere).
            first.wait_for(&left(&name), ctx.timeouts().wait() / 6)?;
            return Ok(true);
        }
    }
    // The scenario's own expectations will tell what is wrong.
    Ok(false)
}

/// `from` says `text`; each of `to` receives it as `NAME: TEXT`.
pub fn chat(from: &mut Peer, text: &str, to: &mut [&mut Peer]) -> Expect {
    from.say(text)?;
    for peer in to.iter_mut() {
        peer.expect(&said(&from.name, text)).advice(SAID_ADVICE)?;
    }
    Ok(())
}

/// Checks that none of `peers` receives anything more.
pub fn all_silent(peers: &mut [&mut Peer], advice: &str) -> Expect {
    for peer in peers.iter_mut() {
        peer.expect_silence().advice(advice)?;
    }
    Ok(())
}

/// `peer` is seen leaving by each of `room`.
pub fn seen_leaving(name: &str, room: &mut [&mut Peer]) -> Expect {
    for peer in room.iter_mut() {
        peer.expect(&left(name)).advice(LEAVE_ADVICE)?;
    }
    Ok(())
}

// ----- scenarios for every chat check -----

/// ann and bob: bob is announced to ann (not to himself), and messages carry
/// the sender's name, to the other client only.
pub fn newcomer_announced(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    bob.expect_silence().advice(NOT_TO_SENDER)?;
    chat(&mut bob, "hello everyone", &mut [&mut ann])?;
    chat(&mut ann, "hi bob", &mut [&mut bob])?;
    all_silent(&mut [&mut ann, &mut bob], NOT_TO_SENDER)
}

/// Three clients: each message reaches the two others and not its sender.
pub fn everyone_but_the_sender(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut cat = join(ctx, "cat", &mut [&mut ann, &mut bob])?;
    chat(&mut cat, "cat to all", &mut [&mut ann, &mut bob])?;
    chat(&mut ann, "ann to all", &mut [&mut bob, &mut cat])?;
    chat(&mut bob, "bob to all", &mut [&mut ann, &mut cat])?;
    all_silent(&mut [&mut ann, &mut bob, &mut cat], NOT_TO_SENDER)
}

/// `EXIT` (any case), `bye` (any case) and `/quit`: `DONE` to that client,
/// a close, and one leave notice to the others.
pub fn goodbyes(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "`EXIT` (any case), `bye` (any case) and `/quit` end the chat: \
        answer `DONE` to that client only, then close its connection.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut cat = join(ctx, "cat", &mut [&mut ann, &mut bob])?;
    let mut dan = join(ctx, "dan", &mut [&mut ann, &mut bob, &mut cat])?;

    bob.say("exit")?;
    bob.expect(DONE).advice(ADVICE)?;
    bob.expect_closed().advice(ADVICE)?;
    seen_leaving(&bob.name, &mut [&mut ann, &mut cat, &mut dan])?;

    cat.say("Bye")?;
    cat.expect(DONE).advice(ADVICE)?;
    cat.expect_closed().advice(ADVICE)?;
    seen_leaving(&cat.name, &mut [&mut ann, &mut dan])?;

    dan.say("/quit")?;
    dan.expect(DONE).advice(ADVICE)?;
    dan.expect_closed().advice(ADVICE)?;
    seen_leaving(&dan.name, &mut [&mut ann])?;
    ann.expect_silence().advice(LEAVE_ADVICE)
}

/// A client that just closes its connection is announced as gone, once.
pub fn close_announced(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut cat = join(ctx, "cat", &mut [&mut ann, &mut bob])?;
    let name = bob.name.clone();
    bob.close();
    seen_leaving(&name, &mut [&mut ann, &mut cat])?;
    chat(&mut ann, "bob is gone", &mut [&mut cat])?;
    all_silent(&mut [&mut ann, &mut cat], LEAVE_ADVICE)
}
