//! Plugins from shared libraries: the host side of the C ABI (`abi.rs`).
//!
//! [`load`] opens a library, checks its ABI version before touching
//! anything else in it, and registers its sources, sinks and transformers
//! in the registry, where they sit beside the built-ins. Libraries are never
//! unloaded: instances and declarations point into them until the process
//! ends.

use std::any::Any;
use std::ffi::c_void;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::abi::{self, Str};
use crate::batch::Batch;
use crate::django::{Model, Site};
use crate::error::{Error, Result};
use crate::plugin::{BatchFn, DumpInfo, Report, Sink, Source, Transformer};
use crate::registry::{self, Create, Origin, Registration, SinkOptions};
use crate::schema::{Schema, Table};

/// What [`load`] found in a library.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    /// `kind name` of everything it registered, e.g. `transformer anonymize`.
    pub provides: Vec<String>,
}

/// The platform's file name ending of shared libraries (`so`, `dylib`, `dll`).
pub fn library_extension() -> &'static str {
    std::env::consts::DLL_EXTENSION
}

const NO_SYMBOL: &str = "not a dump2py plugin: it exports no DUMP2PY_PLUGIN \
                         (build it with dump2py-sdk's export_plugin!)";

/// Loads the plugin library at `path` and registers what it provides.
pub fn load(path: &Path) -> Result<Loaded> {
    // Listings and errors name the library by its absolute path.
    let path = &std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let shown = path.to_path_buf();
    let fail = |message: String| Error::Plugin {
        plugin: format!("plugin {}", shown.display()),
        message: one_line(&message),
    };
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    // Loading runs the library's initialisers; nothing of ours is called
    // before the ABI version has been checked.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| fail(format!("not a loadable library: {e}")))?;
    // Never unloaded: instances and function pointers live as long as the
    // process (and unloading a library that failed to declare itself could
    // run its destructors for nothing).
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    let decl_ptr = match unsafe { lib.get::<*const abi::PluginDecl>(abi::SYMBOL) } {
        Ok(sym) => *sym,
        Err(_) => return Err(fail(NO_SYMBOL.into())),
    };
    unsafe { register_decl(decl_ptr, path) }
}

/// Checks a plugin declaration's ABI version, then registers what it
/// provides, as coming from `path`. [`load`] calls it for a library's
/// `DUMP2PY_PLUGIN`; tests call it for a declaration linked in.
///
/// # Safety
/// `decl_ptr` is null or points to a declaration that lives for the rest
/// of the process; if its first `u32` is [`abi::ABI_VERSION`], it is an
/// [`abi::PluginDecl`] whose pointers are valid as `abi.rs` describes.
pub unsafe fn register_decl(decl_ptr: *const abi::PluginDecl, path: &Path) -> Result<Loaded> {
    let shown = path.to_path_buf();
    let fail = |message: String| Error::Plugin {
        plugin: format!("plugin {}", shown.display()),
        message: one_line(&message),
    };
    if decl_ptr.is_null() {
        return Err(fail("DUMP2PY_PLUGIN is a null pointer".into()));
    }
    // The first field is the version, whatever the rest looks like.
    let abi_version = std::ptr::read_unaligned(decl_ptr as *const u32);
    if !(abi::ABI_VERSION_MIN..=abi::ABI_VERSION).contains(&abi_version) {
        return Err(fail(format!(
            "plugin ABI version {abi_version}, but this dump2py needs version {}: \
             rebuild the plugin against dump2py-sdk {}",
            abi::ABI_VERSION,
            env!("CARGO_PKG_VERSION")
        )));
    }
    let decl: &'static abi::PluginDecl = unsafe { &*decl_ptr };
    let text =
        |s: Str, what: &str| unsafe { s.to_string() }.map_err(|e| fail(format!("{what}: {e}")));
    let name = text(decl.name, "its name")?;
    let version = text(decl.version, "its version")?;
    let origin = Origin::Library(shown.clone());
    let label =
        |kind: &str, n: &str| format!("{kind} {n} (plugin {name} {version}, {})", shown.display());
    let mut regs = Vec::new();
    let mut provides = Vec::new();
    let sources = unsafe { abi::slice(decl.sources, decl.n_sources) };
    let sinks = unsafe { abi::slice(decl.sinks, decl.n_sinks) };
    // Version 1 declares its transformers without `finish`.
    let transformers: Result<Vec<abi::TransformerDecl>, String> = if abi_version == 1 {
        let v1 = decl.transformers as *const abi::TransformerDeclV1;
        unsafe { abi::slice(v1, decl.n_transformers) }.map(|s| s.iter().map(Into::into).collect())
    } else {
        unsafe { abi::slice(decl.transformers, decl.n_transformers) }.map(<[_]>::to_vec)
    };
    for d in sources.map_err(|e| fail(format!("its sources: {e}")))? {
        let n = usable(text(d.name, "a source's name")?, "source", "").map_err(fail)?;
        let schemes: Vec<String> = unsafe { d.schemes.to_vec() }
            .map_err(|e| fail(format!("source {n}: {e}")))?
            .into_iter()
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if schemes.is_empty() {
            return Err(fail(format!("source {n} reads no URL scheme")));
        }
        // A scheme must be one that `registry::scheme` finds in a URL.
        if let Some(bad) = schemes
            .iter()
            .find(|s| registry::scheme(&format!("{s}:")) != Some(s.as_str()))
        {
            return Err(fail(format!("source {n}: '{bad}' is not a URL scheme")));
        }
        let f = SourceFns::new(d).map_err(|m| fail(format!("source {n}: {m}")))?;
        let label = label("source", &n);
        provides.push(format!("source {n}"));
        regs.push(Registration {
            name: n,
            schemes,
            version: version.clone(),
            origin: origin.clone(),
            create: Create::Source(Box::new(move |url| open_source(f, &label, url))),
        });
    }
    for d in sinks.map_err(|e| fail(format!("its sinks: {e}")))? {
        // `-f NAME=TARGET` splits at the first '='.
        let n = usable(text(d.name, "a sink's name")?, "sink", "=").map_err(fail)?;
        let f = SinkFns::new(d).map_err(|m| fail(format!("sink {n}: {m}")))?;
        let label = label("sink", &n);
        provides.push(format!("sink {n}"));
        regs.push(Registration {
            name: n,
            schemes: Vec::new(),
            version: version.clone(),
            origin: origin.clone(),
            create: Create::Sink(Box::new(move |o| create_sink(f, &label, o))),
        });
    }
    for d in &transformers.map_err(|e| fail(format!("its transformers: {e}")))? {
        // `-T NAME:ARGS` splits at the first ':'.
        let n = usable(text(d.name, "a transformer's name")?, "transformer", ":").map_err(fail)?;
        let f = TransformerFns::new(d).map_err(|m| fail(format!("transformer {n}: {m}")))?;
        let label = label("transformer", &n);
        provides.push(format!("transformer {n}"));
        regs.push(Registration {
            name: n,
            schemes: Vec::new(),
            version: version.clone(),
            origin: origin.clone(),
            create: Create::Transformer(Box::new(move |args| create_transformer(f, &label, args))),
        });
    }
    if regs.is_empty() {
        return Err(fail(format!(
            "plugin {name} provides no source, sink or transformer"
        )));
    }
    registry::register(regs)?;
    Ok(Loaded {
        path: shown,
        name,
        version,
        provides,
    })
}

/// The shared libraries (by the platform's ending) in `dir`, in name order.
pub fn libraries_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths = Vec::new();
    for e in entries {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.extension().and_then(|x| x.to_str()) == Some(library_extension()) && p.is_file() {
            paths.push(p);
        }
    }
    paths.sort();
    Ok(paths)
}

/// A name that the command line can reach: not empty, no white space, none
/// of `forbidden`.
fn usable(n: String, kind: &str, forbidden: &str) -> Result<String, String> {
    let bad = |c: char| c.is_whitespace() || forbidden.contains(c);
    if n.is_empty() || n.chars().any(bad) {
        Err(format!(
            "{kind} name '{n}' can't be used on the command line"
        ))
    } else {
        Ok(n)
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn missing(what: &str) -> String {
    format!("its declaration has no {what} function")
}

/// A source's functions, checked to be there.
#[derive(Clone, Copy)]
struct SourceFns {
    ctx: *const c_void,
    open: abi::OpenFn,
    describe: abi::InstanceFn,
    schema: abi::InstanceFn,
    count_rows: abi::CountRowsFn,
    read_table: abi::ReadTableFn,
    destroy: abi::DestroyFn,
}

impl SourceFns {
    fn new(d: &abi::SourceDecl) -> Result<SourceFns, String> {
        Ok(SourceFns {
            ctx: d.ctx,
            open: d.open.ok_or_else(|| missing("open"))?,
            describe: d.describe.ok_or_else(|| missing("describe"))?,
            schema: d.schema.ok_or_else(|| missing("schema"))?,
            count_rows: d.count_rows.ok_or_else(|| missing("count_rows"))?,
            read_table: d.read_table.ok_or_else(|| missing("read_table"))?,
            destroy: d.destroy.ok_or_else(|| missing("destroy"))?,
        })
    }
}

#[derive(Clone, Copy)]
struct SinkFns {
    ctx: *const c_void,
    create: abi::CreateSinkFn,
    begin: abi::BeginFn,
    table_start: abi::ModelCountFn,
    rows: abi::RowsFn,
    table_end: abi::ModelCountFn,
    table_skipped: abi::SkippedFn,
    finish: abi::FinishFn,
    abort: abi::DestroyFn,
    destroy: abi::DestroyFn,
}

impl SinkFns {
    fn new(d: &abi::SinkDecl) -> Result<SinkFns, String> {
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
        })
    }
}

#[derive(Clone, Copy)]
struct TransformerFns {
    ctx: *const c_void,
    create: abi::CreateTransformerFn,
    table: abi::TableFn,
    batch: abi::TransformBatchFn,
    destroy: abi::DestroyFn,
    finish: Option<abi::InstanceFn>,
}

impl TransformerFns {
    fn new(d: &abi::TransformerDecl) -> Result<TransformerFns, String> {
        Ok(TransformerFns {
            ctx: d.ctx,
            create: d.create.ok_or_else(|| missing("create"))?,
            table: d.table.ok_or_else(|| missing("table"))?,
            batch: d.batch.ok_or_else(|| missing("batch"))?,
            destroy: d.destroy.ok_or_else(|| missing("destroy"))?,
            finish: d.finish,
        })
    }
}

// The function tables point into a library that is never unloaded, and the
// `ctx` pointers are the plugin's immutable statics.
unsafe impl Send for SourceFns {}
unsafe impl Sync for SourceFns {}
unsafe impl Send for SinkFns {}
unsafe impl Sync for SinkFns {}
unsafe impl Send for TransformerFns {}
unsafe impl Sync for TransformerFns {}

/// Receives what the plugin hands back during one call.
#[derive(Default)]
struct Collector<'a> {
    error: Option<String>,
    /// The table the error belongs to, if the plugin says so.
    error_table: Option<String>,
    /// Every `out.text`, in order: a source's description, a
    /// transformer's lines for the user.
    texts: Vec<String>,
    tables: Vec<Table>,
    batch: Option<Batch>,
    /// Where a source's batches go, as they come.
    consumer: Option<&'a mut BatchFn<'a>>,
    /// What went wrong on our side during a callback: it wins over the
    /// plugin's own error, which is only its echo.
    failed: Option<Error>,
    panic: Option<Box<dyn Any + Send>>,
}

impl<'a> Collector<'a> {
    fn out(&mut self) -> abi::Out {
        abi::Out {
            ctx: self as *mut Collector as *mut c_void,
            error: cb_error,
            text: cb_text,
            table: cb_table,
            batch: cb_batch,
        }
    }
}

/// Runs a callback body; a panic is kept for the host to resume once the
/// plugin has returned (it must not unwind through the plugin's frames).
unsafe fn callback<R>(ctx: *mut c_void, fallback: R, f: impl FnOnce(&mut Collector) -> R) -> R {
    if ctx.is_null() {
        return fallback;
    }
    let c = ctx as *mut Collector;
    match catch_unwind(AssertUnwindSafe(|| f(&mut *c))) {
        Ok(r) => r,
        Err(p) => {
            (*c).panic = Some(p);
            fallback
        }
    }
}

unsafe extern "C" fn cb_error(ctx: *mut c_void, message: Str, table: Str) {
    callback(ctx, (), |c| {
        let text = |s: Str| match s.as_bytes() {
            Ok(b) => one_line(&String::from_utf8_lossy(b)),
            Err(e) => format!("(unreadable: {e})"),
        };
        c.error = Some(text(message));
        c.error_table = (!table.ptr.is_null()).then(|| text(table));
    })
}

unsafe extern "C" fn cb_text(ctx: *mut c_void, text: Str) {
    callback(ctx, (), |c| match text.to_string() {
        Ok(t) => c.texts.push(t),
        Err(e) => c.failed = Some(bad_data(&e)),
    })
}

unsafe extern "C" fn cb_table(ctx: *mut c_void, table: *const abi::Table) {
    callback(ctx, (), |c| {
        if table.is_null() {
            c.failed = Some(bad_data("a null table"));
            return;
        }
        match (*table).to_core() {
            Ok(t) => c.tables.push(t),
            Err(e) => c.failed = Some(bad_data(&e)),
        }
    })
}

unsafe extern "C" fn cb_batch(ctx: *mut c_void, batch: *const abi::Batch) -> i32 {
    callback(ctx, abi::ERR, |c| {
        if c.failed.is_some() {
            return abi::ERR;
        }
        if batch.is_null() {
            c.failed = Some(bad_data("a null batch"));
            return abi::ERR;
        }
        let b = match (*batch).to_core() {
            Ok(b) => b,
            Err(e) => {
                c.failed = Some(bad_data(&e));
                return abi::ERR;
            }
        };
        match c.consumer.as_mut() {
            Some(consume) => match consume(b) {
                Ok(true) => abi::OK,
                // The plugin stops; the host knows why.
                Ok(false) => abi::ERR,
                Err(e) => {
                    c.failed = Some(e);
                    abi::ERR
                }
            },
            None => {
                c.batch = Some(b);
                abi::OK
            }
        }
    })
}

/// Marks data the plugin handed over that the host can't read; the label
/// is added by [`Plugin::call`].
fn bad_data(message: &str) -> Error {
    Error::Plugin {
        plugin: String::new(),
        message: format!("gave bad data: {}", one_line(message)),
    }
}

/// One instance's label, for errors.
struct Plugin<'l> {
    label: &'l str,
}

impl Plugin<'_> {
    /// Calls into the plugin with a fresh collector and turns its status
    /// into a result.
    fn call<'a>(
        &self,
        mut c: Collector<'a>,
        f: impl FnOnce(*const abi::Out) -> i32,
    ) -> Result<Collector<'a>> {
        let out = c.out();
        // `out` holds the only pointer to `c` while the plugin runs.
        let status = f(&out);
        if let Some(p) = c.panic.take() {
            resume_unwind(p);
        }
        match c.failed.take() {
            Some(Error::Plugin { plugin, message }) if plugin.is_empty() => {
                return Err(Error::Plugin {
                    plugin: self.label.to_string(),
                    message,
                })
            }
            Some(e) => return Err(e),
            None => {}
        }
        if status != abi::OK {
            let message = c
                .error
                .take()
                .unwrap_or_else(|| "failed without saying why".to_string());
            // A table's fault stays one: `--tolerate` may skip that table.
            return Err(match c.error_table.take() {
                Some(table) => Error::Table {
                    table,
                    message: format!("{}: {message}", self.label),
                },
                None => Error::Plugin {
                    plugin: self.label.to_string(),
                    message,
                },
            });
        }
        Ok(c)
    }

    fn create(
        &self,
        f: impl FnOnce(*const abi::Out, *mut *mut c_void) -> i32,
    ) -> Result<*mut c_void> {
        let mut instance: *mut c_void = std::ptr::null_mut();
        self.call(Collector::default(), |out| f(out, &mut instance))?;
        Ok(instance)
    }
}

fn open_source(f: SourceFns, label: &str, url: &str) -> Result<Box<dyn Source>> {
    let instance = Plugin { label }
        .create(|out, inst| unsafe { (f.open)(f.ctx, Str::new(url), out, inst) })?;
    Ok(Box::new(DynSource {
        f,
        label: label.to_string(),
        instance,
    }))
}

fn create_sink(f: SinkFns, label: &str, options: &SinkOptions) -> Result<Box<dyn Sink>> {
    let o = abi::SinkOptionsRef::new(options);
    let instance =
        Plugin { label }.create(|out, inst| unsafe { (f.create)(f.ctx, o.get(), out, inst) })?;
    Ok(Box::new(DynSink {
        f,
        label: label.to_string(),
        instance,
        models: Vec::new(),
    }))
}

fn create_transformer(f: TransformerFns, label: &str, args: &str) -> Result<Box<dyn Transformer>> {
    let instance = Plugin { label }
        .create(|out, inst| unsafe { (f.create)(f.ctx, Str::new(args), out, inst) })?;
    Ok(Box::new(DynTransformer {
        f,
        label: label.to_string(),
        instance,
    }))
}

struct DynSource {
    f: SourceFns,
    label: String,
    instance: *mut c_void,
}

impl DynSource {
    fn plugin(&self) -> Plugin<'_> {
        Plugin { label: &self.label }
    }
}

impl Source for DynSource {
    fn describe(&self) -> String {
        let i = self.instance;
        let got = self.plugin().call(Collector::default(), |out| unsafe {
            (self.f.describe)(i, out)
        });
        match got.map(|mut c| c.texts.pop()) {
            Ok(Some(t)) => t,
            // Only used in headers and messages: say who, rather than fail.
            _ => self.label.clone(),
        }
    }

    fn schema(&mut self) -> Result<Schema> {
        let i = self.instance;
        let mut c = self.plugin().call(Collector::default(), |out| unsafe {
            (self.f.schema)(i, out)
        })?;
        let mut tables = std::mem::take(&mut c.tables);
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Schema { tables })
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        let t = abi::TableRef::new(table);
        let mut rows = 0u64;
        let i = self.instance;
        self.plugin().call(Collector::default(), |out| unsafe {
            (self.f.count_rows)(i, t.get(), &mut rows, out)
        })?;
        Ok(rows)
    }

    fn read_table(&mut self, table: &Table, batch_rows: usize, out: &mut BatchFn) -> Result<()> {
        let t = abi::TableRef::new(table);
        let i = self.instance;
        let c = Collector {
            consumer: Some(out),
            ..Collector::default()
        };
        self.plugin().call(c, |o| unsafe {
            (self.f.read_table)(i, t.get(), batch_rows, o)
        })?;
        Ok(())
    }
}

impl Drop for DynSource {
    fn drop(&mut self) {
        if !self.instance.is_null() {
            unsafe { (self.f.destroy)(self.instance) };
        }
    }
}

struct DynSink {
    f: SinkFns,
    label: String,
    instance: *mut c_void,
    /// Table names in the order given to `begin`: calls name models by index.
    models: Vec<String>,
}

impl DynSink {
    fn index(&self, model: &Model) -> Result<usize> {
        self.models
            .iter()
            .position(|t| *t == model.table.name)
            .ok_or_else(|| Error::Plugin {
                plugin: self.label.clone(),
                message: format!(
                    "table {} was not among the models given to begin",
                    model.table.name
                ),
            })
    }

    fn plugin(&self) -> Plugin<'_> {
        Plugin { label: &self.label }
    }
}

impl Sink for DynSink {
    fn begin(&mut self, info: &DumpInfo, site: &Site) -> Result<()> {
        self.models = site.models.iter().map(|m| m.table.name.clone()).collect();
        let d = abi::DumpInfoRef::new(info, site);
        let i = self.instance;
        self.plugin().call(Collector::default(), |out| unsafe {
            (self.f.begin)(i, d.get(), out)
        })?;
        Ok(())
    }

    fn table_start(&mut self, model: &Model, expected_rows: u64) -> Result<()> {
        let (m, i) = (self.index(model)?, self.instance);
        self.plugin().call(Collector::default(), |out| unsafe {
            (self.f.table_start)(i, m, expected_rows, out)
        })?;
        Ok(())
    }

    fn rows(&mut self, model: &Model, batch: &Batch) -> Result<()> {
        let (m, i) = (self.index(model)?, self.instance);
        let b = abi::BatchRef::new(batch);
        self.plugin().call(Collector::default(), |out| unsafe {
            (self.f.rows)(i, m, b.get(), out)
        })?;
        Ok(())
    }

    fn table_end(&mut self, model: &Model, rows: u64) -> Result<()> {
        let (m, i) = (self.index(model)?, self.instance);
        self.plugin().call(Collector::default(), |out| unsafe {
            (self.f.table_end)(i, m, rows, out)
        })?;
        Ok(())
    }

    fn table_skipped(&mut self, model: &Model, reason: &str) -> Result<()> {
        let (m, i) = (self.index(model)?, self.instance);
        self.plugin().call(Collector::default(), |out| unsafe {
            (self.f.table_skipped)(i, m, Str::new(reason), out)
        })?;
        Ok(())
    }

    fn finish(&mut self, report: &Report) -> Result<()> {
        let o = abi::outcomes(report);
        let i = self.instance;
        self.plugin().call(Collector::default(), |out| unsafe {
            (self.f.finish)(i, o.as_ptr(), o.len(), out)
        })?;
        Ok(())
    }

    fn abort(&mut self) {
        unsafe { (self.f.abort)(self.instance) };
    }
}

impl Drop for DynSink {
    fn drop(&mut self) {
        if !self.instance.is_null() {
            unsafe { (self.f.destroy)(self.instance) };
        }
    }
}

struct DynTransformer {
    f: TransformerFns,
    label: String,
    instance: *mut c_void,
}

impl Transformer for DynTransformer {
    fn table(&mut self, input: &Table) -> Result<Table> {
        let t = abi::TableRef::new(input);
        let i = self.instance;
        let mut c = Plugin { label: &self.label }.call(Collector::default(), |out| unsafe {
            (self.f.table)(i, t.get(), out)
        })?;
        match c.tables.len() {
            0 => Ok(input.clone()),
            1 => Ok(c.tables.remove(0)),
            n => Err(Error::Plugin {
                plugin: self.label.clone(),
                message: format!("table {}: gave {n} tables, expected one", input.name),
            }),
        }
    }

    fn batch(&mut self, input: &Table, output: &Table, batch: &mut Batch) -> Result<()> {
        let (ti, to) = (abi::TableRef::new(input), abi::TableRef::new(output));
        let b = abi::BatchRef::new(batch);
        let i = self.instance;
        let mut c = Plugin { label: &self.label }.call(Collector::default(), |out| unsafe {
            (self.f.batch)(i, ti.get(), to.get(), b.get(), out)
        })?;
        drop(b);
        if let Some(new) = c.batch.take() {
            *batch = new;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Vec<String>> {
        let Some(finish) = self.f.finish else {
            return Ok(Vec::new());
        };
        let i = self.instance;
        let c = Plugin { label: &self.label }
            .call(Collector::default(), |out| unsafe { finish(i, out) })?;
        Ok(c.texts.iter().map(|t| one_line(t)).collect())
    }
}

impl Drop for DynTransformer {
    fn drop(&mut self) {
        if !self.instance.is_null() {
            unsafe { (self.f.destroy)(self.instance) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_and_a_text_file_are_named() {
        let dir = std::env::temp_dir().join(format!("dump2py-dyn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tempdir");
        let missing = dir.join("nothing.so");
        let err = load(&missing)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("nothing.so: no such file"), "{err}");
        let text = dir.join("text.so");
        std::fs::write(&text, "not a library\n").expect("write");
        let err = load(&text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.starts_with(&format!("plugin {}", text.display())),
            "{err}"
        );
        assert!(err.contains("not a loadable library"), "{err}");
        assert!(!err.contains('\n'));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
