//! What can go wrong with a BIRD daemon, worded so the message says what to do next.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Errors from finding, checking, running and querying BIRD.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// No usable binary of the wanted flavour.
    #[error("{flavour} not found (looked at {looked}); {hint}")]
    NotFound {
        /// "BIRD 2" or "BIRD 1.6".
        flavour: &'static str,
        /// The places searched, comma-separated.
        looked: String,
        /// How to install it.
        hint: &'static str,
    },

    /// A binary was found but is not the wanted version.
    #[error("{path} is BIRD {found}, but {wanted} is needed; {hint}")]
    WrongVersion {
        /// The binary.
        path: PathBuf,
        /// The version it reports.
        found: String,
        /// "BIRD 2" or "BIRD 1.6".
        wanted: &'static str,
        /// How to install the right one.
        hint: &'static str,
    },

    /// BIRD rejected a configuration. `message` is BIRD's own text, verbatim, with
    /// `file:line:column` (for example `bird: /lab/r1.conf:12:3 syntax error, ...`).
    #[error("{message}")]
    Config {
        /// The configuration file that was checked.
        config: PathBuf,
        /// What BIRD printed.
        message: String,
    },

    /// An operating-system call failed; `what` says which and on what.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// BIRD exited before its control socket answered. Config errors found at startup
    /// (for example an interface or a protocol BIRD cannot set up) end up here.
    #[error("BIRD for {label} exited during startup ({status}); its output:\n{output}")]
    Exited {
        /// The node BIRD was started for.
        label: String,
        /// How it exited.
        status: String,
        /// The tail of what it printed (stdout and stderr, or the log file).
        output: String,
    },

    /// BIRD kept running but its control socket did not answer in time.
    #[error(
        "BIRD for {label} did not answer on {socket} within {waited:?} (it was stopped); \
         its output so far:\n{output}"
    )]
    NotReady {
        /// The node BIRD was started for.
        label: String,
        /// The control socket that was polled.
        socket: PathBuf,
        /// How long routelab waited.
        waited: Duration,
        /// The tail of what BIRD printed.
        output: String,
    },

    /// The control socket path is taken by a BIRD that is already running.
    #[error(
        "control socket {socket} already answers: another BIRD is running there; \
         stop it (`routelab down`) or pick another socket path"
    )]
    SocketInUse {
        /// The socket path.
        socket: PathBuf,
    },

    /// A path exists where the control socket should go and it is not a socket.
    #[error(
        "{socket} exists and is not a socket; refusing to replace it with BIRD's control socket"
    )]
    NotASocket {
        /// The path.
        socket: PathBuf,
    },

    /// Unix socket paths are limited to 107 bytes by the kernel.
    #[error(
        "control socket path {socket} is {len} bytes, over the kernel's limit of 107; \
         use a shorter working directory"
    )]
    SocketPathTooLong {
        /// The path.
        socket: PathBuf,
        /// Its length in bytes.
        len: usize,
    },

    /// Connecting to a control socket failed.
    #[error(
        "cannot connect to BIRD's control socket {socket}: {source}; is BIRD running with `-s {socket}`?"
    )]
    Connect {
        /// The socket path.
        socket: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// BIRD answered a command with an error (reply codes 8xxx and 9xxx).
    #[error("BIRD refused `{command}`: {code} {message}")]
    Bird {
        /// The command sent.
        command: String,
        /// BIRD's reply code.
        code: u16,
        /// BIRD's text, verbatim.
        message: String,
    },

    /// BIRD did not finish answering a command in time.
    #[error("BIRD on {socket} did not finish answering `{command}` within {after:?}")]
    Timeout {
        /// The socket path.
        socket: PathBuf,
        /// The command sent.
        command: String,
        /// The time allowed.
        after: Duration,
    },

    /// The control connection carried something that is not BIRD's line protocol, or
    /// closed mid-reply.
    #[error("BIRD control socket {socket}: {detail}")]
    Protocol {
        /// The socket path.
        socket: PathBuf,
        /// What was wrong.
        detail: String,
    },

    /// A reply did not have the expected shape.
    #[error("unexpected output from BIRD for `{command}`: {detail}: {line:?}")]
    Parse {
        /// The command whose reply was parsed.
        command: String,
        /// What was expected.
        detail: String,
        /// The offending line.
        line: String,
    },

    /// `show protocols all NAME` answered without a row for NAME.
    #[error("BIRD has no protocol named {name:?}; `show protocols` lists the ones it has")]
    NoSuchProtocol {
        /// The name asked for.
        name: String,
    },

    /// A command containing a line break would be two commands.
    #[error("BIRD commands are single lines; {command:?} contains a line break")]
    BadCommand {
        /// The command.
        command: String,
    },

    /// The daemon is not running (it was stopped, or never started).
    #[error("the daemon of {label} is not running")]
    NotRunning {
        /// The node.
        label: String,
    },

    /// A process survived SIGKILL for longer than the deadline.
    #[error("BIRD process {pid} is still there {after:?} after SIGKILL")]
    Unkillable {
        /// The pid.
        pid: u32,
        /// How long routelab waited.
        after: Duration,
    },
}

impl DaemonError {
    /// Wraps an I/O error with a description of what was being done.
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> DaemonError {
        DaemonError::Io {
            what: what.into(),
            source,
        }
    }
}
