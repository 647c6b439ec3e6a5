//! The one place the runtime names an operating system: it picks the OS crate whose poller,
//! waker, accept, sendfile and accept filter the rest of `src/` uses, and the few socket flags
//! that differ between systems.

use std::io;
use std::os::fd::AsFd;

cfg_if::cfg_if! {
    if #[cfg(any(target_os = "linux", target_os = "android"))] {
        pub use eventmpm_os_linux::{
            Accepted, Event, Events, Interest, Poller, WAKE_TOKEN, Waker, accept, sendfile,
            set_defer_accept,
        };
        use rustix::net::SendFlags;
        /// `send` flags: never raise SIGPIPE; say more follows when it does (a response head
        /// followed by sendfile then leaves in full segments).
        fn send_flags(more: bool) -> SendFlags {
            if more { SendFlags::NOSIGNAL | SendFlags::MORE } else { SendFlags::NOSIGNAL }
        }
    } else {
        compile_error!("eventmpm has no OS layer for this target yet (kqueue and event ports are issue 5)");
    }
}

/// Allow core dumps after a change of user (httpd's CoreDumpDirectory; Linux clears the flag on
/// setuid).
pub fn set_dumpable() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: prctl with these arguments only changes this process's dumpable flag.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
}

/// Ask the kernel to send `sig` to this process when its parent dies, so children never outlive
/// a parent that was killed outright (elsewhere children notice on their next maintenance).
pub fn die_with_parent(sig: libc::c_int) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: prctl with these arguments only sets this process's parent-death signal.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0);
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
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let rel = if rel.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        rel
    };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::ResolveFlags;
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
/// map). Declared here: libc lacks the binding on some targets; it is POSIX everywhere, and
/// `PTHREAD_PROCESS_SHARED` is 1 on every system eventmpm targets.
///
/// # Safety
/// `attr` must be an initialised mutex attribute object.
pub unsafe fn mutexattr_set_shared(attr: *mut libc::pthread_mutexattr_t) -> io::Result<()> {
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

    const IPC_PRIVATE: libc::key_t = 0;
    const IPC_CREAT: libc::c_int = 0o1000;
    const SEM_UNDO: libc::c_short = 0o10000;
    #[cfg(any(target_os = "illumos", target_os = "solaris"))]
    const IPC_RMID: libc::c_int = 10;
    #[cfg(not(any(target_os = "illumos", target_os = "solaris")))]
    const IPC_RMID: libc::c_int = 0;
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
        // SAFETY: SETVAL takes the value as the variadic `union semun`, whose int member is
        // passed as an int.
        let r = check(unsafe { semctl(id, 0, SETVAL, 1 as libc::c_int) })
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
            check(semctl(
                id,
                0,
                libc::IPC_STAT,
                &mut ds as *mut libc::semid_ds,
            ))?;
            ds.sem_perm.uid = uid;
            ds.sem_perm.gid = gid;
            ds.sem_perm.mode = 0o600;
            check(semctl(id, 0, libc::IPC_SET, &mut ds as *mut libc::semid_ds))?;
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

    /// Remove the set (processes still using it get EIDRM).
    pub fn remove(id: libc::c_int) {
        // SAFETY: no pointers involved.
        unsafe {
            semctl(id, 0, IPC_RMID);
        }
    }
}
