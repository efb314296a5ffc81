//! `bird_reload`: a node's BIRD gets a new configuration file and reconfigures without a
//! restart (`birdc configure`), as an operator's config change does. BIRD's own error
//! fails the step.
//!
//! ```yaml
//! - bird_reload: { node: gateway, config: ../fixtures/k3s-cross-region/gateway-no-nhs.conf }
//! - bird_reload: { node: kubenode-hkg04.bird, config: hkg04-v2.conf }   # a calico node's own
//! ```
//! The file is parsed by BIRD when the scenario is checked, like the node's first config.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::daemon_state::node_with_daemon;
use crate::context::Context;
use crate::daemon::BirdConfig;
use crate::network::{Network, NodeKind};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub node: Spanned<String>,
    /// The new configuration, relative to the scenario file.
    pub config: Spanned<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BirdReload {
    pub node: String,
    pub config: BirdConfig,
}

impl BirdReload {
    pub fn validate(spec: &Spec, cx: &mut Context, scenario: &Network) -> Option<Self> {
        let node = node_with_daemon(cx, &spec.node, scenario)?;
        if node.ends_with(crate::daemon::CALICO_BIRD6_SUFFIX) && scenario.node(&node).is_none() {
            cx.error(
                spec.node.referenced,
                format!(
                    "`{node}` is calico-node's bird6, which confd configures; change the \
                     Calico resources with `calico_apply` instead"
                ),
            );
            return None;
        }
        // A calico node's name is calico-node's BIRD, unless the cluster's BGP is off and
        // the node's own BIRD is its only daemon.
        if let Some(n) = scenario.node(&node)
            && n.kind == NodeKind::Calico
            && n.calico.as_ref().is_none_or(|c| c.bgp)
        {
            let own = if n.bird.is_some() {
                format!(
                    ", or reload the node's own BIRD as `{node}{}`",
                    crate::daemon::OWN_BIRD_SUFFIX
                )
            } else {
                String::new()
            };
            cx.error(
                spec.node.referenced,
                format!(
                    "`{node}` runs the BIRD that calico-node configures; change its Calico \
                     resources with `calico_apply` instead{own}"
                ),
            );
            return None;
        }
        let (path, _) = super::read_named_file(cx, &spec.config, "BIRD config")?;
        Some(BirdReload {
            node,
            config: BirdConfig::File(path),
        })
    }

    /// The file, for BIRD's parser at check time.
    pub fn file(&self) -> Option<&PathBuf> {
        match &self.config {
            BirdConfig::File(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for BirdReload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.config {
            BirdConfig::File(p) => write!(f, "bird_reload {} {}", self.node, p.display()),
            _ => write!(f, "bird_reload {}", self.node),
        }
    }
}
