//! The one place the runtime names an operating system: it picks the OS crate whose poller,
//! waker, accept, sendfile and accept filter the rest of `src/` uses, and wraps every other call
//! whose name, existence or layout differs between systems (errno, thread ids, parent-death
//! signals, `openat2`, the local time zone), each with a portable fallback.
//!
//! OS families: Linux and Android (epoll, `eventmpm-os-linux`); FreeBSD, NetBSD, OpenBSD,
//! DragonFly and macOS (kqueue, `eventmpm-os-bsd`); illumos and Solaris (event ports,
//! `eventmpm-os-solaris`).

use std::io;
use std::os::fd::{AsFd, OwnedFd};

mod cpu;
pub use cpu::{CpuTime, children_cpu, clock_ticks, process_cpu, thread_cpu};

cfg_if::cfg_if! {
    if #[cfg(any(target_os = "linux", target_os = "android"))] {
        pub use eventmpm_os_linux::{
            Accepted, EDGE_TRIGGERED, Event, Events, Interest, Poller, WAKE_TOKEN, Waker, accept,
            sendfile, set_defer_accept,
        };

        /// Register a connection once, for both directions, edge-triggered
        /// ([`Poller::add_edge`]).
        pub fn add_edge(poller: &Poller, fd: std::os::fd::BorrowedFd<'_>, token: u64) -> io::Result<()> {
            poller.add_edge(fd, token)
        }
    } else if #[cfg(any(
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "macos",
    ))] {
        pub use eventmpm_os_bsd::{
            Accepted, Event, Events, Interest, Poller, WAKE_TOKEN, Waker, accept, sendfile,
            set_defer_accept,
        };

        /// Whether connections are registered once, edge-triggered: not with this backend
        /// (each wait arms a oneshot registration).
        pub const EDGE_TRIGGERED: bool = false;

        /// Not offered by this backend ([`EDGE_TRIGGERED`] is `false`, so never called).
        pub fn add_edge(_: &Poller, _: std::os::fd::BorrowedFd<'_>, _: u64) -> io::Result<()> {
            Err(io::ErrorKind::Unsupported.into())
        }
    } else if #[cfg(any(target_os = "illumos", target_os = "solaris"))] {
        pub use eventmpm_os_solaris::{
            Accepted, Event, Events, Interest, Poller, WAKE_TOKEN, Waker, accept, sendfile,
            set_defer_accept,
        };

        /// Whether connections are registered once, edge-triggered: not with this backend
        /// (each wait arms a oneshot registration).
        pub const EDGE_TRIGGERED: bool = false;

        /// Not offered by this backend ([`EDGE_TRIGGERED`] is `false`, so never called).
        pub fn add_edge(_: &Poller, _: std::os::fd::BorrowedFd<'_>, _: u64) -> io::Result<()> {
            Err(io::ErrorKind::Unsupported.into())
        }
    } else {
        compile_error!(
            "eventmpm has no OS layer for this target: it needs epoll (Linux), kqueue (BSD, macOS) \
             or event ports (illumos, Solaris)"
        );
    }
}

/// `send` flags: never raise SIGPIPE (where the system has a flag for it; SIGPIPE is ignored
/// process-wide anyway); on Linux, say more follows when it does, so a response head followed
/// by sendfile leaves in full segments.
fn send_flags(more: bool) -> rustix::net::SendFlags {
    use rustix::net::SendFlags;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if more {
        return SendFlags::NOSIGNAL | SendFlags::MORE;
    }
    let _ = more;
    cfg_if::cfg_if! {
        if #[cfg(target_vendor = "apple")] {
            SendFlags::empty()
        } else {
            SendFlags::NOSIGNAL
        }
    }
}

/// The calling thread's errno (read and restored by the signal handler, which must not clobber
/// the value seen by the code it interrupted). Async-signal-safe.
fn errno_location() -> *mut libc::c_int {
    // SAFETY: each of these returns the address of the calling thread's errno and has no
    // preconditions.
    unsafe {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "dragonfly"))] {
                libc::__errno_location()
            } else if #[cfg(any(target_os = "android", target_os = "netbsd", target_os = "openbsd"))] {
                libc::__errno()
            } else if #[cfg(any(target_os = "freebsd", target_vendor = "apple"))] {
                libc::__error()
            } else if #[cfg(any(target_os = "illumos", target_os = "solaris"))] {
                libc::___errno()
            }
        }
    }
}

/// CLOCK_MONOTONIC, the clock std's `Instant` reads too (and every process reads the same).
pub fn monotonic() -> std::time::Duration {
    clock(libc::CLOCK_MONOTONIC)
}

/// The monotonic clock at a tick's precision (a few milliseconds), for timestamps that only
/// need it: where the system has a coarse clock (Linux's `CLOCK_MONOTONIC_COARSE`) reading it
/// costs a memory load, not a timer read — it is read for every buffer given back.
pub fn coarse_monotonic() -> std::time::Duration {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let id = libc::CLOCK_MONOTONIC_COARSE;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let id = libc::CLOCK_MONOTONIC;
    clock(id)
}

/// `clock_gettime(id)` through the C library (its vDSO path), not rustix's own: rustix's vDSO
/// lookup faults under valgrind, and callgrind is how instructions per request are counted.
fn clock(id: libc::clockid_t) -> std::time::Duration {
    // SAFETY: clock_gettime writes one timespec, which all-zero bytes already are (zeroed, not a
    // literal: some 32-bit targets' timespec has padding fields); the clocks named exist on
    // every supported system.
    let t = unsafe {
        let mut t: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(id, &mut t);
        t
    };
    std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The calling thread's errno. Async-signal-safe.
pub fn errno() -> libc::c_int {
    // SAFETY: the pointer is the calling thread's errno, valid for the thread's lifetime.
    unsafe { *errno_location() }
}

/// Set the calling thread's errno. Async-signal-safe.
pub fn set_errno(value: libc::c_int) {
    // SAFETY: as in `errno`.
    unsafe { *errno_location() = value }
}

/// The calling thread's id as the system shows it (`ps -L`, `top -H`, httpd's `[tid N]` in the
/// error log), or where the system has no such number, a small id unique in this process.
pub fn thread_id() -> u64 {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            // SAFETY: gettid has no preconditions.
            unsafe { libc::gettid() as u64 }
        } else if #[cfg(target_os = "freebsd")] {
            // SAFETY: no preconditions.
            unsafe { libc::pthread_getthreadid_np() as u64 }
        } else if #[cfg(target_os = "netbsd")] {
            // SAFETY: no preconditions.
            unsafe { libc::_lwp_self() as u64 }
        } else if #[cfg(target_os = "openbsd")] {
            // SAFETY: no preconditions.
            unsafe { libc::getthrid() as u64 }
        } else if #[cfg(any(target_os = "illumos", target_os = "solaris"))] {
            // pthread_t is the thread's small integer id there (the LWP id in the 1:1 model).
            // SAFETY: no preconditions.
            unsafe { libc::pthread_self() as u64 }
        } else if #[cfg(target_vendor = "apple")] {
            let mut id = 0u64;
            // SAFETY: a null thread means the calling thread; `id` is a valid out-parameter.
            unsafe { libc::pthread_threadid_np(0 as libc::pthread_t, &mut id) };
            id
        } else {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(1);
            std::thread_local!(static ID: u32 = NEXT.fetch_add(1, Ordering::Relaxed));
            ID.with(|id| u64::from(*id))
        }
    }
}

/// Open a handle on the directory `path` for `open_beneath` (`O_PATH` where the system has it:
/// no read permission needed), close-on-exec.
pub fn open_dir(path: &std::path::Path) -> io::Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
            let access = OFlags::PATH;
        } else {
            let access = OFlags::RDONLY;
        }
    }
    Ok(rustix::fs::open(
        path,
        access | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// A pipe whose ends are non-blocking and close-on-exec (`pipe2`; macOS has no `pipe2`, so
/// the flags are set right after, which is fine before any `fork`).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    cfg_if::cfg_if! {
        if #[cfg(target_vendor = "apple")] {
            let (read, write) = rustix::pipe::pipe()?;
            set_nonblocking_cloexec(&read)?;
            set_nonblocking_cloexec(&write)?;
            Ok((read, write))
        } else {
            use rustix::pipe::PipeFlags;
            Ok(rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?)
        }
    }
}

/// A stream socket that is non-blocking and close-on-exec (`SOCK_NONBLOCK | SOCK_CLOEXEC`;
/// macOS has neither flag, so they are set right after).
pub fn stream_socket(family: rustix::net::AddressFamily) -> io::Result<OwnedFd> {
    use rustix::net::{SocketFlags, SocketType};
    cfg_if::cfg_if! {
        if #[cfg(target_vendor = "apple")] {
            let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::empty(), None)?;
            set_nonblocking_cloexec(&fd)?;
            Ok(fd)
        } else {
            Ok(rustix::net::socket_with(
                family,
                SocketType::STREAM,
                SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
                None,
            )?)
        }
    }
}

#[cfg(target_vendor = "apple")]
fn set_nonblocking_cloexec(fd: &impl AsFd) -> io::Result<()> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    use rustix::io::{FdFlags, fcntl_setfd};
    fcntl_setfd(fd, FdFlags::CLOEXEC)?;
    fcntl_setfl(fd, fcntl_getfl(fd)? | OFlags::NONBLOCK)?;
    Ok(())
}

/// The local zone's offset from UTC in seconds at `secs` (Unix time), or `None` if the system
/// cannot convert it.
pub fn utc_offset(secs: i64) -> Option<i64> {
    let tm = localtime(secs)?;
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "illumos", target_os = "solaris"))] {
            // No tm_gmtoff there: the offset is local calendar time minus UTC.
            Some(tm_as_utc_secs(&tm) - secs)
        } else {
            #[allow(clippy::unnecessary_cast)] // c_long: 32 bits on 32-bit targets
            let offset = tm.tm_gmtoff as i64;
            Some(offset)
        }
    }
}

/// The local zone's offset from UTC in seconds at `secs` and its abbreviation (`CET`, `UTC`,
/// strftime's `%Z`), or `None` if the system cannot convert it.
pub fn local_zone(secs: i64) -> Option<(i64, String)> {
    let tm = localtime(secs)?;
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "illumos", target_os = "solaris"))] {
            let offset = tm_as_utc_secs(&tm) - secs;
            let mut buf = [0u8; 64];
            // SAFETY: the buffer and its length match; the format is NUL-terminated; `tm` was
            // filled by localtime_r.
            let n = unsafe {
                libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%Z".as_ptr(), &tm)
            };
            let zone = String::from_utf8_lossy(&buf[..n]).into_owned();
        } else {
            #[allow(clippy::unnecessary_cast)] // c_long: 32 bits on 32-bit targets
            let offset = tm.tm_gmtoff as i64;
            let zone = if tm.tm_zone.is_null() {
                String::new()
            } else {
                // SAFETY: tm_zone points at a NUL-terminated string in static storage owned by
                // libc.
                unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
                    .to_string_lossy()
                    .into_owned()
            };
        }
    }
    Some((offset, zone))
}

fn localtime(secs: i64) -> Option<libc::tm> {
    // time_t: 32 bits on some targets; inferred, not named, because 32-bit musl deprecates the
    // name ahead of its 64-bit change.
    #[allow(clippy::useless_conversion)]
    let t = secs.try_into().ok()?;
    // SAFETY: localtime_r only writes the `tm` we pass; a zeroed tm is a valid out-parameter,
    // and both pointers are valid for the call's duration.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        (!libc::localtime_r(&t, &mut tm).is_null()).then_some(tm)
    }
}

/// `tm`'s calendar fields read as a UTC time (`timegm`, which not every system has).
#[cfg_attr(
    not(any(target_os = "illumos", target_os = "solaris")),
    allow(dead_code)
)]
fn tm_as_utc_secs(tm: &libc::tm) -> i64 {
    // Days from 1970-01-01 to the civil date (Howard Hinnant's days_from_civil).
    let (y, m, d) = (
        i64::from(tm.tm_year) + 1900,
        i64::from(tm.tm_mon) + 1,
        i64::from(tm.tm_mday),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(tm.tm_hour) * 3600 + i64::from(tm.tm_min) * 60 + i64::from(tm.tm_sec)
}

/// Allow core dumps after a change of user (httpd's CoreDumpDirectory; Linux clears the flag on
/// setuid). Elsewhere nothing to do here: the BSDs and illumos govern set-id core dumps with a
/// system setting (`kern.sugid_coredump`, `coreadm`).
pub fn set_dumpable() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: prctl with these arguments only changes this process's dumpable flag.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
}

/// Ask the kernel to send `sig` to this process when its parent dies, so children never outlive
/// a parent that was killed outright (Linux's `PR_SET_PDEATHSIG`, FreeBSD's and DragonFly's
/// `PROC_PDEATHSIG_CTL`). Elsewhere this does nothing, and children notice on their next
/// maintenance that their parent is gone.
pub fn die_with_parent(sig: libc::c_int) {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            // SAFETY: prctl with these arguments only sets this process's parent-death signal.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0);
            }
        } else if #[cfg(any(target_os = "freebsd", target_os = "dragonfly"))] {
            let mut sig = sig;
            // SAFETY: procctl reads one int through the pointer, which is valid for the call.
            unsafe {
                libc::procctl(
                    libc::P_PID,
                    0,
                    libc::PROC_PDEATHSIG_CTL,
                    (&mut sig as *mut libc::c_int).cast(),
                );
            }
        } else {
            let _ = sig;
        }
    }
}

/// Fill `buf` from `file` at `offset` only if that needs no disk I/O: the bytes are all in the
/// page cache. `Err(WouldBlock)` otherwise — a thread that must never block (the listener) then
/// hands the request to a worker. Linux: `preadv2(RWF_NOWAIT)` (4.14+); a kernel or file system
/// without it answers `EOPNOTSUPP`, reported as `WouldBlock` too. Other systems have no such
/// read (FreeBSD's `SF_NODISKIO` is for sendfile only): always `WouldBlock`.
#[doc(alias = "RWF_NOWAIT")]
pub fn read_cached(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    cfg_if::cfg_if! {
        if #[cfg(all(target_os = "linux", not(target_os = "android")))] {
            use rustix::io::{Errno, ReadWriteFlags, preadv2};
            let mut done = 0;
            // Bounded: each round reads at least one byte or ends.
            while done < buf.len() {
                let mut bufs = [io::IoSliceMut::new(&mut buf[done..])];
                match preadv2(file, &mut bufs, offset + done as u64, ReadWriteFlags::NOWAIT) {
                    Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => done += n,
                    Err(Errno::INTR) => {}
                    Err(Errno::AGAIN | Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => {
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        } else {
            let _ = (file, buf, offset);
            Err(io::ErrorKind::WouldBlock.into())
        }
    }
}

/// Send `buf` on a socket without raising SIGPIPE; `more` hints that more data follows at once.
pub fn send(sock: &impl AsFd, buf: &[u8], more: bool) -> io::Result<usize> {
    Ok(rustix::net::send(sock, buf, send_flags(more))?)
}

/// Open `rel` (a normalised path relative to the document root, no `..`, no leading `/`) for
/// reading, refusing anything that resolves outside `root`: a symbolic link pointing out of the
/// tree fails with `PermissionDenied`, and so does any link at all when `follow_symlinks` is
/// off. FIFOs and devices never block the caller: the file is opened non-blocking.
pub fn open_beneath(
    root: &impl AsFd,
    root_path: &std::path::Path,
    rel: &std::path::Path,
    follow_symlinks: bool,
) -> io::Result<std::fs::File> {
    use rustix::fs::OFlags;
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let rel = if rel.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        rel
    };
    // Linux: openat2 resolves the path beneath `root` in the kernel, with no window for a link
    // swapped in between a check and the open. Elsewhere only the portable check below runs.
    // (FreeBSD 13+ has O_RESOLVE_BENEATH, which could play the same part.)
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = root;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{Mode, ResolveFlags};
        let mut resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        if !follow_symlinks {
            resolve |= ResolveFlags::NO_SYMLINKS;
        }
        match rustix::fs::openat2(root, rel, flags, Mode::empty(), resolve) {
            Ok(fd) => return Ok(fd.into()),
            // EXDEV: the path escapes the root — or crosses an absolute symbolic link, which
            // BENEATH refuses even when it points inside. Resolve the path; if it lands inside,
            // open the resolved path with no link allowed on the way, so a link swapped in
            // after the check cannot lead out.
            Err(e) if e == rustix::io::Errno::XDEV && follow_symlinks => {
                let denied =
                    || io::Error::new(io::ErrorKind::PermissionDenied, "outside the document root");
                let real = root_path.join(rel).canonicalize()?;
                let inside = real.strip_prefix(root_path).map_err(|_| denied())?;
                let inside = if inside.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    inside
                };
                let no_links = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS;
                return rustix::fs::openat2(root, inside, flags, Mode::empty(), no_links)
                    .map(Into::into)
                    .map_err(|_| denied());
            }
            // EXDEV without links allowed, or ELOOP: a link where none may be followed.
            Err(e) if e == rustix::io::Errno::XDEV || e == rustix::io::Errno::LOOP => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "outside the document root",
                ));
            }
            // Kernels before 5.6 (or a seccomp filter) lack openat2: use the portable check.
            Err(e) if e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::PERM => {}
            Err(e) => return Err(e.into()),
        }
    }
    open_beneath_portable(root_path, rel, follow_symlinks, flags)
}

/// The portable check: resolve the path and compare it with the root. Racy against someone
/// swapping a directory for a link between the check and the open; openat2 has no such window.
fn open_beneath_portable(
    root_path: &std::path::Path,
    rel: &std::path::Path,
    follow_symlinks: bool,
    flags: rustix::fs::OFlags,
) -> io::Result<std::fs::File> {
    let full = root_path.join(rel);
    if !follow_symlinks {
        let mut p = root_path.to_path_buf();
        for c in rel.components() {
            p.push(c);
            if std::fs::symlink_metadata(&p)?.file_type().is_symlink() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "symbolic link",
                ));
            }
        }
    }
    let real = full.canonicalize()?;
    if !real.starts_with(root_path) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "outside the document root",
        ));
    }
    Ok(rustix::fs::open(&real, flags, rustix::fs::Mode::empty())?.into())
}

/// The poll(2) event that reports the peer closing its side of a connection while data may still
/// be unread (Linux's `POLLRDHUP`; elsewhere only `POLLHUP` reports a full close).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const POLL_PEER_CLOSED: libc::c_short = libc::POLLRDHUP;
/// See the Linux definition: without it, a close is seen when a write fails or on `POLLHUP`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const POLL_PEER_CLOSED: libc::c_short = 0;

/// In a process forked to run a program (a CGI script), just before exec: every signal back to
/// its default disposition, every descriptor above stderr closed on exec, and SIGTERM when the
/// forking server process dies. Only async-signal-safe calls.
pub fn prepare_exec() {
    // SAFETY: sigaction with SIG_DFL and prctl/close_range on this process only; all are
    // async-signal-safe system calls, valid between fork and exec.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut sa.sa_mask);
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::sigaction(sig, &sa, std::ptr::null_mut());
            }
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // CLOSE_RANGE_CLOEXEC (kernel 5.11): everything we open is close-on-exec already;
            // this covers a descriptor some library opened without the flag.
            const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC);
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            );
        }
    }
}

/// The accept mutex `Mutex default` means here: APR's build-time default, which httpd -V shows
/// as `APR_USE_*_SERIALIZE`. Where process-shared robust pthread mutexes exist APR prefers them
/// (Linux: `-D APR_USE_PROC_PTHREAD_SERIALIZE`, "Accept mutex: … (default: pthread)"); elsewhere
/// its configure settles on System V semaphores, the last of its sysvsem → fcntl → flock choices.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub const DEFAULT_ACCEPT_MUTEX: eventmpm_core::config::MutexMechanism =
    eventmpm_core::config::MutexMechanism::Pthread;
/// See the other definition.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub const DEFAULT_ACCEPT_MUTEX: eventmpm_core::config::MutexMechanism =
    eventmpm_core::config::MutexMechanism::SysvSem;

/// Make a pthread mutex attribute process-shared (the mutex may live in memory several processes
/// map). Declared here: libc lacks the binding on some targets; it is POSIX everywhere it
/// exists, and `PTHREAD_PROCESS_SHARED` is 1 on every system eventmpm targets. NetBSD and OpenBSD
/// have no process-shared mutexes (their libpthread lacks the call): there `Mutex pthread` is
/// refused with a clear error, as APR leaves that mechanism out on those systems.
///
/// # Safety
/// `attr` must be an initialised mutex attribute object.
pub unsafe fn mutexattr_set_shared(attr: *mut libc::pthread_mutexattr_t) -> io::Result<()> {
    #[cfg(not(any(target_os = "netbsd", target_os = "openbsd")))]
    {
        unsafe extern "C" {
            fn pthread_mutexattr_setpshared(
                attr: *mut libc::pthread_mutexattr_t,
                shared: libc::c_int,
            ) -> libc::c_int;
        }
        // SAFETY: the caller passes an initialised attribute object.
        match unsafe { pthread_mutexattr_setpshared(attr, 1) } {
            0 => Ok(()),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }
    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    {
        let _ = attr;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "Mutex pthread: this system has no process-shared mutexes; \
             use sysvsem (the default here), fcntl, flock or posixsem",
        ))
    }
}

/// Make a process-shared pthread mutex robust: if its holder dies, the next locker gets it
/// (with `EOWNERDEAD`) instead of waiting for ever. A no-op where robust mutexes do not exist
/// (there a child killed while holding the accept mutex blocks the others, as with APR).
///
/// # Safety
/// `attr` must be an initialised mutex attribute object.
pub unsafe fn mutexattr_set_robust(attr: *mut libc::pthread_mutexattr_t) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    // SAFETY: the caller passes an initialised attribute object.
    match unsafe { libc::pthread_mutexattr_setrobust(attr, libc::PTHREAD_MUTEX_ROBUST) } {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    {
        let _ = attr;
        Ok(())
    }
}

/// Mark a robust mutex whose previous holder died as consistent again (the caller holds it).
///
/// # Safety
/// `m` must be an initialised robust mutex the calling thread holds after `EOWNERDEAD`.
pub unsafe fn mutex_consistent(m: *mut libc::pthread_mutex_t) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    // SAFETY: as the caller promises.
    match unsafe { libc::pthread_mutex_consistent(m) } {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    {
        let _ = m;
        Ok(())
    }
}

/// `flock(2)` on `fd`: take the exclusive lock (waiting; a signal interrupts the wait with
/// [`io::ErrorKind::Interrupted`]) or release it. Solaris has no flock (illumos does); there, as
/// with APR on Solaris, the `flock` mechanism is unavailable and this says so.
pub fn flock(fd: std::os::fd::BorrowedFd<'_>, exclusive: bool) -> io::Result<()> {
    #[cfg(not(target_os = "solaris"))]
    {
        use std::os::fd::AsRawFd;
        let op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_UN
        };
        // SAFETY: flock on a descriptor the caller borrows for the call.
        if unsafe { libc::flock(fd.as_raw_fd(), op) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(target_os = "solaris")]
    {
        let _ = (fd, exclusive);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "Mutex flock: Solaris has no flock(2); use fcntl, sysvsem, posixsem or pthread",
        ))
    }
}

/// System V semaphores, for the accept mutex's `sysvsem` mechanism. Declared here rather than
/// taken from libc, which lacks them (or their constants) on some targets; the XSI functions
/// have the same signatures everywhere, the constants differ.
pub mod sysv_sem {
    use std::io;

    #[repr(C)]
    struct SemBuf {
        num: libc::c_ushort,
        op: libc::c_short,
        flg: libc::c_short,
    }

    unsafe extern "C" {
        fn semget(key: libc::key_t, nsems: libc::c_int, flags: libc::c_int) -> libc::c_int;
        fn semop(id: libc::c_int, sops: *mut SemBuf, nsops: libc::size_t) -> libc::c_int;
        fn semctl(id: libc::c_int, num: libc::c_int, cmd: libc::c_int, ...) -> libc::c_int;
    }

    /// `semctl`'s fourth argument, `union semun` (which the caller must define, POSIX says), by
    /// value through the variadic list, as C passes it. An `int` passed in its place fills the
    /// wrong half of a 64-bit argument slot on big-endian 64-bit machines (s390x, ppc64,
    /// sparc64): `SETVAL` read 0 there, and the first lock of `Mutex sysvsem` waited forever.
    #[repr(C)]
    #[derive(Clone, Copy)]
    union Semun {
        val: libc::c_int,
        buf: *mut libc::c_void,
        array: *mut libc::c_ushort,
    }

    const IPC_PRIVATE: libc::key_t = 0;
    const IPC_CREAT: libc::c_int = 0o1000;
    const SEM_UNDO: libc::c_short = 0o10000;
    #[cfg(any(target_os = "illumos", target_os = "solaris"))]
    const IPC_RMID: libc::c_int = 10;
    #[cfg(not(any(target_os = "illumos", target_os = "solaris")))]
    const IPC_RMID: libc::c_int = 0;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const GETVAL: libc::c_int = 12;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const GETVAL: libc::c_int = 5;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const SETVAL: libc::c_int = 16;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const SETVAL: libc::c_int = 8;

    fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
        if rc == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    }

    /// A new private set of one semaphore, value 1, mode 0600, owned by `owner` (uid, gid) if
    /// given (the account children switch to).
    pub fn create(owner: Option<(u32, u32)>) -> io::Result<libc::c_int> {
        // SAFETY: semget with IPC_PRIVATE creates a new set; no pointers involved.
        let id = check(unsafe { semget(IPC_PRIVATE, 1, IPC_CREAT | 0o600) })?;
        // SAFETY: SETVAL reads the `val` member of the union passed; no pointers involved.
        let r = check(unsafe { semctl(id, 0, SETVAL, Semun { val: 1 }) })
            .and_then(|_| owner.map_or(Ok(()), |(uid, gid)| set_owner(id, uid, gid)));
        if let Err(e) = r {
            remove(id);
            return Err(e);
        }
        Ok(id)
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn set_owner(id: libc::c_int, uid: u32, gid: u32) -> io::Result<()> {
        // SAFETY: IPC_STAT fills the semid_ds we pass; IPC_SET reads it back.
        unsafe {
            let mut ds: libc::semid_ds = std::mem::zeroed();
            // A fresh pointer for each call: writing `ds` in between invalidates older ones.
            let arg = |ds: &mut libc::semid_ds| Semun {
                buf: (ds as *mut libc::semid_ds).cast(),
            };
            check(semctl(id, 0, libc::IPC_STAT, arg(&mut ds)))?;
            ds.sem_perm.uid = uid;
            ds.sem_perm.gid = gid;
            ds.sem_perm.mode = 0o600;
            check(semctl(id, 0, libc::IPC_SET, arg(&mut ds)))?;
        }
        Ok(())
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn set_owner(_id: libc::c_int, _uid: u32, _gid: u32) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "handing a System V semaphore to User is not implemented for this system",
        ))
    }

    /// Add `delta` to the semaphore (−1 waits until it can), undone by the kernel if the
    /// process dies. A signal interrupts a wait with `ErrorKind::Interrupted`.
    pub fn op(id: libc::c_int, delta: libc::c_short) -> io::Result<()> {
        let mut b = SemBuf {
            num: 0,
            op: delta,
            flg: SEM_UNDO,
        };
        // SAFETY: semop reads one SemBuf.
        check(unsafe { semop(id, &mut b, 1) }).map(drop)
    }

    /// The semaphore's value (`GETVAL`).
    pub fn value(id: libc::c_int) -> io::Result<libc::c_int> {
        // SAFETY: GETVAL reads no argument beyond the command.
        check(unsafe { semctl(id, 0, GETVAL) })
    }

    /// Remove the set (processes still using it get EIDRM).
    pub fn remove(id: libc::c_int) {
        // SAFETY: no pointers involved.
        unsafe {
            semctl(id, 0, IPC_RMID);
        }
    }
}

#[cfg(all(test, target_os = "linux", not(target_os = "android")))]
mod read_cached_tests {
    use super::*;

    /// A file just written is in the page cache: read without blocking, byte for byte; past
    /// its end is an error, not a short answer.
    #[test]
    fn a_cached_file_reads_without_blocking() {
        let dir = std::env::temp_dir().join(format!("eventmpm-read-cached-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let mut buf = vec![0u8; 4000];
        match read_cached(&file, &mut buf, 3000) {
            Ok(()) => assert_eq!(buf, data[3000..7000]),
            // A file system without RWF_NOWAIT (tmpfs before 6.x, overlay): the request would
            // go to a worker; nothing to check here.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => panic!("{e}"),
        }
        let mut tail = vec![0u8; 100];
        assert!(read_cached(&file, &mut tail, 9_950).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tm_as_utc_secs_inverts_gmtime() {
        for secs in [0i64, 951_782_400, 1_700_000_000, 4_102_444_800, -86_400] {
            // 32-bit time_t (i686, armv7, mips glibc) cannot hold every one of them.
            #[allow(clippy::useless_conversion)]
            let Some(t) = secs.try_into().ok() else {
                continue;
            };
            // SAFETY: as in `localtime`.
            let tm = unsafe {
                let mut tm: libc::tm = std::mem::zeroed();
                assert!(!libc::gmtime_r(&t, &mut tm).is_null());
                tm
            };
            assert_eq!(tm_as_utc_secs(&tm), secs, "{secs}");
        }
    }

    #[test]
    fn the_computed_offset_is_the_one_localtime_reports() {
        // The illumos/Solaris way (local calendar time minus UTC) checked against this host.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        for secs in [now, now - 182 * 86_400, 0] {
            let tm = localtime(secs).unwrap();
            let offset = utc_offset(secs).unwrap();
            assert_eq!(tm_as_utc_secs(&tm) - secs, offset);
            assert_eq!(local_zone(secs).unwrap().0, offset);
        }
    }

    #[test]
    fn thread_ids_differ_between_threads_and_stay_put_within_one() {
        let here = thread_id();
        assert_eq!(thread_id(), here);
        let there = std::thread::spawn(thread_id).join().unwrap();
        assert_ne!(there, here);
    }

    #[test]
    fn a_sysv_semaphore_starts_at_one_and_counts() {
        let id = sysv_sem::create(None).unwrap();
        let values = (|| -> io::Result<_> {
            let first = sysv_sem::value(id)?;
            // Taking a semaphore that starts at 0 would wait forever (the s390x bug).
            if first != 1 {
                return Ok(vec![first]);
            }
            sysv_sem::op(id, -1)?;
            let taken = sysv_sem::value(id)?;
            sysv_sem::op(id, 1)?;
            Ok(vec![first, taken, sysv_sem::value(id)?])
        })();
        sysv_sem::remove(id);
        assert_eq!(values.unwrap(), [1, 0, 1]);
    }

    #[test]
    fn errno_round_trips() {
        let saved = errno();
        set_errno(libc::EINTR);
        assert_eq!(errno(), libc::EINTR);
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EINTR));
        set_errno(saved);
    }
}
