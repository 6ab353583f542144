//! Pure Windows path logic, compiled and tested on every OS, so that "is P beneath writable root
//! R" and "is P protected" have one answer whatever spelling P uses: drive, UNC, `\\?\`, `\\.\`,
//! `\??\`, `/` separators, mixed case, trailing dots and spaces, alternate data streams, DOS
//! device names and 8.3 short names.
//!
//! It works on strings and knows nothing of links (junctions, symlinks, mount points, `subst`):
//! resolve those on the OS first. When a spelling could name a file this module cannot place
//! (a `\\?\Volume{…}` path, a short name left unexpanded, a UNC alias of a drive), it says so:
//! `is_beneath` answers true only when certain (use it to grant), `may_be_beneath` answers false
//! only when certain (use it to protect and to deny reads).

mod compare;
mod parse;
mod short_names;
#[cfg(test)]
mod tests;

pub use compare::{Relation, eq_ignore_case, is_beneath, may_be_beneath, relation};
pub use parse::{Anchor, CurrentDirs, PrefixKind, Volume, WinPath, WinPathError, parse, resolve};
pub use short_names::{ShortNameExpander, expand_short_names, looks_like_short_name};
