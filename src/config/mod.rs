//! The server configuration: httpd.conf files read with the core's tokenizer, MPM and protocol
//! directives applied by the core's [`Config`], the rest (files, logs, locations, access)
//! handled here.
//!
//! Errors carry `file:line: message`, with httpd's wording where httpd has one. An unknown
//! directive is an error at its line, as in httpd.

mod files;
mod include;
mod known;
mod modules;
mod reader;
mod vars;
mod vhost;

use reader::Reader;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use eventmpm_core::config::Config;

use crate::logformat::{self, LogFormat};
pub use files::{Files, FilesPattern};
pub use modules::Modules;
pub use vhost::{HostAddr, MAX_HOSTS, VirtualHost};

/// The built-in configuration used without `-f` (conf/builtin.conf, compiled in).
pub const BUILTIN: &str = include_str!("../../conf/builtin.conf");
/// The name [`BUILTIN`] is reported under in messages.
pub const BUILTIN_NAME: &str = "(built-in defaults)";

/// Include nesting bound (httpd: "Exceeded the maximum include directory nesting level of 128").
const MAX_INCLUDE_DEPTH: usize = 32;
/// Most configuration files one server reads, so a glob cannot make start-up unbounded.
const MAX_FILES: usize = 4096;

/// A configuration error: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or [`BUILTIN_NAME`]).
    pub file: PathBuf,
    /// The line, 1-based; 0 when the error is about the file as a whole.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// What a `<Location>` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handler {
    /// `SetHandler server-status`.
    ServerStatus,
    /// `SetHandler default-handler` or `None`: static files.
    Default,
    /// `SetHandler cgi-script`: every file is run as a CGI script (ExecCGI still required).
    Cgi,
    /// `SetHandler None`: lifts an inherited `SetHandler`, leaving the extension's handler
    /// (`AddHandler`) to decide, as httpd's core does with `none`.
    Unset,
}

/// `ScriptAlias URL-PATH DIRECTORY`: URLs under the prefix name CGI scripts in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptAlias {
    /// The URL-path prefix (`/cgi-bin/`).
    pub prefix: String,
    /// The directory (absolute).
    pub dir: PathBuf,
}

/// A `<Location path>` section.
#[derive(Debug, Clone)]
pub struct Location {
    /// The URL-path prefix it applies to.
    pub path: String,
    /// Its handler, if set.
    pub handler: Option<Handler>,
    /// Its access, authentication, header, redirect and variable settings.
    pub modules: crate::modules::SectionSettings,
    /// Its mod_mime, mod_autoindex and DEFLATE-filter lines.
    pub output: crate::modules::DirOutput,
    /// `AddHandler cgi-script EXT…` inside the section (lowercase, without the dot).
    pub cgi_extensions: Vec<String>,
    /// `RemoveHandler EXT…` inside the section.
    pub cgi_removed: Vec<String>,
}

/// A `<Directory path>` section.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The filesystem directory it applies to (absolute).
    pub path: PathBuf,
    /// Its access, authentication, header, redirect and variable settings.
    pub modules: crate::modules::SectionSettings,
    /// `Options FollowSymLinks` (httpd's default is on): follow symbolic links that stay
    /// inside the DocumentRoot.
    pub follow_symlinks: Option<bool>,
    /// `Options ExecCGI` (httpd's default is off): CGI scripts may run here.
    pub exec_cgi: Option<bool>,
    /// `SetHandler` inside the section.
    pub handler: Option<Handler>,
    /// `AddHandler cgi-script EXT…` inside the section (lowercase, without the dot).
    pub cgi_extensions: Vec<String>,
    /// `RemoveHandler EXT…` inside the section: these extensions lose an inherited (or the
    /// section's own) handler, as mod_mime's merge removes it.
    pub cgi_removed: Vec<String>,
    /// Its mod_mime, mod_autoindex and DEFLATE-filter lines.
    pub output: crate::modules::DirOutput,
}

/// `ServerTokens`: how much the `Server` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTokens {
    /// `eventmpm`.
    Prod,
    /// `eventmpm/0`.
    Major,
    /// `eventmpm/0.1`.
    Minor,
    /// `eventmpm/0.1.0` (httpd's `Min`/`Minimal`).
    Minimal,
    /// `eventmpm/0.1.0 (Unix)` (httpd's default `Full`; `OS` prints the same).
    Full,
}

/// `ServerSignature`: the line that ends error pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signature {
    /// No line (httpd's default).
    #[default]
    Off,
    /// `<address>SERVER Server at NAME Port PORT</address>`.
    On,
    /// The same, the name a `mailto:` link to ServerAdmin.
    Email,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// MPM and protocol directives, checked by the core.
    pub core: Config,
    /// ServerRoot: relative paths are resolved against it.
    pub server_root: PathBuf,
    /// ServerName (without the port).
    pub server_name: String,
    /// DocumentRoot.
    pub document_root: PathBuf,
    /// DefaultRuntimeDir (absolute); `None`: `logs` under ServerRoot, httpd's
    /// `DEFAULT_REL_RUNTIMEDIR`. Lock files of file-based mutexes go there by default.
    #[doc(alias = "DefaultRuntimeDir")]
    pub runtime_dir: Option<PathBuf>,
    /// Whether a `DocumentRoot` line set it (the compiled-in default need not exist: in
    /// Debian's tree every site is a `<VirtualHost>` with its own).
    pub document_root_set: bool,
    /// DirectoryIndex; empty after `DirectoryIndex disabled`.
    pub directory_index: Vec<String>,
    /// ErrorLog file; `/dev/stderr` means the terminal.
    pub error_log: PathBuf,
    /// LogLevel.
    pub log_level: log::LevelFilter,
    /// CustomLog files and their formats.
    pub custom_logs: Vec<(PathBuf, LogFormat)>,
    /// BufferedLogs (default on here, unlike httpd: see the README).
    #[doc(alias = "BufferedLogs")]
    pub buffered_logs: bool,
    /// TypesConfig, if given (else the built-in table).
    pub types_config: Option<PathBuf>,
    /// mod_mime's rules, DirectorySlash, `Options Indexes`, mod_autoindex and mod_deflate.
    pub output: crate::modules::OutputSettings,
    /// `<Location>` sections, in configuration order.
    pub locations: Vec<Location>,
    /// `<Directory>` sections, in configuration order.
    pub directories: Vec<Directory>,
    /// `<Files>` and `<FilesMatch>` sections, in configuration order.
    pub files_sections: Vec<Files>,
    /// `ScriptAlias` lines, in configuration order (the first match wins, as in mod_alias).
    pub script_aliases: Vec<ScriptAlias>,
    /// Server-level `AddHandler cgi-script EXT…` (lowercase, without the dot).
    pub cgi_extensions: Vec<String>,
    /// `CGIScriptTimeout` (mod_cgid): how long a script may stay silent; `Timeout` when unset.
    pub cgi_script_timeout: Option<std::time::Duration>,
    /// `LimitInternalRecursion`'s first number: the internal redirects a request may go
    /// through (httpd's default, 10).
    #[doc(alias = "LimitInternalRecursion")]
    pub redirect_limit: u32,
    /// ExtendedStatus (default on, as in httpd with mod_status loaded).
    pub extended_status: bool,
    /// OpenFileCache and OpenFileCacheValid: each child's cache of open static files.
    pub open_file_cache: crate::open_files::Settings,
    /// ServerTokens.
    pub server_tokens: ServerTokens,
    /// ServerAdmin (shown on error pages).
    pub server_admin: Option<String>,
    /// ServerSignature.
    pub server_signature: Signature,
    /// Loaded modules, for `<IfModule>` and `-V`/`-M`.
    pub modules: Modules,
    /// `<VirtualHost>` sections, in configuration order (the first for an address is its
    /// default).
    pub vhosts: Vec<VirtualHost>,
    /// Names from `-D` and `Define` (for `<IfDefine>`, `${NAME}` and `-S`).
    pub defines: Vec<(String, Option<String>)>,
    /// Server-level access, header, alias, redirect and variable settings
    /// ([`crate::modules`]).
    pub server_modules: crate::modules::ServerSettings,
    /// Non-fatal notes produced while reading (LoadModule of a module eventmpm replaces…),
    /// logged once the error log is open.
    pub notes: Vec<String>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// The compiled-in defaults were used (no `-f`).
    pub builtin: bool,
    /// mod_ssl's directives and, after reading, the TLS configuration they build.
    pub tls: crate::tls::Settings,
}

impl ServerConfig {
    fn new(server_root: PathBuf) -> ServerConfig {
        ServerConfig {
            core: Config::default(),
            document_root: server_root.join("htdocs"),
            document_root_set: false,
            runtime_dir: None,
            server_root,
            server_name: "localhost".into(),
            directory_index: vec!["index.html".into()],
            error_log: PathBuf::from("logs/error_log"),
            log_level: log::LevelFilter::Warn,
            custom_logs: Vec::new(),
            // Lines wait at most a second here, where httpd's buffered lines could wait without
            // bound: the reason httpd leaves it off is gone, the write per request saved stays.
            buffered_logs: true,
            types_config: None,
            output: crate::modules::OutputSettings::default(),
            locations: Vec::new(),
            directories: Vec::new(),
            files_sections: Vec::new(),
            script_aliases: Vec::new(),
            cgi_extensions: Vec::new(),
            cgi_script_timeout: None,
            redirect_limit: crate::cgi::DEFAULT_REDIRECT_LIMIT,
            // httpd's mod_status turns ExtendedStatus on when it is loaded; it always is here.
            extended_status: true,
            open_file_cache: crate::open_files::Settings::default(),
            server_tokens: ServerTokens::Full,
            server_admin: None,
            server_signature: Signature::Off,
            modules: Modules::default(),
            vhosts: Vec::new(),
            defines: Vec::new(),
            server_modules: crate::modules::ServerSettings::default(),
            notes: Vec::new(),
            files: Vec::new(),
            builtin: false,
            tls: crate::tls::Settings::default(),
        }
    }

    /// The PidFile's path (ServerRoot-relative like httpd's), or `None` when running on the
    /// compiled-in defaults, which write no pid file into the directory they serve.
    pub fn pid_file(&self) -> Option<PathBuf> {
        (!self.builtin).then(|| self.resolve(self.core.pid_file_path()))
    }

    /// Resolve `p` against ServerRoot (httpd's `ap_server_root_relative`).
    pub fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.server_root.join(p)
        }
    }

    /// The settings one host serves with: the main server's (`None`) without the sections of
    /// any `<VirtualHost>`, or `<VirtualHost>` `k`'s merged over the main server's as httpd
    /// merges them (its values where it sets them; the main server's sections first, then its
    /// own; its CustomLogs replace the main server's).
    pub fn for_host(&self, k: Option<usize>) -> ServerConfig {
        let owned = |pick: fn(&VirtualHost) -> std::ops::Range<usize>, i: usize| {
            self.vhosts.iter().any(|v| pick(v).contains(&i))
        };
        let main_locations =
            (0..self.locations.len()).filter(|&i| !owned(|v| v.locations.clone(), i));
        let main_directories =
            (0..self.directories.len()).filter(|&i| !owned(|v| v.directories.clone(), i));
        let main_files = (0..self.files_sections.len()).filter(|&i| !owned(|v| v.files.clone(), i));
        let main_aliases =
            (0..self.script_aliases.len()).filter(|&i| !owned(|v| v.script_aliases.clone(), i));
        let mut c = self.clone();
        c.locations = main_locations.map(|i| self.locations[i].clone()).collect();
        c.directories = main_directories
            .map(|i| self.directories[i].clone())
            .collect();
        c.files_sections = main_files.map(|i| self.files_sections[i].clone()).collect();
        c.script_aliases = main_aliases
            .map(|i| self.script_aliases[i].clone())
            .collect();
        let Some(v) = k.and_then(|k| self.vhosts.get(k)) else {
            return c;
        };
        c.locations
            .extend_from_slice(&self.locations[v.locations.clone()]);
        c.directories
            .extend_from_slice(&self.directories[v.directories.clone()]);
        c.files_sections
            .extend_from_slice(&self.files_sections[v.files.clone()]);
        // mod_alias: the host's aliases are looked at before the main server's.
        let mut aliases = self.script_aliases[v.script_aliases.clone()].to_vec();
        aliases.append(&mut c.script_aliases);
        c.script_aliases = aliases;
        c.cgi_extensions.extend(v.cgi_extensions.iter().cloned());
        c.cgi_extensions.retain(|e| !v.cgi_removed.contains(e));
        if let Some(n) = &v.server_name {
            c.server_name = n.clone();
        }
        if let Some(d) = &v.document_root {
            c.document_root = d.clone();
        }
        if let Some(a) = &v.server_admin {
            c.server_admin = Some(a.clone());
        }
        if let Some(s) = v.server_signature {
            c.server_signature = s;
        }
        if let Some(n) = v.redirect_limit {
            c.redirect_limit = n;
        }
        if let Some(d) = &v.directory_index {
            c.directory_index = d.clone();
        }
        if let Some(e) = &v.error_log {
            c.error_log = e.clone();
        }
        if let Some(l) = v.log_level {
            c.log_level = l;
        }
        if !v.custom_logs.is_empty() {
            c.custom_logs = v.custom_logs.clone();
        }
        c.server_modules = self.server_modules.for_host(&v.modules);
        c.output.host_dir = v.output.clone();
        // mod_deflate has no server merge: a host's settings are its own, or httpd's defaults.
        c.output.deflate = v.deflate.clone().unwrap_or_default();
        c.vhosts = Vec::new();
        c
    }

    /// httpd's `ap_runtime_dir_relative`: `p` under DefaultRuntimeDir (else `logs` under
    /// ServerRoot), or `p` itself when absolute.
    pub fn runtime_relative(&self, p: &str) -> PathBuf {
        if Path::new(p).is_absolute() {
            return PathBuf::from(p);
        }
        let dir = self
            .runtime_dir
            .clone()
            .unwrap_or_else(|| self.server_root.join("logs"));
        if p.is_empty() { dir } else { dir.join(p) }
    }

    /// The `Server` header's value.
    pub fn server_software(&self) -> String {
        let v = env!("CARGO_PKG_VERSION");
        let mut parts = v.split('.');
        match self.server_tokens {
            ServerTokens::Prod => "eventmpm".into(),
            ServerTokens::Major => format!("eventmpm/{}", parts.next().unwrap_or("0")),
            ServerTokens::Minor => {
                format!(
                    "eventmpm/{}.{}",
                    parts.next().unwrap_or("0"),
                    parts.next().unwrap_or("0")
                )
            }
            ServerTokens::Minimal => format!("eventmpm/{v}"),
            ServerTokens::Full => format!("eventmpm/{v} (Unix)"),
        }
    }
}

/// How to read the configuration.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-f FILE`; `None` = the built-in defaults.
    pub file: Option<PathBuf>,
    /// `-d DIR`: the initial ServerRoot (default: the current directory).
    pub server_root: Option<PathBuf>,
    /// `-D NAME`s.
    pub defines: Vec<String>,
    /// `-C` directives applied before the file, `-c` after it.
    pub before: Vec<String>,
    /// See `before`.
    pub after: Vec<String>,
}

/// Read, apply and check the configuration at first start. `warn` receives the core's clamp
/// warnings (httpd prints them at start-up with "WARNING: ").
pub fn load(opts: &Options, warn: &mut dyn FnMut(String)) -> Result<ServerConfig, ConfigError> {
    let mut cfg = read(opts)?;
    require_listeners(&cfg)?;
    cfg.core.check(true, &mut |w| warn(w.console().to_string()));
    Ok(cfg)
}

/// Read the configuration again for a restart: the process model is checked against the
/// running one (ServerLimit and ThreadLimit cannot change; httpd's AH00501/AH00506), with the
/// restart wording of the warnings.
pub fn reload(
    opts: &Options,
    previous: &ServerConfig,
    warn: &mut dyn FnMut(String),
) -> Result<ServerConfig, ConfigError> {
    let mut cfg = read(opts)?;
    cfg.core
        .check_restart(&previous.core, &mut |w| warn(w.to_string()));
    Ok(cfg)
}

/// Read and apply the configuration without the process-model checks.
pub fn read(opts: &Options) -> Result<ServerConfig, ConfigError> {
    let root = match &opts.server_root {
        Some(r) => r.clone(),
        None => std::env::current_dir().map_err(|e| ConfigError {
            file: PathBuf::from("."),
            line: 0,
            message: format!("cannot determine the current directory: {e}"),
        })?,
    };
    let formats = HashMap::from([
        (
            "common".to_string(),
            LogFormat::parse(logformat::COMMON).expect("valid format"),
        ),
        (
            "combined".to_string(),
            LogFormat::parse(logformat::COMBINED).expect("valid format"),
        ),
    ]);
    let mut r = Reader {
        cfg: ServerConfig::new(root),
        files: 0,
        formats,
        includes: Vec::new(),
        vhost: None,
    };
    r.cfg.defines = opts.defines.iter().map(|d| (d.clone(), None)).collect();
    for (i, d) in opts.before.iter().enumerate() {
        r.text(Path::new("-C"), d, 0, i as u32)?;
    }
    match &opts.file {
        None => {
            r.text(Path::new(BUILTIN_NAME), BUILTIN, 0, 0)?;
            r.cfg.builtin = true;
        }
        Some(f) => {
            let path = if f.is_absolute() {
                f.clone()
            } else {
                r.cfg.resolve(&f.to_string_lossy())
            };
            r.file(&path, 0)?;
        }
    }
    for (i, d) in opts.after.iter().enumerate() {
        r.text(Path::new("-c"), d, 0, i as u32)?;
    }
    crate::tls::finish(&mut r.cfg)?;
    Ok(r.cfg)
}

/// A server needs at least one `Listen` (httpd: "no listening sockets available, shutting
/// down"); `-V`, `-M` and `-l` do not.
pub fn require_listeners(cfg: &ServerConfig) -> Result<(), ConfigError> {
    if cfg.core.listeners.is_empty() {
        let file = cfg
            .files
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from(BUILTIN_NAME));
        return Err(ConfigError {
            file,
            line: 0,
            message: "no listening sockets available, shutting down (no Listen directive)".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::reader::strip_port;
    use super::*;

    fn load_text(text: &str) -> Result<ServerConfig, ConfigError> {
        let dir = std::env::temp_dir().join(format!(
            "eventmpm-conf-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.conf");
        std::fs::write(&f, text).unwrap();
        let r = load(
            &Options {
                file: Some(f),
                server_root: Some(dir.clone()),
                ..Options::default()
            },
            &mut |_| {},
        );
        std::fs::remove_dir_all(&dir).unwrap();
        r
    }

    #[test]
    fn builtin_defaults_serve_the_current_directory_with_status() {
        let cfg = load(&Options::default(), &mut |w| panic!("warning: {w}")).unwrap();
        assert_eq!(cfg.core.listeners.len(), 1);
        assert_eq!(cfg.core.listeners[0].port, 8080);
        assert_eq!(
            cfg.document_root,
            std::env::current_dir().unwrap().join(".")
        );
        let status = &cfg.locations[0];
        assert_eq!(
            (status.path.as_str(), &status.handler),
            ("/server-status", &Some(Handler::ServerStatus))
        );
        assert!(status.modules.authz.has_rules(), "Require local");
        assert!(cfg.extended_status);
    }

    #[test]
    fn debian_files_included_unchanged_apply_cleanly() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debian");
        let text = format!(
            "Listen 127.0.0.1:8080\n<IfModule mpm_event_module>\nInclude {0}/mpm_event.conf\n</IfModule>\n\
             <IfModule mpm_worker_module>\nInclude {0}/mpm_worker.conf\n</IfModule>\n\
             Include {0}/status.conf\nInclude {0}/reqtimeout.conf\n",
            fixtures.display()
        );
        let cfg = load_text(&text).unwrap();
        let p = cfg.core.process();
        assert_eq!(
            (p.start_servers, p.threads_per_child, p.max_workers),
            (2, 25, 150)
        );
        assert_eq!(cfg.locations[0].handler, Some(Handler::ServerStatus));
        assert!(cfg.extended_status);
    }

    #[test]
    #[cfg(feature = "tls")]
    fn debian_ssl_conf_applies() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debian");
        let text = format!(
            "Listen 127.0.0.1:8443 https\nDefine APACHE_RUN_DIR /run/apache2\nInclude {}/ssl.conf\n",
            fixtures.display()
        );
        let cfg = load_text(&text).unwrap();
        assert_eq!(cfg.tls.session_tickets, Some(false));
        assert_eq!(cfg.tls.session_cache, Some(1000));
        // SSLEngine is not on: no certificate is needed, nothing is built.
        assert!(cfg.tls.built.is_none());
    }

    #[test]
    fn worker_mpm_by_loadmodule() {
        let cfg = load_text(
            "LoadModule mpm_worker_module modules/mod_mpm_worker.so\nListen 8081\n\
             <IfModule mpm_worker_module>\nThreadsPerChild 10\nMaxRequestWorkers 20\n</IfModule>\n\
             <IfModule mpm_event_module>\nThreadsPerChild 99\n</IfModule>\n",
        )
        .unwrap();
        assert_eq!(cfg.modules.mpm(), eventmpm_core::config::Mpm::Worker);
        assert_eq!(cfg.core.process().threads_per_child, 10);
    }

    #[test]
    fn errors_are_file_line_message() {
        let e = load_text("Listen 8080\n\nBogusDirective on\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.message.starts_with("Invalid command 'BogusDirective'"),
            "{e}"
        );
        assert!(e.to_string().contains("t.conf:3: Invalid command"), "{e}");
        let e = load_text("Listen 8080\nThreadsPerChild\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.message.starts_with("ThreadsPerChild takes one argument"),
            "{e}"
        );
        let e = load_text("Listen 8080\n<Location /x>\nRequire bogus\n</Location>\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = load_text("Listen 8080\n<Location /x>\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("was not closed"), "{e}");
        let e = load_text("ServerName x\n").unwrap_err();
        assert!(e.message.contains("no listening sockets"), "{e}");
        let e = load_text("Listen 8080\nInclude /nonexistent/dir/*.conf\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn an_error_inside_an_include_names_the_included_file_and_line() {
        let dir = std::env::temp_dir().join(format!("eventmpm-inc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.conf"), "Listen 8080\nInclude sub.conf\n").unwrap();
        std::fs::write(dir.join("sub.conf"), "# sub\n\nBogusDirective on\n").unwrap();
        let opts = |f: &str| Options {
            file: Some(dir.join(f)),
            server_root: Some(dir.clone()),
            ..Options::default()
        };
        let e = load(&opts("main.conf"), &mut |_| {}).unwrap_err();
        assert_eq!((e.file.clone(), e.line), (dir.join("sub.conf"), 3), "{e}");
        assert!(
            e.message.starts_with("Invalid command 'BogusDirective'"),
            "{e}"
        );
        // A file that cannot be opened is reported at the Include line.
        std::fs::write(dir.join("main.conf"), "Listen 8080\n\nInclude gone.conf\n").unwrap();
        let e = load(&opts("main.conf"), &mut |_| {}).unwrap_err();
        assert_eq!((e.file.clone(), e.line), (dir.join("main.conf"), 3), "{e}");
        assert!(
            e.message.starts_with("Could not open configuration file"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn limit_request_body_in_a_section_is_refused_not_applied_everywhere() {
        let e = load_text("Listen 8080\n<Location /upload>\nLimitRequestBody 10\n</Location>\n")
            .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("not supported"), "{e}");
        let cfg = load_text("Listen 8080\nLimitRequestBody 10\n").unwrap();
        assert_eq!(cfg.core.limit_request_body, 10);
    }

    #[test]
    fn limit_internal_recursion_as_httpd_reads_it() {
        let cfg = load_text("Listen 8080\n").unwrap();
        assert_eq!(cfg.redirect_limit, 10);
        let cfg = load_text(
            "Listen 8080\nLimitInternalRecursion 5x 7\n<VirtualHost *:8080>\n\
             LimitInternalRecursion 3\n</VirtualHost>\n<VirtualHost *:8080>\n</VirtualHost>\n",
        )
        .unwrap();
        assert_eq!(cfg.redirect_limit, 5);
        assert_eq!(cfg.for_host(Some(0)).redirect_limit, 3);
        assert_eq!(cfg.for_host(Some(1)).redirect_limit, 5);
        assert!(
            cfg.notes.iter().any(|n| n == "AH00119: Limiting internal redirects to very low numbers may cause normal requests to fail."),
            "{:?}",
            cfg.notes
        );
        let cfg = load_text("Listen 8080\nLimitInternalRecursion 20 2\n").unwrap();
        assert_eq!(cfg.redirect_limit, 20);
        assert!(cfg.notes.iter().any(|n| n.starts_with("AH00120: ")));
        for (line, message) in [
            (
                "LimitInternalRecursion 0",
                "The recursion limit must be greater than zero.",
            ),
            (
                "LimitInternalRecursion x",
                "The recursion limit must be greater than zero.",
            ),
            (
                "LimitInternalRecursion 5 -1",
                "The recursion limit must be greater than zero.",
            ),
            (
                "LimitInternalRecursion",
                "LimitInternalRecursion takes one or two arguments, maximum recursion depth of internal redirects and subrequests",
            ),
            (
                "LimitInternalRecursion 1 2 3",
                "LimitInternalRecursion takes one or two arguments, maximum recursion depth of internal redirects and subrequests",
            ),
        ] {
            let e = load_text(&format!("Listen 8080\n{line}\n")).unwrap_err();
            assert_eq!((e.line, e.message.as_str()), (2, message), "{line}");
        }
        let e = load_text("Listen 8080\n<Location /x>\nLimitInternalRecursion 5\n</Location>\n")
            .unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (3, "LimitInternalRecursion not allowed here")
        );
    }

    #[test]
    fn extended_status_defaults_on_as_with_mod_status_loaded() {
        assert!(
            load_text("Listen 127.0.0.1:8080\n")
                .unwrap()
                .extended_status
        );
        assert!(
            !load_text("Listen 127.0.0.1:8080\nExtendedStatus Off\n")
                .unwrap()
                .extended_status
        );
    }

    #[test]
    fn open_file_cache_defaults_on_and_takes_entries_validity_or_off() {
        use std::time::Duration;
        let cfg = load_text("Listen 127.0.0.1:8080\n").unwrap();
        assert_eq!(cfg.open_file_cache, crate::open_files::Settings::default());
        assert_eq!(
            (cfg.open_file_cache.entries, cfg.open_file_cache.valid),
            (1024, Duration::from_secs(1))
        );
        let cfg =
            load_text("Listen 127.0.0.1:8080\nOpenFileCache 64\nOpenFileCacheValid 5s\n").unwrap();
        assert_eq!(
            (cfg.open_file_cache.entries, cfg.open_file_cache.valid),
            (64, Duration::from_secs(5))
        );
        let cfg = load_text("Listen 127.0.0.1:8080\nopenfilecache off\n").unwrap();
        assert_eq!(cfg.open_file_cache.entries, 0);
        for (text, line, message) in [
            (
                "Listen 8080\nOpenFileCache lots\n",
                2,
                "OpenFileCache must be a number",
            ),
            (
                "Listen 8080\n\nOpenFileCache 1 2\n",
                3,
                "OpenFileCache takes one argument",
            ),
            (
                "Listen 8080\nOpenFileCacheValid 0\n",
                2,
                "OpenFileCacheValid must be",
            ),
            (
                "Listen 8080\n<Directory />\nOpenFileCache 8\n</Directory>\n",
                3,
                "OpenFileCache cannot occur within",
            ),
        ] {
            let e = load_text(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.message.starts_with(message), "{text}: {e}");
            assert!(e.to_string().contains(&format!("t.conf:{line}: ")), "{e}");
        }
    }

    #[test]
    fn buffered_logs_defaults_on_and_takes_on_or_off() {
        assert!(load_text("Listen 8080\n").unwrap().buffered_logs);
        assert!(
            !load_text("Listen 8080\nBufferedLogs off\n")
                .unwrap()
                .buffered_logs
        );
        let e = load_text("Listen 8080\nBufferedLogs maybe\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert_eq!(e.message, "BufferedLogs must be On or Off", "{e}");
        let e =
            load_text("Listen 8080\n<Location /x>\nBufferedLogs On\n</Location>\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn ifdefine_and_negation() {
        let dir = std::env::temp_dir().join(format!("eventmpm-def-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("d.conf");
        std::fs::write(
            &f,
            "Listen 8080\n<IfDefine FAST>\nKeepAliveTimeout 1\n</IfDefine>\n\
             <IfDefine !FAST>\nKeepAliveTimeout 9\n</IfDefine>\n",
        )
        .unwrap();
        let with = |defines: Vec<String>| {
            load(
                &Options {
                    file: Some(f.clone()),
                    defines,
                    ..Options::default()
                },
                &mut |_| {},
            )
            .unwrap()
            .core
            .keep_alive_timeout
        };
        assert_eq!(with(vec!["FAST".into()]).as_secs(), 1);
        assert_eq!(with(vec![]).as_secs(), 9);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cgi_directives() {
        let cfg = load_text(
            "Listen 8080\nScriptAlias /cgi-bin/ \"/srv/cgi/\"\nAddHandler cgi-script .cgi .PL\n\
             AddHandler type-map var\nCGIScriptTimeout 7\n\
             <Directory /srv/a>\nOptions +ExecCGI\nAddHandler cgi-script py\n</Directory>\n\
             <Directory /srv/a/b>\nOptions FollowSymLinks\nSetHandler cgi-script\n</Directory>\n\
             <Directory /srv/c>\nOptions All\nOptions -ExecCGI\n</Directory>\n\
             <Location /x>\nSetHandler cgi-script\n</Location>\n",
        )
        .unwrap();
        assert_eq!(
            cfg.script_aliases,
            vec![ScriptAlias {
                prefix: "/cgi-bin/".into(),
                dir: PathBuf::from("/srv/cgi/"),
            }]
        );
        assert_eq!(cfg.cgi_extensions, vec!["cgi", "pl"]);
        assert_eq!(
            cfg.cgi_script_timeout,
            Some(std::time::Duration::from_secs(7))
        );
        assert!(cfg.notes.iter().any(|n| n.contains("AddHandler type-map")));
        let d = &cfg.directories;
        assert_eq!(
            (d[0].exec_cgi, &d[0].cgi_extensions[..]),
            (Some(true), &["py".to_string()][..])
        );
        // A list without +/- replaces the options: ExecCGI is off there.
        assert_eq!(
            (d[1].exec_cgi, &d[1].handler),
            (Some(false), &Some(Handler::Cgi))
        );
        assert_eq!(
            (d[2].exec_cgi, d[2].follow_symlinks),
            (Some(false), Some(true))
        );
        assert_eq!(cfg.locations[0].handler, Some(Handler::Cgi));
        for (bad, what) in [
            ("ScriptAliasMatch ^/x(.*) /srv/$1", "not supported"),
            ("ScriptAlias cgi-bin /srv", "must start with /"),
            ("ScriptAlias /cgi-bin/", "two arguments"),
            (
                "<Location /s>\nSetHandler bogus-handler\n</Location>",
                "SetHandler bogus-handler",
            ),
            (
                "<Directory /s>\nSetHandler server-status\n</Directory>",
                "only supported inside <Location>",
            ),
            ("AddHandler cgi-script", "at least 1 argument"),
            ("CGIScriptTimeout soon", "wrong format"),
        ] {
            let e = load_text(&format!("Listen 8080\n{bad}\n")).unwrap_err();
            assert!(e.message.contains(what), "{bad}: {e}");
        }
    }

    #[test]
    fn server_name_port_is_dropped() {
        assert_eq!(strip_port("example.org:8080"), "example.org");
        assert_eq!(strip_port("example.org"), "example.org");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("::1"), "::1");
    }
}
