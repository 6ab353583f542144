//! `approval = "on-failure"`: did a failed run fail because the sandbox denied something?
//!
//! Until the backends report their denials, this is a heuristic on the command's own output:
//! error messages that the sandbox's walls produce (read-only mounts, Landlock's EACCES,
//! seccomp's EPERM, an empty network namespace). It can be wrong both ways (a command that prints
//! "Permission denied" for its own reasons; a denial the command reports in other words), so
//! every report and prompt built from it says that it is a heuristic.

use paddock_core::{Mode, Network, Policy, RunReport};

/// Lines kept as evidence.
const MAX_LINES: usize = 5;
/// Characters kept per line.
const MAX_CHARS: usize = 200;

/// Messages a denied file-system operation produces (lower case).
const FS_DENIALS: &[&str] = &[
    "read-only file system",
    "permission denied",
    "operation not permitted",
    "eacces",
    "eperm",
    "erofs",
    "access is denied",
];

/// Messages a denied network operation produces (lower case), counted only with network off.
const NET_DENIALS: &[&str] = &[
    "network is unreachable",
    "could not resolve host",
    "temporary failure in name resolution",
    "name or service not known",
    "failed to lookup address",
    "no address associated with hostname",
    "enetunreach",
    "getaddrinfo",
];

/// The output lines of a failed sandboxed run that look like the sandbox's denials; empty when
/// the run did not fail, ended by timeout or interrupt, ran unconfined, or shows no sign of one.
pub fn denial_evidence(report: &RunReport, policy: &Policy) -> Vec<String> {
    if report.exit_code == 0
        || report.timed_out
        || report.interrupted
        || report.enforcement.unconfined
        || policy.mode == Mode::FullAccess
    {
        return Vec::new();
    }
    let network_off = policy.network != Network::On;
    let mut out = Vec::new();
    for text in [&report.stderr, &report.stdout].into_iter().flatten() {
        for line in text.lines() {
            let lower = line.to_lowercase();
            let denied = FS_DENIALS.iter().any(|m| lower.contains(m))
                || (network_off && NET_DENIALS.iter().any(|m| lower.contains(m)));
            if denied && out.len() < MAX_LINES {
                let cut: String = line.trim().chars().take(MAX_CHARS).collect();
                out.push(paddock_core::text::escape(&cut).into_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(stderr: &str) -> RunReport {
        RunReport {
            exit_code: 1,
            stderr: Some(stderr.into()),
            ..RunReport::default()
        }
    }

    #[test]
    fn sandbox_denials_in_the_output_are_evidence() {
        let p = paddock_core::config::default_policy();
        let cases = [
            "touch: cannot touch '/etc/x': Read-only file system",
            "bash: /home/u/.bashrc: Permission denied",
            "curl: (6) Could not resolve host: example.com",
            "ping: connect: Network is unreachable",
            "error: EACCES: permission denied, open '/usr/lib/x'",
        ];
        for line in cases {
            let ev = denial_evidence(&failed(&format!("noise\n{line}\n")), &p);
            assert_eq!(ev, [line], "{line}");
        }
    }

    #[test]
    fn no_evidence_without_a_failure_a_denial_message_or_a_sandbox() {
        let mut p = paddock_core::config::default_policy();
        assert!(denial_evidence(&failed("error: tests failed"), &p).is_empty());
        let mut ok = failed("Permission denied");
        ok.exit_code = 0;
        assert!(denial_evidence(&ok, &p).is_empty());
        let mut timeout = failed("Permission denied");
        timeout.timed_out = true;
        assert!(denial_evidence(&timeout, &p).is_empty());
        p.network = Network::On;
        assert!(
            denial_evidence(&failed("Could not resolve host: x"), &p).is_empty(),
            "with network on, the sandbox did not cause it"
        );
        p.mode = Mode::FullAccess;
        assert!(denial_evidence(&failed("Permission denied"), &p).is_empty());
    }

    #[test]
    fn evidence_is_bounded_and_escaped() {
        let p = paddock_core::config::default_policy();
        let many = "x: Permission denied\n".repeat(50);
        assert_eq!(denial_evidence(&failed(&many), &p).len(), MAX_LINES);
        let ev = denial_evidence(&failed("\x1b[2Kfake: Permission denied\r"), &p);
        assert_eq!(ev, ["\\x1b[2Kfake: Permission denied"]);
        let long = format!("{}: Permission denied", "a".repeat(500));
        assert_eq!(denial_evidence(&failed(&long), &p)[0].len(), MAX_CHARS);
    }
}
