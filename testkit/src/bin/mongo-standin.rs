//! Serves the MongoDB-wire stand-in for a second, independent client (pymongo, in
//! `scripts/mongo_standin_check.py`): `mongo-standin documentdb|mongodb ADMIN_USER ADMIN_PASSWORD`
//! prints `PORT` on its first line once it listens (TLS with the sandbox certificate), then
//! serves until stdin closes. The admin user is created in `admin` with `root`.

use rotation_testkit::mongo::{MongoStandIn, Personality};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [personality, user, password] = args.as_slice() else {
        eprintln!("usage: mongo-standin documentdb|mongodb ADMIN_USER ADMIN_PASSWORD");
        std::process::exit(2);
    };
    let personality = match personality.as_str() {
        "documentdb" => Personality::DocumentDb40,
        "mongodb" => Personality::MongoDb,
        other => {
            eprintln!("unknown personality {other}");
            std::process::exit(2);
        }
    };
    let server = MongoStandIn::start(personality, Some(MongoStandIn::sandbox_tls()))
        .await
        .expect("the stand-in listens");
    server.add_user("admin", user, password, &[("root", "admin")]);
    println!("{}", server.port());
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink)
    })
    .await;
    let c = server.counters();
    eprintln!(
        "logins {} refused {} commands {}",
        c.logins, c.refused, c.commands
    );
}
