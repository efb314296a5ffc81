//! Putting a daemon's configuration on disk where the daemon will read it.
//!
//! Each daemon has a sandbox directory of its own, mode 0700 and owned by the user the
//! daemon runs as ([`DaemonUser`]); configurations routelab writes (inline text, Calico's
//! rendered files, which may hold BGP passwords) go there, mode 0600. BIRD is started in
//! that directory and given relative names, so it needs no access to the directories
//! above it.

use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use routelab_model::scenario::BirdConfig;

use super::DaemonUser;

/// The main file's name for inline configurations.
const INLINE_NAME: &str = "bird.conf";

/// Creates a daemon's sandbox directory (it must not exist yet).
pub fn make_sandbox(dir: &Path, user: Option<DaemonUser>) -> io::Result<()> {
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    if let Some(user) = user {
        user.give(dir)?;
    }
    Ok(())
}

/// Puts `config` into `sandbox` and returns the path BIRD is started with. A file of the
/// user's is used where it is (BIRD then runs in its directory).
pub fn write_config(
    config: &BirdConfig,
    sandbox: &Path,
    user: Option<DaemonUser>,
) -> io::Result<PathBuf> {
    match config {
        BirdConfig::File(path) => Ok(path.clone()),
        BirdConfig::Inline(text) => {
            let path = sandbox.join(INLINE_NAME);
            replace_private(&path, text, user)?;
            Ok(path)
        }
        BirdConfig::Rendered(files) => {
            for (name, text) in files {
                replace_private(&sandbox.join(name), text, user)?;
            }
            let main = files.first().map(|(n, _)| n.as_str()).unwrap_or("bird.cfg");
            Ok(sandbox.join(main))
        }
    }
}

/// Writes `text` to `path` as a whole (a new file renamed over the old one, so a daemon
/// reading it sees the old or the new text, never half), mode 0600, owned by `user`.
pub fn replace_private(path: &Path, text: &str, user: Option<DaemonUser>) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} names no file", path.display())))?;
    let tmp = path.with_file_name(format!(".{}.new", name.to_string_lossy()));
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(text.as_bytes())?;
    if let Some(user) = user {
        user.give(&tmp)?;
    }
    std::fs::rename(&tmp, path)
}
