//! The network a scenario describes: its nodes, their links and the Calico cluster, with
//! the lookups kinds need (a node by name, the owner of an address, a pod). What a
//! scenario adds on top — expectations and the timeline — lives in [`crate::scenario`],
//! so kinds can look at the network without depending on themselves.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::calico::node::NodeInput;
use crate::daemon::BirdConfig;
pub use crate::link::{Interface, Link};

/// The nodes, links and Calico cluster of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Network {
    /// The scenario's name.
    pub name: String,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    /// The Calico cluster as planned, when there is one.
    #[serde(skip)]
    pub calico: Option<CalicoCluster>,
}

/// The kind of a node: what it is for and which defaults it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// Forwards packets: `ip_forward` on, `rp_filter` off, may run BIRD 2.
    Router,
    /// An end host: the kernel defaults, may still run BIRD 2 (e.g. a BGP speaker).
    Host,
    /// A Kubernetes node running calico-node: forwards like a router, runs BIRD 1.6 with
    /// the configuration confd renders, and hosts pods as Felix wires them.
    Calico,
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
    /// The file that writes the node: the scenario's, or for a variant maybe its base's
    /// (empty when unknown: the scenario's).
    pub file: std::path::PathBuf,
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

/// The cluster as planned: what a timeline needs to plan it again after a change of its
/// resources (see [`crate::timeline::calico_change`]).
#[derive(Debug, Clone)]
pub struct CalicoCluster {
    pub resources: Vec<crate::calico::Resource>,
    pub inputs: Vec<NodeInput>,
    pub env: BTreeMap<String, String>,
}

impl Network {
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

    /// The pod that has `addr` (either family, or on its `lo`), with its node.
    pub fn pod_with(&self, addr: IpAddr) -> Option<(&Node, &crate::calico::node::Pod)> {
        self.nodes.iter().find_map(|n| {
            let pod = n.calico.as_ref()?.pods.iter().find(|p| {
                p.ip == addr || p.ip6 == Some(addr) || p.loopback.iter().any(|a| a.addr() == addr)
            })?;
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
