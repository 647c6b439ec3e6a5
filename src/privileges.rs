//! Dropping root (httpd's mod_unixd): a child started by a root parent switches to `User` and
//! `Group` before it creates any thread, so every thread runs unprivileged. The parent keeps
//! root: it binds privileged ports, opens logs and signals its children.

use std::ffi::CString;
use std::io;

use eventmpm_core::config::{Account, ROOT_USER_REFUSED};

/// The account to run children as: resolved uid, gid and the user's name (for the supplementary
/// groups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// The user's name, if it has one (initgroups needs it).
    pub name: Option<CString>,
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Resolve `User` and `Group` the way httpd does at configuration time: a name must exist
/// (AH00543/AH00544), `#n` is a numeric id, and a user that resolves to root is refused unless
/// the server was built to allow it (it is not). When the defaults (`#-1`) are left in place,
/// children run as `nobody`, nginx's default, rather than as the id 4294967295.
pub fn resolve(user: &Account, group: &Account) -> Result<Identity, String> {
    let (uid, name, user_gid) = match user {
        Account::Id(u32::MAX) => lookup_user("nobody").unwrap_or((65534, None, 65534)),
        Account::Id(id) => (*id, None, *id),
        Account::Name(n) => lookup_user(n.as_str())
            .ok_or_else(|| format!("AH00543: eventmpm: bad user name {}", n.as_str()))?,
    };
    if uid == 0 {
        return Err(ROOT_USER_REFUSED.to_string());
    }
    let gid = match group {
        Account::Id(u32::MAX) => lookup_group("nogroup")
            .or_else(|| lookup_group("nobody"))
            .unwrap_or(user_gid),
        Account::Id(id) => *id,
        Account::Name(n) => lookup_group(n.as_str())
            .ok_or_else(|| format!("AH00544: eventmpm: bad group name {}", n.as_str()))?,
    };
    Ok(Identity { uid, gid, name })
}

fn lookup_user(name: &str) -> Option<(u32, Option<CString>, u32)> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: a zeroed passwd is a valid out-parameter; buf outlives the call and its results,
    // which we copy before returning.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(
            cname.as_ptr(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        );
        if rc != 0 || out.is_null() {
            return None;
        }
        Some((pw.pw_uid, Some(cname), pw.pw_gid))
    }
}

fn lookup_group(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: as in lookup_user.
    unsafe {
        let mut gr: libc::group = std::mem::zeroed();
        let mut out: *mut libc::group = std::ptr::null_mut();
        let rc = libc::getgrnam_r(
            cname.as_ptr(),
            &mut gr,
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        );
        if rc != 0 || out.is_null() {
            return None;
        }
        Some(gr.gr_gid)
    }
}

/// Become `id` for good: supplementary groups, then the group, then the user (the order matters:
/// once the uid is dropped the others can no longer change). `dumpable`: allow core dumps again
/// after the switch (httpd's CoreDumpDirectory). Call in a single-threaded process.
pub fn drop_to(id: &Identity, dumpable: bool) -> io::Result<()> {
    // SAFETY: plain system calls on values we own; the process is single-threaded here, so the
    // credentials change for the whole process.
    unsafe {
        let ok = match &id.name {
            // The group's type differs (gid_t, or int on macOS).
            Some(n) => libc::initgroups(n.as_ptr(), id.gid as _),
            None => libc::setgroups(1, &(id.gid as libc::gid_t)),
        };
        if ok != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setgid(id.gid as libc::gid_t) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setuid(id.uid as libc::uid_t) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    if dumpable {
        crate::sys::set_dumpable();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_numeric_and_named_accounts() {
        let id = resolve(&Account::Id(1234), &Account::Id(5678)).unwrap();
        assert_eq!((id.uid, id.gid), (1234, 5678));
        // `nobody` exists on every Debian machine; the default maps to it.
        let id = resolve(&Account::DEFAULT, &Account::DEFAULT).unwrap();
        assert_ne!(id.uid, 0);
        assert_ne!(id.uid, u32::MAX);
        assert!(
            resolve(&Account::Id(0), &Account::Id(0))
                .unwrap_err()
                .contains("root")
        );
        let bad = Account::Name("no-such-user-here".try_into().unwrap());
        assert!(
            resolve(&bad, &Account::DEFAULT)
                .unwrap_err()
                .starts_with("AH00543")
        );
        let root = Account::Name("root".try_into().unwrap());
        assert!(resolve(&root, &Account::DEFAULT).is_err());
    }
}
