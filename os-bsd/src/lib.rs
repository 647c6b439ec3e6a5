//! eventmpm's BSD and macOS layer: the kqueue poller, the `EVFILT_USER` or
//! self-pipe waker, `accept4`, `sendfile` and `SO_ACCEPTFILTER`, for
//! FreeBSD, NetBSD, OpenBSD, DragonFly and macOS.
//!
//! The public surface is `eventmpm-os-linux`'s, name for name and signature
//! for signature: [`Interest`], [`Event`], [`Events`], [`Poller`] (`new`,
//! `add`, `rearm`, `add_listener`, `delete`, `wait`, `waker`), [`Waker`],
//! [`WAKE_TOKEN`], [`accept`] and [`Accepted`], [`sendfile`] and
//! [`set_defer_accept`]. That crate's docs give the shared contract and how
//! epoll, kqueue and event ports each provide it; this page covers what is
//! particular to kqueue.
//!
//! # Two layers
//!
//! - A **decision layer** in plain Rust, compiled and tested on every host:
//!   which kevent changes each call makes (`changes`), the bounded
//!   changelist batched into the next wait, how a returned entry decodes
//!   (`decode`), the wake-up protocol (`waker`), timeout rounding, and the
//!   poller that ties them together. It speaks a plain `Kevent` of its own,
//!   because `struct kevent` differs between the BSDs.
//! - A **thin syscall layer** (`sys`), compiled only on the five systems:
//!   it turns plain kevents into rustix's `kqueue::Event` (which knows each
//!   layout) and calls `kevent`, and it holds the `sendfile` and
//!   `SO_ACCEPTFILTER` calls.
//!
//! Between them sits one trait, `Kernel` (one method, `kevent`). The tests
//! put a model of kqueue behind it (`model`: knotes per `(ident, filter)`,
//! `EV_DISPATCH`, receipts and error entries, `EVFILT_USER`, level readiness
//! read from real fds with `poll(2)`), so the poller's own code runs against
//! real sockets and pipes on Linux, where no kqueue exists. On a host that
//! is none of the five systems the crate builds but exports nothing.
//!
//! # kqueue as oneshot
//!
//! - A connection's arm is `EV_ADD | EV_ENABLE | EV_DISPATCH` on
//!   `EVFILT_READ` or `EVFILT_WRITE` (and, on re-arm, `EV_ADD | EV_DISABLE`
//!   on the other filter): the knote reports once, then disables itself
//!   until the next arm. The `EV_ADD` replaces `udata`, so a re-arm may
//!   change the token.
//! - Listeners are level-triggered `EVFILT_READ` (no dispatch). kqueue has
//!   no exclusive wake-up, so every child that polls a listener wakes for a
//!   connection and the losers' accepts answer [`Accepted::WouldBlock`].
//! - Changes are queued and submitted with the next wait, one `kevent` per
//!   listener iteration; a full changelist (512 changes) is flushed early.
//!   [`Poller::delete`] alone acts at once, after dropping the fd's queued
//!   changes. A failed change comes back as an `error` event for its token.
//! - Tokens travel in `udata`, a pointer: they must fit `usize` (on 32-bit
//!   targets, below 2³²; `u64::MAX - 1` and the like are refused there), and
//!   [`WAKE_TOKEN`] is reserved.
//!
//! # Per system
//!
//! | | waker | `accept` | `sendfile` | `set_defer_accept` |
//! |---|---|---|---|---|
//! | FreeBSD | `EVFILT_USER` | `accept4` | 7 arguments, `sbytes` | `dataready` |
//! | DragonFly | `EVFILT_USER` | `accept4` | 7 arguments, `sbytes` | `dataready` |
//! | macOS | `EVFILT_USER` | `accept` + `fcntl` | 6 arguments, `len` | nothing |
//! | NetBSD | self-pipe | `accept4` | `pread` + `write` | `dataready` |
//! | OpenBSD | self-pipe | `accept4` | `pread` + `write` | nothing |
//!
//! The waker's `EVFILT_USER` knote has `EV_CLEAR` and is fired with
//! `NOTE_TRIGGER` from a `kevent` call with no event list. rustix offers
//! `EVFILT_USER` only on FreeBSD, DragonFly and macOS (and NetBSD gained it
//! only in 10), so NetBSD and OpenBSD use a non-blocking pipe whose read end
//! is a level-triggered knote, drained inside `wait`, as mio and polling do.
//! Both share [`Waker`]'s coalescing flag and its lost-wake-up-proof order.
//!
//! # Platform
//!
//! The kernel must know `EV_DISPATCH` and `EV_RECEIPT`. Current releases of
//! all five do; NetBSD and DragonFly releases from before 2016 lacked
//! `EV_RECEIPT` (fb-adb#38), and [`Poller::new`] refuses such a kqueue with
//! [`std::io::ErrorKind::Unsupported`] rather than risk losing events.
//! `accept4` needs FreeBSD ≥ 10. None of these systems can run where this
//! crate is developed: the syscall layer is compile-checked for each, and
//! the model tests stand in for running it.

#![deny(missing_docs)]
#![deny(unsafe_code)]
// Elsewhere than the five systems only the tests use the decision layer, and
// the crate docs' links have nothing exported to point to.
#![cfg_attr(
    not(any(
        test,
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "macos"
    )),
    allow(
        dead_code,
        rustdoc::broken_intra_doc_links,
        rustdoc::private_intra_doc_links
    )
)]

mod accept;
mod changes;
mod decode;
mod event;
mod interest;
mod kernel;
mod kevent;
#[cfg(test)]
mod model;
mod poller;
mod sendfile;
mod sockopt;
#[cfg(any(
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "macos"
))]
mod sys;
mod timeout;
mod waker;

#[cfg(any(
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "macos"
))]
pub use crate::{
    accept::{Accepted, accept},
    event::{Event, Events, Iter, MAX_EVENTS},
    interest::Interest,
    poller::Poller,
    sendfile::sendfile,
    sockopt::set_defer_accept,
    waker::{WAKE_TOKEN, Waker},
};
