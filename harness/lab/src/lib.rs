//! routelab's lab: the effectful half of the pipeline. It builds a [`routelab_model`] Plan
//! out of real network namespaces and links, runs the daemons in them, observes what every
//! expectation asks about, and tears it all down.
//!
//! ```text
//! apply ──► start daemons ──► converge+check ──► report
//! net       daemon            observe, probe     report
//! ```
//!
//! Everything here touches the kernel only inside namespaces routelab created: the host's
//! own namespace is never entered or changed.

pub mod artifacts;
pub(crate) mod blame;
pub mod daemon;
pub mod doctor;
pub mod env;
pub mod events;
pub mod green;
pub(crate) mod json;
pub mod lab;
pub mod logs;
pub mod machine;
pub mod net;
pub(crate) mod observe;
pub mod preflight;
pub mod probe;
pub mod report;
pub mod run;
pub(crate) mod settle;
pub mod snapshot;
#[cfg(test)]
mod testnet;
pub(crate) mod timeline;
pub mod userns;

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
