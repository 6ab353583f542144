//! The CLI is a thin front end: OS differences live behind `paddock::Backend`, so no source file
//! of paddock-cli may choose code by `#[cfg(...)]` or `cfg_attr` (test modules aside). One line
//! is allowed: the crate root's `no_main` for Linux with glibc, which Rust takes nowhere else
//! (the entry point it needs comes from `paddock::entry_point!`).

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate attribute that may stay in `main.rs`.
const ENTRY_ATTRIBUTE: &str =
    "#![cfg_attr(all(target_os = \"linux\", target_env = \"gnu\", not(test)), no_main)]";

/// The `#[cfg(` and `cfg_attr(` lines of `source` that are not `#[cfg(test)]` or the entry
/// attribute.
fn os_cfgs(source: &str) -> Vec<&str> {
    source
        .lines()
        .map(str::trim)
        .filter(|l| (l.contains("#[cfg(") || l.contains("cfg_attr(")) && *l != ENTRY_ATTRIBUTE)
        .filter(|l| !l.starts_with("#[cfg(test)]"))
        .collect()
}

#[test]
fn the_cli_sources_hold_no_cfg_block() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 10, "the sources were found: {files:?}");
    let found: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            os_cfgs(&text)
                .into_iter()
                .map(|l| format!("{}: {l}", f.display()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_check_sees_an_os_cfg_and_lets_test_modules_pass() {
    assert_eq!(
        os_cfgs("#[cfg(windows)]\nfn a() {}\n#[cfg(test)]\nmod tests;"),
        ["#[cfg(windows)]"]
    );
    let source = format!("{ENTRY_ATTRIBUTE}\n#![cfg_attr(windows, windows_subsystem = \"x\")]");
    assert_eq!(
        os_cfgs(&source),
        ["#![cfg_attr(windows, windows_subsystem = \"x\")]"]
    );
}
