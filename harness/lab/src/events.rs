//! What a run tells while it goes: phases starting and ending, actions applied,
//! expectations decided. [`run::execute_with`](crate::run::execute_with) hands each event
//! to a [`Reporter`] the caller supplies (the CLI's prints progress), so nobody waits for
//! the end of a scenario to see what held.
//!
//! Events arrive in order within a phase; expectations of one phase are decided
//! concurrently and reported in the order they are decided, not the file's.

use std::time::Duration;

use crate::observe::Outcome;
use crate::report::PhaseReport;
use crate::timeline::ActionReport;

/// One thing that happened during a run.
#[derive(Debug)]
pub enum Event<'a> {
    /// The network is built and its daemons are up.
    Built {
        scenario: &'a str,
        build: Duration,
        daemons: Duration,
    },
    /// A step's action was applied (or failed).
    ActionDone {
        phase: &'a str,
        action: &'a ActionReport,
    },
    /// A phase's clock started: `expectations` are to be decided, positives within
    /// `budget` (each has its own deadline; this is the longest).
    PhaseStarted {
        phase: &'a str,
        expectations: usize,
        budget: Duration,
    },
    /// One expectation was decided, held or not, with its measured time.
    ExpectationDone {
        phase: &'a str,
        outcome: &'a Outcome,
    },
    /// A phase is over.
    PhaseFinished { report: &'a PhaseReport },
}

/// Receives a run's events as they happen. Called from the run's own task: an
/// implementation must return quickly.
pub trait Reporter: Sync {
    fn event(&self, event: &Event<'_>);
}

/// Tells nobody.
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: &Event<'_>) {}
}
