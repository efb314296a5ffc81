//! The effect of each timeline action on a running lab, and the running of a phase.
//!
//! Each action kind of `routelab_model::timeline` is one file here implementing [`Act`],
//! plus its variant in the [`acts!`] list below; the compiler insists every kind of the
//! model has one. Measurements run alongside a phase's expectations ([`outage`]).

mod bird_reload;
mod calico_change;
mod daemon_state;
mod exec;
mod impair;
mod interface_state;
mod link_state;
mod nftables;
pub mod outage;
mod set_mtu;

use std::time::{Duration, Instant};

use routelab_model::timeline::{Action, Measure, Step};
use serde::Serialize;

use crate::daemon::DaemonError;
use crate::lab::{Lab, LabError};

/// Why an action could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Lab(#[from] LabError),
    #[error("the daemon of `{node}`: {source}")]
    Daemon { node: String, source: DaemonError },
    #[error("{0}")]
    Failed(String),
}

/// What one action does to a running lab.
pub(crate) trait Act {
    /// Does it; returns a note for the report (a command's output, say).
    async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError>;
}

/// Declares which [`Action`] variants there are; each one's type implements [`Act`] in its
/// module. One entry per kind.
macro_rules! acts {
    ($($variant:ident),* $(,)?) => {
        impl Act for Action {
            async fn act(&self, lab: &mut Lab) -> Result<Option<String>, ActionError> {
                match self {
                    $(Action::$variant(a) => a.act(lab).await,)*
                }
            }
        }
    };
}

acts! {
    LinkDown, LinkUp, Flap, SetMtu, Impair,
    BirdStop, BirdKill, BirdStart, BirdRestart, BirdReload,
    AdminDown, AdminUp,
    Nftables,
    Exec,
    CalicoApply, CalicoDelete,
}

/// What became of one action.
#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    pub action: String,
    #[serde(serialize_with = "crate::json::serialize_secs")]
    pub took: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Applies a step's actions in order, stopping at the first that fails.
pub async fn apply(lab: &mut Lab, step: &Step) -> Vec<ActionReport> {
    let mut reports = Vec::new();
    for action in &step.actions {
        let started = Instant::now();
        tracing::info!(step = %step.name, %action, "applying");
        let result = action.act(lab).await;
        let (note, error) = match result {
            Ok(note) => (note, None),
            Err(e) => (None, Some(e.to_string())),
        };
        let failed = error.is_some();
        reports.push(ActionReport {
            action: action.to_string(),
            took: started.elapsed(),
            note,
            error,
        });
        if failed {
            break;
        }
    }
    reports
}

/// Measurements of a phase, started with it.
pub(crate) struct Measurements {
    outages: Vec<outage::Running>,
}

impl Measurements {
    pub(crate) fn start(lab: &Lab, measures: &[Measure]) -> Measurements {
        let outages = measures
            .iter()
            .map(|m| match m {
                Measure::Outage(o) => outage::Running::start(lab, o),
            })
            .collect();
        Measurements { outages }
    }

    /// Waits until every outage probe has run for at least its minimum window and, where
    /// the outage is asserted, sees traffic flow again.
    pub(crate) async fn resumed(&self, clock: Instant) {
        if !self.outages.is_empty() {
            tokio::time::sleep_until((clock + outage::MIN_WINDOW).into()).await;
        }
        for o in &self.outages {
            o.resumed().await;
        }
    }

    /// Stops them all at once and says what they saw, from the phase's start `clock`.
    pub(crate) async fn finish(self, clock: Instant) -> Vec<outage::OutageReport> {
        let ended = clock.elapsed();
        for o in &self.outages {
            o.stop();
        }
        let mut out = Vec::new();
        for o in self.outages {
            out.push(o.finish(clock, ended).await);
        }
        out
    }
}
