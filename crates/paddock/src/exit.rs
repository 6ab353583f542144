//! Paddock's own exit codes, distinct from each other. Any other code is the command's own.

/// The command ran past its timeout and its tree was killed.
pub const TIMEOUT: i32 = 124;
/// The sandbox could not be set up, or the policy cannot be enforced here (fail closed).
pub const SANDBOX_UNAVAILABLE: i32 = 125;
/// The program exists but cannot be executed.
pub const NOT_EXECUTABLE: i32 = 126;
/// The program was not found.
pub const NOT_FOUND: i32 = 127;
/// Ended by Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: i32 = 130;
/// A command rule forbids the command.
pub const FORBIDDEN: i32 = 77;
/// The command needs approval and none was given (denied, or no way to ask).
pub const NOT_APPROVED: i32 = 76;
/// A config file, flag or path is invalid.
pub const BAD_CONFIG: i32 = 78;
