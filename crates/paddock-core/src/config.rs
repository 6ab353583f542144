//! The config file and its layers: built-in defaults, the user file, the project file
//! (`paddock.toml` at the workspace root), then CLI flags, lowest to highest precedence.
//!
//! Scalars are overridden by later layers; lists (writable roots, protected paths, deny-read paths,
//! env allow/deny) accumulate. Every value remembers the layer that set it, for
//! `paddock policy show`. A project file is written by whoever wrote the repository, so unless the
//! user lists the project in `trusted_projects` it may only tighten the policy: a loosening value
//! there is refused with the line that holds it. A broken file is refused with file, line and the
//! problem; nothing is guessed.

use crate::error::ConfigError;
use crate::files;
use crate::paths;
use crate::policy::{
    ApprovalMode, Capability, EnvInherit, EnvPolicy, LimitKind, Limits, Mode, Network, Policy,
    WindowsLevel, parse_limit,
};
use crate::recipes::{self, RecipeName};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The project file's name at the workspace root.
pub const PROJECT_FILE: &str = "paddock.toml";

/// Agents' and editors' project configuration, protected inside every writable root by
/// default: each is read later, outside the sandbox, by a program that runs what it names
/// without asking the user again (Claude Code's hooks and `.mcp.json` servers, Codex's project
/// config, Cursor's and Gemini CLI's MCP servers and hooks, VS Code's tasks that run when the
/// folder opens and settings naming programs, JetBrains' run configurations). A sandboxed
/// command that could write them would run code outside the sandbox at the agent's or editor's
/// next step. Existing ones are read-only in the sandbox; one created by the run is removed
/// after it. Switch off with `default_protected_paths = false` (user file or trusted project).
pub const DEFAULT_PROTECTED_PATHS: &[&str] = &[
    ".claude",
    ".codex",
    ".cursor",
    ".gemini",
    ".mcp.json",
    ".vscode",
    ".idea",
];

/// True for an entry of [`DEFAULT_PROTECTED_PATHS`].
pub fn is_default_protected_path(p: &Path) -> bool {
    DEFAULT_PROTECTED_PATHS.iter().any(|d| p == Path::new(d))
}

/// Secrets denied for reading by default (`~` is the caller's home). Switch off with
/// `default_deny_read = false`.
pub const DEFAULT_DENY_READ_UNIX: &[&str] = &[
    "~/.ssh",
    "~/.aws",
    "~/.azure",
    "~/.gnupg",
    "~/.kube",
    "~/.docker/config.json",
    "~/.config/gh",
    "~/.config/gcloud",
    "~/.netrc",
    "~/.git-credentials",
    "~/.npmrc",
    "~/.pypirc",
    "~/.cargo/credentials.toml",
    "~/.local/share/keyrings",
    "~/.password-store",
];

/// Windows secrets denied by default, relative to the user profile.
pub const DEFAULT_DENY_READ_WINDOWS: &[&str] = &[
    "~/.ssh",
    "~/.aws",
    "~/.azure",
    "~/.kube",
    "~/.docker/config.json",
    "~/.git-credentials",
    "~/.npmrc",
    "~/.cargo/credentials.toml",
    "~/AppData/Roaming/GitHub CLI",
    "~/AppData/Roaming/Microsoft/Credentials",
    "~/AppData/Roaming/Microsoft/Protect",
    "~/AppData/Local/Microsoft/Credentials",
    "~/AppData/Local/Microsoft/Vault",
];

/// Environment variable names dropped by default (case-insensitive globs).
pub const DEFAULT_ENV_DENY: &[&str] = &[
    "*KEY*",
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
    "*_PAT",
    "SSH_AUTH_SOCK",
    "GPG_AGENT_INFO",
];

/// Where a value of the effective policy came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "layer", content = "path", rename_all = "kebab-case")]
pub enum Source {
    Default,
    User(PathBuf),
    Project(PathBuf),
    Cli,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::User(p) => write!(f, "user config {}", p.display()),
            Source::Project(p) => write!(f, "project config {}", p.display()),
            Source::Cli => write!(f, "command line"),
        }
    }
}

/// One config file as written. Every field is optional: a layer sets only what it names.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub mode: Option<Mode>,
    pub writable_roots: Option<Vec<PathBuf>>,
    pub protected_paths: Option<Vec<PathBuf>>,
    pub protect_whole_git: Option<bool>,
    /// `false` drops [`DEFAULT_PROTECTED_PATHS`] (agents' and editors' project config).
    pub default_protected_paths: Option<bool>,
    pub deny_read: Option<Vec<PathBuf>>,
    pub default_deny_read: Option<bool>,
    pub network: Option<NetworkSetting>,
    /// Seconds (`600`, `2.5`) or a duration string (`"10m"`); 0 means no limit.
    #[serde(default, deserialize_with = "timeout_setting")]
    pub timeout: Option<Duration>,
    pub allow_unenforced: Option<Vec<Capability>>,
    pub approval: Option<ApprovalMode>,
    pub output_cap: Option<u64>,
    pub env: Option<EnvSection>,
    pub windows: Option<WindowsSection>,
    pub limits: Option<LimitsSection>,
    /// Toolchain recipes (`rust`, `node`, `python`, `go`, `dotnet`, `java`, or `auto` to detect
    /// them from the workspace root): their caches become writable, their registries reachable
    /// through an allow-list (see `recipes`).
    pub recipes: Option<Vec<RecipeName>>,
    /// Projects whose `paddock.toml` may loosen the policy (user file only).
    pub trusted_projects: Option<Vec<PathBuf>>,
    /// Command rules; read by paddock-rules, accepted here so one file can hold both.
    #[serde(rename = "rule")]
    pub rules: Option<Vec<toml::Value>>,
}

/// `timeout = 600`, `2.5` or `"10m"`, through the one duration parser (refuses -1, NaN, inf).
fn timeout_setting<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    crate::duration::deserialize_named(d, "timeout").map(Some)
}

/// `network = "off" | "on"` or `network = { allow = ["example.com"] }`.
#[derive(Debug, Clone)]
pub enum NetworkSetting {
    Simple(NetworkWord),
    Allowlist { allow: Vec<String> },
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkWord {
    Off,
    On,
}

/// What `network` accepts, for its error message.
const NETWORK_EXPECTED: &str =
    "expected \"on\", \"off\" or { allow = [\"example.com\"] } (allowlists are not enforced yet)";

impl<'de> Deserialize<'de> for NetworkSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NetworkSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(NETWORK_EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NetworkSetting, E> {
                match v {
                    "on" => Ok(NetworkSetting::Simple(NetworkWord::On)),
                    "off" => Ok(NetworkSetting::Simple(NetworkWord::Off)),
                    other => Err(E::custom(format!(
                        "unknown network setting `{other}`: {NETWORK_EXPECTED}"
                    ))),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<NetworkSetting, A::Error> {
                let mut allow = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "allow" || allow.is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "unexpected key `{key}` in network: {NETWORK_EXPECTED}"
                        )));
                    }
                    allow = Some(map.next_value::<Vec<String>>()?);
                }
                allow
                    .map(|allow| NetworkSetting::Allowlist { allow })
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!("missing `allow`: {NETWORK_EXPECTED}"))
                    })
            }
        }
        d.deserialize_any(V)
    }
}

impl NetworkSetting {
    fn to_network(&self) -> Network {
        match self {
            NetworkSetting::Simple(NetworkWord::Off) => Network::Off,
            NetworkSetting::Simple(NetworkWord::On) => Network::On,
            NetworkSetting::Allowlist { allow } => Network::Allowlist(allow.clone()),
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSection {
    pub inherit: Option<EnvInherit>,
    pub allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
    pub set: Option<BTreeMap<String, String>>,
}

/// `[limits]`: each value a number or a string with a unit (`"2GiB"`), `"none"` or 0 for no
/// limit (see `policy::parse_limit`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub processes: Option<LimitValue>,
    pub memory: Option<LimitValue>,
    pub tmpfs: Option<LimitValue>,
    pub file_size: Option<LimitValue>,
}

/// One limit as a layer sets it: the kind and its value (`None`: no limit).
pub type LimitSetting = (LimitKind, Option<u64>);

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum LimitValue {
    Number(u64),
    Text(String),
}

impl LimitsSection {
    /// The limits this section sets, parsed; the error names the limit and the problem.
    pub fn values(&self) -> Result<Vec<LimitSetting>, (LimitKind, String)> {
        let fields = [
            (LimitKind::Processes, &self.processes),
            (LimitKind::Memory, &self.memory),
            (LimitKind::Tmpfs, &self.tmpfs),
            (LimitKind::FileSize, &self.file_size),
        ];
        let mut out = Vec::new();
        for (kind, value) in fields {
            let parsed = match value {
                None => continue,
                Some(LimitValue::Number(n)) => (*n > 0).then_some(*n),
                Some(LimitValue::Text(t)) => parse_limit(kind, t).map_err(|e| (kind, e))?,
            };
            out.push((kind, parsed));
        }
        Ok(out)
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowsSection {
    pub level: Option<WindowsLevel>,
}

/// CLI flags that override the files (the highest layer).
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    pub mode: Option<Mode>,
    pub writable_roots: Vec<PathBuf>,
    pub deny_read: Vec<PathBuf>,
    pub network: Option<Network>,
    pub timeout: Option<Duration>,
    /// `--limit KIND=VALUE`, in order.
    pub limits: Vec<LimitSetting>,
    /// `--recipe NAME`, in order.
    pub recipes: Vec<RecipeName>,
}

/// The effective policy with the source of every value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectivePolicy {
    pub policy: Policy,
    /// Setting name -> where its (last) value came from; list settings name every contributor.
    pub sources: BTreeMap<String, Vec<Source>>,
    /// The files that were read, in order.
    pub files: Vec<PathBuf>,
    /// Whether the project file was allowed to loosen the policy.
    pub project_trusted: bool,
    /// The workspace whose project file was looked up, with every link resolved.
    pub workspace: PathBuf,
}

/// Where to look for the files.
#[derive(Debug, Clone)]
pub struct ConfigPaths {
    /// The user file; `None` to skip it.
    pub user: Option<PathBuf>,
    /// The workspace root, where `paddock.toml` is looked up.
    pub workspace: PathBuf,
    /// `--config FILE`: read in place of the user file.
    pub explicit: Option<PathBuf>,
}

impl ConfigPaths {
    /// The default locations for `workspace`.
    pub fn for_workspace(workspace: &Path) -> ConfigPaths {
        ConfigPaths {
            user: crate::state::config_dir().map(|d| d.join("config.toml")),
            workspace: workspace.to_path_buf(),
            explicit: None,
        }
    }
}

/// The built-in defaults.
pub fn default_policy() -> Policy {
    let deny = if cfg!(windows) {
        DEFAULT_DENY_READ_WINDOWS
    } else {
        DEFAULT_DENY_READ_UNIX
    };
    Policy {
        mode: Mode::WorkspaceWrite,
        writable_roots: Vec::new(),
        protected_paths: DEFAULT_PROTECTED_PATHS.iter().map(PathBuf::from).collect(),
        protect_whole_git: false,
        deny_read: deny.iter().map(PathBuf::from).collect(),
        network: Network::Off,
        timeout: Some(Duration::from_secs(600)),
        env: EnvPolicy {
            inherit: EnvInherit::All,
            deny: DEFAULT_ENV_DENY.iter().map(|s| s.to_string()).collect(),
            allow: Vec::new(),
            set: BTreeMap::new(),
        },
        windows_level: WindowsLevel::Unelevated,
        allow_unenforced: BTreeSet::new(),
        approval: ApprovalMode::OnRisk,
        limits: Limits::default(),
        output_cap: 1 << 20,
        project_trusted: false,
        recipes: Vec::new(),
    }
}

/// Parses one file's text. `path` is used in error messages only.
pub fn parse_file(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    let file = toml::from_str::<ConfigFile>(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })?;
    if let Some(Err((kind, message))) = file.limits.as_ref().map(LimitsSection::values) {
        return Err(value_error(
            path,
            text,
            &["limits", kind.as_str()],
            &message,
        ));
    }
    Ok(file)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The 1-based line of the value at `key_path` (`["env", "set", "PATH"]`), from the TOML
/// parser's spans (`toml::Spanned`), so that dotted keys (`limits.memory = ...`), inline tables
/// and a key name used in two tables resolve to the right line; the deepest key found when the
/// path ends early, line 1 when not even the first key is set. Called on error paths only.
fn line_of(text: &str, key_path: &[&str]) -> usize {
    let Ok(root) = toml::de::DeTable::parse(text) else {
        return 1;
    };
    let mut table = root.get_ref();
    let mut found = None;
    for key in key_path {
        let Some(value) = table.get(*key) else { break };
        found = Some(value.span().start);
        match value.get_ref() {
            toml::de::DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    found.map_or(1, |offset| line_col(text, offset).0)
}

fn read_layer(
    path: &Path,
    location: files::Location<'_>,
) -> Result<Option<(ConfigFile, String)>, ConfigError> {
    match files::read_config_file(path, location)? {
        Some(text) => {
            let file = parse_file(path, &text)?;
            Ok(Some((file, text)))
        }
        None => Ok(None),
    }
}

/// Loads and layers the files, then applies `cli`.
pub fn load(paths: &ConfigPaths, cli: &CliOverrides) -> Result<EffectivePolicy, ConfigError> {
    let _span = tracing::debug_span!("config_load").entered();
    let mut eff = EffectivePolicy {
        policy: default_policy(),
        sources: BTreeMap::new(),
        files: Vec::new(),
        project_trusted: false,
        workspace: paths.workspace.clone(),
    };
    for key in SETTINGS {
        eff.sources.insert(key.to_string(), vec![Source::Default]);
    }
    let home = crate::state::home_dir();
    let mut trusted: Vec<PathBuf> = Vec::new();
    let mut requests: Vec<(RecipeName, String)> = Vec::new();
    let user_path = paths.explicit.clone().or_else(|| paths.user.clone());
    if let Some(user_path) = &user_path {
        let layer = read_layer(user_path, files::Location::User)?;
        if layer.is_none() && paths.explicit.is_some() {
            return Err(ConfigError::Read {
                path: user_path.clone(),
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        if let Some((file, _)) = layer {
            trusted = file
                .trusted_projects
                .iter()
                .flatten()
                .map(|p| paths::expand_tilde(p, home.as_deref()))
                .collect();
            eff.files.push(user_path.clone());
            let src = Source::User(user_path.clone());
            requests.extend(file.recipes.iter().flatten().map(|r| (*r, src.to_string())));
            apply_layer(&mut eff, &file, src);
        }
    }
    crate::looked_at::entry(&paths.workspace);
    let ws = std::fs::canonicalize(&paths.workspace).unwrap_or(paths.workspace.clone());
    eff.workspace = std::env::current_dir()
        .and_then(|here| paths::resolve(&here, &paths.workspace))
        .unwrap_or_else(|_| paths.workspace.clone());
    // Read beneath the workspace as given: its own links are followed, none below it.
    let project_path = paths.workspace.join(PROJECT_FILE);
    let location = files::Location::Beneath(&paths.workspace);
    if let Some((file, text)) = read_layer(&project_path, location)? {
        eff.project_trusted = trusted.iter().any(|t| {
            crate::looked_at::entry(t);
            std::fs::canonicalize(t).is_ok_and(|t| t == ws)
        });
        if file.trusted_projects.is_some() {
            return Err(value_error(
                &project_path,
                &text,
                &["trusted_projects"],
                "a project cannot trust itself; move trusted_projects to your user config",
            ));
        }
        if !eff.project_trusted {
            check_only_tightens(&eff.policy, &file, &project_path, &text, &ws)?;
        }
        eff.files.push(project_path.clone());
        let src = Source::Project(project_path);
        requests.extend(file.recipes.iter().flatten().map(|r| (*r, src.to_string())));
        apply_layer(&mut eff, &file, src);
        eff.policy.project_trusted = eff.project_trusted;
    }
    apply_cli(&mut eff, cli);
    requests.extend(cli.recipes.iter().map(|r| (*r, Source::Cli.to_string())));
    // Last, so that hosts join whichever allow-list the layers ended with.
    let lookup = |name: &str| -> Option<std::ffi::OsString> {
        match eff.policy.env.set.get(name) {
            Some(v) => Some(v.into()),
            None => std::env::var_os(name),
        }
    };
    let mut policy = eff.policy.clone();
    recipes::apply(&mut policy, &requests, &ws, home.as_deref(), &lookup);
    eff.policy = policy;
    Ok(eff)
}

/// Every setting name, as written in the file (for provenance).
pub const SETTINGS: &[&str] = &[
    "mode",
    "writable_roots",
    "protected_paths",
    "protect_whole_git",
    "deny_read",
    "network",
    "timeout",
    "allow_unenforced",
    "approval",
    "output_cap",
    "env.inherit",
    "env.allow",
    "env.deny",
    "env.set",
    "windows.level",
    "limits.processes",
    "limits.memory",
    "limits.tmpfs",
    "limits.file_size",
    "recipes",
];

/// The provenance key of a limit.
fn limit_key(kind: LimitKind) -> &'static str {
    match kind {
        LimitKind::Processes => "limits.processes",
        LimitKind::Memory => "limits.memory",
        LimitKind::Tmpfs => "limits.tmpfs",
        LimitKind::FileSize => "limits.file_size",
    }
}

fn set_source(eff: &mut EffectivePolicy, key: &str, src: &Source, accumulate: bool) {
    let entry = eff.sources.entry(key.to_string()).or_default();
    if !accumulate || entry == &[Source::Default] {
        entry.clear();
    }
    entry.push(src.clone());
}

fn apply_layer(eff: &mut EffectivePolicy, f: &ConfigFile, src: Source) {
    let p = &mut eff.policy;
    let mut touched: Vec<(&str, bool)> = Vec::new();
    if let Some(m) = f.mode {
        p.mode = m;
        touched.push(("mode", false));
    }
    if let Some(v) = &f.writable_roots {
        p.writable_roots.extend(v.iter().cloned());
        touched.push(("writable_roots", true));
    }
    match f.default_protected_paths {
        Some(false) => {
            p.protected_paths.retain(|d| !is_default_protected_path(d));
            touched.push(("protected_paths", false));
        }
        // Back on over an earlier layer's `false` (a project tightening the user's choice).
        Some(true) => {
            for d in DEFAULT_PROTECTED_PATHS.iter().map(PathBuf::from) {
                if !p.protected_paths.contains(&d) {
                    p.protected_paths.push(d);
                }
            }
            touched.push(("protected_paths", true));
        }
        None => {}
    }
    if let Some(v) = &f.protected_paths {
        p.protected_paths.extend(v.iter().cloned());
        touched.push(("protected_paths", true));
    }
    if let Some(v) = f.protect_whole_git {
        p.protect_whole_git = v;
        touched.push(("protect_whole_git", false));
    }
    if f.default_deny_read == Some(false) {
        let defaults = default_policy().deny_read;
        p.deny_read.retain(|d| !defaults.contains(d));
        touched.push(("deny_read", false));
    }
    if let Some(v) = &f.deny_read {
        p.deny_read.extend(v.iter().cloned());
        touched.push(("deny_read", true));
    }
    if let Some(n) = &f.network {
        p.network = n.to_network();
        touched.push(("network", false));
    }
    if let Some(t) = f.timeout {
        p.timeout = (!t.is_zero()).then_some(t);
        touched.push(("timeout", false));
    }
    if let Some(v) = &f.allow_unenforced {
        p.allow_unenforced.extend(v.iter().copied());
        touched.push(("allow_unenforced", true));
    }
    if let Some(a) = f.approval {
        p.approval = a;
        touched.push(("approval", false));
    }
    if let Some(c) = f.output_cap {
        p.output_cap = c;
        touched.push(("output_cap", false));
    }
    if let Some(env) = &f.env {
        if let Some(i) = env.inherit {
            p.env.inherit = i;
            touched.push(("env.inherit", false));
        }
        if let Some(v) = &env.allow {
            p.env.allow.extend(v.iter().cloned());
            touched.push(("env.allow", true));
        }
        if let Some(v) = &env.deny {
            p.env.deny.extend(v.iter().cloned());
            touched.push(("env.deny", true));
        }
        if let Some(v) = &env.set {
            p.env
                .set
                .extend(v.iter().map(|(k, v)| (k.clone(), v.clone())));
            touched.push(("env.set", true));
        }
    }
    if f.recipes.as_ref().is_some_and(|r| !r.is_empty()) {
        touched.push(("recipes", true));
    }
    if let Some(level) = f.windows.as_ref().and_then(|w| w.level) {
        p.windows_level = level;
        touched.push(("windows.level", false));
    }
    // parse_file has checked every value.
    for (kind, value) in f
        .limits
        .as_ref()
        .and_then(|l| l.values().ok())
        .unwrap_or_default()
    {
        p.limits.set(kind, value);
        p.limits.explicit.insert(kind);
        touched.push((limit_key(kind), false));
    }
    for (key, acc) in touched {
        set_source(eff, key, &src, acc);
    }
}

fn apply_cli(eff: &mut EffectivePolicy, cli: &CliOverrides) {
    let p = &mut eff.policy;
    let mut touched: Vec<(&str, bool)> = Vec::new();
    if let Some(m) = cli.mode {
        p.mode = m;
        touched.push(("mode", false));
    }
    if !cli.writable_roots.is_empty() {
        p.writable_roots.extend(cli.writable_roots.iter().cloned());
        touched.push(("writable_roots", true));
    }
    if !cli.deny_read.is_empty() {
        p.deny_read.extend(cli.deny_read.iter().cloned());
        touched.push(("deny_read", true));
    }
    if let Some(n) = &cli.network {
        p.network = n.clone();
        touched.push(("network", false));
    }
    if let Some(t) = cli.timeout {
        p.timeout = (!t.is_zero()).then_some(t);
        touched.push(("timeout", false));
    }
    if !cli.recipes.is_empty() {
        touched.push(("recipes", true));
    }
    for &(kind, value) in &cli.limits {
        p.limits.set(kind, value);
        p.limits.explicit.insert(kind);
        touched.push((limit_key(kind), false));
    }
    for (key, acc) in touched {
        set_source(eff, key, &Source::Cli, acc);
    }
}

fn value_error(path: &Path, text: &str, key_path: &[&str], message: &str) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, key_path),
        column: 1,
        message: message.to_string(),
    }
}

/// Whether approval mode `to` lets something happen that `from` would not. Each mode is what it
/// lets happen: an unknown command runs without asking (all but `always`), a person can be asked
/// (all but `never`), a failed command can be rerun outside the sandbox (`on-failure` only). `to`
/// loosens `from` when it allows anything `from` does not: `on-risk` may become `always` or
/// `never`, `on-failure` anything; `always` and `never` stay, as neither contains the other.
fn approval_loosens(from: ApprovalMode, to: ApprovalMode) -> bool {
    let allows = |m: ApprovalMode| {
        [
            m != ApprovalMode::Always,
            m != ApprovalMode::Never,
            m == ApprovalMode::OnFailure,
        ]
    };
    allows(to).iter().zip(allows(from)).any(|(&t, f)| t && !f)
}

fn mode_rank(m: Mode) -> u8 {
    match m {
        Mode::ReadOnly => 0,
        Mode::WorkspaceWrite => 1,
        Mode::FullAccess => 2,
    }
}

/// Refuses a project file that would loosen `current` (the policy before the project layer).
/// Every field of `ConfigFile` and what "tighter" means for it:
///
/// | field               | tighter (allowed)                   | refused                          |
/// |---------------------|-------------------------------------|----------------------------------|
/// | `mode`              | read-only < workspace-write < full  | anything above the current mode  |
/// | `writable_roots`    | roots inside the workspace          | any root outside it              |
/// | `protected_paths`   | adding (read-only holes)            | nothing to refuse                |
/// | `protect_whole_git` | `true`                              | `false` over `true`              |
/// | `default_protected_paths` | `true`                        | `false` (agents' config writable)|
/// | `deny_read`         | adding                              | nothing to refuse                |
/// | `default_deny_read` | `true`                              | `false`                          |
/// | `network`           | off < allowlist (subset) < on       | more than the current access     |
/// | `timeout`           | a positive limit <= the current one | `0` (none) or longer than now    |
/// | `allow_unenforced`  | empty                               | any capability                   |
/// | `approval`          | see `approval_loosens`              | fewer questions or refusals      |
/// | `output_cap`        | <= the current cap                  | a larger cap (memory)            |
/// | `env.inherit`       | none < core < all                   | inheriting more                  |
/// | `env.allow`         | empty                               | any name (lets secrets through)  |
/// | `env.deny`          | adding                              | nothing to refuse                |
/// | `env.set`           | empty                               | any variable (see below)         |
/// | `windows.level`     | elevated                            | unelevated over elevated         |
/// | `recipes`           | empty                               | any recipe, `auto` too (roots)   |
/// | `trusted_projects`  | (refused even from a trusted file)  | always                           |
/// | `rule`              | judged by paddock-rules (its allow rules are inactive when untrusted) |
///
/// `env.set` is refused whole: almost any variable changes what runs (`PATH`, `LD_PRELOAD`,
/// `GIT_CONFIG_*`, `BASH_ENV`, `NODE_OPTIONS`, `PYTHONPATH`, `RUSTC_WRAPPER`, `EDITOR`, ...), and
/// no list of harmless names would stay right as tools add variables.
fn check_only_tightens(
    current: &Policy,
    f: &ConfigFile,
    path: &Path,
    text: &str,
    workspace: &Path,
) -> Result<(), ConfigError> {
    const FIX: &str = "an untrusted project may only tighten the policy; to allow it, add this \
                       workspace to trusted_projects in your user config";
    let refuse = |key_path: &[&str], what: &str| {
        value_error(path, text, key_path, &format!("{what}: {FIX}"))
    };
    if let Some(m) = f.mode
        && mode_rank(m) > mode_rank(current.mode)
    {
        return Err(refuse(
            &["mode"],
            &format!("mode `{}` loosens `{}`", m.as_str(), current.mode.as_str()),
        ));
    }
    if let Some(n) = &f.network {
        let loosens = match (&current.network, n.to_network()) {
            (Network::Off, Network::Off) => false,
            (Network::Off, _) => true,
            (Network::Allowlist(_), Network::On) => true,
            (Network::Allowlist(a), Network::Allowlist(b)) => b.iter().any(|d| !a.contains(d)),
            _ => false,
        };
        if loosens {
            return Err(refuse(
                &["network"],
                "network setting opens more network access",
            ));
        }
    }
    for root in f.writable_roots.iter().flatten() {
        let inside =
            paths::resolve(workspace, root).is_ok_and(|r| paths::is_beneath(&r, workspace));
        if !inside {
            return Err(refuse(
                &["writable_roots"],
                &format!("writable root {} is outside the workspace", root.display()),
            ));
        }
    }
    if f.default_protected_paths == Some(false) {
        return Err(refuse(
            &["default_protected_paths"],
            "making agents' and editors' project config (.claude, .vscode, ...) writable",
        ));
    }
    if f.default_deny_read == Some(false) {
        return Err(refuse(
            &["default_deny_read"],
            "switching off the default deny-read list",
        ));
    }
    if f.allow_unenforced.as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(refuse(
            &["allow_unenforced"],
            "accepting unenforced capabilities",
        ));
    }
    if f.protect_whole_git == Some(false) && current.protect_whole_git {
        return Err(refuse(&["protect_whole_git"], "unprotecting .git"));
    }
    if let Some(env) = &f.env {
        if env.allow.as_ref().is_some_and(|v| !v.is_empty()) {
            return Err(refuse(
                &["env", "allow"],
                "allow-listing environment variables",
            ));
        }
        if let Some(i) = env.inherit {
            let rank = |i: EnvInherit| match i {
                EnvInherit::None => 0,
                EnvInherit::Core => 1,
                EnvInherit::All => 2,
            };
            if rank(i) > rank(current.env.inherit) {
                return Err(refuse(
                    &["env", "inherit"],
                    "inheriting more of the environment",
                ));
            }
        }
    }
    if let Some(t) = f.timeout
        && let Some(now) = current.timeout
    {
        if t.is_zero() {
            return Err(refuse(
                &["timeout"],
                &format!(
                    "timeout = 0 (no limit) loosens the current limit of {} s",
                    now.as_secs_f64()
                ),
            ));
        }
        if t > now {
            return Err(refuse(
                &["timeout"],
                &format!(
                    "timeout = {} s is longer than the current limit of {} s",
                    t.as_secs_f64(),
                    now.as_secs_f64()
                ),
            ));
        }
    }
    if let Some(a) = f.approval
        && approval_loosens(current.approval, a)
    {
        return Err(refuse(
            &["approval"],
            &format!(
                "approval = \"{}\" loosens \"{}\"",
                a.as_str(),
                current.approval.as_str()
            ),
        ));
    }
    if let Some(c) = f.output_cap
        && c > current.output_cap
    {
        return Err(refuse(
            &["output_cap"],
            &format!(
                "output_cap = {c} raises the current cap of {} bytes",
                current.output_cap
            ),
        ));
    }
    if let Some(set) = f.env.as_ref().and_then(|e| e.set.as_ref())
        && let Some(name) = set.keys().next()
    {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            line: line_of(text, &["env", "set", name]),
            column: 1,
            message: format!(
                "env.set ({name}, ...): a variable can change what the command runs (PATH, \
                 LD_PRELOAD, GIT_CONFIG_* ...), so a project may not set any: {FIX}"
            ),
        });
    }
    for (kind, value) in f
        .limits
        .as_ref()
        .and_then(|l| l.values().ok())
        .unwrap_or_default()
    {
        if let Some(current) = current.limits.get(kind)
            && value.is_none_or(|v| v > current)
        {
            return Err(refuse(
                &["limits", kind.as_str()],
                &format!("limits.{} raises the limit of {current}", kind.as_str()),
            ));
        }
    }
    if let Some(r) = f.recipes.as_ref().and_then(|r| r.first()) {
        let name = match r {
            RecipeName::Named(r) => r.as_str(),
            RecipeName::Auto => "auto",
        };
        return Err(refuse(
            &["recipes"],
            &format!(
                "recipe `{name}` makes caches outside the workspace writable (the host builds \
                 what is put there); name the recipe in your user config or with --recipe"
            ),
        ));
    }
    if let Some(w) = &f.windows
        && w.level == Some(WindowsLevel::Unelevated)
        && current.windows_level == WindowsLevel::Elevated
    {
        return Err(refuse(&["windows", "level"], "lowering windows.level"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn paths_in(dir: &Path) -> ConfigPaths {
        let ws = dir.join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        ConfigPaths {
            user: Some(dir.join("user/config.toml")),
            workspace: ws,
            explicit: None,
        }
    }

    #[test]
    fn defaults_apply_when_no_file_exists() {
        let dir = tempfile::tempdir().unwrap();
        let eff = load(&paths_in(dir.path()), &CliOverrides::default()).unwrap();
        assert_eq!(eff.policy.mode, Mode::WorkspaceWrite);
        assert_eq!(eff.policy.network, Network::Off);
        assert!(eff.policy.deny_read.iter().any(|p| p.ends_with(".ssh")));
        assert_eq!(eff.sources["mode"], vec![Source::Default]);
        assert!(eff.files.is_empty());
    }

    #[test]
    fn layers_apply_in_order_user_then_project_then_cli() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        let user_text = format!(
            "mode = \"full-access\"\ntimeout = 30\ntrusted_projects = ['{}']\n",
            cp.workspace.display()
        );
        write(dir.path(), "user/config.toml", &user_text);
        let project = write(
            &cp.workspace,
            PROJECT_FILE,
            "mode = \"workspace-write\"\ntimeout = 60\n",
        );
        let cli = CliOverrides {
            timeout: Some(Duration::from_secs(5)),
            ..Default::default()
        };
        let eff = load(&cp, &cli).unwrap();
        assert_eq!(eff.policy.mode, Mode::WorkspaceWrite);
        assert_eq!(eff.sources["mode"], vec![Source::Project(project)]);
        assert_eq!(eff.policy.timeout, Some(Duration::from_secs(5)));
        assert_eq!(eff.sources["timeout"], vec![Source::Cli]);
        assert!(eff.project_trusted);
        assert_eq!(eff.files.len(), 2);
    }

    #[test]
    fn lists_accumulate_across_layers_with_every_source() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            dir.path(),
            "user/config.toml",
            "deny_read = [\"~/secret-a\"]\n",
        );
        write(
            &cp.workspace,
            PROJECT_FILE,
            "deny_read = [\"~/secret-b\"]\n",
        );
        let cli = CliOverrides {
            deny_read: vec![PathBuf::from("/c")],
            ..Default::default()
        };
        let eff = load(&cp, &cli).unwrap();
        for want in ["~/secret-a", "~/secret-b", "/c", "~/.ssh"] {
            assert!(
                eff.policy.deny_read.contains(&PathBuf::from(want)),
                "{want}"
            );
        }
        assert_eq!(eff.sources["deny_read"].len(), 3);
    }

    #[test]
    fn broken_config_reports_file_line_and_problem() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            dir.path(),
            "user/config.toml",
            "timeout = 5\nmode = \"yolo\"\n",
        );
        let err = load(&cp, &CliOverrides::default()).unwrap_err().to_string();
        assert!(err.contains("config.toml:2:"), "{err}");
        assert!(err.contains("yolo") || err.contains("variant"), "{err}");
    }

    #[test]
    fn unknown_key_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            dir.path(),
            "user/config.toml",
            "mode = \"read-only\"\n\nnetwrk = \"on\"\n",
        );
        let err = load(&cp, &CliOverrides::default()).unwrap_err().to_string();
        assert!(err.contains(":3:") && err.contains("netwrk"), "{err}");
    }

    #[test]
    fn toml_syntax_error_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            &cp.workspace,
            PROJECT_FILE,
            "mode = \"read-only\"\nwritable_roots = [\n",
        );
        let err = load(&cp, &CliOverrides::default()).unwrap_err();
        assert!(
            matches!(err, ConfigError::Invalid { line: 2..=3, .. }),
            "{err}"
        );
    }

    #[test]
    fn untrusted_project_cannot_switch_to_full_access() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            &cp.workspace,
            PROJECT_FILE,
            "# hi\nmode = \"full-access\"\n",
        );
        let err = load(&cp, &CliOverrides::default()).unwrap_err().to_string();
        assert!(
            err.contains("paddock.toml:2:") && err.contains("trusted_projects"),
            "{err}"
        );
    }

    #[test]
    fn untrusted_project_cannot_open_network_or_add_outside_roots() {
        for text in [
            "network = \"on\"\n",
            "writable_roots = [\"/etc\"]\n",
            "writable_roots = [\"../\"]\n",
            "default_deny_read = false\n",
            "allow_unenforced = [\"network\"]\n",
            "[env]\nallow = [\"AWS_SECRET_ACCESS_KEY\"]\n",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let cp = paths_in(dir.path());
            write(&cp.workspace, PROJECT_FILE, text);
            assert!(load(&cp, &CliOverrides::default()).is_err(), "{text}");
        }
    }

    #[test]
    fn untrusted_project_cannot_loosen_timeout_approval_output_cap_or_set_env() {
        for (user, project, field) in [
            ("", "timeout = 0\n", "timeout = 0"),
            ("timeout = 30\n", "timeout = 31\n", "timeout = 31"),
            (
                "approval = \"always\"\n",
                "approval = \"on-risk\"\n",
                "approval",
            ),
            (
                "approval = \"always\"\n",
                "approval = \"never\"\n",
                "approval",
            ),
            (
                "approval = \"never\"\n",
                "approval = \"on-risk\"\n",
                "approval",
            ),
            (
                "approval = \"never\"\n",
                "approval = \"always\"\n",
                "approval",
            ),
            ("", "approval = \"on-failure\"\n", "approval"),
            (
                "approval = \"always\"\n",
                "approval = \"on-failure\"\n",
                "approval",
            ),
            ("", "output_cap = 99999999999\n", "output_cap"),
            ("", "[env.set]\nPATH = \"/evil\"\n", "PATH"),
            (
                "",
                "[env]\nset = { GIT_CONFIG_COUNT = \"1\" }\n",
                "GIT_CONFIG_COUNT",
            ),
            ("", "[env.set]\nLANG = \"C\"\n", "LANG"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let cp = paths_in(dir.path());
            write(dir.path(), "user/config.toml", user);
            let lines = project.lines().count();
            write(&cp.workspace, PROJECT_FILE, &format!("# header\n{project}"));
            let err = load(&cp, &CliOverrides::default())
                .expect_err(project)
                .to_string();
            let at = format!("paddock.toml:{}:", lines + 1);
            assert!(
                err.contains(&at) && err.contains(field) && err.contains("trusted_projects"),
                "{project}: {err}"
            );
        }
    }

    #[test]
    fn trusted_project_may_loosen_timeout_approval_and_set_env() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        let user = format!(
            "approval = \"always\"\ntrusted_projects = ['{}']\n",
            cp.workspace.display()
        );
        write(dir.path(), "user/config.toml", &user);
        write(
            &cp.workspace,
            PROJECT_FILE,
            "timeout = 0\napproval = \"on-risk\"\n[env.set]\nPATH = \"/opt/bin\"\n",
        );
        let eff = load(&cp, &CliOverrides::default()).unwrap();
        assert_eq!(eff.policy.timeout, None);
        assert_eq!(eff.policy.approval, ApprovalMode::OnRisk);
        assert_eq!(eff.policy.env.set["PATH"], "/opt/bin");
    }

    #[test]
    fn untrusted_project_may_tighten_timeout_approval_and_output_cap() {
        for (user, project) in [
            ("", "timeout = 5\noutput_cap = 1024\n"),
            ("timeout = 0\n", "timeout = 99999\n"),
            ("", "approval = \"always\"\n"),
            ("", "approval = \"never\"\n"),
            ("approval = \"always\"\n", "approval = \"always\"\n"),
            ("approval = \"on-failure\"\n", "approval = \"on-risk\"\n"),
            ("approval = \"on-failure\"\n", "approval = \"always\"\n"),
            ("approval = \"on-failure\"\n", "approval = \"never\"\n"),
            ("", "[env]\ndeny = [\"FOO\"]\n"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let cp = paths_in(dir.path());
            write(dir.path(), "user/config.toml", user);
            write(&cp.workspace, PROJECT_FILE, project);
            let r = load(&cp, &CliOverrides::default());
            assert!(r.is_ok(), "{user} / {project}: {}", r.unwrap_err());
        }
    }

    #[test]
    fn timeout_must_be_a_number_of_seconds_in_every_layer() {
        for text in [
            "timeout = -1\n",
            "timeout = nan\n",
            "timeout = inf\n",
            "timeout = 1e300\n",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let cp = paths_in(dir.path());
            write(dir.path(), "user/config.toml", &format!("\n{text}"));
            let err = load(&cp, &CliOverrides::default())
                .expect_err(text)
                .to_string();
            assert!(
                err.contains("config.toml:2:") && err.contains("timeout"),
                "{err}"
            );
        }
    }

    #[test]
    fn untrusted_project_may_tighten() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        std::fs::create_dir(cp.workspace.join("build")).unwrap();
        write(
            &cp.workspace,
            PROJECT_FILE,
            "mode = \"read-only\"\nprotect_whole_git = true\nwritable_roots = [\"build\"]\ndeny_read = [\"/x\"]\n[env]\ninherit = \"core\"\n",
        );
        let eff = load(&cp, &CliOverrides::default()).unwrap();
        assert_eq!(eff.policy.mode, Mode::ReadOnly);
        assert!(eff.policy.protect_whole_git);
        assert_eq!(eff.policy.env.inherit, EnvInherit::Core);
    }

    #[test]
    fn limits_are_read_with_units_and_marked_explicit() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            dir.path(),
            "user/config.toml",
            "[limits]\nprocesses = 512\nmemory = \"4GiB\"\nfile_size = \"none\"\n",
        );
        let eff = load(&cp, &CliOverrides::default()).unwrap();
        let l = &eff.policy.limits;
        assert_eq!(l.processes, Some(512));
        assert_eq!(l.memory, Some(4 << 30));
        assert_eq!(l.file_size, None);
        assert_eq!(
            l.tmpfs,
            Some(Limits::DEFAULT_TMPFS),
            "untouched: the default"
        );
        assert!(l.explicit.contains(&LimitKind::Memory));
        assert!(!l.explicit.contains(&LimitKind::Tmpfs));
        assert!(matches!(eff.sources["limits.memory"][0], Source::User(_)));
    }

    #[test]
    fn a_bad_limit_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            dir.path(),
            "user/config.toml",
            "[limits]\nprocesses = 512\nmemory = \"4 elephants\"\n",
        );
        let err = load(&cp, &CliOverrides::default()).unwrap_err().to_string();
        assert!(
            err.contains("config.toml:3:") && err.contains("unit"),
            "{err}"
        );
    }

    #[test]
    fn untrusted_project_may_lower_limits_but_not_raise_or_lift_them() {
        for (text, ok) in [
            ("[limits]\nprocesses = 100\ntmpfs = \"64M\"\n", true),
            ("[limits]\nprocesses = 100000\n", false),
            ("[limits]\ntmpfs = \"none\"\n", false),
            ("[limits]\nmemory = \"1G\"\n", true),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let cp = paths_in(dir.path());
            write(&cp.workspace, PROJECT_FILE, text);
            assert_eq!(load(&cp, &CliOverrides::default()).is_ok(), ok, "{text}");
        }
    }

    #[test]
    fn project_cannot_trust_itself() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(&cp.workspace, PROJECT_FILE, "trusted_projects = [\".\"]\n");
        assert!(
            load(&cp, &CliOverrides::default())
                .unwrap_err()
                .to_string()
                .contains("trust itself")
        );
    }

    #[test]
    fn default_deny_read_can_be_switched_off_by_the_user() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            dir.path(),
            "user/config.toml",
            "default_deny_read = false\ndeny_read = [\"/only\"]\n",
        );
        let eff = load(&cp, &CliOverrides::default()).unwrap();
        assert_eq!(eff.policy.deny_read, vec![PathBuf::from("/only")]);
    }

    /// Agents' and editors' project config is protected by default; the user may make it
    /// writable (keeping their own entries), an untrusted project may not, and the refusal
    /// names the line and the fix.
    #[test]
    fn default_protected_paths_are_on_and_only_the_user_switches_them_off() {
        let defaults: Vec<PathBuf> = DEFAULT_PROTECTED_PATHS.iter().map(PathBuf::from).collect();
        assert!(defaults.contains(&PathBuf::from(".claude")));
        assert_eq!(default_policy().protected_paths, defaults);

        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            dir.path(),
            "user/config.toml",
            "protected_paths = [\"secrets.env\"]\ndefault_protected_paths = false\n",
        );
        let eff = load(&cp, &CliOverrides::default()).unwrap();
        assert_eq!(
            eff.policy.protected_paths,
            vec![PathBuf::from("secrets.env")]
        );

        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            &cp.workspace,
            PROJECT_FILE,
            "# mine\ndefault_protected_paths = false\n",
        );
        let err = load(&cp, &CliOverrides::default()).unwrap_err().to_string();
        assert!(
            err.contains("paddock.toml:2:") && err.contains("trusted_projects"),
            "{err}"
        );
        // Switching them back on is tightening, and fine from any project.
        write(
            dir.path(),
            "user/config.toml",
            "default_protected_paths = false\n",
        );
        write(
            &cp.workspace,
            PROJECT_FILE,
            "default_protected_paths = true\n",
        );
        let eff = load(&cp, &CliOverrides::default()).unwrap();
        assert_eq!(eff.policy.protected_paths, defaults);
    }

    #[test]
    fn explicit_config_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let mut cp = paths_in(dir.path());
        cp.explicit = Some(dir.path().join("nope.toml"));
        assert!(matches!(
            load(&cp, &CliOverrides::default()),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn network_allowlist_and_zero_timeout_parse() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            dir.path(),
            "user/config.toml",
            "network = { allow = [\"crates.io\"] }\ntimeout = 0\n",
        );
        let eff = load(&cp, &CliOverrides::default()).unwrap();
        assert_eq!(
            eff.policy.network,
            Network::Allowlist(vec!["crates.io".into()])
        );
        assert_eq!(eff.policy.timeout, None);
    }

    #[test]
    fn rule_tables_are_accepted_in_the_project_file() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            &cp.workspace,
            PROJECT_FILE,
            "[[rule]]\nprogram = \"rm\"\ndecision = \"forbid\"\n",
        );
        assert!(load(&cp, &CliOverrides::default()).is_ok());
    }

    #[test]
    fn untrusted_project_cannot_add_recipes_trusted_and_user_can() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        for text in [
            "recipes = [\"rust\"]\n",
            "timeout = 5\nrecipes = [\"auto\"]\n",
        ] {
            write(&cp.workspace, PROJECT_FILE, text);
            let err = load(&cp, &CliOverrides::default()).unwrap_err().to_string();
            assert!(err.contains("recipe `"), "{err}");
            let line = text.lines().count();
            assert!(err.contains(&format!("paddock.toml:{line}:")), "{err}");
        }
        // The user names it, or trusts the project.
        write(&cp.workspace, PROJECT_FILE, "recipes = [\"node\"]\n");
        write(
            dir.path(),
            "user/config.toml",
            &format!(
                "recipes = [\"rust\"]\nnetwork = {{ allow = [\"example.com\"] }}\n\
                 trusted_projects = ['{}']\n",
                cp.workspace.display()
            ),
        );
        let cli = CliOverrides {
            recipes: vec![RecipeName::Named(recipes::Recipe::Python)],
            ..Default::default()
        };
        let eff = load(&cp, &cli).unwrap();
        let names: Vec<&str> = eff
            .policy
            .recipes
            .iter()
            .map(|g| g.recipe.as_str())
            .collect();
        assert_eq!(names, ["rust", "node", "python"]);
        assert_eq!(eff.sources["recipes"].len(), 3);
        let Network::Allowlist(list) = &eff.policy.network else {
            panic!("{:?}", eff.policy.network)
        };
        assert!(list.contains(&"registry.npmjs.org".to_string()), "{list:?}");
    }

    #[test]
    fn an_unknown_recipe_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            dir.path(),
            "user/config.toml",
            "timeout = 5\nrecipes = [\"cobol\"]\n",
        );
        let err = load(&cp, &CliOverrides::default()).unwrap_err().to_string();
        assert!(err.contains("config.toml:2:"), "{err}");
        assert!(err.contains("unknown recipe `cobol`"), "{err}");
    }

    #[test]
    fn semantic_errors_name_the_line_of_dotted_keys_inline_tables_and_shared_names() {
        // (user file, project file, line expected in the message, a word of the message)
        let cases = [
            (
                "mode = \"read-only\"\nlimits.memory = \"4 elephants\"\n",
                "",
                "config.toml:2:",
                "unit",
            ),
            (
                "mode = \"read-only\"\n\nlimits = { processes = 5, memory = \"4 elephants\" }\n",
                "",
                "config.toml:3:",
                "unit",
            ),
            (
                "",
                "mode = \"read-only\"\nenv.set.PATH = \"/evil\"\n",
                "paddock.toml:2:",
                "PATH",
            ),
            (
                "",
                "[env]\ninherit = \"none\"\n[env.set]\ninherit = \"x\"\n",
                "paddock.toml:4:",
                "env.set",
            ),
            (
                "[limits]\nprocesses = 100\n",
                "# more processes\nlimits = { processes = 500 }\n",
                "paddock.toml:2:",
                "limits.processes",
            ),
        ];
        for (user, project, at, word) in cases {
            let dir = tempfile::tempdir().unwrap();
            let cp = paths_in(dir.path());
            write(dir.path(), "user/config.toml", user);
            write(&cp.workspace, PROJECT_FILE, project);
            let err = load(&cp, &CliOverrides::default())
                .expect_err(project)
                .to_string();
            assert!(
                err.contains(at) && err.contains(word),
                "{user}{project}: want {at}: {err}"
            );
        }
    }

    #[test]
    fn bad_timeouts_are_refused_with_their_line_not_panicking_or_meaning_none() {
        for bad in ["-1", "nan", "inf", "1e20", "\"abc\"", "\"-5m\""] {
            let dir = tempfile::tempdir().unwrap();
            let cp = paths_in(dir.path());
            write(
                dir.path(),
                "user/config.toml",
                &format!("mode = \"read-only\"\ntimeout = {bad}\n"),
            );
            let err = load(&cp, &CliOverrides::default())
                .expect_err(bad)
                .to_string();
            assert!(err.contains("config.toml:2:"), "{bad}: {err}");
            assert!(err.contains("expected seconds"), "{bad}: {err}");
        }
    }

    #[test]
    fn timeout_takes_seconds_fractions_and_duration_strings() {
        for (text, want) in [("90", 90_000), ("2.5", 2_500), ("\"5m\"", 300_000)] {
            let dir = tempfile::tempdir().unwrap();
            let cp = paths_in(dir.path());
            write(
                dir.path(),
                "user/config.toml",
                &format!("timeout = {text}\n"),
            );
            let eff = load(&cp, &CliOverrides::default()).unwrap();
            assert_eq!(
                eff.policy.timeout,
                Some(Duration::from_millis(want)),
                "{text}"
            );
        }
    }

    #[test]
    fn unknown_network_word_names_the_allowed_values() {
        let dir = tempfile::tempdir().unwrap();
        let cp = paths_in(dir.path());
        write(
            dir.path(),
            "user/config.toml",
            "mode = \"read-only\"\nnetwork = \"maybe\"\n",
        );
        let err = load(&cp, &CliOverrides::default()).unwrap_err().to_string();
        assert!(err.contains("config.toml:2:"), "{err}");
        assert!(
            err.contains("`maybe`") && err.contains("\"on\", \"off\""),
            "{err}"
        );
        assert!(
            !err.contains("NetworkSetting") && !err.contains("untagged"),
            "{err}"
        );
    }
}
