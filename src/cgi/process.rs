//! A CGI script's process: started in a process group of its own with piped standard streams,
//! stopped with that whole group, and always reaped.
//!
//! The script runs as the child process's user (the child dropped its privileges before it
//! started any thread), in the script's directory, with exactly the CGI environment (nothing of
//! the server's own environment leaks through). Between fork and exec every signal goes back to
//! its default disposition, the signal mask is cleared (the standard library does that) and every
//! descriptor beyond the three pipes is closed.
//!
//! Stopping is httpd's `APR_KILL_AFTER_TIMEOUT`, applied to the group so a shell script's own
//! children go too: SIGTERM, a grace period, then SIGKILL. A process that is dropped unreaped is
//! killed and reaped then, so no path leaves a zombie or a stray group behind.

use std::ffi::OsString;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a script (and its group) gets between SIGTERM and SIGKILL, and how long a script
/// that closed its output may take to exit before it is stopped.
pub const GRACE: Duration = Duration::from_secs(2);
/// How long the rest of a script's group gets to follow it after SIGTERM before SIGKILL.
const GROUP_SETTLE: Duration = Duration::from_millis(50);
/// How often the exit of a stopping script is checked.
const POLL_EXIT: Duration = Duration::from_millis(5);

/// A running script.
#[derive(Debug)]
pub struct Running {
    child: Child,
    /// The process group (the script's pid).
    pgid: libc::pid_t,
    status: Option<ExitStatus>,
}

/// The script's ends of its standard streams, non-blocking on our side.
#[derive(Debug)]
pub struct Pipes {
    /// The request body goes here.
    pub stdin: Option<ChildStdin>,
    /// The response comes from here.
    pub stdout: Option<ChildStdout>,
    /// Lines for the error log.
    pub stderr: Option<ChildStderr>,
}

fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with flags read from it.
    unsafe {
        let fd = fd.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Start `program` in `dir` with exactly `env`.
pub fn spawn(
    program: &Path,
    dir: &Path,
    env: &[(OsString, OsString)],
) -> io::Result<(Running, Pipes)> {
    let mut cmd = Command::new(program);
    if let Some(name) = program.file_name() {
        cmd.arg0(name);
    }
    cmd.current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: the closure only makes async-signal-safe system calls (see sys::prepare_exec).
    unsafe {
        cmd.pre_exec(|| {
            crate::sys::prepare_exec();
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pipes = Pipes {
        stdin: child.stdin.take(),
        stdout: child.stdout.take(),
        stderr: child.stderr.take(),
    };
    let running = Running {
        pgid: child.id() as libc::pid_t,
        child,
        status: None,
    };
    if let Some(p) = &pipes.stdin {
        set_nonblocking(p)?;
    }
    if let Some(p) = &pipes.stdout {
        set_nonblocking(p)?;
    }
    if let Some(p) = &pipes.stderr {
        set_nonblocking(p)?;
    }
    Ok((running, pipes))
}

impl Running {
    /// The script's pid (and process group id).
    pub fn pid(&self) -> u32 {
        self.pgid as u32
    }

    fn signal_group(&self, sig: libc::c_int) -> bool {
        // SAFETY: kill on our own child's process group; the group exists while any member
        // does, so its id cannot have been reused for another group.
        unsafe { libc::kill(-self.pgid, sig) == 0 }
    }

    fn group_gone(&self) -> bool {
        !self.signal_group(0)
    }

    fn try_reap(&mut self) -> bool {
        if self.status.is_none() {
            match self.child.try_wait() {
                Ok(Some(st)) => self.status = Some(st),
                Ok(None) => {}
                // ECHILD: nothing left to reap.
                Err(_) => self.status = Some(ExitStatus::from_raw(0)),
            }
        }
        self.status.is_some()
    }

    /// Wait up to `limit` for the script to exit by itself; the exit status if it did.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        while !self.try_reap() && Instant::now() < end {
            std::thread::sleep(POLL_EXIT);
        }
        self.status
    }

    /// Stop the whole group: SIGTERM, up to [`GRACE`] for the script to exit, a moment for the
    /// rest of its group, then SIGKILL for whatever of the group is left. Returns the script's
    /// exit status (reaped).
    ///
    /// The group is not waited for until it is empty: an orphaned member that has exited stays
    /// in it as a zombie until init reaps it, which some init processes (container ones) never
    /// do. Members still running after the script has exited are killed.
    pub fn kill_group(&mut self) -> ExitStatus {
        if !self.group_gone() {
            self.signal_group(libc::SIGTERM);
            let end = Instant::now() + GRACE;
            while !self.try_reap() && Instant::now() < end {
                std::thread::sleep(POLL_EXIT);
            }
            let settle = Instant::now() + GROUP_SETTLE;
            while !self.group_gone() && Instant::now() < settle {
                std::thread::sleep(POLL_EXIT);
            }
            self.signal_group(libc::SIGKILL);
        }
        self.reap()
    }

    /// Let a script whose output has ended exit by itself within [`GRACE`], else stop its group.
    pub fn finish(&mut self) -> ExitStatus {
        match self.wait_for(GRACE) {
            Some(st) => st,
            None => self.kill_group(),
        }
    }

    /// Block until the script is reaped (it has exited or been killed).
    fn reap(&mut self) -> ExitStatus {
        if self.status.is_none() {
            self.status = Some(
                self.child
                    .wait()
                    .unwrap_or_else(|_| ExitStatus::from_raw(0)),
            );
        }
        self.status.unwrap_or_else(|| ExitStatus::from_raw(0))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.signal_group(libc::SIGKILL);
            self.reap();
        }
    }
}

/// How a script ended, for the error log ("exited with status 1", "terminated by signal 11
/// (SIGSEGV)").
pub fn describe(st: ExitStatus) -> String {
    if let Some(code) = st.code() {
        format!("exited with status {code}")
    } else if let Some(sig) = st.signal() {
        let name = match sig {
            libc::SIGSEGV => " (SIGSEGV)",
            libc::SIGABRT => " (SIGABRT)",
            libc::SIGKILL => " (SIGKILL)",
            libc::SIGTERM => " (SIGTERM)",
            libc::SIGBUS => " (SIGBUS)",
            libc::SIGPIPE => " (SIGPIPE)",
            _ => "",
        };
        format!(
            "terminated by signal {sig}{name}{}",
            if st.core_dumped() {
                ", core dumped"
            } else {
                ""
            }
        )
    } else {
        "ended".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn runs_in_its_own_group_with_only_the_given_environment() {
        let (mut p, mut pipes) = spawn(
            Path::new("/bin/sh"),
            Path::new("/"),
            &[
                ("ONLY".into(), "this".into()),
                ("PATH".into(), "/usr/bin:/bin".into()),
            ],
        )
        .unwrap();
        // sh reads its script from stdin.
        use std::io::Write;
        let mut stdin = pipes.stdin.take().unwrap();
        set_blocking_for_test(&stdin);
        stdin
            .write_all(b"echo \"$ONLY $(cut -d' ' -f5 /proc/$$/stat) $$ $(pwd)\"\n")
            .unwrap();
        drop(stdin);
        let st = p.wait_for(Duration::from_secs(10)).expect("exits");
        assert!(st.success());
        let mut out = String::new();
        let mut so = pipes.stdout.take().unwrap();
        set_blocking_for_test(&so);
        so.read_to_string(&mut out).unwrap();
        let parts: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(parts[0], "this", "{out}");
        assert_eq!(parts[1], parts[2], "its own process group: {out}");
        assert_eq!(parts[3], "/", "{out}");
    }

    fn set_blocking_for_test(fd: &impl AsRawFd) {
        // SAFETY: fcntl on a descriptor the test owns.
        unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }

    fn live_members(pgid: u32) -> Vec<u32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|p| {
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                    return false;
                };
                let rest = &stat[stat.rfind(')').unwrap() + 2..];
                let f: Vec<&str> = rest.split_whitespace().collect();
                f[0] != "Z" && f[2] == pgid.to_string()
            })
            .collect()
    }

    #[test]
    fn kill_group_stops_the_children_of_the_script_too() {
        let (mut p, mut pipes) = spawn(
            Path::new("/bin/sh"),
            Path::new("/"),
            &[("PATH".into(), "/usr/bin:/bin".into())],
        )
        .unwrap();
        use std::io::Write;
        let mut stdin = pipes.stdin.take().unwrap();
        set_blocking_for_test(&stdin);
        stdin
            .write_all(b"sleep 300 & echo $!; exec sleep 301\n")
            .unwrap();
        let mut so = pipes.stdout.take().unwrap();
        set_blocking_for_test(&so);
        let mut line = [0u8; 32];
        let n = so.read(&mut line).unwrap();
        let child: u32 = std::str::from_utf8(&line[..n])
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let pid = p.pid();
        assert_eq!(live_members(pid).len(), 2, "the script and its child");
        let st = p.kill_group();
        assert_eq!(st.signal(), Some(libc::SIGTERM), "{}", describe(st));
        assert!(
            live_members(pid).is_empty(),
            "child {child} of the group survived"
        );
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "reaped");
    }

    #[test]
    fn describes_exits() {
        assert_eq!(
            describe(ExitStatus::from_raw(1 << 8)),
            "exited with status 1"
        );
        assert_eq!(
            describe(ExitStatus::from_raw(libc::SIGSEGV)),
            "terminated by signal 11 (SIGSEGV)"
        );
    }
}
