//! Network namespaces held by file descriptor.
//!
//! A [`Netns`] owns an open `/proc/thread-self/ns/net` descriptor: the namespace lives as long
//! as that descriptor (or a process inside it, or a bind mount) does. A lab built by
//! `routelab run` therefore disappears with the process even on a crash.
//!
//! Entering a namespace only ever happens on a short-lived thread made for the purpose
//! ([`Netns::run`]), never on a tokio worker or the caller's thread, so the rest of the
//! process stays in the host namespace. Sockets created on that thread stay bound to the
//! namespace after the thread has gone, which is how netlink connections and probe sockets
//! are made.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sched::{CloneFlags, setns, unshare};

/// An open handle on a network namespace.
#[derive(Debug)]
pub struct Netns {
    fd: OwnedFd,
    label: String,
}

impl Netns {
    /// Creates a fresh, empty network namespace (only a down `lo` inside).
    ///
    /// `label` is for messages only; the namespace has no name in `/run/netns` unless
    /// [`Netns::bind_mount`] gives it one.
    pub fn create(label: &str) -> io::Result<Netns> {
        let fd = std::thread::scope(|scope| {
            scope
                .spawn(|| -> io::Result<OwnedFd> {
                    // This thread is discarded afterwards, so it never has to switch back.
                    unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
                    Ok(File::open("/proc/thread-self/ns/net")?.into())
                })
                .join()
                .map_err(|_| io::Error::other("namespace creation thread panicked"))?
        })?;
        Ok(Netns {
            fd,
            label: label.to_string(),
        })
    }

    /// Opens a namespace by path, e.g. `/run/netns/lab-r1` or `/proc/PID/ns/net`.
    pub fn open(path: &Path, label: &str) -> io::Result<Netns> {
        Ok(Netns {
            fd: File::open(path)?.into(),
            label: label.to_string(),
        })
    }

    /// The label given at creation, used in messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The namespace's inode number: two handles with the same inode are the same namespace.
    pub fn inode(&self) -> io::Result<u64> {
        use std::os::unix::fs::MetadataExt;
        let file = File::from(self.fd.try_clone()?);
        Ok(file.metadata()?.ino())
    }

    /// Runs `f` on a new thread that has entered this namespace, and returns its result.
    ///
    /// The thread ends with `f`; nothing else in the process changes namespace.
    pub fn run<F, R>(&self, f: F) -> io::Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        std::thread::scope(|scope| {
            scope
                .spawn(|| -> io::Result<R> {
                    setns(self.fd.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| {
                        io::Error::other(format!("entering namespace {}: {e}", self.label))
                    })?;
                    Ok(f())
                })
                .join()
                .map_err(|panic| {
                    let msg = panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("unknown panic");
                    io::Error::other(format!(
                        "thread in namespace {} panicked: {msg}",
                        self.label
                    ))
                })?
        })
    }

    /// Makes the namespace visible to `ip netns` by bind-mounting it at `path`
    /// (`/run/netns/<name>`). Used by `routelab up` only: a bind mount outlives the process.
    pub fn bind_mount(&self, path: &Path) -> io::Result<()> {
        use nix::mount::{MsFlags, mount};
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        File::create(path)?;
        let source = format!("/proc/self/fd/{}", self.fd.as_raw_fd());
        mount(
            Some(source.as_str()),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| {
            let _ = std::fs::remove_file(path);
            io::Error::other(format!(
                "bind-mounting namespace {} at {}: {e}",
                self.label,
                path.display()
            ))
        })
    }

    /// A `pre_exec` hook body: moves the calling (freshly forked) process into this
    /// namespace. Only async-signal-safe calls happen here.
    ///
    /// # Safety
    /// Must only be called between `fork` and `exec`, as `Command::pre_exec` does.
    pub unsafe fn enter_in_child(fd: RawFd) -> io::Result<()> {
        // SAFETY: setns is a plain syscall; fd stays open in the child until exec.
        let rc = unsafe { libc::setns(fd, libc::CLONE_NEWNET) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Netns {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Removes a bind mount made by [`Netns::bind_mount`]. Missing paths are not an error.
pub fn unmount(path: &Path) -> io::Result<()> {
    use nix::mount::{MntFlags, umount2};
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(io::Error::from(e)),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether this process may create namespaces (is root or has CAP_SYS_ADMIN + CAP_NET_ADMIN).
///
/// Tested by doing it: create a namespace and drop it.
pub fn can_create_namespaces() -> bool {
    Netns::create("capability-probe").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_namespace_is_not_the_host_namespace() {
        if !can_create_namespaces() {
            crate::skip_or_fail_without_root("a_new_namespace_is_not_the_host_namespace");
            return;
        }
        let host = Netns::open(Path::new("/proc/self/ns/net"), "host").unwrap();
        let ns = Netns::create("t").unwrap();
        assert_ne!(host.inode().unwrap(), ns.inode().unwrap());
        // A thread inside sees the new namespace as its own.
        let seen = ns
            .run(|| {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
            })
            .unwrap();
        assert_eq!(seen, ns.inode().unwrap());
        // ...and the calling thread is still in the host namespace.
        use std::os::unix::fs::MetadataExt;
        let mine = std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino();
        assert_eq!(mine, host.inode().unwrap());
    }
}
