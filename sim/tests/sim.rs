//! The seed runner (harness = false). STUB.
fn main() {}
