//! `HttpProtocolOptions`: httpd's six keywords, how they combine, and its messages.

use super::error::DirectiveError;
use crate::http1::ProtocolOptions;

const STRICT: u8 = 1 << 0;
const UNSAFE: u8 = 1 << 1;
const REGISTERED_METHODS: u8 = 1 << 2;
const LENIENT_METHODS: u8 = 1 << 3;
const ALLOW_09: u8 = 1 << 4;
const REQUIRE_10: u8 = 1 << 5;

/// `HttpProtocolOptions` as configured: which keywords were given. httpd ORs each keyword into
/// the server's settings, across several lines too, and refuses one whose opposite was given
/// (`set_http_protocol_options`). Unset pairs take httpd's defaults,
/// `Strict LenientMethods Allow0.9`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpProtocolOptions {
    given: u8,
}

impl HttpProtocolOptions {
    /// Nothing given: httpd's defaults.
    pub const DEFAULT: HttpProtocolOptions = HttpProtocolOptions { given: 0 };

    /// Applies one `HttpProtocolOptions` line; on error nothing changes.
    ///
    /// `Unsafe` is refused: it would have the server accept bare LFs, stray whitespace and
    /// malformed versions, each a way for a proxy in front and this server to see different
    /// requests in one stream.
    pub(super) fn apply<'a>(&mut self, args: &[&'a str]) -> Result<(), DirectiveError<'a>> {
        if args.is_empty() {
            // httpd's ITERATE arity message, with its command-table description (which, unlike
            // the directive, calls Require1.0 the default).
            return Err(DirectiveError::Fixed(
                "HttpProtocolOptions requires at least one argument, 'Allow0.9' or 'Require1.0' \
                 (default); 'RegisteredMethods' or 'LenientMethods' (default); 'Unsafe' or \
                 'Strict' (default). Sets HTTP acceptance rules",
            ));
        }
        let mut given = self.given;
        for arg in args {
            given |= keyword(arg)?;
            if given & (ALLOW_09 | REQUIRE_10) == ALLOW_09 | REQUIRE_10 {
                return Err(DirectiveError::Fixed(
                    "HttpProtocolOptions 'Allow0.9' and 'Require1.0' are mutually exclusive",
                ));
            }
            if given & (STRICT | UNSAFE) == STRICT | UNSAFE {
                return Err(DirectiveError::Fixed(
                    "HttpProtocolOptions 'Strict' and 'Unsafe' are mutually exclusive",
                ));
            }
            if given & (REGISTERED_METHODS | LENIENT_METHODS)
                == REGISTERED_METHODS | LENIENT_METHODS
            {
                return Err(DirectiveError::Fixed(
                    "HttpProtocolOptions 'RegisteredMethods' and 'LenientMethods' are mutually \
                     exclusive",
                ));
            }
            if given & UNSAFE != 0 {
                return Err(DirectiveError::Fixed(
                    "HttpProtocolOptions 'Unsafe' is not supported: requests are always read as \
                     with 'Strict' (a bare LF or a malformed request line lets a proxy in front \
                     and this server disagree on where a request ends)",
                ));
            }
        }
        self.given = given;
        Ok(())
    }

    /// What the request parser does with these options.
    pub const fn options(&self) -> ProtocolOptions {
        ProtocolOptions {
            registered_methods: self.given & REGISTERED_METHODS != 0,
            allow_http09: self.given & REQUIRE_10 == 0,
        }
    }
}

/// A keyword's bit, case-insensitive as httpd's `strcasecmp`.
fn keyword<'a>(arg: &str) -> Result<u8, DirectiveError<'a>> {
    const KEYWORDS: [(&str, u8); 6] = [
        ("Strict", STRICT),
        ("Unsafe", UNSAFE),
        ("RegisteredMethods", REGISTERED_METHODS),
        ("LenientMethods", LENIENT_METHODS),
        ("Allow0.9", ALLOW_09),
        ("Require1.0", REQUIRE_10),
    ];
    KEYWORDS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(arg))
        .map(|&(_, bit)| bit)
        .ok_or(DirectiveError::Fixed(
            "HttpProtocolOptions accepts 'Unsafe' or 'Strict' (default), 'RegisteredMethods' or \
             'LenientMethods' (default), and 'Require1.0' or 'Allow0.9' (default)",
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::{String, ToString};

    fn apply(lines: &[&[&str]]) -> Result<ProtocolOptions, String> {
        let mut o = HttpProtocolOptions::DEFAULT;
        for line in lines {
            let before = o;
            if let Err(e) = o.apply(line) {
                assert_eq!(o, before, "a failed line changed the options");
                return Err(e.to_string());
            }
        }
        Ok(o.options())
    }

    #[test]
    fn defaults_and_keywords() {
        assert_eq!(
            HttpProtocolOptions::DEFAULT.options(),
            ProtocolOptions::DEFAULT
        );
        assert_eq!(
            apply(&[&["strict", "LENIENTMETHODS", "allow0.9"]]),
            Ok(ProtocolOptions::DEFAULT)
        );
        assert_eq!(
            apply(&[&["RegisteredMethods"], &["Require1.0"]]),
            Ok(ProtocolOptions {
                registered_methods: true,
                allow_http09: false,
            })
        );
    }

    #[test]
    fn httpds_messages() {
        assert_eq!(
            apply(&[&["Require1.0"], &["Allow0.9"]]).unwrap_err(),
            "HttpProtocolOptions 'Allow0.9' and 'Require1.0' are mutually exclusive"
        );
        assert_eq!(
            apply(&[&["RegisteredMethods", "LenientMethods"]]).unwrap_err(),
            "HttpProtocolOptions 'RegisteredMethods' and 'LenientMethods' are mutually exclusive"
        );
        assert_eq!(
            apply(&[&["Strict", "Unsafe"]]).unwrap_err(),
            "HttpProtocolOptions 'Strict' and 'Unsafe' are mutually exclusive"
        );
        assert_eq!(
            apply(&[&["Foo"]]).unwrap_err(),
            "HttpProtocolOptions accepts 'Unsafe' or 'Strict' (default), 'RegisteredMethods' or \
             'LenientMethods' (default), and 'Require1.0' or 'Allow0.9' (default)"
        );
        assert!(apply(&[&[]]).unwrap_err().starts_with(
            "HttpProtocolOptions requires at least one argument, 'Allow0.9' or 'Require1.0'"
        ));
        assert!(
            apply(&[&["Unsafe"]])
                .unwrap_err()
                .starts_with("HttpProtocolOptions 'Unsafe' is not supported")
        );
    }
}
