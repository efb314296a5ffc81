//! The scenario file: model, loading and validation. Pure: reads files, touches nothing.
//!
//! [`load`] reads a file into a [`Scenario`] or returns every problem found, each with
//! file, line and column. Structural problems (unknown keys, wrong types, unparsable
//! addresses) come from the YAML reader and stop at the first one; semantic problems
//! (dangling node names, duplicate interfaces, gateways off-link) are all collected.

mod calico;
pub use calico::CalicoCluster;
pub mod diagnostic;
mod lint;
pub mod raw;
pub mod validate;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Serialize;

pub use crate::daemon::BirdConfig;
pub(crate) use crate::text::yaml_message;
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use raw::NodeKind;

/// A link between nodes; each kind is a file of [`crate::link`].
pub use crate::link::Link;

use crate::expect::Expectation;

/// How long an expectation may take to hold when neither it nor the scenario says.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);
/// How long a phase's kernel routes and protocol states must stay unchanged before its
/// negative expectations are judged, when neither they nor the scenario say.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);
/// How long a negative expectation must then stay true, by default.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(2);

/// The scenario's timing defaults (`defaults:` in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timing {
    #[serde(with = "humantime_serde_compat")]
    pub deadline: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub settle: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub hold: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            deadline: DEFAULT_DEADLINE,
            settle: DEFAULT_SETTLE,
            hold: DEFAULT_HOLD,
        }
    }
}

/// A validated scenario: every name resolves, every value parsed.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    #[serde(skip)]
    pub file: PathBuf,
    pub description: Option<String>,
    pub timing: Timing,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    /// Phase 0: the network as built.
    pub expectations: Vec<Expectation>,
    /// The timeline: each step a phase of its own.
    pub steps: Vec<crate::timeline::Step>,
    /// The Calico cluster as planned, when there is one.
    #[serde(skip)]
    pub calico: Option<CalicoCluster>,
    /// Where each node and link is defined (line, column), to point at when only the
    /// kernel can tell that something it asks for is wrong.
    #[serde(skip)]
    pub positions: std::collections::BTreeMap<String, (u64, u64)>,
}

impl Scenario {
    /// Where the node or link `name` is defined, as `file:line:col`.
    pub fn position_of(&self, name: &str) -> Option<String> {
        self.positions
            .get(name)
            .map(|(l, c)| format!("{}:{l}:{c}", self.file.display()))
    }
}

/// One node: a network namespace of its own.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    pub loopback: Vec<IpNet>,
    pub routes: Vec<StaticRoute>,
    /// Sysctls to set, the kind's defaults first, then the file's overrides.
    pub sysctls: Vec<(String, String)>,
    pub bird: Option<BirdConfig>,
    /// An nftables ruleset for the node's namespace.
    pub nftables: Option<String>,
    /// What routelab does as calico-node on a `kind: calico` node.
    pub calico: Option<crate::calico::node::CalicoNode>,
    /// Where the file wrote what checks made later (by the lab, against the machine)
    /// point at.
    #[serde(skip)]
    pub source: NodeSource,
}

/// Positions (1-based line and column) in the scenario file of what a node's later
/// checks report on.
#[derive(Debug, Clone, Default)]
pub struct NodeSource {
    /// Each sysctl the file sets, at its key.
    pub sysctls: Vec<(String, u64, u64)>,
    /// Where the text of the `nftables` ruleset begins.
    pub nftables: Option<(u64, u64)>,
    /// Where the text of `bird: { inline: ... }` begins.
    pub bird_inline: Option<(u64, u64)>,
    /// Where `calico: { pods: ... }` is.
    pub pods: Option<(u64, u64)>,
}

/// A static route in a node's kernel table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticRoute {
    pub to: IpNet,
    pub via: Vec<IpAddr>,
    pub dev: Option<String>,
    pub blackhole: bool,
    pub metric: Option<u32>,
}

/// A network interface of a node, as a link attaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub node: String,
    pub name: String,
    pub addresses: Vec<IpNet>,
    pub mtu: u32,
}

impl Scenario {
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Every interface of `node` that a link attaches, in link order.
    pub fn interfaces_of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Interface> + 'a {
        self.links
            .iter()
            .flat_map(|l| l.interfaces())
            .filter(move |i| i.node == node)
    }

    /// A pod by its namespace name, with the calico node it runs on.
    pub fn pod(&self, namespace: &str) -> Option<(&Node, &crate::calico::node::Pod)> {
        self.nodes.iter().find_map(|n| {
            let pod = n
                .calico
                .as_ref()?
                .pods
                .iter()
                .find(|p| p.namespace == namespace)?;
            Some((n, pod))
        })
    }

    /// The pod that has `addr`, with its node.
    pub fn pod_with(&self, addr: IpAddr) -> Option<(&Node, &crate::calico::node::Pod)> {
        self.nodes.iter().find_map(|n| {
            let pod = n.calico.as_ref()?.pods.iter().find(|p| p.ip == addr)?;
            Some((n, pod))
        })
    }

    /// The node that owns `addr` on one of its interfaces, its loopback or a Calico tunnel (or
    /// runs the pod that has it), if any.
    pub fn owner_of(&self, addr: IpAddr) -> Option<&str> {
        if let Some((node, _)) = self.pod_with(addr) {
            return Some(&node.name);
        }
        for link in &self.links {
            for i in link.interfaces() {
                if i.addresses.iter().any(|a| a.addr() == addr) {
                    return Some(&i.node);
                }
            }
        }
        self.nodes
            .iter()
            .find(|n| {
                n.loopback.iter().any(|a| a.addr() == addr)
                    || n.calico
                        .iter()
                        .flat_map(|c| &c.tunnels)
                        .any(|t| t.address == Some(addr))
            })
            .map(|n| n.name.as_str())
    }
}

/// The scenario files (`*.yaml`) of a directory, sorted by name.
pub fn files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.retain(|p| p.extension().is_some_and(|x| x == "yaml"));
    files.sort();
    Ok(files)
}

/// Reads and validates a scenario file. Warnings come back with the scenario; any error
/// means no scenario.
pub fn load(file: &Path) -> Result<(Scenario, Diagnostics), Diagnostics> {
    let text = crate::input::read_text(file).map_err(|e| {
        let (line, column) = e.position().unwrap_or((0, 0));
        Diagnostics(vec![Diagnostic::error_at(
            file,
            line,
            column,
            format!("cannot read the scenario: {}", e.reason()),
        )])
    })?;
    load_str(file, &text)
}

/// Like [`load`], for text already read; `file` names it in messages and anchors relative
/// paths.
pub fn load_str(file: &Path, text: &str) -> Result<(Scenario, Diagnostics), Diagnostics> {
    let raw: raw::RawScenario = serde_saphyr::from_str(text).map_err(|e| {
        let at = e.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
        Diagnostics(vec![Diagnostic::error(file, at, yaml_message(&e))])
    })?;
    validate::validate(file, text, raw)
}

/// Durations as `humantime` text (`30s`, `1m 30s`) in serialized output.
mod humantime_serde_compat {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// Parses a duration as written in a scenario (`30s`, `500ms`, `2m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}); write e.g. `30s` or `500ms`"))
}

#[cfg(test)]
mod tests;
