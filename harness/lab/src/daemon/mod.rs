//! Routing daemons in a lab: the [`Daemon`] trait every kind implements, and BIRD, the
//! kind routelab runs today in two flavours — BIRD 2 for routers and BIRD 1.6 (the base of
//! Calico's fork) for mock calico-node speakers ([`bird::Bird`]).
//!
//! Expectations and timeline actions talk to a daemon only through [`Daemon`]: its
//! protocols and their states, its OSPF neighbours, its view of a prefix; start, stop,
//! kill, reconfigure. Another daemon kind (FRR, GoBGP) is one file implementing it, a
//! [`routelab_model::plan::DaemonKind`] variant, and its line in [`start`].
//!
//! For BIRD this module also
//!
//! - finds binaries at run time ([`BirdSearch`]) and checks configs with BIRD's own parser
//!   ([`check_config`]),
//! - supervises the process ([`BirdProcess`]): started in a namespace with a parent-death
//!   signal, its identity (pid and start time) known at once, its exit seen the moment it
//!   happens through a pidfd, stopped later by identity ([`stop_process`]),
//! - talks to its control socket ([`BirdClient`]) and parses what both flavours print.
//!
//! Nothing here spawns `birdc`: the control protocol is a simple line protocol, implemented
//! in [`reply`].

mod binary;
pub mod bird;
mod client;
mod config;
mod error;
mod parse;
mod process;
pub mod reply;
mod spawn;
mod user;

use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;

use futures::future::BoxFuture;
use ipnet::IpNet;
use routelab_model::plan::DaemonKind;
use routelab_model::scenario::BirdConfig;

pub use binary::{BirdBinary, BirdSearch, Flavour, check_config};
pub use client::BirdClient;
pub use config::{make_sandbox, replace_private, write_config};
pub use error::DaemonError;
pub use process::{BirdProcess, BirdSpec, ProcessId, stop_process, stop_processes};
pub use reply::{Reply, ReplyLine};
pub use routelab_model::observed::{OspfNeighbor, ProtocolDetail, ProtocolRow, RouteCounts};
pub use user::{DAEMON_USER, DaemonUser};

use crate::net::Netns;

/// How to stop a daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Let it shut down in order (BIRD: SIGTERM, sessions closed with a Cease).
    Orderly,
    /// SIGKILL: as a crash, nothing said to its peers.
    Kill,
}

/// A routing daemon of a lab node, running or stopped.
pub trait Daemon: Send + Sync {
    /// The node it runs on.
    fn node(&self) -> &str;

    /// What it is, for messages: `BIRD 2.0.12`.
    fn describe(&self) -> String;

    /// Starts the process and returns once it is spawned (see [`Daemon::ready`]). Call
    /// from a thread that lives as long as the lab (see [`BirdProcess`]).
    fn start(&mut self) -> Result<(), DaemonError>;

    /// Waits until it answers, or fails with why it did not.
    fn ready(&mut self) -> BoxFuture<'_, Result<(), DaemonError>>;

    /// How long [`Daemon::ready`] waits at most; the kind's own default until set.
    fn set_ready_timeout(&mut self, _timeout: std::time::Duration) {}

    /// The running process, if any.
    fn process(&self) -> Option<ProcessId>;

    /// Resolves when the running process exits (pending forever when none runs). It does
    /// not reap: [`Daemon::reap`] gives the status afterwards.
    fn exit_watch(&self) -> BoxFuture<'_, ()>;

    /// Once the process has exited: reaps it and returns how it ended.
    fn reap(&mut self) -> Option<ExitStatus>;

    /// Asks it to stop ([`Stop::Orderly`]) or kills it; returns at once. [`Daemon::reap`]
    /// or [`Daemon::finish_stop`] complete it.
    fn signal_stop(&mut self, how: Stop) -> Result<(), DaemonError>;

    /// Whether the process has exited (or none runs).
    fn has_stopped(&self) -> bool;

    /// Kills what still runs and reaps it.
    fn finish_stop(&mut self);

    /// Leaves the process running when routelab exits (`routelab up`).
    fn detach(&mut self) -> Option<ProcessId>;

    /// Every protocol and its state.
    fn protocols(&self) -> BoxFuture<'_, Result<Vec<ProtocolRow>, DaemonError>>;

    /// Every protocol in detail.
    fn protocol_details(&self) -> BoxFuture<'_, Result<Vec<ProtocolDetail>, DaemonError>>;

    /// One protocol in detail.
    fn protocol<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<ProtocolDetail, DaemonError>>;

    /// The neighbours of one OSPF protocol.
    fn ospf_neighbors<'a>(
        &'a self,
        protocol: &'a str,
    ) -> BoxFuture<'a, Result<Vec<OspfNeighbor>, DaemonError>>;

    /// What it knows of a prefix, as its own CLI prints it (for diagnoses).
    fn route_view(&self, prefix: IpNet) -> BoxFuture<'_, Result<String, DaemonError>>;

    /// Its best route for every prefix, with all attributes, as its own CLI prints them
    /// (BIRD: `show route primary all`).
    fn best_routes(&self) -> BoxFuture<'_, Result<String, DaemonError>>;

    /// Replaces its configuration and has it take effect without a restart.
    fn reconfigure<'a>(
        &'a mut self,
        config: &'a BirdConfig,
    ) -> BoxFuture<'a, Result<(), DaemonError>>;

    /// The tail of its log.
    fn log_tail(&self) -> String;

    /// How a person reaches it from a shell: `birdc -s /run/routelab/lab/r1.ctl`.
    fn how_to_reach(&self) -> String;

    /// Its control socket, when it has one.
    fn control_socket(&self) -> Option<PathBuf>;
}

/// Where a daemon keeps its files.
#[derive(Debug, Clone)]
pub struct DaemonFiles {
    /// A directory of its own: configuration files, relative `log` targets. It is the
    /// daemon user's, mode 0700.
    pub sandbox: PathBuf,
    /// The control socket.
    pub socket: PathBuf,
    /// Where its output goes.
    pub log: PathBuf,
}

/// The daemon of `kind` for node `node`, not yet started, with `config` written into its
/// sandbox. One line per kind.
pub fn prepare(
    kind: DaemonKind,
    node: &str,
    netns: Arc<Netns>,
    config: &BirdConfig,
    files: DaemonFiles,
    binaries: &BirdSearch,
    persistent: bool,
) -> Result<Box<dyn Daemon>, DaemonError> {
    match kind {
        DaemonKind::Bird2 | DaemonKind::CalicoBird | DaemonKind::CalicoBird6 => {
            Ok(Box::new(bird::Bird::prepare(
                binaries.binary(kind)?,
                node,
                netns,
                config,
                files,
                persistent,
            )?))
        }
    }
}

#[cfg(test)]
mod tests;
