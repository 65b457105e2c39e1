//! The tables a dump holds, as a source's schema: from the site's
//! metadata where the pipeline has it (`--settings`, `--site-schema`:
//! every column, its kind, keys), else from what restore.py and the data
//! files say (the create functions' parameters, decimal and content-type
//! parameters, babel groups, MTI links, the `# fields:` comments, the
//! literals of the first rows), and `django_content_type` made from the
//! models the dump names (its ids are the dump's own: the database's are
//! not in a dump).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dump2py_django::meta::SiteMeta;
use dump2py_model::schema::{ColumnKind, Table};
use dump2py_model::Value;

use crate::expr::Expr;
use crate::restore::{CreateFn, Dumped, ModelRef};
pub use crate::tables::TablePlan;
use crate::tables::{column, meta_table, with_meta, without_meta};
use crate::{values, DumpSource};
use dump2py_model::error::{Error, Result};

use dump2py_django::CONTENT_TYPE_TABLE as CT_TABLE;

/// Rows looked at for a column's kind without metadata.
const PEEK_ROWS: usize = 200;

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
