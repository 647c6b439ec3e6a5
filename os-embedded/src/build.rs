//! For a board's build script (feature `build`, std): compile a directory into a [`crate::tree`]
//! table, and check the firmware's httpd.conf so that an error stops the build with
//! `file:line: message`.

use std::fmt::Write as _;
use std::format;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::time::UNIX_EPOCH;
use std::vec;
use std::vec::Vec;

use eventmpm_core::config::tokenizer::MAX_LINE_LEN;
use eventmpm_core::http1::etag::Etag;

use crate::config::{self, Settings};

/// Most files a tree may hold, and the deepest directory nesting walked.
pub const MAX_FILES: usize = 4096;
const MAX_DEPTH: usize = 16;

/// Content types by extension: the common ones of httpd's `mime.types` a device serves.
const TYPES: [(&str, &str); 16] = [
    ("css", "text/css"),
    ("csv", "text/csv"),
    ("gif", "image/gif"),
    ("htm", "text/html"),
    ("html", "text/html"),
    ("ico", "image/vnd.microsoft.icon"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("svg", "image/svg+xml"),
    ("txt", "text/plain"),
    ("wasm", "application/wasm"),
    ("xml", "application/xml"),
];

/// The `Content-Type` for a file name, by its last extension.
pub fn content_type(name: &str) -> Option<&'static str> {
    let (_, ext) = name.rsplit_once('.')?;
    TYPES
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map(|(_, t)| *t)
}

/// Rust source for a `&[tree::File]` of every regular file under `root` (sorted by path),
/// each with its type, httpd's ETag and its modification time (no later than `now`, which a
/// reproducible build sets from `SOURCE_DATE_EPOCH`). Also returns the files read, for
/// `cargo:rerun-if-changed`.
pub fn file_tree(root: &Path, now: i64) -> std::io::Result<(String, Vec<PathBuf>)> {
    let mut files = Vec::new();
    walk(root, root, 0, &mut files)?;
    files.sort();
    let mut out = String::from("&[\n");
    for (url, path) in &files {
        let meta = std::fs::metadata(path)?;
        let modified = meta
            .modified()?
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut mtime_us = modified.as_micros() as u64;
        if modified.as_secs() as i64 > now {
            mtime_us = now.max(0) as u64 * 1_000_000;
        }
        // Flash cannot change under a response: the tag is never weak.
        let etag = Etag::for_file(None, meta.len(), mtime_us, u64::MAX);
        let etag = String::from_utf8_lossy(etag.as_bytes()).into_owned();
        let ty = match content_type(url) {
            Some(t) => format!("Some({t:?})"),
            None => "None".into(),
        };
        let _ = writeln!(
            out,
            "    eventmpm_os_embedded::tree::File {{ path: {url:?}, content_type: {ty}, etag: {etag:?}, modified: {}, body: include_bytes!({:?}) }},",
            mtime_us / 1_000_000,
            path.canonicalize()?.display().to_string()
        );
    }
    out.push(']');
    Ok((out, files.into_iter().map(|(_, p)| p).collect()))
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    files: &mut Vec<(String, PathBuf)>,
) -> std::io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(std::io::Error::other(format!(
            "{}: nested deeper than {MAX_DEPTH}",
            dir.display()
        )));
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, depth + 1, files)?;
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).map_err(std::io::Error::other)?;
            let url = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
            if url.bytes().any(|b| b.is_ascii_control() || b == b'"') {
                return Err(std::io::Error::other(format!(
                    "{}: a file name the tree cannot serve",
                    path.display()
                )));
            }
            files.push((url, path));
            if files.len() > MAX_FILES {
                return Err(std::io::Error::other(format!(
                    "more than {MAX_FILES} files under {}",
                    root.display()
                )));
            }
        }
    }
    Ok(())
}

/// Rust source for an expression of type [`Settings`] equal to `s` (the firmware sets its
/// `spin::Once` from it at boot, so it carries neither the tokenizer nor the directive table: the
/// text was read, with the Unix server's messages, when the firmware was built).
pub fn settings_source(s: &Settings) -> String {
    let ms = |d: eventmpm_core::time::Duration| d.as_millis();
    let extended = match s.table.head.extended {
        Some(d) => format!("Some(Duration::from_millis({}))", ms(d)),
        None => "None".into(),
    };
    format!(
        "{{
    use eventmpm_core::time::Duration;
    let mut server_name = heapless::String::new();
    let _ = server_name.push_str({name:?});
    let mut server_admin = heapless::String::new();
    let _ = server_admin.push_str({admin:?});
    eventmpm_os_embedded::config::Settings {{
        port: {port},
        table: eventmpm_core::table::Settings {{
            keep_alive_timeout: Duration::from_millis({kat}),
            timeout: Duration::from_millis({timeout}),
            head: eventmpm_core::conn::HeadTimeout {{
                initial: Duration::from_millis({initial}),
                extended: {extended},
                min_rate: {min_rate},
            }},
            // The firmware serves no TLS.
            handshake: None,
        }},
        keep_alive: eventmpm_core::conn::KeepAliveSettings {{
            enabled: {ka},
            timeout: Duration::from_millis({kat}),
            max_requests: {max},
        }},
        limits: eventmpm_core::http1::Limits {{
            request_line: {line},
            field_size: {field},
            fields: {fields},
            body: {body},
        }},
        protocol: eventmpm_core::http1::ProtocolOptions {{
            registered_methods: {registered},
            allow_http09: {http09},
        }},
        worker_steps: {steps},
        factor: eventmpm_core::admission::Factor::from_thousandths({factor}),
        server_name,
        server_admin,
    }}
}}",
        name = s.server_name.as_str(),
        admin = s.server_admin.as_str(),
        port = s.port,
        kat = ms(s.table.keep_alive_timeout),
        timeout = ms(s.table.timeout),
        initial = ms(s.table.head.initial),
        min_rate = s.table.head.min_rate,
        ka = s.keep_alive.enabled,
        max = s.keep_alive.max_requests,
        line = s.limits.request_line,
        field = s.limits.field_size,
        fields = s.limits.fields,
        body = s.limits.body,
        steps = s.worker_steps,
        registered = s.protocol.registered_methods,
        http09 = s.protocol.allow_http09,
        factor = s.factor.thousandths(),
    )
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) for Unix time `secs`: the status page's `Server Built:`.
pub fn built_stamp(secs: i64) -> String {
    let t = eventmpm_core::calendar::DateTime::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Load `text` as the firmware will at boot; an error reads `file:line: message`.
pub fn check_config(file: &str, text: &str) -> Result<Settings, String> {
    let mut buf = vec![0u8; MAX_LINE_LEN];
    let buf: &mut [u8; MAX_LINE_LEN] = buf.as_mut_slice().try_into().expect("sized above");
    config::load(text, buf).map_err(|e| format!("{file}:{}: {e}", e.line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_from_a_directory() {
        let dir = std::env::temp_dir().join(format!("eventmpm-tree-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("index.html"), b"<p>hi</p>").unwrap();
        std::fs::write(dir.join("sub/a.json"), b"{}").unwrap();
        std::fs::write(dir.join("sub/noext"), b"x").unwrap();
        let (src, read) = file_tree(&dir, i64::MAX).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.len(), 3);
        let lines: Vec<&str> = src.lines().filter(|l| l.contains("path:")).collect();
        assert!(lines[0].contains("path: \"/index.html\", content_type: Some(\"text/html\")"));
        assert!(
            lines[1].contains("path: \"/sub/a.json\", content_type: Some(\"application/json\")")
        );
        assert!(lines[2].contains("path: \"/sub/noext\", content_type: None"));
        // httpd's tag: size-mtime in hex, strong.
        assert!(lines[0].contains("etag: \"\\\"9-"), "{}", lines[0]);
    }

    #[test]
    fn config_errors_name_file_and_line() {
        let e = check_config("httpd.conf", "Listen 80\nKeepAlive maybe\n").unwrap_err();
        assert_eq!(e, "httpd.conf:2: KeepAlive must be On or Off");
        let e = check_config("httpd.conf", "\nBogus 1\n").unwrap_err();
        assert!(
            e.starts_with("httpd.conf:2: Invalid command 'Bogus', perhaps misspelled"),
            "{e}"
        );
        let e = check_config("httpd.conf", "User www\n").unwrap_err();
        assert_eq!(
            e,
            "httpd.conf:1: User has no meaning in the embedded runtime"
        );
        let e = check_config(
            "c",
            "<IfModule mpm_event_module>\nTimeout -1\n</IfModule>\n",
        )
        .unwrap_err();
        assert!(e.starts_with("c:2: "), "{e}");
        // A module we do not have: its section is skipped, whatever it holds.
        let s = check_config("c", "<IfModule mod_ssl.c>\nBogus\n</IfModule>\nListen 8080\nThreadsPerChild 3\nMaxKeepAliveRequests 5\nServerName dev.example:80\n").unwrap();
        assert_eq!(s.port, 8080);
        assert_eq!(s.worker_steps, 3);
        assert_eq!(s.keep_alive.max_requests, 5);
        assert_eq!(s.server_name.as_str(), "dev.example");
        assert!(
            check_config("c", "<IfModule x>\n")
                .unwrap_err()
                .starts_with("c:1: ")
        );
        assert_eq!(
            check_config("c", "ThreadsPerChild 100\n").unwrap_err(),
            "c:1: ThreadsPerChild (worker steps per poll) must be 1 to 64"
        );
    }
}
