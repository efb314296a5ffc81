//! The checks of a scenario that need the machine, made by `routelab check` (and before
//! `run` and `up` build anything): BIRD's own parser on every daemon config, the sysctls
//! a fresh network namespace has, nftables' parser on every ruleset (inside a throwaway
//! namespace), and whether the lab fits the machine. Nothing here changes the host: the
//! namespaces made for checking vanish with the thread or process that made them.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;
use routelab_model::footprint::Footprint;
use routelab_model::plan::{DaemonKind, Plan};
use routelab_model::scenario::{
    self, BirdConfig, Diagnostic, Diagnostics, Scenario, Severity, validate::closest,
};

use crate::daemon::{BirdBinary, BirdSearch, DaemonError, DaemonUser, check_config};

/// How long `bird -p` may take to parse a config. Real configs take milliseconds; a
/// config that includes a FIFO or a device would otherwise hang `check` for ever.
pub const BIRD_PARSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `nft -c` may take to check a ruleset.
pub const NFT_TIMEOUT: Duration = Duration::from_secs(10);
/// Labs with more namespaces than this get their estimated size printed as a note.
pub const NOTE_NAMESPACES: u64 = 50;
/// How deep BIRD `include`s are followed when checking what they name.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Load → validate → plan, then every check against the machine. `force` accepts a lab
/// that looks too big for the machine (the estimate is still printed).
pub fn load(file: &Path, search: &BirdSearch, force: bool) -> Result<Loaded, Diagnostics> {
    let (scenario, mut warnings) = scenario::load(file)?;
    tracing::info!(
        file = %file.display(),
        scenario = %scenario.name,
        nodes = scenario.nodes.len(),
        links = scenario.links.len(),
        "loaded and validated"
    );
    let plan = routelab_model::planner::plan(&scenario);
    tracing::info!(
        scenario = %scenario.name,
        namespaces = plan.namespaces.len(),
        veths = plan.veths.len(),
        routes = plan.routes.len(),
        daemons = plan.daemons.len(),
        "planned"
    );
    let mut errors = Diagnostics::default();
    let mut found = Findings {
        file,
        errors: &mut errors,
        warnings: &mut warnings,
    };
    size(&mut found, &scenario, &plan, force);
    sysctls(&mut found, &scenario, &plan);
    nftables(&mut found, &scenario);
    bird_configs(&mut found, &scenario, &plan, search)?;
    if errors.has_errors() {
        errors.0.extend(warnings.0);
        return Err(errors);
    }
    tracing::info!(scenario = %scenario.name, "machine checks passed (size, sysctls, BIRD configs)");
    Ok(Loaded {
        scenario,
        plan,
        warnings,
        binaries: search.clone(),
    })
}

/// Where findings go.
struct Findings<'a> {
    file: &'a Path,
    errors: &'a mut Diagnostics,
    warnings: &'a mut Diagnostics,
}

impl Findings<'_> {
    fn error(&mut self, (line, column): (u64, u64), message: impl Into<String>) {
        let d = Diagnostic::at(Severity::Error, self.file, line, column, message);
        self.errors.push(d);
    }

    /// An error at a position in the file that writes `node` (a variant's base may).
    fn error_in_node(
        &mut self,
        node: &routelab_model::scenario::Node,
        (line, column): (u64, u64),
        message: impl Into<String>,
    ) {
        let file = match node.source.file.as_os_str().is_empty() {
            true => self.file,
            false => node.source.file.as_path(),
        };
        let d = Diagnostic::at(Severity::Error, file, line, column, message);
        self.errors.push(d);
    }

    fn warning(&mut self, message: impl Into<String>) {
        let d = Diagnostic::at(Severity::Warning, self.file, 0, 0, message);
        self.warnings.push(d);
    }

    fn note(&mut self, message: impl Into<String>) {
        let d = Diagnostic::at(Severity::Note, self.file, 0, 0, message);
        self.warnings.push(d);
    }
}

/// A scenario that passed validation, with its plan and any warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    pub plan: Plan,
    pub warnings: Diagnostics,
    /// Where the daemons' binaries are looked for.
    pub binaries: BirdSearch,
}

// ---------------------------------------------------------------------------------------
// Size

/// What this machine can hold, read from /proc and the process's limits.
#[derive(Debug, Clone, Copy)]
struct Capacity {
    /// MemAvailable, KiB.
    memory_kib: Option<u64>,
    /// `user.max_net_namespaces`.
    namespaces: Option<u64>,
    /// Open files: every namespace is held by a file descriptor (the hard limit, which a
    /// process may raise its own to).
    files: Option<u64>,
    /// `kernel.pid_max`.
    processes: Option<u64>,
}

fn capacity() -> Capacity {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let number = |p: &str| read(p).and_then(|t| t.trim().parse::<u64>().ok());
    let memory_kib = read("/proc/meminfo").and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    });
    let files = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .ok()
        .map(|(_, hard)| hard);
    Capacity {
        memory_kib,
        namespaces: number("/proc/sys/user/max_net_namespaces"),
        files,
        processes: number("/proc/sys/kernel/pid_max"),
    }
}

fn size(found: &mut Findings, scenario: &Scenario, plan: &Plan, force: bool) {
    let need = Footprint::of(plan);
    let have = capacity();
    let mut short = Vec::new();
    if let Some(kib) = have.memory_kib
        && need.memory_kib > kib
    {
        short.push(format!(
            "{} MiB of memory is more than the {} MiB available",
            need.memory_kib.div_ceil(1024),
            kib / 1024
        ));
    }
    if let Some(max) = have.namespaces
        && need.namespaces > max
    {
        short.push(format!(
            "{} network namespaces are more than user.max_net_namespaces ({max})",
            need.namespaces
        ));
    }
    // A few dozen descriptors for everything else the process has open.
    if let Some(max) = have.files
        && need.namespaces + 64 > max
    {
        short.push(format!(
            "a file descriptor per namespace is more than the open-files limit ({max})"
        ));
    }
    if let Some(max) = have.processes
        && need.processes + 1024 > max
    {
        short.push(format!(
            "{} processes are more than kernel.pid_max ({max}) allows",
            need.processes
        ));
    }
    // Point at the node with the most pods, the usual reason for a big lab.
    let at = scenario
        .nodes
        .iter()
        .filter_map(|n| Some((n.calico.as_ref()?.pods.len(), n.source.pods?)))
        .max_by_key(|(pods, _)| *pods)
        .map_or((0, 0), |(_, at)| at);
    if !short.is_empty() && !force {
        found.error(
            at,
            format!(
                "this lab is too big for this machine: it needs {need}; {}. Make it smaller, \
                 or pass --force to try anyway",
                short.join("; ")
            ),
        );
    } else if !short.is_empty() {
        found.warning(format!(
            "this lab needs {need}; {}: going ahead as --force asks",
            short.join("; ")
        ));
    } else if need.namespaces > NOTE_NAMESPACES {
        found.note(format!("this lab needs {need}"));
    }
}

// ---------------------------------------------------------------------------------------
// Sysctls

/// The sysctls (dotted, e.g. `net.ipv4.conf.default.rp_filter`) of a fresh network
/// namespace, read once per process.
fn namespace_sysctls() -> &'static Result<BTreeSet<String>, String> {
    static KEYS: OnceLock<Result<BTreeSet<String>, String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        if nix::unistd::geteuid().is_root() {
            // A thread of its own enters the new namespace, reads it and ends, and the
            // namespace with it.
            std::thread::spawn(|| {
                nix::sched::unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("creating a network namespace: {e}"))?;
                let mut out = BTreeSet::new();
                walk(Path::new("/proc/sys/net"), "net", &mut out)
                    .map_err(|e| format!("reading /proc/sys/net: {e}"))?;
                Ok(out)
            })
            .join()
            .unwrap_or_else(|_| Err("the thread reading /proc/sys/net panicked".into()))
        } else {
            // A user namespace cannot be entered by a threaded process, so a child lists
            // the new namespace's /proc/sys/net.
            let mut cmd = Command::new("find");
            cmd.args(["/proc/sys/net", "-type", "f"]);
            in_fresh_namespace(&mut cmd);
            let out = cmd
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .map_err(|e| format!("running find in a new namespace: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cannot create a network namespace without root ({})",
                    out.status
                ));
            }
            Ok(String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.strip_prefix("/proc/sys/"))
                .map(|l| l.replace('/', "."))
                .collect())
        }
    })
}

fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = format!("{prefix}.{}", entry.file_name().to_string_lossy());
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &name, out)?;
        } else {
            out.insert(name);
        }
    }
    Ok(())
}

/// Has `cmd` run in a network namespace of its own (and, without root, a user namespace
/// that makes creating it possible), so nothing it does reaches the host's.
pub(crate) fn in_fresh_namespace(cmd: &mut Command) {
    let flags = if nix::unistd::geteuid().is_root() {
        CloneFlags::CLONE_NEWNET
    } else {
        CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET
    };
    // SAFETY: only unshare, a system call, runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || nix::sched::unshare(flags).map_err(std::io::Error::from));
    }
}

/// Per-interface sysctl trees: `net.ipv4.conf.IFACE.x` and the like.
const PER_INTERFACE: [&str; 4] = [
    "net.ipv4.conf.",
    "net.ipv6.conf.",
    "net.ipv4.neigh.",
    "net.ipv6.neigh.",
];

fn sysctls(found: &mut Findings, scenario: &Scenario, plan: &Plan) {
    if scenario.nodes.iter().all(|n| n.source.sysctls.is_empty()) {
        return;
    }
    let known = match namespace_sysctls() {
        Ok(k) => k,
        Err(e) => {
            found.warning(format!("sysctl names not checked: {e}"));
            return;
        }
    };
    for node in &scenario.nodes {
        let interfaces = plan.interfaces_in(&node.name);
        // A sysctl that is a kernel feature is the feature check's to report: without it
        // the scenario is skipped, not refused.
        let features: Vec<&str> = plan
            .kernel_features()
            .into_iter()
            .filter_map(|f| f.sysctl())
            .collect();
        for (key, line, column) in &node.source.sysctls {
            if features.contains(&key.as_str()) {
                continue;
            }
            if let Some(why) = unknown_sysctl(key, &node.name, &interfaces, known) {
                found.error_in_node(node, (*line, *column), why);
            }
        }
    }
}

/// Why `key` cannot be set in node `node`'s namespace, if it cannot.
fn unknown_sysctl(
    key: &str,
    node: &str,
    interfaces: &[String],
    known: &BTreeSet<String>,
) -> Option<String> {
    // A per-interface key of an interface the scenario creates: a fresh namespace has
    // only `all`, `default` and `lo`, and every interface gets what `default` has.
    let mut lookup = key.to_string();
    let mut iface = None;
    if let Some(tree) = PER_INTERFACE.iter().find(|t| key.starts_with(**t)) {
        let rest = &key[tree.len()..];
        let named = ["all", "default", "lo"]
            .into_iter()
            .map(str::to_string)
            .chain(interfaces.iter().cloned())
            .find(|i| rest.starts_with(&format!("{i}.")));
        match named {
            Some(i) if interfaces.contains(&i) => {
                lookup = format!("{tree}default.{}", &rest[i.len() + 1..]);
                iface = Some((tree.to_string(), i));
            }
            Some(_) => {}
            None => {
                let given = rest.rsplit_once('.').map_or(rest, |(i, _)| i);
                let mut has: Vec<&str> = interfaces.iter().map(String::as_str).collect();
                has.sort();
                has.dedup();
                return Some(format!(
                    "sysctl `{key}`: node `{node}` has no interface `{given}` (it has: {}; \
                     `all` and `default` set every interface)",
                    if has.is_empty() {
                        "none".to_string()
                    } else {
                        has.join(", ")
                    }
                ));
            }
        }
    }
    if known.contains(&lookup) {
        return None;
    }
    let hint = closest(&lookup, known.iter())
        .map(|k| match &iface {
            Some((tree, i)) => format!("{tree}{i}.{}", &k[tree.len() + "default.".len()..]),
            None => k.clone(),
        })
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    Some(format!(
        "sysctl `{key}` does not exist in a network namespace (this kernel has it only for \
         the whole host, or not at all){hint}"
    ))
}

// ---------------------------------------------------------------------------------------
// nftables

fn nftables(found: &mut Findings, scenario: &Scenario) {
    let mut nft_missing = false;
    for node in &scenario.nodes {
        let Some(ruleset) = &node.nftables else {
            continue;
        };
        let start = node.source.nftables.unwrap_or((0, 0));
        let at = |line: u64, column: u64| {
            if start.0 == 0 {
                (0, 0)
            } else {
                (start.0 + line - 1, start.1 + column - 1)
            }
        };
        // nft would read any file an `include` names and print its lines in errors.
        if let Some((line, column)) = find_word(ruleset, "include") {
            found.error_in_node(
                node,
                at(line, column),
                format!(
                    "the nftables ruleset of node `{}` includes a file; write the rules into \
                     the scenario (routelab gives nft nothing but this text)",
                    node.name
                ),
            );
            continue;
        }
        if nft_missing {
            continue;
        }
        match nft_check(ruleset) {
            Ok(()) => {}
            Err(NftProblem::Missing(e)) => {
                nft_missing = true;
                found.warning(format!(
                    "nftables rulesets not checked: cannot run nft ({e}); install nftables"
                ));
            }
            Err(NftProblem::Rejected(messages)) => {
                for (line, column, message) in messages {
                    found.error_in_node(
                        node,
                        at(line, column),
                        format!("nft rejects the ruleset of node `{}`: {message}", node.name),
                    );
                }
            }
            Err(NftProblem::Other(message)) => found.error_in_node(
                node,
                at(1, 1),
                format!("nft rejects the ruleset of node `{}`: {message}", node.name),
            ),
        }
    }
}

/// The first place `word` stands as a word of its own outside comments and strings.
fn find_word(text: &str, word: &str) -> Option<(u64, u64)> {
    for (i, line) in text.lines().enumerate() {
        let mut in_string = false;
        let chars: Vec<char> = line.chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            if c == '"' {
                in_string = !in_string;
            } else if !in_string && c == '#' {
                break;
            } else if !in_string
                && (j == 0 || !chars[j - 1].is_alphanumeric())
                && chars[j..].iter().take(word.len()).collect::<String>() == word
                && chars
                    .get(j + word.len())
                    .is_none_or(|n| !n.is_alphanumeric())
            {
                return Some((i as u64 + 1, j as u64 + 1));
            }
            j += 1;
        }
    }
    None
}

enum NftProblem {
    Missing(std::io::Error),
    /// nft's own messages, each at its line and column of the ruleset.
    Rejected(Vec<(u64, u64, String)>),
    Other(String),
}

/// `nft -c -f -` in a throwaway network namespace, so nothing reaches the host's ruleset.
/// Only nft's message lines are kept: it also echoes the offending lines, which are not
/// repeated.
fn nft_check(ruleset: &str) -> Result<(), NftProblem> {
    let dir = crate::userns::runtime_base()
        .map_err(|e| NftProblem::Other(e.to_string()))
        .and_then(|base| {
            tempfile::tempdir_in(base).map_err(|e| NftProblem::Other(format!("a temp dir: {e}")))
        })?;
    let err_path = dir.path().join("stderr");
    let err_file =
        std::fs::File::create(&err_path).map_err(|e| NftProblem::Other(e.to_string()))?;
    let mut cmd = Command::new("nft");
    cmd.args(["-c", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(err_file);
    in_fresh_namespace(&mut cmd);
    let mut child = cmd.spawn().map_err(NftProblem::Missing)?;
    if let Some(mut stdin) = child.stdin.take() {
        // nft reads all of it before answering; a write error shows in its exit status.
        let _ = stdin.write_all(ruleset.as_bytes());
    }
    let status = wait_for(&mut child, NFT_TIMEOUT).ok_or_else(|| {
        NftProblem::Other(format!(
            "nft -c did not finish within {} s",
            NFT_TIMEOUT.as_secs()
        ))
    })?;
    if status.success() {
        return Ok(());
    }
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let messages: Vec<(u64, u64, String)> = stderr
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("/dev/stdin:")?;
            let (line, rest) = rest.split_once(':')?;
            let (columns, message) = rest.split_once(": ")?;
            let column = columns.split('-').next()?.parse().ok()?;
            let message = message.strip_prefix("Error: ").unwrap_or(message);
            Some((line.parse().ok()?, column, message.to_string()))
        })
        .collect();
    if messages.is_empty() {
        Err(NftProblem::Other(format!("nft -c failed ({status})")))
    } else {
        Err(NftProblem::Rejected(messages))
    }
}

/// Waits for `child` at most `limit`; kills it when it takes longer (`None`).
fn wait_for(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// BIRD configs

/// The configurations the timeline's steps give daemons (`bird_reload`, and the renders
/// of `calico_apply`/`calico_delete`), each as the daemon of its node would run it.
fn step_configs(scenario: &Scenario, plan: &Plan) -> Vec<routelab_model::plan::DaemonPlan> {
    use routelab_model::timeline::Action;
    // Steps name a daemon by its name: a node's, or `<node>.bird` for a calico node's own.
    let daemon_named = |name: &str| plan.daemons.iter().find(|d| plan.daemon_name(d) == name);
    let mut out = Vec::new();
    for action in scenario.steps.iter().flat_map(|s| &s.actions) {
        let configs: Vec<(&String, &BirdConfig)> = match action {
            Action::BirdReload(r) => vec![(&r.node, &r.config)],
            Action::CalicoApply(c) | Action::CalicoDelete(c) => {
                c.configs.iter().map(|(n, cfg)| (n, cfg)).collect()
            }
            _ => Vec::new(),
        };
        for (name, config) in configs {
            if let Some(d) = daemon_named(name) {
                out.push(routelab_model::plan::DaemonPlan {
                    ns: d.ns.clone(),
                    kind: d.kind,
                    config: config.clone(),
                });
            }
        }
    }
    out
}

fn bird_configs(
    found: &mut Findings,
    scenario: &Scenario,
    plan: &Plan,
    search: &BirdSearch,
) -> Result<(), Diagnostics> {
    let file = found.file;
    let fatal =
        |message: String| Diagnostics(vec![Diagnostic::at(Severity::Error, file, 0, 0, message)]);
    let base = crate::userns::runtime_base().map_err(|e| fatal(e.to_string()))?;
    let dir = tempfile::tempdir_in(base).map_err(|e| fatal(format!("creating a temp dir: {e}")))?;
    // Each kind of BIRD is looked up (and its version run) once, not per daemon.
    let mut binaries: Vec<(DaemonKind, Option<BirdBinary>)> = Vec::new();
    let steps = step_configs(scenario, plan);
    // As they will run: each in a sandbox of its own, read as the daemon user.
    let user = DaemonUser::for_daemons();
    // Written first, checked together: one `bird -p` per CPU at a time.
    let mut checks: Vec<(&routelab_model::plan::DaemonPlan, usize, PathBuf)> = Vec::new();
    for (i, d) in plan.daemons.iter().chain(&steps).enumerate() {
        if let BirdConfig::File(path) = &d.config
            && let Err((file, line, column, e)) = check_includes(path, 0)
        {
            found.errors.push(Diagnostic::at(
                Severity::Error,
                &file,
                line,
                column,
                format!("BIRD config of node `{}`: include: {e}", d.ns),
            ));
            continue;
        }
        if !binaries.iter().any(|(k, _)| *k == d.kind) {
            let binary = match search.binary(d.kind) {
                Ok(b) => Some(b),
                Err(e) => {
                    found.warning(format!("BIRD configs not parsed: {e}"));
                    None
                }
            };
            binaries.push((d.kind, binary));
        }
        let Some(binary) = binaries
            .iter()
            .position(|(k, b)| *k == d.kind && b.is_some())
        else {
            continue;
        };
        let sandbox = dir.path().join(format!("{}-{i}", d.ns));
        let path = crate::daemon::make_sandbox(&sandbox, user)
            .and_then(|()| crate::daemon::write_config(&d.config, &sandbox, user))
            .map_err(|e| fatal(format!("writing a BIRD config: {e}")))?;
        checks.push((d, binary, path));
    }
    let results = parallel_map(&checks, |(_, binary, path)| {
        let binary = binaries[*binary]
            .1
            .as_ref()
            .expect("only found binaries are kept");
        check_config(binary, path, user, BIRD_PARSE_TIMEOUT)
    });
    for ((d, _, path), result) in checks.iter().zip(results) {
        let message = match result {
            Ok(()) => continue,
            Err(DaemonError::Config { message, .. }) => message,
            Err(e) => e.to_string(),
        };
        let node = scenario.node(&d.ns);
        let inline_at = node.and_then(|n| n.source.bird_inline);
        let (at, message) = match (&d.config, bird_position(&message, path)) {
            // BIRD's line in the inline text, moved to where that text is in the scenario.
            (BirdConfig::Inline(_), Some((line, column, text))) => {
                let at = inline_at.map_or((0, 0), |(l, c)| (l + line - 1, c + column - 1));
                (at, text)
            }
            _ => ((0, 0), message),
        };
        let message = format!("BIRD rejects the config of node `{}`: {message}", d.ns);
        match node {
            Some(node) => found.error_in_node(node, at, message),
            None => found.error(at, message),
        }
    }
    Ok(())
}

/// `f` of every item, in order, on one thread per CPU.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a check thread panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// BIRD's `FILE:LINE:COLUMN message` for `config`, as line, column and message.
fn bird_position(message: &str, config: &Path) -> Option<(u64, u64, String)> {
    let config = std::path::absolute(config).ok()?;
    let name = config.to_string_lossy();
    let start = message.find(name.as_ref())?;
    let rest = &message[start + name.len()..];
    let rest = rest.strip_prefix(':')?;
    let (line, rest) = rest.split_once(':')?;
    let (column, text) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((
        line.parse().ok()?,
        column.parse().ok()?,
        text.trim().to_string(),
    ))
}

/// Checks that every file a BIRD config `include`s (recursively) is a regular file of a
/// sane size, as the config itself is: BIRD would block on a FIFO, or read `/dev/zero`
/// for ever. A problem comes back with the including file, line and column.
fn check_includes(config: &Path, depth: usize) -> Result<(), (PathBuf, u64, u64, String)> {
    let text = routelab_model::input::read_text(config)
        .map_err(|e| (config.to_path_buf(), 0, 0, e.reason()))?;
    let dir = config.parent().unwrap_or(Path::new("/"));
    for (i, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        let Some(rest) = code.trim_start().strip_prefix("include") else {
            continue;
        };
        let Some(name) = rest
            .trim()
            .strip_prefix('"')
            .and_then(|r| r.split('"').next())
        else {
            continue;
        };
        let at = |message: String| {
            let column = code.len() - code.trim_start().len() + 1;
            (config.to_path_buf(), i as u64 + 1, column as u64, message)
        };
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(at(format!("includes nest deeper than {MAX_INCLUDE_DEPTH}")));
        }
        for included in expand(&dir.join(name)) {
            routelab_model::input::check_file(&included).map_err(|e| at(e.to_string()))?;
            check_includes(&included, depth + 1)?;
        }
    }
    Ok(())
}

/// The files an include pattern names (`*` and `?` in its last component, as BIRD's glob).
fn expand(pattern: &Path) -> Vec<PathBuf> {
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return vec![pattern.to_path_buf()];
    }
    let dir = pattern.parent().unwrap_or(Path::new("/"));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| glob_match(&name, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_outside_comments_and_strings() {
        assert_eq!(
            find_word("table t {}\n  include \"x\"\n", "include"),
            Some((2, 3))
        );
        assert_eq!(
            find_word("# include \"x\"\ncomment \"include\"\n", "include"),
            None
        );
        assert_eq!(find_word("includes\n", "include"), None);
    }

    #[test]
    fn globs_as_bird_expands_them() {
        assert!(glob_match("*.conf", "peers.conf"));
        assert!(glob_match("r?.conf", "r1.conf"));
        assert!(!glob_match("*.conf", "peers.cfg"));
    }

    #[test]
    fn per_interface_sysctls_are_looked_up_as_default() {
        let known: BTreeSet<String> = [
            "net.ipv4.conf.default.rp_filter",
            "net.ipv4.conf.all.rp_filter",
            "net.ipv4.ip_forward",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let ifaces = vec!["eth0".to_string(), "vxlan.calico".to_string()];
        let check = |k: &str| unknown_sysctl(k, "a", &ifaces, &known);
        assert_eq!(check("net.ipv4.conf.eth0.rp_filter"), None);
        assert_eq!(check("net.ipv4.conf.vxlan.calico.rp_filter"), None);
        assert_eq!(check("net.ipv4.ip_forward"), None);
        let typo = check("net.ipv4.conf.eth0.rp_filtr").unwrap();
        assert!(
            typo.contains("did you mean `net.ipv4.conf.eth0.rp_filter`"),
            "{typo}"
        );
        let missing = check("net.ipv4.conf.eth9.rp_filter").unwrap();
        assert!(missing.contains("no interface `eth9`"), "{missing}");
    }

    #[test]
    fn a_fresh_namespace_has_the_namespaced_sysctls_only() {
        let Ok(keys) = namespace_sysctls() else {
            return crate::skip_or_fail_without_root(
                "a_fresh_namespace_has_the_namespaced_sysctls_only",
            );
        };
        assert!(keys.contains("net.ipv4.ip_forward"));
        assert!(keys.contains("net.ipv4.conf.default.rp_filter"));
        assert!(
            !keys.contains("net.core.netdev_max_backlog"),
            "a host-only sysctl"
        );
    }
}
