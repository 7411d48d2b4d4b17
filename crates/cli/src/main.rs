//! The `tessera` binary (being built).
fn main() {}
