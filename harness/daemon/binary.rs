//! Finding BIRD binaries and checking configs with BIRD's own parser.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::DaemonError;

const BIRD2_HINT: &str = "install it with `apt-get install bird2` (Debian/Ubuntu), \
                          or point $ROUTELAB_BIRD2 at a BIRD 2 `bird` binary";
const BIRD1_HINT: &str = "unpack it with `bash ci/install-bird1.sh` (it goes to \
                          .tools/bird1/usr/sbin/), or point $ROUTELAB_BIRD1 at a BIRD 1.6 \
                          `bird` binary or the directory holding it";

/// Which BIRD a binary is. The two print some things differently (timestamps, the table
/// column, where `show protocols all` puts BGP details); the client parses both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// BIRD 2.x (Debian `bird2`): routers.
    Bird2,
    /// BIRD 1.6.x (`bird` for IPv4, `bird6` for IPv6): mock calico-node speakers.
    Bird1_6,
}

impl Flavour {
    /// The flavour a version string such as `2.0.12` or `1.6.8` belongs to.
    pub fn of_version(version: &str) -> Option<Flavour> {
        let mut parts = version.split('.');
        match (parts.next(), parts.next()) {
            (Some("2"), _) => Some(Flavour::Bird2),
            (Some("1"), Some("6")) => Some(Flavour::Bird1_6),
            _ => None,
        }
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavour::Bird2 => "BIRD 2",
            Flavour::Bird1_6 => "BIRD 1.6",
        })
    }
}

/// A BIRD daemon binary whose version has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BirdBinary {
    /// The `bird` (or `bird6`) executable.
    pub path: PathBuf,
    /// Which BIRD it is.
    pub flavour: Flavour,
    /// The version it reports, e.g. `2.0.12`.
    pub version: String,
}

impl BirdBinary {
    /// Probes `path` (`bird --version`) and classifies it.
    pub fn at(path: &Path) -> Result<BirdBinary, DaemonError> {
        let version = probe_version(path)?;
        match Flavour::of_version(&version) {
            Some(flavour) => Ok(BirdBinary {
                path: path.to_path_buf(),
                flavour,
                version,
            }),
            None => Err(DaemonError::WrongVersion {
                path: path.to_path_buf(),
                found: version,
                wanted: "BIRD 2 or BIRD 1.6",
                hint: BIRD2_HINT,
            }),
        }
    }

    /// BIRD 2 for routers: `$ROUTELAB_BIRD2` if set, else `/usr/sbin/bird` (Debian `bird2`),
    /// else `/usr/local/sbin/bird`.
    pub fn bird2() -> Result<BirdBinary, DaemonError> {
        let candidates = match std::env::var_os("ROUTELAB_BIRD2") {
            Some(path) => vec![PathBuf::from(path)],
            None => vec![
                PathBuf::from("/usr/sbin/bird"),
                PathBuf::from("/usr/local/sbin/bird"),
            ],
        };
        find(&candidates, Flavour::Bird2, "BIRD 2", BIRD2_HINT)
    }

    /// BIRD 1.6 `bird` (IPv4) for mock calico-node: see [`BirdBinary::bird1_6_candidates`]
    /// for where it is looked for.
    pub fn bird1_6(repo_root: &Path) -> Result<BirdBinary, DaemonError> {
        let candidates = Self::bird1_6_candidates(
            repo_root,
            std::env::var_os("ROUTELAB_BIRD1")
                .map(PathBuf::from)
                .as_deref(),
            "bird",
        );
        find(&candidates, Flavour::Bird1_6, "BIRD 1.6", BIRD1_HINT)
    }

    /// BIRD 1.6 `bird6` (IPv6), looked for next to `bird` (see [`BirdBinary::bird1_6`]).
    pub fn bird6_1_6(repo_root: &Path) -> Result<BirdBinary, DaemonError> {
        let candidates = Self::bird1_6_candidates(
            repo_root,
            std::env::var_os("ROUTELAB_BIRD1")
                .map(PathBuf::from)
                .as_deref(),
            "bird6",
        );
        find(
            &candidates,
            Flavour::Bird1_6,
            "BIRD 1.6 (bird6)",
            BIRD1_HINT,
        )
    }

    /// Where BIRD 1.6's `name` (`bird` or `bird6`) is looked for.
    ///
    /// `override_path` is `$ROUTELAB_BIRD1`: a directory (the unpacked package root, or the
    /// directory holding the binaries), or the `bird` binary itself, whose sibling `bird6` is
    /// then used for IPv6. Without it, `<repo_root>/.tools/bird1/usr/sbin/<name>`, where
    /// `ci/install-bird1.sh` unpacks Debian's `bird` package (it conflicts with `bird2`, so
    /// it cannot be installed normally).
    pub fn bird1_6_candidates(
        repo_root: &Path,
        override_path: Option<&Path>,
        name: &str,
    ) -> Vec<PathBuf> {
        match override_path {
            Some(p) if p.is_dir() => vec![p.join(name), p.join("usr/sbin").join(name)],
            Some(p) if name == "bird" => vec![p.to_path_buf()],
            Some(p) => vec![p.with_file_name(name)],
            None => vec![repo_root.join(".tools/bird1/usr/sbin").join(name)],
        }
    }
}

/// The first candidate that exists, checked to be the wanted flavour.
fn find(
    candidates: &[PathBuf],
    wanted: Flavour,
    flavour_name: &'static str,
    hint: &'static str,
) -> Result<BirdBinary, DaemonError> {
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        return Err(DaemonError::NotFound {
            flavour: flavour_name,
            looked: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            hint,
        });
    };
    let version = probe_version(path)?;
    if Flavour::of_version(&version) != Some(wanted) {
        return Err(DaemonError::WrongVersion {
            path: path.clone(),
            found: version,
            wanted: flavour_name,
            hint,
        });
    }
    Ok(BirdBinary {
        path: path.clone(),
        flavour: wanted,
        version,
    })
}

/// Runs `bird --version` and returns the version number it prints (on stderr, as
/// `BIRD version 2.0.12`).
fn probe_version(path: &Path) -> Result<String, DaemonError> {
    let out = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| DaemonError::io(format!("running {} --version", path.display()), e))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    text.split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .map(str::to_string)
        .ok_or_else(|| DaemonError::WrongVersion {
            path: path.to_path_buf(),
            found: format!("unknown (`--version` printed {:?})", text.trim()),
            wanted: "BIRD 2 or BIRD 1.6",
            hint: BIRD2_HINT,
        })
}

/// Checks `config` with BIRD's own parser (`bird -p -c CONFIG`).
///
/// On failure the error is [`DaemonError::Config`] carrying BIRD's message verbatim, e.g.
/// `bird: /lab/r1.conf:12:3 syntax error, unexpected CF_SYM_UNDEFINED`. BIRD resolves a
/// relative `include` against the directory of the file that includes it (both flavours);
/// BIRD is run with that directory as its working directory as well, so any other relative
/// path in the config means the same when checked and when run by [`super::BirdProcess`].
pub fn check_config(bin: &BirdBinary, config: &Path) -> Result<(), DaemonError> {
    let config = absolute(config)?;
    let mut cmd = Command::new(&bin.path);
    cmd.arg("-p")
        .arg("-c")
        .arg(&config)
        .stdin(Stdio::null())
        .current_dir(config_dir(&config));
    let out = cmd.output().map_err(|e| {
        DaemonError::io(
            format!("running {} -p -c {}", bin.path.display(), config.display()),
            e,
        )
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let message = match (stderr.trim(), stdout.trim()) {
        ("", "") => format!(
            "{} -p -c {} failed ({}) without a message",
            bin.path.display(),
            config.display(),
            out.status
        ),
        ("", s) | (s, _) => s.to_string(),
    };
    Err(DaemonError::Config { config, message })
}

/// `path` made absolute against the current directory (symlinks are kept, so BIRD's
/// messages name the file the way the user does).
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, DaemonError> {
    std::path::absolute(path)
        .map_err(|e| DaemonError::io(format!("resolving {}", path.display()), e))
}

/// The directory BIRD runs in for `config` (an absolute path).
pub(crate) fn config_dir(config: &Path) -> &Path {
    config.parent().unwrap_or(Path::new("/"))
}
