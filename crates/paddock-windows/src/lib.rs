//! Paddock's Windows backend.
//!
//! Split in two so that what decides security is testable on every OS: a pure *planner* (policy
//! in; exact SIDs, ACEs, token and fence specs out) with a model of the Windows access check that
//! judges its output, and a thin *apply* layer of Win32 calls (`cfg(windows)`) that carries the plan
//! out. Wine runs the apply layer's plumbing but enforces neither ACLs nor restricted tokens, so
//! enforcement is proven through the model here and on real Windows by the smoke script.

#[cfg(windows)]
pub mod apply;
