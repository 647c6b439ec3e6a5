//! A request's environment variables (httpd's `r->subprocess_env`) and mod_env's `SetEnv`,
//! `UnsetEnv`, `PassEnv`.
//!
//! Variables are set by SetEnvIf (before access checks, so `Require env` sees them) and by
//! mod_env (in the fixups, after them), and read by `Require env`, `Allow from env=`,
//! `Header … env=`, and CGI scripts' environment.

/// A request's variables: names compared case-insensitively, as in an APR table. Kept by the
/// worker and cleared per request, so it allocates only while variables are being set.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    list: Vec<(String, String)>,
}

impl Vars {
    /// Forget every variable.
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a variable is set.
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Set a variable (replacing its value).
    pub fn set(&mut self, name: &str, value: &str) {
        match self
            .list
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => {
                v.clear();
                v.push_str(value);
            }
            None => self.list.push((name.to_string(), value.to_string())),
        }
    }

    /// Remove a variable.
    pub fn unset(&mut self, name: &str) {
        self.list.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// Every variable, in the order first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.list.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every variable as (name, value) pairs.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.list
    }

    /// Whether no variable is set.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// One mod_env line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Set(String, String),
    Unset(String),
}

/// A section's mod_env lines, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    ops: Vec<Op>,
}

impl Env {
    /// Whether the section has any.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// `SetEnv name [value]`.
    pub fn set_env(&mut self, args: &[&str]) -> Result<(), String> {
        match args {
            [name] => self.ops.push(Op::Set(name.to_string(), String::new())),
            [name, value] => self.ops.push(Op::Set(name.to_string(), value.to_string())),
            _ => {
                return Err("SetEnv takes 1-2 arguments, an environment variable name and optional value to pass to CGI.".into());
            }
        }
        Ok(())
    }

    /// `UnsetEnv name…`.
    pub fn unset_env(&mut self, args: &[&str]) -> Result<(), String> {
        if args.is_empty() {
            return Err("UnsetEnv requires at least 1 argument, a list of variables to remove from CGI environment.".into());
        }
        self.ops
            .extend(args.iter().map(|a| Op::Unset(a.to_string())));
        Ok(())
    }

    /// `PassEnv name…`: the server's own environment's values, read now (as httpd reads them
    /// while configuring). `warn` hears about variables that are not set.
    pub fn pass_env(&mut self, args: &[&str], warn: &mut dyn FnMut(String)) -> Result<(), String> {
        if args.is_empty() {
            return Err("PassEnv requires at least 1 argument, a list of environment variables to pass to CGI.".into());
        }
        for a in args {
            match std::env::var(a) {
                Ok(v) => self.ops.push(Op::Set(a.to_string(), v)),
                Err(_) => warn(format!("AH01506: PassEnv variable {a} was undefined")),
            }
        }
        Ok(())
    }

    /// Apply the sections' lines (in merge order) to `vars`: what the sections set, less what
    /// a later line unset, overlays the request's variables (httpd's `fixup_env_module`).
    pub fn apply<'a>(sections: impl Iterator<Item = &'a Env>, vars: &mut Vars) {
        let mut merged = Vars::default();
        for e in sections {
            for op in &e.ops {
                match op {
                    Op::Set(k, v) => merged.set(k, v),
                    Op::Unset(k) => merged.unset(k),
                }
            }
        }
        for (k, v) in merged.iter() {
            vars.set(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_are_a_case_insensitive_table() {
        let mut v = Vars::default();
        v.set("Foo", "1");
        v.set("FOO", "2");
        assert_eq!(v.get("foo"), Some("2"));
        assert_eq!(v.iter().count(), 1);
        v.unset("fOO");
        assert!(v.is_empty());
    }

    #[test]
    fn set_unset_and_merge_order() {
        let mut server = Env::default();
        server.set_env(&["A", "server"]).unwrap();
        server.set_env(&["B"]).unwrap();
        let mut dir = Env::default();
        dir.set_env(&["A", "dir"]).unwrap();
        dir.unset_env(&["B"]).unwrap();
        let mut vars = Vars::default();
        vars.set("FROM_SETENVIF", "x");
        Env::apply([&server, &dir].into_iter(), &mut vars);
        assert_eq!(vars.get("A"), Some("dir"));
        assert_eq!(vars.get("B"), None);
        assert_eq!(vars.get("FROM_SETENVIF"), Some("x"));
        let mut warned = Vec::new();
        let mut e = Env::default();
        e.pass_env(&["PATH", "EVENTMPM_SURELY_UNSET_VAR"], &mut |w| {
            warned.push(w)
        })
        .unwrap();
        assert_eq!(warned.len(), 1);
        assert!(e.set_env(&[]).is_err());
        assert!(e.unset_env(&[]).is_err());
    }
}
