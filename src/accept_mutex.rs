//! The worker MPM's accept mutex (httpd's `mpm-accept`, set with the `Mutex` directive): when a
//! child has several listening sockets it polls them all, and with several children polling the
//! same sockets every new connection would wake every child. The mutex lets one child at a time
//! poll and accept; the others wait on the lock, not on the sockets.
//!
//! As httpd (and APR) on Linux, the parent creates the mutex before it forks any child, and each
//! child attaches to it ([`AcceptMutex::child_init`]) before it drops privileges:
//!
//! | mechanism  | what it is                                   | lock file                        |
//! |------------|----------------------------------------------|----------------------------------|
//! | `fcntl`    | `F_SETLKW` write lock on an inherited file   | `DIR/mpm-accept-0.PID`, unlinked at once (the descriptor stays) |
//! | `flock`    | `flock(LOCK_EX)`; each child reopens the file | `DIR/mpm-accept-0.PID`, kept until the parent exits |
//! | `sysvsem`  | a System V semaphore, `SEM_UNDO`              | none (removed by the parent at exit) |
//! | `posixsem` | a named POSIX semaphore, unlinked at once     | none                             |
//! | `pthread`  | a process-shared, robust pthread mutex in shared memory | none                  |
//!
//! `default` is APR's build-time default, `pthread` on Linux (httpd -V shows
//! `-D APR_USE_PROC_PTHREAD_SERIALIZE`; see [`crate::sys::DEFAULT_ACCEPT_MUTEX`]). `DIR` is the
//! `Mutex` directive's directory, else DefaultRuntimeDir, itself `logs` under ServerRoot by
//! default (httpd's `DEFAULT_REL_RUNTIMEDIR`);
//! `OmitPID` drops the `.PID` suffix. The parent logs `AH00294: Accept mutex: fcntl (default:
//! pthread)` at debug level, as httpd.
//!
//! What survives a child killed while holding the lock: fcntl and flock locks die with their
//! holder, the System V semaphore is undone (`SEM_UNDO`), the pthread mutex is robust (the next
//! locker takes it over); a POSIX semaphore stays taken, which is why APR never makes it the
//! default.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eventmpm_core::config::{MutexMechanism, MutexSetting};

/// The mutex's name as httpd registers it (`AP_ACCEPT_MUTEX_TYPE`).
pub const TYPE: &str = "mpm-accept";

/// The directory lock files go to when the `Mutex` directive names none (httpd's
/// `DEFAULT_REL_RUNTIMEDIR`), relative to ServerRoot.
pub const DEFAULT_DIR: &str = "logs";

/// A mechanism's name as `apr_proc_mutex_name` prints it.
pub fn mechanism_name(m: MutexMechanism) -> &'static str {
    match m {
        MutexMechanism::Default => mechanism_name(crate::sys::DEFAULT_ACCEPT_MUTEX),
        MutexMechanism::Fcntl => "fcntl",
        MutexMechanism::Flock => "flock",
        MutexMechanism::SysvSem => "sysvsem",
        MutexMechanism::PosixSem => "posixsem",
        MutexMechanism::Pthread => "pthread",
    }
}

/// The lock itself.
#[derive(Debug)]
enum Lock {
    Fcntl(OwnedFd),
    /// The parent's descriptor; children open their own.
    Flock(OwnedFd),
    SysvSem(libc::c_int),
    PosixSem(*mut libc::sem_t),
    /// A mutex in a shared anonymous mapping of `size_of::<pthread_mutex_t>()` bytes.
    Pthread(*mut libc::pthread_mutex_t),
}

/// The accept mutex, as the parent created it.
#[derive(Debug)]
pub struct AcceptMutex {
    mechanism: MutexMechanism,
    lock: Lock,
    /// The lock file's path (fcntl: already unlinked; flock: removed on drop).
    path: Option<PathBuf>,
    /// The process that created it: only that one releases the system resources on drop
    /// (children share them and leave with `_exit`).
    creator: u32,
}

// SAFETY: the raw pointers name process-shared synchronisation objects (a POSIX semaphore and a
// pthread mutex in shared memory) that are designed to be used from any thread; they live as
// long as the AcceptMutex.
unsafe impl Send for AcceptMutex {}
// SAFETY: see Send; every operation on them is itself thread-safe.
unsafe impl Sync for AcceptMutex {}

/// `Err` with the last OS error if `rc` is -1.
fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// `Err` with `rc` as an errno if it is not zero (pthread functions return their error).
fn check_pthread(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a lock file path"))
}

impl AcceptMutex {
    /// Create the mutex for listener bucket `id` with `setting` (the `Mutex` directive's, see
    /// [`eventmpm_core::config::Mutexes::accept_mutex`]); `dir` is the lock directory already
    /// resolved against ServerRoot. `owner` (uid, gid): the account children switch to, who must
    /// be able to use the lock afterwards (httpd's `ap_unixd_set_proc_mutex_perms`).
    pub fn create(
        setting: &MutexSetting,
        dir: &Path,
        id: u32,
        owner: Option<(u32, u32)>,
    ) -> io::Result<AcceptMutex> {
        let mechanism = match setting.mechanism {
            MutexMechanism::Default => crate::sys::DEFAULT_ACCEPT_MUTEX,
            m => m,
        };
        let creator = std::process::id();
        let file = {
            let mut name = format!("{TYPE}-{id}");
            if !setting.omit_pid {
                name.push_str(&format!(".{creator}"));
            }
            dir.join(name)
        };
        let (lock, path) = match mechanism {
            MutexMechanism::Fcntl => (Lock::Fcntl(create_file(&file, true)?), Some(file)),
            MutexMechanism::Flock => {
                let fd = create_file(&file, false)?;
                // A probe (unlocking an unlocked file changes nothing): a system or file system
                // without flock (Solaris; some network file systems) fails at start, not at
                // the first accept.
                crate::sys::flock(fd.as_fd(), false)?;
                if let Some((uid, gid)) = owner {
                    // Children reopen the file after switching user only in theory (they attach
                    // before): httpd chowns it anyway, and so do we.
                    // SAFETY: fchown on a descriptor we own.
                    check(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) })?;
                }
                (Lock::Flock(fd), Some(file))
            }
            MutexMechanism::SysvSem => (Lock::SysvSem(crate::sys::sysv_sem::create(owner)?), None),
            MutexMechanism::PosixSem => (Lock::PosixSem(create_posixsem(id, creator)?), None),
            MutexMechanism::Pthread | MutexMechanism::Default => {
                (Lock::Pthread(create_pthread()?), None)
            }
        };
        Ok(AcceptMutex {
            mechanism,
            lock,
            path,
            creator,
        })
    }

    /// The mechanism in use (never [`MutexMechanism::Default`]).
    pub fn mechanism(&self) -> MutexMechanism {
        self.mechanism
    }

    /// The mechanism's name (`fcntl`, `flock`, `sysvsem`, `posixsem`, `pthread`).
    pub fn name(&self) -> &'static str {
        mechanism_name(self.mechanism)
    }

    /// The lock file, for the mechanisms that have one (fcntl's is already unlinked).
    pub fn lock_file(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A child attaches to the mutex (httpd's `apr_proc_mutex_child_init`): flock needs a
    /// descriptor of its own, since flock locks belong to an open file description and the
    /// inherited one is shared with every other child. Call before dropping privileges.
    pub fn child_init(self: &Arc<AcceptMutex>) -> io::Result<ChildMutex> {
        let own = match (&self.lock, &self.path) {
            (Lock::Flock(_), Some(path)) => {
                let c = cpath(path)?;
                // SAFETY: open with a valid NUL-terminated path; the descriptor is owned below.
                let fd =
                    check(unsafe { libc::open(c.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) })?;
                // SAFETY: `fd` was just opened and is owned by nothing else.
                Some(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
            }
            _ => None,
        };
        Ok(ChildMutex {
            mutex: self.clone(),
            own,
        })
    }
}

impl Drop for AcceptMutex {
    fn drop(&mut self) {
        if std::process::id() != self.creator {
            return;
        }
        match self.lock {
            Lock::Fcntl(_) => {}
            Lock::Flock(_) => {
                if let Some(p) = &self.path {
                    let _ = std::fs::remove_file(p);
                }
            }
            // Children still using it get EIDRM, which they report as a lock failure (only
            // after a restart or at exit).
            Lock::SysvSem(id) => crate::sys::sysv_sem::remove(id),
            Lock::PosixSem(sem) => {
                // SAFETY: closes this process's handle; children keep theirs.
                unsafe {
                    libc::sem_close(sem);
                }
            }
            Lock::Pthread(m) => {
                // SAFETY: unmaps this process's view only; children keep theirs. The mutex is
                // not destroyed: children of an old generation may still be using it.
                unsafe {
                    libc::munmap(m.cast(), std::mem::size_of::<libc::pthread_mutex_t>());
                }
            }
        }
    }
}

/// Create the lock file; `unlink` it at once (fcntl: the inherited descriptor is all anyone
/// needs). A stale file of the same name (a parent that was killed) is replaced.
fn create_file(path: &Path, unlink: bool) -> io::Result<OwnedFd> {
    let c = cpath(path)?;
    let _ = std::fs::remove_file(path);
    // SAFETY: open with a valid NUL-terminated path; the descriptor is owned below.
    let fd = check(unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    })?;
    // SAFETY: `fd` was just opened and is owned by nothing else.
    let fd: OwnedFd = unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) };
    if unlink {
        std::fs::remove_file(path)?;
    }
    Ok(fd)
}

fn create_posixsem(id: u32, creator: u32) -> io::Result<*mut libc::sem_t> {
    // A name nobody else uses, unlinked right after: the semaphore lives on in this process and
    // in the children that inherit the mapping, and nothing is left behind in /dev/shm.
    let name = CString::new(format!("/eventmpm-{TYPE}-{id}.{creator}")).expect("no NUL");
    // SAFETY: the name is NUL-terminated; unlinking a name that does not exist is harmless.
    unsafe {
        libc::sem_unlink(name.as_ptr());
    }
    // SAFETY: sem_open with O_CREAT takes the mode and the initial value as variadic arguments.
    let sem = unsafe {
        libc::sem_open(
            name.as_ptr(),
            libc::O_CREAT | libc::O_EXCL,
            0o600 as libc::c_uint,
            1 as libc::c_uint,
        )
    };
    // SEM_FAILED is a null pointer on some systems and `(sem_t *)-1` on others.
    if sem.is_null() || sem as isize == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    unsafe {
        libc::sem_unlink(name.as_ptr());
    }
    Ok(sem)
}

fn create_pthread() -> io::Result<*mut libc::pthread_mutex_t> {
    let size = std::mem::size_of::<libc::pthread_mutex_t>();
    // SAFETY: a fresh anonymous shared mapping aliases nothing; children inherit it on fork.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let m = base.cast::<libc::pthread_mutex_t>();
    // SAFETY: the attribute object is initialised before use and destroyed after; the mutex is
    // initialised in memory we just mapped, page-aligned and large enough.
    let r = unsafe {
        let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
        check_pthread(libc::pthread_mutexattr_init(&mut attr))
            .and_then(|()| crate::sys::mutexattr_set_shared(&mut attr))
            .and_then(|()| crate::sys::mutexattr_set_robust(&mut attr))
            .and_then(|()| check_pthread(libc::pthread_mutex_init(m, &attr)))
            .inspect(|()| {
                libc::pthread_mutexattr_destroy(&mut attr);
            })
    };
    if let Err(e) = r {
        // SAFETY: unmaps the mapping made above.
        unsafe {
            libc::munmap(base, size);
        }
        return Err(e);
    }
    Ok(m)
}

/// A child's handle on the accept mutex.
#[derive(Debug)]
pub struct ChildMutex {
    mutex: Arc<AcceptMutex>,
    /// flock: this child's own open file description.
    own: Option<OwnedFd>,
}

impl ChildMutex {
    /// The mechanism's name.
    pub fn name(&self) -> &'static str {
        self.mutex.name()
    }

    /// Whether a signal ends a wait in [`lock`](Self::lock) (every mechanism but `pthread`).
    pub fn interruptible(&self) -> bool {
        !matches!(self.mutex.lock, Lock::Pthread(_))
    }

    /// Take the lock, waiting as long as another child holds it. A signal delivered to the
    /// calling thread interrupts the wait with [`io::ErrorKind::Interrupted`] (all mechanisms
    /// but `pthread`, whose wait signals do not end), so a stopping child's listener can leave.
    pub fn lock(&self) -> io::Result<()> {
        match &self.mutex.lock {
            Lock::Fcntl(fd) => {
                let mut fl = whole_file(true);
                // SAFETY: F_SETLKW reads the flock struct we pass.
                check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETLKW, &mut fl) }).map(drop)
            }
            Lock::Flock(parent) => {
                let fd = self.own.as_ref().unwrap_or(parent);
                crate::sys::flock(fd.as_fd(), true)
            }
            Lock::SysvSem(id) => sem_op(*id, -1),
            Lock::PosixSem(sem) => {
                // SAFETY: the semaphore lives as long as `self.mutex`.
                check(unsafe { libc::sem_wait(*sem) }).map(drop)
            }
            Lock::Pthread(m) => {
                // SAFETY: the mutex was initialised in shared memory that outlives `self`.
                match unsafe { libc::pthread_mutex_lock(*m) } {
                    0 => Ok(()),
                    // The previous holder died holding it: the robust mutex is ours, and the
                    // state it protects (nothing: it only serialises accept) is consistent.
                    // SAFETY: we hold the mutex, as consistent requires.
                    libc::EOWNERDEAD => unsafe { crate::sys::mutex_consistent(*m) },
                    e => Err(io::Error::from_raw_os_error(e)),
                }
            }
        }
    }

    /// Release the lock.
    pub fn unlock(&self) -> io::Result<()> {
        match &self.mutex.lock {
            Lock::Fcntl(fd) => {
                let mut fl = whole_file(false);
                loop {
                    // SAFETY: as in lock.
                    match check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETLKW, &mut fl) }) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        r => return r.map(drop),
                    }
                }
            }
            Lock::Flock(parent) => {
                let fd = self.own.as_ref().unwrap_or(parent);
                crate::sys::flock(fd.as_fd(), false)
            }
            Lock::SysvSem(id) => sem_op(*id, 1),
            Lock::PosixSem(sem) => {
                // SAFETY: as in lock.
                check(unsafe { libc::sem_post(*sem) }).map(drop)
            }
            Lock::Pthread(m) => {
                // SAFETY: as in lock; we hold it.
                check_pthread(unsafe { libc::pthread_mutex_unlock(*m) })
            }
        }
    }
}

/// A write lock (`lock`) or an unlock of the whole file.
fn whole_file(lock: bool) -> libc::flock {
    // SAFETY: an all-zero flock is valid (start 0, length 0 = the whole file).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    // The constants are ints on some systems and shorts on others, as is the field.
    fl.l_type = if lock { libc::F_WRLCK } else { libc::F_UNLCK } as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl
}

/// One `semop` on the set's only semaphore, undone by the kernel if the process dies.
fn sem_op(id: libc::c_int, op: libc::c_short) -> io::Result<()> {
    loop {
        match crate::sys::sysv_sem::op(id, op) {
            // Releasing must not be cut short by a signal; taking may (see `lock`).
            Err(e) if e.kind() == io::ErrorKind::Interrupted && op > 0 => continue,
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn setting(m: MutexMechanism) -> MutexSetting {
        MutexSetting {
            set: true,
            mechanism: m,
            dir: None,
            omit_pid: false,
        }
    }

    /// Two threads of one process take turns; for the file locks (which are per process or per
    /// open file description) the test uses two handles, as two children would.
    fn excludes(m: MutexMechanism) {
        let dir = std::env::temp_dir().join(format!("eventmpm-am-{}-{:?}", std::process::id(), m));
        std::fs::create_dir_all(&dir).unwrap();
        let mutex = Arc::new(AcceptMutex::create(&setting(m), &dir, 7, None).unwrap());
        assert_eq!(mutex.mechanism(), m);
        match m {
            MutexMechanism::Flock => assert!(mutex.lock_file().unwrap().exists()),
            MutexMechanism::Fcntl => assert!(!mutex.lock_file().unwrap().exists(), "unlinked"),
            _ => assert!(mutex.lock_file().is_none()),
        }
        let a = mutex.child_init().unwrap();
        a.lock().unwrap();
        a.unlock().unwrap();
        if m != MutexMechanism::Fcntl {
            // fcntl locks belong to the process: threads cannot exclude each other with them.
            let inside = Arc::new(AtomicU32::new(0));
            let threads: Vec<_> = (0..3)
                .map(|_| {
                    let h = mutex.child_init().unwrap();
                    let inside = inside.clone();
                    std::thread::spawn(move || {
                        for _ in 0..200 {
                            h.lock().unwrap();
                            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "exclusive");
                            std::thread::yield_now();
                            inside.fetch_sub(1, Ordering::SeqCst);
                            h.unlock().unwrap();
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        let file = mutex.lock_file().map(Path::to_path_buf);
        drop(a);
        drop(mutex);
        if let Some(f) = file {
            assert!(!f.exists(), "removed with the mutex");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_mechanism_locks_and_excludes() {
        for m in [
            MutexMechanism::Fcntl,
            MutexMechanism::Flock,
            MutexMechanism::SysvSem,
            MutexMechanism::PosixSem,
            MutexMechanism::Pthread,
        ] {
            excludes(m);
        }
    }

    #[test]
    fn names_and_default() {
        assert_eq!(mechanism_name(MutexMechanism::SysvSem), "sysvsem");
        assert_eq!(
            mechanism_name(MutexMechanism::Default),
            mechanism_name(crate::sys::DEFAULT_ACCEPT_MUTEX)
        );
        let dir = std::env::temp_dir();
        let m = AcceptMutex::create(&setting(MutexMechanism::Default), &dir, 0, None).unwrap();
        assert_ne!(m.mechanism(), MutexMechanism::Default);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let r = AcceptMutex::create(
            &setting(MutexMechanism::Fcntl),
            Path::new("/nonexistent/eventmpm"),
            0,
            None,
        );
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
