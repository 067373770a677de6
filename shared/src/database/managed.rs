//! Superuser secrets a service manages for its own servers: such a secret holds only
//! `username` and `password`, and a tag names the server; where its user logs in comes from
//! the service's API. RDS-managed master secrets have their own lookup ([`super::RdsLookup`],
//! which also allows replicas and readers); any other service's are completed through
//! [`ManagedSecretLookup`], which the adapter for that service supplies (the core names no
//! service). The server found this way is then held to the same host check as every
//! superuser secret: it must be the child's.

use super::rds::BoxFuture;
use crate::error::Result;

/// Where the user of a managed superuser secret logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedServer {
    /// The server's host name, as the service's API reports it.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The `engine` value the completed secret carries.
    pub engine: String,
}

/// A service's lookup of the superuser secrets it manages, supplied by the adapter that rotates
/// that service's databases.
pub trait ManagedSecretLookup: Send + Sync {
    /// The service's name, for messages ("checked with the ... lookups this function makes").
    fn service(&self) -> &'static str;

    /// The tags the service puts on the secrets it manages, for messages.
    fn tags(&self) -> &'static [&'static str];

    /// Where the user of the managed secret with `tags` logs in; `child` is the rotated
    /// secret's server (the name its login proved), for services where one secret serves
    /// several endpoints. `Ok(None)`: no tag of this service's is there.
    fn server<'a>(
        &'a self,
        tags: &'a [(String, String)],
        child: &'a str,
    ) -> BoxFuture<'a, Result<Option<ManagedServer>>>;
}
