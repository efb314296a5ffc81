//! The BGP sessions of a node: the node-to-node mesh, and the global and node-specific
//! peerings BGPPeers expanded to, each with its import and export filter.

use std::collections::BTreeMap;

use super::cluster::duration_secs;
use super::config::{Builder, OVERRIDE_PREFERENCE};
use super::filters::{self, BIRD_INT_MAX};
use super::peerings::{PeerData, PeerKey};
use super::resources::AsNumber;

/// Who a BGP session is with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerType {
    Mesh,
    Global,
    Node,
    /// A workload on this node (`localWorkloadSelector`).
    LocalWorkload,
}

/// One `protocol bgp` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BirdPeer {
    pub name: String,
    pub kind: PeerType,
    pub ip: String,
    pub port: u16,
    pub as_num: AsNumber,
    pub local_as: Option<AsNumber>,
    /// Statements of the import filter, in order.
    pub import_filter: Vec<String>,
    pub export_filter: Vec<String>,
    pub password: Option<String>,
    /// `None` for `ttl security off`, else the hop count.
    pub ttl_security: Option<u8>,
    pub source_addr: String,
    pub passive: bool,
    pub graceful_restart: String,
    pub keepalive: String,
    /// `rr client` with this cluster ID, when set.
    pub rr_cluster_id: Option<String>,
    pub next_hop_self: bool,
    pub next_hop_keep: bool,
    pub allow_local_as: i32,
}

fn family_of(ip: &std::net::IpAddr) -> u8 {
    if ip.is_ipv4() { 4 } else { 6 }
}

impl Builder<'_> {
    /// Calls of the BGPFilter functions a peer names, for one direction.
    fn filter_calls(
        &self,
        names: &[String],
        import: bool,
        same_as: bool,
    ) -> super::Result<Vec<String>> {
        let mut out = Vec::new();
        for name in names {
            let Some(spec) = self.cluster.filters.get(name) else {
                continue;
            };
            let rules = filters::rules(spec, import, self.version);
            if rules.is_empty() {
                continue;
            }
            let fname = filters::function_name(name, import, self.version)?;
            if filters::has_peer_type(rules) {
                out.push(format!("{fname}({same_as});"));
            } else {
                out.push(format!("{fname}();"));
            }
        }
        Ok(out)
    }

    fn import_filter(&self, names: &[String], same_as: bool) -> super::Result<Vec<String>> {
        let mut f = self.filter_calls(names, true, same_as)?;
        let threshold = BIRD_INT_MAX - self.cfg.normal_route_priority;
        f.push(format!(
            "if (defined(bgp_local_pref)&&(bgp_local_pref > {threshold})) then"
        ));
        f.push(format!("  preference = {OVERRIDE_PREFERENCE};"));
        f.push("accept;".into());
        Ok(f)
    }

    fn export_filter(&self, names: &[String], same_as: bool) -> super::Result<Vec<String>> {
        // Routes re-exported from BGP carry their priority in bgp_local_pref; locally
        // originated ones in krt_metric. Make both available to what follows.
        let prio = self.cfg.normal_route_priority;
        let mut f = vec![
            "if (defined(source) && source = RTS_BGP && defined(bgp_local_pref)) then {".into(),
            format!("  krt_metric = {BIRD_INT_MAX} - bgp_local_pref;"),
            "} else {".into(),
            format!("  if (!defined(krt_metric)) then {{ krt_metric = {prio}; }}"),
            format!("  bgp_local_pref = {BIRD_INT_MAX} - krt_metric;"),
            "}".into(),
        ];
        f.extend(self.filter_calls(names, false, same_as)?);
        f.push(format!("calico_export_to_bgp_peers({same_as});"));
        f.push("reject;".into());
        Ok(f)
    }

    pub(super) fn mesh_peers(&mut self) -> super::Result<()> {
        if !self.cfg.rr_cluster_id.is_empty() || !self.cluster.mesh_enabled() {
            return Ok(());
        }
        let me = self.cfg.node_ip.clone();
        let global = self.global();
        let password = self
            .cluster
            .password(global.and_then(|g| g.node_mesh_password.as_ref()));
        let restart = global
            .and_then(|g| g.node_mesh_max_restart_time.as_deref())
            .map(duration_secs)
            .transpose()?
            .map(|s| s.to_string())
            .unwrap_or_default();
        let mut peers = Vec::new();
        for n in self.cluster.nodes.values() {
            let ip = n.ip(self.version);
            if ip.is_empty() || ip == me || !n.rr_cluster_id.is_empty() {
                continue;
            }
            let as_num = self.cluster.node_as(&n.name);
            let same_as = as_num == self.cfg.as_number;
            peers.push(BirdPeer {
                name: format!("Mesh_{}", ip.replace(['.', ':'], "_")),
                kind: PeerType::Mesh,
                ip: ip.to_string(),
                port: self.cluster.listen_port(&n.name),
                as_num,
                local_as: None,
                import_filter: self.import_filter(&[], same_as)?,
                export_filter: self.export_filter(&[], same_as)?,
                password: password.clone(),
                ttl_security: None,
                source_addr: me.clone(),
                // One side connects, the other listens: fewer collisions on start-up.
                passive: ip > me.as_str(),
                graceful_restart: restart.clone(),
                keepalive: String::new(),
                rr_cluster_id: None,
                next_hop_self: false,
                next_hop_keep: false,
                allow_local_as: 0,
            });
        }
        self.cfg.peers.extend(peers);
        Ok(())
    }

    fn peer_from_data(&self, prefix: &str, p: &PeerData) -> super::Result<Option<BirdPeer>> {
        let Some(ip) = p.ip else { return Ok(None) };
        let ip_s = ip.to_string();
        let me = &self.cfg.node_ip;
        if &ip_s == me {
            return Ok(None);
        }
        let mut name = format!("{prefix}_{}", ip_s.replace(['.', ':'], "_"));
        if p.port > 0 {
            name.push_str(&format!("_port_{}", p.port));
        }
        let local_as = p.local_as_num.filter(|a| a.0 != 0);
        let effective_as = local_as.unwrap_or(self.cfg.as_number);
        let same_as = p.as_num == effective_as;
        let node_cluster = &self.cfg.rr_cluster_id;
        let rr = (same_as && !node_cluster.is_empty() && p.rr_cluster_id != *node_cluster)
            .then(|| node_cluster.clone());
        let mut next_hop_self = p.next_hop_mode == "Self";
        let mut next_hop_keep = p.next_hop_mode == "Keep";
        if p.keep_next_hop && !same_as {
            next_hop_keep = true;
        }
        if next_hop_self && next_hop_keep {
            next_hop_self = false;
        }
        let kind = match prefix {
            "Global" => PeerType::Global,
            "Local_Workload" => PeerType::LocalWorkload,
            _ => PeerType::Node,
        };
        // A workload connects to its node, never the other way round.
        let passive = p.local_workload
            || (kind == PeerType::Global && p.calico_node && ip_s.as_str() > me.as_str());
        Ok(Some(BirdPeer {
            name,
            kind,
            ip: ip_s,
            port: p.port,
            as_num: p.as_num,
            local_as,
            import_filter: self.import_filter(&p.filters, same_as)?,
            export_filter: self.export_filter(&p.filters, same_as)?,
            password: p.password.clone(),
            ttl_security: (p.ttl_security > 0).then_some(p.ttl_security),
            source_addr: if p.source_addr == "UseNodeIP" {
                me.clone()
            } else {
                String::new()
            },
            passive,
            graceful_restart: p.restart_time.clone(),
            keepalive: p.keepalive_time.clone(),
            rr_cluster_id: rr,
            next_hop_self,
            next_hop_keep,
            allow_local_as: p.num_allow_local_as,
        }))
    }

    pub(super) fn explicit_peers(
        &mut self,
        peerings: &BTreeMap<PeerKey, PeerData>,
    ) -> super::Result<()> {
        let mut peers = Vec::new();
        for (key, data) in peerings {
            let Some(ip) = data.ip else { continue };
            if family_of(&ip) != self.version {
                continue;
            }
            let via = (!data.reachable_by.is_empty()).then(|| data.reachable_by.clone());
            let route_len = if self.version == 4 { 32 } else { 128 };
            match key {
                PeerKey::Global { .. } => {
                    if let Some(via) = via {
                        self.cfg
                            .peer_routes_global
                            .push((format!("{ip}/{route_len}"), via));
                    }
                    let prefix = if data.local_workload {
                        "Local_Workload"
                    } else {
                        "Global"
                    };
                    peers.extend(self.peer_from_data(prefix, data)?);
                }
                PeerKey::Node { node, .. } if *node == self.ctx.node => {
                    if let Some(via) = via {
                        self.cfg
                            .peer_routes_node
                            .push((format!("{ip}/{route_len}"), via));
                    }
                    let prefix = if data.local_workload {
                        "Local_Workload"
                    } else {
                        "Node"
                    };
                    peers.extend(self.peer_from_data(prefix, data)?);
                }
                PeerKey::Node { .. } => {}
            }
        }
        self.cfg.peers.extend(peers);
        Ok(())
    }
}
