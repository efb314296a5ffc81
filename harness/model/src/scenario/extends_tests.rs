//! Variants: the merge rules of `extends`, on files in a temporary directory.

use std::path::Path;

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

const BASE: &str = "\
name: base
description: the base
defaults: { deadline: 7s, settle: 3s }
nodes:
  a: { kind: router, bird: { config: a.conf } }
  b: { kind: router }
links:
  - wire:
      name: l
      ends:
        - { node: a, addresses: [10.0.0.1/24] }
        - { node: b, addresses: [10.0.0.2/24] }
  - wire:
      name: l2
      ends:
        - { node: a, addresses: [10.0.1.1/24] }
        - { node: b, addresses: [10.0.1.2/24] }
expect:
  - ping: { from: a, to: 10.0.0.2 }
  - ping: { from: a, to: 10.0.1.2 }
";

fn mtus(s: &Scenario) -> Vec<(String, u32)> {
    s.links
        .iter()
        .map(|l| (l.name().to_string(), l.interfaces()[0].mtu))
        .collect()
}

#[test]
fn a_variant_replaces_by_name_in_place_adds_after_and_keeps_paths_relative_to_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "base/base.yaml", BASE);
    write(d, "base/a.conf", "router id 10.0.0.1;\n");
    write(d, "c.conf", "router id 10.0.0.3;\n");
    let child = write(
        d,
        "variant.yaml",
        "\
extends: base/base.yaml
defaults: { settle: 1s }
nodes:
  c: { kind: router, bird: { config: c.conf } }
links:
  - wire:
      name: l
      mtu: 1400
      ends:
        - { node: a, addresses: [10.0.0.1/24] }
        - { node: b, addresses: [10.0.0.2/24] }
  - wire:
      name: l3
      ends:
        - { node: b, addresses: [10.0.3.2/24] }
        - { node: c, addresses: [10.0.3.3/24] }
remove:
  expect: [ping a -> 10.0.1.2]
expect:
  - ping: { from: c, to: 10.0.3.2 }
",
    );
    let (s, _) = load(&child).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "variant", "a name is never inherited");
    assert_eq!(s.description.as_deref(), Some("the base"));
    assert_eq!(s.timing.deadline, std::time::Duration::from_secs(7));
    assert_eq!(s.timing.settle, std::time::Duration::from_secs(1));
    let names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(
        mtus(&s),
        [("l".into(), 1400), ("l2".into(), 1500), ("l3".into(), 1500)]
    );
    let bird = |n: usize| match &s.nodes[n].bird {
        Some(BirdConfig::File(p)) => p.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(bird(0), d.join("base/a.conf"));
    assert_eq!(bird(2), d.join("c.conf"));
    let labels: Vec<&str> = s.expectations.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(labels, ["ping a -> 10.0.0.2", "ping c -> 10.0.3.2"]);
    let files: Vec<_> = s.expectations.iter().map(|e| e.file.clone()).collect();
    assert_eq!(files, [Some(d.join("base/base.yaml")), None]);
    assert_eq!(
        s.position_of("l2"),
        Some(format!("{}:13:5", d.join("base/base.yaml").display()))
    );
    assert_eq!(s.position_of("l"), Some(format!("{}:6:5", child.display())));
}

#[test]
fn a_variant_of_a_variant_applies_both_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "base.yaml", BASE);
    write(d, "a.conf", "router id 10.0.0.1;\n");
    write(
        d,
        "one.yaml",
        "extends: base.yaml\nremove: { links: [l2] }\nnodes:\n  b: {}\n",
    );
    let two = write(
        d,
        "two.yaml",
        "extends: one.yaml\nremove: { expect: [ping a -> 10.0.1.2] }\n",
    );
    let (s, _) = load(&two).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mtus(&s), [("l".into(), 1500)]);
    assert_eq!(s.nodes[1].kind, NodeKind::Host, "one.yaml replaced b");
    assert_eq!(s.expectations.len(), 1);
}

#[test]
fn an_error_in_a_part_the_base_writes_points_into_the_base() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = write(d, "base.yaml", BASE);
    write(d, "a.conf", "router id 10.0.0.1;\n");
    // The base's link `l` now names a node that is gone.
    let child = write(d, "v.yaml", "extends: base.yaml\nremove: { nodes: [b] }\n");
    let errors = load(&child).unwrap_err();
    let first = errors.errors().next().unwrap();
    assert_eq!((first.file.as_path(), first.line), (base.as_path(), 12));
    assert!(first.message.contains("removed by the variant"), "{first}");
}

#[test]
fn a_scenario_extending_itself_is_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let me = write(dir.path(), "me.yaml", "extends: me.yaml\n");
    let errors = load(&me).unwrap_err();
    let e = errors.errors().next().unwrap();
    assert_eq!((e.line, e.column), (1, 10));
    assert!(e.message.contains("makes a cycle"), "{e}");
}
