//! The `LinuxPlan`: everything the in-sandbox init needs, handed from the supervisor over an
//! inherited pipe, and `LinuxError`, the one error type of the Linux backend.
//!
//! The plan is plain data with absolute, resolved paths; it never holds a `Missing` protected
//! path (the spec lists only existing ones; nothing is created on the host) and it is read by the mount, Landlock and
//! seccomp layers alike, so that all three enforce the same view.

use paddock_core::Mode;
use paddock_core::spec::PathKind;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::PathBuf;
use thiserror::Error;

/// Directories that get a fresh, private, writable tmpfs in every run (never the host's).
pub const PRIVATE_TMPFS: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

/// Device nodes bound from the host into the sandbox's private `/dev` (all of them writable by
/// everyone on a normal host; `/dev/pts` is a fresh devpts instance and `/dev/ptmx` links to it).
pub const DEV_NODES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// A path the plan treats specially, with what exists there (`File` or `Dir`, never `Missing`
/// for protected paths; deny-read paths that are missing are left out of the plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPath {
    #[serde(with = "wire::path")]
    pub path: PathBuf,
    pub kind: PathKind,
}

/// The command the init executes once the sandbox is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCommand {
    /// Absolute path of the program.
    #[serde(with = "wire::path")]
    pub program: PathBuf,
    /// argv[1..].
    #[serde(with = "wire::os_strings")]
    pub args: Vec<OsString>,
    /// Absolute working directory (inside the sandbox view, which uses host paths).
    #[serde(with = "wire::path")]
    pub cwd: PathBuf,
    /// The complete environment (already scrubbed; `TMPDIR=/tmp` is forced by the supervisor).
    #[serde(with = "wire::env")]
    pub env: Vec<(OsString, OsString)>,
}

/// What the in-sandbox init builds and enforces. Paths are host paths: the sandbox's view keeps
/// every path where it is on the host (the root is a read-only recursive bind of the host's `/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinuxPlan {
    /// `ReadOnly` or `WorkspaceWrite` (the supervisor never builds a plan for `FullAccess`).
    pub mode: Mode,
    /// Bound read-write (empty in read-only mode), outermost first.
    #[serde(with = "wire::paths")]
    pub writable_roots: Vec<PathBuf>,
    /// Bound read-only on top of the writable roots; each one's parents up to its writable root
    /// are pinned (bound onto themselves) so they cannot be renamed or removed.
    pub protected: Vec<PlanPath>,
    /// Hidden: an empty mode-000 tmpfs over a directory, an empty mode-000 file over a file.
    pub deny_read: Vec<PlanPath>,
    /// True: a fresh network namespace with only loopback (and the seccomp socket rules).
    pub network_off: bool,
    /// Network allow-list (with `network_off`): the init binds 127.0.0.1:PORT in the empty
    /// namespace for the supervisor's proxy; seccomp and Landlock let the command reach it.
    #[serde(default)]
    pub proxy_port: Option<u16>,
    /// With `network_off`: the supervisor's clone made no network namespace and the init makes
    /// it, on a thread of its own while it builds the view, and joins it before anything else
    /// (see `init::network`). Making one costs the kernel 0.25-0.4 ms; this way it is not
    /// added to the clone's time but runs beside the view.
    #[serde(default)]
    pub network_in_init: bool,
    pub command: PlanCommand,
    /// The caller's uid and gid, mapped to themselves in the sandbox's user namespace.
    pub uid: u32,
    pub gid: u32,
    /// What pid 1 limits itself (and so the command) to; a cgroup, when one is used, is the
    /// supervisor's.
    #[serde(default)]
    pub limits: PlanLimits,
}

/// The limits pid 1 applies before it starts the command: resource limits (soft and hard, so
/// the command cannot raise them) and the size of each private tmpfs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLimits {
    /// `RLIMIT_NPROC`: processes and threads of the caller's uid in the sandbox's user
    /// namespace (Linux 5.14 and later count them per user namespace). Never set for uid 0,
    /// which the kernel exempts.
    pub nproc: Option<u64>,
    /// `pid_max` of the sandbox's pid namespace (Linux 6.14 and later; at least 301): no pid at
    /// or above it, so fewer processes and threads than it at once. For uid 0, whom
    /// `RLIMIT_NPROC` does not bind.
    #[serde(default)]
    pub pid_max: Option<u64>,
    /// `RLIMIT_FSIZE`: the largest file the command may write (`EFBIG`, `SIGXFSZ`).
    pub fsize: Option<u64>,
    /// `size=` of each private tmpfs (`/tmp`, `/var/tmp`, `/dev/shm`).
    pub tmpfs: Option<u64>,
}

impl LinuxPlan {
    /// Every directory the command may write after `pivot_root`: the writable roots and the
    /// private tmpfs directories (`PRIVATE_TMPFS`). Device nodes (`DEV_NODES`, `/dev/pts`) are
    /// writable too but are files, not hierarchies.
    pub fn writable_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = self.writable_roots.clone();
        dirs.extend(PRIVATE_TMPFS.iter().map(PathBuf::from));
        dirs
    }

    /// Encodes the plan for the init's pipe.
    pub fn to_bytes(&self) -> Result<Vec<u8>, LinuxError> {
        serde_json::to_vec(self).map_err(|e| LinuxError::Plan {
            reason: e.to_string(),
        })
    }

    /// Decodes a plan written by `to_bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<LinuxPlan, LinuxError> {
        serde_json::from_slice(bytes).map_err(|e| LinuxError::Plan {
            reason: e.to_string(),
        })
    }
}

/// Every failure of the Linux backend. Each message names what is missing and how to fix it;
/// all of them mean "the command did not run" (exit 125), except `Exec` (126/127 class).
#[derive(Debug, Error)]
pub enum LinuxError {
    #[error("unprivileged user namespaces are unavailable: {reason}; {fix}")]
    UserNamespaces { reason: String, fix: String },
    #[error("{call}({target}) failed: {source}; the sandbox cannot be built on this system")]
    Syscall {
        call: &'static str,
        target: String,
        source: std::io::Error,
    },
    #[error("the kernel lacks {feature} (needs Linux {version} or later); upgrade the kernel")]
    KernelTooOld {
        feature: &'static str,
        version: &'static str,
    },
    #[error("Landlock could not be applied: {reason}")]
    Landlock { reason: String },
    #[error("seccomp could not be applied: {reason}")]
    Seccomp { reason: String },
    #[error("the policy cannot be enforced on Linux: {reason}")]
    Unsupported { reason: String },
    #[error(
        "invalid sandbox plan: {reason} (internal error: the supervisor and its init disagree)"
    )]
    Plan { reason: String },
    #[error("cannot start the sandbox init ({exe}): {source}")]
    Spawn {
        exe: PathBuf,
        source: std::io::Error,
    },
    #[error("sandbox setup failed: {message}")]
    Setup { message: String },
    /// Pid 1 found a path of its plan gone (`ENOENT`) while it built the sandbox: the host
    /// changed since the plan was made (a concurrent run's after-run check moved a
    /// repository it planted, say). The command did not run; a plan made now may succeed.
    #[error(
        "a path of the sandbox's plan was moved or removed while the sandbox was being built \
         ({message}); run the command again"
    )]
    Outdated { message: String },
    #[error("cannot execute {program} in the sandbox: {source}")]
    Exec {
        program: PathBuf,
        source: std::io::Error,
    },
}

/// Byte-exact serde encodings for paths and OS strings (Linux paths need not be UTF-8): a
/// string when the bytes are UTF-8 (the usual case: a third of the size of an array of numbers
/// and much faster to parse, which a warm run's command pays for), else an array of numbers.
mod wire {
    use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
    use serde::ser::{Serialize, Serializer};
    use std::ffi::{OsStr, OsString};
    use std::os::unix::ffi::{OsStrExt, OsStringExt};

    /// Bytes to write.
    struct Out<'a>(&'a [u8]);

    impl Serialize for Out<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match std::str::from_utf8(self.0) {
                Ok(text) => s.serialize_str(text),
                Err(_) => s.serialize_bytes(self.0),
            }
        }
    }

    fn out(s: &OsStr) -> Out<'_> {
        Out(s.as_bytes())
    }

    /// Bytes read back, from either form.
    struct In(Vec<u8>);

    impl In {
        fn os(self) -> OsString {
            OsString::from_vec(self.0)
        }
    }

    impl<'de> Deserialize<'de> for In {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<In, D::Error> {
            struct Either;
            impl<'de> Visitor<'de> for Either {
                type Value = In;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a string or an array of bytes")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<In, E> {
                    Ok(In(v.as_bytes().to_vec()))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<In, E> {
                    Ok(In(v.into_bytes()))
                }
                fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<In, E> {
                    Ok(In(v.to_vec()))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<In, A::Error> {
                    let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                    while let Some(b) = seq.next_element::<u8>()? {
                        bytes.push(b);
                    }
                    Ok(In(bytes))
                }
            }
            d.deserialize_any(Either)
        }
    }

    pub mod path {
        use super::*;
        use std::path::{Path, PathBuf};
        pub fn serialize<S: Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
            out(p.as_os_str()).serialize(s)
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
            Ok(PathBuf::from(In::deserialize(d)?.os()))
        }
    }

    pub mod paths {
        use super::*;
        use std::path::PathBuf;
        pub fn serialize<S: Serializer>(v: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|p| out(p.as_os_str())))
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
            let raw = Vec::<In>::deserialize(d)?;
            Ok(raw.into_iter().map(|b| PathBuf::from(b.os())).collect())
        }
    }

    pub mod os_strings {
        use super::*;
        pub fn serialize<S: Serializer>(v: &[OsString], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|a| out(a)))
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OsString>, D::Error> {
            let raw = Vec::<In>::deserialize(d)?;
            Ok(raw.into_iter().map(In::os).collect())
        }
    }

    pub mod env {
        use super::*;
        pub fn serialize<S: Serializer>(
            v: &[(OsString, OsString)],
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|(k, val)| (out(k), out(val))))
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Vec<(OsString, OsString)>, D::Error> {
            let raw = Vec::<(In, In)>::deserialize(d)?;
            Ok(raw.into_iter().map(|(k, v)| (k.os(), v.os())).collect())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    pub(crate) fn sample() -> LinuxPlan {
        LinuxPlan {
            mode: Mode::WorkspaceWrite,
            writable_roots: vec![PathBuf::from("/w")],
            protected: vec![PlanPath {
                path: "/w/.git/hooks".into(),
                kind: PathKind::Dir,
            }],
            deny_read: vec![PlanPath {
                path: "/home/u/.ssh".into(),
                kind: PathKind::Dir,
            }],
            network_off: true,
            proxy_port: None,
            network_in_init: false,
            command: PlanCommand {
                program: "/bin/sh".into(),
                args: vec![OsString::from_vec(vec![b'a', 0xff, b'b'])],
                cwd: "/w".into(),
                env: vec![("TMPDIR".into(), "/tmp".into())],
            },
            uid: 1000,
            gid: 1000,
            limits: PlanLimits {
                nproc: Some(64),
                pid_max: None,
                fsize: None,
                tmpfs: Some(1 << 30),
            },
        }
    }

    #[test]
    fn plan_round_trips_non_utf8_arguments_byte_exactly() {
        let plan = sample();
        let back = LinuxPlan::from_bytes(&plan.to_bytes().unwrap()).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn utf8_bytes_travel_as_strings_and_others_as_numbers() {
        let mut plan = sample();
        plan.command
            .env
            .push(("LANG".into(), OsString::from_vec(vec![b'x', 0xc3, b'y'])));
        plan.writable_roots
            .push(PathBuf::from(OsString::from_vec(vec![b'/', 0xfe])));
        let bytes = plan.to_bytes().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["command"]["program"], "/bin/sh");
        assert_eq!(json["command"]["args"][0], serde_json::json!([97, 255, 98]));
        assert_eq!(
            json["command"]["env"][0],
            serde_json::json!(["TMPDIR", "/tmp"])
        );
        assert_eq!(
            json["command"]["env"][1][1],
            serde_json::json!([120, 195, 121])
        );
        assert_eq!(json["writable_roots"], serde_json::json!(["/w", [47, 254]]));
        assert_eq!(LinuxPlan::from_bytes(&bytes).unwrap(), plan);
    }

    #[test]
    fn writable_dirs_are_the_roots_plus_the_private_tmpfs() {
        let dirs = sample().writable_dirs();
        assert_eq!(dirs[0], PathBuf::from("/w"));
        assert!(dirs.contains(&PathBuf::from("/tmp")));
        assert!(dirs.contains(&PathBuf::from("/dev/shm")));
    }

    #[test]
    fn garbage_is_rejected_as_an_invalid_plan() {
        assert!(matches!(
            LinuxPlan::from_bytes(b"{"),
            Err(LinuxError::Plan { .. })
        ));
    }
}
