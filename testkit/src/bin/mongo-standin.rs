//! The testkit's MongoDB-wire stand-in as a process, for the demo (the tests start it in
//! process):
//!
//!   mongo-standin documentdb|mongodb ROOT_PASSWORD [--plaintext]
//!
//! Serves the personality over TLS with the sandbox certificate (`SANDBOX_TLS_CERT` /
//! `SANDBOX_TLS_KEY`), or in plaintext with `--plaintext`, on a fresh loopback port, with the superuser `root` in `admin`, prints
//! the port on one line, and serves until it is killed.

use rotation_testkit::mongo::{MongoStandIn, Personality};

fn usage() -> ! {
    eprintln!("usage: mongo-standin documentdb|mongodb ROOT_PASSWORD [--plaintext]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let (name, root_password, plaintext) = match words.as_slice() {
        [name, password] => (*name, *password, false),
        [name, password, "--plaintext"] => (*name, *password, true),
        _ => usage(),
    };
    let personality = match name {
        "documentdb" => Personality::DocumentDb40,
        "mongodb" => Personality::MongoDb,
        _ => usage(),
    };
    let tls = (!plaintext).then(MongoStandIn::sandbox_tls);
    let server = match MongoStandIn::start(personality, tls).await {
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
