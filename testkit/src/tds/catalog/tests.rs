use super::*;

fn catalog() -> Catalog {
    let mut c = Catalog::default();
    c.add_login("admin", "Admin-pw-1", LoginKind::RdsMaster);
    c.add_login("sa", "Sa-pw-1", LoginKind::Sysadmin);
    c.add_login("app", "App-pw-1", LoginKind::Plain);
    c.add_login("other", "Other-pw-1", LoginKind::Plain);
    c
}

fn w(n: &str) -> Who {
    Who::Login(n.into())
}

#[test]
fn a_plain_login_changes_only_its_own_password_and_only_with_the_old_one() {
    let mut c = catalog();
    let n = |r: Result<(), SqlError>| r.unwrap_err().number;
    assert_eq!(
        n(c.alter_password(&w("app"), "app", "New-pw-1", None)),
        15151
    );
    assert_eq!(
        n(c.alter_password(&w("app"), "app", "New-pw-1", Some("wrong"))),
        15151
    );
    assert_eq!(
        n(c.alter_password(&w("app"), "other", "New-pw-1", Some("Other-pw-1"))),
        15151
    );
    assert_eq!(
        n(c.alter_password(&w("app"), "nobody", "x", Some("y"))),
        15151
    );
    c.alter_password(&w("app"), "app", "New-pw-1", Some("App-pw-1"))
        .unwrap();
    assert_eq!(c.authenticate("app", "New-pw-1", "master"), Some(w("app")));
    assert!(c.authenticate("app", "App-pw-1", "master").is_none());
    let o = LoginOptions::default();
    assert_eq!(n(c.create_login(&w("app"), "x", "p", &o)), 15247);
}

#[test]
fn the_rds_master_resets_others_but_not_a_sysadmin() {
    let mut c = catalog();
    let o = LoginOptions::default();
    c.alter_password(&w("admin"), "app", "Reset-pw-1", None)
        .unwrap();
    assert_eq!(
        c.alter_password(&w("admin"), "sa", "x", None)
            .unwrap_err()
            .number,
        15151
    );
    c.alter_password(&w("sa"), "admin", "Reset-pw-2", None)
        .unwrap();
    c.create_login(&w("admin"), "new", "New-pw-1", &o).unwrap();
    let n = |r: Result<(), SqlError>| r.unwrap_err().number;
    assert_eq!(n(c.create_login(&w("admin"), "NEW", "p", &o)), 15025);
    assert_eq!(n(c.create_login(&w("admin"), "e", "", &o)), 15116);
    assert_eq!(
        n(c.create_login(&w("admin"), "l", &"x".repeat(129), &o)),
        15117
    );
    let bad = LoginOptions {
        check_policy: Some(false),
        check_expiration: Some(true),
        ..LoginOptions::default()
    };
    assert_eq!(n(c.alter_login(&w("admin"), "new", &bad, None)), 15122);
    assert_eq!(n(c.alter_login(&w("app"), "new", &o, Some(false))), 15151);
    c.alter_login(&w("admin"), "new", &o, Some(false)).unwrap();
    assert!(c.authenticate("new", "New-pw-1", "master").is_none());
}

#[test]
fn server_permissions_follow_roles_and_grants() {
    let c = catalog();
    assert!(c.has_server(&w("admin"), "ALTER ANY LOGIN"));
    assert!(c.server_grantable(&w("admin"), "VIEW SERVER STATE"));
    assert!(!c.has_server(&w("admin"), "CONTROL SERVER"));
    assert!(!c.has_server(&w("app"), "ALTER ANY LOGIN"));
    assert!(c.has_server(&w("app"), "VIEW ANY DATABASE"));
    assert!(c.has_server(&w("sa"), "CONTROL SERVER"));
}
