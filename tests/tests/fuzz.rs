//! The bounded fuzzer: generated and mutated inputs for the Python literal
//! writer, the JSON text parser and the site-schema reader, a few seconds
//! each. None may panic (tests/fuzz/checks.rs), and whatever is accepted
//! must round-trip, judged by CPython where it is the authority: one
//! `python3` for all, `json.loads` of the input against our literal and
//! our `json.dumps`. DUMP2PY_FUZZ_SEED and DUMP2PY_FUZZ_CASES (a
//! multiplier) run other or more inputs; tests/fuzz/README.md tells how to
//! fuzz for longer with cargo-fuzz.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Command, Stdio};

use dump2py_py::json::{write_python_literal, Doc};
use dump2py_py::repr as pyrepr;

use crate::common::rng::Rng;

fn seed() -> u64 {
    std::env::var("DUMP2PY_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_d2b7)
}

/// `base` cases, times DUMP2PY_FUZZ_CASES.
fn cases(base: usize) -> usize {
    let times: usize = std::env::var("DUMP2PY_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    base * times.max(1)
}

fn ws(rng: &mut Rng, out: &mut String) {
    if rng.chance(20) {
        out.push_str(rng.pick(&[" ", "\n", "\t ", "\r\n  "]));
    }
}

/// A JSON string literal: escapes of every kind, surrogate pairs, lone
/// surrogates (which `json.loads` takes), now and then a raw control
/// character (which it refuses).
fn json_string(rng: &mut Rng, out: &mut String) {
    out.push('"');
    for _ in 0..rng.below(12) {
        match rng.below(10) {
            0 => {
                out.push_str(rng.pick(&["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]))
            }
            1 => {
                let u = rng.below(0x10000);
                out.push_str(&format!("\\u{u:04x}"));
            }
            2 => {
                let c = 0x10000 + rng.below(0x100000);
                let (hi, lo) = (0xd800 + ((c - 0x10000) >> 10), 0xdc00 + (c & 0x3ff));
                out.push_str(&format!("\\u{hi:04X}\\u{lo:04x}"));
            }
            3 if rng.chance(10) => out.push(char::from(rng.below(0x20) as u8)),
            _ => match rng.char() {
                '"' | '\\' => out.push('x'),
                c if c < ' ' => out.push(' '),
                c => out.push(c),
            },
        }
    }
    out.push('"');
}

fn json_number(rng: &mut Rng, out: &mut String) {
    match rng.below(8) {
        0 => out.push_str(&(rng.next() as i64 >> rng.below(64)).to_string()),
        1 => out.push_str(rng.pick(&["0", "-0", "-0.0", "0.0", "1e400", "-1e400", "1E-400"])),
        2 => {
            // Long integers, past what i64 and f64 hold.
            if rng.chance(30) {
                out.push('-');
            }
            out.push(char::from(b'1' + rng.below(9) as u8));
            for _ in 0..rng.below(60) {
                out.push(char::from(b'0' + rng.below(10) as u8));
            }
        }
        3 => out.push_str(rng.pick(&["NaN", "Infinity", "-Infinity"])),
        4 => out.push_str(&format!("{:e}", f64::from_bits(rng.next()))),
        _ => {
            let f = f64::from_bits(rng.next());
            if f.is_finite() {
                out.push_str(&format!("{f}"));
            } else {
                out.push_str("1.5e-7");
            }
        }
    }
}

fn json_value(rng: &mut Rng, depth: usize, out: &mut String) {
    ws(rng, out);
    let container = depth < 6 && rng.chance(35);
    match (container, rng.below(2)) {
        (true, 0) => {
            out.push('[');
            for i in 0..rng.below(5) {
                if i > 0 {
                    out.push(',');
                }
                json_value(rng, depth + 1, out);
            }
            ws(rng, out);
            out.push(']');
        }
        (true, _) => {
            out.push('{');
            let mut keys: Vec<String> = Vec::new();
            for i in 0..rng.below(5) {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                // A repeated key: the first place, the last value.
                match keys.first() {
                    Some(k) if rng.chance(15) => out.push_str(&k.clone()),
                    _ => {
                        let mut k = String::new();
                        json_string(rng, &mut k);
                        out.push_str(&k);
                        keys.push(k);
                    }
                }
                ws(rng, out);
                out.push(':');
                json_value(rng, depth + 1, out);
            }
            ws(rng, out);
            out.push('}');
        }
        _ => match rng.below(5) {
            0 => out.push_str(rng.pick(&["null", "true", "false"])),
            1 | 2 => json_string(rng, out),
            _ => json_number(rng, out),
        },
    }
    ws(rng, out);
}

/// Now and then a few byte-level changes: cut, insert a token, repeat.
fn mutate(rng: &mut Rng, text: String) -> Vec<u8> {
    let mut b = text.into_bytes();
    if !rng.chance(30) {
        return b;
    }
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(b.len() + 1);
        match rng.below(4) {
            0 => {
                let end = (at + 1 + rng.below(8)).min(b.len());
                b.drain(at.min(end)..end);
            }
            1 => {
                let token = rng.pick(&[
                    "{", "}", "[", "]", ",", ":", "\"", "\\", "-", "0", "e", "1e", "nul", "\0",
                    "\u{ff}", "\\u", "\\ud800", "\\udc00", ".", "+",
                ]);
                b.splice(at..at, token.bytes());
            }
            2 => b.truncate(at),
            _ => {
                let end = (at + rng.below(16)).min(b.len());
                let piece = b[at..end].to_vec();
                b.splice(at..at, piece);
            }
        }
    }
    // A cut may leave half a UTF-8 sequence, as a fuzzer's bytes would.
    if rng.chance(5) {
        b.push(0xff);
    }
    b
}

/// Runs `check` on `data`, naming the input when it panics.
fn checked(what: &str, data: &[u8], check: fn(&[u8])) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| check(data)))
        .err()
        .map(|e| {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            format!(
                "{what} {:?}: panicked: {why}",
                String::from_utf8_lossy(data)
            )
        })
}

/// Answers every request line with one line: OK, or what is wrong.
const PY_SCRIPT: &str = r#"
import sys, json, math, struct
getattr(sys, 'set_int_max_str_digits', lambda n: None)(0)
sys.stdin.reconfigure(encoding='utf-8')
STYLES = [(None, False), (None, True), (2, True)]
def same(a, b):
    if type(a) is not type(b): return False
    if type(a) is float:
        if math.isnan(a): return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) is list: return len(a) == len(b) and all(map(same, a, b))
    if type(a) is dict:
        return len(a) == len(b) and all(same(k, l) and same(v, w)
            for (k, v), (l, w) in zip(a.items(), b.items()))
    return a == b
def check(kind, a, ours, dumps=None):
    if kind == 'str':
        return 'OK' if repr(a) == ours else 'repr is ' + ascii(repr(a))
    if kind == 'float':
        x = struct.unpack('>d', bytes.fromhex(a))[0]
        return 'OK' if repr(x) == ours else 'repr is ' + repr(x)
    try: v, loads = json.loads(a), None
    except Exception as e: v, loads = None, e
    if ours is not None:
        if loads: return 'our literal for what json.loads refuses: ' + ascii(loads)[:80]
        w = eval(ours, {'__builtins__': {}, 'float': float})
        if not same(v, w): return 'our literal is not json.loads: ' + ascii(v)[:200]
    if dumps is not None:
        if loads: return 'jsontext takes what json.loads refuses: ' + ascii(loads)[:80]
        for (indent, ea), got in zip(STYLES, dumps):
            want = json.dumps(v, indent=indent, ensure_ascii=ea)
            if want != got:
                return 'json.dumps(indent=%r, ensure_ascii=%r) is %s' % (indent, ea, ascii(want)[:200])
    return 'OK' if loads is None else 'REFUSED'
for line in sys.stdin:
    try: print(check(*json.loads(line)))
    except Exception as e: print('EXC ' + ascii(e)[:200])
"#;

/// One answer per request line from one python3; None without python3
/// (a failure when CI=true).
fn python(requests: &[String]) -> Option<Vec<String>> {
    let spawned = Command::new("python3")
        .args(["-c", PY_SCRIPT])
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "python3 is needed when CI=true: {e}"
            );
            let _ = writeln!(std::io::stderr(), "SKIPPED: no python3 ({e})");
            return None;
        }
    };
    let mut stdin = child.stdin.take().expect("stdin");
    let text: String = requests.concat();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let mut answers = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut answers)
        .expect("python3's answers");
    writer.join().expect("writer").expect("write to python3");
    assert!(child.wait().expect("python3").success());
    let lines: Vec<String> = answers.lines().map(String::from).collect();
    assert_eq!(lines.len(), requests.len(), "one answer per request");
    Some(lines)
}

fn request(parts: serde_json::Value) -> String {
    format!("{parts}\n")
}

#[test]
fn fuzz_python_literals_and_json_text_against_cpython() {
    let mut rng = Rng(seed());
    let mut panics = Vec::new();
    let mut requests = Vec::new();
    let mut inputs = Vec::new();
    for _ in 0..cases(2000) {
        let mut doc = String::new();
        json_value(&mut rng, 0, &mut doc);
        let data = mutate(&mut rng, doc);
        panics.extend(checked("pyrepr", &data, checks::pyrepr));
        panics.extend(checked("jsontext", &data, checks::jsontext));
        panics.extend(checked("dumpline", &data, checks::dumpline));
        let text = String::from_utf8_lossy(&data).into_owned();
        let mut lit = String::new();
        let lit = write_python_literal(&mut lit, &text, usize::MAX).map(|()| lit);
        let dumps = Doc::parse(&text).ok().map(|d| {
            (checks::STYLES.iter())
                .map(|s| {
                    let mut out = String::new();
                    d.write(&mut out, *s, 0);
                    out
                })
                .collect::<Vec<_>>()
        });
        requests.push(request(serde_json::json!(["json", text, lit.ok(), dumps])));
        inputs.push(text);
    }
    for _ in 0..cases(1000) {
        let s = rng.text(24);
        panics.extend(checked("pyrepr", s.as_bytes(), checks::pyrepr));
        requests.push(request(serde_json::json!(["str", s, pyrepr::str_repr(&s)])));
        inputs.push(s);
        let bits = rng.next();
        panics.extend(checked("pyrepr", &bits.to_be_bytes(), checks::pyrepr));
        let f = pyrepr::float_repr(f64::from_bits(bits));
        requests.push(request(serde_json::json!([
            "float",
            format!("{bits:016x}"),
            f
        ])));
        inputs.push(format!("{:?}", f64::from_bits(bits)));
    }
    assert!(panics.is_empty(), "{}", panics.join("\n"));
    let Some(answers) = python(&requests) else {
        return;
    };
    let bad: Vec<String> = (inputs.iter().zip(&answers))
        .filter(|(_, a)| *a != "OK" && *a != "REFUSED")
        .map(|(i, a)| format!("{i:?}: {a}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} inputs (seed {}):\n{}",
        bad.len(),
        inputs.len(),
        seed(),
        bad[..bad.len().min(20)].join("\n")
    );
    // The inputs reach past the first byte: most documents are JSON.
    let docs = &answers[..cases(2000)];
    let valid = docs.iter().filter(|a| *a == "OK").count();
    assert!(
        valid * 2 > docs.len(),
        "only {valid} of {} valid",
        docs.len()
    );
}

/// A valid site schema with a few models of random names and fields.
fn site_schema(rng: &mut Rng) -> serde_json::Value {
    let text = |rng: &mut Rng| rng.text(10);
    let models: Vec<_> = (0..1 + rng.below(3))
        .map(|_| {
            let fields: Vec<_> = (0..rng.below(4))
                .map(|_| {
                    serde_json::json!({
                        "name": text(rng), "attname": text(rng),
                        "column": if rng.chance(80) { Some(text(rng)) } else { None },
                        "internal_type": "CharField", "primary_key": rng.chance(20),
                        "serialize": rng.chance(90), "null": rng.chance(50),
                        "decimal_places": rng.chance(20).then(|| rng.below(30)),
                        "max_digits": null, "related_model": rng.chance(30).then(|| text(rng)),
                        "through": null, "choicelist": null, "babel": rng.chance(10),
                        "babel_columns": (0..rng.below(3)).map(|_| text(rng)).collect::<Vec<_>>(),
                        "babel_variant": rng.chance(10),
                    })
                })
                .collect();
            serde_json::json!({
                "app_label": text(rng), "object_name": text(rng), "db_table": text(rng),
                "proxy": rng.chance(10), "auto_created": rng.chance(10), "managed": true,
                "parent": rng.chance(20).then(|| serde_json::json!({
                    "model": text(rng), "link_column": text(rng)})),
                "ordering": (0..rng.below(3)).map(|_| text(rng)).collect::<Vec<_>>(),
                "fields": fields,
            })
        })
        .collect();
    serde_json::json!({
        "format": 1, "settings_module": text(rng), "version": rng.chance(50).then(|| text(rng)),
        "time_zone": null, "use_tz": rng.chance(50), "languages": ["en", text(rng)],
        "apps": [text(rng)],
        "database": {"engine": "django.db.backends.mysql", "name": text(rng),
            "options": {"ssl": {"ca": text(rng)}, "connect_timeout": rng.below(100)}},
        "models": models,
    })
}

/// Replaces one value somewhere in `v` by another JSON value, or drops
/// an object's key.
fn mutate_json(rng: &mut Rng, v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(m) if !m.is_empty() && rng.chance(70) => {
            let k = m
                .keys()
                .nth(rng.below(m.len()))
                .cloned()
                .unwrap_or_default();
            if rng.chance(10) {
                m.remove(&k);
            } else if let Some(child) = m.get_mut(&k) {
                mutate_json(rng, child);
            }
        }
        Value::Array(a) if !a.is_empty() && rng.chance(70) => {
            let i = rng.below(a.len());
            if let Some(child) = a.get_mut(i) {
                mutate_json(rng, child);
            }
        }
        _ => {
            let mut doc = String::new();
            json_value(rng, 3, &mut doc);
            *v = serde_json::from_str(&doc).unwrap_or(Value::Null);
        }
    }
}

#[test]
fn fuzz_site_schemas() {
    let mut rng = Rng(seed());
    let mut panics = Vec::new();
    let mut accepted = 0;
    let n = cases(1500);
    for _ in 0..n {
        let mut schema = site_schema(&mut rng);
        for _ in 0..rng.below(3) {
            mutate_json(&mut rng, &mut schema);
        }
        let data = mutate(&mut rng, schema.to_string());
        accepted += usize::from(
            dump2py_django::meta::SiteMeta::parse(&String::from_utf8_lossy(&data)).is_ok(),
        );
        panics.extend(checked("sitemeta", &data, checks::sitemeta));
    }
    assert!(panics.is_empty(), "{}", panics.join("\n"));
    // Both sides are reached: schemas read and schemas refused.
    assert!(
        accepted > n / 10 && accepted < n,
        "{accepted} of {n} accepted"
    );
}
