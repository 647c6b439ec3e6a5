//! The directive table and [`Config::set`]: names, argument counts, where each directive may
//! appear, and how its argument is read — with httpd's command-table descriptions, because
//! httpd's arity errors quote them ("ThreadsPerChild takes one argument, Number of threads each
//! child creates").

use super::error::Arity;
use super::error::DirectiveError;
use super::messages::Note;
use super::number::{Decimal, atoi, decimal, strtol, timeout_millis};
use super::{Applied, Config, Context, MAX_PATH_LEN, Mpm, Path, account, listen};
use crate::admission::Factor;
use crate::time::Duration;

/// Every directive [`Config`] knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Id {
    StartServers,
    ServerLimit,
    MinSpareThreads,
    MaxSpareThreads,
    MaxClients,
    MaxRequestWorkers,
    ThreadsPerChild,
    ThreadLimit,
    AsyncRequestWorkerFactor,
    GracefulShutdownTimeout,
    ListenBacklog,
    ListenCoresBucketsRatio,
    Listen,
    SendBufferSize,
    ReceiveBufferSize,
    PidFile,
    ScoreBoardFile,
    MaxRequestsPerChild,
    MaxConnectionsPerChild,
    CoreDumpDirectory,
    MaxMemFree,
    ThreadStackSize,
    EnableExceptionHook,
    User,
    Group,
    Mutex,
    KeepAlive,
    KeepAliveTimeout,
    MaxKeepAliveRequests,
    Timeout,
    LimitRequestLine,
    LimitRequestFieldsize,
    LimitRequestFields,
    LimitRequestBody,
    RequestReadTimeout,
    HttpProtocolOptions,
}

/// How httpd's `invoke_cmd` checks the argument count before the handler runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Takes {
    /// `TAKE1`: exactly one non-empty word.
    One,
    /// `FLAG`: the first word must be `On` or `Off` (later words are ignored, as in httpd).
    Flag,
    /// `TAKE_ARGV` / `RAW_ARGS`: the handler checks.
    Words,
}

/// Where a directive may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// `RSRC_CONF` and `GLOBAL_ONLY`: the main server only.
    Global,
    /// `RSRC_CONF`: the main server or a `<VirtualHost>`.
    Server,
    /// `OR_ALL`: also directory context.
    Anywhere,
}

struct Spec {
    id: Id,
    name: &'static str,
    takes: Takes,
    scope: Scope,
    description: &'static str,
}

const fn spec(
    id: Id,
    name: &'static str,
    takes: Takes,
    scope: Scope,
    description: &'static str,
) -> Spec {
    Spec {
        id,
        name,
        takes,
        scope,
        description,
    }
}

use Scope::{Anywhere, Global, Server};
use Takes::{Flag, One, Words};

/// httpd's command tables (event.c, worker.c, listen.c, core.c, http_core.c, mpm_common.c,
/// mod_unixd.c, mod_reqtimeout.c), reduced to the directives [`Config`] holds.
static SPECS: [Spec; 36] = [
    spec(
        Id::StartServers,
        "StartServers",
        One,
        Global,
        "Number of child processes launched at server startup",
    ),
    spec(
        Id::ServerLimit,
        "ServerLimit",
        One,
        Global,
        "Maximum number of child processes for this run of Apache",
    ),
    spec(
        Id::MinSpareThreads,
        "MinSpareThreads",
        One,
        Global,
        "Minimum number of idle threads, to handle request spikes",
    ),
    spec(
        Id::MaxSpareThreads,
        "MaxSpareThreads",
        One,
        Global,
        "Maximum number of idle threads",
    ),
    spec(
        Id::MaxClients,
        "MaxClients",
        One,
        Global,
        "Deprecated name of MaxRequestWorkers",
    ),
    spec(
        Id::MaxRequestWorkers,
        "MaxRequestWorkers",
        One,
        Global,
        "Maximum number of threads alive at the same time",
    ),
    spec(
        Id::ThreadsPerChild,
        "ThreadsPerChild",
        One,
        Global,
        "Number of threads each child creates",
    ),
    spec(
        Id::ThreadLimit,
        "ThreadLimit",
        One,
        Global,
        "Maximum number of worker threads per child process for this run of Apache - Upper limit for ThreadsPerChild",
    ),
    spec(
        Id::AsyncRequestWorkerFactor,
        "AsyncRequestWorkerFactor",
        One,
        Global,
        "How many additional connects will be accepted per idle worker thread",
    ),
    spec(
        Id::GracefulShutdownTimeout,
        "GracefulShutdownTimeout",
        One,
        Global,
        "Maximum time in seconds to wait for child processes to complete transactions during shutdown",
    ),
    spec(
        Id::ListenBacklog,
        "ListenBacklog",
        One,
        Global,
        "Maximum length of the queue of pending connections, as used by listen(2)",
    ),
    spec(
        Id::ListenCoresBucketsRatio,
        "ListenCoresBucketsRatio",
        One,
        Global,
        "Ratio between the number of CPU cores (online) and the number of listeners buckets",
    ),
    spec(
        Id::Listen,
        "Listen",
        Words,
        Global,
        "A port number or a numeric IP address and a port number, and an optional protocol",
    ),
    spec(
        Id::SendBufferSize,
        "SendBufferSize",
        One,
        Global,
        "Send buffer size in bytes",
    ),
    spec(
        Id::ReceiveBufferSize,
        "ReceiveBufferSize",
        One,
        Global,
        "Receive buffer size in bytes",
    ),
    spec(
        Id::PidFile,
        "PidFile",
        One,
        Global,
        "A file for logging the server process ID",
    ),
    spec(
        Id::ScoreBoardFile,
        "ScoreBoardFile",
        One,
        Global,
        "A file for Apache to maintain runtime process management information",
    ),
    spec(
        Id::MaxRequestsPerChild,
        "MaxRequestsPerChild",
        One,
        Global,
        "Maximum number of connections a particular child serves before dying. (DEPRECATED, use MaxConnectionsPerChild)",
    ),
    spec(
        Id::MaxConnectionsPerChild,
        "MaxConnectionsPerChild",
        One,
        Global,
        "Maximum number of connections a particular child serves before dying.",
    ),
    spec(
        Id::CoreDumpDirectory,
        "CoreDumpDirectory",
        One,
        Global,
        "The location of the directory Apache changes to before dumping core",
    ),
    spec(
        Id::MaxMemFree,
        "MaxMemFree",
        One,
        Global,
        "Maximum number of 1k blocks a particular child's allocator may hold.",
    ),
    spec(
        Id::ThreadStackSize,
        "ThreadStackSize",
        One,
        Global,
        "Size in bytes of stack used by threads handling client connections",
    ),
    spec(
        Id::EnableExceptionHook,
        "EnableExceptionHook",
        One,
        Global,
        "Controls whether exception hook may be called after a crash",
    ),
    spec(
        Id::User,
        "User",
        One,
        Global,
        "Effective user id for this server",
    ),
    spec(
        Id::Group,
        "Group",
        One,
        Global,
        "Effective group id for this server",
    ),
    spec(
        Id::Mutex,
        "Mutex",
        Words,
        Global,
        "mutex (or \"default\") and mechanism",
    ),
    spec(
        Id::KeepAlive,
        "KeepAlive",
        Flag,
        Server,
        "Whether persistent connections should be On or Off",
    ),
    spec(
        Id::KeepAliveTimeout,
        "KeepAliveTimeout",
        One,
        Server,
        "Keep-Alive timeout duration (sec)",
    ),
    spec(
        Id::MaxKeepAliveRequests,
        "MaxKeepAliveRequests",
        One,
        Server,
        "Maximum number of Keep-Alive requests per connection, or 0 for infinite",
    ),
    spec(
        Id::Timeout,
        "Timeout",
        One,
        Server,
        "Timeout duration (sec)",
    ),
    spec(
        Id::LimitRequestLine,
        "LimitRequestLine",
        One,
        Server,
        "Limit on maximum size of an HTTP request line",
    ),
    spec(
        Id::LimitRequestFieldsize,
        "LimitRequestFieldsize",
        One,
        Server,
        "Limit on maximum size of an HTTP request header field",
    ),
    spec(
        Id::LimitRequestFields,
        "LimitRequestFields",
        One,
        Server,
        "Limit (0 = unlimited) on max number of header fields in a request message",
    ),
    spec(
        Id::LimitRequestBody,
        "LimitRequestBody",
        One,
        Anywhere,
        "Limit (in bytes) on maximum size of request message body",
    ),
    spec(
        Id::RequestReadTimeout,
        "RequestReadTimeout",
        Words,
        Server,
        "Set various timeout parameters for TLS handshake and/or reading request headers and body",
    ),
    spec(
        Id::HttpProtocolOptions,
        "HttpProtocolOptions",
        Words,
        Server,
        "'Allow0.9' or 'Require1.0' (default); 'RegisteredMethods' or 'LenientMethods' (default); \
         'Unsafe' or 'Strict' (default). Sets HTTP acceptance rules",
    ),
];

impl Config {
    /// Applies one directive, named without regard to ASCII case, in `context`.
    ///
    /// Checks run in httpd's order: whether the directive may appear in this kind of section
    /// ("… not allowed here"), the argument count, whether it is main-server only ("… cannot occur
    /// within `<VirtualHost>` section"), then the value. A directive this struct does not hold
    /// gives [`Applied::NotMine`] with nothing checked. On error the configuration is unchanged.
    ///
    /// The configuration holds one server's settings; for a `<VirtualHost>` the runtime applies
    /// the vhost's directives to a clone of the main server's `Config`, as httpd merges them.
    pub fn set<'a>(
        &mut self,
        name: &'a str,
        args: &[&'a str],
        context: Context,
    ) -> Result<Applied, DirectiveError<'a>> {
        let Some(spec) = SPECS.iter().find(|s| s.name.eq_ignore_ascii_case(name)) else {
            return Ok(Applied::NotMine);
        };
        if spec.id == Id::AsyncRequestWorkerFactor && self.mpm == Mpm::Worker {
            return Err(DirectiveError::InvalidCommand { name });
        }
        if context == Context::Directory && spec.scope != Anywhere {
            return Err(DirectiveError::NotAllowedHere {
                directive: spec.name,
            });
        }
        let first = args.first().copied().unwrap_or("");
        match spec.takes {
            One if args.len() != 1 || first.is_empty() => {
                return Err(DirectiveError::Arity {
                    directive: spec.name,
                    arity: Arity::One,
                    description: spec.description,
                });
            }
            Flag if !first.eq_ignore_ascii_case("on") && !first.eq_ignore_ascii_case("off") => {
                return Err(DirectiveError::MustBeOnOrOff {
                    directive: spec.name,
                });
            }
            _ => {}
        }
        if context == Context::VirtualHost && spec.scope == Global {
            return Err(DirectiveError::NotInVirtualHost {
                directive: spec.name,
            });
        }
        self.apply(spec, first, args)
    }

    /// The handler: reads the value and stores it.
    fn apply<'a>(
        &mut self,
        spec: &Spec,
        arg: &'a str,
        args: &[&'a str],
    ) -> Result<Applied, DirectiveError<'a>> {
        let directive = spec.name;
        match spec.id {
            Id::StartServers => self.start_servers = atoi(arg),
            Id::ServerLimit => self.server_limit = atoi(arg),
            Id::MinSpareThreads => self.min_spare_threads = atoi(arg),
            Id::MaxSpareThreads => self.max_spare_threads = atoi(arg),
            Id::ThreadsPerChild => self.threads_per_child = atoi(arg),
            Id::ThreadLimit => self.thread_limit = atoi(arg),
            Id::MaxRequestWorkers => self.max_request_workers = atoi(arg),
            Id::MaxClients => {
                self.max_request_workers = atoi(arg);
                return Ok(Applied::Note(Note::MaxClientsDeprecated { mpm: self.mpm }));
            }
            Id::AsyncRequestWorkerFactor => return self.set_factor(arg),
            Id::GracefulShutdownTimeout => {
                self.graceful_shutdown_timeout = seconds(non_negative(directive, arg)?);
            }
            Id::ListenBacklog => {
                self.listen_backlog = positive(arg, "ListenBacklog must be > 0")?;
            }
            Id::ListenCoresBucketsRatio => {
                self.listen_cores_buckets_ratio =
                    positive(arg, "ListenCoresBucketsRatio must be > 0")?;
            }
            Id::Listen => self.add_listener(args)?,
            Id::SendBufferSize => {
                self.send_buffer_size = buffer_size(
                    arg,
                    "SendBufferSize must be >= 512 bytes, or 0 for system default.",
                )?;
            }
            Id::ReceiveBufferSize => {
                self.receive_buffer_size = buffer_size(
                    arg,
                    "ReceiveBufferSize must be >= 512 bytes, or 0 for system default.",
                )?;
            }
            Id::PidFile => self.pid_file = Some(path(directive, arg)?),
            Id::ScoreBoardFile => self.score_board_file = Some(path(directive, arg)?),
            Id::CoreDumpDirectory => self.core_dump_directory = Some(path(directive, arg)?),
            Id::MaxConnectionsPerChild => {
                self.max_connections_per_child = non_negative(directive, arg)?;
            }
            Id::MaxRequestsPerChild => {
                self.max_connections_per_child = non_negative(directive, arg)?;
                return Ok(Applied::Note(Note::MaxRequestsPerChildDeprecated));
            }
            Id::MaxMemFree => {
                let kb = strtol(arg);
                self.max_mem_free_kb = u32::try_from(kb.value)
                    .ok()
                    .filter(|_| !kb.overflow)
                    .ok_or(DirectiveError::WithArgument {
                        prefix: "Invalid MaxMemFree value: ",
                        arg,
                    })?;
            }
            Id::ThreadStackSize => {
                let size = strtol(arg);
                self.thread_stack_size = u64::try_from(size.value)
                    .ok()
                    .filter(|_| !size.overflow)
                    .ok_or(DirectiveError::WithArgument {
                        prefix: "Invalid ThreadStackSize value: ",
                        arg,
                    })?;
            }
            Id::EnableExceptionHook => {
                self.enable_exception_hook = if arg.eq_ignore_ascii_case("on") {
                    true
                } else if arg.eq_ignore_ascii_case("off") {
                    false
                } else {
                    return Err(DirectiveError::Fixed("parameter must be 'on' or 'off'"));
                };
            }
            Id::User => self.user = account::parse(directive, arg, true)?,
            Id::Group => self.group = account::parse(directive, arg, false)?,
            Id::Mutex => self.mutex.apply(args, self.mpm)?,
            Id::KeepAlive => self.keep_alive = arg.eq_ignore_ascii_case("on"),
            Id::KeepAliveTimeout => {
                // httpd takes a negative timeout too, with no sensible meaning; refuse it.
                let ms = timeout_millis(arg)
                    .and_then(|ms| u64::try_from(ms).ok())
                    .ok_or(DirectiveError::Fixed("KeepAliveTimeout has wrong format"))?;
                self.keep_alive_timeout = Duration::from_millis(ms);
            }
            Id::MaxKeepAliveRequests => {
                self.max_keep_alive_requests = non_negative(directive, arg)?;
            }
            Id::Timeout => self.timeout = seconds(non_negative(directive, arg)?),
            Id::LimitRequestLine => self.limit_request_line = non_negative(directive, arg)?,
            Id::LimitRequestFieldsize => {
                self.limit_request_field_size = non_negative(directive, arg)?;
            }
            Id::LimitRequestFields => {
                self.limit_request_fields =
                    u32::try_from(atoi(arg)).map_err(|_| DirectiveError::Negative {
                        directive,
                        arg,
                        zero_means_no_limit: true,
                    })?;
            }
            Id::LimitRequestBody => {
                let n = strtol(arg);
                if n.overflow {
                    return Err(DirectiveError::Fixed(
                        "LimitRequestBody argument is not parsable.",
                    ));
                }
                self.limit_request_body = u64::try_from(n.value)
                    .ok()
                    .filter(|_| n.rest.is_empty())
                    .ok_or(DirectiveError::Fixed(
                        "LimitRequestBody requires a non-negative integer.",
                    ))?;
            }
            Id::RequestReadTimeout => self.request_read_timeout.apply(args)?,
            Id::HttpProtocolOptions => self.http_protocol_options.apply(args)?,
        }
        Ok(Applied::Done)
    }

    /// httpd's `set_worker_factor` (`strtod`, positive, raised to at least 1), in thousandths.
    fn set_factor<'a>(&mut self, arg: &'a str) -> Result<Applied, DirectiveError<'a>> {
        let Decimal::Number {
            negative,
            nonzero,
            thousandths,
        } = decimal(arg)
        else {
            return Err(DirectiveError::Fixed("error parsing value"));
        };
        if negative || !nonzero {
            return Err(DirectiveError::Fixed(
                "AsyncRequestWorkerFactor argument must be a positive number",
            ));
        }
        let configured = Factor::from_thousandths(thousandths);
        if configured < Factor::MIN {
            self.async_request_worker_factor = Factor::MIN;
            return Ok(Applied::Note(Note::FactorRaised { configured }));
        }
        self.async_request_worker_factor = configured;
        Ok(Applied::Done)
    }

    fn add_listener<'a>(&mut self, args: &[&'a str]) -> Result<(), DirectiveError<'a>> {
        let listener = listen::parse(args)?;
        if self.listeners.iter().any(|l| l.same_socket(&listener)) {
            return Err(DirectiveError::Fixed(
                "Cannot define multiple Listeners on the same IP:port",
            ));
        }
        self.listeners
            .push(listener)
            .map_err(|_| DirectiveError::TooManyListeners)
    }
}

fn seconds(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

/// `atoi`, refusing negative values with core's "must be a non-negative integer" wording.
fn non_negative<'a>(directive: &'static str, arg: &'a str) -> Result<u32, DirectiveError<'a>> {
    u32::try_from(atoi(arg)).map_err(|_| DirectiveError::Negative {
        directive,
        arg,
        zero_means_no_limit: false,
    })
}

/// `atoi`, at least 1.
fn positive<'a>(arg: &str, message: &'static str) -> Result<u32, DirectiveError<'a>> {
    u32::try_from(atoi(arg))
        .ok()
        .filter(|&n| n >= 1)
        .ok_or(DirectiveError::Fixed(message))
}

/// `atoi`, 0 or at least 512.
fn buffer_size<'a>(arg: &str, message: &'static str) -> Result<u32, DirectiveError<'a>> {
    u32::try_from(atoi(arg))
        .ok()
        .filter(|&n| n == 0 || n >= 512)
        .ok_or(DirectiveError::Fixed(message))
}

fn path<'a>(directive: &'static str, arg: &str) -> Result<Path, DirectiveError<'a>> {
    Path::try_from(arg).map_err(|_| DirectiveError::TooLong {
        directive,
        limit: MAX_PATH_LEN,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_each_directive_once() {
        for (i, a) in SPECS.iter().enumerate() {
            for b in &SPECS[i + 1..] {
                assert!(!a.name.eq_ignore_ascii_case(b.name), "{}", a.name);
                assert_ne!(a.id, b.id, "{}", a.name);
            }
        }
    }
}
