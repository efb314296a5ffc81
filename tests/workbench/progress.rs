//! `run` tells its progress on standard error as expectations are decided, plainly when
//! that is no terminal; `--quiet` tells none; `--keep-on-failure` removes a lab that
//! passed.

use crate::common::{
    assert_nothing_left_of, bird_processes_mentioning, privileged, routelab, text,
};

const PASSING: &str = "name: se-progress
nodes:
  h1: {}
  h2: {}
links:
  - wire:
      name: h1-h2
      ends:
        - { node: h1, addresses: [10.0.0.1/24] }
        - { node: h2, addresses: [10.0.0.2/24] }
expect:
  - ping: { from: h1, to: 10.0.0.2 }
  - ping: { from: h2, to: 10.0.0.1 }
";

#[test]
fn progress_is_told_as_it_happens_and_quiet_tells_none() {
    if !privileged("progress_is_told_as_it_happens_and_quiet_tells_none") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("se-progress.yaml");
    std::fs::write(&file, PASSING).unwrap();
    let file = file.to_str().unwrap();

    let out = routelab(&["run", "--keep-on-failure", file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("se-progress: phase `as built`: 2 expectations"),
        "{stderr}"
    );
    assert!(stderr.contains("  ok    ping h1 -> 10.0.0.2"), "{stderr}");
    assert!(
        stderr.contains("se-progress: phase `as built`: 2 passed, 0 failed"),
        "{stderr}"
    );
    // Not a terminal: no status line, no escape codes.
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    // It passed: nothing kept.
    assert!(!text(&out.stdout).contains("kept lab"));
    assert!(bird_processes_mentioning("se-progress").is_empty());
    assert!(!std::path::Path::new("/run/routelab/se-progress").exists());
    assert!(!std::path::Path::new("/run/netns/se-progress-h1").exists());

    let out = routelab(&["run", "--quiet", file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("phase `as built`"), "{stderr}");
    assert!(text(&out.stdout).contains("se-progress: 2 passed, 0 failed"));
    assert_nothing_left_of("se-progress", "a quiet run");
}
