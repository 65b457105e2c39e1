//! The parser: the grammar of Python's json scanner, including its `NaN`,
//! `Infinity` and `-Infinity`, lone surrogate escapes and repeated keys.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{Doc, JsonError, LoneStr, Node, Obj};

/// Objects with more entries than this find repeated keys by a hash map.
const LINEAR_KEYS: usize = 8;

impl<'a> Doc<'a> {
    /// Parses `text` as `json.loads` does.
    pub fn parse(text: &'a str) -> Result<Doc<'a>, JsonError> {
        Doc::parse_nested(text, usize::MAX)
    }

    /// [`Doc::parse`], refusing documents nested deeper than `max_depth`
    /// containers.
    pub fn parse_nested(text: &'a str, max_depth: usize) -> Result<Doc<'a>, JsonError> {
        let mut p = Parser {
            src: text,
            bytes: text.as_bytes(),
            pos: 0,
            nodes: Vec::new(),
            lone_surrogate: None,
            max_depth,
        };
        let root = p.run()?;
        Ok(Doc {
            nodes: p.nodes,
            root,
            lone_surrogate: p.lone_surrogate,
        })
    }
}

/// An open container.
enum Frame {
    Arr(Vec<usize>),
    Obj {
        entries: Vec<(usize, usize)>,
        /// The key node of the value being read.
        key: usize,
        /// Set when a key repeats.
        unique: Option<Vec<(usize, usize)>>,
        /// Key text → place in `unique` (or `entries`), past LINEAR_KEYS.
        index: Option<HashMap<String, usize>>,
    },
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    nodes: Vec<Node<'a>>,
    lone_surrogate: Option<usize>,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    fn push(&mut self, node: Node<'a>) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn run(&mut self) -> Result<usize, JsonError> {
        let mut stack: Vec<Frame> = Vec::new();
        'value: loop {
            self.skip_ws();
            let node = match self.peek("a JSON value")? {
                open @ (b'{' | b'[') => {
                    if stack.len() >= self.max_depth {
                        return Err(JsonError::TooDeep {
                            offset: self.pos,
                            limit: self.max_depth,
                        });
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.bytes.get(self.pos) == Some(&close) {
                        self.pos += 1;
                        if open == b'{' {
                            Node::Obj(Obj {
                                entries: Vec::new(),
                                unique: None,
                            })
                        } else {
                            Node::Arr(Vec::new())
                        }
                    } else {
                        if open == b'{' {
                            let key = self.key()?;
                            stack.push(Frame::Obj {
                                entries: Vec::new(),
                                key,
                                unique: None,
                                index: None,
                            });
                        } else {
                            stack.push(Frame::Arr(Vec::new()));
                        }
                        continue 'value;
                    }
                }
                b'"' => self.string()?,
                b't' => self.word("true", Node::Bool(true))?,
                b'f' => self.word("false", Node::Bool(false))?,
                b'n' => self.word("null", Node::Null)?,
                b'N' => self.word("NaN", Node::Float(f64::NAN))?,
                b'I' => self.word("Infinity", Node::Float(f64::INFINITY))?,
                b'-' if self.bytes[self.pos + 1..].starts_with(b"Infinity") => {
                    self.word("-Infinity", Node::Float(f64::NEG_INFINITY))?
                }
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return Err(self.unexpected("a JSON value")),
            };
            let mut done = self.push(node);
            // A value is complete: close containers until one continues.
            loop {
                let Some(frame) = stack.last_mut() else {
                    break 'value;
                };
                let is_obj = matches!(frame, Frame::Obj { .. });
                match frame {
                    Frame::Arr(items) => items.push(done),
                    Frame::Obj {
                        entries,
                        key,
                        unique,
                        index,
                    } => {
                        let key = *key;
                        add_entry(&self.nodes, entries, unique, index, (key, done));
                    }
                }
                self.skip_ws();
                let expected = if is_obj { "',' or '}'" } else { "',' or ']'" };
                match self.peek(expected)? {
                    b',' => {
                        self.pos += 1;
                        if is_obj {
                            let k = self.key()?;
                            if let Some(Frame::Obj { key, .. }) = stack.last_mut() {
                                *key = k;
                            }
                        }
                        continue 'value;
                    }
                    b'}' if is_obj => {}
                    b']' if !is_obj => {}
                    _ => return Err(self.unexpected(expected)),
                }
                self.pos += 1;
                let node = match stack.pop() {
                    Some(Frame::Arr(items)) => Node::Arr(items),
                    Some(Frame::Obj {
                        entries, unique, ..
                    }) => Node::Obj(Obj { entries, unique }),
                    None => break 'value,
                };
                done = self.push(node);
            }
        }
        self.skip_ws();
        if self.pos < self.bytes.len() {
            return Err(JsonError::TrailingData { offset: self.pos });
        }
        Ok(self.nodes.len() - 1)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self, expected: &'static str) -> Result<u8, JsonError> {
        self.bytes
            .get(self.pos)
            .copied()
            .ok_or(JsonError::UnexpectedEnd {
                offset: self.pos,
                expected,
            })
    }

    fn unexpected(&self, expected: &'static str) -> JsonError {
        match self.src.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(found) => JsonError::Unexpected {
                offset: self.pos,
                found,
                expected,
            },
            None => JsonError::UnexpectedEnd {
                offset: self.pos,
                expected,
            },
        }
    }

    fn word(&mut self, word: &str, node: Node<'a>) -> Result<Node<'a>, JsonError> {
        if !self.bytes[self.pos..].starts_with(word.as_bytes()) {
            return Err(self.unexpected("a JSON value"));
        }
        self.pos += word.len();
        Ok(node)
    }

    /// An object key and the ':' after it; returns the key's node.
    fn key(&mut self) -> Result<usize, JsonError> {
        self.skip_ws();
        if self.peek("a string key")? != b'"' {
            return Err(self.unexpected("a string key"));
        }
        let key = self.string()?;
        let key = self.push(key);
        self.skip_ws();
        if self.peek("':'")? != b':' {
            return Err(self.unexpected("':'"));
        }
        self.pos += 1;
        Ok(key)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Same grammar as Python's json scanner: `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`.
    fn number(&mut self) -> Result<Node<'a>, JsonError> {
        let start = self.pos;
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(JsonError::InvalidNumber { offset: start }),
        }
        let mut is_float = false;
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(JsonError::InvalidNumber { offset: start });
            }
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::InvalidNumber { offset: start });
            }
            is_float = true;
        }
        let token = &self.src[start..self.pos];
        if !is_float {
            return Ok(Node::Int(token));
        }
        // Correctly rounded, like Python's float(); overflow gives ±inf.
        token
            .parse()
            .map(Node::Float)
            .map_err(|_| JsonError::InvalidNumber { offset: start })
    }

    /// A JSON string, at its opening quote.
    fn string(&mut self) -> Result<Node<'a>, JsonError> {
        let open = self.pos;
        let start = open + 1;
        let mut i = start;
        // Fast path: no escapes, so the raw text is the value.
        loop {
            match self.bytes.get(i) {
                None => return Err(unterminated(open)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Node::Str(Cow::Borrowed(&self.src[start..i])));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => return Err(JsonError::ControlCharacter { offset: i }),
                Some(_) => i += 1,
            }
        }
        let mut buf = String::from(&self.src[start..i]);
        let mut surrogates: Vec<(usize, u32)> = Vec::new();
        loop {
            // Copy up to the next quote, backslash or control byte. These are
            // ASCII, so every slice boundary here is a char boundary.
            let run = i;
            while let Some(&b) = self.bytes.get(i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                i += 1;
            }
            buf.push_str(&self.src[run..i]);
            match self.bytes.get(i) {
                None => return Err(unterminated(open)),
                Some(b'"') => break,
                Some(b'\\') => {}
                Some(_) => return Err(JsonError::ControlCharacter { offset: i }),
            }
            let esc = i;
            let simple = match self.bytes.get(i + 1) {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'u') => {
                    let hi = self
                        .hex4(i + 2)
                        .ok_or(JsonError::InvalidEscape { offset: esc })?;
                    i += 6;
                    let mut cp = hi;
                    // A high surrogate pairs with an immediately following
                    // low one; anything else leaves it lone, as in CPython.
                    if (0xd800..0xdc00).contains(&hi) && self.bytes[i..].starts_with(b"\\u") {
                        if let Some(lo @ 0xdc00..=0xdfff) = self.hex4(i + 2) {
                            cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                            i += 6;
                        }
                    }
                    match char::from_u32(cp) {
                        Some(c) => buf.push(c),
                        None => {
                            self.lone_surrogate.get_or_insert(esc);
                            surrogates.push((buf.len(), cp));
                        }
                    }
                    continue;
                }
                _ => return Err(JsonError::InvalidEscape { offset: esc }),
            };
            buf.push(simple);
            i += 2;
        }
        self.pos = i + 1;
        Ok(if surrogates.is_empty() {
            Node::Str(Cow::Owned(buf))
        } else {
            Node::Lone(Box::new(LoneStr {
                text: buf,
                surrogates,
            }))
        })
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.bytes.get(at..at + 4)?;
        digits.iter().try_fold(0, |acc, &d| {
            let v = (d as char).to_digit(16)?;
            Some(acc << 4 | v)
        })
    }
}

fn unterminated(open: usize) -> JsonError {
    JsonError::UnexpectedEnd {
        offset: open,
        expected: "the closing '\"' of this string",
    }
}

/// The text of a key node; `None` for one with lone surrogates, which
/// `json.dumps` refuses anyway.
fn key_text<'n>(nodes: &'n [Node], key: usize) -> Option<&'n str> {
    match nodes.get(key) {
        Some(Node::Str(s)) => Some(s),
        _ => None,
    }
}

/// Adds an entry to an object being read, and to its unique entries (the
/// first place of a key, with its last value) once a key repeats.
fn add_entry(
    nodes: &[Node],
    entries: &mut Vec<(usize, usize)>,
    unique: &mut Option<Vec<(usize, usize)>>,
    index: &mut Option<HashMap<String, usize>>,
    entry: (usize, usize),
) {
    entries.push(entry);
    let Some(text) = key_text(nodes, entry.0) else {
        if let Some(u) = unique {
            u.push(entry);
        }
        return;
    };
    let seen: &[(usize, usize)] = match unique {
        Some(u) => u,
        None => &entries[..entries.len() - 1],
    };
    let found = match index {
        Some(map) => map.get(text).copied(),
        None => seen
            .iter()
            .position(|&(k, _)| key_text(nodes, k) == Some(text)),
    };
    match found {
        Some(at) => {
            let u = unique.get_or_insert_with(|| entries[..entries.len() - 1].to_vec());
            u[at].1 = entry.1;
        }
        None => {
            let place = match unique {
                Some(u) => {
                    u.push(entry);
                    u.len() - 1
                }
                None => entries.len() - 1,
            };
            match index {
                Some(map) => {
                    map.insert(text.to_string(), place);
                }
                None if place >= LINEAR_KEYS => {
                    let list: &[(usize, usize)] = unique.as_deref().unwrap_or(&entries[..]);
                    *index = Some(
                        list.iter()
                            .enumerate()
                            .filter_map(|(i, &(k, _))| {
                                key_text(nodes, k).map(|t| (t.to_string(), i))
                            })
                            .collect(),
                    );
                }
                None => {}
            }
        }
    }
}
