//! What a clone copies from the current user, read from one `usersInfo` entry: its roles, its
//! `authenticationRestrictions` and its SCRAM `mechanisms`. Read strictly (a key, type or
//! mechanism this module does not know is an error naming the field), written back into the
//! clone's `createUser` / `updateUser` in the same command as the password, and compared field
//! by field after the change. Pure: no I/O, tested as data.
//!
//! The shapes are MongoDB's: `usersInfo` with `showAuthenticationRestrictions: true` always
//! lists `authenticationRestrictions` (an empty array for a user without any) and `mechanisms`
//! (manual: reference/command/usersInfo, "Output"; server: `User::reportForUsersInfo` and
//! `AuthorizationBackendLocal`, which adds the empty array). A restriction document holds
//! `clientSource` and/or `serverAddress`, arrays of IP addresses and CIDR ranges, and nothing
//! else (manual: includes/fact-auth-restrictions-array-contents: "These are the only fields
//! recognized by the server"). A user may log in when any one document is met, and a document
//! is met when each of its lists holds the address (server: `restriction_set.h`,
//! `RestrictionDocument` = any of, `RestrictionSet` = all of), so documents are kept in order
//! and whole. Amazon DocumentDB documents no authentication restrictions (see docs/engines.md).

use std::collections::BTreeSet;
use std::net::IpAddr;

use mongodb::bson::{Bson, Document};

use crate::error::MongoError;

/// The restriction fields MongoDB knows, in the order it stores them (the IDL struct
/// `address_restriction`: `clientSource`, then `serverAddress`).
const CLIENT_SOURCE: &str = "clientSource";
const SERVER_ADDRESS: &str = "serverAddress";

/// The server a session talks to, as far as reading a user goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// MongoDB: `usersInfo` reports restrictions (when asked) and mechanisms, always.
    MongoDb,
    /// Amazon DocumentDB (an AWS DocumentDB endpoint, or `"engine": "docdb"`): it has no
    /// authentication restrictions, and may not report mechanisms.
    DocumentDb,
}

/// A SCRAM mechanism a user can hold credentials for (createUser: "Valid values are
/// SCRAM-SHA-1, SCRAM-SHA-256").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mechanism {
    /// `SCRAM-SHA-1`.
    Sha1,
    /// `SCRAM-SHA-256`.
    Sha256,
}

impl Mechanism {
    fn name(self) -> &'static str {
        match self {
            Mechanism::Sha1 => "SCRAM-SHA-1",
            Mechanism::Sha256 => "SCRAM-SHA-256",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "SCRAM-SHA-1" => Some(Mechanism::Sha1),
            "SCRAM-SHA-256" => Some(Mechanism::Sha256),
            _ => None,
        }
    }
}

/// One `authenticationRestrictions` document: the lists it has, each of IP addresses and
/// CIDR ranges, in the server's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    client_source: Option<Vec<String>>,
    server_address: Option<Vec<String>>,
}

impl Restriction {
    fn to_bson(&self) -> Bson {
        let mut doc = Document::new();
        for (key, list) in [
            (CLIENT_SOURCE, &self.client_source),
            (SERVER_ADDRESS, &self.server_address),
        ] {
            if let Some(list) = list {
                doc.insert(
                    key,
                    list.iter().cloned().map(Bson::String).collect::<Vec<_>>(),
                );
            }
        }
        Bson::Document(doc)
    }
}

/// A user's authentication restrictions, as the server reported them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restrictions {
    /// Listed (possibly none), in order.
    Listed(Vec<Restriction>),
    /// Amazon DocumentDB, which has none, did not list them (the field absent, or the option
    /// refused).
    NotOffered,
}

/// What the clone must hold exactly: roles, authentication restrictions, SCRAM mechanisms.
#[derive(Debug, Clone)]
pub struct Access {
    /// The roles as the server listed them (sent back as they are).
    roles: Bson,
    /// The same roles as (role, db) pairs, sorted, for comparing.
    role_pairs: Vec<(String, String)>,
    restrictions: Restrictions,
    /// `None`: DocumentDB did not report mechanisms.
    mechanisms: Option<BTreeSet<Mechanism>>,
}

impl Access {
    /// Reads `entry` (the `usersInfo` document of `user`, asked with
    /// `showAuthenticationRestrictions: true` unless DocumentDB refused the option).
    pub fn read(entry: &Document, user: &str, server: Server) -> Result<Self, MongoError> {
        let not_understood = |field: String, why: &'static str| MongoError::NotUnderstood {
            field,
            user: user.to_string(),
            why,
        };
        let (roles, role_pairs) = read_roles(entry, &not_understood)?;
        let restrictions = match entry.get("authenticationRestrictions") {
            Some(value) => Restrictions::Listed(read_restrictions(value, &not_understood)?),
            None if server == Server::DocumentDb => Restrictions::NotOffered,
            None => {
                return Err(MongoError::NotReported {
                    field: "authenticationRestrictions",
                    user: user.to_string(),
                })
            }
        };
        let mechanisms = match entry.get("mechanisms") {
            Some(value) => Some(read_mechanisms(value, &not_understood)?),
            None if server == Server::DocumentDb => None,
            None => {
                return Err(MongoError::NotReported {
                    field: "mechanisms",
                    user: user.to_string(),
                })
            }
        };
        Ok(Self {
            roles,
            role_pairs,
            restrictions,
            mechanisms,
        })
    }

    /// The databases the roles live on (each needs `grantRole` to give them to a clone).
    pub fn role_databases(&self) -> BTreeSet<String> {
        self.role_pairs.iter().map(|(_, db)| db.clone()).collect()
    }

    /// The same roles as `other` (in any order).
    pub fn same_roles(&self, other: &Access) -> bool {
        self.role_pairs == other.role_pairs
    }

    /// True when the restrictions go into a command to `server` ([`Access::write_into`]).
    pub fn sends_restrictions(&self, server: Server) -> bool {
        match &self.restrictions {
            Restrictions::Listed(list) => server == Server::MongoDb || !list.is_empty(),
            Restrictions::NotOffered => false,
        }
    }

    /// Adds the roles, the restrictions and the mechanisms to a `createUser` / `updateUser`
    /// command. Restrictions: to MongoDB always (an empty list clears the clone's: updateUser
    /// "completely replaces" the array), to DocumentDB only when it listed some (it refuses the
    /// field as an argument it does not know). Mechanisms: whenever reported (with the
    /// password, any supported set is accepted: updateUser, `mechanisms`).
    /// `with_roles: false` leaves `roles` out (an `updateUser` of a clone that holds them
    /// already: setting roles needs `revokeRole` on every database).
    pub fn write_into(&self, command: &mut Document, server: Server, with_roles: bool) {
        if with_roles {
            command.insert("roles", self.roles.clone());
        }
        if let Restrictions::Listed(list) = &self.restrictions {
            if self.sends_restrictions(server) {
                command.insert(
                    "authenticationRestrictions",
                    list.iter().map(Restriction::to_bson).collect::<Vec<_>>(),
                );
            }
        }
        if let Some(mechanisms) = &self.mechanisms {
            command.insert(
                "mechanisms",
                mechanisms
                    .iter()
                    .map(|m| Bson::String(m.name().into()))
                    .collect::<Vec<_>>(),
            );
        }
    }

    /// The fields in which `other` differs from this access, by name.
    pub fn differences(&self, other: &Access) -> Vec<&'static str> {
        let mut fields = Vec::new();
        if self.role_pairs != other.role_pairs {
            fields.push("roles");
        }
        if self.restrictions != other.restrictions {
            fields.push("authenticationRestrictions");
        }
        if self.mechanisms != other.mechanisms {
            fields.push("mechanisms");
        }
        fields
    }
}

type NotUnderstood<'a> = dyn Fn(String, &'static str) -> MongoError + 'a;

fn read_roles(
    entry: &Document,
    not_understood: &NotUnderstood<'_>,
) -> Result<(Bson, Vec<(String, String)>), MongoError> {
    let roles = entry
        .get("roles")
        .ok_or_else(|| not_understood("roles".into(), "absent"))?;
    let Bson::Array(items) = roles else {
        return Err(not_understood("roles".into(), "not an array"));
    };
    let mut pairs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let pair = item
            .as_document()
            .and_then(|d| Some((d.get_str("role").ok()?, d.get_str("db").ok()?)));
        let Some((role, db)) = pair else {
            return Err(not_understood(
                format!("roles[{i}]"),
                "not a document with a string role and db",
            ));
        };
        pairs.push((role.to_string(), db.to_string()));
    }
    pairs.sort();
    Ok((roles.clone(), pairs))
}

fn read_restrictions(
    value: &Bson,
    not_understood: &NotUnderstood<'_>,
) -> Result<Vec<Restriction>, MongoError> {
    let Bson::Array(items) = value else {
        return Err(not_understood(
            "authenticationRestrictions".into(),
            "not an array",
        ));
    };
    let mut restrictions = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("authenticationRestrictions[{i}]");
        let Bson::Document(doc) = item else {
            return Err(not_understood(at, "not a document"));
        };
        let mut restriction = Restriction {
            client_source: None,
            server_address: None,
        };
        for (key, list) in doc {
            let slot = match key.as_str() {
                CLIENT_SOURCE => &mut restriction.client_source,
                SERVER_ADDRESS => &mut restriction.server_address,
                _ => {
                    return Err(not_understood(
                        format!("{at}.{}", short(key)),
                        "an unknown kind of restriction",
                    ))
                }
            };
            *slot = Some(read_ranges(list, &format!("{at}.{key}"), not_understood)?);
        }
        if restriction.client_source.is_none() && restriction.server_address.is_none() {
            return Err(not_understood(at, "neither clientSource nor serverAddress"));
        }
        restrictions.push(restriction);
    }
    Ok(restrictions)
}

fn read_ranges(
    value: &Bson,
    at: &str,
    not_understood: &NotUnderstood<'_>,
) -> Result<Vec<String>, MongoError> {
    let Bson::Array(items) = value else {
        return Err(not_understood(at.to_string(), "not an array"));
    };
    items
        .iter()
        .enumerate()
        .map(|(j, item)| match item {
            Bson::String(s) if is_ip_or_cidr(s) => Ok(s.clone()),
            Bson::String(_) => Err(not_understood(
                format!("{at}[{j}]"),
                "not an IP address or CIDR range",
            )),
            _ => Err(not_understood(format!("{at}[{j}]"), "not a string")),
        })
        .collect()
}

fn read_mechanisms(
    value: &Bson,
    not_understood: &NotUnderstood<'_>,
) -> Result<BTreeSet<Mechanism>, MongoError> {
    let Bson::Array(items) = value else {
        return Err(not_understood("mechanisms".into(), "not an array"));
    };
    if items.is_empty() {
        // createUser refuses an empty list ("mechanisms field must not be empty").
        return Err(not_understood("mechanisms".into(), "empty"));
    }
    items
        .iter()
        .enumerate()
        .map(|(j, item)| match item {
            Bson::String(s) => Mechanism::parse(s).ok_or_else(|| {
                not_understood(
                    format!("mechanisms[{j}]"),
                    "not SCRAM-SHA-1 or SCRAM-SHA-256",
                )
            }),
            _ => Err(not_understood(format!("mechanisms[{j}]"), "not a string")),
        })
        .collect()
}

/// An IPv4 or IPv6 address, with an optional `/prefix` no longer than the address.
fn is_ip_or_cidr(text: &str) -> bool {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let Ok(ip) = address.parse::<IpAddr>() else {
        return false;
    };
    let Some(prefix) = prefix else {
        return true;
    };
    let longest = if ip.is_ipv4() { 32 } else { 128 };
    !prefix.is_empty()
        && prefix.len() <= 3
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && prefix.parse::<u16>().is_ok_and(|n| n <= longest)
}

/// A key as it goes into a message: at most 40 characters.
fn short(key: &str) -> String {
    match key.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &key[..at]),
        None => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
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
            let mut d =
                entry(doc! {"authenticationRestrictions": [], "mechanisms": ["SCRAM-SHA-1"]});
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
}
