//! Exercise 8 (the bonus step): the prankster-proof room. A flooder is
//! slowed, then disconnected, and nobody who reads is dropped for it (flood
//! control: the exercise's own idea); and the other defences of step 8,
//! which the starter already has: names that are checked, lookalikes of
//! `SERVER` and of classmates refused, over-long lines refused, and control
//! and invisible characters kept off the other terminals.
//!
//! Every scenario runs with the server's own settings: flood control on,
//! as in a classroom.

use std::time::Instant;

use super::chat::{self, NOT_TO_SENDER, all_silent, chat, from_server, join, joined, left, said};
use crate::grader::failure::{Advise, Expect, Failure, Problem};
use crate::grader::liveness::Kind;
use crate::grader::peer::{Peer, Wire};
use crate::grader::{Check, Ctx, Scenario};

/// The default `--max-line` of step 8 (session2/PROTOCOL.md).
const MAX_LINE: usize = 4096;

/// Lines a flooder sends in one write, as `seq 1 10000 | chat-client` does.
const FLOOD_LINES: usize = 10_000;

const FLOOD_ADVICE: &str = "Slow the sender at the source: give each client a burst of \
    messages it may send at once, then a steady rate (flood control, `src/flood.rs`). A \
    message past that waits, and the reader reads nothing meanwhile, so TCP slows that \
    sender alone; one that is still being slowed a burst's time later is told it sends \
    too fast (`SERVER: ...`) and disconnected (Excess Flood).";

const BURST_ADVICE: &str = "One client that floods must not cost the others their place. With \
    a full queue as the only defence, a burst fills every listener's queue faster than a \
    terminal can print, and the room drops the listeners while the flooder stays. Slow the \
    sender at the source (flood control, `src/flood.rs`): a burst of messages, then a steady \
    rate; stop reading that client until its next message is due, so TCP slows it down, and \
    disconnect one that keeps pushing.";

pub fn check() -> Check {
    Check {
        exercise: 8,
        idea: "a prankster cannot spoil the room",
        wire: Wire::Lines,
        kind: Kind::Chat,
        scenarios: vec![
            Scenario {
                name: "a flooder is slowed, then disconnected and told why; the listeners stay",
                run: flood,
            },
            Scenario {
                name: "a burst of 10,000 lines slows its sender and drops nobody who reads",
                run: burst,
            },
            Scenario {
                name: "names are checked: SERVER, too long, with spaces, taken in any case",
                run: names_checked,
            },
            Scenario {
                name: "names that only look like SERVER or a classmate are refused",
                run: lookalikes,
            },
            Scenario {
                name: "an over-long line gets an error and a disconnect; the others never see it",
                run: long_line,
            },
            Scenario {
                name: "control and invisible characters never reach another client",
                run: control_characters,
            },
        ],
    }
}

/// The classroom's prankster: `seq 1 10000 | chat-client`, or `yes | nc`.
/// eve sends 10,000 lines in one write and does not read; ann and bob read
/// as fast as they can. The server must slow eve down, then disconnect her
/// with a word why, and keep ann and bob. A server without flood control
/// relays all 10,000 at once (or drops its listeners trying) and keeps eve.
fn flood(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut eve = join(ctx, "eve", &mut [&mut ann, &mut bob])?;
    ctx.note(format!(
        "eve sends {FLOOD_LINES} lines in one write and reads nothing; ann and bob read as \
         fast as they can (eve's lines are not shown one by one)"
    ));
    // With the course's defaults (a burst of 50, then 10 a second, and
    // Excess Flood 5 s later), eve is gone after about 5 s.
    let progress = read_flood(ctx, &mut eve, [&mut ann, &mut bob], FLOOD_ADVICE)?;
    if !progress.eve_gone.iter().all(|&gone| gone) {
        let failure = if progress.received.iter().all(|&n| n == FLOOD_LINES) {
            Failure::wrong(
                format!(
                    "all {FLOOD_LINES} of eve's lines reached ann and bob within {:.1} s, and \
                     eve stayed in the room",
                    progress.seconds
                ),
                "a flooder is slowed down, then disconnected",
            )
            .found(
                "never-slowed",
                format!(
                    "Nothing slowed eve down: her {FLOOD_LINES} lines were relayed as fast as she \
                     sent them, and she was never disconnected. {FLOOD_ADVICE}"
                ),
            )
        } else {
            Failure::wrong(
                format!(
                    "after {:.1} s ann had {} of eve's lines and bob {}, and eve was still in \
                     the room",
                    progress.seconds, progress.received[0], progress.received[1]
                ),
                "a client that keeps flooding is disconnected",
            )
            .found(
                "never-disconnected",
                "eve was slowed down, but never disconnected, though she kept pushing for \
                 seconds: a client still being slowed a burst's time after its slowing began \
                 is not going to stop. Tell it why (`SERVER: you are sending too fast ...`) and \
                 disconnect it: Excess Flood (`Pace::TooFast`).",
            )
        };
        return Err(failure.with_advice(FLOOD_ADVICE));
    }
    // eve's last word: why she was cut off. (A reset may overtake it when
    // the server closes with her lines unread: the close itself is there.)
    let why = eve.expect_where(
        "a line starting with `SERVER: ` (why she is disconnected)",
        |line| from_server(line) && !line.contains(" has joined ") && !line.contains(" has left "),
    );
    match why {
        Ok(_) => eve.expect_closed().advice(FLOOD_ADVICE)?,
        Err(failure) if matches!(&*failure.problem, Problem::Reset { partial, .. } if partial.is_empty()) =>
        {
            eve.note("(the reset arrived before the server's last word could be read: accepted)");
        }
        Err(failure) => return Err(failure.with_advice(FLOOD_ADVICE)),
    }
    chat(&mut ann, "still here after the flood", &mut [&mut bob]).advice(FLOOD_ADVICE)?;
    all_silent(&mut [&mut ann, &mut bob], FLOOD_ADVICE)
}

/// How far each of the two readers got with eve's numbered lines.
struct Progress {
    received: [usize; 2],
    eve_gone: [bool; 2],
    seconds: f64,
}

/// Sends `FLOOD_LINES` numbered lines from eve in one write, and reads them
/// at both `readers`, a line at each in turn, as fast as they can, until
/// each has them all or has seen eve leave, or a few waits have passed (a
/// server may slow eve down for ever). What arrives must come in order. A
/// reader dropped on the way (closed, or seen leaving by the other) is the
/// failure flood control exists for.
fn read_flood(
    ctx: &Ctx,
    eve: &mut Peer,
    mut readers: [&mut Peer; 2],
    advice: &str,
) -> Expect<Progress> {
    let bytes: Vec<u8> = (0..FLOOD_LINES)
        .flat_map(|i| eve.encode(&i.to_string()))
        .collect();
    eve.set_quiet(true);
    for reader in readers.iter_mut() {
        reader.set_quiet(true);
    }
    let started = Instant::now();
    eve.send(&bytes)?;
    let eve_left = left(&eve.name);
    let names = [readers[0].name.clone(), readers[1].name.clone()];
    let deadline = started + ctx.timeouts().wait() * 4;
    let mut progress = Progress {
        received: [0; 2],
        eve_gone: [false; 2],
        seconds: 0.0,
    };
    let done = |p: &Progress, r: usize| p.eve_gone[r] || p.received[r] == FLOOD_LINES;
    while (0..2).any(|r| !done(&progress, r)) && Instant::now() < deadline {
        for r in 0..2 {
            if done(&progress, r) {
                continue;
            }
            let other_left = left(&names[1 - r]);
            let line = said(&eve.name, &progress.received[r].to_string());
            let description = format!("eve's line {} (or her leave notice)", progress.received[r]);
            let reader = &mut readers[r];
            let got = reader.expect_where(&description, |m| {
                m == line || m == eve_left || m == other_left
            });
            let dropped = match &got {
                Ok(got) if *got == other_left => Some(1 - r),
                Err(failure)
                    if matches!(
                        &*failure.problem,
                        Problem::Closed { .. } | Problem::Reset { .. }
                    ) =>
                {
                    Some(r)
                }
                _ => None,
            };
            if let Some(victim) = dropped {
                let (label, heard) = (
                    readers[victim].label().to_string(),
                    progress.received[victim],
                );
                let failure = match got {
                    Err(failure) => failure,
                    Ok(_) => Failure::wrong(
                        format!("{} received {label}'s leave notice", readers[r].label()),
                        "nobody who reads is dropped",
                    ),
                };
                return Err(failure.with_advice(advice).found(
                    "listener-dropped",
                    format!(
                        "The server dropped {label}, who was reading, in the middle of eve's \
                         flood ({label} had received {heard} of her lines in {:.1} s): the \
                         flooder filled {label}'s queue faster than it could be sent, and \
                         nothing slowed the flooder down. {advice}",
                        started.elapsed().as_secs_f64()
                    ),
                ));
            }
            match got {
                Ok(got) if got == eve_left => progress.eve_gone[r] = true,
                Ok(_) => progress.received[r] += 1,
                Err(failure) => {
                    reader.note(format!(
                        "had received {} of eve's lines",
                        progress.received[r]
                    ));
                    return Err(failure.with_advice(advice));
                }
            }
        }
    }
    progress.seconds = started.elapsed().as_secs_f64();
    eve.set_quiet(false);
    for (r, reader) in readers.into_iter().enumerate() {
        reader.set_quiet(false);
        let then = if progress.eve_gone[r] {
            ", then her leave notice"
        } else {
            ""
        };
        reader.note(format!(
            "received {} of eve's lines, in order{then} ({:.1} s after the flood began)",
            progress.received[r], progress.seconds
        ));
    }
    Ok(progress)
}

/// The hardening issue's classroom: two people read as fast as they can
/// while a script sends 10,000 lines in one write. Whatever the server's
/// flood control does to eve (slow her down, disconnect her for flooding),
/// nobody else may be dropped, and what arrives arrives in order. A server
/// whose only defence is a full queue drops the readers instead: their
/// queues fill in a moment.
fn burst(ctx: &Ctx) -> Expect {
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut eve = join(ctx, "eve", &mut [&mut ann, &mut bob])?;
    ctx.note(format!(
        "eve sends {FLOOD_LINES} lines in one write; ann and bob read as fast as they can (the \
         lines are not shown one by one). The server may slow eve down, or disconnect her for \
         flooding; it may drop nobody else"
    ));
    let mut progress = read_flood(ctx, &mut eve, [&mut ann, &mut bob], BURST_ADVICE)?;
    // Both readers are still in the room (eve's lines may still trickle in).
    let eve_left = left(&eve.name);
    let hello = said(&ann.name, "still here after the burst");
    ann.say("still here after the burst")?;
    loop {
        let line = said(&eve.name, &progress.received[1].to_string());
        let got = bob
            .expect_where("ann's line (eve's next lines may come first)", |m| {
                m == hello || m == line || m == eve_left
            })
            .advice(BURST_ADVICE)?;
        match got {
            _ if got == hello => break,
            _ if got == line => progress.received[1] += 1,
            _ => {}
        }
    }
    Ok(())
}

/// Expects an error line (`SERVER: ...`) to `peer`, not a notice.
fn expect_error(peer: &mut Peer, advice: &str) -> Expect<String> {
    peer.expect_where("an error line starting with `SERVER: `", |line| {
        from_server(line) && !line.contains(" has joined ") && !line.contains(" has left ")
    })
    .advice(advice)
}

fn names_checked(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "Check each name before accepting it: at most 32 characters, no \
        whitespace or control characters, not `SERVER` (any case), not taken (any case). \
        Refuse with an error line `SERVER: ...` and let the client send another name.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = ctx.connect("bob")?;
    let too_long = "b".repeat(33);
    let taken = ann.name.to_uppercase();
    for bad in ["SERVER", too_long.as_str(), "two words", taken.as_str()] {
        bob.say(bad)?;
        expect_error(&mut bob, ADVICE)?;
    }
    ann.expect_silence()
        .advice("A refused name is not announced: the client has not joined yet.")?;
    let name = ctx.unique_name("bob");
    bob.say(&name)?;
    ann.expect(&joined(&name)).advice(ADVICE)?;
    bob.name = name;
    chat(&mut bob, "finally in", &mut [&mut ann])?;
    all_silent(&mut [&mut ann, &mut bob], NOT_TO_SENDER)
}

fn lookalikes(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "Compare names by what they look like, not by their bytes: refuse \
        invisible (format) characters, names that mix alphabets, and any name whose UTS #39 \
        confusable skeleton matches `SERVER`'s or a present client's (crates \
        `unicode-security` and `unicode-properties`). Refuse with an error line `SERVER: ...` \
        and let the client try again.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = ctx.connect("bob")?;
    // A Cyrillic Ѕ (U+0405); SERVER with a zero-width space; ann's name
    // with a Cyrillic а (U+0430) for its first letter.
    let cyrillic_ann = ann.name.replacen('a', "\u{430}", 1);
    for bad in ["\u{405}ERVER", "SERVER\u{200b}", cyrillic_ann.as_str()] {
        bob.note(format!("tries {bad:?}"));
        bob.say(bad)?;
        expect_error(&mut bob, ADVICE)?;
    }
    ann.expect_silence()
        .advice("A refused name is not announced: the client has not joined yet.")?;
    let name = ctx.unique_name("bob");
    bob.say(&name)?;
    ann.expect(&joined(&name)).advice(ADVICE)?;
    bob.name = name;
    chat(&mut bob, "the real bob", &mut [&mut ann])?;
    all_silent(&mut [&mut ann, &mut bob], NOT_TO_SENDER)
}

fn long_line(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "Stop reading a line at the limit (`--max-line`, 4096 bytes): \
        answer an error line `SERVER: ...`, close the connection, and never broadcast or keep \
        the rest. Memory stays bounded whatever a client sends.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let mut long = vec![b'y'; MAX_LINE + 100];
    long.push(b'\n');
    bob.send(&long)?;
    match expect_error(&mut bob, ADVICE) {
        Ok(_) => bob.expect_closed().advice(ADVICE)?,
        // The server closed with the rest of the line unread, and the reset
        // overtook its error line: the refusal still happened.
        Err(failure) if matches!(&*failure.problem, Problem::Reset { partial, .. } if partial.is_empty()) =>
        {
            bob.note("(the reset arrived before the error line could be read: accepted)");
        }
        Err(failure) => return Err(failure),
    }
    chat::seen_leaving(&bob.name, &mut [&mut ann]).advice(ADVICE)?;
    let mut cat = join(ctx, "cat", &mut [&mut ann])?;
    chat(&mut cat, "the room goes on", &mut [&mut ann])?;
    all_silent(&mut [&mut ann, &mut cat], ADVICE)
}

/// Characters a terminal obeys instead of showing, or that hide or reorder
/// text: control characters but tab, bidi controls, zero-width spaces.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{200b}' | '\u{feff}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn control_characters(ctx: &Ctx) -> Expect {
    const ADVICE: &str = "Replace control characters other than tab, and invisible ones \
        (bidi overrides and isolates, zero-width spaces), before broadcasting: an escape \
        sequence would clear or recolour the other terminals, and U+202E prints the rest of \
        the line backwards.";
    let mut ann = join(ctx, "ann", &mut [])?;
    let mut bob = join(ctx, "bob", &mut [&mut ann])?;
    let prefix = format!("{}: ", bob.name);
    // Escape sequences (clear the screen, red) and a bell; then a right-to-
    // left override (U+202E) and a zero-width space (U+200B).
    bob.send(b"\x1b[2J\x1b[31mred alert\x1b[0m\x07 and a\ttab\n")?;
    bob.send("bob: \u{202e}olleh, zero\u{200b}width\n".as_bytes())?;
    for words in [["alert", "tab"], ["olleh", "width"]] {
        ann.expect_where(
            "bob's line with no control or invisible characters but tab (and still its words)",
            |line| {
                line.starts_with(&prefix)
                    && words.iter().all(|w| line.contains(w))
                    && !line.chars().any(unsafe_char)
            },
        )
        .advice(ADVICE)?;
    }
    all_silent(&mut [&mut ann, &mut bob], NOT_TO_SENDER)
}
