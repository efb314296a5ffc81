//! Loader and validator tests: each error names the right line and column.

use std::path::Path;

use super::*;

fn load(text: &str) -> Result<(Scenario, Diagnostics), Diagnostics> {
    load_str(Path::new("t.yaml"), text)
}

/// The first error as `line:col: message`.
fn first_error(text: &str) -> String {
    let d = load(text).expect_err("the scenario should be rejected");
    let e = d.errors().next().expect("at least one error");
    format!("{}:{}: {}", e.line, e.column, e.message)
}

const TWO_NODES: &str = "nodes:\n  a: { kind: router }\n  b: {}\n";

#[test]
fn minimal_scenario_loads_with_defaults() {
    let (s, warnings) = load(TWO_NODES).unwrap();
    assert!(warnings.0.is_empty());
    assert_eq!(s.name, "t");
    assert_eq!(s.timing.deadline, DEFAULT_DEADLINE);
    assert_eq!(s.nodes.len(), 2);
    assert_eq!(s.nodes[0].kind, NodeKind::Router);
    assert_eq!(s.nodes[1].kind, NodeKind::Host);
    assert!(
        s.nodes[0]
            .sysctls
            .contains(&("net.ipv4.ip_forward".into(), "1".into()))
    );
    assert!(
        !s.nodes[1]
            .sysctls
            .iter()
            .any(|(k, _)| k == "net.ipv4.ip_forward")
    );
}

#[test]
fn unknown_key_is_reported_where_it_is() {
    let text = "nodes:\n  a:\n    kind: router\n    colour: red\n";
    assert!(first_error(text).starts_with("4:5: unknown field `colour`"));
}

#[test]
fn unknown_node_kind_is_reported() {
    let text = "nodes:\n  a: { kind: switch }\n";
    let e = first_error(text);
    assert!(e.starts_with("2:14:"), "{e}");
    assert!(e.contains("switch"), "{e}");
}

#[test]
fn dangling_node_in_link_gets_a_hint() {
    let text = format!(
        "{TWO_NODES}links:\n  - wire:\n      name: l\n      ends:\n        - {{ node: a }}\n        - {{ node: c }}\n"
    );
    assert_eq!(
        first_error(&text),
        "9:19: no node named `c` (nodes: a, b); did you mean `a`?"
    );
}

#[test]
fn every_semantic_error_is_collected() {
    let text = format!(
        "{TWO_NODES}expect:\n  - ping: {{ from: x, to: 10.0.0.1 }}\n  - route: {{ node: y, prefix: 10.0.0.0/8 }}\n"
    );
    let d = load(&text).unwrap_err();
    let lines: Vec<u64> = d.errors().map(|e| e.line).collect();
    assert_eq!(lines, vec![5, 6]);
}

#[test]
fn wire_needs_two_ends() {
    let text = format!(
        "{TWO_NODES}links:\n  - wire:\n      name: l\n      ends:\n        - {{ node: a }}\n"
    );
    assert!(first_error(&text).contains("needs exactly two ends, not 1"));
}

#[test]
fn duplicate_interface_is_an_error() {
    let text = format!(
        "{TWO_NODES}links:\n  - wire:\n      name: l1\n      ends:\n        - {{ node: a, interface: x }}\n        - {{ node: b }}\n  - wire:\n      name: l2\n      ends:\n        - {{ node: a, interface: x }}\n        - {{ node: b }}\n"
    );
    assert_eq!(
        first_error(&text),
        "13:33: node `a` already has an interface `x`"
    );
}

#[test]
fn interfaces_are_named_eth0_eth1_by_default() {
    let text = format!(
        "{TWO_NODES}links:\n  - wire:\n      name: l1\n      ends: [{{ node: a }}, {{ node: b }}]\n  - wire:\n      name: l2\n      ends: [{{ node: a, interface: eth0x }}, {{ node: b }}]\n  - wire:\n      name: l3\n      ends: [{{ node: a }}, {{ node: b }}]\n"
    );
    let (s, _) = load(&text).unwrap();
    let names: Vec<&str> = s.interfaces_of("a").map(|i| i.name.as_str()).collect();
    assert_eq!(names, vec!["eth0", "eth0x", "eth1"]);
}

#[test]
fn route_gateway_must_be_on_link() {
    let text = "nodes:\n  a:\n    routes:\n      - { to: default, via: 10.9.9.9 }\n";
    let e = first_error(text);
    assert!(e.starts_with("4:29:"), "{e}");
    assert!(e.contains("not on any subnet"), "{e}");
}

#[test]
fn route_prefix_with_host_bits_is_an_error() {
    let text = "nodes:\n  a:\n    routes:\n      - { to: 10.0.0.1/8, blackhole: true }\n";
    assert_eq!(
        first_error(text),
        "4:15: `10.0.0.1/8` has host bits set; did you mean `10.0.0.0/8`?"
    );
}

#[test]
fn ecmp_route_takes_a_list_of_gateways() {
    let text = "nodes:\n  a: {}\n  b: {}\nlinks:\n  - bridge:\n      name: lan\n      members:\n        - { node: a, addresses: [10.0.0.1/24] }\n        - { node: b, addresses: [10.0.0.2/24] }\n";
    let with_route = text.replace(
        "  a: {}\n",
        "  a:\n    routes: [{ to: 10.9.0.0/16, via: [10.0.0.2, 10.0.0.3] }]\n",
    );
    let (s, _) = load(&with_route).unwrap();
    assert_eq!(s.nodes[0].routes[0].via.len(), 2);
}

#[test]
fn bad_deadline_is_reported() {
    let text = "defaults: { deadline: soon }\nnodes:\n  a: {}\n";
    let e = first_error(text);
    assert!(e.starts_with("1:23:"), "{e}");
    assert!(e.contains("not a duration"), "{e}");
}

#[test]
fn host_level_sysctls_are_refused() {
    let text = "nodes:\n  a:\n    sysctls: { kernel.pid_max: 100 }\n";
    assert!(first_error(text).contains("not per network namespace"));
}

#[test]
fn missing_bird_config_file_is_reported() {
    let text = "nodes:\n  a:\n    bird: { config: nowhere.conf }\n";
    let e = first_error(text);
    assert!(e.starts_with("3:21:"), "{e}");
    assert!(e.contains("BIRD config `nowhere.conf` not found"), "{e}");
}

#[test]
fn traceroute_must_end_at_destination() {
    let text = format!(
        "{TWO_NODES}expect:\n  - traceroute: {{ from: a, to: 10.0.0.9, hops: [10.0.0.1] }}\n"
    );
    assert!(first_error(&text).contains("last hop must be the destination"));
}

#[test]
fn traceroute_accepts_alternatives_per_hop() {
    let text = format!(
        "{TWO_NODES}expect:\n  - traceroute: {{ from: a, to: 10.0.0.9, hops: [10.0.0.1, [10.0.1.1, 10.0.2.1], 10.0.0.9] }}\n"
    );
    let (s, _) = load(&text).unwrap();
    match &s.expectations[0].kind {
        crate::expect::Kind::Traceroute(t) => assert_eq!(t.hops[1].len(), 2),
        other => panic!("wrong kind {other:?}"),
    }
}

#[test]
fn negative_expectations_are_recognised() {
    let text = format!(
        "{TWO_NODES}expect:\n  - ping: {{ from: a, to: 10.0.0.9, succeeds: false }}\n  - route: {{ node: a, prefix: 10.0.0.0/8, absent: true }}\n  - ping: {{ from: a, to: 10.0.0.9 }}\n  - fails: {{ with: no reply, expect: {{ ping: {{ from: a, to: 10.0.0.9 }} }} }}\n"
    );
    let (s, _) = load(&text).unwrap();
    let negative: Vec<bool> = s.expectations.iter().map(|e| e.is_negative()).collect();
    assert_eq!(negative, vec![true, true, false, true]);
}

#[test]
fn duplicate_address_with_another_prefix_is_a_warning_not_an_error() {
    let text = format!(
        "{TWO_NODES}links:\n  - wire:\n      name: l\n      ends:\n        - {{ node: a, addresses: [10.0.0.1/24] }}\n        - {{ node: b, addresses: [10.0.0.1/25] }}\n"
    );
    let (_, warnings) = load(&text).unwrap();
    assert_eq!(warnings.0.len(), 1);
    assert!(
        warnings.0[0]
            .message
            .contains("10.0.0.1 is on both a:eth0 and b:eth0")
    );
}

#[test]
fn the_same_address_and_prefix_twice_is_an_error() {
    let text = format!(
        "{TWO_NODES}links:\n  - wire:\n      name: l\n      ends:\n        - {{ node: a, addresses: [10.0.0.1/24] }}\n        - {{ node: b, addresses: [10.0.0.1/24] }}\n"
    );
    let errors = load(&text).unwrap_err();
    assert!(
        errors.0[0]
            .message
            .starts_with("address 10.0.0.1/24 is already on a:eth0"),
        "{errors}"
    );
}

#[test]
fn per_expectation_deadline_overrides_the_default() {
    let text = format!(
        "defaults: {{ deadline: 5s }}\n{TWO_NODES}expect:\n  - ping: {{ from: a, to: 10.0.0.9 }}\n  - ping: {{ from: a, to: 10.0.0.9, deadline: 500ms }}\n"
    );
    let (s, _) = load(&text).unwrap();
    assert_eq!(
        s.expectations[0].deadline,
        std::time::Duration::from_secs(5)
    );
    assert_eq!(
        s.expectations[1].deadline,
        std::time::Duration::from_millis(500)
    );
}

#[test]
fn normalize_removes_parent_components() {
    use crate::context::normalize;
    assert_eq!(normalize(Path::new("a/b/../c")), Path::new("a/c"));
    assert_eq!(normalize(Path::new("../x")), Path::new("../x"));
    assert_eq!(
        normalize(Path::new("/s/scenarios/../fixtures/r.conf")),
        Path::new("/s/fixtures/r.conf")
    );
}

/// A scenario file and a Calico manifest side by side in a temp dir.
fn load_with_manifest(
    scenario: &str,
    manifest: &str,
) -> Result<(Scenario, Diagnostics), Diagnostics> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("calico.yaml"), manifest).unwrap();
    let file = dir.path().join("s.yaml");
    load_str(&file, scenario)
}

const POOL: &str = "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.42.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never}\n";

const TWO_CALICO_NODES: &str = "calico: { resources: [calico.yaml] }\nnodes:\n  n1:\n    kind: calico\n    calico: { pods: [web, db] }\n  n2: { kind: calico }\nlinks:\n  - wire:\n      name: l\n      ends:\n        - { node: n1, interface: mgmt, addresses: [192.168.0.1/24] }\n        - { node: n2, interface: mgmt, addresses: [192.168.0.2/24] }\n  - wire:\n      name: l2\n      ends:\n        - { node: n1, interface: ens33, addresses: [10.0.0.1/24] }\n        - { node: n2, interface: ens33, addresses: [10.0.0.2/24] }\n";

#[test]
fn calico_nodes_get_addresses_blocks_and_pods() {
    let text = format!("{TWO_CALICO_NODES}expect:\n  - ping: {{ from: n1-web, to: 10.42.0.64 }}\n");
    let (s, _) = load_with_manifest(&text, POOL).unwrap();
    let c = s.nodes[0].calico.as_ref().unwrap();
    // first-found: the first interface's address.
    assert_eq!(c.address.to_string(), "192.168.0.1/24");
    let pods: Vec<(&str, String)> = c
        .pods
        .iter()
        .map(|p| (p.namespace.as_str(), p.ip.to_string()))
        .collect();
    assert_eq!(
        pods,
        vec![
            ("n1-web", "10.42.0.0".into()),
            ("n1-db", "10.42.0.1".into())
        ]
    );
    assert!(c.rendered.bird.contains("protocol bgp Mesh_192_168_0_2"));
    assert_eq!(s.nodes[0].kind, NodeKind::Calico);
    assert!(
        s.nodes[0]
            .sysctls
            .contains(&("net.ipv4.ip_forward".into(), "1".into()))
    );
}

#[test]
fn calico_address_autodetection_follows_the_installation() {
    let manifest = format!(
        "{POOL}---\napiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata: {{name: default}}\nspec:\n  calicoNetwork:\n    nodeAddressAutodetectionV4: {{ interface: ens.* }}\n"
    );
    let (s, _) = load_with_manifest(TWO_CALICO_NODES, &manifest).unwrap();
    assert_eq!(
        s.nodes[1].calico.as_ref().unwrap().address.to_string(),
        "10.0.0.2/24"
    );
    let cidrs = manifest.replace("{ interface: ens.* }", "{ cidrs: [10.0.0.0/8] }");
    let (s, _) = load_with_manifest(TWO_CALICO_NODES, &cidrs).unwrap();
    assert_eq!(
        s.nodes[0].calico.as_ref().unwrap().address.to_string(),
        "10.0.0.1/24"
    );
    let none = manifest.replace("{ interface: ens.* }", "{ interface: wlan.* }");
    let e = load_with_manifest(TWO_CALICO_NODES, &none).unwrap_err();
    assert!(e.to_string().contains("autodetection"), "{e}");
}

#[test]
fn calico_nodes_need_the_calico_section() {
    let text = TWO_CALICO_NODES.replace("calico: { resources: [calico.yaml] }\n", "");
    let e = load_with_manifest(&text, POOL).unwrap_err();
    let first = e.errors().next().unwrap();
    assert_eq!((first.line, first.column), (2, 3));
    assert!(
        first
            .message
            .contains("needs a top-level `calico:` section"),
        "{e}"
    );
}

#[test]
fn calico_manifest_errors_name_the_manifest_and_the_scenario() {
    let bad = "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p}\nspec: {nodeSelector: \"rack == 'a\"}\n";
    let e = load_with_manifest(TWO_CALICO_NODES, &format!("{POOL}---\n{bad}")).unwrap_err();
    assert!(e.to_string().contains("BGPPeer p: nodeSelector"), "{e}");
    let broken = load_with_manifest(TWO_CALICO_NODES, "kind: IPPool\n  bad: [").unwrap_err();
    let msg = broken.to_string();
    assert!(
        msg.contains("s.yaml:1:23: error: Calico resources:"),
        "{msg}"
    );
    assert!(msg.contains("calico.yaml:"), "{msg}");
}

#[test]
fn only_calico_nodes_take_calico_settings() {
    let text = TWO_CALICO_NODES.replace(
        "  n2: { kind: calico }\n",
        "  n2: { kind: calico }\n  n3: { calico: { pods: 1 } }\n",
    );
    let e = load_with_manifest(&text, POOL).unwrap_err().to_string();
    assert!(e.contains("`calico` settings need `kind: calico`"), "{e}");
}

#[test]
fn a_calico_node_with_its_own_bird_runs_both_daemons() {
    let text = TWO_CALICO_NODES.replace(
        "  n2: { kind: calico }\n",
        "  n2: { kind: calico, bird: { inline: \"protocol device {}\" } }\n",
    );
    let (s, _) = load_with_manifest(&text, POOL).unwrap();
    let plan = crate::planner::plan(&s);
    let n2: Vec<_> = plan.daemons.iter().filter(|d| d.ns == "n2").collect();
    assert_eq!(n2.len(), 2, "{n2:?}");
    let names: Vec<String> = n2.iter().map(|d| plan.daemon_name(d)).collect();
    assert!(names.contains(&"n2".to_string()), "{names:?}");
    assert!(names.contains(&"n2.bird".to_string()), "{names:?}");
    let calico = n2.iter().find(|d| plan.daemon_name(d) == "n2").unwrap();
    assert_eq!(calico.kind, crate::daemon::DaemonKind::CalicoBird);
}

#[test]
fn sysctl_values_are_written_as_the_kernel_reads_them() {
    let text = "nodes:\n  a:\n    kind: router\n    sysctls: { net.ipv4.ip_forward: false, net.ipv4.conf.all.rp_filter: 2, net.ipv4.ip_local_port_range: \"1024 65000\" }\n";
    let (s, _) = load(text).unwrap();
    let get = |k: &str| {
        s.nodes[0]
            .sysctls
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("net.ipv4.ip_forward"),
        Some("0"),
        "overrides the router default"
    );
    assert_eq!(get("net.ipv4.conf.all.rp_filter"), Some("2"));
    assert_eq!(get("net.ipv4.ip_local_port_range"), Some("1024 65000"));
}
