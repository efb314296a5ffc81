//! One end of a link: its raw form as written, its validation, and the interface it
//! becomes on a node.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::context::{Context, check_mtu, refused_address};
use crate::impairment::{Impairment, RawImpairment};

/// One node's attachment to a link.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub node: Spanned<String>,
    /// Interface name in the node; `eth0`, `eth1`, … in order of appearance when omitted.
    pub interface: Option<Spanned<String>>,
    #[serde(default)]
    pub addresses: Vec<Spanned<IpNet>>,
    /// Overrides the link's MTU for this end.
    pub mtu: Option<Spanned<u32>>,
    /// Replaces the link's impairment for what this end sends.
    pub impair: Option<RawImpairment>,
}

/// A network interface of a node, as a link attaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub node: String,
    pub name: String,
    pub addresses: Vec<IpNet>,
    pub mtu: u32,
    /// What is done to the packets the interface sends (see [`crate::impairment`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impair: Option<Box<Impairment>>,
}

/// Builds an [`Interface`] from a link endpoint, reporting bad references. `link_impair`
/// is the link's own impairment, which the end's replaces.
pub fn endpoint(
    cx: &mut Context,
    raw: &RawEndpoint,
    link_mtu: u32,
    link_impair: Option<Impairment>,
) -> Option<Interface> {
    let known = cx.known_node(&raw.node);
    let name = cx.claim_interface(&raw.node.value, raw.interface.as_ref());
    let here = format!("{}:{name}", raw.node.value);
    let mtu = raw.mtu.as_ref().map_or(link_mtu, |m| m.value);
    if mtu < 1280
        && let Some(v6) = raw.addresses.iter().find(|a| a.value.addr().is_ipv6())
    {
        cx.error(
            v6.referenced,
            format!(
                "{here} has MTU {mtu}, and IPv6 needs at least 1280: the kernel refuses IPv6 \
                 addresses on it"
            ),
        );
    }
    for (i, a) in raw.addresses.iter().enumerate() {
        if let Some(why) = refused_address(a.value.addr(), false) {
            cx.error(a.referenced, why);
            continue;
        }
        // IPv6 keeps one prefix per address on an interface (a second is refused); IPv4
        // takes the same address with other prefixes.
        if a.value.addr().is_ipv6()
            && let Some(b) = raw.addresses[..i]
                .iter()
                .find(|b| b.value.addr() == a.value.addr() && b.value != a.value)
        {
            cx.error(
                a.referenced,
                format!(
                    "{} is already on {here} as {} (line {}); the kernel keeps one prefix per \
                     IPv6 address",
                    a.value.addr(),
                    b.value,
                    b.referenced.line()
                ),
            );
            continue;
        }
        match cx.addresses.get(&a.value) {
            Some((first, at)) => {
                let msg = format!(
                    "address {} is already on {first} (line {}); each interface address must be \
                     unique in the lab (an anycast address belongs on the nodes' `loopback`)",
                    a.value,
                    at.line()
                );
                cx.error(a.referenced, msg);
            }
            None => {
                cx.addresses.insert(a.value, (here.clone(), a.referenced));
            }
        }
    }
    let mtu = match &raw.mtu {
        Some(m) => {
            check_mtu(cx, m.value, m.referenced);
            m.value
        }
        None => link_mtu,
    };
    let impair = match &raw.impair {
        Some(own) => Impairment::validate(cx, own)?,
        None => link_impair.unwrap_or_default(),
    };
    known.then(|| Interface {
        node: raw.node.value.clone(),
        name,
        addresses: raw.addresses.iter().map(|a| a.value).collect(),
        mtu,
        impair: (!impair.is_none()).then(|| Box::new(impair)),
    })
}
