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
        // The examples are checked by this module's test; checking them on every start would
        // cost more than judging a command (`paddock explain -- git status`).
        let mut text = String::with_capacity(TEXT.len());
        for l in TEXT.lines().filter(|l| !l.starts_with("examples_")) {
            text.push_str(l);
            text.push('\n');
        }
        let f = file::parse(Path::new("<built-in rules>"), &text, FileKind::ProjectRules)
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
        // With the examples, as a user's file would be checked.
        let full = super::file::parse(
            super::Path::new("<built-in rules>"),
            super::TEXT,
            super::FileKind::ProjectRules,
        )
        .unwrap();
        assert_eq!(full.rules.len(), super::rules().len());
    }

    #[test]
    fn a_wrong_builtin_example_is_caught() {
        let broken = super::TEXT.replace(
            r#"examples_not_match = ["rm -rf build""#,
            r#"examples_not_match = ["rm -rf .""#,
        );
        assert_ne!(broken, super::TEXT);
        let r = super::file::parse(
            super::Path::new("<built-in rules>"),
            &broken,
            super::FileKind::ProjectRules,
        );
        assert!(r.is_err());
    }
}
