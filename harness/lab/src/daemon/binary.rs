//! Finding BIRD binaries and checking configs with BIRD's own parser.

use std::fmt;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use routelab_model::plan::DaemonKind;

use super::DaemonError;

const BIRD2_HINT: &str = "install it with `apt-get install bird2` (Debian/Ubuntu), \
                          or give a BIRD 2 `bird` binary with --bird2 or $ROUTELAB_BIRD2";
const BIRD1_HINT: &str = "unpack it with `bash ci/install-bird1.sh [DEST]` (by default into \
                          .tools/bird1/ of the checkout), or give a BIRD 1.6 `bird` binary or \
                          the directory holding it with --bird1 or $ROUTELAB_BIRD1";

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

impl BirdBinary {}

/// Where to look for the daemons' binaries, decided at run time, never at build time: a
/// path given on the command line (`--bird2`, `--bird1`) or in the environment
/// (`$ROUTELAB_BIRD2`, `$ROUTELAB_BIRD1`), else the places described at
/// [`BirdSearch::bird1_candidates`] and [`BirdSearch::bird2_candidates`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BirdSearch {
    /// A BIRD 2 `bird` binary.
    pub bird2: Option<PathBuf>,
    /// BIRD 1.6: its `bird` binary, the directory holding `bird` and `bird6`, or the root
    /// of the unpacked Debian package.
    pub bird1: Option<PathBuf>,
}

impl BirdSearch {
    /// `$ROUTELAB_BIRD2` and `$ROUTELAB_BIRD1`, where set.
    pub fn from_env() -> BirdSearch {
        BirdSearch {
            bird2: std::env::var_os("ROUTELAB_BIRD2").map(PathBuf::from),
            bird1: std::env::var_os("ROUTELAB_BIRD1").map(PathBuf::from),
        }
    }

    /// The binary a daemon kind runs.
    pub fn binary(&self, kind: DaemonKind) -> Result<BirdBinary, DaemonError> {
        match kind {
            DaemonKind::Bird2 => self.bird2_binary(),
            DaemonKind::CalicoBird => self.bird1_binary("bird"),
            DaemonKind::CalicoBird6 => self.bird1_binary("bird6"),
        }
    }

    /// BIRD 2 for routers.
    pub fn bird2_binary(&self) -> Result<BirdBinary, DaemonError> {
        let (fixed, searched) = Self::bird2_candidates(self.bird2.as_deref(), &search_path());
        find(&fixed, &searched, Flavour::Bird2, "BIRD 2", BIRD2_HINT)
    }

    /// BIRD 1.6's `bird` (IPv4) or `bird6` (IPv6), for mock calico-node.
    pub fn bird1_binary(&self, name: &str) -> Result<BirdBinary, DaemonError> {
        let exe = std::env::current_exe().unwrap_or_default();
        let (fixed, searched) =
            Self::bird1_candidates(self.bird1.as_deref(), &exe, &search_path(), name);
        let label = if name == "bird6" {
            "BIRD 1.6 (bird6)"
        } else {
            "BIRD 1.6"
        };
        find(&fixed, &searched, Flavour::Bird1_6, label, BIRD1_HINT)
    }

    /// Where BIRD 2 is looked for: the given path alone; without one, `bird` in each
    /// directory of `path` (then `/usr/sbin` and `/usr/local/sbin`, which a user's PATH
    /// may lack), the first that is BIRD 2. Returns (paths that must be BIRD 2, paths to
    /// try in turn).
    pub fn bird2_candidates(
        given: Option<&Path>,
        path: &[PathBuf],
    ) -> (Vec<PathBuf>, Vec<PathBuf>) {
        match given {
            Some(p) => (vec![p.to_path_buf()], Vec::new()),
            None => (Vec::new(), in_dirs(path, "bird")),
        }
    }

    /// Where BIRD 1.6's `name` (`bird` or `bird6`) is looked for.
    ///
    /// A given path is a directory (the unpacked package root, or the directory holding
    /// the binaries), or the `bird` binary itself, whose sibling `bird6` is then used for
    /// IPv6. Without one, where `ci/install-bird1.sh [DEST]` unpacks Debian's `bird`
    /// package (it conflicts with `bird2`, so it cannot be installed normally), relative to
    /// routelab's own binary `exe`: `<exe dir>/bird1/`, `<exe dir>/../lib/routelab/bird1/`,
    /// and `.tools/bird1/` in any directory above the binary (a build inside a checkout);
    /// then `/usr/local/lib/routelab/bird1/`; then a `name` on `path` that is BIRD 1.6.
    pub fn bird1_candidates(
        given: Option<&Path>,
        exe: &Path,
        path: &[PathBuf],
        name: &str,
    ) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let in_package = |root: &Path| root.join("usr/sbin").join(name);
        match given {
            Some(p) if p.is_dir() => (vec![p.join(name), in_package(p)], Vec::new()),
            Some(p) if name == "bird" => (vec![p.to_path_buf()], Vec::new()),
            Some(p) => (vec![p.with_file_name(name)], Vec::new()),
            None => {
                let mut fixed = Vec::new();
                if let Some(dir) = exe.parent() {
                    fixed.push(in_package(&dir.join("bird1")));
                    fixed.push(in_package(&dir.join("../lib/routelab/bird1")));
                    for ancestor in dir.ancestors() {
                        fixed.push(in_package(&ancestor.join(".tools/bird1")));
                    }
                }
                fixed.push(in_package(Path::new("/usr/local/lib/routelab/bird1")));
                (fixed, in_dirs(path, name))
            }
        }
    }
}

/// The directories of `$PATH`, then the sbin directories a user's PATH often lacks.
fn search_path() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in ["/usr/sbin", "/usr/local/sbin"] {
        if !dirs.iter().any(|d| d == Path::new(extra)) {
            dirs.push(PathBuf::from(extra));
        }
    }
    dirs
}

fn in_dirs(dirs: &[PathBuf], name: &str) -> Vec<PathBuf> {
    dirs.iter().map(|d| d.join(name)).collect()
}

/// The first of `fixed` that exists, which must be the wanted flavour; else the first of
/// `searched` that is the wanted flavour.
fn find(
    fixed: &[PathBuf],
    searched: &[PathBuf],
    wanted: Flavour,
    flavour_name: &'static str,
    hint: &'static str,
) -> Result<BirdBinary, DaemonError> {
    if let Some(path) = fixed.iter().find(|p| p.is_file()) {
        return classified(path, wanted, flavour_name, hint);
    }
    let mut wrong = None;
    for path in searched.iter().filter(|p| p.is_file()) {
        match classified(path, wanted, flavour_name, hint) {
            Ok(found) => return Ok(found),
            Err(e) => wrong = wrong.or(Some(e)),
        }
    }
    Err(wrong.unwrap_or_else(|| DaemonError::NotFound {
        flavour: flavour_name,
        looked: fixed
            .iter()
            .chain(searched)
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        hint,
    }))
}

fn classified(
    path: &Path,
    wanted: Flavour,
    flavour_name: &'static str,
    hint: &'static str,
) -> Result<BirdBinary, DaemonError> {
    let version = probe_version(path)?;
    if Flavour::of_version(&version) != Some(wanted) {
        return Err(DaemonError::WrongVersion {
            path: path.to_path_buf(),
            found: version,
            wanted: flavour_name,
            hint,
        });
    }
    Ok(BirdBinary {
        path: path.to_path_buf(),
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

/// Checks `config` with BIRD's own parser (`bird -p -c CONFIG`), run as it will run: in
/// the config's directory, given its name relative to it, and as `user` (so a file BIRD
/// could not read when running fails here too).
///
/// On failure the error is [`DaemonError::Config`] carrying BIRD's message verbatim, e.g.
/// `bird: r1.conf:12:3 syntax error, unexpected CF_SYM_UNDEFINED`. BIRD resolves a
/// relative `include` against the directory of the file that includes it (both flavours).
pub fn check_config(
    bin: &BirdBinary,
    config: &Path,
    user: Option<super::DaemonUser>,
    limit: std::time::Duration,
) -> Result<(), DaemonError> {
    let config = absolute(config)?;
    let running = |e| {
        DaemonError::io(
            format!("running {} -p -c {}", bin.path.display(), config.display()),
            e,
        )
    };
    // A file rather than a pipe: a BIRD that hangs must not also hang its reader.
    let output = tempfile::tempfile().map_err(running)?;
    let name = config.file_name().unwrap_or_default();
    let mut child = super::spawn::spawn(&super::spawn::Spawn {
        program: &bin.path,
        args: &["-p".as_ref(), "-c".as_ref(), name],
        env: &[],
        cwd: config_dir(&config),
        stdout: output.as_fd(),
        stderr: output.as_fd(),
        netns: None,
        user,
        lifetime: super::spawn::Lifetime::Ordinary,
    })
    .map_err(running)?;
    let Some(status) = child.wait_timeout(limit).map_err(running)? else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(DaemonError::Config {
            message: format!(
                "bird -p did not finish parsing {} within {} s (does it include a FIFO or a \
                 device?)",
                config.display(),
                limit.as_secs()
            ),
            config,
        });
    };
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    let mut output = output;
    let _ = std::io::Seek::rewind(&mut output);
    let _ =
        std::io::Read::read_to_string(&mut std::io::Read::take(&mut output, 64 * 1024), &mut text);
    let message = match text.trim() {
        "" => format!(
            "{} -p -c {} failed ({status}) without a message",
            bin.path.display(),
            config.display(),
        ),
        text => text.to_string(),
    };
    let message = with_absolute_positions(&message, config_dir(&config));
    Err(DaemonError::Config { config, message })
}

/// BIRD names the file of an error as it opened it, relative to the directory it runs
/// in (`bird: ./peers.conf:3:3 syntax error`): name it as the user would look for it,
/// relative to the current directory when below it, absolute otherwise.
pub(crate) fn with_absolute_positions(text: &str, dir: &Path) -> String {
    text.lines()
        .map(|l| with_absolute_position(l, dir))
        .collect::<Vec<_>>()
        .join("\n")
}

fn with_absolute_position(message: &str, dir: &Path) -> String {
    let (prefix, rest) = match message.strip_prefix("bird: ") {
        Some(rest) => ("bird: ", rest),
        None => ("", message),
    };
    let Some((position, tail)) = rest.split_once(' ') else {
        return message.to_string();
    };
    let mut parts = position.rsplitn(3, ':');
    let (col, line, file) = (parts.next(), parts.next(), parts.next());
    match (file, line, col) {
        (Some(file), Some(line), Some(col))
            if !file.starts_with('/')
                && line.parse::<u32>().is_ok()
                && col.parse::<u32>().is_ok() =>
        {
            let file = routelab_model::context::normalize(&dir.join(file));
            // Relative to where the user is, when it is below it.
            let file = std::env::current_dir()
                .ok()
                .and_then(|cwd| file.strip_prefix(cwd).ok().map(Path::to_path_buf))
                .unwrap_or(file);
            format!("{prefix}{}:{line}:{col} {tail}", file.display())
        }
        _ => message.to_string(),
    }
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
