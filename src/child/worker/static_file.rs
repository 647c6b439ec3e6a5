//! The static-file handler (httpd's `default_handler` with mod_dir): open the file beneath the
//! DocumentRoot, find a directory's index, and answer conditionals and ranges from its size and
//! modification time. It opens and examines files, so it runs only where blocking is allowed.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use eventmpm_core::http1::conditional::Validators;
use eventmpm_core::http1::etag::Etag;
use eventmpm_core::http1::representation::{self, Answer, FieldText, Stored};
use eventmpm_core::http1::{Request, Status};

use super::Worker;
use super::plan::{Body, Reply};
use super::respond::RequestTime;
use crate::sys;

impl Worker<'_> {
    /// Answer `req` for the decoded path `path` from the DocumentRoot; `follow`: symbolic links
    /// inside it may be followed.
    pub(super) fn static_file(
        &mut self,
        req: &Request<'_>,
        path: &[u8],
        follow: bool,
        time: &RequestTime,
    ) -> Reply {
        let now = time.secs;
        let method = req.method().as_str();
        let rel = crate::site::relative_path(path);
        let site = self.site;
        let open = |rel: &Path| {
            sys::open_beneath(&site.root_fd, &site.document_root, rel, follow)
                .and_then(|f| f.metadata().map(|m| (f, m)))
        };
        let (mut file, mut meta) = match open(rel) {
            Ok(x) => x,
            Err(e) => return self.open_error(&e, method, rel),
        };
        let mut served = rel.to_path_buf();
        if meta.is_dir() {
            if !path.ends_with(b"/") {
                // mod_dir's DirectorySlash: redirect to the directory's canonical URL.
                let mut loc = Vec::with_capacity(path.len() + 1 + 64);
                loc.extend_from_slice(req.target().path().as_bytes());
                loc.push(b'/');
                if let Some(q) = req.target().query() {
                    loc.push(b'?');
                    loc.extend_from_slice(q.as_bytes());
                }
                return self.error_reply(Status::MOVED_PERMANENTLY, method, &loc);
            }
            let mut found = None;
            // Bounded by the DirectoryIndex list.
            for index in &self.site.directory_index {
                let candidate = rel.join(index);
                if let Ok((f, m)) = open(&candidate)
                    && m.is_file()
                {
                    found = Some((f, m, candidate));
                    break;
                }
            }
            match found {
                Some((f, m, p)) => {
                    (file, meta, served) = (f, m, p);
                }
                // No index and no directory listings: httpd without mod_autoindex answers 403.
                None => return self.error_reply(Status::FORBIDDEN, method, b""),
            }
        }
        if !meta.is_file() {
            log::info!("refusing to serve a non-regular file: {}", served.display());
            return self.error_reply(Status::FORBIDDEN, method, b"");
        }
        let size = meta.len();
        let mtime_us =
            (meta.mtime().max(0) as u64) * 1_000_000 + meta.mtime_nsec().max(0) as u64 / 1000;
        let etag = Etag::for_file(None, size, mtime_us, time.micros);
        let validators = Validators {
            etag: Some(etag.as_bytes()),
            last_modified: Some(meta.mtime()),
        };
        let answer = representation::answer(req, size, &validators, now);
        let stored = Stored {
            size,
            content_type: site.mime.lookup(&served).map(str::as_bytes),
            etag: etag.as_bytes(),
            modified: meta.mtime(),
        };
        let mut text = FieldText::new();
        let mut fields = [("", &b""[..]); representation::MAX_FIELDS];
        let n = answer.fields(&stored, now, &mut text, &mut fields);
        for (name, value) in &fields[..n] {
            self.fields.push(name, value);
        }
        match answer {
            Answer::NotModified => Reply::new(Status::NOT_MODIFIED),
            Answer::PreconditionFailed | Answer::NotSatisfiable => {
                self.error_reply(answer.status(), method, b"")
            }
            Answer::Full | Answer::Partial { .. } => {
                let (start, len) = answer.body(size).unwrap_or((0, size));
                Reply {
                    status: answer.status(),
                    body: Body::File { file, start, len },
                    close: false,
                    filename: Some(self.site.document_root.join(&served).display().to_string()),
                }
            }
        }
    }

    /// The reply to a file that could not be opened.
    fn open_error(&mut self, e: &std::io::Error, method: &str, rel: &Path) -> Reply {
        use std::io::ErrorKind as K;
        let status = match e.kind() {
            K::NotFound | K::NotADirectory => Status::NOT_FOUND,
            K::PermissionDenied => Status::FORBIDDEN,
            K::InvalidFilename => Status::REQUEST_URI_TOO_LONG,
            // Out of descriptors or memory: a passing condition the client may retry (httpd
            // answers 403 to every failed open, which tells it the file is forbidden).
            _ if matches!(
                e.raw_os_error(),
                Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM)
            ) =>
            {
                log::error!("cannot open {}: {e}", rel.display());
                Status::SERVICE_UNAVAILABLE
            }
            _ => {
                log::error!("cannot open {}: {e}", rel.display());
                Status::INTERNAL_SERVER_ERROR
            }
        };
        if status == Status::FORBIDDEN {
            log::info!("access to /{} denied: {e}", rel.display());
        }
        self.error_reply(status, method, b"")
    }
}
