//! The spec's memo (`spec_memo`) held against fresh computations: a resident front end makes
//! it (as a spare sandbox's build does) and uses it (as a run does), and after every random
//! change to a home directory, a workspace with a repository, and the files the spec reads
//! (secrets, git configs and what they include, hooks links, shell start-up files, Paddock's
//! project files, links on the way), the spec a run gets must be exactly the spec a fresh
//! computation gives. The memo must also be used when nothing changed (else this test would
//! pass with a memo that never is).
//!
//! Its own test binary: it sets `HOME` and Paddock's directories for the whole process. Linux
//! only: elsewhere there are no watches, and the spec is computed every time.

#![cfg(target_os = "linux")]

use paddock_core::config::default_policy;
use paddock_core::integrity::roots_watch::{RootsWatch, WatchPlan};
use paddock_core::spec_memo::SpecMemo;
use paddock_core::testing::Rng;
use paddock_core::{Policy, SandboxSpec};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

struct Tree {
    base: PathBuf,
    home: PathBuf,
    ws: PathBuf,
}

impl Tree {
    fn new(base: PathBuf) -> Tree {
        let home = base.join("home");
        let ws = base.join("ws");
        for d in [
            home.clone(),
            ws.join(".git/objects"),
            ws.join(".git/refs"),
            ws.join("dotfiles"),
            ws.join("scripts"),
            base.join("elsewhere/docker"),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(ws.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(ws.join(".git/config"), "[core]\n\tbare = false\n").unwrap();
        std::fs::write(ws.join("dotfiles/bashrc"), "").unwrap();
        std::fs::write(ws.join("scripts/pc"), "#!/bin/sh\n").unwrap();
        std::fs::write(base.join("elsewhere/docker/config.json"), "{}").unwrap();
        Tree { base, home, ws }
    }
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn remove(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).unwrap(),
        Ok(_) => std::fs::remove_file(p).unwrap(),
        Err(_) => {}
    }
}

/// Makes one random change; returns what it did.
fn change(t: &Tree, rng: &mut Rng) -> String {
    let (h, ws) = (&t.home, &t.ws);
    let flip = |p: &Path, make: &dyn Fn(&Path)| {
        if std::fs::symlink_metadata(p).is_ok() {
            remove(p);
            format!("removed {}", p.display())
        } else {
            make(p);
            format!("made {}", p.display())
        }
    };
    match rng.below(16) {
        0 => flip(&h.join(".ssh"), &|p| write(&p.join("id_ed25519"), "k")),
        1 => flip(&h.join(".aws/credentials"), &|p| write(p, "k")),
        2 => flip(&h.join(".netrc"), &|p| write(p, "machine x")),
        3 => {
            let texts = [
                String::new(),
                format!("[core]\n\thooksPath = {}/hooks-dir\n", ws.display()),
                format!("[include]\n\tpath = {}/inc.cfg\n", h.display()),
            ];
            let text = &texts[rng.below(texts.len())];
            write(&h.join(".gitconfig"), text);
            format!("~/.gitconfig now {text:?}")
        }
        4 => {
            let texts = [
                String::new(),
                format!("[core]\n\tfsmonitor = {}/fsm\n", ws.display()),
            ];
            let text = &texts[rng.below(texts.len())];
            write(&h.join("inc.cfg"), text);
            format!("~/inc.cfg now {text:?}")
        }
        5 => {
            let texts = [
                "[core]\n\tbare = false\n",
                "[core]\n\thooksPath = .husky\n",
                "[core]\n\tbare = false\n[include]\n\tpath = ../extra.cfg\n",
            ];
            let text = texts[rng.below(texts.len())];
            write(&ws.join(".git/config"), text);
            format!("the repository's config now {text:?}")
        }
        6 => flip(&ws.join("paddock.toml"), &|p| write(p, "")),
        7 => flip(&ws.join(".paddock"), &|p| std::fs::create_dir(p).unwrap()),
        8 => flip(&h.join(".bashrc"), &|p| {
            symlink(ws.join("dotfiles/bashrc"), p).unwrap()
        }),
        9 => flip(&ws.join(".git/hooks/pre-commit"), &|p| {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            symlink("../../scripts/pc", p).unwrap();
        }),
        10 => {
            let (a, b) = (h.join(".config"), h.join(".config-old"));
            if a.exists() {
                std::fs::rename(&a, &b).unwrap();
                "moved ~/.config away".into()
            } else if b.exists() {
                std::fs::rename(&b, &a).unwrap();
                "moved ~/.config back".into()
            } else {
                write(
                    &a.join("git/config"),
                    &format!("[core]\n\thooksPath = {}/cfg-hooks\n", ws.display()),
                );
                "made ~/.config/git/config".into()
            }
        }
        11 => flip(&h.join(".docker"), &|p| {
            symlink(t.base.join("elsewhere/docker"), p).unwrap()
        }),
        12 => flip(&ws.join(".husky"), &|p| std::fs::create_dir(p).unwrap()),
        13 => flip(&ws.join("sub/.git"), &|p| {
            write(p, &format!("gitdir: {}/.git\n", ws.display()))
        }),
        14 => flip(&ws.join("extra.cfg"), &|p| {
            write(p, "[core]\n\tpager = less\n")
        }),
        _ => "nothing".into(),
    }
}

fn run_spec(
    policy: &Policy,
    ws: &Path,
    watch: &mut Option<RootsWatch>,
    memo: &mut Option<SpecMemo>,
    refresh: bool,
) -> Result<SandboxSpec, String> {
    let plan = WatchPlan::Kept(watch.take());
    let (spec, w) = SandboxSpec::from_policy_kept(policy, ws, plan, memo, refresh)
        .map_err(|e| e.to_string())?;
    *watch = w;
    Ok(spec)
}

#[test]
fn a_run_gets_the_fresh_spec_after_any_change_and_the_memo_when_nothing_changed() {
    let d = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(d.path()).unwrap();
    // SAFETY: this test binary holds this one test; nothing else reads the environment.
    unsafe {
        std::env::set_var("HOME", base.join("home"));
        std::env::set_var("PADDOCK_CONFIG_DIR", base.join("config"));
        std::env::set_var("PADDOCK_STATE_DIR", base.join("state"));
        std::env::remove_var("XDG_CONFIG_HOME");
    }
    let mut policy = default_policy();
    policy
        .deny_read
        .push(PathBuf::from("~/.docker/config.json"));
    let (mut used, mut nothing_steps, mut changed_spec) = (0, 0, 0);
    for seed in 1..=12u64 {
        let root = base.join(format!("seed{seed}"));
        std::fs::create_dir(&root).unwrap();
        let t = Tree::new(root);
        // SAFETY: as above.
        unsafe { std::env::set_var("HOME", &t.home) };
        let mut rng = Rng(seed);
        let (mut watch, mut memo) = (None, None);
        let mut last = SandboxSpec::from_policy(&policy, &t.ws).map_err(|e| e.to_string());
        for step in 0..40 {
            // A spare's build makes (or keeps) the memo; then the change; then a run.
            let refreshed = run_spec(&policy, &t.ws, &mut watch, &mut memo, true);
            assert_eq!(refreshed, last, "seed {seed} step {step}: the spare's spec");
            let did = change(&t, &mut rng);
            let ran = run_spec(&policy, &t.ws, &mut watch, &mut memo, false);
            let fresh = SandboxSpec::from_policy(&policy, &t.ws).map_err(|e| e.to_string());
            assert_eq!(ran, fresh, "seed {seed} step {step}, after: {did}");
            let hit = memo.as_ref().is_some_and(SpecMemo::usable);
            if did == "nothing" {
                nothing_steps += 1;
                assert!(hit, "seed {seed} step {step}: nothing changed, yet no memo");
            }
            used += usize::from(hit);
            changed_spec += usize::from(fresh != last);
            last = fresh;
        }
    }
    assert!(
        nothing_steps > 5 && used > nothing_steps,
        "{used} used, {nothing_steps} quiet"
    );
    assert!(
        changed_spec > 100,
        "the changes changed the spec only {changed_spec} times"
    );
    println!("memo used in {used} of 480 runs; the spec changed {changed_spec} times");
}
