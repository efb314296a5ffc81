//! Reading the files a user names: the scenario, Calico manifests, BIRD configs and what
//! they include. Every read is bounded: only regular files are opened (a FIFO, `/dev/zero`
//! or a directory would block or never end), and a file larger than [`MAX_FILE_BYTES`] is
//! refused rather than read. Text must be UTF-8; the first byte that is not is reported at
//! its line and column.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// The largest file routelab reads: scenario files, Calico manifests, BIRD configs and
/// their includes alike. Real ones are a few KiB; 16 MiB leaves room for generated
/// manifests while keeping a mistaken `cat /dev/sda > scenario.yaml` from filling memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{} is {kind}, not a regular file; give the path of a file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "{} is {size} bytes, over the limit of {} MiB for files routelab reads",
        path.display(),
        MAX_FILE_BYTES / (1024 * 1024)
    )]
    TooLarge { path: PathBuf, size: u64 },
    #[error(
        "{}:{line}:{column}: not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8",
        path.display()
    )]
    NotUtf8 {
        path: PathBuf,
        line: u64,
        column: u64,
        byte: u8,
    },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl InputError {
    /// Where in the file the problem is, for errors that have a position.
    pub fn position(&self) -> Option<(u64, u64)> {
        match self {
            InputError::NotUtf8 { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }

    /// The message without the path (for diagnostics that print the path themselves).
    pub fn reason(&self) -> String {
        match self {
            InputError::NotRegular { kind, .. } => {
                format!("this is {kind}, not a regular file; give the path of a file")
            }
            InputError::TooLarge { size, .. } => format!(
                "the file is {size} bytes, over the limit of {} MiB for files routelab reads",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            InputError::NotUtf8 { byte, .. } => {
                format!("not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8")
            }
            InputError::Io { source, .. } => format!("cannot read the file: {source}"),
        }
    }
}

/// Checks that `path` is a regular file (following symbolic links) of at most
/// [`MAX_FILE_BYTES`], without opening it; returns its size.
pub fn check_file(path: &Path) -> Result<u64, InputError> {
    let meta = std::fs::metadata(path).map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    check_metadata(path, &meta)
}

fn check_metadata(path: &Path, meta: &std::fs::Metadata) -> Result<u64, InputError> {
    let t = meta.file_type();
    let kind = if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    };
    if let Some(kind) = kind {
        return Err(InputError::NotRegular {
            path: path.to_path_buf(),
            kind,
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    Ok(meta.len())
}

/// Reads a regular file of at most [`MAX_FILE_BYTES`] as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, InputError> {
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Checked before opening: opening a FIFO for reading blocks until a writer comes.
    check_file(path)?;
    let file = File::open(path).map_err(io)?;
    // And again on what was opened, in case the path changed in between.
    check_metadata(path, &file.metadata().map_err(io)?)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
        });
    }
    text(path, bytes)
}

/// `bytes` as UTF-8, or the position of the first byte that is not.
pub fn text(path: &Path, bytes: Vec<u8>) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = &bytes[..good];
        let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        // Columns count characters, as the YAML reader's do.
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count() as u64
            + 1;
        InputError::NotUtf8 {
            path: path.to_path_buf(),
            line,
            column,
            byte: bytes[good],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        for (path, kind) in [("/dev/zero", "a character device"), ("/", "a directory")] {
            match read_text(Path::new(path)) {
                Err(InputError::NotRegular { kind: k, .. }) => assert_eq!(k, kind),
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn bad_utf8_is_reported_where_it_is() {
        let err = text(Path::new("f"), b"a: 1\nb: \xc3\xa9\xff\n".to_vec()).unwrap_err();
        assert_eq!(err.position(), Some((2, 5)));
        assert!(
            err.to_string()
                .starts_with("f:2:5: not UTF-8 text (byte 0xff)"),
            "{err}"
        );
    }

    #[test]
    fn large_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        let f = File::create(&big).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(matches!(read_text(&big), Err(InputError::TooLarge { .. })));
    }
}
