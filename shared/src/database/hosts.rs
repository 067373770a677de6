//! Host names as the rotation checks compare them, the AWS-managed domains rule, the names a
//! connection goes by (`host`, `tlsServerName`), and the test seam that redirects a host.

use std::sync::Arc;

/// A host name as compared by the rotation checks: lowercase, without a trailing dot.
pub fn normalize_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// True for a host under one of `domains` (each with its leading dot), in any partition
/// (e.g. `.com.cn`). Adapters declare the domains of their AWS-managed endpoints, which always
/// offer TLS, in their engine identity ([`super::EngineIdentity::aws_managed_domains`]).
pub fn is_aws_managed_host(host: &str, domains: &[&str]) -> bool {
    let host = normalize_host(host);
    let host = host.strip_suffix(".cn").unwrap_or(&host);
    domains.iter().any(|d| host.ends_with(d))
}

/// The names a connection goes by: where it goes (`host`) and the name the certificate must
/// carry when that differs (`tlsServerName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names<'a> {
    /// The secret's `host`.
    pub host: &'a str,
    /// The secret's `tlsServerName`, if any.
    pub tls_server_name: Option<&'a str>,
}

impl<'a> Names<'a> {
    /// A connection to `host` verified against `host`.
    pub fn host(host: &'a str) -> Self {
        Self {
            host,
            tls_server_name: None,
        }
    }
}

/// Test seam of the connectors: host names whose connections go to another address and whose
/// certificate is verified against another name, so a test can rotate secrets that name RDS
/// endpoints against a sandbox server without editing system files. Only `test-support` can
/// add any; a deployed function always has none.
#[derive(Debug, Clone, Default)]
pub struct TestHosts(Arc<Vec<TestHost>>);

/// One redirected host.
#[derive(Debug, Clone)]
pub struct TestHost {
    /// The host name as secrets name it (normalised).
    pub host: String,
    /// Where connections go instead.
    pub address: std::net::SocketAddr,
    /// The name the certificate is verified against.
    pub certificate_name: String,
}

impl TestHosts {
    /// Adds `host`: connections to it (any port) go to `address` and verify the certificate
    /// against `certificate_name`.
    #[cfg(feature = "test-support")]
    pub fn add(&mut self, host: &str, address: std::net::SocketAddr, certificate_name: &str) {
        let mut hosts = (*self.0).clone();
        hosts.push(TestHost {
            host: normalize_host(host),
            address,
            certificate_name: certificate_name.to_string(),
        });
        self.0 = Arc::new(hosts);
    }

    /// The redirect for `host`, if any.
    pub fn find(&self, host: &str) -> Option<&TestHost> {
        let host = normalize_host(host);
        self.0.iter().find(|t| t.host == host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_compare_lowercase_without_a_trailing_dot() {
        assert_eq!(normalize_host("DB.Example.COM."), "db.example.com");
        assert_eq!(normalize_host("127.0.0.1"), "127.0.0.1");
    }
}
