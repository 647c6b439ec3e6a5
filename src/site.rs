//! What a child serves: the document tree, the locations and their access rules, the logs and
//! the server's identity. Built once from the configuration when a child starts; read-only
//! afterwards, shared by every worker.

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use eventmpm_core::conn::KeepAliveSettings;
use eventmpm_core::http1::{Status, date, error_page::ErrorPage};

use crate::config::{Handler, ServerConfig};
use crate::logformat::LogFormat;
use crate::mime::MimeTypes;
use crate::modules::mapping::{dir_applies, trailing_slashes};
use crate::modules::{SectionSettings, ServerSettings};
use crate::vhosts::HostTable;

/// A `CustomLog`: a file and its format. Threads buffer lines and append them in batches
/// (`child::worker`'s `access_log` has the rule).
#[derive(Debug)]
pub struct AccessLog {
    /// The log file, opened for appending.
    pub file: Mutex<File>,
    /// Its format.
    pub format: LogFormat,
}

impl AccessLog {
    /// Append `lines` (whole lines) in one write, so lines from different workers and
    /// processes never interleave mid-line.
    pub fn append(&self, lines: &[u8]) {
        if lines.is_empty() {
            return;
        }
        let f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = (&*f).write_all(lines) {
            log::error!("cannot write to an access log: {e}");
        }
    }
}

/// The parts of the status page that do not change while a child runs.
#[derive(Debug, Clone)]
pub struct StatusInfo {
    /// `ServerMPM:` (`event` or `worker`).
    pub mpm: &'static str,
    /// `Server Built:`.
    pub built: &'static str,
    /// `ParentServerConfigGeneration`.
    pub config_generation: u32,
    /// `ParentServerMPMGeneration`.
    pub mpm_generation: u32,
    /// ThreadsPerChild.
    pub threads_per_child: u32,
    /// Active daemons limit.
    pub max_servers: u32,
    /// Event (asynchronous) MPM.
    pub is_async: bool,
}

#[cfg(test)]
impl StatusInfo {
    /// One event-MPM child of one thread: what unit tests that build a [`Site`] give it.
    pub fn for_tests() -> StatusInfo {
        StatusInfo {
            mpm: "event",
            built: "test",
            config_generation: 0,
            mpm_generation: 0,
            threads_per_child: 1,
            max_servers: 1,
            is_async: true,
        }
    }
}

/// What one host (the main server or a `<VirtualHost>`) serves, its settings merged over the
/// main server's ([`ServerConfig::for_host`]).
#[derive(Debug)]
pub struct Host {
    /// The canonical DocumentRoot, and an open descriptor on it (files are opened beneath it).
    pub document_root: PathBuf,
    /// See `document_root`. `None` when the DocumentRoot does not exist (or cannot be opened):
    /// the host then answers 404 for every file, as httpd does.
    pub root_fd: Option<OwnedFd>,
    /// DirectoryIndex.
    pub directory_index: Vec<String>,
    /// `<Files>` sections that set a handler: the pattern and the handler, in configuration
    /// order.
    pub files_handlers: Vec<(crate::config::FilesPattern, Handler)>,
    /// `<Location>` sections: the prefix and the handler.
    pub locations: Vec<(String, Option<Handler>)>,
    /// The `<Location>` sections that set something in [`crate::modules`], in configuration
    /// order: the prefix and the settings.
    pub module_locations: Vec<(String, SectionSettings)>,
    /// Whether any section sets `Header` lines (else responses skip that step).
    pub any_headers: bool,
    /// `<Directory>` sections, shortest path first.
    pub directories: Vec<DirSection>,
    /// `<Files>` and `<FilesMatch>` sections with the modules' settings, in configuration
    /// order.
    pub files: Vec<(crate::config::FilesPattern, SectionSettings)>,
    /// Server-level settings of [`crate::modules`].
    pub modules: ServerSettings,
    /// Whether any section or the server configures anything in [`crate::modules`]: when not,
    /// requests skip them entirely.
    pub modules_active: bool,
    /// Whether any section or the server sets a local `ErrorDocument`: only then does the
    /// listener look for one before answering an error itself.
    pub local_error_documents: bool,
    /// Each `Alias`'s directory (canonical) and a descriptor on it, opened at start (`None`
    /// if it could not be: its URLs answer 404), in the order of `modules.aliases`.
    pub alias_roots: Vec<(PathBuf, Option<OwnedFd>)>,
    /// ServerName.
    pub server_name: String,
    /// ServerAdmin, for error pages.
    pub server_admin: String,
    /// ServerSignature: the line error pages end with.
    pub signature: crate::config::Signature,
    /// ScriptAlias, AddHandler cgi-script, ExecCGI and the CGI timeout.
    pub cgi: crate::cgi::Settings,
    /// The access logs it writes to: indices into [`Site::access_logs`].
    pub logs: Vec<usize>,
    /// Its open-file cache: an index into the child's caches. Hosts with the same DocumentRoot,
    /// DirectoryIndex and per-directory defaults share one (a URL names the same file, typed
    /// the same, for each).
    pub cache: usize,
    /// Its per-directory defaults of mod_mime, mod_autoindex and the DEFLATE filter: the main
    /// server's lines, then the host's, merged at start-up. The open-file cache types files
    /// with these.
    pub output: crate::modules::DirOutput,
    /// mod_deflate's settings for the host.
    pub deflate: crate::modules::deflate::Settings,
    /// `<Files>` sections that set something in [`Host::output`]'s modules, in configuration
    /// order (merged per request, after the directory's).
    pub output_files: Vec<(crate::config::FilesPattern, crate::modules::DirOutput)>,
    /// `<Location>` sections likewise (merged per request, last).
    pub output_locations: Vec<(String, crate::modules::DirOutput)>,
    /// Whether any section sets something there (else every request takes [`Host::output`]).
    pub output_sections: bool,
}

/// Everything a worker needs to answer requests.
#[derive(Debug)]
pub struct Site {
    /// The hosts: 0 is the main server, `k + 1` the `k`th `<VirtualHost>`.
    pub hosts: Vec<Host>,
    /// Which host answers a request.
    pub table: HostTable,
    /// How many open-file caches the hosts use ([`Host::cache`]).
    pub caches: usize,
    /// Media types (`TypesConfig`); the rules over them are each host's
    /// ([`Host::output_for`]).
    pub mime: MimeTypes,
    /// DirectorySlash and `Options Indexes` (server-wide).
    pub output: crate::modules::Output,
    /// Keep-alive settings.
    pub keep_alive: KeepAliveSettings,
    /// The `Server` header.
    pub server_software: String,
    /// ExtendedStatus.
    pub extended_status: bool,
    /// Access logs.
    pub access_logs: Vec<AccessLog>,
    /// BufferedLogs: threads write their lines in batches, each within a second.
    pub buffered_logs: bool,
    /// Status page constants.
    pub status: StatusInfo,
    /// HttpProtocolOptions: HTTP/0.9 and unknown methods.
    pub protocol: eventmpm_core::http1::ProtocolOptions,
    /// OpenFileCache and OpenFileCacheValid. Each child builds its own cache from them
    /// ([`OpenFiles::for_child`](crate::open_files::OpenFiles::for_child)) once it has forked.
    pub open_file_cache: crate::open_files::Settings,
    /// Which listening sockets serve TLS, and with what.
    pub tls: crate::tls::Listeners,
}

/// A `<Directory>` section as a child applies it.
#[derive(Debug, Clone)]
pub struct DirSection {
    /// The canonical directory, without a trailing `/` (`/` itself is empty).
    pub path: PathBuf,
    /// `Options [-]FollowSymLinks`, if the section says.
    pub follow_symlinks: Option<bool>,
    /// The modules' settings.
    pub modules: SectionSettings,
    /// Whether they set anything (sections that do not are passed over per request).
    pub active: bool,
    /// When the section sets mod_mime, mod_autoindex or DEFLATE-filter lines: the settings
    /// in force beneath it, merged at start-up from the host's defaults and every section on
    /// its path, shortest first, as httpd merges them per request.
    pub output: Option<crate::modules::DirOutput>,
    /// Whether `output` types files as the host's defaults do (it changes only mod_autoindex
    /// settings, say): a file's cached typing then holds beneath it.
    pub same_types: bool,
}

/// What the configuration says about one request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'s> {
    /// The handler (static files unless a Location says otherwise).
    pub handler: Handler,
    /// What the `<Files>` and `<Location>` sections' `SetHandler` said: `None` if none
    /// matched (the `<Directory>` sections' and the extension's handlers decide);
    /// `Some(true)` if one named `handler`, which overrides those, as httpd's later walks
    /// override the earlier; `Some(false)` for `SetHandler None` (the extension decides).
    pub handler_set: Option<bool>,
    /// Whether symbolic links may be followed (inside the DocumentRoot only).
    pub follow_symlinks: bool,
    /// Ties the route to the host it came from.
    pub host: std::marker::PhantomData<&'s Host>,
}

impl Site {
    /// Build the site from a checked configuration: every host, its sections merged over the
    /// main server's.
    pub fn new(cfg: &ServerConfig, status: StatusInfo) -> std::io::Result<Site> {
        let mime = match &cfg.types_config {
            None => MimeTypes::built_in(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("TypesConfig {}: {e}", p.display()))
                })?;
                MimeTypes::parse(&text).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}:{}: {}", p.display(), e.line, e.message),
                    )
                })?
            }
        };
        let output = crate::modules::Output::new(&cfg.output);
        let mut access_logs = Vec::new();
        let mut hosts = Vec::with_capacity(cfg.vhosts.len() + 1);
        let mut main_logs = Vec::new();
        type CacheKey = (
            PathBuf,
            Vec<String>,
            crate::mime::MimeRules,
            crate::modules::deflate::Filters,
        );
        let mut cache_keys: Vec<CacheKey> = Vec::new();
        for k in std::iter::once(None).chain((0..cfg.vhosts.len()).map(Some)) {
            let view = cfg.for_host(k);
            // A host without CustomLog of its own writes to the main server's (mod_log_config).
            let logs = match k {
                Some(k) if cfg.vhosts[k].custom_logs.is_empty() => main_logs.clone(),
                _ => {
                    let first = access_logs.len();
                    for (path, format) in &view.custom_logs {
                        access_logs.push(open_access_log(path, format)?);
                    }
                    (first..access_logs.len()).collect()
                }
            };
            if k.is_none() {
                main_logs = logs.clone();
            }
            let mut host = Host::new(&view, logs)?;
            let key = (
                host.document_root.clone(),
                host.directory_index.clone(),
                host.output.mime.clone(),
                host.output.filters.clone(),
            );
            host.cache = match cache_keys.iter().position(|c| *c == key) {
                Some(i) => i,
                None => {
                    cache_keys.push(key);
                    cache_keys.len() - 1
                }
            };
            hosts.push(host);
        }
        Ok(Site {
            hosts,
            table: HostTable::new(cfg),
            caches: cache_keys.len(),
            mime,
            output,
            keep_alive: cfg.core.keep_alive_settings(),
            server_software: cfg.server_software(),
            extended_status: cfg.extended_status,
            access_logs,
            buffered_logs: cfg.buffered_logs,
            status,
            protocol: cfg.core.http_protocol_options.options(),
            open_file_cache: cfg.open_file_cache,
            tls: crate::tls::Listeners::new(cfg),
        })
    }

    /// The main server.
    pub fn main(&self) -> &Host {
        &self.hosts[0]
    }

    /// The host that answers a request that came to `local` naming `host` (index into
    /// [`Site::hosts`]).
    pub fn choose(&self, local: std::net::SocketAddr, host: Option<&str>) -> usize {
        self.table.choose(local, host).min(self.hosts.len() - 1)
    }

    /// Whether requests that came to `local` choose among name-based virtual hosts.
    pub fn name_based(&self, local: std::net::SocketAddr) -> bool {
        self.table.name_based(local)
    }
}

/// Open a `CustomLog` file for appending.
fn open_access_log(path: &Path, format: &LogFormat) -> std::io::Result<AccessLog> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("could not open transfer log file {}: {e}", path.display()),
            )
        })?;
    Ok(AccessLog {
        file: Mutex::new(file),
        format: format.clone(),
    })
}

impl Host {
    /// One host from its merged view of the configuration; `logs` are its access logs.
    fn new(cfg: &ServerConfig, logs: Vec<usize>) -> std::io::Result<Host> {
        let (root, root_fd) = match cfg.document_root.canonicalize() {
            Ok(root) => {
                let fd = crate::sys::open_dir(&root)?;
                (root, Some(fd))
            }
            // As httpd: a DocumentRoot that does not exist is a warning (none for the
            // compiled-in default nobody set), and its files are 404s.
            Err(e) => {
                if cfg.document_root_set {
                    log::warn!(
                        "AH00112: Warning: DocumentRoot [{}] does not exist ({e}); {} answers 404",
                        cfg.document_root.display(),
                        cfg.server_name
                    );
                }
                (cfg.document_root.clone(), None)
            }
        };
        let mut directories: Vec<DirSection> = cfg
            .directories
            .iter()
            .map(|d| {
                let canon = d.path.canonicalize().unwrap_or_else(|_| d.path.clone());
                let bytes = canon.as_os_str().as_bytes();
                let trimmed = &bytes[..bytes.len() - trailing_slashes(bytes)];
                DirSection {
                    path: PathBuf::from(std::ffi::OsStr::from_bytes(trimmed)),
                    follow_symlinks: d.follow_symlinks,
                    modules: d.modules.clone(),
                    active: !d.modules.is_empty(),
                    output: (!d.output.is_empty()).then(|| d.output.clone()),
                    same_types: true,
                }
            })
            .collect();
        // Shorter paths apply first and longer ones override them, as httpd merges them.
        directories.sort_by_key(|d| d.path.components().count());
        // The host's defaults: the main server's lines as they are (httpd uses its defaults
        // unmerged), the host's own merged over them.
        let output = cfg.output.dir.merge(&cfg.output.host_dir);
        // Each section's settings in force: every section on its path merged in order. A
        // request's sections on its path are exactly these, so the deepest one that matches
        // has its answer ready.
        let resolved: Vec<Option<crate::modules::DirOutput>> = (0..directories.len())
            .map(|i| {
                directories[i].output.as_ref()?;
                let here = directories[i].path.as_os_str().as_bytes();
                let mut group = crate::modules::output::Group::default();
                for d in &directories[..=i] {
                    if let Some(o) = &d.output
                        && dir_applies(d.path.as_os_str().as_bytes(), here, b"")
                    {
                        group.add(o);
                    }
                }
                Some(output.over(&group))
            })
            .collect();
        for (d, r) in directories.iter_mut().zip(resolved) {
            d.same_types = r
                .as_ref()
                .is_none_or(|r| r.mime == output.mime && r.filters == output.filters);
            d.output = r;
        }
        let output_files: Vec<_> = cfg
            .files_sections
            .iter()
            .filter(|f| !f.output.is_empty())
            .map(|f| (f.pattern.clone(), f.output.clone()))
            .collect();
        let output_locations: Vec<_> = cfg
            .locations
            .iter()
            .filter(|l| !l.output.is_empty())
            .map(|l| (l.path.clone(), l.output.clone()))
            .collect();
        let output_sections = directories.iter().any(|d| d.output.is_some())
            || !output_files.is_empty()
            || !output_locations.is_empty();
        let alias_roots = cfg
            .server_modules
            .aliases
            .iter()
            .map(|a| {
                let dir = Path::new(a.root());
                let canon = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
                let fd = match crate::sys::open_dir(&canon) {
                    Ok(fd) => Some(fd),
                    Err(e) => {
                        log::warn!("Alias target {} cannot be opened: {e}", canon.display());
                        None
                    }
                };
                (canon, fd)
            })
            .collect();
        let files: Vec<(crate::config::FilesPattern, SectionSettings)> = cfg
            .files_sections
            .iter()
            .filter(|f| !f.modules.is_empty())
            .map(|f| (f.pattern.clone(), f.modules.clone()))
            .collect();
        Ok(Host {
            document_root: root,
            root_fd,
            directory_index: cfg.directory_index.clone(),
            files_handlers: cfg
                .files_sections
                .iter()
                .filter_map(|f| Some((f.pattern.clone(), f.handler.clone()?)))
                .collect(),
            locations: cfg
                .locations
                .iter()
                .map(|l| (l.path.clone(), l.handler.clone()))
                .collect(),
            module_locations: cfg
                .locations
                .iter()
                .filter(|l| !l.modules.is_empty())
                .map(|l| (l.path.clone(), l.modules.clone()))
                .collect(),
            any_headers: {
                let m = &cfg.server_modules;
                !m.section.headers.is_empty()
                    || !m.host_section.headers.is_empty()
                    || cfg.locations.iter().any(|l| !l.modules.headers.is_empty())
                    || cfg
                        .directories
                        .iter()
                        .any(|d| !d.modules.headers.is_empty())
                    || files.iter().any(|(_, f)| !f.headers.is_empty())
            },
            local_error_documents: {
                let m = &cfg.server_modules;
                m.section.error_documents.has_local()
                    || m.host_section.error_documents.has_local()
                    || cfg
                        .locations
                        .iter()
                        .any(|l| l.modules.error_documents.has_local())
                    || directories
                        .iter()
                        .any(|d| d.modules.error_documents.has_local())
                    || files.iter().any(|(_, f)| f.error_documents.has_local())
            },
            modules_active: !cfg.server_modules.is_empty()
                || cfg.locations.iter().any(|l| !l.modules.is_empty())
                || directories.iter().any(|d| !d.modules.is_empty())
                || !files.is_empty(),
            directories,
            files,
            modules: cfg.server_modules.clone(),
            alias_roots,
            server_name: cfg.server_name.clone(),
            server_admin: cfg
                .server_admin
                .clone()
                .unwrap_or_else(|| "[no address given]".into()),
            signature: cfg.server_signature,
            cgi: crate::cgi::Settings::new(cfg),
            logs,
            cache: 0,
            output,
            deflate: cfg.output.deflate.clone(),
            output_files,
            output_locations,
            output_sections,
        })
    }

    /// The handler and symbolic-link rule for a decoded request path. `<Directory>` sections
    /// apply first (shortest to longest), `<Location>` sections after them (in configuration
    /// order), each overriding what came before, as httpd merges them.
    pub fn route(&self, path: &[u8]) -> Route<'_> {
        let mut r = Route {
            handler: Handler::Default,
            handler_set: None,
            follow_symlinks: true,
            host: std::marker::PhantomData,
        };
        let (base, rest) = self.file_base(path);
        for d in &self.directories {
            if let Some(f) = d.follow_symlinks
                && dir_applies(d.path.as_os_str().as_bytes(), base, &rest)
            {
                r.follow_symlinks = f;
            }
        }
        // <Files> after <Directory>, before <Location>, as httpd's walks merge them; they match
        // the URL-path's last segment, as `Host::sections` matches them.
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        for (pattern, handler) in &self.files_handlers {
            if pattern.matches(name) {
                r.set_handler(handler);
            }
        }
        for (prefix, handler) in &self.locations {
            // httpd's non-regex <Location> is a plain prefix match on the URL-path.
            if let Some(h) = handler
                && path.starts_with(prefix.as_bytes())
            {
                r.set_handler(h);
            }
        }
        r
    }
}

impl Route<'_> {
    fn set_handler(&mut self, h: &Handler) {
        if *h == Handler::Unset {
            self.handler = Handler::Default;
            self.handler_set = Some(false);
        } else {
            self.handler = h.clone();
            self.handler_set = Some(true);
        }
    }
}

/// Whether the relative path `path` is `dir` or beneath it (`dir` relative too, without a
/// trailing slash).
pub(crate) fn is_within(path: &[u8], dir: &[u8]) -> bool {
    let dir = dir.strip_suffix(b"/").unwrap_or(dir);
    match path.strip_prefix(dir) {
        Some(rest) => rest.is_empty() || rest.starts_with(b"/"),
        None => false,
    }
}

/// The file path, relative to the DocumentRoot, that a normalised URL-path names
/// ([`path::normalize`](eventmpm_core::http1::path::normalize)'s output): the path without its
/// leading `/`, byte for byte. Every component of the result is a plain name (no `..`, no root),
/// so joining it to a directory stays beneath that directory; the fuzz target `url_path` checks
/// this for every path the normaliser accepts.
pub fn relative_path(decoded: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(
        decoded.strip_prefix(b"/").unwrap_or(decoded),
    ))
}

/// A complete, self-contained error response (`Connection: close`), for the listener's
/// rejections where no request could be parsed.
pub fn error_response(status: u16) -> Vec<u8> {
    let status = Status::new(status).unwrap_or(Status::BAD_REQUEST);
    let mut body = [0u8; 1024];
    let n = ErrorPage::new(status).write(&mut body).unwrap_or(0);
    response(status, None, &body[..n])
}

/// A rejection's bytes: status line, Date, Content-Length, `Connection: close`, httpd's error
/// type, a Location if given, and `body`.
fn response(status: Status, location: Option<&[u8]>, body: &[u8]) -> Vec<u8> {
    let d = date::format(now_unix());
    let mut out = Vec::with_capacity(256 + body.len());
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\nDate: {}\r\n",
        status.code(),
        status.reason(),
        std::str::from_utf8(&d).unwrap_or(""),
    );
    if let Some(l) = location {
        out.extend_from_slice(b"Location: ");
        out.extend_from_slice(l);
        out.extend_from_slice(b"\r\n");
    }
    let _ = write!(
        out,
        "Content-Length: {}\r\nConnection: close\r\n\
         Content-Type: text/html; charset=iso-8859-1\r\n\r\n",
        body.len()
    );
    out.extend_from_slice(body);
    out
}

impl Site {
    /// The listener's rejection with `status` of a head it could not read on a connection to
    /// `local`: with the server's `ErrorDocument` message or URL for it where one is set, as
    /// httpd answers with the server's settings there. A local document needs a request to
    /// redirect, which there is not: the built-in page goes out.
    pub fn rejection(&self, local: std::net::SocketAddr, status: u16) -> Vec<u8> {
        use crate::modules::error_document::{Document, find};
        let host = &self.hosts[self.choose(local, None)];
        let find = |code: u16| {
            find(
                [&host.modules.section, &host.modules.host_section].into_iter(),
                code,
            )
        };
        let st = Status::new(status).unwrap_or(Status::BAD_REQUEST);
        match find(st.code()) {
            Some(Document::Text(text)) => response(st, None, text),
            Some(Document::Remote(url)) => {
                let body = match find(302) {
                    Some(Document::Text(text)) => text.clone(),
                    _ => {
                        let mut page = ErrorPage::new(Status::FOUND);
                        page.location = url.as_bytes();
                        let mut body = vec![0u8; 1024 + url.len() * 6];
                        let n = page.write(&mut body).unwrap_or(0);
                        body.truncate(n);
                        body
                    }
                };
                response(Status::FOUND, Some(url.as_bytes()), &body)
            }
            _ => error_response(status),
        }
    }
}

/// Wall-clock seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::is_within;

    #[test]
    fn a_directory_contains_itself_and_what_is_beneath_it_only() {
        assert!(is_within(b"a", b"a"));
        assert!(is_within(b"a/b/c.txt", b"a"));
        assert!(is_within(b"a/b/c.txt", b"a/b/"));
        assert!(is_within(b"a/b", b"a/b"));
        assert!(!is_within(b"ab", b"a"));
        assert!(!is_within(b"a", b"a/b"));
        assert!(!is_within(b"b/a", b"a"));
        assert!(!is_within(b"", b"a"));
    }
}
