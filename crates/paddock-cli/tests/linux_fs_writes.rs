//! Attacks on the filesystem boundary in workspace-write mode: every way of writing outside the
//! workspace, each in a fresh world, must leave the host untouched.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

#[test]
fn write_outside_workspace_by_absolute_path_is_denied() {
    let w = World::new();
    assert_ran(&w.run("echo pwn > $OUT/victim; echo pwn > $OUT/new; echo pwn >> $OUT/victim"));
    w.assert_outside_untouched();
}

#[test]
fn write_outside_workspace_through_dotdot_is_denied() {
    let w = World::new();
    assert_ran(
        &w.run("echo pwn > ../outside/victim; echo pwn > ../outside/new; echo pwn > ../../escape"),
    );
    w.assert_outside_untouched();
    assert!(!exists(&w.ws.join("../../escape")));
}

#[test]
fn symlink_made_before_the_run_does_not_redirect_writes() {
    let w = World::new();
    std::os::unix::fs::symlink(w.outside.join("victim"), w.ws.join("file-link")).unwrap();
    std::os::unix::fs::symlink(&w.outside, w.ws.join("dir-link")).unwrap();
    assert_ran(&w.run("echo pwn > file-link; echo pwn > dir-link/new; cp /etc/hostname dir-link/"));
    w.assert_outside_untouched();
}

#[test]
fn symlink_made_during_the_run_does_not_redirect_writes() {
    let w = World::new();
    assert_ran(&w.run("ln -s $OUT/victim l1; echo pwn > l1; ln -s $OUT l2; echo pwn > l2/new; ln -s / root; echo pwn > root$OUT/new2"));
    w.assert_outside_untouched();
}

#[test]
fn write_through_proc_self_root_is_denied() {
    let w = World::new();
    assert_ran(&w.run("echo pwn > /proc/self/root$OUT/victim; echo pwn > /proc/1/root$OUT/new; echo pwn > /proc/self/cwd/../outside/new"));
    w.assert_outside_untouched();
}

#[test]
fn write_through_proc_entries_of_host_processes_is_denied() {
    let w = World::new();
    // A host process whose cwd and root are the outside directory's filesystem.
    let mut host = std::process::Command::new("sleep")
        .arg("30")
        .current_dir(&w.outside)
        .spawn()
        .unwrap();
    let script = format!(
        "ls /proc/{pid} >/dev/null 2>&1 && echo HOST-PID-VISIBLE; \
         for p in /proc/[0-9]*; do echo pwn > $p/cwd/new 2>/dev/null; echo pwn > $p/root$OUT/new2 2>/dev/null; done; true",
        pid = host.id()
    );
    let out = w.run(&script);
    host.kill().unwrap();
    host.wait().unwrap();
    assert_ran(&out);
    w.assert_outside_untouched();
}

#[test]
fn rename_out_of_the_workspace_is_denied() {
    let w = World::new();
    std::fs::write(w.ws.join("mine"), "data").unwrap();
    assert_ran(&w.run("mv mine $OUT/mine; mv mine $OUT/victim"));
    w.assert_outside_untouched();
    assert_eq!(std::fs::read_to_string(w.ws.join("mine")).unwrap(), "data");
}

#[test]
fn rename_into_the_workspace_from_outside_is_denied() {
    let w = World::new();
    assert_ran(&w.run("mv $OUT/victim ./stolen; mv $OUT ./stolen-dir"));
    w.assert_outside_untouched();
}

#[test]
fn delete_outside_is_denied() {
    let w = World::new();
    assert_ran(&w.run("rm -f $OUT/victim; rm -rf $OUT; rmdir $OUT"));
    w.assert_outside_untouched();
}

#[test]
fn truncate_outside_is_denied() {
    let w = World::new();
    assert_ran(&w.run("truncate -s 0 $OUT/victim; : > $OUT/victim; python3 -c \"import os; os.truncate('$OUT/victim', 0)\""));
    w.assert_outside_untouched();
}

#[test]
fn chmod_outside_is_denied() {
    let w = World::new();
    let before = std::fs::metadata(w.outside.join("victim"))
        .unwrap()
        .permissions()
        .mode();
    assert_ran(&w.run("chmod 0777 $OUT/victim; chmod 0000 $OUT; chown 1:1 $OUT/victim"));
    let meta = std::fs::metadata(w.outside.join("victim")).unwrap();
    assert_eq!(meta.permissions().mode(), before);
    assert_eq!(meta.uid(), std::fs::metadata(&w.ws).unwrap().uid());
    w.assert_outside_untouched();
}

#[test]
fn utimes_outside_is_denied() {
    let w = World::new();
    let before = std::fs::metadata(w.outside.join("victim")).unwrap().mtime();
    assert_ran(&w.run("touch -d 2000-01-01 $OUT/victim; touch -d 2000-01-01 $OUT"));
    assert_eq!(
        std::fs::metadata(w.outside.join("victim")).unwrap().mtime(),
        before
    );
    w.assert_outside_untouched();
}

#[test]
fn mkdir_outside_is_denied() {
    let w = World::new();
    assert_ran(&w.run("mkdir $OUT/d; mkdir -p $OUT/a/b"));
    w.assert_outside_untouched();
}

#[test]
fn mknod_and_mkfifo_outside_are_denied() {
    let w = World::new();
    assert_ran(&w.run("mkfifo $OUT/fifo; mknod $OUT/null c 1 3; python3 -c \"import os; os.mkfifo('$OUT/fifo2')\""));
    w.assert_outside_untouched();
}

#[test]
fn device_nodes_cannot_be_created_even_in_the_workspace() {
    let w = World::new();
    assert_ran(&w.run("mknod mem c 1 1; mknod disk b 8 0"));
    assert!(!exists(&w.ws.join("mem")) && !exists(&w.ws.join("disk")));
}

#[test]
fn dev_shm_is_private_to_the_run() {
    let w = World::new();
    let tag = format!("paddock-test-{}", std::process::id());
    let host_file = std::path::Path::new("/dev/shm").join(&tag);
    std::fs::write(&host_file, "host").unwrap();
    let out = w.run(&format!(
        "cat /dev/shm/{tag}; echo pwn > /dev/shm/{tag}; echo pwn > /dev/shm/{tag}-new"
    ));
    let host_content = std::fs::read_to_string(&host_file).unwrap();
    let leaked = exists(&std::path::Path::new("/dev/shm").join(format!("{tag}-new")));
    std::fs::remove_file(&host_file).unwrap();
    assert_ran(&out);
    assert!(
        !stdout(&out).contains("host"),
        "the host's /dev/shm is visible"
    );
    assert_eq!(host_content, "host");
    assert!(!leaked, "a file written to /dev/shm reached the host");
}

#[test]
fn var_tmp_is_private_to_the_run() {
    let w = World::new();
    let tag = format!("paddock-test-{}", std::process::id());
    let host_file = std::path::Path::new("/var/tmp").join(&tag);
    std::fs::write(&host_file, "host").unwrap();
    let out = w.run(&format!(
        "cat /var/tmp/{tag}; echo pwn > /var/tmp/{tag}; echo pwn > /var/tmp/{tag}-new"
    ));
    let host_content = std::fs::read_to_string(&host_file).unwrap();
    let leaked = exists(&std::path::Path::new("/var/tmp").join(format!("{tag}-new")));
    std::fs::remove_file(&host_file).unwrap();
    assert_ran(&out);
    assert!(!stdout(&out).contains("host"));
    assert_eq!(host_content, "host");
    assert!(!leaked);
}

#[test]
fn tmp_is_private_to_the_run() {
    let w = World::new();
    let host = tempfile::NamedTempFile::new_in("/tmp").unwrap();
    std::fs::write(host.path(), "host").unwrap();
    let tag = format!("/tmp/paddock-test-new-{}", std::process::id());
    let out = w.run(&format!(
        "cat {p}; echo pwn > {p}; echo pwn > {tag}",
        p = host.path().display()
    ));
    assert_ran(&out);
    assert!(!stdout(&out).contains("host"));
    assert_eq!(std::fs::read_to_string(host.path()).unwrap(), "host");
    assert!(!exists(std::path::Path::new(&tag)));
}

#[test]
fn home_dotfiles_cannot_be_written() {
    let w = World::new();
    assert_ran(&w.run("echo pwn >> ~/.bashrc; echo pwn > ~/.profile; mkdir -p ~/.config/autostart; echo pwn > ~/.ssh/authorized_keys"));
    assert_eq!(
        std::fs::read_to_string(w.home.join(".bashrc")).unwrap(),
        "orig"
    );
    assert!(!exists(&w.home.join(".profile")));
    assert!(!exists(&w.home.join(".config")));
    assert!(!exists(&w.home.join(".ssh/authorized_keys")));
}

#[test]
fn a_workspace_under_tmp_is_still_writable_and_its_neighbours_are_not() {
    let base = tempfile::tempdir_in("/tmp").unwrap();
    let ws = base.path().join("ws");
    std::fs::create_dir(&ws).unwrap();
    std::fs::write(base.path().join("neighbour"), "orig").unwrap();
    // The script lives in the workspace: the rest of the host's /tmp is invisible in the sandbox.
    let script = ws.join("attack.sh");
    std::fs::write(
        &script,
        "echo ok > inside; echo pwn > ../neighbour; echo pwn > ../new",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paddock"))
        .args([
            "run",
            "--mode",
            "workspace-write",
            "--network",
            "off",
            "--cwd",
        ])
        .arg(&ws)
        .arg("--")
        .arg("sh")
        .arg(&script)
        .env("PADDOCK_CONFIG_DIR", base.path().join("config"))
        .env("PADDOCK_STATE_DIR", base.path().join("state"))
        .output()
        .unwrap();
    assert_ran(&out);
    assert_eq!(std::fs::read_to_string(ws.join("inside")).unwrap(), "ok\n");
    assert_eq!(
        std::fs::read_to_string(base.path().join("neighbour")).unwrap(),
        "orig"
    );
    assert!(!exists(&base.path().join("new")));
}

#[test]
fn control_the_same_attack_succeeds_in_full_access_mode() {
    // Proves the harness detects a write outside: without a sandbox the attack lands.
    let w = World::new();
    let out = w.run_with("full-access", &[], "echo pwn > $OUT/victim");
    assert_ok(&out);
    assert_eq!(w.victim(), "pwn\n");
}

#[test]
fn hard_link_to_an_outside_file_cannot_be_made() {
    let w = World::new();
    assert_ran(&w.run("ln $OUT/victim stolen-link; echo pwn >> stolen-link"));
    assert_eq!(
        std::fs::metadata(w.outside.join("victim")).unwrap().nlink(),
        1,
        "a hard link was made"
    );
    w.assert_outside_untouched();
}

/// How many mounts of this process's mount table sit on `/sys`.
fn mounts_on_sys(mountinfo: &str) -> usize {
    mountinfo
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some("/sys"))
        .count()
}

/// Set-up parks the host's root on /sys while a thread unmounts it (`init::old_root`): by the
/// time the command runs it is gone. Through /sys the host's files are neither visible nor
/// writable, and /sys holds what the host's does (its sysfs, read-only), one mount as outside.
#[test]
fn the_host_root_parked_on_sys_during_set_up_is_gone_before_the_command_runs() {
    let w = World::new();
    let out = w.run(
        "test -e /sys$OUT/victim && echo HOST-ROOT-VISIBLE; \
         echo pwn > /sys$OUT/victim; echo pwn > /sys$OUT/new; \
         echo MOUNTINFO; cat /proc/self/mountinfo; echo END; stat -f -c %T /sys",
    );
    assert_ran(&out);
    let text = stdout(&out);
    assert!(!text.contains("HOST-ROOT-VISIBLE"), "{text}");
    let inside = text
        .split("MOUNTINFO\n")
        .nth(1)
        .and_then(|t| t.split("END\n").next())
        .unwrap_or_default();
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert_eq!(mounts_on_sys(inside), mounts_on_sys(&host), "{inside}");
    if mounts_on_sys(&host) == 1 {
        assert!(text.ends_with("sysfs\n"), "{text}");
    }
    w.assert_outside_untouched();
}

/// With a path of the policy under /sys the old root cannot be parked there: it is unmounted
/// in place, and the sandbox is the same (the deny-read file is hidden, /sys is there).
#[test]
fn a_deny_read_path_under_sys_still_gives_a_working_sandbox() {
    let secret = "/sys/kernel/uevent_seqnum";
    if !std::path::Path::new(secret).exists() {
        panic!("{secret} is missing on this host; the test needs a readable sysfs file");
    }
    let w = World::new();
    let script = format!(
        "cat {secret} && echo READ; ls /sys/kernel >/dev/null && echo LISTED; \
         test -e /sys$OUT/victim && echo HOST-ROOT-VISIBLE; echo pwn > $OUT/victim; true"
    );
    let out = w.run_with("workspace-write", &["--deny-read", secret], &script);
    assert_ran(&out);
    let text = stdout(&out);
    assert!(!text.contains("READ"), "{text}");
    assert!(text.contains("LISTED"), "{text}");
    assert!(!text.contains("HOST-ROOT-VISIBLE"), "{text}");
    w.assert_outside_untouched();
}
