//! Privileges as MongoDB documents them, not role names: the function and its preflight read
//! the session's privileges (`connectionStatus` with `showPrivileges`), and the stand-in
//! authorizes user management in the server's order (testkit/src/mongo/authz.rs).

use crate::testbed::Bed;
use mongodb::bson::doc;
use mongodb::options::{ClientOptions, Credential, ServerAddress};
use mongodb::Client;
use rotation_core::labels::AWSCURRENT;
use rotation_testkit::mongo::{MongoStandIn, Personality};
use rotation_testkit::report_check as check;
use serde_json::json;

/// A superuser holding only `userAdmin` on the user's database may not give a clone a role on
/// another database (MongoDB needs `grantRole` on each role's database): preflight says so, and
/// setSecret refuses before any change, naming the action and the database.
#[tokio::test]
async fn a_user_admin_of_one_database_cannot_clone_a_user_with_a_role_elsewhere() {
    let bed = Bed::new(Personality::MongoDb, "alternating").await;
    let master = bed
        .superuser_with("appdb_admin", &[("userAdmin", "appdb")])
        .await;
    let (user, arn) = bed
        .user_with(
            "elsewhere",
            "Else-Pa55word-1",
            &[("readWrite", "appdb"), ("read", "otherdb")],
            json!({"masterarn": master}),
        )
        .await;
    let report = bed.preflight(&arn, false).await;
    let (ok, detail) = check(&report, "manage_users_privilege");
    assert!(
        !ok && detail.contains("grantRole") && detail.contains("otherdb"),
        "{detail}"
    );
    let run = bed.rotate(&arn).await;
    let (step, error) = run.failure().expect("must be refused");
    assert_eq!(step, rotation_core::Step::Set);
    assert!(
        error.starts_with("SetSecretFailed")
            && error.contains("grantRole")
            && error.contains("otherdb")
            && error.contains("nothing was changed"),
        "{error}"
    );
    let clone = format!("{user}_clone");
    assert_eq!(bed.server.roles_of("appdb", &clone), None, "no clone made");
    assert!(
        bed.stage_holds(&arn, AWSCURRENT).await,
        "AWSCURRENT logs in"
    );
}

/// The same superuser rotates a user whose roles are all on its database, again and again:
/// the clone's unchanged roles are not sent back (setting `roles` with updateUser needs
/// `revokeRole` on every database, which `userAdmin` on one lacks).
#[tokio::test]
async fn a_user_admin_of_one_database_rotates_its_users_repeatedly() {
    let bed = Bed::new(Personality::MongoDb, "alternating").await;
    let master = bed
        .superuser_with("appdb_admin", &[("userAdmin", "appdb")])
        .await;
    let (_, arn) = bed
        .user_with(
            "local",
            "Local-Pa55word-1",
            &[("readWrite", "appdb")],
            json!({"masterarn": master}),
        )
        .await;
    let report = bed.preflight(&arn, false).await;
    assert_eq!(report["ok"], true, "{report:#}");
    for round in 1..=3 {
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "round {round}: {:?}", run.failure());
        assert!(bed.stage_holds(&arn, AWSCURRENT).await, "round {round}");
    }
}

/// A single user whose password privilege comes from a user-defined role (the manual's
/// recipe, made here with `createRole` over the wire) passes preflight and rotates.
#[tokio::test]
async fn a_single_user_with_the_action_from_a_custom_role_rotates() {
    for personality in [Personality::DocumentDb40, Personality::MongoDb] {
        let bed = Bed::new(personality, "single").await;
        let root = client(
            bed.server.port(),
            "root",
            crate::testbed::ROOT_PASSWORD,
            "admin",
            true,
        );
        let role = format!("ownPassword_{}", rotation_testkit::unique());
        root.database("admin")
            .run_command(doc! {"createRole": &role, "roles": [],
                "privileges": [{"resource": {"db": "", "collection": ""}, "actions": ["changeOwnPassword"]}]})
            .await
            .expect("createRole");
        let (user, arn) = bed
            .user("custom", "Custom-Pa55word-1", &["readWrite"], json!({}))
            .await;
        root.database(bed.db)
            .run_command(
                doc! {"grantRolesToUser": &user, "roles": [{"role": &role, "db": "admin"}]},
            )
            .await
            .expect("grantRolesToUser");
        let report = bed.preflight(&arn, false).await;
        let (ok, detail) = check(&report, "own_password_privilege");
        assert!(ok, "{personality:?}: {detail}");
        let run = bed.rotate(&arn).await;
        assert!(run.succeeded(), "{personality:?}: {:?}", run.failure());
        assert!(bed.stage_holds(&arn, AWSCURRENT).await);
    }
}

fn client(port: u16, user: &str, password: &str, source: &str, tls: bool) -> Client {
    let mut options = ClientOptions::builder()
        .hosts(vec![ServerAddress::Tcp {
            host: "127.0.0.1".into(),
            port: Some(port),
        }])
        .direct_connection(true)
        .retry_writes(false)
        .credential(
            Credential::builder()
                .username(user.to_string())
                .password(password.to_string())
                .source(source.to_string())
                .build(),
        )
        .build();
    if tls {
        let ca = rotation_testkit::sandbox_var("SANDBOX_TLS_CA");
        options.tls = Some(mongodb::options::Tls::Enabled(
            mongodb::options::TlsOptions::builder()
                .ca_file_path(std::path::PathBuf::from(ca))
                .build(),
        ));
    }
    Client::with_options(options).expect("a client")
}

async fn code_of(client: &Client, db: &str, command: mongodb::bson::Document) -> Option<i32> {
    match client.database(db).run_command(command).await {
        Ok(_) => None,
        Err(e) => match *e.kind {
            mongodb::error::ErrorKind::Command(c) => Some(c.code),
            other => panic!("not a command error: {other:?}"),
        },
    }
}

/// The stand-in's answers where MongoDB's rules differ from a check by role name: a role that
/// exists only on `admin` named on another database (31), a clone on `app` made by a user
/// administrator of `admin` only (13: grantRole on app), updateUser of a missing user by a
/// caller that may not change passwords there (13, not 11).
#[tokio::test]
async fn the_stand_in_authorizes_as_mongodb_does() {
    let server = MongoStandIn::start(Personality::MongoDb, None)
        .await
        .unwrap();
    server.add_user("admin", "root", "Root-Pa55word-1", &[("root", "admin")]);
    server.add_user(
        "admin",
        "admins_admin",
        "Adm-Pa55word-1",
        &[("userAdmin", "admin")],
    );
    server.add_user("app", "plain", "Plain-Pa55word-1", &[("read", "app")]);
    let root = client(server.port(), "root", "Root-Pa55word-1", "admin", false);
    assert_eq!(
        code_of(
            &root,
            "app",
            doc! {"createUser": "reader", "pwd": "Reader-Pa55word-1",
            "roles": [{"role": "readAnyDatabase", "db": "app"}]}
        )
        .await,
        Some(31),
        "readAnyDatabase exists only on admin"
    );
    assert_eq!(
        code_of(
            &root,
            "admin",
            doc! {"createUser": "reader", "pwd": "Reader-Pa55word-1",
            "roles": [{"role": "readAnyDatabase", "db": "admin"}]}
        )
        .await,
        None,
        "readAnyDatabase on admin"
    );
    let admins_admin = client(
        server.port(),
        "admins_admin",
        "Adm-Pa55word-1",
        "admin",
        false,
    );
    assert_eq!(
        code_of(
            &admins_admin,
            "admin",
            doc! {"createUser": "clone", "pwd": "Clone-Pa55word-1",
            "roles": [{"role": "readWrite", "db": "app"}]}
        )
        .await,
        Some(13),
        "grantRole on app is needed"
    );
    let plain = client(server.port(), "plain", "Plain-Pa55word-1", "app", false);
    assert_eq!(
        code_of(
            &plain,
            "app",
            doc! {"updateUser": "ghost", "pwd": "Ghost-Pa55word-1"}
        )
        .await,
        Some(13),
        "authorization before the lookup"
    );
    assert_eq!(
        code_of(
            &root,
            "app",
            doc! {"updateUser": "ghost", "pwd": "Ghost-Pa55word-1"}
        )
        .await,
        Some(11),
        "a caller that may answers 11"
    );
}
