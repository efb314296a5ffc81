//! Build-and-teardown speed: routelab's netlink apply against the same topology built by
//! an equivalent `ip`(8) shell script, for a chain and a star of N routers, plus the seed
//! 002 network (BIRD convergence excluded). Prints figures; asserts nothing about time.
//!
//! Run as root: `cargo bench --bench build` (or `-- --quick` for one round of N = 10).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use routelab_lab::lab::{Lab, Mode};
use routelab_model::plan::Plan;

/// A scenario of `n` routers in a line, each pair joined by a /30 wire.
fn chain(n: usize) -> String {
    let mut y = format!("name: chain-{n}\nnodes:\n");
    for i in 0..n {
        let _ = writeln!(y, "  r{i}: {{ kind: router }}");
    }
    y.push_str("links:\n");
    for i in 0..n.saturating_sub(1) {
        let (a, b) = wire_addresses(i);
        let _ = writeln!(
            y,
            "  - wire: {{ name: l{i}, ends: [{{ node: r{i}, addresses: [{a}/30] }}, {{ node: r{}, addresses: [{b}/30] }}] }}",
            i + 1
        );
    }
    // A static route on every router towards the far end, like a real chain would need.
    y
}

/// A hub router with `n - 1` spokes, each on its own /30 wire.
fn star(n: usize) -> String {
    let mut y = format!("name: star-{n}\nnodes:\n  hub: {{ kind: router }}\n");
    for i in 1..n {
        let _ = writeln!(y, "  s{i}: {{ kind: router }}");
    }
    y.push_str("links:\n");
    for i in 1..n {
        let (a, b) = wire_addresses(i);
        let _ = writeln!(
            y,
            "  - wire: {{ name: l{i}, ends: [{{ node: hub, addresses: [{a}/30] }}, {{ node: s{i}, addresses: [{b}/30] }}] }}",
        );
    }
    y
}

fn wire_addresses(i: usize) -> (String, String) {
    let base = 4 * i as u32;
    let net = u32::from(std::net::Ipv4Addr::new(10, 0, 0, 0)) + base;
    (
        std::net::Ipv4Addr::from(net + 1).to_string(),
        std::net::Ipv4Addr::from(net + 2).to_string(),
    )
}

fn plan_of(name: &str, yaml: &str) -> Plan {
    let (scenario, _) =
        routelab_model::scenario::load_str(Path::new(&format!("{name}.yaml")), yaml)
            .unwrap_or_else(|d| panic!("{d}"));
    routelab_model::planner::plan(&scenario)
}

/// The same plan as `ip` commands, one per operation, as a person would script it.
fn ip_script(plan: &Plan, prefix: &str) -> (String, String) {
    let ns = |n: &str| format!("{prefix}-{n}");
    let mut up = String::from("set -e\n");
    for n in &plan.namespaces {
        let _ = writeln!(up, "ip netns add {}", ns(&n.name));
        let _ = writeln!(up, "ip -n {} link set lo up", ns(&n.name));
    }
    for s in &plan.sysctls {
        let _ = writeln!(
            up,
            "ip netns exec {} sysctl -qw {}={}",
            ns(&s.ns),
            s.key,
            s.value
        );
    }
    for b in &plan.bridges {
        let _ = writeln!(
            up,
            "ip -n {} link add {} mtu {} type bridge",
            ns(&b.ns),
            b.name,
            b.mtu
        );
        let _ = writeln!(up, "ip -n {} link set {} up", ns(&b.ns), b.name);
    }
    for v in &plan.veths {
        let _ = writeln!(
            up,
            "ip -n {} link add {} mtu {} type veth peer name {} netns {}",
            ns(&v.a.ns),
            v.a.name,
            v.a.mtu,
            v.b.name,
            ns(&v.b.ns)
        );
        let _ = writeln!(
            up,
            "ip -n {} link set {} mtu {}",
            ns(&v.b.ns),
            v.b.name,
            v.b.mtu
        );
        if let Some(br) = &v.b.bridge {
            let _ = writeln!(
                up,
                "ip -n {} link set {} master {}",
                ns(&v.b.ns),
                v.b.name,
                br
            );
        }
        let _ = writeln!(up, "ip -n {} link set {} up", ns(&v.a.ns), v.a.name);
        let _ = writeln!(up, "ip -n {} link set {} up", ns(&v.b.ns), v.b.name);
    }
    for a in &plan.addresses {
        let _ = writeln!(
            up,
            "ip -n {} addr add {} dev {}",
            ns(&a.ns),
            a.address,
            a.interface
        );
    }
    for r in &plan.routes {
        let mut line = format!("ip -n {} route add {}", ns(&r.ns), r.to);
        if r.blackhole {
            line = format!("ip -n {} route add blackhole {}", ns(&r.ns), r.to);
        } else if r.via.len() > 1 {
            for v in &r.via {
                let _ = write!(line, " nexthop via {v}");
            }
        } else if let Some(v) = r.via.first() {
            let _ = write!(line, " via {v}");
        }
        let _ = writeln!(up, "{line}");
    }
    let mut down = String::new();
    for n in &plan.namespaces {
        let _ = writeln!(down, "ip netns del {}", ns(&n.name));
    }
    (up, down)
}

/// Runs a script with sh, fed on stdin (a 200-node script is too long for `sh -c`).
fn sh(script: &str) -> Duration {
    use std::io::Write as _;
    let started = Instant::now();
    let mut child = Command::new("sh")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sh runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())
        .expect("sh reads the script");
    assert!(
        child.wait().expect("sh ends").success(),
        "the ip script failed"
    );
    started.elapsed()
}

/// Build + teardown with routelab, returning (build, teardown).
fn routelab_once(rt: &tokio::runtime::Runtime, plan: &Plan) -> (Duration, Duration) {
    let started = Instant::now();
    let lab = rt
        .block_on(Lab::build(plan, Mode::Ephemeral))
        .unwrap_or_else(|e| panic!("building {}: {e}", plan.scenario));
    let built = started.elapsed();
    let started = Instant::now();
    drop(lab);
    (built, started.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if !routelab_lab::net::netns::can_create_namespaces() {
        eprintln!("bench skipped: needs root to create network namespaces");
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 1 } else { 3 };
    let sizes: &[usize] = if quick { &[10] } else { &[10, 50, 200] };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    println!(
        "{:<12} {:>6} {:>16} {:>16} {:>16} {:>8}",
        "topology", "nodes", "routelab/node", "ip script/node", "routelab total", "ratio"
    );
    for &n in sizes {
        for (kind, yaml) in [("chain", chain(n)), ("star", star(n))] {
            let plan = plan_of(&format!("{kind}-{n}"), &yaml);
            let nodes = plan.namespaces.len() as u32;
            let mut ours = Vec::new();
            let mut theirs = Vec::new();
            for round in 0..rounds {
                let (b, t) = routelab_once(&rt, &plan);
                ours.push(b + t);
                let prefix = format!("rlbench{}-{round}", std::process::id());
                let (up, down) = ip_script(&plan, &prefix);
                theirs.push(sh(&up) + sh(&down));
            }
            let ours = median(ours);
            let theirs = median(theirs);
            println!(
                "{:<12} {:>6} {:>13.3} ms {:>13.3} ms {:>13.1} ms {:>7.1}x",
                kind,
                nodes,
                ours.as_secs_f64() * 1e3 / f64::from(nodes),
                theirs.as_secs_f64() * 1e3 / f64::from(nodes),
                ours.as_secs_f64() * 1e3,
                theirs.as_secs_f64() / ours.as_secs_f64()
            );
        }
    }

    // Seed 002 (scenarios/as-per-rack.yaml) without its daemons: the network only.
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/as-per-rack.yaml");
    let (scenario, _) = routelab_model::scenario::load(&file).unwrap_or_else(|d| panic!("{d}"));
    let mut plan = routelab_model::planner::plan(&scenario);
    plan.daemons.clear();
    let runs: Vec<(Duration, Duration)> = (0..rounds.max(5))
        .map(|_| routelab_once(&rt, &plan))
        .collect();
    let build = median(runs.iter().map(|r| r.0).collect());
    let teardown = median(runs.iter().map(|r| r.1).collect());
    println!(
        "seed 002 network ({} namespaces, {} veths): build {:.1} ms + teardown {:.1} ms = {:.1} ms (median of {})",
        plan.namespaces.len(),
        plan.veths.len(),
        build.as_secs_f64() * 1e3,
        teardown.as_secs_f64() * 1e3,
        (build + teardown).as_secs_f64() * 1e3,
        runs.len()
    );
}
