//! The engine this adapter declares is the one `packaging/rotation-types.toml` packages from it
//! (binary, `engine` values, password defaults).

#[test]
fn the_declared_engines_are_the_packaged_ones() {
    rotation_testkit::assert_engines_packaged("mongodb", &rotation_mongodb::engines::ALL);
}
