//! A spec kept by a resident front end (`paddock mcp`) between runs, used again while nothing
//! it was made from can have changed, so that a run does not look again at the ~100 paths of
//! secrets, control files and roots that the spec looks at (`lstat`s and reads: about 0.2 ms
//! of a warm call).
//!
//! What the spec is made from, and how each is held:
//!
//! - the policy, the workspace as given, the current directory and the environment that names
//!   the home, config and state directories: kept and compared on each use;
//! - everything the spec looked at on the file system, outside the pre-walk (the host's home
//!   and system directories, the workspace and roots resolved, the secrets' and control paths' entries, the git configs and gitfiles read,
//!   the hooks folders listed): watched (`lookup_watch`, with its conditions: no mount change,
//!   local file systems; any event is a change);
//! - the repositories the pre-walk found in the writable roots: the run's own pre-walk is done
//!   as before (from the watches the front end keeps for it) and its result compared.
//!
//! Made only off a run's path (for a spare sandbox: `SandboxSpec::from_policy_kept` with
//! `refresh`), by computing the spec twice around the watches; a run only uses it. What is
//! returned is exactly the spec a fresh computation would give at that moment, which the tests
//! hold against fresh computations after random sequences of changes.

use crate::integrity::discover::Repo;
use crate::lookup_watch::LookupWatch;
use crate::policy::Policy;
use crate::spec::{Roots, SandboxSpec};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What a spec is made from besides the file system.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Inputs {
    policy: Policy,
    workspace: PathBuf,
    cwd: Option<PathBuf>,
    /// The variables that name the home, config and state directories and git's config.
    vars: Vec<Option<OsString>>,
}

/// The variables [`Inputs`] holds (see `state` and `discover::control_paths`).
const VARS: &[&str] = &[
    "HOME",
    "USERPROFILE",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
    "PADDOCK_CONFIG_DIR",
    "PADDOCK_STATE_DIR",
    "APPDATA",
    "LOCALAPPDATA",
];

impl Inputs {
    pub(crate) fn now(policy: &Policy, workspace: &Path) -> Inputs {
        Inputs {
            policy: policy.clone(),
            workspace: workspace.to_path_buf(),
            cwd: std::env::current_dir().ok(),
            vars: VARS.iter().map(std::env::var_os).collect(),
        }
    }
}

/// A spec with the watches that tell when it can no longer be used (see the module docs).
pub struct SpecMemo {
    inputs: Inputs,
    roots: Roots,
    found: Vec<Repo>,
    spec: SandboxSpec,
    watch: LookupWatch,
}

impl std::fmt::Debug for SpecMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpecMemo")
            .field("workspace", &self.roots.ws)
            .field("watch", &self.watch)
            .finish_non_exhaustive()
    }
}

impl SpecMemo {
    pub(crate) fn new(
        inputs: Inputs,
        found: Vec<Repo>,
        made: (Roots, SandboxSpec),
        watch: LookupWatch,
    ) -> SpecMemo {
        SpecMemo {
            inputs,
            roots: made.0,
            found,
            spec: made.1,
            watch,
        }
    }

    /// The roots, when the memo was made from `inputs` and nothing it looked at changed since.
    pub(crate) fn roots_for(&mut self, inputs: &Inputs) -> Option<&Roots> {
        (self.inputs == *inputs && self.watch.unchanged()).then_some(&self.roots)
    }

    /// False once something it was made from was seen to change (it never can be used again).
    pub fn usable(&self) -> bool {
        self.watch.intact()
    }

    /// The spec, when the pre-walk found the repositories it was made for.
    pub(crate) fn spec_for(&self, found: &[Repo]) -> Option<SandboxSpec> {
        (self.found == found).then(|| self.spec.clone())
    }
}
