//! The VXLAN stages of [`super::apply`]: devices (right after the veths, so the address
//! stage finds them), then static FDB and neighbour entries (after the routes, before the
//! on-link routes through the devices).
//!
//! A device is created by a request on the netlink socket of the namespace that is to keep
//! its UDP socket, with `IFLA_NET_NS_FD` naming the namespace the device itself goes to: the
//! kernel binds a VXLAN device's socket and routes its outer packets in the namespace it was
//! created from, wherever the device ends up. That is how an overlay's underlay lives in
//! hidden namespaces while its interfaces live in the nodes.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use futures::future::try_join_all;
use netlink_packet_route::link::VxlanDf as KernelDf;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::RouteType;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::{Handle, LinkVxlan};

use super::apply::{ApplyError, LabNamespace, namespace, netlink_err};
use routelab_model::plan::{FdbPlan, Plan, VxlanDf};

/// Creates every VXLAN device of the plan, up, with its MTU and MAC address.
pub async fn create(plan: &Plan, lab: &BTreeMap<String, LabNamespace>) -> Result<(), ApplyError> {
    try_join_all(plan.vxlans.iter().map(|v| async move {
        let home = namespace(lab, &v.ns)?;
        let b = LinkVxlan::new(&v.name, v.vni).port(v.port);
        let mut b = match v.local {
            IpAddr::V4(a) => b.local(a),
            IpAddr::V6(a) => b.local6(a),
        }
        .learning(v.learning)
        .df(match v.df {
            VxlanDf::Unset => KernelDf::Unset,
            VxlanDf::Inherit => KernelDf::Inherit,
        });
        if let Some(dev) = &v.dev {
            b = b.dev(home.interface_index(dev).await?);
        }
        let mut b = b.mtu(v.mtu).address(v.mac.octets().to_vec()).up();
        if let Some(into) = &v.into {
            b = b.setns_by_fd(namespace(lab, into)?.netns.as_raw_fd());
        }
        let target = v.into.as_deref().unwrap_or(&v.ns);
        home.netlink
            .link()
            .add(b.build())
            .execute()
            .await
            .map_err(netlink_err(format!(
                "creating VXLAN device {} of {} (socket in `{}`, device in `{target}`)",
                v.name, v.link, v.ns
            )))
    }))
    .await?;
    Ok(())
}

/// Programs FDB and neighbour entries.
pub async fn program(plan: &Plan, lab: &BTreeMap<String, LabNamespace>) -> Result<(), ApplyError> {
    // One entry after another per device: appending to the same MAC's destination list.
    for f in &plan.fdb {
        let ns = namespace(lab, &f.ns)?;
        let index = ns.interface_index(&f.dev).await?;
        fdb_append(ns.netlink.clone(), index, f).await?;
    }
    try_join_all(plan.neighbours.iter().map(|n| async move {
        let ns = namespace(lab, &n.ns)?;
        let index = ns.interface_index(&n.dev).await?;
        ns.netlink
            .neighbours()
            .add(index, n.ip)
            .link_layer_address(&n.mac.octets())
            .state(NeighbourState::Permanent)
            .replace()
            .execute()
            .await
            .map_err(netlink_err(format!(
                "adding neighbour {} lladdr {} on {} in `{}`",
                n.ip, n.mac, n.dev, n.ns
            )))
    }))
    .await?;
    Ok(())
}

/// `bridge fdb append MAC dev DEV dst DST`: rtnetlink's neighbour request always asks for an
/// exclusive create, which refuses a second destination for the all-zero MAC, so the
/// message is sent with NLM_F_APPEND here.
async fn fdb_append(mut handle: Handle, index: u32, f: &FdbPlan) -> Result<(), ApplyError> {
    let mut message = NeighbourMessage::default();
    message.header.family = AddressFamily::Bridge;
    message.header.ifindex = index;
    message.header.state = NeighbourState::Permanent;
    message.header.flags = NeighbourFlags::Own;
    message.header.kind = RouteType::Unspec;
    message
        .attributes
        .push(NeighbourAttribute::LinkLayerAddress(
            f.mac.octets().to_vec(),
        ));
    message
        .attributes
        .push(NeighbourAttribute::Destination(match f.dst {
            IpAddr::V4(v4) => NeighbourAddress::Inet(v4),
            IpAddr::V6(v6) => NeighbourAddress::Inet6(v6),
        }));
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewNeighbour(message));
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND;
    let what = format!(
        "bridge fdb append {} dev {} dst {} in `{}`",
        f.mac, f.dev, f.dst, f.ns
    );
    let mut response = handle.request(req).map_err(netlink_err(what.clone()))?;
    while let Some(message) = futures::StreamExt::next(&mut response).await {
        if let NetlinkPayload::Error(err) = message.payload {
            return Err(ApplyError::Netlink {
                what,
                source: rtnetlink::Error::NetlinkError(err),
            });
        }
    }
    Ok(())
}
