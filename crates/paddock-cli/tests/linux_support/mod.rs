//! Shared harness of the Linux attack suites: a fresh workspace, a sibling "outside" directory
//! and a fake home with secrets, all outside /tmp wherever the checkout is (see `test_dir`: the
//! private /tmp must not hide them by accident), and a runner for `paddock run ... -- sh SCRIPT-FILE` through the real binary.
//! Scripts go through a file, not `sh -c`, so that the command rules (which would refuse many
//! attacks before the sandbox is even built) do not see them: these suites test the sandbox.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

pub const SECRET: &str = "s3cr3t-k3y-m4t3r14l";

/// A fresh directory for one test's world. Never under a path the sandbox replaces by a private
/// tmpfs (`/tmp`, `/var/tmp`, `/dev/shm`): a world there would be invisible inside the sandbox and
/// attacks would fail for the wrong reason. Traversable by every user when run as root (the
/// unprivileged-caller test runs as nobody). `CARGO_TARGET_TMPDIR` when it qualifies (a checkout
/// outside /tmp), else `/var/lib/paddock-tests` as root, else `~/.cache/paddock-tests`.
pub fn test_dir() -> TempDir {
    let base = base_dir();
    std::fs::create_dir_all(&base).unwrap();
    tempfile::tempdir_in(&base).unwrap()
}

fn base_dir() -> PathBuf {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let canonical = target.canonicalize().unwrap_or_else(|_| target.clone());
    let shadowed = ["/tmp", "/var/tmp", "/dev/shm"]
        .iter()
        .any(|t| canonical.starts_with(t));
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let traversable = canonical
        .ancestors()
        .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if !shadowed && (traversable || !root) {
        return target;
    }
    if root {
        return PathBuf::from("/var/lib/paddock-tests");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/paddock-tests")
}

/// One test's world: `ws` (the workspace), `outside` (a host directory next to it holding
/// `victim` = "orig"), `home` (the caller's HOME, with `.ssh/id_rsa`, `.netrc`, `.bashrc`).
pub struct World {
    _root: TempDir,
    pub ws: PathBuf,
    pub outside: PathBuf,
    pub home: PathBuf,
    config: PathBuf,
    state: PathBuf,
    scripts: PathBuf,
    runs: std::cell::Cell<usize>,
}

impl World {
    pub fn new() -> World {
        let root = test_dir();
        let base = root.path().canonicalize().unwrap();
        let w = World {
            ws: base.join("ws"),
            outside: base.join("outside"),
            home: base.join("home"),
            config: base.join("config"),
            state: base.join("state"),
            scripts: base.join("scripts"),
            runs: std::cell::Cell::new(0),
            _root: root,
        };
        for d in [&w.ws, &w.outside, &w.home, &w.config, &w.state, &w.scripts] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(w.outside.join("victim"), "orig").unwrap();
        std::fs::create_dir_all(w.home.join(".ssh")).unwrap();
        std::fs::write(w.home.join(".ssh/id_rsa"), SECRET).unwrap();
        std::fs::write(w.home.join(".netrc"), SECRET).unwrap();
        std::fs::write(w.home.join(".bashrc"), "orig").unwrap();
        w
    }

    /// A world whose workspace is a git repository with one commit.
    pub fn with_repo() -> World {
        let w = World::new();
        w.git(&["init", "-q", "."]);
        std::fs::write(w.ws.join("README"), "hello\n").unwrap();
        w.git(&["add", "README"]);
        w.git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-qm",
            "init",
        ]);
        w
    }

    pub fn git(&self, args: &[&str]) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(&self.ws)
            .env("HOME", &self.home)
            .status()
            .unwrap();
        assert!(ok.success(), "git {args:?} failed on the host");
    }

    /// `paddock run --mode MODE --network off --cwd WS EXTRA -- sh FILE` where FILE holds
    /// `script` (outside the workspace), with `$OUT`, `$WS` and `$HOME` set for the script.
    pub fn run_with(&self, mode: &str, extra: &[&str], script: &str) -> Output {
        self.command(mode, extra, script).output().unwrap()
    }

    /// The `paddock run --mode MODE --network off ... -- sh SCRIPT-FILE` command `run_with`
    /// runs, for tests that need the running process (signals, killing Paddock).
    pub fn command(&self, mode: &str, extra: &[&str], script: &str) -> Command {
        let n = self.runs.get() + 1;
        self.runs.set(n);
        let file = self.scripts.join(format!("{n}.sh"));
        std::fs::write(&file, script).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddock"));
        cmd.args(["run", "--mode", mode, "--network", "off", "--cwd"])
            .arg(&self.ws)
            .args(extra);
        if mode == "full-access" {
            // The control runs show what happens without a sandbox; without one an unknown
            // command asks (refused here, with no terminal), so they skip the rules.
            cmd.arg("--no-rules");
        }
        cmd.args(["--", "sh"])
            .arg(&file)
            .env("HOME", &self.home)
            .env("OUT", &self.outside)
            .env("WS", &self.ws)
            .env("PADDOCK_CONFIG_DIR", &self.config)
            .env("PADDOCK_STATE_DIR", &self.state);
        cmd
    }

    /// `run_with` as the unprivileged user `nobody` (uid 65534); see `command_as_nobody`.
    pub fn run_as_nobody(&self, mode: &str, extra: &[&str], script: &str) -> Option<Output> {
        Some(
            self.command_as_nobody(mode, extra, script)?
                .output()
                .unwrap(),
        )
    }

    /// The `command` run as `nobody`, which then owns the workspace, the state directory and
    /// the scripts; `None` (after `paddock_core::testing::skip`, which fails CI) unless the tests run as root, who alone
    /// can switch to it. The binary is copied beside the world so that nobody can reach it
    /// wherever the checkout is.
    pub fn command_as_nobody(&self, mode: &str, extra: &[&str], script: &str) -> Option<Command> {
        use std::os::unix::fs::PermissionsExt;
        if !running_as_root() {
            paddock_core::testing::skip("switching to an unprivileged user needs root");
            return None;
        }
        let base = self.ws.parent().unwrap();
        std::fs::set_permissions(base, std::fs::Permissions::from_mode(0o755)).unwrap();
        for d in [&self.ws, &self.state, &self.scripts] {
            std::os::unix::fs::chown(d, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let exe = base.join("paddock");
        if !exists(&exe) {
            std::fs::copy(env!("CARGO_BIN_EXE_paddock"), &exe).unwrap();
            std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let template = self.command(mode, extra, script);
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(&exe)
            .args(template.get_args());
        for (k, v) in template.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        Some(cmd)
    }

    pub fn run(&self, script: &str) -> Output {
        self.run_with("workspace-write", &[], script)
    }

    /// Writes the user config file the runs read (`$PADDOCK_CONFIG_DIR/config.toml`).
    pub fn write_user_config(&self, text: &str) {
        std::fs::write(self.config.join("config.toml"), text).unwrap();
    }

    pub fn victim(&self) -> String {
        std::fs::read_to_string(self.outside.join("victim")).unwrap()
    }

    /// Asserts that nothing in `outside` changed: `victim` intact and no other entry.
    pub fn assert_outside_untouched(&self) {
        assert_eq!(self.victim(), "orig", "outside/victim was modified");
        let names: Vec<_> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("victim")],
            "outside gained or lost entries"
        );
    }
}

/// The uid and gid of `nobody`, the unprivileged user the root-run suites switch to.
pub const NOBODY: u32 = 65534;

pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the sandbox really ran the script: not refused by Paddock (125), nor by the
/// command rules (76, 77), nor unable to start the shell (126, 127).
pub fn assert_ran(o: &Output) {
    let refused = matches!(o.status.code(), Some(76 | 77 | 125 | 126 | 127));
    assert!(
        !refused,
        "paddock did not run the script: {:?}: {}",
        o.status,
        stderr(o)
    );
}

/// Asserts the run succeeded (exit 0).
pub fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

pub fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// Processes on the host whose command line contains `needle`.
pub fn host_processes_matching(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(needle) {
                out.push(pid);
            }
        }
    }
    out
}

/// An x86_64/aarch64 (64-bit little-endian) ELF's type (`e_type`) and whether a program header
/// names an interpreter (`PT_INTERP`).
pub fn elf_type_and_interpreter(elf: &[u8]) -> (u16, bool) {
    assert_eq!(
        &elf[..6],
        b"\x7fELF\x02\x01",
        "not a 64-bit little-endian ELF"
    );
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap());
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap());
    let (phoff, phentsize, phnum) = (u64_at(0x20) as usize, u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    let interp =
        (0..usize::from(phnum)).any(|i| u32_at(phoff + i * usize::from(phentsize)) == PT_INTERP);
    (u16_at(0x10), interp)
}
