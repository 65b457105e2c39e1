//! The C ABI between dump2py and plugin libraries, shared by the host
//! (`dynamic.rs`) and the SDK (`dump2py-sdk`). `sdk/include/dump2py_plugin.h`
//! declares the same types for C; keep the two in step.
//!
//! A library exports one static, [`SYMBOL`], a [`PluginDecl`] whose first
//! field is [`ABI_VERSION`]. Only plain data crosses: integers, pointers
//! with lengths, UTF-8 strings as [`Str`], and `#[repr(C)]` structs of them.
//!
//! Memory: whatever one side passes to the other is borrowed for the
//! duration of that one call. The host hands tables, batches and models to
//! the plugin; the plugin hands its results (a text, tables, batches, an
//! error message) back through the callbacks of [`Out`], which copy them.
//! So each side frees only what it allocated. The one thing the host keeps
//! is an instance, which it gives back to the plugin's `destroy`.
//!
//! Every fallible function returns [`OK`] or [`ERR`]; with `ERR` the plugin
//! has first called `out.error` with a one-line message (and the table at
//! fault, if any).

use std::ffi::c_void;
use std::marker::PhantomData;

use crate::batch::Batch as CoreBatch;
use crate::django::{Field as CoreField, Model as CoreModel, MtiParent, Site};
use crate::plugin::{DumpInfo as CoreDumpInfo, Report, TableOutcome};
use crate::registry::SinkOptions as CoreSinkOptions;
use crate::schema::{
    Column as CoreColumn, ColumnKind, ForeignKey as CoreForeignKey, Table as CoreTable,
};
use crate::value::{Date, DateTime, Time, Value as CoreValue};

/// Bump on any change to the types below. Version 2 added
/// [`TransformerDecl::finish`]; the host still loads version 1 plugins
/// (their transformers as [`TransformerDeclV1`]).
pub const ABI_VERSION: u32 = 2;
/// The oldest version the host loads.
pub const ABI_VERSION_MIN: u32 = 1;
/// The exported static's name, NUL-terminated for the dynamic loader.
pub const SYMBOL: &[u8] = b"DUMP2PY_PLUGIN\0";
pub const OK: i32 = 0;
pub const ERR: i32 = 1;

/// Kind tags of values and columns. A column's kind `UNSUPPORTED` keeps
/// its declared type as the explanation; a value's kind `NULL` is NULL.
pub mod kind {
    pub const NULL: u32 = 0;
    pub const UNSUPPORTED: u32 = 0;
    pub const BOOL: u32 = 1;
    pub const INT: u32 = 2;
    pub const UINT: u32 = 3;
    pub const FLOAT: u32 = 4;
    pub const DECIMAL: u32 = 5;
    pub const TEXT: u32 = 6;
    pub const BYTES: u32 = 7;
    pub const DATE: u32 = 8;
    pub const TIME: u32 = 9;
    pub const DATETIME: u32 = 10;
    pub const JSON: u32 = 11;
    pub const UUID: u32 = 12;
    pub const DURATION: u32 = 13;
}

const DAY_MICROS: i64 = 86_400_000_000;

/// Borrowed bytes, UTF-8 where text is meant; not NUL-terminated. A null
/// `ptr` with `len` 0 is the empty string, or "none" where a field says so.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Str {
    pub ptr: *const u8,
    pub len: usize,
}

// A `Str` is an immutable view; the statics of the SDK's declarations hold them.
unsafe impl Sync for Str {}
unsafe impl Send for Str {}

impl Str {
    pub const NONE: Str = Str {
        ptr: std::ptr::null(),
        len: 0,
    };

    pub const fn new(s: &str) -> Str {
        Str {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    pub const fn bytes(b: &[u8]) -> Str {
        Str {
            ptr: b.as_ptr(),
            len: b.len(),
        }
    }

    pub fn opt(s: Option<&str>) -> Str {
        s.map_or(Str::NONE, Str::new)
    }

    /// # Safety
    /// `ptr` must point to `len` readable bytes that live for `'a`.
    pub unsafe fn as_bytes<'a>(self) -> Result<&'a [u8], String> {
        slice(self.ptr, self.len)
    }

    /// # Safety
    /// As [`Str::as_bytes`].
    pub unsafe fn to_str<'a>(self) -> Result<&'a str, String> {
        std::str::from_utf8(self.as_bytes()?).map_err(|e| format!("text is not UTF-8: {e}"))
    }

    /// None for a null pointer.
    ///
    /// # Safety
    /// As [`Str::as_bytes`].
    pub unsafe fn to_opt_str<'a>(self) -> Result<Option<&'a str>, String> {
        if self.ptr.is_null() {
            Ok(None)
        } else {
            self.to_str().map(Some)
        }
    }

    /// # Safety
    /// As [`Str::as_bytes`].
    pub unsafe fn to_string(self) -> Result<String, String> {
        self.to_str().map(str::to_string)
    }
}

/// A slice from a pointer and a length; a null pointer is only allowed
/// with length 0.
///
/// # Safety
/// A non-null `ptr` must point to `len` valid `T`s that live for `'a`.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], String> {
    if len == 0 {
        Ok(&[])
    } else if ptr.is_null() {
        Err(format!("null pointer with length {len}"))
    } else {
        Ok(std::slice::from_raw_parts(ptr, len))
    }
}

/// A list of names (primary-key columns, schemes, languages, …).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub ptr: *const Str,
    pub len: usize,
}

unsafe impl Sync for Names {}
unsafe impl Send for Names {}

impl Names {
    pub const fn new(names: &[Str]) -> Names {
        Names {
            ptr: names.as_ptr(),
            len: names.len(),
        }
    }

    /// # Safety
    /// The pointers must be valid for the duration of the call.
    pub unsafe fn to_vec(self) -> Result<Vec<String>, String> {
        slice(self.ptr, self.len)?
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

/// One value. `kind` says which payload holds it:
///
/// | kind | payload |
/// |---|---|
/// | NULL | none |
/// | BOOL | `int` 0 or 1 |
/// | INT, DURATION | `int` (a duration in microseconds) |
/// | UINT | `int`, the bits of the u64 |
/// | FLOAT | `float` |
/// | DECIMAL, TEXT, JSON | `ptr`/`len`: UTF-8 (a decimal as exact text, e.g. `-12.50`) |
/// | BYTES | `ptr`/`len` |
/// | UUID | `ptr`/`len`: 16 bytes |
/// | DATE | `int`: days since 1970-01-01 |
/// | TIME | `int`: microseconds since midnight |
/// | DATETIME | `int`: microseconds since 1970-01-01 00:00 of the stored wall time; `aware` 1 with `offset_minutes` for an aware value (sources store aware values in UTC, offset 0) |
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Value {
    pub kind: u32,
    pub aware: u8,
    pub offset_minutes: i16,
    pub int: i64,
    pub float: f64,
    pub ptr: *const u8,
    pub len: usize,
}

impl Value {
    const NULL: Value = Value {
        kind: kind::NULL,
        aware: 0,
        offset_minutes: 0,
        int: 0,
        float: 0.0,
        ptr: std::ptr::null(),
        len: 0,
    };

    fn int(kind: u32, int: i64) -> Value {
        Value {
            kind,
            int,
            ..Value::NULL
        }
    }

    fn bytes(kind: u32, b: &[u8]) -> Value {
        Value {
            kind,
            ptr: b.as_ptr(),
            len: b.len(),
            ..Value::NULL
        }
    }

    /// A view of `v`, valid while `v` is.
    pub fn borrow(v: &CoreValue) -> Value {
        match v {
            CoreValue::Null => Value::NULL,
            CoreValue::Bool(b) => Value::int(kind::BOOL, *b as i64),
            CoreValue::Int(i) => Value::int(kind::INT, *i),
            CoreValue::UInt(u) => Value::int(kind::UINT, *u as i64),
            CoreValue::Float(f) => Value {
                kind: kind::FLOAT,
                float: *f,
                ..Value::NULL
            },
            CoreValue::Decimal(s) => Value::bytes(kind::DECIMAL, s.as_bytes()),
            CoreValue::Text(s) => Value::bytes(kind::TEXT, s.as_bytes()),
            CoreValue::Json(s) => Value::bytes(kind::JSON, s.as_bytes()),
            CoreValue::Bytes(b) => Value::bytes(kind::BYTES, b),
            CoreValue::Uuid(u) => Value::bytes(kind::UUID, u),
            CoreValue::Date(d) => Value::int(kind::DATE, d.to_days()),
            CoreValue::Time(t) => Value::int(kind::TIME, time_micros(t)),
            CoreValue::DateTime(dt) => Value {
                kind: kind::DATETIME,
                aware: dt.offset_minutes.is_some() as u8,
                offset_minutes: dt.offset_minutes.unwrap_or(0),
                int: dt.date.to_days() * DAY_MICROS + time_micros(&dt.time),
                ..Value::NULL
            },
            CoreValue::Duration(d) => Value::int(kind::DURATION, *d),
        }
    }

    /// A copy of the value.
    ///
    /// # Safety
    /// `ptr`/`len` must be valid for kinds that use them.
    pub unsafe fn to_core(&self) -> Result<CoreValue, String> {
        let text = || -> Result<String, String> { Str::bytes(self.bytes_unchecked()?).to_string() };
        Ok(match self.kind {
            kind::NULL => CoreValue::Null,
            kind::BOOL => CoreValue::Bool(self.int != 0),
            kind::INT => CoreValue::Int(self.int),
            kind::UINT => CoreValue::UInt(self.int as u64),
            kind::FLOAT => CoreValue::Float(self.float),
            kind::DECIMAL => CoreValue::Decimal(text()?),
            kind::TEXT => CoreValue::Text(text()?),
            kind::JSON => CoreValue::Json(text()?),
            kind::BYTES => CoreValue::Bytes(self.bytes_unchecked()?.to_vec()),
            kind::UUID => CoreValue::Uuid(
                self.bytes_unchecked()?
                    .try_into()
                    .map_err(|_| format!("a UUID has 16 bytes, not {}", self.len))?,
            ),
            kind::DATE => CoreValue::Date(date(self.int)?),
            kind::TIME => CoreValue::Time(time(self.int)?),
            kind::DATETIME => {
                let d = date(self.int.div_euclid(DAY_MICROS))?;
                let t = time(self.int.rem_euclid(DAY_MICROS))?;
                CoreValue::DateTime(DateTime {
                    date: d,
                    time: t,
                    offset_minutes: (self.aware != 0).then_some(self.offset_minutes),
                })
            }
            kind::DURATION => CoreValue::Duration(self.int),
            other => return Err(format!("unknown value kind {other}")),
        })
    }

    unsafe fn bytes_unchecked<'a>(&self) -> Result<&'a [u8], String> {
        slice(self.ptr, self.len)
    }
}

fn time_micros(t: &Time) -> i64 {
    ((t.hour as i64 * 60 + t.minute as i64) * 60 + t.second as i64) * 1_000_000 + t.micro as i64
}

fn date(days: i64) -> Result<Date, String> {
    Date::from_days(days).ok_or_else(|| format!("date {days} days from 1970-01-01 is out of range"))
}

fn time(micros: i64) -> Result<Time, String> {
    if !(0..DAY_MICROS).contains(&micros) {
        return Err(format!("time of {micros} microseconds is not within a day"));
    }
    let secs = micros / 1_000_000;
    Time::new(
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
        (micros % 1_000_000) as u32,
    )
    .ok_or_else(|| format!("bad time {micros}"))
}

fn column_kind_code(k: &ColumnKind) -> u32 {
    match k {
        ColumnKind::Bool => kind::BOOL,
        ColumnKind::Int => kind::INT,
        ColumnKind::UInt => kind::UINT,
        ColumnKind::Float => kind::FLOAT,
        ColumnKind::Decimal => kind::DECIMAL,
        ColumnKind::Text => kind::TEXT,
        ColumnKind::Bytes => kind::BYTES,
        ColumnKind::Date => kind::DATE,
        ColumnKind::Time => kind::TIME,
        ColumnKind::DateTime => kind::DATETIME,
        ColumnKind::Json => kind::JSON,
        ColumnKind::Uuid => kind::UUID,
        ColumnKind::Duration => kind::DURATION,
        ColumnKind::Unsupported(_) => kind::UNSUPPORTED,
    }
}

fn column_kind(code: u32, declared: &str) -> Result<ColumnKind, String> {
    Ok(match code {
        kind::UNSUPPORTED => ColumnKind::Unsupported(declared.to_string()),
        kind::BOOL => ColumnKind::Bool,
        kind::INT => ColumnKind::Int,
        kind::UINT => ColumnKind::UInt,
        kind::FLOAT => ColumnKind::Float,
        kind::DECIMAL => ColumnKind::Decimal,
        kind::TEXT => ColumnKind::Text,
        kind::BYTES => ColumnKind::Bytes,
        kind::DATE => ColumnKind::Date,
        kind::TIME => ColumnKind::Time,
        kind::DATETIME => ColumnKind::DateTime,
        kind::JSON => ColumnKind::Json,
        kind::UUID => ColumnKind::Uuid,
        kind::DURATION => ColumnKind::Duration,
        other => return Err(format!("unknown column kind {other}")),
    })
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: Str,
    /// As the database declares it, e.g. `varchar(200)`.
    pub declared_type: Str,
    /// A [`kind`] tag; `UNSUPPORTED` for a type no kind reads.
    pub kind: u32,
    pub nullable: u8,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ForeignKey {
    pub column: Str,
    pub target_table: Str,
    pub target_column: Str,
}

/// A table: columns in database order, primary key, foreign keys, and the
/// sets of columns with a unique constraint (the primary key excluded).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: Str,
    pub columns: *const Column,
    pub n_columns: usize,
    pub primary_key: Names,
    pub foreign_keys: *const ForeignKey,
    pub n_foreign_keys: usize,
    pub unique: *const Names,
    pub n_unique: usize,
}

/// A [`Table`] view of a core table, with the arrays it points to.
pub struct TableRef<'a> {
    _columns: Vec<Column>,
    _primary_key: Vec<Str>,
    _foreign_keys: Vec<ForeignKey>,
    _unique_names: Vec<Vec<Str>>,
    _unique: Vec<Names>,
    raw: Table,
    _borrow: PhantomData<&'a CoreTable>,
}

impl<'a> TableRef<'a> {
    pub fn new(t: &'a CoreTable) -> TableRef<'a> {
        let columns: Vec<Column> = t
            .columns
            .iter()
            .map(|c| Column {
                name: Str::new(&c.name),
                declared_type: Str::new(&c.declared_type),
                kind: column_kind_code(&c.kind),
                nullable: c.nullable as u8,
            })
            .collect();
        let primary_key: Vec<Str> = t.primary_key.iter().map(|s| Str::new(s)).collect();
        let foreign_keys: Vec<ForeignKey> = t
            .foreign_keys
            .iter()
            .map(|f| ForeignKey {
                column: Str::new(&f.column),
                target_table: Str::new(&f.target_table),
                target_column: Str::new(&f.target_column),
            })
            .collect();
        let unique_names: Vec<Vec<Str>> = t
            .unique
            .iter()
            .map(|u| u.iter().map(|s| Str::new(s)).collect())
            .collect();
        let unique: Vec<Names> = unique_names.iter().map(|u| Names::new(u)).collect();
        // The vectors' heap buffers don't move when the vectors do.
        let raw = Table {
            name: Str::new(&t.name),
            columns: columns.as_ptr(),
            n_columns: columns.len(),
            primary_key: Names::new(&primary_key),
            foreign_keys: foreign_keys.as_ptr(),
            n_foreign_keys: foreign_keys.len(),
            unique: unique.as_ptr(),
            n_unique: unique.len(),
        };
        TableRef {
            _columns: columns,
            _primary_key: primary_key,
            _foreign_keys: foreign_keys,
            _unique_names: unique_names,
            _unique: unique,
            raw,
            _borrow: PhantomData,
        }
    }

    pub fn get(&self) -> &Table {
        &self.raw
    }
}

impl Table {
    /// A copy of the table.
    ///
    /// # Safety
    /// All pointers must be valid for the duration of the call.
    pub unsafe fn to_core(&self) -> Result<CoreTable, String> {
        let name = self.name.to_string()?;
        let inner = || -> Result<CoreTable, String> {
            let columns = slice(self.columns, self.n_columns)?
                .iter()
                .map(|c| {
                    let declared_type = c.declared_type.to_string()?;
                    Ok(CoreColumn {
                        name: c.name.to_string()?,
                        kind: column_kind(c.kind, &declared_type)?,
                        declared_type,
                        nullable: c.nullable != 0,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            let foreign_keys = slice(self.foreign_keys, self.n_foreign_keys)?
                .iter()
                .map(|f| {
                    Ok(CoreForeignKey {
                        column: f.column.to_string()?,
                        target_table: f.target_table.to_string()?,
                        target_column: f.target_column.to_string()?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            let unique = slice(self.unique, self.n_unique)?
                .iter()
                .map(|u| u.to_vec())
                .collect::<Result<Vec<_>, String>>()?;
            Ok(CoreTable {
                name: name.clone(),
                columns,
                primary_key: self.primary_key.to_vec()?,
                foreign_keys,
                unique,
            })
        };
        inner().map_err(|e| format!("table {name}: {e}"))
    }
}

/// Rows laid out flat: `n_values / width` rows of `width` values.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    pub width: usize,
    pub values: *const Value,
    pub n_values: usize,
}

/// A [`Batch`] view of a core batch.
pub struct BatchRef<'a> {
    _values: Vec<Value>,
    raw: Batch,
    _borrow: PhantomData<&'a CoreBatch>,
}

impl<'a> BatchRef<'a> {
    pub fn new(b: &'a CoreBatch) -> BatchRef<'a> {
        let values: Vec<Value> = b.values.iter().map(Value::borrow).collect();
        let raw = Batch {
            width: b.width,
            values: values.as_ptr(),
            n_values: values.len(),
        };
        BatchRef {
            _values: values,
            raw,
            _borrow: PhantomData,
        }
    }

    pub fn get(&self) -> &Batch {
        &self.raw
    }
}

impl Batch {
    /// A copy of the rows.
    ///
    /// # Safety
    /// All pointers must be valid for the duration of the call.
    pub unsafe fn to_core(&self) -> Result<CoreBatch, String> {
        let values = slice(self.values, self.n_values)?;
        if self.width == 0 && !values.is_empty()
            || self.width != 0 && values.len() % self.width != 0
        {
            return Err(format!(
                "a batch of {} values is not made of rows of {}",
                values.len(),
                self.width
            ));
        }
        Ok(CoreBatch {
            width: self.width,
            values: values
                .iter()
                .map(|v| v.to_core())
                .collect::<Result<_, _>>()?,
        })
    }
}

/// A model's field. `index` is its column's position in the rows; a babel
/// field's other languages are at `babel`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: Str,
    pub attname: Str,
    pub column: Str,
    pub index: usize,
    /// The target table of a foreign key; null when none.
    pub fk_table: Str,
    pub is_babel: u8,
    pub babel: *const usize,
    pub n_babel: usize,
}

/// What a sink needs to know of one model; sinks' calls name a model by
/// its position in [`DumpInfo::models`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub table: Table,
    pub app_label: Str,
    /// Lowercase, as in `django_content_type.model`.
    pub model_name: Str,
    /// CamelCase, e.g. `Partner`; null when not known (no site metadata).
    pub object_name: Str,
    pub fields: *const Field,
    pub n_fields: usize,
    /// The MTI parent's table and the link column; null when none.
    pub mti_parent_table: Str,
    pub mti_link_column: Str,
    /// An auto-created many-to-many link table.
    pub auto_created: u8,
}

/// What a sink's `begin` gets: the dump and its models in dump order.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DumpInfo {
    /// The source, redacted (no password).
    pub source: Str,
    pub tool_version: Str,
    pub models: *const Model,
    pub n_models: usize,
    /// The site's languages, the default first; empty when not given.
    pub languages: Names,
}

/// A [`DumpInfo`] view of the core's dump info and site.
pub struct DumpInfoRef<'a> {
    _tables: Vec<TableRef<'a>>,
    _babel: Vec<Vec<usize>>,
    _fields: Vec<Vec<Field>>,
    _models: Vec<Model>,
    _languages: Vec<Str>,
    raw: DumpInfo,
}

impl<'a> DumpInfoRef<'a> {
    pub fn new(info: &'a CoreDumpInfo, site: &'a Site) -> DumpInfoRef<'a> {
        let tables: Vec<TableRef> = site
            .models
            .iter()
            .map(|m| TableRef::new(&m.table))
            .collect();
        let babel: Vec<Vec<usize>> = site
            .models
            .iter()
            .flat_map(|m| m.fields.iter().map(|f| f.babel.clone()))
            .collect();
        let mut babel_iter = babel.iter();
        let fields: Vec<Vec<Field>> = site
            .models
            .iter()
            .map(|m| {
                m.fields
                    .iter()
                    .zip(babel_iter.by_ref())
                    .map(|(f, b)| Field {
                        name: Str::new(&f.name),
                        attname: Str::new(&f.attname),
                        column: Str::new(&f.column),
                        index: f.index,
                        fk_table: Str::opt(f.fk_table.as_deref()),
                        is_babel: f.is_babel as u8,
                        babel: b.as_ptr(),
                        n_babel: b.len(),
                    })
                    .collect()
            })
            .collect();
        let models: Vec<Model> = site
            .models
            .iter()
            .zip(&tables)
            .zip(&fields)
            .map(|((m, t), f)| Model {
                table: *t.get(),
                app_label: Str::new(&m.app_label),
                model_name: Str::new(&m.model_name),
                object_name: Str::opt(m.object_name.as_deref()),
                fields: f.as_ptr(),
                n_fields: f.len(),
                mti_parent_table: Str::opt(m.mti_parent.as_ref().map(|p| p.table.as_str())),
                mti_link_column: Str::opt(m.mti_parent.as_ref().map(|p| p.link_column.as_str())),
                auto_created: m.auto_created as u8,
            })
            .collect();
        let languages: Vec<Str> = site.languages.iter().map(|l| Str::new(l)).collect();
        let raw = DumpInfo {
            source: Str::new(&info.source),
            tool_version: Str::new(&info.tool_version),
            models: models.as_ptr(),
            n_models: models.len(),
            languages: Names::new(&languages),
        };
        DumpInfoRef {
            _tables: tables,
            _babel: babel,
            _fields: fields,
            _models: models,
            _languages: languages,
            raw,
        }
    }

    pub fn get(&self) -> &DumpInfo {
        &self.raw
    }
}

impl DumpInfo {
    /// A copy: the dump info and a site with the models (no cycles, no
    /// content types, no site settings).
    ///
    /// # Safety
    /// All pointers must be valid for the duration of the call.
    pub unsafe fn to_core(&self) -> Result<(CoreDumpInfo, Site), String> {
        let info = CoreDumpInfo {
            source: self.source.to_string()?,
            tool_version: self.tool_version.to_string()?,
            ..CoreDumpInfo::default()
        };
        let models = slice(self.models, self.n_models)?
            .iter()
            .map(|m| m.to_core())
            .collect::<Result<Vec<_>, String>>()?;
        let site = Site {
            models,
            languages: self.languages.to_vec()?,
            ..Site::default()
        };
        Ok((info, site))
    }
}

impl Model {
    unsafe fn to_core(self) -> Result<CoreModel, String> {
        let table = self.table.to_core()?;
        let fields = slice(self.fields, self.n_fields)?
            .iter()
            .map(|f| {
                let column = f.column.to_string()?;
                let kind = table
                    .columns
                    .get(f.index)
                    .map(|c| c.kind.clone())
                    .ok_or_else(|| format!("field {column}: no column {}", f.index))?;
                Ok(CoreField {
                    name: f.name.to_string()?,
                    attname: f.attname.to_string()?,
                    column,
                    index: f.index,
                    kind,
                    fk_table: f.fk_table.to_opt_str()?.map(str::to_string),
                    is_babel: f.is_babel != 0,
                    babel: slice(f.babel, f.n_babel)?.to_vec(),
                    internal_type: None,
                    choicelist: None,
                    decimal_places: None,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mti_parent = match (
            self.mti_parent_table.to_opt_str()?,
            self.mti_link_column.to_opt_str()?,
        ) {
            (Some(t), Some(c)) => Some(MtiParent {
                table: t.to_string(),
                link_column: c.to_string(),
            }),
            _ => None,
        };
        Ok(CoreModel {
            depends_on: table
                .foreign_keys
                .iter()
                .map(|f| f.target_table.clone())
                .collect(),
            table,
            app_label: self.app_label.to_string()?,
            model_name: self.model_name.to_string()?,
            object_name: self.object_name.to_opt_str()?.map(str::to_string),
            problem: None,
            fields,
            mti_parent,
            auto_created: self.auto_created != 0,
        })
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KeyValue {
    pub key: Str,
    pub value: Str,
}

/// How a sink is created. `target` is a path (its bytes; UTF-8 on Windows),
/// `-` for standard output.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SinkOptions {
    pub target: Str,
    pub overwrite: u8,
    pub max_row_count: u64,
    pub extra: *const KeyValue,
    pub n_extra: usize,
}

pub struct SinkOptionsRef<'a> {
    _target: std::borrow::Cow<'a, [u8]>,
    _extra: Vec<KeyValue>,
    raw: SinkOptions,
}

fn path_bytes(p: &std::path::Path) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(p.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        match p.to_string_lossy() {
            std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(s.as_bytes()),
            std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s.into_bytes()),
        }
    }
}

fn bytes_path(b: &[u8]) -> Result<std::path::PathBuf, String> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(std::ffi::OsStr::from_bytes(b).into())
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(b)
            .map(Into::into)
            .map_err(|e| format!("path is not UTF-8: {e}"))
    }
}

impl<'a> SinkOptionsRef<'a> {
    pub fn new(o: &'a CoreSinkOptions) -> SinkOptionsRef<'a> {
        let target = path_bytes(&o.target);
        let extra: Vec<KeyValue> = o
            .extra
            .iter()
            .map(|(k, v)| KeyValue {
                key: Str::new(k),
                value: Str::new(v),
            })
            .collect();
        let raw = SinkOptions {
            target: Str::bytes(&target),
            overwrite: o.overwrite as u8,
            max_row_count: o.max_row_count,
            extra: extra.as_ptr(),
            n_extra: extra.len(),
        };
        SinkOptionsRef {
            _target: target,
            _extra: extra,
            raw,
        }
    }

    pub fn get(&self) -> &SinkOptions {
        &self.raw
    }
}

impl SinkOptions {
    /// # Safety
    /// All pointers must be valid for the duration of the call.
    pub unsafe fn to_core(&self) -> Result<CoreSinkOptions, String> {
        Ok(CoreSinkOptions {
            target: bytes_path(self.target.as_bytes()?)?,
            overwrite: self.overwrite != 0,
            max_row_count: self.max_row_count,
            extra: slice(self.extra, self.n_extra)?
                .iter()
                .map(|kv| Ok((kv.key.to_string()?, kv.value.to_string()?)))
                .collect::<Result<_, String>>()?,
        })
    }
}

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

/// The host's callbacks for one call. The plugin passes its results to
/// them; what it passes is borrowed for the callback only (the host copies).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub ctx: *mut c_void,
    /// The error of the call that is about to return `ERR`: one line.
    /// `table` is null, or names the table whose data caused it (a source
    /// that can't read one table): with `--tolerate` that table is skipped.
    pub error: unsafe extern "C" fn(ctx: *mut c_void, message: Str, table: Str),
    /// A source's `describe`; a transformer's `finish`, once per line.
    pub text: unsafe extern "C" fn(ctx: *mut c_void, text: Str),
    /// A source's `schema` (once per table, in database order) and a
    /// transformer's `table` (at most once: not called means unchanged).
    pub table: unsafe extern "C" fn(ctx: *mut c_void, table: *const Table),
    /// A source's `read_table` (once per batch) and a transformer's `batch`
    /// (at most once: not called means unchanged). Returns `OK`, or `ERR`
    /// when the host wants the plugin to stop and return `ERR` at once.
    pub batch: unsafe extern "C" fn(ctx: *mut c_void, batch: *const Batch) -> i32,
}

pub type OpenFn = unsafe extern "C" fn(
    ctx: *const c_void,
    url: Str,
    out: *const Out,
    instance: *mut *mut c_void,
) -> i32;
pub type InstanceFn = unsafe extern "C" fn(instance: *mut c_void, out: *const Out) -> i32;
pub type CountRowsFn = unsafe extern "C" fn(
    instance: *mut c_void,
    table: *const Table,
    rows: *mut u64,
    out: *const Out,
) -> i32;
pub type ReadTableFn = unsafe extern "C" fn(
    instance: *mut c_void,
    table: *const Table,
    batch_rows: usize,
    out: *const Out,
) -> i32;
pub type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);

/// A source for the URL schemes `schemes` (without the colon).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SourceDecl {
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

pub type CreateSinkFn = unsafe extern "C" fn(
    ctx: *const c_void,
    options: *const SinkOptions,
    out: *const Out,
    instance: *mut *mut c_void,
) -> i32;
pub type BeginFn =
    unsafe extern "C" fn(instance: *mut c_void, info: *const DumpInfo, out: *const Out) -> i32;
/// `table_start` (with the expected rows) and `table_end` (with the rows
/// written): `model` indexes the models given to `begin`.
pub type ModelCountFn =
    unsafe extern "C" fn(instance: *mut c_void, model: usize, rows: u64, out: *const Out) -> i32;
pub type RowsFn = unsafe extern "C" fn(
    instance: *mut c_void,
    model: usize,
    batch: *const Batch,
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

/// A sink for the output format `name`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SinkDecl {
    pub name: Str,
    pub ctx: *const c_void,
    pub create: Option<CreateSinkFn>,
    pub begin: Option<BeginFn>,
    pub table_start: Option<ModelCountFn>,
    pub rows: Option<RowsFn>,
    pub table_end: Option<ModelCountFn>,
    pub table_skipped: Option<SkippedFn>,
    pub finish: Option<FinishFn>,
    /// Drops whatever the sink wrote; cannot fail.
    pub abort: Option<DestroyFn>,
    pub destroy: Option<DestroyFn>,
}

pub type CreateTransformerFn = unsafe extern "C" fn(
    ctx: *const c_void,
    args: Str,
    out: *const Out,
    instance: *mut *mut c_void,
) -> i32;
pub type TableFn =
    unsafe extern "C" fn(instance: *mut c_void, input: *const Table, out: *const Out) -> i32;
pub type TransformBatchFn = unsafe extern "C" fn(
    instance: *mut c_void,
    input: *const Table,
    output: *const Table,
    batch: *const Batch,
    out: *const Out,
) -> i32;

/// A transformer `name`, created with the text after `NAME:` in `-T`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TransformerDecl {
    pub name: Str,
    pub ctx: *const c_void,
    pub create: Option<CreateTransformerFn>,
    pub table: Option<TableFn>,
    pub batch: Option<TransformBatchFn>,
    pub destroy: Option<DestroyFn>,
    /// Optional (since version 2): called once after the last table. `ERR`
    /// aborts the dump; each `out.text` is a line for the user (`-v 2`).
    pub finish: Option<InstanceFn>,
}

/// A transformer of an ABI version 1 plugin: without `finish`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TransformerDeclV1 {
    pub name: Str,
    pub ctx: *const c_void,
    pub create: Option<CreateTransformerFn>,
    pub table: Option<TableFn>,
    pub batch: Option<TransformBatchFn>,
    pub destroy: Option<DestroyFn>,
}

impl From<&TransformerDeclV1> for TransformerDecl {
    fn from(d: &TransformerDeclV1) -> TransformerDecl {
        TransformerDecl {
            name: d.name,
            ctx: d.ctx,
            create: d.create,
            table: d.table,
            batch: d.batch,
            destroy: d.destroy,
            finish: None,
        }
    }
}

/// The one exported declaration. The host reads `abi_version` first and
/// nothing else unless it is [`ABI_VERSION`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PluginDecl {
    pub abi_version: u32,
    pub name: Str,
    pub version: Str,
    pub sources: *const SourceDecl,
    pub n_sources: usize,
    pub sinks: *const SinkDecl,
    pub n_sinks: usize,
    /// [`TransformerDeclV1`]s in a version 1 plugin.
    pub transformers: *const TransformerDecl,
    pub n_transformers: usize,
}

// The declarations are immutable statics that only point to other statics.
unsafe impl Sync for SourceDecl {}
unsafe impl Send for SourceDecl {}
unsafe impl Sync for SinkDecl {}
unsafe impl Send for SinkDecl {}
unsafe impl Sync for TransformerDecl {}
unsafe impl Send for TransformerDecl {}
unsafe impl Sync for TransformerDeclV1 {}
unsafe impl Send for TransformerDeclV1 {}
unsafe impl Sync for PluginDecl {}
unsafe impl Send for PluginDecl {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnKind;

    #[test]
    fn values_round_trip() {
        let dt = |s| CoreValue::DateTime(DateTime::parse(s).expect("valid"));
        let values = [
            CoreValue::Null,
            CoreValue::Bool(true),
            CoreValue::Int(i64::MIN),
            CoreValue::UInt(u64::MAX),
            CoreValue::Float(-0.5),
            CoreValue::Decimal("-12.50".into()),
            CoreValue::Text("ä\u{0}'x".into()),
            CoreValue::Bytes(vec![0, 255]),
            CoreValue::Date(Date::new(1, 1, 1).expect("valid")),
            CoreValue::Date(Date::new(9999, 12, 31).expect("valid")),
            CoreValue::Time(Time::new(23, 59, 59, 999_999).expect("valid")),
            dt("1969-12-31 23:59:59.999999"),
            dt("2024-03-31T01:30:05.123456Z"),
            CoreValue::DateTime(DateTime {
                offset_minutes: Some(-90),
                ..DateTime::parse("0001-01-01 00:00:00").expect("valid")
            }),
            CoreValue::Json("{\"a\": 1.0}".into()),
            CoreValue::Uuid([7; 16]),
            CoreValue::Duration(-1),
        ];
        for v in values {
            let back = unsafe { Value::borrow(&v).to_core() };
            assert_eq!(back.as_ref(), Ok(&v));
        }
    }

    #[test]
    fn bad_values_are_errors() {
        let bad = Value {
            kind: kind::TIME,
            int: DAY_MICROS,
            ..Value::NULL
        };
        assert!(unsafe { bad.to_core() }.is_err());
        let text = Value {
            kind: kind::TEXT,
            ptr: [0xffu8].as_ptr(),
            len: 1,
            ..Value::NULL
        };
        let err = unsafe { text.to_core() }.err().unwrap_or_default();
        assert!(err.contains("not UTF-8"), "{err}");
        let null = Value {
            kind: kind::BYTES,
            len: 3,
            ..Value::NULL
        };
        assert!(unsafe { null.to_core() }.is_err());
        assert!(unsafe { Value::int(99, 0).to_core() }.is_err());
    }

    #[test]
    fn tables_and_batches_round_trip() {
        let col = |n: &str, kind| CoreColumn {
            name: n.into(),
            declared_type: "x(1)".into(),
            kind,
            nullable: true,
        };
        let t = CoreTable {
            name: "app_thing".into(),
            columns: vec![
                col("id", ColumnKind::Int),
                col("odd", ColumnKind::Unsupported("x(1)".into())),
            ],
            primary_key: vec!["id".into()],
            foreign_keys: vec![CoreForeignKey {
                column: "odd".into(),
                target_table: "app_other".into(),
                target_column: "id".into(),
            }],
            unique: vec![vec!["id".into(), "odd".into()], vec![]],
        };
        let r = TableRef::new(&t);
        assert_eq!(unsafe { r.get().to_core() }, Ok(t.clone()));
        let mut b = CoreBatch::new(2, 2);
        b.push_row([CoreValue::Int(1), CoreValue::Text("a".into())]);
        b.push_row([CoreValue::Int(2), CoreValue::Null]);
        let br = BatchRef::new(&b);
        assert_eq!(unsafe { br.get().to_core() }, Ok(b.clone()));
        let ragged = Batch {
            width: 2,
            n_values: 1,
            ..*br.get()
        };
        assert!(unsafe { ragged.to_core() }.is_err());
    }
}
