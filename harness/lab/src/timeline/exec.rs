//! `exec` on a running lab: the command inside the node's namespace, which must exit 0.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use routelab_model::timeline::exec::Exec;

use super::{Act, ActionError};
use crate::lab::{Lab, LabError};
use crate::net::Netns;

/// How long the command may run.
const LIMIT: Duration = Duration::from_secs(30);

impl Act for Exec {
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
        let netns = lab
            .netns(&self.node)
            .ok_or_else(|| LabError::NoSuchNode(self.node.clone()))?;
        let command = self.command.clone();
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || run(&netns, &node, &command))
            .await
            .map_err(|e| ActionError::Failed(format!("exec on {}: {e}", self.node)))?
    }
}

fn run(netns: &Netns, node: &str, command: &[String]) -> Result<Option<String>, ActionError> {
    let fd = std::os::fd::AsRawFd::as_raw_fd(netns);
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only setns runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || Netns::enter_in_child(fd));
    }
    let failed =
        |why: String| ActionError::Failed(format!("exec on {node}: {}: {why}", command.join(" ")));
    let mut child = cmd.spawn().map_err(|e| failed(e.to_string()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| failed(e.to_string()))? {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(format!("still running after {LIMIT:?}; killed")));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut output = String::new();
    for pipe in [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn Read>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut text = String::new();
        let _ = pipe.take(64 * 1024).read_to_string(&mut text);
        output.push_str(&text);
    }
    let output = output.trim().to_string();
    if !status.success() {
        return Err(failed(format!("{status}; its output:\n{output}")));
    }
    Ok((!output.is_empty()).then_some(output))
}
