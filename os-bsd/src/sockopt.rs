//! Socket options whose name or existence differs between systems.

use std::ffi::CStr;

/// Makes a listening socket hold a new connection back until the client has
/// sent data; `secs` 0 turns that off.
///
/// httpd sets this on `http` and `https` listeners by default through
/// `AcceptFilter`. Call it after `listen`.
///
/// - FreeBSD, DragonFly, NetBSD: the `dataready` accept filter
///   (`SO_ACCEPTFILTER`). It holds a connection until its first bytes
///   arrive, for any protocol, so TLS listeners get it too (httpd's default
///   for `http` is FreeBSD's `httpready`, which waits for a whole request
///   head and knows nothing of TLS; one filter for every listener keeps this
///   call's signature). `secs` is not configurable there: any non-zero value
///   means "on". The filter lives in a kernel module (`accf_data`); without
///   it the call fails with `ENOENT`, which httpd only logs. Setting the
///   filter again replaces it.
/// - OpenBSD, macOS: no accept filter exists; `Ok(())` without effect.
#[cfg(any(
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "macos"
))]
#[doc(alias = "AcceptFilter")]
#[doc(alias = "SO_ACCEPTFILTER")]
pub fn set_defer_accept(listener: std::os::fd::BorrowedFd<'_>, secs: u32) -> std::io::Result<()> {
    #[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd"))]
    {
        crate::sys::sockopt::set_accept_filter(listener, accept_filter(secs))
    }
    #[cfg(any(target_os = "openbsd", target_os = "macos"))]
    {
        let _ = (listener, secs);
        Ok(())
    }
}

/// The accept filter for a defer of `secs`: `None` removes it.
#[cfg_attr(any(target_os = "openbsd", target_os = "macos"), allow(dead_code))]
pub(crate) fn accept_filter(secs: u32) -> Option<&'static CStr> {
    (secs > 0).then_some(c"dataready")
}

/// The `af_name` of a `struct accept_filter_arg` naming `filter`: at most 15
/// bytes and a NUL, zero-padded; `None` if the name does not fit.
#[cfg_attr(any(target_os = "openbsd", target_os = "macos"), allow(dead_code))]
pub(crate) fn filter_name(filter: &CStr) -> Option<[u8; 16]> {
    let bytes = filter.to_bytes();
    let mut name = [0u8; 16];
    name.get_mut(..bytes.len())
        .filter(|_| bytes.len() < 16)?
        .copy_from_slice(bytes);
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_removes_the_filter_and_anything_else_asks_for_dataready() {
        assert_eq!(accept_filter(0), None);
        for secs in [1, 30, u32::MAX] {
            assert_eq!(accept_filter(secs), Some(c"dataready"));
        }
    }

    #[test]
    fn filter_names_are_nul_padded_and_bounded() {
        let name = filter_name(c"dataready").unwrap();
        assert_eq!(&name[..9], b"dataready");
        assert!(name[9..].iter().all(|&b| b == 0));
        assert!(filter_name(c"fifteen-chars-x").is_some());
        assert_eq!(filter_name(c"sixteen-chars-xx"), None);
    }
}
