//! Helpers the command-line tests share: running the binary, privileges, and looking for
//! what a lab may have left behind.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn routelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_routelab"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("routelab runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// True when the test may create namespaces; otherwise prints why it is skipped (or fails
/// under CI=true).
pub fn privileged(test: &str) -> bool {
    if routelab_lab::net::netns::can_create_namespaces() {
        return true;
    }
    routelab_lab::skip_or_fail_without_root(test);
    false
}

/// BIRD processes whose command line mentions `needle` (a lab's runtime directory).
pub fn bird_processes_mentioning(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("bird") && cmdline.contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

/// Temp directories of labs of scenario `name` that still exist.
pub fn runtime_dirs_of(name: &str) -> Vec<PathBuf> {
    let prefix = format!("routelab-{name}-");
    std::fs::read_dir(routelab_lab::userns::temp_base())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// Writes a one-router scenario named `name` whose expectation cannot hold for two
/// minutes, so a run of it is surely still checking when the test interferes.
pub fn long_running_scenario(dir: &Path, name: &str) -> PathBuf {
    let scenario = dir.join(format!("{name}.yaml"));
    let fixtures = root().join("fixtures/route-reflector");
    std::fs::write(
        &scenario,
        format!(
            "name: {name}\ndefaults: {{ deadline: 120s }}\nnodes:\n  rr:\n    kind: router\n    bird: {{ config: {}/rr.conf }}\nexpect:\n  - bgp: {{ node: rr, protocol: to_ext }}\n",
            fixtures.display()
        ),
    )
    .unwrap();
    scenario
}

/// Waits until a BIRD of lab `name` runs: then the lab is built and checking has begun.
pub fn wait_for_bird_of(name: &str) {
    let started = Instant::now();
    while bird_processes_mentioning(&format!("routelab-{name}-")).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the lab never came up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that no BIRD and no runtime directory of lab `name` is left after `event`.
pub fn assert_nothing_left_of(name: &str, event: &str) {
    assert!(
        bird_processes_mentioning(&format!("routelab-{name}-")).is_empty(),
        "BIRD survived {event}"
    );
    assert!(
        runtime_dirs_of(name).is_empty(),
        "runtime directory survived {event}"
    );
}

/// Runs `routelab check` on every `DIR/NAME.yaml` of a corpus under `tests/` and returns
/// a message for each case whose exit code is not `exit` or whose standard error is not
/// exactly `NAME.stderr`. Panics when the corpus has fewer than `at_least` cases.
pub fn corpus_failures(dir: &str, exit: i32, at_least: usize) -> Vec<String> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root().join("tests").join(dir))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= at_least, "tests/{dir} is missing cases");
    let mut failures = Vec::new();
    for case in &cases {
        let rel = case
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let out = routelab(&["check", &rel]);
        let expected = std::fs::read_to_string(case.with_extension("stderr"))
            .unwrap_or_else(|_| panic!("{rel} has no .stderr file"));
        let got = text(&out.stderr);
        if out.status.code() != Some(exit) || got != expected {
            failures.push(format!(
                "{rel}: exit {:?}\n--- expected\n{expected}--- got\n{got}",
                out.status.code()
            ));
        }
    }
    failures
}
