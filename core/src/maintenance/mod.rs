//! The parent's process maintenance: which children to fork, which to stop, what to log.
//!
//! httpd's event and worker MPMs keep a pool of child processes sized to the load. Once a second
//! the parent reads the scoreboard, counts idle worker threads, and either asks one child to stop
//! gracefully (too many idle), forks more (too few idle, doubling the batch each second the
//! shortage lasts, 1, 2, 4 … 32), or does nothing. When a child exits it is reaped, and some exits
//! change the plan: a fatal error stops the server, a "sick" child damps the fork rate, a crash is
//! replaced at once, and a graceful restart replaces old children one for one.
//!
//! This module holds those decisions as pure functions over state the parent keeps:
//!
//! * [`Retained`]: what the parent knows and keeps across restarts (httpd's retained data): which
//!   child it forked into which slot, the daemon counts, the spawn rates, the once-only warnings.
//!   It is the authority for everything that leads to a signal or a reused slot; the scoreboard
//!   ([`Board`]) is written by the children and only ever *read* here, as untrusted input.
//! * [`Retained::tick`]: one 1-second maintenance pass (`perform_idle_server_maintenance` for
//!   every listener bucket), answering with a [`Decision`].
//! * [`Retained::child_exited`]: one reaped child, answering with an [`ExitOutcome`].
//! * [`Retained::startup`], [`Retained::graceful_restart`], [`Retained::restart`]: the start of a
//!   generation.
//! * [`Reclaim`] and [`graceful_stop`]: the escalation when stopping the server (SIGTERM at 0, 3,
//!   5, 7 s, SIGKILL at 9 s, give up at 10 s) and the GracefulShutdownTimeout wait.
//!
//! The event MPM's rules are httpd 2.4.54 and later, with the accounting fixes of PR 63169,
//! 65592, 65626, 66004 and the crash-restart logic added with PR 65769. Messages keep httpd's
//! wording and AH numbers ([`Message`]).
//!
//! Deliberate differences from httpd, each for a stated reason:
//!
//! * The slot a child lives in, its pid and its generation come from [`Retained`], never from the
//!   scoreboard (CVE-2019-0211 was a child corrupting what the parent trusted). A scoreboard record
//!   whose pid or generation disagrees with what the parent forked is ignored: its threads count
//!   as neither idle nor busy.
//! * [`Decision::stop_gracefully`] names the child to stop (the one with the fewest busy threads)
//!   instead of leaving it to whichever child reads the pipe of death first; a runtime may still
//!   write one byte to the bucket's pipe instead.
//! * Every path that forks keeps the active children at or below the active limit, the immediate
//!   replacements too (httpd caps only the maintenance spawns).
//! * A graceful or ungraceful restart counts the previous generation as stopping at once, rather
//!   than when each old child gets round to setting its `quiescing` flag.
//! * The spawn rate is capped at `32 / buckets` (httpd 2.4 can overshoot it with several buckets),
//!   so one tick never forks more than 32 children.

mod board;
mod exits;
mod message;
mod params;
mod reclaim;
mod retained;
mod tick;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod testing;

pub use board::{Board, ProcessView};
pub use exits::{APEXIT_CHILDFATAL, APEXIT_CHILDSICK, ExitOutcome, ExitStatus};
pub use message::{Counts, Level, Message};
pub use params::{Mpm, Params};
pub use reclaim::{GracefulStop, Reclaim, ReclaimAction, StopSignal, graceful_stop};
pub use retained::{Child, ChildSlot, Children, Retained, StartError};
pub use tick::Decision;

/// The most children one maintenance tick forks, and the top of the doubling spawn rate.
pub const MAX_SPAWN_RATE: usize = 32;

/// The most listener buckets (`ListenCoresBucketsRatio`) the spawn rates are kept for.
pub const MAX_BUCKETS: usize = 32;

/// How many messages one [`Decision`] carries; see [`Decision::messages_dropped`].
pub const MAX_MESSAGES: usize = 16;

/// How many messages one [`ExitOutcome`] carries (its worst case is four).
pub const MAX_EXIT_MESSAGES: usize = 4;
