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

/// Every program a built-in rule names (normalised, sorted): a rule matches only a command
/// whose program is one of its own, so a command naming none of these cannot match the list,
/// and judging it need not load the list (parsing it was a quarter of the instructions of
/// `paddock run -- true`). Kept equal to the file by `program_index_is_the_files_programs`.
pub const PROGRAMS: &[&str] = &[
    "bun",
    "cargo",
    "curl",
    "del",
    "docker",
    "dotnet",
    "erase",
    "flit",
    "ftp",
    "gem",
    "gh",
    "git",
    "hatch",
    "helm",
    "invoke-restmethod",
    "invoke-webrequest",
    "nc",
    "ncat",
    "netcat",
    "npm",
    "nuget",
    "pnpm",
    "podman",
    "poetry",
    "rcp",
    "rd",
    "remove-item",
    "rm",
    "rmdir",
    "rsync",
    "scp",
    "send-mailmessage",
    "sftp",
    "socat",
    "ssh",
    "telnet",
    "twine",
    "uv",
    "wget",
    "yarn",
];

/// Whether a built-in rule could match a command with these program `names`
/// (`SimpleCommand::names`). False means none can, without loading the list.
pub fn may_name(names: &[String]) -> bool {
    names
        .iter()
        .any(|n| PROGRAMS.binary_search(&n.as_str()).is_ok())
}

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
    fn program_index_is_the_files_programs() {
        let mut from_file: Vec<String> = super::rules()
            .iter()
            .flat_map(|r| r.programs.iter().cloned())
            .collect();
        from_file.sort();
        from_file.dedup();
        assert_eq!(
            super::PROGRAMS,
            from_file.iter().map(String::as_str).collect::<Vec<_>>(),
            "update builtin::PROGRAMS (sorted) to the programs of builtin.toml"
        );
    }

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
