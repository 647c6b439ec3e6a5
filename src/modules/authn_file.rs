//! mod_authn_file: `AuthUserFile`, an htpasswd file, and the password hashes httpd reads from
//! it (APR's `apr_password_validate` on a Unix system):
//!
//! - `$2y$` (and `$2a$`/`$2b$`) bcrypt, `$1$` MD5-crypt, `$5$`/`$6$` SHA-crypt and 13-character
//!   DES crypt, through the `pwhash` crate (glibc's `crypt(3)` reads the same set), which
//!   compares in constant time;
//! - `$apr1$`, APR's MD5-crypt variant, written here on the `md-5` crate: no maintained crate
//!   has it, and it is MD5-crypt with another prefix;
//! - `{SHA}`, base64 of SHA-1, on `sha1` and `base64`;
//! - plain text is refused, as httpd refuses it on Unix (it is taken as a crypt hash there,
//!   and never matches).
//!
//! The file is read when the configuration is (start-up and every restart), not per request
//! as httpd does: see the README's "Where eventmpm chose".

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// The users of one `AuthUserFile` and their password hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFile {
    users: HashMap<String, String>,
}

/// What looking a user up gave (httpd's `authn_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `AUTH_GRANTED`.
    Granted,
    /// `AUTH_DENIED`: the password does not match.
    Mismatch,
    /// `AUTH_USER_NOT_FOUND`.
    NoSuchUser,
}

impl UserFile {
    /// Read an htpasswd file.
    pub fn read(path: &Path) -> Result<UserFile, String> {
        super::list_file::read(path, "password").map(|text| UserFile::parse(&text))
    }

    /// Parse htpasswd text: `user:hash` lines, `#` comments and empty lines skipped, the
    /// first line for a user wins and anything after a second `:` is ignored, as
    /// mod_authn_file reads it.
    pub fn parse(text: &str) -> UserFile {
        let mut users = HashMap::new();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, rest) = line.split_once(':').unwrap_or((line, ""));
            let hash = rest.split(':').next().unwrap_or("");
            users
                .entry(user.to_string())
                .or_insert_with(|| hash.to_string());
        }
        UserFile { users }
    }

    /// Check `user`'s `password`.
    pub fn check(&self, user: &str, password: &str) -> Check {
        match self.users.get(user) {
            None => Check::NoSuchUser,
            Some(hash) if validate(password, hash) => Check::Granted,
            Some(_) => Check::Mismatch,
        }
    }
}

/// `apr_password_validate` on Unix: whether `password` matches `hash`.
pub fn validate(password: &str, hash: &str) -> bool {
    if let Some(rest) = hash.strip_prefix("$apr1$") {
        let salt = rest.split('$').next().unwrap_or("");
        let made = md5_crypt(password.as_bytes(), salt.as_bytes(), b"$apr1$");
        return made.as_bytes().ct_eq(hash.as_bytes()).into();
    }
    if let Some(b64) = hash.strip_prefix("{SHA}") {
        let digest = sha1::Sha1::digest(password.as_bytes());
        let made = base64::engine::general_purpose::STANDARD.encode(digest);
        return made.as_bytes().ct_eq(b64.as_bytes()).into();
    }
    // crypt(3)'s formats. An empty or short "hash" (a plain-text password on a system where
    // httpd does not compare plain text) never matches.
    if hash.len() < 13 {
        return false;
    }
    pwhash::unix::verify(password, hash)
}

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// MD5-crypt (Poul-Henning Kamp's algorithm) with `magic` as its prefix: `$apr1$` for APR's.
fn md5_crypt(pw: &[u8], salt: &[u8], magic: &[u8]) -> String {
    let salt = &salt[..salt.len().min(8)];
    let mut ctx = Md5::new();
    ctx.update(pw);
    ctx.update(magic);
    ctx.update(salt);
    let alt = Md5::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize();
    let mut left = pw.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = pw.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&pw[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for i in 0..1000 {
        let mut c = Md5::new();
        if i & 1 == 1 {
            c.update(pw);
        } else {
            c.update(fin);
        }
        if i % 3 != 0 {
            c.update(salt);
        }
        if i % 7 != 0 {
            c.update(pw);
        }
        if i & 1 == 1 {
            c.update(fin);
        } else {
            c.update(pw);
        }
        fin = c.finalize();
    }
    let mut out = Vec::with_capacity(magic.len() + salt.len() + 23);
    out.extend_from_slice(magic);
    out.extend_from_slice(salt);
    out.push(b'$');
    let mut to64 = |mut v: u32, n: usize| {
        for _ in 0..n {
            out.push(ITOA64[(v & 0x3f) as usize]);
            v >>= 6;
        }
    };
    let f = |i: usize| u32::from(fin[i]);
    to64((f(0) << 16) | (f(6) << 8) | f(12), 4);
    to64((f(1) << 16) | (f(7) << 8) | f(13), 4);
    to64((f(2) << 16) | (f(8) << 8) | f(14), 4);
    to64((f(3) << 16) | (f(9) << 8) | f(15), 4);
    to64((f(4) << 16) | (f(10) << 8) | f(5), 4);
    to64(f(11), 2);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines made by `htpasswd -nb{B,m,s,d,p} user secret` (apache2-utils 2.4), and the
    /// system's `mkpasswd` for SHA-crypt: password "secret" throughout.
    /// Lines made by `htpasswd -nb{B,m,s,d} user secret` (apache2-utils 2.4), and by the
    /// system's `crypt(3)` for MD5- and SHA-crypt: password "secret" throughout.
    const MADE_BY_HTPASSWD: &[(&str, &str)] = &[
        (
            "bcrypt",
            "$2y$05$oMYdOSbP8oTSpvoeIbvIieADY3Gf0h0uIbc41FmpnZw2C8a6k41xq",
        ),
        ("apr1", "$apr1$3urr.Ner$rxspU2JazgXUw0nRsnWHT/"),
        ("sha", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="),
        ("des", "he9Zev3nswNG."),
        (
            "sha512",
            "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.",
        ),
        (
            "sha256",
            "$5$abcdefgh$gruCpC7VkOTspMQTTSAR8mtlO9Upms.fwqE5y16JVM.",
        ),
        ("md5", "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1"),
    ];

    #[test]
    fn every_format_verifies_the_right_password_only() {
        for (what, hash) in MADE_BY_HTPASSWD {
            assert!(validate("secret", hash), "{what}: right password refused");
            assert!(!validate("Secret", hash), "{what}: wrong password accepted");
            assert!(!validate("", hash), "{what}: empty password accepted");
        }
    }

    #[test]
    fn plain_text_and_garbage_never_match() {
        assert!(!validate("secret", "secret"));
        assert!(!validate("", ""));
        assert!(!validate("secret", "$apr1$"));
        assert!(!validate("secret", "{SHA}"));
        assert!(!validate("secret", "$9$unknown$format.................."));
    }

    #[test]
    fn only_regular_files_are_read() {
        let e = UserFile::read(Path::new("/dev/zero")).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let e = UserFile::read(Path::new("/nonexistent/htpasswd")).unwrap_err();
        assert!(e.starts_with("Could not open password file"), "{e}");
    }

    #[test]
    fn file_format() {
        let f = UserFile::parse(
            "# comment\n\nann:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=:extra\r\nann:he9Zev3nswNG.\nbob\n",
        );
        assert_eq!(f.check("ann", "secret"), Check::Granted);
        assert_eq!(f.check("ann", "other"), Check::Mismatch);
        assert_eq!(f.check("cy", "secret"), Check::NoSuchUser);
        assert_eq!(f.check("bob", ""), Check::Mismatch);
    }
}
