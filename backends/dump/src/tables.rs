//! Each table of a dump as a source's `Table`: from the site's metadata
//! ([`with_meta`]), or from what restore.py and the data files say
//! ([`without_meta`]).

use std::collections::BTreeSet;

use dump2py_django::fields::stored_kind;
use dump2py_django::meta::{ModelMeta, SiteMeta};
use dump2py_model::schema::{Column, ColumnKind, ForeignKey, Table};

use crate::expr::Expr;
use crate::kind_of;
use crate::restore::{CreateFn, Dumped, ModelRef};
use dump2py_django::CONTENT_TYPE_TABLE as CT_TABLE;

/// One parameter of a table's create function: where its value goes.
#[derive(Debug, Clone)]
pub struct ParamPlan {
    /// Its column, and a babel field's other languages' columns.
    pub columns: Vec<usize>,
    pub babel: bool,
    pub content_type: bool,
}

#[derive(Debug, Clone)]
pub struct TablePlan {
    pub table: Table,
    pub files: Vec<String>,
    pub func: String,
    pub params: Vec<ParamPlan>,
    /// The rows its data files' headers announce.
    pub expected: Option<u64>,
    /// Why the dump doesn't hold it (`MISSING_TABLES`).
    pub missing: Option<String>,
}

/// A model's table as its metadata describes it.
/// A column of a kind, nullable (the dump says no more).
pub(crate) fn column(name: &str, kind: ColumnKind) -> Column {
    Column {
        name: name.to_string(),
        declared_type: String::new(),
        kind,
        nullable: true,
        generated: false,
    }
}

pub(crate) fn meta_table(m: &ModelMeta, meta: &SiteMeta) -> Table {
    let table_of = |label: &str| {
        (meta.models.iter())
            .find(|x| !x.proxy && x.label() == label)
            .map(|x| x.db_table.clone())
    };
    let mut t = Table {
        name: m.db_table.clone(),
        columns: Vec::new(),
        primary_key: Vec::new(),
        foreign_keys: Vec::new(),
        unique: Vec::new(),
    };
    for f in &m.fields {
        let Some(c) = &f.column else { continue };
        let mut col = column(c, stored_kind(&f.internal_type));
        col.nullable = f.null;
        t.columns.push(col);
        if f.primary_key {
            t.primary_key.push(c.clone());
        }
        if let Some(target) = f.related_model.as_deref().and_then(table_of) {
            t.foreign_keys.push(ForeignKey {
                column: c.clone(),
                target_table: target,
                target_column: "id".into(),
            });
            if f.internal_type == "OneToOneField" {
                t.unique.push(vec![c.clone()]);
            }
        }
    }
    // A composite primary key (Django 5.2) is no field of the metadata:
    // dumpdata's order of the model (`order_by("pk")`) names its columns.
    if t.primary_key.is_empty() {
        let terms = m.dump_order.as_ref().and_then(|o| o.terms.as_ref());
        for term in terms.into_iter().flatten() {
            if term.joins.is_empty() && t.column_index(&term.column).is_some() {
                t.primary_key.push(term.column.clone());
            }
        }
    }
    t
}

pub(crate) fn with_meta(
    f: &CreateFn,
    attnames: &[Option<String>],
    m: &ModelMeta,
    meta: &SiteMeta,
) -> std::result::Result<TablePlan, String> {
    let mut table = meta_table(m, meta);
    let mut params = Vec::new();
    let fields: Vec<_> = (m.fields.iter())
        .filter(|x| x.column.is_some() && !x.babel_variant)
        .collect();
    if fields.len() != f.params.len() {
        return Err(format!(
            "{} takes {} values, the site's model {} has {} fields",
            f.name,
            f.params.len(),
            m.label(),
            fields.len()
        ));
    }
    for ((p, a), field) in f.params.iter().zip(attnames).zip(fields) {
        if a.as_ref().is_some_and(|a| *a != field.attname) {
            return Err(format!(
                "{} passes {} where the site's model {} has {}",
                f.name,
                a.as_deref().unwrap_or_default(),
                m.label(),
                field.attname
            ));
        }
        let mut columns = Vec::new();
        for c in field.column.iter().chain(&field.babel_columns) {
            let i = table
                .column_index(c)
                .ok_or_else(|| format!("no column {c}"))?;
            columns.push(i);
        }
        if a.is_none() {
            table.columns[columns[0]].generated = true;
        }
        params.push(ParamPlan {
            columns,
            babel: p.babel,
            content_type: p.content_type,
        });
    }
    Ok(TablePlan {
        table,
        files: Vec::new(),
        func: String::new(),
        params,
        expected: None,
        missing: None,
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn without_meta(
    f: &CreateFn,
    d: &Dumped,
    attnames: &[Option<String>],
    comment: Option<&str>,
    first: &[Expr],
    languages: &[String],
    tables: &BTreeSet<&str>,
    layout: &crate::restore::Layout,
) -> TablePlan {
    let link = f.mti.as_ref().map(|(_, l)| l.as_str());
    // Field names from the data files' `# fields:` comment, where it
    // splits into one per parameter.
    let names: Vec<&str> = comment.map(|c| c.split(", ").collect()).unwrap_or_default();
    let names = (names.len() == f.params.len()).then_some(names);
    let mut t = Table {
        name: d.table.clone(),
        columns: Vec::new(),
        primary_key: Vec::new(),
        foreign_keys: Vec::new(),
        unique: Vec::new(),
    };
    let mut params = Vec::new();
    let mut variants = Vec::new();
    for (i, (p, a)) in f.params.iter().zip(attnames).enumerate() {
        let name = a
            .clone()
            .unwrap_or_else(|| names.as_ref().map_or(p.name.clone(), |n| n[i].to_string()));
        let kind = if p.decimal {
            ColumnKind::Decimal
        } else if p.content_type || p.maybe_duration {
            ColumnKind::Int
        } else {
            // The first value that says.
            first
                .iter()
                .filter_map(|row| row.simple_call().and_then(|(_, args)| args.get(i)))
                .filter_map(|v| match (p.babel, v) {
                    (true, Expr::List(items)) => items.first(),
                    (_, v) => Some(v),
                })
                .find_map(kind_of)
                .unwrap_or(ColumnKind::Text)
        };
        let mut col = column(&name, kind);
        if p.maybe_duration {
            col.declared_type = "bigint".into();
        }
        col.generated = a.is_none();
        let index = t.columns.len();
        t.columns.push(col);
        let mut columns = vec![index];
        if p.babel {
            for lang in languages.iter().skip(1) {
                variants.push((format!("{name}_{lang}"), params.len()));
            }
        }
        // A foreign key: its field's name is the attname without `_id`.
        let field = names.as_ref().map(|n| n[i]);
        if let Some(field) = field.filter(|fname| name.strip_suffix("_id") == Some(*fname)) {
            let target = match (&f.mti, link == Some(p.name.as_str())) {
                _ if p.content_type => Some(CT_TABLE.to_string()),
                (Some((parent, _)), true) => model_table(parent, layout),
                _ => None,
            }
            .or_else(|| guess_target(&d.table, field, tables))
            .unwrap_or_else(|| d.table.clone());
            t.foreign_keys.push(ForeignKey {
                column: name.clone(),
                target_table: target,
                target_column: "id".into(),
            });
        }
        if link == Some(p.name.as_str()) {
            t.primary_key = vec![name.clone()];
        }
        columns.truncate(1);
        params.push(ParamPlan {
            columns,
            babel: p.babel,
            content_type: p.content_type,
        });
    }
    for (name, param) in variants {
        params[param].columns.push(t.columns.len());
        t.columns.push(column(&name, ColumnKind::Text));
    }
    if t.primary_key.is_empty() {
        let pk = match t.column("id") {
            Some(_) => Some("id".to_string()),
            None => t.columns.first().map(|c| c.name.clone()),
        };
        t.primary_key.extend(pk);
    }
    TablePlan {
        table: t,
        files: Vec::new(),
        func: String::new(),
        params,
        expected: None,
        missing: None,
    }
}

/// The table of a model reference in restore.py.
pub(crate) fn model_table(r: &ModelRef, layout: &crate::restore::Layout) -> Option<String> {
    match r {
        ModelRef::Table(t) => Some(t.clone()),
        ModelRef::Global(g) => {
            let (app, object) = layout.globals.get(g)?;
            let label = format!("{app}.{object}");
            (layout.dumped.iter())
                .find(|d| d.label.as_deref() == Some(label.as_str()))
                .map(|d| d.table.clone())
        }
    }
}

/// A foreign key's target without metadata: the dumped table named
/// `<app>_<field>`, of the table's own app first.
pub(crate) fn guess_target(table: &str, field: &str, tables: &BTreeSet<&str>) -> Option<String> {
    let app = table.split_once('_').map_or(table, |(a, _)| a);
    let own = format!("{app}_{field}");
    if tables.contains(own.as_str()) {
        return Some(own);
    }
    let suffix = format!("_{field}");
    (tables.iter())
        .find(|t| t.ends_with(&suffix) && !t[..t.len() - suffix.len()].contains('_'))
        .map(|t| t.to_string())
}
