//! The whole ABI in one process: a plugin declared with `export_plugin!`
//! is registered from its static (as if loaded from a library) and driven
//! through dump2py's registry and pipeline.

use std::path::Path;
use std::sync::{Mutex, Once};

use crate::ffi;
use crate::ffi::host::register_decl;
use dump2py_pipeline::{Observer, Pipeline, PipelineOptions, Quiet};
use dump2py_plugin::registry;

use crate::prelude::*;

const LIB: &str = "/fake/libsdktest.so";

/// Every call the test sink gets, in order.
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn log(line: String) {
    LOG.lock().unwrap_or_else(|e| e.into_inner()).push(line);
}

fn take_log() -> Vec<String> {
    std::mem::take(&mut *LOG.lock().unwrap_or_else(|e| e.into_inner()))
}

fn col(name: &str, kind: ColumnKind) -> Column {
    Column {
        name: name.into(),
        declared_type: format!("{kind:?}").to_lowercase(),
        kind,
        nullable: true,
        generated: false,
    }
}

/// `sdktest:N` has one table with N rows of awkward values.
struct Numbers(i64);

impl Source for Numbers {
    fn describe(&self) -> String {
        format!("numbers up to {}", self.0)
    }
    fn schema(&mut self) -> Result<Schema> {
        Ok(Schema {
            tables: vec![Table {
                name: "app_number".into(),
                columns: vec![
                    col("id", ColumnKind::Int),
                    col("name", ColumnKind::Text),
                    col("made", ColumnKind::DateTime),
                    col("tag", ColumnKind::Uuid),
                ],
                primary_key: vec!["id".into()],
                foreign_keys: vec![],
                unique: vec![vec!["name".into()]],
            }],
        })
    }
    fn count_rows(&mut self, _: &Table) -> Result<u64> {
        Ok(self.0 as u64)
    }
    fn read_table(&mut self, table: &Table, batch_rows: usize, out: &mut BatchFn) -> Result<()> {
        if self.0 == 13 {
            return Err(Error::table(&table.name, "unlucky"));
        }
        let mut b = Batch::new(table.columns.len(), batch_rows);
        for i in 1..=self.0 {
            let made = DateTime::parse("2024-03-31 01:30:05.123456+02:00").map(Value::DateTime);
            b.push_row([
                Value::Int(i),
                Value::Text(format!("n°{i} 'x'")),
                made.unwrap_or(Value::Null),
                if i % 2 == 0 {
                    Value::Uuid([i as u8; 16])
                } else {
                    Value::Null
                },
            ]);
            if b.len() == batch_rows
                && !out(std::mem::replace(
                    &mut b,
                    Batch::new(table.columns.len(), batch_rows),
                ))?
            {
                return Ok(());
            }
        }
        if !b.is_empty() {
            out(b)?;
        }
        Ok(())
    }
}

fn open_numbers(url: &str) -> Result<Box<dyn Source>> {
    let n = url
        .split_once(':')
        .and_then(|(_, n)| n.parse().ok())
        .ok_or_else(|| Error::Usage(format!("expected sdktest:ROWS, not {url}")))?;
    Ok(Box::new(Numbers(n)))
}

/// Appends a column `twice` and drops the row with id 3; `panic` panics on
/// the first batch, `fail` fails to be created.
struct Twice {
    panic: bool,
    /// Refuses to finish (`twice:picky`).
    picky: bool,
    rows: usize,
}

impl Transformer for Twice {
    fn table(&mut self, input: &Table) -> Result<Table> {
        let mut t = input.clone();
        t.columns.push(col("twice", ColumnKind::Int));
        Ok(t)
    }
    fn batch(&mut self, input: &Table, output: &Table, batch: &mut Batch) -> Result<()> {
        if self.panic {
            panic!("boom");
        }
        let mut out = Batch::new(output.columns.len(), batch.len());
        for row in batch.rows() {
            if row[0] == Value::Int(3) {
                continue;
            }
            let twice = match row[0] {
                Value::Int(i) => Value::Int(2 * i),
                _ => Value::Null,
            };
            out.push_row(row.iter().cloned().chain([twice]));
        }
        assert_eq!(input.columns.len() + 1, out.width);
        self.rows += out.len();
        *batch = out;
        Ok(())
    }
    fn finish(&mut self) -> Result<Vec<String>> {
        if self.picky {
            return Err(Error::Usage("picky: nothing to be picky about".into()));
        }
        Ok(vec![format!("doubled {} ids", self.rows), "done".into()])
    }
}

fn twice(args: &str) -> Result<Box<dyn Transformer>> {
    match args {
        "" | "panic" | "picky" => Ok(Box::new(Twice {
            panic: args == "panic",
            picky: args == "picky",
            rows: 0,
        })),
        other => Err(Error::Usage(format!(
            "unknown argument {other}\nsecond line"
        ))),
    }
}

/// Logs every call; fails in `rows` when the target is `fail`, wants no
/// model when it is `none`, and warns after every table.
struct Logger {
    fail: bool,
    none: bool,
    warnings: Vec<String>,
}

impl Sink for Logger {
    fn begin(&mut self, info: &DumpInfo, site: &Site) -> Result<()> {
        let m = &site.models[0];
        let fields: Vec<_> = m.fields.iter().map(|f| f.name.as_str()).collect();
        log(format!(
            "begin {} {}.{} {}",
            info.source,
            m.app_label,
            m.model_name,
            fields.join(",")
        ));
        Ok(())
    }
    fn table_start(&mut self, model: &Model, expected_rows: u64) -> Result<()> {
        log(format!("start {} {expected_rows}", model.table.name));
        Ok(())
    }
    fn rows(&mut self, model: &Model, batch: &Batch) -> Result<()> {
        if self.fail {
            return Err(Error::Usage("disk full".into()));
        }
        for row in batch.rows() {
            log(format!("row {} {row:?}", model.table.name));
        }
        Ok(())
    }
    fn table_end(&mut self, model: &Model, rows: u64) -> Result<()> {
        log(format!("end {} {rows}", model.table.name));
        self.warnings.push(format!(
            "logged {rows} rows of {}\nfor you",
            model.table.name
        ));
        Ok(())
    }
    fn table_skipped(&mut self, model: &Model, reason: &str) -> Result<()> {
        log(format!("skipped {} {reason}", model.table.name));
        Ok(())
    }
    fn finish(&mut self, report: &Report) -> Result<()> {
        log(format!("finish {:?}", report.tables));
        Ok(())
    }
    fn publish(&mut self, _tx: &mut Transaction) -> Result<()> {
        log("publish".into());
        Ok(())
    }
    fn abort(&mut self) {
        log("abort".into());
    }
    fn wants(&self, _model: &Model, skipped: bool) -> bool {
        !self.none && !skipped
    }
    fn warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }
}

fn logger(o: &SinkOptions) -> Result<Box<dyn Sink>> {
    Ok(Box::new(Logger {
        fail: o.target == Path::new("fail"),
        none: o.target == Path::new("none"),
        warnings: Vec::new(),
    }))
}

crate::export_plugin! {
    name: "sdk-test",
    version: "9.9.9",
    sources: [("numbers", ["sdktest", "SdkTest2"], open_numbers)],
    sinks: [("sdklog", logger)],
    transformers: [("sdktwice", twice)],
}

static REGISTER: Once = Once::new();

fn registered() {
    REGISTER.call_once(|| {
        let loaded = unsafe { register_decl(&DUMP2PY_PLUGIN, Path::new(LIB)) }.expect("registered");
        assert_eq!(loaded.name, "sdk-test");
        assert_eq!(
            loaded.provides,
            ["source numbers", "sink sdklog", "transformer sdktwice"]
        );
    });
}

fn options(target: &str) -> SinkOptions {
    SinkOptions {
        target: target.into(),
        overwrite: false,
        max_row_count: 10,
        jobs: 1,
        values: Default::default(),
    }
}

/// Runs `sdktest:N` through the named transformers into the log sink.
fn run(rows: i64, transformers: &[&str], target: &str) -> Result<Report> {
    run_tolerant(rows, transformers, target, false)
}

fn run_tolerant(rows: i64, transformers: &[&str], target: &str, tolerate: bool) -> Result<Report> {
    run_observed(rows, transformers, target, tolerate, &mut Quiet)
}

fn run_observed(
    rows: i64,
    transformers: &[&str],
    target: &str,
    tolerate: bool,
    observer: &mut dyn Observer,
) -> Result<Report> {
    registered();
    let mut source = registry::open_source(&format!("SDKTEST:{rows}"))?;
    let mut ts = transformers
        .iter()
        .map(|t| registry::create_transformer(t))
        .collect::<Result<Vec<_>>>()?;
    let mut sinks = vec![registry::create_sink("sdklog", &options(target))?];
    let info = DumpInfo {
        source: source.describe(),
        tool_version: "0".into(),
        ..DumpInfo::default()
    };
    Pipeline {
        source: source.as_mut(),
        transformers: &mut ts,
        sinks: &mut sinks,
        options: PipelineOptions {
            batch_rows: 2,
            tolerate,
            ..PipelineOptions::default()
        },
    }
    .run(&info, observer)
}

/// Keeps the notes of transformers and the warnings of sinks.
#[derive(Default)]
struct Heard {
    notes: Vec<String>,
    warnings: Vec<String>,
}
impl Observer for Heard {
    fn note(&mut self, message: &str) {
        self.notes.push(message.to_string());
    }
    fn warning(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }
}

#[test]
fn a_transformers_finish_crosses_the_abi() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    take_log();
    let mut notes = Heard::default();
    run_observed(4, &["sdktwice"], "x", false, &mut notes).expect("dump");
    assert_eq!(notes.notes, ["doubled 3 ids", "done"]);
    take_log();
    let err = run(4, &["sdktwice:picky"], "x")
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "transformer sdktwice (plugin sdk-test 9.9.9, /fake/libsdktest.so): \
             picky: nothing to be picky about"
        )
    );
    // The transformers finish before the sinks: nothing was finished.
    let log = take_log();
    assert_eq!(log.last().map(String::as_str), Some("abort"));
    assert!(!log.iter().any(|l| l.starts_with("finish")), "{log:?}");
}

/// Registers `decl` (kept for the rest of the process) from `lib`.
fn register(decl: ffi::PluginDecl, lib: &str) -> Result<crate::ffi::host::Loaded> {
    unsafe { register_decl(Box::leak(Box::new(decl)), Path::new(lib)) }
}

/// Why `decl` is refused.
fn refused(decl: ffi::PluginDecl, lib: &str) -> String {
    register(decl, lib)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn a_plugin_of_the_previous_abi_version_is_refused() {
    let mut decl = crate::__private::plugin_decl("old", "1", &[], &[], &[]);
    decl.abi_version = ffi::ABI_VERSION - 1;
    let err = refused(decl, "/x/libv2.so");
    assert_eq!(
        err,
        format!(
            "plugin /x/libv2.so: plugin ABI version 2, but this dump2py needs version 3: \
             rebuild the plugin against dump2py-sdk {} (or its dump2py_plugin.h)",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn a_declaration_is_read_as_far_as_its_size_says() {
    static CREATE: crate::CreateSink = logger;
    // A plugin of a later minor revision: a field this host doesn't know.
    #[repr(C)]
    struct Later {
        decl: ffi::SinkDecl,
        extra: usize,
    }
    let mut later = Later {
        decl: crate::__private::sink_decl("sdklater", &CREATE),
        extra: 7,
    };
    later.decl.size = std::mem::size_of::<Later>();
    let later: &'static Later = Box::leak(Box::new(later));
    let sinks: &'static [&'static ffi::SinkDecl] = Box::leak(Box::new([&later.decl]));
    let decl = crate::__private::plugin_decl("later", "1", &[], sinks, &[]);
    let loaded = register(decl, "/x/later.so");
    assert_eq!(loaded.expect("loads").provides, ["sink sdklater"]);
    assert_eq!(later.extra, 7);
    // One that is shorter than this version's fields is refused.
    let mut short = crate::__private::sink_decl("sdkshort", &CREATE);
    short.size = std::mem::offset_of!(ffi::SinkDecl, wants);
    let sinks: &'static [&'static ffi::SinkDecl] =
        Box::leak(Box::new([&*Box::leak(Box::new(short))]));
    let decl = crate::__private::plugin_decl("short", "1", &[], sinks, &[]);
    let err = refused(decl, "/x/short.so");
    assert_eq!(
        err,
        format!(
            "plugin /x/short.so: a sink has size {}, less than the {} of ABI version 3",
            short.size,
            std::mem::size_of::<ffi::SinkDecl>()
        )
    );
}

#[test]
fn a_sinks_wants_warnings_and_publish_cross_the_abi() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    take_log();
    let mut warned = Heard::default();
    run_observed(2, &[], "x", false, &mut warned).expect("dump");
    assert_eq!(warned.warnings, ["logged 2 rows of app_number for you"]);
    let log = take_log();
    assert!(log.iter().any(|l| l.starts_with("row")), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("publish"));
    // A model it doesn't want gets no call; publish still follows finish.
    let mut warned = Heard::default();
    run_observed(2, &[], "none", false, &mut warned).expect("dump");
    let log = take_log();
    assert!(
        log.iter()
            .all(|l| !l.starts_with("start") && !l.starts_with("row")),
        "{log:?}"
    );
    assert!(warned.warnings.is_empty());
    assert_eq!(&log[log.len() - 2..], ["finish []", "publish"]);
    // A failing sink publishes nothing.
    let _ = run(2, &[], "fail");
    assert!(!take_log().iter().any(|l| l == "publish"));
}

// The tests share the log: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn a_dump_passes_through_source_transformer_and_sink_plugins() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    take_log();
    let report = run(4, &["sdktwice"], "x").expect("dump");
    assert_eq!(report.rows(), 3);
    let log = take_log();
    assert_eq!(
        log[0],
        "begin numbers up to 4 app.number id,name,made,tag,twice"
    );
    // No count before the read: a source across the C ABI gives no
    // estimate, so the sink is told 0 rows to expect.
    assert_eq!(log[1], "start app_number 0");
    assert_eq!(
        log[2],
        "row app_number [Int(1), Text(\"n°1 'x'\"), DateTime(DateTime { date: Date { year: 2024, \
         month: 3, day: 31 }, time: Time { hour: 1, minute: 30, second: 5, micro: 123456 }, \
         offset_minutes: Some(120) }), Null, Int(2)]"
    );
    assert!(log[3].contains("Uuid([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]), Int(4)]"));
    assert!(log[4].starts_with("row app_number [Int(4)"), "{log:?}");
    assert_eq!(log[5], "end app_number 3");
    assert!(log[6].starts_with("finish [(\"app_number\", Dumped { rows: 3 })]"));
    assert_eq!(log[7], "publish");
    assert_eq!(log.len(), 8);
}

#[test]
fn errors_name_the_plugin_on_one_line() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let err = run(4, &["sdktwice:nope"], "x").err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "transformer sdktwice (plugin sdk-test 9.9.9, /fake/libsdktest.so): \
             unknown argument nope second line"
        )
    );
    let err = run(4, &[], "fail").err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("sink sdklog (plugin sdk-test 9.9.9, /fake/libsdktest.so): disk full")
    );
    assert_eq!(take_log().last().map(String::as_str), Some("abort"));
    let err =
        run(4, &[], "x").and(registry::open_source("sdktest:many").map(|_| Report::default()));
    let err = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.ends_with("expected sdktest:ROWS, not sdktest:many"),
        "{err}"
    );
}

#[test]
fn a_panic_is_an_error() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    take_log();
    let err = run(4, &["sdktwice:panic"], "x")
        .err()
        .map(|e| e.to_string());
    let err = err.unwrap_or_default();
    assert!(
        err.starts_with(
            "transformer sdktwice (plugin sdk-test 9.9.9, /fake/libsdktest.so): panicked: boom at "
        ),
        "{err}"
    );
    assert!(err.contains("tests.rs:"), "{err}");
    assert_eq!(take_log().last().map(String::as_str), Some("abort"));
}

#[test]
fn wrong_versions_and_taken_names_are_refused() {
    registered();
    static OLD: ffi::PluginDecl = crate::__private::plugin_decl("old", "1", &[], &[], &[]);
    let mut wrong = OLD;
    wrong.abi_version = 999;
    let err = refused(wrong, "/x/libold.so");
    assert!(
        err.starts_with(
            "plugin /x/libold.so: plugin ABI version 999, but this dump2py needs version 3"
        ),
        "{err}"
    );
    let err = unsafe { register_decl(&OLD, Path::new("/x/libold.so")) }
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("provides no source, sink or transformer"),
        "{err}"
    );
    let err = unsafe { register_decl(&DUMP2PY_PLUGIN, Path::new("/y/again.so")) }
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        err,
        "plugin /y/again.so: source 'numbers' is already provided by /fake/libsdktest.so"
    );
    let listed: Vec<_> = registry::listing()
        .into_iter()
        // (Not the plugins other tests may have loaded.)
        .filter(|l| l.origin == registry::Origin::Library(LIB.into()))
        .map(|l| format!("{} {} {} {:?}", l.kind, l.name, l.version, l.schemes))
        .collect();
    assert_eq!(
        listed,
        [
            "source numbers 9.9.9 [\"sdktest\", \"sdktest2\"]",
            "sink sdklog 9.9.9 []",
            "transformer sdktwice 9.9.9 []"
        ]
    );
}

#[test]
fn a_source_plugins_table_error_can_be_tolerated() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    take_log();
    let err = run(13, &[], "x").err().map(|e| e.to_string());
    let expected =
        "table app_number: source numbers (plugin sdk-test 9.9.9, /fake/libsdktest.so): unlucky";
    assert_eq!(err.as_deref(), Some(expected));
    let report = run_tolerant(13, &[], "x", true).expect("tolerated");
    assert_eq!(
        report.skipped().collect::<Vec<_>>(),
        [("app_number", expected)]
    );
    assert!(take_log().contains(&format!("skipped app_number {expected}")));
}

/// Prints the size of each struct of the C header and the offset of each
/// field, as `name value` lines.
const LAYOUT_C: &str = r#"
#include <stdio.h>
#include "dump2py_plugin.h"
#define S(T) printf(#T " %zu\n", sizeof(T));
#define F(T, f) printf(#T "." #f " %zu\n", offsetof(T, f));
int main(void) {
    S(dump2py_str) S(dump2py_names)
    S(dump2py_value) F(dump2py_value, aware) F(dump2py_value, offset_minutes)
    F(dump2py_value, int_) F(dump2py_value, flt) F(dump2py_value, ptr) F(dump2py_value, len)
    S(dump2py_column) F(dump2py_column, declared_type) F(dump2py_column, kind)
    F(dump2py_column, nullable)
    S(dump2py_foreign_key)
    S(dump2py_table) F(dump2py_table, columns) F(dump2py_table, primary_key)
    F(dump2py_table, foreign_keys) F(dump2py_table, unique) F(dump2py_table, n_unique)
    S(dump2py_batch) F(dump2py_batch, values)
    S(dump2py_field) F(dump2py_field, index) F(dump2py_field, fk_table)
    F(dump2py_field, is_babel) F(dump2py_field, babel)
    S(dump2py_model) F(dump2py_model, app_label) F(dump2py_model, object_name)
    F(dump2py_model, fields) F(dump2py_model, mti_parent_table) F(dump2py_model, auto_created)
    S(dump2py_dump_info) F(dump2py_dump_info, source) F(dump2py_dump_info, models)
    F(dump2py_dump_info, languages) F(dump2py_dump_info, skipped)
    F(dump2py_dump_info, n_excluded) F(dump2py_dump_info, decimals_as_real)
    F(dump2py_dump_info, datetimes_as_instants)
    S(dump2py_key_value)
    S(dump2py_sink_options) F(dump2py_sink_options, target) F(dump2py_sink_options, overwrite)
    F(dump2py_sink_options, max_row_count) F(dump2py_sink_options, extra)
    S(dump2py_outcome) F(dump2py_outcome, rows) F(dump2py_outcome, skipped)
    S(dump2py_out) F(dump2py_out, ctx) F(dump2py_out, error) F(dump2py_out, batch)
    S(dump2py_source_decl) F(dump2py_source_decl, name) F(dump2py_source_decl, ctx) F(dump2py_source_decl, open)
    F(dump2py_source_decl, read_table) F(dump2py_source_decl, destroy)
    S(dump2py_sink_decl) F(dump2py_sink_decl, create) F(dump2py_sink_decl, finish)
    F(dump2py_sink_decl, abort) F(dump2py_sink_decl, destroy) F(dump2py_sink_decl, wants)
    F(dump2py_sink_decl, warnings) F(dump2py_sink_decl, publish)
    S(dump2py_transformer_decl) F(dump2py_transformer_decl, name)
    F(dump2py_transformer_decl, batch)
    F(dump2py_transformer_decl, destroy) F(dump2py_transformer_decl, finish)
    S(dump2py_plugin) F(dump2py_plugin, size) F(dump2py_plugin, name) F(dump2py_plugin, sources)
    F(dump2py_plugin, sinks) F(dump2py_plugin, n_transformers)
    printf("DUMP2PY_ABI_VERSION %u\n", DUMP2PY_ABI_VERSION);
    printf("DUMP2PY_DURATION %u\n", DUMP2PY_DURATION);
    return 0;
}
"#;

#[test]
fn the_c_header_matches_the_rust_abi() {
    use std::mem::{offset_of, size_of};
    let s = |name: &str, v: usize| format!("{name} {v}");
    let expected = [
        s("dump2py_str", size_of::<ffi::Str>()),
        s("dump2py_names", size_of::<ffi::Names>()),
        s("dump2py_value", size_of::<ffi::FFI_Value>()),
        s("dump2py_value.aware", offset_of!(ffi::FFI_Value, aware)),
        s(
            "dump2py_value.offset_minutes",
            offset_of!(ffi::FFI_Value, offset_minutes),
        ),
        s("dump2py_value.int_", offset_of!(ffi::FFI_Value, int)),
        s("dump2py_value.flt", offset_of!(ffi::FFI_Value, float)),
        s("dump2py_value.ptr", offset_of!(ffi::FFI_Value, ptr)),
        s("dump2py_value.len", offset_of!(ffi::FFI_Value, len)),
        s("dump2py_column", size_of::<ffi::FFI_Column>()),
        s(
            "dump2py_column.declared_type",
            offset_of!(ffi::FFI_Column, declared_type),
        ),
        s("dump2py_column.kind", offset_of!(ffi::FFI_Column, kind)),
        s(
            "dump2py_column.nullable",
            offset_of!(ffi::FFI_Column, nullable),
        ),
        s("dump2py_foreign_key", size_of::<ffi::FFI_ForeignKey>()),
        s("dump2py_table", size_of::<ffi::FFI_Table>()),
        s("dump2py_table.columns", offset_of!(ffi::FFI_Table, columns)),
        s(
            "dump2py_table.primary_key",
            offset_of!(ffi::FFI_Table, primary_key),
        ),
        s(
            "dump2py_table.foreign_keys",
            offset_of!(ffi::FFI_Table, foreign_keys),
        ),
        s("dump2py_table.unique", offset_of!(ffi::FFI_Table, unique)),
        s(
            "dump2py_table.n_unique",
            offset_of!(ffi::FFI_Table, n_unique),
        ),
        s("dump2py_batch", size_of::<ffi::FFI_Batch>()),
        s("dump2py_batch.values", offset_of!(ffi::FFI_Batch, values)),
        s("dump2py_field", size_of::<ffi::FFI_Field>()),
        s("dump2py_field.index", offset_of!(ffi::FFI_Field, index)),
        s(
            "dump2py_field.fk_table",
            offset_of!(ffi::FFI_Field, fk_table),
        ),
        s(
            "dump2py_field.is_babel",
            offset_of!(ffi::FFI_Field, is_babel),
        ),
        s("dump2py_field.babel", offset_of!(ffi::FFI_Field, babel)),
        s("dump2py_model", size_of::<ffi::FFI_Model>()),
        s(
            "dump2py_model.app_label",
            offset_of!(ffi::FFI_Model, app_label),
        ),
        s(
            "dump2py_model.object_name",
            offset_of!(ffi::FFI_Model, object_name),
        ),
        s("dump2py_model.fields", offset_of!(ffi::FFI_Model, fields)),
        s(
            "dump2py_model.mti_parent_table",
            offset_of!(ffi::FFI_Model, mti_parent_table),
        ),
        s(
            "dump2py_model.auto_created",
            offset_of!(ffi::FFI_Model, auto_created),
        ),
        s("dump2py_dump_info", size_of::<ffi::FFI_DumpInfo>()),
        s(
            "dump2py_dump_info.source",
            offset_of!(ffi::FFI_DumpInfo, source),
        ),
        s(
            "dump2py_dump_info.models",
            offset_of!(ffi::FFI_DumpInfo, models),
        ),
        s(
            "dump2py_dump_info.languages",
            offset_of!(ffi::FFI_DumpInfo, languages),
        ),
        s(
            "dump2py_dump_info.skipped",
            offset_of!(ffi::FFI_DumpInfo, skipped),
        ),
        s(
            "dump2py_dump_info.n_excluded",
            offset_of!(ffi::FFI_DumpInfo, n_excluded),
        ),
        s(
            "dump2py_dump_info.decimals_as_real",
            offset_of!(ffi::FFI_DumpInfo, decimals_as_real),
        ),
        s(
            "dump2py_dump_info.datetimes_as_instants",
            offset_of!(ffi::FFI_DumpInfo, datetimes_as_instants),
        ),
        s("dump2py_key_value", size_of::<ffi::KeyValue>()),
        s("dump2py_sink_options", size_of::<ffi::FFI_SinkOptions>()),
        s(
            "dump2py_sink_options.target",
            offset_of!(ffi::FFI_SinkOptions, target),
        ),
        s(
            "dump2py_sink_options.overwrite",
            offset_of!(ffi::FFI_SinkOptions, overwrite),
        ),
        s(
            "dump2py_sink_options.max_row_count",
            offset_of!(ffi::FFI_SinkOptions, max_row_count),
        ),
        s(
            "dump2py_sink_options.extra",
            offset_of!(ffi::FFI_SinkOptions, extra),
        ),
        s("dump2py_outcome", size_of::<ffi::Outcome>()),
        s("dump2py_outcome.rows", offset_of!(ffi::Outcome, rows)),
        s("dump2py_outcome.skipped", offset_of!(ffi::Outcome, skipped)),
        s("dump2py_out", size_of::<ffi::Out>()),
        s("dump2py_out.ctx", offset_of!(ffi::Out, ctx)),
        s("dump2py_out.error", offset_of!(ffi::Out, error)),
        s("dump2py_out.batch", offset_of!(ffi::Out, batch)),
        s("dump2py_source_decl", size_of::<ffi::SourceDecl>()),
        s(
            "dump2py_source_decl.name",
            offset_of!(ffi::SourceDecl, name),
        ),
        s("dump2py_source_decl.ctx", offset_of!(ffi::SourceDecl, ctx)),
        s(
            "dump2py_source_decl.open",
            offset_of!(ffi::SourceDecl, open),
        ),
        s(
            "dump2py_source_decl.read_table",
            offset_of!(ffi::SourceDecl, read_table),
        ),
        s(
            "dump2py_source_decl.destroy",
            offset_of!(ffi::SourceDecl, destroy),
        ),
        s("dump2py_sink_decl", size_of::<ffi::SinkDecl>()),
        s(
            "dump2py_sink_decl.create",
            offset_of!(ffi::SinkDecl, create),
        ),
        s(
            "dump2py_sink_decl.finish",
            offset_of!(ffi::SinkDecl, finish),
        ),
        s("dump2py_sink_decl.abort", offset_of!(ffi::SinkDecl, abort)),
        s(
            "dump2py_sink_decl.destroy",
            offset_of!(ffi::SinkDecl, destroy),
        ),
        s("dump2py_sink_decl.wants", offset_of!(ffi::SinkDecl, wants)),
        s(
            "dump2py_sink_decl.warnings",
            offset_of!(ffi::SinkDecl, warnings),
        ),
        s(
            "dump2py_sink_decl.publish",
            offset_of!(ffi::SinkDecl, publish),
        ),
        s(
            "dump2py_transformer_decl",
            size_of::<ffi::TransformerDecl>(),
        ),
        s(
            "dump2py_transformer_decl.name",
            offset_of!(ffi::TransformerDecl, name),
        ),
        s(
            "dump2py_transformer_decl.batch",
            offset_of!(ffi::TransformerDecl, batch),
        ),
        s(
            "dump2py_transformer_decl.destroy",
            offset_of!(ffi::TransformerDecl, destroy),
        ),
        s(
            "dump2py_transformer_decl.finish",
            offset_of!(ffi::TransformerDecl, finish),
        ),
        s("dump2py_plugin", size_of::<ffi::PluginDecl>()),
        s("dump2py_plugin.size", offset_of!(ffi::PluginDecl, size)),
        s("dump2py_plugin.name", offset_of!(ffi::PluginDecl, name)),
        s(
            "dump2py_plugin.sources",
            offset_of!(ffi::PluginDecl, sources),
        ),
        s("dump2py_plugin.sinks", offset_of!(ffi::PluginDecl, sinks)),
        s(
            "dump2py_plugin.n_transformers",
            offset_of!(ffi::PluginDecl, n_transformers),
        ),
        s("DUMP2PY_ABI_VERSION", ffi::ABI_VERSION as usize),
        s("DUMP2PY_DURATION", ffi::kind::DURATION as usize),
    ];
    let dir = std::env::temp_dir().join(format!("dump2py-sdk-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    let (src, exe) = (dir.join("layout.c"), dir.join("layout"));
    std::fs::write(&src, LAYOUT_C).expect("write layout.c");
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let cc = std::process::Command::new("cc")
        .args(["-std=c99", "-Wall", "-Werror", "-pedantic", "-I"])
        .arg(&include)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("run cc");
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let run = std::process::Command::new(&exe)
        .output()
        .expect("run layout");
    let _ = std::fs::remove_dir_all(&dir);
    let got = String::from_utf8_lossy(&run.stdout).into_owned();
    assert_eq!(got.lines().collect::<Vec<_>>(), expected);
}
