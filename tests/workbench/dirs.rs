//! A directory as the scenario argument of `run` stands for every `*.yaml` under it,
//! recursively; `calico render --help` says what it does without `--block`.

use crate::common::{assert_nothing_left_of, privileged, routelab, text};

fn pair(name: &str) -> String {
    format!(
        "name: {name}
nodes:
  h1: {{}}
  h2: {{}}
links:
  - wire:
      name: h1-h2
      ends:
        - {{ node: h1, addresses: [10.0.0.1/24] }}
        - {{ node: h2, addresses: [10.0.0.2/24] }}
expect:
  - ping: {{ from: h1, to: 10.0.0.2 }}
"
    )
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("nested/deeper")).unwrap();
    std::fs::write(dir.path().join("se-dir-a.yaml"), pair("se-dir-a")).unwrap();
    std::fs::write(
        dir.path().join("nested/deeper/se-dir-b.yaml"),
        pair("se-dir-b"),
    )
    .unwrap();
    std::fs::write(dir.path().join("nested/notes.txt"), "not a scenario").unwrap();
    dir
}

#[test]
fn run_refuses_a_directory_without_scenarios() {
    let empty = tempfile::tempdir().unwrap();
    let out = routelab(&["run", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no scenario files"));
}

#[test]
fn run_takes_a_directory_recursively() {
    if !privileged("run_takes_a_directory_recursively") {
        return;
    }
    let dir = tree();
    let out = routelab(&["run", "--quiet", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("se-dir-a: 1 passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("se-dir-b: 1 passed, 0 failed"), "{stdout}");
    assert!(
        stdout.contains("expectations: 2 passed, 0 failed"),
        "{stdout}"
    );
    assert_nothing_left_of("se-dir-a", "a run of a directory");
    assert_nothing_left_of("se-dir-b", "a run of a directory");
}

#[test]
fn calico_render_help_says_what_it_does_without_blocks() {
    let out = routelab(&["calico", "render", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("Without any, no block is affine to the node"),
        "{help}"
    );
    assert!(
        !help.contains("Default: blocks allocated from the IPPools"),
        "{help}"
    );
}

/// A password whose Secret is missing is rendered without one, as calico-node does, and
/// `calico render` says so rather than staying silent.
#[test]
fn calico_render_warns_of_a_password_secret_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("cluster.yaml");
    std::fs::write(
        &manifest,
        "kind: Node\napiVersion: projectcalico.org/v3\nmetadata: {name: n1}\n\
         spec: {bgp: {ipv4Address: 10.0.0.1/24}}\n---\n\
         kind: BGPPeer\napiVersion: projectcalico.org/v3\nmetadata: {name: tor}\n\
         spec: {peerIP: 10.0.0.254, asNumber: 65001, \
         password: {secretKeyRef: {name: bgp-secrets, key: tor}}}\n",
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = routelab(&[
        "calico",
        "render",
        "--resources",
        manifest.to_str().unwrap(),
        "--node",
        "n1",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: BGPPeer tor: password Secret \"bgp-secrets\""),
        "{stderr}"
    );
    let bird = std::fs::read_to_string(out_dir.join("bird.cfg")).unwrap();
    assert!(bird.contains("protocol bgp Global_10_0_0_254"), "{bird}");
    assert!(!bird.contains("password"), "{bird}");
}
