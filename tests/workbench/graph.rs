//! `routelab graph`: Mermaid by default, DOT on request, BGP sessions with `--bgp`, and
//! invalid input refused with exit 2.

use crate::common::{routelab, text};

#[test]
fn graph_draws_mermaid_dot_and_sessions() {
    let out = routelab(&["graph", "scenarios/ebgp-pair.yaml"]);
    let mermaid = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(mermaid.starts_with("graph TD\n"), "{mermaid}");
    assert!(
        mermaid.contains("r1 <-- \"r1-r2 MTU 1500\" --> r2"),
        "{mermaid}"
    );
    assert!(mermaid.contains("class r1,r2 router;"), "{mermaid}");
    assert!(
        !mermaid.contains("BGP"),
        "sessions only when asked: {mermaid}"
    );

    let out = routelab(&["graph", "--bgp", "scenarios/ebgp-pair.yaml"]);
    assert!(text(&out.stdout).contains("r1 -. BGP .- r2"));

    let out = routelab(&["graph", "--format", "dot", "scenarios/ebgp-pair.yaml"]);
    let dot = text(&out.stdout);
    assert!(dot.starts_with("graph \"ebgp-pair\" {"), "{dot}");

    let out = routelab(&["graph", "tests/bad-input/bad-address.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("bad-address.yaml:9:34: error"));
}
