//! mod_ssl's directives and the rustls configuration they build.
//!
//! Directives are read into [`Settings`] as the reader meets them (a file that does not exist
//! is refused at its line, as mod_ssl does); [`finish`] then loads the certificates and keys
//! (a bad one, or a key that does not match its certificate, is refused at the line that named
//! it) and builds the rustls configuration the children serve with. It is built in the parent
//! at every (re)start, so a graceful restart loads new certificates, and a restart whose
//! certificates fail keeps the running generation.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eventmpm_core::config::Listener;
use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::ciphers::{self, Selection};
use super::protocol::{self, Versions};
use super::sni::{Host, Hosts};
use crate::config::{ConfigError, ServerConfig};

/// Sessions each child's cache holds at most (`SSLSessionCache shmcb:…(bytes)` gives one per
/// 512 bytes within these bounds; `none` gives none).
const SESSIONS_MIN: usize = 64;
/// See [`SESSIONS_MIN`].
const SESSIONS_MAX: usize = 16 * 1024;

/// A directive's value with the place it was set, for errors found when it is used.
#[derive(Debug, Clone)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// The configuration file.
    pub file: PathBuf,
    /// Its line.
    pub line: u32,
}

/// The server's TLS settings (mod_ssl's per-server record).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `SSLEngine`.
    #[doc(alias = "SSLEngine")]
    pub engine: bool,
    /// `SSLCertificateFile`.
    #[doc(alias = "SSLCertificateFile")]
    pub certificate: Option<Located<PathBuf>>,
    /// `SSLCertificateKeyFile` (the key may also be in the certificate file).
    #[doc(alias = "SSLCertificateKeyFile")]
    pub key: Option<Located<PathBuf>>,
    /// `SSLCertificateChainFile`: intermediate certificates sent after the server's.
    #[doc(alias = "SSLCertificateChainFile")]
    pub chain: Option<Located<PathBuf>>,
    /// `SSLProtocol`, with its line (a version without a suite is refused there).
    #[doc(alias = "SSLProtocol")]
    pub versions: Option<Located<Versions>>,
    /// `SSLCipherSuite` for TLS 1.2 (`None`: all rustls has, in its order).
    #[doc(alias = "SSLCipherSuite")]
    pub tls12_suites: Option<Vec<rustls::SupportedCipherSuite>>,
    /// `SSLCipherSuite TLSv1.3 …`.
    pub tls13_suites: Option<Vec<rustls::SupportedCipherSuite>>,
    /// `SSLHonorCipherOrder`: the server's order wins.
    #[doc(alias = "SSLHonorCipherOrder")]
    pub honor_cipher_order: bool,
    /// `SSLSessionCache`: sessions per child (`Some(0)` = `none`; `None` = unset, rustls's 256).
    #[doc(alias = "SSLSessionCache")]
    pub session_cache: Option<usize>,
    /// `SSLSessionTickets` (default on, as mod_ssl).
    #[doc(alias = "SSLSessionTickets")]
    pub session_tickets: Option<bool>,
    /// `SSLStrictSNIVHostCheck`.
    #[doc(alias = "SSLStrictSNIVHostCheck")]
    pub strict_sni: bool,
    /// The built configuration ([`finish`]), when `SSLEngine on`.
    pub built: Option<Arc<rustls::ServerConfig>>,
}

fn on_off(name: &str, v: &[&str]) -> Result<bool, String> {
    match v {
        [v] if v.eq_ignore_ascii_case("on") => Ok(true),
        [v] if v.eq_ignore_ascii_case("off") => Ok(false),
        _ => Err(format!("{name} must be On or Off")),
    }
}

/// Apply `name args` if it is one of mod_ssl's directives; `None` if it is not. `in_section`:
/// the line is inside `<Directory>`/`<Location>`. Relative paths are taken from `server_root`.
#[allow(clippy::too_many_arguments)]
pub fn directive(
    s: &mut Settings,
    file: &Path,
    line: u32,
    name: &str,
    args: &[&str],
    in_section: bool,
    server_root: &Path,
    notes: &mut Vec<String>,
) -> Option<Result<(), String>> {
    let lname = name.to_ascii_lowercase();
    if !lname.starts_with("ssl") {
        return None;
    }
    fn located<T>(value: T, file: &Path, line: u32) -> Located<T> {
        Located {
            value,
            file: file.to_path_buf(),
            line,
        }
    }
    let mut note = |n: String| notes.push(format!("{}:{line}: {n}", file.display()));
    let server_only = matches!(
        lname.as_str(),
        "sslengine"
            | "sslcertificatefile"
            | "sslcertificatekeyfile"
            | "sslcertificatechainfile"
            | "sslprotocol"
            | "sslhonorcipherorder"
            | "sslsessioncache"
            | "sslsessiontickets"
            | "sslstrictsnivhostcheck"
            | "sslrandomseed"
            | "sslpassphrasedialog"
            | "sslsessioncachetimeout"
    );
    if in_section && server_only {
        return Some(Err(format!(
            "{name} cannot occur within <Directory/Location/Files> section"
        )));
    }
    let file_arg = |what: &str| -> Result<PathBuf, String> {
        let [p] = args else {
            return Err(format!("{name} takes one argument, {what}"));
        };
        let path = if Path::new(p).is_absolute() {
            PathBuf::from(p)
        } else {
            server_root.join(p)
        };
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() && m.len() > 0 => Ok(path),
            _ => Err(format!(
                "{name}: file '{}' does not exist or is empty",
                path.display()
            )),
        }
    };
    let r = match lname.as_str() {
        "sslengine" => match args {
            [v] if v.eq_ignore_ascii_case("optional") => {
                Err("SSLEngine optional (RFC 2817 upgrade) is not supported by eventmpm".into())
            }
            _ => on_off(name, args).map(|on| s.engine = on),
        },
        "sslcertificatefile" => file_arg("the server certificate file (PEM)")
            .map(|p| s.certificate = Some(located(p, file, line))),
        "sslcertificatekeyfile" => {
            file_arg("the server private key file (PEM)").map(|p| s.key = Some(located(p, file, line)))
        }
        "sslcertificatechainfile" => file_arg("the certificate chain file (PEM)")
            .map(|p| s.chain = Some(located(p, file, line))),
        "sslprotocol" => {
            protocol::parse(args, &mut note).map(|v| s.versions = Some(located(v, file, line)))
        }
        "sslciphersuite" => ciphers::parse(args).map(|sel| match sel {
            Selection::Tls12(v) => s.tls12_suites = Some(v),
            Selection::Tls13(v) => s.tls13_suites = Some(v),
        }),
        "sslhonorcipherorder" => on_off(name, args).map(|on| s.honor_cipher_order = on),
        "sslsessiontickets" => on_off(name, args).map(|on| s.session_tickets = Some(on)),
        "sslstrictsnivhostcheck" => on_off(name, args).map(|on| s.strict_sni = on),
        "sslsessioncache" => session_cache(args).map(|n| {
            s.session_cache = Some(n);
            if n > 0 {
                note(format!(
                    "SSLSessionCache: each child keeps its own cache of {n} sessions (session tickets resume across children)"
                ));
            }
        }),
        "sslsessioncachetimeout" => match args {
            [n] if n.parse::<u32>().is_ok() => {
                note("SSLSessionCacheTimeout: sessions live as rustls keeps them (tickets 6 h, the cache until evicted)".into());
                Ok(())
            }
            _ => Err("SSLSessionCacheTimeout takes one argument, the session cache object lifetime in seconds".into()),
        },
        "sslpassphrasedialog" => match args {
            [v] if v.eq_ignore_ascii_case("builtin") || v.starts_with("exec:") => {
                // Debian sets exec:ask-for-passphrase; it is run only for encrypted keys.
                note(format!(
                    "{name}: accepted; encrypted private keys are not supported, so no pass phrase is ever asked for"
                ));
                Ok(())
            }
            _ => Err(format!("{name}: unsupported value (builtin or exec:/path)")),
        },
        "sslrandomseed" | "sslmutex" | "sslcompression" | "sslinsecurerenegotiation"
        | "sslusestapling" | "sslstaplingcache" | "sslcryptodevice" | "sslverifydepth"
        | "ssloptions" | "sslcacertificatefile" | "sslcacertificatepath" | "sslcarevocationfile"
        | "sslcarevocationpath" | "sslcarevocationcheck" | "sslopensslconfcmd" => {
            // OpenSSL's entropy, locking and compression knobs, and what only matters for
            // client certificates or CGI environment variables: nothing to do with rustls.
            note(format!("{name} is accepted and has no effect in eventmpm"));
            Ok(())
        }
        "sslverifyclient" => match args {
            [v] if v.eq_ignore_ascii_case("none") => Ok(()),
            _ => Err("SSLVerifyClient: client certificates are not supported by eventmpm (only 'none')".into()),
        },
        _ => Err(format!(
            "Invalid command '{name}', perhaps misspelled or defined by a module not included in the server configuration (eventmpm's TLS does not implement it)"
        )),
    };
    Some(r)
}

/// `SSLSessionCache none|nonenotnull|shmcb:PATH(BYTES)|dbm:PATH|default`: sessions per child.
fn session_cache(args: &[&str]) -> Result<usize, String> {
    let [v] = args else {
        return Err("SSLSessionCache takes one argument, the SSL Session Cache storage ('none', 'nonenotnull', 'shmcb:/path/to/file')".into());
    };
    let lower = v.to_ascii_lowercase();
    if lower == "none" || lower == "nonenotnull" {
        return Ok(0);
    }
    let Some((kind, rest)) = lower
        .split_once(':')
        .or((lower == "default").then_some(("default", "")))
    else {
        return Err(format!("SSLSessionCache: Invalid argument '{v}'"));
    };
    match kind {
        "shmcb" | "shmht" | "shm" | "dbm" | "dc" | "memcache" | "redis" | "default" => {}
        _ => return Err(format!("SSLSessionCache: Invalid argument '{v}'")),
    }
    let bytes = rest
        .rsplit_once('(')
        .and_then(|(_, n)| n.strip_suffix(')'))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(512_000);
    Ok((bytes / 512).clamp(SESSIONS_MIN, SESSIONS_MAX))
}

/// Whether `listener` serves TLS: one whose port a `<VirtualHost>` with `SSLEngine on` names,
/// or every listener for such a host on any port (`<VirtualHost *>`), as in httpd, where TLS is
/// the host's; or, with `SSLEngine on` for the main server, the
/// `https` listeners — every listener when none says `https` (the main server is then TLS on
/// all its addresses).
pub fn serves_tls(cfg: &ServerConfig, listener: &Listener) -> bool {
    let all = &cfg.core.listeners;
    let https = listener.protocol == "https";
    let by_host = cfg.vhosts.iter().any(|v| {
        v.tls.engine
            && v.addrs
                .iter()
                .any(|a| a.port == listener.port || a.port == 0)
    });
    by_host || (cfg.tls.engine && (https || !all.iter().any(|l| l.protocol == "https")))
}

/// A host's names for SNI: its ServerName (kept without its port) and ServerAliases, lower
/// case.
fn names(name: &str, aliases: &[String]) -> Vec<String> {
    std::iter::once(name)
        .chain(aliases.iter().map(String::as_str))
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Load the certificates and build the rustls configuration, if the main server or a virtual
/// host has `SSLEngine on`. A host takes what it leaves unset from the main server (mod_ssl's
/// merge); protocols, cipher suites, session settings and `SSLStrictSNIVHostCheck` are the
/// main server's for all (one rustls configuration serves every TLS listener).
pub fn finish(cfg: &mut ServerConfig) -> Result<(), ConfigError> {
    cfg.tls.built = None;
    if !cfg.tls.engine && !cfg.vhosts.iter().any(|v| v.tls.engine) {
        return Ok(());
    }
    let ignored: Vec<String> = cfg
        .vhosts
        .iter()
        .filter(|v| {
            let t = &v.tls;
            t.versions.is_some()
                || t.tls12_suites.is_some()
                || t.tls13_suites.is_some()
                || t.session_cache.is_some()
                || t.session_tickets.is_some()
                || t.honor_cipher_order
                || t.strict_sni
        })
        .map(|v| {
            format!(
                "{}:{}: SSLProtocol, SSLCipherSuite, SSLHonorCipherOrder, the session settings and SSLStrictSNIVHostCheck in a <VirtualHost> are not applied: the main server's serve every host",
                v.file.display(),
                v.line
            )
        })
        .collect();
    cfg.notes.extend(ignored);
    let s = &cfg.tls;
    let err = |at: Option<&Located<PathBuf>>, message: String| ConfigError {
        file: at
            .map(|l| l.file.clone())
            .or_else(|| cfg.files.last().cloned())
            .unwrap_or_default(),
        line: at.map_or(0, |l| l.line),
        message,
    };
    let provider = provider(s);
    // The hosts in configuration order, the main server last: the first is the default
    // certificate (httpd's first virtual host of an address), the main server's when no
    // virtual host has TLS.
    let mut hosts = Vec::new();
    for v in cfg.vhosts.iter().filter(|v| v.tls.engine) {
        let name = v.server_name.as_deref().unwrap_or(&cfg.server_name);
        let own_cert = v.tls.certificate.is_some();
        let Some(cert) = v.tls.certificate.as_ref().or(s.certificate.as_ref()) else {
            return Err(ConfigError {
                file: v.file.clone(),
                line: v.line,
                message: format!(
                    "AH02572: Failed to configure at least one certificate and key for {name}"
                ),
            });
        };
        // A host with a certificate of its own has its key beside it (or in its file).
        let key = v
            .tls
            .key
            .as_ref()
            .or(if own_cert { None } else { s.key.as_ref() });
        let chain = v
            .tls
            .chain
            .as_ref()
            .or(if own_cert { None } else { s.chain.as_ref() });
        let key = load_key(cert, key, chain, &provider).map_err(|(at, m)| err(Some(at), m))?;
        let mut aliases = v.aliases.clone();
        aliases.extend(v.wild_aliases.iter().cloned());
        hosts.push(Host {
            names: names(name, &aliases),
            key: Arc::new(key),
        });
    }
    if s.engine {
        let Some(cert) = &s.certificate else {
            return Err(err(
                None,
                format!(
                    "AH02572: Failed to configure at least one certificate and key for {}",
                    cfg.server_name
                ),
            ));
        };
        let key = load_key(cert, s.key.as_ref(), s.chain.as_ref(), &provider)
            .map_err(|(at, m)| err(Some(at), m))?;
        hosts.push(Host {
            names: names(&cfg.server_name, &[]),
            key: Arc::new(key),
        });
    }
    let hosts = Hosts::new(hosts);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = {
        let v = s.versions.as_ref().map(|l| l.value).unwrap_or_default();
        let mut out = Vec::new();
        if v.tls13 {
            out.push(&rustls::version::TLS13);
        }
        if v.tls12 {
            out.push(&rustls::version::TLS12);
        }
        out
    };
    let builder = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&versions)
        .map_err(|e| {
            let at = s.versions.as_ref();
            ConfigError {
                file: at.map(|l| l.file.clone()).unwrap_or_default(),
                line: at.map_or(0, |l| l.line),
                message: format!(
                    "SSLProtocol/SSLCipherSuite: no cipher suite for the protocols offered ({e})"
                ),
            }
        })?;
    let mut rc = builder
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(hosts));
    // HTTP/1.1 only: a client that offers ALPN without it (h2 alone) gets the
    // no_application_protocol alert rather than a protocol it did not ask for.
    rc.alpn_protocols = vec![b"http/1.1".to_vec()];
    rc.ignore_client_order = s.honor_cipher_order;
    match s.session_cache {
        Some(0) => rc.session_storage = Arc::new(NoServerSessionStorage {}),
        Some(n) => rc.session_storage = ServerSessionMemoryCache::new(n),
        None => {}
    }
    if s.session_tickets.unwrap_or(true) {
        // Made in the parent before the fork: every child of a generation shares its key, so
        // a ticket resumes on any of them.
        rc.ticketer = super::crypto::Ticketer::new()
            .map_err(|e| err(None, format!("cannot create a session ticket key: {e}")))?;
    } else {
        rc.send_tls13_tickets = 0;
    }
    cfg.tls.built = Some(Arc::new(rc));
    Ok(())
}

/// This target's provider ([`super::crypto`]) with the configured suites: TLS 1.3's first,
/// then TLS 1.2's.
fn provider(s: &Settings) -> CryptoProvider {
    let mut p = super::crypto::default_provider();
    let (t13, t12): (Vec<_>, Vec<_>) = p
        .cipher_suites
        .iter()
        .partition(|c| matches!(c, rustls::SupportedCipherSuite::Tls13(_)));
    let mut suites = s.tls13_suites.clone().unwrap_or(t13);
    suites.extend(s.tls12_suites.clone().unwrap_or(t12));
    p.cipher_suites = suites;
    p
}

/// Read a certificate chain and its key, and check that they belong together.
fn load_key<'a>(
    cert: &'a Located<PathBuf>,
    key: Option<&'a Located<PathBuf>>,
    chain: Option<&'a Located<PathBuf>>,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, (&'a Located<PathBuf>, String)> {
    let certs = |at: &'a Located<PathBuf>, what: &str| {
        let mut v = Vec::new();
        let iter = CertificateDer::pem_file_iter(&at.value).map_err(|e| {
            (
                at,
                format!("{what}: cannot read '{}': {e}", at.value.display()),
            )
        })?;
        for c in iter {
            v.push(c.map_err(|e| {
                (
                    at,
                    format!(
                        "{what}: '{}' is not a valid PEM certificate file: {e}",
                        at.value.display()
                    ),
                )
            })?);
        }
        if v.is_empty() {
            return Err((
                at,
                format!("{what}: no certificate found in '{}'", at.value.display()),
            ));
        }
        Ok(v)
    };
    let mut chain_v = certs(cert, "SSLCertificateFile")?;
    if let Some(c) = chain {
        chain_v.extend(certs(c, "SSLCertificateChainFile")?);
    }
    let key_at = key.unwrap_or(cert);
    let der = PrivateKeyDer::from_pem_file(&key_at.value).map_err(|e| {
        (
            key_at,
            format!(
                "SSLCertificateKeyFile: no usable private key in '{}': {e} (PEM PKCS#8, PKCS#1 or SEC1; encrypted keys are not supported)",
                key_at.value.display()
            ),
        )
    })?;
    let signing = provider.key_provider.load_private_key(der).map_err(|e| {
        (
            key_at,
            format!(
                "SSLCertificateKeyFile: unusable private key in '{}': {e}",
                key_at.value.display()
            ),
        )
    })?;
    let ck = CertifiedKey::new(chain_v, signing);
    match ck.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(ck),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => Err((
            key_at,
            format!(
                "AH02565: Certificate and private key from {} and {} do not match",
                cert.value.display(),
                key_at.value.display()
            ),
        )),
        Err(e) => Err((
            cert,
            format!(
                "SSLCertificateFile: unusable certificate in '{}': {e}",
                cert.value.display()
            ),
        )),
    }
}

/// The TLS configurations of a child's listening sockets, found by their addresses.
#[derive(Debug, Clone, Default)]
pub struct Listeners {
    entries: Vec<(Option<IpAddr>, u16, Arc<rustls::ServerConfig>)>,
    strict_sni: bool,
}

impl Listeners {
    /// The TLS listeners `cfg` configures.
    pub fn new(cfg: &ServerConfig) -> Listeners {
        let Some(built) = &cfg.tls.built else {
            return Listeners::default();
        };
        let all = &cfg.core.listeners;
        Listeners {
            entries: all
                .iter()
                .filter(|l| serves_tls(cfg, l))
                .map(|l| (l.address, l.port, built.clone()))
                .collect(),
            strict_sni: cfg.tls.strict_sni,
        }
    }

    /// `SSLStrictSNIVHostCheck On`: a client without SNI may not reach name-based virtual
    /// hosts.
    #[doc(alias = "SSLStrictSNIVHostCheck")]
    pub fn strict_sni(&self) -> bool {
        self.strict_sni
    }

    /// The configuration for a listening socket bound to `addr`, if it serves TLS.
    pub fn for_socket(&self, addr: SocketAddr) -> Option<Arc<rustls::ServerConfig>> {
        self.entries
            .iter()
            .find(|(a, p, _)| *p == addr.port() && a.is_none_or(|a| a == addr.ip()))
            .map(|(_, _, c)| c.clone())
    }
}
