//! What every fuzz input must satisfy, in process: shared by the
//! cargo-fuzz targets (`tests/fuzz/fuzz_targets/`) and the bounded fuzzer
//! that runs as a normal test (`tests/tests/fuzz.rs`, which also compares
//! with CPython). Each check panics on a violation; a panic inside the
//! code under test is one too.

use dump2py_django::meta::SiteMeta;
use dump2py_py::json::{write_python_literal, Doc, Style};
use dump2py_py::repr as pyrepr;

/// The styles `json.dumps` is called with: compact and indented, with and
/// without `ensure_ascii`.
pub const STYLES: [Style; 3] = [
    Style {
        indent: None,
        ascii: false,
    },
    Style {
        indent: None,
        ascii: true,
    },
    Style {
        indent: Some(2),
        ascii: true,
    },
];

/// The Python literal writer: a string's `repr` is one quoted line; a float's
/// reads back to the same bits; a JSON document either is refused, with
/// nothing written, or becomes one line.
pub fn pyrepr(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let r = pyrepr::str_repr(&text);
    let quote = r.chars().next();
    assert!(
        matches!(quote, Some('\'' | '"')) && r.len() >= 2 && r.ends_with(quote.unwrap_or('?')),
        "{text:?} -> {r}"
    );
    assert!(!r.chars().any(char::is_control), "{text:?} -> {r}");
    if let Some(bits) = data.get(..8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(bits);
        let f = f64::from_be_bytes(b);
        let r = pyrepr::float_repr(f);
        let back: f64 = r.parse().unwrap_or_else(|e| panic!("{f:?} -> {r}: {e}"));
        assert!(
            back.to_bits() == f.to_bits() || (f.is_nan() && back.is_nan()),
            "{f:?} -> {r}"
        );
    }
    let mut out = String::from("x");
    match write_python_literal(&mut out, &text, usize::MAX) {
        Ok(()) => assert!(out.len() > 1 && !out.contains('\n'), "{text:?} -> {out}"),
        Err(e) => {
            assert_eq!(out, "x", "{text:?}: refused ({e}) but written");
            assert!(e.offset() <= text.len(), "{text:?}: {e}");
        }
    }
}

/// The JSON text parser: what it accepts, written in every style, parses
/// again and is written the same.
pub fn jsontext(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(doc) = Doc::parse(&text) else { return };
    for style in STYLES {
        let mut once = String::new();
        doc.write(&mut once, style, 0);
        let again = Doc::parse(&once).unwrap_or_else(|e| panic!("{text:?} -> {once}: {e}"));
        let mut twice = String::new();
        again.write(&mut twice, style, 0);
        assert_eq!(once, twice, "{text:?} in {style:?}");
    }
}

/// The site-schema reader: what it accepts, saved, reads back equal.
pub fn sitemeta(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(meta) = SiteMeta::parse(&text) else {
        return;
    };
    let saved = serde_json::to_string(&meta).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    let back = SiteMeta::parse(&saved).unwrap_or_else(|e| panic!("{saved}: {e}"));
    assert_eq!(back, meta, "{text:?}");
}

/// The dump source's parser (backends/dump): any line is a statement of
/// a data file or an error inside the line, never a panic; and a JSON
/// document, written as the Python sink writes it, reads back as the same
/// document (but one with a lone surrogate, which a Rust string can't
/// hold: refused, never misread).
pub fn dumpline(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = dump2py_dump::statement(&text);
    if let Err(e) = dump2py_dump::parse_expr(&text) {
        assert!(e.offset <= text.len(), "{text:?}: {e:?}");
    }
    let Ok(doc) = Doc::parse(&text) else { return };
    let mut literal = String::new();
    if write_python_literal(&mut literal, &text, 190).is_err() {
        return;
    }
    let e = match dump2py_dump::parse_expr(&literal) {
        Ok(e) => e,
        Err(e) if e.message.contains("surrogate") => return,
        Err(e) => panic!("{text:?} -> {literal}: {e:?}"),
    };
    let back = dump2py_dump::json_text(&e).unwrap_or_else(|e| panic!("{literal}: {e}"));
    let again = Doc::parse(&back).unwrap_or_else(|e| panic!("{literal} -> {back}: {e}"));
    let (mut a, mut b) = (String::new(), String::new());
    doc.write(&mut a, STYLES[0], 0);
    again.write(&mut b, STYLES[0], 0);
    assert_eq!(a, b, "{text:?} -> {literal} -> {back}");
}
