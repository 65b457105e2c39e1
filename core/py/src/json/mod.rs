//! Stored JSON documents as Django's sinks write them: one parser
//! ([`parse`], the grammar of Python's `json.loads`) and two renderings of
//! what it reads, a Python literal equal to what `json.loads` returns
//! ([`write_python_literal`], for the Python dump, written as the parser
//! goes) and the text `json.dumps` writes of it ([`Doc`], for dumpdata:
//! a dict keeps a repeated key's first place and last value, which needs
//! the whole object).
//!
//! Parsing and writing use explicit stacks: depth is limited by memory
//! only, unless the caller sets a limit.

mod dumps;
mod parse;
mod python;

use std::fmt;

pub use dumps::{write_float, write_str, Doc, Style};
pub use python::write_python_literal;

/// Why a JSON document was rejected; `offset` is a byte offset into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// The document ended while `expected` was still required.
    UnexpectedEnd {
        offset: usize,
        expected: &'static str,
    },
    /// `found` cannot appear here; `expected` says what could.
    Unexpected {
        offset: usize,
        found: char,
        expected: &'static str,
    },
    /// A malformed number (e.g. `01`, `1.`, `-`, `1e+`).
    InvalidNumber { offset: usize },
    /// A bad backslash escape inside a string.
    InvalidEscape { offset: usize },
    /// A raw control character (< U+0020) inside a string.
    ControlCharacter { offset: usize },
    /// Non-whitespace after the complete top-level value.
    TrailingData { offset: usize },
    /// Nested deeper than the limit (Python's parser stops at 200 levels).
    TooDeep { offset: usize, limit: usize },
    /// A string with a `\uD800`-style escape without its pair, which
    /// `json.dumps` can't write as UTF-8.
    LoneSurrogate { offset: usize },
}

impl JsonError {
    /// Byte offset of the problem in the input.
    pub fn offset(&self) -> usize {
        match *self {
            Self::UnexpectedEnd { offset, .. }
            | Self::Unexpected { offset, .. }
            | Self::InvalidNumber { offset }
            | Self::InvalidEscape { offset }
            | Self::ControlCharacter { offset }
            | Self::TrailingData { offset }
            | Self::TooDeep { offset, .. }
            | Self::LoneSurrogate { offset } => offset,
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.offset();
        match self {
            Self::UnexpectedEnd { expected, .. } => {
                write!(
                    f,
                    "invalid JSON at byte {at}: unexpected end, expected {expected}"
                )
            }
            Self::Unexpected {
                found, expected, ..
            } => write!(
                f,
                "invalid JSON at byte {at}: unexpected {found:?}, expected {expected}"
            ),
            Self::InvalidNumber { .. } => write!(f, "invalid JSON at byte {at}: malformed number"),
            Self::InvalidEscape { .. } => {
                write!(f, "invalid JSON at byte {at}: invalid string escape")
            }
            Self::ControlCharacter { .. } => {
                write!(f, "invalid JSON at byte {at}: control character in string")
            }
            Self::TrailingData { .. } => {
                write!(f, "invalid JSON at byte {at}: extra data after the value")
            }
            Self::TooDeep { limit, .. } => write!(
                f,
                "JSON nested deeper than {limit} levels (at byte {at}) can't be written as a Python literal"
            ),
            Self::LoneSurrogate { .. } => {
                write!(f, "invalid JSON at byte {at}: a lone surrogate can't be written")
            }
        }
    }
}

impl std::error::Error for JsonError {}
