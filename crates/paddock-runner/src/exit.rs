//! Exit statuses as a sandboxed command reports them, and their mapping to a shell exit code
//! (`128 + n` for a command ended by signal `n`, as sh and bash report it).

/// How the first process of a tree ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitInfo {
    /// It exited with this code (on Windows, the full 32-bit exit code as `i32`).
    Code(i32),
    /// It was ended by this signal (Unix).
    Signal(i32),
}

impl ExitInfo {
    /// The code a shell would report: the exit code, or `128 + signal`.
    pub fn shell_code(&self) -> i32 {
        match *self {
            ExitInfo::Code(c) => c,
            ExitInfo::Signal(s) => 128 + s,
        }
    }

    /// True for `Code(0)`.
    pub fn success(&self) -> bool {
        *self == ExitInfo::Code(0)
    }
}

#[cfg(unix)]
impl From<std::process::ExitStatus> for ExitInfo {
    fn from(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => ExitInfo::Code(code),
            (None, Some(sig)) => ExitInfo::Signal(sig),
            // Stopped/continued statuses are never reported for a waited-for exit.
            (None, None) => ExitInfo::Code(-1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExitInfo;

    #[test]
    fn exit_code_maps_to_itself() {
        assert_eq!(ExitInfo::Code(3).shell_code(), 3);
        assert_eq!(ExitInfo::Code(0).shell_code(), 0);
    }

    #[test]
    fn signal_maps_to_128_plus_signal() {
        assert_eq!(ExitInfo::Signal(9).shell_code(), 137);
        assert_eq!(ExitInfo::Signal(2).shell_code(), 130);
    }

    #[test]
    fn only_code_zero_is_success() {
        assert!(ExitInfo::Code(0).success());
        assert!(!ExitInfo::Code(1).success());
        assert!(!ExitInfo::Signal(15).success());
    }
}
