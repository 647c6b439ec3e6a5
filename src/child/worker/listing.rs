//! A directory without a DirectoryIndex file: its listing where `Options Indexes` allows one
//! (mod_autoindex, [`crate::modules::autoindex`]), else 403 as httpd answers. Only a worker
//! gets here (the listener never opens a directory), so a listing never holds up the listener.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use eventmpm_core::http1::{Method, Request, Status};

use super::Worker;
use super::plan::Client;
use super::plan::{Body, Reply};
use super::respond::RequestTime;
use crate::modules::autoindex::{self, Insert};

impl Worker<'_> {
    /// The answer for the directory at the URL-path `path` (decoded) that has no index file.
    pub(super) fn no_index(
        &mut self,
        req: &Request<'_>,
        path: &[u8],
        follow: bool,
        time: &RequestTime,
        client: Client,
    ) -> Reply {
        let method = req.method();
        let output = &self.site.output;
        let host = self.host();
        let here = host.output_for(path);
        // The directory an `Alias` maps the URL to, else the one beneath the DocumentRoot.
        let (root, dir) = match host.file_root(path) {
            Ok((_, root, rel)) => (root.to_path_buf(), root.join(rel)),
            Err(_) => (
                host.document_root.clone(),
                host.document_root.join(crate::site::relative_path(path)),
            ),
        };
        // The directory as httpd's log lines and `%f` show it: with one trailing slash.
        let dir_text = format!("{}/", dir.display().to_string().trim_end_matches('/'));
        // mod_autoindex takes GET (and HEAD) only, before it looks at Options; httpd's
        // default handler then has no file to give a POST: 404.
        if method != Method::Get && method != Method::Head {
            return self.error_reply(Status::NOT_FOUND, method.as_str(), b"");
        }
        if !output.indexes(&dir) {
            log::error!(
                "[client {}] AH01276: Cannot serve directory {}: No matching DirectoryIndex ({}) found, and server-generated directory index forbidden by Options directive",
                client.peer,
                dir_text,
                if host.directory_index.is_empty() {
                    "none".to_string()
                } else {
                    host.directory_index.join(",")
                }
            );
            let status = if here.autoindex.forbidden_is_not_found() {
                Status::NOT_FOUND
            } else {
                Status::FORBIDDEN
            };
            return self.error_reply(status, method.as_str(), b"");
        }
        let settings = &here.autoindex;
        let content_type = settings.content_type();
        if method == Method::Head {
            // httpd sends a listing's HEAD with its type and no length (and no Vary: the
            // empty body never reaches mod_deflate).
            self.fields.push("Content-Type", content_type.as_bytes());
            let mut r = Reply::new(Status::OK);
            r.length_unknown = true;
            return r;
        }
        // A slashless directory URL (DirectorySlash Off): httpd's subrequests for its entries
        // take their URLs (so their access rules) from the URL's parent, and HeaderName and
        // ReadmeName are looked up there, while the entries themselves are this directory's.
        let slashless = !path.ends_with(b"/");
        let url_dir: PathBuf = if slashless {
            dir.parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.clone())
        } else {
            dir.clone()
        };
        let url_base: &[u8] = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => &path[..=i],
            None => b"/",
        };
        let read = autoindex::read_dir(&dir, autoindex::MAX_ENTRIES, |name, _meta, is_link| {
            let mut uri = url_base.to_vec();
            uri.extend_from_slice(name);
            let route = host.route(&uri);
            if !self.subrequest_allowed(&uri, client) {
                return false;
            }
            if is_link {
                // Links are followed only where FollowSymLinks allows, and only within the
                // DocumentRoot, as the static-file handler serves them.
                let target = dir.join(std::ffi::OsStr::from_bytes(name));
                return follow
                    && route.follow_symlinks
                    && target.canonicalize().is_ok_and(|t| t.starts_with(&root));
            }
            true
        });
        let (entries, truncated) = match read {
            Ok(r) => r,
            Err(e) => {
                log::error!(
                    "[client {}] AH01275: Can't open directory for index: {}: {e}",
                    client.peer,
                    dir_text
                );
                return self.error_reply(Status::FORBIDDEN, method.as_str(), b"");
            }
        };
        if truncated {
            log::warn!(
                "directory {} has more than {} entries: the listing shows the first read",
                dir.display(),
                autoindex::MAX_ENTRIES
            );
        }
        let (header_name, readme_name) = settings.inserts();
        let insert =
            |name: Option<&str>| name.and_then(|n| self.insert(&url_dir, url_base, n, client));
        let header = insert(header_name);
        let readme = insert(readme_name);
        // A readme the listing includes replaces the signature line (httpd's emit_tail).
        let readme_shown = readme.as_ref().is_some_and(|r| {
            r.content_type.len() >= 5 && r.content_type[..5].eq_ignore_ascii_case("text/")
                || r.content_type.eq_ignore_ascii_case("application/xhtml+xml")
        });
        let passed_on = header
            .as_ref()
            .is_some_and(autoindex::Insert::is_subrequest)
            || readme
                .as_ref()
                .is_some_and(autoindex::Insert::is_subrequest);
        let (utc_offset, _) = crate::logformat::local_zone(time.secs);
        let page = settings.render(autoindex::Request {
            uri: path,
            query: req.target().query(),
            dir: &dir,
            entries,
            typed: &|name: &[u8]| {
                let name = Path::new(std::ffi::OsStr::from_bytes(name));
                // A file entry lies in the listed directory: only <Files> and <Location>
                // sections can type it otherwise than the listing's own settings.
                if !host.output_files.is_empty() || !host.output_locations.is_empty() {
                    let mut uri = url_base.to_vec();
                    uri.extend_from_slice(name.as_os_str().as_bytes());
                    self.site
                        .mime
                        .metadata_under(&host.output_for(&uri).mime, name)
                } else {
                    self.site.mime.metadata_under(&here.mime, name)
                }
            },
            utc_offset: i64::from(utc_offset),
            header,
            readme,
        });
        self.fields
            .push("Content-Type", page.content_type.as_bytes());
        let mut body = page.body;
        if !readme_shown {
            let host = self.host();
            super::signature::append_after(
                &mut body,
                b"",
                host.signature,
                &self.site.server_software,
                &self.sig_name,
                self.sig_port.unwrap_or(80),
                &host.server_admin,
            );
        }
        let (body, streamed) = self.gzip_page(req, path, &page.content_type, body, passed_on);
        let mut r = Reply::new(Status::OK);
        r.body = Body::Page(body);
        r.streamed = streamed;
        // `%f` logs the directory, as httpd's r->filename (with the slash mod_autoindex adds).
        r.filename = Some(std::sync::Arc::from(dir_text));
        r
    }

    /// Whether this client may fetch the decoded URL-path `uri` too ([`crate::modules`]'s
    /// decision for a subrequest).
    fn subrequest_allowed(&self, uri: &[u8], client: Client) -> bool {
        let host = self.host();
        !host.modules_active
            || crate::modules::subrequest_allowed(
                host.sections(uri),
                client.peer.ip(),
                client.local,
                "GET",
                &self.modules,
            )
    }

    /// A `HeaderName`/`ReadmeName` file for the listing of `dir` (at the URL `url_base`): a
    /// regular file the client may read, named relative to the directory (or as a URL-path when
    /// it starts with `/`), within the DocumentRoot or the `Alias` directory its URL maps to, of
    /// a text type, its first [`autoindex::MAX_INSERT`] bytes.
    fn insert(&self, dir: &Path, url_base: &[u8], name: &str, client: Client) -> Option<Insert> {
        let host = self.host();
        // httpd looks the name up as a subrequest for a URL relative to the listing's.
        let uri: Vec<u8> = if name.starts_with('/') {
            name.as_bytes().to_vec()
        } else {
            [url_base, name.as_bytes()].concat()
        };
        let (path, root) = {
            let (_, root, rel) = host.file_root(&uri).ok()?;
            let path = if name.starts_with('/') {
                root.join(rel)
            } else {
                dir.join(name)
            };
            (path, root.canonicalize().ok()?)
        };
        let canon = path.canonicalize().ok()?;
        if !canon.starts_with(&root) {
            return None;
        }
        if !self.subrequest_allowed(&uri, client) {
            return None;
        }
        let meta = std::fs::metadata(&canon).ok()?;
        if !meta.is_file() {
            return None;
        }
        // Typed as its own URL's sections say, as httpd's subrequest for it types it.
        let content_type = self
            .site
            .mime
            .metadata_under(&host.output_for(&uri).mime, &canon)
            .content_type?;
        let content_type = content_type
            .split(';')
            .next()
            .unwrap_or(&content_type)
            .trim()
            .to_string();
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(&canon)
            .ok()?
            .take(autoindex::MAX_INSERT)
            .read_to_end(&mut bytes)
            .ok()?;
        Some(Insert {
            content_type,
            bytes,
        })
    }
}
