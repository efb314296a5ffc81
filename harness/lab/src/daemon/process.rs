//! Running BIRD inside a network namespace; see [`BirdProcess`].

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::binary::{BirdBinary, absolute};
use super::spawn::{self, Child};
use super::user::DaemonUser;
use super::{BirdClient, DaemonError};
use crate::net::Netns;

/// How often readiness is polled.
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
    /// The configuration file. BIRD runs with its directory as working directory and is
    /// given its name relative to it, so includes and other relative paths resolve there,
    /// and BIRD needs no access to the directories above it.
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
    /// Run BIRD as this user: it then reads its configuration, creates its control socket
    /// and writes any file its configuration names without root's file access, keeping
    /// only the network capabilities it needs. `None` runs it as routelab runs.
    pub user: Option<DaemonUser>,
}

impl BirdSpec {
    /// A spec for a lab daemon that dies with routelab, logging to a temporary file, with a
    /// 10 s readiness deadline, running as routelab's daemon user when routelab is root.
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
            user: DaemonUser::for_daemons(),
        }
    }
}

/// A process as it can be told apart from a later one that reuses its pid: the pid and
/// the time it started (clock ticks after boot, `/proc/PID/stat` field 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: u32,
    pub start_time: u64,
}

impl ProcessId {
    /// The identity of the running (or not yet reaped) process `pid`.
    pub fn of(pid: u32) -> io::Result<ProcessId> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // The command name is in parentheses and may hold anything: count fields after
        // the last ')'. Field 3 (state) is the first there; start time is field 22.
        let start_time = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(19))
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other(format!("unreadable /proc/{pid}/stat")))?;
        Ok(ProcessId { pid, start_time })
    }

    /// Whether this very process still exists (and is not a zombie).
    pub fn is_running(&self) -> bool {
        ProcessId::of(self.pid).is_ok_and(|now| now == *self) && !is_zombie(self.pid)
    }
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X")
    })
}

/// A descriptor that refers to one process for as long as it is open (`pidfd_open`), so
/// a signal sent through it cannot reach another process that reused the pid, and it
/// becomes readable when the process exits.
#[derive(Debug)]
struct PidFd(OwnedFd);

impl PidFd {
    fn open(pid: u32) -> io::Result<PidFd> {
        // SAFETY: a plain syscall; on success it returns a new descriptor we own.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the descriptor was just returned to us and is not owned elsewhere.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
    }

    /// Sends `signal`; a process that has exited already is not an error.
    fn signal(&self, signal: libc::c_int) -> io::Result<()> {
        // SAFETY: a plain syscall on a descriptor we own.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ESRCH) {
                return Ok(());
            }
            return Err(e);
        }
        Ok(())
    }

    /// Whether the process has exited (the descriptor polls readable then).
    fn exited(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no timeout.
        let n = unsafe { libc::poll(&mut pfd, 1, 0) };
        n > 0 && pfd.revents & libc::POLLIN != 0
    }

    /// Blocks until one of `fds` has exited or `timeout` has passed, whichever is first:
    /// an exit wakes the caller at once instead of at its next look.
    fn wait_for_any(fds: &[&PidFd], timeout: Duration) {
        let mut pfds: Vec<libc::pollfd> = fds
            .iter()
            .map(|p| libc::pollfd {
                fd: p.0.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: `pfds` is a valid array of `pfds.len()` pollfds for the call's duration.
        // An interrupted or failed poll only means the caller looks again sooner.
        unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
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
/// dropping the handle leaves it running. Its [`ProcessId`] is known the moment it is
/// spawned, for the caller to record before anything else happens; [`stop_process`] ends
/// it at `routelab down`.
///
/// # Readiness
///
/// BIRD is ready when its control socket answers a command. [`BirdProcess::ready`] polls
/// for that with a deadline; if BIRD exits first, the error carries what it printed, which
/// is where BIRD reports configuration errors it finds at startup.
#[derive(Debug)]
pub struct BirdProcess {
    child: Option<Child>,
    id: ProcessId,
    pidfd: PidFd,
    label: String,
    socket: PathBuf,
    /// The directory BIRD runs in, against which it names files in messages.
    dir: PathBuf,
    persistent: bool,
    output: Output,
}

impl BirdProcess {
    /// Starts `bird -f -c CONFIG -s SOCKET` inside `ns` and returns at once; see
    /// [`BirdProcess::ready`].
    ///
    /// Call it from a thread that lives as long as the lab (see "Lifetime" above).
    pub fn spawn(ns: &Netns, spec: &BirdSpec) -> Result<BirdProcess, DaemonError> {
        let config = absolute(&spec.config)?;
        let (dir, config_name) = match (config.parent(), config.file_name()) {
            (Some(dir), Some(name)) => (dir.to_path_buf(), PathBuf::from(name)),
            _ => {
                return Err(DaemonError::io(
                    format!("{} is not a file path", config.display()),
                    io::ErrorKind::InvalidInput.into(),
                ));
            }
        };
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
                    .mode(0o600)
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
        let args: Vec<&std::ffi::OsStr> = {
            let mut args: Vec<&std::ffi::OsStr> = vec![
                "-f".as_ref(),
                "-c".as_ref(),
                config_name.as_os_str(),
                "-s".as_ref(),
                socket.as_os_str(),
            ];
            // calico-node runs its BIRD with `-d`: every message to standard error, which
            // is what `kubectl logs` of calico-node shows, and what a failure here shows.
            if spec.binary.flavour == super::binary::Flavour::Bird1_6 {
                args.push("-d".as_ref());
            }
            args
        };
        let child = spawn::spawn(&spawn::Spawn {
            program: &spec.binary.path,
            args: &args,
            env: &["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            cwd: &dir,
            stdout: file.as_fd(),
            stderr: file.as_fd(),
            netns: Some(ns.as_fd()),
            user: spec.user,
            lifetime: if spec.persistent {
                // No signals from routelab's terminal or process group once it is gone.
                spawn::Lifetime::OwnSession
            } else {
                spawn::Lifetime::DiesWithParent
            },
        })
        .map_err(|e| {
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
        drop(file);
        let persistent = spec.persistent;
        let pid = child.id();
        // BIRD is our unreaped child: its pid cannot be reused before we wait for it, so
        // both reads below name this very process.
        let identity = ProcessId::of(pid).and_then(|id| Ok((id, PidFd::open(pid)?)));
        let mut process = match identity {
            Ok((id, pidfd)) => BirdProcess {
                child: Some(child),
                id,
                pidfd,
                label: spec.label.clone(),
                socket,
                dir,
                persistent,
                output,
            },
            Err(e) => {
                let mut child = child;
                let _ = child.kill();
                let _ = child.wait();
                return Err(DaemonError::io(format!("watching BIRD process {pid}"), e));
            }
        };
        if let Some(status) = process.exit_status()? {
            return Err(process.exited_during_startup(status));
        }
        Ok(process)
    }

    /// Starts BIRD and blocks until its control socket answers: [`BirdProcess::spawn`],
    /// then [`BirdProcess::ready`] on a helper thread of its own (so this works inside
    /// async code and outside it alike).
    pub fn start(ns: &Netns, spec: &BirdSpec) -> Result<BirdProcess, DaemonError> {
        let mut process = BirdProcess::spawn(ns, spec)?;
        let timeout = spec.ready_timeout;
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| DaemonError::io("building a runtime to wait for BIRD", e))?;
                    runtime.block_on(process.ready(timeout))
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(DaemonError::io(
                        "waiting for BIRD",
                        io::Error::other("the waiting thread panicked"),
                    ))
                })
        })?;
        Ok(process)
    }

    /// Waits until the control socket answers, BIRD exits, or `timeout` passes. On failure
    /// BIRD is killed (also a persistent one: it never became usable).
    pub async fn ready(&mut self, timeout: Duration) -> Result<(), DaemonError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status()? {
                return Err(self.exited_during_startup(status));
            }
            if answers(&self.socket).await {
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
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    fn exited_during_startup(&mut self, status: ExitStatus) -> DaemonError {
        self.child = None;
        DaemonError::Exited {
            label: self.label.clone(),
            status: status.to_string(),
            output: super::binary::with_absolute_positions(&self.output.tail(), &self.dir),
        }
    }

    /// BIRD's pid.
    pub fn pid(&self) -> u32 {
        self.id.pid
    }

    /// BIRD's pid and start time, to record for `routelab down` when persistent.
    pub fn id(&self) -> ProcessId {
        self.id
    }

    /// The control socket's absolute path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A client connected to this BIRD's control socket.
    #[cfg(test)]
    pub async fn client(&self) -> Result<BirdClient, DaemonError> {
        BirdClient::connect(&self.socket).await
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

    /// Resolves when BIRD exits, however it ends (its process descriptor turns readable).
    /// Watching costs nothing while BIRD runs, and any number may watch at once. It does
    /// not reap BIRD: [`BirdProcess::exit_status`] does.
    pub async fn exit_watch(&self) -> Result<(), DaemonError> {
        let watching = |e| DaemonError::io(format!("watching BIRD for {}", self.label), e);
        let fd = self.pidfd.0.try_clone().map_err(watching)?;
        // SAFETY: the AsyncFd owns `fd`, a descriptor of our own that stays open and the
        // same until the AsyncFd is dropped.
        let watch = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
        }
        .map_err(|e| watching(e.into()))?;
        let _ready = watch.readable().await.map_err(watching)?;
        Ok(())
    }

    /// Sends SIGTERM: BIRD closes its sessions with a BGP Cease and exits. See
    /// [`BirdProcess::finish_stop`].
    pub fn terminate(&self) -> Result<(), DaemonError> {
        self.pidfd.signal(libc::SIGTERM).map_err(|e| {
            DaemonError::io(
                format!("sending SIGTERM to BIRD process {}", self.id.pid),
                e,
            )
        })
    }

    /// Sends SIGKILL.
    pub fn kill(&self) -> Result<(), DaemonError> {
        self.pidfd.signal(libc::SIGKILL).map_err(|e| {
            DaemonError::io(
                format!("sending SIGKILL to BIRD process {}", self.id.pid),
                e,
            )
        })
    }

    /// Whether BIRD has exited (without reaping it).
    pub fn has_exited(&self) -> bool {
        self.child.is_none() || self.pidfd.exited()
    }

    /// After [`BirdProcess::terminate`]: SIGKILL if still running, reap, remove the
    /// control socket.
    pub fn finish_stop(mut self) {
        self.kill_and_reap();
    }

    /// Orderly shutdown: SIGTERM, up to `grace` to exit, then SIGKILL. Reaps BIRD and
    /// removes the control socket.
    pub async fn stop(self, grace: Duration) -> Result<(), DaemonError> {
        self.terminate()?;
        let deadline = Instant::now() + grace;
        while !self.has_exited() && Instant::now() < deadline {
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        self.finish_stop();
        Ok(())
    }

    fn kill_and_reap(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = self.pidfd.signal(libc::SIGKILL);
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

/// Stops a recorded process (for `routelab down`, which did not start it): SIGTERM, up to
/// `grace` for it to exit, then SIGKILL. See [`stop_processes`].
pub fn stop_process(id: ProcessId, grace: Duration) -> Result<(), DaemonError> {
    stop_processes(&[id], grace)
        .into_iter()
        .next()
        .map_or(Ok(()), |(_, e)| Err(e))
}

/// How long a process gets to die after SIGKILL before it counts as unkillable.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Stops recorded processes all at once: SIGTERM to every one, then one wait of up to
/// `grace` for all of them together, then SIGKILL to those still running. So stopping a
/// hundred takes as long as stopping the slowest one, not the sum. Returns the processes
/// that could not be stopped, with why.
///
/// A process is signalled only if it is still the one recorded (same pid *and* start
/// time): after it exits its pid can be reused by anything, and that must not be hit. A
/// process that is gone, or replaced, is already stopped.
pub fn stop_processes(ids: &[ProcessId], grace: Duration) -> Vec<(ProcessId, DaemonError)> {
    let mut failed = Vec::new();
    // Each descriptor pins whatever process has the pid from now on; if that is ours,
    // every signal through it reaches ours and nothing else.
    let mut running: Vec<(ProcessId, PidFd)> = ids
        .iter()
        .filter_map(|id| Some((*id, PidFd::open(id.pid).ok()?)))
        .filter(|(id, _)| id.is_running())
        .collect();
    for (signal, wait) in [(libc::SIGTERM, grace), (libc::SIGKILL, KILL_WAIT)] {
        running.retain(|(id, pidfd)| match pidfd.signal(signal) {
            Ok(()) => true,
            Err(e) => {
                failed.push((
                    *id,
                    DaemonError::io(format!("signalling process {}", id.pid), e),
                ));
                false
            }
        });
        let deadline = Instant::now() + wait;
        loop {
            running.retain(|(id, pidfd)| {
                let gone = pidfd.exited() || !id.is_running();
                if gone {
                    reap_if_ours(id.pid);
                }
                !gone
            });
            let now = Instant::now();
            if running.is_empty() || now >= deadline {
                break;
            }
            let fds: Vec<&PidFd> = running.iter().map(|(_, fd)| fd).collect();
            PidFd::wait_for_any(&fds, deadline - now);
        }
    }
    failed.extend(running.into_iter().map(|(id, _)| {
        (
            id,
            DaemonError::Unkillable {
                pid: id.pid,
                after: KILL_WAIT,
            },
        )
    }));
    failed
}

/// Reaps `pid` if it is a child of ours that has exited (a persistent BIRD started by this
/// very process); anyone else's is reaped by its own parent.
fn reap_if_ours(pid: u32) {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    let _ = waitpid(
        nix::unistd::Pid::from_raw(pid as libc::pid_t),
        Some(WaitPidFlag::WNOHANG),
    );
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
async fn answers(socket: &Path) -> bool {
    let Ok(mut client) = BirdClient::connect(socket).await else {
        return false;
    };
    client.set_timeout(Duration::from_secs(1));
    client.command("show status").await.is_ok()
}
