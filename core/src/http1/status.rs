//! Response status codes and httpd's reason phrases.

use core::fmt;

/// An HTTP status code, 100 ..= 599.
///
/// The named codes are httpd 2.4's table (`status_lines[]` in `http_protocol.c`, as 2.4.67 ships
/// it) plus 103 Early Hints (RFC 8297), which httpd's table lacks.
///
/// Reason phrases are httpd's, which keep RFC 2616's
/// wording where RFC 9110 renamed a code: "Request Entity Too Large" (RFC 9110: "Content Too
/// Large"), "Request-URI Too Long" ("URI Too Long"), "Requested Range Not Satisfiable" ("Range Not
/// Satisfiable") and "Unprocessable Entity" ("Unprocessable Content"). Clients ignore the phrase;
/// matching httpd keeps logs and error pages identical.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Status(u16);

macro_rules! statuses {
    ($($name:ident = $code:literal, $reason:literal;)*) => {
        impl Status {
            $(
                #[doc = concat!("`", stringify!($code), " ", $reason, "`")]
                pub const $name: Status = Status($code);
            )*
        }

        const fn reason_of(code: u16) -> Option<&'static str> {
            match code {
                $($code => Some($reason),)*
                _ => None,
            }
        }
    };
}

statuses! {
    CONTINUE = 100, "Continue";
    SWITCHING_PROTOCOLS = 101, "Switching Protocols";
    PROCESSING = 102, "Processing";
    EARLY_HINTS = 103, "Early Hints";
    OK = 200, "OK";
    CREATED = 201, "Created";
    ACCEPTED = 202, "Accepted";
    NON_AUTHORITATIVE_INFORMATION = 203, "Non-Authoritative Information";
    NO_CONTENT = 204, "No Content";
    RESET_CONTENT = 205, "Reset Content";
    PARTIAL_CONTENT = 206, "Partial Content";
    MULTI_STATUS = 207, "Multi-Status";
    ALREADY_REPORTED = 208, "Already Reported";
    IM_USED = 226, "IM Used";
    MULTIPLE_CHOICES = 300, "Multiple Choices";
    MOVED_PERMANENTLY = 301, "Moved Permanently";
    FOUND = 302, "Found";
    SEE_OTHER = 303, "See Other";
    NOT_MODIFIED = 304, "Not Modified";
    USE_PROXY = 305, "Use Proxy";
    TEMPORARY_REDIRECT = 307, "Temporary Redirect";
    PERMANENT_REDIRECT = 308, "Permanent Redirect";
    BAD_REQUEST = 400, "Bad Request";
    UNAUTHORIZED = 401, "Unauthorized";
    PAYMENT_REQUIRED = 402, "Payment Required";
    FORBIDDEN = 403, "Forbidden";
    NOT_FOUND = 404, "Not Found";
    METHOD_NOT_ALLOWED = 405, "Method Not Allowed";
    NOT_ACCEPTABLE = 406, "Not Acceptable";
    PROXY_AUTHENTICATION_REQUIRED = 407, "Proxy Authentication Required";
    REQUEST_TIMEOUT = 408, "Request Timeout";
    CONFLICT = 409, "Conflict";
    GONE = 410, "Gone";
    LENGTH_REQUIRED = 411, "Length Required";
    PRECONDITION_FAILED = 412, "Precondition Failed";
    REQUEST_ENTITY_TOO_LARGE = 413, "Request Entity Too Large";
    REQUEST_URI_TOO_LONG = 414, "Request-URI Too Long";
    UNSUPPORTED_MEDIA_TYPE = 415, "Unsupported Media Type";
    RANGE_NOT_SATISFIABLE = 416, "Requested Range Not Satisfiable";
    EXPECTATION_FAILED = 417, "Expectation Failed";
    MISDIRECTED_REQUEST = 421, "Misdirected Request";
    UNPROCESSABLE_ENTITY = 422, "Unprocessable Entity";
    LOCKED = 423, "Locked";
    FAILED_DEPENDENCY = 424, "Failed Dependency";
    UPGRADE_REQUIRED = 426, "Upgrade Required";
    PRECONDITION_REQUIRED = 428, "Precondition Required";
    TOO_MANY_REQUESTS = 429, "Too Many Requests";
    REQUEST_HEADER_FIELDS_TOO_LARGE = 431, "Request Header Fields Too Large";
    UNAVAILABLE_FOR_LEGAL_REASONS = 451, "Unavailable For Legal Reasons";
    INTERNAL_SERVER_ERROR = 500, "Internal Server Error";
    NOT_IMPLEMENTED = 501, "Not Implemented";
    BAD_GATEWAY = 502, "Bad Gateway";
    SERVICE_UNAVAILABLE = 503, "Service Unavailable";
    GATEWAY_TIMEOUT = 504, "Gateway Timeout";
    HTTP_VERSION_NOT_SUPPORTED = 505, "HTTP Version Not Supported";
    VARIANT_ALSO_NEGOTIATES = 506, "Variant Also Negotiates";
    INSUFFICIENT_STORAGE = 507, "Insufficient Storage";
    LOOP_DETECTED = 508, "Loop Detected";
    NOT_EXTENDED = 510, "Not Extended";
    NETWORK_AUTHENTICATION_REQUIRED = 511, "Network Authentication Required";
}

impl Status {
    /// The status `code`, or `None` outside 100 ..= 599 (the range a status line may carry).
    pub const fn new(code: u16) -> Option<Status> {
        if code >= 100 && code <= 599 {
            Some(Status(code))
        } else {
            None
        }
    }

    /// The three-digit code.
    pub const fn code(self) -> u16 {
        self.0
    }

    /// The reason phrase; "Unknown Reason" for a code httpd has no phrase for (httpd's own
    /// fallback).
    pub const fn reason(self) -> &'static str {
        match reason_of(self.0) {
            Some(r) => r,
            None => "Unknown Reason",
        }
    }

    /// Whether httpd knows this code.
    pub const fn is_known(self) -> bool {
        reason_of(self.0).is_some()
    }

    /// 1xx: an interim response, never the last one for a request.
    pub const fn is_informational(self) -> bool {
        self.0 < 200
    }

    /// Whether a response with this status may carry a body at all (not 1xx, 204 or 304;
    /// RFC 9112 §6.3).
    pub const fn allows_body(self) -> bool {
        !(self.is_informational() || self.0 == 204 || self.0 == 304)
    }

    /// The code as three ASCII digits, for the status line.
    pub(crate) const fn digits(self) -> [u8; 3] {
        [
            b'0' + (self.0 / 100 % 10) as u8,
            b'0' + (self.0 / 10 % 10) as u8,
            b'0' + (self.0 % 10) as u8,
        ]
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_phrases() {
        assert_eq!(Status::OK.code(), 200);
        assert_eq!(Status::OK.reason(), "OK");
        assert_eq!(
            Status::REQUEST_URI_TOO_LONG.reason(),
            "Request-URI Too Long"
        );
        assert_eq!(
            Status::REQUEST_HEADER_FIELDS_TOO_LARGE.reason(),
            "Request Header Fields Too Large"
        );
        assert_eq!(Status::new(299).map(Status::reason), Some("Unknown Reason"));
        assert!(!Status::new(306).is_some_and(Status::is_known));
        assert_eq!(Status::new(99), None);
        assert_eq!(Status::new(600), None);
        assert_eq!(Status::NOT_FOUND.digits(), *b"404");
    }

    #[test]
    fn bodies_by_status() {
        for (code, body) in [(100, false), (101, false), (200, true), (204, false)] {
            assert_eq!(Status::new(code).map(Status::allows_body), Some(body));
        }
        assert!(!Status::NOT_MODIFIED.allows_body());
        assert!(Status::NOT_FOUND.allows_body());
    }

    #[test]
    fn every_known_code_has_a_distinct_phrase_in_range() {
        let mut known = 0;
        for code in 100..=599u16 {
            let Some(s) = Status::new(code) else {
                panic!("{code} is in range")
            };
            if s.is_known() {
                known += 1;
                assert_ne!(s.reason(), "Unknown Reason");
            }
        }
        assert_eq!(known, 60);
    }
}
