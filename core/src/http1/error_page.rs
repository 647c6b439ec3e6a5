//! httpd's built-in error documents, byte for byte, and the `Allow` value for 405 answers.
//!
//! The texts are those of httpd 2.4's `get_canned_error_string` (`http_protocol.c`) in the frame
//! `ap_send_error_response` puts around them, so clients and tests that compare error bodies see
//! what Apache sends. Send them with [`CONTENT_TYPE`].

use super::writer::{TooSmall, Writer};
use super::{Method, Status};

/// The error documents' media type, as httpd labels them.
pub const CONTENT_TYPE: &[u8] = b"text/html; charset=iso-8859-1";

/// What an error document needs to know besides its status. Text from the request is
/// HTML-escaped.
#[derive(Clone, Copy, Debug)]
pub struct ErrorPage<'a> {
    /// The status the page explains.
    pub status: Status,
    /// The request's method, quoted by 405, 411, 413 and 501 pages.
    pub method: &'a str,
    /// `ServerAdmin`, quoted by the 500 page (and by the fallback for codes without a text of
    /// their own); httpd prints `[no address given]` when it is unset.
    pub server_admin: &'a str,
    /// The Location of a 301, 302, 303, 307 or 308 answer.
    pub location: &'a [u8],
    /// The Expect value a 417 answer refused.
    pub expect: &'a [u8],
    /// httpd's `error-notes`: HTML a module adds to a 400 or 403 page (mod_ssl's reason for
    /// refusing a client without SNI), written as it is.
    pub notes: &'a str,
    /// The status an `ErrorDocument` that was to answer this error met instead: httpd then
    /// sends its own page with a sentence saying so (`ap_send_error_response`'s
    /// `recursive_error`).
    pub additionally: Option<Status>,
}

impl<'a> ErrorPage<'a> {
    /// A page for `status` with no request details.
    pub fn new(status: Status) -> ErrorPage<'a> {
        ErrorPage {
            status,
            method: "",
            server_admin: "[no address given]",
            location: b"",
            expect: b"",
            notes: "",
            additionally: None,
        }
    }

    /// Writes the document into `out` and returns its length. Statuses without a body (1xx, 204,
    /// 304) give an empty document. Codes httpd has no text for get its internal-error text, as
    /// in httpd (this includes 505).
    #[doc(alias = "ap_send_error_response")]
    pub fn write(&self, out: &mut [u8]) -> Result<usize, TooSmall> {
        if !self.status.allows_body() {
            return Ok(0);
        }
        let mut w = Writer::new(out);
        let reason = self.status.reason();
        w.str(
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \
             \"http://www.w3.org/TR/html4/strict.dtd\">\n<html><head>\n<title>",
        )?;
        w.bytes(&self.status.digits())?;
        w.byte(b' ')?;
        w.str(reason)?;
        w.str("</title>\n</head><body>\n<h1>")?;
        w.str(reason)?;
        w.str("</h1>\n")?;
        self.text(&mut w)?;
        if let Some(other) = self.additionally {
            w.str("<p>Additionally, a ")?;
            w.bytes(&other.digits())?;
            w.byte(b' ')?;
            w.str(other.reason())?;
            w.str(
                "\nerror was encountered while trying to use an ErrorDocument to handle the \
                 request.</p>\n",
            )?;
        }
        w.str("</body></html>\n")?;
        Ok(w.len())
    }

    fn text(&self, w: &mut Writer<'_>) -> Result<(), TooSmall> {
        let method = self.method.as_bytes();
        match self.status.code() {
            301 | 302 | 307 | 308 => {
                w.str("<p>The document has moved <a href=\"")?;
                w.html_escaped(self.location)?;
                w.str("\">here</a>.</p>\n")
            }
            303 => {
                w.str("<p>The answer to your request is located <a href=\"")?;
                w.html_escaped(self.location)?;
                w.str("\">here</a>.</p>\n")
            }
            400 => {
                w.str(
                    "<p>Your browser sent a request that this server could not understand.<br />\n",
                )?;
                w.str(self.notes)?;
                w.str("</p>\n")
            }
            401 => w.str(
                "<p>This server could not verify that you\nare authorized to access the \
                 document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad \
                 password), or your\nbrowser doesn't understand how to supply\nthe credentials \
                 required.</p>\n",
            ),
            403 => {
                w.str("<p>You don't have permission to access this resource.")?;
                w.str(self.notes)?;
                w.str("</p>\n")
            }
            404 => w.str("<p>The requested URL was not found on this server.</p>\n"),
            405 => {
                w.str("<p>The requested method ")?;
                w.html_escaped(method)?;
                w.str(" is not allowed for this URL.</p>\n")
            }
            406 => w.str(
                "<p>An appropriate representation of the requested resource could not be \
                 found on this server.</p>\n",
            ),
            408 => w.str("<p>Server timeout waiting for the HTTP request from the client.</p>\n"),
            410 => w.str(
                "<p>The requested resource is no longer available on this server and there is \
                 no forwarding address.\nPlease remove all references to this resource.</p>\n",
            ),
            411 => {
                w.str("<p>A request of the requested method ")?;
                w.html_escaped(method)?;
                w.str(" requires a valid Content-length.<br />\n</p>\n")
            }
            412 => {
                w.str("<p>The precondition on the request for this URL evaluated to false.</p>\n")
            }
            413 => {
                w.str("The requested resource does not allow request data with ")?;
                w.html_escaped(method)?;
                w.str(
                    " requests, or the amount of data provided in\nthe request exceeds the \
                     capacity limit.\n",
                )
            }
            414 => w.str(
                "<p>The requested URL's length exceeds the capacity\nlimit for this \
                 server.<br />\n</p>\n",
            ),
            415 => w.str(
                "<p>The supplied request data is not in a format\nacceptable for processing by \
                 this resource.</p>\n",
            ),
            416 => w.str(
                "<p>None of the range-specifier values in the Range\nrequest-header field \
                 overlap the current extent\nof the selected resource.</p>\n",
            ),
            417 => {
                if self.expect.is_empty() {
                    w.str(
                        "<p>No expectation was seen, the Expect request-header \nfield was not \
                         presented by the client.\n",
                    )?;
                } else {
                    w.str(
                        "<p>The expectation given in the Expect request-header\nfield could not \
                         be met by this server.\nThe client sent<pre>\n    Expect: ",
                    )?;
                    w.html_escaped(self.expect)?;
                    w.str("\n</pre>\n")?;
                }
                w.str("</p><p>Only the 100-continue expectation is supported.</p>\n")
            }
            429 => {
                w.str("<p>The user has sent too many requests\nin a given amount of time.</p>\n")
            }
            431 => w.str(
                "<p>The server refused this request because\nthe request header fields are too \
                 large.</p>\n",
            ),
            501 => {
                w.str("<p>")?;
                w.html_escaped(method)?;
                w.str(" not supported for current URL.<br />\n</p>\n")
            }
            503 => w.str(
                "<p>The server is temporarily unable to service your\nrequest due to \
                 maintenance downtime or capacity\nproblems. Please try again later.</p>\n",
            ),
            _ => {
                w.str(
                    "<p>The server encountered an internal error or\nmisconfiguration and was \
                     unable to complete\nyour request.</p>\n<p>Please contact the server \
                     administrator at \n ",
                )?;
                w.html_escaped(self.server_admin.as_bytes())?;
                w.str(
                    " to inform them of the time this error occurred,\n and the actions you \
                     performed just before this error.</p>\n<p>More information about this \
                     error may be available\nin the server error log.</p>\n",
                )
            }
        }
    }
}

/// The `Allow` value for `methods`, comma-separated without spaces as httpd writes it
/// (`GET,HEAD,POST,OPTIONS`). Returns the bytes written.
pub fn allow_value(methods: &[Method<'_>], out: &mut [u8]) -> Result<usize, TooSmall> {
    let mut w = Writer::new(out);
    for (i, m) in methods.iter().enumerate() {
        if i > 0 {
            w.byte(b',')?;
        }
        w.str(m.as_str())?;
    }
    Ok(w.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::String;

    fn page(p: &ErrorPage<'_>) -> String {
        let mut buf = [0u8; 2048];
        let n = p.write(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn bodies_match_httpd_byte_counts() {
        // Content-Length values httpd 2.4.67 sent for these pages.
        let mut p = ErrorPage::new(Status::NOT_FOUND);
        assert_eq!(page(&p).len(), 236);
        p.status = Status::BAD_REQUEST;
        assert_eq!(page(&p).len(), 266);
        p.status = Status::REQUEST_URI_TOO_LONG;
        assert_eq!(page(&p).len(), 288);
        p.status = Status::NOT_IMPLEMENTED;
        p.method = "FOO";
        assert_eq!(page(&p).len(), 242);
        p.status = Status::EXPECTATION_FAILED;
        p.expect = b"foo";
        assert_eq!(page(&p).len(), 395);
    }

    #[test]
    fn a_404_page_in_full() {
        assert_eq!(
            page(&ErrorPage::new(Status::NOT_FOUND)),
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n\
             <html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n\
             <p>The requested URL was not found on this server.</p>\n</body></html>\n"
        );
    }

    #[test]
    fn a_failed_error_document_adds_httpds_sentence() {
        let mut p = ErrorPage::new(Status::FORBIDDEN);
        p.additionally = Some(Status::FORBIDDEN);
        // httpd 2.4.67's page for a 403 whose ErrorDocument was itself forbidden, less the
        // signature line.
        assert_eq!(
            page(&p),
            "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \"http://www.w3.org/TR/html4/strict.dtd\">\n\
             <html><head>\n<title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n\
             <p>You don't have permission to access this resource.</p>\n\
             <p>Additionally, a 403 Forbidden\nerror was encountered while trying to use an \
             ErrorDocument to handle the request.</p>\n</body></html>\n"
        );
    }

    #[test]
    fn request_text_is_escaped() {
        let mut p = ErrorPage::new(Status::METHOD_NOT_ALLOWED);
        p.method = "A&B";
        assert!(
            page(&p).contains("<p>The requested method A&amp;B is not allowed for this URL.</p>")
        );
        let mut p = ErrorPage::new(Status::MOVED_PERMANENTLY);
        p.location = b"/dir/?a=\"<x>\"";
        assert!(page(&p).contains("<a href=\"/dir/?a=&quot;&lt;x&gt;&quot;\">here</a>"));
        let mut p = ErrorPage::new(Status::INTERNAL_SERVER_ERROR);
        p.server_admin = "<admin@example.com>";
        assert!(page(&p).contains("\n &lt;admin@example.com&gt; to inform them"));
    }

    #[test]
    fn error_notes_go_inside_the_paragraph_as_httpd_puts_them() {
        let mut p = ErrorPage::new(Status::FORBIDDEN);
        p.notes = "Reason: why.<br />\n";
        assert!(page(&p).contains(
            "<p>You don't have permission to access this resource.Reason: why.<br />\n</p>\n"
        ));
        let mut p = ErrorPage::new(Status::BAD_REQUEST);
        p.notes = "more";
        assert!(page(&p).contains("could not understand.<br />\nmore</p>\n"));
    }

    #[test]
    fn every_listed_status_has_its_text() {
        let cases: [(Status, &str); 11] = [
            (Status::BAD_REQUEST, "could not understand"),
            (Status::FORBIDDEN, "You don't have permission"),
            (Status::NOT_FOUND, "was not found"),
            (Status::METHOD_NOT_ALLOWED, "is not allowed for this URL"),
            (Status::REQUEST_TIMEOUT, "Server timeout waiting"),
            (
                Status::REQUEST_ENTITY_TOO_LARGE,
                "exceeds the capacity limit",
            ),
            (Status::REQUEST_URI_TOO_LONG, "length exceeds the capacity"),
            (
                Status::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "header fields are too",
            ),
            (Status::INTERNAL_SERVER_ERROR, "[no address given]"),
            (Status::NOT_IMPLEMENTED, "not supported for current URL"),
            (
                Status::HTTP_VERSION_NOT_SUPPORTED,
                "internal error or\nmisconfiguration",
            ),
        ];
        for (status, text) in cases {
            let body = page(&ErrorPage::new(status));
            assert!(body.contains(text), "{status}: {body}");
            let title = std::format!("<title>{status}</title>");
            assert!(body.contains(&title), "{title}");
        }
        assert_eq!(page(&ErrorPage::new(Status::NO_CONTENT)), "");
        assert_eq!(page(&ErrorPage::new(Status::NOT_MODIFIED)), "");
    }

    #[test]
    fn small_buffers_and_allow() {
        let p = ErrorPage::new(Status::NOT_FOUND);
        assert_eq!(p.write(&mut [0u8; 235]), Err(TooSmall));
        assert_eq!(p.write(&mut [0u8; 236]), Ok(236));

        let mut buf = [0u8; 64];
        let n = allow_value(&[Method::Get, Method::Head, Method::Options], &mut buf).unwrap();
        assert_eq!(&buf[..n], b"GET,HEAD,OPTIONS");
        assert_eq!(allow_value(&[], &mut buf), Ok(0));
        assert_eq!(
            allow_value(&[Method::Options], &mut buf[..6]),
            Err(TooSmall)
        );
    }
}
