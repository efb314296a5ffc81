//! BIRD as a [`Daemon`]: BIRD 2 for routers and BIRD 1.6 for mock calico-node, which
//! differ only in their binary and in what the parser in [`super::parse`] copes with.

use std::path::{Component, Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use ipnet::IpNet;
use routelab_model::scenario::BirdConfig;

use super::config::{make_sandbox, write_config};
use super::{
    BirdBinary, BirdClient, BirdProcess, BirdSpec, Daemon, DaemonError, DaemonFiles, DaemonUser,
    OspfNeighbor, ProcessId, ProtocolDetail, ProtocolRow, Stop,
};
use crate::net::Netns;

/// How long BIRD gets to answer after starting.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// One BIRD of a lab node.
pub struct Bird {
    node: String,
    netns: Arc<Netns>,
    spec: BirdSpec,
    files: DaemonFiles,
    process: Option<BirdProcess>,
    /// The directory the running process was started in: the base of relative paths it
    /// is given.
    cwd: PathBuf,
}

impl Bird {
    /// Makes the sandbox, writes the configuration into it, and is ready to start.
    pub fn prepare(
        binary: BirdBinary,
        node: &str,
        netns: Arc<Netns>,
        config: &BirdConfig,
        files: DaemonFiles,
        persistent: bool,
    ) -> Result<Bird, DaemonError> {
        let user = DaemonUser::for_daemons();
        make_sandbox(&files.sandbox, user)
            .map_err(|e| DaemonError::io(format!("creating {}", files.sandbox.display()), e))?;
        let main = write_config(config, &files.sandbox, user)
            .map_err(|e| DaemonError::io(format!("writing the BIRD config of {node}"), e))?;
        let mut spec = BirdSpec::new(binary, main, files.socket.clone(), node);
        spec.log = Some(files.log.clone());
        spec.persistent = persistent;
        spec.ready_timeout = READY_TIMEOUT;
        spec.user = user;
        Ok(Bird {
            node: node.to_string(),
            netns,
            spec,
            files,
            process: None,
            cwd: PathBuf::new(),
        })
    }

    async fn client(&self) -> Result<BirdClient, DaemonError> {
        BirdClient::connect(&self.files.socket).await
    }
}

impl Daemon for Bird {
    fn node(&self) -> &str {
        &self.node
    }

    fn describe(&self) -> String {
        format!("BIRD {}", self.spec.binary.version)
    }

    fn start(&mut self) -> Result<(), DaemonError> {
        if self.process.as_ref().is_some_and(|p| !p.has_exited()) {
            return Ok(());
        }
        self.finish_stop();
        self.process = Some(BirdProcess::spawn(&self.netns, &self.spec)?);
        let dir = self.spec.config.parent().unwrap_or(Path::new("/"));
        self.cwd = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Ok(())
    }

    fn ready(&mut self) -> BoxFuture<'_, Result<(), DaemonError>> {
        let timeout = self.spec.ready_timeout;
        async move {
            match &mut self.process {
                Some(p) => p.ready(timeout).await,
                None => Err(DaemonError::NotRunning {
                    label: self.node.clone(),
                }),
            }
        }
        .boxed()
    }

    fn set_ready_timeout(&mut self, timeout: Duration) {
        self.spec.ready_timeout = timeout;
    }

    fn process(&self) -> Option<ProcessId> {
        self.process.as_ref().map(BirdProcess::id)
    }

    fn exit_watch(&self) -> BoxFuture<'_, ()> {
        async move {
            match &self.process {
                Some(p) if p.exit_watch().await.is_ok() => {}
                _ => futures::future::pending().await,
            }
        }
        .boxed()
    }

    fn reap(&mut self) -> Option<ExitStatus> {
        let status = self.process.as_mut()?.exit_status().ok().flatten()?;
        self.process = None;
        Some(status)
    }

    fn signal_stop(&mut self, how: Stop) -> Result<(), DaemonError> {
        match (&self.process, how) {
            (None, _) => Ok(()),
            (Some(p), Stop::Orderly) => p.terminate(),
            (Some(p), Stop::Kill) => p.kill(),
        }
    }

    fn has_stopped(&self) -> bool {
        self.process.as_ref().is_none_or(BirdProcess::has_exited)
    }

    fn finish_stop(&mut self) {
        if let Some(p) = self.process.take() {
            p.finish_stop();
        }
    }

    fn detach(&mut self) -> Option<ProcessId> {
        let p = self.process.take()?;
        let id = p.id();
        // A persistent BIRD's handle leaves the process running when dropped.
        drop(p);
        Some(id)
    }

    fn protocols(&self) -> BoxFuture<'_, Result<Vec<ProtocolRow>, DaemonError>> {
        async move { self.client().await?.protocols().await }.boxed()
    }

    fn protocol_details(&self) -> BoxFuture<'_, Result<Vec<ProtocolDetail>, DaemonError>> {
        async move { self.client().await?.protocols_all().await }.boxed()
    }

    fn protocol<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<ProtocolDetail, DaemonError>> {
        async move { self.client().await?.protocol(name).await }.boxed()
    }

    fn ospf_neighbors<'a>(
        &'a self,
        protocol: &'a str,
    ) -> BoxFuture<'a, Result<Vec<OspfNeighbor>, DaemonError>> {
        async move { self.client().await?.ospf_neighbors(protocol).await }.boxed()
    }

    fn route_view(&self, prefix: IpNet) -> BoxFuture<'_, Result<String, DaemonError>> {
        async move {
            let reply = self
                .client()
                .await?
                .command(&format!("show route for {prefix} all"))
                .await?;
            Ok(reply.text())
        }
        .boxed()
    }

    fn best_routes(&self) -> BoxFuture<'_, Result<String, DaemonError>> {
        async move {
            let reply = self
                .client()
                .await?
                .command("show route primary all")
                .await?;
            Ok(reply.text())
        }
        .boxed()
    }

    fn reconfigure<'a>(
        &'a mut self,
        config: &'a BirdConfig,
    ) -> BoxFuture<'a, Result<(), DaemonError>> {
        async move {
            let main = write_config(config, &self.files.sandbox, self.spec.user).map_err(|e| {
                DaemonError::io(format!("writing the new BIRD config of {}", self.node), e)
            })?;
            // BIRD runs in the directory of its first config and reads the new one as the
            // unprivileged user: name it relative to there, so no directory above needs to
            // be open to that user.
            let main = std::path::absolute(&main).unwrap_or(main);
            let target = relative_to(&main, &self.cwd);
            let mut client = self.client().await?;
            client.set_timeout(Duration::from_secs(30));
            client
                .command(&format!("configure \"{}\"", target.display()))
                .await?;
            // The new configuration is the daemon's from now on: a later start reads it.
            self.spec.config = main;
            Ok(())
        }
        .boxed()
    }

    fn log_tail(&self) -> String {
        self.process
            .as_ref()
            .map(BirdProcess::output)
            .unwrap_or_else(|| {
                std::fs::read_to_string(&self.files.log)
                    .map(|t| tail_lines(&t, 40))
                    .unwrap_or_default()
            })
    }

    fn how_to_reach(&self) -> String {
        format!("birdc -s {}", self.files.socket.display())
    }

    fn control_socket(&self) -> Option<PathBuf> {
        Some(self.files.socket.clone())
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        if self.spec.persistent {
            self.detach();
        } else {
            self.finish_stop();
        }
    }
}

/// The last `n` lines of `text`.
pub(crate) fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `path` relative to the directory `base` (both absolute): `../x/y.conf`.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for c in &path[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_daemon_directory() {
        let rel = |p: &str, b: &str| relative_to(Path::new(p), Path::new(b));
        assert_eq!(rel("/w/fx/a/b.conf", "/w/fx/a"), Path::new("b.conf"));
        assert_eq!(rel("/w/fx/c/d.conf", "/w/fx/a"), Path::new("../c/d.conf"));
        assert_eq!(
            rel("/tmp/r/n1/bird.cfg", "/w/fx/a"),
            Path::new("../../../tmp/r/n1/bird.cfg")
        );
    }
}
