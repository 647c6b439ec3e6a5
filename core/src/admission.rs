//! Admission: may this child accept another connection?
//!
//! httpd's event MPM lets a child hold more connections than it has worker threads, because most
//! connections are waiting (keep-alive, write completion, lingering close) rather than working. Its
//! bound, from `connections_above_limit()` in `event.c` (2.4.33 and later):
//!
//! > a child accepts while it has an idle worker **and**
//! > `connections − lingering < ThreadsPerChild + (idle − disabled) × AsyncRequestWorkerFactor`
//!
//! * lingering connections are not counted: they need no worker and end on their own;
//! * with no idle worker at all the child is "busy": it stops accepting, and the listener closes
//!   its keep-alive connections so their clients reconnect to a child that can serve them.
//!
//! Two deliberate differences:
//!
//! * httpd truncates the factor to an integer (`F / 16` in integer arithmetic), so its documented
//!   `AsyncRequestWorkerFactor 1.5` behaves as 1. Here the fraction is honoured: `idle × factor`
//!   is computed exactly and rounded down.
//! * httpd's `disabled` (1 while the listeners are switched off) is hysteresis: switching them
//!   back on needs one more idle worker's worth of room than switching them off did. That worth
//!   is `AsyncRequestWorkerFactor` connections, and a child switches off whenever a connection
//!   arrives while its workers are momentarily busy, so with a large factor it stayed deaf for as
//!   long as its long-lived connections lasted (issue 11: ThreadsPerChild 2, factor 40 and 50 slow
//!   downloads kept a fast client in the backlog for seconds while a worker sat idle). Here the
//!   listeners are back on as soon as a connection arriving would be accepted. They cannot
//!   flip-flop for nothing: they are switched off only when a connection is waiting, and switched
//!   on at the end of an iteration with the same bound the next accept applies, so each time
//!   they come back on a waiting connection is taken.

use core::fmt;

/// AsyncRequestWorkerFactor as a fixed-point number with three decimal places.
///
/// httpd parses the factor with `strtod` and documents fractions such as 1.5; thousandths keep
/// every value an operator writes by hand exact while staying integer arithmetic.
#[doc(alias = "AsyncRequestWorkerFactor")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Factor(u32);

impl Factor {
    /// httpd's default, 2.
    pub const DEFAULT: Factor = Factor(2000);
    /// The smallest factor httpd allows (it raises smaller values to 1).
    pub const MIN: Factor = Factor(1000);

    /// The factor `n / 1000`.
    pub const fn from_thousandths(n: u32) -> Factor {
        Factor(n)
    }

    /// The factor in thousandths (`1.5` is 1500).
    pub const fn thousandths(self) -> u32 {
        self.0
    }

    /// `floor(n × self)`, saturating at `u32::MAX`.
    pub const fn scale(self, n: u32) -> u32 {
        let product = n as u64 * self.0 as u64 / 1000;
        if product > u32::MAX as u64 {
            u32::MAX
        } else {
            product as u32
        }
    }
}

impl Default for Factor {
    fn default() -> Factor {
        Factor::DEFAULT
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 1000, self.0 % 1000);
        if frac == 0 {
            write!(f, "{whole}")
        } else if frac.is_multiple_of(100) {
            write!(f, "{whole}.{}", frac / 100)
        } else if frac.is_multiple_of(10) {
            write!(f, "{whole}.{:02}", frac / 10)
        } else {
            write!(f, "{whole}.{frac:03}")
        }
    }
}

/// A child's load as admission sees it, sampled by the listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Load {
    /// Open connections of this child, in any state (httpd's `connection_count`).
    pub connections: u32,
    /// Of those, connections in lingering close (httpd's `lingering_count`).
    pub lingering: u32,
    /// Worker threads waiting for work and not reserved (httpd's `ap_queue_info_num_idlers`).
    pub idle_workers: u32,
}

/// The answer to "may this child accept now?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Below the bound: accept.
    Accept,
    /// Idle workers exist but the connections fill the bound: stop accepting.
    AboveLimit,
    /// No idle worker: stop accepting, and close keep-alive connections so their clients move
    /// to a child that can serve them (httpd's `workers_were_busy`).
    Busy,
}

/// The connection bound for a child with `idle_workers` idle: it may accept while
/// `connections − lingering` is below this number.
pub const fn capacity(threads_per_child: u32, idle_workers: u32, factor: Factor) -> u32 {
    threads_per_child.saturating_add(factor.scale(idle_workers))
}

/// httpd's `connections_above_limit()`, with the factor's fraction honoured and without its
/// re-enabling hysteresis (see the module docs).
#[doc(alias = "connections_above_limit")]
pub const fn verdict(load: Load, threads_per_child: u32, factor: Factor) -> Verdict {
    if load.idle_workers == 0 {
        return Verdict::Busy;
    }
    // Lingering connections can exceed the total only through a caller's bookkeeping slip; treat
    // that as "nothing counts" rather than wrapping.
    let counted = load.connections.saturating_sub(load.lingering);
    if counted < capacity(threads_per_child, load.idle_workers, factor) {
        Verdict::Accept
    } else {
        Verdict::AboveLimit
    }
}

/// What the listener must do with its listening sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// Leave them as they are.
    Keep,
    /// Stop polling them (httpd's `disable_listensocks`, shown as "accepting: no").
    Disable,
    /// Poll them again (httpd's `enable_listensocks`).
    Enable,
}

/// The listener's admission state: whether its listening sockets are switched off.
///
/// The listener asks [`Admission::before_accept`] when a listening socket is readable, and
/// [`Admission::after_iteration`] once per loop iteration, after workers may have become idle and
/// connections may have closed. Before each further accept of a batch it asks only
/// [`Admission::verdict`]: no connection is known to be waiting then, and switching the sockets
/// off on a transient load would keep them off below the bound (the re-enabling hysteresis).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    threads_per_child: u32,
    factor: Factor,
    disabled: bool,
}

impl Admission {
    /// Admission for a child of `threads_per_child` workers, listeners initially enabled.
    pub const fn new(threads_per_child: u32, factor: Factor) -> Admission {
        Admission {
            threads_per_child,
            factor,
            disabled: false,
        }
    }

    /// ThreadsPerChild: the workers this child has.
    pub const fn threads_per_child(&self) -> u32 {
        self.threads_per_child
    }

    /// Whether the listening sockets are switched off (the scoreboard's `not_accepting`).
    pub const fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// The verdict for the current load.
    pub const fn verdict(&self, load: Load) -> Verdict {
        verdict(load, self.threads_per_child, self.factor)
    }

    /// A listening socket is ready: may the listener accept one connection? On `AboveLimit` or
    /// `Busy` the listeners are switched off ([`Switch::Disable`] the first time).
    pub fn before_accept(&mut self, load: Load) -> (Verdict, Switch) {
        let v = self.verdict(load);
        match v {
            Verdict::Accept => (v, Switch::Keep),
            Verdict::AboveLimit | Verdict::Busy => {
                let switch = if self.disabled {
                    Switch::Keep
                } else {
                    Switch::Disable
                };
                self.disabled = true;
                (v, switch)
            }
        }
    }

    /// End of a listener iteration: switch the listeners back on once a connection arriving now
    /// would be accepted (never while the child is stopping: its listeners are closed for good).
    #[doc(alias = "should_enable_listensocks")]
    pub fn after_iteration(&mut self, load: Load, stopping: bool) -> Switch {
        if self.disabled && !stopping && self.verdict(load) == Verdict::Accept {
            self.disabled = false;
            Switch::Enable
        } else {
            Switch::Keep
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    extern crate std;
    use std::format;

    /// httpd's docs (mod/event.html, AsyncRequestWorkerFactor): ThreadsPerChild 10, ServerLimit 4,
    /// factor 2. With 4 idle workers per process the server holds (10 + 2 × 4) × 4 = 72
    /// connections; with all 10 idle, (10 + 2 × 10) × 4 = 120 = (2 + 1) × MaxRequestWorkers 40.
    #[test]
    fn the_documented_worked_examples() {
        let per_child = |idle: u32| {
            // Count how many connections one child accepts before admission says stop.
            let mut adm = Admission::new(10, Factor::DEFAULT);
            let mut held = 0;
            while let (Verdict::Accept, _) = adm.before_accept(Load {
                connections: held,
                lingering: 0,
                idle_workers: idle,
            }) {
                held += 1;
                assert!(held < 1000, "admission never stopped");
            }
            held
        };
        assert_eq!(per_child(4) * 4, 72);
        assert_eq!(per_child(10) * 4, 120);
        assert_eq!(per_child(10) * 4, (2 + 1) * 40);
    }

    #[test]
    fn fractions_are_honoured_unlike_httpd() {
        let f = Factor::from_thousandths(1500);
        // 10 idle × 1.5 = 15 (httpd would compute 10 × 1 = 10).
        assert_eq!(capacity(25, 10, f), 40);
        // 3 idle × 1.5 = 4.5, rounded down.
        assert_eq!(capacity(25, 3, f), 29);
        assert_eq!(format!("{f}"), "1.5");
        assert_eq!(format!("{}", Factor::from_thousandths(1250)), "1.25");
        assert_eq!(format!("{}", Factor::from_thousandths(1001)), "1.001");
        assert_eq!(format!("{}", Factor::DEFAULT), "2");
    }

    #[test]
    fn lingering_connections_do_not_count() {
        let load = Load {
            connections: 100,
            lingering: 90,
            idle_workers: 1,
        };
        assert_eq!(verdict(load, 10, Factor::DEFAULT), Verdict::Accept);
        let load = Load {
            connections: 100,
            lingering: 0,
            idle_workers: 1,
        };
        assert_eq!(verdict(load, 10, Factor::DEFAULT), Verdict::AboveLimit);
        // A bookkeeping slip (more lingering than connections) must not wrap into "full".
        let load = Load {
            connections: 1,
            lingering: 5,
            idle_workers: 1,
        };
        assert_eq!(verdict(load, 10, Factor::DEFAULT), Verdict::Accept);
    }

    #[test]
    fn no_idle_worker_means_busy_whatever_the_count() {
        let load = Load {
            connections: 0,
            lingering: 0,
            idle_workers: 0,
        };
        assert_eq!(verdict(load, 25, Factor::DEFAULT), Verdict::Busy);
    }

    #[test]
    fn listeners_come_back_on_as_soon_as_a_connection_would_be_accepted() {
        // TPC 2, factor 1: with 2 idle the bound is 4 connections.
        let mut adm = Admission::new(2, Factor::MIN);
        let at = |c, idle| Load {
            connections: c,
            lingering: 0,
            idle_workers: idle,
        };
        assert_eq!(adm.before_accept(at(3, 2)), (Verdict::Accept, Switch::Keep));
        assert_eq!(
            adm.before_accept(at(4, 2)),
            (Verdict::AboveLimit, Switch::Disable)
        );
        assert_eq!(
            adm.before_accept(at(4, 2)),
            (Verdict::AboveLimit, Switch::Keep)
        );
        assert_eq!(adm.after_iteration(at(4, 2), false), Switch::Keep);
        // One closed connection is enough (httpd would want a second one).
        assert_eq!(adm.after_iteration(at(3, 2), false), Switch::Enable);
        assert!(!adm.is_disabled());
        assert_eq!(adm.after_iteration(at(3, 2), false), Switch::Keep);
        // A stopping child never re-enables.
        adm.before_accept(at(9, 2));
        assert_eq!(adm.after_iteration(at(0, 2), true), Switch::Keep);
    }

    /// Issue 11's second reproducer in numbers: ThreadsPerChild 2, factor 40, 50 long downloads.
    /// A connection that finds one worker busy is refused (50 ≥ 2 + 40), and once that worker is
    /// idle again the child must take connections (50 < 2 + 80). httpd's hysteresis asked for
    /// fewer than 2 + 40 connections, so it stayed switched off until downloads ended.
    #[test]
    fn a_large_factor_does_not_keep_the_listeners_off() {
        let mut adm = Admission::new(2, Factor::from_thousandths(40_000));
        let downloads = |idle| Load {
            connections: 50,
            lingering: 0,
            idle_workers: idle,
        };
        assert_eq!(
            adm.before_accept(downloads(1)),
            (Verdict::AboveLimit, Switch::Disable)
        );
        assert_eq!(adm.after_iteration(downloads(2), false), Switch::Enable);
        assert_eq!(
            adm.before_accept(downloads(2)),
            (Verdict::Accept, Switch::Keep)
        );
    }

    /// Switched back on, the next accept with the same load is taken: the listeners never come on
    /// only to be switched off again by the same numbers.
    #[test]
    fn re_enabling_is_followed_by_an_accept_at_the_same_load() {
        for tpc in 1..8 {
            for idle in 0..8 {
                for conns in 0..40 {
                    let mut adm = Admission::new(tpc, Factor::from_thousandths(1500));
                    let load = Load {
                        connections: conns,
                        lingering: 0,
                        idle_workers: idle,
                    };
                    adm.disabled = true;
                    if adm.after_iteration(load, false) == Switch::Enable {
                        assert_eq!(adm.before_accept(load), (Verdict::Accept, Switch::Keep));
                    }
                }
            }
        }
    }

    proptest! {
        /// Whatever the sequence of loads, an accepted connection never takes the counted
        /// connections past the bound computed with the listeners enabled.
        #[test]
        fn accepting_never_exceeds_the_bound(
            tpc in 1u32..64,
            factor in 1000u32..8000,
            steps in proptest::collection::vec((0u32..200, 0u32..64, 0u32..64, any::<bool>()), 1..64),
        ) {
            let factor = Factor::from_thousandths(factor);
            let mut adm = Admission::new(tpc, factor);
            for (conns, lingering, idle, end) in steps {
                let load = Load { connections: conns, lingering: lingering.min(conns), idle_workers: idle };
                if end {
                    adm.after_iteration(load, false);
                } else {
                    let (v, _) = adm.before_accept(load);
                    if v == Verdict::Accept {
                        prop_assert!(idle > 0);
                        prop_assert!(load.connections - load.lingering < capacity(tpc, idle, factor));
                    } else {
                        // Refusing always leaves the listeners switched off.
                        prop_assert!(adm.is_disabled());
                    }
                }
            }
        }

        #[test]
        fn scale_is_floor_of_exact_product(n in any::<u32>(), t in 0u32..100_000) {
            let exact = n as u128 * t as u128 / 1000;
            let expect = exact.min(u32::MAX as u128) as u32;
            prop_assert_eq!(Factor::from_thousandths(t).scale(n), expect);
        }
    }
}
