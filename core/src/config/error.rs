//! Errors that stop the configuration from loading, with httpd's wording.
//!
//! Each `Display` is the message alone; the runtime prints `file:line: message` as httpd does
//! (`AH00526: Syntax error on line N of FILE:` followed by the message). Where httpd has no
//! message (a limit httpd does not have), the text says plainly which limit was hit.

use core::fmt;

use super::tokenizer::{MAX_ARGS, MAX_SECTION_DEPTH, MAX_SECTION_NAME_LEN};

/// A section name kept for an error message (truncated at [`MAX_SECTION_NAME_LEN`] bytes).
pub type SectionName = heapless::String<MAX_SECTION_NAME_LEN, u8>;

/// A line of the configuration that cannot be read or does not nest properly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfError {
    /// The physical line (1-based) the problem belongs to: the first line of the logical line, or
    /// the line of the opening tag for a section that was never closed.
    pub line: u32,
    /// What is wrong.
    pub kind: ConfErrorKind,
}

/// What is wrong with a configuration line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfErrorKind {
    /// A logical line holds more than [`MAX_LINE_LEN`](super::tokenizer::MAX_LINE_LEN) − 2 bytes
    /// (httpd's `MAX_STRING_LEN` buffer less the newline and the terminating NUL).
    LineTooLong,
    /// More than [`MAX_ARGS`] arguments on one line (httpd's `AP_MAX_ARGC`).
    TooManyArguments,
    /// Sections nested more than [`MAX_SECTION_DEPTH`] deep.
    NestedTooDeep,
    /// A section name longer than [`MAX_SECTION_NAME_LEN`] bytes.
    SectionNameTooLong,
    /// `<X ...` or `</X` without the closing `>`.
    MissingBracket {
        /// The section name.
        name: SectionName,
        /// Whether the tag was a closing one (`</X`).
        closing: bool,
    },
    /// `</X>` with no section open.
    CloseWithoutOpen {
        /// The section name as written.
        name: SectionName,
        /// Whether the tag ended with `>`; httpd quotes the tag as written.
        bracket: bool,
    },
    /// `</Y>` while `<X>` is the innermost open section.
    MismatchedClose {
        /// The innermost open section.
        expected: SectionName,
        /// The closing tag's name as written.
        saw: SectionName,
    },
    /// The file ended inside `<X>` (reported by [`Tokenizer::finish`](super::Tokenizer::finish)).
    NotClosed {
        /// The innermost section left open.
        name: SectionName,
    },
    /// The file ended while skipping `<X>` (reported by
    /// [`Tokenizer::skip_section`](super::Tokenizer::skip_section)).
    EndInsideSkipped {
        /// The section being skipped.
        name: SectionName,
    },
    /// `<X>` without the argument the section needs. The tokenizer never returns this (it cannot
    /// know which sections take arguments); the runtime uses it for `<IfModule>` and friends.
    MissingSectionArgument {
        /// The section name.
        name: SectionName,
    },
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl fmt::Display for ConfErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // httpd: "Error reading %s at line %d: Line too long" (ap_pcfg_strerror).
            ConfErrorKind::LineTooLong => f.write_str("Line too long"),
            ConfErrorKind::TooManyArguments => {
                write!(f, "Too many arguments on one line (at most {MAX_ARGS})")
            }
            ConfErrorKind::NestedTooDeep => {
                write!(
                    f,
                    "Sections nested too deeply (at most {MAX_SECTION_DEPTH})"
                )
            }
            ConfErrorKind::SectionNameTooLong => {
                write!(f, "Section name longer than {MAX_SECTION_NAME_LEN} bytes")
            }
            ConfErrorKind::MissingBracket { name, closing } => {
                let slash = if *closing { "/" } else { "" };
                write!(f, "<{slash}{name}> directive missing closing '>'")
            }
            ConfErrorKind::CloseWithoutOpen { name, bracket } => {
                let gt = if *bracket { ">" } else { "" };
                write!(f, "</{name}{gt} without matching <{name}{gt} section")
            }
            ConfErrorKind::MismatchedClose { expected, saw } => {
                write!(f, "Expected </{expected}> but saw </{saw}>")
            }
            ConfErrorKind::NotClosed { name } => write!(f, "<{name}> was not closed."),
            ConfErrorKind::EndInsideSkipped { name } => {
                write!(f, "Expected </{name}> before end of configuration")
            }
            ConfErrorKind::MissingSectionArgument { name } => {
                write!(f, "<{name}> directive requires additional arguments")
            }
        }
    }
}

/// `name` cut to fit a [`SectionName`], at a character boundary.
pub(crate) fn section_name(name: &str) -> SectionName {
    let mut out = SectionName::new();
    for c in name.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}

/// How many arguments a directive takes, for httpd's "`Name` takes one argument, …" message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// `TAKE1`.
    One,
}

/// A directive that cannot be applied, with httpd's message. Borrowed parts point into the line
/// being applied, so print the error before reading the next line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectiveError<'a> {
    /// Wrong number of arguments: "`<Name>` takes one argument, `<description>`".
    Arity {
        /// The directive's canonical name.
        directive: &'static str,
        /// What it takes.
        arity: Arity,
        /// httpd's description from its command table.
        description: &'static str,
    },
    /// A server-config directive inside `<Directory>`, `<Location>` or `<Files>`.
    NotAllowedHere {
        /// The directive's canonical name.
        directive: &'static str,
    },
    /// A global directive inside `<VirtualHost>`.
    NotInVirtualHost {
        /// The directive's canonical name.
        directive: &'static str,
    },
    /// A directive no loaded module defines (here: `AsyncRequestWorkerFactor` under the worker
    /// MPM).
    InvalidCommand {
        /// The name as written.
        name: &'a str,
    },
    /// A flag that is neither `On` nor `Off`.
    MustBeOnOrOff {
        /// The directive's canonical name.
        directive: &'static str,
    },
    /// A fixed message of httpd's.
    Fixed(&'static str),
    /// httpd's `<Name> "<arg>" must be a non-negative integer` (also used, with the same wording,
    /// for negative values httpd accepts without meaning: timeouts and counts).
    Negative {
        /// The directive's canonical name.
        directive: &'static str,
        /// The argument as written.
        arg: &'a str,
        /// Whether to add httpd's " (0 = no limit)" (LimitRequestFields).
        zero_means_no_limit: bool,
    },
    /// httpd's `<prefix><arg>` messages, such as "Invalid MaxMemFree value: x".
    WithArgument {
        /// The text before the argument.
        prefix: &'static str,
        /// The argument as written.
        arg: &'a str,
    },
    /// "Mutex requires at least a mechanism argument (Mutex mechanisms are: …)".
    MissingMutexMechanism,
    /// "Invalid Mutex argument x (Mutex mechanisms are: …)".
    InvalidMutexMechanism {
        /// The argument as written.
        arg: &'a str,
    },
    /// "Invalid Mutex directory in argument x". Checking that the directory exists is the
    /// runtime's job; it reports a missing one with this variant.
    InvalidMutexDirectory {
        /// The argument as written.
        arg: &'a str,
    },
    /// "Mutex type x is not valid".
    InvalidMutexType {
        /// The mutex name as written.
        name: &'a str,
    },
    /// "None is not allowed for mutex type x".
    MutexNoneNotAllowed {
        /// The mutex name as written.
        name: &'a str,
    },
    /// mod_reqtimeout's "RequestReadTimeout: key=value: problem".
    RequestReadTimeout {
        /// The stage name as written.
        key: &'a str,
        /// The value as written.
        value: &'a str,
        /// What is wrong with it.
        problem: ReadTimeoutProblem<'a>,
    },
    /// `Listen` with a host name: httpd resolves it with the system resolver, the core cannot.
    ListenHostName {
        /// The host as written.
        host: &'a str,
    },
    /// An argument longer than the field that stores it.
    TooLong {
        /// The directive's canonical name.
        directive: &'static str,
        /// The field's capacity in bytes.
        limit: usize,
    },
    /// More `Listen` directives than [`MAX_LISTENERS`](super::MAX_LISTENERS).
    TooManyListeners,
}

/// What mod_reqtimeout found wrong with one `stage=value` of `RequestReadTimeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadTimeoutProblem<'a> {
    /// The key is not `handshake`, `header` or `body`.
    UnknownParameter,
    /// "Value 'x' not numerical".
    NotNumerical(&'a str),
    /// "Cannot parse 'x'" (what followed the number).
    CannotParse(&'a str),
    /// "Value must be non-negative".
    Negative,
    /// "Minimum data rate must be larger than 0".
    ZeroRate,
    /// "Must set MinRate option if using timeout range".
    RangeWithoutRate,
    /// "Maximum timeout must be larger than initial timeout".
    MaxNotLarger,
}

/// httpd's list of mutex mechanisms (`AP_ALL_AVAILABLE_MUTEXES_STRING` on Linux and the BSDs).
pub(crate) const MUTEX_MECHANISMS: &str = "Mutex mechanisms are: 'none', 'default', \
'flock:/path/to/file', 'fcntl:/path/to/file', 'file:/path/to/file', 'pthread', 'sysvsem', \
'posixsem', 'sem'";

impl fmt::Display for DirectiveError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DirectiveError::Arity {
                directive,
                arity: Arity::One,
                description,
            } => write!(f, "{directive} takes one argument, {description}"),
            DirectiveError::NotAllowedHere { directive } => {
                write!(f, "{directive} not allowed here")
            }
            DirectiveError::NotInVirtualHost { directive } => {
                write!(f, "{directive} cannot occur within <VirtualHost> section")
            }
            DirectiveError::InvalidCommand { name } => write!(
                f,
                "Invalid command '{name}', perhaps misspelled or defined by a module not \
                 included in the server configuration"
            ),
            DirectiveError::MustBeOnOrOff { directive } => {
                write!(f, "{directive} must be On or Off")
            }
            DirectiveError::Fixed(text) => f.write_str(text),
            DirectiveError::Negative {
                directive,
                arg,
                zero_means_no_limit,
            } => {
                let note = if zero_means_no_limit {
                    " (0 = no limit)"
                } else {
                    ""
                };
                write!(
                    f,
                    "{directive} \"{arg}\" must be a non-negative integer{note}"
                )
            }
            DirectiveError::WithArgument { prefix, arg } => write!(f, "{prefix}{arg}"),
            DirectiveError::MissingMutexMechanism => write!(
                f,
                "Mutex requires at least a mechanism argument ({MUTEX_MECHANISMS})"
            ),
            DirectiveError::InvalidMutexMechanism { arg } => {
                write!(f, "Invalid Mutex argument {arg} ({MUTEX_MECHANISMS})")
            }
            DirectiveError::InvalidMutexDirectory { arg } => {
                write!(f, "Invalid Mutex directory in argument {arg}")
            }
            DirectiveError::InvalidMutexType { name } => {
                write!(f, "Mutex type {name} is not valid")
            }
            DirectiveError::MutexNoneNotAllowed { name } => {
                write!(f, "None is not allowed for mutex type {name}")
            }
            DirectiveError::RequestReadTimeout {
                key,
                value,
                problem,
            } => write!(f, "RequestReadTimeout: {key}={value}: {problem}"),
            DirectiveError::ListenHostName { host } => write!(
                f,
                "Listen needs a numeric IP address, not the host name {host}"
            ),
            DirectiveError::TooLong { directive, limit } => {
                write!(f, "{directive} argument is longer than {limit} bytes")
            }
            DirectiveError::TooManyListeners => write!(
                f,
                "Too many Listen directives (at most {})",
                super::MAX_LISTENERS
            ),
        }
    }
}

impl fmt::Display for ReadTimeoutProblem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ReadTimeoutProblem::UnknownParameter => {
                f.write_str("Unknown RequestReadTimeout parameter")
            }
            ReadTimeoutProblem::NotNumerical(s) => write!(f, "Value '{s}' not numerical"),
            ReadTimeoutProblem::CannotParse(s) => write!(f, "Cannot parse '{s}'"),
            ReadTimeoutProblem::Negative => f.write_str("Value must be non-negative"),
            ReadTimeoutProblem::ZeroRate => f.write_str("Minimum data rate must be larger than 0"),
            ReadTimeoutProblem::RangeWithoutRate => {
                f.write_str("Must set MinRate option if using timeout range")
            }
            ReadTimeoutProblem::MaxNotLarger => {
                f.write_str("Maximum timeout must be larger than initial timeout")
            }
        }
    }
}
