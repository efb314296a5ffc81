//! Scale: generated Calico clusters (mesh off, racks of ~100 on bridges behind one BIRD 2
//! core router reflecting for every node through dynamic BGP neighbours, one pod per node;
//! see `routelab_model::generate`) built, started, checked and torn down by routelab, for
//! N = 50, 100, 250 and 500 calico nodes. Prints per phase the time, the time per node and
//! peak memory (routelab's own high-water mark and the largest sum of its BIRDs' resident
//! sets seen); asserts nothing about time.
//!
//! Run as root: `cargo bench --bench scale` (`-- --nodes 50,100` for other sizes,
//! `--with-1000` to add N = 1000, `--pods P`, `--rack-size S`, `--rack-reflectors` for an
//! in-cluster reflector per rack, `--write-to DIR` to only write each size's scenario to
//! `DIR/N/`, for `routelab up` or `run` by hand). Load average is printed with each row, and a row
//! measured on an overloaded machine (see `routelab_model::machine`) is followed by a line
//! saying so: figures from a busy machine are not figures of routelab.
//!
//! Teardown is the time from the last check to `execute` returning, which is when the
//! lab's daemons are gone and its namespaces released; the kernel may still be freeing
//! namespaces in the background then (it does so in a worker of its own).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use routelab_lab::daemon::BirdSearch;
use routelab_lab::lab::Mode;
use routelab_lab::run;
use routelab_model::generate::{ClusterShape, calico_cluster};

struct Args {
    nodes: Vec<usize>,
    pods: usize,
    rack_size: usize,
    rack_reflectors: bool,
    write_to: Option<std::path::PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        nodes: vec![50, 100, 250, 500],
        pods: 1,
        rack_size: 100,
        rack_reflectors: false,
        write_to: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--nodes" => {
                a.nodes = value()
                    .split(',')
                    .map(|n| n.trim().parse().expect("--nodes N,N,..."))
                    .collect()
            }
            "--with-1000" => a.nodes.push(1000),
            "--pods" => a.pods = value().parse().expect("--pods P"),
            "--rack-size" => a.rack_size = value().parse().expect("--rack-size S"),
            "--rack-reflectors" => a.rack_reflectors = true,
            "--write-to" => a.write_to = Some(value().into()),
            // What `cargo bench` passes to every bench.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// A `/proc/PID/status` field in KiB (`VmHWM`, `VmRSS`).
fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The summed resident set of the BIRDs whose command line names `needle`, and how many.
fn birds_rss_kib(needle: &str) -> (u64, usize) {
    let (mut sum, mut n) = (0, 0);
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline);
        if cmdline.contains("bird") && cmdline.contains(needle) {
            sum += status_kib(&pid, "VmRSS:");
            n += 1;
        }
    }
    (sum, n)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The table's column names.
fn print_header() {
    println!(
        "{:>5} {:>6} {:>8} {:>9} {:>9} {:>9} {:>8} | per node ms: {:>5} {:>6} {:>6} {:>6} | {:>8} {:>9} | load",
        "N",
        "status",
        "build",
        "daemons",
        "checked",
        "teardown",
        "wall",
        "build",
        "daemon",
        "check",
        "down",
        "own MiB",
        "BIRDs MiB"
    );
}

fn main() {
    if !routelab_lab::net::netns::can_create_namespaces() {
        routelab_lab::skip_or_fail_without_root("bench scale");
        return;
    }
    let args = args();
    let mut search = BirdSearch::from_env();
    // A bench runs from the target directory, outside the checkout's `.tools`.
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bird1");
    if search.bird1.is_none() && tools.exists() {
        search.bird1 = Some(tools);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    if args.write_to.is_none() {
        print_header();
    }
    for &n in &args.nodes {
        let shape = ClusterShape {
            name: format!("sd-scale-{n}"),
            nodes: n,
            rack_size: args.rack_size,
            pods: args.pods,
            rack_reflectors: args.rack_reflectors,
        };
        let generated = calico_cluster(&shape).unwrap_or_else(|e| panic!("{e}"));
        if let Some(out) = &args.write_to {
            let dir = out.join(n.to_string());
            std::fs::create_dir_all(&dir).expect("creating the directory to write to");
            for (name, text) in &generated.files {
                std::fs::write(dir.join(name), text).expect("writing the scenario");
            }
            println!("{}", dir.join(&generated.scenario).display());
            continue;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (name, text) in &generated.files {
            std::fs::write(dir.path().join(name), text).expect("writing the scenario");
        }
        let file = dir.path().join(&generated.scenario);
        let load_before = loadavg();
        let started = Instant::now();
        let loaded = match run::load(&file, &search) {
            Ok(l) => l,
            Err(d) => panic!("generated scenario invalid:\n{d}"),
        };
        let loaded_in = started.elapsed();

        // Sampled from outside while the lab runs: the BIRDs' summed resident sets.
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let sampler = {
            let (stop, peak) = (stop.clone(), peak.clone());
            let needle = format!("routelab-{}-", shape.name);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (kib, _) = birds_rss_kib(&needle);
                    peak.fetch_max(kib, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(250));
                }
            })
        };
        let started = Instant::now();
        let span = routelab_lab::machine::Span::begin();
        let (report, _) = runtime.block_on(run::execute(&loaded, Mode::Ephemeral));
        let wall = started.elapsed();
        let overload = span.end();
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        let teardown = wall.saturating_sub(report.build + report.daemons + report.converge);
        let per = |d: Duration| d.as_secs_f64() * 1000.0 / n as f64;
        println!(
            "{:>5} {:>6} {:>7.2}s {:>8.2}s {:>8.2}s {:>8.2}s {:>7.2}s | per node ms: {:>5.1} {:>6.1} {:>6.1} {:>6.1} | {:>8} {:>9} | {} -> {}",
            n,
            if report.ok() { "ok" } else { "FAIL" },
            report.build.as_secs_f64(),
            report.daemons.as_secs_f64(),
            report.converge.as_secs_f64(),
            teardown.as_secs_f64(),
            wall.as_secs_f64(),
            per(report.build),
            per(report.daemons),
            per(report.converge),
            per(teardown),
            status_kib("self", "VmHWM:") / 1024,
            peak.load(Ordering::Relaxed) / 1024,
            load_before,
            loadavg(),
        );
        if let Some(o) = &overload {
            println!("      {o}: figures of N = {n} not clean");
        }
        if let Some(green) = &report.time_to_green {
            println!("      {green}");
        }
        if !report.ok() {
            println!("{}", report.to_text());
        }
        println!(
            "      (load, validate, plan and BIRD's parser: {:.2} s)",
            loaded_in.as_secs_f64()
        );
    }
}
