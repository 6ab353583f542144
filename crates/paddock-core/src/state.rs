//! Where Paddock keeps its own state (audit log, ACL journal, synthetic SIDs, kept grants).
//!
//! `PADDOCK_STATE_DIR` overrides the location (tests use it). Otherwise
//! `$XDG_STATE_HOME/paddock`, `~/.local/state/paddock` on Unix, `%LOCALAPPDATA%\paddock` on Windows.

use std::path::PathBuf;

/// The state directory (not created).
pub fn state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PADDOCK_STATE_DIR").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if cfg!(windows) {
        return std::env::var_os("LOCALAPPDATA").map(|d| PathBuf::from(d).join("paddock"));
    }
    if let Some(xdg) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(xdg).join("paddock"));
    }
    home_dir().map(|h| h.join(".local/state/paddock"))
}

/// The user's config directory for Paddock (`$XDG_CONFIG_HOME/paddock`, `%APPDATA%\paddock`).
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PADDOCK_CONFIG_DIR").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if cfg!(windows) {
        return std::env::var_os("APPDATA").map(|d| PathBuf::from(d).join("paddock"));
    }
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(xdg).join("paddock"));
    }
    home_dir().map(|h| h.join(".config/paddock"))
}

/// The caller's home directory (`HOME`, or `USERPROFILE` on Windows).
pub fn home_dir() -> Option<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}
