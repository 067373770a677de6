//! The engine this adapter declares is the one `packaging/rotation-types.toml` packages from it
//! (binary, `engine` values, password defaults).

#[test]
fn the_declared_engine_is_the_packaged_one() {
    rotation_testkit::assert_engines_packaged(
        "mongodb-rotation",
        &[&mongodb_rotation::engines::MONGODB],
    );
}
