//! Renderer tests on `fixtures/calico-conformance/features.yaml`: snapshots of the six
//! files of a route reflector and of a worker, and targeted checks of single features.

use std::collections::BTreeMap;
use std::path::Path;

use super::{BlockAffinity, RenderedConfig, render, resources};

fn features() -> Vec<resources::Resource> {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("fixtures/calico-conformance/features.yaml");
    resources::load_file(&path).unwrap()
}

fn blocks() -> Vec<BlockAffinity> {
    [
        "10.42.0.0/26:confirmed",
        "10.42.0.64/26:pendingDeletion",
        "10.42.0.128/26:pending",
    ]
    .iter()
    .map(|b| b.parse().unwrap())
    .collect()
}

fn render_node(node: &str) -> RenderedConfig {
    render(&features(), node, &blocks(), &BTreeMap::new()).unwrap()
}

fn snapshot(node: &str) {
    let out = render_node(node);
    for (name, text) in out.files() {
        insta::assert_snapshot!(format!("{node}__{name}"), text);
    }
}

#[test]
fn route_reflector_snapshot() {
    snapshot("rr-1");
}

#[test]
fn worker_snapshot() {
    snapshot("worker-1");
}

#[test]
fn route_reflector_serves_its_clients_and_skips_the_mesh() {
    let bird = render_node("rr-1").bird;
    assert!(!bird.contains("protocol bgp Mesh_"), "{bird}");
    for client in ["Node_192_168_100_21", "Node_192_168_100_22"] {
        let section = bird
            .split(&format!("protocol bgp {client} "))
            .nth(1)
            .unwrap();
        let section = section.split("\n}\n").next().unwrap();
        assert!(section.contains("keepalive time 30;"), "{section}");
        if client.ends_with("21") {
            assert!(section.contains("rr cluster id 244.0.0.1;"), "{section}");
        } else {
            // worker-2 is in another AS: an eBGP session, not a reflector client.
            assert!(!section.contains("rr client"), "{section}");
            assert!(section.contains("as 65020;"), "{section}");
        }
    }
    assert!(
        bird.contains("listen bgp address 192.168.100.10 port 1790;"),
        "{bird}"
    );
    assert!(bird.contains("debug all;"), "{bird}");
}

#[test]
fn explicit_peer_options() {
    let bird = render_node("worker-1").bird;
    let tor = bird
        .split("protocol bgp Node_192_168_100_1_port_179 ")
        .nth(1)
        .unwrap();
    let tor = tor.split("\n}\n").next().unwrap();
    for want in [
        "local as 65011;",
        "neighbor 192.168.100.1 port 179 as 65000;",
        "ttl security on;",
        "multihop 1;",
        "graceful restart time 90;",
        "password \"tor-secret\";",
        "next hop self;",
        "allow local as 2;",
        "'bgp_tor-out_exportFilterV4'(false);",
        "'bgp_tor-in_importFilterV4'();",
    ] {
        assert!(tor.contains(want), "{want} missing from:\n{tor}");
    }
    assert!(bird.contains("function 'bgp_tor-out_exportFilterV4'(bool is_same_as) {"));
    // The mesh: password and restart time from BGPConfiguration; worker-2 is in
    // another AS and the reflector is no mesh member.
    assert!(bird.contains("protocol bgp Mesh_192_168_100_22 from"));
    assert!(!bird.contains("Mesh_192_168_100_10 "));
    assert!(bird.contains("password \"mesh-secret\";"));
    assert!(bird.contains("graceful restart time 120;"));
}

#[test]
fn ipv6_peer_routes_and_next_hop_keep() {
    let out = render_node("worker-1");
    assert!(
        out.bird6.contains("protocol bgp Global_fd00_100__1 from"),
        "{}",
        out.bird6
    );
    assert!(out.bird6.contains("next hop keep;"), "{}", out.bird6);
    assert!(
        out.bird6_aggr
            .contains("route fd00:100::1/128 via fd00:100::fe;"),
        "{}",
        out.bird6_aggr
    );
}

#[test]
fn blocks_services_pools_and_communities() {
    let out = render_node("worker-1");
    let aggr = &out.bird_aggr;
    assert!(aggr.contains("route 10.42.0.0/26 blackhole;"));
    assert!(
        aggr.contains("route 10.42.0.64/26 blackhole;"),
        "pending deletion stays blackholed"
    );
    assert!(!aggr.contains("10.42.0.128"), "pending blocks are ignored");
    assert!(aggr.contains("if ( net = 10.42.0.0/26 ) then { accept; }"));
    assert!(!aggr.contains("if ( net = 10.42.0.64/26 )"));
    assert!(aggr.contains("route 10.43.0.0/16 blackhole;"));
    let ipam = &out.bird_ipam;
    assert!(ipam.contains("if ( net ~ 10.43.0.0/16 ) then { reject; }"));
    assert!(ipam.contains("if (net ~ 10.44.0.0/16) then { reject; } # BGP export is disabled."));
    // CrossSubnet IPIP pool: Felix (routelab) programs it; no krt_tunnel anywhere.
    assert!(ipam.contains("if (net ~ 10.42.0.0/16) then { reject; } # Cluster routes"));
    assert!(!ipam.contains("krt_tunnel"));
    assert!(
        ipam.contains("bgp_next_hop = 192.168.100.10"),
        "WireGuard peer filter:\n{ipam}"
    );
    assert!(out.bird.contains("bgp_community.add((65010, 100));"));
    assert!(
        out.bird
            .contains("bgp_large_community.add((65010, 200, 300));")
    );
    assert!(out.bird.contains("interface -\"zt*\", -\"cali*\""));
    assert!(
        out.bird6_ipam
            .contains("if (net ~ fd00:42::/48) then { reject; } # VXLAN")
    );
}

#[test]
fn a_missing_password_secret_renders_the_peering_without_a_password() {
    let res: Vec<_> = features()
        .into_iter()
        .filter(|r| !matches!(r, resources::Resource::Secret(..)))
        .collect();
    // As calico-node: the sessions are rendered, without `password`, and a warning says why.
    let out = render(&res, "worker-1", &[], &BTreeMap::new()).unwrap();
    assert!(!out.bird.contains("password"), "{}", out.bird);
    let with = render(&features(), "worker-1", &[], &BTreeMap::new()).unwrap();
    assert!(with.bird.contains("password \"tor-secret\";"));
    let cluster = super::cluster::Cluster::from_resources(&res).unwrap();
    let warnings = cluster.unreadable_passwords();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .all(|w| w.contains("bgp-secrets") && w.contains("without a password")),
        "{warnings:?}"
    );
}

#[test]
fn unquotable_passwords_are_refused() {
    let mut res = features();
    for r in &mut res {
        if let resources::Resource::Secret(_, body) = r {
            body.string_data.insert("tor".into(), "a\"b".into());
        }
    }
    let err = render(&res, "worker-1", &[], &BTreeMap::new()).unwrap_err();
    assert!(err.to_string().contains("double quote"), "{err}");
}

/// Two nodes, `a` in rack 1 and `b` in rack 2; a BGPPeer for every workload labelled
/// `bgp: speaker` (with a filter, a password and timers confd does not apply to such
/// sessions), and one for rack 2's workloads labelled `vr`.
const WORKLOAD_PEERS: &str = "
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: a, labels: {rack: '1'}}
spec: {bgp: {ipv4Address: 10.0.0.1/24}}
---
kind: Node
apiVersion: projectcalico.org/v3
metadata: {name: b, labels: {rack: '2'}}
spec: {bgp: {ipv4Address: 10.0.0.2/24}}
---
kind: BGPConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMeshEnabled: false, localWorkloadPeeringIPV4: 169.254.0.179}
---
kind: BGPFilter
apiVersion: projectcalico.org/v3
metadata: {name: only-announced}
spec: {importV4: [{action: Accept, matchOperator: In, cidr: 10.43.0.0/24}]}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: speakers}
spec:
  localWorkloadSelector: bgp == 'speaker'
  asNumber: 65100
  localASNumber: 64999
  filters: [only-announced]
  password: {secretKeyRef: {name: bgp, key: pw}}
  keepaliveTime: 10s
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: virtual-routers}
spec:
  nodeSelector: rack == '2'
  localWorkloadSelector: has(vr)
  asNumber: 65200
---
kind: Secret
apiVersion: v1
metadata: {name: bgp, namespace: calico-system}
stringData: {pw: secret}
";

fn protocol<'a>(bird: &'a str, name: &str) -> &'a str {
    let section = bird
        .split(&format!("protocol bgp {name} "))
        .nth(1)
        .unwrap_or_else(|| panic!("no protocol {name} in:\n{bird}"));
    section.split("\n}\n").next().unwrap()
}

#[test]
fn felix_picks_the_first_bgp_peer_that_applies_to_the_node_and_selects_the_workload() {
    let res = resources::parse_str("t", WORKLOAD_PEERS).unwrap();
    let cluster = super::cluster::Cluster::from_resources(&res).unwrap();
    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let both = labels(&[("bgp", "speaker"), ("vr", "")]);
    assert_eq!(
        cluster.workload_bgp_peer("a", &both).as_deref(),
        Some("speakers")
    );
    // On rack 2 both apply; Felix takes the first by name.
    assert_eq!(
        cluster.workload_bgp_peer("b", &both).as_deref(),
        Some("speakers")
    );
    let vr = labels(&[("vr", "")]);
    assert_eq!(
        cluster.workload_bgp_peer("b", &vr).as_deref(),
        Some("virtual-routers")
    );
    // virtual-routers is scoped to rack 2.
    assert_eq!(cluster.workload_bgp_peer("a", &vr), None);
    assert_eq!(cluster.workload_bgp_peer("a", &labels(&[])), None);
    assert_eq!(
        cluster.local_workload_peering_ipv4(),
        Some("169.254.0.179".parse().unwrap())
    );
}

#[test]
fn workloads_get_passive_local_workload_sessions_with_only_as_numbers_and_filters() {
    use super::peerings::LocalWorkload;
    let res = resources::parse_str("t", WORKLOAD_PEERS).unwrap();
    let workload = |peer: &str, ip: &str| LocalWorkload {
        bgp_peer: peer.into(),
        ipv4: Some(ip.parse().unwrap()),
        ipv6: None,
    };
    let workloads = [
        workload("speakers", "10.42.0.1"),
        workload("virtual-routers", "10.42.0.2"),
    ];
    let on_b = super::render_with_workloads(&res, "b", &[], &BTreeMap::new(), &workloads)
        .unwrap()
        .bird;
    let speaker = protocol(&on_b, "Local_Workload_10_42_0_1");
    for want in [
        "local as 64999;",
        "neighbor 10.42.0.1 as 65100;",
        "ttl security off;",
        "multihop;",
        "'bgp_only-announced_importFilterV4'();",
        "calico_export_to_bgp_peers(false);",
        "passive on;",
    ] {
        assert!(speaker.contains(want), "{want} missing from:\n{speaker}");
    }
    for unwanted in ["source address", "password", "keepalive"] {
        assert!(!speaker.contains(unwanted), "{unwanted} in:\n{speaker}");
    }
    let router = protocol(&on_b, "Local_Workload_10_42_0_2");
    assert!(router.contains("neighbor 10.42.0.2 as 65200;"), "{router}");
    assert!(router.contains("passive on;"), "{router}");

    // A node-scoped BGPPeer's workload sessions are on its nodes only, and no node has
    // sessions for workloads it does not run.
    let on_a = super::render_with_workloads(&res, "a", &[], &BTreeMap::new(), &workloads[1..])
        .unwrap()
        .bird;
    assert!(!on_a.contains("Local_Workload_"), "{on_a}");
    let without = render(&res, "b", &[], &BTreeMap::new()).unwrap().bird;
    assert!(!without.contains("Local_Workload_"), "{without}");
}
