//! The tables a dump holds, as a source's schema: from the site's
//! metadata where the pipeline has it (`--settings`, `--site-schema`:
//! every column, its kind, keys), else from what restore.py and the data
//! files say (the create functions' parameters, decimal and content-type
//! parameters, babel groups, MTI links, the `# fields:` comments, the
//! literals of the first rows), and `django_content_type` made from the
//! models the dump names (its ids are the dump's own: the database's are
//! not in a dump).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dump2py_django::meta::{ModelMeta, SiteMeta};
use dump2py_model::schema::{Column, ColumnKind, ForeignKey, Table};
use dump2py_model::Value;

use crate::expr::Expr;
use crate::restore::{CreateFn, Dumped, ModelRef};
use crate::{kind_of, values, DumpSource};
use dump2py_model::error::{Error, Result};

pub const CT_TABLE: &str = "django_content_type";

/// Rows looked at for a column's kind without metadata.
const PEEK_ROWS: usize = 200;

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

#[derive(Debug, Default)]
pub struct Plan {
    pub tables: Vec<TablePlan>,
    /// `django_content_type`'s rows: (app_label, model) → id.
    pub content_types: BTreeMap<(String, String), i64>,
    /// A model global → its content type's natural key.
    globals: HashMap<String, (String, String)>,
    /// The site's USE_TZ (from its metadata).
    use_tz: bool,
}

fn column(name: &str, kind: ColumnKind) -> Column {
    Column {
        name: name.to_string(),
        declared_type: String::new(),
        kind,
        nullable: true,
        generated: false,
    }
}

/// The column kind of a Django field type.
fn kind_of_field(internal_type: &str) -> ColumnKind {
    match internal_type {
        "AutoField"
        | "BigAutoField"
        | "SmallAutoField"
        | "IntegerField"
        | "BigIntegerField"
        | "SmallIntegerField"
        | "PositiveIntegerField"
        | "PositiveBigIntegerField"
        | "PositiveSmallIntegerField" => ColumnKind::Int,
        "BooleanField" | "NullBooleanField" => ColumnKind::Bool,
        "FloatField" => ColumnKind::Float,
        "DecimalField" => ColumnKind::Decimal,
        "DateField" => ColumnKind::Date,
        "TimeField" => ColumnKind::Time,
        "DateTimeField" => ColumnKind::DateTime,
        "DurationField" => ColumnKind::Duration,
        "UUIDField" => ColumnKind::Uuid,
        "BinaryField" => ColumnKind::Bytes,
        "JSONField" => ColumnKind::Json,
        "ArrayField"
        | "HStoreField"
        | "IntegerRangeField"
        | "BigIntegerRangeField"
        | "DecimalRangeField"
        | "DateTimeRangeField"
        | "DateRangeField" => ColumnKind::Composite,
        _ => ColumnKind::Text,
    }
}

impl Plan {
    pub fn new(src: &DumpSource) -> Result<Plan> {
        let layout = &src.layout;
        let restore_py = src.dir.join("restore.py");
        let bad = |why: String| Error::Connect(format!("{}: {why}", restore_py.display()));
        // Each data file's table, in restore order.
        let mut files: HashMap<String, Vec<String>> = HashMap::new();
        let mut fields_comment: HashMap<String, String> = HashMap::new();
        let mut expected: HashMap<String, u64> = HashMap::new();
        for name in &layout.files {
            let (table, fields, count) = src.header(name)?;
            if let Some(f) = fields {
                fields_comment.entry(table.clone()).or_insert(f);
            }
            expected.entry(table.clone()).or_insert(count);
            files.entry(table).or_default().push(name.clone());
        }
        let meta = src.meta.as_ref();
        let dumped = match (layout.lino, meta) {
            (false, _) => layout.dumped.clone(),
            (true, Some(meta)) => lino_dumped(layout, meta).map_err(bad)?,
            (true, None) => {
                return Err(Error::Connect(format!(
                    "{}: a dump of Lino's own dump2py (no manifest, so nothing to check it \
                     against): dump2py reads it with the site's metadata (--settings or \
                     --site-schema), which says the columns",
                    src.dir.display()
                )))
            }
        };
        let dumped_tables: BTreeSet<&str> =
            layout.dumped.iter().map(|d| d.table.as_str()).collect();
        let mut plan = Plan {
            globals: layout.globals.clone(),
            use_tz: meta.is_some_and(|m| m.use_tz),
            ..Plan::default()
        };
        for (f, d) in layout.functions.iter().zip(&dumped) {
            check_model(f, d, &layout.globals).map_err(|why| {
                bad(format!(
                    "line {}: {} of table {}: {why}",
                    f.line, f.name, d.table
                ))
            })?;
            let attnames = attnames(f, d).map_err(|why| {
                bad(format!(
                    "line {}: {} of table {}: {why}",
                    f.line, f.name, d.table
                ))
            })?;
            let model_meta =
                meta.and_then(|m| (m.models.iter()).find(|x| !x.proxy && x.db_table == d.table));
            let table_files = files.remove(&d.table).unwrap_or_default();
            let t = match (model_meta, meta) {
                (Some(mm), Some(meta)) => with_meta(f, &attnames, mm, meta)
                    .map_err(|why| bad(format!("table {}: {why}", d.table)))?,
                _ => {
                    let comment = fields_comment.get(&d.table).map(String::as_str);
                    let first = match table_files.first() {
                        Some(name) => src.first_rows(name, PEEK_ROWS)?,
                        None => Vec::new(),
                    };
                    without_meta(
                        f,
                        d,
                        &attnames,
                        comment,
                        &first,
                        &layout.languages,
                        &dumped_tables,
                        layout,
                    )
                }
            };
            plan.tables.push(TablePlan {
                files: table_files,
                func: f.name.clone(),
                expected: expected.get(&d.table).copied(),
                missing: None,
                ..t
            });
        }
        if let Some((table, _)) = files.into_iter().next() {
            return Err(bad(format!(
                "data files of table {table}, which DUMPED_MODELS doesn't name"
            )));
        }
        // The site's models the dump doesn't hold (those Lino's dump
        // leaves out: sessions, content types): empty tables.
        if let Some(meta) = meta {
            for m in meta.models.iter().filter(|m| !m.proxy) {
                let held = plan.tables.iter().any(|t| t.table.name == m.db_table);
                let missing = layout.missing.iter().any(|(t, _)| *t == m.db_table);
                if held || m.db_table == CT_TABLE || missing {
                    continue;
                }
                let t = meta_table(m, meta);
                plan.tables.push(TablePlan {
                    table: t,
                    files: Vec::new(),
                    func: String::new(),
                    params: Vec::new(),
                    expected: None,
                    missing: None,
                });
            }
        }
        // The tables the dump couldn't read: there, but an error to read
        // (which `-t` skips, as it skipped them when dumping).
        for (table, why) in &layout.missing {
            if plan.tables.iter().any(|t| t.table.name == *table) {
                continue;
            }
            let model = meta.and_then(|meta| {
                (meta.models.iter())
                    .find(|m| !m.proxy && m.db_table == *table)
                    .map(|m| meta_table(m, meta))
            });
            let t = model.unwrap_or_else(|| Table {
                name: table.clone(),
                columns: Vec::new(),
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
                unique: Vec::new(),
            });
            plan.tables.push(TablePlan {
                table: t,
                files: Vec::new(),
                func: String::new(),
                params: Vec::new(),
                expected: None,
                missing: Some(why.clone()),
            });
        }
        plan.content_types(src, meta)?;
        Ok(plan)
    }

    /// `django_content_type`, when the site has one or a column refers to
    /// it: the site's models (with metadata, in the order `migrate`
    /// creates their content types, so that a migrated database's ids
    /// come out) and then every other model a value names, in (app_label,
    /// model) order, numbered around the ids that `missing_content_type(id)`
    /// keeps.
    fn content_types(&mut self, src: &DumpSource, meta: Option<&SiteMeta>) -> Result<()> {
        let in_site = meta.is_some_and(|m| m.models.iter().any(|x| x.db_table == CT_TABLE));
        let referring: Vec<usize> = (0..self.tables.len())
            .filter(|&i| self.tables[i].params.iter().any(|p| p.content_type))
            .collect();
        if !in_site && referring.is_empty() {
            return Ok(());
        }
        // Django's order: each app's models as `migrate` creates their
        // content types (the site's models but auto-created links).
        let mut ordered: Vec<(String, String)> = Vec::new();
        if let Some(meta) = meta {
            for m in meta.models.iter().filter(|m| !m.auto_created) {
                let key = (m.app_label.clone(), m.object_name.to_lowercase());
                if !ordered.contains(&key) {
                    ordered.push(key);
                }
            }
        }
        let mut keys: BTreeSet<(String, String)> = BTreeSet::new();
        let mut kept: BTreeSet<i64> = BTreeSet::new();
        for &i in &referring {
            let t = &self.tables[i];
            let cts: Vec<usize> = (t.params.iter().enumerate())
                .filter(|(_, p)| p.content_type)
                .map(|(k, _)| k)
                .collect();
            let globals = &self.globals;
            src.all_rows(&t.files, &mut |_, call| {
                let Some((_, args)) = call.simple_call() else {
                    return Err(Error::Connect("not a create function's call".into()));
                };
                for &k in &cts {
                    match args.get(k).map(|a| ct_value(a, globals)) {
                        Some(Ok(Ct::Key(key))) => {
                            keys.insert(key);
                        }
                        Some(Ok(Ct::Kept(id))) => {
                            kept.insert(id);
                        }
                        Some(Ok(Ct::None)) | None => {}
                        Some(Err(why)) => return Err(Error::Connect(why)),
                    }
                }
                Ok(())
            })?;
        }
        let known: BTreeSet<(String, String)> = ordered.iter().cloned().collect();
        ordered.extend(keys.into_iter().filter(|k| !known.contains(k)));
        let mut id = 0;
        for key in ordered {
            id += 1;
            while kept.contains(&id) {
                id += 1;
            }
            self.content_types.insert(key, id);
        }
        let mut t = Table {
            name: CT_TABLE.into(),
            columns: vec![
                column("id", ColumnKind::Int),
                column("app_label", ColumnKind::Text),
                column("model", ColumnKind::Text),
            ],
            primary_key: vec!["id".into()],
            foreign_keys: Vec::new(),
            unique: vec![vec!["app_label".into(), "model".into()]],
        };
        for c in &mut t.columns {
            c.nullable = false;
        }
        self.tables.retain(|x| x.table.name != CT_TABLE);
        self.tables.push(TablePlan {
            table: t,
            files: Vec::new(),
            func: String::new(),
            params: Vec::new(),
            expected: None,
            missing: None,
        });
        Ok(())
    }

    /// A row's values, in its table's column order; the call's values
    /// are moved into them.
    pub fn row(&self, t: &TablePlan, call: Expr) -> std::result::Result<Vec<Value>, String> {
        let name = call.simple_call().map(|(n, _)| n.to_string());
        let (Some(name), Expr::Call { args, .. }) = (name, call) else {
            return Err("not a create function's call".into());
        };
        if name != t.func {
            return Err(format!(
                "{name}(...) in a data file of table {}, whose create function is {}",
                t.table.name, t.func
            ));
        }
        if args.len() != t.params.len() {
            return Err(format!(
                "{} values, {} takes {}",
                args.len(),
                t.func,
                t.params.len()
            ));
        }
        let mut row = vec![Value::Null; t.table.columns.len()];
        for (p, arg) in t.params.iter().zip(args) {
            if p.content_type {
                let v = match ct_value(&arg, &self.globals)? {
                    Ct::None => Value::Null,
                    Ct::Kept(id) => Value::Int(id),
                    Ct::Key(key) => Value::Int(
                        *self
                            .content_types
                            .get(&key)
                            .ok_or_else(|| format!("no content type {}.{}", key.0, key.1))?,
                    ),
                };
                row[p.columns[0]] = v;
                continue;
            }
            let items: Vec<Expr> = match (p.babel, arg) {
                (true, Expr::List(items)) if items.len() == p.columns.len() => items,
                (true, _) => {
                    return Err(format!(
                        "a babel field's value that is no list of {} values",
                        p.columns.len()
                    ))
                }
                (false, a) => vec![a],
            };
            for (&c, item) in p.columns.iter().zip(items) {
                let col = &t.table.columns[c];
                let v = values::take(item, &col.kind)
                    .map_err(|why| format!("column {}: {why}", col.name))?;
                // A USE_TZ site's datetimes inside arrays and ranges were
                // aware (PostgreSQL's timestamptz); the sink wrote them as
                // naive UTC. (DateTimeFields are read as aware by the
                // pipeline, as Django reads them.)
                row[c] = match (self.use_tz, &col.kind) {
                    (true, ColumnKind::Composite) => values::as_utc(v),
                    _ => v,
                };
            }
        }
        Ok(row)
    }
}

enum Ct {
    None,
    Key((String, String)),
    /// `missing_content_type(id)`: an id the dumped database didn't have.
    Kept(i64),
}

/// A content-type parameter's value: a model global, `ct_model(a, m)`,
/// `missing_content_type(id)` or None.
fn ct_value(
    e: &Expr,
    globals: &HashMap<String, (String, String)>,
) -> std::result::Result<Ct, String> {
    match e {
        Expr::None => Ok(Ct::None),
        Expr::Name(g) => globals
            .get(g)
            .map(|(a, m)| Ct::Key((a.clone(), m.to_lowercase())))
            .ok_or_else(|| format!("{g} is not a model global of restore.py")),
        _ => match e.simple_call() {
            Some(("ct_model", [Expr::Str(a), Expr::Str(m)])) => Ok(Ct::Key((a.clone(), m.clone()))),
            Some(("missing_content_type", [Expr::Int(id)])) => id
                .parse()
                .map(Ct::Kept)
                .map_err(|_| format!("content type id {id}")),
            _ => Err("a content type the Python sink never writes".into()),
        },
    }
}

/// What `DUMPED_MODELS` would say of a dump of Lino's dump2py, from the
/// site's metadata: each create function's model global names its model.
fn lino_dumped(
    layout: &crate::restore::Layout,
    meta: &SiteMeta,
) -> std::result::Result<Vec<Dumped>, String> {
    (layout.functions.iter())
        .map(|f| {
            let ModelRef::Global(g) = &f.model else {
                return Err(format!("line {}: {} names no model global", f.line, f.name));
            };
            let (app, object) = (layout.globals.get(g))
                .ok_or_else(|| format!("line {}: {g} is not a model global", f.line))?;
            let label = format!("{app}.{object}");
            let m = (meta.models.iter())
                .find(|m| !m.proxy && m.label() == label)
                .ok_or_else(|| format!("line {}: the site has no model {label}", f.line))?;
            let link = f.mti.as_ref().map(|(_, l)| l.as_str());
            let attnames = (f.params.iter())
                .filter_map(|p| match (&p.attname, Some(p.name.as_str()) == link) {
                    (Some(a), _) => Some(a.clone()),
                    (None, true) => Some(p.name.clone()),
                    (None, false) => None,
                })
                .collect();
            Ok(Dumped {
                table: m.db_table.clone(),
                label: Some(label),
                attnames,
            })
        })
        .collect()
}

/// The create function creates the model DUMPED_MODELS names.
fn check_model(
    f: &CreateFn,
    d: &Dumped,
    globals: &HashMap<String, (String, String)>,
) -> std::result::Result<(), String> {
    let label = |g: &str| globals.get(g).map(|(a, o)| format!("{a}.{o}"));
    match &f.model {
        ModelRef::Table(t) if *t == d.table => Ok(()),
        ModelRef::Global(g) if label(g).is_some() && label(g) == d.label => Ok(()),
        _ => Err("it creates another model than DUMPED_MODELS says".into()),
    }
}

/// Each parameter's attname (None: a generated column, not restored).
fn attnames(f: &CreateFn, d: &Dumped) -> std::result::Result<Vec<Option<String>>, String> {
    let link = f.mti.as_ref().map(|(_, l)| l.as_str());
    let mut listed = d.attnames.iter();
    let mut out = Vec::new();
    for p in &f.params {
        let passed = p.attname.is_some() || Some(p.name.as_str()) == link;
        if !passed {
            out.push(None);
            continue;
        }
        let a = listed
            .next()
            .ok_or("more parameters than DUMPED_MODELS lists")?;
        if p.attname.as_ref().is_some_and(|x| x != a) {
            return Err(format!("parameter {} is {a} in DUMPED_MODELS", p.name));
        }
        out.push(Some(a.clone()));
    }
    if listed.next().is_some() {
        return Err("fewer parameters than DUMPED_MODELS lists".into());
    }
    Ok(out)
}

/// A model's table as its metadata describes it.
fn meta_table(m: &ModelMeta, meta: &SiteMeta) -> Table {
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
        let mut col = column(c, kind_of_field(&f.internal_type));
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

fn with_meta(
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
fn without_meta(
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
fn model_table(r: &ModelRef, layout: &crate::restore::Layout) -> Option<String> {
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
fn guess_target(table: &str, field: &str, tables: &BTreeSet<&str>) -> Option<String> {
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
