//! Every `scenarios/*.yaml` is a test: build it, check its expectations, tear it down.
//!
//! One libtest test per file, named after it, run in parallel (each lab lives in its own
//! namespaces, so scenarios cannot see each other). `cargo test --test scenarios -- NAME`
//! runs one. Without root the binary first enters a user namespace of its own, as the
//! `routelab` command does, and runs every scenario there; where the machine forbids that,
//! the tests are skipped with the setting to change printed, except under `CI=true`, where
//! that is a failure. A scenario that needs a kernel feature the machine
//! lacks (IPIP for Calico's `tunl0`) is reported as ignored, with the reason.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use routelab_lab::lab::Mode;

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    routelab_model::scenario::files_in(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
}

fn run_scenario(file: &Path) -> Result<Completion, Failed> {
    let loaded = routelab_lab::run::load(file, &routelab_lab::daemon::BirdSearch::from_env())
        .map_err(|d| Failed::from(d.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // This thread lives until the lab is torn down, as BIRD's parent-death signal needs.
    let (report, _) = runtime.block_on(routelab_lab::run::execute(&loaded, Mode::Ephemeral));
    println!("{}", report.to_text());
    if let Some(why) = report.skipped() {
        // A kernel feature this machine lacks: skipped with the reason, also under CI.
        Ok(Completion::ignored_with(why))
    } else if report.ok() {
        Ok(Completion::Completed)
    } else {
        Err(Failed::from(report.to_text()))
    }
}

fn main() {
    // First, before any thread exists: the kernel lets only a single-threaded process into a
    // new user namespace.
    let userns = routelab_lab::userns::enter();
    let args = Arguments::from_args();
    let privileged = routelab_lab::net::netns::can_create_namespaces();
    let why_not = match &userns {
        Err(e) => e.to_string(),
        Ok(_) => routelab_lab::userns::restriction().map_or_else(
            || "creating a network namespace failed".to_string(),
            |r| format!("this machine forbids unprivileged user namespaces: {r}"),
        ),
    };
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let trials = scenario_files()
        .into_iter()
        .map(|file| {
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let skip = !privileged && !in_ci;
            let why_not = why_not.clone();
            Trial::ignorable_test(name, move || {
                if !privileged {
                    return Err(Failed::from(format!(
                        "cannot create network namespaces ({why_not}), and CI=true makes a skip \
                         a failure"
                    )));
                }
                run_scenario(&file)
            })
            .with_ignored_flag(skip)
        })
        .collect::<Vec<_>>();
    if !privileged {
        eprintln!(
            "scenario tests {}: they need root or unprivileged user namespaces to create network \
             namespaces: {why_not}",
            if in_ci { "fail" } else { "are skipped" }
        );
    }
    libtest_mimic::run(&args, trials).exit();
}
