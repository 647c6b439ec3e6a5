//! A client that speaks plain HTTP to an HTTPS port gets mod_ssl's answer: a `400` page in
//! plain text whose reason says so ("You're speaking plain HTTP to an SSL-enabled server
//! port"), then the close. Tools recognise HTTPS ports by that sentence.

use std::io::Write;

use eventmpm_core::http1::Status;
use eventmpm_core::http1::date;
use eventmpm_core::http1::error_page::ErrorPage;

/// mod_ssl's error note, word for word (`ssl_engine_kernel.c`).
const NOTE: &str = "Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n \
                    Instead use the HTTPS scheme to access this URL, please.<br />\n";

/// Whether `first` (the first bytes a connection sent) is a plain HTTP request rather than a
/// TLS record: an upper-case token and a space (OpenSSL's `SSL_R_HTTP_REQUEST` test looks for
/// `GET `, `POST `, `HEAD `, `PUT ` and `CONNECT`; any method is taken here).
pub fn looks_like_http(first: &[u8]) -> bool {
    let token = first.iter().take_while(|b| b.is_ascii_uppercase()).count();
    token >= 3 && first.get(token) == Some(&b' ')
}

/// The whole response: httpd's 400 page with the note, `Connection: close`.
pub fn response() -> Vec<u8> {
    let mut page = [0u8; 1024];
    let n = ErrorPage::new(Status::BAD_REQUEST)
        .write(&mut page)
        .unwrap_or(0);
    let page = String::from_utf8_lossy(&page[..n]);
    // httpd's add_optional_notes: the note goes between the text and its closing `</p>`.
    let body = page.replacen("<br />\n</p>\n", &format!("<br />\n{NOTE}</p>\n"), 1);
    let d = date::format(crate::site::now_unix());
    let mut out = Vec::with_capacity(256 + body.len());
    let _ = write!(
        out,
        "HTTP/1.1 400 Bad Request\r\nDate: {}\r\nContent-Length: {}\r\nConnection: close\r\n\
         Content-Type: text/html; charset=iso-8859-1\r\n\r\n{body}",
        std::str::from_utf8(&d).unwrap_or(""),
        body.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_requests_are_told_from_tls_records() {
        assert!(looks_like_http(b"GET / HT"));
        assert!(looks_like_http(b"OPTIONS "));
        assert!(!looks_like_http(b"\x16\x03\x01\x02\x00\x01\x00\x01"));
        assert!(!looks_like_http(b"get / HT"));
        assert!(!looks_like_http(b"GE"));
    }

    #[test]
    fn the_page_carries_mod_ssls_note() {
        let r = String::from_utf8(response()).unwrap();
        assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(r.contains(
            "<p>Your browser sent a request that this server could not understand.<br />\n\
             Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n \
             Instead use the HTTPS scheme to access this URL, please.<br />\n</p>\n"
        ));
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())));
    }
}
