//! The configuration: httpd's directives for the event and worker MPMs and the HTTP/1.1 core,
//! with httpd's defaults, limits and messages, and the httpd.conf tokenizer.
//!
//! The runtime reads a file like this:
//!
//! 1. [`Tokenizer::next_line`] yields directives and section tags (`<IfModule …>`). The runtime
//!    decides sections (`<IfModule>`, `<IfDefine>`: [`Tokenizer::skip_section`] when false;
//!    `<VirtualHost>`: a clone of the main [`Config`]), handles directives that are not ours
//!    (`LoadModule`, `ServerRoot`, `Require`, …), and calls [`Config::set`] for the rest. After the
//!    last line, [`Tokenizer::finish`] reports unclosed sections.
//! 2. [`Config::check`] (first start) or [`Config::check_restart`] (restart) clamps the process
//!    model and reports httpd's warnings.
//!
//! Errors print as httpd prints them, after the runtime's `file:line: ` prefix. Values are read
//! with httpd's C rules (`atoi`: `ThreadsPerChild 25abc` is 25, `ThreadsPerChild abc` is 0 and
//! is then clamped), so a configuration httpd accepts is accepted here with the same meaning.
//! Deliberate differences, each because httpd's behaviour has no sensible meaning:
//!
//! * negative `Timeout`, `KeepAliveTimeout`, `MaxKeepAliveRequests`, `MaxConnectionsPerChild` and
//!   `GracefulShutdownTimeout` are refused (httpd accepts them with odd effects);
//! * `AsyncRequestWorkerFactor` keeps three decimals and honours them (httpd truncates the factor
//!   to an integer when admitting connections);
//! * `Listen` needs a numeric address (the core has no resolver) and `MaxMemFree` above 4 TiB is
//!   refused rather than wrapped;
//! * strings are bounded: paths [`MAX_PATH_LEN`] bytes, user and group names
//!   [`MAX_ACCOUNT_NAME_LEN`], [`MAX_LISTENERS`] listeners.
//!
//! Filesystem checks (`CoreDumpDirectory` exists, the `Mutex` directory exists, `User` resolves
//! and is not root by name) are the runtime's; the texts it needs are here
//! ([`DirectiveError::InvalidMutexDirectory`], [`ROOT_USER_REFUSED`]).

mod account;
mod check;
mod directives;
mod error;
mod listen;
mod messages;
mod mutex;
mod number;
mod protocol;
mod reqtimeout;
pub mod tokenizer;

#[cfg(test)]
mod debian;

pub use account::{Account, AccountName, MAX_ACCOUNT_NAME_LEN, ROOT_USER_REFUSED};
pub use error::{Arity, ConfError, ConfErrorKind, DirectiveError, ReadTimeoutProblem, SectionName};
pub use listen::{Listener, MAX_LISTENERS, MAX_PROTOCOL_LEN, Protocol};
pub use messages::{Clamp, Console, Note, Warning};
pub use mutex::{MutexMechanism, MutexSetting, Mutexes};
pub use protocol::HttpProtocolOptions;
pub use reqtimeout::{ReadTimeoutStage, RequestReadTimeout};
pub use tokenizer::{Line, LineKind, Tokenizer};

use crate::admission::Factor;
use crate::conn::{HeadTimeout, KeepAliveSettings};
use crate::http1::Limits;
use crate::time::Duration;

/// The longest path kept (`PidFile`, `ScoreBoardFile`, `CoreDumpDirectory`, `Mutex` directory).
pub const MAX_PATH_LEN: usize = 1024;

/// A path as configured: relative to ServerRoot unless absolute (the runtime resolves it).
pub type Path = heapless::String<MAX_PATH_LEN>;

/// httpd's compile-time cap on ServerLimit (`MAX_SERVER_LIMIT`), both MPMs.
pub const MAX_SERVER_LIMIT: u32 = 20_000;

/// httpd's default pid file (`DEFAULT_PIDLOG`), relative to ServerRoot.
pub const DEFAULT_PID_FILE: &str = "logs/httpd.pid";

/// Which MPM's rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mpm {
    /// The event MPM (`mod_mpm_event`): the default.
    #[default]
    Event,
    /// The worker MPM (`mod_mpm_worker`).
    Worker,
}

impl Mpm {
    /// The compile-time cap on ThreadLimit (`MAX_THREAD_LIMIT`): 100000 for event, 20000 for
    /// worker.
    pub const fn max_thread_limit(self) -> u32 {
        match self {
            Mpm::Event => 100_000,
            Mpm::Worker => 20_000,
        }
    }

    /// The MPM's name as `server-status` and `httpd -V` show it.
    pub const fn name(self) -> &'static str {
        match self {
            Mpm::Event => "event",
            Mpm::Worker => "worker",
        }
    }
}

/// Where in the configuration a directive appears.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    /// The main server, outside any section (or inside sections that do not change context, such
    /// as `<IfModule>`).
    Server,
    /// Inside `<VirtualHost>`.
    VirtualHost,
    /// Inside `<Directory>`, `<Location>`, `<Files>` or their `Match` forms.
    Directory,
}

/// What [`Config::set`] did with a directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Stored.
    Done,
    /// Stored, with something to log at level info.
    Note(Note),
    /// Not a directive this struct holds; the runtime handles it (or reports it as unknown).
    NotMine,
}

/// Every setting of one server, with httpd's defaults.
///
/// The process-model fields are `i32` because they hold what was configured, which may be out of
/// range until [`check`](Self::check) clamps it (httpd's warnings quote the configured value).
/// After `check`, [`process`](Self::process) gives them as checked unsigned numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Which MPM's rules apply; the runtime sets it from `LoadModule` before applying directives.
    pub mpm: Mpm,

    /// Children started at start-up (default 3).
    #[doc(alias = "StartServers")]
    pub start_servers: i32,
    /// Scoreboard size in children (default 16; 1 to 20000; fixed for the server's life).
    #[doc(alias = "ServerLimit")]
    pub server_limit: i32,
    /// Scoreboard size in threads per child (default 64; 1 to [`Mpm::max_thread_limit`]; fixed for
    /// the server's life).
    #[doc(alias = "ThreadLimit")]
    pub thread_limit: i32,
    /// Worker threads per child (default 25; at most ThreadLimit).
    #[doc(alias = "ThreadsPerChild")]
    pub threads_per_child: i32,
    /// Most threads serving at once (default 16 × 25 = 400, computed from the defaults, not from a
    /// configured ServerLimit, as httpd does); `MaxClients` is its old name.
    #[doc(alias = "MaxRequestWorkers")]
    #[doc(alias = "MaxClients")]
    #[doc(alias = "max_workers")]
    pub max_request_workers: i32,
    /// Fewest idle threads before maintenance starts a child (default 75).
    #[doc(alias = "MinSpareThreads")]
    pub min_spare_threads: i32,
    /// Most idle threads before maintenance stops a child (default 250).
    #[doc(alias = "MaxSpareThreads")]
    pub max_spare_threads: i32,
    /// Derived by [`check`](Self::check): most children serving at once,
    /// MaxRequestWorkers / ThreadsPerChild capped at ServerLimit (before `check`: 16).
    #[doc(alias = "ap_daemons_limit")]
    pub active_daemons_limit: i32,
    /// Connections accepted per idle worker beyond ThreadsPerChild (event only; default 2).
    #[doc(alias = "AsyncRequestWorkerFactor")]
    pub async_request_worker_factor: Factor,
    /// Connections a child serves before exiting; 0 = unlimited (default).
    #[doc(alias = "MaxConnectionsPerChild")]
    #[doc(alias = "MaxRequestsPerChild")]
    pub max_connections_per_child: u32,
    /// How long a graceful stop waits for children; zero = for ever (default).
    #[doc(alias = "GracefulShutdownTimeout")]
    pub graceful_shutdown_timeout: Duration,
    /// KiB of free memory a child's allocator keeps; 0 = unlimited (default 2048).
    #[doc(alias = "MaxMemFree")]
    pub max_mem_free_kb: u32,
    /// Worker thread stack size in bytes; 0 = the system's default (default).
    #[doc(alias = "ThreadStackSize")]
    pub thread_stack_size: u64,

    /// The sockets to listen on, in configuration order (none by default: httpd requires one).
    #[doc(alias = "Listen")]
    pub listeners: heapless::Vec<Listener, MAX_LISTENERS>,
    /// `listen()` backlog (default 511: some systems truncate to 8 bits, so not 512).
    #[doc(alias = "ListenBacklog")]
    pub listen_backlog: u32,
    /// CPU cores per listener bucket; 0 = one bucket (default).
    #[doc(alias = "ListenCoresBucketsRatio")]
    pub listen_cores_buckets_ratio: u32,
    /// `SO_SNDBUF` in bytes; 0 = the system's default (default).
    #[doc(alias = "SendBufferSize")]
    pub send_buffer_size: u32,
    /// `SO_RCVBUF` in bytes; 0 = the system's default (default).
    #[doc(alias = "ReceiveBufferSize")]
    pub receive_buffer_size: u32,

    /// The pid file; `None` = [`DEFAULT_PID_FILE`].
    #[doc(alias = "PidFile")]
    pub pid_file: Option<Path>,
    /// A file backing the scoreboard; `None` = anonymous shared memory (default).
    #[doc(alias = "ScoreBoardFile")]
    pub score_board_file: Option<Path>,
    /// Where children dump core; `None` = ServerRoot (default).
    #[doc(alias = "CoreDumpDirectory")]
    pub core_dump_directory: Option<Path>,
    /// Run the exception hook after a crash (default off).
    #[doc(alias = "EnableExceptionHook")]
    pub enable_exception_hook: bool,
    /// The user children run as (default `#-1`).
    #[doc(alias = "User")]
    pub user: Account,
    /// The group children run as (default `#-1`).
    #[doc(alias = "Group")]
    pub group: Account,
    /// Mutex mechanisms.
    #[doc(alias = "Mutex")]
    pub mutex: Mutexes,

    /// Persistent connections allowed (default on).
    #[doc(alias = "KeepAlive")]
    pub keep_alive: bool,
    /// How long to wait for the next request on a persistent connection (default 5 s).
    #[doc(alias = "KeepAliveTimeout")]
    pub keep_alive_timeout: Duration,
    /// Requests per connection; 0 = unlimited (default 100).
    #[doc(alias = "MaxKeepAliveRequests")]
    pub max_keep_alive_requests: u32,
    /// I/O timeout, including write completion (default 60 s).
    #[doc(alias = "Timeout")]
    pub timeout: Duration,
    /// Longest request line in bytes (default 8190).
    #[doc(alias = "LimitRequestLine")]
    pub limit_request_line: u32,
    /// Longest header field in bytes (default 8190).
    #[doc(alias = "LimitRequestFieldSize")]
    #[doc(alias = "LimitRequestFieldsize")]
    pub limit_request_field_size: u32,
    /// Most header fields; 0 = unlimited (default 100).
    #[doc(alias = "LimitRequestFields")]
    pub limit_request_fields: u32,
    /// Largest request body in bytes; 0 = unlimited (default 1 GiB, since httpd 2.4.54).
    #[doc(alias = "LimitRequestBody")]
    pub limit_request_body: u64,
    /// mod_reqtimeout's limits on reading requests.
    #[doc(alias = "RequestReadTimeout")]
    pub request_read_timeout: RequestReadTimeout,
    /// Which request lines are read: HTTP/0.9, unknown methods (default
    /// `Strict LenientMethods Allow0.9`).
    #[doc(alias = "HttpProtocolOptions")]
    pub http_protocol_options: HttpProtocolOptions,
}

/// The process model after [`Config::check`], as unsigned numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessModel {
    /// Scoreboard size in children.
    pub server_limit: u32,
    /// Scoreboard size in threads per child.
    pub thread_limit: u32,
    /// Worker threads per child.
    pub threads_per_child: u32,
    /// MaxRequestWorkers, what maintenance compares busy threads against (httpd's
    /// `max_workers`; may exceed `active_daemons_limit × threads_per_child`, see
    /// [`Clamp::MaxWorkersAboveServerLimit`]).
    pub max_workers: u32,
    /// Most children serving at once.
    pub active_daemons_limit: u32,
    /// Children started at start-up.
    pub start_servers: u32,
    /// Fewest idle threads wanted.
    pub min_spare_threads: u32,
    /// Most idle threads wanted.
    pub max_spare_threads: u32,
}

impl Config {
    /// httpd's defaults (event MPM).
    pub const fn new() -> Config {
        Config {
            mpm: Mpm::Event,
            start_servers: 3,
            server_limit: 16,
            thread_limit: 64,
            threads_per_child: 25,
            max_request_workers: 16 * 25,
            min_spare_threads: 3 * 25,
            max_spare_threads: 10 * 25,
            active_daemons_limit: 16,
            async_request_worker_factor: Factor::DEFAULT,
            max_connections_per_child: 0,
            graceful_shutdown_timeout: Duration::ZERO,
            max_mem_free_kb: 2048,
            thread_stack_size: 0,
            listeners: heapless::Vec::new(),
            listen_backlog: 511,
            listen_cores_buckets_ratio: 0,
            send_buffer_size: 0,
            receive_buffer_size: 0,
            pid_file: None,
            score_board_file: None,
            core_dump_directory: None,
            enable_exception_hook: false,
            user: Account::DEFAULT,
            group: Account::DEFAULT,
            mutex: Mutexes::DEFAULT,
            keep_alive: true,
            keep_alive_timeout: Duration::from_secs(5),
            max_keep_alive_requests: 100,
            timeout: Duration::from_secs(60),
            limit_request_line: 8190,
            limit_request_field_size: 8190,
            limit_request_fields: 100,
            limit_request_body: 1 << 30,
            request_read_timeout: RequestReadTimeout::DEFAULT,
            http_protocol_options: HttpProtocolOptions::DEFAULT,
        }
    }

    /// The process model as checked numbers; call after [`check`](Self::check).
    pub fn process(&self) -> ProcessModel {
        let n = |v: i32| u32::try_from(v).unwrap_or(0);
        ProcessModel {
            server_limit: n(self.server_limit),
            thread_limit: n(self.thread_limit),
            threads_per_child: n(self.threads_per_child),
            max_workers: n(self.max_request_workers),
            active_daemons_limit: n(self.active_daemons_limit),
            start_servers: n(self.start_servers),
            min_spare_threads: n(self.min_spare_threads),
            max_spare_threads: n(self.max_spare_threads),
        }
    }

    /// The wait for the next request on a persistent connection.
    pub const fn keep_alive_timeout(&self) -> Duration {
        self.keep_alive_timeout
    }

    /// The I/O timeout (httpd's `Timeout`), also the write-completion timeout.
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How long a graceful stop waits, or `None` to wait for ever.
    pub const fn graceful_shutdown_limit(&self) -> Option<Duration> {
        if self.graceful_shutdown_timeout.as_millis() == 0 {
            None
        } else {
            Some(self.graceful_shutdown_timeout)
        }
    }

    /// Connections a child serves before exiting, or `None` for no limit.
    pub const fn connections_per_child_limit(&self) -> Option<u32> {
        nonzero(self.max_connections_per_child)
    }

    /// Requests served on one connection, or `None` for no limit.
    pub const fn keep_alive_requests_limit(&self) -> Option<u32> {
        nonzero(self.max_keep_alive_requests)
    }

    /// The most header fields in a request, or `None` for no limit.
    pub const fn request_fields_limit(&self) -> Option<u32> {
        nonzero(self.limit_request_fields)
    }

    /// The largest request body, or `None` for no limit.
    pub const fn request_body_limit(&self) -> Option<u64> {
        if self.limit_request_body == 0 {
            None
        } else {
            Some(self.limit_request_body)
        }
    }

    /// Bytes of free memory a child's allocator keeps, or `None` for no limit.
    pub const fn max_mem_free(&self) -> Option<u64> {
        if self.max_mem_free_kb == 0 {
            None
        } else {
            Some(self.max_mem_free_kb as u64 * 1024)
        }
    }

    /// The request-head timeouts the connection state machine applies: `RequestReadTimeout
    /// header=…` as stages, or `Timeout` alone when the header stage is off (httpd without
    /// mod_reqtimeout).
    #[doc(alias = "RequestReadTimeout")]
    pub const fn head_timeout(&self) -> HeadTimeout {
        let header = self.request_read_timeout.header;
        if header.timeout_s == 0 {
            return HeadTimeout {
                initial: self.timeout,
                extended: None,
                min_rate: 0,
            };
        }
        let extended = if header.max_timeout_s > header.timeout_s {
            Some(Duration::from_secs(
                (header.max_timeout_s - header.timeout_s) as u64,
            ))
        } else {
            None
        };
        HeadTimeout {
            initial: Duration::from_secs(header.timeout_s as u64),
            extended,
            min_rate: header.min_rate,
        }
    }

    /// The TLS handshake's timeout stages (`RequestReadTimeout handshake=…`), or `None` when
    /// that stage is off (httpd's default): `Timeout` then bounds each of the handshake's reads.
    #[doc(alias = "RequestReadTimeout")]
    pub const fn handshake_timeout(&self) -> Option<HeadTimeout> {
        let h = self.request_read_timeout.handshake;
        if h.timeout_s == 0 {
            return None;
        }
        let extended = if h.max_timeout_s > h.timeout_s {
            Some(Duration::from_secs((h.max_timeout_s - h.timeout_s) as u64))
        } else {
            None
        };
        Some(HeadTimeout {
            initial: Duration::from_secs(h.timeout_s as u64),
            extended,
            min_rate: h.min_rate,
        })
    }

    /// The request limits (`LimitRequestLine`, `LimitRequestFieldSize`, `LimitRequestFields`,
    /// `LimitRequestBody`).
    pub const fn limits(&self) -> Limits {
        Limits {
            request_line: self.limit_request_line,
            field_size: self.limit_request_field_size,
            fields: self.limit_request_fields,
            body: self.limit_request_body,
        }
    }

    /// The keep-alive rules a response is judged by (`KeepAlive`, `KeepAliveTimeout`,
    /// `MaxKeepAliveRequests`).
    pub const fn keep_alive_settings(&self) -> KeepAliveSettings {
        KeepAliveSettings {
            enabled: self.keep_alive,
            timeout: self.keep_alive_timeout,
            max_requests: self.max_keep_alive_requests,
        }
    }

    /// The pid file path as configured, or httpd's default.
    pub fn pid_file_path(&self) -> &str {
        match &self.pid_file {
            Some(path) => path.as_str(),
            None => DEFAULT_PID_FILE,
        }
    }
}

const fn nonzero(n: u32) -> Option<u32> {
    if n == 0 { None } else { Some(n) }
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

#[cfg(test)]
mod tests;
