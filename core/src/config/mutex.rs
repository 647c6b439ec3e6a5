//! `Mutex mechanism[:dir] [name …] [OmitPID]`, as httpd's `ap_set_mutex` and `ap_parse_mutex`.
//!
//! Two mutex names exist here: `default` (the settings every other mutex inherits) and
//! `mpm-accept`, the worker MPM's accept mutex. httpd registers `mpm-accept` only when the worker
//! MPM is loaded, so under event it is "not valid", as in httpd. Neither allows `none`.
//! Whether the directory exists is for the runtime to check (httpd: "Invalid Mutex directory in
//! argument …", [`DirectiveError::InvalidMutexDirectory`]).

use super::error::DirectiveError;
use super::{MAX_PATH_LEN, Mpm, Path};

/// How a mutex is implemented.
#[doc(alias = "apr_lockmech_e")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MutexMechanism {
    /// The platform's default (`default`, `yes`).
    Default,
    /// `fcntl()` locks on a file (`fcntl`, `file`).
    Fcntl,
    /// `flock()` locks on a file (`flock`).
    Flock,
    /// POSIX semaphores (`posixsem`, `sem`).
    PosixSem,
    /// System V semaphores (`sysvsem`).
    SysvSem,
    /// Process-shared pthread mutexes (`pthread`).
    Pthread,
}

/// The settings of one mutex name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutexSetting {
    /// Whether a `Mutex` directive named it (otherwise `default` applies).
    pub set: bool,
    /// The mechanism.
    pub mechanism: MutexMechanism,
    /// The lock-file directory (for `posixsem`: the semaphore name), relative to ServerRoot
    /// unless absolute; `None` keeps the default (httpd's `DEFAULT_REL_RUNTIMEDIR`, `logs`).
    pub dir: Option<Path>,
    /// `OmitPID`: do not append the parent's pid to the lock file name.
    pub omit_pid: bool,
}

impl MutexSetting {
    /// httpd's settings before any `Mutex` directive.
    pub const DEFAULT: MutexSetting = MutexSetting {
        set: false,
        mechanism: MutexMechanism::Default,
        dir: None,
        omit_pid: false,
    };
}

/// The mutexes the server creates.
#[doc(alias = "Mutex")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutexes {
    /// `default`: what a mutex not named by any `Mutex` directive uses.
    pub default: MutexSetting,
    /// `mpm-accept`: the worker MPM's accept mutex.
    pub mpm_accept: MutexSetting,
}

impl Mutexes {
    /// httpd's settings before any `Mutex` directive.
    pub const DEFAULT: Mutexes = Mutexes {
        default: MutexSetting::DEFAULT,
        mpm_accept: MutexSetting::DEFAULT,
    };

    /// The settings `mpm-accept` ends up with: its own if a directive named it, else `default`'s
    /// if one named that, else its registered defaults (httpd's `mxcfg_lookup`).
    pub fn accept_mutex(&self) -> &MutexSetting {
        if self.mpm_accept.set || !self.default.set {
            &self.mpm_accept
        } else {
            &self.default
        }
    }

    /// Applies one `Mutex` directive.
    pub(crate) fn apply<'a>(
        &mut self,
        args: &[&'a str],
        mpm: Mpm,
    ) -> Result<(), DirectiveError<'a>> {
        let Some((&spec, names)) = args.split_first().filter(|(spec, _)| !spec.is_empty()) else {
            return Err(DirectiveError::MissingMutexMechanism);
        };
        let (method, file) = match spec.split_once(':') {
            Some((method, "")) => (method, None),
            Some((method, file)) => (method, Some(file)),
            None => (spec, None),
        };
        let mechanism =
            mechanism(method).ok_or(DirectiveError::InvalidMutexMechanism { arg: spec })?;
        let dir = match file {
            Some(file) => Some(Path::try_from(file).map_err(|_| DirectiveError::TooLong {
                directive: "Mutex",
                limit: MAX_PATH_LEN,
            })?),
            None => None,
        };
        let omit_pid = names.iter().any(|n| n.eq_ignore_ascii_case("omitpid"));
        let mut named = names
            .iter()
            .filter(|n| !n.eq_ignore_ascii_case("omitpid"))
            .peekable();
        let default_only = named.peek().is_none();
        // httpd applies the names last to first and stops at the first bad one; check them all
        // in that order before changing anything.
        for &name in names
            .iter()
            .rev()
            .filter(|n| !n.eq_ignore_ascii_case("omitpid"))
        {
            if self.slot(name, mpm).is_none() {
                return Err(DirectiveError::InvalidMutexType { name });
            }
            if mechanism.is_none() {
                return Err(DirectiveError::MutexNoneNotAllowed { name });
            }
        }
        let Some(mechanism) = mechanism else {
            return Err(DirectiveError::MutexNoneNotAllowed { name: "default" });
        };
        let apply = |setting: &mut MutexSetting| {
            setting.set = true;
            setting.mechanism = mechanism;
            setting.omit_pid = omit_pid;
            if dir.is_some() {
                setting.dir.clone_from(&dir);
            }
        };
        if default_only {
            apply(&mut self.default);
        }
        for name in named {
            if let Some(setting) = self.slot(name, mpm) {
                apply(setting);
            }
        }
        Ok(())
    }

    fn slot(&mut self, name: &str, mpm: Mpm) -> Option<&mut MutexSetting> {
        match name {
            "default" => Some(&mut self.default),
            "mpm-accept" if mpm == Mpm::Worker => Some(&mut self.mpm_accept),
            _ => None,
        }
    }
}

/// `Some(None)` for `none`/`no`, `Some(Some(m))` for a mechanism, `None` if unknown.
fn mechanism(method: &str) -> Option<Option<MutexMechanism>> {
    const NAMES: [(&str, Option<MutexMechanism>); 10] = [
        ("none", None),
        ("no", None),
        ("default", Some(MutexMechanism::Default)),
        ("yes", Some(MutexMechanism::Default)),
        ("fcntl", Some(MutexMechanism::Fcntl)),
        ("file", Some(MutexMechanism::Fcntl)),
        ("flock", Some(MutexMechanism::Flock)),
        ("posixsem", Some(MutexMechanism::PosixSem)),
        ("sem", Some(MutexMechanism::PosixSem)),
        ("sysvsem", Some(MutexMechanism::SysvSem)),
    ];
    if method.eq_ignore_ascii_case("pthread") {
        return Some(Some(MutexMechanism::Pthread));
    }
    NAMES
        .iter()
        .find(|(name, _)| method.eq_ignore_ascii_case(name))
        .map(|(_, m)| *m)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    fn apply(args: &[&str], mpm: Mpm) -> Result<Mutexes, std::string::String> {
        let mut m = Mutexes::DEFAULT;
        m.apply(args, mpm).map(|()| m).map_err(|e| e.to_string())
    }

    #[test]
    fn mechanism_and_directory() {
        let m = apply(&["file:/var/lock/apache2", "default"], Mpm::Event).unwrap();
        assert_eq!(m.default.mechanism, MutexMechanism::Fcntl);
        assert_eq!(m.default.dir.as_deref(), Some("/var/lock/apache2"));
        assert!(m.default.set && !m.default.omit_pid);
        let m = apply(&["FLOCK:", "OmitPID"], Mpm::Event).unwrap();
        assert_eq!(
            (m.default.mechanism, m.default.dir.clone()),
            (MutexMechanism::Flock, None)
        );
        assert!(m.default.omit_pid);
        let m = apply(&["sem"], Mpm::Event).unwrap();
        assert_eq!(m.default.mechanism, MutexMechanism::PosixSem);
        let m = apply(&["pthread"], Mpm::Event).unwrap();
        assert_eq!(m.default.mechanism, MutexMechanism::Pthread);
    }

    #[test]
    fn accept_mutex_inherits_default_until_named() {
        let m = apply(&["sysvsem"], Mpm::Worker).unwrap();
        assert_eq!(m.accept_mutex().mechanism, MutexMechanism::SysvSem);
        let m = apply(&["flock:/run", "mpm-accept", "omitpid"], Mpm::Worker).unwrap();
        assert_eq!(m.accept_mutex().mechanism, MutexMechanism::Flock);
        assert!(m.accept_mutex().omit_pid);
        assert!(!m.default.set);
    }

    #[test]
    fn errors_use_httpd_texts() {
        assert_eq!(
            apply(&[], Mpm::Event).unwrap_err(),
            "Mutex requires at least a mechanism argument (Mutex mechanisms are: 'none', \
             'default', 'flock:/path/to/file', 'fcntl:/path/to/file', 'file:/path/to/file', \
             'pthread', 'sysvsem', 'posixsem', 'sem')"
        );
        assert_eq!(
            apply(&["bogus:/x"], Mpm::Event).unwrap_err(),
            "Invalid Mutex argument bogus:/x (Mutex mechanisms are: 'none', 'default', \
             'flock:/path/to/file', 'fcntl:/path/to/file', 'file:/path/to/file', 'pthread', \
             'sysvsem', 'posixsem', 'sem')"
        );
        assert_eq!(
            apply(&["none"], Mpm::Event).unwrap_err(),
            "None is not allowed for mutex type default"
        );
        assert_eq!(
            apply(&["no", "mpm-accept"], Mpm::Worker).unwrap_err(),
            "None is not allowed for mutex type mpm-accept"
        );
        assert_eq!(
            apply(&["default", "mpm-accept"], Mpm::Event).unwrap_err(),
            "Mutex type mpm-accept is not valid"
        );
        assert_eq!(
            apply(&["default", "ssl-cache", "default"], Mpm::Event).unwrap_err(),
            "Mutex type ssl-cache is not valid"
        );
    }

    #[test]
    fn a_failed_directive_changes_nothing() {
        let mut m = Mutexes::DEFAULT;
        assert!(m.apply(&["flock", "default", "bogus"], Mpm::Event).is_err());
        assert_eq!(m, Mutexes::DEFAULT);
    }
}
