//! A failing run kept for a look: an OSPF adjacency stuck in ExStart over a wire whose ends
//! disagree on the MTU is diagnosed with both MTUs as the kernel has them and the end of
//! BIRD's log, `--artifacts` keeps every node's routes, protocols, log and config, and
//! `--keep-on-failure` leaves the lab up with how to enter it, until `routelab down`.

use crate::common::{bird_processes_mentioning, privileged, routelab, text};

fn netns_list() -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip runs");
    text(&out.stdout)
}

#[test]
fn a_failed_ospf_adjacency_is_diagnosed_and_kept_up() {
    if !privileged("a_failed_ospf_adjacency_is_diagnosed_and_kept_up") {
        return;
    }
    let artifacts = tempfile::tempdir().unwrap();
    let out = routelab(&[
        "run",
        "--keep-on-failure",
        "--artifacts",
        artifacts.path().to_str().unwrap(),
        "tests/workbench/scenarios/se-ospf-mtu.yaml",
    ]);
    let stdout = text(&out.stdout);
    let kept = netns_list();
    let birds = bird_processes_mentioning("/run/routelab/se-ospf-mtu/");
    let down = routelab(&["down", "--lab", "se-ospf-mtu"]);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("MTU mismatch? a:eth0 has MTU 1500, b:eth0 has MTU 1400"),
        "{stdout}"
    );
    // BIRD's own word, from the end of its log, under the failure.
    assert!(
        stdout.contains("BIRD log of a, the end:")
            && stdout.contains("<RMT> core: MTU mismatch with nbr 10.255.0.2 on eth0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("routelab exec se-ospf-mtu a --"),
        "{stdout}"
    );
    assert!(
        stdout.contains("birdc -s /run/routelab/se-ospf-mtu/a/bird.ctl"),
        "{stdout}"
    );
    assert!(kept.contains("se-ospf-mtu-a"), "not kept: {kept}");
    assert_eq!(birds.len(), 2, "both BIRDs run in the kept lab");
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
    assert!(
        !netns_list().contains("se-ospf-mtu-"),
        "down left namespaces"
    );
    assert!(bird_processes_mentioning("/run/routelab/se-ospf-mtu/").is_empty());

    let node_a = artifacts.path().join("se-ospf-mtu/a");
    let read = |name: &str| {
        std::fs::read_to_string(node_a.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    assert!(
        read("routes.txt").contains("10.0.0.0/30"),
        "{}",
        read("routes.txt")
    );
    assert!(
        read("protocols.txt").contains("core"),
        "{}",
        read("protocols.txt")
    );
    assert!(
        read("bird.log").contains("MTU mismatch with nbr"),
        "{}",
        read("bird.log")
    );
    assert!(read("bird.conf").contains("router id 10.255.0.1;"));
    assert!(artifacts.path().join("se-ospf-mtu/b/routes.txt").exists());
}
