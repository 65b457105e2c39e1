//! The transformer interface across the ABI: [`TransformerDecl`], the
//! plugin's export of a [`Transformer`] ([`declare`]), and the host's
//! [`Transformer`] over a declaration ([`TransformerFns::create`]).

use std::ffi::c_void;

use super::call::{self, guard, host_data, instance, out, Call, DestroyFn, InstanceFn, Out};
use super::table::TableRef;
use super::value::BatchRef;
use super::{missing, one_line, FFI_Batch, FFI_Table, Prefixed, Str, GO_ON};
use dump2py_model::batch::Batch;
use dump2py_model::error::{Error, Result};
use dump2py_model::schema::Table;
use dump2py_plugin::Transformer;

/// Creates a transformer from the text after `NAME:` in `-T NAME:ARGS`.
pub type CreateTransformer = fn(args: &str) -> Result<Box<dyn Transformer>>;

pub type CreateTransformerFn = unsafe extern "C" fn(
    ctx: *const c_void,
    args: Str,
    out: *const Out,
    instance: *mut *mut c_void,
) -> i32;
pub type TableFn =
    unsafe extern "C" fn(instance: *mut c_void, input: *const FFI_Table, out: *const Out) -> i32;
pub type TransformBatchFn = unsafe extern "C" fn(
    instance: *mut c_void,
    input: *const FFI_Table,
    output: *const FFI_Table,
    batch: *const FFI_Batch,
    out: *const Out,
) -> i32;

/// A transformer `name`, created with the text after `NAME:` in `-T`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TransformerDecl {
    /// `size_of` this struct, as the plugin declares it.
    pub size: usize,
    pub name: Str,
    pub ctx: *const c_void,
    pub create: Option<CreateTransformerFn>,
    pub table: Option<TableFn>,
    pub batch: Option<TransformBatchFn>,
    pub destroy: Option<DestroyFn>,
    /// Optional: called once after the last table. `ERR` aborts the dump;
    /// each `out.text` is a line for the user (`-v 2`).
    pub finish: Option<InstanceFn>,
}

unsafe impl Sync for TransformerDecl {}
unsafe impl Send for TransformerDecl {}

unsafe impl Prefixed for TransformerDecl {
    const SIZE_AT: usize = 0;
    const MIN_SIZE: usize = std::mem::size_of::<TransformerDecl>();
}

// ---- the plugin's side ----

/// The declaration of a transformer `name`, made by `create`.
pub const fn declare(name: &'static str, create: &'static CreateTransformer) -> TransformerDecl {
    TransformerDecl {
        size: std::mem::size_of::<TransformerDecl>(),
        name: Str::new(name),
        ctx: create as *const CreateTransformer as *const c_void,
        create: Some(transformer_create as CreateTransformerFn),
        table: Some(transformer_table as TableFn),
        batch: Some(transformer_batch as TransformBatchFn),
        destroy: Some(transformer_destroy as DestroyFn),
        finish: Some(transformer_finish as InstanceFn),
    }
}

type TransformerBox = Box<dyn Transformer>;

unsafe extern "C" fn transformer_create(
    ctx: *const c_void,
    args: Str,
    out: *const Out,
    slot: *mut *mut c_void,
) -> i32 {
    guard(out, || {
        let create = call::context::<CreateTransformer>(ctx)?;
        let t: TransformerBox = create(args.to_str().map_err(host_data)?)?;
        call::put_instance(slot, t)
    })
}

unsafe extern "C" fn transformer_table(
    p: *mut c_void,
    input: *const FFI_Table,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let output = instance::<TransformerBox>(p)?.table(&call::table(input)?)?;
        let o = out(o)?;
        (o.table)(o.ctx, TableRef::new(&output).get());
        Ok(())
    })
}

unsafe extern "C" fn transformer_batch(
    p: *mut c_void,
    input: *const FFI_Table,
    output: *const FFI_Table,
    b: *const FFI_Batch,
    o: *const Out,
) -> i32 {
    guard(o, || {
        let t = instance::<TransformerBox>(p)?;
        let mut rows = call::batch(b)?;
        t.batch(&call::table(input)?, &call::table(output)?, &mut rows)?;
        let o = out(o)?;
        if (o.batch)(o.ctx, BatchRef::new(&rows).get()) != GO_ON {
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
    call::drop_instance::<TransformerBox>(p)
}

// ---- the host's side ----

#[derive(Clone, Copy)]
pub(crate) struct TransformerFns {
    ctx: *const c_void,
    create: CreateTransformerFn,
    table: TableFn,
    batch: TransformBatchFn,
    destroy: DestroyFn,
    finish: Option<InstanceFn>,
}

// The functions point into a library that is never unloaded, and `ctx`
// is the plugin's immutable static.
unsafe impl Send for TransformerFns {}
unsafe impl Sync for TransformerFns {}

impl TransformerFns {
    pub fn new(d: &TransformerDecl) -> Result<TransformerFns, String> {
        Ok(TransformerFns {
            ctx: d.ctx,
            create: d.create.ok_or_else(|| missing("create"))?,
            table: d.table.ok_or_else(|| missing("table"))?,
            batch: d.batch.ok_or_else(|| missing("batch"))?,
            destroy: d.destroy.ok_or_else(|| missing("destroy"))?,
            finish: d.finish,
        })
    }

    /// Creates the plugin's transformer with `args`; `label` names it in errors.
    pub fn create(self, label: &str, args: &str) -> Result<Box<dyn Transformer>> {
        let f = self;
        let instance = Call::create(label, |out, inst| unsafe {
            (f.create)(f.ctx, Str::new(args), out, inst)
        })?;
        Ok(Box::new(DynTransformer {
            f,
            label: label.to_string(),
            instance,
        }))
    }
}

struct DynTransformer {
    f: TransformerFns,
    label: String,
    instance: *mut c_void,
}

impl Transformer for DynTransformer {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn table(&mut self, input: &Table) -> Result<Table> {
        let t = TableRef::new(input);
        let i = self.instance;
        let mut c = Call::new(&self.label).run(|out| unsafe { (self.f.table)(i, t.get(), out) })?;
        match c.tables.len() {
            0 => Ok(input.clone()),
            1 => Ok(c.tables.remove(0)),
            n => Err(Call::fail(
                &self.label,
                format!("table {}: gave {n} tables, expected one", input.name),
            )),
        }
    }

    fn batch(&mut self, input: &Table, output: &Table, batch: &mut Batch) -> Result<()> {
        let (ti, to) = (TableRef::new(input), TableRef::new(output));
        let b = BatchRef::new(batch);
        let i = self.instance;
        let mut c = Call::new(&self.label)
            .run(|out| unsafe { (self.f.batch)(i, ti.get(), to.get(), b.get(), out) })?;
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
        let c = Call::new(&self.label).run(|out| unsafe { finish(i, out) })?;
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
