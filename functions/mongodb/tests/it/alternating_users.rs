//! Alternating users copy the whole access of the current user, not only its roles: its
//! `authenticationRestrictions` and its SCRAM `mechanisms` too, on creation and on every update,
//! in both directions, read back after each change. What the function cannot read is refused
//! before anything changes; DocumentDB, which has no authentication restrictions, rotates as
//! before when the secret says it is DocumentDB.

use rotation_core::labels::{AWSCURRENT, AWSPREVIOUS};
use rotation_core::Step;
use rotation_testkit::mongo::{Bson, Doc, Mechanism, Personality, Restriction};
use serde_json::json;

use crate::testbed::{mechanism_set, Bed};

/// The function reaches the stand-in from 127.0.0.1 on 127.0.0.1: these restrictions let it
/// log in (the first document) and keep other ranges the clone must get as well.
fn restricted() -> Vec<Restriction> {
    vec![
        Restriction::client(&["10.0.0.0/8", "127.0.0.1"]).and_server(&["127.0.0.1/32", "fd00::/8"]),
        Restriction::client(&["192.168.0.0/16"]),
    ]
}

/// Rotates `arn` `rounds` times; after each, both stages log in and the two users hold the same
/// roles, restrictions and mechanisms, which are `restrictions` and `mechanisms`.
async fn rotate_and_compare(
    bed: &Bed,
    arn: &str,
    rounds: usize,
    restrictions: &[Restriction],
    mechanisms: &[Mechanism],
    what: &str,
) {
    for round in 1..=rounds {
        let run = bed.rotate(arn).await;
        assert!(run.succeeded(), "{what} round {round}: {:?}", run.failure());
        assert!(
            bed.stage_holds(arn, AWSCURRENT).await,
            "{what} round {round}"
        );
        assert!(
            bed.stage_holds(arn, AWSPREVIOUS).await,
            "{what} round {round}"
        );
        let (current, _) = bed.creds(arn, AWSCURRENT).await;
        let (previous, _) = bed.creds(arn, AWSPREVIOUS).await;
        bed.assert_same_access(&current, &previous, &format!("{what} round {round}"));
        assert_eq!(
            bed.server.restrictions_of(bed.db, &current).as_deref(),
            Some(restrictions),
            "{what} round {round}: {current}'s restrictions"
        );
        assert_eq!(
            mechanism_set(bed.server.mechanisms_of(bed.db, &current)),
            mechanism_set(mechanisms.to_vec()),
            "{what} round {round}: {current}'s mechanisms"
        );
    }
}

#[tokio::test]
async fn the_clone_gets_the_current_users_restrictions_and_mechanisms_in_both_directions() {
    let bed = Bed::new(Personality::MongoDb, "alternating").await;
    for mechanisms in [vec![Mechanism::Sha256], vec![Mechanism::Sha1]] {
        let (user, arn) = bed.pair_with("fenced", &mechanisms, restricted()).await;
        // Round 1 creates the clone (current -> clone), round 2 updates the first user
        // (clone -> current), round 3 updates the clone.
        rotate_and_compare(
            &bed,
            &arn,
            3,
            &restricted(),
            &mechanisms,
            &format!("{mechanisms:?}"),
        )
        .await;
        assert_eq!(bed.current(&arn).await.0, format!("{user}_clone"));
    }
}

#[tokio::test]
async fn a_change_of_the_current_users_access_follows_to_the_other_user_on_update() {
    let bed = Bed::new(Personality::MongoDb, "alternating").await;
    let both = [Mechanism::Sha1, Mechanism::Sha256];
    let (user, arn) = bed.pair_with("follow", &both, restricted()).await;
    rotate_and_compare(&bed, &arn, 2, &restricted(), &both, "start").await;
    // The current user (the first again) is fenced to the function's address only: the
    // update gives the clone exactly that.
    let narrower = vec![Restriction::client(&["127.0.0.1/32"])];
    assert!(bed.server.set_restrictions(bed.db, &user, narrower.clone()));
    rotate_and_compare(&bed, &arn, 1, &narrower, &both, "narrower").await;
    // The current user (the clone) loses every restriction: the update clears the first
    // user's, which had some.
    assert!(bed
        .server
        .set_restrictions(bed.db, &format!("{user}_clone"), Vec::new()));
    rotate_and_compare(&bed, &arn, 1, &[], &both, "cleared").await;
    // The current user (the first) keeps SCRAM-SHA-256 only, then both again: the update
    // narrows the clone's mechanisms, then widens them (with the password, not only a subset).
    for mechanisms in [vec![Mechanism::Sha256], both.to_vec()] {
        let (current, password) = bed.creds(&arn, AWSCURRENT).await;
        bed.server.add_user_with(
            bed.db,
            &current,
            &password,
            &[("readWrite", bed.db)],
            &mechanisms,
            narrower.clone(),
        );
        rotate_and_compare(
            &bed,
            &arn,
            1,
            &narrower,
            &mechanisms,
            &format!("{mechanisms:?}"),
        )
        .await;
    }
}

#[tokio::test]
async fn an_access_the_function_cannot_read_fails_closed_and_nothing_changes() {
    let bed = Bed::new(Personality::MongoDb, "alternating").await;
    let unknown_kind = Bson::Array(vec![Bson::Document(
        Doc::new()
            .with(
                "clientSource",
                Bson::Array(vec![Bson::String("127.0.0.1".into())]),
            )
            .with(
                "clientCertificate",
                Bson::Array(vec![Bson::String("CN=app".into())]),
            ),
    )]);
    let not_a_string = Bson::Array(vec![Bson::Document(Doc::new().with(
        "clientSource",
        Bson::Array(vec![Bson::String("127.0.0.1".into()), Bson::Int32(10)]),
    ))]);
    let not_an_address = Bson::Array(vec![Bson::Document(Doc::new().with(
        "serverAddress",
        Bson::Array(vec![Bson::String("db.internal".into())]),
    ))]);
    let x509 = Bson::Array(vec![
        Bson::String("SCRAM-SHA-256".into()),
        Bson::String("MONGODB-X509".into()),
    ]);
    let cases = [
        (
            "authenticationRestrictions",
            unknown_kind,
            "authenticationRestrictions[0].clientCertificate",
        ),
        (
            "authenticationRestrictions",
            not_a_string,
            "authenticationRestrictions[0].clientSource[1]",
        ),
        (
            "authenticationRestrictions",
            not_an_address,
            "authenticationRestrictions[0].serverAddress[0]",
        ),
        ("mechanisms", x509, "mechanisms[1]"),
        // A MongoDB-wire server that does not list them.
        (
            "authenticationRestrictions",
            Bson::Null,
            "does not report authenticationRestrictions",
        ),
        ("mechanisms", Bson::Null, "does not report mechanisms"),
    ];
    for (field, reported, named) in cases {
        // Fresh (the clone would be created) and rotated once (it would be updated).
        for rotated in [false, true] {
            let what = format!("{named}, rotated {rotated}");
            let (user, arn) = bed
                .pair_with("unread", &[Mechanism::Sha256], restricted())
                .await;
            if rotated {
                assert!(bed.rotate(&arn).await.succeeded(), "{what}");
            }
            let (current, _) = bed.current(&arn).await;
            let other = if current == user {
                format!("{user}_clone")
            } else {
                user.clone()
            };
            let before = (
                bed.server.roles_of(bed.db, &other),
                bed.server.restrictions_of(bed.db, &other),
                bed.server.mechanisms_of(bed.db, &other),
            );
            let previous = if rotated {
                bed.creds(&arn, AWSPREVIOUS).await.1
            } else {
                String::new()
            };
            assert!(bed
                .server
                .report_instead(bed.db, &current, field, reported.clone()));
            let token = bed.start_and_create(&arn).await;
            let err = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
            assert!(
                err.starts_with("UnsupportedServer: ")
                    && err.contains(named)
                    && err.contains(&current),
                "{what}: {err}"
            );
            assert!(err.contains("nothing was changed"), "{what}: {err}");
            assert!(
                !err.contains("db.internal") && !err.contains("CN=app"),
                "{what}: {err}"
            );
            // The other user is as it was: absent, or with its old password and access.
            let after = (
                bed.server.roles_of(bed.db, &other),
                bed.server.restrictions_of(bed.db, &other),
                bed.server.mechanisms_of(bed.db, &other),
            );
            assert_eq!(before, after, "{what}");
            if rotated {
                assert!(bed.server.password_is(bed.db, &other, &previous), "{what}");
            }
            assert!(bed.stage_holds(&arn, AWSCURRENT).await, "{what}");
        }
    }
}

/// The clone is read back after each change: a server that took the command but did not
/// apply the restrictions (here: the updated user reads back without any) fails setSecret,
/// and so does every retry, so the version is never promoted; AWSCURRENT keeps working.
#[tokio::test]
async fn a_clone_read_back_without_the_access_sent_is_never_promoted() {
    let bed = Bed::new(Personality::MongoDb, "alternating").await;
    let (user, arn) = bed
        .pair_with("readback", &[Mechanism::Sha256], restricted())
        .await;
    assert!(bed.rotate(&arn).await.succeeded());
    let clone = format!("{user}_clone");
    assert_eq!(bed.current(&arn).await.0, clone);
    // The next rotation updates the first user, which the server reports unrestricted.
    assert!(bed.server.report_instead(
        bed.db,
        &user,
        "authenticationRestrictions",
        Bson::Array(Vec::new())
    ));
    let token = bed.start_and_create(&arn).await;
    for attempt in 1..=2 {
        let err = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
        assert!(
            err.starts_with("SetSecretFailed: ")
                && err.contains(&format!(
                    "user {user} does not hold the same authenticationRestrictions as user {clone}"
                )),
            "attempt {attempt}: {err}"
        );
        assert!(bed.stage_holds(&arn, AWSCURRENT).await, "attempt {attempt}");
    }
    assert_eq!(bed.current(&arn).await.0, clone);
}

/// DocumentDB documents no authentication restrictions, and refuses arguments it does not
/// implement (the stand-in's DocumentDB personality refuses `showAuthenticationRestrictions`
/// and `authenticationRestrictions` with 2 BadValue). A secret that says `"engine": "docdb"`
/// (or names a DocumentDB endpoint) rotates without them, the clone keeping the mechanisms; the
/// same server reached as `"engine": "mongo"` under a name that is not a DocumentDB endpoint is
/// taken for MongoDB, which cannot report the restrictions it must copy: refused, nothing
/// changed, and the message says how to name it.
#[tokio::test]
async fn documentdb_rotates_without_restrictions_and_an_unnamed_one_is_refused() {
    let bed = Bed::new(Personality::DocumentDb40, "alternating").await;
    assert_eq!(bed.engine, "docdb");
    let (user, arn) = bed.pair("docdb").await;
    rotate_and_compare(&bed, &arn, 2, &[], &[Mechanism::Sha1], "docdb").await;
    assert_eq!(bed.current(&arn).await.0, user);

    let master = bed.master_secret_as("mongo").await;
    let (user, arn) = bed
        .user(
            "unnamed",
            "Unnamed-Pa55word-1",
            &["readWrite"],
            json!({"engine": "mongo", "masterarn": master}),
        )
        .await;
    let token = bed.start_and_create(&arn).await;
    let err = bed.fails_changing_no_label(&arn, &token, Step::Set).await;
    assert!(
        err.starts_with("UnsupportedServer: ")
            && err.contains("showAuthenticationRestrictions")
            && err.contains("\"engine\": \"docdb\""),
        "{err}"
    );
    assert!(bed
        .server
        .roles_of(bed.db, &format!("{user}_clone"))
        .is_none());
    assert!(bed.server.password_is(bed.db, &user, "Unnamed-Pa55word-1"));
}
