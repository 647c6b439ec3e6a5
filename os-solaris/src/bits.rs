//! The poll(2) bits event ports take in `port_associate` and report in
//! `portev_events`, and the event source numbers.
//!
//! Written out here with illumos's values instead of taken from `libc`, which
//! only has them on illumos and Solaris: the decision layer and its tests
//! compile on every host. On illumos and Solaris a compile-time check ties
//! each value to `libc`'s.

/// Data can be read without blocking (`POLLIN`).
pub(crate) const POLLIN: i16 = 0x0001;
/// Data can be written without blocking (`POLLOUT`).
pub(crate) const POLLOUT: i16 = 0x0004;
/// An error is pending on the descriptor (`POLLERR`); always reported.
pub(crate) const POLLERR: i16 = 0x0008;
/// The peer hung up (`POLLHUP`); always reported.
pub(crate) const POLLHUP: i16 = 0x0010;
/// The descriptor is not open (`POLLNVAL`).
pub(crate) const POLLNVAL: i16 = 0x0020;
/// The peer shut down its sending side (`POLLRDHUP`, illumos only).
///
/// Zero on Solaris, which has no such bit: asking for it there would ask for
/// whatever else 0x4000 might one day mean.
pub(crate) const POLLRDHUP: i16 = if cfg!(target_os = "solaris") {
    0
} else {
    0x4000
};

/// `portev_source` of a `port_send` event (`PORT_SOURCE_USER`). The poller
/// tells its wake-up apart by the reserved user data alone, so only the model
/// needs the source numbers.
#[cfg(test)]
pub(crate) const PORT_SOURCE_USER: u16 = 3;
/// `portev_source` of a file descriptor's event (`PORT_SOURCE_FD`).
#[cfg(test)]
pub(crate) const PORT_SOURCE_FD: u16 = 4;

/// Whether `events` (a `portev_events` word) has any bit of `bits`.
pub(crate) fn any(events: i32, bits: i16) -> bool {
    events & i32::from(bits) != 0
}

#[cfg(any(target_os = "illumos", target_os = "solaris"))]
const _: () = {
    assert!(POLLIN == libc::POLLIN);
    assert!(POLLOUT == libc::POLLOUT);
    assert!(POLLERR == libc::POLLERR);
    assert!(POLLHUP == libc::POLLHUP);
    assert!(POLLNVAL == libc::POLLNVAL);
    #[cfg(target_os = "illumos")]
    assert!(POLLRDHUP == libc::POLLRDHUP);
    #[cfg(test)]
    assert!(PORT_SOURCE_USER as libc::c_int == libc::PORT_SOURCE_USER);
    #[cfg(test)]
    assert!(PORT_SOURCE_FD as libc::c_int == libc::PORT_SOURCE_FD);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bits_are_distinct_single_bits() {
        let all = [POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDHUP];
        for (i, a) in all.iter().enumerate() {
            assert_eq!(a.count_ones(), 1, "{a:#x}");
            for b in &all[i + 1..] {
                assert_eq!(a & b, 0, "{a:#x} and {b:#x} overlap");
            }
        }
    }

    #[test]
    fn any_tests_the_low_sixteen_bits_of_the_event_word() {
        assert!(any(0x4001, POLLIN));
        assert!(any(0x4001, POLLRDHUP));
        assert!(!any(0x4001, POLLOUT | POLLHUP));
        assert!(!any(0, POLLIN));
    }
}
