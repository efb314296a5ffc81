//! `impair`: what a link does to packets changes — a line gets slower, lossier or is
//! shaped — for all its members, or for what one member sends.
//!
//! ```yaml
//! - impair: { link: cross-region, delay: 150ms, loss: 2% }           # every end
//! - impair: { link: vmbr0, node: kubenode-wds-1, rate: 10mbit }      # one end
//! - impair: { link: cross-region }                                    # clean again
//! ```
//! The fields are those of a link's `impair` ([`crate::impairment`]) and replace
//! what the selected interfaces had, as built or as an earlier step left them; an action
//! with none takes every impairment away. Packets already queued are dropped with the
//! old queueing discipline, as `tc qdisc del` does on a real host.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::context::Context;
use crate::link::{Impairment, RawImpairment};
use crate::network::Network;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub link: Spanned<String>,
    pub node: Option<Spanned<String>>,
    pub delay: Option<Spanned<String>>,
    pub jitter: Option<Spanned<String>>,
    pub loss: Option<Spanned<String>>,
    pub rate: Option<Spanned<String>>,
}

/// One interface an `impair` changes.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub node: String,
    pub interface: String,
    /// Its MTU, which sizes a shaper's burst.
    pub mtu: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Impair {
    pub link: String,
    pub node: Option<String>,
    pub targets: Vec<Target>,
    pub impairment: Impairment,
}

impl Impair {
    pub fn validate(spec: &Spec, cx: &mut Context, scenario: &Network) -> Option<Self> {
        let raw = RawImpairment {
            delay: spec.delay.clone(),
            jitter: spec.jitter.clone(),
            loss: spec.loss.clone(),
            rate: spec.rate.clone(),
        };
        let impairment = Impairment::validate(cx, &raw);
        let members = super::selected_members(cx, scenario, &spec.link, spec.node.as_ref())?;
        Some(Impair {
            link: spec.link.value.clone(),
            node: spec.node.as_ref().map(|n| n.value.clone()),
            targets: members
                .iter()
                .map(|i| Target {
                    node: i.node.clone(),
                    interface: i.name.clone(),
                    mtu: i.mtu,
                })
                .collect(),
            impairment: impairment?,
        })
    }
}

impl fmt::Display for Impair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "impair {}", self.link)?;
        if let Some(node) = &self.node {
            write!(f, " at {node}")?;
        }
        write!(f, ": {}", self.impairment)
    }
}
