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
//! One thing no sample shows is a daemon that has not yet tried: BIRD waits its `connect
//! delay time` (5 s by default) before the first BGP connection, and the state is quiet
//! meanwhile. So a daemon with a BGP session not established keeps the lab unsettled for
//! [`STARTUP_GRACE`] after it (re)starts.

use std::cell::Cell;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use crate::lab::Lab;

/// How often the lab's routing state is sampled.
pub const SAMPLE: Duration = Duration::from_millis(100);
/// How long after a daemon (re)starts it may still be waiting to open its first session.
pub const STARTUP_GRACE: Duration = Duration::from_secs(6);

/// The time of the last change seen, shared between the sampler and the expectations that
/// wait for quiet.
#[derive(Debug)]
pub struct Quiet {
    since: Cell<Instant>,
    sampled: Cell<bool>,
}

impl Quiet {
    /// Quiet from `start` on, as far as is known.
    pub fn new(start: Instant) -> Quiet {
        Quiet {
            since: Cell::new(start),
            sampled: Cell::new(false),
        }
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

    /// Waits until nothing has changed for `settle`.
    pub async fn settled(&self, settle: Duration) {
        while self.quiet_for() < settle {
            tokio::time::sleep(SAMPLE).await;
        }
    }

    /// Samples `lab` until dropped, moving the start of the quiet forward on each change.
    pub async fn watch(&self, lab: &Lab) {
        let mut last: Option<u64> = None;
        loop {
            let now = Instant::now();
            let (fingerprint, waiting) = fingerprint(lab).await;
            if last != Some(fingerprint) {
                last = Some(fingerprint);
                self.since.set(now);
            }
            // A quiet that begins in the future reads as zero until then.
            if let Some(until) = waiting
                && until > self.since.get()
            {
                self.since.set(until);
            }
            self.sampled.set(true);
            tokio::time::sleep(SAMPLE).await;
        }
    }
}

/// A hash of the lab's routing state, and until when a daemon may still be waiting for
/// its first session (see [`STARTUP_GRACE`]).
async fn fingerprint(lab: &Lab) -> (u64, Option<Instant>) {
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
    for (node, started) in lab.daemon_starts() {
        let Ok(daemon) = lab.daemon(&node) else {
            continue;
        };
        node.hash(&mut h);
        match daemon.protocols().await {
            Ok(rows) => {
                let mut unestablished_bgp = false;
                for row in rows {
                    let established = row.info.split_whitespace().next() == Some("Established");
                    if row.proto == "BGP" && !established {
                        unestablished_bgp = true;
                    }
                    (row.name, row.proto, row.state, established).hash(&mut h);
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
    (h.finish(), waiting)
}
