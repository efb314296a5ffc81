//! The probes against real topologies: real namespaces, veths, forwarding and ICMP.
//!
//! Each test builds its own `h1 - r - h2` chain (see [`testnet::chain`]), so tests run in
//! parallel without sharing kernel state such as cached path MTUs or ICMP rate-limit buckets.

use std::net::IpAddr;
use std::time::Duration;

use super::*;
use crate::net::netns::can_create_namespaces;
use crate::testnet::{self, *};

/// Skips (or, under CI, fails) a test that cannot create namespaces.
fn root(test: &str) -> bool {
    if can_create_namespaces() {
        return true;
    }
    crate::skip_or_fail_without_root(test);
    false
}

/// A ping that should be answered: a few tries, half a second each (veth round trips take
/// microseconds; the slack is for a loaded machine).
fn spec(dst: impl Into<IpAddr>) -> PingSpec {
    PingSpec {
        timeout: Duration::from_millis(500),
        attempts: 3,
        ..PingSpec::new(dst.into())
    }
}

/// A ping whose single request is expected to go unanswered.
fn spec_unanswered(dst: impl Into<IpAddr>) -> PingSpec {
    PingSpec {
        timeout: Duration::from_millis(300),
        attempts: 1,
        ..PingSpec::new(dst.into())
    }
}

fn sized(dst: impl Into<IpAddr>, size: u16, dont_fragment: bool) -> PingSpec {
    PingSpec {
        size: Some(size),
        dont_fragment,
        ..spec(dst)
    }
}

fn assert_reply(outcome: &PingOutcome, from: impl Into<IpAddr>, ttl: u8) {
    match outcome {
        PingOutcome::Reply {
            from: f, ttl: t, ..
        } => {
            assert_eq!((*f, *t), (from.into(), ttl), "{outcome}");
        }
        other => panic!("expected a reply, got {other:?} ({other})"),
    }
}

#[tokio::test]
async fn ping_v4_crosses_the_router_both_ways_and_fails_where_unrouted() {
    if !root("ping_v4_crosses_the_router_both_ways_and_fails_where_unrouted") {
        return;
    }
    let net = testnet::chain(1500).await.unwrap();
    // A Linux host answers with TTL 64, and r takes one off.
    assert_reply(&ping(&net.h1, &spec(H2_V4)).unwrap(), H2_V4, 63);
    assert_reply(&ping(&net.h2, &spec(H1_V4)).unwrap(), H1_V4, 63);
    assert_reply(&ping(&net.h1, &spec(R_H1_V4)).unwrap(), R_H1_V4, 64);
    // From a chosen source address: r's far side answers from there.
    let from_far_side = PingSpec {
        src: Some(R_H2_V4.into()),
        ..spec(H1_V4)
    };
    assert_reply(&ping(&net.r, &from_far_side).unwrap(), H1_V4, 64);

    // h1 sends it to r, which has no route and says so.
    let outcome = ping(&net.h1, &spec_unanswered(UNROUTED_V4)).unwrap();
    assert_eq!(
        outcome,
        PingOutcome::Unreachable {
            from: Some(R_H1_V4.into()),
            code: Some(0),
            description: "Destination Net Unreachable".into(),
        }
    );
    assert_eq!(
        outcome.to_string(),
        "From 10.0.1.1 Destination Net Unreachable"
    );
    // On r itself the kernel refuses to send at all.
    match ping(&net.r, &spec_unanswered(UNROUTED_V4)).unwrap() {
        PingOutcome::Unreachable {
            from: None,
            description,
            ..
        } => assert_eq!(description, "Network is unreachable"),
        other => panic!("expected a local refusal, got {other:?}"),
    }
    // An address on h2's subnet that nobody has: neighbour discovery fails silently.
    let absent = std::net::Ipv4Addr::new(10, 0, 2, 99);
    assert_eq!(
        ping(&net.r, &spec_unanswered(absent)).unwrap(),
        PingOutcome::NoReply
    );
}

#[tokio::test]
async fn ping_v6_crosses_the_router_both_ways_and_fails_where_unrouted() {
    if !root("ping_v6_crosses_the_router_both_ways_and_fails_where_unrouted") {
        return;
    }
    let net = testnet::chain(1500).await.unwrap();
    assert_reply(&ping(&net.h1, &spec(H2_V6)).unwrap(), H2_V6, 63);
    assert_reply(&ping(&net.h2, &spec(H1_V6)).unwrap(), H1_V6, 63);
    assert_reply(&ping(&net.h1, &spec(R_H1_V6)).unwrap(), R_H1_V6, 64);
    let outcome = ping(&net.h1, &spec_unanswered(UNROUTED_V6)).unwrap();
    assert_eq!(
        outcome,
        PingOutcome::Unreachable {
            from: Some(R_H1_V6.into()),
            code: Some(0),
            description: "Destination unreachable: No route".into(),
        }
    );
    assert!(matches!(
        ping(&net.r, &spec_unanswered(UNROUTED_V6)).unwrap(),
        PingOutcome::Unreachable { from: None, .. }
    ));
    // Mixed families are a caller error, not an outcome.
    let mixed = PingSpec {
        src: Some(H1_V4.into()),
        ..spec(H2_V6)
    };
    assert_eq!(
        ping(&net.h1, &mixed).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn parallel_probes_in_one_namespace_get_their_own_answers() {
    if !root("parallel_probes_in_one_namespace_get_their_own_answers") {
        return;
    }
    let net = testnet::chain(1420).await.unwrap();
    let expire = |dst: IpAddr| PingSpec {
        ttl: Some(1),
        ..spec(dst)
    };
    let cases: Vec<(PingSpec, PingOutcome)> = vec![
        (
            expire(H2_V4.into()),
            PingOutcome::TimeExceeded {
                from: R_H1_V4.into(),
            },
        ),
        (
            expire(H2_V6.into()),
            PingOutcome::TimeExceeded {
                from: R_H1_V6.into(),
            },
        ),
        (
            sized(H2_V4, 1421, true),
            PingOutcome::FragmentationNeeded {
                from: R_H1_V4.into(),
                mtu: 1420,
            },
        ),
        (
            sized(H2_V6, 1421, true),
            PingOutcome::FragmentationNeeded {
                from: R_H1_V6.into(),
                mtu: 1420,
            },
        ),
    ];
    let replies = [
        (spec(H2_V4), IpAddr::from(H2_V4), 63),
        (sized(H2_V4, 1420, true), H2_V4.into(), 63),
        (spec(R_H1_V4), R_H1_V4.into(), 64),
        (spec(H2_V6), H2_V6.into(), 63),
        (sized(H2_V6, 1420, true), H2_V6.into(), 63),
    ];
    std::thread::scope(|scope| {
        let mut running = Vec::new();
        for (spec, expected) in &cases {
            let h1 = &net.h1;
            running.push(scope.spawn(move || {
                assert_eq!(&ping(h1, spec).unwrap(), expected, "{spec:?}");
            }));
        }
        for (spec, from, ttl) in &replies {
            let h1 = &net.h1;
            running.push(scope.spawn(move || assert_reply(&ping(h1, spec).unwrap(), *from, *ttl)));
        }
        for probe in running {
            probe.join().unwrap();
        }
    });
}

#[tokio::test]
async fn mtu_1420_with_frag_needed_v4() {
    if !root("mtu_1420_with_frag_needed_v4") {
        return;
    }
    let net = testnet::chain(1420).await.unwrap();
    let pmtu = path_mtu(
        &net.h1,
        &PmtuSpec {
            timeout: Duration::from_millis(500),
            ..PmtuSpec::new(H2_V4.into())
        },
    )
    .unwrap();
    assert_eq!(pmtu.mtu, 1420, "{pmtu}");
    // 1500 is refused with the right MTU; 1420 is then tried and 1421 confirmed too big.
    assert_eq!(pmtu.probes_sent, 3, "{pmtu}");
    assert_eq!(
        pmtu.evidence,
        vec![
            "1500 bytes: frag needed, mtu 1420 from 10.0.1.1",
            "1421 bytes: frag needed, mtu 1420 from 10.0.1.1",
        ]
    );

    assert_eq!(
        ping(&net.h1, &sized(H2_V4, 1421, true)).unwrap(),
        PingOutcome::FragmentationNeeded {
            from: R_H1_V4.into(),
            mtu: 1420
        }
    );
    assert_reply(
        &ping(&net.h1, &sized(H2_V4, 1420, true)).unwrap(),
        H2_V4,
        63,
    );
    // Bigger than h1's own interface: refused before it leaves, reported from h1 itself.
    assert_eq!(
        ping(&net.h1, &sized(H2_V4, 1501, true)).unwrap(),
        PingOutcome::FragmentationNeeded {
            from: H1_V4.into(),
            mtu: 1500
        }
    );

    // Without DF, r fragments the request (although h1 has by now cached a path MTU of
    // 1420 for h2, it sends the packet whole) and h2 reassembles it.
    let r_before = ip_counters(&net.r).unwrap();
    let h2_before = ip_counters(&net.h2).unwrap();
    assert_reply(
        &ping(&net.h1, &sized(H2_V4, 1421, false)).unwrap(),
        H2_V4,
        63,
    );
    let r_delta = ip_counters(&net.r).unwrap().since(&r_before).v4;
    let h2_delta = ip_counters(&net.h2).unwrap().since(&h2_before).v4;
    assert!(r_delta.frag_oks >= 1, "r: {r_delta}");
    assert!(r_delta.frag_creates >= 2, "r: {r_delta}");
    assert!(h2_delta.reasm_oks >= 1, "h2: {h2_delta}");
    // A packet that fits is not fragmented anywhere.
    let r_before = ip_counters(&net.r).unwrap();
    assert_reply(
        &ping(&net.h1, &sized(H2_V4, 1420, false)).unwrap(),
        H2_V4,
        63,
    );
    let r_delta = ip_counters(&net.r).unwrap().since(&r_before).v4;
    assert!(!r_delta.any_fragmentation(), "r: {r_delta}");
    assert!(r_delta.forw_datagrams >= 2, "r: {r_delta}");
}

#[tokio::test]
async fn mtu_1420_with_packet_too_big_v6() {
    if !root("mtu_1420_with_packet_too_big_v6") {
        return;
    }
    let net = testnet::chain(1420).await.unwrap();
    let pmtu = path_mtu(
        &net.h1,
        &PmtuSpec {
            timeout: Duration::from_millis(500),
            ..PmtuSpec::new(H2_V6.into())
        },
    )
    .unwrap();
    assert_eq!(pmtu.mtu, 1420, "{pmtu}");
    assert_eq!(
        pmtu.evidence[0],
        "1500 bytes: packet too big, mtu 1420 from fd00:1::1"
    );
    assert_eq!(
        ping(&net.h1, &sized(H2_V6, 1421, true)).unwrap(),
        PingOutcome::FragmentationNeeded {
            from: R_H1_V6.into(),
            mtu: 1420
        }
    );
    // Without "don't fragment", only the source may fragment an IPv6 packet: h1 does so
    // to the path MTU it has learnt, and r forwards the pieces untouched.
    let h1_before = ip_counters(&net.h1).unwrap();
    let r_before = ip_counters(&net.r).unwrap();
    assert_reply(
        &ping(&net.h1, &sized(H2_V6, 1421, false)).unwrap(),
        H2_V6,
        63,
    );
    let h1_delta = ip_counters(&net.h1).unwrap().since(&h1_before).v6.unwrap();
    let r_delta = ip_counters(&net.r).unwrap().since(&r_before).v6.unwrap();
    assert!(h1_delta.frag_creates >= 2, "h1: {h1_delta}");
    assert_eq!(r_delta.frag_creates, 0, "r: {r_delta}");
}

#[tokio::test]
async fn mtu_1420_through_a_black_hole() {
    if !root("mtu_1420_through_a_black_hole") {
        return;
    }
    // r still drops what does not fit, but its ICMP errors never leave.
    let net = testnet::chain_with_firewall_on_r(
        1420,
        "table inet black_hole {
            chain output {
                type filter hook output priority filter; policy accept;
                icmp type destination-unreachable drop
                icmpv6 type packet-too-big drop
            }
        }",
    )
    .await
    .unwrap();
    let quiet = PingSpec {
        timeout: Duration::from_millis(300),
        attempts: 2,
        ..sized(H2_V4, 1421, true)
    };
    assert_eq!(ping(&net.h1, &quiet).unwrap(), PingOutcome::NoReply);

    // Both families at once: each silent size costs two timeouts.
    let measure = |dst: IpAddr| {
        let pmtu = path_mtu(
            &net.h1,
            &PmtuSpec {
                timeout: Duration::from_millis(250),
                ..PmtuSpec::new(dst)
            },
        )
        .unwrap();
        assert_eq!(pmtu.mtu, 1420, "{pmtu}");
        assert!(
            pmtu.evidence
                .iter()
                .all(|line| line.ends_with("no reply to 2 probes")),
            "{pmtu}"
        );
        assert!(
            pmtu.evidence
                .contains(&"1421 bytes: no reply to 2 probes".to_string()),
            "{pmtu}"
        );
        // Bisection: one probe per halving of the range, two for each silent size.
        assert!(pmtu.probes_sent <= 2 * 11, "{pmtu}");
    };
    std::thread::scope(|scope| {
        let v4 = scope.spawn(|| measure(H2_V4.into()));
        let v6 = scope.spawn(|| measure(H2_V6.into()));
        v4.join().unwrap();
        v6.join().unwrap();
    });

    // With the expected answer as a hint, as `pmtu` expectations give it: 1420 answers,
    // 1421 is silent twice, and nothing else is sent; the answer is the same.
    let hinted = path_mtu(
        &net.h1,
        &PmtuSpec {
            timeout: Duration::from_millis(250),
            expected: Some(1420),
            ..PmtuSpec::new(H2_V4.into())
        },
    )
    .unwrap();
    assert_eq!(hinted.mtu, 1420, "{hinted}");
    assert_eq!(hinted.probes_sent, 3, "{hinted}");
    assert_eq!(hinted.evidence, vec!["1421 bytes: no reply to 2 probes"]);
}

#[tokio::test]
async fn traceroute_lists_the_router_then_the_destination() {
    if !root("traceroute_lists_the_router_then_the_destination") {
        return;
    }
    let net = testnet::chain(1500).await.unwrap();
    for (dst, router) in [
        (IpAddr::from(H2_V4), IpAddr::from(R_H1_V4)),
        (H2_V6.into(), R_H1_V6.into()),
    ] {
        let trace = traceroute(
            &net.h1,
            &TraceSpec {
                timeout_per_hop: Duration::from_millis(500),
                ..TraceSpec::new(dst)
            },
        )
        .unwrap();
        assert!(trace.reached, "{trace}");
        assert_eq!(trace.path(), vec![Some(router), Some(dst)], "{trace}");
        assert_eq!(trace.hops[0].responders, vec![router], "{trace}");
        assert_eq!(
            trace.to_string(),
            format!("traceroute to {dst}, 30 hops max\n 1  {router}\n 2  {dst}\n")
        );
    }
}

#[tokio::test]
async fn traceroute_stops_where_the_route_ends() {
    if !root("traceroute_stops_where_the_route_ends") {
        return;
    }
    let net = testnet::chain(1500).await.unwrap();
    // r looks up the route before it checks the TTL, so even the first hop's probe gets
    // "network unreachable" rather than "time exceeded".
    let trace = traceroute(
        &net.h1,
        &TraceSpec {
            timeout_per_hop: Duration::from_millis(500),
            probes_per_hop: 1,
            ..TraceSpec::new(UNROUTED_V4.into())
        },
    )
    .unwrap();
    assert!(!trace.reached, "{trace}");
    assert_eq!(
        trace.to_string(),
        "traceroute to 10.9.9.9, 30 hops max\n 1  10.0.1.1 !N\n"
    );
    // With max_hops below the distance, the trace ends unfinished.
    let short = traceroute(
        &net.h1,
        &TraceSpec {
            max_hops: 1,
            timeout_per_hop: Duration::from_millis(500),
            probes_per_hop: 1,
            ..TraceSpec::new(H2_V6.into())
        },
    )
    .unwrap();
    assert!(!short.reached, "{short}");
    assert_eq!(short.path(), vec![Some(R_H1_V6.into())]);
}

#[tokio::test]
async fn counters_belong_to_the_namespace() {
    if !root("counters_belong_to_the_namespace") {
        return;
    }
    let net = testnet::chain(1500).await.unwrap();
    let h2_before = ip_counters(&net.h2).unwrap();
    let r_before = ip_counters(&net.r).unwrap();
    assert!(h2_before.v6.is_some());
    for _ in 0..5 {
        assert!(ping(&net.h1, &spec(H2_V4)).unwrap().is_reply());
    }
    let h2 = ip_counters(&net.h2).unwrap().since(&h2_before).v4;
    let r = ip_counters(&net.r).unwrap().since(&r_before).v4;
    // h2 received five requests and sent five replies; r forwarded both ways and sent
    // nothing of its own.
    assert!(h2.in_receives >= 5 && h2.out_requests >= 5, "h2: {h2}");
    assert!(r.forw_datagrams >= 10, "r: {r}");
    assert_eq!(
        r.forw_datagrams,
        h2.in_receives + h2.out_requests,
        "r: {r}, h2: {h2}"
    );
}
