//! Restricted tokens and private desktops through the real apply layer. Runs under Wine (which
//! builds restricted tokens but cannot report or enforce their restricting SIDs) and on Windows;
//! asserts what each really does.
#![cfg(windows)]

use paddock_windows::access::Privilege;
use paddock_windows::acl::{Ace, AceFlags, Acl};
use paddock_windows::apply::desktop::PrivateDesktop;
use paddock_windows::apply::token::{RestrictedToken, TokenError};
use paddock_windows::apply::wine::running_under_wine;
use paddock_windows::mask::AccessMask;
use paddock_windows::plan::TokenPlan;
use paddock_windows::sid::Sid;

fn plan(roots: usize) -> TokenPlan {
    let run_sid = Sid::synthetic().unwrap();
    let mut restricting_sids: Vec<Sid> = (0..roots).map(|_| Sid::synthetic().unwrap()).collect();
    restricting_sids.push(run_sid.clone());
    TokenPlan {
        write_restricted: true,
        disable_max_privilege: true,
        lua_token: true,
        restricting_sids,
        run_sid: run_sid.clone(),
        deny_only: Vec::new(),
        retained_privileges: vec![Privilege::ChangeNotify],
        default_dacl: Acl::new(vec![
            Ace::allow(Sid::owner_rights(), AccessMask::GENERIC_ALL, AceFlags::NONE),
            Ace::allow(Sid::local_system(), AccessMask::GENERIC_ALL, AceFlags::NONE),
            Ace::allow(run_sid, AccessMask::GENERIC_ALL, AceFlags::NONE),
        ]),
    }
}

#[test]
fn restricted_token_is_verified_on_windows_and_unverifiable_under_wine() {
    let plan = plan(2);
    let token = RestrictedToken::create(&plan).unwrap();
    assert_eq!(token.restricting_sids(), plan.restricting_sids);
    assert_eq!(token.flags(), 0x8 | 0x4 | 0x1);
    match token.verify() {
        Ok(()) => assert!(
            !running_under_wine(),
            "Wine unexpectedly reported restricting SIDs"
        ),
        Err(TokenError::Unverifiable { source, wine }) => {
            assert!(
                running_under_wine(),
                "real Windows failed to report restricting SIDs: {source}"
            );
            assert_eq!(source.api, "GetTokenInformation");
            assert!(wine.contains("Wine"));
        }
        Err(other) => panic!("unexpected: {other}"),
    }
}

#[test]
fn restricted_token_holds_the_planned_default_dacl() {
    let plan = plan(1);
    let token = RestrictedToken::create(&plan).unwrap();
    assert_eq!(token.read_default_dacl().unwrap(), plan.default_dacl);
}

#[test]
fn plan_without_restricting_sids_is_refused() {
    let mut plan = plan(0);
    plan.restricting_sids.clear();
    assert!(matches!(
        RestrictedToken::create(&plan),
        Err(TokenError::NoRestrictingSids)
    ));
}

#[test]
fn plan_keeping_backup_privilege_under_disable_max_privilege_is_refused() {
    let mut plan = plan(1);
    plan.retained_privileges.push(Privilege::Backup);
    assert!(matches!(
        RestrictedToken::create(&plan),
        Err(TokenError::UnsupportedPrivileges(p)) if p == [Privilege::Backup]
    ));
}

#[test]
fn private_desktop_has_random_name_on_the_callers_window_station() {
    let root = Sid::synthetic().unwrap();
    let a = PrivateDesktop::create(std::slice::from_ref(&root)).unwrap();
    let b = PrivateDesktop::create(std::slice::from_ref(&root)).unwrap();
    let name = a.startup_name();
    let (station, desktop) = name.split_once('\\').unwrap();
    assert!(!station.is_empty());
    assert!(desktop.starts_with("paddock-"), "{name}");
    assert_ne!(a.startup_name(), b.startup_name());
}
