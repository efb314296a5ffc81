//! Mock calico-node: Calico resources in, the BIRD configuration confd would render out.
//!
//! For each node, routelab renders what Calico's confd renders from the cluster's Calico
//! resources (BGPConfiguration, BGPPeer, BGPFilter, IPPool, Node, the operator's
//! Installation) and that node's IPAM block affinities: `bird.cfg`, `bird_aggr.cfg` and
//! `bird_ipam.cfg`, and their IPv6 twins. They run in vanilla BIRD 1.6.8.
//!
//! Calico's own BIRD is a fork whose kernel protocol understands `krt_tunnel`, through
//! which confd can have BIRD program IPIP routes onto `tunl0`. Vanilla BIRD has no such
//! attribute, so the rendered filters never set it. By default current confd leaves the
//! routes of IPIP and VXLAN pools to Felix anyway, and routelab, as Felix, programs the
//! devices and those routes itself ([`node::TunnelDataplane`]).
//!
//! Modules, one job each: [`resources`] (manifests), [`selector`] (label selectors),
//! [`cluster`] (the datastore view), [`peerings`] (BGPPeer expansion), [`filters`]
//! (BGPFilter functions), [`services`] (service advertisement), [`peers`] (BGP sessions),
//! [`config`] (the other per-node, per-family values), [`mod@render`] (text), [`ipam`] (block
//! affinities).

pub mod cluster;
pub mod config;
pub mod error;
pub mod filters;
pub mod ipam;
pub mod node;
pub mod peerings;
pub mod peers;
pub mod render;
pub mod resources;
pub mod selector;
pub mod services;
pub mod status;

#[cfg(test)]
mod ipam_props;
#[cfg(test)]
mod render_tests;
#[cfg(test)]
mod selector_props;

use std::collections::BTreeMap;
use std::path::PathBuf;

use error::bail;

pub use error::{CalicoError, Result};
pub use ipam::{AffinityState, BlockAffinity};
pub use resources::Resource;
pub use selector::{Selector, SelectorError};

/// The six files calico-node's confd writes, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedConfig {
    pub bird: String,
    pub bird_aggr: String,
    pub bird_ipam: String,
    pub bird6: String,
    pub bird6_aggr: String,
    pub bird6_ipam: String,
}

impl RenderedConfig {
    /// File names and contents, in a fixed order.
    pub fn files(&self) -> [(&'static str, &str); 6] {
        [
            ("bird.cfg", &self.bird),
            ("bird_aggr.cfg", &self.bird_aggr),
            ("bird_ipam.cfg", &self.bird_ipam),
            ("bird6.cfg", &self.bird6),
            ("bird6_aggr.cfg", &self.bird6_aggr),
            ("bird6_ipam.cfg", &self.bird6_ipam),
        ]
    }
}

/// Renders the configuration of `node` from the resources, its block affinities and
/// calico-node's environment (`CALICO_ROUTER_ID`: an address, or `hash` for one derived
/// from the node name; `CALICO_ADVERTISE_CLUSTER_IPS`: service cluster CIDRs,
/// comma-separated, overriding BGPConfiguration's).
pub fn render(
    resources: &[Resource],
    node: &str,
    blocks: &[BlockAffinity],
    env: &BTreeMap<String, String>,
) -> Result<RenderedConfig> {
    render_with_workloads(resources, node, blocks, env, &[])
}

/// [`render`] for a node running workloads that BGPPeers' `localWorkloadSelector`s
/// selected (Felix's part, [`cluster::Cluster::workload_bgp_peer`]): confd adds a
/// `Local_Workload_…` session for each.
pub fn render_with_workloads(
    resources: &[Resource],
    node: &str,
    blocks: &[BlockAffinity],
    env: &BTreeMap<String, String>,
    workloads: &[peerings::LocalWorkload],
) -> Result<RenderedConfig> {
    let cluster = cluster::Cluster::from_resources(resources)?;
    cluster.validate()?;
    let ctx = config::NodeContext {
        node: node.to_string(),
        blocks: blocks.to_vec(),
        env: env.clone(),
        workloads: workloads.to_vec(),
    };
    let v4 = config::bird_config(&cluster, &ctx, 4)?;
    let v6 = config::bird_config(&cluster, &ctx, 6)?;
    Ok(RenderedConfig {
        bird: render::main_file(&v4),
        bird_aggr: render::aggr_file(&v4),
        bird_ipam: render::ipam_file(&v4),
        bird6: render::main_file(&v6),
        bird6_aggr: render::aggr_file(&v6),
        bird6_ipam: render::ipam_file(&v6),
    })
}

/// Parses `KEY=VALUE` settings.
pub fn parse_env(env: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for kv in env {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("bad environment setting {kv:?}: expected KEY=VALUE");
        };
        if k.is_empty() {
            bail!("bad environment setting {kv:?}: empty key");
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// `routelab calico render --resources FILE... --node NAME [--block CIDR[:STATE]]...
/// [--env KEY=VALUE]...`: loads the manifests and renders the node's six files, which the
/// caller writes, with the warnings to print (passwords whose Secret is missing, which
/// calico-node renders without a password).
pub fn render_command(
    resources: &[PathBuf],
    node: &str,
    blocks: &[String],
    env: &[String],
) -> Result<(RenderedConfig, Vec<String>)> {
    let res = resources::load_files(resources)?;
    let blocks = blocks
        .iter()
        .map(|b| b.parse::<BlockAffinity>())
        .collect::<Result<Vec<_>>>()?;
    let env = parse_env(env)?;
    let rendered = render(&res, node, &blocks, &env)?;
    let warnings = cluster::Cluster::from_resources(&res)?.unreadable_passwords();
    Ok((rendered, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_settings_need_an_equals_sign() {
        let env = parse_env(&["CALICO_ROUTER_ID=hash".to_string()]).unwrap();
        assert_eq!(env["CALICO_ROUTER_ID"], "hash");
        assert!(parse_env(&["CALICO_ROUTER_ID".to_string()]).is_err());
    }

    #[test]
    fn render_command_renders_six_files() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("cluster.yaml");
        std::fs::write(
            &manifest,
            "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: n1}\nspec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\nkind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: n2}\nspec: {bgp: {ipv4Address: 10.0.0.2/24}}\n",
        )
        .unwrap();
        let out = render_command(
            &[manifest],
            "n1",
            &["10.42.0.0/26:confirmed".to_string()],
            &[],
        )
        .unwrap();
        assert!(out.1.is_empty(), "{:?}", out.1);
        let files = out.0.files();
        let bird = files[0].1;
        assert!(
            bird.contains("protocol bgp Mesh_10_0_0_2 from bgp_template"),
            "{bird}"
        );
        let aggr = files[1].1;
        assert!(aggr.contains("route 10.42.0.0/26 blackhole;"), "{aggr}");
        assert_eq!(files[5].0, "bird6_ipam.cfg");
    }

    fn seed(name: &str) -> PathBuf {
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("fixtures/calico-conformance/seeds")
            .join(name)
    }

    #[test]
    fn k3s_seed_manifests_render_the_posts_topology() {
        let files: Vec<PathBuf> = [
            "k3s-installation.yaml",
            "k3s-mtu-patch.yaml",
            "k3s-bgppeers.yaml",
            "k3s-nodes.yaml",
            "k3s-test-workload.yaml",
        ]
        .into_iter()
        .map(seed)
        .collect();
        let res = resources::load_files(&files).unwrap();
        let c = cluster::Cluster::from_resources(&res).unwrap();
        let net = c.installation.as_ref().unwrap();
        assert_eq!(c.mtu(), Some(1370));
        assert!(c.bgp_enabled());
        assert_eq!(
            net.node_address_autodetection_v4
                .as_ref()
                .and_then(|a| a.first_found),
            Some(true)
        );
        assert_eq!(c.pools.len(), 1);
        assert_eq!(c.pools[0].cidr.to_string(), "10.42.0.0/16");

        let out = render(&res, "kubemaster", &[], &BTreeMap::new()).unwrap();
        // The WDS route reflector, and the mesh to the two other nodes; no peering with
        // the Domestic or Global reflectors.
        for name in [
            "Node_192_168_100_1",
            "Mesh_192_168_100_252",
            "Mesh_10_2_5_7",
        ] {
            assert!(
                out.bird.contains(&format!("protocol bgp {name} from")),
                "{name}:\n{}",
                out.bird
            );
        }
        assert!(!out.bird.contains("100_64_"), "{}", out.bird);
        // Unencapsulated pool: exported, and programmed into the kernel by BIRD.
        assert!(
            out.bird_ipam
                .contains("if (net ~ 10.42.0.0/16) then { accept; }")
        );
        assert!(!out.bird_ipam.contains("reject; } # Cluster routes"));
    }

    #[test]
    fn rack_seed_manifests_load() {
        let files: Vec<PathBuf> = [
            "rack-as-bgpconfiguration-list.yaml",
            "rack-as-node3.yaml",
            "rack-as-peers.yaml",
        ]
        .into_iter()
        .map(seed)
        .collect();
        let res = resources::load_files(&files).unwrap();
        let c = cluster::Cluster::from_resources(&res).unwrap();
        assert!(!c.mesh_enabled());
        assert_eq!(c.node_as("k8s-node3"), resources::AsNumber(64513));
        assert_eq!(c.bgp_peers.len(), 2);
        // No node carries the rr-id labels yet, so no peering applies.
        assert!(c.peerings(&[]).is_empty());
    }

    #[test]
    fn unknown_node_is_an_error() {
        let res = resources::parse_str(
            "x",
            "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: n1}\n",
        )
        .unwrap();
        let err = render(&res, "n9", &[], &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("n9"), "{err}");
    }
}
