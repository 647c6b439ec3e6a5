//! `<VirtualHost>` sections: their addresses, names and the settings they override.
//!
//! A host's `<Location>`, `<Directory>` and `ScriptAlias` entries stay in the configuration's
//! lists, in file order (so a section is addressed by one index wherever it was written); a host
//! records the ranges it owns. Sections cannot nest inside one another and `<VirtualHost>`
//! cannot nest, so each host's entries are contiguous.

use std::net::IpAddr;
use std::ops::Range;
use std::path::PathBuf;

use crate::logformat::LogFormat;

/// Most `<VirtualHost>` sections one configuration may hold (the host table is scanned per
/// connection, so it is bounded; shared hosting with more names uses `ServerAlias`).
pub const MAX_HOSTS: usize = 1024;
/// Most addresses on one `<VirtualHost>` line.
pub const MAX_ADDRS: usize = 32;

/// One address of a `<VirtualHost addr[:port] …>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddr {
    /// `None` for `*` and `_default_` (any local address).
    pub ip: Option<IpAddr>,
    /// 0 for `:*` or no port (any port).
    pub port: u16,
    /// The address as written, without the port: a `Host` naming it exactly selects the host
    /// when no ServerName or ServerAlias does (httpd's `virthost` fallback).
    pub text: String,
}

impl HostAddr {
    /// Parse one address: `*`, `_default_`, an IPv4 address or `[IPv6]`, each with an
    /// optional `:port` or `:*`. Host names are refused: httpd resolves them once at start-up
    /// and warns that this is fragile; eventmpm asks for the address.
    pub fn parse(s: &str) -> Result<HostAddr, String> {
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("Cannot parse VirtualHost address '{s}'"))?;
            match after {
                "" => (h, None),
                p => (
                    h,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| format!("Cannot parse VirtualHost address '{s}'"))?,
                    ),
                ),
            }
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, Some(p)),
                _ => (s, None),
            }
        };
        let port = match port {
            None | Some("*") => 0,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("The address or port is invalid: {s}"))?,
        };
        let ip = if host == "*" || host.eq_ignore_ascii_case("_default_") {
            None
        } else {
            match host.parse::<IpAddr>() {
                // httpd treats 0.0.0.0 (and ::) as a wildcard address.
                Ok(ip) if ip.is_unspecified() => None,
                Ok(ip) => Some(ip),
                Err(_) => {
                    return Err(format!(
                        "Cannot resolve host name {host} --- eventmpm takes an IP address, '*' or \
                         '_default_' in <VirtualHost>"
                    ));
                }
            }
        };
        Ok(HostAddr {
            ip,
            port,
            text: host.to_string(),
        })
    }
}

/// A `<VirtualHost>` section: what it listens for and what it overrides. `None` (or an empty
/// list) inherits the main server's value, as httpd merges a host over the main server.
#[derive(Debug, Clone)]
pub struct VirtualHost {
    /// The addresses on its line, in order.
    pub addrs: Vec<HostAddr>,
    /// Its mod_ssl directives (what it leaves unset, it takes from the main server's).
    pub tls: crate::tls::Settings,
    /// Where it was defined (`-S` prints it).
    pub file: PathBuf,
    /// See `file`.
    pub line: u32,
    /// ServerName (without a port); `None`: httpd's fallback (the main server's name).
    pub server_name: Option<String>,
    /// ServerAlias names without wildcards, as written (compared without regard to case).
    pub aliases: Vec<String>,
    /// ServerAlias names with `*` or `?` (compared without regard to case).
    pub wild_aliases: Vec<String>,
    /// DocumentRoot.
    pub document_root: Option<PathBuf>,
    /// ServerAdmin.
    pub server_admin: Option<String>,
    /// ServerSignature.
    pub server_signature: Option<super::Signature>,
    /// LimitInternalRecursion's redirect limit (httpd merges a host's own over the main
    /// server's).
    pub redirect_limit: Option<u32>,
    /// DirectoryIndex.
    pub directory_index: Option<Vec<String>>,
    /// ErrorLog: what is logged while one of its requests is answered goes there.
    pub error_log: Option<PathBuf>,
    /// LogLevel for what is logged while one of its requests is answered.
    pub log_level: Option<log::LevelFilter>,
    /// CustomLog lines: when there is one, the host logs to its own logs only (mod_log_config).
    pub custom_logs: Vec<(PathBuf, LogFormat)>,
    /// `AddHandler cgi-script` extensions given in the host (added to the main server's).
    pub cgi_extensions: Vec<String>,
    /// `RemoveHandler` extensions given in the host (taken from what it inherits).
    pub cgi_removed: Vec<String>,
    /// Its entries in [`ServerConfig::locations`](super::ServerConfig::locations).
    pub locations: Range<usize>,
    /// Its entries in [`ServerConfig::directories`](super::ServerConfig::directories).
    pub directories: Range<usize>,
    /// Its entries in [`ServerConfig::script_aliases`](super::ServerConfig::script_aliases).
    pub script_aliases: Range<usize>,
    /// Its entries in [`ServerConfig::files_sections`](super::ServerConfig::files_sections).
    pub files: Range<usize>,
    /// Its own server-level settings of [`crate::modules`] (lines directly inside it).
    pub modules: crate::modules::ServerSettings,
    /// Its own mod_mime, mod_autoindex and DEFLATE-filter lines (merged after the main
    /// server's).
    pub output: crate::modules::DirOutput,
    /// Its mod_deflate settings, once a line inside it sets one: created then with httpd's
    /// defaults, not the main server's, as httpd (mod_deflate has no server merge).
    pub deflate: Option<crate::modules::deflate::Settings>,
}

impl VirtualHost {
    /// An empty host for `addrs`, defined at `file:line`, whose sections start at the given
    /// list lengths.
    pub fn new(
        addrs: Vec<HostAddr>,
        file: PathBuf,
        line: u32,
        starts: (usize, usize, usize, usize),
    ) -> VirtualHost {
        VirtualHost {
            addrs,
            file,
            line,
            server_name: None,
            tls: crate::tls::Settings::default(),
            aliases: Vec::new(),
            wild_aliases: Vec::new(),
            document_root: None,
            server_admin: None,
            server_signature: None,
            redirect_limit: None,
            directory_index: None,
            error_log: None,
            log_level: None,
            custom_logs: Vec::new(),
            cgi_extensions: Vec::new(),
            cgi_removed: Vec::new(),
            locations: starts.0..starts.0,
            directories: starts.1..starts.1,
            script_aliases: starts.2..starts.2,
            files: starts.3..starts.3,
            modules: crate::modules::ServerSettings::default(),
            output: crate::modules::DirOutput::default(),
            deflate: None,
        }
    }

    /// Add `ServerAlias` names, sorted into exact and wildcard ones as httpd does.
    pub fn add_aliases(&mut self, names: &[&str]) {
        for n in names {
            if n.contains(['*', '?']) {
                self.wild_aliases.push(n.to_string());
            } else {
                self.aliases.push(n.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_httpd_reads_them() {
        let a = |s: &str| HostAddr::parse(s).map(|a| (a.ip, a.port, a.text));
        assert_eq!(a("*:80"), Ok((None, 80, "*".into())));
        assert_eq!(a("*"), Ok((None, 0, "*".into())));
        assert_eq!(a("_default_:443"), Ok((None, 443, "_default_".into())));
        assert_eq!(a("0.0.0.0:80"), Ok((None, 80, "0.0.0.0".into())));
        assert_eq!(
            a("127.0.0.1:8080"),
            Ok((Some("127.0.0.1".parse().unwrap()), 8080, "127.0.0.1".into()))
        );
        assert_eq!(
            a("127.0.0.1:*"),
            Ok((Some("127.0.0.1".parse().unwrap()), 0, "127.0.0.1".into()))
        );
        assert_eq!(
            a("[::1]:81"),
            Ok((Some("::1".parse().unwrap()), 81, "::1".into()))
        );
        assert_eq!(
            a("[::1]"),
            Ok((Some("::1".parse().unwrap()), 0, "::1".into()))
        );
        assert!(a("*:http").unwrap_err().contains("invalid"));
        assert!(a("*:0").is_err());
        assert!(a("[::1").is_err());
        assert!(
            a("www.example.com:80")
                .unwrap_err()
                .contains("Cannot resolve")
        );
    }

    /// `text` read as a configuration file in a scratch ServerRoot.
    fn read_text(text: &str) -> Result<crate::config::ServerConfig, crate::config::ConfigError> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("eventmpm-vhost-conf-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("v.conf");
        std::fs::write(&f, text).unwrap();
        let r = crate::config::read(&crate::config::Options {
            file: Some(f),
            server_root: Some(dir.clone()),
            ..crate::config::Options::default()
        });
        std::fs::remove_dir_all(&dir).unwrap();
        r
    }

    #[test]
    fn a_host_inherits_what_it_does_not_set_and_adds_its_sections() {
        let cfg = read_text(
            "ServerName main.test\nDocumentRoot /srv/main\nServerAdmin root@main.test\n\
             CustomLog /var/log/main.log common\nScriptAlias /cgi-bin/ /srv/cgi/\n\
             <Location /a>\nRequire all granted\n</Location>\n\
             <VirtualHost *:80>\nServerName one.test\nDocumentRoot /srv/one\n\
             CustomLog /var/log/one.log \"%h\"\nDirectoryIndex home.html\nLogLevel debug\n\
             ScriptAlias /tools/ /srv/tools/\n\
             <Location /b>\nRequire all denied\n</Location>\n\
             <Files \"*.bak\">\nRequire all denied\n</Files>\n</VirtualHost>\n\
             <VirtualHost *:80>\nServerName two.test\n</VirtualHost>\n\
             <Location /c>\nRequire local\n</Location>\n",
        )
        .unwrap();
        assert_eq!(cfg.vhosts.len(), 2);
        let main = cfg.for_host(None);
        let paths = |c: &crate::config::ServerConfig| {
            c.locations
                .iter()
                .map(|l| l.path.clone())
                .collect::<Vec<_>>()
        };
        // The main server has its own sections only, wherever they were written.
        assert_eq!(paths(&main), ["/a", "/c"]);
        assert_eq!(main.server_name, "main.test");
        assert!(main.files_sections.is_empty());
        let one = cfg.for_host(Some(0));
        assert_eq!(paths(&one), ["/a", "/c", "/b"]);
        assert_eq!(one.server_name, "one.test");
        assert_eq!(one.document_root, PathBuf::from("/srv/one"));
        assert_eq!(one.server_admin.as_deref(), Some("root@main.test"));
        assert_eq!(one.directory_index, ["home.html"]);
        assert_eq!(one.log_level, log::LevelFilter::Debug);
        assert_eq!(one.files_sections.len(), 1);
        assert_eq!(
            one.custom_logs
                .iter()
                .map(|(p, _)| p.clone())
                .collect::<Vec<_>>(),
            [PathBuf::from("/var/log/one.log")],
            "its own CustomLog replaces the main server's"
        );
        assert_eq!(
            one.script_aliases
                .iter()
                .map(|a| a.prefix.as_str())
                .collect::<Vec<_>>(),
            ["/tools/", "/cgi-bin/"],
            "the host's aliases first"
        );
        let two = cfg.for_host(Some(1));
        assert_eq!(paths(&two), ["/a", "/c"]);
        assert_eq!(two.document_root, PathBuf::from("/srv/main"));
        assert_eq!(two.custom_logs.len(), 1, "inherits the main server's log");
        assert_eq!(two.log_level, log::LevelFilter::Warn);
        assert_eq!(cfg.vhosts[1].server_name.as_deref(), Some("two.test"));
        assert_eq!(cfg.vhosts[0].line, 9);
    }

    #[test]
    fn a_host_merges_output_lines_over_the_main_servers_but_not_deflate_settings() {
        let cfg = read_text(
            "DeflateCompressionLevel 9\nAddType text/x-main .m\nIndexOptions FancyIndexing\n\
             <VirtualHost *:80>\nServerName one.test\nAddType text/x-one .o\n</VirtualHost>\n\
             <VirtualHost *:80>\nServerName two.test\nDeflateBufferSize 100\n</VirtualHost>\n",
        )
        .unwrap();
        let main = cfg.for_host(None);
        let one = cfg.for_host(Some(0));
        let two = cfg.for_host(Some(1));
        let default = crate::modules::deflate::Settings::default();
        // mod_deflate has no server merge in httpd: a host has httpd's defaults or its own.
        assert_ne!(main.output.deflate, default);
        assert_eq!(one.output.deflate, default);
        assert_ne!(two.output.deflate, default);
        assert_ne!(two.output.deflate, main.output.deflate);
        // The per-directory lines: the host's over the main server's.
        let types = crate::mime::MimeTypes::parse("").unwrap();
        let merged = one.output.dir.merge(&one.output.host_dir);
        let t = |n: &str| {
            types
                .metadata_under(&merged.mime, std::path::Path::new(n))
                .content_type
        };
        assert_eq!(t("a.m").as_deref(), Some("text/x-main"));
        assert_eq!(t("a.o").as_deref(), Some("text/x-one"));
        assert!(main.output.host_dir.is_empty());
    }

    #[test]
    fn main_server_only_directives_are_refused_in_a_host() {
        for (directive, message) in [
            (
                "ServerRoot /",
                "ServerRoot cannot occur within <VirtualHost> section",
            ),
            (
                "LoadModule x_module x.so",
                "LoadModule cannot occur within <VirtualHost> section",
            ),
            (
                "ServerTokens Prod",
                "ServerTokens cannot occur within <VirtualHost> section",
            ),
            (
                "StartServers 2",
                "StartServers cannot occur within <VirtualHost> section",
            ),
            (
                "Timeout 5",
                "Timeout inside <VirtualHost> is not supported by eventmpm",
            ),
            (
                "<VirtualHost *:81>\n</VirtualHost>",
                "<VirtualHost> cannot occur within <VirtualHost> section",
            ),
        ] {
            let e = read_text(&format!(
                "<VirtualHost *:80>\n{directive}\n</VirtualHost>\n"
            ))
            .unwrap_err();
            assert_eq!(e.line, 2, "{directive}: {e}");
            assert!(e.message.starts_with(message), "{directive}: {e}");
        }
        let e = read_text("<Location /x>\n<VirtualHost *:80>\n</VirtualHost>\n</Location>\n")
            .unwrap_err();
        assert!(
            e.message.starts_with(
                "<VirtualHost> cannot occur within <Directory/Location/Files> section"
            ),
            "{e}"
        );
    }

    #[test]
    fn define_and_environment_variables_expand() {
        // SAFETY: set before any thread of this test reads it; the name is this test's own.
        unsafe { std::env::set_var("EVENTMPM_VHOST_TEST_DIR", "/srv/env") };
        let cfg = read_text(
            "Define site one\nDefine flag\n<IfDefine flag>\nDocumentRoot ${EVENTMPM_VHOST_TEST_DIR}/${site}\n</IfDefine>\n\
             UnDefine flag\n<IfDefine flag>\nDocumentRoot /never\n</IfDefine>\n",
        )
        .unwrap();
        assert_eq!(cfg.document_root, PathBuf::from("/srv/env/one"));
        assert!(cfg.document_root_set);
        assert_eq!(cfg.defines, [("site".to_string(), Some("one".to_string()))]);
        let e = read_text("\nDocumentRoot ${EVENTMPM_NOT_SET_ANYWHERE}\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.message
                .contains("${EVENTMPM_NOT_SET_ANYWHERE} is not defined"),
            "{e}"
        );
        // An unclosed ${ is left as written, as httpd does.
        assert_eq!(
            read_text("DocumentRoot /a${b\n").unwrap().document_root,
            PathBuf::from("/a${b")
        );
    }

    #[test]
    fn servername_takes_a_scheme_and_port_and_namevirtualhost_is_noted() {
        let cfg = read_text(
            "NameVirtualHost *:80\nServerName https://Main.Test:443\n\
             <VirtualHost *:80>\nServerName http://one.test:80\n</VirtualHost>\n",
        )
        .unwrap();
        assert_eq!(cfg.server_name, "Main.Test");
        assert_eq!(cfg.vhosts[0].server_name.as_deref(), Some("one.test"));
        assert!(
            cfg.notes
                .iter()
                .any(|n| n.starts_with("AH00548: NameVirtualHost has no effect")),
            "{:?}",
            cfg.notes
        );
    }

    #[test]
    fn aliases_are_split_into_exact_and_wildcard() {
        let mut h = VirtualHost::new(Vec::new(), PathBuf::new(), 1, (0, 0, 0, 0));
        h.add_aliases(&["www.example.org", "*.example.org", "host?.example.net"]);
        assert_eq!(h.aliases, vec!["www.example.org"]);
        assert_eq!(h.wild_aliases, vec!["*.example.org", "host?.example.net"]);
    }
}
