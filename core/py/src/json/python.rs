//! A JSON document as a Python expression equal to `json.loads(text)`, laid out
//! like its `repr()` (`{'a': [1, 1.5, None, True]}`), except that NaN and
//! infinities become `float('nan')`/`float('inf')` and integers over 4300
//! digits become hex, so the result always evaluates. Repeated object keys
//! are written once, in their first place with their last value, as in the
//! `repr()` of what `json.loads` gives (Lino's dump writes that).

use std::fmt::Write as _;

use super::parse::{parse, Events, Scalar, Text};
use super::JsonError;
use crate::repr::{push_escape, quote_for, write_float_literal, write_str, write_str_body};

/// Python 3.11+ rejects decimal int literals (and `int(str)`) longer than
/// this; hex literals are exempt, so longer integers are written in hex.
const PY_INT_MAX_STR_DIGITS: usize = 4300;

/// Appends the Python literal of the JSON document `json`, refusing one
/// nested deeper than `max_depth` containers (Python source can't hold
/// deeper literals). On error, `out` is left as it was.
pub fn write_python_literal(
    out: &mut String,
    json: &str,
    max_depth: usize,
) -> Result<(), JsonError> {
    let start = out.len();
    let mut literal = Literal {
        out,
        keys: Vec::new(),
        objects: Vec::new(),
        repeated: false,
    };
    let result = parse(json, max_depth, &mut literal);
    let repeated = literal.repeated;
    if result.is_err() {
        out.truncate(start);
    } else if repeated {
        // Rare: written again from the document, each key once. A document
        // the model refuses (a lone surrogate) keeps the streamed literal,
        // which evaluates to the same dict.
        if let Ok(doc) = super::Doc::parse(json) {
            out.truncate(start);
            doc.write_python(out);
        }
    }
    result
}

/// Writes the literal as the parser goes; keeps only a hash of each key of
/// the open objects, to notice a repeated one (a collision only costs the
/// slow path).
struct Literal<'o> {
    out: &'o mut String,
    keys: Vec<u64>,
    /// Per open container: where its keys start in `keys` (arrays: none).
    objects: Vec<Option<usize>>,
    repeated: bool,
}

fn key_hash(s: &str) -> u64 {
    // FNV-1a: cheap, and only compared within one object.
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A JSON integer token as a Python int literal: hex beyond Python's
/// 4300-digit limit for decimal literals.
pub(super) fn write_int(out: &mut String, token: &str) {
    if token == "-0" {
        out.push('0');
        return;
    }
    let (neg, digits) = match token.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, token),
    };
    if digits.len() > PY_INT_MAX_STR_DIGITS {
        write_hex_int(out, neg, digits.as_bytes());
    } else {
        out.push_str(token);
    }
}

impl<'a> Events<'a> for Literal<'_> {
    #[inline]
    fn open(&mut self, obj: bool) {
        self.objects.push(obj.then_some(self.keys.len()));
        self.out.push(if obj { '{' } else { '[' });
    }

    #[inline]
    fn close(&mut self, obj: bool) {
        if let Some(Some(start)) = self.objects.pop() {
            self.keys.truncate(start);
        }
        self.out.push(if obj { '}' } else { ']' });
    }

    #[inline]
    fn next(&mut self) {
        self.out.push_str(", ");
    }

    #[inline]
    fn key(&mut self, key: Text<'a, '_>) {
        let text = match &key {
            Text::Src(s) => s,
            Text::Decoded { text, .. } => text,
        };
        let h = key_hash(text);
        if let Some(Some(start)) = self.objects.last() {
            if self.keys[*start..].contains(&h) {
                self.repeated = true;
            }
        }
        self.keys.push(h);
        write_text(self.out, key);
        self.out.push_str(": ");
    }

    #[inline(always)]
    fn scalar(&mut self, value: Scalar<'a, '_>) {
        let out = &mut *self.out;
        match value {
            Scalar::Null => out.push_str("None"),
            Scalar::Bool(b) => out.push_str(if b { "True" } else { "False" }),
            Scalar::Int(token) => write_int(out, token),
            Scalar::Float(f) => write_float_literal(out, f),
            Scalar::Str(text) => write_text(out, text),
        }
    }
}

/// A string as a Python str literal.
#[inline(always)]
fn write_text(out: &mut String, text: Text) {
    let (text, surrogates) = match text {
        Text::Src(s) => (s, &[][..]),
        Text::Decoded {
            text, surrogates, ..
        } => (text, surrogates),
    };
    if surrogates.is_empty() {
        write_str(out, text);
        return;
    }
    // Rust strings cannot hold lone surrogates: write the text between
    // them normally and each surrogate as the escape repr would use.
    let q = quote_for(text);
    out.push(q as char);
    let mut prev = 0;
    for &(at, cp) in surrogates {
        write_str_body(out, &text[prev..at], q);
        push_escape(out, cp);
        prev = at;
    }
    write_str_body(out, &text[prev..], q);
    out.push(q as char);
}

/// Writes a decimal digit string as a Python hex literal (`0x…`/`-0x…`).
fn write_hex_int(out: &mut String, neg: bool, digits: &[u8]) {
    // Little-endian base-2^32 limbs; schoolbook multiply-add per 9 digits.
    let mut limbs: Vec<u32> = Vec::with_capacity(digits.len() / 9 + 1);
    let first = digits.len() % 9;
    let chunks = std::iter::once(&digits[..first]).chain(digits[first..].chunks(9));
    for chunk in chunks.filter(|c| !c.is_empty()) {
        let mul = 10u64.pow(chunk.len() as u32);
        let mut carry = chunk
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
        for limb in &mut limbs {
            let v = u64::from(*limb) * mul + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    out.push_str(if neg { "-0x" } else { "0x" });
    let mut rev = limbs.iter().rev();
    let _ = write!(out, "{:x}", rev.next().copied().unwrap_or(0));
    for limb in rev {
        let _ = write!(out, "{limb:08x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_ok(doc: &str) -> String {
        let mut out = String::new();
        write_python_literal(&mut out, doc, usize::MAX).expect("valid JSON");
        out
    }

    fn write_json_as_python(out: &mut String, doc: &str) -> Result<(), JsonError> {
        write_python_literal(out, doc, usize::MAX)
    }

    #[test]
    fn json_values() {
        assert_eq!(
            json_ok(r#" {"a": 1, "b" :[1.5 ,null,true, false], "c": {}, "d": []} "#),
            "{'a': 1, 'b': [1.5, None, True, False], 'c': {}, 'd': []}"
        );
        assert_eq!(
            json_ok("123456789012345678901234567890"),
            "123456789012345678901234567890"
        );
        assert_eq!(
            json_ok("[-0, -0.0, 0, -12, 1E2, 1e-5, 1e400, -1e400]"),
            "[0, -0.0, 0, -12, 100.0, 1e-05, float('inf'), -float('inf')]"
        );
        assert_eq!(
            json_ok("[NaN, Infinity, -Infinity]"),
            "[float('nan'), float('inf'), -float('inf')]"
        );
        // Each key once: its first place, its last value (json.loads).
        assert_eq!(json_ok(r#"{"a": 1, "b": 3, "a": 2}"#), "{'a': 2, 'b': 3}");
        assert_eq!(
            json_ok(r#"[{"a": [1, {"a": 1}]}, {"a": 1, "x": {"a": 0}, "a": "é"}]"#),
            "[{'a': [1, {'a': 1}]}, {'a': 'é', 'x': {'a': 0}}]"
        );
        assert_eq!(json_ok(r#""it's \"x\"""#), r#"'it\'s "x"'"#);
        assert_eq!(
            json_ok(r#""\u00e9\/\b\f\n\r\t\u0000""#),
            r"'é/\x08\x0c\n\r\t\x00'"
        );
        assert_eq!(json_ok(r#""\ud83d\ude00 \uD83D\uDE00""#), "'😀 😀'");
        assert_eq!(json_ok(r#""\ud800""#), r"'\ud800'");
        assert_eq!(
            json_ok(r#"["\udc00\ud800x", "a'\ud800\ud800\u0041"]"#),
            r#"['\udc00\ud800x', "a'\ud800\ud800A"]"#
        );
        assert_eq!(json_ok("\"raw é 😀 \u{2028}\""), "'raw é 😀 \\u2028'");
    }

    #[test]
    fn json_huge_int_goes_hex() {
        let digits = format!("1{}", "0".repeat(PY_INT_MAX_STR_DIGITS));
        let out = json_ok(&format!("[-{digits}]"));
        assert!(
            out.starts_with("[-0x") && out.ends_with(']'),
            "{}",
            &out[..20]
        );
        let small = "9".repeat(PY_INT_MAX_STR_DIGITS);
        assert_eq!(json_ok(&small), small);
        let mut out = String::new();
        write_hex_int(&mut out, false, b"18446744073709551616");
        assert_eq!(out, "0x10000000000000000");
    }

    #[test]
    fn json_errors_name_offsets() {
        let cases: &[(&str, usize)] = &[
            ("", 0),
            ("  ", 2),
            ("[1,]", 3),
            ("[1 2]", 3),
            ("{\"a\" 1}", 5),
            ("{a:1}", 1),
            ("01", 1),
            ("-", 0),
            ("1.", 0),
            ("1e+", 0),
            ("+1", 0),
            ("\"ab", 0),
            ("\"a\\x\"", 2),
            ("\"\\u12g4\"", 1),
            ("\"a\u{1}\"", 2),
            ("[1]x", 3),
            ("nul", 0),
            ("[-Infinit]", 1),
            ("\u{feff}[]", 0),
        ];
        for &(doc, offset) in cases {
            let mut out = String::from("keep");
            let err = write_json_as_python(&mut out, doc).expect_err(doc);
            assert_eq!(err.offset(), offset, "{doc:?}: {err}");
            assert!(err.to_string().contains(&format!("byte {offset}")), "{err}");
            assert_eq!(out, "keep");
        }
    }

    #[test]
    fn json_deep_nesting_is_iterative() {
        let n = 100_000;
        let doc = format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(json_ok(&doc), doc);
        let doc = format!("{}1{}", "{\"k\":".repeat(n), "}".repeat(n));
        let out = json_ok(&doc);
        assert!(out.starts_with("{'k': {'k': ") && out.len() == n * 7 + 1);
        let unclosed = "[".repeat(n);
        assert!(write_json_as_python(&mut String::new(), &unclosed).is_err());
        let mut out = String::from("x");
        let deep = format!("{}{}", "[".repeat(4), "]".repeat(4));
        assert!(write_python_literal(&mut out, &deep, 4).is_ok());
        let err = write_python_literal(&mut out, &format!("[{deep}]"), 4);
        assert_eq!(
            err,
            Err(JsonError::TooDeep {
                offset: 4,
                limit: 4
            })
        );
    }
}
