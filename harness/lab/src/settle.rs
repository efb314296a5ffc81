//! When a phase has settled: nothing in the lab's routing has changed for a while.
//!
//! A negative expectation (a route absent, a ping failing, a session down) also holds in a
//! network that has not converged yet, so it is judged only once the phase has settled.
//! The lab's routing state is sampled every [`SAMPLE`]: every namespace's kernel routes
//! (both families) and, per daemon, each protocol's state and whether each BGP session is
//! established. (A session that keeps failing changes its BGP state on every attempt; what
//! matters to routing is only whether it is up, so that is what counts.) The phase has
//! settled for as long as that state has not changed.
//!
//! After a step that may have cut peers off without a word (a line cut, a daemon
//! killed, a firewall change), an established BGP session is not known to be alive until
//! its peer is heard from: its hold timer is seen reset by a keepalive. A full OSPF
//! adjacency likewise, by its dead timer reset by a hello. Until every
//! established session has shown that (or the longest hold time has passed, by when a
//! dead one has expired), the phase has not settled. So a cut line's sessions are judged
//! after their hold timers, as a real network would see them, and a reconfiguration's
//! after one keepalive interval at most.
//!
//! One thing no sample shows is a daemon that has not yet tried: BIRD waits its `connect
//! delay time` (5 s by default) before the first BGP connection, and the state is quiet
//! meanwhile. So a daemon with a BGP session not established keeps the lab unsettled for
//! [`STARTUP_GRACE`] after it (re)starts.
//!
//! Nor does a sample show a peering about to come up. BIRD retries a session that failed
//! after its `error wait time`, which Calico sets to 5 s doubling to 30 s, so the two
//! ends of one peering can both sit idle and quiet for longer than any settle time, and
//! then connect. Whether a peering is down at both ends, both ends being daemons of the
//! lab, is recorded ([`Quiet::pair_down_until`]); a snapshot, which has no expectation
//! of its author to say how long to wait, gives such a pair [`PAIR_PATIENCE`] from the
//! phase's start. Expectations are judged by their own `settle` and deadline instead.
//! BIRD's default error wait (60 s, doubling to 300 s) is longer than that patience:
//! there, only an expectation that the session is up makes a snapshot wait for it.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use crate::lab::Lab;

/// How often the lab's routing state is sampled.
pub const SAMPLE: Duration = Duration::from_millis(100);
/// How long after a daemon (re)starts it may still be waiting to open its first session.
pub const STARTUP_GRACE: Duration = Duration::from_secs(6);
/// How long after a phase begins a snapshot waits for a peering down at both ends: the
/// longest error wait Calico configures (30 s), after which BIRD tries again.
pub const PAIR_PATIENCE: Duration = Duration::from_secs(30);

/// The time of the last change seen, shared between the sampler and the expectations that
/// wait for quiet.
#[derive(Debug)]
pub struct Quiet {
    start: Instant,
    since: Cell<Instant>,
    sampled: Cell<bool>,
    /// After a step that may have silenced peers: every established session must be
    /// heard from before the phase counts as settled.
    prove_sessions: bool,
    sessions: RefCell<BTreeMap<(String, String), Session>>,
    /// The longest hold time of an established session seen: by then a dead one expired.
    longest_hold: Cell<Duration>,
    /// Whether the last sample found a peering not established at either end.
    pair_down: Cell<bool>,
    /// OSPF neighbours neither full nor 2-Way, by (daemon, protocol/interface/router id):
    /// their dead time last seen and whether it has ever gone up (a hello heard).
    dying: RefCell<BTreeMap<(String, String), Dying>>,
    /// Until when a neighbour that is no longer heard from keeps the phase unsettled.
    dying_until: Cell<Option<Instant>>,
    /// The longest dead time seen of such a neighbour: judging may wait that long.
    longest_dead: Cell<Duration>,
}

/// An OSPF neighbour on its way up or down, across samples.
#[derive(Debug, Clone, Copy)]
struct Dying {
    left: Duration,
    heard: bool,
}

/// What is known of one established session since the phase began.
#[derive(Debug, Clone, Copy)]
struct Session {
    hold_left: Duration,
    heard_from: bool,
}

impl Quiet {
    /// Quiet from `start` on, as far as is known. `prove_sessions`: the phase follows
    /// actions that may have silenced peers (see the module doc).
    pub fn new(start: Instant, prove_sessions: bool) -> Quiet {
        Quiet {
            start,
            since: Cell::new(start),
            sampled: Cell::new(false),
            prove_sessions,
            sessions: RefCell::new(BTreeMap::new()),
            longest_hold: Cell::new(Duration::ZERO),
            pair_down: Cell::new(false),
            dying: RefCell::new(BTreeMap::new()),
            dying_until: Cell::new(None),
            longest_dead: Cell::new(Duration::ZERO),
        }
    }

    /// While a peering between two of the lab's daemons is down at both ends: until when
    /// it may still come up by itself (see the module doc).
    pub fn pair_down_until(&self) -> Option<Instant> {
        self.pair_down
            .get()
            .then(|| self.start + PAIR_PATIENCE)
            .filter(|until| *until > Instant::now())
    }

    /// How long nothing has changed (zero before the first sample).
    pub fn quiet_for(&self) -> Duration {
        if !self.sampled.get() {
            return Duration::ZERO;
        }
        self.since.get().elapsed()
    }

    /// The moment the current quiet began.
    pub fn since(&self) -> Instant {
        self.since.get()
    }

    /// Whether nothing has changed for `settle` and, where it matters, every established
    /// session has been heard from.
    pub fn is_settled(&self, settle: Duration) -> bool {
        self.quiet_for() >= settle && self.unproven().is_empty() && self.dying().is_none()
    }

    /// An OSPF neighbour no longer heard from that the phase still waits for, as
    /// `daemon/protocol/interface/router-id`, with how long is left.
    pub fn dying(&self) -> Option<(String, Duration)> {
        let until = self.dying_until.get()?;
        let left = until.checked_duration_since(Instant::now())?;
        let dying = self.dying.borrow();
        let (key, _) = dying.iter().find(|(_, d)| !d.heard)?;
        Some((format!("{}/{}", key.0, key.1), left))
    }

    /// Established sessions not yet heard from since the phase began, as `node/protocol`
    /// (none once the longest hold time has passed).
    pub fn unproven(&self) -> Vec<String> {
        if !self.prove_sessions || self.start.elapsed() > self.longest_hold.get() {
            return Vec::new();
        }
        self.sessions
            .borrow()
            .iter()
            .filter(|(_, s)| !s.heard_from)
            .map(|((node, protocol), _)| format!("{node}/{protocol}"))
            .collect()
    }

    /// How long judging may have to wait for sessions to prove themselves or expire.
    pub fn window(&self) -> Duration {
        let sessions = if self.prove_sessions {
            self.longest_hold.get()
        } else {
            Duration::ZERO
        };
        sessions.max(self.longest_dead.get())
    }

    /// Follows the OSPF neighbours that are neither full nor 2-Way. One whose dead time
    /// only falls has not been heard from since it was first seen so (a stopped
    /// neighbour's last hello leaves it in `Init`): the phase waits until it is dropped.
    /// One whose dead time goes up is alive (stuck forming, say) and is not waited for.
    fn note_dying(&self, seen: &[((String, String), Duration)]) {
        let mut dying = self.dying.borrow_mut();
        let mut now = BTreeMap::new();
        let mut until: Option<Instant> = None;
        for (key, left) in seen {
            let before = dying.get(key);
            let heard = before.is_some_and(|d| d.heard || *left > d.left);
            if before.is_some() && !heard {
                let dropped = Instant::now() + *left + SAMPLE;
                until = Some(until.map_or(dropped, |u| u.max(dropped)));
                self.longest_dead.set(self.longest_dead.get().max(*left));
            }
            now.insert(key.clone(), Dying { left: *left, heard });
        }
        *dying = now;
        self.dying_until.set(until);
    }

    /// Waits until [`Quiet::is_settled`].
    pub async fn settled(&self, settle: Duration) {
        while !self.is_settled(settle) {
            tokio::time::sleep(SAMPLE).await;
        }
    }

    /// Samples `lab` until dropped, moving the start of the quiet forward on each change.
    pub async fn watch(&self, lab: &Lab) {
        let mut last: Option<u64> = None;
        loop {
            let now = Instant::now();
            let sample = fingerprint(lab).await;
            self.note_sessions(&sample.sessions);
            self.note_dying(&sample.dying);
            // A neighbour no longer heard from is a change under way: the quiet starts
            // only once it is dropped (and its routes, a moment later, go with it).
            if self.dying_until.get().is_some() {
                self.since.set(now);
            }
            self.pair_down.set(sample.pair_down);
            if last != Some(sample.hash) {
                tracing::debug!(after = ?now.duration_since(self.start), "routing state changed");
                last = Some(sample.hash);
                self.since.set(now);
            }
            // A quiet that begins in the future reads as zero until then.
            if let Some(until) = sample.waiting
                && until > self.since.get()
            {
                self.since.set(until);
            }
            self.sampled.set(true);
            tokio::time::sleep(SAMPLE).await;
        }
    }

    /// Keeps track of which established sessions have been heard from: a hold timer that
    /// went up was reset by a message from the peer.
    fn note_sessions(&self, seen: &[((String, String), Duration, Duration)]) {
        let mut sessions = self.sessions.borrow_mut();
        let mut now = BTreeMap::new();
        for (key, left, length) in seen {
            self.longest_hold.set(self.longest_hold.get().max(*length));
            let heard_from = sessions
                .get(key)
                .is_some_and(|s| s.heard_from || *left > s.hold_left);
            if heard_from && !sessions.get(key).is_some_and(|s| s.heard_from) {
                tracing::debug!(session = %format!("{}/{}", key.0, key.1), "heard from");
            }
            now.insert(
                key.clone(),
                Session {
                    hold_left: *left,
                    heard_from,
                },
            );
        }
        *sessions = now;
    }
}

/// One sample of the lab's routing state.
struct Sample {
    hash: u64,
    /// Until when a daemon may still be waiting for its first session.
    waiting: Option<Instant>,
    /// Established sessions with their hold timers: (node, protocol), left, length.
    sessions: Vec<((String, String), Duration, Duration)>,
    /// Whether some peering is down at both ends (see [`Quiet::pair_down_until`]).
    pair_down: bool,
    /// OSPF neighbours neither full nor 2-Way, with their dead time left.
    dying: Vec<((String, String), Duration)>,
}

async fn fingerprint(lab: &Lab) -> Sample {
    let mut h = DefaultHasher::new();
    let names: Vec<String> = lab.namespace_names().map(str::to_string).collect();
    for name in &names {
        name.hash(&mut h);
        for ipv6 in [false, true] {
            match lab.routes(name, ipv6).await {
                Ok(routes) => {
                    let mut lines: Vec<String> = routes.iter().map(ToString::to_string).collect();
                    lines.sort();
                    lines.hash(&mut h);
                }
                Err(e) => e.to_string().hash(&mut h),
            }
        }
    }
    let mut waiting: Option<Instant> = None;
    let mut sessions = Vec::new();
    let mut dying = Vec::new();
    // (node, neighbour address) of every BGP session not established.
    let mut down: Vec<(String, std::net::IpAddr)> = Vec::new();
    for (node, started) in lab.daemon_starts() {
        let Ok(daemon) = lab.daemon(&node) else {
            continue;
        };
        node.hash(&mut h);
        match daemon.protocol_details().await {
            Ok(details) => {
                let mut unestablished_bgp = false;
                for d in details {
                    let established = d.row.info.split_whitespace().next() == Some("Established");
                    if d.row.proto == "BGP" && !established {
                        unestablished_bgp = true;
                        if let Some(address) = d.neighbor_address {
                            down.push((lab.node_of_daemon(&node).to_string(), address));
                        }
                    }
                    if established && let Some((left, length)) = d.hold_timer {
                        sessions.push(((node.clone(), d.row.name.clone()), left, length));
                    }
                    (&d.row.name, &d.row.proto, &d.row.state, established).hash(&mut h);
                    if d.row.proto == "OSPF" && d.row.state == "up" {
                        let (full, other) = ospf_adjacencies(daemon, &node, &d.row.name).await;
                        sessions.extend(full);
                        dying.extend(other);
                    }
                }
                if unestablished_bgp {
                    let until = started + STARTUP_GRACE;
                    waiting = Some(waiting.map_or(until, |w| w.max(until)));
                }
            }
            // A daemon that does not answer is a state too (stopped on purpose, say).
            Err(_) => "no answer".hash(&mut h),
        }
    }
    Sample {
        hash: h.finish(),
        waiting,
        sessions,
        pair_down: pair_down(&down, |a| lab.owner_of(a)),
        dying,
    }
}

/// An OSPF protocol's adjacencies, each keyed by daemon and `protocol/interface/router
/// id` (two links to one router are two adjacencies): full ones as sessions to be heard
/// from, since a neighbour's dead timer is reset by each hello as a BGP hold timer by a
/// keepalive and a cut-off neighbour stays `Full` until its dead interval has passed;
/// and those neither full nor 2-Way (`Init` after a stopping neighbour's last hello,
/// `ExStart` to `Loading` while forming) with their dead time left, for
/// [`Quiet::note_dying`]. `2-Way` is where two routers that are neither DR nor BDR stay.
/// BIRD shows only the time left, so that is given as a session's length too: the
/// longest seen is the dead interval, near enough (a sample lands within one hello of a
/// reset).
async fn ospf_adjacencies(
    daemon: &dyn crate::daemon::Daemon,
    node: &str,
    protocol: &str,
) -> (Vec<Adjacency>, Vec<((String, String), Duration)>) {
    let (mut full, mut other) = (Vec::new(), Vec::new());
    let Ok(neighbours) = daemon.ospf_neighbors(protocol).await else {
        return (full, other);
    };
    for n in &neighbours {
        let Some(left) = dead_time(&n.dead_time) else {
            continue;
        };
        let key = (
            node.to_string(),
            format!("{protocol}/{}/{}", n.interface, n.router_id),
        );
        if n.state.starts_with("Full") {
            full.push((key, left, left));
        } else if !n.state.starts_with("2-Way") {
            other.push((key, left));
        }
    }
    (full, other)
}

/// A session to be heard from: (daemon, what), time left, length.
type Adjacency = ((String, String), Duration, Duration);

/// An OSPF neighbour's dead time as BIRD prints it: seconds (`3.536`, BIRD 2) or
/// minutes and seconds (`00:03`, BIRD 1.6).
fn dead_time(text: &str) -> Option<Duration> {
    match text.split_once(':') {
        Some((m, s)) => Some(Duration::from_secs(
            m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?,
        )),
        None => Duration::try_from_secs_f64(text.parse().ok()?).ok(),
    }
}

/// Whether two of `down` are the two ends of one peering: each names an address of the
/// other's node as its neighbour.
fn pair_down<'a>(
    down: &[(String, std::net::IpAddr)],
    owner_of: impl Fn(std::net::IpAddr) -> Option<&'a str>,
) -> bool {
    // (from, to) node pairs: a set, so a lab starting with thousands of sessions down
    // costs one pass per sample, not a pass per session.
    let links: std::collections::HashSet<(&str, &str)> = down
        .iter()
        .filter_map(|(node, neighbor)| Some((node.as_str(), owner_of(*neighbor)?)))
        .filter(|(node, peer)| node != peer)
        .collect();
    links
        .iter()
        .any(|&(node, peer)| links.contains(&(peer, node)))
}

#[cfg(test)]
mod tests {
    use super::{dead_time, pair_down};
    use std::time::Duration;

    #[test]
    fn an_ospf_neighbour_is_waited_for_only_while_it_is_not_heard_from() {
        let quiet = super::Quiet::new(std::time::Instant::now(), false);
        let key = ("r1".to_string(), "underlay/eth0/10.0.0.2".to_string());
        let sample = |left: u64| vec![(key.clone(), Duration::from_millis(left))];
        // Seen once: nothing known of its timer yet.
        quiet.note_dying(&sample(3900));
        assert!(quiet.dying().is_none());
        // Falling: its last hello is behind it (a stopped neighbour in Init).
        quiet.note_dying(&sample(3800));
        let (name, left) = quiet.dying().expect("waited for");
        assert_eq!(name, "r1/underlay/eth0/10.0.0.2");
        assert!(left > Duration::from_millis(3800), "{left:?}");
        assert!(!quiet.is_settled(Duration::ZERO));
        assert_eq!(quiet.window(), Duration::from_millis(3800));
        // A hello resets it: alive (stuck forming, say), not waited for again.
        quiet.note_dying(&sample(4000));
        quiet.note_dying(&sample(3900));
        assert!(quiet.dying().is_none());
        // Gone from the list (dropped, or full): nothing to wait for.
        quiet.note_dying(&[]);
        assert!(quiet.dying().is_none());
    }

    #[test]
    fn ospf_dead_times_of_both_birds() {
        assert_eq!(dead_time("3.536"), Some(Duration::from_millis(3536)));
        assert_eq!(dead_time("00:39"), Some(Duration::from_secs(39)));
        assert_eq!(dead_time("01:05"), Some(Duration::from_secs(65)));
        assert_eq!(dead_time("-"), None);
    }
    use std::net::IpAddr;

    fn owner(a: IpAddr) -> Option<&'static str> {
        match a.to_string().as_str() {
            "10.0.0.10" => Some("rr"),
            "10.0.0.11" => Some("worker1"),
            "10.0.0.12" => Some("worker2"),
            _ => None,
        }
    }

    fn down(sessions: &[(&str, &str)]) -> Vec<(String, IpAddr)> {
        sessions
            .iter()
            .map(|(node, to)| (node.to_string(), to.parse().unwrap()))
            .collect()
    }

    #[test]
    fn a_peering_counts_as_down_only_when_both_its_ends_are() {
        // Both ends of rr–worker1 down: it may still come up.
        assert!(pair_down(
            &down(&[
                ("worker2", "10.0.0.10"),
                ("rr", "10.0.0.11"),
                ("worker1", "10.0.0.10")
            ]),
            owner
        ));
        // One end only: the other side has no such session (or it is up), nothing to wait for.
        assert!(!pair_down(&down(&[("worker1", "10.0.0.10")]), owner));
        assert!(!pair_down(
            &down(&[("worker1", "10.0.0.10"), ("rr", "10.0.0.12")]),
            owner
        ));
        // A neighbour outside the lab is no pair.
        assert!(!pair_down(
            &down(&[("worker1", "192.0.2.1"), ("rr", "10.0.0.11")]),
            owner
        ));
    }
}
