//! `paddock status`'s Windows probe on the machine it runs on: under Wine it must report the
//! token and ACL checks as failed and say why `paddock run` refuses; on Windows the token, desktop
//! and ACL checks must pass on a temp folder. Either way nothing is left behind.
#![cfg(windows)]

use paddock_windows::apply::probe::probe;

#[test]
fn probe_tells_what_this_machine_enforces_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let p = probe(dir.path());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the probe left files behind"
    );
    if p.wine {
        assert!(
            !p.restricted_token.ok,
            "Wine cannot prove a restricted token"
        );
        assert!(!p.acl_storage.ok, "Wine keeps no ACLs");
        assert!(
            p.problems.iter().any(|l| l.contains("Wine")),
            "{:?}",
            p.problems
        );
    } else {
        assert!(p.restricted_token.ok, "{}", p.restricted_token.detail);
        assert!(p.private_desktop.ok, "{}", p.private_desktop.detail);
        assert!(p.acl_storage.ok, "{}", p.acl_storage.detail);
    }
    assert_eq!(
        p.problems.len(),
        usize::from(p.wine)
            + [
                &p.restricted_token,
                &p.private_desktop,
                &p.acl_storage,
                &p.null_device
            ]
            .iter()
            .filter(|c| !c.ok)
            .count(),
        "every failed check is one problem line: {:?}",
        p.problems
    );
}
