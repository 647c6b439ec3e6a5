//! `User` and `Group` (mod_unixd): a name, or `#id`.
//!
//! Looking a name up in the system's user database is the runtime's job (httpd exits with
//! "bad user name" / "bad group name" when it fails). A user that resolves to uid 0 must be
//! refused with [`ROOT_USER_REFUSED`]; `User #0` is refused here already.

use super::error::DirectiveError;
use super::number::atoi;

/// The longest user or group name kept.
pub const MAX_ACCOUNT_NAME_LEN: usize = 64;

/// A user or group name.
pub type AccountName = heapless::String<MAX_ACCOUNT_NAME_LEN>;

/// A user or group as configured.
#[doc(alias = "User")]
#[doc(alias = "Group")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Account {
    /// A name to look up.
    Name(AccountName),
    /// A numeric id (`#1000`). httpd reads it with `atoi`, so `#-1` (the default) is
    /// `u32::MAX`, the "nobody" id of `(uid_t)-1`.
    Id(u32),
}

impl Account {
    /// httpd's default for both `User` and `Group`: `#-1`.
    pub const DEFAULT: Account = Account::Id(u32::MAX);
}

/// mod_unixd's refusal to run as root (httpd built without `-DBIG_SECURITY_HOLE`).
pub const ROOT_USER_REFUSED: &str = "Error:\tApache has not been designed to serve pages while\n\
\trunning as root.  There are known race conditions that\n\
\twill allow any local user to read any file on the system.\n\
\tIf you still desire to serve pages as root then\n\
\tadd -DBIG_SECURITY_HOLE to the CFLAGS env variable\n\
\tand then rebuild the server.\n\
\tIt is strongly suggested that you instead modify the User\n\
\tdirective in your httpd.conf file to list a non-root\n\
\tuser.\n";

/// Reads a `User` (`is_user`) or `Group` argument.
pub(crate) fn parse<'a>(
    directive: &'static str,
    arg: &'a str,
    is_user: bool,
) -> Result<Account, DirectiveError<'a>> {
    let account = match arg.strip_prefix('#') {
        // `ap_uname2id`: atoi of what follows, cast to the unsigned id type.
        Some(id) => Account::Id(atoi(id) as u32),
        None => Account::Name(
            AccountName::try_from(arg).map_err(|_| DirectiveError::TooLong {
                directive,
                limit: MAX_ACCOUNT_NAME_LEN,
            })?,
        ),
    };
    if is_user && account == Account::Id(0) {
        return Err(DirectiveError::Fixed(ROOT_USER_REFUSED));
    }
    Ok(account)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn names_and_ids() {
        assert_eq!(
            parse("User", "www-data", true),
            Ok(Account::Name(AccountName::try_from("www-data").unwrap()))
        );
        assert_eq!(parse("User", "#1000", true), Ok(Account::Id(1000)));
        assert_eq!(parse("Group", "#-1", false), Ok(Account::DEFAULT));
        assert_eq!(parse("Group", "#0", false), Ok(Account::Id(0)));
    }

    #[test]
    fn root_and_overlong_names_are_refused() {
        let root = parse("User", "#0", true).unwrap_err().to_string();
        assert!(root.starts_with("Error:\tApache has not been designed to serve pages while\n"));
        assert!(root.ends_with("\tuser.\n"));
        // atoi("abc") is 0: httpd refuses it as root too.
        assert_eq!(parse("User", "#abc", true).unwrap_err().to_string(), root);
        let long = "u".repeat(MAX_ACCOUNT_NAME_LEN + 1);
        assert_eq!(
            parse("Group", &long, false).unwrap_err().to_string(),
            "Group argument is longer than 64 bytes"
        );
    }
}
