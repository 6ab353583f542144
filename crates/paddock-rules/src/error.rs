//! Errors of the rules layer, each naming the file, the place and what to do about it.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RulesError {
    #[error("cannot read rules file {path}: {source}; fix its permissions or remove it")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}:{line}: rule {index}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        index: usize,
        message: String,
    },
    #[error(
        "{path}:{line}: rule {index}: example `{example}` {problem}; fix the rule or the example"
    )]
    Example {
        path: PathBuf,
        line: usize,
        index: usize,
        example: String,
        problem: String,
    },
    #[error(
        "cannot write rules file {path}: {source}; check that the config directory is writable"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no user config directory (set HOME, APPDATA or PADDOCK_CONFIG_DIR)")]
    NoConfigDir,
    /// A rules file that exists but is not one Paddock reads (not regular, a link, too large).
    #[error(transparent)]
    File(#[from] paddock_core::files::FileError),
}
