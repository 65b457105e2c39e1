//! One model of a stored JSON document ([`Doc`]), parsed as Python's
//! `json.loads` parses, and its two renderings: a Python literal equal to
//! what `json.loads` returns ([`python`], for the Python dump), and the text
//! `json.dumps` writes of it ([`dumps`], for dumpdata).
//!
//! Parsing and writing use explicit stacks: depth is limited by memory
//! only, unless the caller sets a limit.

mod dumps;
mod parse;
mod python;

use std::borrow::Cow;
use std::fmt;

pub use dumps::{write_float, write_str, Style};
pub use python::write_python_literal;

/// A parsed document: nodes in an arena, children before their container,
/// the root last.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc<'a> {
    nodes: Vec<Node<'a>>,
    root: usize,
    /// The offset of the first lone surrogate escape, if any.
    lone_surrogate: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node<'a> {
    Null,
    Bool(bool),
    /// The integer as written: digits, after a `-` if negative.
    Int(&'a str),
    Float(f64),
    Str(Cow<'a, str>),
    /// A string with lone surrogates, which a Rust string can't hold.
    Lone(Box<LoneStr>),
    Arr(Vec<usize>),
    Obj(Obj),
}

/// The text around the surrogates, and each surrogate with the byte index
/// in `text` where it stands.
#[derive(Debug, Clone, PartialEq)]
struct LoneStr {
    text: String,
    surrogates: Vec<(usize, u32)>,
}

/// An object's entries as written, repeated keys included: a Python dict
/// literal resolves them as `json.loads` does.
#[derive(Debug, Clone, PartialEq)]
struct Obj {
    /// (key node, value node).
    entries: Vec<(usize, usize)>,
    /// Only when a key repeats: each key once, in its first place with its
    /// last value (the dict that `json.dumps` writes).
    unique: Option<Vec<(usize, usize)>>,
}

impl Doc<'_> {
    /// Whether the document is JSON `null` (Python's `None`).
    pub fn is_null(&self) -> bool {
        self.nodes.get(self.root) == Some(&Node::Null)
    }
}

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
    /// A `\uD800`-style escape without its pair: `json.dumps` can't write
    /// it as UTF-8.
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
