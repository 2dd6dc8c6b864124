//! The scenarios of each exercise. Exercise N turns step N-1 into step N, so
//! check N plays what step N adds (and what students get wrong about it),
//! as a real client would; the proof in `tests/proof.rs` shows that step N-1
//! fails it and step N passes it.
//!
//! Scenarios shared by several checks (an echo round trip, the chat basics
//! that hold for lines and frames alike) live in `echo.rs` and `chat.rs`.

mod chat;
mod echo;
mod exercise1;
mod exercise2;
mod exercise3;
mod exercise4;
mod exercise5;
mod exercise6;
mod exercise7;
mod exercise8;

use crate::grader::Check;

/// The check of exercise `n` (1 to 8).
pub fn check(n: u8) -> Check {
    match n {
        1 => exercise1::check(),
        2 => exercise2::check(),
        3 => exercise3::check(),
        4 => exercise4::check(),
        5 => exercise5::check(),
        6 => exercise6::check(),
        7 => exercise7::check(),
        8 => exercise8::check(),
        _ => panic!("there is no exercise {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::EXERCISES;

    #[test]
    fn every_exercise_has_a_check_with_distinct_scenario_names() {
        for n in EXERCISES {
            let check = check(n);
            assert_eq!(check.exercise, n);
            assert!(
                check.scenarios.len() >= 3,
                "exercise {n} has too few scenarios"
            );
            let mut names: Vec<_> = check.scenarios.iter().map(|s| s.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(
                names.len(),
                check.scenarios.len(),
                "exercise {n}: duplicate names"
            );
        }
    }
}
