//! Media types by file extension: a built-in table, or a `TypesConfig` file (mime.types format).
//!
//! Like httpd (mod_mime with no `DefaultType`), a file whose extension is unknown gets no
//! `Content-Type` header at all rather than a guess.

use std::collections::HashMap;
use std::path::Path;

/// The built-in table: the types a static site needs, used when no `TypesConfig` is given.
const BUILT_IN: &[(&str, &str)] = &[
    ("html", "text/html"),
    ("htm", "text/html"),
    ("css", "text/css"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("txt", "text/plain"),
    ("text", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("xml", "application/xml"),
    ("xhtml", "application/xhtml+xml"),
    ("rss", "application/rss+xml"),
    ("atom", "application/atom+xml"),
    ("svg", "image/svg+xml"),
    ("svgz", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("ico", "image/vnd.microsoft.icon"),
    ("bmp", "image/bmp"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    ("wasm", "application/wasm"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tgz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("xz", "application/x-xz"),
    ("bz2", "application/x-bzip2"),
    ("7z", "application/x-7z-compressed"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("wav", "audio/wav"),
    ("flac", "audio/flac"),
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("webm", "video/webm"),
    ("ogv", "video/ogg"),
    ("mov", "video/quicktime"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("bin", "application/octet-stream"),
    ("exe", "application/octet-stream"),
    ("iso", "application/octet-stream"),
    ("deb", "application/vnd.debian.binary-package"),
    ("rpm", "application/x-rpm"),
    ("sh", "application/x-sh"),
    ("py", "text/x-python"),
    ("c", "text/x-c"),
    ("h", "text/x-c"),
    ("rs", "text/x-rust"),
];

/// An error in a `TypesConfig` file.
#[derive(Debug, PartialEq, Eq)]
pub struct TypesError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Extension → media type.
#[derive(Debug, Clone)]
pub struct MimeTypes {
    by_ext: HashMap<String, String>,
}

impl Default for MimeTypes {
    fn default() -> MimeTypes {
        MimeTypes::built_in()
    }
}

impl MimeTypes {
    /// The built-in table.
    pub fn built_in() -> MimeTypes {
        let by_ext = BUILT_IN
            .iter()
            .map(|(e, t)| (e.to_string(), t.to_string()))
            .collect();
        MimeTypes { by_ext }
    }

    /// Parse a mime.types file: `type/subtype ext ext …` per line, `#` comments. A later line
    /// overrides an earlier one for the same extension, as in httpd.
    pub fn parse(text: &str) -> Result<MimeTypes, TypesError> {
        let mut by_ext = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let Some(ty) = words.next() else { continue };
            if !valid_type(ty) {
                return Err(TypesError {
                    line: n + 1,
                    message: format!("'{ty}' is not a media type (type/subtype)"),
                });
            }
            for ext in words {
                by_ext.insert(
                    ext.trim_start_matches('.').to_ascii_lowercase(),
                    ty.to_string(),
                );
            }
        }
        Ok(MimeTypes { by_ext })
    }

    /// `AddType type ext…`: map the extensions (with or without their dot, case-insensitive)
    /// to `ty`, over what the table says.
    #[doc(alias = "AddType")]
    pub fn add(&mut self, ty: &str, exts: &[String]) -> Result<(), String> {
        if !valid_type(ty) {
            return Err(format!(
                "AddType: '{ty}' is not a media type (type/subtype)"
            ));
        }
        for ext in exts {
            self.by_ext.insert(
                ext.trim_start_matches('.').to_ascii_lowercase(),
                ty.to_string(),
            );
        }
        Ok(())
    }

    /// The media type for `path`'s extension (case-insensitive), if known.
    pub fn lookup(&self, path: &Path) -> Option<&str> {
        let ext = path.extension()?.to_str()?;
        if ext.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_ext
                .get(&ext.to_ascii_lowercase())
                .map(String::as_str)
        } else {
            self.by_ext.get(ext).map(String::as_str)
        }
    }
}

fn valid_type(ty: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    matches!(ty.split_once('/'), Some((a, b)) if token(a) && token(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_type_overrides_the_table_and_checks_the_type() {
        let mut m = MimeTypes::built_in();
        m.add("application/x-x509-ca-cert", &[".crt".into(), "DER".into()])
            .unwrap();
        assert_eq!(
            m.lookup(Path::new("a.crt")),
            Some("application/x-x509-ca-cert")
        );
        assert_eq!(
            m.lookup(Path::new("a.der")),
            Some("application/x-x509-ca-cert")
        );
        assert!(m.add("nonsense", &["x".into()]).is_err());
    }

    #[test]
    fn built_in_lookup_is_case_insensitive_and_unknown_is_none() {
        let m = MimeTypes::built_in();
        assert_eq!(m.lookup(Path::new("/a/index.html")), Some("text/html"));
        assert_eq!(m.lookup(Path::new("PHOTO.JPG")), Some("image/jpeg"));
        assert_eq!(
            m.lookup(Path::new("archive.tar.gz")),
            Some("application/gzip")
        );
        assert_eq!(m.lookup(Path::new("README")), None);
        assert_eq!(m.lookup(Path::new("x.unknownext")), None);
    }

    #[test]
    fn parses_mime_types_files() {
        let m = MimeTypes::parse(
            "# comment\n\ntext/html\t\thtml htm\napplication/x-foo foo\ntext/plain html\n",
        )
        .unwrap();
        assert_eq!(m.lookup(Path::new("a.foo")), Some("application/x-foo"));
        assert_eq!(m.lookup(Path::new("a.htm")), Some("text/html"));
        assert_eq!(
            m.lookup(Path::new("a.html")),
            Some("text/plain"),
            "later line wins"
        );
        let err = MimeTypes::parse("ok/type a\nnot-a-type b\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn debian_mime_types_parses_if_present() {
        // Debian's /etc/mime.types is the usual TypesConfig; when the machine has it, it must
        // parse cleanly and agree with the built-in table on the basics.
        if let Ok(text) = std::fs::read_to_string("/etc/mime.types") {
            let m = MimeTypes::parse(&text).unwrap();
            assert_eq!(m.lookup(Path::new("x.png")), Some("image/png"));
            assert_eq!(m.lookup(Path::new("x.css")), Some("text/css"));
        }
    }
}
