//! The end of a node's BIRD log under each failing expectation about that node: what
//! BIRD itself said (warnings, errors, protocol state changes) is often the diagnosis.
//!
//! BIRD logs what its configuration's `log` statements ask for, and with none only to
//! syslog: routelab shows what it printed (`log stderr all;`) or its log file. A calico
//! node's BIRD 1.6 runs with `-d`, as calico-node runs it, and so prints every message. Lines that
//! tell something (a warning, an error, a remote's error, a
//! state change) are picked; when there are none, the last few lines are shown as they
//! are.

use routelab_model::expect::Expectation;

use crate::lab::Lab;
use crate::observe::Outcome;

/// How many lines are shown.
const SHOWN: usize = 8;

/// Fills in `log_tail` of every failed outcome whose node runs a daemon. `outcomes` are
/// in the order of `expectations`.
pub(crate) fn attach_tails(lab: &Lab, expectations: &[Expectation], outcomes: &mut [Outcome]) {
    for (e, o) in expectations.iter().zip(outcomes.iter_mut()) {
        if o.holds {
            continue;
        }
        let node = e.kind.subject();
        let daemon = match e.kind.protocol() {
            Some(protocol) => lab.daemon_for(node, protocol),
            None => lab.daemon(node),
        };
        let Ok(daemon) = daemon else {
            continue;
        };
        let log = daemon.log_tail();
        let tail = telling_lines(&log);
        o.log_tail = Some(if !tail.iter().any(|l| is_logged(l)) {
            format!(
                "BIRD log of {node}: nothing logged (BIRD logs to syslog unless its config \
                 says `log stderr all;`)"
            )
        } else {
            format!("BIRD log of {node}, the end:\n  {}", tail.join("\n  "))
        });
    }
}

/// Whether `line` came from BIRD's logging: a message with its class (`<WARN>`, from a
/// `log` statement) or, from BIRD 1.6 run with `-d` as calico-node runs it, `bird: `.
fn is_logged(line: &str) -> bool {
    line.contains('<') || line.starts_with("bird: ")
}

/// The last [`SHOWN`] lines that tell something, or the last lines as they are.
fn telling_lines(log: &str) -> Vec<&str> {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let telling: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            ["<WARN>", "<ERR>", "<RMT>", "<BUG>", "<FATAL>", "<AUTH>"]
                .iter()
                .any(|tag| l.contains(tag))
                || l.to_ascii_lowercase().contains("state changed")
                || l.contains("Error")
                || l.contains("graceful restart")
                || l.contains("collision")
        })
        .collect();
    let chosen = if telling.is_empty() { lines } else { telling };
    chosen[chosen.len().saturating_sub(SHOWN)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::telling_lines;

    #[test]
    fn warnings_and_state_changes_are_picked() {
        let log = "2026-01-01 <INFO> Started\n\
                   2026-01-01 <TRACE> device1: Scanning interfaces\n\
                   2026-01-01 <TRACE> core: state changed to up\n\
                   2026-01-01 <RMT> peer: Received: Bad peer AS\n\
                   2026-01-01 <INFO> Reconfigured\n";
        assert_eq!(
            telling_lines(log),
            [
                "2026-01-01 <TRACE> core: state changed to up",
                "2026-01-01 <RMT> peer: Received: Bad peer AS"
            ]
        );
    }

    #[test]
    fn calico_nodes_debug_output_is_read_too() {
        let log = "bird: Node_10_0_0_11: Connecting to 10.0.0.11 from local address 10.0.0.10\n\
                   bird: Node_10_0_0_11: Connection collision, giving up the other connection\n\
                   bird: Node_10_0_0_11: BGP session established\n\
                   bird: Node_10_0_0_11: Neighbor graceful restart detected\n\
                   bird: Node_10_0_0_11: State changed to start\n";
        assert_eq!(
            telling_lines(log),
            [
                "bird: Node_10_0_0_11: Connection collision, giving up the other connection",
                "bird: Node_10_0_0_11: Neighbor graceful restart detected",
                "bird: Node_10_0_0_11: State changed to start"
            ]
        );
        assert!(super::is_logged(telling_lines(log)[0]));
    }

    #[test]
    fn without_telling_lines_the_last_ones_are_shown() {
        let log: String = (0..20).map(|i| format!("line {i}\n")).collect();
        let got = telling_lines(&log);
        assert_eq!(got.len(), 8);
        assert_eq!(got[7], "line 19");
    }
}
