//! `bgp`: a BIRD BGP protocol on a node is in a given session state.
//! Observed on the running lab: see `routelab_model::expect::bgp` for the spec.

use routelab_model::expect::bgp::Bgp;

use crate::daemon::DaemonError;
use super::{Observation, Observe};
use crate::lab::Lab;

impl Observe for Bgp {
    async fn observe(&self, lab: &Lab) -> Observation {
        let daemon = match lab.daemon_for(&self.node, &self.protocol) {
            Ok(d) => d,
            Err(e) => return Observation::error(e),
        };
        match daemon.protocol(&self.protocol).await {
            Ok(p) => {
                let state = p.bgp_state.clone().unwrap_or_else(|| p.row.state.clone());
                let matches = state.eq_ignore_ascii_case(&self.state) && !self.absent;
                let mut seen = format!("{}: {} ({})", self.protocol, state, p.row.info);
                if let Some(err) = &p.last_error {
                    seen.push_str(&format!(", last error: {err}"));
                }
                // A password mismatch leaves BIRD without an error to show: the kernel drops
                // the other end's segments before any socket sees them, and only counts them.
                let md5 = match lab.netns(&self.node) {
                    Some(ns) if !state.eq_ignore_ascii_case("Established") => {
                        crate::probe::md5_drops(&ns).ok().filter(|d| d.any())
                    }
                    _ => None,
                };
                if let Some(d) = &md5 {
                    seen.push_str(&format!("; {d}"));
                }
                Observation::new(matches != self.negated, seen)
                    .with("md5_drops", md5.map(|d| d.not_found + d.unexpected + d.failure))
                    .with("protocol", &self.protocol)
                    .with("state", &state)
                    .with("info", &p.row.info)
                    .with("last_error", &p.last_error)
            }
            Err(DaemonError::NoSuchProtocol { .. }) => {
                let names: Vec<String> = daemon
                    .protocols()
                    .await
                    .map(|rows| rows.into_iter().map(|r| r.name).collect())
                    .unwrap_or_default();
                Observation::new(
                    self.absent,
                    format!(
                        "no protocol `{}` in {} on {} (it has: {})",
                        self.protocol,
                        daemon.describe(),
                        self.node,
                        names.join(", ")
                    ),
                )
                .with("protocol", serde_json::Value::Null)
                .with("protocols", names)
            }
            Err(e) => Observation::error(format!("{} on {}: {e}", daemon.describe(), self.node)),
        }
    }
}
