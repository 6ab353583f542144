//! Typed errors of the core, each with a message that names the problem and the fix.

use std::path::PathBuf;
use thiserror::Error;

/// A config file or flag that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}; fix the file's permissions or remove it")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{origin}: {message}")]
    Value { origin: String, message: String },
    /// The file exists but is not one Paddock reads (not regular, a link, too large).
    #[error(transparent)]
    File(#[from] crate::files::FileError),
}

/// A policy that cannot be turned into a concrete sandbox spec.
#[derive(Debug, Error)]
pub enum SpecError {
    #[error(
        "workspace {path}: {reason}; pass an existing directory with --workspace (default: the working directory)"
    )]
    Workspace { path: PathBuf, reason: String },
    #[error("working directory {path}: {reason}; pass an existing directory with --cwd")]
    WorkingDirectory { path: PathBuf, reason: String },
    #[error(
        "writable root {path} does not exist: {reason}; create it or remove it from writable_roots"
    )]
    WritableRoot { path: PathBuf, reason: String },
    #[error(
        "writable root {path} is refused: {reason}; name the narrower directories the command \
         needs (e.g. ~/.cargo) instead"
    )]
    RefusedRoot { path: PathBuf, reason: String },
    #[error(
        "workspace {given} (resolved: {path}) is refused as a writable root: {reason}; run in a \
         project directory (--cwd DIR), or use --mode read-only"
    )]
    RefusedWorkspace {
        given: PathBuf,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "cache directory {path} of a toolchain recipe cannot be created: {reason}; create it \
         yourself or drop the recipe"
    )]
    RecipeCache { path: PathBuf, reason: String },
    #[error(
        "deny_read {path} does not exist and lies inside writable root {root}, where the command could create it and read it back; create it before the run (touch or mkdir) so it can be hidden, or remove the entry"
    )]
    DenyReadMissing { path: PathBuf, root: PathBuf },
    #[error("cannot resolve {path}: {reason}")]
    Resolve { path: PathBuf, reason: String },
}
