//! A running lab: the namespaces, links and daemons of one scenario, and their teardown.
//!
//! An ephemeral lab (`routelab run`, tests) holds its namespaces by file descriptor and
//! starts BIRD with a parent-death signal, so nothing outlives the process, whatever ends
//! it. Dropping the [`Lab`] tears it down in order: daemons first, then namespaces, then
//! its runtime directory.
//!
//! A persistent lab (`routelab up`) bind-mounts its namespaces at `/run/netns/<lab>-<ns>`,
//! runs BIRD detached, and records both in `/run/routelab/<lab>/lab.json` so that
//! `routelab down` can remove it later.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::daemon::{BirdClient, BirdProcess, BirdSearch, BirdSpec};
use crate::net::Netns;
use crate::net::apply::{self, ApplyError, LabNamespace};
use crate::net::routes::KernelRoute;
use routelab_model::plan::Plan;

/// Where persistent labs keep their state.
pub const STATE_ROOT: &str = "/run/routelab";
/// Where `ip netns` looks for named namespaces.
pub const NETNS_ROOT: &str = "/run/netns";

/// How long a lab lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Gone when the process ends.
    Ephemeral,
    /// Stays until `routelab down`, under this lab name.
    Persistent { lab: String },
}

/// Why a lab could not be built or started.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("{0}")]
    Daemon(String),
    /// A daemon's binary is not installed (the message says how to install it).
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    Io(String),
}

impl LabError {
    /// The machine lacks something (a kernel feature, a binary) rather than the input
    /// being wrong.
    pub fn is_environment(&self) -> bool {
        match self {
            LabError::Apply(e) => e.is_missing_kernel_feature(),
            LabError::Missing(_) => true,
            LabError::Daemon(_) | LabError::Io(_) => false,
        }
    }
}

/// A BIRD daemon of the lab.
struct Daemon {
    socket: PathBuf,
    /// `None` once detached for a persistent lab.
    process: Option<BirdProcess>,
}

/// What `routelab down` needs to remove a persistent lab.
#[derive(Debug, Serialize, Deserialize, Default)]
pub struct LabState {
    pub lab: String,
    pub scenario: String,
    /// Bind-mount paths under /run/netns.
    pub namespaces: Vec<PathBuf>,
    /// Namespace name (node or segment) to bind-mount path, for `routelab exec`.
    pub nodes: BTreeMap<String, PathBuf>,
    pub daemons: Vec<DaemonState>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DaemonState {
    pub node: String,
    pub pid: u32,
    pub socket: PathBuf,
}

/// A built lab.
pub struct Lab {
    pub scenario: String,
    mode: Mode,
    /// Dropped last: namespaces go when their descriptors close.
    namespaces: BTreeMap<String, LabNamespace>,
    daemons: BTreeMap<String, Daemon>,
    /// Sockets, rendered configs and logs; removed on teardown for an ephemeral lab.
    runtime_dir: RuntimeDir,
    mounted: Vec<PathBuf>,
    detached: bool,
    /// Probes share it; a measurement that reads fragmentation counters across the whole
    /// lab holds it alone, so no other probe's packets show up in its counts.
    counter_gate: tokio::sync::RwLock<()>,
}

enum RuntimeDir {
    Temp(tempfile::TempDir),
    Fixed(PathBuf),
}

impl RuntimeDir {
    fn path(&self) -> &Path {
        match self {
            RuntimeDir::Temp(t) => t.path(),
            RuntimeDir::Fixed(p) => p,
        }
    }
}

impl Lab {
    /// Builds the network of `plan`: namespaces, links, addresses, routes, sysctls. On
    /// error, whatever was built is torn down before returning.
    pub async fn build(plan: &Plan, mode: Mode) -> Result<Lab, LabError> {
        let runtime_dir = match &mode {
            Mode::Ephemeral => {
                remove_stale_runtime_dirs();
                RuntimeDir::Temp(
                    tempfile::Builder::new()
                        .prefix(&format!(
                            "routelab-{}-{}-",
                            plan.scenario,
                            std::process::id()
                        ))
                        .tempdir()
                        .map_err(|e| LabError::Io(format!("creating a runtime directory: {e}")))?,
                )
            }
            Mode::Persistent { lab } => {
                let dir = Path::new(STATE_ROOT).join(lab);
                if dir.join("lab.json").exists() {
                    return Err(LabError::Io(format!(
                        "a lab named `{lab}` is already up; run `routelab down --lab {lab}` first \
                         or pick another name with --lab"
                    )));
                }
                std::fs::create_dir_all(&dir)
                    .map_err(|e| LabError::Io(format!("creating {}: {e}", dir.display())))?;
                RuntimeDir::Fixed(dir)
            }
        };
        let mut lab = Lab {
            scenario: plan.scenario.clone(),
            mode,
            namespaces: BTreeMap::new(),
            daemons: BTreeMap::new(),
            runtime_dir,
            mounted: Vec::new(),
            detached: false,
            counter_gate: tokio::sync::RwLock::new(()),
        };
        // From here on, an early return drops `lab`, which tears down what exists.
        lab.namespaces = apply::create_namespaces(plan).await?;
        if let Mode::Persistent { lab: name } = lab.mode.clone() {
            for (ns_name, space) in &lab.namespaces {
                let path = Path::new(NETNS_ROOT).join(format!("{name}-{ns_name}"));
                if path.exists() {
                    return Err(LabError::Io(format!(
                        "{} already exists; is another lab named `{name}` up?",
                        path.display()
                    )));
                }
                space
                    .netns
                    .bind_mount(&path)
                    .map_err(|e| LabError::Io(e.to_string()))?;
                lab.mounted.push(path);
            }
            lab.write_state()?;
        }
        apply::apply(plan, &lab.namespaces).await?;
        Ok(lab)
    }

    /// Starts every daemon of the plan and waits until each answers on its control socket.
    ///
    /// Must be called from a thread that lives as long as the lab: BIRD is given a
    /// parent-death signal, which the kernel ties to the thread that started it.
    pub async fn start_daemons(
        &mut self,
        plan: &Plan,
        binaries: &BirdSearch,
    ) -> Result<(), LabError> {
        let persistent = matches!(self.mode, Mode::Persistent { .. });
        for d in &plan.daemons {
            let binary = binaries
                .binary(d.kind)
                .map_err(|e| LabError::Missing(e.to_string()))?;
            let config = crate::daemon::write_config(&d.config, self.runtime_dir.path(), &d.ns)
                .map_err(|e| LabError::Io(format!("writing the BIRD config of {}: {e}", d.ns)))?;
            let socket = self.runtime_dir.path().join(format!("{}.ctl", d.ns));
            let mut spec = BirdSpec::new(binary, config, socket.clone(), d.ns.clone());
            spec.log = Some(self.runtime_dir.path().join(format!("{}.log", d.ns)));
            spec.persistent = persistent;
            let netns = self.netns(&d.ns).ok_or_else(|| {
                LabError::Daemon(format!("no namespace for daemon on `{}`", d.ns))
            })?;
            let process = BirdProcess::start(&netns, &spec)
                .map_err(|e| LabError::Daemon(format!("BIRD on `{}`: {e}", d.ns)))?;
            self.daemons.insert(
                d.ns.clone(),
                Daemon {
                    socket,
                    process: Some(process),
                },
            );
            if persistent {
                self.write_state()?;
            }
        }
        Ok(())
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
    pub async fn routes(&self, node: &str, ipv6: bool) -> Result<Vec<KernelRoute>, String> {
        let space = self
            .namespaces
            .get(node)
            .ok_or_else(|| format!("no node `{node}` in the lab"))?;
        crate::net::routes::main_table(&space.netlink, ipv6)
            .await
            .map_err(|e| format!("reading routes of {node}: {e}"))
    }

    /// A client for the BIRD on `node`.
    pub async fn bird(&self, node: &str) -> Result<BirdClient, String> {
        let d = self
            .daemons
            .get(node)
            .ok_or_else(|| format!("node `{node}` runs no BIRD"))?;
        BirdClient::connect(&d.socket)
            .await
            .map_err(|e| format!("BIRD on {node}: {e}"))
    }

    /// What BIRD on `node` knows about `prefix` (`show route for PREFIX all`), for
    /// diagnoses; `None` when the node runs no BIRD.
    pub async fn bird_route_view(&self, node: &str, prefix: IpNet) -> Option<String> {
        let mut client = self.bird(node).await.ok()?;
        let text = match client
            .command(&format!("show route for {prefix} all"))
            .await
        {
            Ok(reply) => reply.text(),
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

    /// Runs a blocking probe inside a node's namespace on tokio's blocking pool.
    pub async fn probe<F, R>(&self, node: &str, f: F) -> Result<R, String>
    where
        F: FnOnce(&Netns) -> io::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let netns = self
            .netns(node)
            .ok_or_else(|| format!("no node `{node}` in the lab"))?;
        let _shared = self.counter_gate.read().await;
        tokio::task::spawn_blocking(move || f(&netns))
            .await
            .map_err(|e| format!("probe on {node} panicked: {e}"))?
            .map_err(|e| format!("probe on {node}: {e}"))
    }

    /// Holds every other probe of the lab off until the guard is dropped, for measurements
    /// that compare IP counters of all namespaces before and after their own packets.
    /// Probe through [`Lab::netns`] while holding it: [`Lab::probe`] would wait for it.
    pub async fn exclusive_probing(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.counter_gate.write().await
    }

    /// Leaves a persistent lab running and forgets it (`routelab up`).
    pub fn detach(mut self) -> LabState {
        self.detached = true;
        for d in self.daemons.values_mut() {
            // A persistent BIRD's handle leaves the process running when dropped.
            drop(d.process.take());
        }
        self.state()
    }

    fn state(&self) -> LabState {
        let Mode::Persistent { lab } = &self.mode else {
            return LabState::default();
        };
        LabState {
            lab: lab.clone(),
            scenario: self.scenario.clone(),
            namespaces: self.mounted.clone(),
            nodes: self
                .namespaces
                .keys()
                .map(|n| (n.clone(), Path::new(NETNS_ROOT).join(format!("{lab}-{n}"))))
                .collect(),
            daemons: self
                .daemons
                .iter()
                .filter_map(|(node, d)| {
                    d.process.as_ref().map(|p| DaemonState {
                        node: node.clone(),
                        pid: p.pid(),
                        socket: d.socket.clone(),
                    })
                })
                .collect(),
        }
    }

    /// Recorded after every step of a persistent build, so `down` can clean up even
    /// after a crash half-way.
    fn write_state(&self) -> Result<(), LabError> {
        let path = self.runtime_dir.path().join("lab.json");
        let json = serde_json::to_string_pretty(&self.state()).expect("state serializes");
        std::fs::write(&path, json)
            .map_err(|e| LabError::Io(format!("writing {}: {e}", path.display())))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        // Daemons first: a BIRD process inside a namespace would keep it alive.
        for (_, mut d) in std::mem::take(&mut self.daemons) {
            if let Some(p) = d.process.take()
                && let Err(e) = p.stop()
            {
                tracing::warn!("stopping BIRD: {e}");
            }
        }
        for path in self.mounted.drain(..) {
            if let Err(e) = crate::net::netns::unmount(&path) {
                tracing::warn!("removing {}: {e}", path.display());
            }
        }
        self.namespaces.clear();
        if let RuntimeDir::Fixed(dir) = &self.runtime_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        // A TempDir removes itself when dropped.
    }
}

/// Removes the runtime directories of ephemeral labs whose process is gone: one killed
/// with SIGKILL cannot remove its own (its namespaces and BIRDs went with it).
fn remove_stale_runtime_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("routelab-") else {
            continue;
        };
        // routelab-<scenario>-<pid>-<random>
        let mut parts = rest.rsplitn(3, '-');
        let (_random, pid) = (parts.next(), parts.next());
        let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            tracing::info!("removing {} left by a killed run", entry.path().display());
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Removes a persistent lab: stops its daemons, unmounts its namespaces, deletes its state.
/// Returns what was removed, for the user.
pub fn down(lab: &str) -> Result<Vec<String>, String> {
    let dir = Path::new(STATE_ROOT).join(lab);
    let state_file = dir.join("lab.json");
    let mut removed = Vec::new();
    let state: LabState = match std::fs::read_to_string(&state_file) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a lab state file: {e}", state_file.display()))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // No record: still remove namespaces that follow the lab's naming.
            let mut namespaces = Vec::new();
            if let Ok(entries) = std::fs::read_dir(NETNS_ROOT) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with(&format!("{lab}-")) {
                        namespaces.push(entry.path());
                    }
                }
            }
            if namespaces.is_empty() {
                return Err(format!(
                    "no lab named `{lab}` is up (nothing in {})",
                    dir.display()
                ));
            }
            LabState {
                lab: lab.to_string(),
                namespaces,
                ..LabState::default()
            }
        }
        Err(e) => return Err(format!("reading {}: {e}", state_file.display())),
    };
    for d in &state.daemons {
        crate::daemon::stop_pid(d.pid, std::time::Duration::from_secs(5))
            .map_err(|e| format!("stopping BIRD on {}: {e}", d.node))?;
        removed.push(format!("BIRD on {} (pid {})", d.node, d.pid));
    }
    for ns in &state.namespaces {
        crate::net::netns::unmount(ns).map_err(|e| format!("removing {}: {e}", ns.display()))?;
        removed.push(format!("namespace {}", ns.display()));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(removed)
}

/// Reads the state of a persistent lab.
pub fn state(lab: &str) -> Result<LabState, String> {
    let file = Path::new(STATE_ROOT).join(lab).join("lab.json");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("no lab named `{lab}` is up ({}: {e})", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))
}
