//! Why a request head was refused, and with which status.

use core::fmt;

use super::Status;

/// A request head the server will not process. [`HeadError::status`] is the response to send;
/// [`HeadError::reason`] is a short line for the error log.
///
/// After any of these the connection must not be reused: the runtime answers and closes (with a
/// lingering close), as httpd's `die_unusable_input` does, because the framing of whatever follows
/// is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeadError {
    /// The request line is longer than `LimitRequestLine`: 414.
    RequestLineTooLong,
    /// A header field line is longer than `LimitRequestFieldSize`: 431.
    ///
    /// httpd answers 400 with the note "Size of a request header field exceeds server limit";
    /// RFC 6585 gave this case its own code, which tells the client what to fix.
    FieldTooLong,
    /// More header field lines than `LimitRequestFields`, or than the caller's header array: 431
    /// (httpd: 400).
    TooManyFields,
    /// The head does not fit the connection's buffer: 431. (A buffer that fills before the
    /// request line ends is reported as [`HeadError::RequestLineTooLong`]: the buffer is then the
    /// effective line limit.)
    HeadTooLarge,
    /// More than 10 empty lines before the request line (httpd's `DEFAULT_LIMIT_BLANK_LINES`):
    /// 400.
    TooManyEmptyLines,
    /// The request line is not `method SP target SP version`, with single spaces: 400.
    BadRequestLine,
    /// A line of the head ends in a bare LF instead of CRLF: 400, as httpd's default
    /// `HttpProtocolOptions Strict` answers. RFC 9112 §2.2 lets a server accept it, but a proxy
    /// in front that does not would split the head into different fields (request smuggling).
    BareLf,
    /// An HTTP/0.9 simple request with a method other than GET: 400.
    Http09Method,
    /// An HTTP/0.9 simple request under `HttpProtocolOptions Require1.0`: 400 (httpd AH02401).
    Http09Refused,
    /// A method httpd does not know by name under `HttpProtocolOptions RegisteredMethods`: 501
    /// (httpd AH02423).
    UnregisteredMethod,
    /// The HTTP/2 connection preface (`PRI * HTTP/2.0`) on an HTTP/1.1 connection: 400, as httpd
    /// answers it without mod_http2.
    Http2Preface,
    /// The method is not a token: 400.
    BadMethod,
    /// The request target has a forbidden byte, a fragment, user information, a scheme other than
    /// http(s), or a form its method does not allow: 400.
    BadTarget,
    /// The version is not `HTTP/d.d` (case-sensitive, as httpd's default `Strict`), or is an
    /// `HTTP/0.x` (a 0.9 request has no version): 400.
    BadVersion,
    /// A field line is malformed (bad name, control character in the value, bare CR): 400.
    BadField,
    /// A field line is folded onto the previous one (obs-fold): 400. RFC 9112 §5.2 allows
    /// refusing it; httpd instead joins the lines.
    ObsFold,
    /// HTTP/1.1 without a Host field, or with an empty one and no host in the target (RFC 9112
    /// §3.2, RFC 9110 §4.2.1; httpd AH00569): 400.
    MissingHost,
    /// More than one Host field: 400.
    MultipleHosts,
    /// Host (or the target's authority) is not a valid `host[:port]`: 400.
    BadHost,
    /// Content-Length is not a decimal number, or repeats with different values: 400.
    BadContentLength,
    /// Both Transfer-Encoding and Content-Length: 400, refused as a request-smuggling attempt
    /// (RFC 9112 §6.3 allows it; httpd instead drops the length and closes after the request).
    LengthAndChunked,
    /// Transfer-Encoding whose final coding is not `chunked`, or `chunked` applied twice: 400.
    ///
    /// RFC 9112 §6.3 requires 400 here, and httpd 2.4 since 2.4.25 agrees (`ap_read_request`,
    /// AH02539: "client sent unknown Transfer-Encoding"). httpd's older body filter answered 501.
    ChunkedNotFinal,
    /// Transfer-Encoding names a coding other than `chunked` before the final `chunked`
    /// (`gzip, chunked`): 501, as RFC 9112 §6.1 advises for a coding the server does not
    /// implement. httpd 2.4 accepts these and hands the still-encoded body to the handler.
    UnsupportedTransferCoding,
    /// Transfer-Encoding in an HTTP/1.0 request, whose framing RFC 9112 §6.1 says is faulty: 400.
    TransferEncodingInHttp10,
    /// Content-Length above `LimitRequestBody`: 413.
    BodyTooLarge,
    /// An Expect value other than `100-continue`: 417.
    UnsupportedExpectation,
    /// The head ends before its empty line: 400 (a caller passed an unfinished head).
    Incomplete,
}

impl HeadError {
    /// The response status for this error.
    pub const fn status(&self) -> Status {
        match self {
            HeadError::RequestLineTooLong => Status::REQUEST_URI_TOO_LONG,
            HeadError::FieldTooLong | HeadError::TooManyFields | HeadError::HeadTooLarge => {
                Status::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            HeadError::UnsupportedTransferCoding | HeadError::UnregisteredMethod => {
                Status::NOT_IMPLEMENTED
            }
            HeadError::BodyTooLarge => Status::REQUEST_ENTITY_TOO_LARGE,
            HeadError::UnsupportedExpectation => Status::EXPECTATION_FAILED,
            HeadError::TooManyEmptyLines
            | HeadError::BadRequestLine
            | HeadError::BareLf
            | HeadError::Http09Method
            | HeadError::Http09Refused
            | HeadError::Http2Preface
            | HeadError::BadMethod
            | HeadError::BadTarget
            | HeadError::BadVersion
            | HeadError::BadField
            | HeadError::ObsFold
            | HeadError::MissingHost
            | HeadError::MultipleHosts
            | HeadError::BadHost
            | HeadError::BadContentLength
            | HeadError::LengthAndChunked
            | HeadError::ChunkedNotFinal
            | HeadError::TransferEncodingInHttp10
            | HeadError::Incomplete => Status::BAD_REQUEST,
        }
    }

    /// A short explanation for the error log, worded after httpd's messages where it has one.
    pub const fn reason(&self) -> &'static str {
        match self {
            HeadError::RequestLineTooLong => {
                "request failed: client's request-line exceeds LimitRequestLine"
            }
            HeadError::FieldTooLong => "request header exceeds LimitRequestFieldSize",
            HeadError::TooManyFields => "number of request headers exceeds LimitRequestFields",
            HeadError::HeadTooLarge => "request head exceeds the connection's buffer",
            HeadError::TooManyEmptyLines => "too many empty lines before the request line",
            HeadError::BadRequestLine => "malformed request line",
            HeadError::BareLf => "request head line ends in a bare LF, not CRLF",
            HeadError::Http09Method => {
                "HTTP Request Line; Invalid method token (only GET is allowed for HTTP/0.9 requests)"
            }
            HeadError::Http09Refused => "HTTP Request Line; Rejected HTTP/0.9 request",
            HeadError::UnregisteredMethod => {
                "HTTP Request Line; Unrecognized HTTP method (disallowed by RegisteredMethods)"
            }
            HeadError::Http2Preface => "HTTP/2 connection preface on an HTTP/1.1 connection",
            HeadError::BadMethod => "invalid method token",
            HeadError::BadTarget => "invalid request target",
            HeadError::BadVersion => "unrecognized protocol in request line",
            HeadError::BadField => "malformed request header field",
            HeadError::ObsFold => "request header line folding (obs-fold) refused",
            HeadError::MissingHost => "client sent HTTP/1.1 request without hostname",
            HeadError::MultipleHosts => "client sent more than one Host header",
            HeadError::BadHost => "client sent malformed Host header",
            HeadError::BadContentLength => "client sent invalid Content-Length",
            HeadError::LengthAndChunked => "client sent both Transfer-Encoding and Content-Length",
            HeadError::ChunkedNotFinal => "client sent unknown Transfer-Encoding",
            HeadError::UnsupportedTransferCoding => "client sent unsupported transfer coding",
            HeadError::TransferEncodingInHttp10 => {
                "client sent Transfer-Encoding in an HTTP/1.0 request"
            }
            HeadError::BodyTooLarge => "requested content-length exceeds LimitRequestBody",
            HeadError::UnsupportedExpectation => {
                "client sent an unrecognized expectation value of Expect"
            }
            HeadError::Incomplete => "request head ends before the empty line",
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason(), self.status().code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn statuses_and_display() {
        assert_eq!(HeadError::RequestLineTooLong.status().code(), 414);
        assert_eq!(HeadError::FieldTooLong.status().code(), 431);
        assert_eq!(HeadError::UnregisteredMethod.status().code(), 501);
        assert_eq!(HeadError::BareLf.status().code(), 400);
        assert_eq!(HeadError::Http2Preface.status().code(), 400);
        assert_eq!(HeadError::UnsupportedTransferCoding.status().code(), 501);
        assert_eq!(HeadError::ChunkedNotFinal.status().code(), 400);
        assert_eq!(HeadError::BodyTooLarge.status().code(), 413);
        assert_eq!(HeadError::UnsupportedExpectation.status().code(), 417);
        assert_eq!(
            HeadError::MissingHost.to_string(),
            "client sent HTTP/1.1 request without hostname (400)"
        );
    }
}
