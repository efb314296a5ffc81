//! Whose fault a failure is, which decides the exit code.

use serde::Serialize;

/// Whose fault a failure is: decides the exit code (2 input, 3 environment, 1 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Blame {
    /// The scenario asks for something the kernel or a daemon refuses.
    Input,
    /// The machine lacks something (a kernel feature, a binary, a permission).
    Environment,
    /// Anything else.
    Run,
}
