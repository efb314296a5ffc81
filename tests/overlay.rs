//! The overlay link kind against the kernel: where a too-big packet is fragmented, and
//! that a DF one vanishes without an ICMP error. Builds the `zerotier-mtu` scenario's
//! network (1420-byte interfaces, threshold 1380) and reads the IP counters of the hidden
//! underlay namespaces around single pings. Needs root.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use routelab_lab::lab::{Lab, Mode};
use routelab_lab::probe::{IpCounters, PingOutcome, PingSpec, ip_counters, ping};

fn counters(lab: &Lab, ns: &str) -> IpCounters {
    ip_counters(&lab.netns(ns).unwrap_or_else(|| panic!("no namespace {ns}"))).unwrap()
}

fn ping_from(lab: &Lab, node: &str, to: &str, size: u16, df: bool) -> PingOutcome {
    let spec = PingSpec {
        dst: to.parse::<IpAddr>().unwrap(),
        src: None,
        size: Some(size),
        dont_fragment: df,
        ttl: None,
        timeout: Duration::from_millis(1000),
        attempts: 2,
    };
    ping(&lab.netns(node).unwrap(), &spec).unwrap()
}

#[test]
fn the_underlay_fragments_and_black_holes() {
    if !routelab_lab::net::netns::can_create_namespaces() {
        routelab_lab::skip_or_fail_without_root("the_underlay_fragments_and_black_holes");
        return;
    }
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/zerotier-mtu.yaml");
    let loaded = routelab_lab::run::load(&file, &routelab_lab::daemon::BirdSearch::from_env())
        .unwrap_or_else(|d| panic!("{d}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lab = runtime
        .block_on(Lab::build(&loaded.plan, Mode::Ephemeral))
        .unwrap_or_else(|e| panic!("building: {e}"));
    // Inside the runtime: the lab's netlink connections are tasks on it.
    let _guard = runtime.enter();

    // Warm up ARP over the overlay with a small packet.
    assert!(ping_from(&lab, "hkg02", "100.64.1.104", 84, false).is_reply());

    // At the threshold: nothing fragmented anywhere on the way there.
    let (s0, r0) = (
        counters(&lab, "zt-global.hkg02"),
        counters(&lab, "zt-global.hkg04"),
    );
    assert!(ping_from(&lab, "hkg02", "100.64.1.104", 1380, true).is_reply());
    let (s1, r1) = (
        counters(&lab, "zt-global.hkg02"),
        counters(&lab, "zt-global.hkg04"),
    );
    assert!(
        !s1.since(&s0).v4.any_fragmentation(),
        "{}",
        s1.since(&s0).v4
    );
    assert_eq!(r1.since(&r0).v4.reasm_reqds, 0);

    // One byte more with DF: lost in the sender's underlay (it could not fragment), and no
    // ICMP error reaches the sender.
    let before = counters(&lab, "zt-global.hkg02");
    let outcome = ping_from(&lab, "hkg02", "100.64.1.104", 1381, true);
    assert_eq!(outcome, PingOutcome::NoReply, "a black hole, not {outcome}");
    let d = counters(&lab, "zt-global.hkg02").since(&before).v4;
    assert!(d.frag_fails >= 1, "the outer packet was not refused: {d}");

    // A full 1420 without DF: the member sends it whole, its underlay host fragments the
    // outer UDP packet, the receiver's reassembles it.
    let (m0, s0, r0) = (
        counters(&lab, "hkg02"),
        counters(&lab, "zt-global.hkg02"),
        counters(&lab, "zt-global.hkg04"),
    );
    assert!(ping_from(&lab, "hkg02", "100.64.1.104", 1420, false).is_reply());
    let m = counters(&lab, "hkg02").since(&m0).v4;
    let s = counters(&lab, "zt-global.hkg02").since(&s0).v4;
    let r = counters(&lab, "zt-global.hkg04").since(&r0).v4;
    assert_eq!(m.frag_oks, 0, "the member itself fragmented: {m}");
    assert!(
        s.frag_oks >= 1 && s.frag_creates >= 2,
        "sender's underlay: {s}"
    );
    assert!(r.reasm_oks >= 1, "receiver's underlay: {r}");
    drop(lab);
}
