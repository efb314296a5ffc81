//! `routelab doctor`: what this machine allows, and what that means for which scenarios
//! can run — privileges, user namespaces, kernel features, BIRD binaries.
//!
//! The link kinds every lab uses (veth, bridge, VXLAN) and nftables are probed for real:
//! each is created in a throwaway network namespace made for the probe, which vanishes
//! with the probing process. Creating one may make the kernel load its module, as any lab
//! would. IPIP and the multipath hash seed are only read from `/sys` and `/proc`, as
//! [`crate::env`] reads them before a run: loading `ipip` would add a device to the host's
//! own namespace, so routelab never loads it, not even to look. The netem and tbf queueing
//! disciplines are tried on `lo` of a throwaway namespace when not loaded, as before a run
//! that needs them; their modules add nothing to the host's namespace.
//! Call [`Survey::take`] after [`crate::userns::enter`] when not root, so the probes run
//! with the privileges a rootless run would have.

use std::fmt;
use std::process::{Command, Stdio};

use routelab_model::plan::{DaemonKind, KernelFeature};

use crate::daemon::BirdSearch;

/// How routelab runs on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Privilege {
    /// Really root: everything, `up` included.
    Root,
    /// An ordinary user, in a user namespace of routelab's own.
    Rootless { uid: u32 },
    /// An ordinary user for whom no user namespace could be made: why, with the fix.
    Unprivileged { uid: u32, why: String },
}

/// One thing probed, and what was found.
#[derive(Debug, Clone)]
pub struct Finding {
    pub what: &'static str,
    /// `Ok` with what was seen, or `Err` with why it is missing.
    pub result: Result<String, String>,
}

/// What `routelab doctor` reports.
#[derive(Debug, Clone)]
pub struct Survey {
    pub privilege: Privilege,
    /// Whether network namespaces can be created (the one thing every lab needs).
    pub namespaces: Result<(), String>,
    pub kernel: Vec<Finding>,
    pub binaries: Vec<Finding>,
}

/// The link kinds and tables every lab may use, each probed by creating it.
const CORE_PROBES: [(&str, &[&str]); 4] = [
    (
        "veth",
        &[
            "ip",
            "link",
            "add",
            "rl-probe0",
            "type",
            "veth",
            "peer",
            "name",
            "rl-probe1",
        ],
    ),
    (
        "bridge",
        &["ip", "link", "add", "rl-probe", "type", "bridge"],
    ),
    (
        "vxlan",
        &[
            "ip", "link", "add", "rl-probe", "type", "vxlan", "id", "42", "dstport", "4789",
        ],
    ),
    (
        "nftables",
        &["nft", "add", "table", "inet", "routelab_probe"],
    ),
];

impl Survey {
    /// Probes this machine. Changes nothing outside the throwaway namespaces it makes.
    pub fn take(search: &BirdSearch, userns_error: Option<String>) -> Survey {
        let privilege = match (crate::userns::confined(), userns_error) {
            (Some(caller), _) => Privilege::Rootless { uid: caller.uid },
            (None, Some(why)) => Privilege::Unprivileged {
                uid: nix::unistd::geteuid().as_raw(),
                why,
            },
            (None, None) if nix::unistd::geteuid().is_root() => Privilege::Root,
            (None, None) => Privilege::Unprivileged {
                uid: nix::unistd::geteuid().as_raw(),
                why: "routelab did not enter a user namespace".into(),
            },
        };
        let namespaces = crate::env::check(&[], search).map_err(|m| m.to_string());
        let mut kernel = Vec::new();
        for (what, argv) in CORE_PROBES {
            let result = if namespaces.is_ok() {
                probe(argv)
            } else {
                Err("not probed: no network namespace can be made".into())
            };
            kernel.push(Finding { what, result });
        }
        let optional = |lack: Option<String>, seen: &str| lack.map_or(Ok(seen.to_string()), Err);
        kernel.push(Finding {
            what: "ipip",
            result: optional(
                crate::env::kernel_lacks_feature(KernelFeature::Ipip),
                "loaded or built in",
            ),
        });
        for (what, feature) in [("netem", KernelFeature::Netem), ("tbf", KernelFeature::Tbf)] {
            kernel.push(Finding {
                what,
                result: optional(
                    crate::env::kernel_lacks_feature(feature),
                    "loaded, or made on lo of a throwaway namespace",
                ),
            });
        }
        kernel.push(Finding {
            what: "multipath hash seed",
            result: optional(
                crate::env::kernel_lacks_feature(KernelFeature::MultipathHashSeed),
                "net.ipv4.fib_multipath_hash_seed",
            ),
        });
        let binaries = [
            ("BIRD 2 (routers)", DaemonKind::Bird2),
            ("BIRD 1.6 (calico nodes)", DaemonKind::CalicoBird),
            (
                "BIRD 1.6 bird6 (dual-stack calico nodes)",
                DaemonKind::CalicoBird6,
            ),
        ]
        .into_iter()
        .map(|(what, kind)| Finding {
            what,
            result: search
                .binary(kind)
                .map(|b| format!("{} {}", b.path.display(), b.version))
                .map_err(|e| e.to_string()),
        })
        .collect();
        Survey {
            privilege,
            namespaces,
            kernel,
            binaries,
        }
    }

    /// Whether `routelab run` can build a lab here at all.
    pub fn can_run(&self) -> bool {
        self.namespaces.is_ok()
            && self
                .kernel
                .iter()
                .filter(|f| CORE_PROBES.iter().any(|(what, _)| *what == f.what))
                .all(|f| f.result.is_ok())
    }

    fn finding(&self, what: &str) -> Option<&Finding> {
        self.kernel
            .iter()
            .chain(&self.binaries)
            .find(|f| f.what == what)
    }
}

/// Runs `argv` in a throwaway network namespace; what it printed when it failed.
fn probe(argv: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    crate::preflight::in_fresh_namespace(&mut cmd);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", argv[0]))?;
    if out.status.success() {
        Ok("created in a throwaway namespace".into())
    } else {
        Err(format!(
            "`{}` failed: {}",
            argv.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl fmt::Display for Survey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = |r: &Result<String, String>| match r {
            Ok(seen) => format!("yes  {seen}"),
            Err(why) => format!("no   {why}"),
        };
        writeln!(f, "privileges:")?;
        match &self.privilege {
            Privilege::Root => writeln!(f, "  root               yes")?,
            Privilege::Rootless { uid } => writeln!(
                f,
                "  root               no (uid {uid}); user namespaces: yes, routelab runs in one"
            )?,
            Privilege::Unprivileged { uid, why } => writeln!(
                f,
                "  root               no (uid {uid}); user namespaces: no, {why}"
            )?,
        }
        match &self.namespaces {
            Ok(()) => writeln!(f, "  network namespaces yes")?,
            Err(why) => writeln!(f, "  network namespaces no   {why}")?,
        }
        writeln!(f, "kernel:")?;
        for k in &self.kernel {
            writeln!(f, "  {:<20} {}", k.what, mark(&k.result))?;
        }
        writeln!(f, "daemons:")?;
        for b in &self.binaries {
            writeln!(f, "  {:<23} {}", b.what, mark(&b.result))?;
        }
        writeln!(f, "so:")?;
        if !self.can_run() {
            writeln!(
                f,
                "  no scenario can run here; `routelab check`, `mtu` and `calico render` work"
            )?;
            return Ok(());
        }
        match &self.privilege {
            Privilege::Root => writeln!(f, "  run, snapshot, diff, up/down/exec: yes")?,
            _ => {
                writeln!(
                    f,
                    "  run, snapshot, diff: yes, rootless, in a user namespace"
                )?;
                writeln!(
                    f,
                    "  up/down/exec, run --keep-on-failure: need root (a lab kept up outlives \
                     the user namespace)"
                )?;
            }
        }
        let lacking = |what: &str| {
            self.finding(what)
                .and_then(|found| found.result.as_ref().err())
                .is_some()
        };
        let say = |f: &mut fmt::Formatter<'_>, what: &str, means: &str| {
            if lacking(what) {
                writeln!(f, "  {means}")
            } else {
                Ok(())
            }
        };
        say(
            f,
            "BIRD 2 (routers)",
            "scenarios with `bird:` routers fail: no BIRD 2",
        )?;
        say(
            f,
            "BIRD 1.6 (calico nodes)",
            "scenarios with calico nodes fail: no BIRD 1.6",
        )?;
        say(
            f,
            "ipip",
            "scenarios with Calico IPIP pools are skipped: no ipip",
        )?;
        say(
            f,
            "multipath hash seed",
            "scenarios that fix the ECMP hash seed are skipped",
        )?;
        say(
            f,
            "netem",
            "scenarios whose links have a delay, jitter or loss are skipped: no netem",
        )?;
        say(
            f,
            "tbf",
            "scenarios whose links have a rate are skipped: no tbf",
        )?;
        Ok(())
    }
}
