//! The source interface across the ABI: [`SourceDecl`], the plugin's
//! export of a [`Source`] ([`declare`]), and the host's [`Source`] over a
//! declaration ([`SourceFns::open`]).

use std::ffi::c_void;

use super::call::{self, guard, host_data, instance, out, Call, DestroyFn, InstanceFn, Out};
use super::table::TableRef;
use super::value::BatchRef;
use super::{missing, FFI_Table, Names, Prefixed, Str, GO_ON};
use dump2py_model::error::Result;
use dump2py_model::schema::{Schema, Table};
use dump2py_plugin::{BatchFn, Source};

/// Opens a source for a URL of one of its schemes.
pub type OpenSource = fn(url: &str) -> Result<Box<dyn Source>>;

pub type OpenFn = unsafe extern "C" fn(
    ctx: *const c_void,
    url: Str,
    out: *const Out,
    instance: *mut *mut c_void,
) -> i32;
pub type CountRowsFn = unsafe extern "C" fn(
    instance: *mut c_void,
    table: *const FFI_Table,
    rows: *mut u64,
    out: *const Out,
) -> i32;
pub type ReadTableFn = unsafe extern "C" fn(
    instance: *mut c_void,
    table: *const FFI_Table,
    batch_rows: usize,
    out: *const Out,
) -> i32;

/// A source for the URL schemes `schemes` (without the colon).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SourceDecl {
    /// `size_of` this struct, as the plugin declares it.
    pub size: usize,
    pub name: Str,
    pub schemes: Names,
    /// Passed to `open` as is.
    pub ctx: *const c_void,
    pub open: Option<OpenFn>,
    pub describe: Option<InstanceFn>,
    pub schema: Option<InstanceFn>,
    pub count_rows: Option<CountRowsFn>,
    pub read_table: Option<ReadTableFn>,
    pub destroy: Option<DestroyFn>,
}

// The declarations are immutable statics that only point to other statics.
unsafe impl Sync for SourceDecl {}
unsafe impl Send for SourceDecl {}

unsafe impl Prefixed for SourceDecl {
    const SIZE_AT: usize = 0;
    const MIN_SIZE: usize = std::mem::size_of::<SourceDecl>();
}

// ---- the plugin's side ----

/// The declaration of a source `name` for `schemes`, opened by `open`.
pub const fn declare(
    name: &'static str,
    schemes: &'static [Str],
    open: &'static OpenSource,
) -> SourceDecl {
    SourceDecl {
        size: std::mem::size_of::<SourceDecl>(),
        name: Str::new(name),
        schemes: Names::new(schemes),
        ctx: open as *const OpenSource as *const c_void,
        open: Some(source_open as OpenFn),
        describe: Some(source_describe as InstanceFn),
        schema: Some(source_schema as InstanceFn),
        count_rows: Some(source_count_rows as CountRowsFn),
        read_table: Some(source_read_table as ReadTableFn),
        destroy: Some(source_destroy as DestroyFn),
    }
}

type SourceBox = Box<dyn Source>;

unsafe extern "C" fn source_open(
    ctx: *const c_void,
    url: Str,
    out: *const Out,
    slot: *mut *mut c_void,
) -> i32 {
    guard(out, || {
        let open = call::context::<OpenSource>(ctx)?;
        let source: SourceBox = open(url.to_str().map_err(host_data)?)?;
        call::put_instance(slot, source)
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
            (o.table)(o.ctx, TableRef::new(t).get());
        }
        Ok(())
    })
}

unsafe extern "C" fn source_count_rows(
    p: *mut c_void,
    t: *const FFI_Table,
    rows: *mut u64,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let n = instance::<SourceBox>(p)?.count_rows(&call::table(t)?)?;
        *rows
            .as_mut()
            .ok_or_else(|| host_data("nowhere to put the count"))? = n;
        Ok(())
    })
}

unsafe extern "C" fn source_read_table(
    p: *mut c_void,
    t: *const FFI_Table,
    batch_rows: usize,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let source = instance::<SourceBox>(p)?;
        let o = out(o)?;
        source.read_table(&call::table(t)?, batch_rows, &mut |b| {
            Ok((o.batch)(o.ctx, BatchRef::new(&b).get()) == GO_ON)
        })
    })
}

unsafe extern "C" fn source_destroy(p: *mut c_void) {
    call::drop_instance::<SourceBox>(p)
}

// ---- the host's side ----

/// A source's functions, checked to be there.
#[derive(Clone, Copy)]
pub(crate) struct SourceFns {
    ctx: *const c_void,
    open: OpenFn,
    describe: InstanceFn,
    schema: InstanceFn,
    count_rows: CountRowsFn,
    read_table: ReadTableFn,
    destroy: DestroyFn,
}

// The functions point into a library that is never unloaded, and `ctx`
// is the plugin's immutable static.
unsafe impl Send for SourceFns {}
unsafe impl Sync for SourceFns {}

impl SourceFns {
    pub fn new(d: &SourceDecl) -> Result<SourceFns, String> {
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

    /// Opens the plugin's source for `url`; `label` names it in errors.
    pub fn open(self, label: &str, url: &str) -> Result<Box<dyn Source>> {
        let f = self;
        let instance = Call::create(label, |out, inst| unsafe {
            (f.open)(f.ctx, Str::new(url), out, inst)
        })?;
        Ok(Box::new(DynSource {
            f,
            label: label.to_string(),
            instance,
        }))
    }
}

struct DynSource {
    f: SourceFns,
    label: String,
    instance: *mut c_void,
}

impl Source for DynSource {
    fn describe(&self) -> String {
        let i = self.instance;
        let got = Call::new(&self.label).run(|out| unsafe { (self.f.describe)(i, out) });
        match got.map(|mut c| c.texts.pop()) {
            Ok(Some(t)) => t,
            // Only used in headers and messages: say who, rather than fail.
            _ => self.label.clone(),
        }
    }

    fn schema(&mut self) -> Result<Schema> {
        let i = self.instance;
        let c = Call::new(&self.label).run(|out| unsafe { (self.f.schema)(i, out) })?;
        let mut tables: Vec<Table> = c.tables;
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Schema { tables })
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        let t = TableRef::new(table);
        let mut rows = 0u64;
        let i = self.instance;
        Call::new(&self.label)
            .run(|out| unsafe { (self.f.count_rows)(i, t.get(), &mut rows, out) })?;
        Ok(rows)
    }

    fn read_table(&mut self, table: &Table, batch_rows: usize, out: &mut BatchFn) -> Result<()> {
        let t = TableRef::new(table);
        let i = self.instance;
        let f = self.f;
        Call::feeding(&self.label, out)
            .run(|o| unsafe { (f.read_table)(i, t.get(), batch_rows, o) })?;
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
