//! The request size limits httpd's core module enforces, with its defaults.

/// Bounds on a request's head and body: `LimitRequestLine`, `LimitRequestFieldSize`,
/// `LimitRequestFields` and `LimitRequestBody`.
///
/// Lengths count the bytes of a line without its line ending, as httpd does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Longest request line, in bytes; longer is 414.
    #[doc(alias = "LimitRequestLine")]
    pub request_line: u32,
    /// Longest header (or trailer) field line, in bytes; longer is 431.
    #[doc(alias = "LimitRequestFieldSize")]
    pub field_size: u32,
    /// Most header (or trailer) field lines; more is 431. 0 means unlimited, as in httpd (the
    /// caller's header array still bounds [`parse`](super::parse)).
    #[doc(alias = "LimitRequestFields")]
    pub fields: u32,
    /// Largest request body, in bytes; larger is 413. 0 means unlimited.
    #[doc(alias = "LimitRequestBody")]
    pub body: u64,
}

impl Limits {
    /// httpd 2.4's defaults: 8190, 8190, 100 and 1 GiB (the body default since 2.4.54).
    pub const DEFAULT: Limits = Limits {
        request_line: 8190,
        field_size: 8190,
        fields: 100,
        body: 1 << 30,
    };

    /// Whether `len` bytes of body are within [`Limits::body`].
    pub const fn body_allows(&self, len: u64) -> bool {
        self.body == 0 || len <= self.body
    }

    /// The longest request head these limits allow, in bytes: the empty lines a client may send
    /// first, the request line, [`fields`](Self::fields) field lines of
    /// [`field_size`](Self::field_size) bytes, each with its CRLF, and the final CRLF. httpd has no
    /// other bound on a head, so a server must be ready to hold this much for one request (about
    /// 800 KiB with the defaults); the runtime grows a connection's buffer to it only when a head
    /// needs the room. With `LimitRequestFields 0` the field lines may take
    /// [`UNLIMITED_FIELDS_BYTES`](Self::UNLIMITED_FIELDS_BYTES) in all.
    pub const fn max_head_len(&self) -> u64 {
        let empty_lines = 2 * super::scan::MAX_EMPTY_LINES as u64;
        let line = self.request_line as u64 + 2;
        let fields = match self.fields {
            0 => Limits::UNLIMITED_FIELDS_BYTES,
            n => (n as u64).saturating_mul(self.field_size as u64 + 2),
        };
        fields.saturating_add(empty_lines + line + 2)
    }

    /// The bytes of field lines a head may hold when `LimitRequestFields` is 0 (httpd: no bound).
    pub const UNLIMITED_FIELDS_BYTES: u64 = 1 << 20;

    /// Whether a head may hold `count` field lines.
    pub(crate) const fn fields_allow(&self, count: u32) -> bool {
        self.fields == 0 || count <= self.fields
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_unlimited_for_fields_and_body_only() {
        let mut l = Limits::DEFAULT;
        assert_eq!(l, Limits::DEFAULT);
        assert!(l.body_allows(1 << 30));
        assert!(!l.body_allows((1 << 30) + 1));
        assert!(l.fields_allow(100));
        assert!(!l.fields_allow(101));
        l.body = 0;
        l.fields = 0;
        assert!(l.body_allows(u64::MAX));
        assert!(l.fields_allow(u32::MAX));
    }

    #[test]
    fn the_longest_head() {
        // 20 + 8192 + 100 x 8192 + 2: httpd's defaults admit heads of about 800 KiB.
        assert_eq!(Limits::DEFAULT.max_head_len(), 827_414);
        let l = Limits {
            fields: 0,
            ..Limits::DEFAULT
        };
        assert_eq!(l.max_head_len(), 20 + 8192 + (1 << 20) + 2);
        let huge = Limits {
            request_line: u32::MAX,
            field_size: u32::MAX,
            fields: u32::MAX,
            body: 0,
        };
        assert_eq!(huge.max_head_len(), u64::MAX);
    }
}
