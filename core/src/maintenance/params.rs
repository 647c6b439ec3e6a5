//! The configuration one maintenance pass runs with, and httpd's run-time clamps on it.

use super::{MAX_BUCKETS, MAX_SPAWN_RATE};

/// httpd's compile-time cap on ServerLimit (`MAX_SERVER_LIMIT`).
const MAX_SERVER_LIMIT: u32 = 20_000;
/// httpd's compile-time cap on ThreadLimit for event (`MAX_THREAD_LIMIT`; worker's is 20 000).
const MAX_THREAD_LIMIT: u32 = 100_000;

/// Which MPM's maintenance rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mpm {
    /// The event MPM: uses every ServerLimit slot, never reuses a stopping child's slot, and caps
    /// the *active* children at MaxRequestWorkers / ThreadsPerChild.
    Event,
    /// The worker MPM: uses only the first MaxRequestWorkers / ThreadsPerChild slots and lets a
    /// new child take over the slot of a child that is stopping.
    Worker,
}

/// The directives maintenance depends on, as configured.
///
/// [`Params::effective`] applies httpd's run-time clamps (those `event_run` / `worker_run` apply
/// silently for the listener buckets, plus the sanity bounds no input may break); every
/// function of this module applies them itself, so callers pass what the configuration says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Params {
    /// Event or worker rules.
    pub mpm: Mpm,
    /// Process slots in the scoreboard, fixed at first start.
    #[doc(alias = "ServerLimit")]
    pub server_limit: u32,
    /// Thread slots per process in the scoreboard, fixed at first start.
    #[doc(alias = "ThreadLimit")]
    pub thread_limit: u32,
    /// Worker threads each child runs.
    #[doc(alias = "ThreadsPerChild")]
    pub threads_per_child: u32,
    /// The configured MaxRequestWorkers.
    #[doc(alias = "MaxRequestWorkers")]
    #[doc(alias = "MaxClients")]
    pub max_workers: u32,
    /// MaxRequestWorkers / ThreadsPerChild: the most active children (httpd's
    /// `active_daemons_limit` in event, `ap_daemons_limit` in worker).
    #[doc(alias = "active_daemons_limit")]
    #[doc(alias = "ap_daemons_limit")]
    pub daemons_limit: u32,
    /// Fork more children while fewer threads than this are idle.
    #[doc(alias = "MinSpareThreads")]
    pub min_spare_threads: u32,
    /// Stop a child while more threads than this are idle.
    #[doc(alias = "MaxSpareThreads")]
    pub max_spare_threads: u32,
    /// Children forked at start-up.
    #[doc(alias = "StartServers")]
    pub start_servers: u32,
    /// Listener buckets (`ListenCoresBucketsRatio`); 1 unless the listeners are duplicated.
    pub num_buckets: u32,
}

impl Params {
    /// httpd's defaults for `mpm` with the given limits: 3 StartServers, 25 ThreadsPerChild,
    /// MinSpareThreads 75, MaxSpareThreads 250, MaxRequestWorkers = ServerLimit × ThreadsPerChild.
    pub const fn defaults(mpm: Mpm) -> Params {
        Params {
            mpm,
            server_limit: 16,
            thread_limit: 64,
            threads_per_child: 25,
            max_workers: 400,
            daemons_limit: 16,
            min_spare_threads: 75,
            max_spare_threads: 250,
            start_servers: 3,
            num_buckets: 1,
        }
    }

    /// The values maintenance really uses:
    ///
    /// * buckets between 1 and [`MAX_BUCKETS`]; ServerLimit between 1 and httpd's 20 000;
    ///   ThreadLimit between 1 and httpd's (event) 100 000; ThreadsPerChild between 1 and
    ///   ThreadLimit (so every scan is bounded and every thread count fits a `u32`);
    /// * the daemons limit at least the bucket count and at most ServerLimit;
    /// * httpd's bucket clamps: StartServers ≥ buckets, MinSpareThreads ≥
    ///   ThreadsPerChild × (buckets − 1) + buckets, MaxSpareThreads ≥ MinSpareThreads +
    ///   (ThreadsPerChild + 1) × buckets (so stopping one child never drops below the minimum).
    pub fn effective(&self) -> Params {
        let buckets = self.num_buckets.clamp(1, MAX_BUCKETS as u32);
        let server_limit = self.server_limit.clamp(1, MAX_SERVER_LIMIT);
        let thread_limit = self.thread_limit.clamp(1, MAX_THREAD_LIMIT);
        let tpc = self.threads_per_child.clamp(1, thread_limit);
        let daemons_limit = self.daemons_limit.max(buckets).min(server_limit);
        let min_floor = tpc.saturating_mul(buckets - 1).saturating_add(buckets);
        let min_spare = self.min_spare_threads.max(min_floor);
        let max_floor = min_spare.saturating_add(tpc.saturating_add(1).saturating_mul(buckets));
        Params {
            mpm: self.mpm,
            server_limit,
            thread_limit,
            threads_per_child: tpc,
            max_workers: self.max_workers,
            daemons_limit,
            min_spare_threads: min_spare,
            max_spare_threads: self.max_spare_threads.max(max_floor),
            start_servers: self.start_servers.max(buckets),
            num_buckets: buckets,
        }
    }

    /// The listener bucket a child in `slot` serves (httpd: slot modulo the bucket count).
    pub fn bucket_of(&self, slot: u16) -> u16 {
        let buckets = self.num_buckets.clamp(1, MAX_BUCKETS as u32);
        (u32::from(slot) % buckets) as u16
    }
}

/// [`Params::effective`] bound to the storage the parent really has, in the types the scans use.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub mpm: Mpm,
    /// Slots maintenance may use: ServerLimit, and never more than the parent's slot storage.
    pub server_limit: usize,
    pub threads_per_child: usize,
    pub daemons_limit: usize,
    pub max_workers: u32,
    pub min_spare: u32,
    pub max_spare: u32,
    pub start_servers: u32,
    pub buckets: usize,
    /// The top of each bucket's spawn rate: 32 / buckets, at least 1.
    pub max_rate: u32,
}

impl Limits {
    pub fn new(params: &Params, storage: usize) -> Limits {
        let p = params.effective();
        let server_limit = (p.server_limit as usize).min(storage);
        let buckets = p.num_buckets as usize;
        Limits {
            mpm: p.mpm,
            server_limit,
            threads_per_child: p.threads_per_child as usize,
            daemons_limit: (p.daemons_limit as usize).min(server_limit),
            max_workers: p.max_workers,
            min_spare: p.min_spare_threads,
            max_spare: p.max_spare_threads,
            start_servers: p.start_servers,
            buckets,
            max_rate: ((MAX_SPAWN_RATE / buckets) as u32).max(1),
        }
    }

    /// The slots new children may go into: all of ServerLimit for event, the first
    /// `daemons_limit` for worker.
    pub fn usable_slots(&self) -> usize {
        match self.mpm {
            Mpm::Event => self.server_limit,
            Mpm::Worker => self.daemons_limit,
        }
    }

    /// Per-bucket threshold: httpd divides each thread count by the bucket count.
    pub fn per_bucket(&self, n: u32) -> u32 {
        n / self.buckets as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bucket_raises_max_spare_to_min_plus_a_child_and_one() {
        let mut p = Params::defaults(Mpm::Event);
        p.min_spare_threads = 75;
        p.max_spare_threads = 80;
        let e = p.effective();
        assert_eq!(e.min_spare_threads, 75);
        assert_eq!(e.max_spare_threads, 75 + 25 + 1);
    }

    #[test]
    fn buckets_raise_start_servers_limit_and_min_spare() {
        let mut p = Params::defaults(Mpm::Worker);
        p.num_buckets = 4;
        p.start_servers = 1;
        p.daemons_limit = 2;
        p.min_spare_threads = 1;
        p.max_spare_threads = 0;
        let e = p.effective();
        assert_eq!(e.start_servers, 4);
        assert_eq!(e.daemons_limit, 4);
        assert_eq!(e.min_spare_threads, 25 * 3 + 4);
        assert_eq!(e.max_spare_threads, e.min_spare_threads + 26 * 4);
    }

    #[test]
    fn nonsense_is_bounded_not_trusted() {
        let p = Params {
            mpm: Mpm::Event,
            server_limit: u32::MAX,
            thread_limit: 0,
            threads_per_child: u32::MAX,
            max_workers: 0,
            daemons_limit: u32::MAX,
            min_spare_threads: u32::MAX,
            max_spare_threads: 0,
            start_servers: 0,
            num_buckets: 0,
        };
        let e = p.effective();
        assert_eq!(e.num_buckets, 1);
        assert_eq!(e.server_limit, 20_000);
        assert_eq!(e.threads_per_child, 1);
        let wide = Params {
            thread_limit: u32::MAX,
            ..p
        }
        .effective();
        assert_eq!(
            (wide.thread_limit, wide.threads_per_child),
            (100_000, 100_000)
        );
        assert_eq!(e.daemons_limit, e.server_limit);
        assert_eq!(e.max_spare_threads, u32::MAX);
        let l = Limits::new(&p, 8);
        assert_eq!(l.server_limit, 8);
        assert_eq!(l.daemons_limit, 8);
        assert_eq!(p.bucket_of(7), 0);
    }

    #[test]
    fn rate_cap_keeps_one_tick_within_the_batch() {
        for buckets in 1..=40u32 {
            let mut p = Params::defaults(Mpm::Event);
            p.num_buckets = buckets;
            let l = Limits::new(&p, 64);
            assert!(l.max_rate as usize * l.buckets <= MAX_SPAWN_RATE);
            assert!(l.max_rate >= 1);
        }
    }
}
