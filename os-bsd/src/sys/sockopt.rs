//! `SO_ACCEPTFILTER` on FreeBSD, DragonFly and NetBSD.

use std::ffi::CStr;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;

use crate::sockopt::filter_name;

/// Installs the accept filter `filter` on a listening socket, replacing any
/// filter it has; `None` only removes.
///
/// FreeBSD refuses to install a filter over another (`EINVAL`), and a
/// listener inherited across a graceful restart may carry one, so the old
/// one is removed first; removing none succeeds on both kernels.
pub(crate) fn set_accept_filter(listener: BorrowedFd<'_>, filter: Option<&CStr>) -> io::Result<()> {
    set_raw(listener, ptr::null(), 0)?;
    let Some(filter) = filter else {
        return Ok(());
    };
    let name = filter_name(filter).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "accept filter name too long")
    })?;
    #[allow(unsafe_code)]
    // SAFETY: `accept_filter_arg` is two arrays of C chars; all zeroes (an
    // empty name and argument) is a valid value.
    let mut arg: libc::accept_filter_arg = unsafe { mem::zeroed() };
    for (to, from) in arg.af_name.iter_mut().zip(name) {
        *to = from as libc::c_char;
    }
    let len = mem::size_of::<libc::accept_filter_arg>() as libc::socklen_t;
    set_raw(listener, (&raw const arg).cast(), len)
}

fn set_raw(
    listener: BorrowedFd<'_>,
    value: *const libc::c_void,
    len: libc::socklen_t,
) -> io::Result<()> {
    #[allow(unsafe_code)]
    // SAFETY: the fd is borrowed for the call; `value` is null with `len` 0,
    // or points to `len` initialised bytes that live across the call.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ACCEPTFILTER,
            value,
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
