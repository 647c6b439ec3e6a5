//! The process-model check httpd runs after reading the configuration (`event_check_config`,
//! `worker_check_config`) and the silent adjustments its `run` hook makes before starting
//! children, with one listener bucket.
//!
//! One subtlety is kept on purpose: when MaxRequestWorkers needs more children than ServerLimit,
//! httpd caps the number of *active children* at ServerLimit but leaves MaxRequestWorkers as
//! configured (its message says "decreasing to"). Maintenance compares busy threads against the
//! larger number, so such a server fills every slot before it could reach MaxRequestWorkers and
//! reports "scoreboard is full" rather than "server reached MaxRequestWorkers".

use super::messages::{Clamp, Warning};
use super::{Config, MAX_SERVER_LIMIT};

impl Config {
    /// Checks and clamps the process model, in httpd's order, reporting each change through
    /// `warn`: ServerLimit, ThreadLimit, ThreadsPerChild, MaxRequestWorkers (at least
    /// ThreadsPerChild, rounded down to a multiple of it), the active children limit (at most
    /// ServerLimit), StartServers, MinSpareThreads. Then, silently as httpd's `run` hook does:
    /// MinSpareThreads at least 1, MaxSpareThreads at least MinSpareThreads + ThreadsPerChild + 1,
    /// StartServers at most the active children limit.
    ///
    /// `startup` is true on the first start (console wording, see [`Warning`]). On a restart use
    /// [`check_restart`](Self::check_restart) instead.
    #[doc(alias = "event_check_config")]
    #[doc(alias = "worker_check_config")]
    pub fn check(&mut self, startup: bool, warn: &mut dyn FnMut(Warning)) {
        self.check_with(startup, None, warn);
    }

    /// [`check`](Self::check) for a restart: the same checks with restart wording, and ServerLimit
    /// and ThreadLimit may not change (they sized the shared scoreboard): a new value is reported
    /// (AH00501 / AH00506, worker AH00304 / AH00309) and the running server's value kept.
    /// `previous` is the configuration the server runs with, already checked.
    pub fn check_restart(&mut self, previous: &Config, warn: &mut dyn FnMut(Warning)) {
        let original = (previous.server_limit, previous.thread_limit);
        self.check_with(false, Some(original), warn);
    }

    fn check_with(
        &mut self,
        startup: bool,
        original: Option<(i32, i32)>,
        warn: &mut dyn FnMut(Warning),
    ) {
        let mpm = self.mpm;
        let mut say = |clamp| {
            warn(Warning {
                clamp,
                mpm,
                startup,
            })
        };
        let max_server_limit = MAX_SERVER_LIMIT as i32;
        if self.server_limit > max_server_limit {
            say(Clamp::ServerLimitTooHigh {
                configured: self.server_limit,
                limit: max_server_limit,
            });
            self.server_limit = max_server_limit;
        } else if self.server_limit < 1 {
            say(Clamp::ServerLimitTooLow {
                configured: self.server_limit,
            });
            self.server_limit = 1;
        }
        if let Some((server_limit, _)) = original
            && self.server_limit != server_limit
        {
            say(Clamp::ServerLimitChanged {
                configured: self.server_limit,
                original: server_limit,
            });
            self.server_limit = server_limit;
        }

        let max_thread_limit = mpm.max_thread_limit() as i32;
        if self.thread_limit > max_thread_limit {
            say(Clamp::ThreadLimitTooHigh {
                configured: self.thread_limit,
                limit: max_thread_limit,
            });
            self.thread_limit = max_thread_limit;
        } else if self.thread_limit < 1 {
            say(Clamp::ThreadLimitTooLow {
                configured: self.thread_limit,
            });
            self.thread_limit = 1;
        }
        if let Some((_, thread_limit)) = original
            && self.thread_limit != thread_limit
        {
            say(Clamp::ThreadLimitChanged {
                configured: self.thread_limit,
                original: thread_limit,
            });
            self.thread_limit = thread_limit;
        }

        if self.threads_per_child > self.thread_limit {
            say(Clamp::ThreadsPerChildTooHigh {
                configured: self.threads_per_child,
                thread_limit: self.thread_limit,
            });
            self.threads_per_child = self.thread_limit;
        } else if self.threads_per_child < 1 {
            say(Clamp::ThreadsPerChildTooLow {
                configured: self.threads_per_child,
            });
            self.threads_per_child = 1;
        }
        let per_child = self.threads_per_child;

        if self.max_request_workers < per_child {
            say(Clamp::MaxWorkersBelowThreadsPerChild {
                configured: self.max_request_workers,
                threads_per_child: per_child,
            });
            self.max_request_workers = per_child;
        }
        let mut active = self.max_request_workers / per_child;
        if self.max_request_workers % per_child != 0 {
            let rounded = active * per_child;
            say(Clamp::MaxWorkersNotMultiple {
                configured: self.max_request_workers,
                threads_per_child: per_child,
                rounded,
                servers: active,
            });
            self.max_request_workers = rounded;
        }
        if active > self.server_limit {
            say(Clamp::MaxWorkersAboveServerLimit {
                max_workers: self.max_request_workers,
                servers: active,
                server_limit: self.server_limit,
                // At most MAX_SERVER_LIMIT × MAX_THREAD_LIMIT = 2e9, within i32.
                capped: self.server_limit.saturating_mul(per_child),
            });
            active = self.server_limit;
        }
        self.active_daemons_limit = active;

        if self.start_servers < 1 {
            say(Clamp::StartServersTooLow {
                configured: self.start_servers,
            });
            self.start_servers = 1;
        }
        if self.min_spare_threads < 1 {
            say(Clamp::MinSpareThreadsTooLow {
                configured: self.min_spare_threads,
            });
            self.min_spare_threads = 1;
        }

        // The run hook's bucket adjustments with one bucket, then its StartServers cap. Silent.
        let floor = self
            .min_spare_threads
            .saturating_add(per_child)
            .saturating_add(1);
        self.max_spare_threads = self.max_spare_threads.max(floor);
        self.start_servers = self.start_servers.min(self.active_daemons_limit);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::{Applied, Context, Mpm};
    use super::*;
    use std::string::{String, ToString};
    use std::vec::Vec;

    fn config(mpm: Mpm, directives: &[(&str, &str)]) -> Config {
        let mut c = Config::new();
        c.mpm = mpm;
        for (name, arg) in directives {
            assert_eq!(c.set(name, &[arg], Context::Server), Ok(Applied::Done));
        }
        c
    }

    /// Runs `check`, returning each warning as (AH number, console line).
    fn checked(c: &mut Config, startup: bool) -> Vec<(u16, String)> {
        let mut out = Vec::new();
        c.check(startup, &mut |w| {
            out.push((w.ah(), w.console().to_string()))
        });
        out
    }

    #[test]
    fn defaults_pass_silently() {
        let mut c = Config::new();
        assert!(checked(&mut c, true).is_empty());
        let p = c.process();
        assert_eq!((p.max_workers, p.active_daemons_limit), (400, 16));
        assert_eq!(
            (p.start_servers, p.min_spare_threads, p.max_spare_threads),
            (3, 75, 250)
        );
    }

    #[test]
    fn server_limit_bounds() {
        let mut c = config(Mpm::Event, &[("ServerLimit", "20001")]);
        assert_eq!(
            checked(&mut c, true),
            [(
                497,
                "WARNING: ServerLimit of 20001 exceeds compile-time limit of 20000 servers, \
                 decreasing to 20000."
                    .into()
            )]
        );
        assert_eq!(c.server_limit, 20000);
        let mut c = config(Mpm::Event, &[("ServerLimit", "0")]);
        assert_eq!(
            checked(&mut c, false)[0],
            (500, "ServerLimit of 0 not allowed, increasing to 1".into())
        );
        assert_eq!(c.server_limit, 1);
    }

    #[test]
    fn thread_limit_depends_on_the_mpm() {
        let mut c = config(Mpm::Event, &[("ThreadLimit", "100000")]);
        assert!(checked(&mut c, true).is_empty());
        let mut c = config(Mpm::Worker, &[("ThreadLimit", "100000")]);
        assert_eq!(
            checked(&mut c, true),
            [(
                305,
                "WARNING: ThreadLimit of 100000 exceeds compile-time limit of 20000 threads, \
                 decreasing to 20000."
                    .into()
            )]
        );
        let mut c = config(Mpm::Event, &[("ThreadLimit", "100001")]);
        assert_eq!(
            checked(&mut c, false),
            [(
                503,
                "ThreadLimit of 100001 exceeds compile-time limit of 100000, decreasing to match"
                    .into()
            )]
        );
        let mut c = config(Mpm::Event, &[("ThreadLimit", "-3")]);
        let w = checked(&mut c, true);
        assert_eq!(
            w[0],
            (
                504,
                "WARNING: ThreadLimit of -3 not allowed, increasing to 1.".into()
            )
        );
        // ThreadsPerChild (25) then exceeds it: the next warning in httpd's order.
        assert_eq!(w[1].0, 507);
        assert_eq!(c.threads_per_child, 1);
    }

    #[test]
    fn threads_per_child_bounds() {
        let mut c = config(Mpm::Event, &[("ThreadsPerChild", "65")]);
        let w = checked(&mut c, true);
        assert_eq!(
            w[0],
            (
                507,
                "WARNING: ThreadsPerChild of 65 exceeds ThreadLimit of 64 threads, decreasing to \
                 64. To increase, please see the ThreadLimit directive."
                    .into()
            )
        );
        assert_eq!(c.threads_per_child, 64);
        let mut c = config(Mpm::Worker, &[("ThreadsPerChild", "0")]);
        let w = checked(&mut c, false);
        assert_eq!(
            w[0],
            (
                313,
                "ThreadsPerChild of 0 not allowed, increasing to 1".into()
            )
        );
    }

    #[test]
    fn max_request_workers_is_raised_rounded_and_capped() {
        let mut c = config(Mpm::Event, &[("MaxRequestWorkers", "10")]);
        assert_eq!(
            checked(&mut c, true),
            [(
                511,
                "WARNING: MaxRequestWorkers of 10 is less than ThreadsPerChild of 25, increasing \
                 to 25. MaxRequestWorkers must be at least as large as the number of threads in a \
                 single server."
                    .into()
            )]
        );
        assert_eq!((c.max_request_workers, c.active_daemons_limit), (25, 1));

        let mut c = config(Mpm::Event, &[("MaxRequestWorkers", "110")]);
        assert_eq!(
            checked(&mut c, false),
            [(
                514,
                "MaxRequestWorkers of 110 is not an integer multiple of ThreadsPerChild of 25, \
                 decreasing to nearest multiple 100"
                    .into()
            )]
        );
        assert_eq!((c.max_request_workers, c.active_daemons_limit), (100, 4));

        let mut c = config(Mpm::Event, &[("MaxRequestWorkers", "1010")]);
        assert_eq!(
            checked(&mut c, true),
            [
                (
                    513,
                    "WARNING: MaxRequestWorkers of 1010 is not an integer multiple of \
                     ThreadsPerChild of 25, decreasing to nearest multiple 1000, for a maximum of \
                     40 servers."
                        .into()
                ),
                (
                    515,
                    "WARNING: MaxRequestWorkers of 1000 would require 40 servers and would exceed \
                     ServerLimit of 16, decreasing to 400. To increase, please see the ServerLimit \
                     directive."
                        .into()
                )
            ]
        );
        // httpd's subtle point: only the active children limit is capped.
        assert_eq!((c.max_request_workers, c.active_daemons_limit), (1000, 16));
        assert_eq!(c.process().max_workers, 1000);

        let mut c = config(Mpm::Worker, &[("MaxRequestWorkers", "500")]);
        assert_eq!(
            checked(&mut c, false),
            [(
                319,
                "MaxRequestWorkers of 500 would require 20 servers and exceed ServerLimit of 16, \
                 decreasing to 400"
                    .into()
            )]
        );
    }

    #[test]
    fn start_servers_and_spare_threads() {
        let mut c = config(
            Mpm::Event,
            &[("StartServers", "0"), ("MinSpareThreads", "-1")],
        );
        assert_eq!(
            checked(&mut c, true),
            [
                (
                    517,
                    "WARNING: StartServers of 0 not allowed, increasing to 1.".into()
                ),
                (
                    519,
                    "WARNING: MinSpareThreads of -1 not allowed, increasing to 1 to avoid almost \
                     certain server failure. Please read the documentation."
                        .into()
                )
            ]
        );
        assert_eq!((c.start_servers, c.min_spare_threads), (1, 1));
        let mut c = config(
            Mpm::Worker,
            &[("StartServers", "-2"), ("MinSpareThreads", "0")],
        );
        assert_eq!(
            checked(&mut c, false),
            [
                (
                    321,
                    "StartServers of -2 not allowed, increasing to 1".into()
                ),
                (
                    323,
                    "MinSpareThreads of 0 not allowed, increasing to 1".into()
                )
            ]
        );
    }

    #[test]
    fn run_time_clamps_are_silent() {
        let mut c = config(
            Mpm::Event,
            &[
                ("StartServers", "50"),
                ("MinSpareThreads", "30"),
                ("MaxSpareThreads", "10"),
                ("MaxRequestWorkers", "100"),
            ],
        );
        assert!(checked(&mut c, true).is_empty());
        // MaxSpareThreads >= MinSpareThreads + ThreadsPerChild + 1; StartServers <= 100 / 25.
        assert_eq!((c.max_spare_threads, c.start_servers), (30 + 25 + 1, 4));
    }

    #[test]
    fn restart_keeps_server_and_thread_limits() {
        let mut old = Config::new();
        old.check(true, &mut |_| {});
        let mut new = config(Mpm::Event, &[("ServerLimit", "32"), ("ThreadLimit", "128")]);
        let mut w = Vec::new();
        new.check_restart(&old, &mut |w2| w.push((w2.ah(), w2.console().to_string())));
        assert_eq!(
            w,
            [
                (
                    501,
                    "changing ServerLimit to 32 from original value of 16 not allowed during \
                     restart"
                        .into()
                ),
                (
                    506,
                    "changing ThreadLimit to 128 from original value of 64 not allowed during \
                     restart"
                        .into()
                )
            ]
        );
        assert_eq!((new.server_limit, new.thread_limit), (16, 64));

        let mut new = config(Mpm::Worker, &[("ServerLimit", "0")]);
        let mut w = Vec::new();
        new.check_restart(&old, &mut |w2| w.push((w2.ah(), w2.to_string())));
        assert_eq!(
            w,
            [
                (303, "ServerLimit of 0 not allowed, increasing to 1".into()),
                (
                    304,
                    "changing ServerLimit to 1 from original value of 16 not allowed during \
                     restart"
                        .into()
                )
            ]
        );
        assert_eq!(new.server_limit, 16);
    }

    #[test]
    fn a_changed_limit_has_no_warning_prefix_even_at_startup() {
        let w = Warning {
            clamp: Clamp::ServerLimitChanged {
                configured: 2,
                original: 1,
            },
            mpm: Mpm::Event,
            startup: true,
        };
        assert_eq!(
            w.console().to_string(),
            "changing ServerLimit to 2 from original value of 1 not allowed during restart"
        );
    }
}
