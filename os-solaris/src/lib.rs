//! eventmpm's illumos and Solaris layer: the event-port poller, the
//! `port_send` waker, `accept4`, `sendfilev`, and no accept filter.
//!
//! The same surface as `eventmpm-os-linux` (whose crate docs list how every
//! item maps onto epoll, kqueue and event ports): [`Interest`], [`Event`],
//! [`Events`], [`Poller`] with `new`, `add`, `rearm`, `add_listener`,
//! `delete`, `wait` and `waker`, [`Waker::wake`], [`WAKE_TOKEN`], [`accept`]
//! and [`Accepted`], [`sendfile`] and [`set_defer_accept`]. Readiness is
//! oneshot, which is what event ports do by nature.
//!
//! # Two layers
//!
//! illumos cannot run on the project's machines, and nothing emulates event
//! ports on Linux. So the crate is split:
//!
//! - **Decisions**, in plain Rust that compiles and is tested on every host:
//!   the association each call makes, the emulated level-triggered
//!   listeners, decoding `port_event_t`, the wake-up protocol, reading
//!   `port_getn`'s answer, timeout rounding, the accept error list and
//!   reading `sendfilev`'s answer. The poller's logic is written against a
//!   small trait of port calls, and the tests run it against an in-repo
//!   model of event ports' semantics (one-shot associations, re-association,
//!   `ENOENT` on dissociate, user events, stale and spurious `POLLIN`, the
//!   `ETIME` race).
//! - **System calls**, compiled only for `target_os = "illumos"` and
//!   `"solaris"`: the trait over a real port, and the socket calls. It is
//!   type-checked (and linted) for those targets but has never run.
//!
//! # How event ports provide the surface
//!
//! - [`Poller::new`]: `port_create()`, then `FD_CLOEXEC` by `fcntl` (the
//!   port is created without it).
//! - [`Poller::add`] and [`Poller::rearm`] are the same call:
//!   `port_associate(PORT_SOURCE_FD, fd, POLLIN | POLLRDHUP or POLLOUT,
//!   token)`. The port dissociates a fd when it delivers its event, so the
//!   caller's re-arm after every event is exactly the re-association ports
//!   need. Associating again replaces the events and token and drops an
//!   event queued but not yet retrieved; a fd that is ready already fires at
//!   once. Unlike epoll, adding twice is not refused (no `EEXIST`) and
//!   re-arming a fd never added is not refused (no `ENOENT`). `POLLRDHUP`
//!   exists on illumos only; Solaris readers see a half-close as plain
//!   `POLLIN`.
//! - [`Poller::delete`]: `port_dissociate`, which also drops a queued event;
//!   `ENOENT` (a fd that fired and was not re-armed is already dissociated)
//!   is ignored. Closing a fd dissociates it too, but deleting first keeps
//!   the listener table right and works whatever else holds the file open.
//! - [`Poller::add_listener`]: ports have no level-triggered mode, so the
//!   poller keeps a table of up to 128 listening sockets and re-associates
//!   each one inside [`Poller::wait`] after retrieving its event, before the
//!   caller sees it. To the caller a listener stays armed until deleted. The
//!   price: the event queued by that re-association may be retrieved after
//!   the caller has accepted everything, so one stale report per burst is
//!   normal, answered by [`Accepted::WouldBlock`]. Every child process
//!   polling the socket wakes for a connection, as with kqueue.
//! - [`Poller::wait`]: `port_getn` with `min_events = 1`, called through
//!   `libc` rather than rustix: on a timeout illumos returns `ETIME` *with*
//!   the events that raced the timer, counted in `nget`, and rustix's `getn`
//!   drops that count. A lost fd event would leave its connection
//!   dissociated forever; a lost wake-up would leave the wakers' flag set
//!   and every later wake-up skipped. `ETIME` and `EINTR` give `Ok(0)`
//!   unless events came with the `ETIME`. Timeouts are rounded up to whole
//!   milliseconds (never early) and cut at about 24.8 days. illumos turns a
//!   timeout into a deadline on the time of day, so setting the clock can
//!   lengthen or shorten a wait; the caller checks deadlines against its own
//!   monotonic clock after every wait anyway.
//! - [`Poller::waker`], [`Waker::wake`], [`WAKE_TOKEN`]: `port_send(port,
//!   POLLIN, WAKE_TOKEN)`, coalesced by the same "pending" flag as on Linux,
//!   so at most one wake-up event is queued. Retrieving the event is the
//!   drain; the flag is cleared after `port_getn` returned and before the
//!   caller sees the batch, the order that cannot lose a wake-up.
//! - [`accept`]: `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)` (illumos, Solaris
//!   11.4), with the same transient-error list as Linux.
//! - [`sendfile`]: `sendfilev` from libsendfile, not `sendfile`: illumos may
//!   send part of the range and still fail (`EAGAIN` on a non-blocking
//!   socket), and only `sendfilev` reports the bytes sent in that case.
//!   Reading at or past the end of the file fails with `EINVAL` there;
//!   that case is turned into `Ok(0)` as on Linux.
//! - [`set_defer_accept`]: illumos and Solaris have no accept filter
//!   (neither `TCP_DEFER_ACCEPT` nor `SO_ACCEPTFILTER`); `Ok(())` without
//!   effect.
//!
//! # Caller contract
//!
//! As on Linux: register with [`Poller::add`], then [`Poller::rearm`] after
//! every event wanted; treat readiness as a hint (ports do report `POLLIN`
//! with nothing to read); [`Poller::delete`] before closing; tokens are
//! opaque, below [`WAKE_TOKEN`], and must fit in a pointer (keep them below
//! 2³² − 1 for 32-bit targets); one thread waits at a time, and makes the
//! `add`, `rearm` and `delete` calls.
//!
//! # Platform
//!
//! illumos (any release with `accept4`, 2013 on) and Solaris 11.4. On other
//! targets this crate compiles to nothing public.

#![deny(missing_docs)]
#![deny(unsafe_code)]
// Off illumos and Solaris only the decision layer is compiled, and nothing
// but its tests calls it.
#![cfg_attr(
    not(any(target_os = "illumos", target_os = "solaris")),
    allow(dead_code)
)]

mod accept;
mod bits;
mod driver;
mod event;
mod interest;
mod listeners;
#[cfg(test)]
mod model;
mod port;
mod sendfile;
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
mod sockopt;
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
mod sys;
mod timeout;
mod token;
mod wake;

#[cfg(any(target_os = "illumos", target_os = "solaris"))]
pub use crate::{
    accept::{Accepted, accept},
    event::{Event, Events, Iter, MAX_EVENTS},
    interest::Interest,
    sendfile::sendfile,
    sockopt::set_defer_accept,
    sys::{Poller, Waker},
    token::WAKE_TOKEN,
};
