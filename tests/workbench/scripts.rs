//! The quick start's scripts work as written for root without sudo and for a user with
//! sudo: `ci/lib/root.sh` runs a command directly as root, through sudo otherwise, and
//! says what to do when neither is possible.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::{root, text};

/// A PATH directory holding only `bash` and `id` (and, if `with_sudo`, a stand-in `sudo`
/// that prints what it was asked to run), so no real sudo is found.
fn path_dir(with_sudo: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for tool in ["bash", "id"] {
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no {tool}"));
        std::os::unix::fs::symlink(real, dir.path().join(tool)).unwrap();
    }
    if with_sudo {
        let sudo = dir.path().join("sudo");
        std::fs::write(&sudo, "#!/bin/bash\necho \"sudo $*\"\n").unwrap();
        std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// Runs `script` after the helper's functions, in bash with only `path` on PATH, as root
/// or (with `as_nobody`) as the unprivileged user nobody.
fn with_helper(path: &Path, as_nobody: bool, script: &str) -> Output {
    let helper = std::fs::read_to_string(root().join("ci/lib/root.sh")).unwrap();
    let program = format!("{helper}\n{script}");
    let mut cmd = if as_nobody {
        // Found on the test's own PATH: the child's holds only `path`.
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("setpriv (util-linux)");
        let mut c = Command::new(setpriv);
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        c.arg(path.join("bash"));
        c
    } else {
        Command::new(path.join("bash"))
    };
    cmd.args(["-c", &program, "ci/demo.sh"])
        .env_clear()
        .env("PATH", path)
        .env("HOME", "/nonexistent")
        .current_dir("/")
        .output()
        .unwrap()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn root_without_sudo_runs_commands_itself() {
    if !is_root() {
        eprintln!("skipped: needs root to be root without sudo");
        return;
    }
    let path = path_dir(false);
    let out = with_helper(
        path.path(),
        false,
        "as_root id -u; rerun_as_root; echo went on",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "0\nwent on\n");
}

#[test]
fn a_user_with_sudo_goes_through_it_keeping_path() {
    if !is_root() {
        eprintln!("skipped: needs root to become another user");
        return;
    }
    let path = path_dir(true);
    let out = with_helper(path.path(), true, "as_root id -u");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "sudo id -u\n");
    let out = with_helper(path.path(), true, "rerun_as_root --flag; echo not reached");
    let got = text(&out.stdout);
    let want = format!("sudo env PATH={} ", path.path().display());
    assert!(got.starts_with(&want), "{got}");
    assert!(got.trim_end().ends_with("bash ci/demo.sh --flag"), "{got}");
}

#[test]
fn a_user_without_sudo_is_told_what_to_do() {
    if !is_root() {
        eprintln!("skipped: needs root to become another user");
        return;
    }
    let path = path_dir(false);
    for call in ["as_root id -u", "rerun_as_root"] {
        let out = with_helper(path.path(), true, &format!("{call}; echo not reached"));
        assert_eq!(out.status.code(), Some(1), "{call}");
        assert_eq!(text(&out.stdout), "", "{call}");
        let err = text(&out.stderr);
        assert!(
            err.contains("demo.sh: needs root: run it as root, or install sudo"),
            "{call}: {err}"
        );
    }
}

/// Every script elevates through the helper, never with a `sudo` of its own, which would
/// fail as root on a machine without sudo.
#[test]
fn scripts_never_call_sudo_themselves() {
    for script in ["demo.sh", "test.sh", "setup.sh", "install-bird1.sh"] {
        let body = std::fs::read_to_string(root().join("ci").join(script)).unwrap();
        assert!(
            body.contains("lib/root.sh"),
            "{script} does not use the helper"
        );
        for (n, line) in body.lines().enumerate() {
            let code = line.split('#').next().unwrap_or("");
            assert!(
                !code.split_whitespace().any(|w| w == "sudo" || w == "$SUDO"),
                "ci/{script}:{}: calls sudo itself: {line}",
                n + 1
            );
        }
    }
}
