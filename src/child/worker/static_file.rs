//! The static-file handler (httpd's `default_handler` with mod_dir): find the file beneath the
//! DocumentRoot (a directory's index), through the child's open-file cache, and answer
//! conditionals and ranges from its size and modification time.
//!
//! Where blocking is allowed (a worker) a cache miss opens and examines the file. Where it is
//! not (the listener, [`Blocking::Never`]) only a cache hit is answered, and a body only if it
//! is small and in the page cache ([`sys::read_cached`]): it is read while planning, into the
//! thread's prefetch buffer, so that anything else is still handed to a worker untouched.

use std::path::Path;
use std::sync::Arc;

use eventmpm_core::http1::conditional::Validators;
use eventmpm_core::http1::etag::Etag;
use eventmpm_core::http1::representation::{self, Answer, FieldText, Stored};
use eventmpm_core::http1::{Method, Request, Status};

use super::Worker;
use super::emit::SMALL_FILE;
use super::plan::{Blocking, Body, Reply, WouldBlock};
use super::respond::RequestTime;
use crate::open_files::{OpenError, OpenFile};
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
        blocking: Blocking,
    ) -> Result<Reply, WouldBlock> {
        let method = req.method().as_str();
        let host = self.host();
        let files = &self.shared.open_files[host.cache];
        let file = match blocking {
            Blocking::Never => files.lookup(path, follow, time.started).ok_or(WouldBlock)?,
            Blocking::Allowed => {
                match files.get_or_open(self.site, host, path, follow, time.started) {
                    Ok(f) => f,
                    Err(e) => return Ok(self.open_failed(e, req, path)),
                }
            }
        };
        let now = time.secs;
        let size = file.size;
        let mtime_us =
            (file.mtime.max(0) as u64) * 1_000_000 + file.mtime_nsec.max(0) as u64 / 1000;
        let recent;
        let etag = if Etag::weak_at(mtime_us, time.micros) {
            recent = Etag::for_file(None, size, mtime_us, time.micros);
            &recent
        } else {
            &file.etag
        };
        let validators = Validators {
            etag: Some(etag.as_bytes()),
            last_modified: Some(file.mtime),
        };
        let answer = representation::answer(req, size, &validators, now);
        let body = match answer {
            Answer::Full | Answer::Partial { .. } => {
                let (start, len) = answer.body(size).unwrap_or((0, size));
                Some(self.body(file.clone(), start, len, req.method(), blocking)?)
            }
            _ => None,
        };
        let stored = Stored {
            size,
            content_type: file.content_type.as_deref().map(str::as_bytes),
            etag: etag.as_bytes(),
            modified: file.mtime,
            modified_text: Some(&file.last_modified),
        };
        let mut text = FieldText::new();
        let mut fields = [("", &b""[..]); representation::MAX_FIELDS];
        let n = answer.fields(&stored, now, &mut text, &mut fields);
        for (name, value) in &fields[..n] {
            self.fields.push(name, value);
        }
        Ok(match (answer, body) {
            (Answer::NotModified, _) => Reply::new(Status::NOT_MODIFIED),
            (Answer::PreconditionFailed | Answer::NotSatisfiable, _) | (_, None) => {
                self.error_reply(answer.status(), method, b"")
            }
            (Answer::Full | Answer::Partial { .. }, Some(body)) => Reply {
                status: answer.status(),
                body,
                close: false,
                filename: Some(file.filename.clone()),
            },
        })
    }

    /// The body: bytes `start..start + len` of `file`. Where blocking is not allowed they must
    /// be few and in the page cache, and are read now; a HEAD request sends none.
    fn body(
        &mut self,
        file: Arc<OpenFile>,
        start: u64,
        len: u64,
        method: Method<'_>,
        blocking: Blocking,
    ) -> Result<Body, WouldBlock> {
        if method == Method::Head {
            return Ok(Body::File { file, start, len });
        }
        if file.contents.is_some() {
            return Ok(Body::Contents { file, start, len });
        }
        if blocking == Blocking::Allowed {
            return Ok(Body::File { file, start, len });
        }
        if len > SMALL_FILE {
            return Err(WouldBlock);
        }
        self.prefetch.resize(len as usize, 0);
        match sys::read_cached(&file.file, &mut self.prefetch, start) {
            Ok(()) => Ok(Body::Prefetched { len }),
            // Not in the page cache (or no such read here), or the file shrank: a worker
            // reads it, and reports what went wrong.
            Err(_) => Err(WouldBlock),
        }
    }

    /// The reply when no file can be served for `path`.
    fn open_failed(&mut self, e: OpenError, req: &Request<'_>, path: &[u8]) -> Reply {
        let method = req.method().as_str();
        match e {
            OpenError::Io(e) => self.open_error(&e, method, crate::site::relative_path(path)),
            OpenError::DirectoryWithoutSlash => {
                // mod_dir's DirectorySlash: redirect to the directory's canonical URL.
                let mut loc = Vec::with_capacity(path.len() + 1 + 64);
                loc.extend_from_slice(req.target().path().as_bytes());
                loc.push(b'/');
                if let Some(q) = req.target().query() {
                    loc.push(b'?');
                    loc.extend_from_slice(q.as_bytes());
                }
                self.error_reply(Status::MOVED_PERMANENTLY, method, &loc)
            }
            // No index and no directory listings: httpd without mod_autoindex answers 403.
            OpenError::NoIndex => self.error_reply(Status::FORBIDDEN, method, b""),
            OpenError::NotRegular(served) => {
                log::info!("refusing to serve a non-regular file: {}", served.display());
                self.error_reply(Status::FORBIDDEN, method, b"")
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
