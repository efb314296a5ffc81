//! The `routelab` command line. Exit codes are an interface other tools rely on:
//! 0 all good, 1 an expectation failed, 2 invalid input, 3 environment problem.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use routelab_lab::daemon::BirdSearch;
use routelab_lab::lab::{self, Blame, Mode};
use routelab_lab::report::{self, ScenarioReport};
use routelab_lab::run::{self, Loaded};

#[path = "regression.rs"]
mod regression;

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_INVALID: u8 = 2;
pub const EXIT_ENVIRONMENT: u8 = 3;
/// As shells report a process ended by SIGINT.
pub const EXIT_INTERRUPTED: u8 = 130;
/// As shells report a process ended by SIGTERM.
pub const EXIT_TERMINATED: u8 = 143;

#[derive(Debug, Parser)]
#[command(
    name = "routelab",
    version,
    about = "Build real networks from scenario files in Linux network namespaces, run BIRD in \
             them, and check routes, BGP sessions, reachability, traceroute paths and path MTU."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// BIRD 2's `bird` binary (default: $ROUTELAB_BIRD2, else the first BIRD 2 on PATH,
    /// /usr/sbin or /usr/local/sbin).
    #[arg(long, global = true, value_name = "PATH")]
    pub bird2: Option<PathBuf>,
    /// BIRD 1.6's `bird` binary or its directory, for calico nodes (default:
    /// $ROUTELAB_BIRD1, else where `ci/install-bird1.sh` unpacks it; see the README).
    #[arg(long, global = true, value_name = "PATH")]
    pub bird1: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate and plan scenario files; needs no privileges. Exit 0 valid, 2 invalid.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print each scenario's plan (namespaces, links, addresses, routes, daemons).
        #[arg(long)]
        plan: bool,
        /// Go ahead with a lab that looks too big for this machine (its estimated
        /// namespaces, processes and memory are printed either way).
        #[arg(long)]
        force: bool,
    },
    /// Build each scenario (a directory: every *.yaml under it, recursively), check its
    /// expectations, tear it down.
    /// Exit 0 all hold, 1 one failed, 2 invalid input, 3 environment problem.
    Run {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write a JUnit XML report here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Write a JSON report here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Go ahead with a lab that looks too big for this machine (its estimated
        /// namespaces, processes and memory are printed either way).
        #[arg(long)]
        force: bool,
        /// Print no progress while running (the report at the end is printed all the same).
        #[arg(long, short)]
        quiet: bool,
        /// When a scenario fails, leave its lab up (as `up` does, named after the
        /// scenario) and print how to enter it; remove it with `routelab down`.
        #[arg(long)]
        keep_on_failure: bool,
        /// Keep every node's kernel routes, BIRD protocol states, BIRD log and configuration
        /// under DIR/<scenario>/<node>/, as the lab was at the end, for CI to upload.
        #[arg(long, value_name = "DIR")]
        artifacts: Option<PathBuf>,
        /// Run this many scenarios at once, each in a lab of its own (default: one per
        /// core). Each report is printed as a block when its scenario finishes.
        #[arg(long, short = 'j', value_name = "N")]
        jobs: Option<usize>,
        /// Run only the K-th of N slices of the files (sorted by path), e.g. `--shard 2/4`
        /// on the second of four CI machines.
        #[arg(long, value_name = "K/N")]
        shard: Option<crate::suite::Shard>,
        /// Check only the expectations whose label contains PATTERN (as the report
        /// prints them, e.g. `bgp r1`); a timeline's steps are still all applied.
        #[arg(long, value_name = "PATTERN")]
        only: Option<String>,
    },
    /// Build a scenario and leave it running (namespaces `<lab>-<node>` in `ip netns`).
    Up {
        file: PathBuf,
        /// Lab name; defaults to the scenario's name.
        #[arg(long)]
        lab: Option<String>,
        /// Go ahead with a lab that looks too big for this machine (its estimated
        /// namespaces, processes and memory are printed either way).
        #[arg(long)]
        force: bool,
        /// Exit 1 when an expectation failed (the lab is left up all the same, to look
        /// into); without it, `up` exits 0 once the lab is up.
        #[arg(long)]
        check: bool,
    },
    /// Remove a lab made by `up`: its daemons and namespaces.
    Down {
        /// Lab name; defaults to the only lab that is up.
        #[arg(long)]
        lab: Option<String>,
    },
    /// Run a command inside a node of a lab made by `up`.
    Exec {
        lab: String,
        node: String,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Predict path MTUs from a scenario file alone, for the endpoints its MTU expectations
    /// name (or every pair of nodes): the path assumed (the file's routes, else fewest
    /// hops), path MTU, unfragmented size, the encapsulations hop by hop, and the pod MTU
    /// each CNI encapsulation leaves. Needs no privileges.
    Mtu { file: PathBuf },
    /// Draw a scenario's topology: Mermaid (renders in a GitHub README or pull request) or
    /// Graphviz DOT, on standard output. Needs no privileges.
    Graph {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = crate::workbench::GraphFormat::Mermaid)]
        format: crate::workbench::GraphFormat,
        /// Draw BGP sessions (from the nodes' BIRD configurations) as dashed edges.
        #[arg(long)]
        bgp: bool,
    },
    /// Build, converge and capture the observed state after each phase (sessions, routes,
    /// BIRD's best routes, reachability, paths, path MTU, timings), then tear down.
    /// Exit as `run`.
    Snapshot(regression::SnapshotArgs),
    /// The keyed difference of two snapshots, or of a scenario at a git revision (or in a
    /// directory) and in the working tree. Exit 0 no difference, 1 differences (or the
    /// working tree's expectations failed), 2 invalid input, 3 environment.
    Diff(regression::DiffArgs),
    /// Mock calico-node: what Calico would run on a node, given your manifests.
    #[command(subcommand)]
    Calico(CalicoCommand),
    /// What this machine allows: root or not, user namespaces, kernel features (probed in
    /// a throwaway namespace), BIRD binaries, and which scenarios can therefore run.
    /// Exit 0 when scenarios can run here, 3 when none can.
    Doctor,
}

impl Command {
    /// Whether the command builds labs, so that without root it runs in a user namespace.
    fn builds_labs(&self) -> bool {
        matches!(
            self,
            Command::Run { .. } | Command::Snapshot(_) | Command::Diff(_) | Command::Doctor
        )
    }

    /// The commands that keep a lab up past the process, which a user namespace cannot.
    fn keeps_labs(&self) -> Option<&'static str> {
        match self {
            Command::Up { .. } => Some("up"),
            Command::Down { .. } => Some("down"),
            Command::Exec { .. } => Some("exec"),
            Command::Calico(CalicoCommand::Status { .. }) => Some("calico status"),
            Command::Run {
                keep_on_failure: true,
                ..
            } => Some("run --keep-on-failure"),
            _ => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CalicoCommand {
    /// Render the BIRD configuration calico-node's confd would write for NODE:
    /// bird.cfg, bird_aggr.cfg, bird_ipam.cfg and their bird6 twins.
    Render {
        /// Files with Calico resources (BGPConfiguration, BGPPeer, BGPFilter, IPPool, Node,
        /// the operator's Installation); multi-document YAML. Other Kubernetes kinds are
        /// skipped; a kind or apiVersion Calico does not have is an error.
        #[arg(long = "resources", required = true, num_args = 1..)]
        resources: Vec<PathBuf>,
        /// The Node resource to render for.
        #[arg(long)]
        node: String,
        /// Directory to write the six files into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// An IPAM block affine to the node, `CIDR[:STATE]` (STATE: confirmed, pending,
        /// none, pendingDeletion). Repeatable. Without any, no block is affine to the node:
        /// the files render as for a node that has not been given one yet (no aggregate
        /// or blackhole routes). To render what a lab runs, with IPAM, see `check --plan`.
        #[arg(long = "block")]
        blocks: Vec<String>,
        /// A calico-node environment variable, `KEY=VALUE` (e.g. CALICO_ROUTER_ID=hash).
        #[arg(long = "env")]
        env: Vec<String>,
    },
    /// A calico node's BGP peers in a lab made by `up`, as `calicoctl node status` shows them.
    Status { lab: String, node: String },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rootless = !nix::unistd::geteuid().is_root() || routelab_lab::userns::confined().is_some();
    if rootless && let Some(command) = cli.command.keeps_labs() {
        eprintln!(
            "routelab: `{command}` needs root: a lab kept up outlives the process, and without \
             root routelab builds labs in a user namespace that ends with it (`ip netns` could \
             not see them either); use `routelab run` (with --artifacts to keep what the lab \
             showed), or sudo"
        );
        return ExitCode::from(EXIT_ENVIRONMENT);
    }
    let mut userns_error = None;
    // Before anything starts a thread (tracing, tokio, probes): the kernel lets only a
    // single-threaded process into a new user namespace.
    if cli.command.builds_labs()
        && let Err(e) = routelab_lab::userns::enter()
    {
        if !matches!(cli.command, Command::Doctor) {
            eprintln!("routelab: {e}");
            return ExitCode::from(EXIT_ENVIRONMENT);
        }
        userns_error = Some(e.to_string());
    }
    init_logging();
    let mut search = BirdSearch::from_env();
    if let Some(p) = cli.bird2 {
        search.bird2 = Some(p);
    }
    if let Some(p) = cli.bird1 {
        search.bird1 = Some(p);
    }
    let search = &search;
    ExitCode::from(match cli.command {
        Command::Check { files, plan, force } => check(&files, plan, search, force),
        Command::Run {
            files,
            junit,
            json,
            force,
            quiet,
            keep_on_failure,
            artifacts,
            jobs,
            shard,
            only,
        } => match crate::workbench::scenario_files(&files) {
            Err(code) => code,
            Ok(files) => run(
                &crate::suite::take_shard(files, shard),
                junit,
                json,
                search,
                RunOptions {
                    force,
                    quiet,
                    keep_on_failure,
                    artifacts,
                    jobs: jobs.unwrap_or_else(crate::suite::default_jobs).max(1),
                    only,
                },
            ),
        },
        Command::Up {
            file,
            lab,
            force,
            check,
        } => up(&file, lab, search, force, check),
        Command::Down { lab } => down(lab),
        Command::Exec { lab, node, command } => exec(&lab, &node, &command),
        Command::Mtu { file } => mtu(&file),
        Command::Graph { file, format, bgp } => crate::workbench::graph(&file, format, bgp),
        Command::Snapshot(args) => regression::snapshot(args, search),
        Command::Diff(args) => regression::diff(args, search),
        Command::Calico(CalicoCommand::Render {
            resources,
            node,
            out,
            blocks,
            env,
        }) => {
            match routelab_model::calico::render_command(&resources, &node, &blocks, &env)
                .map_err(anyhow::Error::from)
                .and_then(|(rendered, warnings)| {
                    for w in warnings {
                        eprintln!("routelab: warning: {w}");
                    }
                    write_rendered(&rendered, &out)
                }) {
                Ok(()) => {
                    println!(
                        "wrote bird.cfg, bird_aggr.cfg, bird_ipam.cfg and bird6 twins to {}",
                        out.display()
                    );
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("routelab: {e:#}");
                    EXIT_INVALID
                }
            }
        }
        Command::Calico(CalicoCommand::Status { lab, node }) => calico_status(&lab, &node),
        Command::Doctor => {
            let survey = routelab_lab::doctor::Survey::take(search, userns_error);
            print!("{survey}");
            if survey.can_run() {
                EXIT_OK
            } else {
                EXIT_ENVIRONMENT
            }
        }
    })
}

/// `ROUTELAB_LOG` (`info`, `debug`, `trace`, or tracing's filter syntax such as
/// `routelab_lab=debug`) chooses what is logged on standard error, with timestamps;
/// unset, only warnings. Colour only when standard error is a terminal.
fn init_logging() {
    use std::io::IsTerminal;
    // A look cut short at the end of a phase leaves netlink answers nobody waits for; the
    // netlink library warns of each, which tells a user nothing, unless asked for by name.
    const QUIET_NETLINK: &str = "netlink_proto=error";
    let filter = match std::env::var("ROUTELAB_LOG") {
        Ok(given) if !given.trim().is_empty() => {
            let given = if given.contains("netlink_proto") {
                given
            } else {
                format!("{given},{QUIET_NETLINK}")
            };
            match tracing_subscriber::EnvFilter::try_new(&given) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!(
                        "routelab: ROUTELAB_LOG={given:?} is not a log filter ({e}); logging warnings only"
                    );
                    tracing_subscriber::EnvFilter::new(format!("warn,{QUIET_NETLINK}"))
                }
            }
        }
        _ => tracing_subscriber::EnvFilter::new(format!("warn,{QUIET_NETLINK}")),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Writes the six files of `calico render` into `dir` (created if missing).
fn write_rendered(
    rendered: &routelab_model::calico::RenderedConfig,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in rendered.files() {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Loads every file, printing diagnostics; `None` if any is invalid.
fn load_all(files: &[PathBuf], search: &BirdSearch, force: bool) -> Option<Vec<Loaded>> {
    let mut loaded = Vec::new();
    let mut ok = true;
    for f in files {
        match routelab_lab::preflight::load(f, search, force) {
            Ok(l) => {
                eprint!("{}", l.warnings);
                loaded.push(l);
            }
            Err(d) => {
                eprint!("{d}");
                ok = false;
            }
        }
    }
    ok.then_some(loaded)
}

fn mtu(file: &std::path::Path) -> u8 {
    match routelab_model::scenario::load(file) {
        Ok((scenario, warnings)) => {
            eprint!("{warnings}");
            print!(
                "{}",
                routelab_model::mtu::report(&scenario, &scenario.expectations)
            );
            EXIT_OK
        }
        Err(d) => {
            eprint!("{d}");
            EXIT_INVALID
        }
    }
}

/// What `check --plan` lists after the plan: each phase's expectations by label, the
/// text `run --only` matches and a variant's `remove: { expect: [...] }` names.
#[derive(serde::Serialize)]
struct ExpectationLabels<'a> {
    expect: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<StepLabels<'a>>,
}

#[derive(serde::Serialize)]
struct StepLabels<'a> {
    step: &'a str,
    expect: Vec<&'a str>,
}

impl<'a> ExpectationLabels<'a> {
    fn of(s: &'a routelab_model::scenario::Scenario) -> ExpectationLabels<'a> {
        let labels = |e: &'a [routelab_model::expect::Expectation]| {
            e.iter().map(|e| e.label.as_str()).collect()
        };
        ExpectationLabels {
            expect: labels(&s.expectations),
            steps: s
                .steps
                .iter()
                .map(|step| StepLabels {
                    step: &step.name,
                    expect: labels(&step.expectations),
                })
                .collect(),
        }
    }
}

fn check(files: &[PathBuf], print_plan: bool, search: &BirdSearch, force: bool) -> u8 {
    let Some(loaded) = load_all(files, search, force) else {
        return EXIT_INVALID;
    };
    for l in &loaded {
        let s = &l.scenario;
        println!(
            "{}: ok: scenario `{}`: {} nodes, {} links, {} expectations",
            s.file.display(),
            s.name,
            s.nodes.len(),
            s.links.len(),
            s.expectations.len()
        );
        for why in routelab_lab::env::missing_kernel_features(&l.scenario, &l.plan) {
            println!("  note: `routelab run` will skip it on this machine: {why}");
        }
        if print_plan {
            match serde_saphyr::to_string(&l.plan) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("cannot print the plan: {e}"),
            }
            match serde_saphyr::to_string(&ExpectationLabels::of(s)) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("cannot print the expectations: {e}"),
            }
        }
    }
    EXIT_OK
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be built")
}

/// SIGINT and SIGTERM, caught from the start of a command that builds labs: before
/// anything is created, so an early signal too ends in an orderly teardown (and the
/// removal of temporary files) instead of the default sudden death.
struct Signals {
    runtime: tokio::runtime::Runtime,
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

/// A signal that ended a command, and the exit code shells give a process it ends.
#[derive(Debug, Clone, Copy)]
enum Caught {
    Interrupt,
    Terminate,
}

impl Caught {
    fn exit_code(self) -> u8 {
        match self {
            Caught::Interrupt => EXIT_INTERRUPTED,
            Caught::Terminate => EXIT_TERMINATED,
        }
    }
}

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = runtime();
        let _entered = runtime.enter();
        let interrupt = signal(SignalKind::interrupt()).expect("SIGINT handler installs");
        let terminate = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
        drop(_entered);
        Signals {
            runtime,
            interrupt,
            terminate,
        }
    }

    /// A signal that arrived while the command was busy with something that cannot be
    /// interrupted (loading, BIRD's parser), if any.
    fn pending(&mut self) -> Option<Caught> {
        use futures::FutureExt;
        let _entered = self.runtime.enter();
        if self.interrupt.recv().now_or_never().is_some() {
            return Some(Caught::Interrupt);
        }
        self.terminate
            .recv()
            .now_or_never()
            .is_some()
            .then_some(Caught::Terminate)
    }

    /// Runs `work` until it finishes or a signal arrives; then `work` is dropped, which
    /// tears its lab down.
    fn run<T>(&mut self, work: impl std::future::Future<Output = T>) -> Result<T, Caught> {
        let Signals {
            runtime,
            interrupt,
            terminate,
        } = self;
        runtime.block_on(async {
            tokio::select! {
                out = work => Ok(out),
                _ = interrupt.recv() => Err(Caught::Interrupt),
                _ = terminate.recv() => Err(Caught::Terminate),
            }
        })
    }
}

/// A report file, opened before anything is built so that a path that cannot be written
/// is said at once (exit 3), not after a run whose results would then be lost.
struct ReportFile {
    path: PathBuf,
    file: std::fs::File,
}

impl ReportFile {
    fn open(path: Option<PathBuf>, what: &str) -> Result<Option<ReportFile>, u8> {
        let Some(path) = path else {
            return Ok(None);
        };
        match std::fs::File::create(&path) {
            Ok(file) => Ok(Some(ReportFile { path, file })),
            Err(e) => {
                eprintln!(
                    "routelab: cannot write the {what} report to {}: {e}",
                    path.display()
                );
                Err(EXIT_ENVIRONMENT)
            }
        }
    }

    fn write(mut self, text: &str) -> Result<(), u8> {
        use std::io::Write;
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_all())
            .map_err(|e| {
                eprintln!("routelab: writing {}: {e}", self.path.display());
                EXIT_ENVIRONMENT
            })
    }
}

/// The exit code for a scenario's report: 0 all held or skipped, 1 something failed,
/// 2 the kernel or a daemon refused the scenario's input, 3 the machine lacks something.
fn exit_code(report: &ScenarioReport) -> u8 {
    match report.blame() {
        Some(Blame::Input) => EXIT_INVALID,
        Some(Blame::Environment) => EXIT_ENVIRONMENT,
        Some(Blame::Run) => EXIT_FAILED,
        None if report.ok() => EXIT_OK,
        None => EXIT_FAILED,
    }
}

/// How `run` goes about its scenarios.
struct RunOptions {
    force: bool,
    quiet: bool,
    keep_on_failure: bool,
    artifacts: Option<PathBuf>,
    jobs: usize,
    only: Option<String>,
}

fn run(
    files: &[PathBuf],
    junit: Option<PathBuf>,
    json: Option<PathBuf>,
    search: &BirdSearch,
    options: RunOptions,
) -> u8 {
    let RunOptions {
        force,
        quiet,
        keep_on_failure,
        artifacts,
        jobs,
        only,
    } = options;
    let (started_at, clock) = (std::time::SystemTime::now(), std::time::Instant::now());
    let mut signals = Signals::install();
    let (json, junit) = match (
        ReportFile::open(json, "JSON"),
        ReportFile::open(junit, "JUnit"),
    ) {
        (Ok(json), Ok(junit)) => (json, junit),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    if let Some(dir) = &artifacts
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("routelab: cannot keep artifacts in {}: {e}", dir.display());
        return EXIT_ENVIRONMENT;
    }
    let loaded = load_all(files, search, force);
    if let Some(caught) = signals.pending() {
        return caught.exit_code();
    }
    let Some(mut loaded) = loaded else {
        return EXIT_INVALID;
    };
    if let Some(pattern) = &only
        && let Err(code) = crate::suite::keep_only(&mut loaded, pattern)
    {
        return code;
    }
    let plans: Vec<_> = loaded.iter().map(|l| l.plan.clone()).collect();
    if let Err(missing) = routelab_lab::env::check(&plans, search) {
        eprintln!("routelab: {missing}");
        return EXIT_ENVIRONMENT;
    }
    let work = async {
        use futures::StreamExt;
        // Progress lines of scenarios running at once would interleave past reading.
        let jobs = jobs.min(loaded.len()).max(1);
        let progress = (!quiet && jobs == 1).then(crate::progress::Progress::new);
        let events: &dyn routelab_lab::events::Reporter = match &progress {
            Some(p) => p,
            None => &routelab_lab::events::Silent,
        };
        let artifacts = artifacts.as_deref();
        let runs = loaded.iter().enumerate().map(|(i, l)| async move {
            let mode = if keep_on_failure {
                Mode::Persistent {
                    lab: l.scenario.name.clone(),
                }
            } else {
                Mode::Ephemeral
            };
            let (r, state) = run::execute_with(l, mode, events, artifacts).await;
            print!("{}", r.to_text());
            if let Some(state) = state {
                crate::workbench::kept_or_removed(&l.scenario.name, &r, &state);
            }
            (i, r)
        });
        let mut done: Vec<(usize, ScenarioReport)> = futures::stream::iter(runs)
            .buffer_unordered(jobs)
            .collect()
            .await;
        // Reports keep the order of the files, however the runs finished.
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect::<Vec<_>>()
    };
    let reports = match signals.run(work) {
        Ok(reports) => reports,
        Err(caught) => {
            eprintln!("routelab: interrupted; the lab was torn down");
            return caught.exit_code();
        }
    };
    println!("{}", report::summary_line(&reports));
    let run_info = report::RunInfo::ended(started_at, clock);
    tracing::info!(took = ?run_info.wall_time, "run done");
    let mut code = EXIT_OK;
    if let Some(file) = json
        && let Err(c) = file.write(&report::to_json(&reports, &run_info))
    {
        code = c;
    }
    if let Some(file) = junit
        && let Err(c) = file.write(&report::to_junit(&reports, &run_info))
    {
        code = c;
    }
    if code != EXIT_OK {
        return code;
    }
    // Skips alone fail nothing, but a run in which nothing ran proves nothing either.
    if reports.iter().all(|r| r.skipped().is_some()) {
        eprintln!("routelab: nothing was run: this machine lacks what the scenarios need");
        return EXIT_ENVIRONMENT;
    }
    // The most telling code wins: input refused, then the machine, then failures.
    let codes: Vec<u8> = reports.iter().map(exit_code).collect();
    [EXIT_INVALID, EXIT_ENVIRONMENT, EXIT_FAILED]
        .into_iter()
        .find(|c| codes.contains(c))
        .unwrap_or(EXIT_OK)
}

fn up(
    file: &PathBuf,
    lab_name: Option<String>,
    search: &BirdSearch,
    force: bool,
    check: bool,
) -> u8 {
    if let Some(name) = &lab_name
        && let Err(code) = valid_lab(name)
    {
        return code;
    }
    let mut signals = Signals::install();
    let loaded = load_all(std::slice::from_ref(file), search, force);
    if let Some(caught) = signals.pending() {
        return caught.exit_code();
    }
    let Some(mut loaded) = loaded else {
        return EXIT_INVALID;
    };
    let l = loaded.remove(0);
    let lab_name = lab_name.unwrap_or_else(|| l.scenario.name.clone());
    if let Err(code) = valid_lab(&lab_name) {
        return code;
    }
    if let Err(missing) = routelab_lab::env::check(std::slice::from_ref(&l.plan), search) {
        eprintln!("routelab: {missing}");
        return EXIT_ENVIRONMENT;
    }
    let mode = Mode::Persistent {
        lab: lab_name.clone(),
    };
    let (report, state) = match signals.run(run::execute(&l, mode)) {
        Ok(done) => done,
        Err(caught) => {
            eprintln!("routelab: interrupted; the lab was torn down");
            return caught.exit_code();
        }
    };
    print!("{}", report.to_text());
    if let Some(why) = report.skipped() {
        eprintln!("routelab: lab `{lab_name}` not up: {why}");
        return EXIT_ENVIRONMENT;
    }
    if let Some(e) = report.error() {
        eprintln!("routelab: lab `{lab_name}` not up: {e}");
        return match exit_code(&report) {
            EXIT_OK => EXIT_FAILED,
            code => code,
        };
    }
    let Some(state) = state else {
        return EXIT_OK;
    };
    println!("lab `{lab_name}` is up:");
    for ns in &state.namespaces {
        let name = ns
            .path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        println!("  {:<16} ip netns exec {name} ...", ns.name);
    }
    for d in &state.daemons {
        let name = d.name.as_deref().unwrap_or(&d.node);
        println!("  BIRD on {name:<9} birdc -s {}", d.socket.display());
    }
    println!("remove it with: routelab down --lab {lab_name}");
    if check && !report.ok() {
        eprintln!("routelab: lab `{lab_name}` is up, but not every expectation held");
        return EXIT_FAILED;
    }
    EXIT_OK
}

/// A lab name from the command line becomes a directory and namespace names: it must be a
/// plain name before anything is done with it.
fn valid_lab(name: &str) -> Result<(), u8> {
    routelab_model::names::plain("lab", name).map_err(|e| {
        eprintln!("routelab: --lab: {e}");
        EXIT_INVALID
    })
}

fn down(lab_name: Option<String>) -> u8 {
    let lab_name = match lab_name {
        Some(n) => n,
        None => {
            let labs: Vec<String> = std::fs::read_dir(lab::STATE_ROOT)
                .map(|d| {
                    d.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            match labs.as_slice() {
                [one] => one.clone(),
                [] => {
                    eprintln!("routelab: no lab is up");
                    return EXIT_FAILED;
                }
                many => {
                    eprintln!(
                        "routelab: several labs are up ({}); name one with --lab",
                        many.join(", ")
                    );
                    return EXIT_INVALID;
                }
            }
        }
    };
    if let Err(code) = valid_lab(&lab_name) {
        return code;
    }
    match lab::down(&lab_name) {
        Ok(done) => {
            for r in done.removed {
                println!("removed {r}");
            }
            for l in done.left {
                println!("left alone (not routelab's): {l}");
            }
            println!("lab `{lab_name}` is down");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("routelab: {e}");
            EXIT_FAILED
        }
    }
}

fn exec(lab_name: &str, node: &str, command: &[String]) -> u8 {
    if let Err(code) = valid_lab(lab_name) {
        return code;
    }
    let state = match lab::state(lab_name) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("routelab: {e}");
            return EXIT_INVALID;
        }
    };
    let Some(path) = state.namespace(node) else {
        let known: Vec<&str> = state.namespaces.iter().map(|n| n.name.as_str()).collect();
        eprintln!(
            "routelab: lab `{lab_name}` has no node `{node}` (it has: {})",
            known.join(", ")
        );
        return EXIT_INVALID;
    };
    let netns = match routelab_lab::net::Netns::open(path, node) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("routelab: opening {}: {e}", path.display());
            return EXIT_ENVIRONMENT;
        }
    };
    let fd = std::os::fd::AsRawFd::as_raw_fd(&netns);
    let mut cmd = std::process::Command::new(&command[0]);
    cmd.args(&command[1..]);
    // SAFETY: only setns runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || routelab_lab::net::Netns::enter_in_child(fd));
    }
    match cmd.status() {
        Ok(status) => status.code().map_or(EXIT_FAILED, |c| c as u8),
        Err(e) => {
            eprintln!("routelab: running {}: {e}", command[0]);
            127
        }
    }
}

fn calico_status(lab_name: &str, node: &str) -> u8 {
    if let Err(code) = valid_lab(lab_name) {
        return code;
    }
    let state = match lab::state(lab_name) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("routelab: {e}");
            return EXIT_INVALID;
        }
    };
    // calico-node's BIRD, when the node also runs its own beside it.
    let on_node = || state.daemons.iter().filter(|d| d.node == node);
    let calico = on_node().find(|d| d.kind == Some(routelab_model::daemon::DaemonKind::CalicoBird));
    let Some(daemon) = calico.or_else(|| on_node().next()) else {
        eprintln!("routelab: node `{node}` of lab `{lab_name}` runs no BIRD; is it a calico node?");
        return EXIT_INVALID;
    };
    if daemon.kind == Some(routelab_model::daemon::DaemonKind::Bird2) {
        eprintln!(
            "routelab: node `{node}` of lab `{lab_name}` is not a calico node: it runs BIRD 2 \
             with the scenario's own configuration; see its protocols with \
             `birdc -s {} show protocols`",
            daemon.socket.display()
        );
        return EXIT_INVALID;
    }
    let rows = runtime().block_on(async {
        let mut client = routelab_lab::daemon::BirdClient::connect(&daemon.socket).await?;
        client.protocols().await
    });
    match rows {
        Ok(rows) => {
            print!("{}", routelab_model::calico::status::report(&rows));
            EXIT_OK
        }
        Err(e) => {
            println!("Calico process is not running.");
            eprintln!("routelab: BIRD on {node}: {e}");
            EXIT_FAILED
        }
    }
}
