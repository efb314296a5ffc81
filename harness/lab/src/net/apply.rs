//! Executes a [`Plan`] with rtnetlink, inside the lab's namespaces only.
//!
//! Every request goes to a netlink socket that lives in the namespace it changes; a veth
//! is created from one end's namespace with its peer placed directly into the other's, so
//! no interface ever appears in the host namespace, not even for a moment. Requests of one
//! stage are issued concurrently across namespaces.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use futures::future::try_join_all;
use ipnet::IpNet;
use netlink_packet_route::link::{InfoData, InfoVeth};
use netlink_packet_route::route::{RouteNextHopFlags, RouteProtocol, RouteScope, RouteType};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVeth, RouteMessageBuilder};

use super::Netns;
use routelab_model::plan::{OnlinkRoutePlan, Plan, RoutePlan, VethEnd};

/// What went wrong while building, naming the object concerned.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("creating namespace for `{ns}`: {source}")]
    Namespace { ns: String, source: std::io::Error },
    #[error("{what}: {source}")]
    Netlink {
        what: String,
        source: rtnetlink::Error,
    },
    #[error("sysctl {key} in `{ns}`: {message}")]
    Sysctl {
        ns: String,
        key: String,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

impl ApplyError {
    /// A missing kernel feature (e.g. no veth, bridge or vxlan support) rather than bad
    /// input: the kernel answers an unknown link kind with EOPNOTSUPP.
    pub fn is_missing_kernel_feature(&self) -> bool {
        match self {
            ApplyError::Netlink {
                source: rtnetlink::Error::NetlinkError(msg),
                ..
            } => msg.raw_code().abs() == libc::EOPNOTSUPP,
            _ => false,
        }
    }

    /// Whose fault it is: the machine's for a missing feature or a namespace that could not
    /// be made; otherwise the scenario asked for something the kernel (or nft) refuses.
    pub fn blame(&self) -> crate::blame::Blame {
        use crate::blame::Blame;
        match self {
            _ if self.is_missing_kernel_feature() => Blame::Environment,
            ApplyError::Namespace { .. } => Blame::Environment,
            ApplyError::Netlink { .. } | ApplyError::Sysctl { .. } | ApplyError::Other(_) => {
                Blame::Input
            }
        }
    }
}

/// A namespace of the lab with its netlink connection.
pub struct LabNamespace {
    pub netns: Arc<Netns>,
    pub netlink: Handle,
}

impl LabNamespace {
    /// The index of the interface named `name` here.
    pub async fn interface_index(&self, name: &str) -> Result<u32, ApplyError> {
        let label = self.netns.label();
        match super::netlink::find_link(&self.netlink, name).await {
            Ok(Some(link)) => Ok(link.header.index),
            Ok(None) => Err(ApplyError::Other(format!(
                "no interface {name} in `{label}`"
            ))),
            Err(source) => Err(ApplyError::Netlink {
                what: format!("looking up {name} in `{label}`"),
                source,
            }),
        }
    }
}

/// The lab's namespace named `name`, which the plan refers to.
pub(super) fn namespace<'a>(
    lab: &'a BTreeMap<String, LabNamespace>,
    name: &str,
) -> Result<&'a LabNamespace, ApplyError> {
    lab.get(name)
        .ok_or_else(|| ApplyError::Other(format!("plan names unknown namespace `{name}`")))
}

pub(super) fn netlink_err(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> ApplyError {
    let what = what.into();
    move |source| ApplyError::Netlink { what, source }
}

/// Creates every namespace of the plan, each with `lo` up. Needs a tokio runtime.
pub async fn create_namespaces(plan: &Plan) -> Result<BTreeMap<String, LabNamespace>, ApplyError> {
    let mut out = BTreeMap::new();
    for ns in &plan.namespaces {
        let netns = Netns::create(&ns.name).map_err(|source| ApplyError::Namespace {
            ns: ns.name.clone(),
            source,
        })?;
        let netlink = super::netlink::connect(&netns).map_err(|source| ApplyError::Namespace {
            ns: ns.name.clone(),
            source,
        })?;
        out.insert(
            ns.name.clone(),
            LabNamespace {
                netns: Arc::new(netns),
                netlink,
            },
        );
    }
    try_join_all(out.iter().map(|(name, ns)| async move {
        // `lo` is always index 1 in a fresh namespace.
        ns.netlink
            .link()
            .set(LinkUnspec::new_with_index(1).up().build())
            .execute()
            .await
            .map_err(netlink_err(format!("bringing up lo in `{name}`")))
    }))
    .await?;
    Ok(out)
}

/// Builds everything but the daemons: sysctls, bridges, veths, VXLAN and IPIP devices,
/// addresses, routes.
pub async fn apply(plan: &Plan, lab: &BTreeMap<String, LabNamespace>) -> Result<(), ApplyError> {
    let ns = |name: &str| namespace(lab, name);

    // Global sysctls first, so `default` values reach interfaces created afterwards;
    // per-interface ones (whose /proc/sys path only exists later) after the links.
    let mut deferred = Vec::new();
    for s in &plan.sysctls {
        let space = ns(&s.ns)?;
        if !write_sysctl(space, &s.key, &s.value, false).map_err(|m| ApplyError::Sysctl {
            ns: s.ns.clone(),
            key: s.key.clone(),
            message: m.to_string(),
        })? {
            deferred.push(s);
        }
    }

    try_join_all(plan.bridges.iter().map(|b| async move {
        let space = ns(&b.ns)?;
        space
            .netlink
            .link()
            .add(LinkBridge::new(&b.name).mtu(b.mtu).up().build())
            .execute()
            .await
            .map_err(netlink_err(format!(
                "creating bridge {} in `{}`",
                b.name, b.ns
            )))
    }))
    .await?;

    let mut bridge_index: BTreeMap<(String, String), u32> = BTreeMap::new();
    for b in &plan.bridges {
        let index = ns(&b.ns)?.interface_index(&b.name).await?;
        bridge_index.insert((b.ns.clone(), b.name.clone()), index);
    }

    try_join_all(plan.veths.iter().map(|v| {
        // Create from the bridge side when there is one: a new link can be enslaved at
        // creation only in its own namespace.
        let (near, far) = if v.b.bridge.is_some() {
            (&v.b, &v.a)
        } else {
            (&v.a, &v.b)
        };
        let bridge_index = &bridge_index;
        async move {
            let near_ns = ns(&near.ns)?;
            let far_ns = ns(&far.ns)?;
            let mut msg = LinkVeth::new(&near.name, &far.name).mtu(near.mtu).up();
            if let Some(mac) = near.mac {
                msg = msg.address(mac.octets().to_vec());
            }
            if let Some(bridge) = &near.bridge {
                let index = bridge_index
                    .get(&(near.ns.clone(), bridge.clone()))
                    .copied()
                    .ok_or_else(|| {
                        ApplyError::Other(format!("no bridge {bridge} in `{}`", near.ns))
                    })?;
                msg = msg.controller(index);
            }
            let msg = msg
                .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_message(
                    far,
                    &far_ns.netns,
                ))))
                .build();
            near_ns
                .netlink
                .link()
                .add(msg)
                .execute()
                .await
                .map_err(netlink_err(format!(
                    "creating link {} ({}:{} <-> {}:{})",
                    v.link, near.ns, near.name, far.ns, far.name
                )))
        }
    }))
    .await?;

    // VXLAN devices land in their namespaces before the interface indexes are read.
    super::vxlan::create(plan, lab).await?;
    super::ipip::create(plan, lab).await?;

    for s in deferred {
        write_sysctl(ns(&s.ns)?, &s.key, &s.value, true).map_err(|m| ApplyError::Sysctl {
            ns: s.ns.clone(),
            key: s.key.clone(),
            message: m.to_string(),
        })?;
    }

    // Interface indexes per namespace, fetched once.
    let mut indexes: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    for (name, space) in lab {
        let listed = super::netlink::interfaces(&space.netlink)
            .await
            .map_err(netlink_err(format!("listing interfaces in `{name}`")))?;
        indexes.insert(
            name.clone(),
            listed
                .into_iter()
                .map(|(index, ifname)| (ifname, index))
                .collect(),
        );
    }
    let index_of = |ns_name: &str, ifname: &str| -> Result<u32, ApplyError> {
        indexes
            .get(ns_name)
            .and_then(|m| m.get(ifname))
            .copied()
            .ok_or_else(|| ApplyError::Other(format!("no interface {ifname} in `{ns_name}`")))
    };

    try_join_all(plan.veths.iter().map(|v| {
        let far = if v.b.bridge.is_some() { &v.a } else { &v.b };
        let index = index_of(&far.ns, &far.name);
        async move {
            ns(&far.ns)?
                .netlink
                .link()
                .set(LinkUnspec::new_with_index(index?).up().build())
                .execute()
                .await
                .map_err(netlink_err(format!(
                    "bringing up {} in `{}`",
                    far.name, far.ns
                )))
        }
    }))
    .await?;

    try_join_all(plan.addresses.iter().map(|a| {
        let index = index_of(&a.ns, &a.interface);
        async move {
            let space = ns(&a.ns)?;
            space
                .netlink
                .address()
                .add(index?, a.address.addr(), a.address.prefix_len())
                .execute()
                .await
                .map_err(netlink_err(format!(
                    "adding address {} to {} in `{}`",
                    a.address, a.interface, a.ns
                )))
        }
    }))
    .await?;

    add_routes(lab, plan.routes.iter().map(RouteRequest::from), &index_of).await?;

    // Static FDB and neighbour entries on the VXLAN devices, then the on-link routes
    // through them (and through tunl0).
    super::vxlan::program(plan, lab).await?;
    add_routes(
        lab,
        plan.onlink_routes.iter().map(RouteRequest::from),
        &index_of,
    )
    .await?;

    for f in &plan.firewalls {
        load_nftables(ns(&f.ns)?, &f.ruleset)?;
    }
    for i in &plan.impairments {
        super::impair::impair(ns(&i.ns)?, &i.interface, i.mtu, &i.impairment, false)?;
    }
    Ok(())
}

/// Loads an nftables ruleset with `nft -f -` run inside the namespace. A subprocess, but
/// only for scenarios that ask for a firewall; nft's own parser reports ruleset errors.
pub(crate) fn load_nftables(space: &LabNamespace, ruleset: &str) -> Result<(), ApplyError> {
    let args = ["-f", "-"].map(String::from);
    run_in_namespace(space, "nft", &args, Some(ruleset.as_bytes()), "nftables")
}

/// Runs `program` with `args` inside `space`'s namespace, feeding it `stdin`; an error
/// carries what it printed. `package` is what to install when it cannot be run.
pub(crate) fn run_in_namespace(
    space: &LabNamespace,
    program: &str,
    args: &[String],
    stdin: Option<&[u8]>,
    package: &str,
) -> Result<(), ApplyError> {
    use std::io::Write as _;
    use std::os::unix::process::CommandExt;
    let fd = space.netns.as_raw_fd();
    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // SAFETY: only setns runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || Netns::enter_in_child(fd));
    }
    let label = space.netns.label().to_string();
    let mut child = cmd.spawn().map_err(|e| {
        ApplyError::Other(format!(
            "running {program} for `{label}`: {e} (install {package}: apt-get install {package})"
        ))
    })?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input)
            .map_err(|e| ApplyError::Other(format!("feeding {program} for `{label}`: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| ApplyError::Other(format!("waiting for {program} for `{label}`: {e}")))?;
    if !out.status.success() {
        return Err(ApplyError::Other(format!(
            "{program} fails for `{label}` (`{program} {}`): {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The peer half of a veth: named, sized, and created directly in its namespace. It is
/// brought up afterwards: the kernel opens a peer before pairing it with the near end, and
/// opening an unpaired veth fails (ENOTCONN).
fn peer_message(end: &VethEnd, netns: &Netns) -> netlink_packet_route::link::LinkMessage {
    let mut msg = LinkUnspec::new_with_name(&end.name)
        .mtu(end.mtu)
        .setns_by_fd(netns.as_raw_fd());
    if let Some(mac) = end.mac {
        msg = msg.address(mac.octets().to_vec());
    }
    msg.build()
}

/// A route to add, from either kind of route the plan lists.
struct RouteRequest<'a> {
    ns: &'a str,
    to: IpNet,
    via: &'a [IpAddr],
    dev: Option<&'a str>,
    blackhole: bool,
    metric: Option<u32>,
    /// The gateway is declared on the device's link (`onlink`), needing no subnet there.
    onlink: bool,
    protocol: routelab_model::plan::RouteProtocol,
}

impl<'a> From<&'a RoutePlan> for RouteRequest<'a> {
    fn from(r: &'a RoutePlan) -> Self {
        RouteRequest {
            ns: &r.ns,
            to: r.to,
            via: &r.via,
            dev: r.dev.as_deref(),
            blackhole: r.blackhole,
            metric: r.metric,
            onlink: false,
            protocol: r.protocol,
        }
    }
}

impl<'a> From<&'a OnlinkRoutePlan> for RouteRequest<'a> {
    fn from(r: &'a OnlinkRoutePlan) -> Self {
        RouteRequest {
            ns: &r.ns,
            to: r.to,
            via: std::slice::from_ref(&r.via),
            dev: Some(&r.dev),
            blackhole: false,
            metric: None,
            onlink: true,
            protocol: r.protocol,
        }
    }
}

/// As `ip route` would print it, for messages.
impl std::fmt::Display for RouteRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.blackhole {
            write!(f, "blackhole ")?;
        }
        write!(f, "{}", self.to)?;
        for v in self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = self.dev {
            write!(f, " dev {d}")?;
        }
        if self.onlink {
            write!(f, " onlink")?;
        }
        Ok(())
    }
}

/// Adds routes one namespace at a time in the order given (a later route may depend on an
/// earlier one), namespaces concurrently.
async fn add_routes<'a>(
    lab: &BTreeMap<String, LabNamespace>,
    routes: impl Iterator<Item = RouteRequest<'a>>,
    index_of: &impl Fn(&str, &str) -> Result<u32, ApplyError>,
) -> Result<(), ApplyError> {
    let mut by_ns: BTreeMap<&str, Vec<RouteRequest>> = BTreeMap::new();
    for r in routes {
        by_ns.entry(r.ns).or_default().push(r);
    }
    try_join_all(by_ns.into_iter().map(|(name, routes)| async move {
        let space = namespace(lab, name)?;
        for r in routes {
            let oif = r.dev.map(|d| index_of(r.ns, d)).transpose()?;
            space
                .netlink
                .route()
                .add(route_message(&r, oif)?)
                .execute()
                .await
                .map_err(netlink_err(format!("adding route {r} in `{}`", r.ns)))?;
        }
        Ok::<(), ApplyError>(())
    }))
    .await?;
    Ok(())
}

/// The netlink request for `r`, leaving by interface `oif` when it names a device.
fn route_message(
    r: &RouteRequest,
    oif: Option<u32>,
) -> Result<netlink_packet_route::route::RouteMessage, ApplyError> {
    let bad = |e: &dyn std::fmt::Display| ApplyError::Other(format!("route {r}: {e}"));
    let mut b = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(r.to.addr(), r.to.prefix_len())
        .map_err(|e| bad(&e))?
        .protocol(RouteProtocol::from(r.protocol.number()));
    if let Some(m) = r.metric {
        b = b.priority(m);
    }
    if r.blackhole {
        return Ok(b.kind(RouteType::BlackHole).build());
    }
    if r.via.is_empty() {
        // A route straight onto an interface, as `ip route add X dev Y` makes it.
        b = b.scope(RouteScope::Link);
    }
    match r.via {
        [] => {}
        [gw] => {
            b = b.gateway(*gw).map_err(|e| bad(&e))?;
        }
        many => {
            let hops = many
                .iter()
                .map(|gw| {
                    let mut hop = netlink_packet_route::route::RouteNextHop::default();
                    hop.attributes
                        .push(netlink_packet_route::route::RouteAttribute::Gateway(
                            (*gw).into(),
                        ));
                    if let Some(i) = oif {
                        hop.interface_index = i;
                    }
                    if r.onlink {
                        hop.flags |= RouteNextHopFlags::Onlink;
                    }
                    hop
                })
                .collect();
            b = b.multipath(hops);
        }
    }
    if r.via.len() <= 1 {
        if let Some(i) = oif {
            b = b.output_interface(i);
        }
        if r.onlink {
            b = b.onlink();
        }
    }
    Ok(b.build())
}

/// Writes one sysctl from inside the namespace. Returns Ok(false) when the key does not
/// exist yet and `must_exist` is false (a per-interface key before its interface exists).
fn write_sysctl(
    space: &LabNamespace,
    key: &str,
    value: &str,
    must_exist: bool,
) -> Result<bool, SysctlRefused> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let value = value.to_string();
    let result = space
        .netns
        .run(move || std::fs::write(&path, value.as_bytes()))
        .map_err(SysctlRefused::Io)?;
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SysctlRefused::NoSuchKey),
        Err(e) => Err(SysctlRefused::Io(e)),
    }
}

/// Why a sysctl could not be written.
#[derive(Debug, thiserror::Error)]
enum SysctlRefused {
    #[error("no such sysctl in this kernel (or the interface it names does not exist)")]
    NoSuchKey,
    #[error("{0}")]
    Io(std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn netlink_error(errno: i32) -> ApplyError {
        let mut msg = rtnetlink::packet_core::ErrorMessage::default();
        msg.code = std::num::NonZeroI32::new(-errno);
        ApplyError::Netlink {
            what: "creating link zt0".into(),
            source: rtnetlink::Error::NetlinkError(msg),
        }
    }

    #[test]
    fn only_an_unsupported_operation_is_a_missing_kernel_feature() {
        assert!(netlink_error(libc::EOPNOTSUPP).is_missing_kernel_feature());
        assert!(!netlink_error(libc::EEXIST).is_missing_kernel_feature());
        assert!(!ApplyError::Other("x".into()).is_missing_kernel_feature());
    }

    fn route_plan(to: &str, via: &[&str], dev: Option<&str>) -> RoutePlan {
        RoutePlan {
            ns: "n1".into(),
            to: to.parse().unwrap(),
            via: via.iter().map(|v| v.parse().unwrap()).collect(),
            dev: dev.map(str::to_string),
            blackhole: false,
            metric: None,
            protocol: Default::default(),
        }
    }

    #[test]
    fn both_kinds_of_planned_route_read_like_ip_route() {
        let plain = route_plan("10.2.0.0/24", &["10.1.0.1", "10.1.0.2"], Some("eth0"));
        assert_eq!(
            RouteRequest::from(&plain).to_string(),
            "10.2.0.0/24 via 10.1.0.1 via 10.1.0.2 dev eth0"
        );
        let onlink = OnlinkRoutePlan {
            ns: "n1".into(),
            to: "10.42.1.0/24".parse().unwrap(),
            via: "10.42.1.0".parse().unwrap(),
            dev: "flannel.1".into(),
            protocol: Default::default(),
        };
        assert_eq!(
            RouteRequest::from(&onlink).to_string(),
            "10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink"
        );
        let mut blackhole = route_plan("10.42.0.0/26", &[], None);
        blackhole.blackhole = true;
        assert_eq!(
            RouteRequest::from(&blackhole).to_string(),
            "blackhole 10.42.0.0/26"
        );
    }

    #[test]
    fn an_onlink_route_leaves_by_its_device_with_the_onlink_flag() {
        use netlink_packet_route::route::{RouteAttribute, RouteFlags};
        let onlink = OnlinkRoutePlan {
            ns: "n1".into(),
            to: "10.42.1.0/24".parse().unwrap(),
            via: "10.42.1.0".parse().unwrap(),
            dev: "flannel.1".into(),
            protocol: Default::default(),
        };
        let msg = route_message(&RouteRequest::from(&onlink), Some(7)).unwrap();
        assert!(msg.header.flags.contains(RouteFlags::Onlink));
        assert_eq!(msg.header.scope, RouteScope::Universe);
        assert!(msg.attributes.contains(&RouteAttribute::Oif(7)));
        assert!(
            msg.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Gateway(_)))
        );
        // A plain route onto a device is link-scoped and not onlink.
        let plain = route_plan("10.42.0.2/32", &[], Some("cali0"));
        let msg = route_message(&RouteRequest::from(&plain), Some(9)).unwrap();
        assert!(!msg.header.flags.contains(RouteFlags::Onlink));
        assert_eq!(msg.header.scope, RouteScope::Link);
        assert!(msg.attributes.contains(&RouteAttribute::Oif(9)));
    }
}
