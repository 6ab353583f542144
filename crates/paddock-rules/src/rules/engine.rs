//! The rule set of one run: the user's rules file plus the project's (`paddock.toml` and
//! `.paddock/rules.toml`), with the project's trust decided by the user.
//!
//! An untrusted project may only make decisions stricter: its `allow` rules are kept for
//! explain but marked inactive, so they never loosen a decision. The run's session (its
//! "allow for this session" approvals) lives here too.
//!
//! Precedence, strictest first: `forbid` rules (any file) > the user's "always allow"
//! amendments, for exactly their word prefix > `prompt` rules > `allow` rules and the known-safe
//! classifier > the approval mode. An amendment sets aside only the `prompt` rules that its own
//! prefix triggers: what the person saw asking is what they answered; a prompt rule that fires
//! only because of further arguments (`... --force`) still asks.

use super::file::{self, FileKind, LoadedFile};
use super::{Match, Rule};
use crate::decision::Decision;
use crate::error::RulesError;
use crate::parse::SimpleCommand;
use crate::session::Session;
use paddock_core::paths;
use std::path::{Path, PathBuf};

/// Where the rules files are.
#[derive(Debug, Clone, Default)]
pub struct RulePaths {
    /// `<config_dir>/rules.toml`; `None` to skip it.
    pub user: Option<PathBuf>,
    /// The workspace whose `paddock.toml` and `.paddock/rules.toml` are read; `None` to skip.
    pub workspace: Option<PathBuf>,
    /// Trust the project even if the rules file does not list it (e.g. the policy config's
    /// `trusted_projects` already does).
    pub project_trusted: bool,
}

impl RulePaths {
    /// The default locations for `workspace`.
    pub fn for_workspace(workspace: &Path) -> RulePaths {
        RulePaths {
            user: user_rules_file(),
            workspace: Some(workspace.to_path_buf()),
            project_trusted: false,
        }
    }
}

/// `<config_dir>/rules.toml`.
pub fn user_rules_file() -> Option<PathBuf> {
    paddock_core::state::config_dir().map(|d| d.join("rules.toml"))
}

/// The loaded rules and the session's approvals.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    rules: Vec<Rule>,
    user_file: Option<PathBuf>,
    files: Vec<PathBuf>,
    project_trusted: bool,
    warnings: Vec<String>,
    session: Option<Session>,
}

/// Reads one rules file through `paddock_core::files` (regular files only, size-capped, no link
/// followed beneath the workspace for project files).
fn read(
    path: &Path,
    kind: FileKind,
    location: paddock_core::files::Location<'_>,
) -> Result<Option<LoadedFile>, RulesError> {
    match paddock_core::files::read_config_file(path, location)? {
        Some(text) => file::parse(path, &text, kind).map(Some),
        None => Ok(None),
    }
}

impl Engine {
    /// True when `other` loaded the same rules from the same files (the session's approvals
    /// are not compared).
    pub fn loaded_same(&self, other: &Engine) -> bool {
        self.rules == other.rules
            && self.user_file == other.user_file
            && self.files == other.files
            && self.project_trusted == other.project_trusted
            && self.warnings == other.warnings
    }

    /// An engine without rules: every command is judged by the classifier alone.
    pub fn empty() -> Engine {
        Engine::default()
    }

    /// Reads the user file and the project files.
    pub fn load(paths: &RulePaths) -> Result<Engine, RulesError> {
        let _span = tracing::debug_span!("rules_load").entered();
        let mut engine = Engine {
            user_file: paths.user.clone(),
            project_trusted: paths.project_trusted,
            ..Engine::default()
        };
        let home = paddock_core::state::home_dir();
        let mut trusted = Vec::new();
        if let Some(user) = &paths.user
            && let Some(f) = read(user, FileKind::User, paddock_core::files::Location::User)?
        {
            trusted = f
                .trusted_projects
                .iter()
                .map(|p| paths::expand_tilde(p, home.as_deref()))
                .collect();
            engine.files.push(user.clone());
            engine.rules.extend(f.rules);
        }
        if let Some(ws) = &paths.workspace {
            paddock_core::looked_at::entry(ws);
            let ws_real = std::fs::canonicalize(ws).unwrap_or_else(|_| ws.clone());
            if trusted.iter().any(|t| {
                paddock_core::looked_at::entry(t);
                std::fs::canonicalize(t).is_ok_and(|t| t == ws_real)
            }) {
                engine.project_trusted = true;
            }
            for (path, kind) in [
                (
                    ws.join(paddock_core::config::PROJECT_FILE),
                    FileKind::ProjectConfig,
                ),
                (
                    ws.join(".paddock").join("rules.toml"),
                    FileKind::ProjectRules,
                ),
            ] {
                let beneath = paddock_core::files::Location::Beneath(ws);
                if let Some(f) = read(&path, kind, beneath)? {
                    engine.files.push(path);
                    engine.add_project_rules(f.rules);
                }
            }
        }
        Ok(engine)
    }

    /// Adds rules parsed elsewhere (e.g. by `check_file`), applying the project trust rule.
    fn add_project_rules(&mut self, rules: Vec<Rule>) {
        for mut r in rules {
            if r.decision == Decision::Allow && !self.project_trusted {
                let why = format!(
                    "allow rule from an untrusted project is ignored; to honour it, add the \
                     workspace to trusted_projects in {}",
                    self.user_file
                        .as_ref()
                        .map_or("your user rules file".into(), |p| p.display().to_string())
                );
                self.warnings.push(format!("{}: {why}", r.origin));
                r.inactive = Some(why);
            }
            self.rules.push(r);
        }
    }

    /// Checks one rules file (syntax and every example) as `paddock rules check FILE` does.
    /// The file kind follows its name: `paddock.toml`, `rules.toml` under `.paddock`, or a user
    /// rules file otherwise.
    pub fn check_file(path: &Path) -> Result<Vec<Rule>, RulesError> {
        let kind = if path
            .file_name()
            .is_some_and(|n| n == paddock_core::config::PROJECT_FILE)
        {
            FileKind::ProjectConfig
        } else if path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == ".paddock")
        {
            FileKind::ProjectRules
        } else {
            FileKind::User
        };
        let text =
            paddock_core::files::read_config_file(path, paddock_core::files::Location::User)?
                .ok_or_else(|| RulesError::Read {
                    path: path.to_path_buf(),
                    source: std::io::ErrorKind::NotFound.into(),
                })?;
        Ok(file::parse(path, &text, kind)?.rules)
    }

    /// Builds an engine from texts (user file first), for tests and embedding.
    pub fn from_texts(
        user: Option<&str>,
        project: Option<&str>,
        project_trusted: bool,
    ) -> Result<Engine, RulesError> {
        let mut engine = Engine {
            project_trusted,
            ..Engine::default()
        };
        if let Some(text) = user {
            let f = file::parse(Path::new("user rules.toml"), text, FileKind::User)?;
            engine.rules.extend(f.rules);
        }
        if let Some(text) = project {
            let f = file::parse(Path::new("paddock.toml"), text, FileKind::ProjectConfig)?;
            engine.add_project_rules(f.rules);
        }
        Ok(engine)
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Problems that did not stop loading (ignored project allow rules).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The files that were read, in order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    pub fn project_trusted(&self) -> bool {
        self.project_trusted
    }

    pub fn user_file(&self) -> Option<&Path> {
        self.user_file.as_deref()
    }

    /// Sets the user rules file "always allow" appends to.
    pub fn set_user_file(&mut self, path: PathBuf) {
        self.user_file = Some(path);
    }

    /// Active rules matching `cmd`, each with how it matches, without the `prompt` rules an
    /// amendment sets aside (see the module's precedence).
    pub fn matching(&self, cmd: &SimpleCommand) -> Vec<(&Rule, Match)> {
        let all = self.all_matching(cmd);
        let amendments = amendments_of(&all, cmd);
        all.into_iter()
            .filter(|(r, _)| set_aside_by(r, &amendments).is_none())
            .collect()
    }

    fn all_matching(&self, cmd: &SimpleCommand) -> Vec<(&Rule, Match)> {
        self.rules
            .iter()
            .filter(|r| r.inactive.is_none())
            .map(|r| (r, r.matches(cmd)))
            .filter(|(_, m)| *m != Match::No)
            .collect()
    }

    /// Inactive rules that would match `cmd` (for explain).
    pub fn ignored_matching(&self, cmd: &SimpleCommand) -> Vec<&Rule> {
        self.rules
            .iter()
            .filter(|r| r.inactive.is_some() && r.matches(cmd) == Match::Yes)
            .collect()
    }

    /// Matching rules that are not applied to `cmd`, each with why (for explain): allow rules
    /// of an untrusted project, and `prompt` rules set aside by an amendment.
    pub fn not_applied(&self, cmd: &SimpleCommand) -> Vec<String> {
        let mut out: Vec<String> = self
            .ignored_matching(cmd)
            .iter()
            .map(|r| {
                format!(
                    "{} (ignored: {})",
                    r.describe(),
                    r.inactive.as_deref().unwrap_or("")
                )
            })
            .collect();
        let all = self.all_matching(cmd);
        let amendments = amendments_of(&all, cmd);
        for (r, _) in &all {
            if let Some(a) = set_aside_by(r, &amendments) {
                out.push(format!(
                    "{} (set aside: your always-allow amendment {} covers `{}`)",
                    r.describe(),
                    a.origin,
                    a.pattern()
                ));
            }
        }
        out
    }

    /// The amendment matching `cmd` that sets `rule` aside for it, if one does: `rule` is a
    /// `prompt` rule that the amendment's own prefix triggers. For rules that do not come from
    /// the files (a built-in list): apply it the same way, so that an amendment never answers
    /// for a risk its prompt did not show.
    pub fn amendment_covering(&self, rule: &Rule, cmd: &SimpleCommand) -> Option<&Rule> {
        let all = self.all_matching(cmd);
        set_aside_by(rule, &amendments_of(&all, cmd))
    }

    /// The session "allow for this session" answers are remembered in (none: not offered).
    pub fn set_session(&mut self, session: Session) {
        self.session = Some(session);
    }

    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    pub fn session_mut(&mut self) -> Option<&mut Session> {
        self.session.as_mut()
    }

    /// Appends an allow rule for exactly `prefix` to the user's rules file and applies it now.
    pub fn allow_prefix_forever(
        &mut self,
        prefix: &[String],
        note: &str,
    ) -> Result<(), RulesError> {
        let path = self.user_file.clone().ok_or(RulesError::NoConfigDir)?;
        let text = file::allow_prefix_rule_text(prefix, note);
        let existing =
            paddock_core::files::read_config_file(&path, paddock_core::files::Location::User)?
                .unwrap_or_default();
        let combined = format!("{existing}{text}");
        // Refuse to write a file that would no longer load.
        let loaded = file::parse(&path, &combined, FileKind::User)?;
        let write_err = |source| RulesError::Write {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(write_err)?;
        f.write_all(text.as_bytes()).map_err(write_err)?;
        if let Some(rule) = loaded.rules.into_iter().last() {
            self.rules.push(rule);
        }
        Ok(())
    }
}

/// The amendments among `matching` that match `cmd` outright, each with its prefix as a command.
fn amendments_of<'r>(
    matching: &[(&'r Rule, Match)],
    cmd: &SimpleCommand,
) -> Vec<(&'r Rule, SimpleCommand)> {
    matching
        .iter()
        .filter(|(_, m)| *m == Match::Yes)
        .filter_map(|(r, _)| Some((*r, r.amendment_prefix(cmd.shell)?)))
        .collect()
}

/// The amendment that sets `rule` aside: `rule` is a `prompt` rule that the amendment's own
/// prefix triggers (so the person answering "always allow" saw it ask).
fn set_aside_by<'r>(rule: &Rule, amendments: &[(&'r Rule, SimpleCommand)]) -> Option<&'r Rule> {
    if rule.decision != Decision::Prompt {
        return None;
    }
    amendments
        .iter()
        .find(|(_, prefix)| rule.matches(prefix) == Match::Yes)
        .map(|(a, _)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_amendment_covers_only_prompt_rules_its_own_prefix_triggers() {
        let user = "[[rule]]\nprogram = \"git\"\nargs = [[\"push\"], [\"origin\"]]\ndecision = \"allow\"\namendment = true\n";
        let e = Engine::from_texts(Some(user), None, false).unwrap();
        let other = "[[rule]]\nprogram = \"git\"\nargs = [\"push\"]\ndecision = \"prompt\"\n\n[[rule]]\nprogram = \"git\"\nargs = [\"push\", \"origin\", \"--force\"]\ndecision = \"prompt\"\n";
        let builtin = Engine::from_texts(Some(other), None, false).unwrap();
        let [push, force] = builtin.rules() else {
            panic!("two rules")
        };
        let cmd = |line: &str| {
            SimpleCommand::new(
                crate::shlex::split(line)
                    .unwrap()
                    .into_iter()
                    .map(crate::parse::Word::lit)
                    .collect(),
                crate::parse::Shell::Direct,
            )
        };
        assert!(
            e.amendment_covering(push, &cmd("git push origin"))
                .is_some()
        );
        assert!(
            e.amendment_covering(push, &cmd("git push origin main"))
                .is_some()
        );
        assert!(
            e.amendment_covering(force, &cmd("git push origin --force"))
                .is_none()
        );
        assert!(
            e.amendment_covering(push, &cmd("git push upstream"))
                .is_none()
        );
    }

    #[test]
    fn untrusted_project_allow_rules_are_inactive_and_warned() {
        let project = "[[rule]]\nprogram = \"curl\"\ndecision = \"allow\"\n\n[[rule]]\nprogram = \"git\"\nargs = [\"push\"]\ndecision = \"forbid\"\n";
        let e = Engine::from_texts(None, Some(project), false).unwrap();
        assert!(e.rules()[0].inactive.is_some());
        assert!(e.rules()[1].inactive.is_none());
        assert_eq!(e.warnings().len(), 1);
        let e = Engine::from_texts(None, Some(project), true).unwrap();
        assert!(e.rules().iter().all(|r| r.inactive.is_none()));
    }

    #[test]
    fn load_reads_user_and_project_files_and_trust() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(ws.join(".paddock")).unwrap();
        std::fs::write(
            ws.join("paddock.toml"),
            "mode = \"workspace-write\"\n[[rule]]\nprogram = \"make\"\ndecision = \"allow\"\n",
        )
        .unwrap();
        std::fs::write(
            ws.join(".paddock/rules.toml"),
            "[[rule]]\nprogram = \"curl\"\ndecision = \"prompt\"\n",
        )
        .unwrap();
        let user = dir.path().join("rules.toml");
        std::fs::write(&user, "[[rule]]\nprogram = \"git\"\ndecision = \"allow\"\n").unwrap();
        let paths = RulePaths {
            user: Some(user.clone()),
            workspace: Some(ws.clone()),
            project_trusted: false,
        };
        let e = Engine::load(&paths).unwrap();
        assert_eq!(e.files().len(), 3);
        assert!(!e.project_trusted());
        assert!(e.rules()[1].inactive.is_some(), "make allow is ignored");
        std::fs::write(
            &user,
            format!("trusted_projects = [{:?}]\n", ws.display().to_string()),
        )
        .unwrap();
        let e = Engine::load(&paths).unwrap();
        assert!(e.project_trusted());
        assert!(e.rules().iter().all(|r| r.inactive.is_none()));
    }

    #[test]
    fn a_missing_user_file_is_fine_but_a_broken_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = RulePaths {
            user: Some(dir.path().join("absent.toml")),
            workspace: None,
            project_trusted: false,
        };
        assert!(Engine::load(&paths).unwrap().rules().is_empty());
        std::fs::write(dir.path().join("absent.toml"), "[[rule]]\n").unwrap();
        let err = Engine::load(&paths).unwrap_err().to_string();
        assert!(err.contains("absent.toml:1:"), "{err}");
    }

    #[test]
    fn check_file_picks_the_file_kind_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("paddock.toml");
        std::fs::write(&cfg, "mode = \"read-only\"\n").unwrap();
        assert!(Engine::check_file(&cfg).unwrap().is_empty());
        let user = dir.path().join("mine.toml");
        std::fs::write(&user, "mode = \"read-only\"\n").unwrap();
        assert!(Engine::check_file(&user).is_err());
    }

    #[test]
    fn allow_prefix_forever_appends_a_visible_rule_that_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("cfg").join("rules.toml");
        let mut e = Engine::empty();
        e.set_user_file(user.clone());
        let prefix: Vec<String> = vec!["cargo".into(), "test".into()];
        e.allow_prefix_forever(&prefix, "approved by the user")
            .unwrap();
        e.allow_prefix_forever(&["npm".to_string(), "ci".to_string()], "again")
            .unwrap();
        let text = std::fs::read_to_string(&user).unwrap();
        assert!(
            text.contains("program = \"cargo\"") && text.contains("[\"test\"]"),
            "{text}"
        );
        let reloaded = Engine::load(&RulePaths {
            user: Some(user),
            workspace: None,
            project_trusted: false,
        })
        .unwrap();
        assert_eq!(reloaded.rules().len(), 2);
        assert_eq!(e.rules().len(), 2);
    }
}
