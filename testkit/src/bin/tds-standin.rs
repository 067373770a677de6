//! The testkit's TDS (SQL Server) stand-in as a process:
//!
//!   tds-standin [--port N] [--encryption off|on|not-sup] [--cert PEM --key PEM]
//!               [--database NAME]... [--contained-database NAME]... --login NAME:KIND:PASSWORD...
//!
//! KIND is `master` (the RDS master user: its server permissions WITH GRANT OPTION, member of
//! processadmin and setupadmin, db_owner of every user database, not sysadmin), `plain`
//! (CONNECT SQL only) or `sysadmin`. `--database` adds a user database, `--contained-database`
//! one with containment PARTIAL; guest may connect to both. Encryption `off` (the default: a certificate, not forced) and `on`
//! (forced, as `rds.force_ssl` = 1) need the certificate: `--cert` / `--key`, else the
//! sandbox's (`SANDBOX_TLS_CERT` / `SANDBOX_TLS_KEY`); `not-sup` has none. Listens on
//! 127.0.0.1 (port 0 or none: a free one), prints the port on one line, and serves until it is
//! killed.

use rotation_testkit::tds::{tls_config, LoginKind, ServerEncryption, TdsStandIn};

fn usage(why: &str) -> ! {
    eprintln!("tds-standin: {why}");
    eprintln!(
        "usage: tds-standin [--port N] [--encryption off|on|not-sup] [--cert PEM --key PEM] \
         [--database NAME]... [--contained-database NAME]... --login NAME:KIND:PASSWORD..."
    );
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut port, mut encryption) = (0u16, ServerEncryption::Off);
    let (mut cert, mut key) = (None, None);
    let (mut logins, mut databases) = (Vec::new(), Vec::new());
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--port" => port = value.parse().unwrap_or_else(|_| usage("bad --port")),
            "--encryption" => {
                encryption = match value.as_str() {
                    "off" => ServerEncryption::Off,
                    "on" => ServerEncryption::On,
                    "not-sup" => ServerEncryption::NotSupported,
                    _ => usage("--encryption is off, on or not-sup"),
                }
            }
            "--cert" => cert = Some(value),
            "--key" => key = Some(value),
            "--database" => databases.push((value, false)),
            "--contained-database" => databases.push((value, true)),
            "--login" => {
                let mut parts = value.splitn(3, ':');
                let (Some(name), Some(kind), Some(password)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    usage("--login is NAME:KIND:PASSWORD");
                };
                let kind = match kind {
                    "master" => LoginKind::RdsMaster,
                    "plain" => LoginKind::Plain,
                    "sysadmin" => LoginKind::Sysadmin,
                    _ => usage("a login's KIND is master, plain or sysadmin"),
                };
                logins.push((name.to_string(), password.to_string(), kind));
            }
            _ => usage(&format!("unknown argument {flag}")),
        }
    }
    if logins.is_empty() {
        usage("at least one --login");
    }
    let tls = (encryption != ServerEncryption::NotSupported).then(|| {
        let var = |v: &str| {
            std::env::var(v)
                .unwrap_or_else(|_| usage(&format!("no certificate: --cert/--key or {v}")))
        };
        let cert = cert.clone().unwrap_or_else(|| var("SANDBOX_TLS_CERT"));
        let key = key.clone().unwrap_or_else(|| var("SANDBOX_TLS_KEY"));
        tls_config(&cert, &key).unwrap_or_else(|e| usage(&e.to_string()))
    });
    let server = match TdsStandIn::start(port, encryption, tls).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("tds-standin: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    for (name, password, kind) in &logins {
        server.add_login(name, password, *kind);
    }
    for db in &databases {
        if db.1 {
            server.add_contained_database(&db.0);
        } else {
            server.add_database(&db.0);
        }
    }
    println!("{}", server.port());
    std::future::pending::<()>().await;
}
