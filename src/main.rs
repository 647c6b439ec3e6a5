//! `eventmpm`: the command line, as httpd's.
//!
//! ```text
//! eventmpm [-D name] [-d directory] [-f file] [-C "directive"] [-c "directive"]
//!          [-k start|restart|graceful|graceful-stop|stop] [-v] [-V] [-h] [-l] [-M] [-S] [-t] [-X]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use eventmpm::config::{self, Options};
use eventmpm::{errorlog, parent, server};

const USAGE: &str = "\
Usage: eventmpm [-D name] [-d directory] [-f file]
                [-C \"directive\"] [-c \"directive\"]
                [-k start|restart|graceful|graceful-stop|stop]
                [-v] [-V] [-h] [-l] [-M] [-S] [-t] [-X]
Options:
  -D name            : define a name for use in <IfDefine name> directives
  -d directory       : specify an alternate initial ServerRoot
  -f file            : specify an alternate ServerConfigFile
                       (without -f: built-in defaults, serving the current
                       directory on 127.0.0.1:8080 with /server-status)
  -C \"directive\"     : process directive before reading config files
  -c \"directive\"     : process directive after reading config files
  -v                 : show version number
  -V                 : show compile settings
  -h                 : list available command line options (this page)
  -l                 : list compiled in modules
  -M                 : show all loaded modules
  -t                 : run syntax check for config files
  -S                 : a synonym for -t -D DUMP_VHOSTS -D DUMP_RUN_CFG
  -k start|restart|graceful|graceful-stop|stop
                     : signal a running server through its PidFile
                       (start detaches into the background)
  -X                 : debug mode (only one worker, do not detach)";

#[derive(Debug, Default)]
struct Args {
    opts: Options,
    /// `-k VERB`.
    control: Option<String>,
    test: bool,
    single: bool,
    version: bool,
    settings: bool,
    list_modules: bool,
    loaded_modules: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .ok_or_else(|| format!("option requires an argument -- '{flag}'"))
        };
        match arg.as_str() {
            "-f" => a.opts.file = Some(PathBuf::from(value("f")?)),
            "-d" => a.opts.server_root = Some(PathBuf::from(value("d")?)),
            "-D" => a.opts.defines.push(value("D")?),
            "-C" => a.opts.before.push(value("C")?),
            "-c" => a.opts.after.push(value("c")?),
            "-k" => a.control = Some(value("k")?),
            "-t" => a.test = true,
            "-S" => {
                a.test = true;
                a.opts.defines.push("DUMP_VHOSTS".into());
                a.opts.defines.push("DUMP_RUN_CFG".into());
            }
            "-X" => a.single = true,
            "-v" => a.version = true,
            "-V" => a.settings = true,
            "-l" => a.list_modules = true,
            "-M" => a.loaded_modules = true,
            "-h" | "-?" | "--help" => return Err(String::new()),
            // `-DNAME`, `-fFILE`: httpd's getopt accepts values attached to the flag.
            s if s.starts_with("-D") && s.len() > 2 => a.opts.defines.push(s[2..].to_string()),
            s if s.starts_with("-f") && s.len() > 2 => a.opts.file = Some(PathBuf::from(&s[2..])),
            s if s.starts_with("-d") && s.len() > 2 => {
                a.opts.server_root = Some(PathBuf::from(&s[2..]))
            }
            s => return Err(format!("illegal option -- '{}'", s.trim_start_matches('-'))),
        }
    }
    // httpd's `-t -D DUMP_MODULES` is `-M`.
    if a.test && a.opts.defines.iter().any(|d| d == "DUMP_MODULES") {
        a.loaded_modules = true;
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("eventmpm: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(if msg.is_empty() { 0 } else { 1 });
        }
    };
    if args.version {
        println!("Server version: {}", server::version());
        println!("Server built:   {}", server::BUILT);
        return ExitCode::SUCCESS;
    }
    let mut warnings = Vec::new();
    // -V, -M and -l describe the build and the configuration; they need no Listen.
    let describe = args.settings || args.list_modules || args.loaded_modules;
    let loaded = if describe {
        config::read(&args.opts).map(|mut c| {
            c.core
                .check(true, &mut |w| warnings.push(w.console().to_string()));
            c
        })
    } else {
        config::load(&args.opts, &mut |w| warnings.push(w))
    };
    let cfg = match loaded {
        Ok(c) => c,
        Err(e) => {
            // httpd: "AH00526: Syntax error on line N of FILE:" then the message; we give the
            // compiler-style one-liner editors and scripts understand.
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    for w in &warnings {
        eprintln!("{w}");
    }
    if args.settings {
        println!("Server version: {}", server::version());
        println!("Server built:   {}", server::BUILT);
        println!("Architecture:   {}-bit", usize::BITS);
        println!("Server MPM:     {}", server::mpm_name(cfg.core.mpm));
        println!("  threaded:     yes (fixed thread count)");
        println!("    forked:     yes (variable process count)");
        println!("Server compiled with....");
        println!(" -D SERVER_CONFIG_FILE=\"{}\"", config::BUILTIN_NAME);
        #[cfg(feature = "tls")]
        println!(" -D TLS=\"rustls on {}\"", eventmpm::tls::CRYPTO);
        // Which deflate makes the gzip'd bodies: only zlib's bytes are httpd's.
        println!(
            " -D DEFLATE=\"{}\"",
            eventmpm::modules::deflate::implementation()
        );
        return ExitCode::SUCCESS;
    }
    if args.list_modules || args.loaded_modules {
        println!(
            "{}",
            if args.list_modules {
                "Compiled in modules:"
            } else {
                "Loaded Modules:"
            }
        );
        for m in cfg.modules.list() {
            if args.list_modules {
                println!("  {m}");
            } else {
                println!(" {m} (static)");
            }
        }
        return ExitCode::SUCCESS;
    }
    if args.test {
        for n in &cfg.notes {
            eprintln!("{n}");
        }
        if let Err(e) = check_paths(&cfg) {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
        let defined = |name: &str| cfg.defines.iter().any(|(d, _)| d == name);
        let (vhosts, run_cfg) = (defined("DUMP_VHOSTS"), defined("DUMP_RUN_CFG"));
        if vhosts {
            print!("{}", eventmpm::vhosts::HostTable::new(&cfg).dump());
        }
        if run_cfg {
            print!("{}", run_config(&cfg));
        }
        // httpd's config-dump run mode says nothing more.
        if !vhosts && !run_cfg {
            eprintln!("Syntax OK");
        }
        return ExitCode::SUCCESS;
    }
    let target = if cfg.error_log == std::path::Path::new("/dev/stderr") {
        errorlog::Target::Stderr
    } else {
        match errorlog::open(&cfg.error_log) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "eventmpm: (2)AH00091: could not open error log file {}: {e}",
                    cfg.error_log.display()
                );
                return ExitCode::from(1);
            }
        }
    };
    errorlog::install(target, cfg.log_level, server::log_module(cfg.core.mpm));
    for n in &cfg.notes {
        log::warn!("{n}");
    }
    if args.single {
        return ExitCode::from(server::run_single(&cfg) as u8);
    }
    match args.control.as_deref() {
        None => {}
        Some("start") => {
            if let Some(pid) = running_pid(&cfg) {
                eprintln!("eventmpm (pid {pid}) already running");
                return ExitCode::SUCCESS;
            }
            // httpd detaches for -k start; a plain run stays in the foreground.
            if let Err(e) = eventmpm::server::daemonize() {
                eprintln!("eventmpm: cannot detach: {e}");
                return ExitCode::from(1);
            }
        }
        Some(verb) => return control(&cfg, verb),
    }
    ExitCode::from(parent::run(cfg, args.opts) as u8)
}

/// The pid in the PidFile, if that process is alive.
fn running_pid(cfg: &config::ServerConfig) -> Option<i32> {
    let text = std::fs::read_to_string(cfg.pid_file()?).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    // SAFETY: kill with signal 0 only checks that the process exists.
    (pid > 0 && unsafe { libc::kill(pid, 0) } == 0).then_some(pid)
}

/// `-k stop|restart|graceful|graceful-stop`: signal the running parent through its PidFile, with
/// httpd's messages.
fn control(cfg: &config::ServerConfig, verb: &str) -> ExitCode {
    let sig = match verb {
        "stop" => libc::SIGTERM,
        "restart" => libc::SIGHUP,
        "graceful" => libc::SIGUSR1,
        "graceful-stop" => libc::SIGWINCH,
        other => {
            eprintln!(
                "eventmpm: unknown -k argument '{other}' (start, stop, restart, graceful, graceful-stop)"
            );
            return ExitCode::from(1);
        }
    };
    let Some(path) = cfg.pid_file() else {
        eprintln!("eventmpm: -k {verb} needs a PidFile; the built-in defaults write none (use -f)");
        return ExitCode::from(1);
    };
    let pid = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok());
    let Some(pid) = pid.filter(|&p| p > 0) else {
        eprintln!("eventmpm (no pid file) not running");
        return ExitCode::from(if verb == "stop" || verb == "graceful-stop" {
            0
        } else {
            1
        });
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        eprintln!("eventmpm (pid {pid}?) not running");
        return ExitCode::from(if verb == "stop" || verb == "graceful-stop" {
            0
        } else {
            1
        });
    }
    // SAFETY: signalling the pid the PidFile names, as httpd's ap_signal_server does.
    if unsafe { libc::kill(pid, sig) } != 0 {
        eprintln!(
            "eventmpm: cannot signal pid {pid}: {}",
            std::io::Error::last_os_error()
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// httpd's `-t -D DUMP_RUN_CFG` (core's `core_dump_config`): ServerRoot, the main server's
/// DocumentRoot and ErrorLog, the PidFile and the defined names.
fn run_config(cfg: &config::ServerConfig) -> String {
    let mut out = format!(
        "ServerRoot: \"{}\"\nMain DocumentRoot: \"{}\"\nMain ErrorLog: \"{}\"\n",
        cfg.server_root.display(),
        cfg.document_root.display(),
        cfg.error_log.display()
    );
    // httpd's ap_dump_mutexes: the default mutex's settings, and (under the worker MPM, which
    // registers it) mpm-accept's.
    let mutex = |name: &str, m: &eventmpm_core::config::MutexSetting| {
        use eventmpm_core::config::MutexMechanism as M;
        let mech = match m.mechanism {
            M::Default => "default",
            M::Fcntl => "fcntl",
            M::Flock => "flock",
            M::PosixSem => "posixsem",
            M::SysvSem => "sysvsem",
            M::Pthread => "pthread",
        };
        let dir = match &m.dir {
            Some(d) => cfg.resolve(d.as_str()).display().to_string(),
            None => format!("{}/", cfg.runtime_relative("").display()),
        };
        let omit = if m.omit_pid { "[OmitPid]" } else { "" };
        format!("Mutex {name}: dir=\"{dir}\" mechanism={mech} {omit}\n")
    };
    out.push_str(&mutex("default", &cfg.core.mutex.default));
    if cfg.core.mpm == eventmpm_core::config::Mpm::Worker {
        if cfg.core.mutex.mpm_accept.set {
            out.push_str(&mutex("mpm-accept", &cfg.core.mutex.mpm_accept));
        } else {
            out.push_str("Mutex mpm-accept: using_defaults\n");
        }
    }
    let pid = cfg.resolve(cfg.core.pid_file_path());
    out.push_str(&format!("PidFile: \"{}\"\n", pid.display()));
    for (name, value) in &cfg.defines {
        match value {
            Some(v) => out.push_str(&format!("Define: {name}={v}\n")),
            None => out.push_str(&format!("Define: {name}\n")),
        }
    }
    // mod_unixd's lines: the names as configured, the ids they resolve to.
    if let Ok(id) = eventmpm::privileges::resolve(&cfg.core.user, &cfg.core.group) {
        let name = |a: &eventmpm_core::config::Account| match a {
            eventmpm_core::config::Account::Name(n) => n.as_str().to_string(),
            eventmpm_core::config::Account::Id(u32::MAX) => "#-1".to_string(),
            eventmpm_core::config::Account::Id(n) => format!("#{n}"),
        };
        out.push_str(&format!(
            "User: name=\"{}\" id={}\nGroup: name=\"{}\" id={}\n",
            name(&cfg.core.user),
            id.uid,
            name(&cfg.core.group),
            id.gid
        ));
    }
    out
}

/// The checks `-t` makes beyond syntax (httpd warns about a missing DocumentRoot, the main
/// server's and each virtual host's).
fn check_paths(cfg: &config::ServerConfig) -> Result<(), String> {
    let roots = std::iter::once(&cfg.document_root)
        .filter(|_| cfg.document_root_set)
        .chain(cfg.vhosts.iter().filter_map(|v| v.document_root.as_ref()));
    for root in roots {
        if !root.is_dir() {
            eprintln!(
                "AH00112: Warning: DocumentRoot [{}] does not exist",
                root.display()
            );
        }
    }
    if let Some(t) = &cfg.types_config
        && let Err(e) = std::fs::read_to_string(t)
    {
        return Err(format!(
            "{}: could not open mime types config file: {e}",
            t.display()
        ));
    }
    Ok(())
}
