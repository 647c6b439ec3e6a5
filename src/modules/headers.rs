//! mod_headers' `Header`: `set`, `append`, `add`, `unset`, `merge`, `setifempty`, `echo`,
//! `edit`, `edit*`, with `always`/`onsuccess` and `env=[!]var`. Values may hold `%%`,
//! `%{VAR}e`, `%t` and `%D`; and `RequestHeader` with the same actions but `echo`, whose
//! edits CGI scripts see. `note`, `early` and `expr=` are refused.
//!
//! As in httpd, `onsuccess` lines (the default) edit the fields of a successful response
//! (2xx, 304), which error pages and redirects do not carry; `always` lines edit a second
//! table sent with every response.

use regex::Regex;

use eventmpm_core::http1::Header;

use super::env::Vars;

/// The action.
#[derive(Debug, Clone)]
enum Action {
    Set(Value),
    Append(Value),
    Add(Value),
    Merge(Value),
    SetIfEmpty(Value),
    Unset,
    Echo(Regex),
    Edit { re: Regex, to: String, all: bool },
}

/// A value with its `%` specifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Value(Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Env(String),
    /// `%t`: `t=` and the request's start in microseconds since the epoch.
    Time,
    /// `%D`: `D=` and the microseconds taken so far.
    Duration,
}

/// When a line applies.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    Always,
    Env(String),
    NotEnv(String),
}

/// One `Header` line.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `always` (else `onsuccess`).
    pub always: bool,
    name: String,
    action: Action,
    condition: Condition,
}

/// What values of a line may refer to.
#[derive(Debug)]
pub struct Context<'a> {
    /// The request's variables.
    pub vars: &'a Vars,
    /// When the request started, in microseconds since the epoch.
    pub started_us: u64,
    /// Now, in microseconds since the epoch.
    pub now_us: u64,
    /// The request's header fields (for `echo`).
    pub request: &'a [Header<'a>],
}

impl Value {
    fn parse(s: &str) -> Result<Value, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                text.push(c);
                continue;
            }
            let part = match chars.next() {
                Some('%') => {
                    text.push('%');
                    continue;
                }
                Some('t') => Part::Time,
                Some('D') => Part::Duration,
                Some('{') => {
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    match chars.next() {
                        Some('e') => Part::Env(name),
                        Some(other) => {
                            return Err(format!(
                                "Unrecognized header format %{other} (eventmpm supports %%, %t, %D and %{{VAR}}e)"
                            ));
                        }
                        None => return Err("Unrecognized header format %{".into()),
                    }
                }
                Some(other) => {
                    return Err(format!(
                        "Unrecognized header format %{other} (eventmpm supports %%, %t, %D and %{{VAR}}e)"
                    ));
                }
                None => return Err("Unrecognized header format %".into()),
            };
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(part);
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Value(parts))
    }

    fn render(&self, cx: &Context<'_>) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Env(v) => out.push_str(cx.vars.get(v).unwrap_or("")),
                Part::Time => out.push_str(&format!("t={}", cx.started_us)),
                Part::Duration => {
                    out.push_str(&format!("D={}", cx.now_us.saturating_sub(cx.started_us)))
                }
            }
        }
        out
    }
}

impl Rule {
    /// Parse a `Header` line's arguments.
    pub fn parse(args: &[&str]) -> Result<Rule, String> {
        let usage = "Header requires three arguments";
        let (always, rest) = match args.first().map(|a| a.to_ascii_lowercase()) {
            Some(a) if a == "always" => (true, &args[1..]),
            Some(a) if a == "onsuccess" => (false, &args[1..]),
            _ => (false, args),
        };
        let Some((action, rest)) = rest.split_first() else {
            return Err(usage.into());
        };
        let laction = action.to_ascii_lowercase();
        let Some((name, rest)) = rest.split_first() else {
            return Err(format!("{usage}: header name missing"));
        };
        // Arguments of the action, then the optional condition.
        let takes = match laction.as_str() {
            "unset" | "echo" => 0,
            "edit" | "edit*" => 2,
            _ => 1,
        };
        if rest.len() < takes {
            return Err(format!("header {laction} requires a value"));
        }
        let (vals, cond) = rest.split_at(takes);
        let condition = match cond {
            [] => Condition::Always,
            [c] => {
                let lc = c.to_ascii_lowercase();
                if let Some(v) = lc.strip_prefix("env=!") {
                    Condition::NotEnv(c[c.len() - v.len()..].to_string())
                } else if let Some(v) = lc.strip_prefix("env=") {
                    Condition::Env(c[c.len() - v.len()..].to_string())
                } else if lc == "early" || lc.starts_with("expr=") {
                    return Err(format!(
                        "Header ... {c}: 'early' and 'expr=' are not supported by eventmpm"
                    ));
                } else {
                    return Err(format!("Header: unknown condition {c} (use env=[!]VAR)"));
                }
            }
            _ => return Err("Header: too many arguments".into()),
        };
        let action = match laction.as_str() {
            "set" => Action::Set(Value::parse(vals[0])?),
            "append" => Action::Append(Value::parse(vals[0])?),
            "add" => Action::Add(Value::parse(vals[0])?),
            "merge" => Action::Merge(Value::parse(vals[0])?),
            "setifempty" => Action::SetIfEmpty(Value::parse(vals[0])?),
            "unset" => Action::Unset,
            "echo" => Action::Echo(
                Regex::new(name)
                    .map_err(|e| format!("Header echo regex could not be compiled: {e}"))?,
            ),
            "edit" | "edit*" => Action::Edit {
                re: Regex::new(vals[0])
                    .map_err(|e| format!("Header edit regex could not be compiled: {e}"))?,
                to: vals[1].to_string(),
                all: laction == "edit*",
            },
            "note" => return Err("Header note is not supported by eventmpm".into()),
            _ => {
                return Err(
                    "first argument must be 'add', 'set', 'append', 'merge', 'unset', 'echo', 'setifempty', 'note', 'edit', or 'edit*'."
                        .into(),
                );
            }
        };
        Ok(Rule {
            always,
            name: name.to_string(),
            action,
            condition,
        })
    }

    /// Parse a `RequestHeader` line's arguments: the same actions but `echo`, no
    /// `always`/`onsuccess`.
    pub fn parse_request(args: &[&str]) -> Result<Rule, String> {
        if let Some(first) = args.first() {
            let f = first.to_ascii_lowercase();
            if f == "always" || f == "onsuccess" {
                return Err(
                    "first argument must be 'add', 'set', 'append', 'merge', 'unset', 'setifempty', 'edit', or 'edit*'."
                        .into(),
                );
            }
        }
        let rule = Rule::parse(args)?;
        if matches!(rule.action, Action::Echo(_)) {
            return Err("echo not valid for RequestHeader".into());
        }
        Ok(rule)
    }

    /// Apply the line to `table` (response fields, names as written).
    pub fn apply(&self, table: &mut Vec<(String, Vec<u8>)>, cx: &Context<'_>) {
        let go = match &self.condition {
            Condition::Always => true,
            Condition::Env(v) => cx.vars.is_set(v),
            Condition::NotEnv(v) => !cx.vars.is_set(v),
        };
        if !go {
            return;
        }
        let name = self.name.as_str();
        let same = |n: &String| n.eq_ignore_ascii_case(name);
        match &self.action {
            Action::Set(v) => {
                table.retain(|(n, _)| !same(n));
                table.push((name.to_string(), v.render(cx).into_bytes()));
            }
            Action::Add(v) => table.push((name.to_string(), v.render(cx).into_bytes())),
            Action::Append(v) => {
                let value = v.render(cx);
                match table.iter_mut().find(|(n, _)| same(n)) {
                    Some((_, old)) => {
                        old.extend_from_slice(b", ");
                        old.extend_from_slice(value.as_bytes());
                    }
                    None => table.push((name.to_string(), value.into_bytes())),
                }
            }
            Action::Merge(v) => {
                let value = v.render(cx);
                match table.iter_mut().find(|(n, _)| same(n)) {
                    Some((_, old)) => {
                        let text = String::from_utf8_lossy(old).into_owned();
                        if !text.split(',').any(|t| t.trim() == value) {
                            old.extend_from_slice(b", ");
                            old.extend_from_slice(value.as_bytes());
                        }
                    }
                    None => table.push((name.to_string(), value.into_bytes())),
                }
            }
            Action::SetIfEmpty(v) => {
                if !table.iter().any(|(n, _)| same(n)) {
                    table.push((name.to_string(), v.render(cx).into_bytes()));
                }
            }
            Action::Unset => table.retain(|(n, _)| !same(n)),
            Action::Echo(re) => {
                for h in cx.request {
                    if re.is_match(h.name) {
                        table.push((h.name.to_string(), h.value.to_vec()));
                    }
                }
            }
            Action::Edit { re, to, all } => {
                for (_, v) in table.iter_mut().filter(|(n, _)| same(n)) {
                    let text = String::from_utf8_lossy(v).into_owned();
                    let new = if *all {
                        re.replace_all(&text, to.as_str())
                    } else {
                        re.replace(&text, to.as_str())
                    };
                    *v = new.into_owned().into_bytes();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(line: &str) -> Rule {
        Rule::parse(&line.split_whitespace().collect::<Vec<_>>()).unwrap()
    }

    fn table(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn actions() {
        let mut vars = Vars::default();
        vars.set("flag", "on");
        let request = &[
            Header {
                name: "X-Trace",
                value: b"abc",
            },
            Header {
                name: "Accept",
                value: b"*/*",
            },
        ];
        let cx = Context {
            vars: &vars,
            started_us: 1_000_000,
            now_us: 1_000_250,
            request,
        };
        for (line, before, after) in [
            (
                "set X-A 1",
                vec![("x-a", "0"), ("X-A", "9")],
                vec![("X-A", "1")],
            ),
            (
                "append Cache-Control no-store",
                vec![("Cache-Control", "private")],
                vec![("Cache-Control", "private, no-store")],
            ),
            ("append X-New v", vec![], vec![("X-New", "v")]),
            (
                "add X-A 2",
                vec![("X-A", "1")],
                vec![("X-A", "1"), ("X-A", "2")],
            ),
            (
                "merge Vary Accept",
                vec![("Vary", "Accept, Cookie")],
                vec![("Vary", "Accept, Cookie")],
            ),
            (
                "merge Vary Origin",
                vec![("Vary", "Accept")],
                vec![("Vary", "Accept, Origin")],
            ),
            ("setifempty X-A 5", vec![("X-A", "1")], vec![("X-A", "1")]),
            ("setifempty X-B 5", vec![], vec![("X-B", "5")]),
            (
                "unset ETag",
                vec![("ETag", "\"x\""), ("A", "b")],
                vec![("A", "b")],
            ),
            ("echo ^X-", vec![], vec![("X-Trace", "abc")]),
            (
                "edit Location ^http: https:",
                vec![("Location", "http://a/http:")],
                vec![("Location", "https://a/http:")],
            ),
            ("edit* X-A a b", vec![("X-A", "aXa")], vec![("X-A", "bXb")]),
            (
                "set X-E %{flag}e-%{nope}e-100%%",
                vec![],
                vec![("X-E", "on--100%")],
            ),
            ("set X-T %D", vec![], vec![("X-T", "D=250")]),
            ("set X-C yes env=flag", vec![], vec![("X-C", "yes")]),
            ("set X-C yes env=!flag", vec![], vec![]),
        ] {
            let mut t = table(&before);
            rule(line).apply(&mut t, &cx);
            assert_eq!(t, table(&after), "{line}");
        }
        assert!(rule("always set X 1").always);
        assert!(!rule("onsuccess set X 1").always);
    }

    #[test]
    fn request_header_lines() {
        assert!(Rule::parse_request(&["set", "X-Forwarded-Proto", "https"]).is_ok());
        assert!(Rule::parse_request(&["unset", "X-Drop"]).is_ok());
        assert!(Rule::parse_request(&["always", "set", "X", "1"]).is_err());
        assert!(
            Rule::parse_request(&["echo", "X"])
                .unwrap_err()
                .contains("echo not valid")
        );
    }

    #[test]
    fn refusals() {
        for (line, msg) in [
            ("set X", "requires a value"),
            ("frob X 1", "first argument must be"),
            ("note X y", "not supported"),
            ("set X 1 early", "not supported"),
            ("set X 1 expr=true", "not supported"),
            ("set X %{H}i", "Unrecognized header format"),
            ("set X 1 bogus", "unknown condition"),
        ] {
            let e = Rule::parse(&line.split_whitespace().collect::<Vec<_>>()).unwrap_err();
            assert!(e.contains(msg), "{line}: {e}");
        }
    }
}
