//! Reading a namespace's routing table, and printing it the way `ip route` does.

use std::collections::BTreeMap;
use std::net::IpAddr;

use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteNextHopFlags, RouteProtocol,
    RouteType, RouteVia,
};
use rtnetlink::{Handle, RouteMessageBuilder};

pub use routelab_model::observed::{KernelRoute, NextHop, RouteKind};

/// As `ip route` names it for the protocols expectations name (the model's
/// `PROTOCOL_NAMES`), otherwise its number.
fn protocol_name(p: RouteProtocol) -> String {
    let number = u8::from(p);
    routelab_model::expect::route::PROTOCOL_NAMES
        .iter()
        .find(|(_, n)| *n == number)
        .map_or_else(|| number.to_string(), |(name, _)| (*name).to_string())
}

fn address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn gateway(attrs: &[RouteAttribute]) -> Option<IpAddr> {
    attrs.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => address(g),
        RouteAttribute::Via(RouteVia::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Via(RouteVia::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    })
}

fn convert(msg: &RouteMessage, names: &BTreeMap<u32, String>) -> Option<KernelRoute> {
    let dst = msg
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Destination(d) => address(d),
            _ => None,
        })
        .unwrap_or(match msg.header.address_family {
            AddressFamily::Inet6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            _ => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        });
    let to = IpNet::new(dst, msg.header.destination_prefix_length).ok()?;
    let kind = match msg.header.kind {
        RouteType::Unicast => RouteKind::Unicast,
        RouteType::BlackHole => RouteKind::Blackhole,
        RouteType::Unreachable => RouteKind::Unreachable,
        RouteType::Prohibit => RouteKind::Prohibit,
        other => RouteKind::Other(u8::from(other)),
    };
    let name = |index: u32| names.get(&index).cloned().or(Some(format!("if{index}")));
    let mut nexthops = Vec::new();
    if let Some(hops) = msg.attributes.iter().find_map(|a| match a {
        RouteAttribute::MultiPath(h) => Some(h),
        _ => None,
    }) {
        for h in hops {
            nexthops.push(NextHop {
                via: gateway(&h.attributes),
                dev: name(h.interface_index),
                onlink: h.flags.contains(RouteNextHopFlags::Onlink),
            });
        }
    } else if kind == RouteKind::Unicast {
        let oif = msg.attributes.iter().find_map(|a| match a {
            RouteAttribute::Oif(i) => Some(*i),
            _ => None,
        });
        nexthops.push(NextHop {
            via: gateway(&msg.attributes),
            dev: oif.and_then(name),
            onlink: msg
                .header
                .flags
                .contains(netlink_packet_route::route::RouteFlags::Onlink),
        });
    }
    let metric = msg.attributes.iter().find_map(|a| match a {
        RouteAttribute::Priority(p) => Some(*p),
        _ => None,
    });
    Some(KernelRoute {
        to,
        kind,
        protocol: protocol_name(msg.header.protocol),
        metric,
        nexthops,
    })
}

/// Every route of the main table of one address family.
pub async fn main_table(handle: &Handle, ipv6: bool) -> Result<Vec<KernelRoute>, rtnetlink::Error> {
    Ok(tables(handle, ipv6)
        .await?
        .into_iter()
        .filter(|(table, _)| *table == 254)
        .map(|(_, r)| r)
        .collect())
}

/// Every route of every table of one address family, with its table's number.
pub async fn tables(
    handle: &Handle,
    ipv6: bool,
) -> Result<Vec<(u32, KernelRoute)>, rtnetlink::Error> {
    // Interface index to name, for printing.
    let names: BTreeMap<u32, String> = super::netlink::interfaces(handle)
        .await?
        .into_iter()
        .collect();
    let query = if ipv6 {
        RouteMessageBuilder::<std::net::Ipv6Addr>::new().build()
    } else {
        RouteMessageBuilder::<std::net::Ipv4Addr>::new().build()
    };
    let mut routes = Vec::new();
    let mut stream = handle.route().get(query).execute();
    while let Some(msg) = stream.try_next().await? {
        // An exception the kernel cached from a packet (a path MTU learnt from "frag
        // needed", a redirect) is not a route anyone configured: whether there is one
        // depends on which probes ran before, so it is left out.
        if msg.header.flags.contains(RouteFlags::Cloned) {
            continue;
        }
        let table = msg
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(u32::from(msg.header.table));
        if let Some(r) = convert(&msg, &names) {
            routes.push((table, r));
        }
    }
    Ok(routes)
}
