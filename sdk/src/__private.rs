//! The plugin side of the C ABI: declarations built by `export_plugin!`
//! and the `extern "C"` shims that call the plugin's trait objects.
//!
//! Every shim runs the plugin's code under `catch_unwind` (a panic must not
//! unwind into dump2py) and reports an error or a panic through `out.error`
//! as one line. Instances are boxed and handed to dump2py as opaque
//! pointers; dump2py gives each back to `destroy` exactly once.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use dump2py_core::abi::{self, Names, Out, SinkDecl, SourceDecl, Str, TransformerDecl};
use dump2py_core::django::Site;
use dump2py_core::error::{Error, Result};
use dump2py_core::plugin::{Sink, Source, Transformer};

use crate::{CreateSink, CreateTransformer, OpenSource};

pub const fn plugin_decl(
    name: &'static str,
    version: &'static str,
    sources: &'static [SourceDecl],
    sinks: &'static [SinkDecl],
    transformers: &'static [TransformerDecl],
) -> abi::PluginDecl {
    abi::PluginDecl {
        abi_version: abi::ABI_VERSION,
        name: Str::new(name),
        version: Str::new(version),
        sources: sources.as_ptr(),
        n_sources: sources.len(),
        sinks: sinks.as_ptr(),
        n_sinks: sinks.len(),
        transformers: transformers.as_ptr(),
        n_transformers: transformers.len(),
    }
}

pub const fn source_decl(
    name: &'static str,
    schemes: &'static [Str],
    open: &'static OpenSource,
) -> SourceDecl {
    SourceDecl {
        name: Str::new(name),
        schemes: Names::new(schemes),
        ctx: open as *const OpenSource as *const c_void,
        open: Some(source_open as abi::OpenFn),
        describe: Some(source_describe as abi::InstanceFn),
        schema: Some(source_schema as abi::InstanceFn),
        count_rows: Some(source_count_rows as abi::CountRowsFn),
        read_table: Some(source_read_table as abi::ReadTableFn),
        destroy: Some(source_destroy as abi::DestroyFn),
    }
}

pub const fn sink_decl(name: &'static str, create: &'static CreateSink) -> SinkDecl {
    SinkDecl {
        name: Str::new(name),
        ctx: create as *const CreateSink as *const c_void,
        create: Some(sink_create as abi::CreateSinkFn),
        begin: Some(sink_begin as abi::BeginFn),
        table_start: Some(sink_table_start as abi::ModelCountFn),
        rows: Some(sink_rows as abi::RowsFn),
        table_end: Some(sink_table_end as abi::ModelCountFn),
        table_skipped: Some(sink_table_skipped as abi::SkippedFn),
        finish: Some(sink_finish as abi::FinishFn),
        abort: Some(sink_abort as abi::DestroyFn),
        destroy: Some(sink_destroy as abi::DestroyFn),
    }
}

pub const fn transformer_decl(
    name: &'static str,
    create: &'static CreateTransformer,
) -> TransformerDecl {
    TransformerDecl {
        name: Str::new(name),
        ctx: create as *const CreateTransformer as *const c_void,
        create: Some(transformer_create as abi::CreateTransformerFn),
        table: Some(transformer_table as abi::TableFn),
        batch: Some(transformer_batch as abi::TransformBatchFn),
        destroy: Some(transformer_destroy as abi::DestroyFn),
        finish: Some(transformer_finish as abi::InstanceFn),
    }
}

thread_local! {
    /// How many shims are running on this thread: their panics are reported
    /// as errors, not printed.
    static IN_SHIM: Cell<u32> = const { Cell::new(0) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// The library has its own copy of std, so this hook sees only the
/// plugin's panics: inside a shim it keeps the message for the error
/// instead of printing it; elsewhere the previous hook runs.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_SHIM.with(Cell::get) > 0 {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let text = format!("{}{at}", payload_text(info.payload()));
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

/// Why a call failed: one line, and the table at fault if any.
struct Failure {
    message: String,
    table: Option<String>,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let (message, table) = match e {
            // dump2py puts the table back in front.
            Error::Table { table, message } => (message, Some(table)),
            Error::Value {
                table,
                column,
                pk,
                message,
            } => (
                format!("column {column}, primary key {pk}: {message}"),
                Some(table),
            ),
            other => (other.to_string(), None),
        };
        Failure { message, table }
    }
}

/// Runs `f`, catching panics; returns the value or why not.
fn catching<R>(f: impl FnOnce() -> Result<R>) -> std::result::Result<R, Failure> {
    install_hook();
    IN_SHIM.with(|d| d.set(d.get() + 1));
    let r = catch_unwind(AssertUnwindSafe(f));
    IN_SHIM.with(|d| d.set(d.get().saturating_sub(1)));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.into()),
        Err(payload) => {
            let text = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| payload_text(payload.as_ref()));
            Err(Failure {
                message: format!("panicked: {text}"),
                table: None,
            })
        }
    }
}

/// A shim's body: `OK`, or `ERR` after telling `out` why.
fn guard(out: *const Out, f: impl FnOnce() -> Result<()>) -> i32 {
    match catching(f) {
        Ok(()) => abi::OK,
        Err(f) => {
            let message = f.message.split_whitespace().collect::<Vec<_>>().join(" ");
            if !out.is_null() {
                // SAFETY: dump2py passes a valid `Out` for the call.
                unsafe {
                    ((*out).error)((*out).ctx, Str::new(&message), Str::opt(f.table.as_deref()))
                };
            }
            abi::ERR
        }
    }
}

/// An error in what dump2py passed (it never should).
fn host_data(message: String) -> Error {
    Error::Usage(format!("bad data from dump2py: {message}"))
}

unsafe fn instance<'a, T>(p: *mut c_void) -> Result<&'a mut T> {
    (p as *mut T)
        .as_mut()
        .ok_or_else(|| host_data("a null instance".into()))
}

unsafe fn out<'a>(out: *const Out) -> Result<&'a Out> {
    out.as_ref().ok_or_else(|| host_data("a null out".into()))
}

unsafe fn table(t: *const abi::Table) -> Result<dump2py_core::schema::Table> {
    t.as_ref()
        .ok_or_else(|| host_data("a null table".into()))?
        .to_core()
        .map_err(host_data)
}

unsafe fn batch(b: *const abi::Batch) -> Result<dump2py_core::Batch> {
    b.as_ref()
        .ok_or_else(|| host_data("a null batch".into()))?
        .to_core()
        .map_err(host_data)
}

unsafe fn put_instance<T>(slot: *mut *mut c_void, value: T) -> Result<()> {
    if slot.is_null() {
        return Err(host_data("nowhere to put the instance".into()));
    }
    *slot = Box::into_raw(Box::new(value)) as *mut c_void;
    Ok(())
}

/// Drops an instance; a panic in its `Drop` is swallowed (nowhere to report it).
unsafe fn drop_instance<T>(p: *mut c_void) {
    if !p.is_null() {
        let _ = catching(|| {
            drop(Box::from_raw(p as *mut T));
            Ok(())
        });
    }
}

type SourceBox = Box<dyn Source>;
type TransformerBox = Box<dyn Transformer>;

struct SinkInstance {
    sink: Box<dyn Sink>,
    /// The models given to `begin`; later calls name them by index.
    site: Option<Site>,
}

unsafe extern "C" fn source_open(
    ctx: *const c_void,
    url: Str,
    out: *const Out,
    slot: *mut *mut c_void,
) -> i32 {
    guard(out, || {
        let open = (ctx as *const OpenSource)
            .as_ref()
            .ok_or_else(|| host_data("a null context".into()))?;
        let source: SourceBox = open(url.to_str().map_err(host_data)?)?;
        put_instance(slot, source)
    })
}

unsafe extern "C" fn source_describe(p: *mut c_void, o: *const Out) -> i32 {
    guard(o, || {
        let text = instance::<SourceBox>(p)?.describe();
        let o = out(o)?;
        (o.text)(o.ctx, Str::new(&text));
        Ok(())
    })
}

unsafe extern "C" fn source_schema(p: *mut c_void, o: *const Out) -> i32 {
    guard(o, || {
        let schema = instance::<SourceBox>(p)?.schema()?;
        let o = out(o)?;
        for t in &schema.tables {
            (o.table)(o.ctx, abi::TableRef::new(t).get());
        }
        Ok(())
    })
}

unsafe extern "C" fn source_count_rows(
    p: *mut c_void,
    t: *const abi::Table,
    rows: *mut u64,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let n = instance::<SourceBox>(p)?.count_rows(&table(t)?)?;
        *rows
            .as_mut()
            .ok_or_else(|| host_data("nowhere to put the count".into()))? = n;
        Ok(())
    })
}

unsafe extern "C" fn source_read_table(
    p: *mut c_void,
    t: *const abi::Table,
    batch_rows: usize,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let source = instance::<SourceBox>(p)?;
        let o = out(o)?;
        source.read_table(&table(t)?, batch_rows, &mut |b| {
            let r = abi::BatchRef::new(&b);
            // Anything but OK: dump2py stops the read and keeps its reason.
            Ok((o.batch)(o.ctx, r.get()) == abi::OK)
        })
    })
}

unsafe extern "C" fn source_destroy(p: *mut c_void) {
    drop_instance::<SourceBox>(p)
}

unsafe extern "C" fn sink_create(
    ctx: *const c_void,
    options: *const abi::SinkOptions,
    out: *const Out,
    slot: *mut *mut c_void,
) -> i32 {
    guard(out, || {
        let create = (ctx as *const CreateSink)
            .as_ref()
            .ok_or_else(|| host_data("a null context".into()))?;
        let options = options
            .as_ref()
            .ok_or_else(|| host_data("no options".into()))?
            .to_core()
            .map_err(host_data)?;
        let sink = create(&options)?;
        put_instance(slot, SinkInstance { sink, site: None })
    })
}

unsafe extern "C" fn sink_begin(p: *mut c_void, info: *const abi::DumpInfo, o: *const Out) -> i32 {
    guard(o, || {
        let s = instance::<SinkInstance>(p)?;
        let (info, site) = info
            .as_ref()
            .ok_or_else(|| host_data("no dump info".into()))?
            .to_core()
            .map_err(host_data)?;
        let site = s.site.insert(site);
        s.sink.begin(&info, site)
    })
}

/// The sink and the model that `index` names.
unsafe fn sink_model<'a>(
    p: *mut c_void,
    index: usize,
) -> Result<(&'a mut dyn Sink, &'a dump2py_core::django::Model)> {
    let SinkInstance { sink, site } = instance::<SinkInstance>(p)?;
    let model = site
        .as_ref()
        .and_then(|s| s.models.get(index))
        .ok_or_else(|| host_data(format!("model {index} was not given to begin")))?;
    Ok((sink.as_mut(), model))
}

unsafe extern "C" fn sink_table_start(p: *mut c_void, m: usize, rows: u64, o: *const Out) -> i32 {
    guard(o, || {
        let (sink, model) = sink_model(p, m)?;
        sink.table_start(model, rows)
    })
}

unsafe extern "C" fn sink_rows(
    p: *mut c_void,
    m: usize,
    b: *const abi::Batch,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let (sink, model) = sink_model(p, m)?;
        sink.rows(model, &batch(b)?)
    })
}

unsafe extern "C" fn sink_table_end(p: *mut c_void, m: usize, rows: u64, o: *const Out) -> i32 {
    guard(o, || {
        let (sink, model) = sink_model(p, m)?;
        sink.table_end(model, rows)
    })
}

unsafe extern "C" fn sink_table_skipped(
    p: *mut c_void,
    m: usize,
    reason: Str,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let (sink, model) = sink_model(p, m)?;
        sink.table_skipped(model, reason.to_str().map_err(host_data)?)
    })
}

unsafe extern "C" fn sink_finish(
    p: *mut c_void,
    tables: *const abi::Outcome,
    n_tables: usize,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let report = abi::report(tables, n_tables).map_err(host_data)?;
        // The ABI has one step for both: a plugin sink publishes at finish.
        let sink = &mut instance::<SinkInstance>(p)?.sink;
        sink.finish(&report)?;
        sink.publish()
    })
}

unsafe extern "C" fn sink_abort(p: *mut c_void) {
    let _ = catching(|| {
        instance::<SinkInstance>(p)?.sink.abort();
        Ok(())
    });
}

unsafe extern "C" fn sink_destroy(p: *mut c_void) {
    drop_instance::<SinkInstance>(p)
}

unsafe extern "C" fn transformer_create(
    ctx: *const c_void,
    args: Str,
    out: *const Out,
    slot: *mut *mut c_void,
) -> i32 {
    guard(out, || {
        let create = (ctx as *const CreateTransformer)
            .as_ref()
            .ok_or_else(|| host_data("a null context".into()))?;
        let t: TransformerBox = create(args.to_str().map_err(host_data)?)?;
        put_instance(slot, t)
    })
}

unsafe extern "C" fn transformer_table(
    p: *mut c_void,
    input: *const abi::Table,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let output = instance::<TransformerBox>(p)?.table(&table(input)?)?;
        let o = out(o)?;
        (o.table)(o.ctx, abi::TableRef::new(&output).get());
        Ok(())
    })
}

unsafe extern "C" fn transformer_batch(
    p: *mut c_void,
    input: *const abi::Table,
    output: *const abi::Table,
    b: *const abi::Batch,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let t = instance::<TransformerBox>(p)?;
        let mut rows = batch(b)?;
        t.batch(&table(input)?, &table(output)?, &mut rows)?;
        let o = out(o)?;
        if (o.batch)(o.ctx, abi::BatchRef::new(&rows).get()) != abi::OK {
            return Err(Error::Usage("dump2py refused the batch".into()));
        }
        Ok(())
    })
}

unsafe extern "C" fn transformer_finish(p: *mut c_void, o: *const Out) -> i32 {
    guard(o, || {
        let notes = instance::<TransformerBox>(p)?.finish()?;
        let o = out(o)?;
        for note in &notes {
            (o.text)(o.ctx, Str::new(note));
        }
        Ok(())
    })
}

unsafe extern "C" fn transformer_destroy(p: *mut c_void) {
    drop_instance::<TransformerBox>(p)
}
