//! `routelab snapshot` and `routelab diff` on real labs: a change in a temporary git
//! repository (an OSPF cost, a BGPPeer, a link's MTU) against its committed version gives
//! exactly the categories and entries it should, and no change gives none.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{privileged, root, routelab, text};

/// Each test builds two labs at once and snapshots them only once they are at rest; run
/// several such tests together on a small machine and "at rest" takes longer than their
/// budgets. One at a time keeps the figures the tests compare meaningful.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=routelab",
            "-c",
            "user.email=routelab@localhost",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

/// A repository with `files` committed.
fn repository(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    for (path, content) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    dir
}

const OSPF_ROUTER: &str = "router id ID;
protocol device {}
protocol direct { ipv4; interface \"lo\"; }
protocol kernel { ipv4 { export where source ~ [RTS_OSPF]; }; merge paths on; }
protocol ospf v2 core {
  ipv4 { import all; export none; };
  area 0 {
    interface \"lo\" { stub yes; };
    interface \"eth*\" { type ptp; hello 1; dead 4; cost 10; };
    interface \"to-c\" { type ptp; hello 1; dead 4; cost COST; };
  };
}
";

/// Three routers in a triangle; a reaches c's loopback over their direct link, whose
/// cost on a's side and MTU are parameters.
fn triangle(name: &str, mtu: u32) -> String {
    format!(
        "name: {name}
defaults: {{ deadline: 30s }}
nodes:
  a: {{ kind: router, loopback: [10.255.0.1/32], bird: {{ config: ../fixtures/a.conf }} }}
  b: {{ kind: router, loopback: [10.255.0.2/32], bird: {{ config: ../fixtures/b.conf }} }}
  c: {{ kind: router, loopback: [10.255.0.3/32], bird: {{ config: ../fixtures/c.conf }} }}
links:
  - wire: {{ name: ab, ends: [{{ node: a, addresses: [10.0.12.1/30] }}, {{ node: b, addresses: [10.0.12.2/30] }}] }}
  - wire: {{ name: bc, ends: [{{ node: b, addresses: [10.0.23.1/30] }}, {{ node: c, addresses: [10.0.23.2/30] }}] }}
  - wire:
      name: ac
      mtu: {mtu}
      ends:
        - {{ node: a, interface: to-c, addresses: [10.0.13.1/30] }}
        - {{ node: c, interface: to-c, addresses: [10.0.13.2/30] }}
expect:
  - ospf: {{ node: a, protocol: core, neighbor: 10.255.0.3 }}
  - ospf: {{ node: a, protocol: core, neighbor: 10.255.0.2 }}
  - route: {{ node: a, prefix: 10.255.0.3/32, protocol: bird }}
  - route: {{ node: a, prefix: 10.255.0.2/32, protocol: bird }}
  - route: {{ node: c, prefix: 10.255.0.1/32, protocol: bird }}
  - route: {{ node: b, prefix: 10.255.0.1/32, protocol: bird }}
  - ping: {{ from: a, src: 10.255.0.1, to: 10.255.0.3 }}
"
    )
}

fn router_conf(id: &str, cost: u32) -> String {
    OSPF_ROUTER
        .replace("ID", id)
        .replace("COST", &cost.to_string())
}

fn triangle_repo(name: &str) -> tempfile::TempDir {
    repository(&[
        ("scenarios/t.yaml", triangle(name, 1500)),
        ("fixtures/a.conf", router_conf("10.255.0.1", 10)),
        ("fixtures/b.conf", router_conf("10.255.0.2", 10)),
        ("fixtures/c.conf", router_conf("10.255.0.3", 10)),
    ])
}

/// `routelab diff FILE --against HEAD --format json`, parsed, and the exit code.
fn diff_against_head(scenario: &Path, extra: &[&str]) -> (serde_json::Value, i32) {
    let mut args = vec![
        "diff",
        scenario.to_str().unwrap(),
        "--against",
        "HEAD",
        "--format",
        "json",
        // Convergence is not what these tests change: only a large shift would count.
        "--tolerance",
        "60s",
    ];
    args.extend_from_slice(extra);
    let out = routelab(&args);
    let stdout = text(&out.stdout);
    let code = out.status.code().unwrap_or(-1);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "diff printed no JSON ({e}), exit {code}:\n{stdout}\nstderr:\n{}",
            text(&out.stderr)
        )
    });
    (value, code)
}

fn categories(d: &serde_json::Value) -> BTreeSet<String> {
    d["counts"].as_object().unwrap().keys().cloned().collect()
}

/// The changes of one category as (node, key, before, after).
fn changes(d: &serde_json::Value, category: &str) -> Vec<(String, String, String, String)> {
    d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["category"] == category)
        .map(|c| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
            (s(&c["node"]), s(&c["key"]), s(&c["before"]), s(&c["after"]))
        })
        .collect()
}

fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.into_iter().map(String::from).collect()
}

#[test]
fn no_change_is_no_difference_and_exit_0() {
    if !privileged("no_change_is_no_difference_and_exit_0") {
        return;
    }
    let _one_at_a_time = one_at_a_time();
    let repo = triangle_repo("sc-same");
    let scenario = repo.path().join("scenarios/t.yaml");
    let out = routelab(&[
        "diff",
        scenario.to_str().unwrap(),
        "--against",
        "HEAD",
        "--tolerance",
        "60s",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("no differences"), "{stdout}");
}

#[test]
fn an_ospf_cost_that_moves_a_path() {
    if !privileged("an_ospf_cost_that_moves_a_path") {
        return;
    }
    let _one_at_a_time = one_at_a_time();
    let repo = triangle_repo("sc-cost");
    std::fs::write(
        repo.path().join("fixtures/a.conf"),
        router_conf("10.255.0.1", 100),
    )
    .unwrap();
    let (d, code) = diff_against_head(&repo.path().join("scenarios/t.yaml"), &[]);
    assert_eq!(code, 1, "{d:#}");
    assert_eq!(
        categories(&d),
        set(["bird_routes", "paths", "routes"]),
        "{d:#}"
    );
    // a's cost counts where a's packets leave, and for a's side of the link's subnet: c
    // keeps every route it had.
    let routes = changes(&d, "routes");
    assert!(
        routes.iter().all(|(node, ..)| node == "a" || node == "b"),
        "{routes:#?}"
    );
    assert!(
        routes.contains(&(
            "a".into(),
            "main 10.255.0.3/32".into(),
            "unicast via 10.0.13.2 dev to-c proto bird metric 32".into(),
            "unicast via 10.0.12.2 dev eth0 proto bird metric 32".into()
        )),
        "{routes:#?}"
    );
    assert_eq!(
        changes(&d, "paths"),
        [(
            "".into(),
            "a -> 10.255.0.3".into(),
            "10.255.0.3".into(),
            "10.0.12.2 > 10.255.0.3".into()
        )]
    );
}

#[test]
fn a_link_mtu_changes_the_path_mtu_only() {
    if !privileged("a_link_mtu_changes_the_path_mtu_only") {
        return;
    }
    let _one_at_a_time = one_at_a_time();
    let repo = triangle_repo("sc-mtu");
    std::fs::write(
        repo.path().join("scenarios/t.yaml"),
        triangle("sc-mtu", 1400),
    )
    .unwrap();
    let (d, code) = diff_against_head(&repo.path().join("scenarios/t.yaml"), &[]);
    assert_eq!(code, 1, "{d:#}");
    assert_eq!(categories(&d), set(["pmtu"]), "{d:#}");
    assert_eq!(
        changes(&d, "pmtu"),
        [(
            "".into(),
            "a -> 10.255.0.3".into(),
            "1500".into(),
            "1400".into()
        )]
    );
    // Only the categories named count for the exit code.
    let (_, code) = diff_against_head(
        &repo.path().join("scenarios/t.yaml"),
        &["--fail-on", "routes,reachability"],
    );
    assert_eq!(code, 0);
}

#[test]
fn a_bgppeer_removed_from_a_calico_manifest() {
    if !privileged("a_bgppeer_removed_from_a_calico_manifest") {
        return;
    }
    let _one_at_a_time = one_at_a_time();
    let scenario = std::fs::read_to_string(root().join("scenarios/calico-route-reflector.yaml"))
        .unwrap()
        .replace("name: calico-route-reflector", "name: sc-peer");
    let manifest = std::fs::read_to_string(root().join("fixtures/calico-rr/calico.yaml")).unwrap();
    let repo = repository(&[
        ("scenarios/rr.yaml", scenario),
        ("fixtures/calico-rr/calico.yaml", manifest.clone()),
    ]);
    let peer = "---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: peer-with-route-reflectors\nspec:\n  nodeSelector: all()\n  peerSelector: route-reflector == 'true'\n";
    assert!(manifest.contains(peer));
    std::fs::write(
        repo.path().join("fixtures/calico-rr/calico.yaml"),
        manifest.replace(peer, ""),
    )
    .unwrap();
    let (d, code) = diff_against_head(&repo.path().join("scenarios/rr.yaml"), &["--no-expect"]);
    assert_eq!(code, 1, "{d:#}");
    assert_eq!(
        categories(&d),
        set([
            "bird_routes",
            "paths",
            "pmtu",
            "reachability",
            "routes",
            "sessions"
        ]),
        "{d:#}"
    );
    let sessions = changes(&d, "sessions");
    assert!(
        sessions.contains(&(
            "worker1".into(),
            "Node_10_0_0_10".into(),
            "BGP up Established, 10.0.0.10".into(),
            "-".into()
        )),
        "{sessions:#?}"
    );
    assert!(
        sessions.iter().all(|(.., after)| after == "-"),
        "{sessions:#?}"
    );
    let routes = changes(&d, "routes");
    assert!(
        routes.contains(&(
            "worker1".into(),
            "main 10.42.0.128/26".into(),
            "unicast via 10.0.0.12 dev eth0 proto bird metric 1024".into(),
            "-".into()
        )),
        "{routes:#?}"
    );
    let reach = changes(&d, "reachability");
    assert!(
        reach.iter().any(|(_, key, before, after)| key
            == "worker1-pod0 -> worker2-pod0 (10.42.0.128)"
            && before == "ok"
            && after.starts_with("fails: ")),
        "{reach:#?}"
    );
    // Every reachability change is a loss.
    assert!(
        reach.iter().all(|(_, _, before, _)| before == "ok"),
        "{reach:#?}"
    );
}

#[test]
fn snapshots_of_one_network_in_a_row_do_not_differ() {
    if !privileged("snapshots_of_one_network_in_a_row_do_not_differ") {
        return;
    }
    let _one_at_a_time = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let fixtures = root().join("fixtures/route-reflector");
    let scenario = std::fs::read_to_string(root().join("scenarios/route-reflector.yaml"))
        .unwrap()
        .replace("name: route-reflector", "name: sc-noise")
        .replace("../fixtures/route-reflector", fixtures.to_str().unwrap());
    let file = dir.path().join("rr.yaml");
    std::fs::write(&file, scenario).unwrap();
    let snaps: Vec<String> = (0..3)
        .map(|i| {
            let out = dir.path().join(format!("{i}.json"));
            let run = routelab(&[
                "snapshot",
                file.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ]);
            assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
            out.to_str().unwrap().to_string()
        })
        .collect();
    for i in 0..snaps.len() {
        for j in i + 1..snaps.len() {
            let out = routelab(&["diff", &snaps[i], &snaps[j]]);
            let stdout = text(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{stdout}");
            assert!(stdout.contains("no differences"), "{stdout}");
        }
    }
    // And one that does differ is found: the same snapshot with a route's next hop moved.
    let mut moved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&snaps[0]).unwrap()).unwrap();
    moved["phases"][0]["nodes"]["client"]["routes"]["main 203.0.113.0/24"]["nexthops"] =
        serde_json::json!(["via 10.0.2.9 dev eth0"]);
    let moved_file = dir.path().join("moved.json");
    std::fs::write(&moved_file, moved.to_string()).unwrap();
    let out = routelab(&["diff", &snaps[0], moved_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("client main 203.0.113.0/24"));
    // A snapshot file that is not one is invalid input, named with line and column.
    std::fs::write(dir.path().join("bad.json"), "{\n  \"format\": 1,\n  nope\n").unwrap();
    let bad = dir.path().join("bad.json");
    let out = routelab(&["diff", &snaps[0], bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.json") && stderr.contains("line 3 column"),
        "{stderr}"
    );
}
