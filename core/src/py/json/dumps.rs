//! A document as Django writes a stored JSON value again: `json.dumps`
//! of what `json.loads` gave. Key order is kept, a repeated key keeps its
//! first place and its last value (a Python dict), `-0` becomes `0`,
//! floats are written as Python's `repr`, NaN and infinities as
//! `NaN`/`Infinity`.

use super::{Doc, JsonError, Node, Obj};
use crate::py::repr;

/// How `json.dumps` is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// `indent=N`; `None` is compact with `", "` and `": "`.
    pub indent: Option<usize>,
    /// `ensure_ascii`: everything outside printable ASCII as `\uXXXX`.
    pub ascii: bool,
}

impl Obj {
    /// The entries `json.dumps` writes: each key once.
    fn dict(&self) -> &[(usize, usize)] {
        self.unique.as_deref().unwrap_or(&self.entries)
    }
}

impl Doc<'_> {
    /// Writes the document as `json.dumps` would, nested `level` deep
    /// (for indentation). A lone surrogate can't be written as UTF-8:
    /// Django fails there too.
    pub fn write_dumps(
        &self,
        out: &mut String,
        style: Style,
        level: usize,
    ) -> Result<(), JsonError> {
        if let Some(offset) = self.lone_surrogate {
            return Err(JsonError::LoneSurrogate { offset });
        }
        // (node, next child) pairs: a container is open while on the stack.
        let mut stack: Vec<(usize, usize)> = vec![(self.root, 0)];
        while let Some((node, child)) = stack.pop() {
            let depth = level + stack.len();
            let (open, len, close): (&str, usize, char) = match &self.nodes[node] {
                Node::Arr(items) if items.is_empty() => ("[]", 0, ' '),
                Node::Obj(obj) if obj.entries.is_empty() => ("{}", 0, ' '),
                Node::Arr(items) => ("[", items.len(), ']'),
                Node::Obj(obj) => ("{", obj.dict().len(), '}'),
                Node::Null => ("null", 0, ' '),
                Node::Bool(b) => (if *b { "true" } else { "false" }, 0, ' '),
                Node::Int("-0") => ("0", 0, ' '),
                Node::Int(d) => (*d, 0, ' '),
                Node::Float(f) => {
                    write_float(out, *f);
                    continue;
                }
                Node::Str(s) => {
                    write_str(out, s, style.ascii);
                    continue;
                }
                // Refused above.
                Node::Lone(_) => continue,
            };
            if len == 0 {
                out.push_str(open);
                continue;
            }
            if child == 0 {
                out.push_str(open);
            }
            if child == len {
                newline(out, style, depth);
                out.push(close);
                continue;
            }
            separator(out, style, child, depth + 1);
            stack.push((node, child + 1));
            match &self.nodes[node] {
                Node::Arr(items) => stack.push((items[child], 0)),
                Node::Obj(obj) => {
                    let (key, value) = obj.dict()[child];
                    if let Node::Str(k) = &self.nodes[key] {
                        write_str(out, k, style.ascii);
                    }
                    out.push_str(": ");
                    stack.push((value, 0));
                }
                _ => {}
            }
        }
        Ok(())
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
        doc.write_dumps(&mut out, Style { indent, ascii }, 0)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
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
        // The Python literal keeps every entry: the dict resolves them.
        let mut py = String::new();
        let doc = Doc::parse(r#"{"a": 1, "a": 2}"#).expect("valid");
        doc.write_python(&mut py);
        assert_eq!(py, "{'a': 1, 'a': 2}");
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
            let style = Style {
                indent: None,
                ascii: true,
            };
            let written = Doc::parse(bad).and_then(|d| d.write_dumps(&mut String::new(), style, 0));
            assert!(written.is_err(), "{bad:?}");
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
