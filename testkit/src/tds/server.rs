//! The listener: a loopback port, one task per connection.

use super::catalog::{Catalog, LoginKind};
use super::prelogin::ServerEncryption;
use super::session::{serve, Counters, Shared};
use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// A running stand-in; it stops when dropped.
pub struct TdsStandIn {
    port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TdsStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Successful logins.
    pub logins: u64,
    /// Refused logins.
    pub refused: u64,
    /// SQL batches.
    pub batches: u64,
    /// Connections the encryption table ended.
    pub terminated: u64,
}

impl TdsStandIn {
    /// Listens on `127.0.0.1:port` (0: a free port) with `encryption`; `tls` is required unless
    /// it is [`ServerEncryption::NotSupported`] (and refused then: such a server has no
    /// certificate).
    pub async fn start(
        port: u16,
        encryption: ServerEncryption,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<Self> {
        if tls.is_some() != (encryption != ServerEncryption::NotSupported) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a certificate is required for encryption OFF / ON, and not allowed for NOT_SUP",
            ));
        }
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            encryption,
            tls,
            catalog: Mutex::new(Catalog::default()),
            counters: Counters::default(),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            // SPIDs from 51, as user sessions on SQL Server.
            let mut spid: u16 = 51;
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, spid, s.clone()));
                spid = spid.checked_add(1).unwrap_or(51);
            }
        });
        Ok(TdsStandIn { port, shared, task })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Adds (or replaces) a login.
    pub fn add_login(&self, name: &str, password: &str, kind: LoginKind) {
        self.shared
            .catalog
            .lock()
            .expect("catalog")
            .add_login(name, password, kind);
    }

    /// Adds a database any login may open (guest holds CONNECT there; `master`, `tempdb`,
    /// `model` and `msdb` are always there); every RDS master login is db_owner there.
    pub fn add_database(&self, name: &str) {
        let mut c = self.shared.catalog.lock().expect("catalog");
        c.add_database(name, 0);
    }

    /// Adds a database as [`TdsStandIn::add_database`] owned by the login `owner` (its `dbo`
    /// maps to that login, as when the login creates the database); panics if there is no
    /// such login.
    pub fn add_database_owned_by(&self, name: &str, owner: &str) {
        let mut c = self.shared.catalog.lock().expect("catalog");
        let sid = c.login(owner).expect("the owner login exists").sid.clone();
        c.add_database_owned(name, 0, &sid);
    }

    /// Adds a contained database (containment 1, PARTIAL), as [`TdsStandIn::add_database`].
    pub fn add_contained_database(&self, name: &str) {
        let mut c = self.shared.catalog.lock().expect("catalog");
        c.add_database(name, 1);
    }

    /// The login's current password (for assertions).
    pub fn password(&self, name: &str) -> Option<String> {
        let c = self.shared.catalog.lock().expect("catalog");
        c.login(name).map(|l| l.password.clone())
    }

    /// What the server counted.
    pub fn counters(&self) -> CountersSnapshot {
        let c = &self.shared.counters;
        CountersSnapshot {
            logins: c.logins.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            terminated: c.terminated.load(Ordering::Relaxed),
        }
    }
}
