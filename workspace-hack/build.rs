//! Empty: the package's build dependencies exist only to unify host features (see Cargo.toml).
fn main() {}
