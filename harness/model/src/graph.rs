//! The topology of a scenario as a diagram: Mermaid (renders in a GitHub README or pull
//! request) or Graphviz DOT. Pure: from the validated scenario alone.
//!
//! Drawn as the seed documents draw their networks: routers in orange with bold borders
//! (calico nodes in blue), a wire as a two-way edge labelled with its name and MTU, a
//! bridge as a hexagon and an overlay as a circle that their members attach to (with the
//! member's interface and address on the edge), flannel as a dotted edge between its
//! members. With `bgp`, BGP sessions are dashed edges between the nodes that own each
//! other's `neighbor` address, as the nodes' BIRD configurations write them.
//!
//! Limits: pods are not drawn; a BGP neighbour inherited from a template, or one no node
//! owns, draws no edge.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::daemon::BirdConfig;
use crate::link::Link;
use crate::scenario::{NodeKind, Scenario};

/// Which language the diagram is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
}

/// What is drawn between which nodes.
enum Edge {
    /// A wire between two nodes.
    Wire { a: String, b: String, label: String },
    /// A member's attachment to a bridge or overlay.
    Member {
        node: String,
        segment: String,
        label: String,
    },
    /// Flannel between two of its members.
    Flannel { a: String, b: String, label: String },
    /// A BGP session.
    Bgp { a: String, b: String },
}

/// The diagram of `scenario`.
pub fn render(scenario: &Scenario, format: Format, bgp: bool) -> String {
    let mut edges = Vec::new();
    let mut segments: Vec<(String, &'static str, String)> = Vec::new();
    for link in &scenario.links {
        let ifaces = link.interfaces();
        match link {
            Link::Wire(w) => edges.push(Edge::Wire {
                a: w.ends[0].node.clone(),
                b: w.ends[1].node.clone(),
                label: format!("{} {}", w.name, mtus(ifaces)),
            }),
            Link::Bridge(_) | Link::Overlay(_) => {
                let shape = if matches!(link, Link::Bridge(_)) {
                    "bridge"
                } else {
                    "overlay"
                };
                segments.push((
                    link.name().to_string(),
                    shape,
                    format!("{shape} {} {}", link.name(), mtus(ifaces)),
                ));
                for i in ifaces {
                    let addrs: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
                    edges.push(Edge::Member {
                        node: i.node.clone(),
                        segment: link.name().to_string(),
                        label: format!("{} {}", i.name, addrs.join(" ")).trim().to_string(),
                    });
                }
            }
            Link::Flannel(f) => {
                for pair in f.members.windows(2) {
                    edges.push(Edge::Flannel {
                        a: pair[0].node.clone(),
                        b: pair[1].node.clone(),
                        label: format!("flannel {}", f.name),
                    });
                }
            }
        }
    }
    if bgp {
        edges.extend(bgp_sessions(scenario));
    }
    match format {
        Format::Mermaid => mermaid(scenario, &segments, &edges),
        Format::Dot => dot(scenario, &segments, &edges),
    }
}

/// `MTU 1500`, or each distinct MTU when the ends differ.
fn mtus(ifaces: &[crate::scenario::Interface]) -> String {
    let set: BTreeSet<u32> = ifaces.iter().map(|i| i.mtu).collect();
    let list: Vec<String> = set.iter().map(u32::to_string).collect();
    format!("MTU {}", list.join("/"))
}

/// Each pair of nodes with a BGP protocol whose neighbour the other owns, once.
fn bgp_sessions(scenario: &Scenario) -> Vec<Edge> {
    let mut pairs = BTreeSet::new();
    for node in &scenario.nodes {
        // calico-node's BIRD, and the node's own beside it or alone.
        let mut protocols = Vec::new();
        if let Some(c) = &node.calico
            && let BirdConfig::Rendered(files) = c.bird_config()
        {
            protocols.extend(crate::bird_conf::protocols_of_rendered(&files));
        }
        match &node.bird {
            Some(BirdConfig::File(p)) => {
                protocols.extend(crate::bird_conf::protocols_of_file(p).unwrap_or_default())
            }
            Some(BirdConfig::Inline(t)) => {
                let dir = scenario.file.parent().unwrap_or(std::path::Path::new("."));
                protocols.extend(crate::bird_conf::protocols_of_text(t, dir).unwrap_or_default())
            }
            Some(BirdConfig::Rendered(files)) => {
                protocols.extend(crate::bird_conf::protocols_of_rendered(files))
            }
            None => {}
        }
        for p in protocols.iter().filter(|p| p.kind == "bgp") {
            if let Some(peer) = p.neighbor.and_then(|a| scenario.owner_of(a))
                && peer != node.name
            {
                let (a, b) = if node.name.as_str() < peer {
                    (node.name.clone(), peer.to_string())
                } else {
                    (peer.to_string(), node.name.clone())
                };
                pairs.insert((a, b));
            }
        }
    }
    pairs.into_iter().map(|(a, b)| Edge::Bgp { a, b }).collect()
}

/// A Mermaid id: letters, digits and `_` only (names may hold `.` and `-`).
fn id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn mermaid(scenario: &Scenario, segments: &[(String, &str, String)], edges: &[Edge]) -> String {
    let mut out = String::from("graph TD\n");
    for n in &scenario.nodes {
        let _ = writeln!(out, "    {}[\"{}\"]", id(&n.name), n.name);
    }
    for (name, shape, label) in segments {
        let sid = format!("seg_{}", id(name));
        let _ = match *shape {
            "bridge" => writeln!(out, "    {sid}{{{{\"{label}\"}}}}"),
            _ => writeln!(out, "    {sid}((\"{label}\"))"),
        };
    }
    for e in edges {
        let _ = match e {
            Edge::Wire { a, b, label } => {
                writeln!(out, "    {} <-- \"{label}\" --> {}", id(a), id(b))
            }
            Edge::Member {
                node,
                segment,
                label,
            } => writeln!(
                out,
                "    {} <-- \"{label}\" --> seg_{}",
                id(node),
                id(segment)
            ),
            Edge::Flannel { a, b, label } => {
                writeln!(out, "    {} <-. \"{label}\" .-> {}", id(a), id(b))
            }
            Edge::Bgp { a, b } => writeln!(out, "    {} -. BGP .- {}", id(a), id(b)),
        };
    }
    out.push_str("    classDef router fill:#f96,stroke:#333,stroke-width:2px,font-weight:bold;\n");
    out.push_str("    classDef calico fill:#9cf,stroke:#333,stroke-width:2px;\n");
    out.push_str("    classDef segment fill:#eee,stroke:#666,stroke-dasharray:3 3;\n");
    for (class, kind) in [("router", NodeKind::Router), ("calico", NodeKind::Calico)] {
        let members: Vec<String> = scenario
            .nodes
            .iter()
            .filter(|n| n.kind == kind)
            .map(|n| id(&n.name))
            .collect();
        if !members.is_empty() {
            let _ = writeln!(out, "    class {} {class};", members.join(","));
        }
    }
    if !segments.is_empty() {
        let ids: Vec<String> = segments
            .iter()
            .map(|(n, _, _)| format!("seg_{}", id(n)))
            .collect();
        let _ = writeln!(out, "    class {} segment;", ids.join(","));
    }
    out
}

fn dot(scenario: &Scenario, segments: &[(String, &str, String)], edges: &[Edge]) -> String {
    let mut out = format!(
        "graph \"{}\" {{\n    node [fontname=\"sans-serif\"];\n",
        scenario.name
    );
    for n in &scenario.nodes {
        let style = match n.kind {
            NodeKind::Router => ", shape=box, style=\"filled,bold\", fillcolor=\"#ff9966\"",
            NodeKind::Calico => ", shape=box, style=filled, fillcolor=\"#99ccff\"",
            NodeKind::Host => ", shape=box",
        };
        let _ = writeln!(out, "    \"{}\" [label=\"{}\"{style}];", n.name, n.name);
    }
    for (name, shape, label) in segments {
        let shape = if *shape == "bridge" {
            "hexagon"
        } else {
            "ellipse"
        };
        let _ = writeln!(
            out,
            "    \"seg:{name}\" [label=\"{label}\", shape={shape}, style=dashed];"
        );
    }
    for e in edges {
        let _ = match e {
            Edge::Wire { a, b, label } => {
                writeln!(out, "    \"{a}\" -- \"{b}\" [label=\"{label}\"];")
            }
            Edge::Member {
                node,
                segment,
                label,
            } => writeln!(
                out,
                "    \"{node}\" -- \"seg:{segment}\" [label=\"{label}\"];"
            ),
            Edge::Flannel { a, b, label } => {
                writeln!(
                    out,
                    "    \"{a}\" -- \"{b}\" [label=\"{label}\", style=dotted];"
                )
            }
            Edge::Bgp { a, b } => {
                writeln!(
                    out,
                    "    \"{a}\" -- \"{b}\" [label=\"BGP\", style=dashed, color=blue];"
                )
            }
        };
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(name: &str) -> Scenario {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scenarios")
            .join(name);
        crate::scenario::load(&file).unwrap().0
    }

    #[test]
    fn ospf_underlay_in_mermaid() {
        insta::assert_snapshot!(render(
            &scenario("ospf-underlay.yaml"),
            Format::Mermaid,
            false
        ));
    }

    #[test]
    fn zerotier_bridges_and_overlays_in_mermaid() {
        insta::assert_snapshot!(render(
            &scenario("flannel-over-zerotier.yaml"),
            Format::Mermaid,
            false
        ));
    }

    #[test]
    fn ebgp_pair_with_sessions_in_mermaid_and_dot() {
        let s = scenario("ebgp-pair.yaml");
        insta::assert_snapshot!("ebgp_pair_mermaid", render(&s, Format::Mermaid, true));
        insta::assert_snapshot!("ebgp_pair_dot", render(&s, Format::Dot, true));
    }

    #[test]
    fn calico_mesh_sessions_come_from_rendered_configs() {
        let text = render(&scenario("calico-mesh.yaml"), Format::Mermaid, true);
        for pair in [
            "node1 -. BGP .- node2",
            "node1 -. BGP .- node3",
            "node2 -. BGP .- node3",
        ] {
            assert!(text.contains(pair), "{text}");
        }
    }
}
