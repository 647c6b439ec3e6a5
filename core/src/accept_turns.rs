//! Accept turns: which children poll the listening sockets when there are more children than
//! CPUs.
//!
//! In httpd every child's listener polls the listening sockets, so new connections spread over
//! all the children. eventmpm's listener answers cheap requests itself, so each child's listener
//! is a busy thread of its own; with more children than CPUs the listeners sharing a CPU take
//! turns on it, and every turn is a context switch between processes. Two children on one CPU
//! served 12 % fewer requests than one, at a p99 35 % higher (`wrk -c50`, 1 KiB, both pinned to
//! one CPU). Spreading connections over more listeners than CPUs buys no parallelism.
//!
//! The rule: of the children that would accept (alive, not stopping, admission lets them), only
//! the first `cpus` by scoreboard slot do; the others leave their listening sockets alone until
//! one of those stops accepting (its admission bound, an accept pause, a stop, its exit). With
//! as many CPUs as children, every child accepts, as in httpd. What a child would do is its
//! [`ProcessScore::is_accepting`] flag, which the parent's maintenance reads too: a child whose
//! turn it is not still counts its idle workers as ready (they are, the moment it accepts).
//!
//! The rule is evaluated by each child when its own flag changes and when another child's did
//! (the runtime rings them all); a race between two such evaluations only lets one more child
//! accept for a moment, never none.

use crate::scoreboard::{ProcessScore, Quiescing, Scoreboard};

/// Whether the child in `slot` takes its turn at accepting, given that `cpus` CPUs serve the
/// children: fewer than `cpus` children in lower slots would accept (a child in a slot outside
/// the scoreboard never does). `cpus` of 0 counts as 1.
pub fn my_turn(scoreboard: &Scoreboard<'_>, slot: usize, cpus: usize) -> bool {
    if slot >= scoreboard.processes().len() {
        return false;
    }
    ahead_below(
        scoreboard.processes()[..slot].iter().map(would_accept),
        cpus.max(1),
    )
}

/// Whether a slot's child would accept: it is there, not stopping, and its admission lets it.
/// What a child wrote is untrusted; only these three fields are read, as booleans.
pub fn would_accept(p: &ProcessScore) -> bool {
    p.pid() != 0 && p.quiescing() == Some(Quiescing::No) && p.is_accepting()
}

/// Whether fewer than `limit` of `ahead` are true (looking at no more than `limit` of them).
fn ahead_below(ahead: impl Iterator<Item = bool>, limit: usize) -> bool {
    ahead.filter(|&a| a).take(limit).count() < limit
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::scoreboard::Layout;
    use proptest::prelude::*;

    #[derive(Clone, Copy)]
    #[repr(C, align(64))]
    struct Chunk([u8; 64]);

    /// A zeroed scoreboard of `n` process slots (one thread each), in leaked memory.
    fn board(n: u32) -> Scoreboard<'static> {
        let layout = Layout::new(n, 1);
        let chunks = std::vec![Chunk([0; 64]); layout.size().unwrap().div_ceil(64)].leak();
        // SAFETY: the leaked chunks are 64-aligned, zeroed, at least `layout.size()` bytes,
        // live forever and are reached only through this view.
        unsafe { Scoreboard::from_raw(chunks.as_mut_ptr().cast(), layout) }.unwrap()
    }

    /// Slot `s` holds a child that would accept (`true`) or one at its admission bound.
    fn child(sb: &Scoreboard<'_>, s: usize, accepting: bool) {
        let p = sb.process(s).unwrap();
        p.prepare(1);
        p.set_pid(100 + s as i32);
        p.set_accepting(accepting);
    }

    #[test]
    fn the_first_children_by_slot_take_the_turns() {
        let sb = board(4);
        for s in 0..3 {
            child(&sb, s, true);
        }
        assert!(my_turn(&sb, 0, 1));
        assert!(!my_turn(&sb, 1, 1));
        assert!(!my_turn(&sb, 2, 1));
        // Two CPUs: two children.
        assert!(my_turn(&sb, 1, 2));
        assert!(!my_turn(&sb, 2, 2));
        // As many CPUs as children: all, as httpd.
        assert!((0..3).all(|s| my_turn(&sb, s, 3)));
        // No CPU count is one CPU.
        assert!(!my_turn(&sb, 1, 0));
        // Outside the scoreboard: never.
        assert!(!my_turn(&sb, 4, 8));
    }

    #[test]
    fn a_child_that_stops_accepting_passes_the_turn_on() {
        let sb = board(3);
        for s in 0..3 {
            child(&sb, s, true);
        }
        // Admission bound (or an accept pause).
        sb.process(0).unwrap().set_accepting(false);
        assert!(my_turn(&sb, 1, 1));
        assert!(!my_turn(&sb, 2, 1));
        // Stopping (graceful restart, idle child stopped by maintenance).
        sb.process(1).unwrap().set_stopping();
        assert!(my_turn(&sb, 2, 1));
        // Gone: the parent released the slot.
        sb.process(0).unwrap().set_accepting(true);
        assert!(!my_turn(&sb, 2, 1));
        sb.process(0).unwrap().release();
        assert!(my_turn(&sb, 2, 1));
    }

    #[test]
    fn a_slot_prepared_for_a_new_child_counts_as_accepting() {
        // The parent prepares the slot before fork: the new child is about to accept.
        let sb = board(2);
        child(&sb, 1, true);
        assert!(my_turn(&sb, 1, 1));
        sb.process(0).unwrap().prepare(2);
        sb.process(0).unwrap().set_pid(7);
        assert!(!my_turn(&sb, 1, 1));
    }

    proptest! {
        /// Whatever the slots hold: exactly the first `cpus` children that would accept take a
        /// turn (all of them when there are fewer), so at least one accepts whenever any would.
        #[test]
        fn exactly_the_first_cpus_would_be_children_accept(
            states in proptest::collection::vec(0u8..4, 1..12),
            cpus in 1usize..5,
        ) {
            let sb = board(states.len() as u32);
            for (s, &st) in states.iter().enumerate() {
                match st {
                    0 => {}
                    1 => child(&sb, s, true),
                    2 => child(&sb, s, false),
                    _ => {
                        child(&sb, s, true);
                        sb.process(s).unwrap().set_stopping();
                    }
                }
            }
            let would: std::vec::Vec<usize> = (0..states.len())
                .filter(|&s| would_accept(sb.process(s).unwrap()))
                .collect();
            let turns: std::vec::Vec<usize> = would.iter().copied().filter(|&s| my_turn(&sb, s, cpus)).collect();
            prop_assert_eq!(&turns[..], &would[..would.len().min(cpus)]);
        }
    }
}
