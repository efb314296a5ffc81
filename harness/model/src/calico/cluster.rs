//! The cluster as confd's datastore sees it: nodes with their BGP addresses, AS numbers and
//! route-reflector cluster IDs, IP pools, BGP configuration, Secrets and Services.
//! [`super::peerings`] expands BGPPeers on top of it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::error::bail;
use ipnet::IpNet;

use super::resources::{
    AsNumber, BgpConfigurationSpec, BgpFilterSpec, BgpPeerSpec, CalicoNetwork, EndpointSliceBody,
    IpPoolSpec, NodeSpec, ObjectMeta, Resource, SecretSource, ServiceBody, secret_value,
};
use super::selector::Selector;

/// The AS number confd assumes when BGPConfiguration sets none.
pub const DEFAULT_AS: AsNumber = AsNumber(64512);

/// A Calico node's BGP identity.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The node's IPv4 BGP address, or empty.
    pub ipv4: String,
    /// The subnet of that address (`10.192.0.0/16`), or empty.
    pub net_v4: String,
    pub ipv6: String,
    pub net_v6: String,
    pub as_num: Option<AsNumber>,
    /// Non-empty when the node is a route reflector.
    pub rr_cluster_id: String,
    pub wireguard_v4: String,
    pub wireguard_v6: String,
}

impl NodeInfo {
    fn from_spec(name: &str, labels: BTreeMap<String, String>, spec: &NodeSpec) -> Self {
        let mut n = NodeInfo {
            name: name.to_string(),
            labels,
            ..Default::default()
        };
        if let Some(bgp) = &spec.bgp {
            (n.ipv4, n.net_v4) = split_cidr_or_ip(&bgp.ipv4_address);
            (n.ipv6, n.net_v6) = split_cidr_or_ip(&bgp.ipv6_address);
            n.as_num = bgp.as_number;
            n.rr_cluster_id = bgp.route_reflector_cluster_id.clone();
        }
        if let Some(wg) = &spec.wireguard {
            n.wireguard_v4 = wg.interface_ipv4_address.clone();
            n.wireguard_v6 = wg.interface_ipv6_address.clone();
        }
        n
    }

    /// The node's address of one IP family (4 or 6), or empty.
    pub fn ip(&self, version: u8) -> &str {
        if version == 4 { &self.ipv4 } else { &self.ipv6 }
    }
}

/// `10.192.0.2/16` → (`10.192.0.2`, `10.192.0.0/16`); a bare address gets a host subnet;
/// anything unparsable counts as unset.
fn split_cidr_or_ip(s: &str) -> (String, String) {
    let s = s.trim();
    if let Ok(net) = s.parse::<IpNet>() {
        return (net.addr().to_string(), net.trunc().to_string());
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return (ip.to_string(), IpNet::from(ip).to_string());
    }
    (String::new(), String::new())
}

/// An encapsulation mode of an IP pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encap {
    #[default]
    Never,
    Always,
    CrossSubnet,
}

impl Encap {
    fn parse(s: &str) -> Encap {
        match s {
            "Always" => Encap::Always,
            "CrossSubnet" => Encap::CrossSubnet,
            _ => Encap::Never,
        }
    }

    /// Whether packets of the pool are encapsulated at all.
    pub fn in_use(self) -> bool {
        self != Encap::Never
    }
}

/// An IP pool, from an IPPool resource or the operator's Installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub name: String,
    pub cidr: IpNet,
    pub ipip: Encap,
    pub vxlan: Encap,
    pub nat_outgoing: bool,
    pub disabled: bool,
    pub disable_bgp_export: bool,
    pub block_size: u8,
    pub node_selector: String,
}

impl Pool {
    fn from_spec(name: &str, spec: &IpPoolSpec) -> super::Result<Pool> {
        let cidr: IpNet = match spec.cidr.parse() {
            Ok(c) => c,
            Err(e) => bail!("IPPool {name}: bad cidr {:?}: {e}", spec.cidr),
        };
        let default_block = if cidr.addr().is_ipv4() { 26 } else { 122 };
        check_block_size(&format!("IPPool {name}"), cidr, spec.block_size)?;
        Ok(Pool {
            name: name.to_string(),
            cidr: cidr.trunc(),
            ipip: Encap::parse(&spec.ipip_mode),
            vxlan: Encap::parse(&spec.vxlan_mode),
            nat_outgoing: spec.nat_outgoing,
            disabled: spec.disabled,
            disable_bgp_export: spec.disable_bgp_export,
            block_size: spec.block_size.unwrap_or(default_block),
            node_selector: spec.node_selector.clone(),
        })
    }
}

/// A pool's `blockSize` must be of its family: /20 to /32 for IPv4, /116 to /128 for IPv6.
fn check_block_size(owner: &str, cidr: IpNet, size: Option<u8>) -> super::Result<()> {
    let (range, family, other) = if cidr.addr().is_ipv4() {
        (
            super::resources::BLOCK_SIZES_V4,
            "IPv4",
            "116 to 128 is for IPv6 pools",
        )
    } else {
        (
            super::resources::BLOCK_SIZES_V6,
            "IPv6",
            "20 to 32 is for IPv4 pools",
        )
    };
    match size {
        Some(s) if !range.contains(&s) => bail!(
            "{owner}: blockSize {s} does not suit the {family} pool {cidr}: {family} pools take \
             {} to {} ({other})",
            range.start(),
            range.end()
        ),
        _ => Ok(()),
    }
}

/// Everything confd reads, gathered from the resources.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub nodes: BTreeMap<String, NodeInfo>,
    pub bgp_peers: BTreeMap<String, BgpPeerSpec>,
    pub filters: BTreeMap<String, BgpFilterSpec>,
    pub pools: Vec<Pool>,
    /// The BGPConfiguration named `default`.
    pub bgp_default: Option<BgpConfigurationSpec>,
    /// BGPConfigurations named `node.<name>`, by node name.
    pub bgp_per_node: BTreeMap<String, BgpConfigurationSpec>,
    /// The operator's network settings (Installations named alike merged in order).
    pub installation: Option<CalicoNetwork>,
    /// Kubernetes Services and EndpointSlices, for service advertisement.
    pub services: Vec<(ObjectMeta, ServiceBody)>,
    pub endpoint_slices: Vec<(ObjectMeta, EndpointSliceBody)>,
    secrets: Vec<Resource>,
}

/// Merges an Installation patch: fields the later one sets win.
fn merge_network(base: &mut CalicoNetwork, patch: CalicoNetwork) {
    if patch.bgp.is_some() {
        base.bgp = patch.bgp;
    }
    if patch.ip_pools.is_some() {
        base.ip_pools = patch.ip_pools;
    }
    if patch.mtu.is_some() {
        base.mtu = patch.mtu;
    }
    if patch.node_address_autodetection_v4.is_some() {
        base.node_address_autodetection_v4 = patch.node_address_autodetection_v4;
    }
    if patch.node_address_autodetection_v6.is_some() {
        base.node_address_autodetection_v6 = patch.node_address_autodetection_v6;
    }
}

/// The IPPools the operator creates from its Installation.
fn installation_pools(net: &CalicoNetwork) -> super::Result<Vec<Pool>> {
    let mut out = Vec::new();
    for (i, p) in net.ip_pools.iter().flatten().enumerate() {
        let cidr: IpNet = match p.cidr.parse() {
            Ok(c) => c,
            Err(e) => bail!("Installation ipPools[{i}]: bad cidr {:?}: {e}", p.cidr),
        };
        check_block_size(&format!("Installation ipPools[{i}]"), cidr, p.block_size)?;
        let v4 = cidr.addr().is_ipv4();
        let (ipip, vxlan) = match p.encapsulation.as_deref().unwrap_or("IPIP") {
            "IPIP" => (Encap::Always, Encap::Never),
            "IPIPCrossSubnet" => (Encap::CrossSubnet, Encap::Never),
            "VXLAN" => (Encap::Never, Encap::Always),
            "VXLANCrossSubnet" => (Encap::Never, Encap::CrossSubnet),
            "None" => (Encap::Never, Encap::Never),
            other => bail!("Installation ipPools[{i}]: unknown encapsulation {other:?}"),
        };
        let nat = match p.nat_outgoing.as_deref().unwrap_or("Enabled") {
            "Enabled" => true,
            "Disabled" => false,
            other => bail!(
                "Installation ipPools[{i}]: natOutgoing must be Enabled or Disabled, not {other:?}"
            ),
        };
        let name = if p.name.is_empty() {
            // The operator names the first pool of a family default-ipvN-ippool.
            let family = if v4 { 4 } else { 6 };
            let before = out
                .iter()
                .filter(|q: &&Pool| q.cidr.addr().is_ipv4() == v4)
                .count();
            match before {
                0 => format!("default-ipv{family}-ippool"),
                n => format!("default-ipv{family}-ippool-{n}"),
            }
        } else {
            p.name.clone()
        };
        out.push(Pool {
            name,
            cidr: cidr.trunc(),
            ipip,
            vxlan,
            nat_outgoing: nat,
            disabled: false,
            disable_bgp_export: p.disable_bgp_export,
            block_size: p.block_size.unwrap_or(if v4 { 26 } else { 122 }),
            node_selector: if p.node_selector.is_empty() {
                "all()".to_string()
            } else {
                p.node_selector.clone()
            },
        });
    }
    Ok(out)
}

/// Parses a Go duration (`90s`, `2m30s`, `1.5h`, `500ms`) into whole seconds, rounded.
pub fn duration_secs(s: &str) -> super::Result<u64> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..num_len]
            .parse()
            .map_err(|_| super::CalicoError::Invalid(format!("bad duration {s:?}")))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => bail!("bad duration {s:?}: units are ns, us, ms, s, m, h"),
        };
        rest = &rest[unit_len..];
        total += num * scale;
    }
    Ok(total.round() as u64)
}

impl Cluster {
    /// Gathers the resources; later resources of the same name replace earlier ones.
    pub fn from_resources(resources: &[Resource]) -> super::Result<Cluster> {
        let mut c = Cluster::default();
        let mut pools: BTreeMap<String, Pool> = BTreeMap::new();
        for r in resources {
            match r {
                Resource::Node(meta, spec) => {
                    let info = NodeInfo::from_spec(&meta.name, meta.labels.clone(), spec);
                    c.nodes.insert(meta.name.clone(), info);
                }
                Resource::BgpPeer(meta, spec) => {
                    c.bgp_peers.insert(meta.name.clone(), spec.clone());
                }
                Resource::BgpFilter(meta, spec) => {
                    c.filters.insert(meta.name.clone(), spec.clone());
                }
                Resource::IpPool(meta, spec) => {
                    pools.insert(meta.name.clone(), Pool::from_spec(&meta.name, spec)?);
                }
                Resource::BgpConfiguration(meta, spec) => {
                    if meta.name == "default" {
                        c.bgp_default = Some(spec.clone());
                    } else if let Some(node) = meta.name.strip_prefix("node.") {
                        c.bgp_per_node.insert(node.to_string(), spec.clone());
                    } else {
                        bail!(
                            "BGPConfiguration {:?}: the name must be \"default\" or \"node.<nodename>\"",
                            meta.name
                        );
                    }
                }
                Resource::Installation(_, spec) => {
                    if let Some(net) = spec.calico_network.clone() {
                        match &mut c.installation {
                            Some(base) => merge_network(base, net),
                            None => c.installation = Some(net),
                        }
                    }
                }
                Resource::Secret(..) => c.secrets.push(r.clone()),
                Resource::Service(meta, body) => c.services.push((meta.clone(), body.clone())),
                Resource::EndpointSlice(meta, body) => {
                    c.endpoint_slices.push((meta.clone(), body.clone()))
                }
            }
        }
        if let Some(net) = &c.installation {
            for p in installation_pools(net)? {
                pools.entry(p.name.clone()).or_insert(p);
            }
        }
        c.pools = pools.into_values().collect();
        Ok(c)
    }

    /// The cluster-wide AS number.
    pub fn global_as(&self) -> AsNumber {
        self.bgp_default
            .as_ref()
            .and_then(|b| b.as_number)
            .unwrap_or(DEFAULT_AS)
    }

    /// A node's AS number, falling back to the cluster's.
    pub fn node_as(&self, node: &str) -> AsNumber {
        self.nodes
            .get(node)
            .and_then(|n| n.as_num)
            .unwrap_or_else(|| self.global_as())
    }

    /// The BGP listen port of a node (its own BGPConfiguration first), or 0.
    pub fn listen_port(&self, node: &str) -> u16 {
        let own = self.bgp_per_node.get(node).map_or(0, |b| b.listen_port);
        if own != 0 {
            own
        } else {
            self.global_listen_port()
        }
    }

    /// The cluster-wide BGP listen port, or 0.
    pub(crate) fn global_listen_port(&self) -> u16 {
        self.bgp_default.as_ref().map_or(0, |b| b.listen_port)
    }

    /// Whether calico-node runs BIRD at all: the operator's `calicoNetwork.bgp` may turn
    /// it off.
    pub fn bgp_enabled(&self) -> bool {
        self.installation
            .as_ref()
            .and_then(|n| n.bgp.as_deref())
            .is_none_or(|b| b != "Disabled")
    }

    /// The pod MTU the operator's Installation sets, if any.
    pub fn mtu(&self) -> Option<u32> {
        self.installation.as_ref().and_then(|n| n.mtu)
    }

    /// Whether the node-to-node mesh is on (the default).
    pub fn mesh_enabled(&self) -> bool {
        self.bgp_default
            .as_ref()
            .and_then(|b| b.node_to_node_mesh_enabled)
            .unwrap_or(true)
    }

    /// Resolves a password held in a Secret listed among the resources.
    pub fn password(&self, src: Option<&SecretSource>) -> Option<String> {
        let r = src?.secret_key_ref.as_ref()?;
        secret_value(&self.secrets, r)
    }

    /// Names of the nodes a selector matches, sorted. A selector that does not parse
    /// matches nothing, as in Calico (the error is returned by [`Cluster::validate`]).
    pub fn nodes_matching(&self, selector: &str) -> Vec<String> {
        match Selector::parse(selector) {
            Ok(sel) => self
                .nodes
                .values()
                .filter(|n| sel.matches(&n.labels))
                .map(|n| n.name.clone())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The BGPPeer whose `localWorkloadSelector` Felix finds for a workload on `node` with
    /// `labels`, as its ActiveBGPPeerCalculator does: among the BGPPeers that apply to the
    /// node (`node` names it, or no `node` and `nodeSelector` matches it; an empty one
    /// matches every node) and whose selector matches the workload, the first by name.
    pub fn workload_bgp_peer(
        &self,
        node: &str,
        labels: &BTreeMap<String, String>,
    ) -> Option<String> {
        let node_labels = self.nodes.get(node).map(|n| &n.labels)?;
        self.bgp_peers
            .iter()
            .filter(|(_, p)| !p.local_workload_selector.is_empty())
            .filter(|(_, p)| {
                if !p.node.is_empty() {
                    return p.node == node;
                }
                Selector::parse(&p.node_selector).is_ok_and(|s| s.matches(node_labels))
            })
            .find(|(_, p)| {
                Selector::parse(&p.local_workload_selector).is_ok_and(|s| s.matches(labels))
            })
            .map(|(name, _)| name.clone())
    }

    /// The virtual address Felix gives the host side of a peering workload's interface
    /// (BGPConfiguration `localWorkloadPeeringIPV4`), for the workload to peer with.
    pub fn local_workload_peering_ipv4(&self) -> Option<std::net::Ipv4Addr> {
        self.bgp_default
            .as_ref()
            .and_then(|b| b.local_workload_peering_ipv4.parse().ok())
    }

    /// Its IPv6 twin (`localWorkloadPeeringIPV6`), for peering workloads that have IPv6.
    pub fn local_workload_peering_ipv6(&self) -> Option<std::net::Ipv6Addr> {
        self.bgp_default
            .as_ref()
            .and_then(|b| b.local_workload_peering_ipv6.parse().ok())
    }

    /// The passwords whose Secret or key is not among the resources, each as a warning.
    /// calico-node renders such a peering without a password (confd's `getPassword` and
    /// `getNodeMeshPassword` log "Can't read password" and go on), so the session comes
    /// up only with a peer that has no password either: not an error, but worth saying.
    pub fn unreadable_passwords(&self) -> Vec<String> {
        let mesh = self
            .bgp_default
            .as_ref()
            .and_then(|b| b.node_mesh_password.as_ref());
        let refs = self
            .bgp_peers
            .iter()
            .map(|(name, p)| (format!("BGPPeer {name}"), p.password.as_ref()))
            .chain(std::iter::once((
                "BGPConfiguration default (nodeMeshPassword)".to_string(),
                mesh,
            )));
        let mut out = Vec::new();
        for (owner, src) in refs {
            let Some(r) = src.and_then(|s| s.secret_key_ref.as_ref()) else {
                continue;
            };
            if secret_value(&self.secrets, r).is_none() {
                out.push(format!(
                    "{owner}: password Secret {:?} with key {:?} is not among the resources; \
                     calico-node renders its sessions without a password, as routelab does",
                    r.name, r.key
                ));
            }
        }
        out
    }

    /// Reports selectors that do not parse (which Calico would silently ignore).
    pub fn validate(&self) -> super::Result<()> {
        for (name, p) in &self.bgp_peers {
            for (field, sel) in [
                ("nodeSelector", &p.node_selector),
                ("peerSelector", &p.peer_selector),
                ("localWorkloadSelector", &p.local_workload_selector),
            ] {
                if !sel.is_empty() {
                    if let Err(e) = Selector::parse(sel) {
                        bail!("BGPPeer {name}: {field}: {e}");
                    }
                }
            }
            // What Calico's API server refuses of a peering with workloads.
            if !p.local_workload_selector.is_empty() {
                if !p.peer_ip.is_empty() || !p.peer_selector.is_empty() {
                    bail!(
                        "BGPPeer {name}: localWorkloadSelector peers with the workloads it \
                         selects, so peerIP and peerSelector must be empty"
                    );
                }
                if p.as_number.0 == 0 {
                    bail!(
                        "BGPPeer {name}: localWorkloadSelector needs asNumber, the AS of the \
                         workloads' BGP speakers"
                    );
                }
            }
        }
        if let Some(b) = &self.bgp_default {
            for (field, value, v4) in [
                (
                    "localWorkloadPeeringIPV4",
                    &b.local_workload_peering_ipv4,
                    true,
                ),
                (
                    "localWorkloadPeeringIPV6",
                    &b.local_workload_peering_ipv6,
                    false,
                ),
            ] {
                let ok =
                    value.is_empty() || value.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv4() == v4);
                if !ok {
                    let family = if v4 { "IPv4" } else { "IPv6" };
                    bail!(
                        "BGPConfiguration default: {field} {value:?} is not an {family} address \
                         (an address alone, no prefix length)"
                    );
                }
            }
        }
        for p in &self.pools {
            if let Err(e) = Selector::parse(&p.node_selector) {
                bail!("IPPool {}: nodeSelector: {e}", p.name);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::calico::resources::parse_str;

    /// Two nodes, `a` a route reflector labelled `rr`, `b` a plain node: the fixture the
    /// calico module's tests build on.
    pub(crate) const NODES: &str = "
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: a, labels: {rr: 'true'}}
spec: {bgp: {ipv4Address: 10.0.0.1/24, routeReflectorClusterID: 1.1.1.1}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: b}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
";

    #[test]
    fn node_addresses_split_into_ip_and_subnet() {
        let c = Cluster::from_resources(&parse_str("n", NODES).unwrap()).unwrap();
        assert_eq!(c.nodes["a"].ipv4, "10.0.0.1");
        assert_eq!(c.nodes["a"].net_v4, "10.0.0.0/24");
        assert_eq!(c.node_as("b"), DEFAULT_AS);
    }

    #[test]
    fn installation_pools_follow_the_operator_defaults() {
        let text = "apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata: {name: default}\nspec:\n  calicoNetwork:\n    ipPools:\n    - cidr: 10.42.0.0/16\n      encapsulation: None\n    - cidr: 10.43.0.0/16\n---\napiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata: {name: default}\nspec:\n  calicoNetwork:\n    mtu: 1370\n";
        let c = Cluster::from_resources(&parse_str("i", text).unwrap()).unwrap();
        let names: Vec<&str> = c.pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["default-ipv4-ippool", "default-ipv4-ippool-1"]);
        assert_eq!(
            (c.pools[0].ipip, c.pools[1].ipip),
            (Encap::Never, Encap::Always)
        );
        assert_eq!(c.installation.as_ref().unwrap().mtu, Some(1370));
    }

    #[test]
    fn go_durations() {
        assert_eq!(duration_secs("120s").unwrap(), 120);
        assert_eq!(duration_secs("2m30s").unwrap(), 150);
        assert_eq!(duration_secs("1500ms").unwrap(), 2);
        assert!(duration_secs("5 minutes").is_err());
    }
}
