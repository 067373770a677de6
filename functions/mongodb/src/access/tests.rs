//! Unit tests of `access.rs`: reading a user's access strictly, writing it back, comparing.
use super::*;
use mongodb::bson::doc;

fn entry(extra: Document) -> Document {
    let mut d = doc! {"_id": "appdb.u", "user": "u", "db": "appdb",
    "roles": [{"role": "readWrite", "db": "appdb"}]};
    d.extend(extra);
    d
}

fn read(extra: Document, server: Server) -> Result<Access, MongoError> {
    Access::read(&entry(extra), "u", server)
}

fn field_of(e: MongoError) -> String {
    match e {
        MongoError::NotUnderstood { field, .. } => field,
        MongoError::NotReported { field, .. } => field.to_string(),
        other => panic!("unexpected {other}"),
    }
}

/// The databases whose `grantRole` a clone needs, and when an existing clone's roles must
/// be sent again: the same roles in another order are the same; a role more, fewer, or on
/// another database is not.
#[test]
fn role_databases_and_same_roles() {
    let with = |roles: Bson| {
        let mut d = entry(doc! {"authenticationRestrictions": [], "mechanisms": ["SCRAM-SHA-1"]});
        d.insert("roles", roles);
        Access::read(&d, "u", Server::MongoDb).unwrap()
    };
    let current = with(Bson::Array(vec![
        Bson::Document(doc! {"role": "readWrite", "db": "appdb"}),
        Bson::Document(doc! {"role": "read", "db": "otherdb"}),
        Bson::Document(doc! {"role": "read", "db": "appdb"}),
    ]));
    assert_eq!(
        current.role_databases().into_iter().collect::<Vec<_>>(),
        ["appdb", "otherdb"]
    );
    let reordered = with(Bson::Array(vec![
        Bson::Document(doc! {"role": "read", "db": "appdb"}),
        Bson::Document(doc! {"role": "read", "db": "otherdb"}),
        Bson::Document(doc! {"role": "readWrite", "db": "appdb"}),
    ]));
    assert!(current.same_roles(&reordered) && reordered.same_roles(&current));
    let fewer = with(Bson::Array(vec![Bson::Document(
        doc! {"role": "readWrite", "db": "appdb"},
    )]));
    let elsewhere = with(Bson::Array(vec![
        Bson::Document(doc! {"role": "readWrite", "db": "appdb"}),
        Bson::Document(doc! {"role": "read", "db": "thirddb"}),
        Bson::Document(doc! {"role": "read", "db": "appdb"}),
    ]));
    assert!(!current.same_roles(&fewer) && !fewer.same_roles(&current));
    assert!(!current.same_roles(&elsewhere));
    assert_eq!(
        fewer.role_databases().into_iter().collect::<Vec<_>>(),
        ["appdb"]
    );
    assert!(with(Bson::Array(vec![])).role_databases().is_empty());
}

#[test]
fn restrictions_and_mechanisms_are_read_and_written_back_as_listed() {
    let listed = doc! {
        "authenticationRestrictions": [
            {"clientSource": ["127.0.0.1", "10.0.0.0/8"], "serverAddress": ["::1", "fd00::/8"]},
            {"serverAddress": ["192.168.0.1/32"]},
        ],
        "mechanisms": ["SCRAM-SHA-256", "SCRAM-SHA-1"],
    };
    let access = read(listed.clone(), Server::MongoDb).unwrap();
    let mut command = doc! {"updateUser": "u_clone"};
    access.write_into(&mut command, Server::MongoDb, true);
    assert_eq!(
        command,
        doc! {"updateUser": "u_clone", "roles": [{"role": "readWrite", "db": "appdb"}],
        "authenticationRestrictions": listed.get_array("authenticationRestrictions").unwrap().clone(),
        "mechanisms": ["SCRAM-SHA-1", "SCRAM-SHA-256"]}
    );
}

#[test]
fn no_restrictions_clear_the_clones_on_mongodb_and_are_not_sent_to_documentdb() {
    let none = doc! {"authenticationRestrictions": [], "mechanisms": ["SCRAM-SHA-1"]};
    let access = read(none, Server::MongoDb).unwrap();
    let mut command = doc! {};
    access.write_into(&mut command, Server::MongoDb, true);
    assert_eq!(
        command.get_array("authenticationRestrictions").unwrap(),
        &Vec::<Bson>::new()
    );
    let mut command = doc! {};
    access.write_into(&mut command, Server::DocumentDb, true);
    assert!(command.get("authenticationRestrictions").is_none());
    // DocumentDB without the fields: none sent, the server's default mechanisms.
    let bare = Access::read(&entry(doc! {}), "u", Server::DocumentDb).unwrap();
    let mut command = doc! {};
    bare.write_into(&mut command, Server::DocumentDb, true);
    assert_eq!(command.keys().collect::<Vec<_>>(), vec!["roles"]);
}

#[test]
fn mongodb_must_report_both_fields() {
    let e = read(doc! {"mechanisms": ["SCRAM-SHA-1"]}, Server::MongoDb).unwrap_err();
    assert_eq!(field_of(e), "authenticationRestrictions");
    let e = read(doc! {"authenticationRestrictions": []}, Server::MongoDb).unwrap_err();
    assert_eq!(field_of(e), "mechanisms");
}

#[test]
fn anything_not_understood_is_refused_by_field() {
    let cases = [
        (
            doc! {"authenticationRestrictions": [{"clientSource": ["127.0.0.1"], "clientCertificate": ["CN=x"]}]},
            "authenticationRestrictions[0].clientCertificate",
        ),
        (
            doc! {"authenticationRestrictions": [{"clientSource": ["127.0.0.1", 10]}]},
            "authenticationRestrictions[0].clientSource[1]",
        ),
        (
            doc! {"authenticationRestrictions": [{}, {"serverAddress": ["db.internal"]}]},
            "authenticationRestrictions[0]",
        ),
        (
            doc! {"authenticationRestrictions": [{"serverAddress": ["db.internal"]}]},
            "authenticationRestrictions[0].serverAddress[0]",
        ),
        (
            doc! {"authenticationRestrictions": [{"serverAddress": "10.0.0.0/8"}]},
            "authenticationRestrictions[0].serverAddress",
        ),
        (
            doc! {"authenticationRestrictions": ["10.0.0.0/8"]},
            "authenticationRestrictions[0]",
        ),
        (
            doc! {"authenticationRestrictions": {}},
            "authenticationRestrictions",
        ),
    ];
    for (extra, field) in cases {
        let mut extra = extra;
        extra.insert("mechanisms", vec!["SCRAM-SHA-1"]);
        let e = read(extra, Server::MongoDb).unwrap_err();
        assert!(e.to_string().contains(field), "{e}");
        assert_eq!(field_of(e), field);
    }
    for (mechanisms, field) in [
        (
            Bson::from(vec!["SCRAM-SHA-256", "MONGODB-X509"]),
            "mechanisms[1]",
        ),
        (Bson::from(vec![Bson::Int32(1)]), "mechanisms[0]"),
        (Bson::Array(Vec::new()), "mechanisms"),
        (Bson::from("SCRAM-SHA-1"), "mechanisms"),
    ] {
        let e = read(
            doc! {"authenticationRestrictions": [], "mechanisms": mechanisms},
            Server::MongoDb,
        )
        .unwrap_err();
        assert_eq!(field_of(e), field);
    }
    let e = Access::read(
        &doc! {"user": "u", "roles": [{"role": "read"}]},
        "u",
        Server::MongoDb,
    )
    .unwrap_err();
    assert_eq!(field_of(e), "roles[0]");
}

#[test]
fn a_message_names_the_field_never_the_value() {
    let e = read(
        doc! {"authenticationRestrictions": [{"clientSource": ["not-an-address-1234"]}],
        "mechanisms": ["SCRAM-SHA-1"]},
        Server::MongoDb,
    )
    .unwrap_err();
    assert!(!e.to_string().contains("not-an-address-1234"), "{e}");
    // The message says what is wrong with it: a string that is no address, or no string.
    assert!(
        e.to_string().contains("not an IP address or CIDR range"),
        "{e}"
    );
    let e = read(
        doc! {"authenticationRestrictions": [{"clientSource": [10]}],
        "mechanisms": ["SCRAM-SHA-1"]},
        Server::MongoDb,
    )
    .unwrap_err();
    assert!(e.to_string().contains("not a string"), "{e}");
}

#[test]
fn addresses_and_ranges() {
    for ok in [
        "127.0.0.1",
        "10.0.0.0/8",
        "0.0.0.0/0",
        "1.2.3.4/32",
        "::1",
        "fd00::/8",
        "::/128",
    ] {
        assert!(is_ip_or_cidr(ok), "{ok}");
    }
    for bad in [
        "",
        "10.0.0.0/",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/+8",
        "10.0.0.0/08000",
        "host.example",
        "10.0.0.0/8/8",
        " 10.0.0.1",
    ] {
        assert!(!is_ip_or_cidr(bad), "{bad}");
    }
}

#[test]
fn differences_name_each_field() {
    let a = read(
        doc! {"authenticationRestrictions": [{"clientSource": ["127.0.0.1"]}],
        "mechanisms": ["SCRAM-SHA-1", "SCRAM-SHA-256"]},
        Server::MongoDb,
    )
    .unwrap();
    let b = Access::read(
        &doc! {"roles": [{"role": "read", "db": "appdb"}], "authenticationRestrictions": [],
        "mechanisms": ["SCRAM-SHA-256", "SCRAM-SHA-1"]},
        "u",
        Server::MongoDb,
    )
    .unwrap();
    assert_eq!(
        a.differences(&b),
        vec!["roles", "authenticationRestrictions"]
    );
    assert!(a.differences(&a.clone()).is_empty());
    // The order of roles does not matter; the order of restriction documents does.
    let two = |first: &str, second: &str| {
        read(
            doc! {"roles": [{"role": first, "db": "appdb"}, {"role": second, "db": "appdb"}],
            "authenticationRestrictions": [{"clientSource": [first]}, {"clientSource": [second]}],
            "mechanisms": ["SCRAM-SHA-1"]},
            Server::MongoDb,
        )
    };
    // Role names that are also addresses, to swap both lists at once.
    let (x, y) = (
        two("1.1.1.1", "2.2.2.2").unwrap(),
        two("2.2.2.2", "1.1.1.1").unwrap(),
    );
    assert_eq!(x.differences(&y), vec!["authenticationRestrictions"]);
}
