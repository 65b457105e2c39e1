//! Django's Python view of stored values, shared by every sink: what a
//! value is in Python ([`value`]), `Decimal` ([`decimal`]), `repr` of
//! `str` and `float` as CPython writes it ([`repr`]), stored JSON
//! documents and their two renderings, Python literal and `json.dumps`
//! ([`json`]), and UUIDs ([`uuid`]).
//!
//! Everything writes into a caller-owned `String`: this runs once per value
//! of a dump (millions of times), so no per-value allocation on the fast
//! paths.

pub mod composite;
pub mod decimal;
pub mod json;
mod printable;
pub mod repr;

#[cfg(test)]
mod cpython_tests;
