//! The engines this adapter declares are the ones the registry packages.

#[test]
fn the_engines_are_the_registrys() {
    rotation_testkit::assert_engines_packaged("sqlserver", &rotation_sqlserver::engines::ALL);
}
