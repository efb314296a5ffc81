//! Link impairments on a running namespace: netem and tbf queueing disciplines on an
//! interface's outgoing side, added with `tc` run inside the namespace.
//!
//! A subprocess, as for nftables, and only for scenarios that impair a link: netem's and
//! tbf's netlink options are binary structures in the kernel's clock ticks with rate
//! tables `tc` computes, and iproute2's `tc` is the reference for them. Where both are
//! asked for, netem is the root (`1:`) and tbf its child (`10:`), as tc-netem(8) shapes a
//! delayed line: packets are delayed, then sent no faster than the rate.

use routelab_model::link::Impairment;

use super::apply::{ApplyError, LabNamespace, run_in_namespace};

/// How much traffic tbf queues, as the time it takes to send at the rate: beyond it,
/// packets are dropped, as a shaper on a real line does.
const SHAPER_QUEUE: &str = "100ms";

/// The `tc` argument lists that impair `dev` (of MTU `mtu`) from a clean state.
pub fn tc_commands(dev: &str, mtu: u32, imp: &Impairment) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let base = |parent: &[&str]| -> Vec<String> {
        ["qdisc", "add", "dev", dev]
            .iter()
            .chain(parent)
            .map(|s| s.to_string())
            .collect()
    };
    if imp.needs_netem() {
        let mut netem = base(&["root", "handle", "1:", "netem"]);
        if let Some(d) = imp.delay {
            netem.extend(["delay".into(), format!("{}us", d.0)]);
            if let Some(j) = imp.jitter {
                netem.push(format!("{}us", j.0));
            }
        }
        if let Some(l) = imp.loss {
            netem.extend(["loss".into(), format!("{}%", f64::from(l.0) / 10_000.0)]);
        }
        out.push(netem);
    }
    if let Some(rate) = imp.rate {
        let parent: &[&str] = if imp.needs_netem() {
            &["parent", "1:1", "handle", "10:", "tbf"]
        } else {
            &["root", "handle", "1:", "tbf"]
        };
        let mut tbf = base(parent);
        tbf.extend([
            "rate".into(),
            format!("{}bit", rate.0),
            "burst".into(),
            burst_bytes(rate.0, mtu).to_string(),
            "latency".into(),
            SHAPER_QUEUE.into(),
        ]);
        out.push(tbf);
    }
    out
}

/// The bucket: 10 ms of traffic at the rate, and at least two full Ethernet frames, so a
/// frame (or a segment of a GSO packet, which tbf splits to fit) always fits.
fn burst_bytes(rate_bits: u64, mtu: u32) -> u64 {
    (rate_bits / 8 / 100).max(2 * (u64::from(mtu) + 14))
}

/// Gives `dev` in `space` the impairment `imp`, replacing any it had (`replace`: the
/// timeline's case; a freshly built interface has none).
pub(crate) fn impair(
    space: &LabNamespace,
    dev: &str,
    mtu: u32,
    imp: &Impairment,
    replace: bool,
) -> Result<(), ApplyError> {
    let tc = |args: &[String]| run_in_namespace(space, "tc", args, None, "iproute2");
    if replace {
        let del = ["qdisc", "del", "dev", dev, "root"].map(String::from);
        if let Err(e) = tc(&del) {
            // What a clean interface answers: its default qdisc has no handle to delete.
            let clean = ["handle of zero", "No such file or directory"];
            if !clean.iter().any(|c| e.to_string().contains(c)) {
                return Err(e);
            }
        }
    }
    for args in tc_commands(dev, mtu, imp) {
        tc(&args)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use routelab_model::impairment::{Loss, Micros, Rate};

    use super::*;

    fn line(cmds: &[Vec<String>]) -> Vec<String> {
        cmds.iter().map(|c| c.join(" ")).collect()
    }

    #[test]
    fn netem_is_the_root_and_tbf_its_child() {
        let imp = Impairment {
            delay: Some(Micros(16_000)),
            jitter: Some(Micros(1_000)),
            loss: Some(Loss(5_000)),
            rate: Some(Rate(100_000_000)),
        };
        assert_eq!(
            line(&tc_commands("iepl0", 1500, &imp)),
            [
                "qdisc add dev iepl0 root handle 1: netem delay 16000us 1000us loss 0.5%",
                "qdisc add dev iepl0 parent 1:1 handle 10: tbf rate 100000000bit burst 125000 \
                 latency 100ms",
            ]
        );
    }

    #[test]
    fn a_rate_alone_is_a_root_tbf_whose_burst_holds_two_frames() {
        let imp = Impairment {
            rate: Some(Rate(64_000)),
            ..Impairment::default()
        };
        assert_eq!(
            line(&tc_commands("eth0", 9000, &imp)),
            ["qdisc add dev eth0 root handle 1: tbf rate 64000bit burst 18028 latency 100ms"]
        );
        let loss = Impairment {
            loss: Some(Loss(1_000_000)),
            ..Impairment::default()
        };
        assert_eq!(
            line(&tc_commands("eth0", 1500, &loss)),
            ["qdisc add dev eth0 root handle 1: netem loss 100%"]
        );
        assert!(tc_commands("eth0", 1500, &Impairment::default()).is_empty());
    }
}
