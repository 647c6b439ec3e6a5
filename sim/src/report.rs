//! What a run returns: a [`Report`] of what was exercised, or a [`Failure`] naming the seed, the
//! step and the broken invariant, with the last events.

use std::fmt;

use eventmpm_core::time::Instant;
use eventmpm_core::timeouts::CLASSES;

use crate::trace::Entry;

/// Counters of a successful run: what the scenario exercised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Simulation steps.
    pub steps: u64,
    /// Listener iterations.
    pub iterations: u64,
    /// Simulated time at the end.
    pub end: Instant,
    /// Clients.
    pub clients: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Clients refused (backlog full or listener closed).
    pub refused: u64,
    /// Times admission refused an accept.
    pub admission_refusals: u64,
    /// Complete valid requests clients sent.
    pub requests: u64,
    /// Responses written completely.
    pub responses: u64,
    /// Responses that advertised keep-alive.
    pub keep_alive_responses: u64,
    /// Error responses (invalid heads, 408).
    pub error_responses: u64,
    /// Dispatches to workers.
    pub dispatches: u64,
    /// Dispatches that found no idle worker and were queued.
    pub queued_dispatches: u64,
    /// Hand-backs by outcome: keep-alive, partial head, yield, write completion, linger, close.
    pub handbacks: [u64; 6],
    /// Timeouts by class (as `Class as usize`).
    pub timeouts: [u64; CLASSES],
    /// Head-read and handshake extensions granted.
    pub extensions: u64,
    /// Keep-alive connections killed because no worker was idle.
    pub kills: u64,
    /// Spurious readiness reports delivered.
    pub spurious: u64,
    /// Stale tokens delivered.
    pub stale: u64,
    /// Client resets.
    pub resets: u64,
    /// The most connections open at once.
    pub max_connections: u64,
    /// The most events one listener iteration processed.
    pub max_iteration_work: u64,
    /// The run included a graceful stop.
    pub stopped: bool,
    /// Connections open when the stop began.
    pub open_at_stop: u64,
}

impl Report {
    /// Add `other`'s counters to these (maxima take the larger; the seed and the end are kept).
    pub fn absorb(&mut self, other: &Report) {
        self.steps += other.steps;
        self.iterations += other.iterations;
        self.clients += other.clients;
        self.accepted += other.accepted;
        self.refused += other.refused;
        self.admission_refusals += other.admission_refusals;
        self.requests += other.requests;
        self.responses += other.responses;
        self.keep_alive_responses += other.keep_alive_responses;
        self.error_responses += other.error_responses;
        self.dispatches += other.dispatches;
        self.queued_dispatches += other.queued_dispatches;
        for (a, b) in self.handbacks.iter_mut().zip(other.handbacks) {
            *a += b;
        }
        for (a, b) in self.timeouts.iter_mut().zip(other.timeouts) {
            *a += b;
        }
        self.extensions += other.extensions;
        self.kills += other.kills;
        self.spurious += other.spurious;
        self.stale += other.stale;
        self.resets += other.resets;
        self.max_connections = self.max_connections.max(other.max_connections);
        self.max_iteration_work = self.max_iteration_work.max(other.max_iteration_work);
        self.stopped |= other.stopped;
        self.open_at_stop += other.open_at_stop;
    }

    /// The names of the counters that are still zero: paths these runs never exercised.
    pub fn unexercised(&self) -> Vec<&'static str> {
        let h = self.handbacks;
        let t = self.timeouts;
        [
            ("accepted", self.accepted),
            ("refused", self.refused),
            ("admission refusals", self.admission_refusals),
            ("keep-alive responses", self.keep_alive_responses),
            ("error responses", self.error_responses),
            ("queued dispatches", self.queued_dispatches),
            ("hand-back KeepAlive", h[0]),
            ("hand-back PartialHead", h[1]),
            ("hand-back Yield", h[2]),
            ("hand-back WriteCompletion", h[3]),
            ("hand-back Linger", h[4]),
            ("hand-back Close", h[5]),
            ("timeout KeepAlive", t[0]),
            ("timeout HeadInitial", t[1]),
            ("timeout HeadExtended", t[2]),
            ("timeout WriteCompletion", t[3]),
            ("timeout Linger", t[4]),
            ("timeout ShortLinger", t[5]),
            ("timeout HandshakeInitial", t[6]),
            ("timeout HandshakeExtended", t[7]),
            ("head-read extensions", self.extensions),
            ("keep-alive kills", self.kills),
            ("spurious readiness", self.spurious),
            ("stale tokens", self.stale),
            ("client resets", self.resets),
            ("connections open at a stop", self.open_at_stop),
        ]
        .into_iter()
        .filter(|&(_, n)| n == 0)
        .map(|(name, _)| name)
        .collect()
    }
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The seed that reproduces it.
    pub seed: u64,
    /// The step at which it was detected.
    pub step: u64,
    /// The simulated time.
    pub at: Instant,
    /// Which invariant, and how it broke.
    pub invariant: String,
    /// The last events before it, oldest first.
    pub trace: Vec<Entry>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed {} failed at step {} ({:?}): {}",
            self.seed, self.step, self.at, self.invariant
        )?;
        writeln!(f, "last {} events:", self.trace.len())?;
        for e in &self.trace {
            writeln!(f, "  {e}")?;
        }
        write!(
            f,
            "replay: cargo run -p eventmpm-sim --release -- --seed {} --trace",
            self.seed
        )
    }
}

impl std::error::Error for Failure {}
