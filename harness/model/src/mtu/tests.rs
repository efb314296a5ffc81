use crate::scenario::Scenario;
use std::path::Path;

use super::*;

fn load(text: &str) -> Scenario {
    crate::scenario::load_str(Path::new("test.yaml"), text)
        .unwrap_or_else(|d| panic!("{d}"))
        .0
}

const ZEROTIER: &str = r#"
nodes:
  a: { kind: router }
  b: { kind: router, bird: { inline: "router id 1.1.1.1;" } }
  pod:
    routes: [{ to: default, via: 10.42.0.1 }]
links:
  - overlay:
      name: zt
      mtu: 1420
      underlay_mtu: 1446
      members:
        - { node: a, interface: zt0, addresses: [100.64.1.1/24] }
        - { node: b, interface: zt0, addresses: [100.64.1.2/24] }
  - wire:
      name: pod-veth
      mtu: 1370
      ends:
        - { node: pod, addresses: [10.42.0.10/24] }
        - { node: a, addresses: [10.42.0.1/24] }
"#;

#[test]
fn overlay_threshold_is_underlay_minus_overhead() {
    let s = load(ZEROTIER);
    let p = predict(&s, "a", "100.64.1.2".parse().unwrap(), None).unwrap();
    // 1446 - 66 (ZeroTier) = 1380, below the interfaces' 1420: DF above it is lost.
    assert_eq!((p.path_mtu, p.unfragmented), (1380, 1380));
    assert_eq!(p.src, "100.64.1.1".parse::<IpAddr>().unwrap());
    assert_eq!(p.forward.hops.len(), 1);
    assert_eq!(p.forward.hops[0].link, "overlay zt");
    // Pod MTUs follow from the unfragmented size.
    let mtus = p.pod_mtus();
    assert!(mtus.contains(&("Calico, no encapsulation", 0, 1380)));
    assert!(mtus.contains(&("Calico IPIP", 20, 1360)));
    assert!(mtus.contains(&("Calico VXLAN", 50, 1330)));
    assert!(mtus.contains(&("Calico WireGuard", 60, 1320)));
    assert!(mtus.contains(&("flannel wireguard", 80, 1300)));
}

#[test]
fn the_narrowest_hop_wins_and_missing_routes_are_assumed_shortest() {
    let s = load(ZEROTIER);
    // b has no route back to the pod network: BIRD would learn it; assumed over links.
    let p = predict(&s, "pod", "100.64.1.2".parse().unwrap(), None).unwrap();
    assert_eq!(p.forward.hops.len(), 2);
    assert!(!p.forward.assumed());
    assert!(p.back.assumed());
    assert_eq!((p.path_mtu, p.unfragmented), (1370, 1370));
}

#[test]
fn flannel_vxlan_over_an_overlay_loses_fifty_more() {
    let s = load(
        r#"
nodes:
  a: { kind: router }
  b: { kind: router }
links:
  - overlay:
      name: zt
      mtu: 1420
      underlay_mtu: 1446
      members:
        - { node: a, interface: zt0, addresses: [100.64.1.1/24] }
        - { node: b, interface: zt0, addresses: [100.64.1.2/24] }
  - flannel:
      name: k3s
      members:
        - { node: a, interface: zt0, pod_cidr: 10.42.0.0/24 }
        - { node: b, interface: zt0, pod_cidr: 10.42.1.0/24 }
"#,
    );
    let p = predict(
        &s,
        "a",
        "10.42.1.1".parse().unwrap(),
        Some("10.42.0.1".parse().unwrap()),
    )
    .unwrap();
    // flannel.1 is 1420 - 50 = 1370: DF packets up to that cross (fragmented underneath);
    // unfragmented only up to 1380 - 50.
    assert_eq!((p.path_mtu, p.unfragmented), (1370, 1330));
    let hop = &p.forward.hops[0];
    assert_eq!(hop.interface, "flannel.1");
    let under = hop.underneath.as_ref().unwrap();
    assert_eq!(under.unfragmented(), Some(1380));
}

#[test]
fn host_gw_routes_via_the_node_ip_and_not_across_subnets() {
    let base = r#"
nodes:
  gw: { kind: router }
  k1: { kind: router, routes: [{ to: default, via: 10.0.0.2 }] }
  k2: { kind: router, routes: [{ to: default, via: K2GW }] }
links:
  - wire:
      name: a
      ends:
        - { node: gw, addresses: [10.0.0.2/24] }
        - { node: k1, interface: ens33, addresses: [10.0.0.30/24] }
  - wire:
      name: b
      ends:
        - { node: gw, addresses: [K2GW/24] }
        - { node: k2, interface: ens33, addresses: [K2IP/24] }
  - flannel:
      name: k3s
      backend: host-gw
      members:
        - { node: k1, interface: ens33, pod_cidr: 10.42.0.0/24 }
        - { node: k2, interface: ens33, pod_cidr: 10.42.1.0/24 }
"#;
    let apart = load(
        &base
            .replace("K2GW", "10.0.1.2")
            .replace("K2IP", "10.0.1.31"),
    );
    // Across subnets the pod route is missing: the default route leads to gw, which has
    // no route to pods and runs no routing daemon that could learn one.
    let e = predict(&apart, "k1", "10.42.1.1".parse().unwrap(), None).unwrap_err();
    assert!(e.0.contains("gw has no route to 10.42.1.1"), "{e}");
}

#[test]
fn expectation_pairs_come_from_mtu_expectations() {
    let mut text = ZEROTIER.to_string();
    text.push_str(
        "expect:\n  - pmtu: { from: a, to: 100.64.1.2, mtu: 1380 }\n  \
         - max_unfragmented: { from: a, to: 100.64.1.2, bytes: 1380 }\n  \
         - ping: { from: a, to: 100.64.1.2 }\n",
    );
    let s = load(&text);
    assert_eq!(
        expectation_pairs(&s.expectations),
        vec![("a".to_string(), "100.64.1.2".parse().unwrap(), None)]
    );
    assert_eq!(all_pairs(&s).len(), 6);
    assert!(
        report(&s, &s.expectations)
            .contains("path MTU (largest DF packet that crosses):         1380")
    );
}

#[test]
fn the_report_names_the_path_it_assumed() {
    let s = load(ZEROTIER);
    let p = predict(&s, "pod", "100.64.1.2".parse().unwrap(), None).unwrap();
    assert_eq!(p.forward.nodes(), ["pod", "a", "b"]);
    assert_eq!(p.forward.between(), ["a"]);
    assert_eq!(p.back.nodes(), ["b", "a", "pod"]);
    let direct = predict(&s, "a", "100.64.1.2".parse().unwrap(), None).unwrap();
    assert!(direct.forward.between().is_empty());
    let text = p.to_string();
    assert!(text.contains("  there: pod > a > b\n"), "{text}");
    assert!(text.contains("  back: b > a > pod\n"), "{text}");
}

#[test]
fn wire_presets_set_the_mtu() {
    let text = r#"
nodes:
  a: {}
  b: {}
links:
  - wire:
      name: uplink
      preset: pppoe
      ends:
        - { node: a, addresses: [10.0.0.1/30] }
        - { node: b, addresses: [10.0.0.2/30] }
"#;
    let p = predict(&load(text), "a", "10.0.0.2".parse().unwrap(), None).unwrap();
    assert_eq!(p.path_mtu, 1492);
    let both = text.replace("preset: pppoe", "preset: iepl\n      mtu: 1400");
    let err = crate::scenario::load_str(Path::new("t.yaml"), &both).unwrap_err();
    assert!(err.to_string().contains("give one"), "{err}");
}

#[test]
fn calico_ipip_is_capped_by_tunl0_and_by_the_underlay_less_twenty() {
    let dir = tempfile::tempdir().unwrap();
    // The pod (and tunl0) MTU set to 1440 by hand, over a 1400-byte wire: too big.
    std::fs::write(
        dir.path().join("calico.yaml"),
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\n\
         spec: {cidr: 10.42.0.0/16, blockSize: 26, ipipMode: Always}\n---\n\
         apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata: {name: default}\n\
         spec: {calicoNetwork: {mtu: 1440}}\n",
    )
    .unwrap();
    let text = "calico: { resources: [calico.yaml] }\n\
        nodes:\n  n1: { kind: calico, calico: { pods: 1 } }\n  n2: { kind: calico, calico: { pods: 1 } }\n\
        links:\n  - wire:\n      name: lan\n      mtu: 1400\n      ends:\n\
        \x20       - { node: n1, interface: eth0, addresses: [192.168.0.1/24] }\n\
        \x20       - { node: n2, interface: eth0, addresses: [192.168.0.2/24] }\n";
    let s = crate::scenario::load_str(&dir.path().join("s.yaml"), text)
        .unwrap_or_else(|d| panic!("{d}"))
        .0;
    let ipip = &s.nodes[0].calico.as_ref().unwrap().tunnels[0];
    assert_eq!(ipip.mtu, 1440);
    // n1's tunnel address is its block's first address; its pod has the next one.
    assert_eq!(ipip.address, Some("10.42.0.0".parse().unwrap()));
    let p = predict(&s, "n1", "10.42.0.65".parse().unwrap(), None).unwrap();
    assert_eq!(
        p.src,
        "10.42.0.0".parse::<IpAddr>().unwrap(),
        "tunl0's address"
    );
    assert_eq!(p.forward.hops.len(), 1);
    assert_eq!(p.forward.hops[0].interface, "tunl0");
    assert_eq!(p.forward.hops[0].to, "n2");
    assert!(p.forward.hops[0].underneath.is_some());
    assert_eq!((p.path_mtu, p.unfragmented), (1380, 1380), "1400 - 20");
    // From a pod the same: its veth's 1440 is not the narrowest.
    let p = predict(&s, "n1-pod0", "10.42.0.65".parse().unwrap(), None).unwrap();
    assert_eq!((p.path_mtu, p.unfragmented), (1380, 1380));
}
