//! Paddock's built-in list of destructive and outbound actions (`builtin.toml`, in the rules
//! file format): consulted when none of the user's or the project's rules matches a command, so
//! any rule of the user's overrides it. Loaded once; its examples are checked like any file's.

use super::Rule;
use super::RuleSource;
use super::file::{self, FileKind};
use std::path::Path;
use std::sync::OnceLock;

/// The text of the built-in list (also shown by the docs).
pub const TEXT: &str = include_str!("builtin.toml");

/// The built-in rules. The file ships with Paddock and its tests load it, so a broken list is a
/// build bug; should it ever fail to load, the list is empty and the failure is reported by
/// `load_error`.
pub fn rules() -> &'static [Rule] {
    loaded().as_ref().map(Vec::as_slice).unwrap_or(&[])
}

/// Why the built-in list did not load, if it did not.
pub fn load_error() -> Option<String> {
    loaded().as_ref().err().cloned()
}

fn loaded() -> &'static Result<Vec<Rule>, String> {
    static RULES: OnceLock<Result<Vec<Rule>, String>> = OnceLock::new();
    RULES.get_or_init(|| {
        let f = file::parse(Path::new("<built-in rules>"), TEXT, FileKind::ProjectRules)
            .map_err(|e| e.to_string())?;
        Ok(f.rules
            .into_iter()
            .map(|mut r| {
                r.origin.source = RuleSource::Builtin;
                r
            })
            .collect())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn builtin_rules_load_and_their_examples_hold() {
        assert_eq!(super::load_error(), None);
        assert!(super::rules().len() >= 15);
    }
}
