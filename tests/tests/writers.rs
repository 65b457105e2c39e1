//! Random values through all three writers, parsed back: the JSON sink's
//! output with serde_json, the XML sink's with quick-xml, the Python
//! dump's literals with Python's `ast.literal_eval` (one python3 call for
//! all rows). Each gives the value back, or a clear error where the format
//! can't hold it: XML 1.0 has no control characters (Django refuses them
//! too). Values: text from all Unicode planes with control characters,
//! extreme integers, every kind of float (NaN, infinities, subnormals),
//! JSON documents nested up to 2000 deep (150 for Python, whose parser
//! stops at 200 nested brackets), bytes, decimals, dates and times.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
use dump2py_django::{Site, ViewOptions};
use dump2py_dumpdata::{DumpdataSink, JsonFormat, XmlFormat};
use dump2py_model::schema::{Column, ColumnKind, Schema, Table};
use dump2py_model::value::{duration_string, Date, DateTime, Time};
use dump2py_model::{Batch, Value};
use dump2py_plugin::registry::SinkOptions;
use dump2py_plugin::{DumpInfo, Report, Sink};
use dump2py_python::PythonSink;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use quick_xml::events::Event;

/// A JSON document as generated.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer beyond 64 bits, as digits.
    Big(String),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn text(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(n) => out.push_str(&n.to_string()),
            J::Big(d) => out.push_str(d),
            // Rust's shortest round-trip form is valid JSON for finite values.
            J::Float(f) => out.push_str(&format!("{f:?}")),
            J::Str(s) => out.push_str(&serde_json::to_string(s).expect("string")),
            J::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.text(out);
                }
                out.push(']');
            }
            J::Obj(items) => {
                out.push('{');
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).expect("key"));
                    out.push(':');
                    v.text(out);
                }
                out.push('}');
            }
        }
    }

    /// What Python's `json.loads` makes of it, as serde_json holds it: a
    /// repeated key keeps its last value; big integers as floats.
    fn value(&self) -> serde_json::Value {
        use serde_json::Value as V;
        match self {
            J::Null => V::Null,
            J::Bool(b) => V::Bool(*b),
            J::Int(n) => V::from(*n),
            J::Big(d) => V::from(d.parse::<f64>().expect("digits")),
            J::Float(f) => V::from(*f),
            J::Str(s) => V::String(s.clone()),
            J::Arr(items) => V::Array(items.iter().map(J::value).collect()),
            J::Obj(items) => {
                let mut m = serde_json::Map::new();
                for (k, v) in items {
                    m.insert(k.clone(), v.value());
                }
                V::Object(m)
            }
        }
    }

    fn depth(&self) -> usize {
        match self {
            J::Arr(items) => 1 + items.iter().map(J::depth).max().unwrap_or(0),
            J::Obj(items) => 1 + items.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }
}

const SPECIAL: &[char] = &[
    '\0',
    '\u{1}',
    '\u{8}',
    '\t',
    '\n',
    '\u{b}',
    '\u{c}',
    '\r',
    '\u{1f}',
    '\u{7f}',
    '\u{85}',
    '"',
    '\'',
    '\\',
    '&',
    '<',
    '>',
    ']',
    '\u{a0}',
    '\u{2028}',
    '\u{2029}',
    '\u{feff}',
    '\u{fffe}',
    '\u{ffff}',
    '\u{301}',
    '😀',
    '\u{10ffff}',
    '\u{e000}',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![3 => any::<char>(), 2 => prop::sample::select(SPECIAL)],
        0..24,
    )
    .prop_map(String::from_iter)
}

fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite", |f| f.is_finite())
}

fn json_leaf() -> impl Strategy<Value = J> {
    prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::Int),
        "-?[1-9][0-9]{20,60}".prop_map(J::Big),
        finite().prop_map(J::Float),
        text().prop_map(J::Str),
    ]
}

/// Keys from a small alphabet, so that some repeat.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["a", "b", "é", "😀", ""]).prop_map(String::from),
        text()
    ]
}

fn json_doc(max_deep: usize) -> impl Strategy<Value = J> {
    let tree = json_leaf().prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Arr),
            prop::collection::vec((key(), inner), 0..6).prop_map(J::Obj),
        ]
    });
    // Deep: arrays and objects nested alternately.
    let deep = (1..max_deep, json_leaf()).prop_map(|(d, leaf)| {
        (0..d).fold(leaf, |v, i| {
            if i % 2 == 0 {
                J::Arr(vec![v])
            } else {
                J::Obj(vec![("k".into(), v)])
            }
        })
    });
    prop_oneof![8 => tree, 2 => deep]
}

/// A decimal as the database stores it: plain notation, at most six
/// places (so that Python's `str(Decimal)` keeps it as it is).
fn decimal() -> impl Strategy<Value = String> {
    ("-?(0|[1-9][0-9]{0,20})", "[0-9]{0,6}").prop_map(|(i, f)| {
        if f.is_empty() {
            i
        } else {
            format!("{i}.{f}")
        }
    })
}

#[derive(Debug, Clone)]
struct Row {
    t: String,
    i: i64,
    f: f64,
    j: J,
    b: Vec<u8>,
    d: String,
    bo: bool,
    date: Date,
    time: Time,
    dt: DateTime,
    du: i64,
    u: [u8; 16],
}

fn date() -> impl Strategy<Value = Date> {
    (1i32..=9999, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).expect("date"))
}

fn time() -> impl Strategy<Value = Time> {
    (
        0u8..24,
        0u8..60,
        0u8..60,
        prop_oneof![Just(0u32), 0u32..1_000_000],
    )
        .prop_map(|(h, m, s, us)| Time::new(h, m, s, us).expect("time"))
}

fn row(max_deep: usize) -> impl Strategy<Value = Row> {
    let ints = prop_oneof![
        any::<i64>(),
        prop::sample::select(vec![i64::MIN, i64::MAX, 0, -1])
    ];
    let floats = prop_oneof![
        4 => any::<f64>(),
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 5e-324, 1e16, f64::MAX]),
    ];
    (
        (text(), ints, floats, json_doc(max_deep)),
        (
            prop::collection::vec(any::<u8>(), 0..20),
            decimal(),
            any::<bool>(),
        ),
        (
            date(),
            time(),
            date(),
            time(),
            any::<i64>(),
            any::<[u8; 16]>(),
        ),
    )
        .prop_map(
            |((t, i, f, j), (b, d, bo), (date, time, dd, dtime, du, u))| Row {
                t,
                i,
                f,
                j,
                b,
                d,
                bo,
                date,
                time,
                dt: DateTime {
                    date: dd,
                    time: dtime,
                    offset_minutes: None,
                },
                du,
                u,
            },
        )
}

const COLUMNS: &[(&str, ColumnKind)] = &[
    ("id", ColumnKind::Int),
    ("t", ColumnKind::Text),
    ("i", ColumnKind::Int),
    ("f", ColumnKind::Float),
    ("j", ColumnKind::Json),
    ("b", ColumnKind::Bytes),
    ("d", ColumnKind::Decimal),
    ("bo", ColumnKind::Bool),
    ("da", ColumnKind::Date),
    ("ti", ColumnKind::Time),
    ("dt", ColumnKind::DateTime),
    ("du", ColumnKind::Duration),
    ("u", ColumnKind::Uuid),
];

fn site() -> Site {
    let table = Table {
        name: "app_thing".into(),
        columns: COLUMNS
            .iter()
            .map(|(n, k)| Column {
                name: n.to_string(),
                declared_type: String::new(),
                kind: k.clone(),
                nullable: true,
                generated: false,
            })
            .collect(),
        primary_key: vec!["id".into()],
        foreign_keys: vec![],
        unique: vec![],
    };
    let schema = Schema {
        tables: vec![table],
    };
    Site::build(&schema, vec![], &|_| 0, &ViewOptions::default())
}

fn values(id: i64, r: &Row) -> Vec<Value> {
    let mut j = String::new();
    r.j.text(&mut j);
    vec![
        Value::Int(id),
        Value::Text(r.t.clone()),
        Value::Int(r.i),
        Value::Float(r.f),
        Value::Json(j),
        Value::Bytes(r.b.clone()),
        Value::Decimal(r.d.clone()),
        Value::Bool(r.bo),
        Value::Date(r.date),
        Value::Time(r.time),
        Value::DateTime(r.dt),
        Value::Duration(r.du),
        Value::Uuid(r.u),
    ]
}

/// Writes `rows` with `sink`; the pipeline's calls, in order.
fn write(mut sink: Box<dyn Sink>, rows: &[Vec<Value>]) -> dump2py_model::Result<()> {
    let site = site();
    let model = &site.models[0];
    let info = DumpInfo {
        source: "test".into(),
        tool_version: "0".into(),
        ..DumpInfo::default()
    };
    let mut batch = Batch::new(COLUMNS.len(), rows.len());
    for r in rows {
        batch.push_row(r.iter().cloned());
    }
    let done = (|| {
        sink.begin(&info, &site)?;
        sink.table_start(model, rows.len() as u64)?;
        sink.rows(model, &batch)?;
        sink.table_end(model, rows.len() as u64)?;
        sink.finish(&Report::default())?;
        let mut tx = dump2py_plugin::Transaction::new();
        sink.publish(&mut tx)?;
        dump2py_staging::commit(tx)
    })();
    if done.is_err() {
        sink.abort();
    }
    done
}

fn options(target: &Path) -> SinkOptions {
    SinkOptions {
        target: target.to_path_buf(),
        overwrite: true,
        max_row_count: 1_000_000,
        jobs: 1,
        values: BTreeMap::new(),
    }
}

fn iso_date(d: &Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// `time.isoformat()`; DjangoJSONEncoder cuts it to milliseconds.
fn iso_time(t: &Time, json: bool) -> String {
    let mut s = format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second);
    match (t.micro, json) {
        (0, _) => {}
        (us, true) => s.push_str(&format!(".{:03}", us / 1000)),
        (us, false) => s.push_str(&format!(".{us:06}")),
    }
    s
}

fn uuid(u: &[u8; 16]) -> String {
    let hex: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn same_float(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn parse_json(text: &str) -> serde_json::Value {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    serde::Deserialize::deserialize(&mut de).unwrap_or_else(|e| panic!("our JSON: {e}"))
}

fn check_json(r: &Row, dir: &Path) -> Result<(), TestCaseError> {
    let path = dir.join("out.json");
    let _ = fs::remove_file(&path);
    write(
        Box::new(DumpdataSink::new(JsonFormat { indent: Some(1) }, &options(&path)).expect("sink")),
        &[values(1, r)],
    )
    .map_err(|e| TestCaseError::fail(format!("JSON sink: {e}")))?;
    let mut text = fs::read_to_string(&path).expect("read");
    // Python's json writes non-finite floats as these tokens (not JSON).
    if !r.f.is_finite() {
        let token = if r.f.is_nan() {
            "NaN"
        } else if r.f > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        let raw = format!("\"f\": {token},");
        prop_assert!(text.contains(&raw), "{raw} not in {text}");
        text = text.replace(&raw, "\"f\": null,");
    }
    let v = parse_json(&text);
    let o = &v[0];
    prop_assert_eq!(&o["model"], "app.thing");
    prop_assert_eq!(&o["pk"], 1);
    let f = &o["fields"];
    prop_assert_eq!(f["t"].as_str().unwrap_or("<none>"), r.t.as_str());
    prop_assert_eq!(f["i"].as_i64(), Some(r.i));
    if r.f.is_finite() {
        prop_assert!(
            f["f"].as_f64().is_some_and(|x| same_float(x, r.f)),
            "{} != {}",
            f["f"],
            r.f
        );
    }
    prop_assert!(f["j"] == r.j.value(), "JSON document differs");
    prop_assert_eq!(f["b"].as_str().unwrap_or("<none>"), b64(&r.b));
    prop_assert_eq!(f["d"].as_str().unwrap_or("<none>"), r.d.as_str());
    prop_assert_eq!(f["bo"].as_bool(), Some(r.bo));
    prop_assert_eq!(f["da"].as_str().unwrap_or("<none>"), iso_date(&r.date));
    prop_assert_eq!(
        f["ti"].as_str().unwrap_or("<none>"),
        iso_time(&r.time, true)
    );
    let dt = format!("{}T{}", iso_date(&r.dt.date), iso_time(&r.dt.time, true));
    prop_assert_eq!(f["dt"].as_str().unwrap_or("<none>"), dt);
    prop_assert_eq!(f["du"].as_str().unwrap_or("<none>"), duration_string(r.du));
    prop_assert_eq!(f["u"].as_str().unwrap_or("<none>"), uuid(&r.u));
    Ok(())
}

/// The fields of the first object: name → text, `None` for `<None>`.
fn xml_fields(text: &str) -> BTreeMap<String, Option<String>> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut fields = BTreeMap::new();
    let mut current: Option<(String, String, bool)> = None;
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("our XML: {e}"))
        {
            Event::Eof => break,
            Event::Start(e) if e.name().as_ref() == b"field" => {
                let name = e
                    .attributes()
                    .filter_map(Result::ok)
                    .find(|a| a.key.as_ref() == b"name")
                    .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                    .unwrap_or_default();
                current = Some((name, String::new(), false));
            }
            Event::Start(e) if e.name().as_ref() == b"None" => {
                if let Some(c) = current.as_mut() {
                    c.2 = true;
                }
            }
            // Raw text: without the end-of-line normalization of XML parsers.
            Event::Text(t) => {
                if let Some(c) = current.as_mut() {
                    c.1.push_str(&t.decode().expect("utf-8"));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(c) = current.as_mut() {
                    let ch = match r.resolve_char_ref().expect("char ref") {
                        Some(ch) => ch,
                        None => match r.decode().expect("ref").as_ref() {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            other => panic!("unknown entity {other}"),
                        },
                    };
                    c.1.push(ch);
                }
            }
            Event::End(e) if e.name().as_ref() == b"field" => {
                if let Some((name, text, none)) = current.take() {
                    fields.insert(name, (!none).then_some(text));
                }
            }
            _ => {}
        }
    }
    fields
}

fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}')
}

fn check_xml(r: &Row, dir: &Path) -> Result<(), TestCaseError> {
    let path = dir.join("out.xml");
    let _ = fs::remove_file(&path);
    let sink = || {
        Box::new(DumpdataSink::new(XmlFormat { indent: Some(2) }, &options(&path)).expect("sink"))
    };
    let written = write(sink(), &[values(1, r)]);
    if r.t.chars().any(is_control) {
        // Django raises here; we name the table, column and primary key.
        let e = written.err().map(|e| e.to_string()).unwrap_or_default();
        prop_assert!(
            e.starts_with("table app_thing, column t, primary key 1: contains control characters"),
            "{e}"
        );
        prop_assert!(!path.exists());
        return Ok(());
    }
    written.map_err(|e| TestCaseError::fail(format!("XML sink: {e}")))?;
    let text = fs::read_to_string(&path).expect("read");
    let f = xml_fields(&text);
    let get = |k: &str| f.get(k).cloned().flatten().unwrap_or_default();
    prop_assert_eq!(get("t"), r.t.clone());
    prop_assert_eq!(get("i"), r.i.to_string());
    let fl: f64 = get("f").parse().unwrap_or(f64::NAN);
    prop_assert!(same_float(fl, r.f), "{} != {}", get("f"), r.f);
    // A JSON null is Python's None: `<None></None>`, as Django writes it.
    match f.get("j").cloned().flatten() {
        None => prop_assert!(matches!(r.j, J::Null)),
        Some(j) => prop_assert!(parse_json(&j) == r.j.value(), "JSON document differs"),
    }
    prop_assert!(get("j").is_ascii(), "ensure_ascii");
    prop_assert_eq!(get("b"), b64(&r.b));
    prop_assert_eq!(get("d"), r.d.clone());
    prop_assert_eq!(get("bo"), if r.bo { "True" } else { "False" });
    prop_assert_eq!(get("da"), iso_date(&r.date));
    prop_assert_eq!(get("ti"), iso_time(&r.time, false));
    prop_assert_eq!(
        get("dt"),
        format!("{}T{}", iso_date(&r.dt.date), iso_time(&r.dt.time, false))
    );
    prop_assert_eq!(get("du"), duration_string(r.du));
    prop_assert_eq!(get("u"), uuid(&r.u));
    Ok(())
}

/// Runs `f` on a thread with a big stack: deep documents recurse in
/// serde_json and in this test's own helpers.
fn big_stack(f: impl FnOnce() + Send + 'static) {
    let t = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(f)
        .expect("thread");
    if let Err(e) = t.join() {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn json_and_xml_give_every_value_back() {
    big_stack(|| {
        let dir = tempfile::tempdir().expect("tmp");
        let mut runner = TestRunner::new(Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&row(2000), |r| {
            check_json(&r, dir.path())?;
            check_xml(&r, dir.path())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    });
}

/// The Python side: all rows in one dump, read back by one python3 call.
const PY_CHECK: &str = r#"
import ast, base64, datetime, json, math, struct, sys
data, expected = sys.argv[1], sys.argv[2]
calls = {"dt": datetime.datetime, "date": datetime.date, "time": datetime.time}
def value(node):
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") in calls:
        return calls[node.func.id](*[ast.literal_eval(a) for a in node.args])
    return ast.literal_eval(node)
rows = [l for l in open(data, encoding="utf-8").read().split("\n") if l.startswith("loader.save(")]
want = [json.loads(l) for l in open(expected, encoding="utf-8").read().split("\n") if l]
bad = 0
for line, w in zip(rows, want, strict=True):
    call = ast.parse(line).body[0].value.args[0]
    _, t, i, f, j, b, d, bo, da, ti, dt, du, u = [value(a) for a in call.args]
    fl = float(f)
    got = {
        "t": t == w["t"], "i": i == w["i"],
        "f": (math.isnan(fl) and w["f"] == "nan") or struct.pack("<d", fl).hex() == w["f"],
        "j": j == json.loads(w["j"]), "b": base64.b64decode(b) == bytes.fromhex(w["b"]),
        "d": d == w["d"], "bo": bo is w["bo"], "da": da.isoformat() == w["da"],
        "ti": ti.isoformat() == w["ti"], "dt": dt.isoformat() == w["dt"], "du": du == w["du"],
        "u": u == w["u"],
    }
    for k, ok in got.items():
        if not ok:
            bad += 1
            print(f"row {w['id']}: {k} differs: {line[:300]!r}")
print(f"{len(rows)} rows, {bad} differences")
sys.exit(1 if bad else 0)
"#;

#[test]
fn python_literals_give_every_value_back() {
    big_stack(|| {
        let mut runner = TestRunner::new(Config {
            failure_persistence: None,
            ..Config::default()
        });
        // Python's parser stops at 200 nested brackets.
        let strategy = row(150);
        let rows: Vec<Row> = (0..300)
            .map(|_| {
                strategy
                    .new_tree(&mut runner)
                    .map(|t| t.current())
                    .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        let dir = tempfile::tempdir().expect("tmp");
        let target = dir.path().join("dump");
        let values: Vec<Vec<Value>> = rows.iter().zip(1..).map(|(r, id)| values(id, r)).collect();
        let sink = PythonSink::new(&options(&target)).expect("sink");
        write(Box::new(sink), &values).expect("Python sink");
        let mut expected = String::new();
        for (r, id) in rows.iter().zip(1..) {
            let mut j = String::new();
            r.j.text(&mut j);
            let line = serde_json::json!({
                "id": id,
                "t": r.t,
                "i": r.i,
                "f": if r.f.is_nan() { "nan".to_string() } else {
                    r.f.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
                },
                "j": j,
                "b": r.b.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "d": r.d,
                "bo": r.bo,
                "da": iso_date(&r.date),
                "ti": iso_time(&r.time, false),
                "dt": format!("{}T{}", iso_date(&r.dt.date), iso_time(&r.dt.time, false)),
                "du": duration_string(r.du),
                "u": uuid(&r.u),
            });
            expected.push_str(&line.to_string());
            expected.push('\n');
            assert!(r.j.depth() < 200);
        }
        let want = dir.path().join("expected.jsonl");
        fs::File::create(&want)
            .and_then(|mut f| f.write_all(expected.as_bytes()))
            .expect("write");
        let out = Command::new("python3")
            .arg("-c")
            .arg(PY_CHECK)
            .arg(target.join("app_thing.py"))
            .arg(&want)
            .stdin(Stdio::null())
            .output()
            .expect("python3");
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{report}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(report.contains("300 rows, 0 differences"), "{report}");
    });
}
