//! Running BIRD inside a network namespace; see [`BirdProcess`].

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::binary::{BirdBinary, absolute, config_dir};
use super::reply::ReplyAssembler;
use super::{BirdClient, DaemonError};
use crate::net::Netns;

/// How often readiness and exit are polled.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How much of BIRD's output an error message carries.
const OUTPUT_TAIL_BYTES: u64 = 16 * 1024;
/// The longest path a Unix socket address can hold (`sun_path` is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct BirdSpec {
    /// The BIRD binary (BIRD 2 or 1.6).
    pub binary: BirdBinary,
    /// The configuration file. BIRD runs with its directory as working directory.
    pub config: PathBuf,
    /// Where BIRD puts its control socket (`-s`); `birdc -s SOCKET` works on it.
    pub socket: PathBuf,
    /// Where BIRD's stdout and stderr go (appended). Without it they go to an unnamed
    /// temporary file that is read for error messages and vanishes with routelab.
    pub log: Option<PathBuf>,
    /// Keep BIRD running after routelab exits (`routelab up`).
    pub persistent: bool,
    /// The node BIRD runs for, used in messages.
    pub label: String,
    /// How long to wait for the control socket to answer.
    pub ready_timeout: Duration,
}

impl BirdSpec {
    /// A spec for a lab daemon that dies with routelab, logging to a temporary file, with a
    /// 10 s readiness deadline.
    pub fn new(
        binary: BirdBinary,
        config: impl Into<PathBuf>,
        socket: impl Into<PathBuf>,
        label: impl Into<String>,
    ) -> BirdSpec {
        BirdSpec {
            binary,
            config: config.into(),
            socket: socket.into(),
            log: None,
            persistent: false,
            label: label.into(),
            ready_timeout: Duration::from_secs(10),
        }
    }
}

/// Where BIRD's output went, so it can be read back for error messages.
#[derive(Debug)]
enum Output {
    /// The log file, from the offset it had when BIRD started.
    Log { path: PathBuf, start: u64 },
    /// An unlinked temporary file.
    Anonymous(File),
}

impl Output {
    /// The last [`OUTPUT_TAIL_BYTES`] BIRD wrote, as text.
    fn tail(&self) -> String {
        let read = |file: &File, start: u64| -> io::Result<String> {
            let end = file.metadata()?.len();
            let from = start.max(end.saturating_sub(OUTPUT_TAIL_BYTES));
            let mut buf = vec![0; (end - from.min(end)) as usize];
            file.read_exact_at(&mut buf, from)?;
            let text = String::from_utf8_lossy(&buf).trim_end().to_string();
            Ok(if from > start {
                format!("[...]\n{text}")
            } else {
                text
            })
        };
        let result = match self {
            Output::Log { path, start } => File::open(path).and_then(|f| read(&f, *start)),
            Output::Anonymous(file) => read(file, 0),
        };
        match result {
            Ok(text) if text.is_empty() => "(BIRD printed nothing)".into(),
            Ok(text) => text,
            Err(e) => format!("(could not read BIRD's output: {e})"),
        }
    }
}

/// A BIRD running inside a network namespace.
///
/// # Lifetime
///
/// A lab's BIRDs (the default, `persistent: false`) must not outlive routelab, even when
/// routelab is killed with SIGKILL and no destructor runs. Each is therefore started with
/// `PR_SET_PDEATHSIG(SIGKILL)`. Linux sends that signal when the *thread* that forked BIRD
/// exits, not the process, and std's `Command::spawn` forks from the calling thread. So
/// **start daemons from a thread that lives as long as the lab** (the main thread, or the
/// test's own thread), never from [`Netns::run`]'s short-lived threads, a tokio
/// multi-thread worker or `spawn_blocking`. Dropping the handle kills (SIGKILL) and reaps
/// BIRD and removes its control socket; [`BirdProcess::stop`] shuts it down in order
/// instead.
///
/// For `routelab up` (`persistent: true`) BIRD must outlive routelab: it runs in a session
/// of its own (setsid), without the death signal, with its output in the log file, and
/// dropping the handle leaves it running. The caller records [`BirdProcess::pid`];
/// [`stop_pid`] ends it at `routelab down`.
///
/// # Readiness
///
/// BIRD is ready when its control socket answers a command. [`BirdProcess::start`] polls
/// for that with a deadline; if BIRD exits first, the error carries what it printed, which
/// is where BIRD reports configuration errors it finds at startup.
#[derive(Debug)]
pub struct BirdProcess {
    child: Option<Child>,
    pid: u32,
    label: String,
    socket: PathBuf,
    persistent: bool,
    output: Output,
}

impl BirdProcess {
    /// Starts `bird -f -c CONFIG -s SOCKET` inside `ns` and waits until its control socket
    /// answers.
    ///
    /// Call it from a thread that lives as long as the lab (see "Lifetime" above), such as
    /// the thread driving a current-thread tokio runtime; never from `spawn_blocking`, whose
    /// threads exit when idle and would take BIRD with them. It blocks for up to
    /// `spec.ready_timeout`.
    pub fn start(ns: &Netns, spec: &BirdSpec) -> Result<BirdProcess, DaemonError> {
        let config = absolute(&spec.config)?;
        // BIRD runs in the config's directory, so a relative socket path must be resolved
        // against ours first.
        let socket = absolute(&spec.socket)?;
        let len = socket.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(DaemonError::SocketPathTooLong { socket, len });
        }
        clear_stale_socket(&socket)?;

        let (file, output) = match &spec.log {
            Some(path) => {
                let path = absolute(path)?;
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| DaemonError::io(format!("opening log {}", path.display()), e))?;
                let start = file
                    .metadata()
                    .map_err(|e| DaemonError::io(format!("reading log {}", path.display()), e))?
                    .len();
                (file, Output::Log { path, start })
            }
            None => {
                let file = tempfile::tempfile().map_err(|e| {
                    DaemonError::io("creating a temporary file for BIRD's output", e)
                })?;
                let reader = file
                    .try_clone()
                    .map_err(|e| DaemonError::io("duplicating BIRD's output file", e))?;
                (file, Output::Anonymous(reader))
            }
        };
        let dup = |f: &File| {
            f.try_clone()
                .map_err(|e| DaemonError::io("duplicating BIRD's output file", e))
        };

        let mut cmd = Command::new(&spec.binary.path);
        cmd.arg("-f")
            .arg("-c")
            .arg(&config)
            .arg("-s")
            .arg(&socket)
            .current_dir(config_dir(&config))
            .stdin(Stdio::null())
            .stdout(dup(&file)?)
            .stderr(file);
        let ns_fd = ns.as_raw_fd();
        let persistent = spec.persistent;
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the hook runs in the forked child before exec and only makes
        // async-signal-safe system calls; it allocates nothing (errors are plain errnos).
        unsafe {
            cmd.pre_exec(move || {
                Netns::enter_in_child(ns_fd)?;
                if persistent {
                    // A session of its own: no signals from routelab's terminal or process
                    // group once routelab is gone.
                    if libc::setsid() == -1 {
                        return Err(io::Error::last_os_error());
                    }
                } else {
                    if libc::prctl(
                        libc::PR_SET_PDEATHSIG,
                        libc::SIGKILL as libc::c_ulong,
                        0,
                        0,
                        0,
                    ) == -1
                    {
                        return Err(io::Error::last_os_error());
                    }
                    // routelab may have died between fork and prctl; then the signal was
                    // never going to come and BIRD must not start.
                    if libc::getppid() != parent {
                        return Err(io::Error::from_raw_os_error(libc::ESRCH));
                    }
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| {
            DaemonError::io(
                format!(
                    "starting {} for {} in namespace {}",
                    spec.binary.path.display(),
                    spec.label,
                    ns.label()
                ),
                e,
            )
        })?;
        let mut process = BirdProcess {
            pid: child.id(),
            child: Some(child),
            label: spec.label.clone(),
            socket,
            persistent,
            output,
        };
        process.wait_ready(spec.ready_timeout)?;
        Ok(process)
    }

    /// Polls until the control socket answers, BIRD exits, or `timeout` passes. On failure
    /// BIRD is killed (also a persistent one: it never became usable).
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), DaemonError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status()? {
                self.child = None;
                return Err(DaemonError::Exited {
                    label: self.label.clone(),
                    status: status.to_string(),
                    output: self.output.tail(),
                });
            }
            if answers(&self.socket) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill_and_reap();
                return Err(DaemonError::NotReady {
                    label: self.label.clone(),
                    socket: self.socket.clone(),
                    waited: timeout,
                    output: self.output.tail(),
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// BIRD's pid (to record for `routelab down` when persistent).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The control socket's absolute path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The node BIRD runs for.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether BIRD was started to outlive routelab.
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    /// The tail of what BIRD has printed so far (stdout and stderr), for reports.
    pub fn output(&self) -> String {
        self.output.tail()
    }

    /// `Some(status)` once BIRD has exited (it is reaped then), `None` while it runs.
    pub fn exit_status(&mut self) -> Result<Option<ExitStatus>, DaemonError> {
        match &mut self.child {
            None => Ok(None),
            Some(child) => child
                .try_wait()
                .map_err(|e| DaemonError::io(format!("checking BIRD for {}", self.label), e)),
        }
    }

    /// A client connected to this BIRD's control socket.
    pub async fn client(&self) -> Result<BirdClient, DaemonError> {
        BirdClient::connect(&self.socket).await
    }

    /// Orderly shutdown: SIGTERM (BIRD closes its sessions with a BGP Cease), up to 5 s to
    /// exit, then SIGKILL. Reaps BIRD and removes the control socket.
    pub fn stop(mut self) -> Result<(), DaemonError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let result = terminate(self.pid, Duration::from_secs(5), &mut |_| {
            child.try_wait().map(|s| s.is_some()).unwrap_or(true)
        });
        // Whatever happened, do not leave a zombie; after SIGKILL this returns promptly.
        let _ = child.kill();
        let _ = child.wait();
        remove_socket(&self.socket);
        result
    }

    fn kill_and_reap(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        remove_socket(&self.socket);
    }
}

impl Drop for BirdProcess {
    fn drop(&mut self) {
        if !self.persistent {
            self.kill_and_reap();
        }
    }
}

/// Stops a BIRD by pid (for `routelab down`, which did not start it): SIGTERM, up to
/// `grace` for it to exit, then SIGKILL.
///
/// A pid that no longer exists is already stopped. A pid that is not a BIRD process (its
/// `/proc/PID/comm` does not start with `bird`) is refused: after BIRD exits the number can
/// be reused by anything.
pub fn stop_pid(pid: u32, grace: Duration) -> Result<(), DaemonError> {
    let comm = match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(comm) => comm.trim().to_string(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(DaemonError::io(format!("reading /proc/{pid}/comm"), e)),
    };
    if !comm.starts_with("bird") {
        return Err(DaemonError::NotBird { pid, comm });
    }
    terminate(pid, grace, &mut pid_gone)
}

/// SIGTERM, wait up to `grace` for `gone(pid)`, then SIGKILL and wait up to 5 s more.
fn terminate(
    pid: u32,
    grace: Duration,
    gone: &mut dyn FnMut(u32) -> bool,
) -> Result<(), DaemonError> {
    let target = Pid::from_raw(pid as libc::pid_t);
    for (signal, wait) in [
        (Signal::SIGTERM, grace),
        (Signal::SIGKILL, Duration::from_secs(5)),
    ] {
        match kill(target, signal) {
            Ok(()) => {}
            Err(Errno::ESRCH) => return Ok(()),
            Err(e) => {
                return Err(DaemonError::io(
                    format!("sending {signal} to BIRD process {pid}"),
                    e.into(),
                ));
            }
        }
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if gone(pid) {
                return Ok(());
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
    Err(DaemonError::Unkillable {
        pid,
        after: Duration::from_secs(5),
    })
}

/// Whether `pid` has exited: reaped here if it is our child, otherwise gone from `/proc` or
/// a zombie waiting for its own parent.
fn pid_gone(pid: u32) -> bool {
    let target = Pid::from_raw(pid as libc::pid_t);
    match waitpid(target, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) => false,
        Ok(_) => true,
        Err(Errno::ECHILD) => match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the command name, which is in parentheses and may contain
            // spaces: look after the last ')'.
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state == "Z" || state == "X"),
            Err(_) => true,
        },
        Err(_) => false,
    }
}

/// Makes way for BIRD's control socket: a leftover socket nobody answers on is removed; a
/// live one or anything that is not a socket is an error.
fn clear_stale_socket(socket: &Path) -> Result<(), DaemonError> {
    let meta = match std::fs::symlink_metadata(socket) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(DaemonError::io(format!("checking {}", socket.display()), e)),
    };
    if !meta.file_type().is_socket() {
        return Err(DaemonError::NotASocket {
            socket: socket.to_path_buf(),
        });
    }
    if UnixStream::connect(socket).is_ok() {
        return Err(DaemonError::SocketInUse {
            socket: socket.to_path_buf(),
        });
    }
    std::fs::remove_file(socket)
        .map_err(|e| DaemonError::io(format!("removing stale socket {}", socket.display()), e))
}

fn remove_socket(socket: &Path) {
    // BIRD removes its socket on an orderly exit; after SIGKILL it is left behind.
    let _ = std::fs::remove_file(socket);
}

/// Whether a BIRD answers a command on `socket`: greeting, then `show status`.
fn answers(socket: &Path) -> bool {
    fn probe(socket: &Path) -> io::Result<bool> {
        let stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        stream.set_write_timeout(Some(Duration::from_secs(1)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut read_reply = || -> io::Result<bool> {
            let mut asm = ReplyAssembler::new();
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(false);
                }
                match asm.push(&line) {
                    Ok(true) => return Ok(asm.finish().error().is_none()),
                    Ok(false) => {}
                    Err(_) => return Ok(false),
                }
            }
        };
        if !read_reply()? {
            return Ok(false);
        }
        (&stream).write_all(b"show status\n")?;
        read_reply()
    }
    probe(socket).unwrap_or(false)
}
