//! A run-time diagnosis: an OSPF adjacency stuck in ExStart over a wire whose ends
//! disagree on the MTU says so, with both MTUs as the kernel has them.

use crate::common::{privileged, routelab, text};

#[test]
fn an_ospf_neighbour_stuck_in_exstart_is_diagnosed_as_an_mtu_mismatch() {
    if !privileged("an_ospf_neighbour_stuck_in_exstart_is_diagnosed_as_an_mtu_mismatch") {
        return;
    }
    let out = routelab(&["run", "tests/workbench/scenarios/se-ospf-mtu.yaml"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("MTU mismatch? a:eth0 has MTU 1500, b:eth0 has MTU 1400"),
        "{stdout}"
    );
}
