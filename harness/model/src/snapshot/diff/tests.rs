use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::snapshot::{
    BirdRoute, NodeState, Outage, PathState, PhaseState, ProtocolState, Reachability, RouteState,
    Snapshot, Timing,
};

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn sample() -> Snapshot {
    let mut node = NodeState::default();
    node.protocols.insert(
        "to_ext".into(),
        ProtocolState {
            proto: "BGP".into(),
            state: "up Established".into(),
            neighbors: set(&["10.0.1.2"]),
        },
    );
    node.routes.insert(
        "main 203.0.113.0/24".into(),
        RouteState {
            kind: "unicast".into(),
            protocol: "bird".into(),
            metric: Some(32),
            nexthops: set(&["via 10.0.1.2 dev eth0", "via 10.0.3.2 dev eth2"]),
        },
    );
    node.bird_routes.insert(
        "203.0.113.0/24".into(),
        BirdRoute {
            protocol: "to_ext".into(),
            nexthops: set(&["via 10.0.1.2 dev eth0"]),
            bgp: [("as_path".to_string(), "65002".to_string())].into(),
        },
    );
    let mut phase = PhaseState {
        name: "as built".into(),
        nodes: [("rr".to_string(), node)].into(),
        reachability: Reachability {
            scope: "all pairs of 2 endpoints".into(),
            pairs: [("rr -> ext (10.0.1.2)".to_string(), "ok".to_string())].into(),
        },
        paths: BTreeMap::new(),
        timing: Timing {
            convergence_ms: Some(4000),
            outages: BTreeMap::new(),
            tolerance_ms: None,
        },
    };
    phase.paths.insert(
        "rr -> 10.0.1.2".into(),
        PathState {
            hops: vec![set(&["10.0.1.2"])],
            reached: true,
            pmtu: Some(1500),
        },
    );
    Snapshot {
        format: crate::snapshot::FORMAT,
        scenario: "route-reflector".into(),
        phases: vec![phase],
    }
}

fn run(a: &Snapshot, b: &Snapshot) -> Diff {
    diff(a, b, ("a", "b"), Tolerance::default())
}

#[test]
fn the_same_snapshot_has_no_differences() {
    let d = run(&sample(), &sample());
    assert!(d.changes.is_empty());
    assert_eq!(crate::snapshot::render::summary(&d), "no differences");
    assert!(!d.fails_on(&[]));
}

#[test]
fn a_changed_route_is_one_change_keyed_by_node_table_and_prefix() {
    let a = sample();
    let mut b = sample();
    let r = b.phases[0].nodes.get_mut("rr").unwrap();
    r.routes.get_mut("main 203.0.113.0/24").unwrap().nexthops = set(&["via 10.0.3.2 dev eth2"]);
    let d = run(&a, &b);
    assert_eq!(d.changes.len(), 1, "{d:?}");
    let c = &d.changes[0];
    assert_eq!(
        (c.category, c.node.as_str(), c.key.as_str()),
        (Category::Routes, "rr", "main 203.0.113.0/24")
    );
    assert_eq!(
        c.before.as_deref(),
        Some("unicast via 10.0.1.2 dev eth0; via 10.0.3.2 dev eth2 proto bird metric 32")
    );
    assert_eq!(
        c.after.as_deref(),
        Some("unicast via 10.0.3.2 dev eth2 proto bird metric 32")
    );
    assert!(d.fails_on(&[Category::Routes]));
    assert!(!d.fails_on(&[Category::Reachability]));
}

#[test]
fn added_and_removed_entries_have_one_side() {
    let a = sample();
    let mut b = sample();
    let p = &mut b.phases[0];
    p.reachability.pairs.clear();
    p.reachability
        .pairs
        .insert("ext -> rr (10.0.1.1)".into(), "fails: timeout".into());
    let d = run(&a, &b);
    assert_eq!(d.changes.len(), 2);
    assert!(
        d.changes
            .iter()
            .all(|c| c.category == Category::Reachability)
    );
    assert_eq!(d.changes[0].before, None);
    assert_eq!(d.changes[1].after, None);
    assert_eq!(
        crate::snapshot::render::summary(&d),
        "2 differences: reachability 2"
    );
}

/// `sample()` with a timeline step after the build, converging in `ms`.
fn with_step(ms: u64) -> Snapshot {
    let mut s = sample();
    let mut step = s.phases[0].clone();
    step.name = "uplink fails".into();
    step.timing.convergence_ms = Some(ms);
    s.phases.push(step);
    s
}

#[test]
fn timings_within_tolerance_are_the_same() {
    let a = with_step(4000);
    let mut b = with_step(4900);
    assert!(run(&a, &b).changes.is_empty(), "within 2 s");
    b.phases[1].timing.convergence_ms = Some(12_000);
    let d = run(&a, &b);
    assert_eq!(d.changes.len(), 1);
    assert_eq!(d.changes[0].category, Category::Convergence);
    assert_eq!(d.changes[0].phase, "uplink fails");
    assert_eq!(d.changes[0].before.as_deref(), Some("4.0 s"));
    // Long phases: 50% of the larger figure.
    b.phases[1].timing.convergence_ms = Some(200_000);
    let mut a = a;
    a.phases[1].timing.convergence_ms = Some(240_000);
    assert!(run(&a, &b).changes.is_empty());
    let tight = Tolerance {
        absolute_ms: 100,
        relative: 0.0,
    };
    assert_eq!(diff(&a, &b, ("a", "b"), tight).changes.len(), 1);
}

#[test]
fn a_step_s_declared_tolerance_widens_the_bound_for_its_figures_only() {
    // The two modes of a recovery decided by BGP's jittered timers and TCP's SYN back-off.
    let a = with_step(7_300);
    let mut b = with_step(21_800);
    assert_eq!(run(&a, &b).changes.len(), 1, "beyond 2 s and 50%");
    b.phases[1].timing.tolerance_ms = Some(20_000);
    let d = run(&a, &b);
    assert!(d.changes.is_empty(), "{:?}", d.changes);
    assert_eq!(
        d.notes,
        [
            "uplink fails: convergence 7.3 s before and 21.8 s after; within the 20.0 s the \
          scenario allows for this step"
        ]
    );
    // Beyond it: a change.
    b.phases[1].timing.convergence_ms = Some(40_000);
    assert_eq!(run(&a, &b).changes.len(), 1);
    // Only that step's figures: the same change in another phase is still one.
    let mut c = with_step(7_300);
    c.phases[1].timing.tolerance_ms = Some(20_000);
    c.phases.push(PhaseState {
        name: "uplink back".into(),
        ..a.phases[1].clone()
    });
    let mut e = c.clone();
    e.phases[2].timing.convergence_ms = Some(21_800);
    e.phases[2].timing.tolerance_ms = None;
    let d = run(&c, &e);
    assert_eq!(d.changes.len(), 1);
    assert_eq!(d.changes[0].phase, "uplink back");
}

#[test]
fn a_cold_start_figure_is_a_note_but_not_converging_is_a_change() {
    let a = sample();
    let mut b = sample();
    b.phases[0].timing.convergence_ms = Some(24_000);
    let d = run(&a, &b);
    assert!(d.changes.is_empty(), "{:?}", d.changes);
    assert_eq!(
        d.notes,
        [
            "as built: converged in 4.0 s before and 24.0 s after; not compared, since a \
          cold start's figure is decided by daemons racing each other"
        ]
    );
    // Within the tolerance: not even a note.
    b.phases[0].timing.convergence_ms = Some(4500);
    assert!(run(&a, &b).notes.is_empty());
    b.phases[0].timing.convergence_ms = None;
    let d = run(&a, &b);
    assert_eq!(d.changes.len(), 1);
    assert_eq!(d.changes[0].category, Category::Convergence);
    assert_eq!(d.changes[0].after, None);
}

#[test]
fn outages_are_compared_with_tolerance() {
    let mut a = sample();
    let mut b = sample();
    a.phases[0].timing.outages.insert(
        "h1 -> 10.0.0.1".into(),
        Outage {
            lost: 300,
            longest_gap_ms: 3000,
            still_down: false,
        },
    );
    b.phases[0].timing.outages.insert(
        "h1 -> 10.0.0.1".into(),
        Outage {
            lost: 310,
            longest_gap_ms: 3100,
            still_down: false,
        },
    );
    assert!(run(&a, &b).changes.is_empty());
    b.phases[0].timing.outages.clear();
    assert_eq!(run(&a, &b).changes.len(), 3);
}

#[test]
fn an_outage_cut_short_by_the_phases_end_is_compared_by_its_state_alone() {
    let outage = |lost, gap_ms, still_down| Outage {
        lost,
        longest_gap_ms: gap_ms,
        still_down,
    };
    let mut a = sample();
    let mut b = sample();
    let pair = "k8s-master -> 10.244.107.192".to_string();
    a.phases[0]
        .timing
        .outages
        .insert(pair.clone(), outage(649, 7170, true));
    b.phases[0]
        .timing
        .outages
        .insert(pair.clone(), outage(4000, 40_240, true));
    assert!(run(&a, &b).changes.is_empty());
    b.phases[0]
        .timing
        .outages
        .insert(pair.clone(), outage(600, 6000, false));
    let d = run(&a, &b);
    let keys: Vec<_> = d.changes.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "outage k8s-master -> 10.244.107.192",
            "outage k8s-master -> 10.244.107.192: longest gap",
            "outage k8s-master -> 10.244.107.192: lost (x10 ms)"
        ]
    );
    assert_eq!(
        d.changes[0].before.as_deref(),
        Some("traffic not back by the end of the phase")
    );
}

#[test]
fn a_phase_on_one_side_only_is_a_change() {
    let a = sample();
    let mut b = sample();
    let mut step = b.phases[0].clone();
    step.name = "link cut".into();
    b.phases.push(step);
    let d = run(&a, &b);
    assert_eq!(d.changes.len(), 1);
    assert_eq!(d.changes[0].category, Category::Phases);
    assert_eq!(d.changes[0].phase, "link cut");
}

#[test]
fn renderers() {
    let a = sample();
    let mut b = sample();
    b.phases[0].paths.get_mut("rr -> 10.0.1.2").unwrap().pmtu = Some(1420);
    let d = run(&a, &b);
    let text = crate::snapshot::render::text(&d);
    assert_eq!(
        text,
        "a → b: 1 difference: pmtu 1\n\n[pmtu]\n~ as built · rr -> 10.0.1.2\n    before: 1500\n    after:  1420\n"
    );
    let md = crate::snapshot::render::markdown(&d);
    assert!(
        md.starts_with("**routelab diff** `a` → `b`: 1 difference: pmtu 1\n"),
        "{md}"
    );
    assert!(md.contains("\n### pmtu (1)\n"), "{md}");
    assert!(
        md.contains("| ~ | as built |  | rr -> 10.0.1.2 | `1500` | `1420` |"),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(&crate::snapshot::render::json(&d)).unwrap();
    assert_eq!(json["counts"]["pmtu"], 1);
    assert_eq!(json["changes"][0]["category"], "pmtu");
}

#[test]
fn snapshots_round_trip_through_json() {
    let s = sample();
    let back = Snapshot::from_json("s.json", &s.to_json()).unwrap();
    assert_eq!(back, s);
    let err = Snapshot::from_json("s.json", "{\n  \"format\": 1,\n  oops").unwrap_err();
    assert!(err.to_string().starts_with("s.json: "), "{err}");
    assert!(err.to_string().contains("line 3 column"), "{err}");
    let mut old = s.clone();
    old.format = 0;
    let err = Snapshot::from_json("s.json", &old.to_json()).unwrap_err();
    assert!(err.to_string().contains("format 0"), "{err}");
}

#[test]
fn link_local_addresses_are_masked() {
    assert_eq!(
        crate::snapshot::mask_link_local("2001:db8::1 fe80::a8c1:abff:fe12:3456"),
        "2001:db8::1 fe80::(link-local)"
    );
}

fn arb_phase() -> impl Strategy<Value = PhaseState> {
    let routes = proptest::collection::btree_map(
        "(main|local) 10\\.[0-9]\\.0\\.0/24",
        (
            "(unicast|blackhole)",
            proptest::collection::btree_set("via 10\\.0\\.[0-9]\\.1 dev eth[0-3]", 0..4),
            proptest::option::of(0u32..2000),
        ),
        0..6,
    );
    let pairs = proptest::collection::btree_map("[a-d] -> [a-d]", "(ok|fails: timeout)", 0..6);
    (routes, pairs, proptest::option::of(0u64..100_000)).prop_map(|(routes, pairs, conv)| {
        let node = NodeState {
            protocols: BTreeMap::new(),
            routes: routes
                .into_iter()
                .map(|(k, (kind, nexthops, metric))| {
                    (
                        k,
                        RouteState {
                            kind,
                            protocol: "bird".into(),
                            metric,
                            nexthops,
                        },
                    )
                })
                .collect(),
            bird_routes: BTreeMap::new(),
        };
        PhaseState {
            name: "as built".into(),
            nodes: [("n1".to_string(), node)].into(),
            reachability: Reachability {
                scope: "all".into(),
                pairs,
            },
            paths: BTreeMap::new(),
            timing: Timing {
                convergence_ms: conv,
                outages: BTreeMap::new(),
                tolerance_ms: None,
            },
        }
    })
}

fn snap(p: PhaseState) -> Snapshot {
    Snapshot {
        format: crate::snapshot::FORMAT,
        scenario: "s".into(),
        phases: vec![p],
    }
}

proptest! {
    #[test]
    fn a_snapshot_equals_itself(p in arb_phase()) {
        prop_assert!(run(&snap(p.clone()), &snap(p)).changes.is_empty());
    }

    #[test]
    fn capture_order_is_not_a_change(p in arb_phase()) {
        // Rebuilt from its entries in reverse: the maps and sets sort them again.
        let mut q = p.clone();
        let node = q.nodes.get_mut("n1").unwrap();
        let routes: Vec<_> = node.routes.clone().into_iter().rev().collect();
        node.routes = routes.into_iter().map(|(k, mut r)| {
            r.nexthops = r.nexthops.into_iter().rev().collect();
            (k, r)
        }).collect();
        let a = snap(p);
        let b = snap(q);
        prop_assert!(run(&a, &b).changes.is_empty());
        prop_assert_eq!(a.to_json(), b.to_json());
    }

    #[test]
    fn every_difference_is_found_in_both_directions(a in arb_phase(), b in arb_phase()) {
        let (sa, sb) = (snap(a.clone()), snap(b.clone()));
        let forward = run(&sa, &sb);
        let back = run(&sb, &sa);
        prop_assert_eq!(forward.changes.len(), back.changes.len());
        let same_data = a.nodes == b.nodes && a.reachability == b.reachability;
        if !same_data {
            prop_assert!(!forward.changes.is_empty());
        }
        for c in &forward.changes {
            prop_assert!(c.before != c.after);
        }
    }
}

#[test]
fn an_unreached_trace_ends_at_the_last_router_that_forwarded_it() {
    let path = |hops: &[&[&str]], reached| PathState {
        hops: hops.iter().map(|h| set(h)).collect(),
        reached,
        pmtu: None,
    };
    let ended_by_h = path(&[&["10.0.0.1"], &["*"], &["10.42.0.0 !H"]], false);
    let ended_silent = path(&[&["10.0.0.1"], &["*"], &["*"], &["*"]], false);
    assert_eq!(ended_by_h.trim_unreached(), path(&[&["10.0.0.1"]], false));
    assert_eq!(ended_silent.trim_unreached(), path(&[&["10.0.0.1"]], false));
    // Reached: every hop is kept, silent ones too.
    let reached = path(&[&["10.0.0.1"], &["*"], &["10.42.0.5"]], true);
    assert_eq!(reached.clone().trim_unreached(), reached);
}

#[test]
fn a_session_that_is_not_up_is_not_established_whatever_its_retry_state() {
    use crate::snapshot::bgp_state;
    assert_eq!(bgp_state("up", Some("Established")), "up Established");
    assert_eq!(bgp_state("start", Some("Idle")), "start not established");
    assert_eq!(
        bgp_state("start", Some("Active")),
        bgp_state("start", Some("Connect"))
    );
    assert_eq!(bgp_state("down", None), "down");
}
