//! The one JSON parser: the grammar of Python's json scanner, including
//! its `NaN`, `Infinity` and `-Infinity`, lone surrogate escapes and
//! repeated keys. It reports the document as [`Events`], in order, to a
//! renderer; it never recurses and never allocates per value, except to
//! decode a string with escapes (into one buffer, reused).

use super::JsonError;

/// A string as the parser hands it over.
pub(super) enum Text<'a, 'b> {
    /// Without escapes: a slice of the document.
    Src(&'a str),
    /// Decoded, in the parser's buffer (valid for the call only); each lone
    /// surrogate with the byte index in `text` where it stands. `offset` is
    /// where the string starts in the document.
    Decoded {
        text: &'b str,
        surrogates: &'b [(usize, u32)],
        offset: usize,
    },
}

/// A value that is not a container.
pub(super) enum Scalar<'a, 'b> {
    Null,
    Bool(bool),
    /// The integer as written: digits, after a `-` if negative.
    Int(&'a str),
    Float(f64),
    Str(Text<'a, 'b>),
}

/// What a renderer hears of a document, in document order.
pub(super) trait Events<'a> {
    /// `{` (`obj`) or `[`.
    fn open(&mut self, obj: bool);
    /// `}` or `]`.
    fn close(&mut self, obj: bool);
    /// The `,` before a container's next item.
    fn next(&mut self);
    /// An object key; its value follows.
    fn key(&mut self, key: Text<'a, '_>);
    fn scalar(&mut self, value: Scalar<'a, '_>);
}

/// Parses `text` into `events`, refusing documents nested deeper than
/// `max_depth` containers. On error, `events` heard a prefix.
pub(super) fn parse<'a>(
    text: &'a str,
    max_depth: usize,
    events: &mut impl Events<'a>,
) -> Result<(), JsonError> {
    Parser {
        src: text,
        bytes: text.as_bytes(),
        pos: 0,
        buf: String::new(),
        surrogates: Vec::new(),
        max_depth,
    }
    .run(events)
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Decoded text of the current string when it contains escapes.
    buf: String,
    /// Lone surrogates of the current string: (byte index into `buf`, value).
    surrogates: Vec<(usize, u32)>,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    fn run(&mut self, ev: &mut impl Events<'a>) -> Result<(), JsonError> {
        // One entry per open container: true = object, false = array.
        let mut stack: Vec<bool> = Vec::new();
        'value: loop {
            self.skip_ws();
            match self.peek("a JSON value")? {
                open @ (b'{' | b'[') => {
                    if stack.len() >= self.max_depth {
                        return Err(JsonError::TooDeep {
                            offset: self.pos,
                            limit: self.max_depth,
                        });
                    }
                    let obj = open == b'{';
                    self.pos += 1;
                    ev.open(obj);
                    self.skip_ws();
                    let close = if obj { b'}' } else { b']' };
                    if self.bytes.get(self.pos) == Some(&close) {
                        self.pos += 1;
                        ev.close(obj);
                    } else {
                        stack.push(obj);
                        if obj {
                            self.key(ev)?;
                        }
                        continue 'value;
                    }
                }
                b'"' => {
                    let s = self.string()?;
                    ev.scalar(Scalar::Str(s));
                }
                b't' => ev.scalar(self.word("true", Scalar::Bool(true))?),
                b'f' => ev.scalar(self.word("false", Scalar::Bool(false))?),
                b'n' => ev.scalar(self.word("null", Scalar::Null)?),
                b'N' => ev.scalar(self.word("NaN", Scalar::Float(f64::NAN))?),
                b'I' => ev.scalar(self.word("Infinity", Scalar::Float(f64::INFINITY))?),
                b'-' if self.bytes[self.pos + 1..].starts_with(b"Infinity") => {
                    ev.scalar(self.word("-Infinity", Scalar::Float(f64::NEG_INFINITY))?)
                }
                b'-' | b'0'..=b'9' => {
                    let start = self.pos;
                    let token = &self.src[start..self.number()?];
                    if token.bytes().all(|b| b == b'-' || b.is_ascii_digit()) {
                        ev.scalar(Scalar::Int(token));
                    } else {
                        // Correctly rounded, like Python's float(); overflow
                        // gives ±inf.
                        let f = token
                            .parse()
                            .map_err(|_| JsonError::InvalidNumber { offset: start })?;
                        ev.scalar(Scalar::Float(f));
                    }
                }
                _ => return Err(self.unexpected("a JSON value")),
            }
            // A value is complete: close containers until one continues.
            loop {
                self.skip_ws();
                let Some(&obj) = stack.last() else {
                    break 'value;
                };
                let expected = if obj { "',' or '}'" } else { "',' or ']'" };
                match self.peek(expected)? {
                    b',' => {
                        self.pos += 1;
                        ev.next();
                        if obj {
                            self.key(ev)?;
                        }
                        continue 'value;
                    }
                    b'}' if obj => {}
                    b']' if !obj => {}
                    _ => return Err(self.unexpected(expected)),
                }
                self.pos += 1;
                stack.pop();
                ev.close(obj);
            }
        }
        if self.pos < self.bytes.len() {
            return Err(JsonError::TrailingData { offset: self.pos });
        }
        Ok(())
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

    fn word<T>(&mut self, word: &str, value: T) -> Result<T, JsonError> {
        if !self.bytes[self.pos..].starts_with(word.as_bytes()) {
            return Err(self.unexpected("a JSON value"));
        }
        self.pos += word.len();
        Ok(value)
    }

    /// An object key and the ':' after it.
    fn key(&mut self, ev: &mut impl Events<'a>) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek("a string key")? != b'"' {
            return Err(self.unexpected("a string key"));
        }
        let key = self.string()?;
        ev.key(key);
        self.skip_ws();
        if self.peek("':'")? != b':' {
            return Err(self.unexpected("':'"));
        }
        self.pos += 1;
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Same grammar as Python's json scanner: `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`.
    /// Returns where the number ends.
    fn number(&mut self) -> Result<usize, JsonError> {
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
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(JsonError::InvalidNumber { offset: start });
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::InvalidNumber { offset: start });
            }
        }
        Ok(self.pos)
    }

    /// A JSON string, at its opening quote.
    fn string(&mut self) -> Result<Text<'a, '_>, JsonError> {
        let open = self.pos;
        let start = open + 1;
        let mut i = start;
        // Fast path: no escapes, so the raw text is the value.
        loop {
            match self.bytes.get(i) {
                None => return Err(unterminated(open)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Text::Src(&self.src[start..i]));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => return Err(JsonError::ControlCharacter { offset: i }),
                Some(_) => i += 1,
            }
        }
        self.buf.clear();
        self.surrogates.clear();
        self.buf.push_str(&self.src[start..i]);
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
            self.buf.push_str(&self.src[run..i]);
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
                        Some(c) => self.buf.push(c),
                        None => self.surrogates.push((self.buf.len(), cp)),
                    }
                    continue;
                }
                _ => return Err(JsonError::InvalidEscape { offset: esc }),
            };
            self.buf.push(simple);
            i += 2;
        }
        self.pos = i + 1;
        Ok(Text::Decoded {
            text: &self.buf,
            surrogates: &self.surrogates,
            offset: open,
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
