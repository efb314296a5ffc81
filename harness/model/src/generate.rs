//! Scenario generators for scale measurements: a Calico cluster of any size in the shape
//! operators move to past about a hundred nodes.
//!
//! [`calico_cluster`] writes the files of one scenario: `N` calico nodes with the
//! node-to-node mesh off, in racks of up to [`ClusterShape::rack_size`] nodes on one
//! bridge each, all behind one BIRD 2 core router that is a member of every rack bridge
//! and reflects routes for every node through dynamic BGP neighbours (`neighbor range`),
//! so its configuration does not grow with the cluster. With `rack_reflectors`, the first
//! node of each rack is an in-cluster route reflector for its rack and only the
//! reflectors peer with the core.
//!
//! Limits: IPv4 only, one /24 per rack (so at most 250 nodes a rack) and one /16 pool of
//! /26 blocks (so at most 1024 nodes); the expectations are a handful (the first node's
//! session, routes between the first and the last node, a ping between their pods), as
//! the measurement is of the lab, not of many checks.

use std::fmt::Write as _;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterShape {
    /// The scenario's name.
    pub name: String,
    /// Calico nodes.
    pub nodes: usize,
    /// Nodes per rack (per bridge).
    pub rack_size: usize,
    /// Pods per node.
    pub pods: usize,
    /// The first node of each rack reflects for the rest of its rack.
    pub rack_reflectors: bool,
}

impl ClusterShape {
    /// `nodes` calico nodes in racks of 100, one pod each, the core reflecting for all.
    pub fn new(name: &str, nodes: usize) -> ClusterShape {
        ClusterShape {
            name: name.into(),
            nodes,
            rack_size: 100,
            pods: 1,
            rack_reflectors: false,
        }
    }

    /// How many racks (bridges) the nodes fill.
    pub fn racks(&self) -> usize {
        self.nodes.div_ceil(self.rack_size.max(1))
    }
}

/// Why a shape cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("a cluster needs at least 2 nodes, not {0}")]
    TooFew(usize),
    #[error("at most 1024 nodes fit the generated pool of /26 blocks, not {0}")]
    TooMany(usize),
    #[error("a rack holds 1 to 250 nodes (one /24 each), not {0}")]
    RackSize(usize),
    #[error("at most 250 racks fit the generated addressing, not {0}")]
    TooManyRacks(usize),
    #[error("pods per node must be 1 to 60 (one /26 block per node), not {0}")]
    Pods(usize),
}

/// The files of a generated scenario, by path relative to the scenario's directory.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The scenario file's name (`NAME.yaml`).
    pub scenario: String,
    /// Every file to write, the scenario among them.
    pub files: Vec<(String, String)>,
    /// BIRD processes the lab runs.
    pub daemons: usize,
    /// Namespaces the lab makes (nodes, pods, the core, one per bridge).
    pub namespaces: usize,
}

/// The node name of node `i` (zero-padded, so names sort as the indices do and IPAM's
/// block order is the nodes' order).
fn node_name(i: usize) -> String {
    format!("n{i:04}")
}

/// The address of node `i` (`rack_size` to a /24) and its rack.
fn node_address(shape: &ClusterShape, i: usize) -> (usize, String) {
    let rack = i / shape.rack_size;
    (rack, format!("10.1.{rack}.{}", 10 + i % shape.rack_size))
}

/// The first address of node `i`'s /26 block in 10.42.0.0/16.
fn block_start(i: usize) -> String {
    let n = (10u32 << 24) | (42 << 16) | (i as u32 * 64);
    std::net::Ipv4Addr::from(n).to_string()
}

/// Generates the scenario, its Calico resources and the core's BIRD configuration.
pub fn calico_cluster(shape: &ClusterShape) -> Result<Generated, ShapeError> {
    if shape.nodes < 2 {
        return Err(ShapeError::TooFew(shape.nodes));
    }
    if shape.nodes > 1024 {
        return Err(ShapeError::TooMany(shape.nodes));
    }
    if !(1..=250).contains(&shape.rack_size) {
        return Err(ShapeError::RackSize(shape.rack_size));
    }
    if shape.racks() > 250 {
        return Err(ShapeError::TooManyRacks(shape.racks()));
    }
    if !(1..=60).contains(&shape.pods) {
        return Err(ShapeError::Pods(shape.pods));
    }
    let name = &shape.name;
    let racks = shape.racks();
    let is_reflector = |i: usize| shape.rack_reflectors && i % shape.rack_size == 0;

    let mut calico = String::from(
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: { name: default }\n\
         spec: { nodeToNodeMeshEnabled: false, asNumber: 64512 }\n---\n\
         apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: { name: pool }\n\
         spec: { cidr: 10.42.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never }\n",
    );
    for rack in 0..racks {
        // Who talks to the core: every node, or only the rack's reflector.
        let speakers = if shape.rack_reflectors {
            format!("rack == 'r{rack}' && has(route-reflector)")
        } else {
            format!("rack == 'r{rack}'")
        };
        let _ = write!(
            calico,
            "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{ name: core-r{rack} }}\n\
             spec: {{ nodeSelector: \"{speakers}\", peerIP: 10.1.{rack}.1, asNumber: 64512 }}\n"
        );
        if shape.rack_reflectors {
            let _ = write!(
                calico,
                "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {{ name: rr-r{rack} }}\n\
                 spec: {{ nodeSelector: \"rack == 'r{rack}'\", peerSelector: \"rack == 'r{rack}' && has(route-reflector)\" }}\n"
            );
        }
    }

    // The core reflects for every node of a rack through one dynamic protocol per rack,
    // and routes between racks itself (next hop self), so nodes need no route to each
    // other's addresses.
    let mut core = String::from(
        "router id 10.1.0.1;\nprotocol device { scan time 10; }\n\
         protocol kernel { ipv4 { import none; export all; }; }\n\
         template bgp rack {\n  local as 64512;\n  rr client;\n  rr cluster id 1.1.1.1;\n  direct;\n\
         \x20 ipv4 { import all; export all; next hop self; };\n}\n",
    );
    for rack in 0..racks {
        let _ = writeln!(
            core,
            "protocol bgp r{rack} from rack {{ local 10.1.{rack}.1 as 64512; neighbor range 10.1.{rack}.0/24 internal; dynamic name \"r{rack}_\"; }}"
        );
    }

    let first = node_name(0);
    let last_i = shape.nodes - 1;
    let last = node_name(last_i);
    let (_, first_addr) = node_address(shape, 0);
    let mut y = format!(
        "# Generated: {n} calico nodes, mesh off, racks of {size} behind a reflecting core.\n\
         name: {name}\ndefaults: {{ deadline: 60s }}\ncalico:\n  resources: [calico.yaml]\nnodes:\n\
         \x20 core:\n    kind: router\n    bird: {{ config: core.conf }}\n",
        n = shape.nodes,
        size = shape.rack_size,
    );
    for i in 0..shape.nodes {
        let (rack, addr) = node_address(shape, i);
        let rr = if is_reflector(i) {
            format!(
                ", \"route-reflector\": \"true\" }}, route_reflector_cluster_id: 244.0.{rack}.1"
            )
        } else {
            " }".into()
        };
        let _ = writeln!(
            y,
            "  {node}:\n    kind: calico\n    calico: {{ labels: {{ rack: r{rack}{rr}, address: {addr}/24, pods: {pods} }}\n    routes: [{{ to: default, via: 10.1.{rack}.1 }}]",
            node = node_name(i),
            pods = shape.pods,
        );
    }
    y.push_str("links:\n");
    for rack in 0..racks {
        let _ = write!(
            y,
            "  - bridge:\n      name: rack{rack}\n      members:\n        - {{ node: core, addresses: [10.1.{rack}.1/24] }}\n"
        );
        for i in rack * shape.rack_size..((rack + 1) * shape.rack_size).min(shape.nodes) {
            let (_, addr) = node_address(shape, i);
            let _ = writeln!(
                y,
                "        - {{ node: {}, addresses: [{addr}/24] }}",
                node_name(i)
            );
        }
    }
    // The first node's session to whoever it peers with, the routes between the first and
    // the last node (reflected, so via the core or the rack's reflector path), and a ping
    // across the whole cluster between their pods.
    // With rack reflectors the first node is rack 0's reflector: it too peers with the core,
    // and hears the last node from the core unless the last is its own client, which it
    // reflects for unchanged (next hop the client).
    let (_, last_addr) = node_address(shape, last_i);
    let via = if shape.rack_reflectors && racks == 1 {
        last_addr.as_str()
    } else {
        "10.1.0.1"
    };
    let _ = write!(
        y,
        "expect:\n  - bgp: {{ node: {first}, protocol: Node_10_1_0_1 }}\n\
         \x20 - route: {{ node: {first}, prefix: {lb}/26, via: {via}, protocol: bird }}\n\
         \x20 - route: {{ node: core, prefix: {fb}/26, via: {first_addr} }}\n\
         \x20 - route: {{ node: {last}, prefix: {fb}/26, protocol: bird }}\n\
         \x20 - ping: {{ from: {first}-pod0, to: {lp} }}\n",
        lb = block_start(last_i),
        fb = block_start(0),
        lp = block_start(last_i),
    );
    let scenario = format!("{name}.yaml");
    let daemons = shape.nodes + 1;
    let namespaces = 1 + shape.nodes * (1 + shape.pods) + racks;
    Ok(Generated {
        files: vec![
            (scenario.clone(), y),
            ("calico.yaml".into(), calico),
            ("core.conf".into(), core),
        ],
        scenario,
        daemons,
        namespaces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_node_order() {
        assert_eq!(block_start(0), "10.42.0.0");
        assert_eq!(block_start(5), "10.42.1.64");
        assert_eq!(node_name(7), "n0007");
    }

    #[test]
    fn shapes_out_of_range_are_refused() {
        assert_eq!(
            calico_cluster(&ClusterShape::new("x", 1)).unwrap_err(),
            ShapeError::TooFew(1)
        );
        assert_eq!(
            calico_cluster(&ClusterShape::new("x", 2000)).unwrap_err(),
            ShapeError::TooMany(2000)
        );
    }

    #[test]
    fn a_rack_reflector_hears_its_own_client_directly() {
        let shape = |nodes| ClusterShape {
            rack_reflectors: true,
            ..ClusterShape::new("x", nodes)
        };
        let one_rack = calico_cluster(&shape(50)).unwrap();
        assert!(
            one_rack.files[0]
                .1
                .contains("prefix: 10.42.12.64/26, via: 10.1.0.59, protocol: bird"),
            "{}",
            one_rack.files[0].1
        );
        let two_racks = calico_cluster(&shape(150)).unwrap();
        assert!(
            two_racks.files[0]
                .1
                .contains(", via: 10.1.0.1, protocol: bird")
        );
    }

    #[test]
    fn sizes_are_counted() {
        let g = calico_cluster(&ClusterShape::new("x", 250)).unwrap();
        assert_eq!(g.daemons, 251);
        // 250 nodes, 250 pods, the core, 3 rack bridges.
        assert_eq!(g.namespaces, 504);
    }
}
