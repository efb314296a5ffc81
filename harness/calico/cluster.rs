//! The cluster as confd's datastore sees it: nodes with their BGP addresses, AS numbers and
//! route-reflector cluster IDs, IP pools, BGP configuration, and the peerings that
//! BGPPeer resources expand to.
//!
//! Peering expansion follows Calico: BGPPeers without a node scope become global peerings,
//! scoped ones become per-node peerings (skipped where a global peering to the same
//! address and port exists), `peerSelector` peers every matching Calico node, and, unless
//! `reversePeering: Manual`, each peering between Calico nodes gets its reverse on the
//! other side. The first peering emitted for a key wins.

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::bail;
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
    fn from_spec(name: &str, spec: &IpPoolSpec) -> anyhow::Result<Pool> {
        let cidr: IpNet = match spec.cidr.parse() {
            Ok(c) => c,
            Err(e) => bail!("IPPool {name}: bad cidr {:?}: {e}", spec.cidr),
        };
        let default_block = if cidr.addr().is_ipv4() { 26 } else { 122 };
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

/// A peering as confd stores it under `/bgp/v1/global/peer_vN/...` or
/// `/bgp/v1/host/<node>/peer_vN/...`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerData {
    pub ip: Option<IpAddr>,
    pub as_num: AsNumber,
    pub local_as_num: Option<AsNumber>,
    pub rr_cluster_id: String,
    pub password: Option<String>,
    /// `UseNodeIP` or `None`.
    pub source_addr: String,
    /// Graceful restart time in seconds, or empty.
    pub restart_time: String,
    pub keepalive_time: String,
    pub port: u16,
    pub keep_next_hop: bool,
    /// Whether the peer address is a Calico node's.
    pub calico_node: bool,
    pub num_allow_local_as: i32,
    pub ttl_security: u8,
    pub filters: Vec<String>,
    pub reachable_by: String,
    /// `Auto`, `Self` or `Keep`, or empty.
    pub next_hop_mode: String,
}

/// Where a peering is stored: for every node, or for one node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerKey {
    Global { ip: IpAddr, port: u16 },
    Node { node: String, ip: IpAddr, port: u16 },
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
fn installation_pools(net: &CalicoNetwork) -> anyhow::Result<Vec<Pool>> {
    let mut out = Vec::new();
    for (i, p) in net.ip_pools.iter().flatten().enumerate() {
        let cidr: IpNet = match p.cidr.parse() {
            Ok(c) => c,
            Err(e) => bail!("Installation ipPools[{i}]: bad cidr {:?}: {e}", p.cidr),
        };
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
pub fn duration_secs(s: &str) -> anyhow::Result<u64> {
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
            .map_err(|_| anyhow::anyhow!("bad duration {s:?}"))?;
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

/// Splits `ip`, `ip:port` or `[ip6]:port`.
fn split_ip_port(s: &str) -> (String, u16) {
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return (sa.ip().to_string(), sa.port());
    }
    (s.to_string(), 0)
}

impl Cluster {
    /// Gathers the resources; later resources of the same name replace earlier ones.
    pub fn from_resources(resources: &[Resource]) -> anyhow::Result<Cluster> {
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

    fn global_listen_port(&self) -> u16 {
        self.bgp_default.as_ref().map_or(0, |b| b.listen_port)
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

    /// Reports selectors that do not parse (which Calico would silently ignore).
    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, p) in &self.bgp_peers {
            for (field, sel) in [
                ("nodeSelector", &p.node_selector),
                ("peerSelector", &p.peer_selector),
            ] {
                if !sel.is_empty() {
                    if let Err(e) = Selector::parse(sel) {
                        bail!("BGPPeer {name}: {field}: {e}");
                    }
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

    /// Nodes whose address is `ip` and AS `as_num` (0: the cluster's), and whose listen
    /// port agrees with `port` when one is given.
    fn nodes_with_ip_port_as(&self, ip: &str, as_num: AsNumber, port: u16) -> Vec<String> {
        let want = if as_num.0 == 0 {
            self.global_as()
        } else {
            as_num
        };
        let global_port = self.global_listen_port();
        self.nodes
            .values()
            .filter(|n| n.ipv4 == ip || n.ipv6 == ip)
            .filter(|n| self.node_as(&n.name) == want)
            .filter(|n| {
                if port == 0 {
                    return true;
                }
                let own = self.bgp_per_node.get(&n.name).map_or(0, |b| b.listen_port);
                if own != 0 {
                    own == port
                } else {
                    !(global_port != 0 && global_port != port)
                }
            })
            .map(|n| n.name.clone())
            .collect()
    }

    /// The fields every peering of a BGPPeer shares.
    fn apply_common(&self, peer: &mut PeerData, spec: &BgpPeerSpec) {
        peer.password = self.password(spec.password.as_ref());
        peer.source_addr = if spec.source_address.is_empty() {
            "UseNodeIP".to_string()
        } else {
            spec.source_address.clone()
        };
        if let Some(t) = &spec.max_restart_time {
            peer.restart_time = duration_secs(t).map(|s| s.to_string()).unwrap_or_default();
        }
        if let Some(t) = &spec.keepalive_time {
            peer.keepalive_time = duration_secs(t).map(|s| s.to_string()).unwrap_or_default();
        }
    }

    fn next_hop(spec: &BgpPeerSpec) -> (bool, String) {
        match &spec.next_hop_mode {
            Some(mode) => (false, mode.clone()),
            None => (spec.keep_original_next_hop, String::new()),
        }
    }

    /// A Calico node as the far end of a peering, one per requested IP family.
    fn node_as_peers(&self, node: &str, v4: bool, v6: bool, spec: &BgpPeerSpec) -> Vec<PeerData> {
        let Some(info) = self.nodes.get(node) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (wanted, ip) in [(v4, &info.ipv4), (v6, &info.ipv6)] {
            let Some(ip) = ip.parse::<IpAddr>().ok().filter(|_| wanted) else {
                continue;
            };
            let (keep, mode) = Self::next_hop(spec);
            out.push(PeerData {
                ip: Some(ip),
                ttl_security: spec.ttl_security.unwrap_or(0),
                filters: spec.filters.clone(),
                reachable_by: spec.reachable_by.clone(),
                port: self.listen_port(node),
                as_num: self.node_as(node),
                rr_cluster_id: info.rr_cluster_id.clone(),
                keep_next_hop: keep,
                next_hop_mode: mode,
                ..Default::default()
            });
        }
        out
    }

    /// The peering an explicit `peerIP` describes, or None when the address is unusable.
    fn explicit_peer(&self, spec: &BgpPeerSpec) -> Option<PeerData> {
        let (host, mut port) = split_ip_port(&spec.peer_ip);
        let ip: IpAddr = host.parse().ok()?;
        if port == 0 {
            if let Some(node) = self.nodes_with_ip_port_as(&host, spec.as_number, 0).first() {
                port = self.listen_port(node);
            }
        }
        let calico_node = self
            .nodes
            .values()
            .any(|n| n.ipv4 == host || n.ipv6 == host);
        if !spec.reachable_by.is_empty() {
            let via: IpAddr = spec.reachable_by.parse().ok()?;
            if via.is_ipv4() != ip.is_ipv4() {
                return None;
            }
        }
        let (keep, mode) = Self::next_hop(spec);
        Some(PeerData {
            ip: Some(ip),
            as_num: spec.as_number,
            local_as_num: spec.local_as_number,
            port,
            keep_next_hop: keep,
            next_hop_mode: mode,
            calico_node,
            ttl_security: spec.ttl_security.unwrap_or(0),
            filters: spec.filters.clone(),
            num_allow_local_as: spec.num_allowed_local_as_numbers.unwrap_or(0),
            reachable_by: spec.reachable_by.clone(),
            ..Default::default()
        })
    }

    /// Expands every BGPPeer into stored peerings.
    pub fn peerings(&self) -> BTreeMap<PeerKey, PeerData> {
        let mut out: BTreeMap<PeerKey, PeerData> = BTreeMap::new();
        let emit = |out: &mut BTreeMap<PeerKey, PeerData>, key: PeerKey, peer: &PeerData| {
            if out.contains_key(&key) {
                return;
            }
            if let PeerKey::Node { ip, port, .. } = &key {
                let global = PeerKey::Global {
                    ip: *ip,
                    port: *port,
                };
                if out.contains_key(&global) {
                    return;
                }
            }
            out.insert(key, peer.clone());
        };

        for global_pass in [true, false] {
            for spec in self.bgp_peers.values() {
                let is_global = spec.node_selector.is_empty() && spec.node.is_empty();
                if is_global != global_pass {
                    continue;
                }
                let local_nodes = if !spec.node_selector.is_empty() {
                    self.nodes_matching(&spec.node_selector)
                } else if !spec.node.is_empty() {
                    vec![spec.node.clone()]
                } else {
                    Vec::new()
                };
                let mut peers = Vec::new();
                if !spec.local_workload_selector.is_empty() {
                    // Peerings with workloads need running workloads; there are none here.
                } else if !spec.peer_selector.is_empty() {
                    for n in self.nodes_matching(&spec.peer_selector) {
                        peers.extend(self.node_as_peers(&n, true, true, spec));
                    }
                } else if let Some(p) = self.explicit_peer(spec) {
                    peers.push(p);
                }
                for p in &mut peers {
                    self.apply_common(p, spec);
                }
                for p in &peers {
                    let ip = p.ip.expect("peers carry an address");
                    if global_pass {
                        emit(&mut out, PeerKey::Global { ip, port: p.port }, p);
                    } else {
                        for node in &local_nodes {
                            let key = PeerKey::Node {
                                node: node.clone(),
                                ip,
                                port: p.port,
                            };
                            emit(&mut out, key, p);
                        }
                    }
                }
            }
        }

        // Reverse peerings: the nodes a BGPPeer points at peer back with the nodes it
        // is scoped to.
        for spec in self.bgp_peers.values() {
            if spec.reverse_peering.as_deref() == Some("Manual")
                || !spec.local_workload_selector.is_empty()
            {
                continue;
            }
            let (local_nodes, v4, v6) = if !spec.peer_selector.is_empty() {
                (self.nodes_matching(&spec.peer_selector), true, true)
            } else {
                let (ip, port) = split_ip_port(&spec.peer_ip);
                let v6 = ip.contains(':');
                (
                    self.nodes_with_ip_port_as(&ip, spec.as_number, port),
                    !v6,
                    v6,
                )
            };
            if local_nodes.is_empty() {
                continue;
            }
            let peer_nodes = if !spec.node_selector.is_empty() {
                self.nodes_matching(&spec.node_selector)
            } else if !spec.node.is_empty() {
                vec![spec.node.clone()]
            } else {
                self.nodes_matching("all()")
            };
            let mut peers: Vec<PeerData> = peer_nodes
                .iter()
                .flat_map(|n| self.node_as_peers(n, v4, v6, spec))
                .collect();
            for p in &mut peers {
                self.apply_common(p, spec);
            }
            for p in &peers {
                let ip = p.ip.expect("peers carry an address");
                for node in &local_nodes {
                    let key = PeerKey::Node {
                        node: node.clone(),
                        ip,
                        port: p.port,
                    };
                    emit(&mut out, key, p);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calico::resources::parse_str;

    const NODES: &str = "
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
    fn peer_selector_peerings_get_reversed() {
        let text = format!(
            "{NODES}---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: p}}\nspec: {{nodeSelector: '!has(rr)', peerSelector: has(rr)}}\n"
        );
        let c = Cluster::from_resources(&parse_str("n", &text).unwrap()).unwrap();
        let peerings = c.peerings();
        let keys: Vec<String> = peerings
            .keys()
            .map(|k| match k {
                PeerKey::Node { node, ip, .. } => format!("{node}->{ip}"),
                PeerKey::Global { ip, .. } => format!("*->{ip}"),
            })
            .collect();
        assert_eq!(keys, ["a->10.0.0.2", "b->10.0.0.1"]);
    }

    #[test]
    fn manual_reverse_peering_is_one_sided() {
        let text = format!(
            "{NODES}---\nkind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {{name: p}}\nspec: {{node: b, peerIP: 10.0.0.1, asNumber: 64512, reversePeering: Manual}}\n"
        );
        let c = Cluster::from_resources(&parse_str("n", &text).unwrap()).unwrap();
        assert_eq!(c.peerings().len(), 1);
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
