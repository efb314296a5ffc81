//! `calico_apply`, `calico_delete`: Calico resources change, as `calicoctl apply -f` and
//! `calicoctl delete -f` change them, and calico-node follows: confd renders every calico
//! node's BIRD configuration again and BIRD reconfigures where it changed.
//!
//! ```yaml
//! - calico_apply: { resources: [../fixtures/k3s/mesh-off.yaml] }
//! - calico_delete: { resources: [../fixtures/k3s/bgppeer-global.yaml] }
//! ```
//! A resource is the one of the same kind, namespace and name (applying replaces it,
//! deleting one that does not exist is an error, as for `calicoctl`). Changes take effect
//! in file order, each step starting from what the steps before it left.
//!
//! Limit: only what confd renders follows. A change that would alter Felix's side — IPAM
//! blocks, pods, tunnels (IPPools with another CIDR or encapsulation) — is refused when the
//! scenario is checked.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::calico::node::plan_cluster;
use crate::context::Context;
use crate::daemon::BirdConfig;
use crate::network::Network;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Manifests, relative to the scenario file.
    pub resources: Spanned<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CalicoChange {
    /// The manifests, as written.
    pub files: Vec<String>,
    /// `calico_apply` (true) or `calico_delete`.
    pub apply: bool,
    /// What each calico node's BIRD runs afterwards, for the nodes where it changes.
    #[serde(skip)]
    pub configs: Vec<(String, BirdConfig)>,
}

impl CalicoChange {
    pub fn validate(
        spec: &Spec,
        cx: &mut Context,
        scenario: &Network,
        apply: bool,
    ) -> Option<Self> {
        let verb = if apply {
            "calico_apply"
        } else {
            "calico_delete"
        };
        let Some(cluster) = &scenario.calico else {
            cx.error(
                spec.resources.referenced,
                format!("`{verb}` needs a Calico cluster (`calico:`)"),
            );
            return None;
        };
        let mut now = cx
            .calico_now
            .clone()
            .unwrap_or_else(|| cluster.resources.clone());
        let mut ok = true;
        for file in &spec.resources.value {
            let path = crate::context::normalize(&cx.dir.join(&file.value));
            let loaded = match crate::calico::resources::load_file(&path) {
                Ok(r) => r,
                Err(e) => {
                    cx.error(file.referenced, format!("Calico resources: {e}"));
                    ok = false;
                    continue;
                }
            };
            for r in loaded {
                let at = now.iter().position(|have| have.identity() == r.identity());
                match (apply, at) {
                    (true, Some(i)) => now[i] = r,
                    (true, None) => now.push(r),
                    (false, Some(i)) => {
                        now.remove(i);
                    }
                    (false, None) => {
                        cx.error(
                            file.referenced,
                            format!(
                                "{} `{}` does not exist (at this point of the timeline), so it \
                                 cannot be deleted",
                                r.kind_name(),
                                r.meta().name
                            ),
                        );
                        ok = false;
                    }
                }
            }
        }
        if !ok {
            return None;
        }
        let before = match plan_cluster(
            cx.calico_now
                .clone()
                .unwrap_or_else(|| cluster.resources.clone()),
            &cluster.inputs,
            &cluster.env,
        ) {
            Ok((nodes, _)) => nodes,
            Err(e) => {
                cx.error(spec.resources.referenced, e.to_string());
                return None;
            }
        };
        let after = match plan_cluster(now.clone(), &cluster.inputs, &cluster.env) {
            Ok((nodes, _)) => nodes,
            Err(e) => {
                cx.error(
                    spec.resources.referenced,
                    format!("after `{verb}`, the cluster is not valid: {e}"),
                );
                return None;
            }
        };
        let mut configs = Vec::new();
        for (old, new) in before.iter().zip(&after) {
            let felix = |n: &crate::calico::node::CalicoNode| {
                (
                    n.address,
                    n.blocks.clone(),
                    n.pods.clone(),
                    n.bgp,
                    n.tunnels.clone(),
                )
            };
            if felix(old) != felix(new) {
                cx.error(
                    spec.resources.referenced,
                    format!(
                        "`{verb}` changes what Felix programs on `{}` (its blocks, pods, tunnels \
                         or BGP at all), which a step cannot change; only what confd renders \
                         follows a change",
                        new.name
                    ),
                );
                return None;
            }
            if old.rendered != new.rendered {
                configs.push((new.name.clone(), new.bird_config()));
                // A dual-stack node's bird6 reads its own files.
                if new.bgp && new.address6.is_some() {
                    configs.push((
                        format!("{}{}", new.name, crate::daemon::CALICO_BIRD6_SUFFIX),
                        new.bird6_config(),
                    ));
                }
            }
        }
        cx.calico_now = Some(now);
        Some(CalicoChange {
            files: spec
                .resources
                .value
                .iter()
                .map(|f| f.value.clone())
                .collect(),
            apply,
            configs,
        })
    }
}

impl fmt::Display for CalicoChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.apply {
            "calico_apply"
        } else {
            "calico_delete"
        };
        write!(f, "{verb} {}", self.files.join(" "))?;
        if self.configs.is_empty() {
            write!(f, " (no calico node's BIRD configuration changes)")
        } else {
            let nodes: Vec<&str> = self.configs.iter().map(|(n, _)| n.as_str()).collect();
            write!(f, " (reconfigures {})", nodes.join(", "))
        }
    }
}
