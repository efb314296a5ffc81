//! A running lab: the namespaces, links and daemons of one scenario, and their teardown.
//!
//! An ephemeral lab (`routelab run`, tests) holds its namespaces by file descriptor and
//! starts its daemons with a parent-death signal, so nothing outlives the process, whatever
//! ends it. Dropping the [`Lab`] tears it down: daemons first (all asked to stop at once,
//! then the stragglers killed), then namespaces, then its runtime directory. The runtime
//! directory is locked while the lab lives, so a later run can tell a dead lab's directory
//! (and remove it) from a live one's, in whatever PID namespace that one runs.
//!
//! A persistent lab (`routelab up`) bind-mounts its namespaces at `/run/netns/<lab>-<ns>`
//! and leaves its daemons running. Its record, `/run/routelab/<lab>/lab.json`, is written
//! before anything is created and rewritten as each namespace and daemon appears, so
//! [`down`] can remove exactly what the record says routelab made, even after a crash at
//! any moment of `up`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use ipnet::IpNet;
use routelab_model::plan::{DaemonKind, Plan};
use serde::{Deserialize, Serialize};

use crate::daemon::{
    BirdSearch, Daemon, DaemonError, DaemonFiles, ProcessId, Stop, prepare, stop_processes,
};
use crate::net::Netns;
use crate::net::apply::{self, ApplyError, LabNamespace};
use crate::net::routes::KernelRoute;

/// Where persistent labs keep their state.
pub const STATE_ROOT: &str = "/run/routelab";
/// Where `ip netns` looks for named namespaces.
pub const NETNS_ROOT: &str = "/run/netns";
/// The lock an ephemeral lab holds on its runtime directory while it lives.
const LOCK_FILE: &str = ".lock";
/// How long daemons get to stop in order at teardown before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// How long a lone daemon may take to answer after it starts.
const READY_BASE: Duration = Duration::from_secs(10);
/// What each other daemon starting at the same time adds to that.
const READY_PER_DAEMON: Duration = Duration::from_millis(40);
/// How long `down` gives a persistent lab's daemons, together, to stop in order.
const DOWN_GRACE: Duration = Duration::from_secs(5);

/// How long a lab lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Gone when the process ends.
    Ephemeral,
    /// Stays until `routelab down`, under this lab name (a plain name, see
    /// [`routelab_model::names`]).
    Persistent { lab: String },
}

/// Why a probe could not run at all (a probe that ran and saw no answer is an outcome,
/// not an error).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no node `{0}` in the lab")]
    NoSuchNode(String),
    #[error("probe on {node} panicked: {reason}")]
    Panicked { node: String, reason: String },
    #[error("probe on {node}: {source}")]
    Io { node: String, source: io::Error },
}

impl ProbeError {
    /// Runs `f`, a blocking probe on `node`, on tokio's blocking pool; its panic or I/O
    /// error becomes the probe's error.
    pub(crate) async fn of_blocking<F, R>(node: &str, f: F) -> Result<R, ProbeError>
    where
        F: FnOnce() -> io::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ProbeError::Panicked {
                node: node.to_string(),
                reason: e.to_string(),
            })?
            .map_err(|source| ProbeError::Io {
                node: node.to_string(),
                source,
            })
    }
}

/// Why a lab could not be built, started or changed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("BIRD on `{node}`: {source}")]
    Daemon { node: String, source: DaemonError },
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error(
        "a lab named `{lab}` is already up (or being built); run `routelab down --lab {lab}` \
         first or pick another name with --lab"
    )]
    AlreadyUp { lab: String },
    #[error("{path} already exists and routelab did not make it; is another lab named `{lab}` up?")]
    NameTaken { lab: String, path: PathBuf },
    #[error("{0}")]
    InvalidName(#[from] routelab_model::names::NameError),
    #[error("no node `{0}` in the lab")]
    NoSuchNode(String),
    #[error("node `{0}` runs no routing daemon")]
    NoDaemon(String),
    #[error(transparent)]
    RuntimeBase(#[from] crate::userns::RuntimeBaseError),
    #[error(
        "lab `{lab}` cannot be kept up without root: a lab built in a user namespace ends with \
         the process; run it with `routelab run`, or keep it up with sudo"
    )]
    PersistentNeedsRoot { lab: String },
}

pub use crate::blame::Blame;

impl LabError {
    pub fn blame(&self) -> Blame {
        match self {
            LabError::Apply(e) => e.blame(),
            LabError::Daemon { source, .. } => match source {
                DaemonError::NotFound { .. } | DaemonError::WrongVersion { .. } => {
                    Blame::Environment
                }
                // BIRD read its configuration and refused it at startup.
                DaemonError::Exited { .. } | DaemonError::Config { .. } => Blame::Input,
                _ => Blame::Run,
            },
            LabError::Io { .. } => Blame::Environment,
            LabError::AlreadyUp { .. }
            | LabError::NameTaken { .. }
            | LabError::RuntimeBase(_)
            | LabError::PersistentNeedsRoot { .. } => Blame::Environment,
            LabError::InvalidName(_) => Blame::Input,
            LabError::NoSuchNode(_) | LabError::NoDaemon(_) => Blame::Run,
        }
    }

    fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> LabError {
        let what = what.into();
        move |source| LabError::Io { what, source }
    }
}

/// A daemon that exited while nothing had asked it to.
#[derive(Debug, Clone)]
pub struct DaemonDied {
    pub node: String,
    /// How it ended, as the shell says it (`signal: 9 (SIGKILL)`, `exit status: 1`).
    pub status: String,
    pub log_tail: String,
}

impl std::fmt::Display for DaemonDied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the routing daemon of `{}` exited unexpectedly ({}); the end of its log:\n{}",
            self.node, self.status, self.log_tail
        )
    }
}

/// What `routelab down` needs to remove a persistent lab, and `exec` to enter it.
#[derive(Debug, Serialize, Deserialize, Default, Clone)]
pub struct LabState {
    pub lab: String,
    pub scenario: String,
    /// The routelab building the lab, while it does; `None` once the lab is up.
    #[serde(default)]
    pub builder: Option<ProcessId>,
    /// Each namespace routelab made, recorded before its bind mount is created.
    pub namespaces: Vec<NamespaceState>,
    /// Each daemon routelab started, recorded the moment it was spawned.
    pub daemons: Vec<DaemonState>,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct NamespaceState {
    /// The node, pod or segment it is.
    pub name: String,
    /// Its bind mount, `/run/netns/<lab>-<name>`.
    pub path: PathBuf,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct DaemonState {
    pub node: String,
    /// The daemon's name: the node's, or `<node>.bird` for a calico node's own BIRD
    /// (absent in records of older versions).
    #[serde(default)]
    pub name: Option<String>,
    pub process: ProcessId,
    pub socket: PathBuf,
    /// What the daemon is (absent in records of older versions).
    #[serde(default)]
    pub kind: Option<DaemonKind>,
}

impl LabState {
    /// The bind mount of a node's namespace.
    pub fn namespace(&self, name: &str) -> Option<&Path> {
        self.namespaces
            .iter()
            .find(|n| n.name == name)
            .map(|n| n.path.as_path())
    }
}

/// A built lab.
pub struct Lab {
    pub scenario: String,
    mode: Mode,
    /// Dropped last: namespaces go when their descriptors close.
    namespaces: BTreeMap<String, LabNamespace>,
    /// By daemon name ([`Plan::daemon_name`]): the node's, or `<node>.bird` for a calico
    /// node's own BIRD beside calico-node's.
    daemons: BTreeMap<String, Box<dyn Daemon>>,
    /// The node and kind of each daemon, by name.
    kinds: BTreeMap<String, (String, DaemonKind)>,
    /// For each calico node that runs more than one BIRD (its own beside calico-node's,
    /// `bird6` on a dual-stack node): the other daemons' names and the names of their
    /// protocols, which expectations about them reach them by.
    other_daemons: BTreeMap<String, Vec<(String, std::collections::BTreeSet<String>)>>,
    /// Daemons a timeline step stopped on purpose; their exit is not a failure.
    stopped_on_purpose: std::collections::BTreeSet<String>,
    /// When each daemon last started.
    started: BTreeMap<String, Instant>,
    /// Sockets, rendered configs and logs; removed on teardown for an ephemeral lab.
    runtime_dir: RuntimeDir,
    /// The persistent lab's record, kept in step with what exists.
    state: Option<LabState>,
    detached: bool,
    /// Probes share it; a measurement that reads fragmentation counters across the whole
    /// lab holds it alone, so no other probe's packets show up in its counts.
    counter_gate: std::sync::Arc<tokio::sync::RwLock<()>>,
    /// Which node each planned address belongs to: tells when two daemons' sessions are
    /// the two ends of one peering.
    owners: BTreeMap<std::net::IpAddr, String>,
}

enum RuntimeDir {
    /// An ephemeral lab's: a temporary directory, locked while the lab lives.
    Temp {
        dir: tempfile::TempDir,
        _lock: nix::fcntl::Flock<File>,
    },
    /// A persistent lab's, under [`STATE_ROOT`].
    Fixed(PathBuf),
}

impl RuntimeDir {
    fn path(&self) -> &Path {
        match self {
            RuntimeDir::Temp { dir, .. } => dir.path(),
            RuntimeDir::Fixed(p) => p,
        }
    }

    fn ephemeral(scenario: &str) -> Result<RuntimeDir, LabError> {
        let base = crate::userns::runtime_base()?;
        remove_stale_runtime_dirs(&base);
        let dir = tempfile::Builder::new()
            .prefix(&format!("routelab-{scenario}-{}-", std::process::id()))
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(&base)
            .map_err(LabError::io("creating a runtime directory"))?;
        open_to_daemons(dir.path())?;
        let lock = File::create(dir.path().join(LOCK_FILE))
            .map_err(LabError::io("creating the runtime directory's lock"))?;
        let lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| LabError::Io {
                what: "locking the runtime directory".into(),
                source: e.into(),
            })?;
        Ok(RuntimeDir::Temp { dir, _lock: lock })
    }
}

impl Lab {
    /// Builds the network of `plan`: namespaces, links, addresses, routes, sysctls. On
    /// error, whatever was built is torn down before returning.
    pub async fn build(plan: &Plan, mode: Mode) -> Result<Lab, LabError> {
        let (runtime_dir, state) = match &mode {
            Mode::Ephemeral => (RuntimeDir::ephemeral(&plan.scenario)?, None),
            Mode::Persistent { lab } => {
                routelab_model::names::plain("lab", lab).map_err(LabError::InvalidName)?;
                if crate::userns::confined().is_some() {
                    return Err(LabError::PersistentNeedsRoot { lab: lab.clone() });
                }
                let dir = create_state_dir(lab)?;
                let state = LabState {
                    lab: lab.clone(),
                    scenario: plan.scenario.clone(),
                    builder: ProcessId::of(std::process::id()).ok(),
                    ..LabState::default()
                };
                (RuntimeDir::Fixed(dir), Some(state))
            }
        };
        let mut lab = Lab {
            scenario: plan.scenario.clone(),
            mode,
            namespaces: BTreeMap::new(),
            daemons: BTreeMap::new(),
            kinds: BTreeMap::new(),
            other_daemons: BTreeMap::new(),
            stopped_on_purpose: Default::default(),
            started: BTreeMap::new(),
            runtime_dir,
            state,
            detached: false,
            counter_gate: std::sync::Arc::new(tokio::sync::RwLock::new(())),
            // A link-local address (a workload peering address Felix puts on several pods'
            // interfaces) belongs to no one namespace.
            owners: plan
                .addresses
                .iter()
                .filter(|a| !is_link_local(a.address.addr()))
                .map(|a| (a.address.addr(), a.ns.clone()))
                .collect(),
        };
        // From here on, an early return drops `lab`, which tears down what exists. The
        // record exists before anything it would list.
        lab.write_state()?;
        lab.namespaces = apply::create_namespaces(plan).await?;
        if let Mode::Persistent { lab: name } = lab.mode.clone() {
            let names: Vec<String> = lab.namespaces.keys().cloned().collect();
            for ns_name in names {
                let path = Path::new(NETNS_ROOT).join(format!("{name}-{ns_name}"));
                // Claim the path first: a file that exists is someone else's.
                std::fs::create_dir_all(NETNS_ROOT)
                    .map_err(LabError::io(format!("creating {NETNS_ROOT}")))?;
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        return Err(LabError::NameTaken { lab: name, path });
                    }
                    Err(e) => return Err(LabError::io(format!("creating {}", path.display()))(e)),
                }
                if let Some(state) = &mut lab.state {
                    state.namespaces.push(NamespaceState {
                        name: ns_name.clone(),
                        path: path.clone(),
                    });
                }
                lab.write_state()?;
                lab.namespaces[&ns_name]
                    .netns
                    .bind_mount(&path)
                    .map_err(LabError::io(format!("bind-mounting {}", path.display())))?;
            }
        }
        apply::apply(plan, &lab.namespaces).await?;
        Ok(lab)
    }

    /// Starts every daemon of the plan at once and waits until all answer.
    ///
    /// Must be called from a thread that lives as long as the lab: daemons are given a
    /// parent-death signal, which the kernel ties to the thread that started them.
    pub async fn start_daemons(
        &mut self,
        plan: &Plan,
        binaries: &BirdSearch,
    ) -> Result<(), LabError> {
        let persistent = matches!(self.mode, Mode::Persistent { .. });
        // Every sandbox is written before the first daemon runs: writing them does not
        // then compete for the CPU with daemons already starting, and a config that cannot
        // be written stops the start before anything runs.
        let mut prepared = Vec::with_capacity(plan.daemons.len());
        for d in &plan.daemons {
            let netns = self
                .netns(&d.ns)
                .ok_or_else(|| LabError::NoSuchNode(d.ns.clone()))?;
            let name = plan.daemon_name(d);
            let dir = self.runtime_dir.path();
            // The daemon creates its socket without root, so in its own sandbox.
            let files = DaemonFiles {
                sandbox: dir.join(&name),
                socket: dir.join(&name).join("bird.ctl"),
                log: dir.join(format!("{name}.log")),
            };
            let mut daemon = prepare(d.kind, &d.ns, netns, &d.config, files, binaries, persistent)
                .map_err(|source| LabError::Daemon {
                    node: name.clone(),
                    source,
                })?;
            daemon.set_ready_timeout(ready_timeout(plan.daemons.len()));
            prepared.push((d, name, daemon));
        }
        for (d, name, mut daemon) in prepared {
            daemon.start().map_err(|source| LabError::Daemon {
                node: name.clone(),
                source,
            })?;
            if name != d.ns {
                self.other_daemons
                    .entry(d.ns.clone())
                    .or_default()
                    .push((name.clone(), protocol_names(&d.config)));
            }
            self.daemons.insert(name.clone(), daemon);
            self.kinds.insert(name.clone(), (d.ns.clone(), d.kind));
            self.started.insert(name, Instant::now());
            // Recorded the moment it runs, before it has answered: a crash now must not
            // leave a daemon `down` does not know of.
            self.write_state()?;
        }
        let waits = self.daemons.iter_mut().map(|(node, d)| {
            d.ready().map(move |r| {
                r.map_err(|source| LabError::Daemon {
                    node: node.clone(),
                    source,
                })
            })
        });
        futures::future::try_join_all(waits).await?;
        Ok(())
    }

    /// A namespace of the lab with its netlink connection.
    pub(crate) fn namespace(&self, name: &str) -> Option<&LabNamespace> {
        self.namespaces.get(name)
    }

    /// The namespace of a node (or segment).
    pub fn netns(&self, name: &str) -> Option<Arc<Netns>> {
        self.namespaces.get(name).map(|n| n.netns.clone())
    }

    /// The names of every namespace of the lab.
    pub fn namespace_names(&self) -> impl Iterator<Item = &str> {
        self.namespaces.keys().map(String::as_str)
    }

    /// The main routing table of a node.
    pub async fn routes(&self, node: &str, ipv6: bool) -> Result<Vec<KernelRoute>, LabError> {
        let space = self
            .namespaces
            .get(node)
            .ok_or_else(|| LabError::NoSuchNode(node.into()))?;
        crate::net::routes::main_table(&space.netlink, ipv6)
            .await
            .map_err(|source| {
                LabError::Apply(ApplyError::Netlink {
                    what: format!("reading the routes of {node}"),
                    source,
                })
            })
    }

    /// The node a planned address belongs to.
    pub fn owner_of(&self, address: std::net::IpAddr) -> Option<&str> {
        self.owners.get(&address).map(String::as_str)
    }

    /// The daemon an expectation about `protocol` on `node` asks: another daemon of the
    /// node (its own BIRD beside calico-node's, or `bird6`) when that one defines the
    /// protocol, otherwise the node's daemon.
    pub fn daemon_for(&self, node: &str, protocol: &str) -> Result<&dyn Daemon, LabError> {
        let other = self
            .other_daemons
            .get(node)
            .into_iter()
            .flatten()
            .find(|(_, protocols)| protocols.contains(protocol));
        match other {
            Some((name, _)) => self.daemon(name),
            None => self.daemon(node),
        }
    }

    /// Every daemon of `node`: calico-node's BIRD (or the node's only one) first, then its
    /// own BIRD beside it.
    pub fn daemons_of(&self, node: &str) -> Vec<&dyn Daemon> {
        self.daemon_names_of(node)
            .iter()
            .filter_map(|name| self.daemon(name).ok())
            .collect()
    }

    /// The names of every daemon of `node`, in the order of [`Lab::daemons_of`].
    pub fn daemon_names_of(&self, node: &str) -> Vec<String> {
        let others = self
            .other_daemons
            .get(node)
            .into_iter()
            .flatten()
            .map(|(name, _)| name.clone());
        std::iter::once(node.to_string())
            .chain(others)
            .filter(|name| self.daemons.contains_key(name))
            .collect()
    }

    /// Records that daemon `name` now runs `config`: a calico node's own BIRD may have
    /// other protocols for expectations to reach.
    pub fn reconfigured(&mut self, name: &str, config: &routelab_model::daemon::BirdConfig) {
        if let Some((_, protocols)) = self
            .other_daemons
            .values_mut()
            .flatten()
            .find(|(n, _)| n == name)
        {
            *protocols = protocol_names(config);
        }
    }

    /// The node a daemon runs on, by the daemon's name.
    pub fn node_of_daemon<'a>(&'a self, name: &'a str) -> &'a str {
        self.kinds.get(name).map_or(name, |(node, _)| node.as_str())
    }

    /// The daemon named `name`: a node's (by the node's name: calico-node's BIRD on a
    /// calico node) or a calico node's own BIRD (`<node>.bird`).
    pub fn daemon(&self, node: &str) -> Result<&dyn Daemon, LabError> {
        self.daemons
            .get(node)
            .map(|d| d.as_ref())
            .ok_or_else(|| LabError::NoDaemon(node.into()))
    }

    /// The routing daemon of `node`, to change it.
    pub fn daemon_mut(&mut self, node: &str) -> Result<&mut Box<dyn Daemon>, LabError> {
        self.daemons
            .get_mut(node)
            .ok_or_else(|| LabError::NoDaemon(node.into()))
    }

    /// Marks a daemon as stopped on purpose (its exit is no failure) or as running again
    /// (started just now).
    pub fn expect_running(&mut self, node: &str, running: bool) {
        if running {
            self.stopped_on_purpose.remove(node);
            self.started.insert(node.to_string(), Instant::now());
        } else {
            self.stopped_on_purpose.insert(node.to_string());
        }
    }

    /// Each running daemon's node and when it last started.
    pub fn daemon_starts(&self) -> Vec<(String, Instant)> {
        self.started
            .iter()
            .filter(|(node, _)| !self.stopped_on_purpose.contains(*node))
            .map(|(n, t)| (n.clone(), *t))
            .collect()
    }

    /// What the daemon on `node` knows about `prefix`, for diagnoses; `None` when the node
    /// runs no daemon.
    pub async fn daemon_route_view(&self, node: &str, prefix: IpNet) -> Option<String> {
        let daemon = self.daemon(node).ok()?;
        let text = match daemon.route_view(prefix).await {
            Ok(text) => text,
            Err(e) => e.to_string(),
        };
        let text = text.trim().to_string();
        Some(if text.is_empty() {
            "  (no route for it in any table)".into()
        } else {
            text.lines()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    /// Resolves when a daemon exits that nothing asked to stop; pending while all run.
    /// [`Lab::daemon_died`] then says how it ended.
    pub async fn unexpected_exit(&self) -> String {
        let watches: Vec<_> = self
            .daemons
            .iter()
            .filter(|(node, _)| !self.stopped_on_purpose.contains(*node))
            .map(|(node, d)| d.exit_watch().map(move |()| node.clone()).boxed())
            .collect();
        if watches.is_empty() {
            return futures::future::pending().await;
        }
        futures::future::select_all(watches).await.0
    }

    /// How the daemon of `node`, which has exited, ended, with the end of its log.
    pub fn daemon_died(&mut self, node: &str) -> DaemonDied {
        let Some(d) = self.daemons.get_mut(node) else {
            return DaemonDied {
                node: node.into(),
                status: "unknown".into(),
                log_tail: String::new(),
            };
        };
        let status = d
            .reap()
            .map_or_else(|| "unknown".into(), |s| describe_exit(&s));
        DaemonDied {
            node: node.into(),
            status,
            log_tail: d.log_tail(),
        }
    }

    /// Runs a blocking probe inside a node's namespace on tokio's blocking pool.
    pub async fn probe<F, R>(&self, node: &str, f: F) -> Result<R, ProbeError>
    where
        F: FnOnce(&Netns) -> io::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let netns = self
            .netns(node)
            .ok_or_else(|| ProbeError::NoSuchNode(node.to_string()))?;
        // The probe holds the gate until it is done, even when the look that wanted it is
        // no longer waiting: its packets must not land in an exclusive measurement.
        let shared = self.counter_gate.clone().read_owned().await;
        ProbeError::of_blocking(node, move || {
            let _shared = shared;
            f(&netns)
        })
        .await
    }

    /// Holds every other probe of the lab off until the guard is dropped, for measurements
    /// that compare IP counters of all namespaces before and after their own packets.
    /// Probe through [`Lab::netns`] while holding it: [`Lab::probe`] would wait for it.
    pub async fn exclusive_probing(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.counter_gate.write().await
    }

    /// Leaves a persistent lab running and forgets it (`routelab up`).
    pub fn detach(mut self) -> Result<LabState, LabError> {
        if let Some(state) = &mut self.state {
            state.builder = None;
        }
        // Recorded while the daemons are still held, then let go of.
        self.write_state()?;
        for d in self.daemons.values_mut() {
            d.detach();
        }
        self.detached = true;
        Ok(self.state.clone().unwrap_or_default())
    }

    /// Rewrites the persistent lab's record from what exists now.
    fn write_state(&mut self) -> Result<(), LabError> {
        let Some(state) = &mut self.state else {
            return Ok(());
        };
        state.daemons = self
            .daemons
            .iter()
            .filter_map(|(name, d)| {
                let (node, kind) = self.kinds.get(name)?;
                Some(DaemonState {
                    node: node.clone(),
                    name: Some(name.clone()),
                    process: d.process()?,
                    socket: d.control_socket()?,
                    kind: Some(*kind),
                })
            })
            .collect();
        let path = self.runtime_dir.path().join("lab.json");
        let json = serde_json::to_string_pretty(state).expect("state serializes");
        crate::daemon::replace_private(&path, &json, None)
            .map_err(LabError::io(format!("writing {}", path.display())))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        // Daemons first, all at once: a daemon inside a namespace would keep it alive.
        for d in self.daemons.values_mut() {
            let _ = d.signal_stop(Stop::Orderly);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline && !self.daemons.values().all(|d| d.has_stopped()) {
            std::thread::sleep(Duration::from_millis(10));
        }
        for d in self.daemons.values_mut() {
            d.finish_stop();
        }
        self.daemons.clear();
        if let Some(state) = &self.state {
            for ns in &state.namespaces {
                if let Err(e) = crate::net::netns::unmount(&ns.path) {
                    tracing::warn!("removing {}: {e}", ns.path.display());
                }
            }
        }
        self.namespaces.clear();
        if let RuntimeDir::Fixed(dir) = &self.runtime_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        // A TempDir removes itself when dropped.
    }
}

/// How long each of `daemons` daemons started together may take to answer: they share
/// the machine's cores while they read their configs and the kernel's state, so the
/// last of 500 answers many seconds after the first (18 s for 500 calico nodes and their
/// core on 2 cores), and a fixed 10 s failed the 236th of them.
fn ready_timeout(daemons: usize) -> Duration {
    READY_BASE + READY_PER_DAEMON * daemons as u32
}

/// `signal: 9 (SIGKILL)`, `exit status: 1`.
fn describe_exit(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(sig) => {
            let name = nix::sys::signal::Signal::try_from(sig)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| "?".into());
            format!("killed by signal {sig} ({name})")
        }
        None => status.to_string(),
    }
}

/// Lets the daemon user through a runtime directory to the sandbox of its own inside,
/// and nobody else in: mode 0710, group the daemon user's. Everything in it is owner-only
/// (0600 files, 0700 sandboxes), so this opens nothing else.
fn open_to_daemons(dir: &Path) -> Result<(), LabError> {
    use std::os::unix::fs::PermissionsExt;
    let Some(user) = crate::daemon::DaemonUser::for_daemons() else {
        return Ok(());
    };
    std::os::unix::fs::chown(dir, None, Some(user.gid))
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o710)))
        .map_err(LabError::io(format!(
            "opening {} to the daemon user",
            dir.display()
        )))
}

/// Creates `/run/routelab/<lab>`, owner-only; one that exists means the lab is up or
/// being built.
fn create_state_dir(lab: &str) -> Result<PathBuf, LabError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(STATE_ROOT)
        .map_err(LabError::io(format!("creating {STATE_ROOT}")))?;
    let dir = Path::new(STATE_ROOT).join(lab);
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {
            open_to_daemons(&dir)?;
            Ok(dir)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(LabError::AlreadyUp { lab: lab.into() })
        }
        Err(e) => Err(LabError::io(format!("creating {}", dir.display()))(e)),
    }
}

/// Removes the runtime directories of ephemeral labs that are gone: one killed with
/// SIGKILL cannot remove its own (its namespaces and daemons went with it). A live lab
/// holds the lock on its directory, whatever PID namespace it runs in. Only directories
/// named as [`RuntimeDir::ephemeral`] names them (`routelab-SCENARIO-PID-SUFFIX`) and
/// owned by this user are looked at: another user's runtime base in `/tmp`
/// (`/tmp/routelab-UID`) is theirs to sweep, and a directory of someone else's that only
/// starts with `routelab-` is not routelab's. Only one holding an unlocked lock file is
/// removed with its contents; one without a lock (a lab killed between creating its
/// directory and locking it, or not a lab at all) is removed only if it is empty and a
/// minute old, so nothing routelab did not write is ever deleted.
fn remove_stale_runtime_dirs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let me = nix::unistd::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_runtime_dir_name(&name)
            || !entry.file_type().is_ok_and(|t| t.is_dir())
            || entry.metadata().is_ok_and(|m| m.uid() != me)
        {
            continue;
        }
        let dir = entry.path();
        match File::open(dir.join(LOCK_FILE)) {
            Ok(lock) => {
                if nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock)
                    .is_ok()
                {
                    tracing::info!("removing {} left by a killed run", dir.display());
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
            Err(_) => {
                let old = std::fs::metadata(&dir)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(60)));
                // `remove_dir` fails on a directory that holds anything.
                if old && std::fs::remove_dir(&dir).is_ok() {
                    tracing::info!("removed the empty {} left by a killed run", dir.display());
                }
            }
        }
    }
}

/// Whether `name` is what [`RuntimeDir::ephemeral`] names a runtime directory:
/// `routelab-`, the scenario, `-`, a process id, `-`, tempfile's random suffix.
fn is_runtime_dir_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("routelab-") else {
        return false;
    };
    let mut parts = rest.rsplitn(3, '-');
    let (Some(suffix), Some(pid), Some(scenario)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !scenario.is_empty()
        && !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && !suffix.is_empty()
        && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What `routelab down` did.
#[derive(Debug, Default)]
pub struct Removed {
    /// What was removed, for the user.
    pub removed: Vec<String>,
    /// Processes inside the lab's namespaces that routelab did not start, left alone.
    pub left: Vec<String>,
}

/// Why a lab could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum DownError {
    #[error("no lab named `{lab}` is up (no record at {record})")]
    NotUp { lab: String, record: PathBuf },
    #[error("{record} is not a lab record: {source}")]
    BadRecord {
        record: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "lab `{lab}` is being built by routelab (pid {pid}); wait for it, or stop that process first"
    )]
    Building { lab: String, pid: u32 },
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("stopping the daemon of {node}: {source}")]
    Daemon { node: String, source: DaemonError },
}

/// Removes a persistent lab: stops its daemons, unmounts its namespaces, deletes its
/// state — exactly what its record lists, nothing else.
pub fn down(lab: &str) -> Result<Removed, DownError> {
    let dir = Path::new(STATE_ROOT).join(lab);
    let record = dir.join("lab.json");
    let state: LabState = match std::fs::read_to_string(&record) {
        Ok(text) => serde_json::from_str(&text).map_err(|source| DownError::BadRecord {
            record: record.clone(),
            source,
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Nothing is created before the record, so an empty directory is all there is.
            let _ = std::fs::remove_dir(&dir);
            return Err(DownError::NotUp {
                lab: lab.into(),
                record,
            });
        }
        Err(source) => {
            return Err(DownError::Io {
                what: format!("reading {}", record.display()),
                source,
            });
        }
    };
    if let Some(builder) = state.builder
        && builder.is_running()
    {
        return Err(DownError::Building {
            lab: lab.into(),
            pid: builder.pid,
        });
    }
    let mut out = Removed::default();
    // All at once: a lab's daemons stop in the time of the slowest, not of their sum.
    let ids: Vec<ProcessId> = state.daemons.iter().map(|d| d.process).collect();
    if let Some((id, source)) = stop_processes(&ids, DOWN_GRACE).into_iter().next() {
        let node = state
            .daemons
            .iter()
            .find(|d| d.process == id)
            .map_or_else(String::new, |d| d.node.clone());
        return Err(DownError::Daemon { node, source });
    }
    for d in &state.daemons {
        out.removed.push(format!(
            "daemon {} (pid {})",
            d.name.as_deref().unwrap_or(&d.node),
            d.process.pid
        ));
    }
    // A daemon spawned in the instant before it was recorded still runs in a namespace of
    // the record, with this lab's runtime directory on its command line.
    let ours: Vec<(String, u64)> = state
        .namespaces
        .iter()
        .filter_map(|n| Some((n.name.clone(), std::fs::metadata(&n.path).ok()?.ino())))
        .collect();
    let mut unrecorded = Vec::new();
    for (pid, ns, cmdline) in processes_in(&ours) {
        if cmdline.contains(&format!("{}/", dir.display())) {
            if let Ok(id) = ProcessId::of(pid) {
                unrecorded.push(id);
            }
            out.removed
                .push(format!("unrecorded daemon on {ns} (pid {pid})"));
        } else {
            out.left.push(format!("pid {pid} in {ns}: {cmdline}"));
        }
    }
    let _ = stop_processes(&unrecorded, Duration::from_secs(2));
    for ns in &state.namespaces {
        if !ns.path.starts_with(NETNS_ROOT)
            || ns
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                != Some(format!("{lab}-{}", ns.name))
        {
            // The record names only such paths; anything else was not written by routelab.
            out.left
                .push(format!("{} (not a path routelab makes)", ns.path.display()));
            continue;
        }
        crate::net::netns::unmount(&ns.path).map_err(|source| DownError::Io {
            what: format!("removing {}", ns.path.display()),
            source,
        })?;
        out.removed.push(format!("namespace {}", ns.path.display()));
    }
    std::fs::remove_dir_all(&dir).map_err(|source| DownError::Io {
        what: format!("removing {}", dir.display()),
        source,
    })?;
    Ok(out)
}

/// Processes whose network namespace is one of `namespaces` (name, nsfs inode), with the
/// namespace's name and the command line.
fn processes_in(namespaces: &[(String, u64)]) -> Vec<(u32, String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(ino) = std::fs::metadata(entry.path().join("ns/net")).map(|m| m.ino()) else {
            continue;
        };
        let Some((name, _)) = namespaces.iter().find(|(_, i)| *i == ino) else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline"))
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        out.push((pid, name.clone(), cmdline));
    }
    out
}

/// Reads the record of a persistent lab.
pub fn state(lab: &str) -> Result<LabState, DownError> {
    let record = Path::new(STATE_ROOT).join(lab).join("lab.json");
    let text = std::fs::read_to_string(&record).map_err(|_| DownError::NotUp {
        lab: lab.into(),
        record: record.clone(),
    })?;
    serde_json::from_str(&text).map_err(|source| DownError::BadRecord { record, source })
}

/// The names of the protocols a configuration defines, as far as they can be read.
fn is_link_local(addr: std::net::IpAddr) -> bool {
    match addr {
        std::net::IpAddr::V4(a) => a.is_link_local(),
        std::net::IpAddr::V6(a) => a.is_unicast_link_local(),
    }
}

fn protocol_names(
    config: &routelab_model::daemon::BirdConfig,
) -> std::collections::BTreeSet<String> {
    use routelab_model::{bird_conf, daemon::BirdConfig};
    let protocols = match config {
        BirdConfig::File(path) => bird_conf::protocols_of_file(path),
        BirdConfig::Inline(text) => bird_conf::protocols_of_text(text, Path::new(".")),
        BirdConfig::Rendered(files) => Some(bird_conf::protocols_of_rendered(files)),
    };
    protocols
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_runtime_directories_routelab_names_are_swept() {
        assert!(is_runtime_dir_name("routelab-mtu-chain-4242-a1B2c3"));
        assert!(is_runtime_dir_name("routelab-elsewhere-4242-abc"));
        // ci/vm-test.sh's own scratch directory, a user's notes, another user's base.
        assert!(!is_runtime_dir_name("routelab-vm-a1B2c3"));
        assert!(!is_runtime_dir_name("routelab-notes"));
        assert!(!is_runtime_dir_name("routelab-0"));
        assert!(!is_runtime_dir_name("routelab--12-abc"));
        assert!(!is_runtime_dir_name("routelab-s-12-ab.c"));
    }

    /// The sweep deletes what a killed lab left and nothing else, however old.
    #[test]
    fn the_stale_sweep_deletes_only_what_a_lab_left() {
        let base = tempfile::tempdir().unwrap();
        let make = |name: &str, files: &[&str]| {
            let dir = base.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            for f in files {
                std::fs::write(dir.join(f), "").unwrap();
            }
            dir
        };
        let not_a_lab = make("routelab-vm-a1B2c3", &["guest.sh"]);
        let unlocked_with_files = make("routelab-s-11-abcdef", &["notes.txt"]);
        let empty = make("routelab-s-12-abcdef", &[]);
        let killed = make("routelab-s-13-abcdef", &[LOCK_FILE, "r1.conf"]);
        let live = make("routelab-s-14-abcdef", &[LOCK_FILE]);
        let young_empty = make("routelab-s-15-abcdef", &[]);
        let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        for dir in [&not_a_lab, &unlocked_with_files, &empty, &killed, &live] {
            File::open(dir).unwrap().set_modified(an_hour_ago).unwrap();
        }
        let _held = nix::fcntl::Flock::lock(
            File::open(live.join(LOCK_FILE)).unwrap(),
            nix::fcntl::FlockArg::LockExclusiveNonblock,
        )
        .unwrap();
        remove_stale_runtime_dirs(base.path());
        assert!(not_a_lab.join("guest.sh").exists(), "not named as a lab's");
        assert!(
            unlocked_with_files.join("notes.txt").exists(),
            "no lock: not known to be ours"
        );
        assert!(
            !empty.exists(),
            "empty and old: a lab killed before it locked"
        );
        assert!(!killed.exists(), "its lock was free");
        assert!(live.exists(), "its lock is held");
        assert!(young_empty.exists(), "maybe a lab just starting");
    }

    #[test]
    fn readiness_waits_longer_for_more_daemons_starting_together() {
        assert_eq!(ready_timeout(1), Duration::from_millis(10_040));
        assert_eq!(ready_timeout(501), Duration::from_millis(30_040));
    }
}
