//! The node an expectation is about: where a failure's evidence (that node's BIRD log,
//! its routes) is to be looked for. For kinds that send packets it is the sender.

use super::Kind;

impl Kind {
    /// The node it is about (a probe's sender); for `fails`, the inner expectation's.
    pub fn subject(&self) -> &str {
        match self {
            Kind::Bgp(k) => &k.node,
            Kind::Ospf(k) => &k.node,
            Kind::Route(k) => &k.node,
            Kind::Ping(k) => &k.from,
            Kind::Pmtu(k) => &k.from,
            Kind::Traceroute(k) => &k.from,
            Kind::Fails(k) => k.inner.kind.subject(),
            Kind::MaxUnfragmented(k) => &k.from,
            Kind::NoFragmentationUpTo(k) => &k.from,
            Kind::CalicoPeers(k) => &k.node,
            Kind::Neighbor(k) => &k.node,
        }
    }

    /// The BIRD protocol the expectation is about, if it is about one: on a calico node
    /// that runs its own BIRD too, it tells which of the two daemons to ask.
    pub fn protocol(&self) -> Option<&str> {
        match self {
            Kind::Bgp(k) => Some(&k.protocol),
            Kind::Ospf(k) => Some(&k.protocol),
            Kind::Fails(k) => k.inner.kind.protocol(),
            _ => None,
        }
    }
}
