//! What `routelab check` says about the seed scenarios before anything runs. Pure: no
//! privileges needed.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn check(scenario: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_routelab"))
        .args(["check", scenario])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .stdin(Stdio::null())
        .output()
        .expect("routelab runs")
}

/// Seed 002 as the article writes it: its BGPPeers select `rr-id` labels no node has.
/// The file is valid (exit 0), but `check` must warn about each peer, naming the selector,
/// at the line of the manifest list.
#[test]
fn the_as_per_rack_article_peers_select_no_node() {
    let out = check("scenarios/calico-as-per-rack-as-written.yaml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for needle in [
        "calico-as-per-rack-as-written.yaml:23:3: warning: BGPPeer as64512-to-r1-peer: \
         nodeSelector `rr-id == 'as64512'` selects no node, so this peering is never made",
        "warning: BGPPeer as64513-to-r2-peer: nodeSelector `rr-id == 'as64513'` selects no node",
        "k8s-master [as-group=as64512, as-id=as64512, node=master]",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
    assert_eq!(stderr.matches("warning:").count(), 2, "{stderr}");
}

/// The corrected cluster (the nodes also labelled `rr-id`) draws no warning.
#[test]
fn the_corrected_as_per_rack_cluster_checks_clean() {
    let out = check("scenarios/calico-as-per-rack.yaml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok: scenario `calico-as-per-rack`"));
}

/// Seed 004 with IPIP Always: routelab programs tunl0, so no warning about encapsulation;
/// where the kernel has no IPIP loaded, `check` says that `run` will skip it, and why.
#[test]
fn the_ipip_cluster_checks_clean_and_notes_a_missing_ipip() {
    let out = check("scenarios/calico-ipip.yaml");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let noted = stdout.contains("note: `routelab run` will skip it on this machine");
    assert_eq!(
        noted,
        !Path::new("/sys/module/ipip").exists(),
        "the note must appear exactly when the kernel lacks IPIP:\n{stdout}"
    );
}
