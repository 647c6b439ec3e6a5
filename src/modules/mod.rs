//! What Debian's default-enabled httpd modules do beyond serving files: access control
//! (mod_authz_core, mod_authz_host, mod_authz_user, mod_access_compat), Basic authentication
//! (mod_auth_basic, mod_authn_file), response headers (mod_headers), redirects and aliases
//! (mod_alias) and request variables (mod_setenvif, mod_env); and httpd's content modules
//! beside the static-file handler: directory listings (mod_autoindex), gzip (mod_deflate), and
//! the directives that steer them and mod_mime and mod_dir ([`output`]).
//!
//! Each module's logic is in its own file. This file holds a section's settings of all of
//! them ([`SectionSettings`], one field on `<Location>`, `<Directory>` and the server), the
//! one entry point the configuration reader calls ([`directive`], [`open_section`],
//! [`close_section`]), and the request-time steps in httpd's order ([`Request`]):
//! translate (server redirects), SetEnvIf, access (Satisfy, host rules, Require, Basic
//! authentication), fixups (section redirects, mod_env), and the response's headers.
//!
//! A request whose sections configure none of this does no work here and allocates nothing.

pub mod access_compat;
pub mod alias;
pub mod atoi;
pub mod auth_basic;
pub mod authn_file;
pub mod authz;
pub mod authz_groupfile;
pub mod authz_host;
pub mod autoindex;
pub mod deflate;
pub mod env;
pub mod error_document;
pub mod headers;
pub mod list_file;
pub mod mapping;
pub mod output;
pub mod setenvif;

pub use output::{DirOutput, Group, Level, Output, OutputSettings, Typed};

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use eventmpm_core::http1::Header;

use access_compat::{Compat, Satisfy};
use alias::{Alias, Redirect, Redirected};
use auth_basic::{Auth, Failure};
use authz::{Authz, Facts, Verdict};
use env::{Env, Vars};

/// One section's settings for these modules (a `<Location>`, a `<Directory>`, or the
/// server's own defaults).
#[derive(Debug, Clone, Default)]
pub struct SectionSettings {
    /// `Require`, `<RequireAll>`…, `AuthMerging`.
    pub authz: Authz,
    /// `Order`, `Allow`, `Deny`, `Satisfy`.
    pub compat: Compat,
    /// `AuthType`, `AuthName`, `AuthUserFile`, `AuthBasicProvider`.
    pub auth: Auth,
    /// `Header` lines.
    pub headers: Vec<headers::Rule>,
    /// `RequestHeader` lines (they edit the fields CGI scripts see).
    pub request_headers: Vec<headers::Rule>,
    /// `SetEnvIf`-family lines of the section.
    pub setenvif: Vec<setenvif::Rule>,
    /// `SetEnv`, `UnsetEnv`, `PassEnv`.
    pub env: Env,
    /// `Redirect`-family lines of the section.
    pub redirects: Vec<Redirect>,
    /// core's `ErrorDocument` lines.
    pub error_documents: error_document::ErrorDocuments,
}

impl SectionSettings {
    /// Whether the section configures nothing here.
    pub fn is_empty(&self) -> bool {
        !self.authz.is_present()
            && !self.compat.is_present()
            && self.auth == Auth::default()
            && self.headers.is_empty()
            && self.request_headers.is_empty()
            && self.setenvif.is_empty()
            && self.env.is_empty()
            && self.redirects.is_empty()
            && self.error_documents.is_empty()
    }
}

/// The server-level settings: its section defaults and what only the server level has.
#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    /// The defaults every request starts from.
    pub section: SectionSettings,
    /// A virtual host's own defaults, applied after the main server's (empty for the main
    /// server).
    pub host_section: SectionSettings,
    /// Server-level `SetEnvIf` lines, applied as the request is read.
    pub setenvif: Vec<setenvif::Rule>,
    /// Server-level redirects, tried before anything else.
    pub redirects: Vec<Redirect>,
    /// `Alias`/`AliasMatch`, in configuration order.
    pub aliases: Vec<Alias>,
}

impl ServerSettings {
    /// Whether the server configures nothing here at all.
    pub fn is_empty(&self) -> bool {
        self.section.is_empty()
            && self.host_section.is_empty()
            && self.setenvif.is_empty()
            && self.redirects.is_empty()
            && self.aliases.is_empty()
    }
}

impl ServerSettings {
    /// A virtual host's settings: `host`'s (the lines directly in its `<VirtualHost>`) merged
    /// over these, the main server's, as httpd merges server configurations: its defaults
    /// after the main server's, its SetEnvIf lines after them, its redirects and aliases
    /// before them (mod_alias looks at the host's first).
    pub fn for_host(&self, host: &ServerSettings) -> ServerSettings {
        let mut redirects = host.redirects.clone();
        redirects.extend(self.redirects.iter().cloned());
        let mut aliases = host.aliases.clone();
        aliases.extend(self.aliases.iter().cloned());
        let mut setenvif = self.setenvif.clone();
        setenvif.extend(host.setenvif.iter().cloned());
        ServerSettings {
            section: self.section.clone(),
            host_section: host.section.clone(),
            setenvif,
            redirects,
            aliases,
        }
    }
}

/// Where a directive was read, for its checks and its paths.
#[derive(Debug)]
pub struct At<'a> {
    /// Relative paths (AuthUserFile) are resolved against it.
    pub server_root: &'a Path,
    /// Non-fatal notes (an undefined PassEnv variable).
    pub notes: &'a mut Vec<String>,
    /// The line's `file:line`, for notes that name it as httpd's do.
    pub position: String,
}

fn one<'a>(name: &str, args: &[&'a str], what: &str) -> Result<&'a str, String> {
    match args {
        [a] => Ok(a),
        _ => Err(format!("{name} takes one argument, {what}")),
    }
}

/// Apply a directive of these modules. `section` is the open `<Location>`/`<Directory>`,
/// `None` at server level. `None` if the directive is not one of theirs.
pub fn directive(
    server: &mut ServerSettings,
    section: Option<&mut SectionSettings>,
    name: &str,
    args: &[&str],
    at: &mut At<'_>,
) -> Option<Result<(), String>> {
    let lname = name.to_ascii_lowercase();
    let in_section = section.is_some();
    let server_only = || -> Result<(), String> {
        if in_section {
            Err(format!(
                "{name} cannot occur within <Directory/Location/Files> section"
            ))
        } else {
            Ok(())
        }
    };
    let dir_only = || -> Result<(), String> {
        if in_section {
            Ok(())
        } else {
            Err(format!("{name} not allowed here"))
        }
    };
    let at_server = section.is_none();
    let s: &mut SectionSettings = match section {
        Some(s) => s,
        None => &mut server.section,
    };
    let r = (|| -> Result<(), String> {
        match lname.as_str() {
            "require" => {
                dir_only()?;
                s.authz.require(args)
            }
            "authmerging" => {
                dir_only()?;
                s.authz
                    .set_merging(one(name, args, "controls how a <Directory>, <Location>, or similar directive's authorization directives are combined with those of its predecessor")?)
            }
            "order" => {
                dir_only()?;
                s.compat.set_order(one(
                    name,
                    args,
                    "'allow,deny', 'deny,allow', or 'mutual-failure'",
                )?)
            }
            "allow" | "deny" => {
                dir_only()?;
                s.compat.add(lname == "allow", args)
            }
            "satisfy" => {
                dir_only()?;
                s.compat.set_satisfy(one(
                    name,
                    args,
                    "access policy if both allow and require used ('all' or 'any')",
                )?)
            }
            "authtype" => {
                dir_only()?;
                s.auth.set_type(one(
                    name,
                    args,
                    "an HTTP authorization type (e.g., \"Basic\")",
                )?)
            }
            "authname" => {
                dir_only()?;
                s.auth.name = Some(
                    one(
                        name,
                        args,
                        "the authentication realm (e.g. \"Members Only\")",
                    )?
                    .to_string(),
                );
                Ok(())
            }
            "authuserfile" => {
                dir_only()?;
                let f = match args {
                    [f] => *f,
                    [_, _] => return Err("AuthUserFile: eventmpm reads plain htpasswd files only (no DBM or other file types)".into()),
                    _ => return Err("AuthUserFile takes 1-2 arguments, text file containing user IDs and passwords".into()),
                };
                let p = Path::new(f);
                let path = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    at.server_root.join(p)
                };
                s.auth.user_file = Some(Arc::new(authn_file::UserFile::read(&path)?));
                Ok(())
            }
            "authgroupfile" => {
                dir_only()?;
                let f = match args {
                    [f] => *f,
                    [_, _] => return Err("AuthGroupFile: eventmpm reads plain group files only (no DBM)".into()),
                    _ => return Err("AuthGroupFile takes 1-2 arguments, text file containing group names and member user IDs".into()),
                };
                let p = Path::new(f);
                let path = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    at.server_root.join(p)
                };
                s.auth.group_file = Some(Arc::new(authz_groupfile::GroupFile::read(&path)?));
                Ok(())
            }
            "authbasicprovider" => {
                dir_only()?;
                match args {
                    [] => Err("AuthBasicProvider requires at least 1 argument, specify the auth providers for a directory or location".into()),
                    list if list.iter().all(|p| p.eq_ignore_ascii_case("file")) => Ok(()),
                    list => Err(format!(
                        "Unknown Authn provider: {}",
                        list.iter().find(|p| !p.eq_ignore_ascii_case("file")).copied().unwrap_or("")
                    )),
                }
            }
            "authbasicauthoritative" => {
                dir_only()?;
                match one(name, args, "Set to 'Off' to allow access control to be passed along to lower modules if the UserID is not known to this module")?.to_ascii_lowercase().as_str() {
                    "on" => Ok(()),
                    _ => Err("AuthBasicAuthoritative Off: eventmpm has no other authentication module to pass to".into()),
                }
            }
            "header" => {
                s.headers.push(headers::Rule::parse(args)?);
                Ok(())
            }
            "requestheader" => {
                s.request_headers.push(headers::Rule::parse_request(args)?);
                Ok(())
            }
            "setenvif" | "setenvifnocase" | "browsermatch" | "browsermatchnocase" => {
                let nocase = lname.ends_with("nocase");
                let rule = if lname.starts_with("browsermatch") {
                    setenvif::Rule::parse(name, None, args, nocase)?
                } else {
                    let Some((attr, rest)) = args.split_first() else {
                        return Err(format!("Missing header-field name for {name}"));
                    };
                    setenvif::Rule::parse(name, Some(attr), rest, nocase)?
                };
                if at_server {
                    server.setenvif.push(rule);
                } else {
                    s.setenvif.push(rule);
                }
                Ok(())
            }
            "setenvifexpr" => {
                Err("SetEnvIfExpr (ap_expr expressions) is not supported by eventmpm".into())
            }
            "setenv" => s.env.set_env(args),
            "unsetenv" => s.env.unset_env(args),
            "passenv" => {
                let notes = &mut *at.notes;
                s.env.pass_env(args, &mut |w| notes.push(w))
            }
            "redirect" | "redirectmatch" | "redirectpermanent" | "redirecttemp" => {
                let regex = lname == "redirectmatch";
                let status = if lname == "redirectpermanent" {
                    301
                } else {
                    302
                };
                let mut full: Vec<&str> = Vec::with_capacity(args.len() + 1);
                // RedirectPermanent/RedirectTemp take no status of their own.
                if lname == "redirectpermanent" || lname == "redirecttemp" {
                    if args.len() != 2 {
                        return Err(format!(
                            "{name} takes two arguments, a document to be redirected, then the destination URL"
                        ));
                    }
                    full.push(if status == 301 { "permanent" } else { "temp" });
                }
                full.extend_from_slice(args);
                let r = Redirect::parse(&full, status, regex, !at_server)?;
                if at_server {
                    server.redirects.push(r);
                } else {
                    s.redirects.push(r);
                }
                Ok(())
            }
            "errordocument" => {
                if let Some(note) = s.error_documents.add(args, &at.position)? {
                    at.notes.push(note);
                }
                Ok(())
            }
            "alias" | "aliasmatch" => {
                server_only()?;
                server
                    .aliases
                    .push(Alias::parse(args, lname == "aliasmatch")?);
                Ok(())
            }
            _ => Err(String::new()),
        }
    })();
    match r {
        Err(e) if e.is_empty() => None,
        r => Some(r),
    }
}

/// Open a section of these modules (`<RequireAll>`, `<RequireAny>`, `<RequireNone>`) inside
/// `section` (`None` at server level, where they are not allowed). `None` if `lname`
/// (lowercase) is not one of theirs.
pub fn open_section(
    section: Option<&mut SectionSettings>,
    lname: &str,
    args: &[&str],
) -> Option<Result<(), String>> {
    if !authz::is_group(lname) {
        return None;
    }
    Some(match section {
        Some(s) => s.authz.open(lname, args),
        None => Err(format!("<{lname}> not allowed here")),
    })
}

/// Close the innermost section [`open_section`] opened.
pub fn close_section(section: &mut SectionSettings) -> Result<(), String> {
    section.authz.close()
}

/// A request's state in these modules, kept by each worker thread and reset per request.
#[derive(Debug, Default)]
pub struct RequestState {
    /// Its variables.
    pub vars: Vars,
    /// The authenticated user (`%u`, `REMOTE_USER`).
    pub user: Option<String>,
    /// Response fields, while `Header` lines edit them.
    table: Vec<(String, Vec<u8>)>,
    always: Vec<(String, Vec<u8>)>,
}

impl RequestState {
    /// Forget the previous request.
    pub fn reset(&mut self) {
        self.vars.clear();
        self.user = None;
    }
}

/// What the modules need to know of a request.
#[derive(Debug)]
pub struct Request<'a> {
    /// The client's address.
    pub peer: IpAddr,
    /// The server's address on the connection.
    pub local: IpAddr,
    /// The server's port on the connection.
    pub local_port: u16,
    /// The method.
    pub method: &'a str,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub protocol: &'a str,
    /// The decoded, normalised path.
    pub uri: &'a str,
    /// The query, if any.
    pub query: Option<&'a str>,
    /// The `Host` value, else the server's name.
    pub host: &'a str,
    /// The request's header fields.
    pub headers: &'a [Header<'a>],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }
}

/// Add the request's variables (SetEnvIf, SetEnv, PassEnv) and its user (`REMOTE_USER`,
/// `AUTH_TYPE`) to a CGI script's environment; the standard variables already there win, as
/// httpd's `ap_add_cgi_vars` overrides `subprocess_env`.
pub fn add_cgi_vars(state: &RequestState, env: &mut Vec<(std::ffi::OsString, std::ffi::OsString)>) {
    if let Some(user) = &state.user {
        env.push(("REMOTE_USER".into(), user.into()));
        env.push(("AUTH_TYPE".into(), "Basic".into()));
    }
    for (k, v) in state.vars.iter() {
        if !k.is_empty() && !v.contains('\0') && !env.iter().any(|(n, _)| n == k) {
            env.push((k.into(), v.into()));
        }
    }
}

/// The request's fields as the `RequestHeader` lines of `sections` edit them, or `None` when
/// no line applies. Only CGI scripts see the result (their `HTTP_*` variables).
pub fn edited_request_fields<'s>(
    sections: impl Sections<'s>,
    state: &RequestState,
    fields: &[Header<'_>],
    started_us: u64,
) -> Option<Vec<(String, Vec<u8>)>> {
    if !sections.clone().any(|s| !s.request_headers.is_empty()) {
        return None;
    }
    let mut table: Vec<(String, Vec<u8>)> = fields
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect();
    let cx = headers::Context {
        vars: &state.vars,
        started_us,
        now_us: started_us,
        request: fields,
    };
    for s in sections {
        for rule in &s.request_headers {
            rule.apply(&mut table, &cx);
        }
    }
    Some(table)
}

/// How a step ended the request early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A redirect or `gone`: the status and `Location` (absolute) if any.
    Redirect {
        /// The status.
        status: u16,
        /// The `Location`, for a 3xx.
        location: Option<String>,
    },
    /// 403.
    Forbidden,
    /// 401 with this `WWW-Authenticate` value.
    Unauthorized(String),
    /// 500 (misconfiguration, logged).
    ServerError,
}

fn redirect_outcome(r: Redirected, req: &Request<'_>) -> Outcome {
    let location = r.target.map(|t| {
        if (300..400).contains(&r.status) {
            alias::absolute_location(&t, req.host, req.local_port, req.query)
        } else {
            t
        }
    });
    Outcome::Redirect {
        status: r.status,
        location,
    }
}

/// mod_alias's translate step: the server's redirects, in order. (Aliases map files and are
/// applied when the file is looked up.)
pub fn translate(server: &ServerSettings, req: &Request<'_>) -> Option<Outcome> {
    server
        .redirects
        .iter()
        .find_map(|r| r.apply(req.uri))
        .map(|r| redirect_outcome(r, req))
}

/// The sections in force for a request, server defaults first: cloneable, since the steps
/// walk them more than once.
pub trait Sections<'s>: Iterator<Item = &'s SectionSettings> + Clone {}
impl<'s, I: Iterator<Item = &'s SectionSettings> + Clone> Sections<'s> for I {}

/// Whether checking access for these sections may need a password check (expensive: the
/// caller keeps it off threads that must not block).
pub fn needs_authentication<'s>(sections: impl Sections<'s>) -> bool {
    sections.clone().any(|s| s.auth.basic.is_some())
        && sections.clone().any(|s| s.authz.has_rules())
}

/// SetEnvIf (server lines, then the sections'), then access: httpd's
/// `ap_process_request_internal` from post-read-request to the auth checker, and the
/// fixups (section redirects, mod_env). `None`: go on and answer.
pub fn check<'s>(
    server: &ServerSettings,
    sections: impl Sections<'s>,
    req: &Request<'_>,
    state: &mut RequestState,
) -> Option<Outcome> {
    if !server.setenvif.is_empty() || sections.clone().any(|s| !s.setenvif.is_empty()) {
        let peer = req.peer.to_canonical().to_string();
        let local = req.local.to_canonical().to_string();
        let subject = setenvif::Subject {
            remote_addr: &peer,
            server_addr: &local,
            method: req.method,
            protocol: req.protocol,
            uri: req.uri,
            headers: req.headers,
        };
        for r in &server.setenvif {
            r.apply(&subject, &mut state.vars);
        }
        for s in sections.clone() {
            for r in &s.setenvif {
                r.apply(&subject, &mut state.vars);
            }
        }
    }
    if let Some(o) = access(sections.clone(), req, state) {
        return Some(o);
    }
    // Fixups: the most specific section's redirects first (httpd appends the base's after).
    let list: Vec<&SectionSettings> = sections
        .clone()
        .filter(|s| !s.redirects.is_empty())
        .collect();
    for s in list.iter().rev() {
        if let Some(r) = s.redirects.iter().find_map(|r| r.apply(req.uri)) {
            return Some(redirect_outcome(r, req));
        }
    }
    if sections.clone().any(|s| !s.env.is_empty()) {
        Env::apply(sections.map(|s| &s.env), &mut state.vars);
    }
    None
}

/// The access decision, the one place it is made: mod_access_compat's host rules and
/// `Satisfy`, mod_authz_core's `Require` tree, and Basic authentication when the tree wants
/// a user, with httpd's 401/403/500 outcomes.
fn access<'s>(
    sections: impl Sections<'s>,
    req: &Request<'_>,
    state: &mut RequestState,
) -> Option<Outcome> {
    let compat = sections
        .clone()
        .filter(|s| s.compat.is_present())
        .last()
        .map(|s| &s.compat);
    let mut auth = Auth::default();
    for s in sections.clone() {
        auth.merge_from(&s.auth);
    }
    let vars = &state.vars;
    let env = |v: &str| vars.is_set(v);
    let host_ok = compat.is_none_or(|c| c.allows(req.peer, &env));
    let satisfy = compat.map(|c| c.satisfy).unwrap_or(Satisfy::Unset);
    if !host_ok && satisfy != Satisfy::Any {
        log::error!(
            "AH01797: client denied by server configuration: {}",
            req.uri
        );
        return Some(Outcome::Forbidden);
    }
    if host_ok && satisfy == Satisfy::Any {
        return None;
    }
    let anonymous = Facts {
        peer: req.peer,
        local: req.local,
        method: req.method,
        user: None,
        env: &env,
        in_group: None,
    };
    let verdict = authz::evaluate(sections.clone().map(|s| &s.authz), &anonymous);
    let Some(verdict) = verdict else {
        if auth.basic == Some(true) {
            // httpd: "AuthType configured with no corresponding authorization directives".
            log::error!(
                "AH01627: AuthType configured with no corresponding authorization directives"
            );
            return Some(Outcome::ServerError);
        }
        return None;
    };
    match verdict {
        Verdict::Granted => None,
        Verdict::Denied | Verdict::Neutral => {
            log::error!(
                "AH01630: client denied by server configuration: {}",
                req.uri
            );
            Some(Outcome::Forbidden)
        }
        Verdict::DeniedNoUser => {
            if !auth.is_basic() {
                log::error!(
                    "AH00027: No authentication done but request not allowed without authentication for {}. Authentication not configured?",
                    req.uri
                );
                return Some(Outcome::ServerError);
            }
            let user = match auth.authenticate(req.header("Authorization"), req.uri) {
                Ok(u) => u,
                Err(Failure::Unauthorized) => return Some(Outcome::Unauthorized(auth.challenge())),
                Err(Failure::Misconfigured) => return Some(Outcome::ServerError),
            };
            let member = |g: &str| {
                auth.group_file
                    .as_ref()
                    .is_some_and(|file| file.is_member(&user, g))
            };
            let f = Facts {
                peer: req.peer,
                local: req.local,
                method: req.method,
                user: Some(&user),
                env: &env,
                in_group: auth
                    .group_file
                    .is_some()
                    .then_some(&member as &dyn Fn(&str) -> bool),
            };
            let v = authz::evaluate(sections.map(|s| &s.authz), &f);
            let outcome = match v {
                Some(Verdict::Granted) => None,
                _ => {
                    log::error!(
                        "AH01631: user {user}: authorization failure for \"{}\": ",
                        req.uri
                    );
                    Some(Outcome::Unauthorized(auth.challenge()))
                }
            };
            state.user = Some(user);
            outcome
        }
    }
}

/// Whether a subrequest for another path (a directory listing's entry, an inserted header
/// file) would be allowed for this client as the request's own checks left it: its user (no
/// password is checked again), its variables. httpd's mod_autoindex hides what such a
/// subrequest may not fetch.
pub fn subrequest_allowed<'s>(
    sections: impl Sections<'s>,
    peer: IpAddr,
    local: IpAddr,
    method: &str,
    state: &RequestState,
) -> bool {
    let compat = sections
        .clone()
        .filter(|s| s.compat.is_present())
        .last()
        .map(|s| &s.compat);
    let vars = &state.vars;
    let env = |v: &str| vars.is_set(v);
    let host_ok = compat.is_none_or(|c| c.allows(peer, &env));
    let satisfy = compat.map(|c| c.satisfy).unwrap_or(Satisfy::Unset);
    if !host_ok && satisfy != Satisfy::Any {
        return false;
    }
    if host_ok && satisfy == Satisfy::Any {
        return true;
    }
    let mut auth = Auth::default();
    for s in sections.clone() {
        auth.merge_from(&s.auth);
    }
    let user = state.user.as_deref();
    let member = |g: &str| {
        auth.group_file
            .as_ref()
            .is_some_and(|file| user.is_some_and(|u| file.is_member(u, g)))
    };
    let f = Facts {
        peer,
        local,
        method,
        user,
        env: &env,
        in_group: auth
            .group_file
            .is_some()
            .then_some(&member as &dyn Fn(&str) -> bool),
    };
    matches!(
        authz::evaluate(sections.map(|s| &s.authz), &f),
        None | Some(Verdict::Granted)
    )
}

/// Whether any section's `Header` lines may apply.
pub fn has_headers<'s>(sections: impl Sections<'s>) -> bool {
    sections.clone().any(|s| !s.headers.is_empty())
}

/// Apply the `Header` lines of `sections` to a response's fields: `fields` holds them as the
/// handler made them and receives the result. `success`: a 2xx or 304, which keeps its
/// fields and gets the `onsuccess` lines; other responses get only the `always` lines.
pub fn apply_headers<'s>(
    sections: impl Sections<'s>,
    state: &mut RequestState,
    fields: &mut Vec<(String, Vec<u8>)>,
    success: bool,
    cx_request: &[Header<'_>],
    started_us: u64,
    now_us: u64,
) {
    let RequestState {
        vars,
        table,
        always,
        ..
    } = state;
    table.clear();
    always.clear();
    std::mem::swap(table, fields);
    let cx = headers::Context {
        vars,
        started_us,
        now_us,
        request: cx_request,
    };
    for s in sections {
        for rule in &s.headers {
            if rule.always {
                // An error page's fields are the `always` table itself.
                if success {
                    rule.apply(always, &cx);
                } else {
                    rule.apply(table, &cx);
                }
            } else if success {
                rule.apply(table, &cx);
            }
        }
    }
    fields.append(table);
    fields.append(always);
}

#[cfg(test)]
mod tests;
