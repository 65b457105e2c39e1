//! The integration tests: one test binary (`--test integration`), a module
//! per area, as ripgrep's `tests/tests.rs`. A test is named by its module:
//! `cargo nextest run -p dump2py-tests --test integration postgres::`.
//!
//! The support they share is the library `dump2py_tests` (tests/src: the
//! binary, Lino and Django environments, servers, certificates, dump
//! comparison); `common` holds what needs this binary's own environment
//! (`CARGO_TARGET_TMPDIR`, dev-dependencies).
//!
//! A new area is a file `tests/tests/AREA.rs` and one line `mod AREA;` here.

mod common;

// The command line, its options and its errors.
mod cli;
mod progress;
mod verify;

// Python dumps and their restore, against Lino's own.
mod big_values;
mod lino_awkward;
mod lino_demos;
mod lino_min1;
mod restore_lino;
mod restore_plain;
mod restore_snapshot;
mod site_meta;

// Django's dumpdata formats.
mod django_data;
mod dumpdata;
mod dumpdata_order;
mod exclude;
mod natural_keys;

// Every Django field class, on every backend.
mod conformance;

// A dump read back as a source (-d dump:PATH).
mod dump_source;
mod into;

// The server backends.
mod jobs;
mod jobs_sources;
mod mariadb;
mod postgres;

// Snapshots: retention, archives, encryption.
mod snapshots;

// Safety: outputs, signals, faults, hostile names.
mod fault_injection;
mod hostile_names;
mod safety_outputs;
mod signals;

// The writers and parsers on generated input.
mod fuzz;
mod writers;

// The shape of the code: crate layers, import circles, file lengths.
mod architecture;

// Plugins, and the Python wheel.
mod plugins;
mod wheel;
