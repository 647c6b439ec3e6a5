//! Accepting through a resource shortage: pause, retry, and report once per episode.
//!
//! When `accept` fails for lack of descriptors or kernel memory (EMFILE, ENFILE, ENOBUFS,
//! ENOMEM), httpd stops the child gracefully and the parent forks a replacement, which meets the
//! same limit: children churn while the connections in the backlog wait. nginx instead switches
//! its accept events off for `accept_mutex_delay` (500 ms) and tries again, serving its open
//! connections meanwhile. This module is nginx's rule as a pure state machine:
//!
//! * a shortage at `now` switches accepting off until `now + PAUSE` (the deadline the caller's
//!   loop sleeps to: an idle child still makes no periodic wake-ups);
//! * when the deadline has passed the caller switches accepting back on and tries again; another
//!   shortage pauses again;
//! * the first shortage of an episode is to be logged, the others are only counted; the first
//!   connection accepted [`QUIET`] or more after the last shortage ends the episode and is to be
//!   logged with its figures, so an operator sees exactly two lines per episode however long it
//!   lasts. Descriptors that come back one at a time make the listener flap (one connection
//!   accepted, the next refused, a pause): that is one condition, not one per descriptor.
//!
//! Connections already open are not affected: only the listening sockets pause. What frees
//! descriptors (connections ending, CGI scripts exiting) ends the shortage.

use crate::time::{Duration, Instant};

/// How long accepting stays off after a shortage before the next try (nginx's
/// `accept_mutex_delay` default).
pub const PAUSE: Duration = Duration::from_millis(500);

/// How long accepting must go without a shortage before a connection accepted ends the
/// episode.
pub const QUIET: Duration = Duration::from_secs(1);

/// What an episode of shortage looked like, reported when it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// From the first refused accept to the last.
    pub lasted: Duration,
    /// Refused accepts during the episode, the first included (saturating).
    pub refused: u32,
}

/// An episode in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Episode {
    since: Instant,
    last: Instant,
    refused: u32,
}

/// The accept pause of one listener (one child's listener thread).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AcceptPause {
    /// Accepting stays off until then; `None` while it may run.
    until: Option<Instant>,
    /// The episode in progress.
    episode: Option<Episode>,
}

impl AcceptPause {
    /// No shortage seen.
    pub const fn new() -> AcceptPause {
        AcceptPause {
            until: None,
            episode: None,
        }
    }

    /// An accept failed for lack of resources at `now`: accepting pauses for [`PAUSE`]. Returns
    /// whether this begins an episode (the caller logs it then, and only then).
    pub fn shortage(&mut self, now: Instant) -> bool {
        self.until = Some(now + PAUSE);
        match &mut self.episode {
            Some(e) => {
                e.last = now;
                e.refused = e.refused.saturating_add(1);
                false
            }
            None => {
                self.episode = Some(Episode {
                    since: now,
                    last: now,
                    refused: 1,
                });
                true
            }
        }
    }

    /// Whether accepting is paused (until [`deadline`](Self::deadline) passes and
    /// [`expire`](Self::expire) ends the pause).
    pub const fn paused(&self) -> bool {
        self.until.is_some()
    }

    /// When the pause ends; `None` while not paused. The caller's wait must not outlast it.
    pub const fn deadline(&self) -> Option<Instant> {
        self.until
    }

    /// End the pause if its deadline has come; returns whether it did (the caller switches
    /// accepting back on and tries again).
    pub fn expire(&mut self, now: Instant) -> bool {
        match self.until {
            Some(t) if t <= now => {
                self.until = None;
                true
            }
            _ => false,
        }
    }

    /// A connection was accepted at `now`. Ends an episode whose last shortage is [`QUIET`]
    /// or more ago and returns it (the caller logs the recovery); `None` otherwise.
    pub fn accepted(&mut self, now: Instant) -> Option<Recovered> {
        let e = self.episode?;
        if now.saturating_since(e.last) < QUIET {
            return None;
        }
        self.episode = None;
        Some(Recovered {
            lasted: e.last.saturating_since(e.since),
            refused: e.refused,
        })
    }

    /// Whether an episode is in progress (a shortage not yet followed by an accepted
    /// connection).
    pub const fn in_episode(&self) -> bool {
        self.episode.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn a_shortage_pauses_until_the_deadline_and_only_then() {
        let mut p = AcceptPause::new();
        assert!(!p.paused());
        assert_eq!(p.deadline(), None);
        assert!(p.shortage(at(1000)));
        assert!(p.paused());
        assert_eq!(p.deadline(), Some(at(1500)));
        assert!(!p.expire(at(1499)));
        assert!(p.paused());
        assert!(p.expire(at(1500)));
        assert!(!p.paused());
        assert_eq!(p.deadline(), None, "no deadline left behind to spin on");
        assert!(!p.expire(at(9999)));
    }

    #[test]
    fn one_episode_is_reported_once_however_many_retries_fail() {
        let mut p = AcceptPause::new();
        let mut began = 0;
        let mut now = 0;
        for _ in 0..10 {
            began += u32::from(p.shortage(at(now)));
            now += PAUSE.as_millis();
            assert!(p.expire(at(now)));
        }
        assert_eq!(began, 1);
        assert!(p.in_episode());
        let last = now - PAUSE.as_millis();
        assert_eq!(p.accepted(at(last + QUIET.as_millis() - 1)), None);
        assert_eq!(
            p.accepted(at(last + QUIET.as_millis())),
            Some(Recovered {
                lasted: Duration::from_millis(last),
                refused: 10
            })
        );
        assert!(!p.in_episode());
        assert_eq!(p.accepted(at(now + 5000)), None, "reported once");
        // The next shortage is a new episode.
        assert!(p.shortage(at(now + 6000)));
    }

    #[test]
    fn descriptors_coming_back_one_at_a_time_are_one_episode() {
        // Each retry accepts one connection, then meets the limit again.
        let mut p = AcceptPause::new();
        assert!(p.shortage(at(0)));
        let mut now = 0;
        for _ in 0..20 {
            now += PAUSE.as_millis();
            assert!(p.expire(at(now)));
            assert_eq!(p.accepted(at(now)), None);
            assert!(!p.shortage(at(now)));
        }
        assert!(p.in_episode());
        // Idle for long without an accept proves nothing: still the same episode.
        assert!(!p.shortage(at(now + 60_000)));
        let r = p.accepted(at(now + 61_000)).expect("over");
        assert_eq!(r.refused, 22);
        assert_eq!(r.lasted, Duration::from_millis(now + 60_000));
    }

    #[test]
    fn accepting_without_a_shortage_reports_nothing() {
        let mut p = AcceptPause::new();
        assert_eq!(p.accepted(at(5)), None);
        assert_eq!(p, AcceptPause::new());
    }

    #[test]
    fn a_shortage_during_a_pause_extends_it() {
        // A second listening socket can fail in the same iteration, after the first one paused.
        let mut p = AcceptPause::new();
        p.shortage(at(0));
        assert!(!p.shortage(at(200)));
        assert_eq!(p.deadline(), Some(at(700)));
        assert!(!p.expire(at(500)));
    }

    #[test]
    fn the_refusal_count_saturates() {
        let mut p = AcceptPause {
            until: None,
            episode: Some(Episode {
                since: at(0),
                last: at(0),
                refused: u32::MAX,
            }),
        };
        p.shortage(at(1));
        assert_eq!(p.accepted(at(1) + QUIET).map(|r| r.refused), Some(u32::MAX));
    }
}
