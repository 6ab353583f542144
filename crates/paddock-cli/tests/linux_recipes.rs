//! Toolchain recipes through the real `paddock` binary on Linux: real `cargo build`, `npm install`
//! and `pip install` against their public registries through Paddock's allow-list proxy, each
//! into a fresh home so nothing is cached; without the recipe (its hosts listed by hand) the
//! cache is read-only, with it and an empty allow-list (the recipe adds the hosts) the work
//! succeeds. Attacks: a recipe never makes a toolchain's config or
//! binaries writable, and a link planted on the way to a missing cache is refused, not followed.
//!
//! The registries must be reachable: when they are not, a test prints `SKIPPED` with the
//! reason, or fails when `PADDOCK_REQUIRE_NETWORK=1` (set by `.ci/run`). A missing tool (cargo,
//! npm, python3 with venv) prints `SKIPPED`.

#![cfg(target_os = "linux")]

mod linux_support;
use linux_support::World;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// The registry hosts of each recipe, as the tests list them by hand (kept apart from
/// `paddock_core::recipes` on purpose: a recipe that lost a host fails the "with" run).
struct Recipe;
impl Recipe {
    const RUST: &[&str] = &["crates.io", "static.crates.io", "index.crates.io"];
    const NODE: &[&str] = &["registry.npmjs.org"];
    const PYTHON: &[&str] = &["pypi.org", "files.pythonhosted.org"];
}

/// Whether `host:443` answers; else why not. With `PADDOCK_REQUIRE_NETWORK=1` an unreachable
/// host fails the test.
fn reachable(host: &str) -> bool {
    let why = match (host, 443).to_socket_addrs() {
        Err(e) => format!("cannot resolve {host}: {e}"),
        Ok(mut addrs) => match addrs.next() {
            None => format!("{host} has no address"),
            Some(a) => match TcpStream::connect_timeout(&a, Duration::from_secs(10)) {
                Ok(_) => return true,
                Err(e) => format!("cannot connect to {host}:443 ({a}): {e}"),
            },
        },
    };
    if std::env::var("PADDOCK_REQUIRE_NETWORK").is_ok_and(|v| v == "1") {
        panic!("{why}; PADDOCK_REQUIRE_NETWORK=1 needs the public registries reachable");
    }
    eprintln!("SKIPPED: {why} (set PADDOCK_REQUIRE_NETWORK=1 to make this a failure)");
    false
}

fn have(tool: &str, args: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: `{tool} {}` does not run on this host",
            args.join(" ")
        );
    }
    ok
}

/// `paddock run --mode workspace-write --cwd WS EXTRA -- sh -c SCRIPT` with the network an
/// allow-list of `allow` (through Paddock's proxy; a recipe adds its registries), the world's
/// fresh home as HOME and `env` set.
fn run_online(
    w: &World,
    allow: &[&str],
    extra: &[&str],
    env: &[(&str, &Path)],
    script: &str,
) -> Output {
    let config = w.ws.parent().unwrap().join("config");
    let state = w.ws.parent().unwrap().join("state");
    let list: Vec<String> = allow.iter().map(|h| format!("{h:?}")).collect();
    w.write_user_config(&format!("network = {{ allow = [{}] }}\n", list.join(", ")));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paddock"));
    cmd.args(["run", "--mode", "workspace-write", "--cwd"])
        .arg(&w.ws)
        .args(extra)
        .args(["--", "sh", "-c", script])
        .env("HOME", &w.home)
        .env("PADDOCK_CONFIG_DIR", &config)
        .env("PADDOCK_STATE_DIR", &state)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("CARGO_HOME")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PIP_NO_INDEX")
        .env_remove("npm_config_cache");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// `World::run_with` without the toolchain variables `cargo test` sets (`CARGO_HOME` points at
/// the real `~/.cargo`), so that the recipes use the world's home.
fn run_in_world(w: &World, extra: &[&str], script: &str) -> Output {
    let mut cmd = w.command("workspace-write", extra, script);
    cmd.env_remove("CARGO_HOME").env_remove("npm_config_cache");
    cmd.output().unwrap()
}

/// The real toolchain home, for rustup's proxies once HOME is the test's.
fn rustup_home() -> std::path::PathBuf {
    std::env::var_os("RUSTUP_HOME").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".rustup")
        },
        Into::into,
    )
}

#[test]
fn cargo_build_downloads_a_new_dependency_only_with_the_rust_recipe() {
    if !have("cargo", &["--version"]) || !reachable("index.crates.io") {
        return;
    }
    let w = World::new();
    std::fs::create_dir_all(w.ws.join("src")).unwrap();
    std::fs::write(
        w.ws.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [workspace]\n\n[dependencies]\nitoa = \"1\"\n",
    )
    .unwrap();
    std::fs::write(
        w.ws.join("src/main.rs"),
        "fn main() { println!(\"{}\", itoa::Buffer::new().format(42)); }\n",
    )
    .unwrap();
    let cargo_home = w.home.join(".cargo");
    let rustup = rustup_home();
    let env = [
        ("CARGO_HOME", cargo_home.as_path()),
        ("RUSTUP_HOME", rustup.as_path()),
    ];
    let script = "cargo run -q";

    // Without the recipe, its hosts listed by hand: the network works, the cache is read-only.
    let without = run_online(&w, Recipe::RUST, &[], &env, script);
    assert_ne!(without.status.code(), Some(0), "{}", text(&without));
    assert!(
        String::from_utf8_lossy(&without.stderr).contains("Read-only file system"),
        "expected the read-only cache error: {}",
        text(&without)
    );

    // With it and an empty allow-list: the recipe adds both the cache and the hosts.
    let with = run_online(&w, &[], &["--recipe", "rust"], &env, script);
    assert_eq!(with.status.code(), Some(0), "{}", text(&with));
    assert_eq!(String::from_utf8_lossy(&with.stdout).trim(), "42");
    assert!(entries(&cargo_home.join("registry/cache")) > 0);

    // `auto` finds Cargo.toml and does the same (the crate is cached now: a fresh one).
    std::fs::write(
        w.ws.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [workspace]\n\n[dependencies]\nitoa = \"1\"\nryu = \"1\"\n",
    )
    .unwrap();
    let auto = run_online(&w, &[], &["--recipe", "auto"], &env, script);
    assert_eq!(auto.status.code(), Some(0), "{}", text(&auto));
}

#[test]
fn npm_install_fills_its_cache_only_with_the_node_recipe() {
    if !have("npm", &["--version"]) || !reachable("registry.npmjs.org") {
        return;
    }
    let w = World::new();
    let script = "npm install --no-audit --no-fund --no-update-notifier is-number";

    let without = run_online(&w, Recipe::NODE, &[], &[], script);
    assert_ne!(without.status.code(), Some(0), "{}", text(&without));
    assert!(!w.ws.join("node_modules/is-number").exists());
    // It reached the registry and failed on the cache (npm says ENOENT for the read-only home).
    let cache_error = format!("mkdir '{}", w.home.join(".npm").display());
    assert!(
        text(&without).contains(&cache_error),
        "expected {cache_error}: {}",
        text(&without)
    );

    let with = run_online(&w, &[], &["--recipe", "node"], &[], script);
    assert_eq!(with.status.code(), Some(0), "{}", text(&with));
    assert!(w.ws.join("node_modules/is-number/package.json").is_file());
    assert!(
        entries(&w.home.join(".npm/_cacache")) > 0,
        "npm cache empty"
    );
}

#[test]
fn pip_install_into_a_venv_caches_only_with_the_python_recipe() {
    if !have("python3", &["-c", "import venv, ensurepip"]) || !reachable("pypi.org") {
        return;
    }
    let w = World::new();
    // `--no-binary six` makes pip build the wheel from the sdist into its cache (`wheels/`),
    // which fails on a read-only cache (a downloaded wheel is installed even then: pip only
    // warns, and not every pip version caches it).
    let script = "python3 -m venv venv && \
                  venv/bin/pip install --disable-pip-version-check --no-binary six six && \
                  venv/bin/python -c 'import six'";
    let cache = w.home.join(".cache/pip/wheels");

    let without = run_online(&w, Recipe::PYTHON, &[], &[], script);
    assert_ne!(without.status.code(), Some(0), "{}", text(&without));
    assert!(
        text(&without).contains("Read-only file system"),
        "expected the read-only cache error: {}",
        text(&without)
    );
    assert_eq!(entries(&cache), 0, "pip wrote its cache without the recipe");

    std::fs::remove_dir_all(w.ws.join("venv")).unwrap();
    let with = run_online(&w, &[], &["--recipe", "python"], &[], script);
    assert_eq!(with.status.code(), Some(0), "{}", text(&with));
    assert!(entries(&cache) > 0, "pip cache empty: {}", text(&with));
}

#[test]
fn recipes_never_make_toolchain_config_or_binaries_writable() {
    let w = World::new();
    for d in [".cargo/bin", ".cargo/registry", ".gradle/init.d", ".m2"] {
        std::fs::create_dir_all(w.home.join(d)).unwrap();
    }
    for f in [
        ".cargo/config.toml",
        ".cargo/bin/cargo",
        ".npmrc",
        ".gradle/gradle.properties",
    ] {
        std::fs::write(w.home.join(f), "orig").unwrap();
    }
    let out = run_in_world(
        &w,
        &["--recipe", "rust", "--recipe", "node", "--recipe", "java"],
        r#"
        for f in .cargo/config.toml .cargo/bin/cargo .npmrc .gradle/gradle.properties \
                 .cargo/bin/new .gradle/init.d/evil.gradle .m2/settings.xml .cargo/env; do
            if (echo pwned > "$HOME/$f") 2>/dev/null; then echo "WROTE $f"; fi
        done
        echo ok > "$HOME/.cargo/registry/probe" && echo "cache ok"
        echo ok > "$HOME/.m2/repository/probe" && echo "m2 ok"
        echo ok > "$HOME/.npm/probe" && echo "npm ok"
        "#,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("WROTE"), "{}", text(&out));
    for want in ["cache ok", "m2 ok", "npm ok"] {
        assert!(stdout.contains(want), "{want}: {}", text(&out));
    }
    for f in [
        ".cargo/config.toml",
        ".cargo/bin/cargo",
        ".npmrc",
        ".gradle/gradle.properties",
    ] {
        assert_eq!(
            std::fs::read_to_string(w.home.join(f)).unwrap(),
            "orig",
            "{f}"
        );
    }
}

#[test]
fn a_link_planted_on_the_way_to_a_missing_cache_is_refused_not_followed() {
    let w = World::new();
    // ~/.cargo -> outside: creating ~/.cargo/registry through it would make `outside` hold a
    // directory the sandbox may write.
    std::os::unix::fs::symlink(&w.outside, w.home.join(".cargo")).unwrap();
    let out = run_in_world(
        &w,
        &["--recipe", "rust"],
        "echo ran; echo x > \"$OUT/registry/x\"",
    );
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ran"));
    w.assert_outside_untouched();
}

#[test]
fn an_untrusted_project_cannot_add_recipes_but_the_user_can() {
    let w = World::new();
    std::fs::write(w.ws.join("paddock.toml"), "recipes = [\"rust\"]\n").unwrap();
    let out = run_in_world(&w, &[], "echo ran");
    assert_eq!(out.status.code(), Some(78), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("recipe `rust`"), "{stderr}");
    assert!(
        !w.home.join(".cargo").exists(),
        "a refused recipe created its cache"
    );
    std::fs::remove_file(w.ws.join("paddock.toml")).unwrap();
    w.write_user_config("recipes = [\"rust\"]\n");
    let out = run_in_world(&w, &[], "echo ok > \"$HOME/.cargo/git/probe\"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn policy_show_names_each_recipe_its_source_caches_and_hosts_and_creates_nothing() {
    let w = World::new();
    std::fs::write(w.ws.join("Cargo.toml"), "").unwrap();
    let show = |extra: &[&str]| {
        let config = w.ws.parent().unwrap().join("config");
        Command::new(env!("CARGO_BIN_EXE_paddock"))
            .args(["policy", "show", "--cwd"])
            .arg(&w.ws)
            .args(extra)
            .env("HOME", &w.home)
            .env("PADDOCK_CONFIG_DIR", &config)
            .env_remove("CARGO_HOME")
            .output()
            .unwrap()
    };
    let out = show(&["--recipe", "auto", "--recipe", "python"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "recipe rust [auto (command line), detected from Cargo.toml]",
        "recipe python [command line]",
        &format!("cache {}", w.home.join(".cargo/registry").display()),
        "created before the run",
        "hosts pypi.org, files.pythonhosted.org   (not added: network is not an allow-list)",
    ] {
        assert!(stdout.contains(want), "{want}: {stdout}");
    }
    let out = show(&["--recipe", "auto", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let g = &v["policy"]["recipes"][0];
    assert_eq!(g["recipe"], "rust", "{v}");
    assert_eq!(g["detected_from"], "Cargo.toml");
    assert_eq!(
        g["caches"][0],
        w.home.join(".cargo/registry").display().to_string()
    );
    assert_eq!(v["sources"]["recipes"][0]["layer"], "cli", "{v}");
    assert!(
        !w.home.join(".cargo").exists(),
        "policy show created a cache"
    );
}
