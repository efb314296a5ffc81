//! The unprivileged user lab daemons run as.
//!
//! A scenario's BIRD configuration comes from a file anyone may have written (a pull
//! request that CI runs as root). Run as root, `log "/etc/cron.d/x" all;` in it would write
//! anywhere. So when routelab is root, a daemon is started as this user, keeping only the
//! capabilities routing needs (CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE,
//! CAP_NET_BROADCAST — the set BIRD's own `-u` keeps), and every file it opens is opened
//! with that user's rights.
//!
//! routelab drops the privileges itself, between fork and exec, rather than through BIRD's
//! `-u`: the kernel clears a process's parent-death signal when its credentials change, so
//! a BIRD that dropped root on its own would outlive a routelab killed with SIGKILL. Here the
//! death signal is set after the change, and survives the exec.
//!
//! The user is `routelab` when it exists (`ci/setup.sh` creates it as a system user with
//! no login and no home), otherwise `nobody`. When routelab itself is not root there is
//! nothing to drop and daemons run as routelab does. Neither is there in a user namespace
//! of routelab's own ([`crate::userns`]): only the caller is mapped there, so no other user
//! exists to drop to, and a daemon's "root" is the caller's own rights over the files of
//! the host — the confinement the drop gives a daemon of a routelab that is really root.

use std::io;
use std::path::Path;

/// A user and group to run daemons as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaemonUser {
    pub uid: u32,
    pub gid: u32,
}

/// The system user `ci/setup.sh` creates for lab daemons.
pub const DAEMON_USER: &str = "routelab";

/// The capabilities a routing daemon keeps, by their numbers in `<linux/capability.h>`:
/// ports below 1024 (BGP's 179), broadcast, routes and addresses, raw sockets (OSPF).
const KEPT_CAPABILITIES: [u32; 4] = [
    10, // CAP_NET_BIND_SERVICE
    11, // CAP_NET_BROADCAST
    12, // CAP_NET_ADMIN
    13, // CAP_NET_RAW
];

/// `struct __user_cap_header_struct` of `capset(2)`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`; version 3 takes two of them (capabilities 0–31, 32–63).
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

impl DaemonUser {
    /// The user lab daemons run as, or `None` when routelab is not root, or root only in
    /// a user namespace of its own.
    pub fn for_daemons() -> Option<DaemonUser> {
        if !nix::unistd::geteuid().is_root() || crate::userns::confined().is_some() {
            return None;
        }
        let found = nix::unistd::User::from_name(DAEMON_USER)
            .ok()
            .flatten()
            .or_else(|| nix::unistd::User::from_name("nobody").ok().flatten());
        Some(match found {
            Some(u) => DaemonUser {
                uid: u.uid.as_raw(),
                gid: u.gid.as_raw(),
            },
            // No passwd entry at all: the conventional overflow ids.
            None => DaemonUser {
                uid: 65534,
                gid: 65534,
            },
        })
    }

    /// Gives a file or directory routelab made for a daemon to this user, so the daemon
    /// can use it without root (its mode stays owner-only).
    pub fn give(&self, path: &Path) -> io::Result<()> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
    }

    /// Becomes this user in a freshly started child, keeping [`KEPT_CAPABILITIES`] as
    /// ambient capabilities so they survive the exec. Only async-signal-safe calls.
    ///
    /// # Safety
    /// Must only be called in a child before `exec`: between `fork` and `exec`, as
    /// `Command::pre_exec` does, or in the child of [`super::spawn::spawn`].
    pub unsafe fn become_in_child(&self) -> io::Result<()> {
        let check = |rc: libc::c_long| {
            if rc < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        // SAFETY: plain system calls on the child's own credentials; the structures passed
        // live on this stack frame for the duration of each call.
        unsafe {
            check(libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) as libc::c_long)?;
            // Raw system calls, not glibc's wrappers: in a child that shares routelab's
            // memory (`spawn`), glibc would hand the change on to routelab's threads.
            check(libc::syscall(
                libc::SYS_setgroups,
                0,
                std::ptr::null::<libc::gid_t>(),
            ))?;
            check(libc::syscall(
                libc::SYS_setresgid,
                self.gid,
                self.gid,
                self.gid,
            ))?;
            check(libc::syscall(
                libc::SYS_setresuid,
                self.uid,
                self.uid,
                self.uid,
            ))?;
            let mut mask = 0u32;
            for cap in KEPT_CAPABILITIES {
                mask |= 1 << cap;
            }
            let header = CapHeader {
                version: LINUX_CAPABILITY_VERSION_3,
                pid: 0,
            };
            let data = [
                CapData {
                    effective: mask,
                    permitted: mask,
                    inheritable: mask,
                },
                CapData {
                    effective: 0,
                    permitted: 0,
                    inheritable: 0,
                },
            ];
            check(libc::syscall(libc::SYS_capset, &header, data.as_ptr()))?;
            for cap in KEPT_CAPABILITIES {
                check(libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    cap as libc::c_ulong,
                    0,
                    0,
                ) as libc::c_long)?;
            }
        }
        Ok(())
    }
}
