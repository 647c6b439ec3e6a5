//! What the configuration check tells the operator without refusing the configuration: httpd's
//! `check_config` warnings and the informational notes some directives log.
//!
//! httpd words each clamp twice: at first start-up it prints `WARNING: …` on the console (with a
//! long explanation), on a restart it logs a shorter text to the error log, under a different
//! AH number. The worker MPM uses the same texts as event, numbered 197 lower (AH00300–AH00323
//! for event's AH00497–AH00520).

use core::fmt;

use super::Mpm;
use crate::admission::Factor;

/// A value `check` changed, with the numbers httpd prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clamp {
    /// ServerLimit above the compile-time limit (`MAX_SERVER_LIMIT`).
    ServerLimitTooHigh {
        /// The configured value.
        configured: i32,
        /// The limit it was decreased to.
        limit: i32,
    },
    /// ServerLimit below 1.
    ServerLimitTooLow {
        /// The configured value.
        configured: i32,
    },
    /// ServerLimit changed by a restart (only the original value can size the scoreboard).
    ServerLimitChanged {
        /// The new configuration's value.
        configured: i32,
        /// The value the server started with, which is kept.
        original: i32,
    },
    /// ThreadLimit above the MPM's compile-time limit.
    ThreadLimitTooHigh {
        /// The configured value.
        configured: i32,
        /// The limit it was decreased to.
        limit: i32,
    },
    /// ThreadLimit below 1.
    ThreadLimitTooLow {
        /// The configured value.
        configured: i32,
    },
    /// ThreadLimit changed by a restart.
    ThreadLimitChanged {
        /// The new configuration's value.
        configured: i32,
        /// The value the server started with, which is kept.
        original: i32,
    },
    /// ThreadsPerChild above ThreadLimit.
    ThreadsPerChildTooHigh {
        /// The configured value.
        configured: i32,
        /// ThreadLimit, the new value.
        thread_limit: i32,
    },
    /// ThreadsPerChild below 1.
    ThreadsPerChildTooLow {
        /// The configured value.
        configured: i32,
    },
    /// MaxRequestWorkers below ThreadsPerChild.
    MaxWorkersBelowThreadsPerChild {
        /// The configured value.
        configured: i32,
        /// ThreadsPerChild, the new value.
        threads_per_child: i32,
    },
    /// MaxRequestWorkers not a multiple of ThreadsPerChild; rounded down.
    MaxWorkersNotMultiple {
        /// The configured value.
        configured: i32,
        /// ThreadsPerChild.
        threads_per_child: i32,
        /// The rounded value.
        rounded: i32,
        /// The number of active children it allows.
        servers: i32,
    },
    /// MaxRequestWorkers needs more children than ServerLimit. httpd caps the number of active
    /// children at ServerLimit but keeps MaxRequestWorkers as configured, although the message
    /// says "decreasing to" ServerLimit × ThreadsPerChild.
    MaxWorkersAboveServerLimit {
        /// MaxRequestWorkers (after rounding).
        max_workers: i32,
        /// Children it would need.
        servers: i32,
        /// ServerLimit.
        server_limit: i32,
        /// ServerLimit × ThreadsPerChild.
        capped: i32,
    },
    /// StartServers below 1.
    StartServersTooLow {
        /// The configured value.
        configured: i32,
    },
    /// MinSpareThreads below 1.
    MinSpareThreadsTooLow {
        /// The configured value.
        configured: i32,
    },
}

/// A warning from [`Config::check`](super::Config::check): the clamp, and where httpd would log
/// it. `Display` is httpd's text for that moment, without the `WARNING: ` prefix of the console
/// form (see [`console`](Warning::console)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Warning {
    /// What was changed.
    pub clamp: Clamp,
    /// The MPM, which decides the AH number.
    pub mpm: Mpm,
    /// First start-up (console wording) rather than a restart (error-log wording).
    pub startup: bool,
}

impl Warning {
    /// httpd's message number (the `NNNNN` of `AHNNNNN`).
    #[doc(alias = "APLOGNO")]
    pub fn ah(&self) -> u16 {
        let (startup, restart) = match self.clamp {
            Clamp::ServerLimitTooHigh { .. } => (497, 498),
            Clamp::ServerLimitTooLow { .. } => (499, 500),
            Clamp::ServerLimitChanged { .. } => (501, 501),
            Clamp::ThreadLimitTooHigh { .. } => (502, 503),
            Clamp::ThreadLimitTooLow { .. } => (504, 505),
            Clamp::ThreadLimitChanged { .. } => (506, 506),
            Clamp::ThreadsPerChildTooHigh { .. } => (507, 508),
            Clamp::ThreadsPerChildTooLow { .. } => (509, 510),
            Clamp::MaxWorkersBelowThreadsPerChild { .. } => (511, 512),
            Clamp::MaxWorkersNotMultiple { .. } => (513, 514),
            Clamp::MaxWorkersAboveServerLimit { .. } => (515, 516),
            Clamp::StartServersTooLow { .. } => (517, 518),
            Clamp::MinSpareThreadsTooLow { .. } => (519, 520),
        };
        let event = if self.startup { startup } else { restart };
        match self.mpm {
            Mpm::Event => event,
            Mpm::Worker => event - 197,
        }
    }

    /// The line as httpd prints it: with `WARNING: ` on the console at start-up, plain in the
    /// error log on a restart.
    pub fn console(&self) -> Console<'_> {
        Console(self)
    }
}

/// [`Warning::console`]'s display form.
#[derive(Clone, Copy, Debug)]
pub struct Console<'w>(&'w Warning);

impl fmt::Display for Console<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let changed = matches!(
            self.0.clamp,
            Clamp::ServerLimitChanged { .. } | Clamp::ThreadLimitChanged { .. }
        );
        if self.0.startup && !changed {
            f.write_str("WARNING: ")?;
        }
        fmt::Display::fmt(self.0, f)
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.startup {
            startup_text(&self.clamp, f)
        } else {
            restart_text(&self.clamp, f)
        }
    }
}

fn startup_text(clamp: &Clamp, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match *clamp {
        Clamp::ServerLimitTooHigh { configured, limit } => write!(
            f,
            "ServerLimit of {configured} exceeds compile-time limit of {limit} servers, \
             decreasing to {limit}."
        ),
        Clamp::ServerLimitTooLow { configured } => {
            write!(
                f,
                "ServerLimit of {configured} not allowed, increasing to 1."
            )
        }
        Clamp::ThreadLimitTooHigh { configured, limit } => write!(
            f,
            "ThreadLimit of {configured} exceeds compile-time limit of {limit} threads, \
             decreasing to {limit}."
        ),
        Clamp::ThreadLimitTooLow { configured } => {
            write!(
                f,
                "ThreadLimit of {configured} not allowed, increasing to 1."
            )
        }
        Clamp::ThreadsPerChildTooHigh {
            configured,
            thread_limit,
        } => write!(
            f,
            "ThreadsPerChild of {configured} exceeds ThreadLimit of {thread_limit} threads, \
             decreasing to {thread_limit}. To increase, please see the ThreadLimit directive."
        ),
        Clamp::ThreadsPerChildTooLow { configured } => {
            write!(
                f,
                "ThreadsPerChild of {configured} not allowed, increasing to 1."
            )
        }
        Clamp::MaxWorkersBelowThreadsPerChild {
            configured,
            threads_per_child,
        } => write!(
            f,
            "MaxRequestWorkers of {configured} is less than ThreadsPerChild of \
             {threads_per_child}, increasing to {threads_per_child}. MaxRequestWorkers must be \
             at least as large as the number of threads in a single server."
        ),
        Clamp::MaxWorkersNotMultiple {
            configured,
            threads_per_child,
            rounded,
            servers,
        } => write!(
            f,
            "MaxRequestWorkers of {configured} is not an integer multiple of ThreadsPerChild of \
             {threads_per_child}, decreasing to nearest multiple {rounded}, for a maximum of \
             {servers} servers."
        ),
        Clamp::MaxWorkersAboveServerLimit {
            max_workers,
            servers,
            server_limit,
            capped,
        } => write!(
            f,
            "MaxRequestWorkers of {max_workers} would require {servers} servers and would exceed \
             ServerLimit of {server_limit}, decreasing to {capped}. To increase, please see the \
             ServerLimit directive."
        ),
        Clamp::StartServersTooLow { configured } => {
            write!(
                f,
                "StartServers of {configured} not allowed, increasing to 1."
            )
        }
        Clamp::MinSpareThreadsTooLow { configured } => write!(
            f,
            "MinSpareThreads of {configured} not allowed, increasing to 1 to avoid almost \
             certain server failure. Please read the documentation."
        ),
        Clamp::ServerLimitChanged { .. } | Clamp::ThreadLimitChanged { .. } => {
            // httpd has no start-up form: these only happen on a restart.
            restart_text(clamp, f)
        }
    }
}

fn restart_text(clamp: &Clamp, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match *clamp {
        Clamp::ServerLimitTooHigh { configured, limit } => write!(
            f,
            "ServerLimit of {configured} exceeds compile-time limit of {limit}, decreasing to \
             match"
        ),
        Clamp::ServerLimitTooLow { configured } => {
            write!(
                f,
                "ServerLimit of {configured} not allowed, increasing to 1"
            )
        }
        Clamp::ServerLimitChanged {
            configured,
            original,
        } => write!(
            f,
            "changing ServerLimit to {configured} from original value of {original} not allowed \
             during restart"
        ),
        Clamp::ThreadLimitTooHigh { configured, limit } => write!(
            f,
            "ThreadLimit of {configured} exceeds compile-time limit of {limit}, decreasing to \
             match"
        ),
        Clamp::ThreadLimitTooLow { configured } => {
            write!(
                f,
                "ThreadLimit of {configured} not allowed, increasing to 1"
            )
        }
        Clamp::ThreadLimitChanged {
            configured,
            original,
        } => write!(
            f,
            "changing ThreadLimit to {configured} from original value of {original} not allowed \
             during restart"
        ),
        Clamp::ThreadsPerChildTooHigh {
            configured,
            thread_limit,
        } => write!(
            f,
            "ThreadsPerChild of {configured} exceeds ThreadLimit of {thread_limit}, decreasing to \
             match"
        ),
        Clamp::ThreadsPerChildTooLow { configured } => {
            write!(
                f,
                "ThreadsPerChild of {configured} not allowed, increasing to 1"
            )
        }
        Clamp::MaxWorkersBelowThreadsPerChild {
            configured,
            threads_per_child,
        } => write!(
            f,
            "MaxRequestWorkers of {configured} is less than ThreadsPerChild of \
             {threads_per_child}, increasing to match"
        ),
        Clamp::MaxWorkersNotMultiple {
            configured,
            threads_per_child,
            rounded,
            ..
        } => write!(
            f,
            "MaxRequestWorkers of {configured} is not an integer multiple of ThreadsPerChild of \
             {threads_per_child}, decreasing to nearest multiple {rounded}"
        ),
        Clamp::MaxWorkersAboveServerLimit {
            max_workers,
            servers,
            server_limit,
            capped,
        } => write!(
            f,
            "MaxRequestWorkers of {max_workers} would require {servers} servers and exceed \
             ServerLimit of {server_limit}, decreasing to {capped}"
        ),
        Clamp::StartServersTooLow { configured } => {
            write!(
                f,
                "StartServers of {configured} not allowed, increasing to 1"
            )
        }
        Clamp::MinSpareThreadsTooLow { configured } => {
            write!(
                f,
                "MinSpareThreads of {configured} not allowed, increasing to 1"
            )
        }
    }
}

/// Something a directive was applied with that the operator should hear about (httpd logs these
/// at level info).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    /// `MaxClients` was used (AH00521 in event, AH00324 in worker).
    MaxClientsDeprecated {
        /// The MPM, which decides the AH number.
        mpm: Mpm,
    },
    /// `MaxRequestsPerChild` was used (AH00545).
    MaxRequestsPerChildDeprecated,
    /// `AsyncRequestWorkerFactor` below 1 was raised to 1. httpd does this silently; saying so
    /// costs nothing.
    FactorRaised {
        /// The configured factor (rounded down to thousandths).
        configured: Factor,
    },
}

impl Note {
    /// httpd's message number, where it has one.
    pub fn ah(&self) -> Option<u16> {
        match self {
            Note::MaxClientsDeprecated { mpm: Mpm::Event } => Some(521),
            Note::MaxClientsDeprecated { mpm: Mpm::Worker } => Some(324),
            Note::MaxRequestsPerChildDeprecated => Some(545),
            Note::FactorRaised { .. } => None,
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::MaxClientsDeprecated { .. } => {
                f.write_str("MaxClients is deprecated, use MaxRequestWorkers instead.")
            }
            Note::MaxRequestsPerChildDeprecated => f.write_str(
                "MaxRequestsPerChild is deprecated, use MaxConnectionsPerChild instead.",
            ),
            Note::FactorRaised { configured } => write!(
                f,
                "AsyncRequestWorkerFactor of {configured} is less than 1, using 1"
            ),
        }
    }
}
