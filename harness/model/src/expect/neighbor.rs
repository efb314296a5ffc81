//! `neighbor`: a node's neighbour cache (ARP for IPv4, NDP for IPv6) has, or lacks, an
//! entry for an address — as `ip neigh show` lists it.
//!
//! ```yaml
//! - neighbor: { node: kubemaster, address: 192.168.100.1 }                    # resolved
//! - neighbor: { node: r1, address: 20.20.20.20, state: failed }              # given up on
//! - neighbor: { node: n2, address: 172.20.84.128, dev: vxlan.calico, lladdr: "66:9f:..." }
//! - neighbor: { node: h1, address: 10.0.0.99, absent: true }
//! ```
//! Without `state`, any entry that has a link-layer address will do (reachable, stale,
//! delay, probe, permanent, noarp). `state` is one of `ip neigh`'s words.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Common, With, node_ref};
use crate::network::Network;
use crate::context::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub node: Spanned<String>,
    pub address: IpAddr,
    pub dev: Option<String>,
    pub state: Option<Spanned<String>>,
    /// The link-layer address, as `ip neigh` prints it (`aa:bb:cc:dd:ee:ff`).
    pub lladdr: Option<Spanned<String>>,
    #[serde(default)]
    pub absent: bool,
}

/// The states `ip neigh` names.
pub const STATES: [&str; 9] = [
    "incomplete",
    "reachable",
    "stale",
    "delay",
    "probe",
    "failed",
    "noarp",
    "permanent",
    "none",
];

/// The states in which an entry has a usable link-layer address.
pub const RESOLVED: [&str; 6] = ["reachable", "stale", "delay", "probe", "noarp", "permanent"];

#[derive(Debug, Clone, Serialize)]
pub struct Neighbor {
    pub node: String,
    pub address: IpAddr,
    pub dev: Option<String>,
    pub state: Option<String>,
    pub lladdr: Option<String>,
    pub absent: bool,
}

impl Neighbor {
    pub fn validate(spec: &With<Common, Spec>, cx: &mut Context, _: &Network) -> Option<Neighbor> {
        let node = node_ref(cx, &spec.node);
        if spec.absent && (spec.state.is_some() || spec.lladdr.is_some()) {
            cx.error(
                spec.node.referenced,
                "`absent: true` cannot be combined with `state` or `lladdr`",
            );
            return None;
        }
        let state = match &spec.state {
            None => None,
            Some(s) => match STATES.iter().find(|k| k.eq_ignore_ascii_case(&s.value)) {
                Some(k) => Some(k.to_string()),
                None => {
                    cx.error(
                        s.referenced,
                        format!(
                            "`{}` is not a neighbour state (one of: {})",
                            s.value,
                            STATES.join(", ")
                        ),
                    );
                    return None;
                }
            },
        };
        let lladdr = match &spec.lladdr {
            None => None,
            Some(l) => match l.value.parse::<crate::mac::MacAddr>() {
                Ok(mac) => Some(mac.to_string()),
                Err(_) => {
                    cx.error(
                        l.referenced,
                        format!("`{}` is not a link-layer address like 02:00:00:00:00:01", l.value),
                    );
                    return None;
                }
            },
        };
        Some(Neighbor {
            node: node?,
            address: spec.address,
            dev: spec.dev.clone(),
            state,
            lladdr,
            absent: spec.absent,
        })
    }

    /// Whether an entry `ip neigh` shows as `state` with `lladdr` on `dev` matches.
    pub fn matches(&self, dev: &str, state: &str, lladdr: Option<&str>) -> bool {
        let state_ok = match &self.state {
            Some(want) => want == state,
            None => RESOLVED.contains(&state),
        };
        let lladdr_ok = self.lladdr.as_deref().is_none_or(|want| Some(want) == lladdr);
        let dev_ok = self.dev.as_deref().is_none_or(|want| want == dev);
        state_ok && lladdr_ok && dev_ok
    }
}

impl fmt::Display for Neighbor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "neighbor {} {}", self.node, self.address)?;
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        if self.absent {
            return write!(f, " absent");
        }
        if let Some(l) = &self.lladdr {
            write!(f, " lladdr {l}")?;
        }
        match &self.state {
            Some(s) => write!(f, " {s}"),
            None => write!(f, " resolved"),
        }
    }
}

impl super::Assertion for Neighbor {
    fn is_negative(&self) -> bool {
        self.absent || self.state.as_deref() == Some("failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_by_state_address_and_device() {
        let want = |state: Option<&str>, lladdr: Option<&str>| Neighbor {
            node: "r1".into(),
            address: "10.0.0.1".parse().unwrap(),
            dev: Some("eth0".into()),
            state: state.map(str::to_string),
            lladdr: lladdr.map(str::to_string),
            absent: false,
        };
        let mac = Some("02:00:00:00:00:01");
        assert!(want(None, None).matches("eth0", "stale", mac));
        assert!(!want(None, None).matches("eth0", "failed", None));
        assert!(!want(None, None).matches("eth1", "reachable", mac));
        assert!(want(Some("failed"), None).matches("eth0", "failed", None));
        assert!(!want(None, Some("02:00:00:00:00:02")).matches("eth0", "reachable", mac));
        assert_eq!(
            want(None, mac).to_string(),
            "neighbor r1 10.0.0.1 dev eth0 lladdr 02:00:00:00:00:01 resolved"
        );
    }
}
