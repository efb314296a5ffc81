//! `bird_stop`, `bird_kill`, `bird_start`, `bird_restart` on a running lab.

use std::time::{Duration, Instant};

use routelab_model::timeline::daemon_state::{Change, DaemonState};

use super::{Act, ActionError};
use crate::daemon::Stop;
use crate::lab::Lab;

/// How long a daemon may take to stop before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Act for DaemonState {
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
        match self.change {
            Change::Stop => stop(lab, &self.node, Stop::Orderly).await,
            Change::Kill => stop(lab, &self.node, Stop::Kill).await,
            Change::Start => start(lab, &self.node).await,
            Change::Restart => {
                stop(lab, &self.node, Stop::Orderly).await?;
                start(lab, &self.node).await
            }
        }
    }
}

async fn stop(lab: &mut Lab, node: &str, how: Stop) -> Result<Option<String>, ActionError> {
    // Its exit is expected from now on, not a failure.
    lab.expect_running(node, false);
    let daemon = lab.daemon_mut(node)?;
    daemon
        .signal_stop(how)
        .map_err(|source| ActionError::Daemon {
            node: node.into(),
            source,
        })?;
    let deadline = Instant::now() + STOP_GRACE;
    while !daemon.has_stopped() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let in_time = daemon.has_stopped();
    daemon.finish_stop();
    Ok((!in_time).then(|| format!("it did not stop within {STOP_GRACE:?} and was killed")))
}

async fn start(lab: &mut Lab, node: &str) -> Result<Option<String>, ActionError> {
    let daemon = lab.daemon_mut(node)?;
    let failed = |source| ActionError::Daemon {
        node: node.into(),
        source,
    };
    daemon.start().map_err(failed)?;
    daemon.ready().await.map_err(failed)?;
    lab.expect_running(node, true);
    Ok(None)
}
