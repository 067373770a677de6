//! TLS for database connections: explicit modes, verified by default, never a silent downgrade.
//!
//! The `ssl` key of a secret is read as the official functions read it, but stricter:
//! - `true`: TLS required, certificate chain and host name verified;
//! - `false`: plaintext only;
//! - absent: TLS required and verified, like `true`. A server's answer that it has no TLS is
//!   unauthenticated (anyone on the path can send it and then read the password), so falling
//!   back to plaintext is opt-in (`ALLOW_PLAINTEXT_FALLBACK`), and even then never for the
//!   superuser secret nor for hosts under the engine's AWS-managed domains, which always offer TLS
//!   (whether `host` or `tlsServerName` names one). A certificate or host name failure is an
//!   error, never a fallback. A fallback connection answers only password requests that reveal
//!   nothing (see `fallback.rs`).

use super::hosts::{is_aws_managed_host, Names};

/// Who a connection logs in as, for the TLS decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// A version of the rotated secret (AWSCURRENT, AWSPENDING, AWSPREVIOUS).
    Rotated,
    /// The superuser secret of alternating users.
    Superuser,
}

/// How to use TLS for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS with verification, or fail.
    Require,
    /// TLS with verification; plaintext only if the server does not offer TLS at all.
    PreferVerified,
    /// No TLS.
    Disable,
}

impl TlsMode {
    /// The mode for logging in with `secret` as `which` (the superuser secret never falls
    /// back), when the deployment does (`allow_fallback`) or does not allow the fallback, for
    /// an engine whose AWS-managed endpoints are under `aws_managed_domains`.
    pub fn for_secret(
        secret: &super::DatabaseSecret,
        which: super::Which,
        allow_fallback: bool,
        aws_managed_domains: &[&str],
    ) -> Self {
        let login = match which {
            super::Which::Superuser => Login::Superuser,
            super::Which::Current | super::Which::Pending | super::Which::Previous => {
                Login::Rotated
            }
        };
        let names = Names {
            host: &secret.host,
            tls_server_name: secret.tls_server_name.as_deref(),
        };
        Self::for_connection(
            secret.ssl,
            names,
            login,
            allow_fallback,
            aws_managed_domains,
        )
    }

    /// The mode for a connection to `names` with a secret whose `ssl` key is `ssl`, logging in
    /// as `login`, when the deployment does (`allow_fallback`) or does not allow the plaintext
    /// fallback. The fallback is never allowed when either name is an AWS-managed endpoint:
    /// `host` may be an alias (a CNAME) of an RDS endpoint that only `tlsServerName` names.
    pub fn for_connection(
        ssl: Option<bool>,
        names: Names<'_>,
        login: Login,
        allow_fallback: bool,
        aws_managed_domains: &[&str],
    ) -> Self {
        let managed = |host: &str| is_aws_managed_host(host, aws_managed_domains);
        let aws_managed = managed(names.host) || names.tls_server_name.is_some_and(managed);
        match ssl {
            Some(true) => TlsMode::Require,
            Some(false) => TlsMode::Disable,
            None if allow_fallback && login == Login::Rotated && !aws_managed => {
                TlsMode::PreferVerified
            }
            None => TlsMode::Require,
        }
    }
}

/// How an open session reaches its server, so code holding one can decide what it may send
/// over it (e.g. a statement carrying a password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS with the certificate chain and host name verified.
    VerifiedTls,
    /// No TLS: `fallback` is true when the secret left `ssl` out and the server answered that
    /// it has no TLS (`ALLOW_PLAINTEXT_FALLBACK`; an answer anyone on the path can forge), false
    /// when the secret chose plaintext (`"ssl": false`).
    Plaintext {
        /// Reached by the plaintext fallback rather than chosen by the secret.
        fallback: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AWS-managed domains of the PostgreSQL and Redshift identities together.
    const MANAGED: &[&str] = &[
        ".rds.amazonaws.com",
        ".redshift.amazonaws.com",
        ".redshift-serverless.amazonaws.com",
    ];

    #[test]
    fn ssl_key_maps_to_modes_and_the_fallback_is_opt_in_and_never_for_superusers_or_aws_hosts() {
        use Login::{Rotated, Superuser};
        let mode = |ssl, host, login, allow| {
            TlsMode::for_connection(ssl, Names::host(host), login, allow, MANAGED)
        };
        for (login, allow) in [(Rotated, false), (Rotated, true), (Superuser, true)] {
            assert_eq!(mode(Some(true), "db", login, allow), TlsMode::Require);
            assert_eq!(mode(Some(false), "db", login, allow), TlsMode::Disable);
        }
        assert_eq!(mode(None, "db", Rotated, false), TlsMode::Require);
        assert_eq!(mode(None, "db", Rotated, true), TlsMode::PreferVerified);
        assert_eq!(mode(None, "db", Superuser, true), TlsMode::Require);
        for host in [
            "mydb.abc123.eu-west-1.rds.amazonaws.com",
            "MyDB.cluster-ro-abc.us-east-1.RDS.amazonaws.com.",
            "proxy.proxy-abc.us-east-1.rds.amazonaws.com",
            "db.abc.cn-north-1.rds.amazonaws.com.cn",
            "wh.123.us-east-1.redshift.amazonaws.com",
            "wg.123.us-east-1.redshift-serverless.amazonaws.com",
        ] {
            assert!(is_aws_managed_host(host, MANAGED), "{host}");
            assert_eq!(mode(None, host, Rotated, true), TlsMode::Require, "{host}");
        }
        for host in ["db.internal", "rds.amazonaws.com.evil.example", "127.0.0.1"] {
            assert!(!is_aws_managed_host(host, MANAGED), "{host}");
        }
    }

    #[test]
    fn a_tls_server_name_under_an_aws_domain_forbids_the_fallback_whatever_the_host() {
        let with = |name| Names {
            host: "db.internal.example",
            tls_server_name: Some(name),
        };
        for name in [
            "mydb.abc123.eu-west-1.rds.amazonaws.com",
            "MyDB.cluster-abc.us-east-1.RDS.amazonaws.com.",
            "wh.123.us-east-1.redshift.amazonaws.com",
            "wg.123.us-east-1.redshift-serverless.amazonaws.com",
            "db.abc.cn-north-1.rds.amazonaws.com.cn",
        ] {
            let mode = TlsMode::for_connection(None, with(name), Login::Rotated, true, MANAGED);
            assert_eq!(mode, TlsMode::Require, "{name}");
        }
        let mode = TlsMode::for_connection(None, with("db.example"), Login::Rotated, true, MANAGED);
        assert_eq!(mode, TlsMode::PreferVerified);
        // The secret's own keys are what the connectors pass.
        let secret = super::super::DatabaseSecret::parse(
            &crate::SecretValue::new(
                serde_json::json!({
                    "engine": "postgres", "host": "db.internal.example", "username": "u",
                    "password": "p", "tlsServerName": "mydb.abc123.us-east-1.rds.amazonaws.com"
                })
                .to_string(),
            ),
            "AWSCURRENT",
        )
        .expect("a valid secret");
        let mode = TlsMode::for_secret(&secret, super::super::Which::Current, true, MANAGED);
        assert_eq!(mode, TlsMode::Require);
    }
}
