//! Drops every privilege the init held in its user namespace before the command runs: the
//! capability bounding and ambient sets, the effective/permitted/inheritable sets, root's
//! special treatment at exec (locked securebits), and sets `no_new_privs`.

use crate::plan::LinuxError;
use crate::sys;
use paddock_core::{Layer, LayerReport, LayerStatus, Protection};

fn failed(call: &'static str) -> impl FnOnce(std::io::Error) -> LinuxError {
    move |source| LinuxError::Syscall {
        call,
        target: "self".into(),
        source,
    }
}

/// Drops everything; after this, not even a uid-0 caller regains a capability by `execve`.
pub fn drop_all() -> Result<LayerReport, LinuxError> {
    let bits = libc::SECBIT_NOROOT
        | libc::SECBIT_NOROOT_LOCKED
        | libc::SECBIT_NO_SETUID_FIXUP
        | libc::SECBIT_NO_SETUID_FIXUP_LOCKED
        | libc::SECBIT_KEEP_CAPS_LOCKED
        | libc::SECBIT_NO_CAP_AMBIENT_RAISE
        | libc::SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    sys::prctl(libc::PR_SET_SECUREBITS, bits as libc::c_ulong)
        .map_err(failed("prctl(PR_SET_SECUREBITS)"))?;
    for cap in 0..=sys::last_capability() {
        sys::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong)
            .map_err(failed("prctl(PR_CAPBSET_DROP)"))?;
    }
    // PR_CAP_AMBIENT takes its sub-command as the first argument.
    sys::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
    )
    .map_err(failed("prctl(PR_CAP_AMBIENT_CLEAR_ALL)"))?;
    sys::clear_capabilities().map_err(failed("capset"))?;
    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).map_err(failed("prctl(PR_SET_NO_NEW_PRIVS)"))?;
    Ok(LayerReport::new(
        Layer::Privileges,
        LayerStatus::Enforced,
        "every capability dropped (bounding, ambient, effective, permitted, inheritable); \
         securebits noroot and no_setuid_fixup locked; no_new_privs set",
    )
    .enforcing([Protection::Privileges]))
}
