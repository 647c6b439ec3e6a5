//! `ServerSignature`: the `<address>` line httpd's error pages end with (`ap_psignature`),
//! naming the server software, the host name the request used and the port.

use std::io::Write as _;

use crate::config::Signature;

/// The page's end, before which the line goes.
const PAGE_END: &[u8] = b"</body></html>\n";

/// Insert the signature into `page` (an error page ending in `</body></html>`): `software`
/// is the `Server` banner, `name` the request's host name (its `Host` without port, else the
/// host's ServerName), `port` the `Host` field's port (else 80, httpd's default port for
/// `http`), `admin` the ServerAdmin for [`Signature::Email`]. Does nothing for
/// [`Signature::Off`] or a page without that end.
pub(super) fn append(
    page: &mut Vec<u8>,
    signature: Signature,
    software: &str,
    name: &[u8],
    port: u16,
    admin: &str,
) {
    append_after(page, b"<hr>\n", signature, software, name, port, admin);
}

/// [`append`] with `prefix` before the `<address>` line in place of error pages' `<hr>`:
/// mod_autoindex's listings have none (`ap_psignature("", r)`).
pub(super) fn append_after(
    page: &mut Vec<u8>,
    prefix: &[u8],
    signature: Signature,
    software: &str,
    name: &[u8],
    port: u16,
    admin: &str,
) {
    if signature == Signature::Off || !page.ends_with(PAGE_END) {
        return;
    }
    let body_end = page.len() - PAGE_END.len();
    page.truncate(body_end);
    page.extend_from_slice(prefix);
    page.extend_from_slice(b"<address>");
    escape_html(page, software.as_bytes());
    page.extend_from_slice(b" Server at ");
    if signature == Signature::Email {
        page.extend_from_slice(b"<a href=\"");
        // httpd's ap_is_url: an admin given as a URL is linked as it is.
        if !admin.contains("://") {
            page.extend_from_slice(b"mailto:");
        }
        escape_html(page, admin.as_bytes());
        page.extend_from_slice(b"\">");
        escape_html(page, name);
        page.extend_from_slice(b"</a>");
    } else {
        escape_html(page, name);
    }
    let _ = writeln!(page, " Port {port}</address>");
    page.extend_from_slice(PAGE_END);
}

/// The name and port a request's `Host` names (httpd's `r->hostname` and
/// `parsed_uri.port`): lowercase, without a trailing dot or IPv6 brackets.
pub(super) fn host_and_port(host: &str) -> (&str, Option<u16>) {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => (rest, None),
        }
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (host, None),
        }
    };
    (
        name.strip_suffix('.').unwrap_or(name),
        port.and_then(|p| p.parse().ok()),
    )
}

/// httpd's `ap_escape_html`: `<`, `>`, `&` and `"` as entities.
fn escape_html(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        match b {
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<html><body>\n<p>x</p>\n</body></html>\n";

    #[test]
    fn the_line_goes_before_the_end_as_httpd_writes_it() {
        let mut page = PAGE.as_bytes().to_vec();
        append(
            &mut page,
            Signature::On,
            "eventmpm/0.1.0 (Unix)",
            b"www.example.org",
            8080,
            "",
        );
        assert_eq!(
            String::from_utf8(page).unwrap(),
            "<html><body>\n<p>x</p>\n<hr>\n<address>eventmpm/0.1.0 (Unix) Server at \
             www.example.org Port 8080</address>\n</body></html>\n"
        );
        let mut page = PAGE.as_bytes().to_vec();
        append(
            &mut page,
            Signature::Email,
            "s",
            b"a<b",
            80,
            "root@example.org",
        );
        assert!(
            String::from_utf8(page).unwrap().contains(
                "<address>s Server at <a href=\"mailto:root@example.org\">a&lt;b</a> Port 80</address>\n</body>"
            )
        );
        let mut page = PAGE.as_bytes().to_vec();
        append(&mut page, Signature::Off, "s", b"n", 80, "");
        assert_eq!(page, PAGE.as_bytes());
    }

    #[test]
    fn host_fields_split_into_name_and_port() {
        assert_eq!(
            host_and_port("example.org:8080"),
            ("example.org", Some(8080))
        );
        assert_eq!(host_and_port("example.org."), ("example.org", None));
        assert_eq!(host_and_port("[::1]:81"), ("::1", Some(81)));
        assert_eq!(host_and_port("[::1]"), ("::1", None));
        assert_eq!(host_and_port("::1"), ("::1", None));
    }
}
