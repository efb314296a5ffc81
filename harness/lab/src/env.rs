//! What the machine must offer before a lab can be built, with the fix for each lack:
//! privileges and BIRD binaries ([`check`]), and the optional kernel features a plan uses
//! ([`missing_kernel_features`]), whose lack skips a scenario instead of failing it.

use std::path::Path;

use routelab_model::plan::{DaemonKind, KernelFeature, Plan};
use routelab_model::scenario::Scenario;

/// A missing prerequisite, phrased as what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Missing(pub String);

/// Checks privileges and binaries for `plans`. Pure look-ups; changes nothing.
pub fn check(plans: &[Plan], binaries: &crate::daemon::BirdSearch) -> Result<(), Missing> {
    if !crate::net::netns::can_create_namespaces() {
        let restricted = crate::userns::restriction()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        return Err(Missing(if crate::userns::confined().is_some() {
            format!(
                "routelab cannot create network namespaces in its user namespace{restricted}; \
                 run it with sudo, or use `routelab check` to validate without privileges"
            )
        } else {
            format!(
                "routelab needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), or unprivileged user \
                 namespaces{restricted}, to create network namespaces; run it with sudo, or use \
                 `routelab check` to validate without privileges"
            )
        }));
    }
    for kind in [
        DaemonKind::Bird2,
        DaemonKind::CalicoBird,
        DaemonKind::CalicoBird6,
    ] {
        if plans
            .iter()
            .flat_map(|p| &p.daemons)
            .any(|d| d.kind == kind)
        {
            binaries.binary(kind).map_err(|e| Missing(e.to_string()))?;
        }
    }
    Ok(())
}

/// Why the running kernel cannot build `plan` and run `scenario`'s timeline, one reason
/// per missing feature; empty when it can. Reads `/sys`, `/proc` and `/lib/modules` only,
/// and loads no module.
pub fn missing_kernel_features(scenario: &Scenario, plan: &Plan) -> Vec<String> {
    scenario
        .kernel_features(plan)
        .into_iter()
        .filter_map(|f| kernel_lacks(f, Path::new("/")))
        .collect()
}

/// What the running kernel lacks to provide `feature`, if anything, as the reason to give.
pub fn kernel_lacks_feature(feature: KernelFeature) -> Option<String> {
    kernel_lacks(feature, Path::new("/"))
}

/// What the kernel under `root` (the real `/`, or a test's stand-in) lacks to provide
/// `feature`, if anything, as the reason to give.
fn kernel_lacks(feature: KernelFeature, root: &Path) -> Option<String> {
    match feature {
        KernelFeature::Ipip => module_missing("ipip", "net/ipv4/ipip.ko", root),
        KernelFeature::Netem => qdisc_missing(
            "netem",
            &["delay", "1ms"],
            "links' delay, jitter and loss",
            root,
        ),
        KernelFeature::Tbf => qdisc_missing(
            "tbf",
            &["rate", "1mbit", "burst", "4000", "latency", "50ms"],
            "links' rate",
            root,
        ),
        KernelFeature::MultipathHashSeed => {
            let path = root.join("proc/sys/net/ipv4/fib_multipath_hash_seed");
            if path.exists() {
                None
            } else {
                Some(
                    "this kernel has no `net.ipv4.fib_multipath_hash_seed` (Linux 6.11 and \
                     later have it), so which equal-cost path a flow takes cannot be fixed"
                        .into(),
                )
            }
        }
    }
}

/// Why the queueing discipline `kind` (added with `args`, for `what`) is not usable, if it
/// is not. Loaded (`/sys/module/sch_KIND`) it is; otherwise it may be built in without a
/// trace in `/sys`, or a module the kernel loads the first time a qdisc of the kind is
/// asked for, so it is tried for real on `lo` of a throwaway namespace. That may load the
/// module, as any `tc` user's first use does; a qdisc module adds nothing to the host's
/// network namespace. Only the real root is tried; a test's stand-in is read.
fn qdisc_missing(kind: &str, args: &[&str], what: &str, root: &Path) -> Option<String> {
    if root.join("sys/module").join(format!("sch_{kind}")).exists() {
        return None;
    }
    if root != Path::new("/") {
        return Some(format!("no sch_{kind} under {}", root.display()));
    }
    let mut cmd = std::process::Command::new("tc");
    cmd.args(["qdisc", "add", "dev", "lo", "root", kind])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    crate::preflight::in_fresh_namespace(&mut cmd);
    match cmd.output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "this kernel has no {kind} queueing discipline, which {what} need: `tc qdisc add \
             ... {kind}` in a throwaway namespace says `{}`",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!(
            "cannot run `tc` to try the {kind} queueing discipline, which {what} need: {e} \
             (install iproute2)"
        )),
    }
}

/// Why the module `name` is not usable, if it is not. A module is usable when it is
/// loaded or built in: either way `/sys/module/<name>` exists. One that is only installed is reported, not loaded: a module's side effects
/// reach every namespace, the host's included.
pub(crate) fn module_missing(name: &str, path_in_tree: &str, root: &Path) -> Option<String> {
    if root.join("sys/module").join(name).exists() {
        return None;
    }
    let release = std::fs::read_to_string(root.join("proc/sys/kernel/osrelease"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let modules = root.join("lib/modules").join(&release);
    let installed = std::fs::read_to_string(modules.join("modules.dep")).is_ok_and(|dep| {
        dep.lines().any(|l| {
            l.split(':')
                .next()
                .is_some_and(|m| m.starts_with(&format!("kernel/{path_in_tree}")))
        })
    });
    if installed {
        Some(format!(
            "the kernel's {name} module is installed but not loaded; load it with \
             `modprobe {name}` (routelab loads no modules itself: loading {name} also adds a \
             device to the host's network namespace)"
        ))
    } else {
        Some(format!(
            "this kernel ({release}) has no {name} support: the module is not loaded, not \
             built in, and not installed under {}",
            modules.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_root(loaded: bool, installed: bool) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let at = |p: &str| root.path().join(p);
        std::fs::create_dir_all(at("proc/sys/kernel")).unwrap();
        std::fs::write(at("proc/sys/kernel/osrelease"), "6.1.0-test\n").unwrap();
        std::fs::create_dir_all(at("lib/modules/6.1.0-test")).unwrap();
        let mut dep = String::from("kernel/drivers/net/veth.ko.xz:\n");
        if installed {
            dep.push_str("kernel/net/ipv4/ipip.ko.xz: kernel/net/ipv4/ip_tunnel.ko.xz\n");
        }
        std::fs::write(at("lib/modules/6.1.0-test/modules.dep"), dep).unwrap();
        if loaded {
            std::fs::create_dir_all(at("sys/module/ipip")).unwrap();
        }
        root
    }

    #[test]
    fn ipip_is_there_when_loaded_or_built_in() {
        let root = fake_root(true, false);
        assert_eq!(kernel_lacks(KernelFeature::Ipip, root.path()), None);
    }

    #[test]
    fn an_installed_but_unloaded_module_is_named_with_the_fix() {
        let root = fake_root(false, true);
        let why = kernel_lacks(KernelFeature::Ipip, root.path()).unwrap();
        assert!(why.contains("installed but not loaded"), "{why}");
        assert!(why.contains("modprobe ipip"), "{why}");
    }

    #[test]
    fn a_kernel_without_ipip_says_so() {
        let root = fake_root(false, false);
        let why = kernel_lacks(KernelFeature::Ipip, root.path()).unwrap();
        assert!(
            why.contains("6.1.0-test") && why.contains("has no ipip support"),
            "{why}"
        );
    }

    #[test]
    fn a_plan_without_tunnels_needs_nothing_optional() {
        assert!(Plan::default().kernel_features().is_empty());
    }

    #[test]
    fn a_loaded_qdisc_module_is_taken_as_it_is() {
        let root = fake_root(false, false);
        assert!(kernel_lacks(KernelFeature::Netem, root.path()).is_some());
        std::fs::create_dir_all(root.path().join("sys/module/sch_netem")).unwrap();
        assert_eq!(kernel_lacks(KernelFeature::Netem, root.path()), None);
        assert!(kernel_lacks(KernelFeature::Tbf, root.path()).is_some());
    }
}
