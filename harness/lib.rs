//! routelab: build a real network from a scenario file inside Linux network namespaces,
//! run real BIRD routers and mock calico-node speakers in it, check what the scenario
//! expects, and tear it all down.
//!
//! The pipeline, and the module that owns each stage:
//!
//! ```text
//! load ──► validate ──► plan ──► apply ──► start daemons ──► converge+check ──► report
//! scenario  scenario     plan     net       daemon            check, probe       report
//! ```
//!
//! `scenario` and `plan` are pure (no privileges, no side effects); `net`, `daemon`,
//! `probe` and `lab` touch the kernel, only ever inside namespaces routelab created.

pub mod calico;
pub mod check;
pub mod cli;
pub mod daemon;
pub mod env;
pub mod lab;
pub mod mtu;
pub mod net;
pub mod plan;
pub mod probe;
pub mod report;
pub mod run;
pub mod scenario;
#[cfg(test)]
mod testnet;

/// For tests that need root: prints why the test is skipped, or panics under CI, where a
/// skip for lack of privileges would hide the whole point of the suite.
pub fn skip_or_fail_without_root(test: &str) {
    let msg = format!(
        "skipped {test}: needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to create network namespaces"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{msg}; CI=true, so a skip for lack of root is a failure");
    }
    eprintln!("{msg}");
}
