//! Starting a program from routelab without copying routelab: `clone(CLONE_VM |
//! CLONE_VFORK)`, as `posix_spawn` does, plus what `posix_spawn` cannot do (enter a
//! network namespace, become the daemon user, a parent-death signal).
//!
//! `fork` copies the caller's page tables and descriptor table, and the exec that follows
//! tears the copy down again. routelab grows with the lab it holds (a descriptor and a
//! netlink socket per namespace, tens of MiB mapped), so with `fork` every BIRD started
//! cost more than the one before: 1.0 ms per start at 50 nodes, 5.4 ms at 500, measured
//! with the scale bench (BIRDs held stopped, so only the starts counted), most of it in the
//! kernel's `copy_page_range`. Here the child
//! runs on routelab's own memory until it execs, while the calling thread waits.
//!
//! # Rules for the child
//!
//! Until it execs, the child shares routelab's memory with routelab's other threads, which
//! keep running. So it allocates nothing, takes no locks, reads only the [`Job`] its
//! parent prepared (which lives on the waiting thread's stack), and makes plain system
//! calls. Credentials change through raw system calls ([`DaemonUser::become_in_child`]):
//! glibc's `setresuid` would hand the change to every thread it knows of, which here are
//! routelab's. Signals are blocked from before the clone until just before the exec, and
//! the child's handlers (a copy of routelab's) are reset first, so none of routelab's
//! handlers runs in the child. A failing step stores its errno in the job and the child
//! exits with 127; the parent reaps it and returns the error.
//!
//! Limits: the child inherits every descriptor routelab has that is not close-on-exec
//! (Rust opens all of its own close-on-exec), and the exec still closes the others one by
//! one, which grows with the lab (about 0.3 s in all for 500 starts).

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use super::user::DaemonUser;
use crate::net::Netns;

/// What happens to the child when routelab ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// SIGKILL when the thread that started it exits (a parent-death signal); a child
    /// whose parent is already gone by then does not start.
    DiesWithParent,
    /// A session of its own: it outlives routelab and gets no signals from its terminal.
    OwnSession,
    /// Neither: an ordinary child.
    Ordinary,
}

/// A program to start.
#[derive(Debug)]
pub struct Spawn<'a> {
    /// The program's path: absolute, or relative to routelab's working directory.
    pub program: &'a Path,
    /// The arguments after the program's name.
    pub args: &'a [&'a OsStr],
    /// The whole environment (`NAME=value`); nothing else is inherited.
    pub env: &'a [&'a str],
    /// The directory it starts in.
    pub cwd: &'a Path,
    /// Standard output and error (standard input is `/dev/null`).
    pub stdout: BorrowedFd<'a>,
    pub stderr: BorrowedFd<'a>,
    /// The network namespace it runs in; `None`: routelab's.
    pub netns: Option<BorrowedFd<'a>>,
    /// The user it runs as; `None`: routelab's.
    pub user: Option<DaemonUser>,
    pub lifetime: Lifetime,
}

/// A started child, not yet reaped. Dropping it neither kills nor reaps it.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    status: Option<ExitStatus>,
}

/// Everything the child reads, prepared by the parent (the child may not allocate).
struct Job {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    netns: Option<RawFd>,
    user: Option<DaemonUser>,
    lifetime: Lifetime,
    parent: libc::pid_t,
    mask: libc::sigset_t,
    /// The errno of the step that failed; 0 while none has.
    error: AtomicI32,
}

/// The child's stack. Its steps are a few plain calls deep.
const CHILD_STACK: usize = 64 * 1024;

/// Starts `spec` and returns once the child has exec'd (or failed to).
pub fn spawn(spec: &Spawn<'_>) -> io::Result<Child> {
    let cstr = |bytes: &[u8]| {
        CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte"))
    };
    let program = cstr(spec.program.as_os_str().as_bytes())?;
    let mut argv_owned = vec![program.clone()];
    for arg in spec.args {
        argv_owned.push(cstr(arg.as_bytes())?);
    }
    let env_owned = spec
        .env
        .iter()
        .map(|e| cstr(e.as_bytes()))
        .collect::<io::Result<Vec<_>>>()?;
    let cwd = cstr(spec.cwd.as_os_str().as_bytes())?;
    let pointers = |strings: &[CString]| {
        let mut p: Vec<*const libc::c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        p.push(std::ptr::null());
        p
    };
    let argv = pointers(&argv_owned);
    let envp = pointers(&env_owned);
    let stdin = std::fs::File::open("/dev/null")?;
    // The child puts these on 0, 1 and 2 in that order, so none may already be one of
    // those (routelab started with a standard stream closed): such a one is moved up.
    let mut moved: Vec<OwnedFd> = Vec::new();
    let mut above_stdio = |fd: RawFd| -> io::Result<RawFd> {
        if fd > 2 {
            return Ok(fd);
        }
        // SAFETY: a plain syscall; on success it returns a new descriptor we own.
        let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if new < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: just returned to us, owned nowhere else.
        moved.push(unsafe { OwnedFd::from_raw_fd(new) });
        Ok(new)
    };
    let (stdin_fd, stdout_fd, stderr_fd) = (
        above_stdio(stdin.as_raw_fd())?,
        above_stdio(spec.stdout.as_raw_fd())?,
        above_stdio(spec.stderr.as_raw_fd())?,
    );

    // SAFETY: an all-zero sigset_t is a valid (empty) set to be filled by the calls below.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut mask: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: plain calls on sets that live on this frame.
    unsafe {
        libc::sigfillset(&mut all);
        let rc = libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut mask);
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
    }
    let job = Job {
        program: program.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        cwd: cwd.as_ptr(),
        stdin: stdin_fd,
        stdout: stdout_fd,
        stderr: stderr_fd,
        netns: spec.netns.map(|fd| fd.as_raw_fd()),
        user: spec.user,
        lifetime: spec.lifetime,
        parent: std::process::id() as libc::pid_t,
        mask,
        error: AtomicI32::new(0),
    };
    let mut stack = vec![0u8; CHILD_STACK];
    // The stack grows down: the child starts at the (16-byte aligned) top.
    let top = {
        let end = stack.as_mut_ptr() as usize + stack.len();
        (end & !15) as *mut libc::c_void
    };
    // SAFETY: CLONE_VFORK suspends this thread until the child execs or exits, so `job`,
    // the strings it points into and `stack` outlive the child's use of them; the child
    // follows the module's rules (no allocation, no locks, plain system calls).
    let pid = unsafe {
        libc::clone(
            child_main,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &job as *const Job as *mut libc::c_void,
        )
    };
    let clone_error = io::Error::last_os_error();
    // SAFETY: restores this thread's own mask, saved above.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
    }
    if pid < 0 {
        return Err(clone_error);
    }
    let mut child = Child { pid, status: None };
    match job.error.load(Ordering::Acquire) {
        0 => Ok(child),
        errno => {
            // It exited with 127 already; reap it.
            let _ = child.wait();
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}

/// The child's side: the steps, then exec. Returns only to exit.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `Job`, alive while the parent waits (CLONE_VFORK).
    let job = unsafe { &*(arg as *const Job) };
    // SAFETY: the steps follow the module's rules.
    let errno = match unsafe { prepare(job) } {
        // SAFETY: the job's pointers are valid while the parent waits; execve returns
        // only on failure.
        Ok(()) => unsafe {
            libc::execve(job.program, job.argv, job.envp);
            io::Error::last_os_error()
        },
        Err(e) => e,
    };
    let errno = errno.raw_os_error().unwrap_or(libc::EINVAL);
    job.error.store(errno.max(1), Ordering::Release);
    // SAFETY: ends the child (its own thread group) without running any of routelab's
    // exit handlers.
    unsafe { libc::_exit(127) }
}

/// The child's steps before exec.
///
/// # Safety
/// Only in the child of [`spawn`], before exec.
unsafe fn prepare(job: &Job) -> io::Result<()> {
    let check = |rc: libc::c_int| {
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // SAFETY: plain system calls on the child's own signal handlers, descriptors,
    // namespace and credentials; the pointers are the job's, valid while the parent waits.
    unsafe {
        // routelab's handlers are not for the child; what routelab ignores stays ignored
        // except SIGPIPE, which Rust ignores for itself.
        for signal in 1..=libc::SIGRTMAX() {
            if signal == libc::SIGKILL || signal == libc::SIGSTOP {
                continue;
            }
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut old) != 0 {
                continue;
            }
            if old.sa_sigaction != libc::SIG_DFL
                && (old.sa_sigaction != libc::SIG_IGN || signal == libc::SIGPIPE)
            {
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signal, &default, std::ptr::null_mut());
            }
        }
        // All three are above 2 (see `spawn`), so none is overwritten before it is used.
        for (from, to) in [(job.stdin, 0), (job.stdout, 1), (job.stderr, 2)] {
            check(libc::dup2(from, to))?;
        }
        check(libc::chdir(job.cwd))?;
        if let Some(fd) = job.netns {
            Netns::enter_in_child(fd)?;
        }
        // Credentials change before the death signal is set: a change clears it.
        if let Some(user) = &job.user {
            user.become_in_child()?;
        }
        match job.lifetime {
            Lifetime::OwnSession => check(libc::setsid())?,
            Lifetime::DiesWithParent => {
                check(libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ))?;
                // routelab may have died before the prctl; then the signal was never going
                // to come and the child must not start.
                if libc::getppid() != job.parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
            }
            Lifetime::Ordinary => {}
        }
        check(libc::sigprocmask(
            libc::SIG_SETMASK,
            &job.mask,
            std::ptr::null_mut(),
        ))
    }
}

impl Child {
    /// The child's pid.
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Its exit status if it has exited (reaping it), `None` while it runs.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.reap(libc::WNOHANG)?;
        }
        Ok(self.status)
    }

    /// Waits for it to exit and reaps it.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(status) = self.status {
                return Ok(status);
            }
            self.status = self.reap(0)?;
        }
    }

    /// Waits up to `limit` for it to exit (without polling: its pidfd turns readable),
    /// reaping it if it did.
    pub fn wait_timeout(&mut self, limit: Duration) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.try_wait()? {
            return Ok(Some(status));
        }
        // SAFETY: a plain syscall; the child is unreaped, so its pid is still its own.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, self.pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the descriptor was just returned to us.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let mut pfd = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: one pollfd on this frame.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if rc > 0 || left.is_zero() {
                return self.try_wait();
            }
        }
    }

    /// SIGKILL, unless it has been reaped already (its pid may be another's then).
    pub fn kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        // SAFETY: a plain syscall; the child is unreaped, so the pid is still its own.
        if unsafe { libc::kill(self.pid, libc::SIGKILL) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn reap(&self, flags: libc::c_int) -> io::Result<Option<ExitStatus>> {
        let mut status = 0;
        loop {
            // SAFETY: a plain syscall with a status on this frame.
            let rc = unsafe { libc::waitpid(self.pid, &mut status, flags) };
            if rc == self.pid {
                return Ok(Some(ExitStatus::from_raw(status)));
            }
            if rc == 0 {
                return Ok(None);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::{Read, Seek};
    use std::os::fd::AsFd;

    /// `program args`, output to `out`, with one variable in its environment.
    fn spec<'a>(
        program: &'a str,
        args: &'a [&'a OsStr],
        out: &'a File,
        user: Option<DaemonUser>,
        lifetime: Lifetime,
    ) -> Spawn<'a> {
        Spawn {
            program: Path::new(program),
            args,
            env: &["ROUTELAB_SPAWN_TEST=yes"],
            cwd: Path::new("/"),
            stdout: out.as_fd(),
            stderr: out.as_fd(),
            netns: None,
            user,
            lifetime,
        }
    }

    fn text_of(mut out: File) -> String {
        let mut text = String::new();
        out.rewind().unwrap();
        out.read_to_string(&mut text).unwrap();
        text
    }

    fn run(
        program: &str,
        args: &[&str],
        user: Option<DaemonUser>,
        lifetime: Lifetime,
    ) -> (io::Result<ExitStatus>, String) {
        let out = tempfile::tempfile().unwrap();
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        let status = spawn(&spec(program, &args, &out, user, lifetime)).and_then(|mut c| c.wait());
        (status, text_of(out))
    }

    #[test]
    fn the_child_gets_its_arguments_environment_directory_and_output() {
        let (status, text) = run(
            "/bin/sh",
            &[
                "-c",
                "echo \"$0 $ROUTELAB_SPAWN_TEST $(pwd) ${CARGO_PKG_NAME-unset}\"",
                "arg",
            ],
            None,
            Lifetime::DiesWithParent,
        );
        assert!(status.unwrap().success());
        // cargo gives tests CARGO_PKG_NAME; the child gets only what it is given.
        assert_eq!(text, "arg yes / unset\n");
    }

    #[test]
    fn an_exit_status_comes_back() {
        let (status, _) = run("/bin/sh", &["-c", "exit 3"], None, Lifetime::OwnSession);
        assert_eq!(status.unwrap().code(), Some(3));
    }

    #[test]
    fn a_program_that_cannot_run_is_an_error_not_a_child() {
        let (status, _) = run("/nonexistent/program", &[], None, Lifetime::Ordinary);
        assert_eq!(
            status.unwrap_err().kind(),
            io::ErrorKind::NotFound,
            "the exec's ENOENT, reported by the parent"
        );
    }

    #[test]
    fn sigpipe_is_default_again_in_the_child() {
        // Rust ignores SIGPIPE; a child writing to a closed pipe must die of it, as it
        // would started from a shell.
        let (_, text) = run(
            "/bin/sh",
            &["-c", "grep SigIgn /proc/$$/status"],
            None,
            Lifetime::Ordinary,
        );
        let ignored = u64::from_str_radix(text.trim().trim_start_matches("SigIgn:").trim(), 16)
            .expect("a hex mask");
        assert_eq!(
            ignored & (1 << (libc::SIGPIPE - 1)),
            0,
            "SigIgn {ignored:x}"
        );
    }

    #[test]
    fn the_child_becomes_the_daemon_user_and_routelab_stays_root() {
        let Some(user) = DaemonUser::for_daemons() else {
            eprintln!("skipped: needs root outside a user namespace, to change users");
            return;
        };
        // A thread of routelab's besides the spawning one, as the lab has, must keep its
        // credentials. (With glibc 2.36 even its own setresuid leaves it alone, as its
        // broadcast names the child's thread group: this guards the outcome.)
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            rx.recv().ok();
            nix::unistd::geteuid().as_raw()
        });
        let (status, text) = run(
            "/bin/sh",
            &["-c", "id -u"],
            Some(user),
            Lifetime::DiesWithParent,
        );
        assert!(status.unwrap().success());
        tx.send(()).unwrap();
        assert_eq!(
            other.join().unwrap(),
            0,
            "another thread of routelab's lost root"
        );
        assert_eq!(nix::unistd::geteuid().as_raw(), 0);
        assert_eq!(text.trim(), user.uid.to_string());
    }

    #[test]
    fn wait_timeout_returns_at_exit_or_at_the_limit() {
        let out = tempfile::tempfile().unwrap();
        let args = [OsStr::new("-c"), OsStr::new("sleep 5")];
        let mut child = spawn(&spec(
            "/bin/sh",
            &args,
            &out,
            None,
            Lifetime::DiesWithParent,
        ))
        .unwrap();
        let started = std::time::Instant::now();
        assert_eq!(
            child.wait_timeout(Duration::from_millis(100)).unwrap(),
            None
        );
        assert!(started.elapsed() >= Duration::from_millis(100));
        child.kill().unwrap();
        let status = child.wait_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(status.and_then(|s| s.signal()), Some(libc::SIGKILL));
    }
}
