//! Rootless labs: routelab run by an ordinary user builds its lab inside a user namespace
//! of its own, where the caller's uid and gid are mapped to 0.
//!
//! [`enter`] must run before any thread starts (the kernel refuses `unshare(CLONE_NEWUSER)`
//! to a multithreaded process), so the `routelab` binary and the scenario test binary call
//! it first thing in `main`. From then on the process is "root" only over what it creates:
//! the network namespaces it makes are owned by its user namespace, so CAP_NET_ADMIN and
//! CAP_NET_RAW hold in them (links, routes, sysctls under `/proc/sys/net`, nftables, ping's
//! raw sockets), while the host's namespace and every file stay out of reach beyond the
//! caller's own rights. BIRD, ping, traceroute and nft run inside it as they would as root.
//!
//! Limits:
//! - Only uid and gid 0 are mapped, so daemons cannot drop to another user: they run as
//!   the caller (see [`crate::daemon::DaemonUser`]), already confined to the caller's rights.
//! - A lab that outlives the process (`up`, `down`, `exec`, `calico status`,
//!   `run --keep-on-failure`) is not offered: `/run/netns` and `/run/routelab` belong to the
//!   real root, and a user namespace dies with its last process. Those commands need root.
//! - Whatever routelab writes goes under [`runtime_base`]: `$XDG_RUNTIME_DIR/routelab`, or
//!   `/tmp/routelab-UID`, owner-only.
//! - Where the machine forbids unprivileged user namespaces, [`restriction`] names the
//!   setting and its fix; nothing here tries to work around it.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The real user routelab runs for, as the host sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
}

/// Why routelab could not enter a user namespace.
#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    #[error("this machine forbids unprivileged user namespaces: {0}")]
    Forbidden(Restriction),
    #[error(
        "cannot create a user namespace ({source}); run routelab as root, or allow \
         unprivileged user namespaces"
    )]
    Unshare { source: io::Error },
    #[error(
        "a user namespace can only be entered by a single-threaded process, and this one runs \
         {threads} threads"
    )]
    Threaded { threads: usize },
    #[error("writing {file} of the new user namespace: {source}")]
    Map {
        file: &'static str,
        source: io::Error,
    },
}

/// A setting that forbids an ordinary user to create user namespaces, with its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    /// The sysctl, e.g. `kernel.unprivileged_userns_clone`.
    pub setting: &'static str,
    /// Its value now.
    pub value: String,
    /// What to run instead, as root.
    pub fix: &'static str,
}

impl std::fmt::Display for Restriction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}={}; allow them with `{}`, or run routelab as root",
            self.setting, self.value, self.fix
        )
    }
}

/// The settings that can forbid unprivileged user namespaces, the value that forbids,
/// and the fix.
const RESTRICTIONS: [(&str, &str, &str); 3] = [
    (
        "kernel.unprivileged_userns_clone",
        "0",
        "sudo sysctl -w kernel.unprivileged_userns_clone=1",
    ),
    (
        "user.max_user_namespaces",
        "0",
        "sudo sysctl -w user.max_user_namespaces=15000",
    ),
    // Ubuntu 24.04: creating one still succeeds, but it grants no capabilities.
    (
        "kernel.apparmor_restrict_unprivileged_userns",
        "1",
        "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
    ),
];

/// The first setting of this machine that forbids unprivileged user namespaces, if any.
pub fn restriction() -> Option<Restriction> {
    restriction_under(Path::new("/"))
}

/// As [`restriction`], reading the sysctls under `root` (the real `/`, or a test's stand-in).
fn restriction_under(root: &Path) -> Option<Restriction> {
    RESTRICTIONS.iter().find_map(|(setting, forbids, fix)| {
        let path = root.join("proc/sys").join(setting.replace('.', "/"));
        let value = std::fs::read_to_string(path).ok()?.trim().to_string();
        (value == *forbids).then_some(Restriction {
            setting,
            value,
            fix,
        })
    })
}

/// Moves this process into a new user namespace with the caller mapped to uid and gid 0.
/// Must be called before any thread starts. Does nothing and returns `Ok(None)` when the
/// process is root already (or already confined); otherwise returns the caller.
pub fn enter() -> Result<Option<Caller>, UsernsError> {
    if let Some(caller) = confined() {
        return Ok(Some(caller));
    }
    let caller = Caller {
        uid: nix::unistd::geteuid().as_raw(),
        gid: nix::unistd::getegid().as_raw(),
    };
    if caller.uid == 0 {
        return Ok(None);
    }
    let threads = std::fs::read_dir("/proc/self/task").map_or(1, |d| d.count());
    if threads > 1 {
        return Err(UsernsError::Threaded { threads });
    }
    if let Err(e) = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER) {
        return Err(match restriction() {
            Some(r) => UsernsError::Forbidden(r),
            None => UsernsError::Unshare { source: e.into() },
        });
    }
    // The order matters: gid_map may only be written once setgroups is denied.
    let write = |file: &'static str, text: String| {
        std::fs::write(format!("/proc/self/{file}"), text)
            .map_err(|source| UsernsError::Map { file, source })
    };
    write("setgroups", "deny".into())?;
    write("uid_map", format!("0 {} 1", caller.uid))?;
    write("gid_map", format!("0 {} 1", caller.gid))?;
    Ok(Some(caller))
}

/// The caller, when this process is uid 0 in a user namespace that maps only it (entered by
/// [`enter`], or by whatever started the process, e.g. `unshare -r`); `None` in the
/// host's own user namespace. Read afresh each time: [`enter`] changes the answer.
pub fn confined() -> Option<Caller> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let uid = outer_id(&std::fs::read_to_string("/proc/self/uid_map").ok()?)?;
    let gid = outer_id(&std::fs::read_to_string("/proc/self/gid_map").ok()?).unwrap_or(u32::MAX);
    Some(Caller { uid, gid })
}

/// The outer id inside 0 maps to, from a `uid_map` or `gid_map`; `None` for the host's own
/// map (`0 0 4294967295`).
fn outer_id(map: &str) -> Option<u32> {
    // A map of several ranges maps other users too: not one of routelab's.
    if map.lines().count() != 1 {
        return None;
    }
    let mut fields = map.split_whitespace().map(|f| f.parse::<u64>().ok());
    let (inside, outside, count) = (fields.next()??, fields.next()??, fields.next()??);
    let identity = inside == 0 && outside == 0 && count == u64::from(u32::MAX);
    (!identity && inside == 0).then_some(outside as u32)
}

/// Why a runtime base directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeBaseError {
    #[error("creating {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error(
        "{path} is not routelab's own directory ({why}); it may be someone else's: remove it, \
         or set XDG_RUNTIME_DIR to a directory of yours"
    )]
    NotOwn { path: PathBuf, why: String },
}

/// The temporary directory runtime directories go under: `$TMPDIR` when it is set, else
/// `/tmp` when it is a tmpfs, else `/dev/shm` when that is a tmpfs open to all (sticky, as
/// `/tmp` is), else `/tmp`.
///
/// A lab writes a sandbox, its configs, a log and a socket per daemon. On a disk file
/// system that is slow and grows with the lab: on a 2-core machine whose `/tmp` is ext4,
/// a daemon's sandbox took 8–13 ms to write against 0.2 ms on tmpfs, and writing 500 was
/// most of starting 500 daemons.
pub fn temp_base() -> PathBuf {
    if std::env::var_os("TMPDIR").is_some() {
        return std::env::temp_dir();
    }
    let tmp = PathBuf::from("/tmp");
    if is_tmpfs(&tmp, false) {
        return tmp;
    }
    let shm = PathBuf::from("/dev/shm");
    if is_tmpfs(&shm, true) {
        return shm;
    }
    tmp
}

/// Whether `dir` is a directory on a tmpfs (and, if `shared`, sticky, so others cannot
/// remove or rename what we make there). Its owner is not asked: in a user namespace of
/// routelab's, root's `/dev/shm` belongs to the overflow uid.
fn is_tmpfs(dir: &Path, shared: bool) -> bool {
    let Ok(fs) = nix::sys::statfs::statfs(dir) else {
        return false;
    };
    if fs.filesystem_type() != nix::sys::statfs::TMPFS_MAGIC {
        return false;
    }
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    meta.is_dir() && (!shared || meta.mode() & 0o1000 != 0)
}

/// Where a lab's runtime files and every other file routelab writes go: the temporary
/// directory ([`temp_base`]) as root; a directory of the caller's own when confined —
/// `$XDG_RUNTIME_DIR/routelab` when that is set to a directory of the caller's, otherwise
/// `routelab-UID` in the temporary directory. Created owner-only (0700); one that exists
/// must be a real directory owned by this user and closed to others, or it is refused.
pub fn runtime_base() -> Result<PathBuf, RuntimeBaseError> {
    let Some(caller) = confined() else {
        return Ok(temp_base());
    };
    let xdg = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && own_private_dir(p).is_ok());
    let path = match xdg {
        Some(dir) => dir.join("routelab"),
        None => temp_base().join(format!("routelab-{}", caller.uid)),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => return Err(RuntimeBaseError::Create { path, source }),
    }
    own_private_dir(&path).map_err(|why| RuntimeBaseError::NotOwn {
        path: path.clone(),
        why,
    })?;
    hold_open(&path)?;
    Ok(path)
}

/// The lock file that marks a runtime base in use.
const BASE_LOCK: &str = ".lock";

/// Holds a shared lock on the base's lock file for the rest of the process. A root
/// routelab sweeping the temporary directory for the runtime directories of killed labs
/// (`routelab-…` with a lock nobody holds) then takes `/tmp/routelab-UID` for a live one,
/// whatever its version; runs of the same user share the lock.
fn hold_open(base: &Path) -> Result<(), RuntimeBaseError> {
    static HELD: OnceLock<nix::fcntl::Flock<std::fs::File>> = OnceLock::new();
    if HELD.get().is_some() {
        return Ok(());
    }
    let path = base.join(BASE_LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| RuntimeBaseError::Create {
            path: path.clone(),
            source,
        })?;
    let lock =
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockShared).map_err(|(_, e)| {
            RuntimeBaseError::Create {
                path,
                source: e.into(),
            }
        })?;
    let _ = HELD.set(lock);
    Ok(())
}

/// Whether `path` is a directory (not a link to one) of this user's, closed to others.
fn own_private_dir(path: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if !meta.file_type().is_dir() {
        return Err("not a directory".into());
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!("owned by uid {}, not {me}", meta.uid()));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "mode {:o} lets others in",
            meta.permissions().mode() & 0o7777
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_own_map_is_not_confinement() {
        assert_eq!(outer_id("         0          0 4294967295\n"), None);
        assert_eq!(outer_id("         0       1000          1\n"), Some(1000));
        assert_eq!(outer_id(""), None);
        assert_eq!(outer_id("0 0 1\n65534 65534 1\n"), None);
    }

    fn sysctls(values: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (setting, value) in values {
            let path = root.path().join("proc/sys").join(setting.replace('.', "/"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, format!("{value}\n")).unwrap();
        }
        root
    }

    #[test]
    fn each_forbidding_setting_is_named_with_its_fix() {
        for (setting, forbids, fix) in RESTRICTIONS {
            let root = sysctls(&[(setting, forbids)]);
            let found = restriction_under(root.path()).unwrap();
            assert_eq!(found.setting, setting);
            let text = found.to_string();
            assert!(text.contains(&format!("{setting}={forbids}")), "{text}");
            assert!(text.contains(fix), "{text}");
        }
    }

    #[test]
    fn allowing_settings_and_missing_ones_forbid_nothing() {
        let root = sysctls(&[
            ("kernel.unprivileged_userns_clone", "1"),
            ("user.max_user_namespaces", "63000"),
        ]);
        assert_eq!(restriction_under(root.path()), None);
    }

    #[test]
    fn a_directory_open_to_others_is_not_own_private() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(own_private_dir(dir.path()), Ok(()));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(
            own_private_dir(dir.path())
                .unwrap_err()
                .contains("lets others in")
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/tmp", &link).unwrap();
        assert!(
            own_private_dir(&link)
                .unwrap_err()
                .contains("not a directory")
        );
    }
}
