//! Paddock's policy layer for commands: rules files, parsers that find what a command line
//! really runs, a classifier of routine read-only commands, approvals, the audit log, explain.

pub mod approval;
pub mod audit;
pub mod classify;
pub mod context;
pub mod decision;
pub mod error;
pub mod explain;
pub mod judge;
pub mod parse;
pub mod rules;
pub mod shlex;
