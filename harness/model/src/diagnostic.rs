//! Errors and warnings about a scenario file, each pointing at a file, line and column.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::Location;

/// How bad a finding is: errors stop the run, warnings are printed and the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// Information, such as the estimated size of a large lab.
    Note,
}

/// One finding about a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based; 0 when the finding is about the file as a whole.
    pub line: u64,
    /// 1-based; 0 when unknown.
    pub column: u64,
    pub message: String,
}

impl Diagnostic {
    pub fn error(file: &Path, at: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, file, at, message)
    }

    pub fn warning(file: &Path, at: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, file, at, message)
    }

    pub fn new_note(file: &Path, at: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Note, file, at, message)
    }

    /// A finding at a line and column known by number (0 for the file as a whole).
    pub fn at(
        severity: Severity,
        file: &Path,
        line: u64,
        column: u64,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error at a line and column known by number (0 for the file as a whole).
    pub fn error_at(file: &Path, line: u64, column: u64, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    fn new(severity: Severity, file: &Path, at: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            file: file.to_path_buf(),
            line: at.line(),
            column: at.column(),
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column.max(1))?;
        }
        write!(f, ": {kind}: {}", self.message)
    }
}

/// Every finding about one or more files. Displayed one per line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
