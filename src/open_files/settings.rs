//! `OpenFileCache` and `OpenFileCacheValid`: how many open files a child keeps, and for how long
//! one is trusted before it is opened and stat'ed again.

use std::time::Duration;

/// Entries per child when `OpenFileCache` is not given.
pub const DEFAULT_ENTRIES: usize = 1024;
/// Largest `OpenFileCache` accepted (a descriptor each; the open-file limit caps it further).
pub const MAX_ENTRIES: usize = 1 << 20;
/// How long an entry is trusted when `OpenFileCacheValid` is not given.
pub const DEFAULT_VALID: Duration = Duration::from_secs(1);
/// Longest `OpenFileCacheValid` accepted, in seconds: a file changed on disk is served stale for
/// at most this long.
pub const MAX_VALID_SECS: u64 = 3600;
/// The cache takes at most this fraction (1/N) of the process's open-file limit, so that
/// connections, logs and listeners keep the rest.
pub const NOFILE_FRACTION: u64 = 4;

/// The open-file cache's configuration (server-wide; every child builds its own cache).
#[doc(alias = "open_file_cache")]
#[doc(alias = "OpenFileCache")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `OpenFileCache N`: entries per child; 0 (`Off`) disables the cache.
    pub entries: usize,
    /// `OpenFileCacheValid N`: how long an entry is served without looking at the disk again.
    #[doc(alias = "open_file_cache_valid")]
    pub valid: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            entries: DEFAULT_ENTRIES,
            valid: DEFAULT_VALID,
        }
    }
}

impl Settings {
    /// The entries a child actually keeps with `nofile` descriptors allowed (`RLIMIT_NOFILE`'s
    /// soft limit): the configured number, but never more than a quarter of the limit, since
    /// each entry holds a descriptor for as long as it is cached.
    pub fn capacity(&self, nofile: u64) -> usize {
        let share = nofile / NOFILE_FRACTION;
        (self.entries as u64).min(share) as usize
    }

    /// Parse `OpenFileCache`'s argument: a number of entries (0 to [`MAX_ENTRIES`]) or `Off`.
    pub fn parse_entries(arg: &str) -> Result<usize, String> {
        if arg.eq_ignore_ascii_case("off") {
            return Ok(0);
        }
        match arg.parse::<usize>() {
            Ok(n) if n <= MAX_ENTRIES => Ok(n),
            _ => Err(format!(
                "OpenFileCache must be a number of entries (0 to {MAX_ENTRIES}) or Off, not '{arg}'"
            )),
        }
    }

    /// Parse `OpenFileCacheValid`'s argument: whole seconds, 1 to [`MAX_VALID_SECS`], with an
    /// optional `s` (as `CGIScriptTimeout`).
    pub fn parse_valid(arg: &str) -> Result<Duration, String> {
        match arg.strip_suffix('s').unwrap_or(arg).parse::<u64>() {
            Ok(n) if (1..=MAX_VALID_SECS).contains(&n) => Ok(Duration::from_secs(n)),
            _ => Err(format!(
                "OpenFileCacheValid must be a number of seconds from 1 to {MAX_VALID_SECS}, not '{arg}'"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_the_configured_entries_within_a_quarter_of_the_limit() {
        let s = Settings::default();
        assert_eq!(s.capacity(1 << 20), 1024);
        assert_eq!(s.capacity(1024), 256);
        assert_eq!(s.capacity(3), 0);
        let off = Settings { entries: 0, ..s };
        assert_eq!(off.capacity(1 << 20), 0);
    }

    #[test]
    fn entries_parse() {
        assert_eq!(Settings::parse_entries("Off"), Ok(0));
        assert_eq!(Settings::parse_entries("off"), Ok(0));
        assert_eq!(Settings::parse_entries("0"), Ok(0));
        assert_eq!(Settings::parse_entries("4096"), Ok(4096));
        for bad in ["-1", "1e3", "", "On", "2000000"] {
            let e = Settings::parse_entries(bad).unwrap_err();
            assert!(e.starts_with("OpenFileCache must be"), "{bad}: {e}");
        }
    }

    #[test]
    fn validity_parses() {
        assert_eq!(Settings::parse_valid("1"), Ok(Duration::from_secs(1)));
        assert_eq!(Settings::parse_valid("60s"), Ok(Duration::from_secs(60)));
        for bad in ["0", "3601", "1.5", "x", "-1", "1m"] {
            let e = Settings::parse_valid(bad).unwrap_err();
            assert!(e.starts_with("OpenFileCacheValid must be"), "{bad}: {e}");
        }
    }
}
