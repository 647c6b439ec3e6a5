//! eventmpm's Linux layer: the epoll poller, the eventfd waker, `accept4`,
//! `sendfile` and `TCP_DEFER_ACCEPT`.
//!
//! The child process has one listener thread that owns a [`Poller`] and every
//! connection that waits for the network; worker threads hand connections back
//! and call [`Waker::wake`]. Readiness is **oneshot**: a registration reports
//! at most one event and then stays silent until the caller re-arms it. That
//! is the one model epoll (`EPOLLONESHOT`), kqueue (`EV_DISPATCH`) and event
//! ports (by nature) all offer, and it matches the event MPM, which decides
//! after every event what the connection waits for next.
//!
//! # What belongs in this crate
//!
//! Only what differs between operating systems. Socket creation, `bind`,
//! `listen`, `SO_REUSEADDR`, `TCP_NODELAY`, `SO_KEEPALIVE`, non-blocking
//! `read`/`write`/`writev`, `shutdown` and `close` are portable POSIX: the root
//! package's `src/` calls them through rustix directly, once, for every Unix.
//! The test: if the same call with the same flags compiles and behaves alike
//! on Linux, the BSDs and illumos, it does not go here. What does go here is
//! the readiness API, the way to wake it, `accept4` (its flags and its error
//! list differ), `sendfile` (four different signatures across systems) and
//! the accept filter (`TCP_DEFER_ACCEPT` vs `SO_ACCEPTFILTER` vs nothing).
//!
//! # The shared surface
//!
//! `eventmpm-os-bsd` (kqueue) and `eventmpm-os-solaris` (event ports) expose
//! the same names with the same signatures, so nothing above the root
//! package's `src/sys.rs` names an operating system. How each item maps:
//!
//! - [`Interest`] `{Read, Write}`: one direction per registration.
//!   - Linux: `EPOLLIN | EPOLLRDHUP` or `EPOLLOUT`, always with `EPOLLONESHOT`.
//!   - kqueue: `EVFILT_READ` or `EVFILT_WRITE`. The two are separate kernel
//!     filters, so switching direction also disables the other filter.
//!   - event ports: `POLLIN` or `POLLOUT` in `port_associate`.
//! - [`Event`] `{token, readable, writable, closed, error}`: plain data.
//!   - Linux: `EPOLLIN`/`EPOLLOUT`; `closed` = `EPOLLHUP | EPOLLRDHUP`;
//!     `error` = `EPOLLERR`.
//!   - kqueue: the filter gives readable/writable; `closed` = `EV_EOF`;
//!     `error` = `EV_ERROR` (rustix hides `fflags`, so a socket error that comes
//!     with `EV_EOF` shows as `closed` and surfaces on the next read or write).
//!     A change that failed inside a batched changelist comes back as an
//!     `EV_ERROR` entry and is reported as `error` for its token.
//!   - event ports: `POLLIN`/`POLLOUT`; `closed` = `POLLHUP` (and `POLLRDHUP`
//!     where defined); `error` = `POLLERR | POLLNVAL`.
//! - [`Events`]: a buffer allocated once by [`Events::with_capacity`]; `wait`
//!   never allocates.
//!   - Linux: `[epoll_event; n]`. kqueue: `[kevent; n]` as the event list.
//!     event ports: `[port_event; n]` (not `Copy` in rustix, so held as
//!     `MaybeUninit`).
//! - [`Poller::new`]:
//!   - Linux: `epoll_create1(EPOLL_CLOEXEC)` plus the waker's eventfd.
//!   - kqueue: `kqueue()` then `FD_CLOEXEC` by `fcntl` (rustix's `kqueue()`
//!     does not set it), plus the `EVFILT_USER` or self-pipe waker, and a
//!     fixed-capacity changelist.
//!   - event ports: `port_create()` then `FD_CLOEXEC` by `fcntl`.
//! - [`Poller::add`] and [`Poller::rearm`]: arm one oneshot event for `token`.
//!   - Linux: `EPOLL_CTL_ADD` / `EPOLL_CTL_MOD`, immediately.
//!   - kqueue: `EV_ADD | EV_ENABLE | EV_DISPATCH` for the wanted filter (the
//!     `EV_ADD` also replaces `udata`, so the token may change) and
//!     `EV_ADD | EV_DISABLE` for the other filter (a bare `EV_DISABLE` would
//!     fail with `ENOENT` for a filter never added, costing an event slot). The changes are queued in the changelist
//!     and submitted with the next `kevent` wait, one syscall per loop rather
//!     than one per connection; a full changelist is flushed early. A failed
//!     change surfaces as an `error` event for its token.
//!   - event ports: `port_associate(PORT_SOURCE_FD, fd, events, token)`; an
//!     fd that is already associated just gets the new events and token.
//! - [`Poller::delete`]: stop reporting `fd`; call it before closing `fd`.
//!   - Linux: `EPOLL_CTL_DEL`, `ENOENT` ignored.
//!   - kqueue: drop `fd`'s queued changes from the changelist (a change that
//!     outlived its fd would fail on submit and report an error against a
//!     token that may already belong to a new connection), then `EV_DELETE`
//!     both filters immediately, `ENOENT` ignored.
//!   - event ports: `port_dissociate`, `ENOENT` ignored (a fired fd is already
//!     dissociated).
//! - [`Poller::add_listener`]: a listening socket stays armed until deleted;
//!   disabling listeners is [`Poller::delete`], enabling is `add_listener`.
//!   - Linux: level-triggered `EPOLLIN`, deliberately not `EPOLLEXCLUSIVE`:
//!     that flag wakes one child per *arriving* connection, and a child that
//!     declines the wake-up (at its admission bound) leaves the connection in
//!     the backlog unseen by the others. Every child wakes; the losers'
//!     accepts answer [`Accepted::WouldBlock`].
//!   - kqueue: level-triggered `EVFILT_READ` (no `EV_DISPATCH`); every child
//!     wakes, as on Linux. (FreeBSD's `SO_REUSEPORT_LB` per child avoids
//!     the herd; that is a socket option in `src/`.)
//!   - event ports: no level mode exists, so the backend keeps a small table
//!     of listener fds and re-associates each listener inside `wait` before
//!     returning its event. Every child wakes, as with kqueue.
//! - [`Poller::wait`]: fill `events`, block up to `timeout` (`None` =
//!   forever; positive timeouts rounded up to whole milliseconds so the wait
//!   never ends before the deadline; a signal gives `Ok(0)`).
//!   - Linux: `epoll_pwait` with an `int` millisecond timeout.
//!   - kqueue: `kevent(changelist, eventlist, timespec)`; `EINTR` → `Ok(0)`.
//!   - event ports: `port_getn` with `min_events = 1`, through libc rather
//!     than rustix: on `ETIME` the call may still have retrieved events that
//!     raced the timer and counts them in `nget`, which rustix discards (a lost
//!     event would leave its fd dissociated for good). `EINTR` → `Ok(0)`.
//! - [`Poller::waker`], [`Waker::wake`], [`WAKE_TOKEN`]: wake a blocked `wait`
//!   from another thread. All three backends share the coalescing flag of
//!   [`Waker`] and report the wake-up as an [`Event`] with [`WAKE_TOKEN`].
//!   - Linux: an eventfd registered level-triggered; the poller reads it to
//!     zero, then clears the flag.
//!   - kqueue: `EVFILT_USER` with `EV_CLEAR`, woken by `NOTE_TRIGGER`
//!     (FreeBSD, DragonFly, macOS); on NetBSD and OpenBSD a non-blocking
//!     self-pipe whose read end is drained like the eventfd. The flag is
//!     cleared once the event has been received.
//!   - event ports: `port_send(port, POLLIN, WAKE_TOKEN)`, which queues one
//!     `PORT_SOURCE_USER` event; receiving it is the drain, then the flag is
//!     cleared.
//! - [`accept`] and [`Accepted`]: one non-blocking accept.
//!   - Linux, FreeBSD, NetBSD, OpenBSD, DragonFly, illumos: `accept4(NONBLOCK |
//!     CLOEXEC)`. macOS has no `accept4` (rustix silently drops the flags), so
//!     os-bsd sets them with `fcntl` there. The transient-error list is the
//!     same everywhere; an errno a system lacks simply never occurs.
//! - [`sendfile`]: send file bytes from `offset`, advance it.
//!   - Linux: `sendfile(out, in, &offset, count)`.
//!   - FreeBSD, DragonFly: `sendfile(file, sock, offset, count, NULL, &sbytes,
//!     0)`; on `EAGAIN` with `sbytes > 0` it returns `Ok(sbytes)`.
//!     macOS: `sendfile(file, sock, offset, &len, NULL, 0)`, same rule.
//!     NetBSD, OpenBSD (no sendfile): `pread` into a bounded buffer + `write`.
//!   - illumos, Solaris: `sendfile(out, in, &offset, count)` from libsendfile.
//! - [`set_defer_accept`]: the accept filter httpd's `AcceptFilter` sets.
//!   - Linux: `TCP_DEFER_ACCEPT`.
//!   - FreeBSD, NetBSD: `SO_ACCEPTFILTER` with `dataready` (the seconds are not
//!     configurable there; `0` removes the filter).
//!   - illumos, OpenBSD, macOS: no such filter; `Ok(())` without effect.
//!
//! # Caller contract
//!
//! - Register a connection once with [`Poller::add`], then [`Poller::rearm`]
//!   after every event it wants another one for. Readiness is a hint: a read
//!   or write that answers `WouldBlock` means "re-arm and wait again".
//! - Call [`Poller::delete`] before closing an fd. epoll keys a registration
//!   by open file description, not by fd number, so a registration can
//!   outlive `close` while a duplicate of the fd exists anywhere (another
//!   thread's `dup`, a forked child).
//! - Tokens are opaque `u64`s; [`WAKE_TOKEN`] is reserved. kqueue and event
//!   ports carry the token in a pointer-sized field, so portable callers keep
//!   tokens below 2³² (slab indices do).
//! - One thread waits on a poller at a time, and portable callers make
//!   `add`, `rearm` and `delete` calls from that same thread (the listener
//!   does: workers hand connections back to it). kqueue queues changes for
//!   its next wait, so only there does this matter; on Linux the calls are
//!   immediate and safe from any thread.
//!
//! # Platform
//!
//! Linux ≥ 2.6.28 (`epoll_create1`, `eventfd2`, `accept4`). On other
//! targets this crate compiles to nothing.

#![deny(missing_docs)]
#![deny(unsafe_code)]

#[cfg(any(target_os = "linux", target_os = "android"))]
mod accept;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod event;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod interest;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod poller;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod sendfile;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod sockopt;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod timeout;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod waker;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub use crate::{
    accept::{Accepted, accept},
    event::{Event, Events, Iter, MAX_EVENTS},
    interest::Interest,
    poller::{EDGE_TRIGGERED, Poller},
    sendfile::sendfile,
    sockopt::set_defer_accept,
    waker::{WAKE_TOKEN, Waker},
};
