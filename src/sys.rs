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

/// The accept mutex `Mutex default` means here: APR's build-time default, which httpd -V shows
/// as `APR_USE_*_SERIALIZE`. Linux has process-shared robust pthread mutexes, which APR prefers
/// (`-D APR_USE_PROC_PTHREAD_SERIALIZE`, "Accept mutex: … (default: pthread)").
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const DEFAULT_ACCEPT_MUTEX: eventmpm_core::config::MutexMechanism =
    eventmpm_core::config::MutexMechanism::Pthread;

/// Make a process-shared pthread mutex robust: if its holder dies, the next locker gets it
/// (with `EOWNERDEAD`) instead of waiting for ever.
///
/// # Safety
/// `attr` must be an initialised mutex attribute object.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub unsafe fn mutexattr_set_robust(attr: *mut libc::pthread_mutexattr_t) -> io::Result<()> {
    // SAFETY: the caller passes an initialised attribute object.
    match unsafe { libc::pthread_mutexattr_setrobust(attr, libc::PTHREAD_MUTEX_ROBUST) } {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// Mark a robust mutex whose previous holder died as consistent again (the caller holds it).
///
/// # Safety
/// `m` must be an initialised robust mutex the calling thread holds after `EOWNERDEAD`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub unsafe fn mutex_consistent(m: *mut libc::pthread_mutex_t) -> io::Result<()> {
    // SAFETY: as the caller promises.
    match unsafe { libc::pthread_mutex_consistent(m) } {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}
