//! Exercise 5: commands. `/name NEW` renames (everyone sees it), `/who`
//! lists who is online (to the asker), errors go to the asker only, and two
//! clients racing for one name cannot both get it.

use std::sync::Barrier;

use super::chat::{self, all_silent, chat, from_server, join, renamed};
use crate::grader::failure::{Advise, Expect, Failure, Problem};
use crate::grader::liveness::Kind;
use crate::grader::peer::{Peer, Wire};
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
                name: "four clients racing for one name: exactly one gets it, every time",
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

/// Expects an error line (`SERVER: ...`, not a rename notice) to `peer`.
fn expect_error(peer: &mut Peer, advice: &str) -> Expect<String> {
    peer.expect_where("an error line starting with `SERVER: `", |line| {
        from_server(line) && !line.contains(" is now ") && !line.contains(" has joined ")
    })
    .advice(advice)
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

/// How many times the racers race. A server that checks the name, unlocks,
/// then takes it loses only when two threads interleave just so: one round
/// rarely shows it, many rounds usually do.
const RACE_ROUNDS: usize = 25;

/// A failure of the race that shows two winners: a second rename notice
/// for one name, or the name twice in `/who`, is the check-then-set race.
fn two_winners(failure: Failure) -> Failure {
    let got = match &*failure.problem {
        Problem::Mismatch { got, .. } | Problem::NotSilent { got, .. } => got.clone(),
        _ => return failure,
    };
    let text = String::from_utf8_lossy(&got);
    if !(text.contains(" is now ") || text.starts_with("SERVER: online: ")) {
        return failure;
    }
    failure.found(
        "check-then-set",
        format!(
            "Two clients got the same name: after one rename notice came {}. The rename \
             checks that the name is free and takes it in two steps, with the lock released in \
             between, so two threads both pass the check before either takes the name. Check \
             and take under one lock: keep the guard from the check until the name is set.",
            escape_shortened(&got)
        ),
    )
}

fn rename_race(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "Check that the name is free and take it in one step, under one \
        lock: if you check, unlock, then rename, two clients can both pass the check.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut cat = join(ctx, "cat", &mut [&mut ann, &mut bob])?;
    let mut dan = join(ctx, "dan", &mut [&mut ann, &mut bob, &mut cat])?;
    let eve = join(ctx, "eve", &mut [&mut ann, &mut bob, &mut cat, &mut dan])?;
    let mut racers = [bob, cat, dan, eve];
    ctx.note(format!(
        "bob, cat, dan and eve ask for the same new name at the same instant, {RACE_ROUNDS} times"
    ));
    for _ in 0..RACE_ROUNDS {
        let target = ctx.unique_name("zoe");
        race(&mut racers, &format!("/name {target}"))?;
        let notices: Vec<String> = racers.iter().map(|r| renamed(&r.name, &target)).collect();
        let first = ann
            .expect_where(&format!("one of {notices:?}"), |line| {
                notices.iter().any(|n| n == line)
            })
            .advice(RENAME_ADVICE)?;
        let winner = notices.iter().position(|n| *n == first).unwrap_or(0);
        for (i, racer) in racers.iter_mut().enumerate() {
            if i == winner {
                racer
                    .expect(&first)
                    .map_err(two_winners)
                    .advice(RENAME_ADVICE)?;
                continue;
            }
            // A loser gets the winner's notice and its own error, in either order.
            let mut got_notice = false;
            for _ in 0..2 {
                let line = racer
                    .expect_where("the winner's rename notice and an error", |line| {
                        (line == first && !got_notice)
                            || (from_server(line) && !line.contains(" is now "))
                    })
                    .map_err(two_winners)
                    .advice(ADVICE)?;
                got_notice |= line == first;
            }
            if !got_notice {
                return Err(Failure::wrong(
                    format!("{} received two errors and no rename notice", racer.label()),
                    "the loser receives the winner's rename notice and one error",
                )
                .with_advice(ADVICE));
            }
        }
        racers[winner].name = target;
    }
    ann.expect_silence().map_err(two_winners).advice(ADVICE)?;
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
    .map_err(two_winners)
    .advice(ADVICE)?;
    Ok(())
}

/// Every racer sends `command` at the same instant, each from its own
/// thread, so the server's threads handle them together.
fn race(racers: &mut [Peer], command: &str) -> Expect {
    let barrier = Barrier::new(racers.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = racers
            .iter_mut()
            .map(|racer| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    racer.say(command)
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
