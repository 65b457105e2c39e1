//! A document as Django writes a stored JSON value again: `json.dumps`
//! of what `json.loads` gave. Key order is kept, a repeated key keeps its
//! first place and its last value (a Python dict), `-0` becomes `0`,
//! floats are written as Python's `repr`, NaN and infinities as
//! `NaN`/`Infinity`.

use std::borrow::Cow;
use std::collections::HashMap;

use super::parse::{parse, Events, Scalar, Text};
use super::JsonError;
use crate::repr;

/// Objects with more entries than this find repeated keys by a hash map.
const LINEAR_KEYS: usize = 8;

#[derive(Debug, Clone, PartialEq)]
enum Node<'a> {
    Null,
    Bool(bool),
    /// The integer as written: digits, after a `-` if negative.
    Int(&'a str),
    Float(f64),
    Str(Cow<'a, str>),
    Arr(Vec<usize>),
    /// Each key once, in its first place, with its last value.
    Obj(Vec<(Cow<'a, str>, usize)>),
}

/// A parsed document: nodes in an arena, children before their container.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc<'a> {
    nodes: Vec<Node<'a>>,
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

enum Frame<'a> {
    Arr(Vec<usize>),
    Obj {
        items: Vec<(Cow<'a, str>, usize)>,
        key: Cow<'a, str>,
        /// Key → place in `items`, past LINEAR_KEYS entries.
        index: Option<HashMap<String, usize>>,
    },
}

/// Builds a [`Doc`] from the parser's events.
#[derive(Default)]
struct Builder<'a> {
    nodes: Vec<Node<'a>>,
    stack: Vec<Frame<'a>>,
    /// Where the first string with a lone surrogate starts.
    lone_surrogate: Option<usize>,
}

impl<'a> Builder<'a> {
    fn text(&mut self, text: Text<'a, '_>) -> Cow<'a, str> {
        match text {
            Text::Src(s) => Cow::Borrowed(s),
            Text::Decoded {
                text,
                surrogates,
                offset,
            } => {
                if !surrogates.is_empty() {
                    self.lone_surrogate.get_or_insert(offset);
                }
                Cow::Owned(text.to_string())
            }
        }
    }

    /// Adds a complete node to its container.
    fn push(&mut self, node: Node<'a>) {
        self.nodes.push(node);
        let done = self.nodes.len() - 1;
        match self.stack.last_mut() {
            None => {}
            Some(Frame::Arr(items)) => items.push(done),
            Some(Frame::Obj { items, key, index }) => {
                let key = std::mem::take(key);
                let found = match index {
                    Some(map) => map.get(key.as_ref()).copied(),
                    None => items.iter().position(|(k, _)| *k == key),
                };
                match found {
                    Some(at) => items[at].1 = done,
                    None => {
                        if let Some(map) = index {
                            map.insert(key.to_string(), items.len());
                        }
                        items.push((key, done));
                        if index.is_none() && items.len() > LINEAR_KEYS {
                            let map = items.iter().enumerate();
                            *index = Some(map.map(|(i, (k, _))| (k.to_string(), i)).collect());
                        }
                    }
                }
            }
        }
    }
}

impl<'a> Events<'a> for Builder<'a> {
    fn open(&mut self, obj: bool) {
        self.stack.push(if obj {
            Frame::Obj {
                items: Vec::new(),
                key: Cow::Borrowed(""),
                index: None,
            }
        } else {
            Frame::Arr(Vec::new())
        });
    }

    fn close(&mut self, _obj: bool) {
        let node = match self.stack.pop() {
            Some(Frame::Arr(items)) => Node::Arr(items),
            Some(Frame::Obj { items, .. }) => Node::Obj(items),
            None => return,
        };
        self.push(node);
    }

    fn next(&mut self) {}

    fn key(&mut self, key: Text<'a, '_>) {
        let key = self.text(key);
        if let Some(Frame::Obj { key: k, .. }) = self.stack.last_mut() {
            *k = key;
        }
    }

    fn scalar(&mut self, value: Scalar<'a, '_>) {
        let node = match value {
            Scalar::Null => Node::Null,
            Scalar::Bool(b) => Node::Bool(b),
            Scalar::Int(token) => Node::Int(token),
            Scalar::Float(f) => Node::Float(f),
            Scalar::Str(text) => Node::Str(self.text(text)),
        };
        self.push(node);
    }
}

impl<'a> Doc<'a> {
    /// Parses `text` as `json.loads` does, refusing a lone surrogate, which
    /// `json.dumps` can't write as UTF-8 (Django fails there too).
    pub fn parse(text: &'a str) -> Result<Doc<'a>, JsonError> {
        let mut b = Builder::default();
        parse(text, usize::MAX, &mut b)?;
        if let Some(offset) = b.lone_surrogate {
            return Err(JsonError::LoneSurrogate { offset });
        }
        Ok(Doc {
            root: b.nodes.len().saturating_sub(1),
            nodes: b.nodes,
        })
    }

    /// Whether the document is JSON `null` (Python's `None`).
    pub fn is_null(&self) -> bool {
        self.nodes.get(self.root) == Some(&Node::Null)
    }

    /// Writes the document as `json.dumps` would, nested `level` deep
    /// (for indentation).
    pub fn write(&self, out: &mut String, style: Style, level: usize) {
        self.render(
            out,
            style,
            level,
            &|out, key| write_str(out, key, style.ascii),
            &|out, leaf| write_leaf(out, leaf, style),
        );
    }

    /// Writes the document as the `repr()` of what `json.loads` gives (see
    /// [`super::write_python_literal`], which writes it without a `Doc`
    /// unless keys repeat).
    pub fn write_python(&self, out: &mut String) {
        let compact = Style {
            indent: None,
            ascii: false,
        };
        let key = |out: &mut String, key: &str| repr::write_str(out, key);
        self.render(out, compact, 0, &key, &|out, leaf| match leaf {
            Node::Null => out.push_str("None"),
            Node::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
            Node::Int(d) => super::python::write_int(out, d),
            Node::Float(f) => repr::write_float_literal(out, *f),
            Node::Str(s) => repr::write_str(out, s),
            Node::Arr(_) | Node::Obj(_) => {}
        });
    }

    /// The layout both renderings share; `key` and `leaf` write the text.
    fn render(
        &self,
        out: &mut String,
        style: Style,
        level: usize,
        key: &dyn Fn(&mut String, &str),
        leaf: &dyn Fn(&mut String, &Node),
    ) {
        // (node, next child) pairs: a container is open while on the stack.
        let mut stack: Vec<(usize, usize)> = vec![(self.root, 0)];
        while let Some((node, child)) = stack.pop() {
            let depth = level + stack.len();
            let (len, open, close) = match &self.nodes[node] {
                Node::Arr(items) => (items.len(), '[', ']'),
                Node::Obj(items) => (items.len(), '{', '}'),
                node => {
                    leaf(out, node);
                    continue;
                }
            };
            if len == 0 {
                out.push(open);
                out.push(close);
                continue;
            }
            if child == len {
                newline(out, style, depth);
                out.push(close);
                continue;
            }
            if child == 0 {
                out.push(open);
            }
            separator(out, style, child, depth + 1);
            stack.push((node, child + 1));
            match &self.nodes[node] {
                Node::Obj(items) => {
                    key(out, &items[child].0);
                    out.push_str(": ");
                    stack.push((items[child].1, 0));
                }
                Node::Arr(items) => stack.push((items[child], 0)),
                _ => {}
            }
        }
    }
}

fn write_leaf(out: &mut String, node: &Node, style: Style) {
    match node {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Int("-0") => out.push('0'),
        Node::Int(d) => out.push_str(d),
        Node::Float(f) => write_float(out, *f),
        Node::Str(s) => write_str(out, s, style.ascii),
        Node::Arr(_) | Node::Obj(_) => {}
    }
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
        repr::write_float(out, f);
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
    fn repeated_keys_keep_their_first_place_and_last_value() {
        // Past LINEAR_KEYS entries, repeated keys are found by a hash map.
        let keys: Vec<String> = (0..12).map(|i| format!("\"k{i}\": {i}")).collect();
        let text = format!(
            "{{{}, \"k0\": 20, \"k11\": 21, \"k0\": 22}}",
            keys.join(", ")
        );
        let mut want: Vec<String> = (0..12).map(|i| format!("\"k{i}\": {i}")).collect();
        want[0] = "\"k0\": 22".into();
        want[11] = "\"k11\": 21".into();
        assert_eq!(
            dumps(&text, None, false),
            format!("{{{}}}", want.join(", "))
        );
        assert_eq!(
            dumps(r#"{"a": 1, "b": {"a": 2, "a": 3}, "a": 4}"#, None, false),
            r#"{"a": 4, "b": {"a": 3}}"#
        );
        // The Python literal too, as repr(json.loads(doc)).
        let mut py = String::new();
        let doc = r#"{"a": 1, "a": 2}"#;
        super::super::write_python_literal(&mut py, doc, usize::MAX).expect("valid");
        assert_eq!(py, "{'a': 2}");
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
