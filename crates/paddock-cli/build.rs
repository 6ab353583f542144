//! Windows: embeds an application manifest into `paddock.exe` that declares `asInvoker`, so
//! Windows' installer detection never auto-elevates it (a binary that runs `setup` must not
//! trigger UAC by its name), and declares UTF-8 and long-path awareness.
//!
//! Linux (glibc, native build: what `cargo build --release` and `cargo install` give): links
//! the `paddock` binary statically against glibc, as a position-independent static executable
//! (`-static-pie`, so ASLR is kept), the same kind of binary `scripts/build-release.sh` makes
//! with `--target` and `+crt-static`. Every `paddock run` then starts without the dynamic
//! loader (no shared libraries to map, no symbol lookup, no relocation of libc): measured
//! 0.2-0.4 ms per run on a 2-core VM (docs/linux.md, "Start-up, eighth round"). Cargo cannot
//! make one package's binary static (a `crt-static` target feature would reach the
//! proc-macros and build scripts too, which cannot be static), so this script does it at the
//! link: rustc asks the linker for `-lc -lm -lpthread -ldl -lrt -lutil -lgcc_s`; a directory
//! searched first holds, under each of those names, a linker script naming the C compiler's own
//! `libc.a`, `libgcc.a` and `libgcc_eh.a`, and `-static-pie` makes the C compiler link the
//! static start files and no interpreter. Only the binaries get this (`rustc-link-arg-bins`);
//! the tests and other crates link as usual.
//!
//! What it does not do: link statically when the C compiler has no static glibc (`libc.a`,
//! from `libc6-dev` or `glibc-static`), for a cross build, with a linker chosen through
//! `RUSTC_LINKER` or link arguments in `RUSTFLAGS`, or when `PADDOCK_DYNAMIC_GLIBC=1` is set (a
//! packager that wants glibc's security updates to reach Paddock without a rebuild). Then the
//! binary is dynamically linked, and the unwinder comes from the compiler's static
//! `libgcc_eh.a` (whole, ahead of the standard library) so that `libgcc_s.so.1` and its
//! constructor (CPU probing with `cpuid`, a trap to the hypervisor on VMs) are not loaded at
//! every start. Panics unwind as before either way. Paddock resolves no user names; its one
//! NSS call, the allow-list proxy's `getaddrinfo`, is kept to glibc's built-in `files` and
//! `dns` sources in a static binary (`paddock_linux::sys::built_in_host_lookups`), so no NSS
//! module of another glibc is loaded after an upgrade; `build-release.sh` and a test fail if
//! the binary ever calls another function that needs glibc's shared libraries at run time.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    println!("cargo:rerun-if-env-changed=PADDOCK_DYNAMIC_GLIBC");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    // Only for a native build with the default linker: the archives are asked of `cc`, which
    // is then the one that links (rustc's default linker on `*-linux-gnu`; one chosen in
    // Cargo's config reaches this script as `RUSTC_LINKER`).
    let native_glibc = var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && !var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static")
        && var("TARGET") == var("HOST")
        && std::env::var_os("RUSTC_LINKER").is_none()
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("link");
    if native_glibc {
        if var("PADDOCK_DYNAMIC_GLIBC") != "1" {
            let out = PathBuf::from(var("OUT_DIR")).join("static-glibc");
            if static_glibc(&out).is_some() {
                println!("cargo:rustc-link-arg-bins=-L{}", out.display());
                println!("cargo:rustc-link-arg-bins=-static-pie");
            }
        }
        if compiler_file("libgcc_eh.a").is_some() {
            println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=gcc_eh");
        }
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

/// The libraries rustc asks the linker for on `*-linux-gnu` (the `libc` crate's and std's
/// `#[link]`s): each is answered by the static archives.
const GLIBC_LIBRARIES: [&str; 7] = ["c", "m", "pthread", "dl", "rt", "util", "gcc_s"];

/// Writes into `dir` one linker script per library of [`GLIBC_LIBRARIES`], each naming the
/// static glibc archives and the compiler's runtime archives as one group (they refer to each
/// other). `None`, and nothing written, when the C compiler lacks libc's, libm's or its own
/// runtime's archive, or the static-pie start file.
fn static_glibc(dir: &Path) -> Option<()> {
    let start = compiler_file("rcrt1.o")?;
    rerun_if_changed(&start);
    // libc and libm are separate archives in every glibc; the others are empty since glibc
    // 2.34 (folded into libc) but real before it.
    let required = ["libc.a", "libm.a", "libgcc.a", "libgcc_eh.a"].map(|a| (a, true));
    let optional = ["libpthread.a", "libdl.a", "librt.a", "libutil.a"].map(|a| (a, false));
    let mut group = String::new();
    for (archive, needed) in required.into_iter().chain(optional) {
        let Some(path) = compiler_file(archive) else {
            if needed {
                return None;
            }
            continue;
        };
        // An upgrade that removes an archive, or writes one with a newer time, builds the link
        // again (package managers may keep a package's file times; `cargo clean` then does).
        rerun_if_changed(&path);
        let path = path.into_os_string().into_string().ok()?;
        // A linker script names files between blanks; a path with one would need quoting that
        // not every linker reads alike.
        if path.contains(|c: char| c.is_whitespace() || c == '"' || c == ')') {
            return None;
        }
        group.push_str(&path);
        group.push(' ');
    }
    std::fs::create_dir_all(dir).ok()?;
    for name in GLIBC_LIBRARIES {
        let script = format!("/* written by paddock-cli's build.rs */\nGROUP ( {group})\n");
        std::fs::write(dir.join(format!("lib{name}.so")), script).ok()?;
    }
    Some(())
}

/// The full path of a file of the linking C compiler's (`cc`) runtime: it prints the full path
/// when it has the file, and the bare name when it does not. Not `$CC`: rustc links with `cc`
/// whatever `$CC` says, and archives of another compiler could mismatch its start files.
fn compiler_file(name: &str) -> Option<PathBuf> {
    std::process::Command::new("cc")
        .arg(format!("-print-file-name={name}"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|p| PathBuf::from(p.trim()))
        .filter(|p| p.is_absolute() && p.is_file())
}

/// Runs this script again when `path` changes or goes away.
fn rerun_if_changed(path: &Path) {
    println!("cargo:rerun-if-changed={}", path.display());
}
