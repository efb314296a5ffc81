//! The shape of the code, checked: no two modules of a crate import each other (directly
//! or round a longer cycle), and the model crate depends on nothing that touches the
//! machine. Reads the sources as text: a `crate::MODULE` anywhere in a module's files is
//! an edge from that module to MODULE (tests, which may reach anywhere, aside).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src` belongs to (`lib` for lib.rs itself).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Module -> the modules it refers to as `crate::NAME`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let from = module_of(src, &file);
        let name = file.file_name().unwrap().to_string_lossy();
        if name.contains("tests") || name == "testnet.rs" {
            continue; // Tests may reach anywhere.
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        // Comments name other modules without depending on them.
        let text: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let entry = edges.entry(from.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let preceded = text[..i].chars().next_back();
            if preceded.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `routelab_crate::`, not `crate::`
            }
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != from && name != "lib" {
                entry.insert(name);
            }
        }
    }
    edges
}

/// A cycle in the graph, if there is one, as the modules round it.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut c = path[at..].to_vec();
            c.push(node.to_string());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(c) = visit(node, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_module_imports_another_in_a_cycle() {
    for krate in ["harness/model/src", "harness/lab/src"] {
        let edges = graph(&root().join(krate));
        assert!(edges.len() > 5, "{krate}: modules not found");
        if let Some(c) = cycle(&edges) {
            panic!("{krate}: import cycle {}", c.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_finder_finds_one() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(cycle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn the_model_depends_on_nothing_that_touches_the_machine() {
    let manifest = std::fs::read_to_string(root().join("harness/model/Cargo.toml")).unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for forbidden in [
        "tokio",
        "nix",
        "rtnetlink",
        "netlink",
        "libc",
        "routelab-lab",
        "anyhow",
    ] {
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with(forbidden)),
            "the model crate depends on {forbidden}"
        );
    }
    let mut files = Vec::new();
    rust_files(&root().join("harness/model/src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Tests may write scratch files; what ships may not.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for effect in [
            "routelab_lab",
            "std::process::Command",
            "std::fs::write",
            "create_dir",
        ] {
            assert!(
                !text.contains(effect)
                    || f.to_string_lossy().contains("tests")
                    || f.to_string_lossy().contains("props"),
                "{} uses {effect}",
                f.display()
            );
        }
    }
}
