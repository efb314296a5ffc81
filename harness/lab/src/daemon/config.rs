//! Putting a daemon's configuration on disk where the daemon will read it.

use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use routelab_model::scenario::BirdConfig;

/// Puts `config` on disk under `dir` for the daemon of node `ns` and returns the path BIRD
/// is started with. A file of the user's is used where it is. Files routelab writes are
/// readable by their owner only: a rendered config may hold BGP passwords.
pub fn write_config(config: &BirdConfig, dir: &Path, ns: &str) -> io::Result<PathBuf> {
    match config {
        BirdConfig::File(path) => Ok(path.clone()),
        BirdConfig::Inline(text) => {
            let path = dir.join(format!("{ns}.conf"));
            write_private(&path, text)?;
            Ok(path)
        }
        BirdConfig::Rendered(files) => {
            let sub = dir.join(ns);
            std::fs::DirBuilder::new().mode(0o700).create(&sub)?;
            for (name, text) in files {
                write_private(&sub.join(name), text)?;
            }
            let main = files.first().map(|(n, _)| n.as_str()).unwrap_or("bird.cfg");
            Ok(sub.join(main))
        }
    }
}

/// Writes a new file with mode 0600; an existing file is an error, never overwritten.
pub(crate) fn write_private(path: &Path, text: &str) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}
