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
use super::plan::{Blocking, Body, Client, Reply, WouldBlock};
use super::respond::RequestTime;
use crate::modules::{Typed, deflate};
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
        client: Client,
    ) -> Result<Reply, WouldBlock> {
        let method = req.method().as_str();
        let host = self.host();
        let files = &self.shared.open_files[host.cache];
        let file = match blocking {
            Blocking::Never => files.lookup(path, follow, time.started).ok_or(WouldBlock)?,
            Blocking::Allowed => {
                match files.get_or_open(self.site, host, path, follow, time.started) {
                    Ok(f) => f,
                    Err(e) => return Ok(self.open_failed(e, req, path, follow, time, client)),
                }
            }
        };
        // The file's fields under the sections in force here.
        let typed = host.typed_for(&self.site.mime, path, &file);
        let typed: &Typed = &typed;
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
        // mod_deflate: a listed type, not already encoded, longer than gzip's overhead.
        let compressible = typed.deflate
            && size > deflate::MIN_SIZE
            && matches!(answer, Answer::Full | Answer::Partial { .. });
        if compressible
            && size <= deflate::MAX_WHOLE
            && deflate::accepts_gzip(req.header("Accept-Encoding"))
        {
            if host.deflate.compresses() {
                return self.gzip_file(req, &file, typed, etag.as_bytes(), now, blocking);
            }
            // zlib refuses the settings: sent as it is, with its Vary (below), as httpd does.
            log::error!("{}", host.deflate.refusal(&String::from_utf8_lossy(path)));
        }
        let body = match answer {
            Answer::Full | Answer::Partial { .. } => {
                let (start, len) = answer.body(size).unwrap_or((0, size));
                Some(self.body(file.clone(), start, len, req.method(), blocking)?)
            }
            _ => None,
        };
        let stored = Stored {
            size,
            content_type: typed.content_type.as_deref().map(str::as_bytes),
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
        if matches!(answer, Answer::Full | Answer::Partial { .. }) {
            self.push_encoding_fields(typed, compressible);
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
                length_unknown: false,
                streamed: false,
                error_page: false,
                document: None,
                cgi_document: None,
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

    /// `Content-Encoding` and `Content-Language` from the file's extensions, and `Vary` where
    /// the response could have been compressed.
    fn push_encoding_fields(&mut self, file: &Typed, vary: bool) {
        if vary {
            self.fields.push("Vary", b"Accept-Encoding");
        }
        if let Some(e) = &file.content_encoding {
            self.fields.push("Content-Encoding", e.as_bytes());
        }
        if let Some(l) = &file.content_language {
            self.fields.push("Content-Language", l.as_bytes());
        }
    }

    /// The whole of `file`, gzipped (mod_deflate; see [`deflate`] for the rules): 200 even for
    /// a `Range`, as httpd answers; a `HEAD` gets the fields, and a length where httpd gives
    /// one ([`deflate::Settings::head_length`]). Only a worker compresses.
    fn gzip_file(
        &mut self,
        req: &Request<'_>,
        file: &Arc<OpenFile>,
        typed: &Typed,
        etag: &[u8],
        now: i64,
        blocking: Blocking,
    ) -> Result<Reply, WouldBlock> {
        if blocking == Blocking::Never {
            return Err(WouldBlock);
        }
        let head = req.method() == Method::Head;
        let settings = &self.host().deflate;
        let contents = file.contents.as_deref();
        let read = |buf: &mut [u8], at: u64| match contents {
            Some(c) => {
                let at = (at as usize).min(c.len());
                let n = buf.len().min(c.len() - at);
                buf[..n].copy_from_slice(&c[at..at + n]);
                Ok(n)
            }
            None => std::os::unix::fs::FileExt::read_at(&file.file, buf, at),
        };
        // The body, or for a HEAD the length its head announces (if any).
        let compressed = if head {
            settings.head_length(file.size, read).map(Err)
        } else {
            settings.compress(file.size, read).map(Ok)
        };
        let body = match compressed {
            Ok(b) => b,
            Err(e) => {
                log::error!("cannot read {}: {e}", file.filename);
                return Ok(self.error_reply(
                    Status::INTERNAL_SERVER_ERROR,
                    req.method().as_str(),
                    b"",
                ));
            }
        };
        let etag = settings.etag(etag);
        let stored = Stored {
            size: 0,
            content_type: typed.content_type.as_deref().map(str::as_bytes),
            etag: etag.as_deref().unwrap_or(b""),
            modified: file.mtime,
            modified_text: Some(&file.last_modified),
        };
        let mut text = FieldText::new();
        let mut fields = [("", &b""[..]); representation::MAX_FIELDS];
        let n = Answer::Full.fields(&stored, now, &mut text, &mut fields);
        for (name, value) in &fields[..n] {
            if *name == "ETag" && etag.is_none() {
                continue;
            }
            self.fields.push(name, value);
        }
        self.fields.push("Vary", b"Accept-Encoding");
        self.fields.push("Content-Encoding", b"gzip");
        if let Some(l) = &typed.content_language {
            self.fields.push("Content-Language", l.as_bytes());
        }
        let mut reply = Reply::new(Status::OK);
        reply.filename = Some(file.filename.clone());
        match body {
            Ok(b) => {
                reply.streamed = settings.streams(b.len());
                reply.body = Body::Page(b);
            }
            // A HEAD's body is never sent: a placeholder of the announced length.
            Err(Some(len)) => reply.body = Body::Page(vec![0; len as usize]),
            Err(None) => reply.length_unknown = true,
        }
        Ok(reply)
    }

    /// The reply when no file can be served for `path`.
    fn open_failed(
        &mut self,
        e: OpenError,
        req: &Request<'_>,
        path: &[u8],
        follow: bool,
        time: &RequestTime,
        client: Client,
    ) -> Reply {
        let method = req.method().as_str();
        match e {
            OpenError::Io(e) => self.open_error(&e, method, crate::site::relative_path(path)),
            // mod_dir's DirectorySlash Off: the directory is answered at its slashless URL,
            // with no DirectoryIndex (a listing, if allowed).
            OpenError::DirectoryWithoutSlash if !self.site.output.directory_slash => {
                self.no_index(req, path, follow, time, client)
            }
            OpenError::DirectoryWithoutSlash => {
                // mod_dir's DirectorySlash: redirect to the directory's URL with a slash,
                // absolute as httpd makes it (ap_construct_url, UseCanonicalName Off).
                let mut rel = crate::modules::autoindex::escape_path(path, true).into_bytes();
                rel.push(b'/');
                if let Some(q) = req.target().query() {
                    rel.push(b'?');
                    rel.extend_from_slice(q.as_bytes());
                }
                let loc = self.absolute_url(req, client, &rel);
                self.error_reply(Status::MOVED_PERMANENTLY, method, &loc)
            }
            OpenError::NoIndex => self.no_index(req, path, follow, time, client),
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
