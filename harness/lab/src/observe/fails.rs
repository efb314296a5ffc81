//! `fails`: an expectation that must *not* hold, for a reason the report shows. Bug
//! Observed on the running lab: see `routelab_model::expect::fails` for the spec.

use routelab_model::expect::fails::Fails;

use super::{Observation, Observe};
use crate::lab::Lab;

impl Observe for Fails {
    async fn observe(&self, lab: &Lab) -> Observation {
        let seen = Box::pin(self.inner.kind.observe_failing(lab)).await;
        let holds = !seen.holds && seen.observed.contains(&self.with);
        let verdict = if seen.holds {
            "the expectation holds, so the bug did not show"
        } else if holds {
            "fails as expected"
        } else {
            "fails, but without the expected diagnosis yet"
        };
        let mut verdict = Observation::new(holds, format!("{verdict}:\n{}", seen.observed));
        // The inner expectation's values are what was observed of it.
        verdict.actual = seen.actual;
        verdict
    }
}
