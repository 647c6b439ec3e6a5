//! # eventmpm-sim
//!
//! A seeded, deterministic simulator for eventmpm-core's connection state machines. It drives a
//! real [`ConnTable`](eventmpm_core::table::ConnTable) and
//! [`Admission`](eventmpm_core::admission::Admission) the way the runtime's listener thread will,
//! with a fake clock, fake sockets, scripted clients, a fake poller and fake worker threads, and
//! checks invariants after every step:
//!
//! * `table.validate()` holds, and an independent model of each connection (written from the
//!   core's documentation) agrees with every answer, phase and counter;
//! * `next_deadline()` equals the earliest deadline of the model's shadow queues, an idle table
//!   has none, and no connection outlives its wait (keep-alive, head-read stages, write completion
//!   without progress, lingering) by even a millisecond;
//! * admission's bound holds at every accept (recomputed here); a worker only ever gets a complete
//!   head; every connection is owned by exactly one party (listener, dispatch queue, a worker, the
//!   completion queue) and the listener's are armed in the poller;
//! * every complete request gets exactly one response, in order, unless the connection was reset,
//!   an earlier response closed it, the client stopped reading, or the request raced the server's
//!   close of an idle connection;
//! * after a graceful stop nothing is accepted, no response advertises keep-alive, and every
//!   connection ends within a bound; every iteration and the whole run are bounded.
//!
//! ```no_run
//! let report = eventmpm_sim::run(1234, &eventmpm_sim::SimConfig::default()).unwrap();
//! println!("{report:?}");
//! ```
#![deny(missing_docs)]

mod check;
pub mod client;
pub mod clock;
pub mod http;
mod listener;
mod model;
pub mod poller;
pub mod ports;
pub mod prng;
mod report;
pub mod scenario;
pub mod socket;
pub mod trace;
mod worker;
mod world;

pub use report::{Failure, Report};
pub use scenario::{Faults, Scenario};

use eventmpm_core::table::{ConnTable, Slot};

/// A deliberate bug in the simulated listener or workers, to prove the checker notices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sabotage {
    /// The listener never calls `table.expire()`.
    SkipExpire,
    /// The listener reports a head complete as soon as any new bytes arrive.
    DispatchPartialHeads,
    /// The listener accepts without asking admission.
    IgnoreAdmission,
    /// Workers ignore the graceful stop when deciding keep-alive.
    KeepAliveAfterStop,
    /// The listener drops the first worker hand-back.
    LoseHandback,
}

/// Which kernel poller the fake poller models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollerKind {
    /// Linux epoll: `EPOLLONESHOT` connections, level-triggered listeners.
    #[default]
    Epoll,
    /// illumos/Solaris event ports: associations dissociated on delivery, listeners re-associated
    /// by the poller (one stale report per burst), and spurious `POLLIN` on this many thousandths
    /// of read associations.
    Ports {
        /// Spurious `POLLIN` rate, in thousandths (at most 1000).
        spurious_per_mille: u16,
    },
    /// BSD kqueue: `EV_DISPATCH` connections, a batched changelist, error entries,
    /// level-triggered listeners ([`poller::KqueueModel`]).
    Kqueue,
}

/// How to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// The poller model.
    pub poller: PollerKind,
    /// Events kept for a failure report.
    pub trace_capacity: usize,
    /// Print every event as it happens.
    pub echo_trace: bool,
    /// Steps after which a run is declared unbounded.
    pub max_steps: u64,
    /// A deliberate bug to inject.
    pub sabotage: Option<Sabotage>,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            poller: PollerKind::Epoll,
            trace_capacity: 64,
            echo_trace: false,
            max_steps: 2_000_000,
            sabotage: None,
        }
    }
}

/// Run the scenario `seed` generates.
pub fn run(seed: u64, config: &SimConfig) -> Result<Report, Failure> {
    run_scenario(seed, &Scenario::generate(seed), config)
}

/// Run a given scenario; `seed` drives the run's own randomness (faults, batch order).
pub fn run_scenario(seed: u64, scenario: &Scenario, config: &SimConfig) -> Result<Report, Failure> {
    let mut slots = vec![Slot::EMPTY; scenario.capacity.max(1)];
    let table = ConnTable::new(&mut slots, &scenario.settings);
    world::World::new(seed, scenario, config, table).run()
}
