//! `fails`: an expectation that must *not* hold, for a reason the report shows. Bug
//! reproductions use it: the scenario passes when routelab diagnoses the bug.
//!
//! ```yaml
//! - fails:
//!     with: "BGP.next_hop: 10.0.1.2"       # text the failure report must contain
//!     expect: { route: { node: client, prefix: 203.0.113.0/24, via: 10.0.2.1 } }
//! ```
//! It is checked with the negative expectations, once every positive one has held, and
//! holds when the inner expectation is observed failing with that text in its report; it
//! fails if the inner expectation holds, or if the diagnosis never appears.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Common, Expectation, ExpectationSpec, With};
use crate::network::Network;
use crate::context::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Text that must appear in the inner expectation's observation.
    pub with: Spanned<String>,
    pub expect: Box<Spanned<ExpectationSpec>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fails {
    pub inner: Box<Expectation>,
    pub with: String,
}

impl Fails {
    pub fn validate(spec: &With<Common, Spec>, cx: &mut Context, scenario: &Network) -> Option<Fails> {
        if spec.with.value.trim().is_empty() {
            cx.error(
                spec.with.referenced,
                "`with` needs the text the diagnosis must contain",
            );
            return None;
        }
        if matches!(spec.expect.value, ExpectationSpec::Fails(_)) {
            cx.error(
                spec.expect.referenced,
                "`fails` cannot wrap another `fails`",
            );
            return None;
        }
        let inner = Expectation::validate(&spec.expect, cx, scenario)?;
        Some(Fails {
            inner: Box::new(inner),
            with: spec.with.value.clone(),
        })
    }
}

impl fmt::Display for Fails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fails: {} (with {:?})", self.inner.label, self.with)
    }
}

impl super::Assertion for Fails {
    /// A bug's diagnosis may already show before the network has converged (a route not
    /// there yet looks like a route that will never come); only after is it proof.
    fn is_negative(&self) -> bool {
        true
    }
}
