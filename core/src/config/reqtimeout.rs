//! `RequestReadTimeout`, mod_reqtimeout's guard against slow clients:
//! `RequestReadTimeout [handshake=…] [header=…] [body=…]` where each value is
//! `timeout[-maxtimeout][,MinRate=rate]`.
//!
//! A stage first gets `timeout` seconds; with a rate, every `rate` bytes received extend the
//! deadline by one second, up to `maxtimeout`. A timeout of 0 disables the stage. Each
//! `stage=value` replaces that stage's settings entirely, as in mod_reqtimeout.

use super::error::{DirectiveError, ReadTimeoutProblem};
use super::number::strtol;
use crate::time::Duration;

/// The limits of one stage of reading a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReadTimeoutStage {
    /// Seconds allowed at first; 0 disables the stage.
    pub timeout_s: u32,
    /// Seconds the deadline may be extended to; 0 for no extension.
    pub max_timeout_s: u32,
    /// Bytes per second that extend the deadline by a second; 0 for none.
    pub min_rate: u32,
}

impl ReadTimeoutStage {
    /// A stage with no limit.
    pub const DISABLED: ReadTimeoutStage = ReadTimeoutStage {
        timeout_s: 0,
        max_timeout_s: 0,
        min_rate: 0,
    };

    /// Whether the stage is limited at all.
    pub const fn is_enabled(&self) -> bool {
        self.timeout_s > 0
    }

    /// The first deadline, or `None` when disabled.
    pub const fn timeout(&self) -> Option<Duration> {
        if self.timeout_s > 0 {
            Some(Duration::from_secs(self.timeout_s as u64))
        } else {
            None
        }
    }

    /// How far the deadline may be extended, or `None` when it may not.
    pub const fn max_timeout(&self) -> Option<Duration> {
        if self.max_timeout_s > 0 {
            Some(Duration::from_secs(self.max_timeout_s as u64))
        } else {
            None
        }
    }
}

/// mod_reqtimeout's three stages.
#[doc(alias = "mod_reqtimeout")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestReadTimeout {
    /// The TLS handshake (disabled by default).
    pub handshake: ReadTimeoutStage,
    /// The request line and header fields.
    pub header: ReadTimeoutStage,
    /// The request body.
    pub body: ReadTimeoutStage,
}

impl RequestReadTimeout {
    /// mod_reqtimeout's defaults: `header=20-40,MinRate=500 body=20,MinRate=500`.
    pub const DEFAULT: RequestReadTimeout = RequestReadTimeout {
        handshake: ReadTimeoutStage::DISABLED,
        header: ReadTimeoutStage {
            timeout_s: 20,
            max_timeout_s: 40,
            min_rate: 500,
        },
        body: ReadTimeoutStage {
            timeout_s: 20,
            max_timeout_s: 0,
            min_rate: 500,
        },
    };

    /// Applies one `RequestReadTimeout` directive (its words, already split); on error nothing
    /// changes.
    pub(crate) fn apply<'a>(&mut self, args: &[&'a str]) -> Result<(), DirectiveError<'a>> {
        let mut next = *self;
        next.apply_words(args)?;
        *self = next;
        Ok(())
    }

    fn apply_words<'a>(&mut self, args: &[&'a str]) -> Result<(), DirectiveError<'a>> {
        for &word in args {
            let Some((key, value)) = word.split_once('=') else {
                return Err(DirectiveError::Fixed(
                    "Invalid RequestReadTimeout parameter. Parameter must be in the form \
                     'key=value'",
                ));
            };
            let failed = |problem| DirectiveError::RequestReadTimeout {
                key,
                value,
                problem,
            };
            let stage = if key.eq_ignore_ascii_case("handshake") {
                &mut self.handshake
            } else if key.eq_ignore_ascii_case("header") {
                &mut self.header
            } else if key.eq_ignore_ascii_case("body") {
                &mut self.body
            } else {
                return Err(failed(ReadTimeoutProblem::UnknownParameter));
            };
            *stage = parse_stage(value).map_err(failed)?;
        }
        Ok(())
    }
}

/// mod_reqtimeout's `set_reqtimeout_param` for one value, checks in its order.
fn parse_stage(value: &str) -> Result<ReadTimeoutStage, ReadTimeoutProblem<'_>> {
    let mut stage = ReadTimeoutStage::DISABLED;
    let initial = match find_min_rate(value) {
        Some(at) => {
            let (initial, rate) = (&value[..at], &value[at + MIN_RATE.len()..]);
            stage.min_rate = number(rate)?;
            if stage.min_rate == 0 {
                return Err(ReadTimeoutProblem::ZeroRate);
            }
            match initial.split_once('-') {
                Some((initial, max)) => {
                    stage.max_timeout_s = number(max)?;
                    initial
                }
                None => initial,
            }
        }
        None if value.contains('-') => return Err(ReadTimeoutProblem::RangeWithoutRate),
        None => value,
    };
    stage.timeout_s = number(initial)?;
    if stage.max_timeout_s != 0 && stage.timeout_s >= stage.max_timeout_s {
        return Err(ReadTimeoutProblem::MaxNotLarger);
    }
    Ok(stage)
}

const MIN_RATE: &str = ",minrate=";

/// Where `,minrate=` starts, ignoring ASCII case (mod_reqtimeout's `ap_strcasestr`).
fn find_min_rate(value: &str) -> Option<usize> {
    value
        .as_bytes()
        .windows(MIN_RATE.len())
        .position(|w| w.eq_ignore_ascii_case(MIN_RATE.as_bytes()))
}

/// mod_reqtimeout's `parse_int`: `strtol`, all of it, not negative.
fn number(s: &str) -> Result<u32, ReadTimeoutProblem<'_>> {
    let n = strtol(s);
    if !n.digits {
        return Err(ReadTimeoutProblem::NotNumerical(n.rest));
    }
    if !n.rest.is_empty() {
        return Err(ReadTimeoutProblem::CannotParse(n.rest));
    }
    if n.value < 0 {
        return Err(ReadTimeoutProblem::Negative);
    }
    // httpd stores an int; larger values saturate here instead of wrapping.
    Ok(n.value.min(i64::from(i32::MAX)) as u32)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::{String, ToString};

    fn apply(args: &[&str]) -> Result<RequestReadTimeout, String> {
        let mut r = RequestReadTimeout::DEFAULT;
        r.apply(args).map(|()| r).map_err(|e| e.to_string())
    }

    fn stage(timeout_s: u32, max_timeout_s: u32, min_rate: u32) -> ReadTimeoutStage {
        ReadTimeoutStage {
            timeout_s,
            max_timeout_s,
            min_rate,
        }
    }

    #[test]
    fn default_is_mod_reqtimeouts() {
        let d = RequestReadTimeout::DEFAULT;
        assert_eq!(d.header, stage(20, 40, 500));
        assert_eq!(d.body, stage(20, 0, 500));
        assert!(!d.handshake.is_enabled());
        assert_eq!(d.header.timeout(), Some(Duration::from_secs(20)));
        assert_eq!(d.header.max_timeout(), Some(Duration::from_secs(40)));
        assert_eq!(d.body.max_timeout(), None);
        // Writing the default out reproduces it.
        let r = apply(&["header=20-40,MinRate=500", "body=20,MinRate=500"]).unwrap();
        assert_eq!(r, d);
    }

    #[test]
    fn stages_replace_and_disable() {
        let r = apply(&["HEADER=10", "body=0", "handshake=5-10,minrate=100"]).unwrap();
        assert_eq!(r.header, stage(10, 0, 0));
        assert!(!r.body.is_enabled());
        assert_eq!(r.body.timeout(), None);
        assert_eq!(r.handshake, stage(5, 10, 100));
        // Debian's reqtimeout.conf.
        let r = apply(&["header=20-40,minrate=500"]).unwrap();
        let r2 = {
            let mut r2 = r;
            r2.apply(&["body=10,minrate=500"]).unwrap();
            r2
        };
        assert_eq!(
            (r2.header, r2.body),
            (stage(20, 40, 500), stage(10, 0, 500))
        );
        assert_eq!(apply(&[]).unwrap(), RequestReadTimeout::DEFAULT);
    }

    #[test]
    fn errors_use_mod_reqtimeout_texts() {
        let cases = [
            (
                "header",
                "Invalid RequestReadTimeout parameter. Parameter must be in the form 'key=value'",
            ),
            (
                "foo=5",
                "RequestReadTimeout: foo=5: Unknown RequestReadTimeout parameter",
            ),
            (
                "header=abc",
                "RequestReadTimeout: header=abc: Value 'abc' not numerical",
            ),
            (
                "header=",
                "RequestReadTimeout: header=: Value '' not numerical",
            ),
            (
                "header=5x",
                "RequestReadTimeout: header=5x: Cannot parse 'x'",
            ),
            (
                "body=20-40",
                "RequestReadTimeout: body=20-40: Must set MinRate option if using timeout range",
            ),
            (
                "header=20,minrate=0",
                "RequestReadTimeout: header=20,minrate=0: Minimum data rate must be larger than 0",
            ),
            (
                "header=20,minrate=-5",
                "RequestReadTimeout: header=20,minrate=-5: Value must be non-negative",
            ),
            (
                "header=40-20,minrate=5",
                "RequestReadTimeout: header=40-20,minrate=5: Maximum timeout must be larger than \
                 initial timeout",
            ),
            (
                "header=-5,minrate=5",
                "RequestReadTimeout: header=-5,minrate=5: Value '' not numerical",
            ),
        ];
        for (arg, text) in cases {
            assert_eq!(apply(&[arg]).unwrap_err(), text, "{arg}");
        }
    }

    #[test]
    fn a_failed_directive_changes_nothing() {
        let mut r = RequestReadTimeout::DEFAULT;
        assert!(r.apply(&["header=5", "body=x"]).is_err());
        assert_eq!(r, RequestReadTimeout::DEFAULT);
    }
}
