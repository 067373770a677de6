//! MongoDB's authentication restrictions: who may log in from where.

use std::net::IpAddr;

use super::bson::{Bson, Doc};

/// One `authenticationRestrictions` document (MongoDB manual, createUser, "Authentication
/// Restrictions"): `clientSource` and/or `serverAddress`, each a list of IP addresses and CIDR
/// ranges. Met when each list present holds the address (the client's, the address the
/// server accepted the connection on); a user with several documents may log in when any one
/// is met (server source: `restriction_set.h`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restriction {
    /// The client addresses allowed, if restricted.
    pub client_source: Option<Vec<String>>,
    /// The server addresses allowed, if restricted.
    pub server_address: Option<Vec<String>>,
}

impl Restriction {
    /// A document restricting the client's address to `ranges`.
    pub fn client(ranges: &[&str]) -> Self {
        Self {
            client_source: Some(ranges.iter().map(|r| r.to_string()).collect()),
            server_address: None,
        }
    }

    /// This document also restricting the server's address to `ranges`.
    pub fn and_server(mut self, ranges: &[&str]) -> Self {
        self.server_address = Some(ranges.iter().map(|r| r.to_string()).collect());
        self
    }

    /// A document restricting the server's address to `ranges`.
    pub fn server(ranges: &[&str]) -> Self {
        Self::default().and_server(ranges)
    }

    pub(super) fn to_bson(&self) -> Bson {
        let list = |l: &Vec<String>| Bson::Array(l.iter().cloned().map(Bson::String).collect());
        let mut doc = Doc::new();
        // The order MongoDB stores them in (IDL struct `address_restriction`).
        if let Some(l) = &self.client_source {
            doc.push("clientSource", list(l));
        }
        if let Some(l) = &self.server_address {
            doc.push("serverAddress", list(l));
        }
        Bson::Document(doc)
    }

    /// Every list present holds its address. A document with no list is never met (MongoDB
    /// cannot load such a user: "At least one of 'clientSource' or 'serverAddress' must be
    /// set"); an entry that is not an address or range never matches.
    pub(super) fn met(&self, client: Option<IpAddr>, server: Option<IpAddr>) -> bool {
        let holds = |list: &Option<Vec<String>>, address: Option<IpAddr>| match list {
            None => true,
            Some(ranges) => address.is_some_and(|a| ranges.iter().any(|r| range_holds(r, a))),
        };
        (self.client_source.is_some() || self.server_address.is_some())
            && holds(&self.client_source, client)
            && holds(&self.server_address, server)
    }
}

/// `range` (an address, or an address with `/prefix`) holds `address`.
pub(super) fn range_holds(range: &str, address: IpAddr) -> bool {
    let (base, prefix) = match range.split_once('/') {
        Some((b, p)) => (b, Some(p)),
        None => (range, None),
    };
    let Ok(base) = base.parse::<IpAddr>() else {
        return false;
    };
    let prefix = match prefix {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => match p.parse::<u32>()
        {
            Ok(n) => Some(n),
            Err(_) => return false,
        },
        Some(_) => return false,
    };
    match (base, address) {
        (IpAddr::V4(b), IpAddr::V4(a)) => {
            let n = prefix.unwrap_or(32);
            n <= 32 && (n == 0 || (u32::from(b) ^ u32::from(a)) >> (32 - n) == 0)
        }
        (IpAddr::V6(b), IpAddr::V6(a)) => {
            let n = prefix.unwrap_or(128);
            n <= 128 && (n == 0 || (u128::from(b) ^ u128::from(a)) >> (128 - n) == 0)
        }
        _ => false,
    }
}
