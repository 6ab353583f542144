//! `approval = "on-failure"`: did a failed run fail because the sandbox denied something?
//!
//! First from the run's typed denials (`RunReport::denials`): what the sandbox itself saw it
//! refuse (Linux: connections with the network off, unix sockets outside the writable paths),
//! then the paths guessed from "Read-only file system" messages naming them. Only when there is
//! none of those, a heuristic on the command's own output: error messages that the sandbox's
//! walls produce (read-only mounts, Landlock's EACCES, seccomp's EPERM, an empty network
//! namespace). The heuristic can be wrong both ways (a command that prints "Permission denied"
//! for its own reasons; a denial the command reports in other words), so every report and
//! prompt built from a guess says so.

use paddock_core::{Mode, Network, Policy, RunReport};

/// Why a failed run is taken as denied by the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evidence {
    /// False only when the sandbox itself reported the denials.
    pub heuristic: bool,
    /// What to show: the denials' descriptions or the output lines (escaped, at most a few).
    pub lines: Vec<String>,
}

/// The evidence that a failed sandboxed run was denied: the sandbox's own denials, else the
/// typed guesses from its stderr, else the heuristic on its output; empty when the run did not
/// fail, ended by timeout or interrupt, ran unconfined, or shows no sign of a denial.
pub fn evidence(report: &RunReport, policy: &Policy) -> Evidence {
    if !failed_in_sandbox(report, policy) {
        return Evidence::default();
    }
    for observed in [true, false] {
        let lines: Vec<String> = report
            .denials
            .iter()
            .filter(|d| d.is_sandbox_wall() && d.observed() == observed)
            .take(MAX_LINES)
            .map(|d| d.describe())
            .collect();
        if !lines.is_empty() {
            return Evidence {
                heuristic: !observed,
                lines,
            };
        }
    }
    Evidence {
        heuristic: true,
        lines: denial_evidence(report, policy),
    }
}

fn failed_in_sandbox(report: &RunReport, policy: &Policy) -> bool {
    !(report.exit_code == 0
        || report.timed_out
        || report.interrupted
        || report.enforcement.unconfined
        || policy.mode == Mode::FullAccess)
}

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
    if !failed_in_sandbox(report, policy) {
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
    fn the_sandboxs_own_denials_come_before_guesses_and_the_heuristic() {
        use paddock_core::{Denial, DenialSource};
        let p = paddock_core::config::default_policy();
        let mut r = failed("curl: (6) Could not resolve host: example.com\n");
        let heuristic = evidence(&r, &p);
        assert!(heuristic.heuristic);
        assert_eq!(
            heuristic.lines,
            ["curl: (6) Could not resolve host: example.com"]
        );
        let guess = Denial::WriteOutsideRoots {
            path: "/etc/x".into(),
            source: DenialSource::StderrGuess,
        };
        r.denials = vec![guess.clone()];
        let e = evidence(&r, &p);
        assert!(e.heuristic, "a guess from stderr is still a guess");
        assert_eq!(e.lines, [guess.describe()]);
        let seen = Denial::NetworkRefused {
            address: "10.255.255.53".into(),
            port: 53,
            dns: true,
            count: 1,
        };
        r.denials = vec![guess, seen.clone()];
        let e = evidence(&r, &p);
        assert!(!e.heuristic);
        assert_eq!(e.lines, [seen.describe()]);
        r.denials = vec![Denial::Timeout {
            limit_ms: 1000,
            set_by: None,
        }];
        r.stderr = Some("tests failed".into());
        assert!(
            evidence(&r, &p).lines.is_empty(),
            "a timeout is no sandbox wall"
        );
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
