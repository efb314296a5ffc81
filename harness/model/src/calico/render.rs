//! BIRD 1.6 configuration text from a [`BirdConfig`]: the main file (`bird.cfg`,
//! `bird6.cfg`), the static routes and block aggregation (`bird_aggr.cfg`) and the
//! export/kernel filters (`bird_ipam.cfg`), laid out as calico-node lays them out.

use std::fmt::Write as _;

use super::config::BirdConfig;
use super::ipam::AffinityState;

/// Appends a line.
macro_rules! emit {
    ($out:expr) => { $out.push('\n') };
    ($out:expr, $($arg:tt)*) => {{ let _ = writeln!($out, $($arg)*); }};
}

fn prefix(cfg: &BirdConfig) -> &'static str {
    if cfg.version == 4 { "bird" } else { "bird6" }
}

/// The main file.
pub fn main_file(cfg: &BirdConfig) -> String {
    let mut o = String::new();
    emit!(o, "# Rendered by routelab for node {}.", cfg.node_name);
    emit!(o);
    emit!(o, "function apply_communities ()");
    emit!(o, "{{");
    for (cidr, adds) in &cfg.communities {
        emit!(o, "  if ( net ~ {cidr} ) then {{");
        for a in adds {
            emit!(o, "    {a}");
        }
        emit!(o, "  }}");
    }
    emit!(o, "}}");
    emit!(o);
    emit!(o, "template kernel kernel_template {{");
    emit!(o, "  learn;        # take routes others put in the kernel");
    emit!(o, "  persist;      # leave routes in place when BIRD stops");
    emit!(o, "  scan time 2;");
    emit!(o, "  import all;");
    emit!(o, "}}");
    emit!(o);
    emit!(o, "template direct direct_template {{");
    if let Some(d) = &cfg.debug_mode {
        emit!(o, "  debug {d};");
    }
    // Workload veths and kube-proxy's IPVS dummy are not routes to learn.
    emit!(o, "  interface {};", cfg.direct_interfaces);
    emit!(o, "}}");
    emit!(o);
    let p = prefix(cfg);
    emit!(o, "include \"{p}_aggr.cfg\";");
    emit!(o, "include \"{p}_ipam.cfg\";");
    emit!(o);
    if !cfg.router_id.is_empty() {
        emit!(o, "router id {};", cfg.router_id);
    }
    if !cfg.listen_address.is_empty() || cfg.listen_port != 0 {
        let mut l = String::from("listen bgp");
        if !cfg.listen_address.is_empty() {
            let _ = write!(l, " address {}", cfg.listen_address);
        }
        if cfg.listen_port != 0 {
            let _ = write!(l, " port {}", cfg.listen_port);
        }
        emit!(o, "{l};");
    }
    emit!(o);
    emit!(o, "protocol kernel from kernel_template {{");
    emit!(o, "  export filter calico_kernel_programming;");
    emit!(o, "  graceful restart;");
    emit!(o, "  merge paths on;  # ECMP");
    emit!(o, "}}");
    emit!(o);
    emit!(o, "protocol device {{");
    if let Some(d) = &cfg.debug_mode {
        emit!(o, "  debug {d};");
    }
    emit!(o, "  scan time 2;");
    emit!(o, "}}");
    emit!(o);
    emit!(o, "protocol direct from direct_template {{");
    emit!(o, "}}");
    emit!(o);
    if cfg.node_ip.is_empty() {
        emit!(o, "# IPv{} is not configured on this node.", cfg.version);
        return o;
    }
    emit!(o, "template bgp bgp_template {{");
    if let Some(d) = &cfg.peer_debug {
        emit!(o, "  {d}");
    }
    emit!(o, "  description \"Connection to BGP peer\";");
    emit!(o, "  local as {};", cfg.as_number);
    emit!(o, "  gateway recursive;");
    emit!(o, "  add paths on;");
    emit!(o, "  graceful restart;");
    emit!(o, "  connect delay time 2;");
    emit!(o, "  connect retry time 5;");
    emit!(o, "  error wait time 5,30;");
    emit!(o, "}}");
    emit!(o);
    emit!(o, "# BGPFilter functions");
    for l in &cfg.filter_functions {
        emit!(o, "{l}");
    }
    emit!(o);
    if cfg.peers.is_empty() {
        emit!(o, "# This node has no BGP peers.");
    }
    for peer in &cfg.peers {
        emit!(o, "protocol bgp {} from bgp_template {{", peer.name);
        if let Some(a) = peer.local_as {
            emit!(o, "  local as {a};");
        }
        let port = if peer.port != 0 {
            format!(" port {}", peer.port)
        } else {
            String::new()
        };
        emit!(o, "  neighbor {}{port} as {};", peer.ip, peer.as_num);
        if !peer.source_addr.is_empty() {
            emit!(o, "  source address {};", peer.source_addr);
        }
        match peer.ttl_security {
            None => {
                emit!(o, "  ttl security off;");
                emit!(o, "  multihop;");
            }
            Some(hops) => {
                emit!(o, "  ttl security on;");
                emit!(o, "  multihop {hops};");
            }
        }
        for (dir, stmts) in [
            ("import", &peer.import_filter),
            ("export", &peer.export_filter),
        ] {
            emit!(o, "  {dir} filter {{");
            for s in stmts {
                emit!(o, "    {s}");
            }
            emit!(o, "  }};");
        }
        if peer.passive {
            emit!(o, "  passive on;");
        }
        if !peer.graceful_restart.is_empty() {
            emit!(o, "  graceful restart time {};", peer.graceful_restart);
        }
        if !peer.keepalive.is_empty() {
            emit!(o, "  keepalive time {};", peer.keepalive);
        }
        if let Some(id) = &peer.rr_cluster_id {
            emit!(o, "  rr client;");
            emit!(o, "  rr cluster id {id};");
        }
        if let Some(pw) = &peer.password {
            // config::bird_config refuses passwords BIRD cannot quote.
            emit!(o, "  password \"{pw}\";");
        }
        if peer.next_hop_keep {
            emit!(o, "  next hop keep;");
        }
        if peer.next_hop_self {
            emit!(o, "  next hop self;");
        }
        if peer.allow_local_as > 0 {
            emit!(o, "  allow local as {};", peer.allow_local_as);
        }
        emit!(o, "}}");
        emit!(o);
    }
    o
}

/// Static routes (blackholes for this node's blocks and advertised service ranges,
/// routes to peers that are reachable through a gateway) and the block aggregation
/// function.
pub fn aggr_file(cfg: &BirdConfig) -> String {
    let mut o = String::new();
    emit!(o, "# Rendered by routelab for node {}.", cfg.node_name);
    emit!(o);
    let host_len = if cfg.version == 4 { 32 } else { 128 };
    let mut any = false;
    emit!(o, "template static static_template {{");
    if !cfg.blocks.is_empty() {
        any = true;
        emit!(o, "  # Blocks of this node: unused addresses go nowhere.");
        for b in &cfg.blocks {
            if b.cidr.prefix_len() != host_len {
                emit!(o, "  route {} blackhole;", b.cidr);
            }
        }
    }
    if !cfg.static_routes.is_empty() {
        any = true;
        emit!(o, "  # Advertised service addresses.");
        for r in &cfg.static_routes {
            emit!(o, "  route {r} blackhole;");
        }
    }
    for (what, routes) in [
        ("global", &cfg.peer_routes_global),
        ("node-specific", &cfg.peer_routes_node),
    ] {
        if !routes.is_empty() {
            any = true;
            emit!(o, "  # How to reach {what} BGP peers.");
            for (dst, via) in routes {
                emit!(o, "  route {dst} via {via};");
            }
        }
    }
    if !any {
        emit!(o, "  # No blocks or static routes on this node.");
    }
    emit!(o, "}}");
    emit!(o);
    if any {
        emit!(o, "protocol static from static_template {{");
        emit!(o, "}}");
        emit!(o);
    }
    emit!(
        o,
        "# Export a block as a whole, not the routes inside it, unless they"
    );
    emit!(o, "# carry a higher priority than normal.");
    emit!(o, "function calico_aggr ()");
    emit!(o, "{{");
    for b in &cfg.blocks {
        match b.state {
            AffinityState::None | AffinityState::Confirmed => {
                let c = b.cidr;
                emit!(o, "  # Block {c} ({})", b.state.as_str());
                emit!(o, "  if ( net = {c} ) then {{ accept; }}");
                emit!(
                    o,
                    "  if ( net ~ {c} && krt_metric < {} ) then {{ accept; }}",
                    cfg.normal_route_priority
                );
                emit!(o, "  if ( net ~ {c} ) then {{ reject; }}");
            }
            AffinityState::PendingDeletion | AffinityState::Pending => {
                emit!(o, "  # Block {} is {}", b.cidr, b.state.as_str());
            }
        }
    }
    emit!(o, "}}");
    o
}

/// The filter for routes exported to BGP peers and the filter for routes written to
/// the kernel.
pub fn ipam_file(cfg: &BirdConfig) -> String {
    let mut o = String::new();
    emit!(o, "# Rendered by routelab for node {}.", cfg.node_name);
    emit!(o);
    emit!(o, "function reject_local_routes () {{");
    emit!(
        o,
        "  # Routes to local eBPF endpoints never leave the node."
    );
    emit!(o, "  if (defined(ifname)) then {{");
    emit!(o, "    if (ifname ~ \"bpf*.cali\") then {{");
    emit!(o, "      reject;");
    emit!(o, "    }}");
    emit!(o, "  }}");
    emit!(o, "}}");
    emit!(o);
    emit!(
        o,
        "function calico_export_to_bgp_peers(bool internal_peer) {{"
    );
    for l in &cfg.export_reject_pools {
        emit!(o, "{l}");
    }
    emit!(o, "  if (internal_peer) then {{");
    for l in &cfg.ibgp_tunnel_filter {
        emit!(o, "    {l}");
    }
    emit!(o, "  }}");
    emit!(o, "  reject_local_routes();");
    emit!(o, "  apply_communities();");
    emit!(o, "  calico_aggr();");
    for r in &cfg.static_routes {
        emit!(o, "  if ( net ~ {r} ) then {{ accept; }}");
    }
    if !cfg.rr_service_ranges.is_empty() {
        emit!(o, "  # A route reflector passes on service ranges.");
        for r in &cfg.rr_service_ranges {
            emit!(o, "  if ( net ~ {r} ) then {{ accept; }}");
        }
    }
    for l in &cfg.export_accept_pools {
        emit!(o, "{l}");
    }
    emit!(o, "}}");
    emit!(o);
    emit!(o, "filter calico_kernel_programming {{");
    if !cfg.reject_cidrs.is_empty() {
        emit!(
            o,
            "  # Service ranges are advertised, never routed by the kernel."
        );
        for r in &cfg.reject_cidrs {
            emit!(o, "  if ( net ~ {r} ) then {{ reject; }}");
        }
    }
    for l in cfg
        .set_metric
        .iter()
        .chain(&cfg.wireguard_kernel_filter)
        .chain(&cfg.kernel_pool_filter)
    {
        emit!(o, "{l}");
    }
    emit!(o, "  accept;");
    emit!(o, "}}");
    o
}
