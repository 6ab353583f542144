//! Windows: embeds an application manifest into `paddock.exe` that declares `asInvoker`, so
//! Windows' installer detection never auto-elevates it (a binary that runs `setup` must not
//! trigger UAC by its name), and declares UTF-8 and long-path awareness.
//!
//! Linux (glibc, dynamically linked, the `cargo build --release` and `cargo install` binary):
//! links the unwinder from the compiler's static `libgcc_eh.a` (whole, ahead of the standard
//! library) instead of loading `libgcc_s.so.1` at every start. The linker's `--as-needed` (on
//! by default for this target) then leaves `libgcc_s` out, which saves loading a shared library
//! and running its constructor (CPU feature probing with `cpuid`, which traps to the hypervisor
//! on VMs) in every `paddock run`: measured 0.1-0.2 ms of CPU and about 10 page faults less per
//! start of `paddock --version` on a 2-core VM
//! (see docs/linux.md, "Start-up, sixth round"). Panics unwind as before. When the C compiler
//! cannot name the archive, or the build is a cross build or uses a linker of its own, nothing
//! changes (libgcc_s is used, as by any Rust program).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    // Only for a native build with the default linker: the archive is asked of the host's C
    // compiler, which is then the one that links.
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && !var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static")
        && var("TARGET") == var("HOST")
        && std::env::var_os("RUSTC_LINKER").is_none()
        && static_unwinder_available()
    {
        println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=gcc_eh");
    }
    if var("CARGO_CFG_TARGET_OS") != "windows" {
        return;
    }
    use embed_manifest::manifest::{ActiveCodePage, ExecutionLevel, Setting};
    let manifest = embed_manifest::new_manifest("Paddock.Cli")
        .requested_execution_level(ExecutionLevel::AsInvoker)
        .active_code_page(ActiveCodePage::Utf8)
        .long_path_aware(Setting::Enabled);
    if let Err(e) = embed_manifest::embed_manifest(manifest) {
        panic!("cannot embed the asInvoker manifest into paddock.exe: {e}");
    }
}

/// Whether the C compiler that links this binary (`$CC`, else `cc`) has `libgcc_eh.a`: it
/// prints the archive's full path when it does, and the bare name when it does not.
fn static_unwinder_available() -> bool {
    println!("cargo:rerun-if-env-changed=CC");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    std::process::Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|p| std::path::PathBuf::from(p.trim()))
        .is_some_and(|p| p.is_absolute() && p.is_file())
}
