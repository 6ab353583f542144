//! Toolchain recipes: named presets (`recipes = ["rust", "node", ...]`, or `"auto"` to detect
//! them from the workspace root) that make the download caches a toolchain writes writable and,
//! when the network is an allow-list, add the hosts of its registries.
//!
//! Guarantees: a recipe only ever names cache directories of downloaded packages, never a
//! directory the host runs programs from or reads configuration from (`~/.cargo/bin`,
//! `~/.cargo/config.toml`, `~/.npmrc`, `~/.gradle/gradle.properties`, `~/.gradle/init.d` stay
//! read-only); its roots pass the same refusal as any writable root (`roots`); a missing cache is
//! created (`create_caches`) only beneath the caller's home, mode 0700, with no link followed
//! on the way. What a cache holds is the same trust as the project's own dependencies: the
//! sandboxed command can put any package in it, and the host builds or runs that package the
//! next time a project of the user's depends on it (cargo runs `build.rs` from
//! `~/.cargo/registry/src`, npm runs install scripts from `~/.npm`).

use crate::error::SpecError;
use crate::paths;
use crate::policy::{Mode, Network, Policy};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// One toolchain recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recipe {
    Rust,
    Node,
    Python,
    Go,
    Dotnet,
    Java,
}

impl Recipe {
    pub const ALL: [Recipe; 6] = [
        Recipe::Rust,
        Recipe::Node,
        Recipe::Python,
        Recipe::Go,
        Recipe::Dotnet,
        Recipe::Java,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Recipe::Rust => "rust",
            Recipe::Node => "node",
            Recipe::Python => "python",
            Recipe::Go => "go",
            Recipe::Dotnet => "dotnet",
            Recipe::Java => "java",
        }
    }

    /// The registry hosts its package manager downloads from, added to a network allow-list.
    pub fn hosts(self) -> &'static [&'static str] {
        match self {
            Recipe::Rust => &["crates.io", "static.crates.io", "index.crates.io"],
            Recipe::Node => &["registry.npmjs.org"],
            Recipe::Python => &["pypi.org", "files.pythonhosted.org"],
            Recipe::Go => &["proxy.golang.org", "sum.golang.org"],
            Recipe::Dotnet => &["api.nuget.org"],
            Recipe::Java => &[
                "repo.maven.apache.org",
                "repo1.maven.org",
                "plugins.gradle.org",
                "plugins-artifacts.gradle.org",
                "services.gradle.org",
            ],
        }
    }

    /// The files in a workspace root that `auto` takes for this toolchain (`*.x`: any name
    /// ending in `.x`).
    pub fn markers(self) -> &'static [&'static str] {
        match self {
            Recipe::Rust => &["Cargo.toml"],
            Recipe::Node => &["package.json"],
            Recipe::Python => &["pyproject.toml", "requirements.txt", "setup.py"],
            Recipe::Go => &["go.mod"],
            Recipe::Dotnet => &["*.csproj", "*.fsproj", "*.sln"],
            Recipe::Java => &[
                "pom.xml",
                "build.gradle",
                "build.gradle.kts",
                "settings.gradle",
                "settings.gradle.kts",
            ],
        }
    }

    /// The cache directories the toolchain writes, absolute. `var` looks up an environment
    /// variable (the toolchain's own override, e.g. `CARGO_HOME`, is followed as the toolchain
    /// would); `windows` picks the Windows defaults (`%LOCALAPPDATA%` = `~/AppData/Local`).
    pub fn caches(
        self,
        home: &Path,
        var: &dyn Fn(&str) -> Option<OsString>,
        windows: bool,
    ) -> Vec<PathBuf> {
        let abs = |v: &str| {
            var(v)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        let local = abs("LOCALAPPDATA").unwrap_or_else(|| home.join("AppData/Local"));
        let xdg_cache = abs("XDG_CACHE_HOME").unwrap_or_else(|| home.join(".cache"));
        match self {
            Recipe::Rust => {
                let cargo = abs("CARGO_HOME").unwrap_or_else(|| home.join(".cargo"));
                vec![cargo.join("registry"), cargo.join("git")]
            }
            Recipe::Node => vec![
                abs("npm_config_cache")
                    .or_else(|| abs("NPM_CONFIG_CACHE"))
                    .unwrap_or_else(|| {
                        if windows {
                            local.join("npm-cache")
                        } else {
                            home.join(".npm")
                        }
                    }),
            ],
            Recipe::Python => vec![abs("PIP_CACHE_DIR").unwrap_or_else(|| {
                if windows {
                    local.join("pip").join("Cache")
                } else {
                    xdg_cache.join("pip")
                }
            })],
            Recipe::Go => {
                let gopath = var("GOPATH")
                    .and_then(|g| std::env::split_paths(&g).next())
                    .filter(|p| p.is_absolute())
                    .unwrap_or_else(|| home.join("go"));
                let modcache = abs("GOMODCACHE").unwrap_or_else(|| gopath.join("pkg").join("mod"));
                let build = abs("GOCACHE").unwrap_or_else(|| {
                    if windows {
                        local.join("go-build")
                    } else {
                        xdg_cache.join("go-build")
                    }
                });
                vec![modcache, build]
            }
            Recipe::Dotnet => vec![
                abs("NUGET_PACKAGES").unwrap_or_else(|| home.join(".nuget").join("packages")),
                abs("NUGET_HTTP_CACHE_PATH").unwrap_or_else(|| {
                    if windows {
                        local.join("NuGet").join("v3-cache")
                    } else {
                        home.join(".local/share/NuGet/http-cache")
                    }
                }),
            ],
            Recipe::Java => {
                let gradle = abs("GRADLE_USER_HOME").unwrap_or_else(|| home.join(".gradle"));
                vec![home.join(".m2").join("repository"), gradle.join("caches")]
            }
        }
    }
}

impl std::fmt::Display for Recipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name in `recipes = [...]` or `--recipe`: a recipe, or `auto` to detect them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum RecipeName {
    Named(Recipe),
    Auto,
}

impl std::str::FromStr for RecipeName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(RecipeName::Auto);
        }
        Recipe::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .map(RecipeName::Named)
            .ok_or_else(|| {
                format!("unknown recipe `{s}`: use rust, node, python, go, dotnet, java or auto")
            })
    }
}

impl TryFrom<String> for RecipeName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

/// What one recipe added to the policy, and why it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipeGrant {
    pub recipe: Recipe,
    /// Where it was named (`user config ...`, `command line`), and for `auto` the marker file
    /// it was detected from.
    pub source: String,
    /// The marker file in the workspace root, when detected by `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_from: Option<String>,
    /// Cache directories made writable (workspace-write only), absolute.
    pub caches: Vec<PathBuf>,
    /// Registry hosts; added to the network allow-list only when the network is one.
    pub hosts: Vec<String>,
    /// Whether `hosts` were added (the network is an allow-list).
    pub hosts_added: bool,
}

/// The recipes `auto` finds in `workspace`: the first marker of each recipe present in the
/// workspace root (names only; nothing is read).
pub fn detect(workspace: &Path) -> Vec<(Recipe, String)> {
    crate::looked_at::listing(workspace);
    let names: Vec<String> = std::fs::read_dir(workspace)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for recipe in Recipe::ALL {
        let hit = recipe
            .markers()
            .iter()
            .find_map(|m| match m.strip_prefix('*') {
                Some(suffix) => {
                    let mut matching: Vec<&String> = names
                        .iter()
                        .filter(|n| n.len() > suffix.len() && n.ends_with(suffix))
                        .collect();
                    matching.sort();
                    matching.first().map(|n| n.to_string())
                }
                None => names.iter().any(|n| n == m).then(|| m.to_string()),
            });
        if let Some(marker) = hit {
            out.push((recipe, marker));
        }
    }
    out
}

/// Turns the requested names (each with where it was named) into grants: `auto` detects in
/// `workspace`; a recipe named twice is granted once (its first source). Hosts are added to
/// `policy.network` when it is an allow-list.
pub fn apply(
    policy: &mut Policy,
    requests: &[(RecipeName, String)],
    workspace: &Path,
    home: Option<&Path>,
    var: &dyn Fn(&str) -> Option<OsString>,
) {
    let mut wanted: Vec<(Recipe, String, Option<String>)> = Vec::new();
    for (name, source) in requests {
        match name {
            RecipeName::Named(r) => wanted.push((*r, source.clone(), None)),
            RecipeName::Auto => {
                for (r, marker) in detect(workspace) {
                    wanted.push((r, format!("auto ({source})"), Some(marker)));
                }
            }
        }
    }
    let allowlist = matches!(policy.network, Network::Allowlist(_));
    for (recipe, source, detected_from) in wanted {
        if policy.recipes.iter().any(|g| g.recipe == recipe) {
            continue;
        }
        let caches = home
            .map(|h| recipe.caches(h, var, cfg!(windows)))
            .unwrap_or_default();
        let hosts: Vec<String> = recipe.hosts().iter().map(|h| h.to_string()).collect();
        if let Network::Allowlist(list) = &mut policy.network {
            for h in &hosts {
                if !list.contains(h) {
                    list.push(h.clone());
                }
            }
        }
        policy.recipes.push(RecipeGrant {
            recipe,
            source,
            detected_from,
            caches,
            hosts,
            hosts_added: allowlist,
        });
    }
}

/// Creates the missing cache directories of `policy`'s recipes (workspace-write only), each
/// beneath `home`, mode 0700, no link followed on the way (an existing link is refused, naming
/// it). A missing cache outside `home` is an error: Paddock does not create directories there.
/// Returns the directories created.
pub fn create_caches(policy: &Policy, home: Option<&Path>) -> Result<Vec<PathBuf>, SpecError> {
    let mut created = Vec::new();
    if policy.mode != Mode::WorkspaceWrite {
        return Ok(created);
    }
    for cache in policy.recipes.iter().flat_map(|g| &g.caches) {
        if std::fs::symlink_metadata(cache).is_ok() {
            continue;
        }
        let refuse = |reason: String| SpecError::RecipeCache {
            path: cache.clone(),
            reason,
        };
        let home = home.ok_or_else(|| refuse("the home directory is not known".into()))?;
        let cache_n = paths::normalize_lexically(cache);
        let rel = cache_n
            .strip_prefix(paths::normalize_lexically(home))
            .map_err(|_| {
                refuse(format!(
                    "it is missing and not beneath your home {}; Paddock only creates caches \
                     there",
                    home.display()
                ))
            })?;
        if rel.as_os_str().is_empty() {
            return Err(refuse("it is the home directory itself".into()));
        }
        created.extend(create_beneath(home, rel).map_err(refuse)?);
    }
    Ok(created)
}

/// Creates `home/rel` component by component (0700), refusing any link or non-directory on the
/// way. Returns the directories it created.
#[cfg(unix)]
fn create_beneath(home: &Path, rel: &Path) -> Result<Vec<PathBuf>, String> {
    use std::path::Component;
    let mut dir =
        std::fs::File::open(home).map_err(|e| format!("cannot open {}: {e}", home.display()))?;
    let mut at = home.to_path_buf();
    let mut created = Vec::new();
    for c in rel.components() {
        let Component::Normal(name) = c else {
            return Err(format!("`{}` is not a plain name", c.as_os_str().display()));
        };
        at.push(name);
        match crate::files::sys::stat_at(&dir, name) {
            Ok(kind) if kind.is_symlink() => {
                return Err(format!(
                    "{} is a symbolic link; Paddock follows no link when it creates a cache: \
                     create the cache directory yourself",
                    at.display()
                ));
            }
            Ok(kind) if !kind.is_dir() => {
                return Err(format!(
                    "{} is a {}, not a directory",
                    at.display(),
                    kind.name()
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match crate::files::sys::mkdir_at(&dir, name, 0o700) {
                    Ok(()) => created.push(at.clone()),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(format!("cannot create {}: {e}", at.display())),
                }
            }
            Err(e) => return Err(format!("cannot inspect {}: {e}", at.display())),
        }
        // O_NOFOLLOW: a link swapped in since the check is refused here (ELOOP / ENOTDIR).
        dir = crate::files::sys::open_at(&dir, name, libc::O_DIRECTORY)
            .map_err(|e| format!("cannot open {} without following links: {e}", at.display()))?;
    }
    Ok(created)
}

/// Windows: the same walk with `symlink_metadata` (links and junctions are refused).
#[cfg(not(unix))]
fn create_beneath(home: &Path, rel: &Path) -> Result<Vec<PathBuf>, String> {
    let mut at = home.to_path_buf();
    let mut created = Vec::new();
    for c in rel.components() {
        at.push(c);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() || is_reparse_point(&m) => {
                return Err(format!(
                    "{} is a link; Paddock follows no link when it creates a cache: create the \
                     cache directory yourself",
                    at.display()
                ));
            }
            Ok(m) if !m.is_dir() => return Err(format!("{} is not a directory", at.display())),
            Ok(_) => {}
            Err(_) => match std::fs::create_dir(&at) {
                Ok(()) => created.push(at.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("cannot create {}: {e}", at.display())),
            },
        }
    }
    Ok(created)
}

/// A junction or other reparse point (`FILE_ATTRIBUTE_REPARSE_POINT`).
#[cfg(windows)]
fn is_reparse_point(m: &std::fs::Metadata) -> bool {
    use std::os::windows::fs::MetadataExt;
    m.file_attributes() & 0x400 != 0
}

#[cfg(not(any(unix, windows)))]
fn is_reparse_point(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::integrity::discover::HOME_CONTROL_FILES;
    use std::os::unix::fs::PermissionsExt;

    /// Files the host runs or reads as configuration later: no recipe cache may be one of
    /// them or contain one.
    const NEVER_WRITABLE: &[&str] = &[
        ".cargo",
        ".cargo/bin",
        ".cargo/config.toml",
        ".cargo/config",
        ".cargo/env",
        ".cargo/credentials.toml",
        ".npmrc",
        ".config/pip/pip.conf",
        ".pip/pip.conf",
        "go/bin",
        ".config/go/env",
        ".nuget/NuGet/NuGet.Config",
        ".dotnet/tools",
        ".m2/settings.xml",
        ".gradle/gradle.properties",
        ".gradle/init.d",
        ".gradle/init.gradle",
        ".gradle/wrapper",
        ".local/bin",
        ".local/share",
        "AppData/Roaming/npm",
        "AppData/Roaming/pip/pip.ini",
        "AppData/Roaming/NuGet/NuGet.Config",
    ];

    #[test]
    fn no_recipe_cache_is_or_contains_a_config_file_or_a_bin_directory() {
        let home = Path::new("/home/me");
        let none = |_: &str| None;
        for windows in [false, true] {
            for r in Recipe::ALL {
                let caches = r.caches(home, &none, windows);
                assert!(!caches.is_empty(), "{r}");
                for c in caches {
                    assert!(c.starts_with(home) && c != home, "{r}: {}", c.display());
                    for bad in NEVER_WRITABLE.iter().chain(HOME_CONTROL_FILES) {
                        let bad = home.join(bad);
                        assert!(
                            !bad.starts_with(&c),
                            "{r} cache {} contains {}",
                            c.display(),
                            bad.display()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn caches_follow_the_toolchains_own_variables() {
        let home = Path::new("/home/me");
        let var = |n: &str| match n {
            "CARGO_HOME" => Some("/opt/cargo".into()),
            "GOMODCACHE" => Some("relative/ignored".into()),
            "XDG_CACHE_HOME" => Some("/xdg".into()),
            _ => None,
        };
        assert_eq!(
            Recipe::Rust.caches(home, &var, false),
            vec![
                PathBuf::from("/opt/cargo/registry"),
                PathBuf::from("/opt/cargo/git")
            ]
        );
        assert_eq!(
            Recipe::Go.caches(home, &var, false),
            vec![
                PathBuf::from("/home/me/go/pkg/mod"),
                PathBuf::from("/xdg/go-build")
            ]
        );
        assert_eq!(
            Recipe::Python.caches(home, &var, true),
            vec![PathBuf::from("/home/me/AppData/Local/pip/Cache")]
        );
    }

    #[test]
    fn auto_detects_from_marker_files_in_the_workspace_root_only() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        for f in [
            "Cargo.toml",
            "requirements.txt",
            "App.csproj",
            "build.gradle.kts",
        ] {
            std::fs::write(ws.join(f), "").unwrap();
        }
        std::fs::create_dir_all(ws.join("sub")).unwrap();
        std::fs::write(ws.join("sub/package.json"), "{}").unwrap();
        std::fs::write(ws.join(".csproj"), "").unwrap();
        let found = detect(ws);
        let names: Vec<(Recipe, &str)> = found.iter().map(|(r, m)| (*r, m.as_str())).collect();
        assert_eq!(
            names,
            vec![
                (Recipe::Rust, "Cargo.toml"),
                (Recipe::Python, "requirements.txt"),
                (Recipe::Dotnet, "App.csproj"),
                (Recipe::Java, "build.gradle.kts"),
            ]
        );
    }

    fn policy_with(recipe: Recipe, home: &Path) -> Policy {
        let mut p = crate::config::default_policy();
        let var = |_: &str| None;
        apply(
            &mut p,
            &[(RecipeName::Named(recipe), "test".into())],
            home,
            Some(home),
            &var,
        );
        p
    }

    #[test]
    fn missing_caches_are_created_0700_beneath_home() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().canonicalize().unwrap();
        let p = policy_with(Recipe::Go, &home);
        let created = create_caches(&p, Some(&home)).unwrap();
        assert!(created.contains(&home.join("go/pkg/mod")), "{created:?}");
        for d in [
            home.join("go"),
            home.join("go/pkg/mod"),
            home.join(".cache/go-build"),
        ] {
            let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        // Idempotent; nothing in read-only mode.
        assert!(create_caches(&p, Some(&home)).unwrap().is_empty());
        let mut ro = policy_with(Recipe::Node, &home);
        ro.mode = Mode::ReadOnly;
        assert!(create_caches(&ro, Some(&home)).unwrap().is_empty());
        assert!(!home.join(".npm").exists());
    }

    #[test]
    fn a_link_on_the_way_is_refused_and_nothing_is_created_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let (home, elsewhere) = (base.join("home"), base.join("elsewhere"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, home.join(".cargo")).unwrap();
        let p = policy_with(Recipe::Rust, &home);
        let err = create_caches(&p, Some(&home)).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        // A final link (the cache itself) is not followed either.
        std::fs::remove_file(home.join(".cargo")).unwrap();
        std::fs::create_dir_all(home.join(".cache")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, home.join(".cache/pip-link")).unwrap();
        let mut p = policy_with(Recipe::Python, &home);
        p.recipes[0].caches = vec![home.join(".cache/pip-link/pip")];
        assert!(create_caches(&p, Some(&home)).is_err());
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_cache_outside_home_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let home = base.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut p = policy_with(Recipe::Rust, &home);
        p.recipes[0].caches = vec![base.join("opt/cargo/registry")];
        let err = create_caches(&p, Some(&home)).unwrap_err().to_string();
        assert!(err.contains("not beneath your home"), "{err}");
        assert!(!base.join("opt").exists());
        p.recipes[0].caches = vec![home.join("../escape")];
        assert!(create_caches(&p, Some(&home)).is_err());
        assert!(!base.join("escape").exists());
    }

    #[test]
    fn a_cache_root_inside_home_is_accepted_and_leaves_cargo_config_read_only() {
        use crate::roots::HostRoots;
        use crate::spec::SandboxSpec;
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let (home, ws) = (base.join("home"), base.join("ws"));
        std::fs::create_dir_all(home.join(".cargo/bin")).unwrap();
        std::fs::write(home.join(".cargo/config.toml"), "").unwrap();
        std::fs::create_dir_all(&ws).unwrap();
        let p = policy_with(Recipe::Rust, &home);
        create_caches(&p, Some(&home)).unwrap();
        let host = HostRoots {
            home_parents: vec![],
            homes: vec![home.clone()],
            system: vec![],
        };
        let spec = SandboxSpec::from_policy_on(&p, &ws, &host).unwrap();
        assert!(spec.writable_roots.contains(&home.join(".cargo/registry")));
        assert!(spec.writable_roots.contains(&home.join(".cargo/git")));
        for f in [".cargo/config.toml", ".cargo/bin", ".cargo"] {
            let f = home.join(f);
            assert!(
                !spec.writable_roots.iter().any(|r| f.starts_with(r)),
                "{} writable",
                f.display()
            );
        }
        // A cache that is (a link to) the home itself is refused like any writable root.
        let mut bad = p.clone();
        std::os::unix::fs::symlink(&home, home.join(".cargo/git-link")).unwrap();
        bad.recipes[0].caches = vec![home.join(".cargo/git-link")];
        assert!(SandboxSpec::from_policy_on(&bad, &ws, &host).is_err());
    }

    #[test]
    fn hosts_join_an_allow_list_only() {
        let home = Path::new("/home/me");
        let mut p = crate::config::default_policy();
        p.network = Network::Allowlist(vec!["example.com".into()]);
        let var = |_: &str| None;
        let reqs = [
            (RecipeName::Named(Recipe::Rust), "a".to_string()),
            (RecipeName::Named(Recipe::Rust), "b".to_string()),
        ];
        apply(&mut p, &reqs, home, Some(home), &var);
        assert_eq!(p.recipes.len(), 1);
        assert_eq!(p.recipes[0].source, "a");
        assert!(p.recipes[0].hosts_added);
        let Network::Allowlist(list) = &p.network else {
            panic!()
        };
        assert_eq!(
            list,
            &[
                "example.com",
                "crates.io",
                "static.crates.io",
                "index.crates.io"
            ]
        );
        let mut off = crate::config::default_policy();
        apply(&mut off, &reqs, home, Some(home), &var);
        assert_eq!(off.network, Network::Off);
        assert!(!off.recipes[0].hosts_added);
    }
}
