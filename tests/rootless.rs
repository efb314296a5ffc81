//! routelab as an ordinary user: the tests run as root and start `routelab` as a throwaway
//! uid with no passwd entry and no groups, which builds its lab in a user namespace of its
//! own. The binary is copied to a directory anyone may read (the build's target directory
//! need not be), and scenario files are read where they are (a checkout readable by all).
//!
//! Each test has a uid of its own, so tests running at once (and other suites) cannot see
//! each other's processes or runtime directories.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::*;

/// A throwaway user: an unused uid, the copy of the binary it runs, and its runtime base
/// (`/tmp/routelab-UID`), removed at the end.
struct Stranger {
    uid: u32,
    bin: PathBuf,
    _bin_dir: tempfile::TempDir,
}

impl Stranger {
    /// `None` (with the skip printed, or a failure under CI) when the test is not root.
    fn new(test: &str, slot: u32) -> Option<Stranger> {
        if !nix::unistd::geteuid().is_root() {
            routelab_lab::skip_or_fail_without_root(test);
            return None;
        }
        let uid = 60_000 + (std::process::id() % 2_000) * 4 + slot;
        let bin_dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = bin_dir.path().join("routelab");
        std::fs::copy(env!("CARGO_BIN_EXE_routelab"), &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Some(Stranger {
            uid,
            bin,
            _bin_dir: bin_dir,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .current_dir(root())
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("TMPDIR")
            .stdin(Stdio::null())
            .uid(self.uid)
            .gid(self.uid);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("routelab runs")
    }

    fn runtime_base(&self) -> PathBuf {
        routelab_lab::userns::temp_base().join(format!("routelab-{}", self.uid))
    }

    /// The processes of this uid that exist.
    fn processes(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if std::fs::metadata(entry.path()).is_ok_and(|m| m.uid() == self.uid) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Lab runtime directories of scenario `name` under this user's runtime base.
    fn runtime_dirs_of(&self, name: &str) -> Vec<PathBuf> {
        let prefix = format!("routelab-{name}-");
        std::fs::read_dir(self.runtime_base())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect()
    }
}

impl Drop for Stranger {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.runtime_base());
    }
}

/// A child killed when the test ends, failed or not: a run left behind would hold a BIRD
/// of the scenario for its whole deadline.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_ordinary_user_runs_a_scenario_in_a_user_namespace() {
    let Some(user) = Stranger::new("an_ordinary_user_runs_a_scenario_in_a_user_namespace", 0)
    else {
        return;
    };
    let out = user.run(&["run", "--quiet", "scenarios/ebgp-pair.yaml"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("ebgp-pair: 8 passed, 0 failed"), "{stdout}");
    // Everything it wrote went under a directory of its own, closed to others, and its lab's
    // runtime directory is gone with the lab.
    let base = std::fs::symlink_metadata(user.runtime_base()).unwrap();
    assert!(base.is_dir());
    assert_eq!(base.uid(), user.uid);
    assert_eq!(base.permissions().mode() & 0o777, 0o700);
    // Its lock file, which a sweep for the directories of killed labs sees held while a
    // run lives, is the only thing left.
    let left: Vec<_> = std::fs::read_dir(user.runtime_base())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, [".lock"]);
    assert!(user.runtime_dirs_of("ebgp-pair").is_empty());
    assert!(user.processes().is_empty(), "a process of the run is left");

    let doctor = user.run(&["doctor"]);
    let said = text(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(0), "{said}");
    assert!(said.contains("user namespaces: yes"), "{said}");
    assert!(said.contains("rootless"), "{said}");
}

#[test]
fn keeping_a_lab_up_needs_root() {
    let Some(user) = Stranger::new("keeping_a_lab_up_needs_root", 1) else {
        return;
    };
    for args in [
        &["up", "scenarios/ebgp-pair.yaml"][..],
        &["down", "--lab", "ebgp-pair"],
        &["exec", "ebgp-pair", "r1", "--", "true"],
        &["calico", "status", "ebgp-pair", "r1"],
        &["run", "--keep-on-failure", "scenarios/ebgp-pair.yaml"],
    ] {
        let out = user.run(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains("needs root"), "{args:?}: {err}");
    }
}

/// SIGKILL ends the process that holds the user namespace: every process in it (BIRD's
/// included) goes with it, and the next run of the same user removes the runtime directory
/// the killed one left.
#[test]
fn a_killed_rootless_run_leaves_nothing_the_next_run_does_not_remove() {
    let Some(user) = Stranger::new(
        "a_killed_rootless_run_leaves_nothing_the_next_run_does_not_remove",
        2,
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let scenario = long_running_scenario(dir.path(), "kill-rootless");
    let mut child = KillOnDrop(
        user.command(&["run", scenario.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // This user's BIRD, not one of another test's run of the same scenario.
    let started = Instant::now();
    let mine = format!("{}/routelab-kill-rootless-", user.runtime_base().display());
    while bird_processes_mentioning(&mine).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the lab never came up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = user.runtime_dirs_of("kill-rootless");
    assert_eq!(left.len(), 1, "{left:?}");
    // While it runs, a root routelab's sweep for killed labs' directories (`routelab-…` in
    // the temporary directory, its lock free) finds the base's lock held.
    let lock = std::fs::File::open(user.runtime_base().join(".lock")).unwrap();
    assert!(
        nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).is_err(),
        "the runtime base of a live run looks unused"
    );
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let started = Instant::now();
    while !user.processes().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "processes of uid {} outlived a killed routelab: {:?}",
            user.uid,
            user.processes()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(user.runtime_dirs_of("kill-rootless"), left);
    let out = user.run(&["run", "--quiet", "scenarios/mtu-chain.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        user.runtime_dirs_of("kill-rootless").is_empty(),
        "the next run did not remove {left:?}"
    );
    assert!(Path::new(&user.runtime_base()).is_dir());
}
