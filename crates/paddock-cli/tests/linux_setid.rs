//! Attacks that plant a setuid or setgid program: the bit stays on the host file (a sandbox
//! mount's `nosuid` does not follow the file out), so a root caller's sandbox could leave a
//! setuid-root shell in the workspace for any local user. Ordinary mode changes keep working.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

/// Every way the attack tries to leave a set-id file behind, one file name each.
const ATTACK: &str = r#"
cp /bin/sh suid; chmod u+s suid
cp /bin/sh sgid; chmod g+s sgid
cp /bin/sh numeric; chmod 4755 numeric
install -m 4755 /bin/sh installed
cp /bin/sh py
python3 - <<'PY'
import os
def attempt(what, f):
    try:
        f()
    except OSError as e:
        print(what, e.errno)
attempt("chmod", lambda: os.chmod("py", 0o4755))
attempt("chmod-garbage", lambda: os.chmod("py", 0o4755 | 0o10000000))
fd = os.open("py", os.O_RDONLY)
attempt("fchmod", lambda: os.fchmod(fd, 0o2755))
attempt("open-creat", lambda: os.open("created", os.O_CREAT | os.O_WRONLY, 0o4755))
attempt("mknod", lambda: os.mknod("made", 0o104755))
PY
cp -p /bin/su copied-su 2>/dev/null
echo done
"#;

/// Names of the regular files in `dir` whose mode has S_ISUID or S_ISGID.
fn setid_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| e.metadata().unwrap().permissions().mode() & 0o6000 != 0)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn assert_no_setid_left(w: &World, out: &Output) {
    assert_ran(out);
    assert!(stdout(out).contains("done"), "{}", stderr(out));
    assert_eq!(
        setid_files(&w.ws),
        Vec::<String>::new(),
        "the sandbox left set-id files on the host:\n{}{}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn no_setuid_or_setgid_file_survives_a_run() {
    let w = World::new();
    let out = w.run(ATTACK);
    assert_no_setid_left(&w, &out);
    let text = stdout(&out);
    for what in [
        "chmod 1",
        "chmod-garbage 1",
        "fchmod 1",
        "open-creat 1",
        "mknod 1",
    ] {
        assert!(
            text.contains(what),
            "{what} was not refused with EPERM: {text}"
        );
    }
}

#[test]
fn an_unprivileged_caller_cannot_leave_a_setuid_file_either() {
    let w = World::new();
    let Some(out) = w.run_as_nobody("workspace-write", &[], ATTACK) else {
        return;
    };
    assert_no_setid_left(&w, &out);
}

#[test]
fn ordinary_mode_changes_still_work() {
    let w = World::new();
    let out = w.run(
        "echo 'echo hi' > tool; chmod +x tool; ./tool; chmod 644 tool; stat -c %a tool; mkdir sub; chmod 700 sub; stat -c %a sub",
    );
    assert_ok(&out);
    assert_eq!(stdout(&out), "hi\n644\n700\n");
}
