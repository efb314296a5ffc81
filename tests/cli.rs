//! The `routelab` command line as users and CI scripts see it: exit codes, messages, the
//! bad-input corpus, a broken scenario's diagnosis, and the lifecycle guarantees (nothing
//! left behind after success, failure, Ctrl-C or a panic; the host namespace untouched).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::*;

#[test]
fn check_accepts_every_shipped_scenario() {
    let files = routelab_model::scenario::files_in(&root().join("scenarios")).unwrap();
    let mut args = vec!["check".to_string()];
    args.extend(files.iter().map(|f| f.to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = routelab(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.matches(": ok: scenario").count(),
        files.len(),
        "{stdout}"
    );
}

/// Every `tests/bad-input/NAME.yaml` must be rejected by `routelab check` with exit 2 and
/// exactly the messages in `NAME.stderr`.
#[test]
fn bad_input_corpus() {
    let failures = corpus_failures("bad-input", 2, 60);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_bad_bird_config_is_reported_with_birds_own_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("r.conf"),
        "router id 10.0.0.1;\nprotocol bgp {\n  frobnicate;\n}\n",
    )
    .unwrap();
    let scenario = dir.path().join("s.yaml");
    std::fs::write(
        &scenario,
        "nodes:\n  r:\n    kind: router\n    bird: { config: r.conf }\n",
    )
    .unwrap();
    let out = routelab(&["check", scenario.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("BIRD rejects the config of node `r`"), "{err}");
    // BIRD's own words, with its file:line:column.
    assert!(err.contains("r.conf:3:"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
}

/// What no corpus file can be: a FIFO, a device or a directory given as the scenario (or
/// as what it names) is refused at once rather than read for ever or blocked on.
#[test]
fn non_regular_files_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("scenario.yaml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    for (given, kind) in [
        (fifo.to_str().unwrap(), "a FIFO"),
        ("/dev/zero", "a character device"),
        ("tests", "a directory"),
    ] {
        let started = Instant::now();
        let out = routelab(&["check", given]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{given}: {err}");
        assert_eq!(
            err,
            format!(
                "{given}: error: cannot read the scenario: this is {kind}, not a regular file; \
                 give the path of a file\n"
            )
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{given} was read"
        );
    }
    // A FIFO as a BIRD config, a Calico manifest, and a file a BIRD config includes.
    let conf = dir.path().join("r.conf");
    std::fs::write(&conf, "router id 10.0.0.1;\ninclude \"scenario.yaml\";\n").unwrap();
    let cases = [
        (
            "nodes:\n  r: { kind: router, bird: { config: scenario.yaml } }\n",
            "s.yaml:2:38: error: BIRD config `scenario.yaml`: this is a FIFO",
        ),
        (
            "nodes:\n  r: { kind: router, bird: { config: r.conf } }\n",
            "r.conf:2:1: error: BIRD config of node `r`: include: ",
        ),
        (
            "calico: { resources: [scenario.yaml] }\nnodes:\n  n: { kind: calico }\n",
            "s.yaml:1:23: error: Calico resources: ",
        ),
    ];
    for (scenario, expected) in cases {
        let file = dir.path().join("s.yaml");
        std::fs::write(&file, scenario).unwrap();
        let out = routelab(&["check", file.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(expected), "{expected:?} not in: {err}");
        assert!(err.contains("FIFO"), "{err}");
    }
}

/// A YAML file over the reader's node budget says so in words.
#[test]
fn an_enormous_yaml_file_is_too_large_not_a_budget_breach() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.yaml");
    let addresses = vec!["10.0.0.1/32"; 260_000].join(",");
    std::fs::write(
        &file,
        format!("nodes:\n  a:\n    loopback: [{addresses}]\n"),
    )
    .unwrap();
    let out = routelab(&["check", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: file too large (over 250000 YAML nodes)"),
        "{err}"
    );
    assert!(!err.contains("budget"), "{err}");
}

/// A lab too big for the machine is refused with the estimate, unless `--force`; then
/// the estimate is a warning. (Its numbers depend on the machine, so no corpus file.)
#[test]
fn a_lab_too_big_for_the_machine_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let nodes: String = (0..30)
        .map(|i| format!("  n{i}:\n    kind: calico\n    calico: {{ pods: 4000 }}\n"))
        .collect();
    let members: String = (0..30)
        .map(|i| format!("        - {{ node: n{i}, addresses: [10.0.{i}.1/16] }}\n"))
        .collect();
    let file = dir.path().join("huge.yaml");
    std::fs::write(
        &file,
        format!(
            "calico:\n  resources: [pool.yaml]\nnodes:\n{nodes}links:\n  - bridge:\n      name: lan\n      members:\n{members}"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pool.yaml"),
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.64.0.0/10, blockSize: 20}\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = routelab(&["check", path]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let estimate =
        "120031 namespaces, 120030 veth pairs, 30 BIRD processes, about 35183 MiB of memory";
    assert!(
        err.contains(&format!(
            "huge.yaml:93:21: error: this lab is too big for this machine: it needs {estimate}"
        )),
        "{err}"
    );
    assert!(err.contains("pass --force"), "{err}");
    let out = routelab(&["check", "--force", path]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("warning: this lab needs {estimate}; ")),
        "{err}"
    );
    assert!(err.contains("going ahead as --force asks"), "{err}");
}

/// A lab of more than 50 namespaces that fits the machine gets its estimate as a note, and
/// is not refused: a generated cluster of 25 calico nodes.
#[test]
fn a_large_lab_gets_its_estimate_as_a_note() {
    use routelab_model::generate::{ClusterShape, calico_cluster};
    let generated = calico_cluster(&ClusterShape::new("cli-note", 25)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in &generated.files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let file = dir.path().join(&generated.scenario);
    let out = routelab(&["check", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            "note: this lab needs 52 namespaces, 51 veth pairs, 26 BIRD processes, about 36 MiB \
             of memory"
        ),
        "{err}"
    );
}

/// The checker bites: a route reflector without `next hop self` must fail the run, and the
/// report must show why (the client's route is unreachable with ext's address as next hop).
#[test]
fn broken_route_reflector_fails_with_a_diagnosis() {
    if !privileged("broken_route_reflector_fails_with_a_diagnosis") {
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("report.json");
    let junit = out_dir.path().join("report.xml");
    let out = routelab(&[
        "run",
        "tests/broken/rr-missing-next-hop-self.yaml",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    for needle in [
        "PASS  bgp rr to_client is Established",
        "FAIL  route client 203.0.113.0/24 via 10.0.2.1 proto bird",
        "observed: unreachable 203.0.113.0/24 proto bird",
        "BIRD on client says:",
        "BGP.next_hop: 10.0.1.2",
        "FAIL  ping client -> 203.0.113.10",
        "expectations: 2 passed, 2 failed",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let outcomes = report["scenarios"][0]["phases"][0]["outcomes"]
        .as_array()
        .unwrap();
    assert_eq!(outcomes.iter().filter(|o| o["holds"] == false).count(), 2);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure").count(), 2, "{xml}");
    assert_nothing_left_of("rr-missing-next-hop-self", "a run that failed");
}

/// A negative is judged only once the network has settled, and a failure must be the one
/// it states: the run fails on both, showing what was observed.
#[test]
fn negatives_cannot_pass_vacuously() {
    if !privileged("negatives_cannot_pass_vacuously") {
        return;
    }
    let out = routelab(&["run", "tests/broken/vacuous-negatives.yaml"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    for needle in [
        "FAIL  ping h1 -> 10.2.0.10 size 1300 DF fails",
        "reply from 10.2.0.10",
        "FAIL  ping h1 -> 10.2.0.99 size 1421 DF fails (frag_needed)",
        "expectations: 0 passed, 2 failed",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("[frag_needed]"), "{stdout}");
}

/// `ip` output of everything a lab could conceivably disturb in the host namespace.
fn host_network_state() -> String {
    let mut state = String::new();
    for args in [
        &["-d", "link", "show"][..],
        &["addr", "show"],
        &["route", "show", "table", "all"],
        &["-6", "route", "show", "table", "all"],
        &["rule", "show"],
        &["-6", "rule", "show"],
    ] {
        let out = Command::new("ip").args(args).output().expect("ip runs");
        state.push_str(&text(&out.stdout));
    }
    for sysctl in [
        "net/ipv4/ip_forward",
        "net/ipv4/conf/all/rp_filter",
        "net/ipv6/conf/all/forwarding",
    ] {
        state.push_str(&std::fs::read_to_string(Path::new("/proc/sys").join(sysctl)).unwrap());
    }
    // Link statistics change with unrelated traffic; keep only the lines that describe
    // configuration.
    state
        .lines()
        .filter(|l| !l.trim_start().starts_with("RX") && !l.trim_start().starts_with("TX"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_run_leaves_the_host_namespace_untouched_and_nothing_behind() {
    if !privileged("a_run_leaves_the_host_namespace_untouched_and_nothing_behind") {
        return;
    }
    let before = host_network_state();
    let out = routelab(&["run", "scenarios/ebgp-pair.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(host_network_state(), before, "the host namespace changed");
    assert_nothing_left_of("ebgp-pair", "a run that passed");
    // An ephemeral lab names nothing in /run/netns (other tests' labs may, concurrently).
    let named: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !named.iter().any(|n| n.contains("ebgp-pair")),
        "a named namespace of the run is in /run/netns: {named:?}"
    );
}

/// Ctrl-C in the middle of checking tears the lab down and exits 130.
#[test]
fn interrupting_a_run_tears_the_lab_down() {
    if !privileged("interrupting_a_run_tears_the_lab_down") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = long_running_scenario(dir.path(), "interrupt-me");
    let child = Command::new(env!("CARGO_BIN_EXE_routelab"))
        .args(["run", scenario.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_bird_of("interrupt-me");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("interrupted"));
    assert_nothing_left_of("interrupt-me", "Ctrl-C");
}

/// A panic while a lab is up unwinds through its teardown.
#[test]
fn a_panic_tears_the_lab_down() {
    if !privileged("a_panic_tears_the_lab_down") {
        return;
    }
    let file = root().join("scenarios/route-reflector.yaml");
    let loaded =
        routelab_lab::run::load(&file, &routelab_lab::daemon::BirdSearch::from_env()).unwrap();
    let result = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut lab =
                routelab_lab::lab::Lab::build(&loaded.plan, routelab_lab::lab::Mode::Ephemeral)
                    .await
                    .unwrap();
            lab.start_daemons(&loaded.plan, &loaded.binaries)
                .await
                .unwrap();
            assert!(!bird_processes_mentioning("routelab-route-reflector-").is_empty());
            panic!("deliberate panic with the lab up");
        })
    })
    .join();
    assert!(result.is_err(), "the thread should have panicked");
    assert_nothing_left_of("route-reflector", "a panic");
}

/// `up` leaves a lab that `ip netns`, `birdc` and `routelab exec` can use; `down` removes it.
#[test]
fn up_exec_down() {
    if !privileged("up_exec_down") {
        return;
    }
    let lab = format!("t{}", std::process::id());
    let out = routelab(&["up", "scenarios/route-reflector.yaml", "--lab", &lab]);
    let stdout = text(&out.stdout);
    let cleanup = || routelab(&["down", "--lab", &lab]);
    if out.status.code() != Some(0) {
        cleanup();
        panic!("up failed: {stdout}{}", text(&out.stderr));
    }
    let netns = text(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    );
    let exec = routelab(&[
        "exec",
        &lab,
        "client",
        "--",
        "ip",
        "route",
        "show",
        "203.0.113.0/24",
    ]);
    let socket = format!("/run/routelab/{lab}/rr/bird.ctl");
    let birdc = Command::new("birdc")
        .args(["-s", &socket, "show", "protocols"])
        .output();
    let down = cleanup();
    assert!(netns.contains(&format!("{lab}-client")), "{netns}");
    assert!(stdout.contains(&format!("lab `{lab}` is up")), "{stdout}");
    assert_eq!(exec.status.code(), Some(0), "{}", text(&exec.stderr));
    assert!(
        text(&exec.stdout).contains("via 10.0.2.1"),
        "{}",
        text(&exec.stdout)
    );
    let birdc = birdc.expect("birdc runs");
    assert!(
        text(&birdc.stdout).contains("to_client"),
        "{}",
        text(&birdc.stdout)
    );
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
    let netns = text(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    );
    assert!(
        !netns.contains(&format!("{lab}-")),
        "namespaces left after down: {netns}"
    );
    assert!(!Path::new(&format!("/run/routelab/{lab}")).exists());
    assert!(bird_processes_mentioning(&format!("/run/routelab/{lab}/")).is_empty());
}

/// SIGKILL gives routelab no chance to clean up: its namespaces still vanish (held by
/// descriptors), its BIRDs die with it (parent-death signal), and the next run removes the
/// runtime directory it left.
#[test]
fn a_killed_run_leaves_nothing_the_next_run_does_not_remove() {
    if !privileged("a_killed_run_leaves_nothing_the_next_run_does_not_remove") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = long_running_scenario(dir.path(), "kill-me");
    let mut child = Command::new(env!("CARGO_BIN_EXE_routelab"))
        .args(["run", scenario.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_bird_of("kill-me");
    child.kill().unwrap();
    child.wait().unwrap();
    let started = Instant::now();
    while !bird_processes_mentioning("routelab-kill-me-").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "BIRD outlived a killed routelab"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Its runtime directory is left (a concurrent test's run may already remove it).
    let out = routelab(&["run", "scenarios/mtu-chain.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        runtime_dirs_of("kill-me").is_empty(),
        "the next run did not remove it"
    );
}

/// `routelab calico status` on a lab made by `up` prints calicoctl's table, and plain
/// `birdc` reaches the same BIRD.
#[test]
fn calico_status_of_a_lab_that_is_up() {
    if !privileged("calico_status_of_a_lab_that_is_up") {
        return;
    }
    let lab = format!("c{}", std::process::id());
    let up = routelab(&["up", "scenarios/calico-mesh.yaml", "--lab", &lab]);
    let status = routelab(&["calico", "status", &lab, "node1"]);
    let birdc = Command::new("birdc")
        .args([
            "-s",
            &format!("/run/routelab/{lab}/node1/bird.ctl"),
            "show",
            "protocols",
        ])
        .output();
    let not_calico = routelab(&["calico", "status", &lab, "gateway"]);
    let down = routelab(&["down", "--lab", &lab]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    let table = text(&status.stdout);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    assert!(
        table.starts_with("Calico process is running.\n\nIPv4 BGP status\n"),
        "{table}"
    );
    for peer in ["10.0.0.12", "10.0.0.13"] {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| {peer} ")))
            .unwrap_or_else(|| panic!("no row for {peer} in:\n{table}"));
        assert!(row.contains("| node-to-node mesh | up "), "{row}");
        assert!(row.contains("| Established"), "{row}");
    }
    assert!(table.contains("No IPv6 peers found."), "{table}");
    let birdc = text(&birdc.expect("birdc runs").stdout);
    assert!(birdc.contains("BIRD 1.6.8 ready."), "{birdc}");
    assert!(birdc.contains("Mesh_10_0_0_12"), "{birdc}");
    assert_eq!(
        not_calico.status.code(),
        Some(2),
        "{}",
        text(&not_calico.stderr)
    );
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
}

/// `routelab calico status` on a node that runs BIRD 2 as a router is an error naming
/// the node, not an empty table.
#[test]
fn calico_status_of_a_router_is_an_error() {
    if !privileged("calico_status_of_a_router_is_an_error") {
        return;
    }
    let lab = format!("r{}", std::process::id());
    let up = routelab(&["up", "scenarios/calico-as-per-rack.yaml", "--lab", &lab]);
    let status = routelab(&["calico", "status", &lab, "r2"]);
    let down = routelab(&["down", "--lab", &lab]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    assert_eq!(status.status.code(), Some(2), "{}", text(&status.stdout));
    let stderr = text(&status.stderr);
    assert!(
        stderr.contains("node `r2`") && stderr.contains("is not a calico node"),
        "{stderr}"
    );
    assert!(!text(&status.stdout).contains("No IPv4 peers found"));
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
}

/// calico-ipip needs the kernel's IPIP support. Where the kernel has it (loaded), the
/// scenario runs and must pass; where it has not, it is skipped with the reason, nothing
/// is built, the run of it alone exits 3, and beside a scenario that runs it fails nothing.
#[test]
fn a_scenario_needing_a_kernel_feature_runs_or_is_skipped_with_the_reason() {
    if !privileged("a_scenario_needing_a_kernel_feature_runs_or_is_skipped_with_the_reason") {
        return;
    }
    let before = host_network_state();
    let out = routelab(&["run", "scenarios/calico-ipip.yaml"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    if Path::new("/sys/module/ipip").exists() {
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        assert!(!stdout.contains("SKIP"), "{stdout}");
    } else {
        assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
        assert!(
            stdout.contains("SKIP  not run: this kernel") && stdout.contains("no ipip support"),
            "{stdout}"
        );
        assert!(stdout.contains("1 scenario skipped"), "{stdout}");
        assert!(stderr.contains("nothing was run"), "{stderr}");
        let dir = tempfile::tempdir().unwrap();
        let junit = dir.path().join("junit.xml");
        let out = routelab(&[
            "run",
            "scenarios/calico-ipip.yaml",
            "scenarios/mtu-chain.yaml",
            "--junit",
            junit.to_str().unwrap(),
        ]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
        assert!(stdout.contains("0 failed; 1 scenario skipped"), "{stdout}");
        let xml = std::fs::read_to_string(&junit).unwrap();
        assert!(
            xml.contains("<skipped message=\"this kernel"),
            "the skip and its reason are in the JUnit report:\n{xml}"
        );
    }
    assert_eq!(host_network_state(), before, "the host namespace changed");
    assert_nothing_left_of("calico-ipip", "a skipped or passed run");
}

/// `--shard K/N` takes the K-th of N slices of the sorted files: shown with files that are
/// refused at load, so which ones were taken is in the errors, without building anything.
#[test]
fn run_takes_its_shard_of_the_files() {
    let a = "tests/bad-input/address-ipv4-multicast.yaml";
    let b = "tests/bad-input/address-ipv6-loopback.yaml";
    let c = "tests/bad-input/address-ipv6-multicast.yaml";
    let errors = |shard: &str| {
        // Given out of order: the slices are of the sorted list.
        let out = routelab(&["run", "--shard", shard, c, a, b]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        [a, b, c].map(|f| stderr.contains(f))
    };
    assert_eq!(errors("1/2"), [true, false, true]);
    assert_eq!(errors("2/2"), [false, true, false]);
    assert_eq!(errors("1/1"), [true, true, true]);
    for bad in ["0/2", "3/2", "two"] {
        let out = routelab(&["run", "--shard", bad, a]);
        assert_eq!(out.status.code(), Some(2), "--shard {bad}");
        assert!(
            text(&out.stderr).contains("is not a shard"),
            "--shard {bad}"
        );
    }
}

/// `-j 2` runs two scenarios at once, each in a lab of its own: both pass, each report is
/// one block, and nothing is left of either. (Scenarios no other test here runs, so that
/// the leftovers check sees only this run.)
#[test]
fn run_runs_scenarios_at_once_with_jobs() {
    if !privileged("run_runs_scenarios_at_once_with_jobs") {
        return;
    }
    let out = routelab(&[
        "run",
        "-j",
        "2",
        "scenarios/flannel-host-gw.yaml",
        "scenarios/zerotier-mtu.yaml",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    for name in ["flannel-host-gw", "zerotier-mtu"] {
        assert_eq!(
            stdout.matches(&format!("scenario {name} (")).count(),
            1,
            "{stdout}"
        );
    }
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    assert_nothing_left_of("flannel-host-gw", "a run with -j 2");
    assert_nothing_left_of("zerotier-mtu", "a run with -j 2");
}

/// `--only PATTERN` checks only the expectations whose label contains it; a pattern that
/// matches none is refused before anything is built.
#[test]
fn run_only_checks_the_expectations_it_names() {
    let none = routelab(&[
        "run",
        "--only",
        "no such label",
        "scenarios/ospf-underlay.yaml",
    ]);
    assert_eq!(none.status.code(), Some(2), "{}", text(&none.stderr));
    assert!(
        text(&none.stderr).contains("no expectation's label contains it"),
        "{}",
        text(&none.stderr)
    );
    if !privileged("run_only_checks_the_expectations_it_names") {
        return;
    }
    let out = routelab(&[
        "run",
        "--only",
        "ospf cn-nic",
        "scenarios/ospf-underlay.yaml",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(stdout.matches("PASS  ospf cn-nic").count(), 2, "{stdout}");
    assert!(!stdout.contains("PASS  route"), "{stdout}");
    assert!(
        stdout.contains("expectations: 2 passed, 0 failed"),
        "{stdout}"
    );
}

/// `up --check` leaves a lab whose expectations failed up, and says so in its exit code.
#[test]
fn up_check_exits_1_when_an_expectation_failed_and_keeps_the_lab() {
    if !privileged("up_check_exits_1_when_an_expectation_failed_and_keeps_the_lab") {
        return;
    }
    let lab = "rl-upcheck";
    let out = routelab(&[
        "up",
        "--check",
        "--lab",
        lab,
        "tests/broken/rr-missing-next-hop-self.yaml",
    ]);
    let up_code = out.status.code();
    let kept = netns_names_with(&format!("{lab}-"));
    let down = routelab(&["down", "--lab", lab]);
    assert_eq!(
        up_code,
        Some(1),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains(&format!("lab `{lab}` is up")));
    assert!(!kept.is_empty(), "the lab was not left up");
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
    assert!(netns_names_with(&format!("{lab}-")).is_empty());
}

fn netns_names_with(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// A variant runs for real: ebgp-pair without r2's LAN, written next to nothing but its
/// base's path, still starts r1 and r2 with the base's BIRD configs (relative to the
/// base), and r1 then learns no route to that LAN.
#[test]
fn a_variant_runs_with_its_bases_files() {
    let dir = tempfile::tempdir().unwrap();
    let variant = dir.path().join("ebgp-pair-without-lan.yaml");
    let base = root().join("scenarios/ebgp-pair.yaml");
    std::fs::write(
        &variant,
        format!(
            "extends: {}\n\
             name: variant-no-lan\n\
             remove:\n\
             \x20 nodes: [h2]\n\
             \x20 links: [h2-r2]\n\
             \x20 expect:\n\
             \x20   - route r1 10.2.0.0/24 via 192.0.2.2 proto bird\n\
             \x20   - ping h1 -> 10.2.0.10 reply ttl 62\n\
             \x20   - ping h2 -> 10.1.0.10 reply ttl 62\n\
             \x20   - ping h2 -> 10.255.0.1 fails\n\
             expect:\n\
             \x20 - route: {{ node: r1, prefix: 10.2.0.0/24, absent: true }}\n",
            base.display()
        ),
    )
    .unwrap();
    let file = variant.to_str().unwrap();
    let out = routelab(&["check", "--plan", file]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("3 nodes, 2 links, 5 expectations"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            &root()
                .join("fixtures/ebgp-pair/r1.conf")
                .display()
                .to_string()
        ),
        "the base's BIRD config, relative to the base: {stdout}"
    );
    if !privileged("a_variant_runs_with_its_bases_files") {
        return;
    }
    let out = routelab(&["run", file]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("PASS  bgp r1 r2 is Established"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PASS  route r1 10.2.0.0/24 absent"),
        "{stdout}"
    );
    assert!(
        stdout.contains("expectations: 5 passed, 0 failed"),
        "{stdout}"
    );
}

/// `doctor` probes the machine and says what it means; run as root here (as an ordinary
/// user in tests/rootless.rs).
#[test]
fn doctor_says_what_this_machine_allows() {
    if !privileged("doctor_says_what_this_machine_allows") {
        return;
    }
    let out = routelab(&["doctor"]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    for line in [
        "root", "veth", "bridge", "vxlan", "nftables", "ipip", "BIRD 2",
    ] {
        assert!(said.contains(line), "no `{line}` in:\n{said}");
    }
    assert!(
        said.contains("veth                 yes  created in a throwaway namespace"),
        "{said}"
    );
}
