//! A stored JSON document as Django writes it again: `json.loads` then
//! `json.dumps`. Key order is kept, a repeated key keeps its first place
//! and its last value (a Python dict), `-0` becomes `0`, floats are
//! written as Python's `repr`, NaN and infinities as `NaN`/`Infinity`.
//! Parsing and writing use explicit stacks: depth is limited by memory only.

use std::collections::HashMap;

use dump2py_python::pyrepr;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    /// Integer digits, with a `-` unless zero.
    Int(String),
    Float(f64),
    Str(String),
    Arr(Vec<usize>),
    Obj(Vec<(String, usize)>),
}

/// A parsed document: nodes in an arena, the root first.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    nodes: Vec<Node>,
    root: usize,
}

/// How `json.dumps` is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// `indent=N`; `None` is compact with `", "` and `": "`.
    pub indent: Option<usize>,
    /// `ensure_ascii`: everything outside printable ASCII as `\uXXXX`.
    pub ascii: bool,
}

enum Frame {
    Arr(Vec<usize>),
    Obj {
        items: Vec<(String, usize)>,
        index: HashMap<String, usize>,
        key: Option<String>,
    },
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("invalid JSON at byte {}: {what}", self.i))
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn string(&mut self) -> Result<String, String> {
        // At the opening quote.
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.push_str(&self.s[start..self.i]);
            match self.b.get(self.i) {
                None => return self.err("unterminated string"),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return self.err("unterminated string");
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xd800..0xdc00).contains(&hi) && self.eat("\\u") {
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return self.err("a lone surrogate can't be written");
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            match char::from_u32(c) {
                                Some(ch) => out.push(ch),
                                None => return self.err("a lone surrogate can't be written"),
                            }
                        }
                        _ => return self.err("invalid escape"),
                    }
                }
                // Python's json.loads is strict about control characters.
                Some(_) => return self.err("control character in a string"),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.i..self.i + 4).unwrap_or("");
        if h.len() != 4 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return self.err("invalid \\u escape");
        }
        self.i += 4;
        u32::from_str_radix(h, 16).or_else(|_| self.err("invalid \\u escape"))
    }

    /// Python's NUMBER_RE: `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`.
    fn number(&mut self) -> Result<Node, String> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.b.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - s
        };
        let neg = self.b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return self.err("expected a value"),
        }
        let int_end = self.i;
        let mut float = false;
        if self.b.get(self.i) == Some(&b'.')
            && self.b.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            self.i += 1;
            digits(self);
            float = true;
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            let save = self.i;
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                self.i = save;
            } else {
                float = true;
            }
        }
        let text = &self.s[start..self.i];
        if float {
            return match text.parse::<f64>() {
                Ok(f) => Ok(Node::Float(f)),
                Err(_) => self.err("bad number"),
            };
        }
        let digits = &self.s[start + usize::from(neg)..int_end];
        Ok(Node::Int(if neg && digits != "0" {
            format!("-{digits}")
        } else {
            digits.to_string()
        }))
    }
}

impl Doc {
    pub fn parse(text: &str) -> Result<Doc, String> {
        let mut p = Parser {
            s: text,
            b: text.as_bytes(),
            i: 0,
        };
        let mut nodes: Vec<Node> = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        p.ws();
        let root = loop {
            // Read one value (or open a container).
            let node = match p.b.get(p.i) {
                Some(b'{') => {
                    p.i += 1;
                    p.ws();
                    if p.eat("}") {
                        Node::Obj(Vec::new())
                    } else {
                        stack.push(Frame::Obj {
                            items: Vec::new(),
                            index: HashMap::new(),
                            key: None,
                        });
                        key(&mut p, &mut stack)?;
                        continue;
                    }
                }
                Some(b'[') => {
                    p.i += 1;
                    p.ws();
                    if p.eat("]") {
                        Node::Arr(Vec::new())
                    } else {
                        stack.push(Frame::Arr(Vec::new()));
                        continue;
                    }
                }
                Some(b'"') => Node::Str(p.string()?),
                Some(b'n') if p.eat("null") => Node::Null,
                Some(b't') if p.eat("true") => Node::Bool(true),
                Some(b'f') if p.eat("false") => Node::Bool(false),
                Some(b'N') if p.eat("NaN") => Node::Float(f64::NAN),
                Some(b'I') if p.eat("Infinity") => Node::Float(f64::INFINITY),
                Some(b'-') if p.eat("-Infinity") => Node::Float(f64::NEG_INFINITY),
                _ => p.number()?,
            };
            nodes.push(node);
            let mut done = nodes.len() - 1;
            // Attach it to its container; close containers that end here.
            while let Some(frame) = stack.last_mut() {
                match frame {
                    Frame::Arr(items) => items.push(done),
                    Frame::Obj {
                        items, index, key, ..
                    } => {
                        let k = key.take().unwrap_or_default();
                        match index.get(&k) {
                            Some(&at) => items[at].1 = done,
                            None => {
                                index.insert(k.clone(), items.len());
                                items.push((k, done));
                            }
                        }
                    }
                }
                p.ws();
                let is_obj = matches!(stack.last(), Some(Frame::Obj { .. }));
                if p.eat(",") {
                    p.ws();
                    if is_obj {
                        key(&mut p, &mut stack)?;
                    }
                    break;
                }
                let close = if is_obj { "}" } else { "]" };
                if !p.eat(close) {
                    return p.err("expected , or a closing bracket");
                }
                let node = match stack.pop() {
                    Some(Frame::Arr(items)) => Node::Arr(items),
                    Some(Frame::Obj { items, .. }) => Node::Obj(items),
                    None => return p.err("unbalanced"),
                };
                nodes.push(node);
                done = nodes.len() - 1;
            }
            if stack.is_empty() {
                break done;
            }
        };
        p.ws();
        if p.i != p.b.len() {
            return p.err("extra data");
        }
        Ok(Doc { nodes, root })
    }

    /// Whether the document is JSON `null` (Python's `None`).
    pub fn is_null(&self) -> bool {
        self.nodes.get(self.root) == Some(&Node::Null)
    }

    /// Writes the document as `json.dumps` would, nested `level` deep
    /// (for indentation).
    pub fn write(&self, out: &mut String, style: Style, level: usize) {
        // (node, next child) pairs: a container is open while on the stack.
        let mut stack: Vec<(usize, usize)> = vec![(self.root, 0)];
        while let Some((node, child)) = stack.pop() {
            let depth = level + stack.len();
            match &self.nodes[node] {
                Node::Arr(items) if items.is_empty() => out.push_str("[]"),
                Node::Obj(items) if items.is_empty() => out.push_str("{}"),
                Node::Arr(items) => {
                    if child == 0 {
                        out.push('[');
                    }
                    if child == items.len() {
                        newline(out, style, depth);
                        out.push(']');
                        continue;
                    }
                    separator(out, style, child, depth + 1);
                    stack.push((node, child + 1));
                    stack.push((items[child], 0));
                }
                Node::Obj(items) => {
                    if child == 0 {
                        out.push('{');
                    }
                    if child == items.len() {
                        newline(out, style, depth);
                        out.push('}');
                        continue;
                    }
                    separator(out, style, child, depth + 1);
                    write_str(out, &items[child].0, style.ascii);
                    out.push_str(": ");
                    stack.push((node, child + 1));
                    stack.push((items[child].1, 0));
                }
                Node::Null => out.push_str("null"),
                Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Node::Int(d) => out.push_str(d),
                Node::Float(f) => write_float(out, *f),
                Node::Str(s) => write_str(out, s, style.ascii),
            }
        }
    }
}

fn key(p: &mut Parser, stack: &mut [Frame]) -> Result<(), String> {
    if p.b.get(p.i) != Some(&b'"') {
        return p.err("expected a key");
    }
    let k = p.string()?;
    p.ws();
    if !p.eat(":") {
        return p.err("expected :");
    }
    p.ws();
    if let Some(Frame::Obj { key, .. }) = stack.last_mut() {
        *key = Some(k);
    }
    Ok(())
}

fn newline(out: &mut String, style: Style, depth: usize) {
    if let Some(n) = style.indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', n * depth));
    }
}

/// Before item `i` of a container whose items sit `depth` deep.
fn separator(out: &mut String, style: Style, i: usize, depth: usize) {
    match style.indent {
        None if i > 0 => out.push_str(", "),
        None => {}
        Some(_) => {
            if i > 0 {
                out.push(',');
            }
            newline(out, style, depth);
        }
    }
}

/// A float as `json.dumps` writes it: `float.__repr__`, or Python's
/// non-standard `NaN`, `Infinity`, `-Infinity`.
pub fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        pyrepr::write_float(out, f);
    }
}

/// A JSON string as `json.dumps` writes it, with or without `ensure_ascii`.
pub fn write_str(out: &mut String, s: &str, ascii: bool) {
    out.push('"');
    let mut run = 0;
    for (i, c) in s.char_indices() {
        let plain = match c {
            '"' | '\\' => false,
            ' '..='~' => true,
            _ => !ascii && c >= '\u{20}',
        };
        if plain {
            continue;
        }
        out.push_str(&s[run..i]);
        run = i + c.len_utf8();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dumps(text: &str, indent: Option<usize>, ascii: bool) -> String {
        let doc = Doc::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut out = String::new();
        doc.write(&mut out, Style { indent, ascii }, 0);
        out
    }

    #[test]
    fn like_python_json_dumps() {
        // json.dumps(json.loads(text), ensure_ascii=False)
        let cases = [
            (
                r#"{"b": 1, "a": [1, 2.0, -0, -0.0, 1e16, 1E-7, 1.5e300]}"#,
                r#"{"b": 1, "a": [1, 2.0, 0, -0.0, 1e+16, 1e-07, 1.5e+300]}"#,
            ),
            (r#"{"a":1,"b":2,"a":3}"#, r#"{"a": 3, "b": 2}"#),
            (
                "[NaN,Infinity,-Infinity,1e400]",
                "[NaN, Infinity, -Infinity, Infinity]",
            ),
            (
                r#" "\u00e9\ud83d\ude00\n\u0001\u007f\/" "#,
                "\"é😀\\n\\u0001\u{7f}/\"",
            ),
            ("18446744073709551616", "18446744073709551616"),
            ("[[], {}, [[]]]", "[[], {}, [[]]]"),
            ("null", "null"),
        ];
        for (text, py) in cases {
            assert_eq!(dumps(text, None, false), py, "{text}");
        }
        assert_eq!(
            dumps(r#"{"é": ["😀", "\u007f"]}"#, None, true),
            r#"{"\u00e9": ["\ud83d\ude00", "\u007f"]}"#
        );
        assert_eq!(
            dumps(r#"{"a": [1, {"b": []}], "c": {}}"#, Some(2), false),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {}\n}"
        );
        assert_eq!(dumps("[1,[2]]", Some(0), false), "[\n1,\n[\n2\n]\n]");
    }

    #[test]
    fn rejects_what_python_rejects() {
        for bad in [
            "",
            "01",
            "1.",
            "[1,]",
            "{\"a\" 1}",
            "\"\u{1}\"",
            "[1] 2",
            "\"\\ud800\"",
            "tru",
        ] {
            assert!(Doc::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deep_documents() {
        let depth = 100_000;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let out = dumps(&text, None, false);
        assert_eq!(
            out,
            format!("{}[]{}", "[".repeat(depth - 1), "]".repeat(depth - 1))
        );
    }
}
