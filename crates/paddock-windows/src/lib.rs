//! Paddock's Windows backend.
//!
//! Split in two so that what decides security is testable on every OS: a pure *planner* (policy
//! in; exact SIDs, ACEs, token and fence specs out) with a model of the Windows access check that
//! judges its output, and a thin *apply* layer of Win32 calls (`cfg(windows)`) that carries the plan
//! out. Wine runs the apply layer's plumbing but enforces neither ACLs nor restricted tokens, so
//! enforcement is proven through the model here and on real Windows by the smoke script.
//!
//! # The seam the apply layer codes against
//!
//! - [`sid::Sid`]: SIDs as values (`Sid::parse`, `Display` gives `S-1-...`, well-known
//!   constructors, `Sid::synthetic()` from the OS CSPRNG). Convert with
//!   `ConvertStringSidToSidW(sid.to_string())` / `ConvertSidToStringSidW`.
//! - [`mask::AccessMask`]: typed access rights with the Win32 values (`.bits()` is the
//!   `ACCESS_MASK`).
//! - [`acl`]: `Ace { kind, sid, mask, flags }`, `Acl`, `SecurityDescriptor { owner, group, dacl,
//!   protected }` with SDDL `to_sddl()` / `SecurityDescriptor::parse` (accepts every mnemonic
//!   `ConvertSecurityDescriptorToStringSecurityDescriptorW` prints, SACL skipped);
//!   [`acl_binary`] walks binary ACLs and SIDs, which is how the apply layer reads every DACL.
//! - [`store::AclStore`]: the only way planning and journaling touch the file system's ACLs:
//!   `read` (owner+group+DACL), `add_explicit` / `remove_explicit` (one ACE at a time, never a
//!   whole descriptor; exact-match semantics; inheritable ACEs propagate like
//!   `SetNamedSecurityInfoW`, non-inheritable ones must not walk the tree), `kind`,
//!   `create_dir`, `create_file`, `process_alive` (whether a process that outlived a run's kill
//!   still exists; recovery keeps that run's denies while it does). Errors are `StoreError`;
//!   a Win32 failure is `StoreError::Os { path, api, code, message }`.
//!   `store::FakeAclStore` is the in-memory reference implementation used by the tests.
//!
//! Paths are Windows path text compared through [`winpath`] (case-insensitive, `\` or `/`).
//!
//! # The API the front end (the `paddock` facade) wires
//!
//! - [`check_enforceable`]`(spec, level) -> Result<Vec<Capability>, WindowsError>`: refuse or
//!   list the accepted gaps (network, deny-read) before anything else.
//! - [`plan`]`(spec, level, store, registry) -> Result<WindowsPlan, WindowsError>` with
//!   `registry = SidRegistry::open_default()?`; `WindowsPlan::report()` is the enforcement report.
//! - [`run_acls::apply`]`(plan, store, registry) -> Result<ActiveRun, WindowsError>` before
//!   spawning, [`run_acls::ActiveRun::finish`]`(store)` after the command ends (the apply
//!   layer then deletes `plan.private_temp`); [`run_acls::recover`] at start-up (undoes runs
//!   that died; returns their ids so their temp folders can go); [`grants::forget`] for
//!   `paddock grants forget ROOT`, [`grants::forget_all`] for uninstall.
//! - `apply::explain::explain_path(spec, level, path, op) -> Result<Verdict, ApplyError>`
//!   (Windows) for `paddock explain PATH [--read|--write]`: plans as a run would (a preview
//!   registry, nothing applied), judges the sandbox token made from the caller's real token
//!   against the ACLs as the plan would leave them ([`preview::explain_planned`]); print the
//!   verdict with `Display`. [`explain::explain`] judges a token against a store as it is.

pub mod access;
pub mod ace_list;
pub mod acl;
pub mod acl_binary;
pub mod enforceability;
pub mod error;
pub mod explain;
pub mod grants;
pub mod ipc;
pub mod journal;
pub mod mask;
pub mod plan;
pub mod preview;
pub mod run_acls;
pub mod shared_dacl;
pub mod sid;
pub mod sid_registry;
pub mod store;
pub mod winpath;

/// The shared test fixture (a fake Windows machine); for tests only.
#[cfg(any(test, feature = "testworld"))]
#[doc(hidden)]
pub mod testworld;

pub use enforceability::check_enforceable;
pub use error::WindowsError;
pub use plan::{WindowsPlan, plan};
pub use sid_registry::SidRegistry;

#[cfg(windows)]
pub mod apply;
