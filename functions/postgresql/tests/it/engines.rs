//! The engines this adapter declares are the ones `packaging/rotation-types.toml` packages
//! from it (binaries, `engine` values, password defaults).

#[test]
fn the_declared_engines_are_the_packaged_ones() {
    rotation_testkit::assert_engines_packaged("postgresql", &rotation_postgresql::engines::ALL);
}
