//! The modules `<IfModule>` sees and `LoadModule` changes.
//!
//! eventmpm is one binary: what httpd spreads over modules (mod_status, mod_mime, mod_dir, …) is
//! built in, and the MPM is chosen by `LoadModule mpm_event_module …` or
//! `LoadModule mpm_worker_module …` as in httpd (the path is ignored). Other `LoadModule` lines
//! are accepted with a note saying what eventmpm does instead, and the module then counts as
//! present for `<IfModule>` only if eventmpm provides its function.

use eventmpm_core::config::Mpm;

/// Built-in modules: (identifier, source file), both accepted by `<IfModule>`.
const BUILT_IN: &[(&str, &str)] = &[
    ("core_module", "core.c"),
    ("http_module", "http_core.c"),
    ("so_module", "mod_so.c"),
    ("unixd_module", "mod_unixd.c"),
    ("status_module", "mod_status.c"),
    ("mime_module", "mod_mime.c"),
    ("dir_module", "mod_dir.c"),
    ("log_config_module", "mod_log_config.c"),
    ("logio_module", "mod_logio.c"),
    ("authz_core_module", "mod_authz_core.c"),
    ("authz_host_module", "mod_authz_host.c"),
    // crate::modules: access, Basic authentication, headers, variables.
    ("authz_user_module", "mod_authz_user.c"),
    ("access_compat_module", "mod_access_compat.c"),
    ("auth_basic_module", "mod_auth_basic.c"),
    ("authn_core_module", "mod_authn_core.c"),
    ("authn_file_module", "mod_authn_file.c"),
    ("authz_groupfile_module", "mod_authz_groupfile.c"),
    ("headers_module", "mod_headers.c"),
    ("setenvif_module", "mod_setenvif.c"),
    ("env_module", "mod_env.c"),
    ("reqtimeout_module", "mod_reqtimeout.c"),
    // ScriptAlias; CGI as mod_cgid runs it (a process per request, killed with its group), and
    // under mod_cgi's name too, since configurations test either.
    ("alias_module", "mod_alias.c"),
    ("cgid_module", "mod_cgid.c"),
    ("cgi_module", "mod_cgi.c"),
    // HTTPS on rustls (feature `tls`): mod_ssl's directives, so Debian's `a2enmod ssl` works.
    #[cfg(feature = "tls")]
    ("ssl_module", "mod_ssl.c"),
    // Directory listings, gzip (by AddOutputFilterByType, mod_filter's directive).
    ("autoindex_module", "mod_autoindex.c"),
    ("deflate_module", "mod_deflate.c"),
    ("filter_module", "mod_filter.c"),
];

/// The modules in effect.
#[derive(Debug, Clone, Default)]
pub struct Modules {
    mpm: Option<Mpm>,
}

impl Modules {
    /// The MPM in effect (event unless `LoadModule mpm_worker_module` chose worker).
    pub fn mpm(&self) -> Mpm {
        self.mpm.unwrap_or(Mpm::Event)
    }

    /// httpd's identifier for the MPM in effect.
    pub fn mpm_module(&self) -> &'static str {
        match self.mpm() {
            Mpm::Event => "mpm_event_module",
            Mpm::Worker => "mpm_worker_module",
        }
    }

    /// Whether `<IfModule name>` holds (`name` is an identifier or a source file name).
    pub fn is_loaded(&self, name: &str) -> bool {
        let mpm = match self.mpm() {
            Mpm::Event => [("mpm_event_module", "event.c")],
            Mpm::Worker => [("mpm_worker_module", "worker.c")],
        };
        BUILT_IN
            .iter()
            .chain(mpm.iter())
            .any(|(id, file)| *id == name || *file == name)
    }

    /// Every module in effect, for `-M`.
    pub fn list(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = BUILT_IN.iter().map(|(id, _)| *id).collect();
        v.push(self.mpm_module());
        v
    }

    /// Apply `LoadModule id …`. `Ok(Some(note))` for a line that has no effect.
    pub fn load(&mut self, id: &str) -> Result<Option<String>, String> {
        let chosen = match id {
            "mpm_event_module" => Some(Mpm::Event),
            "mpm_worker_module" => Some(Mpm::Worker),
            "mpm_prefork_module" => {
                return Err(
                    "mpm_prefork_module: eventmpm implements the event and worker MPMs only".into(),
                );
            }
            _ => None,
        };
        if let Some(m) = chosen {
            return match self.mpm {
                Some(prev) if prev != m => {
                    Err("AH00534: httpd: Configuration error: More than one MPM loaded.".into())
                }
                _ => {
                    self.mpm = Some(m);
                    Ok(None)
                }
            };
        }
        if BUILT_IN.iter().any(|(m, _)| *m == id) {
            return Ok(Some(format!(
                "LoadModule {id}: built into eventmpm; line ignored"
            )));
        }
        Ok(Some(format!(
            "LoadModule {id}: eventmpm does not load Apache modules; the module's directives are \
             unavailable and <IfModule {id}> is false"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpm_choice_and_ifmodule() {
        let mut m = Modules::default();
        assert!(m.is_loaded("mpm_event_module") && m.is_loaded("event.c"));
        assert!(!m.is_loaded("mpm_worker_module"));
        assert!(m.is_loaded("mod_status.c") && m.is_loaded("status_module"));
        assert!(!m.is_loaded("mod_proxy.c"));
        assert_eq!(m.load("mpm_worker_module"), Ok(None));
        assert!(m.is_loaded("worker.c") && !m.is_loaded("event.c"));
        assert!(
            m.load("mpm_event_module")
                .unwrap_err()
                .contains("More than one MPM")
        );
        assert!(m.load("mpm_prefork_module").is_err());
        assert!(
            m.load("status_module")
                .unwrap()
                .unwrap()
                .contains("built into")
        );
        assert!(
            m.load("proxy_module")
                .unwrap()
                .unwrap()
                .contains("does not load")
        );
        assert!(!m.is_loaded("proxy_module"));
    }
}
