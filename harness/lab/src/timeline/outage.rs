//! `outage` measured on a running lab: a stream of echo requests through the phase.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use routelab_model::timeline::outage::{INTERVAL, Outage, OutageFigures};
use serde::Serialize;

use crate::lab::Lab;
use crate::probe::StreamLog;

/// The least time an outage is measured for, however soon its phase's expectations are
/// decided: a shorter window would say nothing about an outage.
pub(crate) const MIN_WINDOW: Duration = Duration::from_secs(5);

/// How many answered requests in a row count as traffic flowing again.
const RESUMED_AFTER: usize = 3;

/// What one outage measurement found.
#[derive(Debug, Clone, Serialize)]
pub struct OutageReport {
    pub label: String,
    /// `None` when the probe could not run (the error is then in `figures`' place).
    pub figures: Option<OutageFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The longest gap allowed, when the scenario asserts one.
    #[serde(serialize_with = "crate::json::serialize_opt_secs")]
    pub max: Option<Duration>,
    pub holds: bool,
}

/// A measurement under way.
pub(crate) struct Running {
    outage: Outage,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<StreamLog>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    error: Option<String>,
}

impl Running {
    pub(crate) fn start(lab: &Lab, outage: &Outage) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(StreamLog::default()));
        let (task, error) = match lab.netns(&outage.from) {
            Some(netns) => {
                let (dst, src) = (outage.to, outage.src);
                let (stop, log) = (stop.clone(), log.clone());
                let task = tokio::task::spawn_blocking(move || {
                    crate::probe::stream(&netns, dst, src, INTERVAL, stop, log)
                });
                (Some(task), None)
            }
            None => (None, Some(format!("no node `{}` in the lab", outage.from))),
        };
        Running {
            outage: outage.clone(),
            stop,
            log,
            task,
            error,
        }
    }

    /// Waits until traffic flows (the last few requests answered), for an outage whose
    /// length is asserted (`max`); one only measured ends with the phase's expectations.
    pub(crate) async fn resumed(&self) {
        if self.outage.max.is_none() {
            return;
        }
        loop {
            let flowing = self.task.as_ref().is_none_or(|t| t.is_finished())
                || self
                    .log
                    .lock()
                    .expect("the stream log is not poisoned")
                    .answering(RESUMED_AFTER);
            if flowing {
                return;
            }
            tokio::time::sleep(INTERVAL * 5).await;
        }
    }

    /// Tells the stream to stop sending.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Waits for the stopped stream's late answers and works out what it saw between
    /// `clock` and `ended` after it.
    pub(crate) async fn finish(mut self, clock: Instant, ended: Duration) -> OutageReport {
        self.stop();
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => self.error = Some(e.to_string()),
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        let label = self.outage.to_string();
        if let Some(error) = self.error {
            return OutageReport {
                label,
                figures: None,
                error: Some(error),
                max: self.outage.max,
                holds: false,
            };
        }
        let probes: Vec<(Duration, bool)> = self
            .log
            .lock()
            .expect("the stream log is not poisoned")
            .probes
            .iter()
            .map(|(at, answered)| (at.saturating_duration_since(clock), *answered))
            .filter(|(at, _)| *at <= ended)
            .collect();
        let figures = OutageFigures::from_probes(&probes, ended);
        let holds = self.outage.max.is_none_or(|max| figures.longest_gap <= max);
        OutageReport {
            label,
            figures: Some(figures),
            error: None,
            max: self.outage.max,
            holds,
        }
    }
}
