//! `route`: a node's kernel routing table (main table) has, or lacks, a prefix.
//!
//! ```yaml
//! - route: { node: kubemaster, prefix: 10.42.64.64/26, via: [192.168.100.1, 192.168.100.252] }
//! - route: { node: r1, prefix: 10.2.0.0/24, via: 10.1.0.2, protocol: bird }
//! - route: { node: kubemaster, prefix: 10.42.141.0/26, blackhole: true }
//! - route: { node: h1, prefix: 10.9.0.0/24, absent: true }
//! - route: { node: node-2, prefix: 172.20.84.128/26, via: 192.168.2.25, dev: tunl0, onlink: true }
//! ```
//! `via` is the exact set of gateways (an ECMP route lists them all; order does not
//! matter). Without `via`, any unicast route for the prefix will do.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Common, With, node_ref};
use crate::observed::{KernelRoute, RouteKind};
use crate::network::Network;
use crate::yaml::OneOrMany;
use crate::context::Context;
use crate::text::closest;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub node: Spanned<String>,
    pub prefix: Spanned<IpNet>,
    pub via: Option<Spanned<OneOrMany<IpAddr>>>,
    /// Output interface; a trailing `*` matches any name with that prefix (`cali*`).
    pub dev: Option<String>,
    /// The kernel's route protocol as `ip route` names it: `bird`, `static`, `kernel`,
    /// `boot`, `ra`, or the number of one without a name here (`80`: Felix's
    /// blackholes, CrossSubnet and IPIP routes).
    pub protocol: Option<Spanned<String>>,
    #[serde(default)]
    pub blackhole: bool,
    /// Every next hop carries the `onlink` flag (its gateway needs no subnet on the device).
    #[serde(default)]
    pub onlink: bool,
    #[serde(default)]
    pub absent: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub node: String,
    pub prefix: IpNet,
    pub via: Option<BTreeSet<IpAddr>>,
    pub dev: Option<String>,
    pub protocol: Option<String>,
    pub blackhole: bool,
    pub onlink: bool,
    pub absent: bool,
}

/// The route protocols observed routes are named by (as `ip route` names them); any
/// other is shown as its number.
pub const PROTOCOL_NAMES: [(&str, u8); 5] =
    [("kernel", 2), ("boot", 3), ("static", 4), ("ra", 9), ("bird", 12)];

/// Names `ip route` knows from `/etc/iproute2/rt_protos` that routelab shows as numbers.
const NUMBERED: [(&str, u8); 10] = [
    ("redirect", 1),
    ("zebra", 11),
    ("dhcp", 16),
    ("babel", 42),
    ("openr", 99),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

/// A `protocol` that no observed route can have is a mistake, not a negative: it would
/// only ever fail, for the wrong reason.
fn check_protocol(cx: &mut Context, p: &Spanned<String>) -> Option<()> {
    let value = p.value.as_str();
    if PROTOCOL_NAMES.iter().any(|(n, _)| *n == value) {
        return Some(());
    }
    let message = if let Ok(number) = value.parse::<u8>() {
        match PROTOCOL_NAMES.iter().find(|(_, n)| *n == number) {
            None => return Some(()),
            Some((name, _)) => {
                format!("route protocol {number} is `{name}`, as routes show it; write `protocol: {name}`")
            }
        }
    } else if let Some((_, number)) = NUMBERED.iter().find(|(n, _)| *n == value) {
        format!("routes show protocol `{value}` by its number; write `protocol: {number}`")
    } else {
        let names = PROTOCOL_NAMES.iter().map(|(n, _)| *n);
        let hint = closest(value, names.clone())
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        format!(
            "unknown route protocol `{value}`: routes show {} or a number 0-255{hint}",
            names.collect::<Vec<_>>().join(", ")
        )
    };
    cx.error(p.referenced, message);
    None
}

impl Route {
    pub fn validate(spec: &With<Common, Spec>, cx: &mut Context, _: &Network) -> Option<Route> {
        let node = node_ref(cx, &spec.node);
        let prefix = spec.prefix.value;
        if prefix.trunc() != prefix {
            cx.error(
                spec.prefix.referenced,
                format!(
                    "`{prefix}` has host bits set; did you mean `{}`?",
                    prefix.trunc()
                ),
            );
            return None;
        }
        let via = spec
            .via
            .as_ref()
            .map(|v| v.value.0.iter().copied().collect::<BTreeSet<_>>());
        if spec.absent
            && (spec.via.is_some() || spec.blackhole || spec.onlink || spec.protocol.is_some())
        {
            cx.error(
                spec.prefix.referenced,
                "`absent: true` cannot be combined with `via`, `blackhole`, `onlink` or `protocol`",
            );
            return None;
        }
        if spec.blackhole && (spec.via.is_some() || spec.dev.is_some() || spec.onlink) {
            cx.error(
                spec.prefix.referenced,
                "a blackhole route has no `via`, `dev` or `onlink`",
            );
            return None;
        }
        if let (Some(v), Some(gws)) = (&spec.via, &via)
            && gws.iter().any(|g| g.is_ipv4() != prefix.addr().is_ipv4())
        {
            cx.error(
                v.referenced,
                format!("a gateway is not of {prefix}'s address family"),
            );
            return None;
        }
        if let Some(p) = &spec.protocol {
            check_protocol(cx, p)?;
        }
        // Routes show numbers plainly: `080` is `80`.
        let protocol = spec.protocol.as_ref().map(|p| match p.value.parse::<u8>() {
            Ok(n) => n.to_string(),
            Err(_) => p.value.clone(),
        });
        Some(Route {
            node: node?,
            prefix,
            via,
            dev: spec.dev.clone(),
            protocol,
            blackhole: spec.blackhole,
            onlink: spec.onlink,
            absent: spec.absent,
        })
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route {} {}", self.node, self.prefix)?;
        if self.absent {
            return write!(f, " absent");
        }
        if self.blackhole {
            write!(f, " blackhole")?;
        }
        if let Some(via) = &self.via {
            let list: Vec<String> = via.iter().map(ToString::to_string).collect();
            write!(f, " via {}", list.join(", "))?;
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        if self.onlink {
            write!(f, " onlink")?;
        }
        if let Some(p) = &self.protocol {
            write!(f, " proto {p}")?;
        }
        Ok(())
    }
}

impl super::Assertion for Route {
    fn is_negative(&self) -> bool {
        self.absent
    }
}

impl Route {


    pub fn matches(&self, r: &KernelRoute) -> bool {
        let kind_ok = if self.blackhole {
            r.kind == RouteKind::Blackhole
        } else {
            r.kind == RouteKind::Unicast
        };
        let via_ok = self.via.as_ref().is_none_or(|want| {
            let got: BTreeSet<IpAddr> = r.nexthops.iter().filter_map(|h| h.via).collect();
            got == *want && r.nexthops.iter().all(|h| h.via.is_some())
        });
        let dev_ok = self.dev.as_ref().is_none_or(|want| {
            r.nexthops.iter().all(|h| {
                h.dev
                    .as_deref()
                    .is_some_and(|got| interface_matches(want, got))
            })
        });
        let onlink_ok = !self.onlink || r.nexthops.iter().all(|h| h.onlink);
        let proto_ok = self.protocol.as_ref().is_none_or(|p| *p == r.protocol);
        kind_ok && via_ok && dev_ok && onlink_ok && proto_ok
    }
}

/// `eth0` matches `eth0`; `cali*` matches any name starting with `cali`.
fn interface_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::NextHop;

    fn tunnel_route(onlink: bool) -> KernelRoute {
        KernelRoute {
            to: "172.20.84.128/26".parse().unwrap(),
            kind: RouteKind::Unicast,
            protocol: "static".into(),
            metric: None,
            nexthops: vec![NextHop {
                via: Some("192.168.2.25".parse().unwrap()),
                dev: Some("tunl0".into()),
                onlink,
            }],
        }
    }

    #[test]
    fn onlink_is_required_only_when_asked_for() {
        let want = |onlink| Route {
            node: "node-2".into(),
            prefix: "172.20.84.128/26".parse().unwrap(),
            via: Some(["192.168.2.25".parse().unwrap()].into()),
            dev: Some("tunl0".into()),
            protocol: None,
            blackhole: false,
            onlink,
            absent: false,
        };
        assert!(want(true).matches(&tunnel_route(true)));
        assert!(!want(true).matches(&tunnel_route(false)));
        assert!(want(false).matches(&tunnel_route(false)));
        assert!(want(false).matches(&tunnel_route(true)));
        assert_eq!(
            want(true).to_string(),
            "route node-2 172.20.84.128/26 via 192.168.2.25 dev tunl0 onlink"
        );
    }

    #[test]
    fn interface_patterns() {
        assert!(super::interface_matches("eth0", "eth0"));
        assert!(!super::interface_matches("eth0", "eth01"));
        assert!(super::interface_matches("cali*", "cali0123456789a"));
        assert!(!super::interface_matches("cali*", "eth0"));
    }
}
