//! The simulated clock: milliseconds that move only when the simulator says so.
//!
//! The real listener sleeps until an event or `next_deadline()`; the simulator instead jumps the
//! clock straight to the next thing that can happen, so a run covering minutes of traffic costs
//! only as many steps as there are events.

use eventmpm_core::time::Instant;

/// A monotonic fake clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    now: Instant,
}

impl Clock {
    /// A clock at the origin.
    pub const fn new() -> Clock {
        Clock { now: Instant::ZERO }
    }

    /// The current time.
    pub const fn now(&self) -> Instant {
        self.now
    }

    /// Move to `t`. Moving backwards is refused: every queue in the core relies on a monotonic
    /// clock.
    pub fn advance_to(&mut self, t: Instant) -> Result<(), &'static str> {
        if t < self.now {
            return Err("the simulated clock was asked to go backwards");
        }
        self.now = t;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_forward_only() {
        let mut c = Clock::new();
        assert_eq!(c.advance_to(Instant::from_millis(5)), Ok(()));
        assert_eq!(c.now(), Instant::from_millis(5));
        assert!(c.advance_to(Instant::from_millis(4)).is_err());
        assert_eq!(c.now(), Instant::from_millis(5));
    }
}
