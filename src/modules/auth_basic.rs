//! mod_auth_basic with core's `AuthType`/`AuthName`: reading `Authorization: Basic …`,
//! checking it against the `AuthUserFile` (mod_authn_file, the only provider), and the
//! `WWW-Authenticate` challenge of a 401.

use std::sync::Arc;

use base64::Engine as _;

use super::authn_file::{Check, UserFile};

/// A section's authentication settings; each is inherited field by field, as httpd merges them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// `AuthType Basic` (`Some(true)`), `AuthType None` (`Some(false)`).
    pub basic: Option<bool>,
    /// `AuthName`.
    pub name: Option<String>,
    /// `AuthUserFile`, read when the configuration is.
    pub user_file: Option<Arc<UserFile>>,
    /// `AuthGroupFile` (mod_authz_groupfile), likewise.
    pub group_file: Option<Arc<super::authz_groupfile::GroupFile>>,
}

/// Why authentication did not give a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 401 with a challenge.
    Unauthorized,
    /// 500: the configuration cannot authenticate (no AuthName, no AuthUserFile).
    Misconfigured,
}

impl Auth {
    /// `AuthType`.
    pub fn set_type(&mut self, arg: &str) -> Result<(), String> {
        self.basic = match arg.to_ascii_lowercase().as_str() {
            "basic" => Some(true),
            "none" => Some(false),
            "digest" | "form" => {
                return Err(format!(
                    "AuthType {arg}: eventmpm implements Basic authentication only"
                ));
            }
            _ => return Err(format!("Invalid authentication type: {arg}")),
        };
        Ok(())
    }

    /// Apply a later section's settings over these.
    pub fn merge_from(&mut self, over: &Auth) {
        if over.basic.is_some() {
            self.basic = over.basic;
        }
        if over.name.is_some() {
            self.name.clone_from(&over.name);
        }
        if over.user_file.is_some() {
            self.user_file.clone_from(&over.user_file);
        }
        if over.group_file.is_some() {
            self.group_file.clone_from(&over.group_file);
        }
    }

    /// Whether Basic authentication is configured (httpd's `ap_auth_type` is `Basic`).
    pub fn is_basic(&self) -> bool {
        self.basic == Some(true)
    }

    /// httpd's `authenticate_basic_user`: the user named by a valid `Authorization` value.
    pub fn authenticate(&self, authorization: Option<&[u8]>, uri: &str) -> Result<String, Failure> {
        if self.name.is_none() {
            log::error!("AH01615: need AuthName: {uri}");
            return Err(Failure::Misconfigured);
        }
        let Some(line) = authorization else {
            return Err(Failure::Unauthorized);
        };
        let line = std::str::from_utf8(line).unwrap_or("");
        let (scheme, rest) = line.split_once(' ').unwrap_or((line, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            log::error!("AH01614: client used wrong authentication scheme: {uri}");
            return Err(Failure::Unauthorized);
        }
        let encoded = rest.trim_start_matches([' ', '\t']).trim_end();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_default();
        let decoded = String::from_utf8_lossy(&decoded);
        let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
        let Some(file) = &self.user_file else {
            log::error!("AH01619: AuthUserFile not specified in the configuration");
            return Err(Failure::Misconfigured);
        };
        match file.check(user, password) {
            Check::Granted => Ok(user.to_string()),
            Check::NoSuchUser => {
                log::error!("AH01618: user {user} not found: {uri}");
                Err(Failure::Unauthorized)
            }
            Check::Mismatch => {
                log::error!(
                    "AH01617: user {user}: authentication failure for \"{uri}\": Password Mismatch"
                );
                Err(Failure::Unauthorized)
            }
        }
    }

    /// The `WWW-Authenticate` value of a 401.
    pub fn challenge(&self) -> String {
        format!("Basic realm=\"{}\"", self.name.as_deref().unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth {
            basic: Some(true),
            name: Some("Staff only".into()),
            user_file: Some(Arc::new(UserFile::parse(
                "ann:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n",
            ))),
            group_file: None,
        }
    }

    fn basic(cred: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(cred)
        )
        .into_bytes()
    }

    #[test]
    fn credentials() {
        let a = auth();
        assert_eq!(
            a.authenticate(Some(&basic("ann:secret")), "/"),
            Ok("ann".into())
        );
        for bad in [
            basic("ann:wrong"),
            basic("bob:secret"),
            basic("ann"),
            b"Digest x".to_vec(),
            b"Basic !!!".to_vec(),
        ] {
            assert_eq!(a.authenticate(Some(&bad), "/"), Err(Failure::Unauthorized));
        }
        assert_eq!(a.authenticate(None, "/"), Err(Failure::Unauthorized));
        // The scheme is case-insensitive; the password may hold colons.
        let lower = b"basic YW5uOnNlY3JldA==".to_vec();
        assert_eq!(a.authenticate(Some(&lower), "/"), Ok("ann".into()));
        assert_eq!(a.challenge(), "Basic realm=\"Staff only\"");
    }

    #[test]
    fn misconfiguration_is_a_500() {
        let mut a = auth();
        a.name = None;
        assert_eq!(a.authenticate(None, "/"), Err(Failure::Misconfigured));
        let mut a = auth();
        a.user_file = None;
        assert_eq!(
            a.authenticate(Some(&basic("ann:secret")), "/"),
            Err(Failure::Misconfigured)
        );
    }

    #[test]
    fn auth_type_and_merging() {
        let mut a = Auth::default();
        assert!(a.set_type("Digest").unwrap_err().contains("Basic"));
        assert!(a.set_type("Kerberos").is_err());
        a.set_type("basic").unwrap();
        let child = Auth {
            name: Some("x".into()),
            ..Auth::default()
        };
        let mut merged = a.clone();
        merged.merge_from(&child);
        assert!(merged.is_basic());
        assert_eq!(merged.name.as_deref(), Some("x"));
    }
}
