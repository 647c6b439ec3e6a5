//! Reading configuration text: sections, conditionals, includes, and every directive the
//! runtime handles itself; the MPM and protocol directives go to the core's `Config`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use eventmpm_core::config::tokenizer::{LineKind, MAX_LINE_LEN, Tokenizer};
use eventmpm_core::config::{Applied, Context};

use super::vars;
use super::*;
use crate::logformat::LogFormat;

/// Walks configuration texts, applying each line.
pub(super) struct Reader {
    pub(super) cfg: ServerConfig,
    pub(super) files: usize,
    /// LogFormat nicknames; `common` and `combined` are predefined, as in httpd's default
    /// configuration.
    pub(super) formats: HashMap<String, LogFormat>,
    /// The files the `Include` line just applied names, read next.
    pub(super) includes: Vec<PathBuf>,
    /// The `<VirtualHost>` being read, if any (an index into `cfg.vhosts`).
    pub(super) vhost: Option<usize>,
}

/// What an open section is, for the directives inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// A conditional that evaluated true: transparent.
    Conditional,
    /// A section of `crate::modules` (`<RequireAll>`…): transparent to other directives.
    Module,
    Location(usize),
    Directory(usize),
    /// A `<Files>` or `<FilesMatch>` section: `Require` only.
    Files(usize),
    /// A `<VirtualHost>`: directives inside apply to it (`Reader::vhost`).
    VirtualHost,
}

impl Scope {
    /// Sections that do not change what a directive applies to within a server.
    fn is_server_level(self) -> bool {
        matches!(self, Scope::Conditional | Scope::VirtualHost)
    }
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
            let args: Vec<String> = line
                .args
                .iter()
                .map(|a| self.expand(a))
                .collect::<Result<_, _>>()
                .map_err(|m| err(number, m))?;
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            match line.kind {
                LineKind::SectionClose => match scopes.pop() {
                    Some(Scope::Module) => {
                        let inner = innermost(&scopes);
                        if let Some(s) = self.module_section(inner) {
                            crate::modules::close_section(s).map_err(|m| err(number, m))?;
                        }
                    }
                    Some(Scope::VirtualHost) => self.close_vhost(),
                    _ => {}
                },
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
                                self.cfg.defines.iter().any(|(d, _)| d == what)
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
                            if innermost(&scopes).is_some() {
                                return Err(err(
                                    number,
                                    "<Location> cannot occur within <Location> or <Directory> section"
                                        .into(),
                                ));
                            }
                            self.cfg.locations.push(Location {
                                path: path.to_string(),
                                handler: None,
                                modules: Default::default(),
                                output: crate::modules::DirOutput::within(path),
                                cgi_extensions: Vec::new(),
                                cgi_removed: Vec::new(),
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
                            if innermost(&scopes).is_some() {
                                return Err(err(
                                    number,
                                    "<Directory> cannot occur within <Location> or <Directory> section"
                                        .into(),
                                ));
                            }
                            let path = self.cfg.resolve(path);
                            // httpd's cmd->path for a <Directory>: with one trailing slash.
                            let cmd_path = {
                                // Canonical, as the listing's entry paths are.
                                let p = path.canonicalize().unwrap_or_else(|_| path.clone());
                                let p = p.display().to_string();
                                if p.ends_with('/') { p } else { format!("{p}/") }
                            };
                            self.cfg.directories.push(Directory {
                                path,
                                modules: Default::default(),
                                follow_symlinks: None,
                                exec_cgi: None,
                                handler: None,
                                cgi_extensions: Vec::new(),
                                cgi_removed: Vec::new(),
                                output: crate::modules::DirOutput::within(&cmd_path),
                            });
                            scopes.push(Scope::Directory(self.cfg.directories.len() - 1));
                        }
                        "files" | "filesmatch" => {
                            let (pattern, regex) = match (&args[..], lname.as_str()) {
                                ([p], "filesmatch") => (*p, true),
                                (["~", p], "files") => (*p, true),
                                ([p], _) => (*p, false),
                                _ => {
                                    return Err(err(
                                        number,
                                        format!("<{name}> takes one argument"),
                                    ));
                                }
                            };
                            if !scopes.iter().all(|s| s.is_server_level()) {
                                return Err(err(
                                    number,
                                    format!(
                                        "<{name}> inside <Location>, <Directory> or <Files> is not supported by eventmpm"
                                    ),
                                ));
                            }
                            let written = pattern.to_string();
                            let pattern =
                                FilesPattern::parse(pattern, regex).map_err(|m| err(number, m))?;
                            self.cfg.files_sections.push(Files {
                                pattern,
                                modules: Default::default(),
                                output: crate::modules::DirOutput::within(&written),
                                handler: None,
                                cgi_extensions: Vec::new(),
                                cgi_removed: Vec::new(),
                            });
                            scopes.push(Scope::Files(self.cfg.files_sections.len() - 1));
                        }
                        "virtualhost" => {
                            if !scopes.iter().all(|s| *s == Scope::Conditional) {
                                let within = if scopes.contains(&Scope::VirtualHost) {
                                    "<VirtualHost>"
                                } else {
                                    "<Directory/Location/Files>"
                                };
                                return Err(err(
                                    number,
                                    format!("<VirtualHost> cannot occur within {within} section"),
                                ));
                            }
                            self.open_vhost(file, number, &args)
                                .map_err(|m| err(number, m))?;
                            scopes.push(Scope::VirtualHost);
                        }
                        _ => {
                            let inner = innermost(&scopes);
                            let in_server = inner.is_none();
                            match crate::modules::open_section(
                                self.module_section(inner),
                                &lname,
                                &args,
                            ) {
                                Some(r) => {
                                    r.map_err(|m| {
                                        err(
                                            number,
                                            if in_server {
                                                format!("<{name}> not allowed here")
                                            } else {
                                                m
                                            },
                                        )
                                    })?;
                                    scopes.push(Scope::Module);
                                }
                                None => {
                                    if let Some(module) =
                                        super::known::module_of(&format!("<{name}"))
                                    {
                                        return Err(err(
                                            number,
                                            super::known::refusal(&format!("<{name}"), module),
                                        ));
                                    }
                                    return Err(err(
                                        number,
                                        format!(
                                            "Invalid command '<{name}', perhaps misspelled or defined by a module not included in the server configuration"
                                        ),
                                    ));
                                }
                            }
                        }
                    }
                }
                LineKind::Directive => {
                    let scope = innermost(&scopes);
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
        let position = format!("{}:{line}", file.display());
        if let Some(r) = self.module_directive(name, args, scope, position) {
            return r;
        }
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
        let vhost = self.vhost;
        // httpd's GLOBAL_ONLY: the main server, outside every section.
        let global_only = || -> Result<(), String> {
            server_only()?;
            match vhost {
                None => Ok(()),
                Some(_) => Err(format!("{name} cannot occur within <VirtualHost> section")),
            }
        };
        // The host a server-level directive applies to, if it is inside <VirtualHost>.
        let host = if scope.is_none() { vhost } else { None };
        // mod_ssl's directives: the host's own settings inside <VirtualHost>.
        let tls = match host {
            Some(k) => &mut self.cfg.vhosts[k].tls,
            None => &mut self.cfg.tls,
        };
        if let Some(r) = crate::tls::directive(
            tls,
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
        // mod_mime, mod_dir's DirectorySlash, mod_autoindex, mod_deflate, mod_filter's
        // AddOutputFilterByType and core's ForceType and SetOutputFilter: each at its level.
        let cfg = &mut self.cfg;
        let level = match (scope, vhost) {
            (Some(Scope::Location(i)), _) => {
                Some(crate::modules::Level::Section(&mut cfg.locations[i].output))
            }
            (Some(Scope::Directory(i)), _) => Some(crate::modules::Level::Section(
                &mut cfg.directories[i].output,
            )),
            (Some(Scope::Files(i)), _) => Some(crate::modules::Level::Section(
                &mut cfg.files_sections[i].output,
            )),
            (_, Some(k)) => {
                let v = &mut cfg.vhosts[k];
                Some(crate::modules::Level::Server(
                    &mut v.output,
                    v.deflate.get_or_insert_with(Default::default),
                ))
            }
            _ => None,
        };
        if let Some(r) = cfg.output.directive(name, args, level) {
            return r;
        }
        match lname.as_str() {
            "serverroot" => {
                global_only()?;
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
                // httpd takes `scheme://host:port` too.
                let n = n.split_once("://").map(|(_, rest)| rest).unwrap_or(n);
                let n = strip_port(n).to_string();
                match host {
                    Some(k) => self.cfg.vhosts[k].server_name = Some(n),
                    None => self.cfg.server_name = n,
                }
            }
            "namevirtualhost" => {
                server_only()?;
                one("A numeric IP address:port, or the name of a host")?;
                // httpd 2.4 warns the same way (AH00548) and otherwise ignores the line.
                self.cfg.notes.push(format!(
                    "AH00548: NameVirtualHost has no effect and will be removed in the next release {}:{line}",
                    file.display()
                ));
            }
            "serveralias" => {
                server_only()?;
                let Some(k) = host else {
                    return Err("ServerAlias only used in <VirtualHost>".into());
                };
                if args.is_empty() {
                    return Err("ServerAlias requires at least 1 argument, a name or names alternatively used to access the server".into());
                }
                self.cfg.vhosts[k].add_aliases(args);
            }
            "define" => {
                let (var, value) = match args {
                    [v] => (*v, None),
                    [v, value] => (*v, Some(value.to_string())),
                    _ => return Err("Define takes 1-2 arguments, Define a variable, optionally to a value.  Same as passing -D to the command line.".into()),
                };
                if var.contains(':') {
                    return Err("Variable name must not contain ':'".into());
                }
                self.cfg.defines.retain(|(d, _)| d != var);
                self.cfg.defines.push((var.to_string(), value));
            }
            "undefine" => {
                let var = one("Undefine the existence of a variable. Undo a Define.")?;
                self.cfg.defines.retain(|(d, _)| d != var);
            }
            "serveradmin" => {
                server_only()?;
                let admin = one("The email address of the server administrator")?.to_string();
                match host {
                    Some(k) => self.cfg.vhosts[k].server_admin = Some(admin),
                    None => self.cfg.server_admin = Some(admin),
                }
            }
            "servertokens" => {
                global_only()?;
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
                let root = self
                    .cfg
                    .resolve(one("Root directory of the document tree")?);
                match host {
                    Some(k) => self.cfg.vhosts[k].document_root = Some(root),
                    None => {
                        self.cfg.document_root = root;
                        self.cfg.document_root_set = true;
                    }
                }
            }
            "directoryindex" => {
                if args.is_empty() {
                    return Err("DirectoryIndex requires at least 1 argument, a list of file names to handle a directory request".into());
                }
                let list = if args.len() == 1 && args[0].eq_ignore_ascii_case("disabled") {
                    Vec::new()
                } else {
                    args.iter().map(|a| a.to_string()).collect()
                };
                // eventmpm keeps one DirectoryIndex per host (inside a section too).
                match vhost {
                    Some(k) => self.cfg.vhosts[k].directory_index = Some(list),
                    None => self.cfg.directory_index = list,
                }
            }
            "errorlog" => {
                server_only()?;
                let target = one("The filename of the error log")?;
                if target.starts_with('|') || target.starts_with("syslog") {
                    return Err("piped and syslog ErrorLog targets are not supported by eventmpm; give a file".into());
                }
                let path = self.cfg.resolve(target);
                match host {
                    Some(k) => self.cfg.vhosts[k].error_log = Some(path),
                    None => self.cfg.error_log = path,
                }
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
                        None => {
                            let level = crate::errorlog::parse_level(a)?;
                            match host {
                                Some(k) => self.cfg.vhosts[k].log_level = Some(level),
                                None => self.cfg.log_level = level,
                            }
                        }
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
                let (target, fmt, condition) = match args {
                    [t, f] => (*t, *f, None),
                    [t, f, c] if c.starts_with("env=") || c.starts_with("expr=") => (*t, *f, Some(*c)),
                    _ => return Err("CustomLog takes 2-3 arguments, a file name, a custom log format string or format name, and an optional \"env=\" or \"expr=\" clause (see docs)".into()),
                };
                if target.starts_with('|') {
                    return Err(
                        "piped CustomLog targets are not supported by eventmpm; give a file".into(),
                    );
                }
                let mut format = match self.formats.get(fmt) {
                    Some(f) => f.clone(),
                    None => LogFormat::parse(fmt)?,
                };
                if let Some(c) = condition {
                    format = format.with_condition(c)?;
                }
                let path = self.cfg.resolve(target);
                match host {
                    Some(k) => self.cfg.vhosts[k].custom_logs.push((path, format)),
                    None => self.cfg.custom_logs.push((path, format)),
                }
            }
            "bufferedlogs" => {
                global_only()?;
                self.cfg.buffered_logs =
                    on_off(name, one("Enable Buffered Logging (experimental)")?)?;
            }
            "typesconfig" => {
                global_only()?;
                self.cfg.types_config = Some(self.cfg.resolve(one("the MIME types config file")?));
            }
            "extendedstatus" => {
                global_only()?;
                self.cfg.extended_status = on_off(
                    name,
                    one("\"On\" to track extended status information, \"Off\" to disable")?,
                )?;
            }
            "openfilecache" => {
                global_only()?;
                self.cfg.open_file_cache.entries = crate::open_files::Settings::parse_entries(
                    one("the number of open files each child keeps, or Off")?,
                )?;
            }
            "openfilecachevalid" => {
                global_only()?;
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
                global_only()?;
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
                    "default-handler" => Handler::Default,
                    "none" => Handler::Unset,
                    "cgi-script" => Handler::Cgi,
                    other => {
                        return Err(format!(
                            "SetHandler {other}: eventmpm serves only server-status, cgi-script and static files (default-handler)"
                        ));
                    }
                };
                match scope {
                    Some(Scope::Location(i)) => self.cfg.locations[i].handler = Some(handler),
                    Some(Scope::Files(i)) => self.cfg.files_sections[i].handler = Some(handler),
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
                            "SetHandler is only supported inside <Location>, <Directory> or <Files> by eventmpm"
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
                match (scope, host) {
                    (None, Some(k)) => self.cfg.vhosts[k].cgi_extensions.extend(exts),
                    (None, None) => self.cfg.cgi_extensions.extend(exts),
                    (Some(Scope::Directory(i)), _) => {
                        self.cfg.directories[i].cgi_extensions.extend(exts)
                    }
                    (Some(Scope::Location(i)), _) => {
                        self.cfg.locations[i].cgi_extensions.extend(exts)
                    }
                    (Some(Scope::Files(i)), _) => {
                        self.cfg.files_sections[i].cgi_extensions.extend(exts)
                    }
                    _ => {
                        return Err("AddHandler is not supported here by eventmpm".into());
                    }
                }
            }
            "removehandler" => {
                if args.is_empty() {
                    return Err(
                        "RemoveHandler requires at least 1 argument, one or more file extensions"
                            .into(),
                    );
                }
                let exts: Vec<String> = args
                    .iter()
                    .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                    .collect();
                match (scope, host) {
                    (None, Some(k)) => {
                        let v = &mut self.cfg.vhosts[k];
                        v.cgi_extensions.retain(|e| !exts.contains(e));
                        v.cgi_removed.extend(exts);
                    }
                    // httpd's mod_mime applies a level's Remove* lines to what it inherits,
                    // when it is merged; the main server's level is never merged over anything.
                    (None, None) => self.cfg.notes.push(format!(
                        "{}:{line}: RemoveHandler at the main server's level has no effect, as in httpd (put it in a <Directory> or <VirtualHost>)",
                        file.display()
                    )),
                    (Some(Scope::Directory(i)), _) => {
                        self.cfg.directories[i].cgi_removed.extend(exts)
                    }
                    (Some(Scope::Location(i)), _) => self.cfg.locations[i].cgi_removed.extend(exts),
                    (Some(Scope::Files(i)), _) => {
                        self.cfg.files_sections[i].cgi_removed.extend(exts)
                    }
                    _ => {
                        return Err("RemoveHandler is not supported here by eventmpm".into());
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
                global_only()?;
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
            "options" => {
                let Some(Scope::Directory(i)) = scope else {
                    return Err("Options not allowed here".into());
                };
                let d = &mut self.cfg.directories[i];
                let mut follow = d.follow_symlinks;
                // httpd: a list without +/- replaces the options in force, so ExecCGI is off
                // unless named; +/- adjust them.
                let relative = args.iter().all(|a| a.starts_with(['+', '-']));
                let mut exec = if relative { d.exec_cgi } else { Some(false) };
                let mut indexes = if relative { None } else { Some(false) };
                for a in args {
                    let on = !a.starts_with('-');
                    match a
                        .trim_start_matches(['+', '-'])
                        .to_ascii_lowercase()
                        .as_str()
                    {
                        "followsymlinks" => follow = Some(on),
                        "execcgi" => exec = Some(on),
                        "indexes" => indexes = Some(on),
                        "none" => (follow, exec, indexes) = (Some(false), Some(false), Some(false)),
                        "all" => (follow, exec, indexes) = (Some(true), Some(true), Some(true)),
                        // MultiViews, Includes, … have no effect on what eventmpm serves.
                        _ => {}
                    }
                }
                d.follow_symlinks = follow;
                d.exec_cgi = exec;
                let dir = d.path.clone();
                self.cfg.output.set_indexes(&dir, indexes);
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
            "languagepriority" | "forcelanguagepriority" | "cachenegotiateddocs" => {
                if args.is_empty() {
                    return Err(format!("{name} requires at least 1 argument"));
                }
                // mod_negotiation's settings act only through MultiViews and type maps, which
                // eventmpm does not implement: they change nothing here.
                self.cfg.notes.push(format!(
                    "{}:{line}: {name}: eventmpm does no content negotiation (no MultiViews, no type maps); the line has no effect",
                    file.display()
                ));
            }
            "limitinternalrecursion" => {
                let [redirects, subrequests @ ..] = args else {
                    return Err("LimitInternalRecursion takes one or two arguments, maximum recursion depth of internal redirects and subrequests".into());
                };
                if subrequests.len() > 1 {
                    return Err("LimitInternalRecursion takes one or two arguments, maximum recursion depth of internal redirects and subrequests".into());
                }
                if scope.is_some() {
                    return Err("LimitInternalRecursion not allowed here".into());
                }
                let atoi = crate::modules::atoi::atoi;
                let limit = atoi(redirects);
                if limit <= 0 {
                    return Err("The recursion limit must be greater than zero.".into());
                }
                if limit < 4 {
                    self.cfg.notes.push("AH00119: Limiting internal redirects to very low numbers may cause normal requests to fail.".into());
                }
                // The subrequest depth is checked as httpd checks it, but eventmpm's
                // subrequests (DirectoryIndex, HeaderName, a listing's entries) never nest,
                // and httpd lets a request make subrequests whatever the limit: it changes
                // nothing here.
                if let [s] = subrequests {
                    let depth = atoi(s);
                    if depth <= 0 {
                        return Err("The recursion limit must be greater than zero.".into());
                    }
                    if depth < 4 {
                        self.cfg.notes.push("AH00120: Limiting the subrequest depth to a very low level may cause normal requests to fail.".into());
                    }
                }
                let limit = u32::try_from(limit).unwrap_or(u32::MAX);
                match vhost {
                    Some(k) => self.cfg.vhosts[k].redirect_limit = Some(limit),
                    None => self.cfg.redirect_limit = limit,
                }
            }
            "serversignature" => {
                let sig = match one("En-/disable server signature (on|off|email)")?
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "on" => Signature::On,
                    "off" => Signature::Off,
                    "email" => Signature::Email,
                    _ => return Err("ServerSignature: use one of: off | on | email".into()),
                };
                if scope.is_some() {
                    return Err("ServerSignature inside <Location>, <Directory> or <Files> is not supported by eventmpm; set it for the server or the <VirtualHost>".into());
                }
                match vhost {
                    Some(k) => self.cfg.vhosts[k].server_signature = Some(sig),
                    None => self.cfg.server_signature = sig,
                }
            }
            "defaultruntimedir" => {
                global_only()?;
                let dir = self.cfg.resolve(one(
                    "Common directory for run-time files (shared memory, locks, etc.)",
                )?);
                if !dir.is_dir() {
                    return Err("DefaultRuntimeDir must be a valid directory, absolute or relative to ServerRoot".into());
                }
                self.cfg.runtime_dir = Some(dir);
            }
            "defaulttype" => {
                // httpd 2.4 takes it anywhere and ignores it, warning unless it is `none`.
                let v = one("the default media type for otherwise untyped files (DEPRECATED)")?;
                if !v.eq_ignore_ascii_case("off") && !v.eq_ignore_ascii_case("none") {
                    self.cfg.notes.push(format!(
                        "AH00117: Ignoring deprecated use of DefaultType in line {line} of {}.",
                        file.display()
                    ));
                }
            }
            "adddefaultcharset" | "hostnamelookups" | "accessfilename" | "usecanonicalname"
            | "traceenable" => {
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
                let ctx = match (scope, vhost) {
                    (None, None) => Context::Server,
                    (None, Some(_)) => Context::VirtualHost,
                    (Some(_), _) => Context::Directory,
                };
                if vhost.is_some() {
                    // Checked on a copy, so httpd's messages ("… cannot occur within
                    // <VirtualHost> section") come out as they would; the runtime holds one
                    // value of each for every host, so a host's own is refused, not applied
                    // to all of them.
                    let mut scratch = self.cfg.core.clone();
                    if let Applied::Done | Applied::Note(_) =
                        scratch.set(name, args, ctx).map_err(|e| e.to_string())?
                    {
                        return Err(format!(
                            "{name} inside <VirtualHost> is not supported by eventmpm (one value \
                             serves every host); set it in the main server"
                        ));
                    }
                }
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
                        if let Some(module) = super::known::module_of(name) {
                            return Err(super::known::refusal(name, module));
                        }
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

impl Reader {
    /// The `crate::modules` settings of the section `scope` names (`None` at server level).
    fn module_section(
        &mut self,
        scope: Option<Scope>,
    ) -> Option<&mut crate::modules::SectionSettings> {
        match scope {
            Some(Scope::Location(i)) => Some(&mut self.cfg.locations[i].modules),
            Some(Scope::Directory(i)) => Some(&mut self.cfg.directories[i].modules),
            Some(Scope::Files(i)) => Some(&mut self.cfg.files_sections[i].modules),
            _ => None,
        }
    }

    /// The one dispatch into `crate::modules`: `None` if the directive is not theirs.
    fn module_directive(
        &mut self,
        name: &str,
        args: &[&str],
        scope: Option<Scope>,
        position: String,
    ) -> Option<Result<(), String>> {
        let vhost = self.vhost;
        let cfg = &mut self.cfg;
        let mut at = crate::modules::At {
            server_root: &cfg.server_root,
            notes: &mut cfg.notes,
            position,
        };
        let section = match scope {
            Some(Scope::Location(i)) => Some(&mut cfg.locations[i].modules),
            Some(Scope::Directory(i)) => Some(&mut cfg.directories[i].modules),
            Some(Scope::Files(i)) => Some(&mut cfg.files_sections[i].modules),
            _ => None,
        };
        // A line directly in a <VirtualHost> sets that host's own server-level settings.
        let server = match vhost {
            Some(k) if section.is_none() => &mut cfg.vhosts[k].modules,
            _ => &mut cfg.server_modules,
        };
        crate::modules::directive(server, section, name, args, &mut at)
    }
}

/// The innermost section that is not transparent (a true conditional, a `<RequireAll>`…).
fn innermost(scopes: &[Scope]) -> Option<Scope> {
    scopes
        .iter()
        .rev()
        .find(|s| !matches!(s, Scope::Conditional | Scope::Module | Scope::VirtualHost))
        .copied()
}

impl Reader {
    /// Start reading `<VirtualHost addrs…>` at `file:line`.
    fn open_vhost(&mut self, file: &Path, line: u32, args: &[&str]) -> Result<(), String> {
        if args.is_empty() {
            return Err("<VirtualHost> directive requires additional arguments".into());
        }
        if self.cfg.vhosts.len() >= MAX_HOSTS {
            return Err(format!(
                "more than {MAX_HOSTS} <VirtualHost> sections (eventmpm's bound)"
            ));
        }
        if args.len() > vhost::MAX_ADDRS {
            return Err(format!(
                "more than {} addresses on one <VirtualHost> line",
                vhost::MAX_ADDRS
            ));
        }
        let addrs = args
            .iter()
            .map(|a| HostAddr::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        let c = &self.cfg;
        let starts = (
            c.locations.len(),
            c.directories.len(),
            c.script_aliases.len(),
            c.files_sections.len(),
        );
        self.cfg
            .vhosts
            .push(VirtualHost::new(addrs, file.to_path_buf(), line, starts));
        self.vhost = Some(self.cfg.vhosts.len() - 1);
        Ok(())
    }

    /// `</VirtualHost>`: the host owns the sections read since it opened.
    fn close_vhost(&mut self) {
        let Some(k) = self.vhost.take() else { return };
        let (l, d, a) = (
            self.cfg.locations.len(),
            self.cfg.directories.len(),
            self.cfg.script_aliases.len(),
        );
        let v = &mut self.cfg.vhosts[k];
        v.locations.end = l;
        v.directories.end = d;
        v.script_aliases.end = a;
        v.files.end = self.cfg.files_sections.len();
    }

    /// `text` with its `${NAME}` references replaced ([`vars::expand`]).
    pub(super) fn expand(&self, text: &str) -> Result<String, String> {
        vars::expand(text, &self.cfg.defines)
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
