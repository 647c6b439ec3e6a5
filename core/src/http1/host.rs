//! Host values: `host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2).
//!
//! Stricter than RFC 3986's reg-name, as httpd's `fix_hostname` is: a name is letters, digits,
//! `-`, `.`, `_` and `~`; an IP literal is `[` hex digits, `:` and `.` `]`. Percent-encoding and
//! sub-delimiters, legal in a URI but never in a real host name, are refused, so virtual-host
//! matching and logs only ever see plain names.

use super::token::byte_table;

/// Whether `value` is a valid Host field value or target authority. An empty value is valid: RFC
/// 9112 §3.2 has clients send `Host:` empty when the target has no authority.
pub(crate) fn is_valid_host(value: &[u8]) -> bool {
    if value.is_empty() {
        return true;
    }
    let (host, port) = if value.first() == Some(&b'[') {
        let Some(close) = value.iter().position(|&b| b == b']') else {
            return false;
        };
        let (literal, rest) = value.split_at(close + 1);
        let inner = literal.get(1..close).unwrap_or(&[]);
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        match rest.split_first() {
            None => return true,
            Some((b':', port)) => (literal, port),
            Some(_) => return false,
        }
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (
                value.get(..colon).unwrap_or(&[]),
                value.get(colon + 1..).unwrap_or(&[]),
            ),
            None => (value, &[][..]),
        }
    };
    if host.is_empty() {
        return false;
    }
    if host.first() != Some(&b'[') && !host.iter().all(|&b| NAME_BYTE[usize::from(b)]) {
        return false;
    }
    is_valid_port(port)
}

/// Bytes of a host name: letters, digits, `-`, `.`, `_` and `~`.
static NAME_BYTE: [bool; 256] =
    byte_table!(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));

/// RFC 3986 allows an empty port (`example.com:`); a present one must fit in 16 bits.
fn is_valid_port(port: &[u8]) -> bool {
    if port.len() > 5 || !port.iter().all(u8::is_ascii_digit) {
        return false;
    }
    port.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')) <= 65535
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_addresses_and_ports() {
        for ok in [
            &b""[..],
            b"example.com",
            b"EXAMPLE.com:8080",
            b"a_b-c.d~e",
            b"127.0.0.1",
            b"127.0.0.1:80",
            b"[::1]",
            b"[::1]:443",
            b"[2001:db8::7]",
            b"[::ffff:192.0.2.1]:65535",
            b"host:",
        ] {
            assert!(is_valid_host(ok), "{:?}", core::str::from_utf8(ok));
        }
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            &b":80"[..],
            b"a b",
            b"a/b",
            b"a@b",
            b"a%41",
            b"a:b",
            b"a:65536",
            b"a:123456",
            b"[::1",
            b"[]",
            b"[::g]",
            b"[::1]x",
            b"[::1]:x",
            b"a\x00b",
            b"a,b",
            b"::1",
        ] {
            assert!(!is_valid_host(bad), "{:?}", core::str::from_utf8(bad));
        }
    }
}
