//! Tokens and the `portev_user` word that carries them.
//!
//! The port hands back, with every event, the pointer-sized user data given to
//! `port_associate` or `port_send`. The poller stores the caller's token in it
//! as a plain integer: the port never dereferences it and neither do we.

use std::io;

/// The token [`Poller::wait`](crate::Poller::wait) reports for a wake-up.
///
/// Reserved: registering any fd with it is refused with
/// [`io::ErrorKind::InvalidInput`].
pub const WAKE_TOKEN: u64 = u64::MAX;

/// The user data of the wake-up event: the all-ones word, which is
/// [`WAKE_TOKEN`] on 64-bit targets.
pub(crate) const WAKE_USER: usize = usize::MAX;

/// The user data that carries `token`.
///
/// Refuses [`WAKE_TOKEN`] and, on a 32-bit target, any token that does not fit
/// in the word below [`WAKE_USER`] (portable callers keep tokens below 2³²
/// minus one; slab indices do).
pub(crate) fn user_data(token: u64) -> io::Result<usize> {
    match usize::try_from(token) {
        Ok(user) if user != WAKE_USER => Ok(user),
        _ if token == WAKE_TOKEN => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "token u64::MAX is reserved for wake-ups",
        )),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "token does not fit in the event port's pointer-sized user data",
        )),
    }
}

/// The token an event's user data carries.
pub(crate) fn token(user: usize) -> u64 {
    if user == WAKE_USER {
        WAKE_TOKEN
    } else {
        // Lossless: no target Rust supports has a usize wider than 64 bits.
        user as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let widest = usize::MAX as u64 - 1;
        for t in [0u64, 1, 42, widest / 2, widest] {
            assert_eq!(token(user_data(t).unwrap()), t);
        }
    }

    #[test]
    fn tokens_past_the_widest_are_refused() {
        // The all-ones word is the wake-up's; on 32-bit targets every wider token is refused
        // too (on 64-bit ones both are u64::MAX).
        let all_ones = usize::MAX as u64;
        for t in [all_ones, all_ones.saturating_add(1), u64::MAX] {
            let error = user_data(t).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{t}");
        }
    }

    #[test]
    fn the_wake_token_is_refused_and_decoded() {
        let error = user_data(WAKE_TOKEN).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(token(WAKE_USER), WAKE_TOKEN);
    }

    #[test]
    fn no_accepted_token_decodes_as_a_wake_up() {
        for t in [u64::MAX - 1, u64::MAX - 2, u64::from(u32::MAX)] {
            if let Ok(user) = user_data(t) {
                assert_ne!(token(user), WAKE_TOKEN, "{t}");
            }
        }
    }
}
