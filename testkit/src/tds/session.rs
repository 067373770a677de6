//! One connection: PRELOGIN, TLS as negotiated, LOGIN7 and SQL authentication, then SQL
//! batches until the client leaves.

use super::catalog::{Catalog, Who};
use super::errors::{self, SqlError};
use super::expr::{eval, Ctx, Row};
use super::login7::{self, utf16};
use super::packet::{bad, kind};
use super::prelogin::{self, encrypt, Outcome, ServerEncryption};
use super::rpc;
use super::sql::{self, Statement};
use super::tokens::{done, Tokens, Value};
use super::transport::Transport;
use super::{grants, query};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpStream;

/// The version PRELOGIN and LOGINACK announce: 16.0.4135 (a SQL Server 2022 build number).
pub const PROGRAM_VERSION: [u8; 4] = [16, 0, 0x10, 0x27];
/// `@@VERSION`: SQL Server's shape, the stand-in's own words (it starts "Microsoft SQL Server
/// 2022", not "... 2008", which is what the official function tests).
pub const VERSION: &str = "Microsoft SQL Server 2022 (RTM) - 16.0.4135.4 (X64) \n\tTDS stand-in of the rotation testkit\n\tCopyright (C) 2022 Microsoft Corporation\n\tStandard Edition (64-bit) on Windows Server 2022 Datacenter 10.0 <X64> (Build 20348: ) (Hypervisor)\n";
/// The server name in ERROR / INFO tokens.
pub const SERVER_NAME: &str = "TDSSTANDIN";

/// TDS versions the stand-in speaks [MS-TDS 2.2.6.4]: 7.1, 7.2, 7.3A, 7.3B, 7.4.
const VERSIONS: [u32; 5] = [
    0x7100_0001,
    0x7209_0002,
    0x730A_0003,
    0x730B_0003,
    0x7400_0004,
];

/// Counts what the server saw.
#[derive(Debug, Default)]
pub struct Counters {
    /// Successful logins.
    pub logins: AtomicU64,
    /// Refused logins (18456 / 4060).
    pub refused: AtomicU64,
    /// SQL batches.
    pub batches: AtomicU64,
    /// Connections ended by the encryption table.
    pub terminated: AtomicU64,
}

/// What every connection shares.
pub struct Shared {
    /// The encryption setting.
    pub encryption: ServerEncryption,
    /// The certificate (required unless NOT_SUP).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Logins and databases.
    pub catalog: Mutex<Catalog>,
    /// Counters.
    pub counters: Counters,
}

/// Serves one connection; any protocol error ends it.
pub async fn serve(sock: TcpStream, spid: u16, shared: Arc<Shared>) {
    let mut t = Transport::new(sock, spid);
    if let Err(e) = run(&mut t, &shared).await {
        // Why a connection ended, for whoever debugs a client against the stand-in.
        if std::env::var_os("TDS_STANDIN_DEBUG").is_some() {
            eprintln!("tds-standin: connection {spid} ended: {e}");
        }
    }
    // A transaction still open when the client leaves is rolled back.
    shared
        .catalog
        .lock()
        .expect("catalog")
        .end_tran(spid, false);
    t.close().await;
}

async fn run(t: &mut Transport, shared: &Shared) -> io::Result<()> {
    if t.first_byte().await? == 0x16 {
        return Err(bad("TDS 8.0 (TLS before PRELOGIN) is not modelled".into()));
    }
    let m = t.read_message().await?;
    if m.kind != kind::PRELOGIN {
        return Err(bad(format!(
            "first message of type 0x{:02x}, not PRELOGIN",
            m.kind
        )));
    }
    let client = prelogin::client_encryption(&prelogin::parse(&m.payload)?)?;
    if client & encrypt::CLIENT_CERT != 0 {
        return Err(bad("certificate authentication is not modelled".into()));
    }
    let (answer, outcome) = prelogin::negotiate(shared.encryption, client);
    if std::env::var_os("TDS_STANDIN_DEBUG").is_some() {
        eprintln!("tds-standin: connection {}: client ENCRYPTION 0x{client:02x}, answer 0x{answer:02x} ({outcome:?})", t.spid);
    }
    t.write_message(kind::REPLY, &prelogin::response(PROGRAM_VERSION, answer))
        .await?;
    match outcome {
        Outcome::Terminate => {
            shared.counters.terminated.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Outcome::LoginOnly | Outcome::Full => {
            let config = shared
                .tls
                .clone()
                .expect("a server that offers TLS has a certificate");
            t.handshake(config).await?;
        }
        Outcome::Plain => {}
    }
    let m = t.read_message().await?;
    if m.kind != kind::LOGIN7 {
        return Err(bad(format!(
            "message of type 0x{:02x} where LOGIN7 belongs",
            m.kind
        )));
    }
    let login = login7::parse(&m.payload)?;
    if outcome == Outcome::LoginOnly {
        t.drop_tls()?;
    }
    let Some(session) = log_in(t, shared, &login).await? else {
        return Ok(());
    };
    serve_requests(t, shared, session).await
}

/// A logged-in session.
struct Session {
    version: u32,
    who: Who,
    database: String,
    /// The parameters of the `sp_executesql` running (empty in a batch).
    bindings: Vec<(String, Value)>,
    /// `@@TRANCOUNT`.
    trancount: u32,
}

async fn log_in(
    t: &mut Transport,
    shared: &Shared,
    l: &login7::Login7,
) -> io::Result<Option<Session>> {
    let version = match l.tds_version {
        v if v >= 0x7400_0004 => 0x7400_0004,
        v if VERSIONS.contains(&v) => v,
        v => return Err(bad(format!("TDS version 0x{v:08x} is not modelled"))),
    };
    let mut out = Tokens::new(version);
    let refuse = |out: &mut Tokens, errors: &[SqlError]| {
        for e in errors {
            out.error(e.number, e.state, e.class, &e.text, SERVER_NAME);
        }
        out.done(done::ERROR, 0, 0);
    };
    if l.integrated_security || l.sspi || l.change_password {
        let e = errors::not_modelled("integrated authentication and password change at login");
        refuse(&mut out, &[e]);
        t.write_message(kind::REPLY, &out.out).await?;
        return Ok(None);
    }
    let (name, database) = {
        let guard = shared.catalog.lock().expect("catalog");
        // Another session's uncommitted changes are not seen: its catalog as it was.
        let catalog = guard
            .dirty_tran
            .as_ref()
            .map_or(&*guard, |(_, before)| &**before);
        let name = catalog.authenticate(&l.user_name, &l.password, &l.database);
        // No database named: the login's default database.
        let wanted = match (&name, l.database.as_str()) {
            (Some(Who::Login(n)), "") => catalog
                .login(n)
                .map_or("master".into(), |l| l.default_db.clone()),
            (_, d) => d.to_string(),
        };
        let db = catalog.database(&wanted).map(str::to_string).filter(|d| {
            name.as_ref()
                .is_some_and(|w| grants::db_user(catalog, w, d).is_some())
        });
        (name, db)
    };
    let session = match (name, database) {
        (Some(who), Some(database)) => Session {
            version,
            who,
            database,
            bindings: Vec::new(),
            trancount: 0,
        },
        (name, database) => {
            let mut errs = Vec::new();
            if name.is_some() && database.is_none() {
                errs.push(errors::cannot_open_database(&l.database));
            }
            errs.push(errors::login_failed(&l.user_name));
            refuse(&mut out, &errs);
            shared.counters.refused.fetch_add(1, Ordering::Relaxed);
            t.write_message(kind::REPLY, &out.out).await?;
            return Ok(None);
        }
    };
    let packet_size = match l.packet_size {
        0 => 4096,
        n => n.clamp(512, 32767) as usize,
    };
    out.env_string(1, &session.database, "master");
    out.info(
        5701,
        1,
        0,
        &format!("Changed database context to '{}'.", session.database),
        SERVER_NAME,
    );
    out.env_collation();
    out.env_string(2, "us_english", "");
    out.info(
        5703,
        1,
        0,
        "Changed language setting to us_english.",
        SERVER_NAME,
    );
    out.login_ack("Microsoft SQL Server", PROGRAM_VERSION);
    out.env_string(4, &packet_size.to_string(), "4096");
    out.done(0, 0, 0);
    t.write_message(kind::REPLY, &out.out).await?;
    t.packet_size = packet_size;
    shared.counters.logins.fetch_add(1, Ordering::Relaxed);
    Ok(Some(session))
}

async fn serve_requests(t: &mut Transport, shared: &Shared, mut s: Session) -> io::Result<()> {
    loop {
        let m = t.read_message().await?;
        let mut out = Tokens::new(s.version);
        match m.kind {
            kind::SQL_BATCH => {
                shared.counters.batches.fetch_add(1, Ordering::Relaxed);
                let text = utf16(skip_all_headers(s.version, &m.payload)?)?;
                run_batch(&mut out, shared, &mut s, t.spid, &text, false);
            }
            kind::ATTENTION => out.done(done::ATTN, 0, 0),
            kind::RPC => match rpc::parse(skip_all_headers(s.version, &m.payload)?) {
                Ok(call) => {
                    s.bindings = call.bindings;
                    run_batch(&mut out, shared, &mut s, t.spid, &call.statement, true);
                    s.bindings.clear();
                    out.return_status(0);
                    out.done_token(0xFE, 0, 0, 0);
                }
                Err(e) => refuse(&mut out, &e),
            },
            kind::TRANSACTION_MANAGER => {
                let body = skip_all_headers(s.version, &m.payload)?;
                match tm_request(body) {
                    Ok(steps) => {
                        let mut result = Ok(());
                        for st in &steps {
                            result = result
                                .and_then(|_| transaction(&mut out, shared, &mut s, t.spid, st));
                        }
                        match result {
                            Ok(()) => out.done(0, 0, 0),
                            Err(e) => refuse(&mut out, &e),
                        }
                    }
                    Err(e) => refuse(&mut out, &e),
                }
            }
            k => return Err(bad(format!("message of type 0x{k:02x} after login"))),
        }
        t.write_message(kind::REPLY, &out.out).await?;
    }
}

/// BEGIN TRAN (@@TRANCOUNT up; ENVCHANGE 8 for the outermost), COMMIT (down; the outermost
/// keeps the changes, ENVCHANGE 9) or ROLLBACK (to 0; the changes undone, ENVCHANGE 10).
fn transaction(
    out: &mut Tokens,
    shared: &Shared,
    s: &mut Session,
    spid: u16,
    st: &Statement,
) -> Result<(), SqlError> {
    if *st == Statement::Begin {
        s.trancount += 1;
        if s.trancount == 1 {
            out.env_transaction(8, u64::from(spid));
        }
        return Ok(());
    }
    let commit = *st == Statement::Commit;
    match (s.trancount, commit) {
        (0, true) => return Err(errors::commit_without_begin()),
        (0, false) => return Err(errors::rollback_without_begin()),
        (n, true) => s.trancount = n - 1,
        (_, false) => s.trancount = 0,
    }
    if s.trancount == 0 {
        let mut c = shared.catalog.lock().expect("catalog");
        c.end_tran(spid, commit);
        out.env_transaction(if commit { 9 } else { 10 }, u64::from(spid));
    }
    Ok(())
}

/// A transaction manager request [MS-TDS 2.2.6.8] as the transaction statements it amounts to:
/// TM_BEGIN_XACT (5), TM_COMMIT_XACT (7) and TM_ROLLBACK_XACT (8), the last two optionally
/// beginning a new transaction; isolation level 0 (unchanged) or 2 (READ COMMITTED) and no
/// transaction names. Anything else is refused.
fn tm_request(b: &[u8]) -> Result<Vec<Statement>, SqlError> {
    let nm = errors::not_modelled;
    let short = || nm("a transaction manager request cut short");
    let ty = b
        .get(..2)
        .map(|x| u16::from_le_bytes([x[0], x[1]]))
        .ok_or_else(short)?;
    let rest = &b[2..];
    // (isolation level, name length) of a begin.
    let begin = |r: &[u8]| -> Result<usize, SqlError> {
        match r {
            [0 | 2, 0, ..] => Ok(2),
            [0 | 2, _, ..] => Err(nm("named transactions")),
            [_, _, ..] => Err(nm("isolation levels other than READ COMMITTED")),
            _ => Err(short()),
        }
    };
    let (steps, used) = match (ty, rest) {
        (5, r) => (vec![Statement::Begin], begin(r)?),
        (7 | 8, [0, flags @ (0 | 1), r @ ..]) => {
            let end = if ty == 7 {
                Statement::Commit
            } else {
                Statement::Rollback
            };
            if *flags == 1 {
                (vec![end, Statement::Begin], 2 + begin(r)?)
            } else {
                (vec![end], 2)
            }
        }
        (7 | 8, [0, _, ..]) => return Err(nm("transaction manager flags other than fBeginXact")),
        (7 | 8, [_, ..]) => return Err(nm("named transactions")),
        (7 | 8, _) => return Err(short()),
        (t, _) => return Err(nm(&format!("transaction manager requests of type {t}"))),
    };
    if rest.len() != used {
        return Err(nm("a transaction manager request with trailing bytes"));
    }
    Ok(steps)
}

fn refuse(out: &mut Tokens, e: &SqlError) {
    out.error(e.number, e.state, e.class, &e.text, SERVER_NAME);
    out.done(done::ERROR, 0, 0);
}

/// A batch's or RPC's body: ALL_HEADERS (TDS 7.2+) [MS-TDS] checked and skipped.
fn skip_all_headers(version: u32, payload: &[u8]) -> io::Result<&[u8]> {
    let mut text = payload;
    if version >= 0x7200_0000 {
        let total = payload
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| bad("SQL batch without ALL_HEADERS".into()))?;
        let headers = payload
            .get(4..total)
            .ok_or_else(|| bad("ALL_HEADERS longer than the batch".into()))?;
        let mut rest = headers;
        while !rest.is_empty() {
            let length = rest
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .filter(|l| (6..=rest.len()).contains(l))
                .ok_or_else(|| bad("a header in ALL_HEADERS is cut short".into()))?;
            rest = &rest[length..];
        }
        text = &payload[total..];
    }
    Ok(text)
}

/// Runs a batch: parse errors run nothing; a statement's error is reported and the batch goes
/// on. Every DONE but the last has DONE_MORE. In a procedure (`sp_executesql`) the statements
/// end with DONEINPROC, all with DONE_MORE: the caller ends with RETURNSTATUS and DONEPROC.
fn run_batch(
    out: &mut Tokens,
    shared: &Shared,
    s: &mut Session,
    spid: u16,
    text: &str,
    in_proc: bool,
) {
    let token = if in_proc { 0xFF } else { 0xFD };
    let statements = match sql::parse(text) {
        Ok(st) => st,
        Err(e) => {
            out.error(e.number, e.state, e.class, &e.text, SERVER_NAME);
            let more = if in_proc { done::MORE } else { 0 };
            return out.done_token(token, done::ERROR | more, 0, 0);
        }
    };
    let mut last_done = None;
    for st in statements {
        let before = out.out.len();
        let result = run_statement(out, shared, s, spid, &st);
        let (status, command, rows) = match result {
            Ok(Some((command, rows))) => (
                done::MORE | if rows.is_some() { done::COUNT } else { 0 },
                command,
                rows.unwrap_or(0),
            ),
            Ok(None) => continue,
            Err(e) => {
                out.out.truncate(before);
                out.error(e.number, e.state, e.class, &e.text, SERVER_NAME);
                (done::MORE | done::ERROR, 0, 0)
            }
        };
        last_done = Some(out.out.len());
        out.done_token(token, status, command, rows);
    }
    if in_proc {
        return;
    }
    match last_done {
        Some(at) => out.out[at + 1] &= !(done::MORE as u8),
        None => out.done(0, 0, 0),
    }
}

/// Runs one statement: the DONE's command and row count, or nothing (SET).
fn run_statement(
    out: &mut Tokens,
    shared: &Shared,
    s: &mut Session,
    spid: u16,
    st: &Statement,
) -> Result<Option<(u16, Option<u64>)>, SqlError> {
    match st {
        Statement::SetOption(..) => Ok(None),
        Statement::Begin | Statement::Commit | Statement::Rollback => {
            transaction(out, shared, s, spid, st)?;
            Ok(Some((0, None)))
        }
        Statement::Use(name) => {
            let c = shared.catalog.lock().expect("catalog");
            let db = c.database(name).map(str::to_string);
            let db = db.ok_or_else(|| errors::no_such_database(name))?;
            if grants::db_user(&c, &s.who, &db).is_none() {
                let login = match &s.who {
                    Who::Login(n) | Who::User(_, n) => n.clone(),
                };
                return Err(errors::cannot_access_database(&login, &db));
            }
            drop(c);
            out.env_string(1, &db, &s.database);
            out.info(
                5701,
                1,
                0,
                &format!("Changed database context to '{db}'."),
                SERVER_NAME,
            );
            s.database = db;
            Ok(Some((0, None)))
        }
        Statement::Select(q) => {
            let mut c = shared.catalog.lock().expect("catalog");
            if !q.from.is_empty() {
                c.enter(spid, s.trancount, false)?;
            }
            let ctx = Ctx {
                catalog: &c,
                who: &s.who,
                db: &s.database,
                spid,
                bindings: &s.bindings,
                trancount: s.trancount,
            };
            let (columns, rows) = if q.from.is_empty() {
                let mut columns = Vec::new();
                let mut row = Vec::new();
                for (e, alias) in &q.items {
                    let (ty, v) = eval(e, &ctx, &Row::empty())?;
                    columns.push((alias.clone(), ty));
                    row.push(v);
                }
                (columns, vec![row])
            } else {
                query::run(q, &ctx)?
            };
            out.columns(&columns);
            for r in &rows {
                out.row(r);
            }
            Ok(Some((0xC1, Some(rows.len() as u64))))
        }
        Statement::Ddl(d) => {
            let mut c = shared.catalog.lock().expect("catalog");
            c.enter(spid, s.trancount, true)?;
            grants::run(&mut c, &s.who, &s.database, d)?;
            Ok(Some((0, None)))
        }
        Statement::AlterLoginPassword {
            login,
            password,
            old,
        } => {
            let mut c = shared.catalog.lock().expect("catalog");
            c.enter(spid, s.trancount, true)?;
            c.alter_password(&s.who, login, password, old.as_deref())?;
            Ok(Some((0, None)))
        }
        Statement::CreateLogin {
            login,
            password,
            options,
        } => {
            let mut c = shared.catalog.lock().expect("catalog");
            c.enter(spid, s.trancount, true)?;
            c.create_login(&s.who, login, password, options)?;
            Ok(Some((0, None)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_manager_requests() {
        use Statement::{Begin, Commit, Rollback};
        assert_eq!(tm_request(&[5, 0, 0, 0]).unwrap(), vec![Begin]);
        assert_eq!(tm_request(&[7, 0, 0, 0]).unwrap(), vec![Commit]);
        assert_eq!(
            tm_request(&[8, 0, 0, 1, 2, 0]).unwrap(),
            vec![Rollback, Begin]
        );
        let n = |b: &[u8]| tm_request(b).unwrap_err().number;
        assert_eq!(n(&[9, 0, 0]), errors::NOT_MODELLED);
        assert_eq!(n(&[5, 0, 4, 0]), errors::NOT_MODELLED);
        assert_eq!(n(&[5, 0, 0, 1, b'x', 0]), errors::NOT_MODELLED);
        assert_eq!(n(&[7, 0, 0, 0, 9]), errors::NOT_MODELLED);
        assert_eq!(n(&[7]), errors::NOT_MODELLED);
    }
}
