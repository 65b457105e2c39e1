//! Support shared by a few test modules that is not the `dump2py_tests`
//! library's: what needs this binary's own environment
//! (`CARGO_TARGET_TMPDIR`, the dev-dependencies), and the generator of
//! inputs of the fuzz and dump-source tests.

pub mod bigdb;
pub mod rng;
