//! `routelab snapshot` and `routelab diff`: what a change does to the network.
//!
//! `diff FILE --against REV` takes the other version of the scenario and every file it
//! loads from `git archive REV` of the repository holding FILE (or from a directory given
//! instead of REV), at the same path relative to the repository's top, so fixtures, BIRD
//! configs and their includes, manifests and rulesets all come from that version. Files
//! outside the repository are the same for both. Both versions are snapshotted at once
//! when the machine has two cores or more, one after the other otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use routelab_lab::daemon::BirdSearch;
use routelab_lab::report::ScenarioReport;
use routelab_lab::run::{self, Loaded};
use routelab_model::snapshot::Snapshot;
use routelab_model::snapshot::diff::{Category, Diff, Tolerance};

use super::{EXIT_ENVIRONMENT, EXIT_FAILED, EXIT_INVALID, EXIT_OK, Signals, exit_code};

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    file: PathBuf,
    /// Write the snapshot here (default: standard output, the report then goes to stderr).
    #[arg(short, long, value_name = "STATE.json")]
    output: Option<PathBuf>,
    /// Skip the scenario's expectations: each phase lasts until the lab has settled.
    #[arg(long)]
    no_expect: bool,
    /// Go ahead with a lab that looks too big for this machine.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Two snapshot files (BEFORE.json AFTER.json), or with --against one scenario file.
    #[arg(required = true, num_args = 1..=2)]
    files: Vec<PathBuf>,
    /// Compare the scenario as it is in the working tree with its version at this git
    /// revision, or in this directory holding the other version.
    #[arg(long, value_name = "REV|DIR")]
    against: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Only changes in these categories make the exit code 1 (`none`: no change does);
    /// sessions, routes, bird_routes, reachability, paths, pmtu, convergence, phases.
    #[arg(long, value_delimiter = ',', value_name = "CATEGORY,...")]
    fail_on: Vec<String>,
    /// Timings (convergence, outages) closer than this are the same.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    tolerance: std::time::Duration,
    /// ... or closer than this fraction of the larger of the two.
    #[arg(long, default_value_t = 0.5)]
    tolerance_ratio: f64,
    /// Skip the scenario's expectations when snapshotting (with --against).
    #[arg(long)]
    no_expect: bool,
    /// Write the rendered diff here too (e.g. $GITHUB_STEP_SUMMARY, appended to).
    #[arg(long, value_name = "PATH")]
    append_to: Option<PathBuf>,
    /// Go ahead with labs that look too big for this machine.
    #[arg(long)]
    force: bool,
}

pub fn snapshot(args: SnapshotArgs, search: &BirdSearch) -> u8 {
    let mut signals = Signals::install();
    if let Some(out) = &args.output
        && let Err(e) = std::fs::File::create(out)
    {
        eprintln!(
            "routelab: cannot write the snapshot to {}: {e}",
            out.display()
        );
        return EXIT_ENVIRONMENT;
    }
    let loaded = match routelab_lab::preflight::load(&args.file, search, args.force) {
        Ok(l) => {
            eprint!("{}", l.warnings);
            l
        }
        Err(d) => {
            eprint!("{d}");
            return EXIT_INVALID;
        }
    };
    if let Some(caught) = signals.pending() {
        return caught.exit_code();
    }
    if let Err(missing) = routelab_lab::env::check(std::slice::from_ref(&loaded.plan), search) {
        eprintln!("routelab: {missing}");
        return EXIT_ENVIRONMENT;
    }
    let (report, snap) = match signals.run(run::snapshot(&loaded, args.no_expect)) {
        Ok(done) => done,
        Err(caught) => {
            eprintln!("routelab: interrupted; the lab was torn down");
            return caught.exit_code();
        }
    };
    let code = exit_code(&report);
    match &args.output {
        Some(out) => {
            print!("{}", report.to_text());
            if let Err(e) = std::fs::write(out, snap.to_json()) {
                eprintln!("routelab: writing {}: {e}", out.display());
                return EXIT_ENVIRONMENT;
            }
            println!(
                "snapshot of {} phase(s) written to {}",
                snap.phases.len(),
                out.display()
            );
        }
        None => {
            eprint!("{}", report.to_text());
            print!("{}", snap.to_json());
        }
    }
    code
}

pub fn diff(args: DiffArgs, search: &BirdSearch) -> u8 {
    let fail_on = match parse_fail_on(&args.fail_on) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("routelab: --fail-on: {e}");
            return EXIT_INVALID;
        }
    };
    let tolerance = Tolerance {
        absolute_ms: args.tolerance.as_millis() as u64,
        relative: args.tolerance_ratio,
    };
    let (d, expectations_failed) = match (&args.against, args.files.as_slice()) {
        (None, [before, after]) => {
            let read = |p: &Path| -> Result<Snapshot, u8> {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    eprintln!("routelab: reading {}: {e}", p.display());
                    EXIT_INVALID
                })?;
                Snapshot::from_json(&p.display().to_string(), &text).map_err(|e| {
                    eprintln!("routelab: {e}");
                    EXIT_INVALID
                })
            };
            let (a, b) = match (read(before), read(after)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(c), _) | (_, Err(c)) => return c,
            };
            let names = (before.display().to_string(), after.display().to_string());
            (
                routelab_model::snapshot::diff::diff(&a, &b, (&names.0, &names.1), tolerance),
                false,
            )
        }
        (Some(against), [file]) => match against_version(file, against, &args, tolerance, search) {
            Ok(done) => done,
            Err(code) => return code,
        },
        (None, _) => {
            eprintln!("routelab: diff takes two snapshot files, or one scenario with --against");
            return EXIT_INVALID;
        }
        (Some(_), _) => {
            eprintln!("routelab: with --against, diff takes one scenario file");
            return EXIT_INVALID;
        }
    };
    let rendered = match args.format {
        Format::Text => routelab_model::snapshot::render::text(&d),
        Format::Markdown => routelab_model::snapshot::render::markdown(&d),
        Format::Json => routelab_model::snapshot::render::json(&d),
    };
    print!("{rendered}");
    if let Some(path) = &args.append_to {
        use std::io::Write;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(rendered.as_bytes()));
        if let Err(e) = written {
            eprintln!("routelab: writing {}: {e}", path.display());
            return EXIT_ENVIRONMENT;
        }
    }
    if expectations_failed {
        return EXIT_FAILED;
    }
    match fail_on {
        Some(categories) if d.fails_on(&categories) => EXIT_FAILED,
        Some(_) => EXIT_OK,
        None => EXIT_OK,
    }
}

/// The categories that count for exit 1: all when none are given, `None` for `none`.
fn parse_fail_on(names: &[String]) -> Result<Option<Vec<Category>>, String> {
    if names.iter().any(|n| n == "none") {
        return Ok(None);
    }
    names
        .iter()
        .map(|n| Category::parse(n.trim()).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Snapshots the scenario at `against` and in the working tree, and diffs them. Also says
/// whether the working tree's expectations failed.
fn against_version(
    file: &Path,
    against: &str,
    args: &DiffArgs,
    tolerance: Tolerance,
    search: &BirdSearch,
) -> Result<(Diff, bool), u8> {
    let mut signals = Signals::install();
    let other = other_version(file, against).map_err(|e| {
        eprintln!("routelab: {e:#}");
        e.downcast_ref::<Environment>()
            .map_or(EXIT_INVALID, |_| EXIT_ENVIRONMENT)
    })?;
    let load = |path: &Path, which: &str| -> Result<Loaded, u8> {
        match routelab_lab::preflight::load(path, search, args.force) {
            Ok(l) => {
                eprint!("{}", l.warnings);
                Ok(l)
            }
            Err(d) => {
                eprint!("{d}");
                eprintln!("routelab: the scenario as it is {which} is invalid");
                Err(EXIT_INVALID)
            }
        }
    };
    let before_name = format!("at {against}");
    let before = load(&other.file, &before_name)?;
    let after = load(file, "in the working tree")?;
    if let Some(caught) = signals.pending() {
        return Err(caught.exit_code());
    }
    let plans = [before.plan.clone(), after.plan.clone()];
    if let Err(missing) = routelab_lab::env::check(&plans, search) {
        eprintln!("routelab: {missing}");
        return Err(EXIT_ENVIRONMENT);
    }
    let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let no_expect = args.no_expect;
    let work = async {
        if parallel {
            futures::join!(
                run::snapshot(&before, no_expect),
                run::snapshot(&after, no_expect)
            )
        } else {
            let b = run::snapshot(&before, no_expect).await;
            (b, run::snapshot(&after, no_expect).await)
        }
    };
    let ((rb, sb), (ra, sa)) = signals.run(work).map_err(|caught| {
        eprintln!("routelab: interrupted; the labs were torn down");
        caught.exit_code()
    })?;
    for (which, r) in [
        (&before_name, &rb),
        (&"in the working tree".to_string(), &ra),
    ] {
        eprintln!("-- the scenario {which}:");
        eprint!("{}", r.to_text());
    }
    // A version the kernel or a daemon refused, or a machine that lacks something, gives
    // no snapshot worth comparing.
    for r in [&rb, &ra] {
        let code = exit_code(r);
        if code == EXIT_INVALID || code == EXIT_ENVIRONMENT {
            return Err(code);
        }
    }
    drop(other);
    let d =
        routelab_model::snapshot::diff::diff(&sb, &sa, (&before_name, "working tree"), tolerance);
    Ok((d, failed(&ra)))
}

fn failed(r: &ScenarioReport) -> bool {
    exit_code(r) == EXIT_FAILED
}

/// A failure of the machine, not of the input (exit 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Environment(String);

/// The other version of a scenario: its file, and the extracted tree it lives in (removed
/// when dropped).
struct OtherVersion {
    file: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

fn other_version(file: &Path, against: &str) -> anyhow::Result<OtherVersion> {
    let file = file
        .canonicalize()
        .with_context(|| format!("reading {}", file.display()))?;
    let dir = file.parent().unwrap_or(Path::new("/"));
    let top = git_toplevel(dir);
    let given = Path::new(against);
    if given.is_dir() {
        let base = match &top {
            Some(top) => top.clone(),
            None => std::env::current_dir()?.canonicalize()?,
        };
        let rel = file.strip_prefix(&base).with_context(|| {
            format!(
                "{} is not under {}, so its place in {against} is not known",
                file.display(),
                base.display()
            )
        })?;
        return Ok(OtherVersion {
            file: given.join(rel),
            _dir: None,
        });
    }
    let Some(top) = top else {
        bail!(
            "{} is not in a git repository: give --against a directory holding the other version",
            file.display()
        );
    };
    let rel = file.strip_prefix(&top)?.to_path_buf();
    let base = routelab_lab::userns::runtime_base().map_err(|e| Environment(e.to_string()))?;
    // Not `routelab-…`, the prefix of a lab's runtime directory, swept once unlocked.
    let tmp = tempfile::Builder::new()
        .prefix("routelab.diff-")
        .tempdir_in(base)
        .map_err(|e| Environment(format!("creating a temporary directory: {e}")))?;
    let archive = Command::new("git")
        .arg("-C")
        .arg(&top)
        .args(["archive", "--format=tar"])
        .arg(format!("{against}^{{tree}}"))
        .output()
        .map_err(|e| Environment(format!("running git: {e}")))?;
    if !archive.status.success() {
        bail!(
            "--against {against}: {}",
            String::from_utf8_lossy(&archive.stderr).trim()
        );
    }
    let mut tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(tmp.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| Environment(format!("running tar: {e}")))?;
    {
        use std::io::Write;
        let mut stdin = tar.stdin.take().expect("stdin is piped");
        stdin
            .write_all(&archive.stdout)
            .map_err(|e| Environment(format!("unpacking {against}: {e}")))?;
    }
    let status = tar
        .wait()
        .map_err(|e| Environment(format!("unpacking {against}: {e}")))?;
    if !status.success() {
        return Err(Environment(format!("unpacking {against}: tar failed")).into());
    }
    let other = tmp.path().join(&rel);
    if !other.is_file() {
        bail!("{} does not exist at {against}", rel.display());
    }
    Ok(OtherVersion {
        file: other,
        _dir: Some(tmp),
    })
}

fn git_toplevel(dir: &Path) -> Option<PathBuf> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()?;
    out.status.success().then(|| {
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
            .canonicalize()
            .ok()
    })?
}
