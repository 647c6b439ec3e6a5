//! Tests of the defaults and of [`Config::set`]: every directive's reading, contexts and
//! messages.

extern crate std;

use core::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use std::string::{String, ToString};

use super::*;

fn set(c: &mut Config, name: &str, args: &[&str]) -> Result<Applied, String> {
    c.set(name, args, Context::Server)
        .map_err(|e| e.to_string())
}

/// A default config with one directive applied (panics on error).
fn with(name: &str, args: &[&str]) -> Config {
    let mut c = Config::new();
    set(&mut c, name, args).unwrap_or_else(|e| panic!("{name} {args:?}: {e}"));
    c
}

/// The error one directive gives on a default config.
fn fails(name: &str, args: &[&str]) -> String {
    let mut c = Config::new();
    let before = c.clone();
    let e = set(&mut c, name, args).expect_err(name);
    assert_eq!(c, before, "a failed {name} changed the config");
    e
}

#[test]
fn http_protocol_options() {
    use crate::http1::ProtocolOptions;
    assert_eq!(
        Config::new().http_protocol_options.options(),
        ProtocolOptions::DEFAULT
    );
    let c = with("HttpProtocolOptions", &["Require1.0", "RegisteredMethods"]);
    assert_eq!(
        c.http_protocol_options.options(),
        ProtocolOptions {
            registered_methods: true,
            allow_http09: false
        }
    );
    let mut v = Config::new();
    assert!(
        v.set("httpprotocoloptions", &["Strict"], Context::VirtualHost)
            .is_ok()
    );
    assert_eq!(
        Config::new()
            .set("HttpProtocolOptions", &["Strict"], Context::Directory)
            .map_err(|e| e.to_string()),
        Err("HttpProtocolOptions not allowed here".to_string())
    );
    assert!(fails("HttpProtocolOptions", &["Unsafe"]).contains("not supported"));
}

#[test]
fn defaults_are_httpds() {
    let c = Config::default();
    assert_eq!(c, Config::new());
    assert_eq!(c.mpm, Mpm::Event);
    assert_eq!(
        (
            c.start_servers,
            c.server_limit,
            c.thread_limit,
            c.threads_per_child
        ),
        (3, 16, 64, 25)
    );
    assert_eq!(
        (
            c.max_request_workers,
            c.min_spare_threads,
            c.max_spare_threads
        ),
        (400, 75, 250)
    );
    assert_eq!(c.active_daemons_limit, 16);
    assert_eq!(
        c.async_request_worker_factor,
        Factor::from_thousandths(2000)
    );
    assert_eq!(c.connections_per_child_limit(), None);
    assert_eq!(c.graceful_shutdown_limit(), None);
    assert_eq!(c.max_mem_free(), Some(2048 * 1024));
    assert_eq!(c.thread_stack_size, 0);
    assert!(c.listeners.is_empty());
    assert_eq!(c.listen_backlog, 511);
    assert_eq!(c.listen_cores_buckets_ratio, 0);
    assert_eq!((c.send_buffer_size, c.receive_buffer_size), (0, 0));
    assert_eq!(c.pid_file_path(), "logs/httpd.pid");
    assert_eq!(
        (c.score_board_file.clone(), c.core_dump_directory.clone()),
        (None, None)
    );
    assert!(!c.enable_exception_hook);
    assert_eq!(
        (c.user.clone(), c.group.clone()),
        (Account::Id(u32::MAX), Account::Id(u32::MAX))
    );
    assert_eq!(c.mutex, Mutexes::DEFAULT);
    assert_eq!(c.mutex.default.mechanism, MutexMechanism::Default);
    assert!(c.keep_alive);
    assert_eq!(c.keep_alive_timeout(), Duration::from_secs(5));
    assert_eq!(c.keep_alive_requests_limit(), Some(100));
    assert_eq!(c.timeout(), Duration::from_secs(60));
    assert_eq!(
        (c.limit_request_line, c.limit_request_field_size),
        (8190, 8190)
    );
    assert_eq!(c.request_fields_limit(), Some(100));
    assert_eq!(c.request_body_limit(), Some(1_073_741_824));
    assert_eq!(c.request_read_timeout, RequestReadTimeout::DEFAULT);
}

#[test]
fn names_are_case_insensitive_and_unknown_ones_are_not_mine() {
    assert_eq!(with("threadsperchild", &["10"]).threads_per_child, 10);
    assert_eq!(with("THREADSPERCHILD", &["11"]).threads_per_child, 11);
    let mut c = Config::new();
    for other in [
        "LoadModule",
        "ServerRoot",
        "SetHandler",
        "Require",
        "IfModule",
        "<Location",
    ] {
        assert_eq!(set(&mut c, other, &["x", "y"]), Ok(Applied::NotMine));
    }
    assert_eq!(c, Config::new());
}

#[test]
fn numbers_are_read_with_atoi() {
    assert_eq!(with("StartServers", &["7"]).start_servers, 7);
    assert_eq!(with("ServerLimit", &["32abc"]).server_limit, 32);
    assert_eq!(with("ThreadLimit", &["abc"]).thread_limit, 0);
    assert_eq!(with("MinSpareThreads", &["-5"]).min_spare_threads, -5);
    assert_eq!(
        with("MaxSpareThreads", &["99999999999"]).max_spare_threads,
        i32::MAX
    );
    assert_eq!(with("MaxRequestWorkers", &["150"]).max_request_workers, 150);
}

#[test]
fn arity_errors_quote_the_command_table() {
    assert_eq!(
        fails("ThreadsPerChild", &[]),
        "ThreadsPerChild takes one argument, Number of threads each child creates"
    );
    assert_eq!(
        fails("maxrequestworkers", &["1", "2"]),
        "MaxRequestWorkers takes one argument, Maximum number of threads alive at the same time"
    );
    assert_eq!(
        fails("Timeout", &[""]),
        "Timeout takes one argument, Timeout duration (sec)"
    );
    assert_eq!(
        fails("ThreadLimit", &[]),
        "ThreadLimit takes one argument, Maximum number of worker threads per child process for \
         this run of Apache - Upper limit for ThreadsPerChild"
    );
    assert_eq!(
        fails("LimitRequestFieldSize", &[]),
        "LimitRequestFieldsize takes one argument, Limit on maximum size of an HTTP request \
         header field"
    );
    assert_eq!(
        fails("MaxMemFree", &[]),
        "MaxMemFree takes one argument, Maximum number of 1k blocks a particular child's \
         allocator may hold."
    );
    assert_eq!(fails("KeepAlive", &[]), "KeepAlive must be On or Off");
    assert_eq!(fails("KeepAlive", &["yes"]), "KeepAlive must be On or Off");
}

#[test]
fn contexts_follow_httpd() {
    let mut c = Config::new();
    let in_vhost = |c: &mut Config, name: &str, args: &[&str]| {
        c.set(name, args, Context::VirtualHost)
            .map_err(|e| e.to_string())
    };
    let in_dir = |c: &mut Config, name: &str, args: &[&str]| {
        c.set(name, args, Context::Directory)
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        in_vhost(&mut c, "MaxRequestWorkers", &["10"]),
        Err("MaxRequestWorkers cannot occur within <VirtualHost> section".into())
    );
    assert_eq!(
        in_vhost(&mut c, "Listen", &["80"]),
        Err("Listen cannot occur within <VirtualHost> section".into())
    );
    assert_eq!(
        in_vhost(&mut c, "PidFile", &["x"]),
        Err("PidFile cannot occur within <VirtualHost> section".into())
    );
    // The argument count is checked before the context, as httpd's invoke_cmd does.
    assert_eq!(
        in_vhost(&mut c, "StartServers", &[]),
        Err(
            "StartServers takes one argument, Number of child processes launched at server \
             startup"
                .into()
        )
    );
    assert_eq!(
        in_dir(&mut c, "KeepAlive", &["On"]),
        Err("KeepAlive not allowed here".into())
    );
    assert_eq!(
        in_dir(&mut c, "ThreadsPerChild", &[]),
        Err("ThreadsPerChild not allowed here".into())
    );
    assert_eq!(
        in_dir(&mut c, "RequestReadTimeout", &["header=5"]),
        Err("RequestReadTimeout not allowed here".into())
    );
    assert_eq!(c, Config::new());
    for (name, arg) in [
        ("KeepAlive", "Off"),
        ("KeepAliveTimeout", "3"),
        ("MaxKeepAliveRequests", "7"),
        ("Timeout", "9"),
        ("LimitRequestLine", "100"),
        ("LimitRequestFieldSize", "100"),
        ("LimitRequestFields", "10"),
        ("LimitRequestBody", "10"),
        ("RequestReadTimeout", "header=5"),
    ] {
        assert_eq!(in_vhost(&mut c, name, &[arg]), Ok(Applied::Done), "{name}");
    }
    assert_eq!(
        in_dir(&mut c, "LimitRequestBody", &["5"]),
        Ok(Applied::Done)
    );
    assert_eq!(c.limit_request_body, 5);
}

#[test]
fn async_request_worker_factor() {
    assert_eq!(
        with("AsyncRequestWorkerFactor", &["1.5"]).async_request_worker_factor,
        Factor::from_thousandths(1500)
    );
    assert_eq!(
        with("AsyncRequestWorkerFactor", &["1.25"]).async_request_worker_factor,
        Factor::from_thousandths(1250)
    );
    assert_eq!(
        with("AsyncRequestWorkerFactor", &["3"]).async_request_worker_factor,
        Factor::from_thousandths(3000)
    );
    let mut c = Config::new();
    let applied = set(&mut c, "AsyncRequestWorkerFactor", &["0.5"]).unwrap();
    let Applied::Note(note) = applied else {
        panic!("{applied:?}")
    };
    assert_eq!(
        note.to_string(),
        "AsyncRequestWorkerFactor of 0.5 is less than 1, using 1"
    );
    assert_eq!(note.ah(), None);
    assert_eq!(c.async_request_worker_factor, Factor::MIN);
    for bad in ["0", "-1", "-0.5", "0.0"] {
        assert_eq!(
            fails("AsyncRequestWorkerFactor", &[bad]),
            "AsyncRequestWorkerFactor argument must be a positive number",
            "{bad}"
        );
    }
    for bad in ["abc", "2x", "1,5", "inf"] {
        assert_eq!(
            fails("AsyncRequestWorkerFactor", &[bad]),
            "error parsing value",
            "{bad}"
        );
    }
}

#[test]
fn worker_has_no_async_factor_and_its_own_notes() {
    let mut c = Config::new();
    c.mpm = Mpm::Worker;
    assert_eq!(
        set(&mut c, "asyncrequestworkerfactor", &["2"]),
        Err(
            "Invalid command 'asyncrequestworkerfactor', perhaps misspelled or defined by a \
             module not included in the server configuration"
                .into()
        )
    );
    let Ok(Applied::Note(note)) = set(&mut c, "MaxClients", &["50"]) else {
        panic!()
    };
    assert_eq!(
        (note.ah(), note.to_string()),
        (
            Some(324),
            "MaxClients is deprecated, use MaxRequestWorkers instead.".into()
        )
    );
    assert_eq!(c.max_request_workers, 50);
}

#[test]
fn deprecated_aliases_note_it() {
    let mut c = Config::new();
    let Ok(Applied::Note(note)) = set(&mut c, "MaxClients", &["200"]) else {
        panic!()
    };
    assert_eq!(
        (note.ah(), note.to_string()),
        (
            Some(521),
            "MaxClients is deprecated, use MaxRequestWorkers instead.".into()
        )
    );
    assert_eq!(c.max_request_workers, 200);
    let Ok(Applied::Note(note)) = set(&mut c, "MaxRequestsPerChild", &["1000"]) else {
        panic!()
    };
    assert_eq!(
        (note.ah(), note.to_string()),
        (
            Some(545),
            "MaxRequestsPerChild is deprecated, use MaxConnectionsPerChild instead.".into()
        )
    );
    assert_eq!(c.connections_per_child_limit(), Some(1000));
    assert_eq!(
        set(&mut c, "MaxConnectionsPerChild", &["0"]),
        Ok(Applied::Done)
    );
    assert_eq!(c.connections_per_child_limit(), None);
}

#[test]
fn mpm_common_values() {
    let c = with("GracefulShutdownTimeout", &["30"]);
    assert_eq!(c.graceful_shutdown_limit(), Some(Duration::from_secs(30)));
    assert_eq!(
        fails("GracefulShutdownTimeout", &["-1"]),
        "GracefulShutdownTimeout \"-1\" must be a non-negative integer"
    );
    assert_eq!(
        fails("MaxConnectionsPerChild", &["-5"]),
        "MaxConnectionsPerChild \"-5\" must be a non-negative integer"
    );
    assert_eq!(with("MaxMemFree", &["0"]).max_mem_free(), None);
    assert_eq!(with("MaxMemFree", &["100"]).max_mem_free(), Some(102_400));
    assert_eq!(with("MaxMemFree", &["junk"]).max_mem_free(), None);
    assert_eq!(fails("MaxMemFree", &["-1"]), "Invalid MaxMemFree value: -1");
    assert_eq!(
        fails("MaxMemFree", &["99999999999999999999"]),
        "Invalid MaxMemFree value: 99999999999999999999"
    );
    assert_eq!(
        fails("MaxMemFree", &["4294967296"]),
        "Invalid MaxMemFree value: 4294967296"
    );
    assert_eq!(
        with("ThreadStackSize", &["1048576"]).thread_stack_size,
        1_048_576
    );
    assert_eq!(
        fails("ThreadStackSize", &["-2"]),
        "Invalid ThreadStackSize value: -2"
    );
    assert!(with("EnableExceptionHook", &["ON"]).enable_exception_hook);
    assert!(!with("EnableExceptionHook", &["off"]).enable_exception_hook);
    assert_eq!(
        fails("EnableExceptionHook", &["maybe"]),
        "parameter must be 'on' or 'off'"
    );
}

#[test]
fn paths_are_bounded() {
    let c = with("PidFile", &["/run/eventmpm.pid"]);
    assert_eq!(c.pid_file_path(), "/run/eventmpm.pid");
    let c = with("ScoreBoardFile", &["logs/sb"]);
    assert_eq!(c.score_board_file.as_deref(), Some("logs/sb"));
    let c = with("CoreDumpDirectory", &["/tmp"]);
    assert_eq!(c.core_dump_directory.as_deref(), Some("/tmp"));
    let fits = "p".repeat(MAX_PATH_LEN);
    assert_eq!(with("PidFile", &[&fits]).pid_file_path(), fits);
    let long = "p".repeat(MAX_PATH_LEN + 1);
    assert_eq!(
        fails("PidFile", &[&long]),
        "PidFile argument is longer than 1024 bytes"
    );
    assert_eq!(
        fails("CoreDumpDirectory", &[&long]),
        "CoreDumpDirectory argument is longer than 1024 bytes"
    );
    assert_eq!(
        fails("Mutex", &[&std::format!("file:{long}")]),
        "Mutex argument is longer than 1024 bytes"
    );
}

#[test]
fn user_and_group() {
    let c = with("User", &["www-data"]);
    assert_eq!(
        c.user,
        Account::Name(AccountName::try_from("www-data").unwrap())
    );
    assert_eq!(with("Group", &["#33"]).group, Account::Id(33));
    assert_eq!(fails("User", &["#0"]), ROOT_USER_REFUSED);
}

#[test]
fn listen_directives() {
    let mut c = Config::new();
    assert_eq!(set(&mut c, "Listen", &["80"]), Ok(Applied::Done));
    assert_eq!(
        set(&mut c, "Listen", &["127.0.0.1:8443", "https"]),
        Ok(Applied::Done)
    );
    assert_eq!(set(&mut c, "Listen", &["[::1]:80"]), Ok(Applied::Done));
    assert_eq!(c.listeners.len(), 3);
    assert_eq!(
        c.listeners[1].address,
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
    );
    assert_eq!(
        set(&mut c, "Listen", &["*:80"]),
        Err("Cannot define multiple Listeners on the same IP:port".into())
    );
    assert_eq!(c.listeners.len(), 3);
    for port in 0..(MAX_LISTENERS as u16 - 3) {
        let spec = std::format!("{}", 9000 + port);
        assert_eq!(set(&mut c, "Listen", &[&spec]), Ok(Applied::Done));
    }
    assert_eq!(
        set(&mut c, "Listen", &["7000"]),
        Err("Too many Listen directives (at most 16)".into())
    );
    assert_eq!(fails("Listen", &[]), "Listen requires 1 or 2 arguments.");
    assert_eq!(with("ListenBacklog", &["1024"]).listen_backlog, 1024);
    assert_eq!(fails("ListenBacklog", &["0"]), "ListenBacklog must be > 0");
    assert_eq!(
        with("ListenCoresBucketsRatio", &["4"]).listen_cores_buckets_ratio,
        4
    );
    assert_eq!(
        fails("ListenCoresBucketsRatio", &["x"]),
        "ListenCoresBucketsRatio must be > 0"
    );
    assert_eq!(with("SendBufferSize", &["512"]).send_buffer_size, 512);
    assert_eq!(with("SendBufferSize", &["0"]).send_buffer_size, 0);
    assert_eq!(
        fails("SendBufferSize", &["511"]),
        "SendBufferSize must be >= 512 bytes, or 0 for system default."
    );
    assert_eq!(
        with("ReceiveBufferSize", &["65536"]).receive_buffer_size,
        65536
    );
    assert_eq!(
        fails("ReceiveBufferSize", &["-1"]),
        "ReceiveBufferSize must be >= 512 bytes, or 0 for system default."
    );
}

#[test]
fn keep_alive_and_timeouts() {
    assert!(!with("KeepAlive", &["off"]).keep_alive);
    // FLAG only looks at its first word, as httpd does.
    assert!(with("KeepAlive", &["ON", "ignored"]).keep_alive);
    assert_eq!(
        with("KeepAliveTimeout", &["15"]).keep_alive_timeout(),
        Duration::from_secs(15)
    );
    assert_eq!(
        with("KeepAliveTimeout", &["100ms"]).keep_alive_timeout(),
        Duration::from_millis(100)
    );
    for bad in ["abc", "5x", "-1"] {
        assert_eq!(
            fails("KeepAliveTimeout", &[bad]),
            "KeepAliveTimeout has wrong format"
        );
    }
    assert_eq!(
        with("MaxKeepAliveRequests", &["0"]).keep_alive_requests_limit(),
        None
    );
    assert_eq!(
        fails("MaxKeepAliveRequests", &["-1"]),
        "MaxKeepAliveRequests \"-1\" must be a non-negative integer"
    );
    assert_eq!(
        with("Timeout", &["300"]).timeout(),
        Duration::from_secs(300)
    );
    assert_eq!(
        fails("Timeout", &["-3"]),
        "Timeout \"-3\" must be a non-negative integer"
    );
}

#[test]
fn request_limits() {
    assert_eq!(with("LimitRequestLine", &["4094"]).limit_request_line, 4094);
    assert_eq!(
        fails("LimitRequestLine", &["-1"]),
        "LimitRequestLine \"-1\" must be a non-negative integer"
    );
    assert_eq!(
        with("LimitRequestFieldSize", &["100"]).limit_request_field_size,
        100
    );
    assert_eq!(
        fails("limitrequestfieldsize", &["-1"]),
        "LimitRequestFieldsize \"-1\" must be a non-negative integer"
    );
    assert_eq!(
        with("LimitRequestFields", &["0"]).request_fields_limit(),
        None
    );
    assert_eq!(
        fails("LimitRequestFields", &["-1"]),
        "LimitRequestFields \"-1\" must be a non-negative integer (0 = no limit)"
    );
    assert_eq!(with("LimitRequestBody", &["0"]).request_body_limit(), None);
    assert_eq!(
        with("LimitRequestBody", &["9223372036854775807"]).limit_request_body,
        i64::MAX as u64
    );
    assert_eq!(
        fails("LimitRequestBody", &["99999999999999999999"]),
        "LimitRequestBody argument is not parsable."
    );
    for bad in ["-1", "1k", "abc"] {
        assert_eq!(
            fails("LimitRequestBody", &[bad]),
            "LimitRequestBody requires a non-negative integer.",
            "{bad}"
        );
    }
}

#[test]
fn request_read_timeout_directive() {
    let c = with(
        "RequestReadTimeout",
        &["header=10-30,MinRate=1000", "body=0"],
    );
    assert_eq!(c.request_read_timeout.header.timeout_s, 10);
    assert_eq!(c.request_read_timeout.header.max_timeout_s, 30);
    assert_eq!(c.request_read_timeout.header.min_rate, 1000);
    assert!(!c.request_read_timeout.body.is_enabled());
    assert_eq!(
        fails("RequestReadTimeout", &["header=x"]),
        "RequestReadTimeout: header=x: Value 'x' not numerical"
    );
}

#[test]
fn handshake_stages_for_the_state_machine() {
    assert_eq!(
        Config::new().handshake_timeout(),
        None,
        "off by default, as httpd"
    );
    let c = with("RequestReadTimeout", &["handshake=5-10,MinRate=100"]);
    assert_eq!(
        c.handshake_timeout(),
        Some(crate::conn::HeadTimeout {
            initial: Duration::from_secs(5),
            extended: Some(Duration::from_secs(5)),
            min_rate: 100,
        })
    );
    let c = with("RequestReadTimeout", &["handshake=3"]);
    assert_eq!(
        c.handshake_timeout(),
        Some(crate::conn::HeadTimeout {
            initial: Duration::from_secs(3),
            extended: None,
            min_rate: 0,
        })
    );
    assert_eq!(
        with("RequestReadTimeout", &["handshake=0"]).handshake_timeout(),
        None
    );
}

#[test]
fn mutex_directive() {
    let c = with("Mutex", &["file:/var/lock/apache2", "default"]);
    assert_eq!(c.mutex.default.dir.as_deref(), Some("/var/lock/apache2"));
    assert_eq!(
        fails("Mutex", &["sem", "mpm-accept"]),
        "Mutex type mpm-accept is not valid"
    );
    let mut c = Config::new();
    c.mpm = Mpm::Worker;
    assert_eq!(
        set(&mut c, "Mutex", &["flock", "mpm-accept"]),
        Ok(Applied::Done)
    );
    assert_eq!(c.mutex.accept_mutex().mechanism, MutexMechanism::Flock);
    assert_eq!(
        DirectiveError::InvalidMutexDirectory {
            arg: "file:/nonexistent"
        }
        .to_string(),
        "Invalid Mutex directory in argument file:/nonexistent"
    );
}

/// Arguments that are mostly junk but often close to valid, so every path gets exercised.
fn argument() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~é]{0,24}",
        "(header|body|handshake|x)=[0-9-]{0,4}(,[Mm]in[Rr]ate=[0-9-]{0,3})?",
        "[0-9.:*\\[\\]a-f-]{0,14}",
        "(file|flock|none|sem|pthread|bogus)(:[a-z/]{0,5})?",
        Just(String::from("default")),
        Just(String::from("mpm-accept")),
        Just(String::from("OmitPID")),
        Just(String::from("on")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// No directive panics on any arguments, and a failure leaves the config unchanged.
    #[test]
    fn set_never_panics(
        index in 0usize..40,
        args in proptest::collection::vec(argument(), 0..4),
        context in 0u8..3,
        worker in any::<bool>(),
    ) {
        const NAMES: [&str; 41] = [
            "StartServers", "ServerLimit", "MinSpareThreads", "MaxSpareThreads", "MaxClients",
            "MaxRequestWorkers", "ThreadsPerChild", "ThreadLimit", "AsyncRequestWorkerFactor",
            "GracefulShutdownTimeout", "ListenBacklog", "ListenCoresBucketsRatio", "Listen",
            "SendBufferSize", "ReceiveBufferSize", "PidFile", "ScoreBoardFile",
            "MaxRequestsPerChild", "MaxConnectionsPerChild", "CoreDumpDirectory", "MaxMemFree",
            "ThreadStackSize", "EnableExceptionHook", "User", "Group", "Mutex", "KeepAlive",
            "KeepAliveTimeout", "MaxKeepAliveRequests", "Timeout", "LimitRequestLine",
            "LimitRequestFieldSize", "LimitRequestFields", "LimitRequestBody",
            "RequestReadTimeout", "Unknown", "Listen", "Mutex", "RequestReadTimeout", "User",
            "HttpProtocolOptions",
        ];
        let context = [Context::Server, Context::VirtualHost, Context::Directory][context as usize];
        let mut c = Config::new();
        if worker {
            c.mpm = Mpm::Worker;
        }
        let before = c.clone();
        let refs: std::vec::Vec<&str> = args.iter().map(String::as_str).collect();
        match c.set(NAMES[index], &refs, context) {
            Ok(_) => {}
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                prop_assert_eq!(&c, &before);
            }
        }
        c.check(true, &mut |w| { let _ = w.console().to_string(); });
    }

    /// Whatever was configured, the checked process model is consistent.
    #[test]
    fn check_establishes_the_invariants(
        server_limit in -5i32..30_000,
        thread_limit in -5i32..120_000,
        per_child in -5i32..200,
        workers in -5i32..10_000,
        start in -5i32..100,
        min_spare in -5i32..500,
        max_spare in -5i32..500,
        worker in any::<bool>(),
    ) {
        let mut c = Config::new();
        c.mpm = if worker { Mpm::Worker } else { Mpm::Event };
        c.server_limit = server_limit;
        c.thread_limit = thread_limit;
        c.threads_per_child = per_child;
        c.max_request_workers = workers;
        c.start_servers = start;
        c.min_spare_threads = min_spare;
        c.max_spare_threads = max_spare;
        c.check(true, &mut |_| {});
        let p = c.process();
        prop_assert!((1..=MAX_SERVER_LIMIT).contains(&p.server_limit));
        prop_assert!((1..=c.mpm.max_thread_limit()).contains(&p.thread_limit));
        prop_assert!((1..=p.thread_limit).contains(&p.threads_per_child));
        prop_assert!(p.max_workers >= p.threads_per_child);
        prop_assert_eq!(p.max_workers % p.threads_per_child, 0);
        prop_assert!((1..=p.server_limit).contains(&p.active_daemons_limit));
        prop_assert!((1..=p.active_daemons_limit).contains(&p.start_servers));
        prop_assert!(p.min_spare_threads >= 1);
        prop_assert!(p.max_spare_threads > p.min_spare_threads + p.threads_per_child);
        // Checking again changes nothing; only httpd's uncapped MaxRequestWorkers is repeated.
        let mut again = c.clone();
        let mut other = false;
        again.check(false, &mut |w| {
            other |= !matches!(w.clamp, Clamp::MaxWorkersAboveServerLimit { .. })
        });
        prop_assert!(!other);
        prop_assert_eq!(again, c);
    }
}
