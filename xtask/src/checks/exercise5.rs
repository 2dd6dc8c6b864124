//! Exercise 5: commands. `/name NEW` renames (everyone sees it), `/who`
//! lists who is online (to the asker), errors go to the asker only, and two
//! clients racing for one name cannot both get it.

use std::sync::Barrier;
use std::time::Instant;

use super::chat::{self, all_silent, chat, from_server, join, renamed};
use crate::grader::failure::{Advise, Expect, Failure, Problem};
use crate::grader::liveness::Kind;
use crate::grader::peer::{Peer, Wanted, Wire, and_list};
use crate::grader::transcript::escape_shortened;
use crate::grader::{Check, Ctx, Scenario};

const ASKER_ONLY: &str = "Command replies and errors go to the asker only, never to the \
    others; and a line starting with `/` is never broadcast.";
const RENAME_ADVICE: &str = "On `/name NEW`, tell everyone, the renamed client included, \
    `SERVER: OLD is now NEW`, and use the new name from then on.";

pub fn check() -> Check {
    Check {
        exercise: 5,
        idea: "commands: /name, /who, errors to the asker",
        wire: Wire::Lines,
        kind: Kind::Chat,
        scenarios: vec![
            Scenario {
                name: "/name renames: everyone, the renamed client too, sees `OLD is now NEW`",
                run: rename,
            },
            Scenario {
                name: "/who lists everyone online, in joining order, to the asker only",
                run: who,
            },
            Scenario {
                name: "a taken name (in any case) is refused, to the asker only",
                run: taken_name,
            },
            Scenario {
                name: "errors go to the asker only: /name without a name, an unknown command",
                run: bad_commands,
            },
            Scenario {
                name: "six pairs racing for six names: exactly one of each pair gets its name, \
                       every time",
                run: rename_race,
            },
            Scenario {
                name: "/quit gets DONE and a close, like EXIT",
                run: quit,
            },
        ],
    }
}

fn rename(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let new = ctx.unique_name("bea");
    bob.say(&format!("/name {new}"))?;
    let notice = renamed(&bob.name, &new);
    bob.expect(&notice).advice(RENAME_ADVICE)?;
    ann.expect(&notice).advice(RENAME_ADVICE)?;
    bob.name = new;
    chat(&mut bob, "new name, same me", &mut [&mut ann]).advice(RENAME_ADVICE)?;
    let name = bob.name.clone();
    bob.close();
    chat::seen_leaving(&name, &mut [&mut ann]).advice(RENAME_ADVICE)?;
    ann.expect_silence()
}

/// Whether `line` is `SERVER: online: ...` listing `names` in this order
/// (others may be online too on a shared server, but not twice; a probe
/// client on its way out does not count).
fn lists_in_order(ctx: &Ctx, line: &str, names: &[&str], exactly: bool) -> bool {
    let Some(list) = line.strip_prefix("SERVER: online: ") else {
        return false;
    };
    let listed: Vec<&str> = list.split(", ").filter(|n| !ctx.is_probe(n)).collect();
    let ours: Vec<&str> = listed
        .iter()
        .copied()
        .filter(|n| names.contains(n))
        .collect();
    ours == names && (!exactly || listed.len() == names.len())
}

fn who(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut cat = join(ctx, "cat", &mut [&mut ann, &mut bob])?;
    bob.say("/who")?;
    let names = [ann.name.clone(), bob.name.clone(), cat.name.clone()];
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let description = format!("`SERVER: online: {}`", names.join(", "));
    let exactly = !ctx.shared_server();
    bob.expect_where(&description, |line| lists_in_order(ctx, line, &names, exactly))
        .advice("`/who` answers the asker with `SERVER: online: ` and the names in joining order, separated by `, `.")?;
    all_silent(&mut [&mut ann, &mut bob, &mut cat], ASKER_ONLY)
}

/// What an error line looks like to a client.
const AN_ERROR: &str = "an error line starting with `SERVER: `";

/// Whether `line` is an error line: from the server, and not a notice or
/// an answer to `/who`.
fn is_error(line: &str) -> bool {
    from_server(line)
        && !line.contains(" is now ")
        && !line.contains(" has joined ")
        && !line.starts_with("SERVER: online: ")
}

/// Expects an error line to `peer`.
fn expect_error(peer: &mut Peer, advice: &str) -> Expect<String> {
    peer.expect_where(AN_ERROR, is_error).advice(advice)
}

fn taken_name(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "A name another client has, compared case-insensitively \
        (`eq_ignore_ascii_case`), is refused with an error line `SERVER: ...` to the asker \
        only; the asker keeps its old name.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    bob.say(&format!("/name {}", ann.name.to_uppercase()))?;
    expect_error(&mut bob, ADVICE)?;
    ann.expect_silence().advice(ASKER_ONLY)?;
    chat(&mut bob, "still my old name", &mut [&mut ann]).advice(ADVICE)?;
    all_silent(&mut [&mut ann, &mut bob], ASKER_ONLY)
}

fn bad_commands(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    bob.say("/name")?;
    expect_error(
        &mut bob,
        "`/name` without a name gets an error line `SERVER: ...`.",
    )?;
    bob.say("/frobnicate now")?;
    expect_error(
        &mut bob,
        "An unknown command gets an error line `SERVER: ...` to the asker.",
    )?;
    ann.expect_silence().advice(ASKER_ONLY)?;
    chat(&mut bob, "plain text still works", &mut [&mut ann])?;
    all_silent(&mut [&mut ann, &mut bob], ASKER_ONLY)
}

/// The clients that race, in pairs (bob and cat, dan and eve, ...): every
/// round, each pair asks for a new name of its own, all twelve at the same
/// instant. Six races at once keep twelve threads meeting at the lock.
const RACERS: [&str; 12] = [
    "bob", "cat", "dan", "eve", "fay", "gus", "hal", "ivy", "jon", "kim", "lou", "max",
];

/// How many racers ask for each name: a pair.
const PAIR: usize = 2;

// The scenario's title says six pairs.
const _: () = assert!(RACERS.len() == 6 * PAIR);

/// How many times the pairs race, at most. A server that checks the name,
/// unlocks, then takes it loses only when two threads interleave just so,
/// in the microsecond between its check and its take: one race rarely shows
/// it, thousands do (six at a time, 500 times), and the more threads meet at
/// the lock at once, the likelier.
const RACE_ROUNDS: usize = 500;

/// How many rounds are raced at the least, however long they take (a
/// round is slow where the system delays its acknowledgements, see
/// `peer::acknowledge_now`); beyond it, the rounds stop when
/// `Timeouts::race` is up.
const RACE_MIN_ROUNDS: usize = 25;

/// A failure of the race that shows two winners: a second rename notice
/// for one name, or the name twice in `/who`, is the check-then-set race.
fn two_winners(failure: Failure) -> Failure {
    let got = match &*failure.problem {
        Problem::Mismatch { got, .. } | Problem::NotSilent { got, .. } => got.clone(),
        _ => return failure,
    };
    let text = String::from_utf8_lossy(&got);
    let what = if text.starts_with("SERVER: online: ") {
        format!("`/who` lists one name twice: {}", escape_shortened(&got))
    } else if let Some((_, name)) = text.trim_end().split_once(" is now ") {
        // The first notice for that name, if the same wait accepted it.
        let first = failure.before.iter().find(|line| {
            String::from_utf8_lossy(line)
                .trim_end()
                .ends_with(&format!(" is now {name}"))
        });
        match first {
            Some(first) => format!(
                "{} came after {}",
                escape_shortened(&got),
                escape_shortened(first)
            ),
            None => format!(
                "a second rename notice for {name} came: {}",
                escape_shortened(&got)
            ),
        }
    } else {
        return failure;
    };
    failure.found(
        "check-then-set",
        format!(
            "Two clients got the same name: {what}. The rename checks that the name is free \
             and takes it in two steps, with the lock released in between, so two threads both \
             pass the check before either takes the name. Check and take under one lock: keep \
             the guard from the check until the name is set."
        ),
    )
}

fn rename_race(ctx: &Ctx) -> Expect {
    // Steps with flood control would slow the racers down (hundreds of
    // commands a second): the race is about the lock.
    ctx.with_flood_control_off(race_for_names)
}

fn race_for_names(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "Check that the name is free and take it in one step, under one \
        lock: if you check, unlock, then rename, two clients can both pass the check.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut racers: Vec<Peer> = Vec::new();
    for label in RACERS {
        let mut room: Vec<&mut Peer> = vec![&mut ann];
        room.extend(racers.iter_mut());
        let racer = join(ctx, label, &mut room)?;
        racers.push(racer);
    }
    let budget = ctx.timeouts().race();
    ctx.note(format!(
        "{} ask for new names in pairs ({}), each pair for a name of its own, all at the same \
         instant; again and again, {RACE_ROUNDS} times or as many as {:.1} s allow",
        and_list(&RACERS),
        racers
            .chunks(PAIR)
            .map(|pair| and_list(&pair.iter().map(Peer::label).collect::<Vec<_>>()))
            .collect::<Vec<_>>()
            .join(", "),
        budget.as_secs_f64()
    ));
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < RACE_MIN_ROUNDS || (rounds < RACE_ROUNDS && started.elapsed() < budget) {
        race(ctx, &mut ann, &mut racers, ADVICE)?;
        rounds += 1;
    }
    ctx.note(format!(
        "the pairs raced {rounds} times in {:.1} s: each time, one of each pair got the name",
        started.elapsed().as_secs_f64()
    ));
    ann.expect_silence()
        .map_err(|failure| shown_by(failure, &mut racers, None))
        .advice(ADVICE)?;
    let last = racers.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    ann.say("/who")?;
    ann.expect_where(
        &format!("`SERVER: online: ...` with {last:?} once each"),
        |line| {
            line.strip_prefix("SERVER: online: ").is_some_and(|list| {
                last.iter()
                    .all(|name| list.split(", ").filter(|n| n == name).count() == 1)
            })
        },
    )
    .map_err(|failure| shown_by(failure, &mut racers, None))
    .advice(ADVICE)?;
    Ok(())
}

/// One round: each pair asks for a new name at the same instant; ann
/// hears one rename notice per name, and so does every racer, a loser also
/// its error (the notice and the error come from two threads, in either
/// order).
fn race(ctx: &Ctx, ann: &mut Peer, racers: &mut [Peer], advice: &str) -> Expect {
    let names: Vec<String> = racers
        .chunks(PAIR)
        .map(|_| ctx.unique_name("zoe"))
        .collect();
    let requests: Vec<Vec<u8>> = names
        .iter()
        .map(|name| ann.encode(&format!("/name {name}")))
        .collect();
    at_once(
        racers
            .iter_mut()
            .enumerate()
            .map(|(i, racer)| (racer, requests[i / PAIR].as_slice()))
            .collect(),
    )?;
    // Who won which name: the notices ann hears.
    let notices: Vec<Vec<String>> = racers
        .chunks(PAIR)
        .zip(&names)
        .map(|(pair, name)| pair.iter().map(|r| renamed(&r.name, name)).collect())
        .collect();
    let one_per_name: Vec<Wanted> = racers
        .chunks(PAIR)
        .zip(&names)
        .zip(&notices)
        .map(|((pair, name), notices)| {
            let who: Vec<&str> = pair.iter().map(Peer::label).collect();
            Wanted::matching(
                format!("`SERVER: ... is now {name}` ({})", who.join(" or ")),
                |line| notices.iter().any(|n| n == line),
            )
        })
        .collect();
    let heard = match ann.expect_all(&one_per_name) {
        Ok(heard) => heard,
        Err(failure) => return Err(shown_by(failure, racers, None)).advice(RENAME_ADVICE),
    };
    let mut winners = Vec::new();
    for (pair, pair_notices) in notices.iter().enumerate() {
        let at = pair_notices
            .iter()
            .position(|n| heard.contains(n))
            .expect("ann heard one notice per name");
        winners.push(pair * PAIR + at);
    }
    for i in 0..racers.len() {
        let mut due: Vec<Wanted> = heard.iter().map(|n| Wanted::exactly(n)).collect();
        let won = winners.contains(&i);
        if !won {
            due.push(Wanted::matching(AN_ERROR, is_error));
        }
        if let Err(failure) = racers[i].expect_all(&due) {
            let advice = if won { RENAME_ADVICE } else { advice };
            return Err(shown_by(failure, racers, Some(i))).advice(advice);
        }
    }
    for (winner, name) in winners.into_iter().zip(names) {
        racers[winner].name = name;
    }
    Ok(())
}

/// `failure`, seen by ann or by the racer `seen_by`, diagnosed. The other
/// racers received the same notices: what they left unread stays out of the
/// transcript, which shows the round that failed instead.
fn shown_by(failure: Failure, racers: &mut [Peer], seen_by: Option<usize>) -> Failure {
    for (i, racer) in racers.iter_mut().enumerate() {
        if Some(i) != seen_by {
            racer.set_quiet(true);
        }
    }
    two_winners(failure)
}

/// Each of `sends` is written at the same instant, from its own thread,
/// so the server's threads handle them together.
fn at_once(sends: Vec<(&mut Peer, &[u8])>) -> Expect {
    let barrier = Barrier::new(sends.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = sends
            .into_iter()
            .map(|(client, bytes)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    client.send(bytes)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racing thread does not panic"))
            .collect::<Expect<Vec<()>>>()
    })?;
    Ok(())
}

fn quit(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    bob.say("/quit")?;
    bob.expect(chat::DONE)
        .advice("`/quit` is a goodbye, like `EXIT`: answer `DONE` and close.")?;
    bob.expect_closed()?;
    chat::seen_leaving(&bob.name, &mut [&mut ann])?;
    ann.expect_silence()
}
