//! `bird_stop`, `bird_kill`, `bird_start`, `bird_restart`: a node's routing daemon stops in
//! order (its sessions closed with a BGP Cease), is killed (SIGKILL: its peers learn of it
//! only when their hold timers expire), starts again with its configuration, or both.
//!
//! ```yaml
//! - bird_stop: gateway
//! - bird_kill: kubenode-hkg04
//! - bird_start: gateway
//! - bird_restart: kubenode-hkg04      # orderly stop, then start
//! - bird_stop: kubenode-hkg04.bird    # a calico node's own BIRD, beside calico-node's
//! - bird_stop: n1-speaker             # a pod's BIRD (pods are named `<node>-<pod>`)
//! - bird_stop: n1.bird6               # calico-node's IPv6 BIRD on a dual-stack node
//! ```
//! A daemon stopped by a step is expected to be down: its exit does not fail the run. One
//! that is started again must answer, or the step fails.

use std::fmt;

use serde::Serialize;
use serde_saphyr::Spanned;

use crate::context::Context;
use crate::network::Network;

/// The node whose daemon changes.
pub type Spec = Spanned<String>;

/// What happens to the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Stop,
    Kill,
    Start,
    Restart,
}

#[derive(Debug, Clone, Serialize)]
pub struct DaemonState {
    pub node: String,
    pub change: Change,
}

impl DaemonState {
    pub fn validate(
        spec: &Spec,
        cx: &mut Context,
        scenario: &Network,
        change: Change,
    ) -> Option<Self> {
        let node = node_with_daemon(cx, spec, scenario)?;
        Some(DaemonState { node, change })
    }
}

/// Checks that `node` names a node or pod that runs a routing daemon, or the own BIRD of
/// a calico node that runs one beside calico-node's (`<node>.bird`); returns the daemon's
/// name.
pub(crate) fn node_with_daemon(
    cx: &mut Context,
    node: &Spanned<String>,
    scenario: &Network,
) -> Option<String> {
    if scenario.node(&node.value).is_none()
        && let Some(calico_node) = node.value.strip_suffix(crate::daemon::CALICO_BIRD6_SUFFIX)
        && let Some(n) = scenario.node(calico_node)
        && n.kind == crate::network::NodeKind::Calico
    {
        let dual_stack = n
            .calico
            .as_ref()
            .is_some_and(|c| c.bgp && c.address6.is_some());
        if !dual_stack {
            cx.error(
                node.referenced,
                format!(
                    "calico node `{calico_node}` runs no bird6: that takes an IPv6 address \
                     (`calico: {{ address6: ... }}`) and the cluster's BGP on"
                ),
            );
            return None;
        }
        return Some(node.value.clone());
    }
    if scenario.node(&node.value).is_none()
        && let Some(calico_node) = node.value.strip_suffix(crate::daemon::OWN_BIRD_SUFFIX)
        && let Some(n) = scenario.node(calico_node)
        && n.kind == crate::network::NodeKind::Calico
    {
        let calico_bgp = n.calico.as_ref().is_some_and(|c| c.bgp);
        if n.bird.is_none() || !calico_bgp {
            let why = if n.bird.is_none() {
                "runs no BIRD of its own beside calico-node's; give it `bird:`, or name the \
                 node itself for calico-node's"
            } else {
                "runs no calico-node BIRD (the cluster's BGP is off), so its own BIRD is its \
                 only daemon: name the node itself"
            };
            cx.error(
                node.referenced,
                format!("calico node `{calico_node}` {why}"),
            );
            return None;
        }
        return Some(node.value.clone());
    }
    if !cx.known_node(node) {
        return None;
    }
    let runs_one = scenario
        .node(&node.value)
        .is_some_and(|n| n.bird.is_some() || n.calico.as_ref().is_some_and(|c| c.bgp))
        || scenario
            .pod(&node.value)
            .is_some_and(|(_, p)| p.bird.is_some());
    if !runs_one {
        let msg = if scenario.pod(&node.value).is_some() {
            format!(
                "pod `{}` runs no BIRD; give it `bird: {{ config: ... }}` in its node's \
                 `pods:` list",
                node.value
            )
        } else {
            format!("node `{}` runs no routing daemon", node.value)
        };
        cx.error(node.referenced, msg);
        return None;
    }
    Some(node.value.clone())
}

impl fmt::Display for DaemonState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.change {
            Change::Stop => "bird_stop",
            Change::Kill => "bird_kill",
            Change::Start => "bird_start",
            Change::Restart => "bird_restart",
        };
        write!(f, "{verb} {}", self.node)
    }
}
