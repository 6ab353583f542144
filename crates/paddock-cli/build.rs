//! Embeds an application manifest into `paddock.exe` that declares `asInvoker`, so Windows'
//! installer detection never auto-elevates it (a binary that runs `setup` must not trigger UAC
//! by its name), and declares UTF-8 and long-path awareness. Nothing happens for other targets.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
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
