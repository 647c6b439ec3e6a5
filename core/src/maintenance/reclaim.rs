//! Stopping children when the server stops: the escalation schedule of
//! `ap_reclaim_child_processes` and the GracefulShutdownTimeout wait.

use crate::time::Duration;

use super::message::Message;

/// A signal reclaim sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StopSignal {
    /// SIGTERM.
    Term,
    /// SIGKILL.
    Kill,
}

/// What one round of reclaim does to every child still running after the reaping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReclaimAction {
    /// Only reap.
    Nothing,
    /// SIGTERM without a log line (at 0 s, when reclaim was asked to terminate).
    Terminate,
    /// SIGTERM with AH00045 (at 3, 5 and 7 s).
    TerminateLogged,
    /// SIGKILL with AH00046 (at 9 s).
    Kill,
    /// Log AH00047 and stop waiting (at 10 s).
    GiveUp,
}

impl ReclaimAction {
    /// The signal to send to each child still running, if any.
    pub const fn signal(self) -> Option<StopSignal> {
        match self {
            ReclaimAction::Terminate | ReclaimAction::TerminateLogged => Some(StopSignal::Term),
            ReclaimAction::Kill => Some(StopSignal::Kill),
            ReclaimAction::Nothing | ReclaimAction::GiveUp => None,
        }
    }

    /// The line to log for the child `pid` still running, if any.
    pub const fn message(self, pid: i32) -> Option<Message> {
        match self {
            ReclaimAction::TerminateLogged => Some(Message::StillRunningTerm { pid }),
            ReclaimAction::Kill => Some(Message::StillRunningKill { pid }),
            ReclaimAction::GiveUp => Some(Message::GaveUp { pid }),
            ReclaimAction::Nothing | ReclaimAction::Terminate => None,
        }
    }
}

/// httpd's action table: each action once, when its time since the start has passed.
const SCHEDULE: [(ReclaimAction, u64); 6] = [
    (ReclaimAction::Terminate, 0),
    (ReclaimAction::TerminateLogged, 3_000),
    (ReclaimAction::TerminateLogged, 5_000),
    (ReclaimAction::TerminateLogged, 7_000),
    (ReclaimAction::Kill, 9_000),
    (ReclaimAction::GiveUp, 10_000),
];

/// The escalation for stopping every child (httpd's `ap_reclaim_child_processes`), as a
/// schedule over the time since it began. The caller loops:
///
/// ```text
/// let mut r = Reclaim::new(true);
/// loop {
///     sleep(r.sleep());
///     let action = r.action(now - start);
///     reap every child that exited (Retained::child_reaped);
///     to each child still running: send action.signal(), log action.message(pid);
///     if none is left or action == GiveUp { break }
/// }
/// ```
///
/// The sleeps are 16 ms, then four times longer each round up to 1 s. The first round, with the
/// silent SIGTERM, does not sleep. After [`Reclaim::MAX_ROUNDS`] rounds it gives up whatever the
/// clock says, so a clock that stops cannot hold the parent forever.
#[doc(alias = "ap_reclaim_child_processes")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reclaim {
    next: usize,
    wait: Duration,
    rounds: u32,
}

impl Reclaim {
    /// Rounds after which [`action`](Self::action) gives up regardless of the time: far more
    /// than the ~14 a real 10 s schedule takes.
    pub const MAX_ROUNDS: u32 = 64;

    /// The first sleep.
    pub const FIRST_WAIT: Duration = Duration::from_millis(16);

    /// The longest sleep.
    pub const MAX_WAIT: Duration = Duration::from_millis(1_000);

    /// A reclaim starting with a silent SIGTERM (`terminate`), or only reaping until 3 s.
    pub const fn new(terminate: bool) -> Reclaim {
        Reclaim {
            next: if terminate { 0 } else { 1 },
            wait: Self::FIRST_WAIT,
            rounds: 0,
        }
    }

    /// How long to sleep before the next round.
    pub fn sleep(&mut self) -> Duration {
        if self.next_at().is_some_and(|at| at == 0) {
            return Duration::ZERO;
        }
        let wait = self.wait;
        self.wait = Duration::from_millis(wait.as_millis().saturating_mul(4)).min(Self::MAX_WAIT);
        wait
    }

    /// The action of the round that runs `elapsed` after the reclaim began.
    pub fn action(&mut self, elapsed: Duration) -> ReclaimAction {
        self.rounds = self.rounds.saturating_add(1);
        if self.rounds >= Self::MAX_ROUNDS {
            self.next = SCHEDULE.len();
            return ReclaimAction::GiveUp;
        }
        match SCHEDULE.get(self.next) {
            Some(&(action, at)) if at <= elapsed.as_millis() => {
                self.next += 1;
                action
            }
            _ => ReclaimAction::Nothing,
        }
    }

    fn next_at(&self) -> Option<u64> {
        SCHEDULE.get(self.next).map(|&(_, at)| at)
    }
}

/// What to do during a graceful stop (SIGWINCH), checked after each 1-second pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GracefulStop {
    /// Pause this long, reap, and ask again.
    Wait(Duration),
    /// Stop waiting: send the immediate stop to whatever is left and [`Reclaim`] it.
    Finish,
}

/// The GracefulShutdownTimeout decision: keep waiting while a child is alive, no new stop signal
/// arrived, and the timeout (zero: none) has not passed since the graceful stop began.
///
/// The timeout applies only to a graceful *stop*; a graceful restart's old children may finish
/// whenever they do.
#[doc(alias = "GracefulShutdownTimeout")]
pub fn graceful_stop(
    elapsed: Duration,
    timeout: Duration,
    children_alive: bool,
    signalled_again: bool,
) -> GracefulStop {
    let timed_out = timeout != Duration::ZERO && elapsed >= timeout;
    if signalled_again || !children_alive || timed_out {
        GracefulStop::Finish
    } else {
        GracefulStop::Wait(Duration::from_secs(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// Runs the schedule against a clock that advances by exactly the sleeps, with no child ever
    /// exiting; returns (time, action) for every round that acted.
    fn run(terminate: bool) -> Vec<(u64, ReclaimAction)> {
        let mut r = Reclaim::new(terminate);
        let mut now = 0u64;
        let mut acted = Vec::new();
        for _ in 0..Reclaim::MAX_ROUNDS {
            now += r.sleep().as_millis();
            let a = r.action(Duration::from_millis(now));
            if a != ReclaimAction::Nothing {
                acted.push((now, a));
            }
            if a == ReclaimAction::GiveUp {
                break;
            }
        }
        acted
    }

    #[test]
    fn escalates_at_0_3_5_7_9_10_seconds() {
        let acted = run(true);
        let kinds: Vec<ReclaimAction> = acted.iter().map(|&(_, a)| a).collect();
        use ReclaimAction::*;
        assert_eq!(
            kinds,
            [
                Terminate,
                TerminateLogged,
                TerminateLogged,
                TerminateLogged,
                Kill,
                GiveUp
            ]
        );
        assert_eq!(acted[0].0, 0, "the silent SIGTERM goes out without a sleep");
        // Each later action fires within one (capped, 1 s) sleep after its time.
        for (&(at, _), due) in acted[1..].iter().zip([3_000, 5_000, 7_000, 9_000, 10_000]) {
            assert!(at >= due && at < due + 1_000, "acted at {at} for {due}");
        }
    }

    #[test]
    fn without_terminate_the_first_signal_is_the_logged_one() {
        let acted = run(false);
        assert_eq!(acted[0].1, ReclaimAction::TerminateLogged);
        assert!(acted[0].0 >= 3_000);
        assert_eq!(acted.len(), 5);
    }

    #[test]
    fn sleeps_grow_by_four_up_to_a_second() {
        let mut r = Reclaim::new(true);
        assert_eq!(r.sleep(), Duration::ZERO);
        r.action(Duration::ZERO);
        let sleeps: Vec<u64> = (0..6).map(|_| r.sleep().as_millis()).collect();
        assert_eq!(sleeps, [16, 64, 256, 1_000, 1_000, 1_000]);
    }

    #[test]
    fn a_stopped_clock_still_gives_up() {
        let mut r = Reclaim::new(true);
        let mut last = ReclaimAction::Nothing;
        for _ in 0..Reclaim::MAX_ROUNDS {
            last = r.action(Duration::ZERO);
            if last == ReclaimAction::GiveUp {
                break;
            }
        }
        assert_eq!(last, ReclaimAction::GiveUp);
    }

    #[test]
    fn actions_name_their_signal_and_line() {
        assert_eq!(ReclaimAction::Terminate.signal(), Some(StopSignal::Term));
        assert_eq!(ReclaimAction::Terminate.message(9), None);
        assert_eq!(ReclaimAction::Kill.signal(), Some(StopSignal::Kill));
        assert_eq!(
            ReclaimAction::TerminateLogged.message(9).map(|m| m.ah()),
            Some(Some(45))
        );
        assert_eq!(
            ReclaimAction::Kill.message(9).map(|m| m.ah()),
            Some(Some(46))
        );
        assert_eq!(
            ReclaimAction::GiveUp.message(9).map(|m| m.ah()),
            Some(Some(47))
        );
        assert_eq!(ReclaimAction::GiveUp.signal(), None);
    }

    #[test]
    fn graceful_stop_waits_for_children_signal_or_timeout() {
        let s = Duration::from_secs;
        let wait = GracefulStop::Wait(s(1));
        assert_eq!(
            graceful_stop(s(100), Duration::ZERO, true, false),
            wait,
            "0 = forever"
        );
        assert_eq!(graceful_stop(s(4), s(5), true, false), wait);
        assert_eq!(graceful_stop(s(5), s(5), true, false), GracefulStop::Finish);
        assert_eq!(
            graceful_stop(s(1), s(5), false, false),
            GracefulStop::Finish
        );
        assert_eq!(
            graceful_stop(s(1), Duration::ZERO, true, true),
            GracefulStop::Finish
        );
    }
}
