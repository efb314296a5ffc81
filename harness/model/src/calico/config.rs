//! What confd computes for one node and one IP family before it fills its templates:
//! router ID, AS, BGP peers with their filters, pool filters, communities, static routes
//! and IPAM blocks. [`mod@super::render`] turns this into BIRD configuration text.

use std::collections::{BTreeMap, BTreeSet};

use super::error::Context;
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use super::cluster::{Cluster, Pool};
use super::filters::{self, BIRD_INT_MAX};
use super::ipam::{AffinityState, BlockAffinity};
use super::peers::BirdPeer;
use super::resources::{AsNumber, BgpConfigurationSpec};
use super::services::{AdvertisePolicy, service_routes};

/// The `preference` BIRD gives a route that must win over a local workload route.
pub const OVERRIDE_PREFERENCE: u32 = 200;

/// The node label that keeps a node from advertising service addresses.
pub const EXCLUDE_LB_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// Everything one family's three files are made from.
#[derive(Debug, Clone, Default)]
pub struct BirdConfig {
    pub version: u8,
    pub node_name: String,
    /// This node's address in the family, or empty (then no BGP is configured).
    pub node_ip: String,
    pub as_number: AsNumber,
    pub router_id: String,
    pub peers: Vec<BirdPeer>,
    /// (prefix, statements adding its communities).
    pub communities: Vec<(String, Vec<String>)>,
    /// `debug` value of the direct and device protocols (`{ states }`, `all`), if any.
    pub debug_mode: Option<String>,
    /// The `debug ...;` statement of BGP sessions, if any.
    pub peer_debug: Option<String>,
    pub listen_address: String,
    pub listen_port: u16,
    pub direct_interfaces: String,
    pub filter_functions: Vec<String>,
    pub normal_route_priority: i64,
    pub rr_cluster_id: String,
    /// CIDRs of service ranges a route reflector re-advertises.
    pub rr_service_ranges: Vec<String>,
    pub export_reject_pools: Vec<String>,
    pub ibgp_tunnel_filter: Vec<String>,
    pub export_accept_pools: Vec<String>,
    pub kernel_pool_filter: Vec<String>,
    pub set_metric: Vec<String>,
    pub wireguard_kernel_filter: Vec<String>,
    /// This node's blocks in the family (pending ones already dropped).
    pub blocks: Vec<BlockAffinity>,
    pub static_routes: Vec<String>,
    pub reject_cidrs: Vec<String>,
    /// (peer address, next hop) routes for global and node-specific peers.
    pub peer_routes_global: Vec<(String, String)>,
    pub peer_routes_node: Vec<(String, String)>,
}

/// Turns a node name into a router ID: the first four bytes of its SHA-256, with the
/// first octet kept out of the multicast and reserved ranges.
pub fn hash_router_id(node: &str) -> String {
    let d = Sha256::digest(node.as_bytes());
    let first = if d[0] > 223 { d[0] - 32 } else { d[0] };
    format!("{first}.{}.{}.{}", d[1], d[2], d[3])
}

fn cidr_family(cidr: &str) -> u8 {
    if cidr.contains(':') { 6 } else { 4 }
}

/// Calico's datastore key form of a CIDR (`10.0.0.0-24`), by which its lists are sorted.
fn key_form(cidr: &str) -> String {
    cidr.replacen('/', "-", 1)
}

fn sort_as_keys(v: &mut [String]) {
    v.sort_by_key(|c| key_form(c));
}

/// Which pools BIRD programs the cluster routes of, from `programClusterRoutes`; Felix
/// programs the others (and always VXLAN's).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClusterRoutePolicy {
    ipip: bool,
    no_encap: bool,
}

impl ClusterRoutePolicy {
    pub(crate) fn from(cfg: Option<&BgpConfigurationSpec>) -> Self {
        match cfg.and_then(|c| c.program_cluster_routes.as_deref()) {
            Some("Disabled") => Self {
                ipip: false,
                no_encap: false,
            },
            Some("Enabled") => Self {
                ipip: true,
                no_encap: true,
            },
            Some("EnabledIPIPOnly") => Self {
                ipip: true,
                no_encap: false,
            },
            _ => Self {
                ipip: false,
                no_encap: true,
            },
        }
    }

    /// Whether BIRD (rather than Felix) installs the kernel routes of `pool`'s blocks.
    pub(crate) fn programs(self, pool: &Pool) -> bool {
        if pool.vxlan.in_use() {
            false
        } else if pool.ipip.in_use() {
            self.ipip
        } else {
            self.no_encap
        }
    }
}

/// A pool statement; `wanted` filters by action ("" keeps all).
fn pool_statement(cidr: &IpNet, action: &str, wanted: &str, comment: &str) -> Option<String> {
    if !wanted.is_empty() && wanted != action {
        return None;
    }
    let mut s = format!("  if (net ~ {cidr}) then {{ {action}; }}");
    if !comment.is_empty() {
        s.push_str(&format!(" # {comment}"));
    }
    Some(s)
}

/// The export (to BGP peers) or kernel statement for a pool. IPIP routes are not given a
/// `krt_tunnel` here: vanilla BIRD has no such attribute, and routelab programs IPIP
/// routes itself.
fn pool_filter(
    pool: &Pool,
    policy: ClusterRoutePolicy,
    kernel: bool,
    wanted: &str,
) -> Option<String> {
    let cidr = &pool.cidr;
    if pool.disable_bgp_export && !kernel {
        return pool_statement(cidr, "reject", wanted, "BGP export is disabled.");
    }
    if pool.vxlan.in_use() {
        return if kernel {
            pool_statement(cidr, "reject", wanted, "VXLAN routes are handled by Felix.")
        } else {
            pool_statement(cidr, "accept", wanted, "")
        };
    }
    if policy.programs(pool) {
        return pool_statement(cidr, "accept", wanted, "");
    }
    if kernel {
        return pool_statement(
            cidr,
            "reject",
            wanted,
            "Cluster routes are handled by Felix.",
        );
    }
    pool_statement(cidr, "accept", wanted, "")
}

/// What a render needs besides the cluster.
#[derive(Debug, Clone, Default)]
pub struct NodeContext {
    pub node: String,
    pub blocks: Vec<BlockAffinity>,
    pub env: BTreeMap<String, String>,
    /// The node's workloads that a BGPPeer's `localWorkloadSelector` selected.
    pub workloads: Vec<super::peerings::LocalWorkload>,
}

/// Fills a [`BirdConfig`] step by step; [`super::peers`] adds the BGP sessions.
pub(super) struct Builder<'a> {
    pub(super) cluster: &'a Cluster,
    pub(super) ctx: &'a NodeContext,
    pub(super) version: u8,
    pub(super) cfg: BirdConfig,
}

impl Builder<'_> {
    pub(super) fn global(&self) -> Option<&BgpConfigurationSpec> {
        self.cluster.bgp_default.as_ref()
    }

    pub(super) fn own_config(&self) -> Option<&BgpConfigurationSpec> {
        self.cluster.bgp_per_node.get(&self.ctx.node)
    }

    pub(super) fn node_info(&self) -> super::Result<&super::cluster::NodeInfo> {
        self.cluster.nodes.get(&self.ctx.node).with_context(|| {
            format!(
                "no Calico Node resource named {:?} among the resources",
                self.ctx.node
            )
        })
    }

    fn node_basics(&mut self) -> super::Result<()> {
        let info = self.node_info()?.clone();
        self.cfg.node_name = info.name.clone();
        self.cfg.node_ip = info.ip(self.version).to_string();
        self.cfg.as_number = self.cluster.node_as(&info.name);
        self.cfg.rr_cluster_id = info.rr_cluster_id.clone();

        let level = self
            .own_config()
            .map(|c| c.log_severity_screen.as_str())
            .filter(|l| !l.is_empty())
            .or_else(|| {
                self.global()
                    .map(|c| c.log_severity_screen.as_str())
                    .filter(|l| !l.is_empty())
            })
            .map(|l| l.to_ascii_lowercase())
            .unwrap_or_else(|| "info".to_string());
        (self.cfg.debug_mode, self.cfg.peer_debug) = match level.as_str() {
            "debug" => (Some("all".into()), Some("debug all;".into())),
            "info" => (
                Some("{ states }".into()),
                Some("debug { states, routes, filters, events };".into()),
            ),
            _ => (None, None),
        };

        self.cfg.router_id = match self.ctx.env.get("CALICO_ROUTER_ID").map(String::as_str) {
            Some("hash") => hash_router_id(&info.name),
            Some(id) if !id.is_empty() => id.to_string(),
            // The IPv4 address serves IPv6 too: a router ID has four octets.
            _ => info.ipv4.clone(),
        };

        if self.global().and_then(|g| g.bind_mode.as_deref()) == Some("NodeIP") {
            self.cfg.listen_address = self.cfg.node_ip.clone();
        }
        self.cfg.listen_port = self.cluster.listen_port(&info.name);

        let mut patterns: Vec<String> = self
            .global()
            .map(|g| g.ignored_interfaces.clone())
            .unwrap_or_default()
            .iter()
            .map(|i| format!("-\"{i}\""))
            .collect();
        patterns.extend(["-\"cali*\"", "-\"kube-ipvs*\"", "\"*\""].map(String::from));
        self.cfg.direct_interfaces = patterns.join(", ");

        self.cfg.normal_route_priority = self
            .global()
            .and_then(|g| {
                if self.version == 4 {
                    g.ipv4_normal_route_priority
                } else {
                    g.ipv6_normal_route_priority
                }
            })
            .unwrap_or(1024);
        let prio = self.cfg.normal_route_priority;
        self.cfg.set_metric = vec![
            "  if (defined(source) && (source = RTS_BGP) && !defined(krt_metric)) then {".into(),
            format!("      krt_metric = {prio};"),
            "      if (defined(bgp_local_pref)) then {".into(),
            format!("          krt_metric = {BIRD_INT_MAX} - bgp_local_pref;"),
            "      }".into(),
            format!("      if (krt_metric < {prio}) then {{"),
            format!("          preference = {OVERRIDE_PREFERENCE};"),
            "      }".into(),
            "  }".into(),
        ];
        self.cfg.filter_functions = filters::bird_functions(&self.cluster.filters, self.version)?;
        Ok(())
    }

    fn communities(&mut self) {
        let own = self
            .own_config()
            .filter(|c| !c.prefix_advertisements.is_empty());
        let Some(cfg) = own.or_else(|| self.global()).cloned() else {
            return;
        };
        for adv in &cfg.prefix_advertisements {
            if adv.cidr.is_empty() || cidr_family(&adv.cidr) != self.version {
                continue;
            }
            let mut values = BTreeSet::new();
            for c in &adv.communities {
                let literal = {
                    let parts: Vec<&str> = c.split(':').collect();
                    matches!(parts.len(), 2 | 3)
                        && parts
                            .iter()
                            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                };
                if literal {
                    values.insert(c.clone());
                } else if let Some(def) = cfg.communities.iter().find(|d| d.name == *c) {
                    values.insert(def.value.clone());
                }
            }
            let adds: Vec<String> = values
                .iter()
                .filter_map(|v| {
                    let parts: Vec<&str> = v.split(':').collect();
                    match parts.len() {
                        2 => Some(format!("bgp_community.add(({}, {}));", parts[0], parts[1])),
                        3 => Some(format!(
                            "bgp_large_community.add(({}, {}, {}));",
                            parts[0], parts[1], parts[2]
                        )),
                        _ => None,
                    }
                })
                .collect();
            if !adds.is_empty() {
                self.cfg.communities.push((adv.cidr.clone(), adds));
            }
        }
    }

    fn pools(&mut self) -> super::Result<()> {
        let policy = ClusterRoutePolicy::from(self.global());
        let mut tunnels = vec!["*.cali", "*.calico"];
        if !policy.ipip {
            tunnels.push("tunl0");
        }
        let conds: Vec<String> = tunnels
            .iter()
            .map(|t| format!("(ifname ~ \"{t}\")"))
            .collect();
        self.cfg.ibgp_tunnel_filter = vec![
            "if (defined(ifname)) then {".into(),
            format!("  if ({}) then {{", conds.join(" || ")),
            "    reject;".into(),
            "  }".into(),
            "}".into(),
        ];
        let info = self.node_info()?;
        let has_subnet = !info.net_v4.is_empty();
        let kernel_wanted = if self.version == 6 { "reject" } else { "" };
        for pool in &self.cluster.pools {
            let v = if pool.cidr.addr().is_ipv4() { 4 } else { 6 };
            if v != self.version {
                continue;
            }
            self.cfg
                .export_reject_pools
                .extend(pool_filter(pool, policy, false, "reject"));
            self.cfg
                .export_accept_pools
                .extend(pool_filter(pool, policy, false, "accept"));
            if self.version == 6 || has_subnet {
                self.cfg
                    .kernel_pool_filter
                    .extend(pool_filter(pool, policy, true, kernel_wanted));
            }
        }
        self.cfg.export_reject_pools.sort();
        self.cfg.export_accept_pools.sort();
        self.cfg.kernel_pool_filter.sort();
        Ok(())
    }

    fn wireguard(&mut self) {
        let wg = |n: &super::cluster::NodeInfo| {
            if self.version == 4 {
                n.wireguard_v4.clone()
            } else {
                n.wireguard_v6.clone()
            }
        };
        let Some(me) = self.cluster.nodes.get(&self.ctx.node) else {
            return;
        };
        if wg(me).is_empty() {
            return;
        }
        let mut out: Vec<String> = self
            .cluster
            .nodes
            .values()
            .filter(|n| n.name != me.name && !wg(n).is_empty() && !n.ip(self.version).is_empty())
            .map(|n| {
                format!(
                    "  if (defined(bgp_next_hop) && bgp_next_hop = {}) then {{ reject; }} # WireGuard routes handled by Felix.",
                    n.ip(self.version)
                )
            })
            .collect();
        out.sort();
        self.cfg.wireguard_kernel_filter = out;
    }

    fn cidrs_of(list: &[super::resources::ServiceIpBlock]) -> Vec<String> {
        list.iter()
            .filter(|b| !b.cidr.is_empty())
            .map(|b| b.cidr.clone())
            .collect()
    }

    fn services(&mut self) -> super::Result<()> {
        let global = self.global().cloned().unwrap_or_default();
        let cluster_cidrs: Vec<String> = match self.ctx.env.get("CALICO_ADVERTISE_CLUSTER_IPS") {
            Some(v) if !v.trim().is_empty() => v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            _ => Self::cidrs_of(&global.service_cluster_ips),
        };
        let external = Self::cidrs_of(&global.service_external_ips);
        let lbs = Self::cidrs_of(&global.service_load_balancer_ips);
        let aggregate = global.service_load_balancer_aggregation.as_deref() != Some("Disabled");
        let single = |c: &String| {
            c.parse::<IpNet>()
                .is_ok_and(|n| n.prefix_len() == n.max_prefix_len())
        };
        let mut ranges: Vec<String> = cluster_cidrs.clone();
        ranges.extend(external.iter().filter(|c| !single(c)).cloned());
        if aggregate {
            ranges.extend(lbs.iter().filter(|c| !single(c)).cloned());
        }
        let excluded = self
            .cluster
            .nodes
            .get(&self.ctx.node)
            .and_then(|n| n.labels.get(EXCLUDE_LB_LABEL))
            .is_some_and(|v| v == "true");

        let mut statics: Vec<String> = Vec::new();
        let mut rejects: Vec<String> = Vec::new();
        for r in &ranges {
            if !rejects.contains(r) {
                rejects.push(r.clone());
            }
            if !excluded && !statics.contains(r) {
                statics.push(r.clone());
            }
        }
        if !excluded {
            let parse =
                |v: &[String]| -> Vec<IpNet> { v.iter().filter_map(|c| c.parse().ok()).collect() };
            let policy = AdvertisePolicy {
                cluster_ips: !cluster_cidrs.is_empty(),
                external_ranges: parse(&external),
                load_balancer_ranges: parse(&lbs),
                aggregate_load_balancers: aggregate,
            };
            let services: Vec<_> = self.cluster.services.iter().map(|(m, b)| (m, b)).collect();
            let slices: Vec<_> = self
                .cluster
                .endpoint_slices
                .iter()
                .map(|(m, b)| (m, b))
                .collect();
            for r in service_routes(&services, &slices, &self.ctx.node, &policy) {
                if !statics.contains(&r) {
                    statics.push(r);
                }
            }
        }
        let version = self.version;
        statics.retain(|c| cidr_family(c) == version);
        rejects.retain(|c| cidr_family(c) == version);
        sort_as_keys(&mut statics);
        sort_as_keys(&mut rejects);
        self.cfg.static_routes = statics;
        self.cfg.reject_cidrs = rejects;
        if !self.cfg.rr_cluster_id.is_empty() {
            let mut rr: Vec<String> = lbs.clone();
            rr.extend(external.iter().cloned());
            rr.retain(|c| cidr_family(c) == version);
            self.cfg.rr_service_ranges = rr;
        }
        Ok(())
    }

    fn blocks(&mut self) {
        let version = self.version;
        let mut blocks: Vec<BlockAffinity> = self
            .ctx
            .blocks
            .iter()
            .filter(|b| b.state != AffinityState::Pending)
            .filter(|b| (if b.cidr.addr().is_ipv4() { 4 } else { 6 }) == version)
            .copied()
            .collect();
        blocks.sort_by_key(|b| key_form(&b.cidr.to_string()));
        blocks.dedup_by_key(|b| b.cidr);
        self.cfg.blocks = blocks;
    }
}

/// Computes one family's configuration for `ctx.node`.
pub fn bird_config(cluster: &Cluster, ctx: &NodeContext, version: u8) -> super::Result<BirdConfig> {
    let mut b = Builder {
        cluster,
        ctx,
        version,
        cfg: BirdConfig {
            version,
            ..Default::default()
        },
    };
    b.node_basics()?;
    let peerings = cluster.peerings(&ctx.workloads);
    b.mesh_peers()?;
    b.explicit_peers(&peerings)?;
    b.cfg.peers.sort_by(|x, y| x.name.cmp(&y.name));
    for p in &b.cfg.peers {
        // BIRD 1.6 strings have no escapes: a quote or line break cannot be written.
        if p.password
            .as_deref()
            .is_some_and(|pw| pw.contains(['"', '\n']))
        {
            super::error::bail!(
                "the password of BGP peer {} contains a double quote or a line break, \
                 which BIRD cannot express",
                p.name
            );
        }
    }
    b.communities();
    b.pools()?;
    b.wireguard();
    b.services()?;
    b.blocks();
    Ok(b.cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calico::cluster::Encap;

    #[test]
    fn router_id_hash_is_stable_and_unicast() {
        // The value calico-node derives for kube-master.
        assert_eq!(hash_router_id("kube-master"), "25.79.212.8");
        for n in ["a", "b", "node-with-a-long-name"] {
            let first: u8 = hash_router_id(n)
                .split('.')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(first <= 223);
        }
    }

    #[test]
    fn pool_statements_by_encapsulation() {
        let pool = |ipip, vxlan| Pool {
            name: "p".into(),
            cidr: "10.0.0.0/16".parse().unwrap(),
            ipip,
            vxlan,
            nat_outgoing: true,
            disabled: false,
            disable_bgp_export: false,
            block_size: 26,
            node_selector: String::new(),
        };
        let default = ClusterRoutePolicy::from(None);
        let kernel = |p: &Pool| pool_filter(p, default, true, "").unwrap();
        assert_eq!(
            kernel(&pool(Encap::Never, Encap::Never)),
            "  if (net ~ 10.0.0.0/16) then { accept; }"
        );
        assert!(kernel(&pool(Encap::Always, Encap::Never)).contains("reject; } # Cluster routes"));
        assert!(kernel(&pool(Encap::Never, Encap::Always)).contains("reject; } # VXLAN"));
        assert_eq!(
            pool_filter(&pool(Encap::Never, Encap::Always), default, false, "reject"),
            None
        );
    }
}
