//! A model of the Windows access check for files, used to prove what a planned token can and
//! cannot do against planned ACLs. It follows Microsoft's documented algorithm:
//!
//! - "How AccessCheck Works" / "How DACLs Control Access to an Object": generic rights are mapped
//!   first; a NULL DACL grants everything, an empty DACL nothing; ACEs are walked in order and
//!   for each requested bit the first matching ACE that names it decides (so an explicit deny,
//!   placed first by canonical order, beats an allow, and an explicit deny sitting after an
//!   inherited allow loses to it); allow ACEs match enabled SIDs, deny ACEs also match deny-only
//!   SIDs; inherit-only ACEs are skipped.
//! - "Restricted Tokens": with restricting SIDs the system does a second walk that matches only
//!   the restricting SIDs, and grants the intersection; a `WRITE_RESTRICTED` token does the
//!   second walk for write access only ([`AccessMask::WRITE_RESTRICTED_CHECKED`]: the generic
//!   write mapping plus DELETE, WRITE_DAC and WRITE_OWNER, not FILE_DELETE_CHILD).
//! - Owner: the owner gets READ_CONTROL | WRITE_DAC implicitly unless the DACL holds an
//!   OWNER RIGHTS (S-1-3-4) ACE, which then replaces them ("SID Strings", Windows Vista+). In the
//!   restricting pass the owner must be one of the restricting SIDs.
//! - "Privilege Constants": SeBackup / SeRestore / SeTakeOwnership / SeSecurity add their rights
//!   after both passes (a process holding one can always enable it and ask for backup intent, so
//!   the model counts a privilege the token *holds*, enabled or not).
//! - "File Security and Access Rights": DELETE is also granted when the parent grants
//!   FILE_DELETE_CHILD, whatever the file's own DACL says.
//!
//! Not modelled: mandatory integrity labels (our tokens keep the caller's level, so No-Write-Up
//! never decides between sandbox and user), conditional and object ACEs (the SDDL parser refuses
//! them), SACLs and auditing, AppContainer capabilities.

use crate::acl::{Ace, AceKind, Acl, SecurityDescriptor, inherited_aces};
use crate::mask::AccessMask;
use crate::sid::Sid;
use serde::{Deserialize, Serialize};

/// How a group takes part in access checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupState {
    /// `SE_GROUP_ENABLED`: matches allow and deny ACEs.
    Enabled,
    /// `SE_GROUP_USE_FOR_DENY_ONLY`: matches deny ACEs only.
    DenyOnly,
    /// Present but not enabled: matches nothing.
    Disabled,
}

/// One group of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenGroup {
    pub sid: Sid,
    pub state: GroupState,
}

/// The privileges that change file access checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Privilege {
    /// SeChangeNotifyPrivilege: bypass traverse checking. No effect on the rights modelled here.
    ChangeNotify,
    /// SeBackupPrivilege: every read right.
    Backup,
    /// SeRestorePrivilege: every write right, including DACL and owner.
    Restore,
    /// SeTakeOwnershipPrivilege: WRITE_OWNER.
    TakeOwnership,
    /// SeSecurityPrivilege: ACCESS_SYSTEM_SECURITY.
    Security,
}

impl Privilege {
    /// The rights this privilege grants on any file.
    pub fn grants(self) -> AccessMask {
        match self {
            Privilege::ChangeNotify => AccessMask::NONE,
            Privilege::Backup => {
                AccessMask::FILE_GENERIC_READ
                    | AccessMask::FILE_EXECUTE
                    | AccessMask::ACCESS_SYSTEM_SECURITY
            }
            Privilege::Restore => {
                AccessMask::FILE_GENERIC_WRITE
                    | AccessMask::DELETE
                    | AccessMask::WRITE_DAC
                    | AccessMask::WRITE_OWNER
                    | AccessMask::ACCESS_SYSTEM_SECURITY
            }
            Privilege::TakeOwnership => AccessMask::WRITE_OWNER,
            Privilege::Security => AccessMask::ACCESS_SYSTEM_SECURITY,
        }
    }

    /// The Win32 name (`SeChangeNotifyPrivilege`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Privilege::ChangeNotify => "SeChangeNotifyPrivilege",
            Privilege::Backup => "SeBackupPrivilege",
            Privilege::Restore => "SeRestorePrivilege",
            Privilege::TakeOwnership => "SeTakeOwnershipPrivilege",
            Privilege::Security => "SeSecurityPrivilege",
        }
    }
}

/// The parts of an access token that decide file access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenModel {
    pub user: Sid,
    /// `DenyOnly` when the user SID itself was made deny-only.
    pub user_state: GroupState,
    pub groups: Vec<TokenGroup>,
    /// Restricting SIDs (`CreateRestrictedToken`'s `SidsToRestrict`). Empty: not restricted.
    pub restricting: Vec<Sid>,
    /// `WRITE_RESTRICTED`: the restricting pass applies to write rights only.
    pub write_restricted: bool,
    pub privileges: Vec<Privilege>,
}

impl TokenModel {
    /// An ordinary unrestricted token of `user` with enabled `groups`.
    pub fn user(user: Sid, groups: &[Sid]) -> TokenModel {
        TokenModel {
            user,
            user_state: GroupState::Enabled,
            groups: groups
                .iter()
                .map(|s| TokenGroup {
                    sid: s.clone(),
                    state: GroupState::Enabled,
                })
                .collect(),
            restricting: Vec::new(),
            write_restricted: false,
            privileges: vec![Privilege::ChangeNotify],
        }
    }

    fn matches_normal(&self, sid: &Sid, kind: AceKind) -> bool {
        let usable = |state: GroupState| match state {
            GroupState::Enabled => true,
            GroupState::DenyOnly => kind == AceKind::Deny,
            GroupState::Disabled => false,
        };
        (self.user == *sid && usable(self.user_state))
            || self
                .groups
                .iter()
                .any(|g| g.sid == *sid && !g.sid.is_integrity_label() && usable(g.state))
    }
}

/// Which identity view a pass uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pass {
    /// The user and its groups.
    Normal,
    /// The restricting SIDs only.
    Restricting,
}

/// An ACE that decided some requested bits in one pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decider {
    pub ace: Ace,
    /// Index of the ACE in the DACL.
    pub index: usize,
    /// The requested bits it decided (granted for an allow, denied for a deny).
    pub bits: AccessMask,
}

/// The outcome of one DACL walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassResult {
    pub pass: Pass,
    pub granted: AccessMask,
    pub deciders: Vec<Decider>,
    /// Rights granted implicitly because the identity owns the object.
    pub owner_implicit: AccessMask,
    /// True when the DACL is NULL (everything granted).
    pub null_dacl: bool,
}

/// The full result of a check of `requested` rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessDecision {
    /// `requested` after generic mapping.
    pub requested: AccessMask,
    /// The requested rights the token gets.
    pub granted: AccessMask,
    pub normal: PassResult,
    /// Present when the token has restricting SIDs.
    pub restricting: Option<PassResult>,
    /// Requested rights the restricting pass was consulted for.
    pub restricted_bits: AccessMask,
    /// Requested rights added by privileges.
    pub by_privilege: AccessMask,
}

impl AccessDecision {
    pub fn allowed(&self) -> bool {
        self.granted.contains(self.requested)
    }
}

fn walk(
    sd: &SecurityDescriptor,
    requested: AccessMask,
    pass: Pass,
    matches: impl Fn(&Sid, AceKind) -> bool,
) -> PassResult {
    let Some(dacl) = &sd.dacl else {
        return PassResult {
            pass,
            granted: requested,
            deciders: Vec::new(),
            owner_implicit: AccessMask::NONE,
            null_dacl: true,
        };
    };
    let is_owner = sd
        .owner
        .as_ref()
        .is_some_and(|o| matches(o, AceKind::Allow));
    let has_owner_rights = dacl
        .aces
        .iter()
        .any(|a| a.is_effective() && a.sid == Sid::owner_rights());
    let owner_implicit = if is_owner && !has_owner_rights {
        (AccessMask::READ_CONTROL | AccessMask::WRITE_DAC) & requested
    } else {
        AccessMask::NONE
    };
    let mut granted = owner_implicit;
    let mut denied = AccessMask::NONE;
    let mut deciders = Vec::new();
    for (index, ace) in dacl.aces.iter().enumerate() {
        if !ace.is_effective() {
            continue;
        }
        let hit = if ace.sid == Sid::owner_rights() {
            is_owner
        } else {
            matches(&ace.sid, ace.kind)
        };
        if !hit {
            continue;
        }
        let undecided = requested.without(granted).without(denied);
        let bits = ace.mask.map_generic() & undecided;
        if bits.is_empty() {
            continue;
        }
        match ace.kind {
            AceKind::Allow => granted |= bits,
            AceKind::Deny => denied |= bits,
        }
        deciders.push(Decider {
            ace: ace.clone(),
            index,
            bits,
        });
    }
    PassResult {
        pass,
        granted,
        deciders,
        owner_implicit,
        null_dacl: false,
    }
}

/// Checks which of `requested` rights `token` gets on an object with descriptor `sd`.
pub fn access_check(
    token: &TokenModel,
    sd: &SecurityDescriptor,
    requested: AccessMask,
) -> AccessDecision {
    let requested = requested.map_generic().without(AccessMask::MAXIMUM_ALLOWED);
    let normal = walk(sd, requested, Pass::Normal, |sid, kind| {
        token.matches_normal(sid, kind)
    });
    let mut granted = normal.granted;
    let (restricting, restricted_bits) = if token.restricting.is_empty() {
        (None, AccessMask::NONE)
    } else {
        let scope = if token.write_restricted {
            requested & AccessMask::WRITE_RESTRICTED_CHECKED
        } else {
            requested
        };
        let r = walk(sd, requested, Pass::Restricting, |sid, _| {
            token.restricting.contains(sid)
        });
        granted = granted & (r.granted | !scope);
        (Some(r), scope)
    };
    let privileged = token
        .privileges
        .iter()
        .fold(AccessMask::NONE, |m, p| m | p.grants())
        & requested;
    let by_privilege = privileged.without(granted);
    granted |= privileged;
    AccessDecision {
        requested,
        granted: granted & requested,
        normal,
        restricting,
        restricted_bits,
        by_privilege,
    }
}

/// True when `token` may delete an object: DELETE on the object itself, or FILE_DELETE_CHILD on
/// its parent directory.
pub fn can_delete(
    token: &TokenModel,
    object: &SecurityDescriptor,
    parent: &SecurityDescriptor,
) -> bool {
    access_check(token, object, AccessMask::DELETE).allowed()
        || access_check(token, parent, AccessMask::FILE_DELETE_CHILD).allowed()
}

/// The descriptor a new child of `parent` gets: `explicit` ACEs first, then what it inherits
/// (nothing from a NULL parent DACL), owned by `owner`.
pub fn child_descriptor(
    parent: &SecurityDescriptor,
    explicit: Vec<Ace>,
    is_dir: bool,
    owner: &Sid,
) -> SecurityDescriptor {
    let mut aces = explicit;
    if let Some(dacl) = &parent.dacl {
        aces.extend(inherited_aces(dacl, is_dir, owner));
    }
    SecurityDescriptor {
        owner: Some(owner.clone()),
        group: parent.group.clone(),
        dacl: Some(Acl::new(aces)),
        protected: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::AceFlags;

    fn alice() -> Sid {
        Sid::parse("S-1-5-21-1-2-3-1001").unwrap()
    }
    fn root_sid() -> Sid {
        Sid::parse("S-1-5-21-11-22-33-44").unwrap()
    }
    fn sd(owner: Sid, aces: Vec<Ace>) -> SecurityDescriptor {
        SecurityDescriptor {
            owner: Some(owner),
            group: None,
            dacl: Some(Acl::new(aces)),
            protected: false,
        }
    }
    fn alice_token() -> TokenModel {
        TokenModel::user(
            alice(),
            &[
                Sid::everyone(),
                Sid::authenticated_users(),
                Sid::builtin_users(),
            ],
        )
    }
    fn sandbox_token(restricting: Vec<Sid>) -> TokenModel {
        TokenModel {
            restricting,
            write_restricted: true,
            ..alice_token()
        }
    }
    const W: AccessMask = AccessMask::FILE_WRITE_DATA;
    const R: AccessMask = AccessMask::FILE_READ_DATA;

    #[test]
    fn microsoft_example_how_dacls_control_access_to_an_object() {
        // "How DACLs Control Access to an Object": Andrew is denied by the first ACE; Jane gets
        // write from Group A's ACE and read+execute from Everyone's.
        let andrew = Sid::parse("S-1-5-21-5-5-5-1101").unwrap();
        let jane = Sid::parse("S-1-5-21-5-5-5-1102").unwrap();
        let group_a = Sid::parse("S-1-5-21-5-5-5-2001").unwrap();
        let rwx = AccessMask::FILE_GENERIC_READ
            | AccessMask::FILE_GENERIC_WRITE
            | AccessMask::FILE_GENERIC_EXECUTE;
        let d = sd(
            Sid::local_system(),
            vec![
                Ace::deny(andrew.clone(), rwx, AceFlags::NONE),
                Ace::allow(
                    group_a.clone(),
                    AccessMask::FILE_GENERIC_WRITE,
                    AceFlags::NONE,
                ),
                Ace::allow(
                    Sid::everyone(),
                    AccessMask::FILE_GENERIC_READ | AccessMask::FILE_GENERIC_EXECUTE,
                    AceFlags::NONE,
                ),
            ],
        );
        let thread_a = TokenModel::user(andrew, &[group_a.clone(), Sid::everyone()]);
        let thread_b = TokenModel::user(jane, &[group_a, Sid::everyone()]);
        let a = access_check(&thread_a, &d, rwx);
        assert!(!a.allowed());
        assert_eq!(a.normal.deciders[0].index, 0);
        let b = access_check(&thread_b, &d, rwx);
        assert!(b.allowed());
        assert_eq!(
            b.normal
                .deciders
                .iter()
                .map(|x| x.index)
                .collect::<Vec<_>>(),
            [1, 2]
        );
    }

    #[test]
    fn null_dacl_grants_everything_and_empty_dacl_nothing() {
        let null = SecurityDescriptor {
            owner: Some(Sid::local_system()),
            group: None,
            dacl: None,
            protected: false,
        };
        assert!(access_check(&alice_token(), &null, AccessMask::GENERIC_ALL).allowed());
        let empty = sd(Sid::local_system(), vec![]);
        assert!(!access_check(&alice_token(), &empty, R).allowed());
    }

    #[test]
    fn deny_beats_allow_in_canonical_order() {
        let d = sd(
            Sid::local_system(),
            vec![
                Ace::deny(Sid::everyone(), W, AceFlags::NONE),
                Ace::allow(alice(), AccessMask::FILE_ALL_ACCESS, AceFlags::NONE),
            ],
        );
        let r = access_check(&alice_token(), &d, R | W);
        assert_eq!(r.granted, R);
        assert_eq!(r.normal.deciders[0].ace.kind, AceKind::Deny);
    }

    #[test]
    fn explicit_deny_after_inherited_allow_loses() {
        let d = sd(
            Sid::local_system(),
            vec![
                Ace::allow(alice(), AccessMask::FILE_ALL_ACCESS, AceFlags::INHERITED),
                Ace::deny(alice(), W, AceFlags::NONE),
            ],
        );
        assert!(access_check(&alice_token(), &d, W).allowed());
    }

    #[test]
    fn generic_rights_in_aces_and_requests_are_mapped() {
        let d = sd(
            Sid::local_system(),
            vec![Ace::allow(
                alice(),
                AccessMask::GENERIC_READ,
                AceFlags::NONE,
            )],
        );
        assert!(access_check(&alice_token(), &d, AccessMask::FILE_GENERIC_READ).allowed());
        assert!(!access_check(&alice_token(), &d, AccessMask::GENERIC_WRITE).allowed());
    }

    #[test]
    fn deny_only_groups_match_deny_aces_only() {
        let admins = Sid::builtin_administrators();
        let mut t = alice_token();
        t.groups.push(TokenGroup {
            sid: admins.clone(),
            state: GroupState::DenyOnly,
        });
        let allow = sd(
            Sid::local_system(),
            vec![Ace::allow(admins.clone(), W, AceFlags::NONE)],
        );
        assert!(!access_check(&t, &allow, W).allowed());
        let deny = sd(
            Sid::local_system(),
            vec![
                Ace::deny(admins, W, AceFlags::NONE),
                Ace::allow(alice(), W, AceFlags::NONE),
            ],
        );
        assert!(!access_check(&t, &deny, W).allowed());
    }

    #[test]
    fn owner_gets_read_control_and_write_dac_unless_owner_rights_present() {
        let d = sd(alice(), vec![]);
        assert!(
            access_check(
                &alice_token(),
                &d,
                AccessMask::WRITE_DAC | AccessMask::READ_CONTROL
            )
            .allowed()
        );
        assert!(!access_check(&alice_token(), &d, W).allowed());
        let limited = sd(
            alice(),
            vec![Ace::allow(
                Sid::owner_rights(),
                AccessMask::READ_CONTROL,
                AceFlags::NONE,
            )],
        );
        assert!(!access_check(&alice_token(), &limited, AccessMask::WRITE_DAC).allowed());
        assert!(access_check(&alice_token(), &limited, AccessMask::READ_CONTROL).allowed());
    }

    #[test]
    fn restricted_owner_gets_no_implicit_write_dac_unless_owner_is_restricting_sid() {
        let d = sd(
            alice(),
            vec![Ace::allow(
                alice(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::NONE,
            )],
        );
        assert!(
            !access_check(&sandbox_token(vec![root_sid()]), &d, AccessMask::WRITE_DAC).allowed()
        );
    }

    #[test]
    fn restricting_pass_intersects_with_normal_pass() {
        let d = sd(
            Sid::local_system(),
            vec![
                Ace::allow(alice(), AccessMask::FILE_ALL_ACCESS, AceFlags::NONE),
                Ace::allow(root_sid(), R | W, AceFlags::NONE),
            ],
        );
        let fully = TokenModel {
            write_restricted: false,
            ..sandbox_token(vec![root_sid()])
        };
        assert_eq!(
            access_check(&fully, &d, R | W | AccessMask::DELETE).granted,
            R | W
        );
        let only_sandbox = sd(
            Sid::local_system(),
            vec![Ace::allow(root_sid(), W, AceFlags::NONE)],
        );
        assert!(
            !access_check(&fully, &only_sandbox, W).allowed(),
            "normal pass must grant too"
        );
    }

    #[test]
    fn write_restricted_token_reads_with_user_rights_but_writes_only_where_its_sid_is_granted() {
        let user_file = sd(
            alice(),
            vec![Ace::allow(
                alice(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::NONE,
            )],
        );
        let t = sandbox_token(vec![root_sid()]);
        assert!(
            access_check(
                &t,
                &user_file,
                AccessMask::FILE_GENERIC_READ | AccessMask::FILE_EXECUTE
            )
            .allowed()
        );
        for right in [
            W,
            AccessMask::FILE_APPEND_DATA,
            AccessMask::FILE_WRITE_EA,
            AccessMask::FILE_WRITE_ATTRIBUTES,
            AccessMask::DELETE,
            AccessMask::WRITE_DAC,
            AccessMask::WRITE_OWNER,
        ] {
            let r = access_check(&t, &user_file, right);
            assert!(!r.allowed(), "{:?} granted", right.names());
            assert_eq!(r.restricted_bits, right);
        }
        let delete_child = access_check(&t, &user_file, AccessMask::FILE_DELETE_CHILD);
        assert!(
            delete_child.allowed(),
            "FILE_DELETE_CHILD is judged by the user's rights alone (measured on Windows)"
        );
        assert!(delete_child.restricted_bits.is_empty());
        let granted = sd(
            alice(),
            vec![
                Ace::allow(alice(), AccessMask::FILE_ALL_ACCESS, AceFlags::NONE),
                Ace::allow(
                    root_sid(),
                    AccessMask::MODIFY_WITHOUT_DELETE_CHILD,
                    AceFlags::NONE,
                ),
            ],
        );
        assert!(access_check(&t, &granted, W | AccessMask::DELETE).allowed());
    }

    #[test]
    fn everyone_writable_dir_is_writable_only_if_everyone_is_a_restricting_sid() {
        let public = sd(
            Sid::local_system(),
            vec![Ace::allow(
                Sid::everyone(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::OICI,
            )],
        );
        assert!(!access_check(&sandbox_token(vec![root_sid()]), &public, W).allowed());
        assert!(
            access_check(
                &sandbox_token(vec![root_sid(), Sid::everyone()]),
                &public,
                W
            )
            .allowed()
        );
        let logon = Sid::logon(0, 0x1234);
        let session = sd(
            Sid::local_system(),
            vec![Ace::allow(
                logon.clone(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::NONE,
            )],
        );
        let mut t = sandbox_token(vec![root_sid(), logon.clone()]);
        t.groups.push(TokenGroup {
            sid: logon,
            state: GroupState::Enabled,
        });
        assert!(
            access_check(&t, &session, W).allowed(),
            "the logon SID as restricting SID opens session objects"
        );
    }

    #[test]
    fn delete_through_parent_delete_child_overrides_a_deny_on_the_file() {
        let parent = sd(
            alice(),
            vec![Ace::allow(
                alice(),
                AccessMask::FILE_ALL_ACCESS,
                AceFlags::NONE,
            )],
        );
        let file = sd(
            alice(),
            vec![Ace::deny(alice(), AccessMask::DELETE, AceFlags::NONE)],
        );
        assert!(!access_check(&alice_token(), &file, AccessMask::DELETE).allowed());
        assert!(can_delete(&alice_token(), &file, &parent));
    }

    #[test]
    fn privileges_add_rights_after_both_passes() {
        let locked = sd(Sid::local_system(), vec![]);
        let mut t = sandbox_token(vec![root_sid()]);
        assert!(!access_check(&t, &locked, W).allowed());
        t.privileges.push(Privilege::Restore);
        let r = access_check(&t, &locked, W | AccessMask::WRITE_DAC);
        assert!(r.allowed());
        assert_eq!(r.by_privilege, W | AccessMask::WRITE_DAC);
        t.privileges = vec![Privilege::TakeOwnership];
        assert!(access_check(&t, &locked, AccessMask::WRITE_OWNER).allowed());
        assert!(!access_check(&t, &locked, W).allowed());
    }

    #[test]
    fn child_descriptor_inherits_parent_grants() {
        let parent = sd(
            alice(),
            vec![
                Ace::allow(alice(), AccessMask::FILE_ALL_ACCESS, AceFlags::OICI),
                Ace::allow(
                    root_sid(),
                    AccessMask::MODIFY_WITHOUT_DELETE_CHILD,
                    AceFlags::OICI,
                ),
            ],
        );
        let file = child_descriptor(&parent, vec![], false, &alice());
        let t = sandbox_token(vec![root_sid()]);
        assert!(access_check(&t, &file, W | AccessMask::DELETE).allowed());
        let denied = child_descriptor(
            &parent,
            vec![Ace::deny(root_sid(), AccessMask::ALL_WRITE, AceFlags::NONE)],
            false,
            &alice(),
        );
        assert!(!access_check(&t, &denied, W).allowed());
        assert!(
            access_check(&alice_token(), &denied, W).allowed(),
            "the user keeps writing"
        );
    }

    #[test]
    fn integrity_label_groups_never_match_dacl_entries() {
        let label = Sid::integrity_label(0x2000);
        let mut t = alice_token();
        t.groups.push(TokenGroup {
            sid: label.clone(),
            state: GroupState::Enabled,
        });
        let d = sd(
            Sid::local_system(),
            vec![Ace::allow(label, W, AceFlags::NONE)],
        );
        assert!(!access_check(&t, &d, W).allowed());
    }
}
