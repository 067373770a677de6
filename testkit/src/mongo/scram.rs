//! The server side of SCRAM-SHA-1 and SCRAM-SHA-256 as MongoDB runs them (RFC 5802 messages
//! in `saslStart` / `saslContinue` payloads): stored credentials from a password (SHA-1 over
//! MongoDB's `hex(md5("user:mongo:password"))` digest, SHA-256 over the SASLprep'd password),
//! a conversation that checks the client's proof and proves the server's.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The iteration count of stored credentials: the lowest drivers accept (MongoDB's defaults
/// are 10000 and 15000; the tests log in hundreds of times).
pub const ITERATIONS: u32 = 4096;

/// A SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `SCRAM-SHA-1`.
    Sha1,
    /// `SCRAM-SHA-256`.
    Sha256,
}

impl Mechanism {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha1 => "SCRAM-SHA-1",
            Mechanism::Sha256 => "SCRAM-SHA-256",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "SCRAM-SHA-1" => Some(Mechanism::Sha1),
            "SCRAM-SHA-256" => Some(Mechanism::Sha256),
            _ => None,
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha1 => {
                let mut m = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            Mechanism::Sha256 => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Mechanism::Sha1 => Sha1::digest(data).to_vec(),
            Mechanism::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    fn pbkdf2(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut first = salt.to_vec();
        first.extend_from_slice(&1u32.to_be_bytes());
        let mut u = self.hmac(password, &first);
        let mut out = u.clone();
        for _ in 1..iterations {
            u = self.hmac(password, &u);
            for (o, b) in out.iter_mut().zip(&u) {
                *o ^= b;
            }
        }
        out
    }
}

/// What the server stores for one mechanism of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    salt: Vec<u8>,
    iterations: u32,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

/// The password input of `mechanism` for `user`; `None` when SASLprep refuses the password.
fn password_input(mechanism: Mechanism, user: &str, password: &str) -> Option<Vec<u8>> {
    match mechanism {
        Mechanism::Sha1 => {
            let digest =
                <md5::Md5 as md5::Digest>::digest(format!("{user}:mongo:{password}").as_bytes());
            Some(
                digest
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
                    .into_bytes(),
            )
        }
        Mechanism::Sha256 => stringprep::saslprep(password)
            .ok()
            .map(|p| p.as_bytes().to_vec()),
    }
}

impl Credential {
    /// The stored credential of `user` with `password`, with a fresh salt; `None` when the
    /// password is not valid for the mechanism (SASLprep).
    pub fn new(mechanism: Mechanism, user: &str, password: &str) -> Option<Self> {
        let salt = uuid::Uuid::new_v4().as_bytes().to_vec();
        let salted = mechanism.pbkdf2(
            &password_input(mechanism, user, password)?,
            &salt,
            ITERATIONS,
        );
        let client_key = mechanism.hmac(&salted, b"Client Key");
        Some(Self {
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(&salted, b"Server Key"),
            salt,
            iterations: ITERATIONS,
        })
    }
}

impl Credential {
    /// True when `password` is the one this credential was made from.
    pub fn matches(&self, mechanism: Mechanism, user: &str, password: &str) -> bool {
        let Some(input) = password_input(mechanism, user, password) else {
            return false;
        };
        let salted = mechanism.pbkdf2(&input, &self.salt, self.iterations);
        mechanism.hash(&mechanism.hmac(&salted, b"Client Key")) == self.stored_key
    }
}

/// The attributes of a SCRAM message (`a=...,b=...`), in order.
fn attributes(message: &str) -> Vec<(char, &str)> {
    message
        .split(',')
        .filter_map(|part| {
            let mut chars = part.chars();
            let key = chars.next()?;
            part.get(1..)?.strip_prefix('=').map(|v| (key, v))
        })
        .collect()
}

/// How a server reads the user name of SCRAM's first message (`saslname`, RFC 5802 §5.1:
/// `,` and `=` sent as `=2C` and `=3D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// MongoDB: the name is `n=` up to the first `,`, then `=2C` and `=3D` are replaced, in
    /// that order, wherever they are; any other `=` stays as it is
    /// (sasl_scram_server_conversation.cpp). A raw `,` ends the name and makes the rest the
    /// next field, which must be the nonce.
    MongoDb,
    /// RFC 5802 as written: a `=` not followed by `2C` or `3D` fails the exchange (what
    /// DocumentDB does is [U]; this is the stricter reading).
    Rfc5802,
}

impl NameRule {
    /// The user name `name` (as sent) stands for; `None` when the rule refuses it.
    pub fn decode(self, name: &str) -> Option<String> {
        match self {
            NameRule::MongoDb => Some(name.replace("=2C", ",").replace("=3D", "=")),
            NameRule::Rfc5802 => {
                let mut out = String::new();
                let mut rest = name;
                while let Some(i) = rest.find('=') {
                    out.push_str(&rest[..i]);
                    match rest.get(i..i + 3) {
                        Some("=2C") => out.push(','),
                        Some("=3D") => out.push('='),
                        _ => return None,
                    }
                    rest = &rest[i + 3..];
                }
                out.push_str(rest);
                Some(out)
            }
        }
    }
}

/// The first client message: `n,,n=<user>,r=<nonce>`; (user, client-first-bare, nonce). The
/// name is read by `rule`; a raw `,` in it leaves a field other than `r=` second, which is
/// refused as a bad nonce.
pub fn client_first(message: &str, rule: NameRule) -> Result<(String, String, String), String> {
    let bare = message
        .strip_prefix("n,,")
        .ok_or("the GS2 header must be n,, (no channel binding, no authzid)")?;
    // The fields as sent: a field without `=` is not dropped, it is the one that is wrong.
    let mut fields = bare.split(',');
    let Some(user) = fields.next().and_then(|f| f.strip_prefix("n=")) else {
        return Err("the first message must be n=<user>,r=<nonce>".into());
    };
    match fields.next().and_then(|f| f.strip_prefix("r=")) {
        Some(nonce) if !nonce.is_empty() => Ok((
            rule.decode(user).ok_or("a user name with a bad = escape")?,
            bare.to_string(),
            nonce.to_string(),
        )),
        _ => Err("Invalid SCRAM client nonce".into()),
    }
}

/// A conversation after the server's first message.
#[derive(Debug, Clone)]
pub struct Conversation {
    mechanism: Mechanism,
    credential: Credential,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

impl Conversation {
    /// Answers the client's first message for a user stored with `credential`.
    pub fn start(
        mechanism: Mechanism,
        credential: &Credential,
        client_first_bare: &str,
        client_nonce: &str,
    ) -> (Self, String) {
        let nonce = format!(
            "{client_nonce}{}",
            B64.encode(uuid::Uuid::new_v4().as_bytes())
        );
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&credential.salt),
            credential.iterations
        );
        let conversation = Self {
            mechanism,
            credential: credential.clone(),
            client_first_bare: client_first_bare.to_string(),
            server_first: server_first.clone(),
            nonce,
        };
        (conversation, server_first)
    }

    /// The mechanism.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Checks the client's final message; the server's final message when its proof holds.
    pub fn finish(&self, message: &str) -> Result<String, String> {
        let (without_proof, proof) = message
            .rsplit_once(",p=")
            .ok_or("the final message has no proof")?;
        let attrs = attributes(without_proof);
        match attrs.as_slice() {
            [('c', "biws"), ('r', nonce)] if *nonce == self.nonce => {}
            [('c', _), ..] => {
                return Err("channel binding must be biws (n,,) and the nonce the server's".into())
            }
            _ => return Err("the final message must be c=...,r=...,p=...".into()),
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| "a proof that is not base64")?;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        let m = self.mechanism;
        let signature = m.hmac(&self.credential.stored_key, auth_message.as_bytes());
        if proof.len() != signature.len() {
            return Err("a proof of the wrong length".into());
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        if m.hash(&client_key) != self.credential.stored_key {
            return Err("wrong password".into());
        }
        Ok(format!(
            "v={}",
            B64.encode(m.hmac(&self.credential.server_key, auth_message.as_bytes()))
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client side in a few lines, to check the server against RFC 5802's arithmetic.
    fn client_final(
        m: Mechanism,
        user: &str,
        password: &str,
        first_bare: &str,
        server_first: &str,
    ) -> String {
        let attrs = attributes(server_first);
        let (nonce, salt, iterations) = (
            attrs[0].1,
            B64.decode(attrs[1].1).unwrap(),
            attrs[2].1.parse().unwrap(),
        );
        let salted = m.pbkdf2(
            &password_input(m, user, password).unwrap(),
            &salt,
            iterations,
        );
        let client_key = m.hmac(&salted, b"Client Key");
        let without_proof = format!("c=biws,r={nonce}");
        let auth = format!("{first_bare},{server_first},{without_proof}");
        let signature = m.hmac(&m.hash(&client_key), auth.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        format!("{without_proof},p={}", B64.encode(proof))
    }

    #[test]
    fn the_right_password_is_proved_and_a_wrong_one_refused() {
        for m in [Mechanism::Sha1, Mechanism::Sha256] {
            let stored = Credential::new(m, "app", "Pa55-word").unwrap();
            let (user, bare, nonce) = client_first("n,,n=app,r=abc", NameRule::MongoDb).unwrap();
            assert_eq!(user, "app");
            let (conv, server_first) = Conversation::start(m, &stored, &bare, &nonce);
            assert!(conv
                .finish(&client_final(m, "app", "Pa55-word", &bare, &server_first))
                .unwrap()
                .starts_with("v="));
            assert_eq!(
                conv.finish(&client_final(m, "app", "wrong", &bare, &server_first)),
                Err("wrong password".into())
            );
        }
    }

    #[test]
    fn user_names_are_read_as_mongodb_or_rfc_5802_reads_them() {
        for rule in [NameRule::MongoDb, NameRule::Rfc5802] {
            assert!(client_first("y,,n=a,r=b", rule).is_err());
            assert_eq!(client_first("n,,n=a=2Cb=3D,r=x", rule).unwrap().0, "a,b=");
            // A raw comma: the name ends at it and "b" is no nonce.
            assert_eq!(
                client_first("n,,n=a,b,r=x", rule),
                Err("Invalid SCRAM client nonce".into())
            );
        }
        // A stray '=': MongoDB keeps it, RFC 5802 fails the exchange.
        assert_eq!(
            client_first("n,,n=a=b,r=x", NameRule::MongoDb).unwrap().0,
            "a=b"
        );
        assert!(client_first("n,,n=a=2,r=x", NameRule::Rfc5802).is_err());
        assert_eq!(
            client_first("n,,n=a=2,r=x", NameRule::MongoDb).unwrap().0,
            "a=2"
        );
        // Replaced in order, not decoded left to right: "=3D2C" is "=2C", not ",".
        assert_eq!(NameRule::MongoDb.decode("x=3D2C").unwrap(), "x=2C");
    }
}
