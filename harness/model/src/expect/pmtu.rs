//! `pmtu`: the path MTU from a node to an address, exact to the byte, measured by probing
//! with DF set (binary search; both ICMP "fragmentation needed" and silent loss count).
//!
//! ```yaml
//! - pmtu: { from: h1, to: 10.0.2.2, mtu: 1420 }
//! - pmtu: { from: h1, to: 10.0.2.2, mtu: 1420, via: [r1, r3] }
//! ```
//!
//! `via` names the nodes between the two ends the path is meant to take, in order. It
//! changes nothing the probe measures (the kernel's routes decide the path); `check`
//! compares it with the path `routelab mtu` predicts (fewest hops where the file has no
//! route) and warns when they differ, or, when they agree, when the predicted MTU is not
//! `mtu`.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Probing, With, probe_origin};
use crate::network::Network;
use crate::context::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub mtu: Spanned<u16>,
    #[serde(default)]
    pub via: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pmtu {
    pub from: String,
    pub to: IpAddr,
    pub src: Option<IpAddr>,
    pub mtu: u16,
    /// The nodes between the ends the path is meant to take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Vec<String>>,
}

impl Pmtu {
    pub fn validate(spec: &With<Probing, Spec>, cx: &mut Context, _: &Network) -> Option<Pmtu> {
        let from = probe_origin(cx, &spec.group.probe);
        let min = if spec.group.probe.to().is_ipv4() { 68 } else { 1280 };
        if spec.mtu.value < min {
            cx.error(
                spec.mtu.referenced,
                format!("a path MTU below {min} is not possible for this address family"),
            );
            return None;
        }
        let mut known = true;
        for node in spec.via.iter().flat_map(|v| &v.value) {
            known &= cx.known_node(node);
        }
        let via = spec
            .via
            .as_ref()
            .map(|v| v.value.iter().map(|n| n.value.clone()).collect());
        if !known {
            return None;
        }
        Some(Pmtu {
            from: from?,
            to: spec.group.probe.to(),
            src: spec.group.probe.src(),
            mtu: spec.mtu.value,
            via,
        })
    }
}

impl fmt::Display for Pmtu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pmtu {} -> {} is {}", self.from, self.to, self.mtu)?;
        if let Some(via) = &self.via {
            write!(f, " via {}", via.join(", "))?;
        }
        Ok(())
    }
}

impl super::Assertion for Pmtu {}
