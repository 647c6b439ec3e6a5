//! Reading configuration text: sections, conditionals, includes, and every directive the
//! runtime handles itself; the MPM and protocol directives go to the core's `Config`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use eventmpm_core::config::tokenizer::{LineKind, MAX_LINE_LEN, Tokenizer};
use eventmpm_core::config::{Applied, Context};

use super::*;
use crate::access::{Access, Rule};
use crate::logformat::LogFormat;

/// Walks configuration texts, applying each line.
pub(super) struct Reader {
    pub(super) cfg: ServerConfig,
    pub(super) defines: Vec<String>,
    pub(super) files: usize,
    /// LogFormat nicknames; `common` and `combined` are predefined, as in httpd's default
    /// configuration.
    pub(super) formats: HashMap<String, LogFormat>,
    /// The files the `Include` line just applied names, read next.
    pub(super) includes: Vec<PathBuf>,
}

/// What an open section is, for the directives inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// A conditional that evaluated true: transparent.
    Conditional,
    Location(usize),
    Directory(usize),
}

impl Reader {
    pub(super) fn file(&mut self, path: &Path, depth: usize) -> Result<(), ConfigError> {
        self.files += 1;
        if self.files > MAX_FILES {
            return Err(ConfigError {
                file: path.to_path_buf(),
                line: 0,
                message: format!("more than {MAX_FILES} configuration files"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: 0,
            message: format!("Could not open configuration file {}: {e}", path.display()),
        })?;
        self.cfg.files.push(path.to_path_buf());
        self.text(path, &text, depth, 0)
    }

    /// Apply a configuration text. `line_offset` numbers `-C`/`-c` directives.
    pub(super) fn text(
        &mut self,
        file: &Path,
        text: &str,
        depth: usize,
        line_offset: u32,
    ) -> Result<(), ConfigError> {
        let err = |line: u32, message: String| ConfigError {
            file: file.to_path_buf(),
            line: line + line_offset,
            message,
        };
        let mut tok = Tokenizer::new(text);
        let mut buf = vec![0u8; MAX_LINE_LEN].into_boxed_slice();
        let buf: &mut [u8; MAX_LINE_LEN] = (&mut *buf).try_into().expect("sized above");
        let mut scopes: Vec<Scope> = Vec::new();
        while let Some(line) = tok.next_line(buf) {
            let line = line.map_err(|e| err(e.line, e.kind.to_string()))?;
            let number = line.number;
            let name = line.name.to_string();
            let args: Vec<String> = line.args.iter().map(|a| a.to_string()).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            match line.kind {
                LineKind::SectionClose => {
                    scopes.pop();
                }
                LineKind::SectionOpen => {
                    let lname = name.to_ascii_lowercase();
                    match lname.as_str() {
                        "ifmodule" | "ifdefine" => {
                            let [arg] = args[..] else {
                                return Err(err(number, format!("<{name}> takes one argument")));
                            };
                            let (negate, what) = match arg.strip_prefix('!') {
                                Some(rest) => (true, rest),
                                None => (false, arg),
                            };
                            let present = if lname == "ifmodule" {
                                self.cfg.modules.is_loaded(what)
                            } else {
                                self.defines.iter().any(|d| d == what)
                            };
                            if present != negate {
                                scopes.push(Scope::Conditional);
                            } else {
                                tok.skip_section()
                                    .map_err(|e| err(e.line, e.kind.to_string()))?;
                            }
                        }
                        "location" => {
                            let [path] = args[..] else {
                                return Err(err(number, "<Location> takes one argument".into()));
                            };
                            if path == "~" || path.starts_with('~') {
                                return Err(err(
                                    number,
                                    "regular-expression <Location ~> is not supported by eventmpm"
                                        .into(),
                                ));
                            }
                            if !scopes.iter().all(|s| *s == Scope::Conditional) {
                                return Err(err(
                                    number,
                                    "<Location> cannot occur within <Location> or <Directory> section"
                                        .into(),
                                ));
                            }
                            self.cfg.locations.push(Location {
                                path: path.to_string(),
                                handler: None,
                                access: Access::default(),
                            });
                            scopes.push(Scope::Location(self.cfg.locations.len() - 1));
                        }
                        "directory" => {
                            let [path] = args[..] else {
                                return Err(err(number, "<Directory> takes one argument".into()));
                            };
                            if path.starts_with('~') {
                                return Err(err(
                                    number,
                                    "regular-expression <Directory ~> is not supported by eventmpm"
                                        .into(),
                                ));
                            }
                            if !scopes.iter().all(|s| *s == Scope::Conditional) {
                                return Err(err(
                                    number,
                                    "<Directory> cannot occur within <Location> or <Directory> section"
                                        .into(),
                                ));
                            }
                            let path = self.cfg.resolve(path);
                            self.cfg.directories.push(Directory {
                                path,
                                access: Access::default(),
                                follow_symlinks: None,
                                exec_cgi: None,
                                handler: None,
                                cgi_extensions: Vec::new(),
                            });
                            scopes.push(Scope::Directory(self.cfg.directories.len() - 1));
                        }
                        _ => {
                            return Err(err(
                                number,
                                format!(
                                    "Invalid command '<{name}', perhaps misspelled or defined by a module not included in the server configuration"
                                ),
                            ));
                        }
                    }
                }
                LineKind::Directive => {
                    let scope = scopes
                        .iter()
                        .rev()
                        .find(|s| **s != Scope::Conditional)
                        .copied();
                    self.directive(file, number, &name, &args, scope, depth)
                        .map_err(|m| err(number, m))?;
                    for f in std::mem::take(&mut self.includes) {
                        // A file that cannot be read is reported at the Include line.
                        self.file(&f, depth + 1).map_err(|e| {
                            if e.line == 0 {
                                err(number, e.message)
                            } else {
                                e
                            }
                        })?;
                    }
                }
            }
        }
        tok.finish().map_err(|e| err(e.line, e.kind.to_string()))
    }

    fn directive(
        &mut self,
        file: &Path,
        line: u32,
        name: &str,
        args: &[&str],
        scope: Option<Scope>,
        depth: usize,
    ) -> Result<(), String> {
        let lname = name.to_ascii_lowercase();
        let one = |what: &str| -> Result<&str, String> {
            match args {
                [a] => Ok(a),
                _ => Err(format!("{name} takes one argument, {what}")),
            }
        };
        let server_only = || -> Result<(), String> {
            match scope {
                None => Ok(()),
                Some(_) => Err(format!(
                    "{name} cannot occur within <Directory/Location/Files> section"
                )),
            }
        };
        if let Some(r) = crate::tls::directive(
            &mut self.cfg.tls,
            file,
            line,
            name,
            args,
            scope.is_some(),
            &self.cfg.server_root,
            &mut self.cfg.notes,
        ) {
            return r;
        }
        match lname.as_str() {
            "serverroot" => {
                server_only()?;
                let dir = PathBuf::from(one(
                    "Common directory of server-related files (logs, confs, etc.)",
                )?);
                if !dir.is_dir() {
                    return Err("ServerRoot must be a valid directory".to_string());
                }
                self.cfg.server_root = dir;
            }
            "servername" => {
                server_only()?;
                let n = one("The hostname and port of the server")?;
                self.cfg.server_name = strip_port(n).to_string();
            }
            "serveradmin" => {
                server_only()?;
                self.cfg.server_admin =
                    Some(one("The email address of the server administrator")?.to_string());
            }
            "servertokens" => {
                server_only()?;
                self.cfg.server_tokens = match one("'Prod(uctOnly)', 'Major', 'Minor', 'Min(imal)', 'OS', or 'Full'")?.to_ascii_lowercase().as_str() {
                    "prod" | "productonly" => ServerTokens::Prod,
                    "major" => ServerTokens::Major,
                    "minor" => ServerTokens::Minor,
                    "min" | "minimal" => ServerTokens::Minimal,
                    "os" | "full" => ServerTokens::Full,
                    _ => return Err("ServerTokens takes 1 argument: 'Prod(uctOnly)', 'Major', 'Minor', 'Min(imal)', 'OS', or 'Full'".into()),
                };
            }
            "documentroot" => {
                server_only()?;
                self.cfg.document_root = self
                    .cfg
                    .resolve(one("Root directory of the document tree")?);
            }
            "directoryindex" => {
                if args.is_empty() {
                    return Err("DirectoryIndex requires at least 1 argument, a list of file names to handle a directory request".into());
                }
                if args.len() == 1 && args[0].eq_ignore_ascii_case("disabled") {
                    self.cfg.directory_index.clear();
                } else {
                    self.cfg.directory_index = args.iter().map(|a| a.to_string()).collect();
                }
            }
            "errorlog" => {
                server_only()?;
                let target = one("The filename of the error log")?;
                if target.starts_with('|') || target.starts_with("syslog") {
                    return Err("piped and syslog ErrorLog targets are not supported by eventmpm; give a file".into());
                }
                self.cfg.error_log = self.cfg.resolve(target);
            }
            "loglevel" => {
                if args.is_empty() {
                    return Err(
                        "LogLevel requires level keyword and/or a module-specific level".into(),
                    );
                }
                for a in args {
                    match a.split_once(':') {
                        // Per-module levels have no modules to apply to; validate and keep going.
                        Some((_, level)) => {
                            crate::errorlog::parse_level(level)?;
                        }
                        None => self.cfg.log_level = crate::errorlog::parse_level(a)?,
                    }
                }
            }
            "logformat" => {
                server_only()?;
                let (fmt, nick) = match args {
                    [f] => (*f, None),
                    [f, n] => (*f, Some(*n)),
                    _ => return Err("LogFormat takes 1-2 arguments, a log format string (see docs) and an optional format name".into()),
                };
                let parsed = LogFormat::parse(fmt)?;
                if let Some(n) = nick {
                    if n.contains('%') {
                        return Err(format!("LogFormat nickname '{n}' must not contain '%'"));
                    }
                    self.formats.insert(n.to_string(), parsed);
                }
            }
            "customlog" => {
                server_only()?;
                let (target, fmt) = match args {
                    [t, f] => (*t, *f),
                    [t, f, env] if env.starts_with("env=") || env.starts_with("expr=") => {
                        let _ = (t, f);
                        return Err("conditional CustomLog (env=/expr=) is not supported by eventmpm".into());
                    }
                    _ => return Err("CustomLog takes 2-3 arguments, a file name, a custom log format string or format name, and an optional \"env=\" or \"expr=\" clause (see docs)".into()),
                };
                if target.starts_with('|') {
                    return Err(
                        "piped CustomLog targets are not supported by eventmpm; give a file".into(),
                    );
                }
                let format = match self.formats.get(fmt) {
                    Some(f) => f.clone(),
                    None => LogFormat::parse(fmt)?,
                };
                let path = self.cfg.resolve(target);
                self.cfg.custom_logs.push((path, format));
            }
            "bufferedlogs" => {
                server_only()?;
                self.cfg.buffered_logs =
                    on_off(name, one("Enable Buffered Logging (experimental)")?)?;
            }
            "addtype" => {
                if scope.is_some() {
                    return Err("AddType inside <Location> or <Directory> is not supported by eventmpm; set it at server level".into());
                }
                let [ty, exts @ ..] = args else {
                    return Err("AddType requires at least two arguments, a mime type followed by one or more file extensions".into());
                };
                if exts.is_empty() {
                    return Err("AddType requires at least two arguments, a mime type followed by one or more file extensions".into());
                }
                self.cfg
                    .add_types
                    .push((ty.to_string(), exts.iter().map(|e| e.to_string()).collect()));
            }
            "typesconfig" => {
                server_only()?;
                self.cfg.types_config = Some(self.cfg.resolve(one("the MIME types config file")?));
            }
            "extendedstatus" => {
                server_only()?;
                self.cfg.extended_status = on_off(
                    name,
                    one("\"On\" to track extended status information, \"Off\" to disable")?,
                )?;
            }
            "openfilecache" => {
                server_only()?;
                self.cfg.open_file_cache.entries = crate::open_files::Settings::parse_entries(
                    one("the number of open files each child keeps, or Off")?,
                )?;
            }
            "openfilecachevalid" => {
                server_only()?;
                self.cfg.open_file_cache.valid = crate::open_files::Settings::parse_valid(one(
                    "the seconds an open file is served before it is looked up again",
                )?)?;
            }
            "include" | "includeoptional" => {
                let pattern = one(
                    "Name(s) of the config file(s) to be included; fails if the wildcard does not match at least one file",
                )?;
                if depth + 1 > MAX_INCLUDE_DEPTH {
                    return Err(format!(
                        "Exceeded the maximum include directory nesting level of {MAX_INCLUDE_DEPTH}. You have probably a recursion somewhere."
                    ));
                }
                // Read by `text` once this line is done, so that an error inside an included
                // file is reported at its own file and line, as httpd does.
                self.includes =
                    include::expand(&self.cfg.resolve(pattern), lname == "includeoptional")?;
            }
            "loadmodule" => {
                server_only()?;
                let [id, _path] = args else {
                    return Err("LoadModule takes two arguments, a module name and the name of a shared object file to load it from".into());
                };
                if let Some(note) = self.cfg.modules.load(id).map_err(|m| m.to_string())? {
                    self.cfg
                        .notes
                        .push(format!("{}:{line}: {note}", file.display()));
                }
                self.cfg.core.mpm = self.cfg.modules.mpm();
            }
            "sethandler" => {
                let h = one("a handler name that overrides any other configured handler")?;
                let handler = match h.to_ascii_lowercase().as_str() {
                    "server-status" => Handler::ServerStatus,
                    "none" | "default-handler" => Handler::Default,
                    "cgi-script" => Handler::Cgi,
                    other => {
                        return Err(format!(
                            "SetHandler {other}: eventmpm serves only server-status, cgi-script and static files (default-handler)"
                        ));
                    }
                };
                match scope {
                    Some(Scope::Location(i)) => self.cfg.locations[i].handler = Some(handler),
                    Some(Scope::Directory(i)) if handler != Handler::ServerStatus => {
                        self.cfg.directories[i].handler = Some(handler)
                    }
                    Some(Scope::Directory(_)) => {
                        return Err(
                            "SetHandler server-status is only supported inside <Location> by eventmpm"
                                .into(),
                        );
                    }
                    _ => {
                        return Err(
                            "SetHandler is only supported inside <Location> or <Directory> by eventmpm"
                                .into(),
                        );
                    }
                }
            }
            "addhandler" => {
                let [handler, extensions @ ..] = args else {
                    return Err("AddHandler requires at least 1 argument, a handler name followed by one or more file extensions".into());
                };
                if extensions.is_empty() {
                    return Err("AddHandler requires at least 1 argument, a handler name followed by one or more file extensions".into());
                }
                if !handler.eq_ignore_ascii_case("cgi-script") {
                    self.cfg.notes.push(format!(
                        "{}:{line}: AddHandler {handler}: eventmpm has no such handler; line ignored",
                        file.display()
                    ));
                    return Ok(());
                }
                let exts = extensions
                    .iter()
                    .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                    .filter(|e| !e.is_empty());
                match scope {
                    None => self.cfg.cgi_extensions.extend(exts),
                    Some(Scope::Directory(i)) => {
                        self.cfg.directories[i].cgi_extensions.extend(exts)
                    }
                    _ => {
                        return Err(
                            "AddHandler is only supported at server level or inside <Directory> by eventmpm"
                                .into(),
                        );
                    }
                }
            }
            "scriptalias" => {
                server_only()?;
                let [prefix, dir] = args else {
                    return Err("ScriptAlias takes two arguments, a fakename and a realname".into());
                };
                if !prefix.starts_with('/') {
                    return Err(format!(
                        "ScriptAlias {prefix}: the URL-path must start with /"
                    ));
                }
                let dir = self.cfg.resolve(dir);
                self.cfg.script_aliases.push(ScriptAlias {
                    prefix: prefix.to_string(),
                    dir,
                });
            }
            "cgiscripttimeout" => {
                server_only()?;
                let v = one(
                    "The amount of time to wait between successful reads from the CGI script, in seconds.",
                )?;
                let secs: u64 = v
                    .strip_suffix('s')
                    .unwrap_or(v)
                    .parse()
                    .map_err(|_| "CGIScriptTimeout has wrong format".to_string())?;
                self.cfg.cgi_script_timeout = Some(std::time::Duration::from_secs(secs.max(1)));
            }
            "require" => {
                let rule = Rule::parse(args)?;
                match scope {
                    Some(Scope::Location(i)) => self.cfg.locations[i].access.push(rule),
                    Some(Scope::Directory(i)) => self.cfg.directories[i].access.push(rule),
                    _ => return Err("Require not allowed here".into()),
                }
            }
            "options" => {
                let Some(Scope::Directory(i)) = scope else {
                    return Err("Options not allowed here".into());
                };
                let d = &mut self.cfg.directories[i];
                let mut follow = d.follow_symlinks;
                // httpd: a list without +/- replaces the options in force, so ExecCGI is off
                // unless named; +/- adjust them.
                let mut exec = if args.iter().all(|a| a.starts_with(['+', '-'])) {
                    d.exec_cgi
                } else {
                    Some(false)
                };
                for a in args {
                    let on = !a.starts_with('-');
                    match a
                        .trim_start_matches(['+', '-'])
                        .to_ascii_lowercase()
                        .as_str()
                    {
                        "followsymlinks" => follow = Some(on),
                        "execcgi" => exec = Some(on),
                        "none" => (follow, exec) = (Some(false), Some(false)),
                        "all" => (follow, exec) = (Some(true), Some(true)),
                        // Indexes, MultiViews, … have no effect on what eventmpm serves.
                        _ => {}
                    }
                }
                d.follow_symlinks = follow;
                d.exec_cgi = exec;
            }
            "allowoverride" => {
                let Some(Scope::Directory(_)) = scope else {
                    return Err("AllowOverride not allowed here".into());
                };
                if !args.iter().all(|a| a.eq_ignore_ascii_case("none")) {
                    self.cfg.notes.push(format!(
                        "{}:{line}: AllowOverride {}: eventmpm reads no .htaccess files",
                        file.display(),
                        args.join(" ")
                    ));
                }
            }
            "defaultruntimedir" | "adddefaultcharset" | "hostnamelookups" | "serversignature"
            | "accessfilename" | "usecanonicalname" | "traceenable" => {
                self.cfg.notes.push(format!(
                    "{}:{line}: {name} is accepted and has no effect in eventmpm",
                    file.display()
                ));
            }
            "limitrequestbody" if scope.is_some() => {
                // The core holds one server-wide limit: applying a section's value would change
                // it for every URL.
                return Err("LimitRequestBody inside <Location> or <Directory> is not supported by eventmpm; set it at server level".into());
            }
            _ => {
                let ctx = match scope {
                    None => Context::Server,
                    Some(_) => Context::Directory,
                };
                match self
                    .cfg
                    .core
                    .set(name, args, ctx)
                    .map_err(|e| e.to_string())?
                {
                    Applied::Done => {}
                    Applied::Note(n) => {
                        self.cfg
                            .notes
                            .push(format!("{}:{line}: {n}", file.display()));
                    }
                    Applied::NotMine if lname == "scriptaliasmatch" => {
                        return Err(
                            "ScriptAliasMatch (regular expressions) is not supported by eventmpm; use ScriptAlias"
                                .into(),
                        );
                    }
                    Applied::NotMine => {
                        return Err(format!(
                            "Invalid command '{name}', perhaps misspelled or defined by a module not included in the server configuration"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// `host[:port]` or `[v6]:port` without the port.
pub(super) fn strip_port(n: &str) -> &str {
    if let Some(rest) = n.strip_prefix('[') {
        return rest.split_once(']').map(|(h, _)| h).unwrap_or(n);
    }
    match n.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.parse::<u16>().is_ok() => h,
        _ => n,
    }
}

fn on_off(name: &str, v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{name} must be On or Off")),
    }
}
