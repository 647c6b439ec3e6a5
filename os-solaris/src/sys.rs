//! The system-call layer: the poller over a real event port.
//!
//! Everything here is a thin call; what to call and how to read the answer
//! is decided in the host-tested modules.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use rustix::event::{PollFlags, port};
use rustix::io::{Errno, FdFlags, fcntl_getfd, fcntl_setfd};

use crate::driver::Driver;
use crate::event::{Events, PortEvent};
use crate::interest::Interest;
use crate::port::{Got, Port};
use crate::wake::Shared;

/// One event port.
#[derive(Debug)]
struct SysPort {
    fd: OwnedFd,
}

impl SysPort {
    fn new() -> io::Result<Self> {
        let fd = port::create()?;
        // port_create has no flags argument and rustix sets nothing, so a
        // child exec'd between here and an fcntl would inherit the port;
        // the listener creates its port before any thread could fork.
        let flags = fcntl_getfd(&fd)?;
        fcntl_setfd(&fd, flags | FdFlags::CLOEXEC)?;
        Ok(SysPort { fd })
    }
}

impl Port for SysPort {
    fn associate(&self, fd: RawFd, events: i16, user: usize) -> Result<(), Errno> {
        let events = PollFlags::from_bits_retain(events);
        #[allow(unsafe_code)]
        // SAFETY: rustix asks that the object stay valid while associated
        // and that the user pointer be whatever we can live with being handed
        // back. The user data is an integer token, never dereferenced by the
        // port or by us. `fd` is the caller's, deleted before it is closed
        // (the caller contract); a fd closed anyway is dissociated by the
        // kernel, and an fd number that is not open gets EBADFD.
        unsafe {
            port::associate_fd(&self.fd, fd, events, ptr::without_provenance_mut(user))
        }
    }

    fn dissociate(&self, fd: RawFd) -> Result<(), Errno> {
        #[allow(unsafe_code)]
        // SAFETY: dissociating touches no memory of ours; an fd that is not
        // associated gets ENOENT, one that is not open EBADFD.
        unsafe {
            port::dissociate_fd(&self.fd, fd)
        }
    }

    fn getn(&self, buffer: &mut [PortEvent], min_events: u32, timeout: Option<Duration>) -> Got {
        // libc, not rustix's getn: on ETIME the kernel still hands back the
        // events that raced the timer, counted in nget, and rustix drops
        // that count (see crate::port::settle).
        let mut nget: libc::c_uint = min_events;
        let max = libc::c_uint::try_from(buffer.len()).unwrap_or(libc::c_uint::MAX);
        // The seconds fit any time_t: timeouts are clamped to about 24.8
        // days. The nanoseconds are below 10^9, which fits any c_long.
        let mut timespec = timeout.map(|t| libc::timespec {
            tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let timespec_ptr = timespec.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        #[allow(unsafe_code)]
        // SAFETY: PortEvent has port_event_t's layout (checked at compile
        // time in crate::event), and `buffer` has room for `max` of them;
        // `nget` and the timespec live on our stack for the whole call.
        let ret = unsafe {
            libc::port_getn(
                self.fd.as_raw_fd(),
                buffer.as_mut_ptr().cast::<libc::port_event>(),
                max,
                &mut nget,
                timespec_ptr,
            )
        };
        let error = (ret != 0).then(|| {
            Errno::from_raw_os_error(
                io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO),
            )
        });
        Got {
            retrieved: usize::try_from(nget).unwrap_or(0),
            error,
        }
    }

    fn send(&self, events: i16, user: usize) -> Result<(), Errno> {
        port::send(
            &self.fd,
            i32::from(events),
            ptr::without_provenance_mut(user),
        )
    }
}

/// An event port with oneshot registrations, emulated level-triggered
/// listeners and a built-in waker.
///
/// Close-on-exec, so CGI-like children never inherit it. See the crate docs
/// for the caller contract and for how event ports differ from epoll.
#[derive(Debug)]
#[doc(alias = "apr_pollset_t")]
#[doc(alias = "port_create")]
pub struct Poller {
    driver: Driver<SysPort>,
}

impl Poller {
    /// A new event port; its wake-ups are reported under
    /// [`WAKE_TOKEN`](crate::WAKE_TOKEN).
    pub fn new() -> io::Result<Self> {
        Ok(Poller {
            driver: Driver::new(SysPort::new()?),
        })
    }

    /// Associates `fd` for one event of `interest`, reported with `token`.
    ///
    /// After that event the port has dissociated `fd` until
    /// [`rearm`](Poller::rearm). Unlike epoll, adding a fd twice is not
    /// refused: the second call just re-arms it. `token` may not be
    /// [`WAKE_TOKEN`](crate::WAKE_TOKEN) and must fit in a pointer.
    #[doc(alias = "port_associate")]
    pub fn add(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        self.driver.associate(fd.as_raw_fd(), token, interest)
    }

    /// Arms `fd` for one more event, of `interest`, reported with `token`
    /// (which may differ from the previous one).
    ///
    /// Also replaces an armed association that has not fired, and drops an
    /// event it queued that no wait has retrieved yet. A fd that is ready
    /// already fires at once. Unlike epoll, a fd never added is not refused.
    #[doc(alias = "port_associate")]
    pub fn rearm(&self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> io::Result<()> {
        self.driver.associate(fd.as_raw_fd(), token, interest)
    }

    /// Registers a listening socket: reported with `token` whenever a
    /// connection is pending, without re-arming.
    ///
    /// The poller re-associates the socket inside [`wait`](Poller::wait)
    /// after each of its events, so one stale report can follow the last
    /// accept of a burst. To stop accepting, [`delete`](Poller::delete) the
    /// listener; to resume, add it again. At most 128 listeners per poller.
    pub fn add_listener(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        self.driver.add_listener(fd.as_raw_fd(), token)
    }

    /// Removes `fd`'s association, armed or not, connection or listener, and
    /// any event it queued that no wait has retrieved yet.
    ///
    /// Call it before closing `fd`. An fd that is not associated (which
    /// includes one whose event was retrieved and not re-armed) is not an
    /// error.
    #[doc(alias = "port_dissociate")]
    pub fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.driver.delete(fd.as_raw_fd())
    }

    /// Waits for events and fills `events` with up to its capacity of them.
    ///
    /// `timeout`: `None` waits until an event or a wake-up; `Some(ZERO)`
    /// only polls; any other value is rounded up to whole milliseconds so
    /// the wait never returns before it has elapsed (it may return later,
    /// and waits beyond about 24.8 days return `Ok(0)` early). A signal
    /// returns `Ok(0)`. A wake-up is reported as an event with
    /// [`WAKE_TOKEN`](crate::WAKE_TOKEN).
    ///
    /// Returns how many events `events` now holds. One thread waits at a
    /// time.
    #[doc(alias = "port_getn")]
    #[doc(alias = "apr_pollset_poll")]
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        self.driver.wait(events, timeout)
    }

    /// A handle that wakes this poller from any thread.
    pub fn waker(&self) -> Waker {
        Waker {
            shared: Arc::clone(self.driver.shared()),
        }
    }
}

/// A handle that wakes the [`Poller`] it came from.
///
/// Cheap to clone (one reference count), `Send` and `Sync`. Wake-ups
/// coalesce: any number of [`wake`](Waker::wake) calls between two waits
/// cost one `port_send` and produce one
/// [`WAKE_TOKEN`](crate::WAKE_TOKEN) event. The pattern is: push work onto
/// a queue the listener reads, then `wake()`; the listener, after every wait
/// that reports `WAKE_TOKEN`, empties that queue.
#[derive(Debug, Clone)]
#[doc(alias = "port_send")]
pub struct Waker {
    shared: Arc<Shared<SysPort>>,
}

impl Waker {
    /// Makes the poller's current or next wait return with a
    /// [`WAKE_TOKEN`](crate::WAKE_TOKEN) event, unless a wake-up is already
    /// pending (then this is one atomic swap and no system call).
    ///
    /// Work pushed before this call is visible to the listener when it
    /// handles that event. An error means this wake-up reached nobody and
    /// the listener may sleep through it and every later one: fatal for the
    /// process, which must reach the listener some other way and stop
    /// (eventmpm's worker stops its child gracefully, waking the listener
    /// through the signal pipe). Unlike a full eventfd or pipe, `EAGAIN` is
    /// such an error: the port has `process.max-port-events` events
    /// allocated, which counts every association, so it may hold nothing the
    /// wait would return.
    #[doc(alias = "apr_pollset_wakeup")]
    pub fn wake(&self) -> io::Result<()> {
        self.shared.wake()
    }
}
