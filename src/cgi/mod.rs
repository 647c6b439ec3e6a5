//! CGI (RFC 3875), as httpd's mod_cgid runs it: a process per request, the request body on its
//! standard input, its standard output parsed for a header block and streamed to the client, its
//! standard error in the error log.
//!
//! Which requests run a script:
//! - `ScriptAlias /cgi-bin/ "dir/"`: every file under the directory (mod_alias; no `ExecCGI`
//!   needed, as in httpd);
//! - `AddHandler cgi-script .cgi` (server-wide or in a `<Directory>`) for files whose last
//!   extension matches, and `SetHandler cgi-script` in a `<Location>` or `<Directory>` for every
//!   file — both only where `Options ExecCGI` is on, else 403 with httpd's "Options ExecCGI is off
//!   in this directory". httpd's mod_mime matches *any* extension (`x.cgi.txt` runs); eventmpm
//!   looks at the last one only, so an upload named `x.cgi.jpg` is never executed.
//!
//! The URL is walked segment by segment from the directory it maps to; the first regular file is
//! the script and the rest of the URL is `PATH_INFO` (httpd's `path_info` rule). A script must be
//! executable by the child's user (403 otherwise, httpd's "file permissions deny server
//! execution") and must resolve inside the directory it was found under (symbolic links leading
//! out are refused).
//!
//! In the event MPM a script's response keeps its worker for the script's whole life — the
//! limitation httpd documents for CGI (the worker shows `W` on server-status); the exchange
//! itself is in [`exchange`], the process handling in [`process`], the environment in [`env`]
//! and the script's header block in [`headers`].

pub mod env;
pub mod exchange;
pub mod headers;
pub mod process;

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use eventmpm_core::http1::Status;

use crate::config::{Handler, ServerConfig};
use crate::site::Route;

/// Internal redirects a request may go through (a script's `Location: /path`, a local
/// `ErrorDocument`) before the next is answered 500: httpd's `LimitInternalRecursion` default.
pub const DEFAULT_REDIRECT_LIMIT: u32 = 10;
/// `PATH` for scripts. httpd passes its own `PATH`; eventmpm gives every script the same minimal
/// one, so what the administrator's shell had (`~/.cargo/bin`, …) neither leaks into nor changes
/// what scripts run.
const SCRIPT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// A `<Directory>` section's CGI settings, by absolute (canonical) path.
#[derive(Debug, Clone)]
struct DirRule {
    path: PathBuf,
    exec_cgi: Option<bool>,
    handler: Option<Handler>,
    extensions: Vec<String>,
    /// `RemoveHandler`: applied after the section's own `AddHandler` lines, as mod_mime.
    removed: Vec<String>,
    /// Whether the section has any mod_mime line (httpd then has a mod_mime configuration
    /// for it, which takes part in the walk's merges).
    mime: bool,
}

/// A `<Files>` or `<Location>` section's `AddHandler`/`RemoveHandler cgi-script` lines.
#[derive(Debug, Clone)]
struct LaterRule {
    /// A `<Files>` pattern (matched against the script's name), else a `<Location>` prefix.
    files: Option<crate::config::FilesPattern>,
    prefix: String,
    extensions: Vec<String>,
    removed: Vec<String>,
    mime: bool,
}

/// The extensions' handler lines of one section, for [`walk_group`].
trait HandlerLines {
    fn lines(&self) -> (&[String], &[String], bool);
}

impl HandlerLines for DirRule {
    fn lines(&self) -> (&[String], &[String], bool) {
        (&self.extensions, &self.removed, self.mime)
    }
}

impl HandlerLines for LaterRule {
    fn lines(&self) -> (&[String], &[String], bool) {
        (&self.extensions, &self.removed, self.mime)
    }
}

/// Whether `ext` has the cgi-script handler after one of httpd's walks merged `group` (the
/// sections it found, in order) over a configuration where it had it or not (`inherited`).
/// httpd merges the sections with mod_mime lines among themselves first: a single one is
/// merged as it is, its `RemoveHandler` lines clearing the inherited handler too; of two or
/// more, the first one's `RemoveHandler` lines are dropped and the later ones' clear only
/// what the group itself added, never the inherited handler.
fn walk_group<'r, R: HandlerLines + 'r>(
    inherited: bool,
    ext: &str,
    group: impl Iterator<Item = &'r R>,
) -> bool {
    let has = |list: &[String]| list.iter().any(|e| e == ext);
    let mut present = group.map(HandlerLines::lines).filter(|(_, _, mime)| *mime);
    let Some((adds, removes, _)) = present.next() else {
        return inherited;
    };
    let mut rest = present.peekable();
    if rest.peek().is_none() {
        return (inherited || has(adds)) && !has(removes);
    }
    let group_has = rest.fold(has(adds), |on, (adds, removes, _)| {
        (on || has(adds)) && !has(removes)
    });
    inherited || group_has
}

/// The CGI configuration a child runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// ScriptAlias prefixes and their directories (canonical when they exist).
    aliases: Vec<(String, PathBuf)>,
    /// Server-wide `AddHandler cgi-script` extensions.
    extensions: Vec<String>,
    /// Every `<Directory>`, shortest path first.
    dirs: Vec<DirRule>,
    /// `<Files>` sections with mod_mime lines, then `<Location>` ones, in configuration order
    /// (merged after the directories', as httpd's walks merge them).
    later: Vec<LaterRule>,
    /// Some directory or extension can make a file under the DocumentRoot a script.
    docroot_scripts: bool,
    /// How long a script may go without output (or the client without progress):
    /// `CGIScriptTimeout`, else `Timeout`.
    pub timeout: Duration,
    /// `PATH` given to scripts.
    pub path_env: OsString,
    /// `LimitInternalRecursion`: the internal redirects a request may go through.
    #[doc(alias = "LimitInternalRecursion")]
    pub redirect_limit: u32,
}

/// What [`Settings::locate`] found for a request path.
#[derive(Debug)]
pub enum Lookup {
    /// Not a script: the other handlers serve it.
    NotCgi,
    /// A script to run.
    Script(Box<Script>),
    /// Refused with this status (already logged).
    Refused(Status),
}

/// A script resolved from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Its file (`SCRIPT_FILENAME`).
    pub filename: PathBuf,
    /// The directory it runs in.
    pub dir: PathBuf,
    /// The decoded URL-path that names it (`SCRIPT_NAME`).
    pub script_name: Vec<u8>,
    /// The decoded URL-path after it (`PATH_INFO`), possibly empty.
    pub path_info: Vec<u8>,
    /// `PATH_INFO` mapped under the DocumentRoot (`PATH_TRANSLATED`), when there is one.
    pub path_translated: Option<PathBuf>,
    /// `CONTEXT_PREFIX` (the ScriptAlias prefix, else empty).
    pub context_prefix: Vec<u8>,
    /// `CONTEXT_DOCUMENT_ROOT` (the ScriptAlias directory, else the DocumentRoot).
    pub context_root: PathBuf,
}

impl Script {
    /// The script's file name without its directory (for log messages, as httpd names it).
    pub fn name(&self) -> String {
        self.filename
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Whether `path` starts with the ScriptAlias `prefix` at a segment boundary (mod_alias).
fn alias_matches(prefix: &[u8], path: &[u8]) -> bool {
    path.starts_with(prefix)
        && (prefix.ends_with(b"/") || path.len() == prefix.len() || path[prefix.len()] == b'/')
}

fn last_extension(name: &[u8]) -> Option<String> {
    let dot = name.iter().rposition(|&b| b == b'.')?;
    let ext = &name[dot + 1..];
    (!ext.is_empty()).then(|| String::from_utf8_lossy(ext).to_ascii_lowercase())
}

impl Settings {
    /// The CGI settings of `cfg`.
    pub fn new(cfg: &ServerConfig) -> Settings {
        let mut dirs: Vec<DirRule> = cfg
            .directories
            .iter()
            .map(|d| DirRule {
                path: canonical(&d.path),
                exec_cgi: d.exec_cgi,
                handler: d.handler.clone(),
                extensions: d.cgi_extensions.clone(),
                removed: d.cgi_removed.clone(),
                mime: !d.cgi_extensions.is_empty()
                    || !d.cgi_removed.is_empty()
                    || d.output.mime.has_mime_lines(),
            })
            .collect();
        dirs.sort_by_key(|d| d.path.components().count());
        let later: Vec<LaterRule> = cfg
            .files_sections
            .iter()
            // Sections with other mod_mime lines too: they take part in the walk's merges.
            .filter(|f| {
                !f.cgi_extensions.is_empty()
                    || !f.cgi_removed.is_empty()
                    || f.output.mime.has_mime_lines()
            })
            .map(|f| LaterRule {
                files: Some(f.pattern.clone()),
                prefix: String::new(),
                extensions: f.cgi_extensions.clone(),
                removed: f.cgi_removed.clone(),
                mime: true,
            })
            .chain(
                cfg.locations
                    .iter()
                    .filter(|l| {
                        !l.cgi_extensions.is_empty()
                            || !l.cgi_removed.is_empty()
                            || l.output.mime.has_mime_lines()
                    })
                    .map(|l| LaterRule {
                        files: None,
                        prefix: l.path.clone(),
                        extensions: l.cgi_extensions.clone(),
                        removed: l.cgi_removed.clone(),
                        mime: true,
                    }),
            )
            .collect();
        let docroot_scripts = !cfg.cgi_extensions.is_empty()
            || dirs
                .iter()
                .any(|d| d.handler == Some(Handler::Cgi) || !d.extensions.is_empty())
            || later.iter().any(|l| !l.extensions.is_empty());
        Settings {
            aliases: cfg
                .script_aliases
                .iter()
                .map(|a| (a.prefix.clone(), canonical(&a.dir)))
                .collect(),
            extensions: cfg.cgi_extensions.clone(),
            dirs,
            later,
            docroot_scripts,
            timeout: cfg
                .cgi_script_timeout
                .unwrap_or_else(|| Duration::from_millis(cfg.core.timeout.as_millis())),
            path_env: SCRIPT_PATH.into(),
            redirect_limit: cfg.redirect_limit,
        }
    }

    /// Whether any URL can name a script (nothing to look up otherwise).
    pub fn is_enabled(&self) -> bool {
        !self.aliases.is_empty() || self.docroot_scripts
    }

    fn rules_for<'s>(&'s self, file: &'s Path) -> impl Iterator<Item = &'s DirRule> + 's {
        let dir = file.parent().unwrap_or(file);
        self.dirs.iter().filter(move |d| dir.starts_with(&d.path))
    }

    /// Whether a file under the DocumentRoot could be a script, before touching the file
    /// system: some extension handler matches a segment, or a `SetHandler cgi-script` directory
    /// contains the path.
    fn docroot_candidate(&self, docroot: &Path, decoded: &[u8]) -> bool {
        let ext_match = decoded.split(|&b| b == b'/').any(|seg| {
            last_extension(seg).is_some_and(|e| {
                self.extensions.contains(&e)
                    || self.dirs.iter().any(|d| d.extensions.contains(&e))
                    || self.later.iter().any(|l| l.extensions.contains(&e))
            })
        });
        if ext_match {
            return true;
        }
        let full = docroot.join(crate::site::relative_path(decoded));
        self.dirs
            .iter()
            .any(|d| d.handler == Some(Handler::Cgi) && full.starts_with(&d.path))
    }

    /// The ScriptAlias directory `decoded` lies under, and how many of its bytes the prefix
    /// matched.
    pub fn script_alias(&self, decoded: &[u8]) -> Option<(&Path, usize)> {
        self.aliases
            .iter()
            .find(|(prefix, _)| alias_matches(prefix.as_bytes(), decoded))
            .map(|(prefix, dir)| (dir.as_path(), prefix.len()))
    }

    /// Resolve `decoded` (a normalised request path) to a script. `route` is the URL's route;
    /// access has been checked by then (`crate::modules`), for the script's own directory.
    pub fn locate(&self, docroot: &Path, route: &Route<'_>, decoded: &[u8]) -> Lookup {
        let alias = self
            .aliases
            .iter()
            .find(|(prefix, _)| alias_matches(prefix.as_bytes(), decoded));
        let (base, url_base_len, aliased) = match alias {
            Some((prefix, dir)) => (dir.as_path(), prefix.len(), true),
            None => {
                let wanted = route.handler == Handler::Cgi
                    || (self.docroot_scripts && self.docroot_candidate(docroot, decoded));
                if !wanted {
                    return Lookup::NotCgi;
                }
                (docroot, 1, false)
            }
        };
        let rest = decoded.get(url_base_len..).unwrap_or(b"");
        let lead = usize::from(rest.first() == Some(&b'/'));
        let rest = &rest[lead..];
        // Walk the segments until a regular file: that is the script, the rest is PATH_INFO.
        let mut file = base.to_path_buf();
        let mut consumed = 0;
        let mut found = None;
        for seg in rest.split(|&b| b == b'/') {
            if seg.is_empty() {
                break;
            }
            file.push(std::ffi::OsStr::from_bytes(seg));
            consumed += seg.len() + 1;
            match std::fs::metadata(&file) {
                Ok(m) if m.is_dir() => continue,
                Ok(m) if m.is_file() => {
                    found = Some(m);
                    break;
                }
                Ok(_) | Err(_) if !aliased => return Lookup::NotCgi,
                Ok(_) => {
                    log::error!(
                        "AH02811: script not found or unable to stat: {}",
                        file.display()
                    );
                    return Lookup::Refused(Status::FORBIDDEN);
                }
                Err(e) => {
                    log::error!(
                        "AH02811: script not found or unable to stat: {}: {e}",
                        file.display()
                    );
                    return Lookup::Refused(match e.kind() {
                        std::io::ErrorKind::PermissionDenied => Status::FORBIDDEN,
                        _ => Status::NOT_FOUND,
                    });
                }
            }
        }
        let Some(meta) = found else {
            if !aliased {
                return Lookup::NotCgi;
            }
            log::error!(
                "AH02809: attempt to invoke directory as script: {}",
                file.display()
            );
            return Lookup::Refused(Status::FORBIDDEN);
        };
        let real = canonical(&file);
        let base_real = canonical(base);
        let rules: Vec<&DirRule> = self.rules_for(&real).collect();
        if !aliased {
            // Which handler this file gets: a <Location>'s SetHandler, else the deepest
            // <Directory>'s, else an AddHandler extension.
            let ext = real.file_name().and_then(|n| last_extension(n.as_bytes()));
            let by_dir = rules.iter().rev().find_map(|d| d.handler.clone());
            // mod_mime's merges in httpd's walk order: the <Directory> sections, then the
            // <Files>, then the <Location> ones, each walk's group merged as httpd merges it.
            let name = real.file_name().map(|n| n.as_bytes()).unwrap_or(b"");
            let by_ext = ext.is_some_and(|e| {
                let dirs = walk_group(self.extensions.contains(&e), &e, rules.iter().copied());
                let files = walk_group(
                    dirs,
                    &e,
                    self.later
                        .iter()
                        .filter(|l| l.files.as_ref().is_some_and(|p| p.matches(name))),
                );
                walk_group(
                    files,
                    &e,
                    self.later
                        .iter()
                        .filter(|l| l.files.is_none() && decoded.starts_with(l.prefix.as_bytes())),
                )
            });
            // core's SetHandler: a <Files> or <Location> one wins over a <Directory> one,
            // which wins over the extension's handler.
            let is_cgi = match (route.handler_set, by_dir) {
                (Some(true), _) => route.handler == Handler::Cgi,
                (Some(false), _) | (None, None | Some(Handler::Unset)) => by_ext,
                (None, Some(h)) => h == Handler::Cgi,
            };
            if !is_cgi {
                return Lookup::NotCgi;
            }
        }
        if !real.starts_with(&base_real) {
            log::error!(
                "refusing to run {}: it resolves outside {}",
                file.display(),
                base.display()
            );
            return Lookup::Refused(Status::FORBIDDEN);
        }
        if !aliased && !rules.iter().rev().find_map(|d| d.exec_cgi).unwrap_or(false) {
            log::error!(
                "AH02809: Options ExecCGI is off in this directory: {}",
                file.display()
            );
            return Lookup::Refused(Status::FORBIDDEN);
        }
        if meta.permissions().mode() & 0o111 == 0 {
            log::error!(
                "AH03194: file permissions deny server execution: {}",
                file.display()
            );
            return Lookup::Refused(Status::FORBIDDEN);
        }
        // `consumed` counts each segment and the separator after it.
        let script_end = (url_base_len + lead + consumed - 1).min(decoded.len());
        let (script_name, path_info) = decoded.split_at(script_end);
        let path_translated = (!path_info.is_empty()).then(|| {
            let mut p = docroot.as_os_str().to_os_string();
            p.push(std::ffi::OsStr::from_bytes(path_info));
            PathBuf::from(p)
        });
        let dir = file.parent().unwrap_or(base).to_path_buf();
        Lookup::Script(Box::new(Script {
            filename: file,
            dir,
            script_name: script_name.to_vec(),
            path_info: path_info.to_vec(),
            path_translated,
            context_prefix: if aliased {
                decoded[..url_base_len].to_vec()
            } else {
                Vec::new()
            },
            context_root: if aliased {
                // As configured: `ScriptAlias /cgi-bin/ /dir/` gives `/dir/`.
                let mut r = base.as_os_str().to_os_string();
                if url_base_len > 0 && decoded[url_base_len - 1] == b'/' {
                    r.push("/");
                }
                PathBuf::from(r)
            } else {
                docroot.to_path_buf()
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_prefixes_match_at_segment_boundaries() {
        assert!(alias_matches(b"/cgi-bin/", b"/cgi-bin/x"));
        assert!(!alias_matches(b"/cgi-bin/", b"/cgi-bin"));
        assert!(alias_matches(b"/cgi-bin", b"/cgi-bin"));
        assert!(alias_matches(b"/cgi-bin", b"/cgi-bin/x"));
        assert!(!alias_matches(b"/cgi-bin", b"/cgi-binx"));
    }

    #[test]
    fn last_extension_only() {
        assert_eq!(last_extension(b"a.CGI"), Some("cgi".into()));
        assert_eq!(last_extension(b"a.cgi.jpg"), Some("jpg".into()));
        assert_eq!(last_extension(b"noext"), None);
        assert_eq!(last_extension(b"trailing."), None);
    }
}

#[cfg(test)]
mod walk_tests {
    use super::*;

    fn rule(adds: &[&str], removes: &[&str], mime: bool) -> DirRule {
        DirRule {
            path: PathBuf::from("/"),
            exec_cgi: None,
            handler: None,
            extensions: adds.iter().map(|s| s.to_string()).collect(),
            removed: removes.iter().map(|s| s.to_string()).collect(),
            mime,
        }
    }

    #[test]
    fn handler_lines_merge_per_walk_as_httpd() {
        let none: [DirRule; 0] = [];
        assert!(walk_group(true, "cgi", none.iter()));
        // One section: its RemoveHandler clears the inherited handler.
        assert!(!walk_group(true, "cgi", [rule(&[], &["cgi"], true)].iter()));
        assert!(walk_group(false, "cgi", [rule(&["cgi"], &[], true)].iter()));
        // A section without mod_mime lines does not count.
        let pair = [rule(&[], &[], false), rule(&[], &["cgi"], true)];
        assert!(!walk_group(true, "cgi", pair.iter()));
        // Two: the second's RemoveHandler clears only what the group added...
        let pair = [rule(&["x"], &[], true), rule(&[], &["cgi"], true)];
        assert!(walk_group(true, "cgi", pair.iter()));
        let pair = [rule(&["cgi"], &[], true), rule(&[], &["cgi"], true)];
        assert!(!walk_group(false, "cgi", pair.iter()));
        // ... and the first's RemoveHandler is dropped.
        let pair = [rule(&["cgi"], &["cgi"], true), rule(&["x"], &[], true)];
        assert!(walk_group(false, "cgi", pair.iter()));
    }
}
