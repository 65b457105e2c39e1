//! Support that needs the test binary's own environment
//! (`CARGO_TARGET_TMPDIR`, the dev-dependencies), so not in tests/src.

pub mod bigdb;
