//! `run --artifacts DIR`: what a CI job uploads to look at a run afterwards. For each
//! scenario, `DIR/<scenario>/<node>/` holds, as the lab was at the end of its last phase:
//! `routes.txt` (the kernel's IPv4 and IPv6 main tables), and for a node running BIRD
//! `protocols.txt` (`show protocols`), `bird.log` (the end of what BIRD logged to
//! routelab) and the configuration files it ran; a calico node that runs its own BIRD
//! beside calico-node's has that daemon's in `<node>/bird/`.
//!
//! Limits: the configuration is the one the lab started with (a later `bird_reload` is
//! not reflected); the log is its tail, as kept for failure reports.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use routelab_model::daemon::BirdConfig;
use routelab_model::plan::Plan;

use crate::lab::Lab;

/// Why artifacts could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing artifacts to {path}: {source}")]
pub struct ArtifactError {
    path: String,
    #[source]
    source: io::Error,
}

/// Writes every node's artifacts under `dir/<scenario>/`.
pub(crate) async fn collect(lab: &Lab, plan: &Plan, dir: &Path) -> Result<(), ArtifactError> {
    let base = dir.join(&plan.scenario);
    for ns in &plan.namespaces {
        // Hidden namespaces (bridges, patch panels) route nothing.
        if ns.role == routelab_model::plan::NamespaceRole::Segment {
            continue;
        }
        let Some(routes) = node_routes(lab, &ns.name).await else {
            continue;
        };
        let here = base.join(&ns.name);
        write(&here, "routes.txt", &routes)?;
        for daemon_plan in plan.daemons.iter().filter(|d| d.ns == ns.name) {
            let name = plan.daemon_name(daemon_plan);
            // A calico node's own BIRD, beside calico-node's, gets a directory of its own.
            let here = if name == ns.name {
                here.clone()
            } else {
                here.join("bird")
            };
            daemon_artifacts(lab, &name, daemon_plan, &here).await?;
        }
    }
    Ok(())
}

/// One daemon's `protocols.txt`, `bird.log` and configuration files, in `here`.
async fn daemon_artifacts(
    lab: &Lab,
    name: &str,
    daemon_plan: &routelab_model::plan::DaemonPlan,
    here: &Path,
) -> Result<(), ArtifactError> {
    let Ok(daemon) = lab.daemon(name) else {
        return Ok(());
    };
    let protocols = match daemon.protocols().await {
        Ok(rows) => rows.iter().fold(String::new(), |mut out, r| {
            let _ = writeln!(
                out,
                "{:<24} {:<8} {:<10} {:<6} {:<20} {}",
                r.name,
                r.proto,
                r.table.as_deref().unwrap_or("---"),
                r.state,
                r.since,
                r.info
            );
            out
        }),
        Err(e) => format!("could not ask BIRD: {e}\n"),
    };
    write(here, "protocols.txt", &protocols)?;
    write(here, "bird.log", &daemon.log_tail())?;
    match &daemon_plan.config {
        BirdConfig::File(path) => {
            let name = path
                .file_name()
                .map_or("bird.conf".into(), |n| n.to_string_lossy().into_owned());
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| format!("# could not read {}: {e}\n", path.display()));
            write(here, &name, &text)?;
        }
        BirdConfig::Inline(text) => write(here, "bird.conf", text)?,
        BirdConfig::Rendered(files) => {
            for (name, text) in files {
                write(here, name, text)?;
            }
        }
    }
    Ok(())
}

/// `ip route` and `ip -6 route` of a node, or `None` for a namespace that is no node's.
async fn node_routes(lab: &Lab, node: &str) -> Option<String> {
    let mut out = String::new();
    for ipv6 in [false, true] {
        let routes = lab.routes(node, ipv6).await.ok()?;
        for r in routes {
            let _ = writeln!(out, "{r}");
        }
    }
    Some(out)
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), ArtifactError> {
    let path = dir.join(name);
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|source| ArtifactError {
            path: path.display().to_string(),
            source,
        })
}
