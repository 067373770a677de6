//! The testkit's MongoDB-wire stand-in as a process, for the demo (the tests start it in
//! process):
//!
//!   mongo-standin documentdb|mongodb ROOT_PASSWORD
//!
//! Serves the personality over TLS with the sandbox certificate (`SANDBOX_TLS_CERT` /
//! `SANDBOX_TLS_KEY`) on a fresh loopback port, with the superuser `root` in `admin`, prints
//! the port on one line, and serves until it is killed.

use rotation_testkit::mongo::{MongoStandIn, Personality};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (personality, root_password) = match args.as_slice() {
        [p, pw] if p == "documentdb" => (Personality::DocumentDb40, pw),
        [p, pw] if p == "mongodb" => (Personality::MongoDb, pw),
        _ => {
            eprintln!("usage: mongo-standin documentdb|mongodb ROOT_PASSWORD");
            std::process::exit(2);
        }
    };
    let server = match MongoStandIn::start(personality, Some(MongoStandIn::sandbox_tls())).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("mongo-standin: cannot listen on a loopback port: {e}");
            std::process::exit(1);
        }
    };
    server.add_user("admin", "root", root_password, &[("root", "admin")]);
    println!("{}", server.port());
    std::future::pending::<()>().await;
}
