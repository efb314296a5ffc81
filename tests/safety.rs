//! What must not be possible, and what must not go unnoticed: hostile names, crashes of
//! `up` at the worst moment, `down` and namespaces it did not make, daemons without root's
//! file access, a daemon that dies during a run, reports that cannot be written, signals.
//!
//! Tests that touch `/run/netns` use lab names of their own (`s<pid>...`) and check only
//! those, so they run beside other tests and other labs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::*;

fn netns_names() -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn ip_netns(args: &[&str]) {
    let out = Command::new("ip").arg("netns").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip netns {args:?}: {}",
        text(&out.stderr)
    );
}

#[test]
fn hostile_lab_names_are_refused_before_anything_is_touched() {
    let victim = tempfile::tempdir().unwrap();
    std::fs::write(victim.path().join("precious"), "keep me").unwrap();
    let victim_name = victim.path().to_str().unwrap();
    for lab in [victim_name, "", ".", "..", "../etc", "a/b", ".hidden"] {
        for args in [
            vec!["up", "scenarios/ebgp-pair.yaml", "--lab", lab],
            vec!["down", "--lab", lab],
            vec!["exec", lab, "r1", "--", "true"],
            vec!["calico", "status", lab, "n1"],
        ] {
            let out = routelab(&args);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?}: {}",
                text(&out.stderr)
            );
            assert!(
                text(&out.stderr).contains("lab name"),
                "{args:?}: {}",
                text(&out.stderr)
            );
        }
    }
    assert!(
        victim.path().join("precious").exists(),
        "--lab reached a directory"
    );
}

/// `down` removes what its record lists and nothing else: a namespace that merely follows
/// the lab's naming is left alone, with or without a record.
#[test]
fn down_keeps_namespaces_it_did_not_make() {
    if !privileged("down_keeps_namespaces_it_did_not_make") {
        return;
    }
    let lab = format!("s{}k", std::process::id());
    let keep = format!("{lab}-keepme");
    ip_netns(&["add", &keep]);
    let cleanup = || {
        let _ = routelab(&["down", "--lab", &lab]);
        let _ = Command::new("ip").args(["netns", "delete", &keep]).status();
    };
    // No record at all, as after a crash before the first write.
    let down = routelab(&["down", "--lab", &lab]);
    let kept_without_record = netns_names().contains(&keep);
    // With a real lab up.
    let up = routelab(&["up", "scenarios/route-reflector.yaml", "--lab", &lab]);
    let down_after_up = routelab(&["down", "--lab", &lab]);
    let names = netns_names();
    cleanup();
    assert_ne!(down.status.code(), Some(0), "{}", text(&down.stdout));
    assert!(
        text(&down.stderr).contains("no lab named"),
        "{}",
        text(&down.stderr)
    );
    assert!(kept_without_record, "down without a record removed {keep}");
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    assert_eq!(
        down_after_up.status.code(),
        Some(0),
        "{}",
        text(&down_after_up.stderr)
    );
    assert!(names.contains(&keep), "down removed {keep}: {names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with(&format!("{lab}-")) && *n != keep),
        "down left the lab's own namespaces: {names:?}"
    );
}

/// SIGKILL of `up` the moment its first daemon appears, before it can have answered (and
/// perhaps before it was recorded): `down` still leaves no process and no namespace.
#[test]
fn down_after_up_was_killed_as_its_first_daemon_started() {
    if !privileged("down_after_up_was_killed_as_its_first_daemon_started") {
        return;
    }
    let lab = format!("s{}x", std::process::id());
    let needle = format!("/run/routelab/{lab}/");
    let mut up = Command::new(env!("CARGO_BIN_EXE_routelab"))
        .args(["up", "scenarios/ospf-underlay.yaml", "--lab", &lab])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while bird_processes_mentioning(&needle).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no daemon ever started"
        );
        if up.try_wait().unwrap().is_some() {
            panic!("up ended before its first daemon was seen");
        }
        std::thread::yield_now();
    }
    up.kill().unwrap();
    up.wait().unwrap();
    let down = routelab(&["down", "--lab", &lab]);
    let left = bird_processes_mentioning(&needle);
    let names: Vec<String> = netns_names()
        .into_iter()
        .filter(|n| n.starts_with(&format!("{lab}-")))
        .collect();
    assert_eq!(
        down.status.code(),
        Some(0),
        "{}{}",
        text(&down.stdout),
        text(&down.stderr)
    );
    assert!(left.is_empty(), "daemons outlived down: {left:?}");
    assert!(names.is_empty(), "namespaces outlived down: {names:?}");
    assert!(!Path::new(&format!("/run/routelab/{lab}")).exists());
}

/// A scenario's BIRD runs without root's file access: a config that logs into root's home
/// cannot create the file there, and the run says BIRD refused, as invalid input.
#[test]
fn a_daemon_cannot_write_outside_its_sandbox() {
    if !privileged("a_daemon_cannot_write_outside_its_sandbox") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = format!("/root/routelab-hostile-{}", std::process::id());
    let scenario = dir.path().join("hostile.yaml");
    std::fs::write(
        &scenario,
        format!(
            "nodes:\n  r:\n    kind: router\n    bird:\n      inline: |\n        log \"{target}\" all;\n        router id 10.0.0.1;\n        protocol device {{}}\n"
        ),
    )
    .unwrap();
    let out = routelab(&["run", scenario.to_str().unwrap()]);
    let exists = Path::new(&target).exists();
    let _ = std::fs::remove_file(&target);
    let stdout = text(&out.stdout);
    assert!(!exists, "BIRD wrote {target}");
    assert_eq!(out.status.code(), Some(2), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("Permission denied"), "{stdout}");
}

/// A daemon killed in the middle of checking fails the run at once, naming the node and
/// the signal, instead of waiting out the deadline (here two minutes) and passing
/// negatives vacuously.
#[test]
fn a_daemon_that_dies_fails_the_run_at_once() {
    if !privileged("a_daemon_that_dies_fails_the_run_at_once") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = long_running_scenario(dir.path(), "die-early");
    let child = Command::new(env!("CARGO_BIN_EXE_routelab"))
        .args(["run", scenario.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_bird_of("die-early");
    std::thread::sleep(Duration::from_millis(500));
    let killed_at = Instant::now();
    for pid in bird_processes_mentioning("routelab-die-early-") {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let noticed_in = killed_at.elapsed();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        noticed_in < Duration::from_secs(10),
        "the death was noticed only after {noticed_in:?}"
    );
    assert!(
        stdout.contains("ABORT the routing daemon of `rr` exited unexpectedly"),
        "{stdout}"
    );
    assert!(stdout.contains("SIGKILL"), "{stdout}");
    assert_nothing_left_of("die-early", "a daemon's death");
}

/// A report that cannot be written is said before anything is built, with exit 3.
#[test]
fn an_unwritable_report_path_fails_before_building() {
    let out = routelab(&[
        "run",
        "scenarios/ebgp-pair.yaml",
        "--json",
        "/nonexistent-routelab-dir/report.json",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("cannot write the JSON report"), "{err}");
    assert!(
        text(&out.stdout).is_empty(),
        "something ran: {}",
        text(&out.stdout)
    );
    let out = routelab(&[
        "run",
        "scenarios/ebgp-pair.yaml",
        "--junit",
        "/nonexistent-routelab-dir/junit.xml",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

/// SIGTERM during a run exits 143, tears the lab down and leaves no temporary files.
#[test]
fn sigterm_exits_143_and_leaves_nothing() {
    if !privileged("sigterm_exits_143_and_leaves_nothing") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = long_running_scenario(dir.path(), "term-me");
    let child = Command::new(env!("CARGO_BIN_EXE_routelab"))
        .args(["run", scenario.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_bird_of("term-me");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stderr));
    assert_nothing_left_of("term-me", "SIGTERM");
}

/// The sweep of stale runtime directories leaves a live lab's alone, even when its
/// process is invisible here (another PID namespace): the directory's lock says it lives.
#[test]
fn the_stale_sweep_spares_a_locked_directory() {
    if !privileged("the_stale_sweep_spares_a_locked_directory") {
        return;
    }
    let dir = routelab_lab::userns::temp_base().join(format!(
        "routelab-elsewhere-{}-abc",
        u32::MAX - std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let lock = dir.join(".lock");
    std::fs::write(&lock, "").unwrap();
    // The lock's holder is this test, whose pid is not the one in the name: as for a lab
    // in another PID namespace, the name's pid says nothing.
    let holder = nix::fcntl::Flock::lock(
        std::fs::File::open(&lock).unwrap(),
        nix::fcntl::FlockArg::LockExclusiveNonblock,
    )
    .unwrap();
    let out = routelab(&["run", "scenarios/mtu-chain.yaml"]);
    let spared = dir.exists();
    drop(holder);
    let again = routelab(&["run", "scenarios/mtu-chain.yaml"]);
    let removed = !dir.exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(spared, "a locked runtime directory was removed");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    assert!(removed, "an unlocked stale directory was kept");
}

/// What only the kernel can refuse (a sysctl value out of its range) is still the
/// scenario's fault: exit 2, the kernel's words, and where in the file it was asked for.
#[test]
fn input_the_kernel_refuses_is_invalid_input_with_a_position() {
    if !privileged("input_the_kernel_refuses_is_invalid_input_with_a_position") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("ttl.yaml");
    std::fs::write(
        &scenario,
        "nodes:\n  a:\n    sysctls: { net.ipv4.ip_default_ttl: 0 }\n",
    )
    .unwrap();
    let out = routelab(&["run", scenario.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("ttl.yaml:2:3: building the network: sysctl net.ipv4.ip_default_ttl in `a`: Invalid argument"), "{stdout}");
}
