//! The NTFS `AclStore` on real paths. Wine accepts `SetNamedSecurityInfoW` but stores nothing, so
//! there the store must refuse the grant (it reads every write back); on Windows the grant must
//! land, propagate to children and come off again. Paths are exercised in long (>260) form too.
#![cfg(windows)]

use paddock_windows::acl::{Ace, AceFlags};
use paddock_windows::apply::acl::NtfsAclStore;
use paddock_windows::apply::long_path::strip_verbatim;
use paddock_windows::apply::wine::running_under_wine;
use paddock_windows::mask::AccessMask;
use paddock_windows::sid::Sid;
use paddock_windows::store::{AclStore, EntryKind, StoreError};
use std::path::PathBuf;

fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ws = strip_verbatim(&std::fs::canonicalize(dir.path()).unwrap()).join("ws");
    std::fs::create_dir(&ws).unwrap();
    std::fs::write(ws.join("file.txt"), "x").unwrap();
    (dir, ws)
}

fn grant() -> Ace {
    Ace::allow(
        Sid::synthetic().unwrap(),
        AccessMask::MODIFY_WITHOUT_DELETE_CHILD,
        AceFlags::OICI,
    )
}

#[test]
fn store_reads_owner_and_dacl_of_a_real_directory() {
    let (_tmp, ws) = workspace();
    let sd = NtfsAclStore::new().read(&ws).unwrap();
    assert!(sd.owner.is_some());
    assert!(!sd.dacl.unwrap().aces.is_empty());
}

#[test]
fn grant_lands_and_propagates_on_windows_and_is_refused_where_acls_are_not_stored() {
    let (_tmp, ws) = workspace();
    let mut store = NtfsAclStore::new();
    let before = store.read(&ws).unwrap();
    let ace = grant();
    let result = store.add_explicit(&ws, std::slice::from_ref(&ace));
    if running_under_wine() {
        let err = result.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("does not keep ACLs"), "{err}");
        return;
    }
    result.unwrap();
    let dacl = store.read(&ws).unwrap().dacl.unwrap();
    assert!(dacl.explicit().any(|a| *a == ace));
    let child = store.read(&ws.join("file.txt")).unwrap().dacl.unwrap();
    assert!(
        child
            .aces
            .iter()
            .any(|a| a.sid == ace.sid && a.is_inherited())
    );
    store.remove_explicit(&ws, &[ace]).unwrap();
    assert_eq!(store.read(&ws).unwrap(), before);
}

#[test]
fn removing_an_absent_entry_or_from_a_missing_path_changes_nothing() {
    let (_tmp, ws) = workspace();
    let mut store = NtfsAclStore::new();
    let before = store.read(&ws).unwrap();
    store.remove_explicit(&ws, &[grant()]).unwrap();
    store
        .remove_explicit(&ws.join("missing"), &[grant()])
        .unwrap();
    assert_eq!(store.read(&ws).unwrap(), before);
}

#[test]
fn store_creates_and_reads_entries_beyond_max_path() {
    let (_tmp, ws) = workspace();
    let mut store = NtfsAclStore::new();
    let mut deep = ws.clone();
    while deep.as_os_str().len() < 300 {
        deep = deep.join("a-rather-long-directory-name-for-max-path");
        store.create_dir(&deep).unwrap();
    }
    let file = deep.join("leaf.txt");
    store.create_file(&file).unwrap();
    assert_eq!(store.kind(&deep).unwrap(), Some(EntryKind::Dir));
    assert_eq!(store.kind(&file).unwrap(), Some(EntryKind::File));
    assert!(store.read(&file).unwrap().dacl.is_some());
    assert!(
        store.create_file(&file).is_err(),
        "create_file must not truncate an existing file"
    );
}

#[test]
fn missing_path_reads_as_not_found() {
    let (_tmp, ws) = workspace();
    let store = NtfsAclStore::new();
    assert_eq!(store.kind(&ws.join("nope")).unwrap(), None);
    assert!(matches!(
        store.read(&ws.join("nope")),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
#[ignore = "real Windows only: Wine cannot follow the links it makes, so this cannot fail there"]
fn edits_through_a_junction_are_refused_and_the_target_keeps_its_dacl() {
    let (_tmp, ws) = workspace();
    let (_target_tmp, target) = workspace();
    let link = ws.join("link");
    let made = std::process::Command::new("cmd")
        .args(["/c", "mklink", "/J"])
        .arg(&link)
        .arg(&target)
        .output()
        .unwrap();
    assert!(
        made.status.success() && link.exists(),
        "mklink /J failed: {made:?}"
    );
    let mut store = NtfsAclStore::new();
    let before = store.read(&target).unwrap();
    let err = store.add_explicit(&link, &[grant()]).unwrap_err();
    assert!(err.to_string().contains("symlink or junction"), "{err}");
    let err = store
        .add_explicit(&link.join("file.txt"), &[grant()])
        .unwrap_err();
    assert!(err.to_string().contains("symlink or junction"), "{err}");
    assert_eq!(store.read(&target).unwrap(), before);
}

#[test]
fn relative_paths_are_refused() {
    let err = NtfsAclStore::new()
        .add_explicit(std::path::Path::new(r"rel\path"), &[grant()])
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
}

#[test]
fn non_inheritable_entry_is_written_in_place_on_windows_and_refused_where_acls_are_not_stored() {
    let (_tmp, ws) = workspace();
    let mut store = NtfsAclStore::new();
    let before = store.read(&ws).unwrap();
    let child_before = store.read(&ws.join("file.txt")).unwrap();
    let deny = Ace::deny(
        Sid::synthetic().unwrap(),
        AccessMask::FILE_DELETE_CHILD | AccessMask::DELETE,
        AceFlags::NONE,
    );
    let result = store.add_explicit(&ws, std::slice::from_ref(&deny));
    if running_under_wine() {
        let err = result.unwrap_err();
        assert!(err.to_string().contains("does not keep ACLs"), "{err}");
        return;
    }
    result.unwrap();
    let after = store.read(&ws).unwrap();
    assert_eq!(after.protected, before.protected);
    assert_eq!(
        after.dacl.as_ref().unwrap().explicit().next(),
        Some(&deny),
        "deny comes first"
    );
    assert_eq!(
        store.read(&ws.join("file.txt")).unwrap(),
        child_before,
        "the child was touched"
    );
    store.remove_explicit(&ws, &[deny]).unwrap();
    assert_eq!(store.read(&ws).unwrap(), before);
}

#[test]
#[ignore = "real Windows only: Wine cannot follow the links it makes, so this cannot fail there"]
fn nothing_is_created_below_a_planted_junction() {
    let (_tmp, ws) = workspace();
    let (_elsewhere_tmp, elsewhere) = workspace();
    let link = ws.join(".git");
    let made = std::process::Command::new("cmd")
        .args(["/c", "mklink", "/J"])
        .arg(&link)
        .arg(&elsewhere)
        .output()
        .unwrap();
    assert!(
        made.status.success() && link.exists(),
        "mklink /J failed: {made:?}"
    );
    let mut store = NtfsAclStore::new();
    assert!(store.create_dir(&link.join("hooks")).is_err());
    assert!(store.create_file(&link.join("config")).is_err());
    assert!(
        !elsewhere.join("hooks").exists(),
        "a folder was created through the junction"
    );
    assert!(
        !elsewhere.join("config").exists(),
        "a file was created through the junction"
    );
}
