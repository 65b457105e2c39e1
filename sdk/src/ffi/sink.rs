//! The sink interface across the ABI: [`SinkDecl`] with [`FFI_SinkOptions`]
//! (in [`super::sink_options`]) and [`Outcome`], the plugin's export of a [`Sink`] ([`declare`]), and
//! the host's [`Sink`] over a declaration ([`SinkFns::create`]). A plugin
//! sink has the whole trait: `wants`, `warnings` and `publish` too.

use std::cell::RefCell;
use std::ffi::c_void;

use super::call::{self, guard, host_data, instance, out, Call, DestroyFn, InstanceFn, Out};
use super::sink_options::{FFI_SinkOptions, SinkOptionsRef};
use super::table::{numbered, DumpInfoRef};
use super::value::BatchRef;
use super::{missing, one_line, slice, FFI_Batch, FFI_DumpInfo, Prefixed, Str};
use dump2py_django::{Model, Site};
use dump2py_model::batch::Batch;
use dump2py_model::error::{Error, Result};
use dump2py_plugin::registry::SinkOptions;
use dump2py_plugin::{DumpInfo, Report, Sink, TableOutcome, Transaction};

/// Creates a sink for its target and options.
pub type CreateSink = fn(options: &SinkOptions) -> Result<Box<dyn Sink>>;

/// How one table went, for a sink's `finish`: `skipped` is null for a
/// dumped table, else the reason it was skipped.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub table: Str,
    pub rows: u64,
    pub skipped: Str,
}

pub fn outcomes(r: &Report) -> Vec<Outcome> {
    r.tables
        .iter()
        .map(|(t, o)| match o {
            TableOutcome::Dumped { rows } => Outcome {
                table: Str::new(t),
                rows: *rows,
                skipped: Str::NONE,
            },
            TableOutcome::Skipped { reason } => Outcome {
                table: Str::new(t),
                rows: 0,
                skipped: Str::new(reason),
            },
        })
        .collect()
}

/// # Safety
/// All pointers must be valid for the duration of the call.
pub unsafe fn report(ptr: *const Outcome, len: usize) -> Result<Report, String> {
    Ok(Report {
        tables: slice(ptr, len)?
            .iter()
            .map(|o| {
                let outcome = match o.skipped.to_opt_str()? {
                    None => TableOutcome::Dumped { rows: o.rows },
                    Some(reason) => TableOutcome::Skipped {
                        reason: reason.to_string(),
                    },
                };
                Ok((o.table.to_string()?, outcome))
            })
            .collect::<Result<_, String>>()?,
    })
}

pub type CreateSinkFn = unsafe extern "C" fn(
    ctx: *const c_void,
    options: *const FFI_SinkOptions,
    out: *const Out,
    instance: *mut *mut c_void,
) -> i32;
pub type BeginFn =
    unsafe extern "C" fn(instance: *mut c_void, info: *const FFI_DumpInfo, out: *const Out) -> i32;
/// `table_start` (with the expected rows) and `table_end` (with the rows
/// written): `model` indexes the models given to `begin`.
pub type ModelCountFn =
    unsafe extern "C" fn(instance: *mut c_void, model: usize, rows: u64, out: *const Out) -> i32;
pub type RowsFn = unsafe extern "C" fn(
    instance: *mut c_void,
    model: usize,
    batch: *const FFI_Batch,
    out: *const Out,
) -> i32;
pub type SkippedFn =
    unsafe extern "C" fn(instance: *mut c_void, model: usize, reason: Str, out: *const Out) -> i32;
pub type FinishFn = unsafe extern "C" fn(
    instance: *mut c_void,
    tables: *const Outcome,
    n_tables: usize,
    out: *const Out,
) -> i32;
/// Sets `*wants` to 1 if the sink wants the rows of `model` (one of
/// Lino's skipped models if `skipped` is 1), else 0.
pub type WantsFn = unsafe extern "C" fn(
    instance: *mut c_void,
    model: usize,
    skipped: u8,
    wants: *mut u8,
    out: *const Out,
) -> i32;

/// A sink for the output format `name`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SinkDecl {
    /// `size_of` this struct, as the plugin declares it.
    pub size: usize,
    pub name: Str,
    pub ctx: *const c_void,
    pub create: Option<CreateSinkFn>,
    pub begin: Option<BeginFn>,
    pub table_start: Option<ModelCountFn>,
    pub rows: Option<RowsFn>,
    pub table_end: Option<ModelCountFn>,
    pub table_skipped: Option<SkippedFn>,
    /// Completes the output where it is staged; nothing is in place yet.
    pub finish: Option<FinishFn>,
    /// Drops whatever the sink wrote; cannot fail.
    pub abort: Option<DestroyFn>,
    pub destroy: Option<DestroyFn>,
    /// Optional (null: the models of Lino's dump, none of the skipped).
    /// Asked after `begin`, before any table.
    pub wants: Option<WantsFn>,
    /// Optional: `out.text` once per line the user should read (a value
    /// written other than stored); asked after every table.
    pub warnings: Option<InstanceFn>,
    /// Optional: moves the finished output into place, once every sink has
    /// finished (so one output failing at `finish` leaves none of them).
    pub publish: Option<InstanceFn>,
}

unsafe impl Sync for SinkDecl {}
unsafe impl Send for SinkDecl {}

unsafe impl Prefixed for SinkDecl {
    const SIZE_AT: usize = 0;
    const MIN_SIZE: usize = std::mem::size_of::<SinkDecl>();
}

// ---- the plugin's side ----

/// The declaration of a sink for the format `name`, made by `create`.
pub const fn declare(name: &'static str, create: &'static CreateSink) -> SinkDecl {
    SinkDecl {
        size: std::mem::size_of::<SinkDecl>(),
        name: Str::new(name),
        ctx: create as *const CreateSink as *const c_void,
        create: Some(sink_create as CreateSinkFn),
        begin: Some(sink_begin as BeginFn),
        table_start: Some(sink_table_start as ModelCountFn),
        rows: Some(sink_rows as RowsFn),
        table_end: Some(sink_table_end as ModelCountFn),
        table_skipped: Some(sink_table_skipped as SkippedFn),
        finish: Some(sink_finish as FinishFn),
        abort: Some(sink_abort as DestroyFn),
        destroy: Some(sink_destroy as DestroyFn),
        wants: Some(sink_wants as WantsFn),
        warnings: Some(sink_warnings as InstanceFn),
        publish: Some(sink_publish as InstanceFn),
    }
}

struct SinkInstance {
    sink: Box<dyn Sink>,
    /// The models given to `begin`; later calls name them by index.
    site: Option<Site>,
}

unsafe extern "C" fn sink_create(
    ctx: *const c_void,
    options: *const FFI_SinkOptions,
    out: *const Out,
    slot: *mut *mut c_void,
) -> i32 {
    guard(out, || {
        let create = call::context::<CreateSink>(ctx)?;
        let options = FFI_SinkOptions::read_prefixed(options, "the options")
            .and_then(|o| o.to_core())
            .map_err(host_data)?;
        let sink = create(&options)?;
        call::put_instance(slot, SinkInstance { sink, site: None })
    })
}

unsafe extern "C" fn sink_begin(p: *mut c_void, info: *const FFI_DumpInfo, o: *const Out) -> i32 {
    guard(o, || {
        let s = instance::<SinkInstance>(p)?;
        let (info, site) = FFI_DumpInfo::read_prefixed(info, "the dump info")
            .and_then(|i| i.to_core())
            .map_err(host_data)?;
        let site = s.site.insert(site);
        s.sink.begin(&info, site)
    })
}

/// The sink and the model that `index` names.
unsafe fn sink_model<'a>(p: *mut c_void, index: usize) -> Result<(&'a mut dyn Sink, &'a Model)> {
    let SinkInstance { sink, site } = instance::<SinkInstance>(p)?;
    let model = site
        .as_ref()
        .and_then(|s| numbered(s).nth(index))
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
    b: *const FFI_Batch,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let (sink, model) = sink_model(p, m)?;
        sink.rows(model, &call::batch(b)?)
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
    tables: *const Outcome,
    n_tables: usize,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let report = report(tables, n_tables).map_err(host_data)?;
        instance::<SinkInstance>(p)?.sink.finish(&report)
    })
}

unsafe extern "C" fn sink_publish(p: *mut c_void, o: *const Out) -> i32 {
    guard(o, || {
        // The host's transaction can't reach into this library's staging:
        // its outputs are published here, on their own.
        let mut tx = Transaction::new();
        instance::<SinkInstance>(p)?.sink.publish(&mut tx)?;
        match tx.is_empty() {
            true => Ok(()),
            false => Err(Error::Usage(
                "a plugin's sink publishes its outputs itself (Staged::publish_now)".into(),
            )),
        }
    })
}

unsafe extern "C" fn sink_wants(
    p: *mut c_void,
    m: usize,
    skipped: u8,
    wants: *mut u8,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let (sink, model) = sink_model(p, m)?;
        let yes = sink.wants(model, skipped != 0);
        *wants
            .as_mut()
            .ok_or_else(|| host_data("nowhere to put the answer"))? = yes as u8;
        Ok(())
    })
}

unsafe extern "C" fn sink_warnings(p: *mut c_void, o: *const Out) -> i32 {
    guard(o, || {
        let warnings = instance::<SinkInstance>(p)?.sink.warnings();
        let o = out(o)?;
        for w in &warnings {
            (o.text)(o.ctx, Str::new(w));
        }
        Ok(())
    })
}

unsafe extern "C" fn sink_abort(p: *mut c_void) {
    let _ = call::catching(|| {
        instance::<SinkInstance>(p)?.sink.abort();
        Ok(())
    });
}

unsafe extern "C" fn sink_destroy(p: *mut c_void) {
    call::drop_instance::<SinkInstance>(p)
}

// ---- the host's side ----

#[derive(Clone, Copy)]
pub(crate) struct SinkFns {
    ctx: *const c_void,
    create: CreateSinkFn,
    begin: BeginFn,
    table_start: ModelCountFn,
    rows: RowsFn,
    table_end: ModelCountFn,
    table_skipped: SkippedFn,
    finish: FinishFn,
    abort: DestroyFn,
    destroy: DestroyFn,
    wants: Option<WantsFn>,
    warnings: Option<InstanceFn>,
    publish: Option<InstanceFn>,
}

// The functions point into a library that is never unloaded, and `ctx`
// is the plugin's immutable static.
unsafe impl Send for SinkFns {}
unsafe impl Sync for SinkFns {}

impl SinkFns {
    pub fn new(d: &SinkDecl) -> Result<SinkFns, String> {
        Ok(SinkFns {
            ctx: d.ctx,
            create: d.create.ok_or_else(|| missing("create"))?,
            begin: d.begin.ok_or_else(|| missing("begin"))?,
            table_start: d.table_start.ok_or_else(|| missing("table_start"))?,
            rows: d.rows.ok_or_else(|| missing("rows"))?,
            table_end: d.table_end.ok_or_else(|| missing("table_end"))?,
            table_skipped: d.table_skipped.ok_or_else(|| missing("table_skipped"))?,
            finish: d.finish.ok_or_else(|| missing("finish"))?,
            abort: d.abort.ok_or_else(|| missing("abort"))?,
            destroy: d.destroy.ok_or_else(|| missing("destroy"))?,
            wants: d.wants,
            warnings: d.warnings,
            publish: d.publish,
        })
    }

    /// Creates the plugin's sink; `label` names it in errors.
    pub fn create(self, label: &str, options: &SinkOptions) -> Result<Box<dyn Sink>> {
        let (f, o) = (self, SinkOptionsRef::new(options));
        let instance = Call::create(label, |out, inst| unsafe {
            (f.create)(f.ctx, o.get(), out, inst)
        })?;
        Ok(Box::new(DynSink {
            f,
            label: label.to_string(),
            instance,
            models: Vec::new(),
            failed: RefCell::new(None),
        }))
    }
}

struct DynSink {
    f: SinkFns,
    label: String,
    instance: *mut c_void,
    /// FFI_Table names in the numbering of the models given to `begin`.
    models: Vec<String>,
    /// An error of `wants` or `warnings` (which can't return one), for
    /// the sink's next call to return.
    failed: RefCell<Option<Error>>,
}

impl DynSink {
    fn index(&self, model: &Model) -> Result<usize> {
        self.models
            .iter()
            .position(|t| *t == model.table.name)
            .ok_or_else(|| {
                let t = &model.table.name;
                Call::fail(
                    &self.label,
                    format!("table {t} was not among the models given to begin"),
                )
            })
    }

    /// Calls `f`, after returning any error kept from `wants` or `warnings`.
    fn call(&self, f: impl FnOnce(*mut c_void, *const Out) -> i32) -> Result<Call<'_>> {
        if let Some(e) = self.failed.borrow_mut().take() {
            return Err(e);
        }
        let i = self.instance;
        Call::new(&self.label).run(|out| f(i, out))
    }

    fn model_call(
        &self,
        model: &Model,
        f: impl FnOnce(*mut c_void, usize, *const Out) -> i32,
    ) -> Result<()> {
        let m = self.index(model)?;
        self.call(|i, out| f(i, m, out)).map(drop)
    }
}

impl Sink for DynSink {
    fn begin(&mut self, info: &DumpInfo, site: &Site) -> Result<()> {
        self.models = numbered(site).map(|m| m.table.name.clone()).collect();
        let d = DumpInfoRef::new(info, site);
        let begin = self.f.begin;
        self.call(|i, out| unsafe { begin(i, d.get(), out) })
            .map(drop)
    }

    fn table_start(&mut self, model: &Model, expected_rows: u64) -> Result<()> {
        let f = self.f.table_start;
        self.model_call(model, |i, m, out| unsafe { f(i, m, expected_rows, out) })
    }

    fn rows(&mut self, model: &Model, batch: &Batch) -> Result<()> {
        let (f, b) = (self.f.rows, BatchRef::new(batch));
        self.model_call(model, |i, m, out| unsafe { f(i, m, b.get(), out) })
    }

    fn table_end(&mut self, model: &Model, rows: u64) -> Result<()> {
        let f = self.f.table_end;
        self.model_call(model, |i, m, out| unsafe { f(i, m, rows, out) })
    }

    fn table_skipped(&mut self, model: &Model, reason: &str) -> Result<()> {
        let f = self.f.table_skipped;
        self.model_call(model, |i, m, out| unsafe { f(i, m, Str::new(reason), out) })
    }

    fn finish(&mut self, report: &Report) -> Result<()> {
        let (f, o) = (self.f.finish, outcomes(report));
        self.call(|i, out| unsafe { f(i, o.as_ptr(), o.len(), out) })
            .map(drop)
    }

    fn publish(&mut self, _tx: &mut Transaction) -> Result<()> {
        match self.f.publish {
            Some(f) => self.call(|i, out| unsafe { f(i, out) }).map(drop),
            // Nothing to move; still returns an error kept from `warnings`.
            None => self.call(|_, _| super::OK).map(drop),
        }
    }

    fn abort(&mut self) {
        unsafe { (self.f.abort)(self.instance) };
    }

    fn wants(&self, model: &Model, skipped: bool) -> bool {
        let Some(f) = self.f.wants else {
            return !skipped;
        };
        let mut yes = 0u8;
        let asked = self.index(model).and_then(|m| {
            let i = self.instance;
            Call::new(&self.label).run(|out| unsafe { f(i, m, skipped as u8, &mut yes, out) })
        });
        match asked {
            Ok(_) => yes != 0,
            Err(e) => {
                // Wanted, so that the sink is called again and fails then.
                self.failed.borrow_mut().get_or_insert(e);
                true
            }
        }
    }

    fn warnings(&mut self) -> Vec<String> {
        let Some(f) = self.f.warnings else {
            return Vec::new();
        };
        let i = self.instance;
        match Call::new(&self.label).run(|out| unsafe { f(i, out) }) {
            Ok(c) => c.texts.iter().map(|t| one_line(t)).collect(),
            Err(e) => {
                self.failed.borrow_mut().get_or_insert(e);
                Vec::new()
            }
        }
    }
}

impl Drop for DynSink {
    fn drop(&mut self) {
        if !self.instance.is_null() {
            unsafe { (self.f.destroy)(self.instance) };
        }
    }
}
