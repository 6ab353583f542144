//! Restricted tokens and private desktops through the real apply layer. Runs under Wine (which
//! builds restricted tokens but cannot report or enforce their restricting SIDs) and on Windows;
//! asserts what each really does.
#![cfg(windows)]

use paddock_windows::apply::desktop::PrivateDesktop;
use paddock_windows::apply::sid::current_user_sid;
use paddock_windows::apply::token::{RestrictedToken, TokenError};
use paddock_windows::apply::wine::running_under_wine;
use paddock_windows::sid::Sid;

#[test]
fn restricted_token_is_verified_on_windows_and_unverifiable_under_wine() {
    let roots = [Sid::synthetic().unwrap(), Sid::synthetic().unwrap()];
    let token = RestrictedToken::create(&roots).unwrap();
    assert_eq!(token.restricting_sids(), roots);
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
fn restricted_token_default_dacl_grants_user_system_and_restricting_sids() {
    let root = Sid::synthetic().unwrap();
    let token = RestrictedToken::create(std::slice::from_ref(&root)).unwrap();
    let dacl = token.default_dacl_sids();
    assert!(dacl.contains(&Sid::local_system()));
    assert!(dacl.contains(&root));
    assert!(dacl.contains(&current_user_sid().unwrap()));
}

#[test]
fn restricted_token_without_restricting_sids_is_refused() {
    assert!(matches!(
        RestrictedToken::create(&[]),
        Err(TokenError::NoRestrictingSids)
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
