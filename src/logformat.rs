//! `LogFormat` strings (mod_log_config), parsed once at start-up and rendered per request.
//!
//! Supported directives: `%%`, `%a`, `%{c}a`, `%A`, `%b`, `%B`, `%D`, `%T`, `%{s|ms|us}T`, `%f`,
//! `%h`, `%H`, `%{Name}i`, `%{Name}o`, `%I`, `%k`, `%l`, `%L`, `%m`, `%O`, `%p`,
//! `%{canonical|local|remote}p`, `%P`, `%q`, `%r`, `%s`, `%<s`, `%>s`, `%t`, `%{sec|msec|usec}t`,
//! `%u`, `%U`, `%v`, `%V`, `%X`. An unknown directive is a configuration error, as in httpd.
//! Conditional forms (`%400,501{…}i`) are refused with a clear message.
//!
//! Like httpd, text that came from the client (the request line, headers) is escaped: `"`, `\`
//! and control bytes are written as `\"`, `\\` and `\xhh`, so a log line cannot be forged.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventmpm_core::http1::Header;
use eventmpm_core::{byte_scan, decimal};

/// The longest literal rendered as [`Item::Short`].
const SHORT: usize = 8;

/// The `common` nickname's format.
pub const COMMON: &str = "%h %l %u %t \"%r\" %>s %b";
/// The `combined` nickname's format.
pub const COMBINED: &str = "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Literal(String),
    /// A one-byte literal (the spaces between items): a push, not a copy.
    Byte(u8),
    /// A literal of at most [`SHORT`] bytes (` - - `, ` "`), padded: copied as a whole
    /// block (a few stores, no `memcpy` call) and the padding cut off.
    Short([u8; SHORT], u8),
    /// `%u`: the authenticated user.
    RemoteUser,
    ClientIp,
    PeerIp,
    LocalIp,
    BodyBytesClf,
    BodyBytes,
    DurationUs,
    DurationSecs(TimeUnit),
    Filename,
    RemoteHost,
    Protocol,
    RequestHeader(String),
    ResponseHeader(String),
    BytesIn,
    KeepAlives,
    Method,
    BytesOut,
    Port(PortKind),
    Pid,
    Query,
    RequestLine,
    Status,
    Time,
    TimeEpoch(TimeUnit),
    UrlPath,
    ServerName,
    HostHeader,
    ConnStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeUnit {
    S,
    Ms,
    Us,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortKind {
    Canonical,
    Local,
    Remote,
}

/// A parsed `LogFormat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormat {
    items: Vec<Item>,
    /// `CustomLog … env=[!]VAR`: log only requests with (without) the variable.
    only_if: Option<(bool, String)>,
}

/// What one logged request looked like.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address on this connection.
    pub local: SocketAddr,
    /// The request line, as received (empty if none was read).
    pub request_line: &'a [u8],
    /// The method.
    pub method: &'a str,
    /// The URL path (not decoded), without the query.
    pub path: &'a [u8],
    /// The query string, without `?`.
    pub query: Option<&'a [u8]>,
    /// The protocol, e.g. `HTTP/1.1`.
    pub protocol: &'a str,
    /// Request header fields, as parsed.
    pub request_headers: &'a [Header<'a>],
    /// Selected response headers.
    pub response_headers: &'a [(&'a str, &'a [u8])],
    /// The final status.
    pub status: u16,
    /// Response body bytes sent.
    pub body_bytes: u64,
    /// Bytes received, head included.
    pub bytes_in: u64,
    /// Bytes sent, head included.
    pub bytes_out: u64,
    /// When the request started.
    pub start: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// Requests served on this connection before this one.
    pub keep_alives: u32,
    /// Whether the connection stays open after this response.
    pub keep_alive: bool,
    /// The file served, if any.
    pub filename: Option<&'a str>,
    /// The configured ServerName.
    pub server_name: &'a str,
    /// The request's Host, if any.
    pub host: Option<&'a [u8]>,
    /// The user Basic authentication found (`%u`).
    pub user: Option<&'a str>,
    /// The request's environment variables (SetEnvIf, SetEnv), for `CustomLog … env=`.
    pub vars: &'a [(String, String)],
}

impl LogFormat {
    /// Parse a format string; `Err` carries httpd-style wording.
    pub fn parse(fmt: &str) -> Result<LogFormat, String> {
        let mut items = Vec::new();
        let mut lit = String::new();
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            let mut arg: Option<String> = None;
            let mut spec = chars.next().ok_or("LogFormat ends with a lone '%'")?;
            // Status-redirect modifiers: %<s and %>s.
            if spec == '<' || spec == '>' {
                spec = chars
                    .next()
                    .ok_or("LogFormat ends after a '<' or '>' modifier")?;
            }
            if spec.is_ascii_digit() || spec == '!' {
                return Err(
                    "conditional LogFormat items (%400,501{...}i) are not supported".into(),
                );
            }
            if spec == '{' {
                let mut a = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) => a.push(ch),
                        None => return Err("LogFormat has an unterminated %{...}".into()),
                    }
                }
                arg = Some(a);
                spec = chars.next().ok_or("LogFormat ends after %{...}")?;
            }
            let unit = |a: &Option<String>| -> Result<TimeUnit, String> {
                match a.as_deref() {
                    None | Some("s") | Some("sec") => Ok(TimeUnit::S),
                    Some("ms") | Some("msec") => Ok(TimeUnit::Ms),
                    Some("us") | Some("usec") => Ok(TimeUnit::Us),
                    Some(o) => Err(format!("unsupported time unit '{o}' in LogFormat")),
                }
            };
            let item = match spec {
                '%' => {
                    lit.push('%');
                    continue;
                }
                'a' if arg.as_deref() == Some("c") => Item::PeerIp,
                'a' => Item::ClientIp,
                'A' => Item::LocalIp,
                'b' => Item::BodyBytesClf,
                'B' => Item::BodyBytes,
                'D' => Item::DurationUs,
                'T' => Item::DurationSecs(unit(&arg)?),
                'f' => Item::Filename,
                'h' => Item::RemoteHost,
                'H' => Item::Protocol,
                'i' => Item::RequestHeader(arg.take().ok_or("%i needs a header name: %{Name}i")?),
                'o' => Item::ResponseHeader(arg.take().ok_or("%o needs a header name: %{Name}o")?),
                'I' => Item::BytesIn,
                'k' => Item::KeepAlives,
                'u' => Item::RemoteUser,
                // Never known here: always a dash, so part of the literal text around it.
                'l' | 'L' => {
                    lit.push('-');
                    continue;
                }
                'm' => Item::Method,
                'O' => Item::BytesOut,
                'p' => Item::Port(match arg.as_deref() {
                    None | Some("canonical") => PortKind::Canonical,
                    Some("local") => PortKind::Local,
                    Some("remote") => PortKind::Remote,
                    Some(o) => return Err(format!("unsupported port kind '{o}' in LogFormat")),
                }),
                'P' => Item::Pid,
                'q' => Item::Query,
                'r' => Item::RequestLine,
                's' => Item::Status,
                't' if arg.is_none() => Item::Time,
                't' => Item::TimeEpoch(unit(&arg)?),
                'U' => Item::UrlPath,
                'v' => Item::ServerName,
                'V' => Item::HostHeader,
                'X' => Item::ConnStatus,
                other => return Err(format!("Unrecognized LogFormat directive %{other}")),
            };
            push_literal(&mut items, std::mem::take(&mut lit));
            items.push(item);
        }
        push_literal(&mut items, lit);
        Ok(LogFormat {
            items,
            only_if: None,
        })
    }

    /// The format with `CustomLog`'s condition `env=VAR` or `env=!VAR`.
    pub fn with_condition(mut self, clause: &str) -> Result<LogFormat, String> {
        let Some(var) = clause.strip_prefix("env=") else {
            return Err(format!(
                "CustomLog {clause}: eventmpm supports env=[!]VAR conditions only (not expr=)"
            ));
        };
        self.only_if = Some(match var.strip_prefix('!') {
            Some(v) => (false, v.to_string()),
            None => (true, var.to_string()),
        });
        Ok(self)
    }

    /// Whether a request is logged under this format's condition.
    pub fn wants(&self, e: &Entry<'_>) -> bool {
        match &self.only_if {
            None => true,
            Some((set, var)) => e.vars.iter().any(|(k, _)| k.eq_ignore_ascii_case(var)) == *set,
        }
    }

    /// Append one log line (with its newline) for `e` to `out`. `cache` is the rendering
    /// thread's own (see [`LineCache`]).
    pub fn render(&self, e: &Entry<'_>, cache: &mut LineCache, out: &mut Vec<u8>) {
        for item in &self.items {
            // Writing into a Vec cannot fail.
            let _ = render_item(item, e, cache, out);
        }
        out.push(b'\n');
    }
}

/// `lit` as the item that renders it, if not empty.
fn push_literal(items: &mut Vec<Item>, lit: String) {
    match *lit.as_bytes() {
        [] => {}
        [b] => items.push(Item::Byte(b)),
        ref short if short.len() <= SHORT => {
            let mut block = [0u8; SHORT];
            block[..short.len()].copy_from_slice(short);
            items.push(Item::Short(block, short.len() as u8));
        }
        _ => items.push(Item::Literal(lit)),
    }
}

/// What rendering reuses from one line to the next, one per logging thread: the `%t` text of
/// the current second (local time needs the zone's offset, formatted anew only when the second
/// changes — a zone's offset changes on a second boundary too), the process id (a system call
/// each time otherwise), and the text of the last client address shown (a thread's lines come
/// in runs from the same client, kept alive).
#[derive(Debug, Default)]
pub struct LineCache {
    /// Filled at first use, in the process that logs (not one it was forked from).
    pid: Option<u32>,
    /// The second `time` shows, as the instants it starts and ends at: a line's time is
    /// compared with them, not converted, while the second lasts.
    second: Option<(SystemTime, SystemTime)>,
    /// `[10/Oct/2000:13:55:36 -0700]`.
    time: String,
    /// The address `ip_text` shows.
    ip: Option<IpAddr>,
    /// `ip` as `Display` writes it.
    ip_text: Vec<u8>,
}

impl LineCache {
    /// The `%t` text of the second `t` falls in.
    fn clf_time(&mut self, t: SystemTime) -> &[u8] {
        if !self
            .second
            .is_some_and(|(start, end)| start <= t && t < end)
        {
            let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            // A time before 1970 or at the end of time has no window: formatted each line.
            self.second = UNIX_EPOCH
                .checked_add(Duration::from_secs(secs))
                .and_then(|start| Some((start, start.checked_add(Duration::from_secs(1))?)));
            self.time.clear();
            write_clf_time(&mut self.time, secs as i64);
        }
        self.time.as_bytes()
    }

    /// `ip` as `Display` writes it.
    fn ip(&mut self, ip: IpAddr) -> &[u8] {
        if self.ip != Some(ip) {
            self.ip = Some(ip);
            self.ip_text.clear();
            push_ip(&mut self.ip_text, ip);
        }
        &self.ip_text
    }

    fn pid(&mut self) -> u32 {
        *self.pid.get_or_insert_with(std::process::id)
    }
}

fn render_item(
    item: &Item,
    e: &Entry<'_>,
    cache: &mut LineCache,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    match item {
        Item::Literal(s) => out.extend_from_slice(s.as_bytes()),
        Item::Byte(b) => out.push(*b),
        Item::Short(block, len) => {
            let end = out.len() + usize::from(*len);
            out.extend_from_slice(block);
            out.truncate(end);
        }
        Item::ClientIp | Item::PeerIp | Item::RemoteHost => {
            out.extend_from_slice(cache.ip(e.peer.ip()))
        }
        Item::LocalIp => push_ip(out, e.local.ip()),
        Item::BodyBytesClf if e.body_bytes == 0 => out.push(b'-'),
        Item::BodyBytesClf | Item::BodyBytes => push_decimal(out, e.body_bytes),
        Item::DurationUs => push_decimal(out, e.duration.as_micros() as u64),
        Item::DurationSecs(TimeUnit::S) => push_decimal(out, e.duration.as_secs()),
        Item::DurationSecs(TimeUnit::Ms) => push_decimal(out, e.duration.as_millis() as u64),
        Item::DurationSecs(TimeUnit::Us) => push_decimal(out, e.duration.as_micros() as u64),
        Item::Filename => dash_or(out, e.filename.map(str::as_bytes)),
        Item::Protocol => out.extend_from_slice(e.protocol.as_bytes()),
        Item::RequestHeader(name) => dash_or(
            out,
            e.request_headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value),
        ),
        Item::ResponseHeader(name) => dash_or(out, find(e.response_headers, name)),
        Item::BytesIn => push_decimal(out, e.bytes_in),
        Item::KeepAlives => push_decimal(out, u64::from(e.keep_alives)),
        // httpd shows an empty user name as `""`.
        Item::RemoteUser => match e.user {
            None => out.push(b'-'),
            Some("") => out.extend_from_slice(b"\"\""),
            Some(u) => escape(out, u.as_bytes()),
        },
        Item::Method => escape(out, e.method.as_bytes()),
        Item::BytesOut => push_decimal(out, e.bytes_out),
        Item::Port(PortKind::Remote) => push_decimal(out, u64::from(e.peer.port())),
        Item::Port(_) => push_decimal(out, u64::from(e.local.port())),
        Item::Pid => push_decimal(out, u64::from(cache.pid())),
        Item::Query => {
            if let Some(q) = e.query {
                out.push(b'?');
                escape(out, q);
            }
        }
        Item::RequestLine => escape(out, e.request_line),
        Item::Status => push_decimal(out, u64::from(e.status)),
        Item::Time => out.extend_from_slice(cache.clf_time(e.start)),
        Item::TimeEpoch(unit) => {
            let d = e.start.duration_since(UNIX_EPOCH).unwrap_or_default();
            match unit {
                TimeUnit::S => push_decimal(out, d.as_secs()),
                TimeUnit::Ms => push_decimal(out, d.as_millis() as u64),
                TimeUnit::Us => push_decimal(out, d.as_micros() as u64),
            }
        }
        Item::UrlPath => escape(out, e.path),
        Item::ServerName => escape(out, e.server_name.as_bytes()),
        Item::HostHeader => match e.host {
            Some(h) => escape(out, h),
            None => escape(out, e.server_name.as_bytes()),
        },
        Item::ConnStatus => out.push(if e.keep_alive { b'+' } else { b'-' }),
    }
    Ok(())
}

fn find<'a>(headers: &[(&str, &'a [u8])], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

fn dash_or(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        Some(v) => escape(out, v),
        None => out.push(b'-'),
    }
}

/// `n` in decimal. Every line has several numbers; `write!` through `core::fmt` cost more
/// than the rest of the line's rendering.
fn push_decimal(out: &mut Vec<u8>, n: u64) {
    // Room for the widest number is appended as one fixed-size copy (a couple of stores, no
    // `memcpy` call), the digits written in place, and the room left over cut off.
    let start = out.len();
    let width = decimal::width(n);
    out.extend_from_slice(&[0u8; 20]);
    decimal::write(n, &mut out[start..start + width]);
    out.truncate(start + width);
}

/// `ip` as `Display` writes it; an IPv4 address (the common case) without `core::fmt`.
fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_decimal(out, u64::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// httpd's `ap_escape_logitem`: quotes, backslashes and non-printable bytes are escaped.
fn escape(out: &mut Vec<u8>, s: &[u8]) {
    // Most items need no escape at all: a check of every byte that compiles to vector code
    // says so, and the item is copied at once.
    if !byte_scan::any(s, escaped) {
        out.extend_from_slice(s);
        return;
    }
    let plain = s.iter().position(|&b| escaped(b)).unwrap_or(s.len());
    out.extend_from_slice(&s[..plain]);
    for &b in &s[plain..] {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x20..=0x7e => out.push(b),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

/// Whether a log line shows `b` escaped.
fn escaped(b: u8) -> bool {
    !(0x20..=0x7e).contains(&b) || b == b'"' || b == b'\\'
}

/// Append `[10/Oct/2000:13:55:36 -0700]`, `secs` in local time, to `s`.
fn write_clf_time(s: &mut String, secs: i64) {
    let (dt, offset) = local_time(secs);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    let _ = write!(
        s,
        "[{:02}/{}/{:04}:{:02}:{:02}:{:02} {}{:02}{:02}]",
        dt.day,
        dt.month_name(),
        dt.year,
        dt.hour,
        dt.minute,
        dt.second,
        sign,
        off / 3600,
        off % 3600 / 60
    );
}

/// The local calendar time of `secs` and the zone's offset from UTC in seconds.
pub fn local_time(secs: i64) -> (eventmpm_core::calendar::DateTime, i64) {
    let offset = crate::sys::utc_offset(secs).unwrap_or(0);
    (
        eventmpm_core::calendar::DateTime::from_unix(secs + offset),
        offset,
    )
}

/// The local zone's offset from UTC in seconds and its abbreviation (`%Z`), at `secs`.
pub fn local_zone(secs: i64) -> (i32, String) {
    match crate::sys::local_zone(secs) {
        Some((offset, zone)) if !zone.is_empty() => (offset as i32, zone),
        Some((offset, _)) => (offset as i32, "UTC".into()),
        None => (0, "UTC".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_as_display_writes_them() {
        for n in [0, 7, 10, 99, 100, 65_535, 1_000_000, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
        for ip in [
            "0.0.0.0",
            "10.0.0.255",
            "192.168.1.20",
            "::1",
            "fe80::1:2",
            "::ffff:1.2.3.4",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = Vec::new();
            push_ip(&mut out, ip);
            assert_eq!(out, ip.to_string().into_bytes());
        }
    }

    #[test]
    fn escaping_starts_where_the_first_byte_needs_it() {
        for (raw, shown) in [
            (&b""[..], ""),
            (b"plain /path?q=1", "plain /path?q=1"),
            (b"a\"b", "a\\\"b"),
            (b"\\x", "\\\\x"),
            (b"tab\there\n", "tab\\there\\n"),
            (b"\x01\x7f\xff", "\\x01\\x7f\\xff"),
        ] {
            let mut out = Vec::new();
            escape(&mut out, raw);
            assert_eq!(String::from_utf8(out).unwrap(), shown);
        }
    }

    fn entry<'a>(headers: &'a [Header<'a>]) -> Entry<'a> {
        Entry {
            peer: "127.0.0.1:51000".parse().unwrap(),
            local: "127.0.0.1:8080".parse().unwrap(),
            request_line: b"GET /a%20b?x=1 HTTP/1.1",
            method: "GET",
            path: b"/a%20b",
            query: Some(b"x=1"),
            protocol: "HTTP/1.1",
            request_headers: headers,
            response_headers: &[("Content-Type", b"text/html")],
            status: 200,
            body_bytes: 0,
            bytes_in: 80,
            bytes_out: 200,
            start: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            duration: Duration::from_micros(1234),
            keep_alives: 2,
            keep_alive: true,
            filename: None,
            server_name: "localhost",
            host: None,
            user: None,
            vars: &[],
        }
    }

    #[test]
    fn env_conditions() {
        let vars = [("dontlog".to_string(), "1".to_string())];
        let mut e = entry(&[]);
        let plain = LogFormat::parse("%s").unwrap();
        let without = plain.clone().with_condition("env=!DontLog").unwrap();
        let with = plain.clone().with_condition("env=dontlog").unwrap();
        assert!(plain.wants(&e) && without.wants(&e) && !with.wants(&e));
        e.vars = &vars;
        assert!(plain.wants(&e) && !without.wants(&e) && with.wants(&e));
        assert!(plain.with_condition("expr=true").is_err());
    }

    #[test]
    fn remote_user() {
        let mut e = entry(&[]);
        assert_eq!(render("%u", &e), "-\n");
        e.user = Some("ann");
        assert_eq!(render("%u %l", &e), "ann -\n");
        e.user = Some("");
        assert_eq!(render("%u", &e), "\"\"\n");
    }

    fn render(fmt: &str, e: &Entry<'_>) -> String {
        let mut out = Vec::new();
        LogFormat::parse(fmt)
            .unwrap()
            .render(e, &mut LineCache::default(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn common_and_combined() {
        let h = [
            Header {
                name: "User-Agent",
                value: b"curl/8.0 \"x\"",
            },
            Header {
                name: "referer",
                value: b"http://r/",
            },
        ];
        let e = entry(&h);
        let line = render(COMMON, &e);
        assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
        assert!(
            line.ends_with("] \"GET /a%20b?x=1 HTTP/1.1\" 200 -\n"),
            "{line}"
        );
        let line = render(COMBINED, &e);
        assert!(
            line.ends_with(" 200 - \"http://r/\" \"curl/8.0 \\\"x\\\"\"\n"),
            "{line}"
        );
    }

    #[test]
    fn other_directives() {
        let e = entry(&[]);
        assert_eq!(
            render(
                "%D %{ms}T %k %X %m %U%q %H %{remote}p %p %s %>s %B %I %O %{Content-Type}o %%",
                &e
            ),
            "1234 1 2 + GET /a%20b?x=1 HTTP/1.1 51000 8080 200 200 0 80 200 text/html %\n"
        );
        assert_eq!(render("%{sec}t", &e), "1700000000\n");
        assert_eq!(render("%{Missing}i", &e), "-\n");
    }

    #[test]
    fn escapes_are_found_at_every_position_and_length() {
        for len in 0..70 {
            let mut raw = vec![b'a'; len];
            for at in 0..len {
                for b in [0u8, b'\n', 0x1f, b'"', b'\\', 0x7f, 0x80, 0xff, b' ', b'~'] {
                    let keep = raw[at];
                    raw[at] = b;
                    let mut out = Vec::new();
                    escape(&mut out, &raw);
                    let shown = String::from_utf8(out).unwrap();
                    assert_eq!(shown.len() == len, !escaped(b), "{shown}");
                    raw[at] = keep;
                }
            }
        }
    }

    #[test]
    fn dashes_and_single_bytes_join_the_literal_text() {
        let e = entry(&[]);
        assert_eq!(render("%l %u%L|x%%%l", &e), "- --|x%-\n");
        assert_eq!(render(" ", &e), " \n");
        assert_eq!(render("", &e), "\n");
        // Literals either side of the short-literal limit, between items.
        assert_eq!(
            render("%s12345678%s|123456789|%s", &e),
            "20012345678200|123456789|200\n"
        );
        assert_eq!(render("ab%sab", &e), "ab200ab\n");
        assert_eq!(
            LogFormat::parse("%h %l %L %s").unwrap().items,
            [
                Item::RemoteHost,
                Item::Short(*b" - - \0\0\0", 5),
                Item::Status
            ]
        );
    }

    #[test]
    fn client_bytes_are_escaped() {
        let mut e = entry(&[]);
        e.request_line = b"GET /\x01\"\\ HTTP/1.1\n";
        assert_eq!(render("%r", &e), "GET /\\x01\\\"\\\\ HTTP/1.1\\n\n");
    }

    #[test]
    fn the_time_is_formatted_once_per_second() {
        let f = LogFormat::parse("%t %P").unwrap();
        let mut cache = LineCache::default();
        let mut e = entry(&[]);
        let line = |e: &Entry<'_>, cache: &mut LineCache| {
            let mut out = Vec::new();
            f.render(e, cache, &mut out);
            String::from_utf8(out).unwrap()
        };
        let first = line(&e, &mut cache);
        assert!(
            first.ends_with(&format!("] {}\n", std::process::id())),
            "{first}"
        );
        // Within the same second the cached text is used: a planted one shows.
        cache.time = "[cached]".into();
        e.start += Duration::from_millis(999);
        assert!(line(&e, &mut cache).starts_with("[cached] "));
        // The next second is formatted anew.
        e.start += Duration::from_millis(1);
        let next = line(&e, &mut cache);
        assert!(
            next.starts_with('[') && next != first,
            "{next} after {first}"
        );
        let fresh = line(&e, &mut LineCache::default());
        assert_eq!(next, fresh);
    }

    #[test]
    fn the_client_address_text_follows_the_address() {
        let f = LogFormat::parse("%h %a %{c}a").unwrap();
        let mut cache = LineCache::default();
        let mut e = entry(&[]);
        for peer in [
            "10.0.0.1:1",
            "10.0.0.1:2",
            "[::1]:3",
            "192.168.7.200:4",
            "10.0.0.1:5",
        ] {
            e.peer = peer.parse().unwrap();
            let ip = e.peer.ip();
            let mut out = Vec::new();
            f.render(&e, &mut cache, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{ip} {ip} {ip}\n"));
        }
    }

    #[test]
    fn times_outside_any_window_are_still_formatted() {
        let f = LogFormat::parse("%t").unwrap();
        let mut cache = LineCache::default();
        let mut e = entry(&[]);
        let line = |e: &Entry<'_>, cache: &mut LineCache| {
            let mut out = Vec::new();
            f.render(e, cache, &mut out);
            String::from_utf8(out).unwrap()
        };
        e.start = UNIX_EPOCH - Duration::from_secs(5);
        let before = line(&e, &mut cache);
        e.start = UNIX_EPOCH;
        assert_eq!(line(&e, &mut cache), before);
        e.start = UNIX_EPOCH + Duration::from_secs(86_400 * 365);
        let later = line(&e, &mut cache);
        assert_ne!(later, before);
        assert_eq!(later, line(&e, &mut LineCache::default()));
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            LogFormat::parse("%Z").unwrap_err(),
            "Unrecognized LogFormat directive %Z"
        );
        assert!(LogFormat::parse("%{Foo").is_err());
        assert!(LogFormat::parse("%400{Foo}i").is_err());
        assert!(LogFormat::parse("abc %").is_err());
        assert!(LogFormat::parse("%i").is_err());
    }
}
