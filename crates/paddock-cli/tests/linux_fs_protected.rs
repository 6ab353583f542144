//! Attacks on protected paths (git's code-execution vectors, Paddock's config) and deny-read
//! secrets: writing, creating, replacing, renaming a parent away, reading through links.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::*;

#[test]
fn protected_git_hooks_cannot_be_written() {
    let w = World::with_repo();
    assert_ran(&w.run("echo evil > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit"));
    assert!(!exists(&w.ws.join(".git/hooks/pre-commit")));
}

#[test]
fn protected_git_config_cannot_be_written() {
    let w = World::with_repo();
    let before = std::fs::read_to_string(w.ws.join(".git/config")).unwrap();
    assert_ran(
        &w.run(
            "git config core.hooksPath /tmp/evil; echo '[core] fsmonitor = evil' >> .git/config",
        ),
    );
    assert_eq!(
        std::fs::read_to_string(w.ws.join(".git/config")).unwrap(),
        before
    );
}

#[test]
fn missing_git_hooks_cannot_be_created() {
    let w = World::with_repo();
    std::fs::remove_dir_all(w.ws.join(".git/hooks")).unwrap();
    assert_ran(&w.run("mkdir -p .git/hooks; echo evil > .git/hooks/pre-commit"));
    assert!(!exists(&w.ws.join(".git/hooks/pre-commit")));
}

#[test]
fn renaming_the_git_dir_away_and_recreating_hooks_fails() {
    let w = World::with_repo();
    let out = w
        .run("mv .git .git-old; mkdir -p .git/hooks; echo evil > .git/hooks/pre-commit; echo done");
    assert_ran(&out);
    assert!(
        !exists(&w.ws.join(".git-old")),
        "the protected path's parent was renamed"
    );
    assert!(!exists(&w.ws.join(".git/hooks/pre-commit")));
}

#[test]
fn replacing_git_hooks_by_rename_or_delete_fails() {
    let w = World::with_repo();
    assert_ran(&w.run(
        "mkdir evil; echo x > evil/pre-commit; mv -T evil .git/hooks; rm -rf .git/hooks; \
         mv .git/hooks .git/hooks-old; ln -sfn ../evil .git/hooks",
    ));
    assert!(w.ws.join(".git/hooks").is_dir());
    assert!(!exists(&w.ws.join(".git/hooks/pre-commit")));
    assert!(!exists(&w.ws.join(".git/hooks-old")));
}

#[test]
fn a_workspace_without_git_cannot_grow_git_hooks() {
    let w = World::new();
    assert_ran(
        &w.run(
            "git init -q .; mkdir -p .git/hooks; echo evil > .git/hooks/pre-commit; rm -rf .git",
        ),
    );
    assert!(!exists(&w.ws.join(".git/hooks/pre-commit")));
    assert!(
        !exists(&w.ws.join(".git/config"))
            || std::fs::read(w.ws.join(".git/config")).unwrap().is_empty()
    );
}

#[test]
fn existing_paddock_config_cannot_be_edited_replaced_or_removed() {
    let w = World::new();
    std::fs::write(w.ws.join("paddock.toml"), "# the project's own config\n").unwrap();
    assert_ran(&w.run(
        "echo 'mode = \"full-access\"' > paddock.toml; rm -f paddock.toml; \
         echo x > new.toml; mv new.toml paddock.toml",
    ));
    assert_eq!(
        std::fs::read_to_string(w.ws.join("paddock.toml")).unwrap(),
        "# the project's own config\n"
    );
}

#[test]
fn git_commit_still_works_with_hooks_and_config_protected() {
    let w = World::with_repo();
    let out = w.run(
        "echo more >> README && git add README && \
         git -c user.name=t -c user.email=t@e commit -qm second && git log --oneline | wc -l",
    );
    assert_ok(&out);
    assert_eq!(stdout(&out).trim(), "2");
}

#[test]
fn deny_read_directory_cannot_be_listed_or_read() {
    let w = World::new();
    let out = w.run("ls -a ~/.ssh; cat ~/.ssh/id_rsa; cp ~/.ssh/id_rsa stolen");
    assert_ran(&out);
    assert!(!stdout(&out).contains(SECRET) && !stdout(&out).contains("id_rsa"));
    assert!(!exists(&w.ws.join("stolen")));
}

#[test]
fn deny_read_file_cannot_be_read() {
    let w = World::new();
    let out = w.run(
        "cat ~/.netrc; head -c 100 ~/.netrc; python3 -c \"print(open('$HOME/.netrc').read())\"",
    );
    assert_ran(&out);
    assert!(!stdout(&out).contains(SECRET));
}

#[test]
fn deny_read_secret_cannot_be_read_through_symlinks() {
    let w = World::new();
    std::os::unix::fs::symlink(w.home.join(".ssh/id_rsa"), w.ws.join("pre-link")).unwrap();
    std::os::unix::fs::symlink(w.home.join(".ssh"), w.ws.join("pre-dir-link")).unwrap();
    let out = w.run("cat pre-link; cat pre-dir-link/id_rsa; ln -s ~/.netrc l; cat l; cat /proc/self/root$HOME/.netrc");
    assert_ran(&out);
    assert!(!stdout(&out).contains(SECRET));
}

#[test]
fn deny_read_secret_cannot_be_chmodded_or_unhidden() {
    let w = World::new();
    let out =
        w.run("chmod 644 ~/.netrc; umount ~/.netrc; umount -l ~/.ssh; cat ~/.netrc ~/.ssh/id_rsa");
    assert_ran(&out);
    assert!(!stdout(&out).contains(SECRET));
}

#[test]
fn deny_read_flag_hides_a_file_inside_the_workspace() {
    let w = World::new();
    std::fs::write(w.ws.join(".env"), SECRET).unwrap();
    let env = w.ws.join(".env");
    let out = w.run_with(
        "workspace-write",
        &["--deny-read", env.to_str().unwrap()],
        "cat .env; echo visible > other; cat other",
    );
    assert_ran(&out);
    assert!(!stdout(&out).contains(SECRET));
    assert!(stdout(&out).contains("visible"));
}

#[test]
fn control_secrets_are_readable_in_full_access_mode() {
    let w = World::new();
    let out = w.run_with("full-access", &[], "cat ~/.netrc");
    assert_ok(&out);
    assert!(stdout(&out).contains(SECRET));
}

#[test]
fn a_symlinked_git_hooks_dir_is_refused_rather_than_left_replaceable() {
    let w = World::with_repo();
    std::fs::rename(w.ws.join(".git/hooks"), w.ws.join("real-hooks")).unwrap();
    std::os::unix::fs::symlink("../real-hooks", w.ws.join(".git/hooks")).unwrap();
    let out = w.run("rm .git/hooks; mkdir .git/hooks; echo evil > .git/hooks/pre-commit");
    // Refused before anything runs: a configuration error (78) or a sandbox refusal (125).
    assert!(
        matches!(out.status.code(), Some(78 | 125)),
        "{:?}: {}",
        out.status,
        stderr(&out)
    );
    assert!(stderr(&out).contains("link"), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(w.ws.join(".git/hooks"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
