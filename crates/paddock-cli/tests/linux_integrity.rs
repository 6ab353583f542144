//! Attacks on what the host runs or reads *after* a sandboxed run (issue 9): git control files,
//! nested and planted repositories, Paddock's own config, placeholders. Each test plants code
//! the way an attacker would, then runs the user's real `git` on the host, outside the sandbox,
//! and checks the planted code did not run (it would create `outside/pwned`). The legitimate
//! side (git commit, git init, git clone) is checked in the same file.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;
use std::path::Path;
use std::process::Command;

/// The command an attacker's git config runs on the host: creates `$OUT/pwned`.
fn payload(w: &World) -> String {
    format!("touch {}/pwned", w.outside.display())
}

/// Runs the user's `git ARGS` on the host in `dir` (as after the run) and returns whether the
/// planted code ran.
fn host_git_runs_planted_code(w: &World, dir: &Path, args: &[&str]) -> bool {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", &w.home)
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap())
        // Plants name `$OUT/pwned`; the shell git starts for them expands it.
        .env("OUT", &w.outside)
        .output()
        .unwrap();
    eprintln!("host git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    exists(&w.outside.join("pwned"))
}

/// The planted code really runs when git is pointed at it: the same plant, made on the host
/// without any sandbox, triggers the payload. Keeps each attack test honest.
fn assert_plant_would_run(w: &World, plant: &str, dir: &Path, args: &[&str]) {
    let ok = Command::new("sh")
        .args(["-c", plant])
        .current_dir(&w.ws)
        .env("OUT", &w.outside)
        .env("HOME", &w.home)
        .status()
        .unwrap();
    assert!(ok.success(), "the control plant failed on the host");
    assert!(
        host_git_runs_planted_code(w, dir, args),
        "the plant does not trigger git even without a sandbox: the attack test proves nothing"
    );
}

fn stderr_reports_integrity(o: &std::process::Output) -> bool {
    stderr(o).contains("paddock: integrity:")
}

const COMMONDIR_PLANT: &str = "mkdir -p evil/hooks evil/objects evil/refs; \
     cp .git/HEAD evil/HEAD; \
     printf '[core]\\n\\trepositoryformatversion = 0\\n\\tfsmonitor = \"touch $OUT/pwned; false\"\\n' > evil/config; \
     echo ../evil > .git/commondir";

#[test]
fn a_planted_commondir_does_not_run_code_on_the_host_later() {
    let control = World::with_repo();
    assert_plant_would_run(&control, COMMONDIR_PLANT, &control.ws, &["status"]);

    let w = World::with_repo();
    let o = w.run(COMMONDIR_PLANT);
    assert_ran(&o);
    assert!(!exists(&w.ws.join(".git/commondir")), "{}", stderr(&o));
    assert!(stderr_reports_integrity(&o), "{}", stderr(&o));
    assert!(!host_git_runs_planted_code(&w, &w.ws, &["status"]));
}

#[test]
fn a_missing_hooks_dir_planted_during_the_run_is_removed() {
    let w = World::with_repo();
    std::fs::remove_dir_all(w.ws.join(".git/hooks")).unwrap();
    let o = w.run(
        "mkdir -p .git/hooks && printf '#!/bin/sh\\ntouch $OUT/pwned\\n' > .git/hooks/post-checkout \
         && chmod +x .git/hooks/post-checkout && echo planted",
    );
    assert_ran(&o);
    assert!(
        stdout(&o).contains("planted"),
        "the plant itself must succeed in the sandbox"
    );
    assert!(!exists(&w.ws.join(".git/hooks")));
    assert!(!host_git_runs_planted_code(
        &w,
        &w.ws,
        &["checkout", "-q", "-b", "x"]
    ));
}

#[test]
fn config_worktree_info_and_alternates_cannot_be_planted() {
    let w = World::with_repo();
    let o = w.run(
        "printf '[core]\\n\\tfsmonitor = x\\n' > .git/config.worktree; \
         printf '* filter=evil\\n' > .git/info/attributes; \
         echo /tmp > .git/objects/info/alternates; echo done",
    );
    assert_ran(&o);
    assert!(!exists(&w.ws.join(".git/config.worktree")));
    assert!(!exists(&w.ws.join(".git/info/attributes")));
    assert!(!exists(&w.ws.join(".git/objects/info/alternates")));
}

#[test]
fn a_hooks_path_inside_the_worktree_is_read_only() {
    let w = World::with_repo();
    std::fs::create_dir(w.ws.join(".husky")).unwrap();
    w.git(&["config", "core.hooksPath", ".husky"]);
    let plant = "printf '#!/bin/sh\\ntouch $OUT/pwned\\n' > .husky/post-checkout; chmod +x .husky/post-checkout";
    let o = w.run(&format!("{plant}; echo done"));
    assert_ran(&o);
    assert!(!exists(&w.ws.join(".husky/post-checkout")));
    assert!(!host_git_runs_planted_code(
        &w,
        &w.ws,
        &["checkout", "-q", "-b", "y"]
    ));
}

#[test]
fn an_include_target_and_an_fsmonitor_script_in_the_worktree_are_read_only() {
    let w = World::with_repo();
    std::fs::write(w.ws.join("shared.gitconfig"), "[user]\n\tname = t\n").unwrap();
    std::fs::write(w.ws.join("fsmon.sh"), "#!/bin/sh\nexit 1\n").unwrap();
    w.git(&["config", "include.path", "../shared.gitconfig"]);
    let o = w.run(&format!(
        "printf '[core]\\n\\tfsmonitor = \"{}\"\\n' >> shared.gitconfig; \
         printf '#!/bin/sh\\n{}\\n' > fsmon.sh; echo done",
        payload(&w),
        payload(&w)
    ));
    assert_ran(&o);
    assert_eq!(
        std::fs::read_to_string(w.ws.join("shared.gitconfig")).unwrap(),
        "[user]\n\tname = t\n"
    );
    assert!(!host_git_runs_planted_code(&w, &w.ws, &["status"]));
}

#[test]
fn an_existing_nested_repository_is_protected_like_the_top_one() {
    let w = World::with_repo();
    let nested = w.ws.join("vendor/lib");
    std::fs::create_dir_all(&nested).unwrap();
    assert!(
        Command::new("git")
            .args(["init", "-q"])
            .current_dir(&nested)
            .status()
            .unwrap()
            .success()
    );
    let o = w.run(&format!(
        "git -C vendor/lib config core.fsmonitor '{}'; \
         printf '[core]\\n\\tfsmonitor = \"{}\"\\n' >> vendor/lib/.git/config; echo done",
        payload(&w),
        payload(&w)
    ));
    assert_ran(&o);
    assert!(!host_git_runs_planted_code(&w, &nested, &["status"]));
}

#[test]
fn a_nested_repository_created_during_the_run_with_an_fsmonitor_is_quarantined() {
    let plant = "git init -q sub && git -C sub config core.fsmonitor \"touch $OUT/pwned; false\"";
    let control = World::with_repo();
    assert_plant_would_run(&control, plant, &control.ws.join("sub"), &["status"]);

    let w = World::with_repo();
    let o = w.run(plant);
    assert_ok(&o);
    assert!(stderr_reports_integrity(&o), "{}", stderr(&o));
    assert!(!exists(&w.ws.join("sub/.git")));
    assert!(exists(&w.ws.join("sub/.git.paddock-quarantine")));
    assert!(!host_git_runs_planted_code(
        &w,
        &w.ws.join("sub"),
        &["status"]
    ));
    assert!(!host_git_runs_planted_code(&w, &w.ws, &["status"]));
}

/// Runs `git log` on the host in `dir` on a terminal (`script`), where git starts its pager,
/// and returns whether the planted code ran.
fn host_git_log_on_a_terminal_runs_planted_code(w: &World, dir: &Path) -> bool {
    let o = Command::new("script")
        .args(["-qec", "git log", "/dev/null"])
        .current_dir(dir)
        .env("HOME", &w.home)
        .env("OUT", &w.outside)
        // core.pager beats PAGER (GIT_PAGER would beat core.pager): a planted pager runs, and
        // without one nothing waits on the terminal.
        .env("PAGER", "cat")
        .env_remove("GIT_PAGER")
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("`script` (util-linux) runs git on a terminal");
    eprintln!("host git log: {}", String::from_utf8_lossy(&o.stdout));
    exists(&w.outside.join("pwned"))
}

const BARE_ROOT_PLANT: &str = "git init -q --bare . && git config core.pager 'touch $OUT/pwned; cat' && \
     t=$(git mktree </dev/null) && c=$(git -c user.name=t -c user.email=t@e commit-tree -m m $t) && git update-ref refs/heads/main $c && \
     git symbolic-ref HEAD refs/heads/main";

#[test]
fn the_workspace_root_turned_into_a_bare_repository_is_quarantined() {
    let control = World::new();
    let ok = Command::new("sh")
        .args(["-c", BARE_ROOT_PLANT])
        .current_dir(&control.ws)
        .env("HOME", &control.home)
        .status()
        .unwrap();
    assert!(ok.success());
    assert!(
        host_git_log_on_a_terminal_runs_planted_code(&control, &control.ws),
        "the plant does not trigger git even without a sandbox: the attack test proves nothing"
    );

    let w = World::new();
    let o = w.run(BARE_ROOT_PLANT);
    assert_ok(&o);
    assert!(stderr_reports_integrity(&o), "{}", stderr(&o));
    assert!(!exists(&w.ws.join("HEAD")));
    assert!(!host_git_log_on_a_terminal_runs_planted_code(&w, &w.ws));
}

#[test]
fn a_workspace_without_a_repository_gets_no_git_skeleton() {
    let w = World::new();
    assert_ok(&w.run("true"));
    assert!(
        !exists(&w.ws.join(".git")),
        "a run must leave nothing behind"
    );
    let names: Vec<_> = std::fs::read_dir(&w.ws).unwrap().collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn git_init_and_commit_in_a_fresh_workspace_work_and_are_kept() {
    let w = World::new();
    let o = w.run(
        "git init -q . && echo hi > a && git add a && \
         git -c user.name=t -c user.email=t@e commit -qm first && git log --oneline | wc -l",
    );
    assert_ok(&o);
    assert_eq!(stdout(&o).trim(), "1");
    assert!(!stderr_reports_integrity(&o), "{}", stderr(&o));
    assert!(
        w.ws.join(".git/HEAD").exists(),
        "a plain repository is kept"
    );
}

#[test]
fn git_clone_into_the_workspace_is_kept() {
    let w = World::with_repo();
    let o = w.run("git clone -q . copy && git -C copy log --oneline | wc -l");
    assert_ok(&o);
    assert_eq!(stdout(&o).trim(), "1");
    assert!(!stderr_reports_integrity(&o), "{}", stderr(&o));
    assert!(w.ws.join("copy/.git/HEAD").exists());
}

#[test]
fn paddock_own_config_inside_a_writable_root_is_read_only() {
    let w = World::new();
    let cfg = w.ws.join("cfg");
    std::fs::create_dir(&cfg).unwrap();
    std::fs::write(cfg.join("config.toml"), "mode = \"workspace-write\"\n").unwrap();
    let o = w
        .command(
            "workspace-write",
            &[],
            "echo 'mode = \"full-access\"' > cfg/config.toml; \
             mkdir -p state && echo x > state/audit.log; echo done",
        )
        .env("PADDOCK_CONFIG_DIR", &cfg)
        .env("PADDOCK_STATE_DIR", w.ws.join("state"))
        .output()
        .unwrap();
    assert_ran(&o);
    assert_eq!(
        std::fs::read_to_string(cfg.join("config.toml")).unwrap(),
        "mode = \"workspace-write\"\n"
    );
    let log = std::fs::read_to_string(w.ws.join("state/audit.log")).unwrap_or_default();
    assert!(
        !log.starts_with("x\n"),
        "the sandbox wrote Paddock's audit log: {log}"
    );
}

#[test]
fn the_supervisor_creates_nothing_outside_the_roots_for_absolute_protected_paths() {
    let w = World::with_repo();
    let config = w.outside.parent().unwrap().join("extra.toml");
    std::fs::write(
        &config,
        format!(
            "protected_paths = [\"{}\"]\n",
            w.outside.join("made/by/paddock").display()
        ),
    )
    .unwrap();
    std::fs::write(
        w.ws.join(".git/commondir"),
        format!("{}\n", w.outside.join("common").display()),
    )
    .unwrap();
    let cfg = config.display().to_string();
    let o = w.run_with("workspace-write", &["--config", &cfg], "true");
    assert_ran(&o);
    w.assert_outside_untouched();
}

#[test]
fn a_plant_left_by_a_killed_paddock_is_reverted_by_the_next_run() {
    let w = World::with_repo();
    std::fs::remove_dir_all(w.ws.join(".git/hooks")).unwrap();
    let mut child = w
        .command(
            "workspace-write",
            &[],
            "mkdir -p .git/hooks && echo evil > .git/hooks/post-checkout && sleep 60",
        )
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !exists(&w.ws.join(".git/hooks/post-checkout")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the plant never appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        exists(&w.ws.join(".git/hooks")),
        "Paddock died before its check"
    );
    let o = w.run("true");
    assert_ok(&o);
    assert!(
        stderr(&o).contains("ended before its check"),
        "{}",
        stderr(&o)
    );
    assert!(!exists(&w.ws.join(".git/hooks")));
}

#[test]
fn a_hook_symlinked_into_the_worktree_cannot_be_rewritten() {
    let w = World::with_repo();
    std::fs::create_dir(w.ws.join("scripts")).unwrap();
    std::fs::write(w.ws.join("scripts/post-checkout"), "#!/bin/sh\nexit 0\n").unwrap();
    std::os::unix::fs::symlink(
        "../../scripts/post-checkout",
        w.ws.join(".git/hooks/post-checkout"),
    )
    .unwrap();
    let o = w.run("printf '#!/bin/sh\\ntouch $OUT/pwned\\n' > scripts/post-checkout; echo done");
    assert_ran(&o);
    assert_eq!(
        std::fs::read_to_string(w.ws.join("scripts/post-checkout")).unwrap(),
        "#!/bin/sh\nexit 0\n"
    );
    assert!(!host_git_runs_planted_code(
        &w,
        &w.ws,
        &["checkout", "-q", "-b", "z"]
    ));
}

#[test]
fn a_fifo_planted_as_paddock_toml_is_removed_so_later_runs_still_work() {
    let w = World::new();
    let o = w.run("mkfifo paddock.toml && mkdir .paddock && echo planted");
    assert_ok(&o);
    assert!(stdout(&o).contains("planted"));
    assert!(stderr_reports_integrity(&o), "{}", stderr(&o));
    assert!(!exists(&w.ws.join("paddock.toml")));
    assert_ok(&w.run("true"));
}

#[test]
fn a_state_dir_inside_the_workspace_that_does_not_exist_yet_survives_the_run() {
    let w = World::new();
    let state = w.ws.join("state");
    let o = w
        .command("workspace-write", &[], "true")
        .env("PADDOCK_STATE_DIR", &state)
        .output()
        .unwrap();
    assert_ok(&o);
    assert!(!stderr_reports_integrity(&o), "{}", stderr(&o));
    let kept = std::fs::read_dir(&state).map(|mut d| d.next().is_some());
    assert!(matches!(kept, Ok(true)), "the audit log's folder is gone");
}

/// The after-run check lists again only the directories that changed during the run (inotify
/// watches set by the pre-walk, for trees of `MIN_DIRS` directories or more); each plant below
/// changes such a tree in a way that check must still see, deep in directories that existed
/// before the run.
fn world_with_deep_tree() -> World {
    let w = World::with_repo();
    for i in 0..paddock_core::integrity::roots_watch::MIN_DIRS {
        std::fs::create_dir_all(w.ws.join(format!("vendor/pad/{i}"))).unwrap();
    }
    std::fs::create_dir_all(w.ws.join("vendor/a/b/c")).unwrap();
    std::fs::create_dir_all(w.ws.join("vendor/a/.git")).unwrap();
    std::fs::write(w.ws.join("vendor/a/b/c/lib.rs"), "// code\n").unwrap();
    // A bare repository of the user's.
    let bare = std::process::Command::new("git")
        .args(["init", "-q", "--bare", "vendor/bare"])
        .current_dir(&w.ws)
        .status()
        .unwrap();
    assert!(bare.success());
    w
}

/// Runs `plant` in a sandbox and asserts the repository it made at `repo` (relative to the
/// workspace) was quarantined and runs nothing for the host's git.
fn assert_planted_repository_quarantined(plant: &str, repo: &str) {
    let control = world_with_deep_tree();
    assert_plant_would_run(&control, plant, &control.ws.join(repo), &["status"]);

    let w = world_with_deep_tree();
    let o = w.run(plant);
    assert_ok(&o);
    assert!(stderr_reports_integrity(&o), "{}", stderr(&o));
    assert!(!exists(&w.ws.join(repo).join(".git")));
    assert!(exists(&w.ws.join(repo).join(".git.paddock-quarantine")));
    assert!(!host_git_runs_planted_code(
        &w,
        &w.ws.join(repo),
        &["status"]
    ));
}

#[test]
fn a_repository_planted_in_a_deep_existing_directory_is_quarantined() {
    assert_planted_repository_quarantined(
        "git init -q vendor/a/b/c && git -C vendor/a/b/c config core.fsmonitor \"touch $OUT/pwned; false\"",
        "vendor/a/b/c",
    );
}

#[test]
fn a_repository_moved_into_a_deep_existing_directory_is_quarantined() {
    assert_planted_repository_quarantined(
        "mkdir staging && git init -q staging/pkg && \
         git -C staging/pkg config core.fsmonitor \"touch $OUT/pwned; false\" && \
         mv staging/pkg vendor/a/b/c/pkg",
        "vendor/a/b/c/pkg",
    );
}

#[test]
fn a_repository_planted_below_a_directory_made_a_bare_repository_is_quarantined() {
    // git run in vendor/b/x/y takes the `.git` there before the bare repository around it: the
    // walks must go below a bare repository.
    assert_planted_repository_quarantined(
        "mkdir -p vendor/b/objects && echo 'ref: refs/heads/main' > vendor/b/HEAD && \
         git init -q vendor/b/x/y && \
         git -C vendor/b/x/y config core.fsmonitor \"touch $OUT/pwned; false\"",
        "vendor/b/x/y",
    );
}

#[test]
fn a_repository_planted_inside_an_existing_bare_repository_is_quarantined() {
    // vendor/bare is a bare repository of the user's before the run (`world_with_deep_tree`).
    assert_planted_repository_quarantined(
        "mkdir -p vendor/bare/work && git init -q vendor/bare/work && \
         git -C vendor/bare/work config core.fsmonitor \"touch $OUT/pwned; false\"",
        "vendor/bare/work",
    );
}

#[test]
fn an_empty_dot_git_made_a_repository_during_the_run_is_quarantined() {
    // Only the inside of `vendor/a/.git` changes, a directory no walk lists.
    assert_planted_repository_quarantined(
        "git init -q vendor/a && git -C vendor/a config core.fsmonitor \"touch $OUT/pwned; false\"",
        "vendor/a",
    );
}

#[test]
fn a_repository_planted_deeper_than_the_walk_goes_is_reported_and_the_next_run_refused() {
    // Below `MAX_WALK_DEPTH` directories the walk cannot look; it used to stop there silently.
    let deep = "d/".repeat(paddock_core::integrity::discover::MAX_WALK_DEPTH + 2);
    let plant = format!(
        "mkdir -p {deep} && git init -q {deep}evil && \
         git -C {deep}evil config core.fsmonitor \"touch $OUT/pwned; false\""
    );
    let w = World::with_repo();
    let o = w.run(&plant);
    assert_ok(&o);
    let err = stderr(&o);
    assert!(
        stderr_reports_integrity(&o) && err.contains("too deep"),
        "the run's check does not report what it could not check: {err}"
    );
    // The next run does the check again first; it still cannot complete, so the run is
    // refused (a run now would take what the check missed for existing).
    let next = w.run("true");
    assert_eq!(next.status.code(), Some(125), "{}", stderr(&next));
    let err = stderr(&next);
    assert!(
        err.contains("could not complete") && err.contains("too deep"),
        "{err}"
    );
    // Meanwhile the user makes a file at a path the first run watched (git reads
    // `config.worktree`): the check again looks for repositories only and leaves it.
    let mine = w.ws.join(".git/config.worktree");
    std::fs::write(&mine, "[core]\n").unwrap();
    // The user flattens the tree as told. The plant is not taken for an existing repository:
    // the first run's check stayed pending and is done again, against that run's spec,
    // before the next run's pre-walk.
    std::fs::rename(w.ws.join(format!("{deep}evil")), w.ws.join("evil")).unwrap();
    std::fs::remove_dir_all(w.ws.join("d")).unwrap();
    let after = w.run("true");
    assert_ok(&after);
    assert!(mine.exists(), "the check again removed the user's file");
    assert!(
        !w.ws.join("evil/.git").exists() && w.ws.join("evil/.git.paddock-quarantine").exists(),
        "the plant was accepted once the tree was flattened: {}",
        stderr(&after)
    );
    assert!(!host_git_runs_planted_code(
        &w,
        &w.ws.join("evil"),
        &["status"]
    ));
}

#[test]
fn a_plant_next_to_a_blind_spot_is_still_quarantined() {
    // The check goes on past a directory it cannot look into: a plant elsewhere is reverted.
    let deep = "d/".repeat(paddock_core::integrity::discover::MAX_WALK_DEPTH + 2);
    assert_planted_repository_quarantined(
        &format!(
            "mkdir -p {deep} && git init -q vendor/a/b/c && \
             git -C vendor/a/b/c config core.fsmonitor \"touch $OUT/pwned; false\""
        ),
        "vendor/a/b/c",
    );
}

/// Agents' and editors' project config is read later, outside the sandbox, by programs that run
/// what it names: a hook in `.claude/settings.json`, a server in `.mcp.json`, a task that runs
/// when VS Code opens the folder. An existing `.vscode/tasks.json` stays as it was, the new
/// `.claude/settings.json` and `.mcp.json` are gone after the run (and reported), and the rest
/// of the workspace is written as usual.
#[test]
fn agent_and_editor_config_can_be_neither_changed_nor_planted() {
    let w = World::new();
    std::fs::create_dir(w.ws.join(".vscode")).unwrap();
    std::fs::write(w.ws.join(".vscode/tasks.json"), "{}\n").unwrap();
    let o = w.run(
        "{ echo '{\"tasks\":[{\"runOptions\":{\"runOn\":\"folderOpen\"}}]}' > .vscode/tasks.json; } \
             2>/dev/null || echo vscode-refused; \
         mkdir -p .claude && echo '{\"hooks\":{\"Stop\":[]}}' > .claude/settings.json && echo claude-written; \
         echo '{\"mcpServers\":{}}' > .mcp.json && echo mcp-written; \
         echo work > src.txt; echo done",
    );
    assert_ok(&o);
    let out = stdout(&o);
    for word in ["vscode-refused", "done"] {
        assert!(out.contains(word), "{word} missing: {out}");
    }
    assert_eq!(
        std::fs::read_to_string(w.ws.join(".vscode/tasks.json")).unwrap(),
        "{}\n"
    );
    // The run could create them (a missing path is watched, not pinned), but not keep them.
    assert!(
        out.contains("claude-written") && out.contains("mcp-written"),
        "{out}"
    );
    assert!(!exists(&w.ws.join(".claude/settings.json")));
    assert!(!exists(&w.ws.join(".mcp.json")));
    assert!(stderr_reports_integrity(&o), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(w.ws.join("src.txt")).unwrap(),
        "work\n"
    );
}

/// `default_protected_paths = false` in the user's config makes them ordinary workspace files
/// again, for a user who wants the agent to edit its editor's settings.
#[test]
fn agent_and_editor_config_is_writable_when_the_user_says_so() {
    let w = World::new();
    w.write_user_config("default_protected_paths = false\n");
    std::fs::create_dir(w.ws.join(".vscode")).unwrap();
    std::fs::write(w.ws.join(".vscode/tasks.json"), "{}\n").unwrap();
    let o = w.run("echo edited > .vscode/tasks.json && mkdir .claude && echo kept > .claude/x");
    assert_ok(&o);
    assert!(!stderr_reports_integrity(&o), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(w.ws.join(".vscode/tasks.json")).unwrap(),
        "edited\n"
    );
    assert!(exists(&w.ws.join(".claude/x")));
}
