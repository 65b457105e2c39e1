//! Tables, models, and what a sink's `begin` gets ([`FFI_DumpInfo`]): the
//! schema and its Django view as they cross, either way.

use std::marker::PhantomData;

use super::value::kind;
use super::{slice, Names, Prefixed, Str};
use dump2py_django::{Field, Model, MtiParent, Site};
use dump2py_model::schema::{Column, ColumnKind, ForeignKey, Table};
use dump2py_plugin::DumpInfo;

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
        ColumnKind::Composite => kind::COMPOSITE,
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
        kind::COMPOSITE => ColumnKind::Composite,
        other => return Err(format!("unknown column kind {other}")),
    })
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FFI_Column {
    pub name: Str,
    /// As the database declares it, e.g. `varchar(200)`.
    pub declared_type: Str,
    /// A [`kind`] tag; `UNSUPPORTED` for a type no kind reads.
    pub kind: u32,
    pub nullable: u8,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FFI_ForeignKey {
    pub column: Str,
    pub target_table: Str,
    pub target_column: Str,
}

/// A table: columns in database order, primary key, foreign keys, and the
/// sets of columns with a unique constraint (the primary key excluded).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FFI_Table {
    pub name: Str,
    pub columns: *const FFI_Column,
    pub n_columns: usize,
    pub primary_key: Names,
    pub foreign_keys: *const FFI_ForeignKey,
    pub n_foreign_keys: usize,
    pub unique: *const Names,
    pub n_unique: usize,
}

/// A [`FFI_Table`] view of a core table, with the arrays it points to.
pub struct TableRef<'a> {
    _columns: Vec<FFI_Column>,
    _primary_key: Vec<Str>,
    _foreign_keys: Vec<FFI_ForeignKey>,
    _unique_names: Vec<Vec<Str>>,
    _unique: Vec<Names>,
    raw: FFI_Table,
    _borrow: PhantomData<&'a Table>,
}

impl<'a> TableRef<'a> {
    pub fn new(t: &'a Table) -> TableRef<'a> {
        let columns: Vec<FFI_Column> = t
            .columns
            .iter()
            .map(|c| FFI_Column {
                name: Str::new(&c.name),
                declared_type: Str::new(&c.declared_type),
                kind: column_kind_code(&c.kind),
                nullable: c.nullable as u8,
            })
            .collect();
        let primary_key: Vec<Str> = t.primary_key.iter().map(|s| Str::new(s)).collect();
        let foreign_keys: Vec<FFI_ForeignKey> = t
            .foreign_keys
            .iter()
            .map(|f| FFI_ForeignKey {
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
        let raw = FFI_Table {
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

    pub fn get(&self) -> &FFI_Table {
        &self.raw
    }
}

impl FFI_Table {
    /// A copy of the table.
    ///
    /// # Safety
    /// All pointers must be valid for the duration of the call.
    pub unsafe fn to_core(&self) -> Result<Table, String> {
        let name = self.name.to_string()?;
        let inner = || -> Result<Table, String> {
            let columns = slice(self.columns, self.n_columns)?
                .iter()
                .map(|c| {
                    let declared_type = c.declared_type.to_string()?;
                    Ok(Column {
                        name: c.name.to_string()?,
                        kind: column_kind(c.kind, &declared_type)?,
                        declared_type,
                        nullable: c.nullable != 0,
                        // ABI version 3 doesn't carry it.
                        generated: false,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            let foreign_keys = slice(self.foreign_keys, self.n_foreign_keys)?
                .iter()
                .map(|f| {
                    Ok(ForeignKey {
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
            Ok(Table {
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

/// A model's field. `index` is its column's position in the rows; a babel
/// field's other languages are at `babel`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FFI_Field {
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
/// its index (see [`FFI_DumpInfo`]).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FFI_Model {
    pub table: FFI_Table,
    pub app_label: Str,
    /// Lowercase, as in `django_content_type.model`.
    pub model_name: Str,
    /// CamelCase, e.g. `Partner`; null when not known (no site metadata).
    pub object_name: Str,
    pub fields: *const FFI_Field,
    pub n_fields: usize,
    /// The MTI parent's table and the link column; null when none.
    pub mti_parent_table: Str,
    pub mti_link_column: Str,
    /// An auto-created many-to-many link table.
    pub auto_created: u8,
}

/// What a sink's `begin` gets: the dump and its models. The sink's other
/// calls name a model by its index in one numbering: `models` (those of
/// the dump, in dump order) first, then `skipped` (those Lino's dump
/// leaves out, as `wants` is asked about them), then `excluded` (by
/// `-e`); `models`, `skipped` and `excluded` point into one array.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FFI_DumpInfo {
    /// The size of this struct as the host knows it.
    pub size: usize,
    /// The source, redacted (no password).
    pub source: Str,
    pub tool_version: Str,
    pub models: *const FFI_Model,
    pub n_models: usize,
    /// The site's languages, the default first; empty when not given.
    pub languages: Names,
    pub skipped: *const FFI_Model,
    pub n_skipped: usize,
    pub excluded: *const FFI_Model,
    pub n_excluded: usize,
    /// 1: the source stores decimals as REAL ([`Storage`](dump2py_model::schema::Storage)).
    pub decimals_as_real: u8,
    /// 1: aware datetimes are instants ([`Storage`](dump2py_model::schema::Storage)).
    pub datetimes_as_instants: u8,
}

unsafe impl Prefixed for FFI_DumpInfo {
    const SIZE_AT: usize = 0;
    const MIN_SIZE: usize = std::mem::size_of::<FFI_DumpInfo>();
}

/// The models of `site` in the numbering of [`FFI_DumpInfo`].
pub fn numbered(site: &Site) -> impl Iterator<Item = &Model> {
    site.models
        .iter()
        .chain(&site.skipped)
        .chain(&site.excluded)
}

/// A [`FFI_DumpInfo`] view of the core's dump info and site.
pub struct DumpInfoRef<'a> {
    _tables: Vec<TableRef<'a>>,
    _babel: Vec<Vec<usize>>,
    _fields: Vec<Vec<FFI_Field>>,
    _models: Vec<FFI_Model>,
    _languages: Vec<Str>,
    raw: FFI_DumpInfo,
}

impl<'a> DumpInfoRef<'a> {
    pub fn new(info: &'a DumpInfo, site: &'a Site) -> DumpInfoRef<'a> {
        let all: Vec<&Model> = numbered(site).collect();
        let tables: Vec<TableRef> = all.iter().map(|m| TableRef::new(&m.table)).collect();
        let babel: Vec<Vec<usize>> = all
            .iter()
            .flat_map(|m| m.fields.iter().map(|f| f.babel.clone()))
            .collect();
        let mut babel_iter = babel.iter();
        let fields: Vec<Vec<FFI_Field>> = all
            .iter()
            .map(|m| {
                m.fields
                    .iter()
                    .zip(babel_iter.by_ref())
                    .map(|(f, b)| FFI_Field {
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
        let models: Vec<FFI_Model> = all
            .iter()
            .zip(&tables)
            .zip(&fields)
            .map(|((m, t), f)| FFI_Model {
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
        let (n_models, n_skipped) = (site.models.len(), site.skipped.len());
        let raw = FFI_DumpInfo {
            size: std::mem::size_of::<FFI_DumpInfo>(),
            source: Str::new(&info.source),
            tool_version: Str::new(&info.tool_version),
            models: models.as_ptr(),
            n_models,
            languages: Names::new(&languages),
            skipped: models[n_models..].as_ptr(),
            n_skipped,
            excluded: models[n_models + n_skipped..].as_ptr(),
            n_excluded: site.excluded.len(),
            decimals_as_real: info.storage.decimals_as_real as u8,
            datetimes_as_instants: info.storage.datetimes_as_instants as u8,
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

    pub fn get(&self) -> &FFI_DumpInfo {
        &self.raw
    }
}

impl FFI_DumpInfo {
    /// A copy: the dump info and a site with the models (no cycles, no
    /// content types, no site settings).
    ///
    /// # Safety
    /// `self` was read with [`Prefixed::read_prefixed`]; all pointers must
    /// be valid for the duration of the call.
    pub unsafe fn to_core(&self) -> Result<(DumpInfo, Site), String> {
        let info = DumpInfo {
            source: self.source.to_string()?,
            tool_version: self.tool_version.to_string()?,
            storage: dump2py_model::schema::Storage {
                decimals_as_real: self.decimals_as_real != 0,
                datetimes_as_instants: self.datetimes_as_instants != 0,
            },
        };
        let models = |p: *const FFI_Model, n: usize| -> Result<Vec<Model>, String> {
            slice(p, n)?.iter().map(|m| m.to_core()).collect()
        };
        let site = Site {
            models: models(self.models, self.n_models)?,
            skipped: models(self.skipped, self.n_skipped)?,
            excluded: models(self.excluded, self.n_excluded)?,
            languages: self.languages.to_vec()?,
            ..Site::default()
        };
        Ok((info, site))
    }
}

impl FFI_Model {
    unsafe fn to_core(self) -> Result<Model, String> {
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
                Ok(Field {
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
                    reading: Default::default(),
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
        Ok(Model {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_round_trip() {
        let col = |n: &str, kind| Column {
            name: n.into(),
            declared_type: "x(1)".into(),
            kind,
            nullable: true,
            generated: false,
        };
        let t = Table {
            name: "app_thing".into(),
            columns: vec![
                col("id", ColumnKind::Int),
                col("odd", ColumnKind::Unsupported("x(1)".into())),
            ],
            primary_key: vec!["id".into()],
            foreign_keys: vec![ForeignKey {
                column: "odd".into(),
                target_table: "app_other".into(),
                target_column: "id".into(),
            }],
            unique: vec![vec!["id".into(), "odd".into()], vec![]],
        };
        let r = TableRef::new(&t);
        assert_eq!(unsafe { r.get().to_core() }, Ok(t.clone()));
    }

    #[test]
    fn dump_info_numbers_models_then_skipped_then_excluded() {
        let model = |app: &str, name: &str| Model {
            table: Table {
                name: format!("{app}_{name}"),
                columns: vec![],
                primary_key: vec![],
                foreign_keys: vec![],
                unique: vec![],
            },
            app_label: app.into(),
            model_name: name.into(),
            object_name: None,
            depends_on: vec![],
            problem: None,
            fields: vec![],
            mti_parent: None,
            auto_created: false,
        };
        let site = Site {
            models: vec![model("a", "one"), model("a", "two")],
            skipped: vec![model("django", "session")],
            excluded: vec![model("b", "gone")],
            languages: vec!["en".into()],
            ..Site::default()
        };
        let info = DumpInfo {
            source: "s".into(),
            tool_version: "t".into(),
            ..DumpInfo::default()
        };
        let r = DumpInfoRef::new(&info, &site);
        let raw = unsafe { FFI_DumpInfo::read_prefixed(r.get(), "info") }.expect("sized");
        // One array: model 2 is the first skipped one.
        let all = unsafe { slice(raw.models, 4) }.expect("one array");
        assert_eq!(unsafe { all[2].model_name.to_str() }, Ok("session"));
        let (_, back) = unsafe { raw.to_core() }.expect("back");
        let names = |s: &Site| {
            numbered(s)
                .map(|m| m.table.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&back), names(&site));
        assert_eq!(back.skipped.len(), 1);
        assert_eq!(back.excluded[0].table.name, "b_gone");
    }
}
