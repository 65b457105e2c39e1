//! Sinks that write into a database (`--into URL`): the rows a source
//! reads go into the tables of a migrated PostgreSQL, MariaDB/MySQL or
//! SQLite database, in one transaction whose foreign keys are checked once
//! at the end.
//!
//! What every database shares is here, once: which tables are written and
//! in which order (the pipeline's dump order: dependencies, MTI parents
//! and many-to-many link tables in place), the refusal of a target that
//! holds rows (or `--flush`), the content types mapped by natural key, the
//! values converted to what Django stores on the target (`convert.rs`) and
//! the row counts checked after loading. A [`Writer`] per database
//! (`postgres.rs`: binary `COPY FROM STDIN`; `mysql.rs`: multi-row `INSERT`;
//! `sqlite.rs`: one prepared `INSERT`) only moves rows and runs the
//! database's own checks; each connects through its backend crate.

mod convert;
mod mysql;
mod pgbinary;
mod postgres;
mod sqlite;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use dump2py_django::{Model, Site, CONTENT_TYPE_TABLE};
use dump2py_model::error::{Error, Result};
use dump2py_model::schema::{Column, Schema, Table};
use dump2py_model::url::redact;
use dump2py_model::{Batch, Value};
use dump2py_plugin::registry;
use dump2py_plugin::{DumpInfo, Report, Sink, Transaction};

use convert::{Convert, Target};

/// Tables that Django's `migrate` fills itself (post_migrate): a freshly
/// migrated target holds their rows. They are replaced by the source's
/// (as `flush` and `loaddata` would leave them), not refused.
pub const MIGRATE_FILLED: &[&str] = &["auth_permission", "django_site"];

/// How the database sink was asked for.
#[derive(Debug, Clone, Default)]
pub struct IntoOptions {
    /// The target database's URL, as `-d` takes them.
    pub url: String,
    /// Empty the tables to be written first (`--flush`).
    pub flush: bool,
    /// The `SOURCE_VERSION` of the site that wrote the data, where the
    /// source knows it (a dump's; `Source::site_version`).
    pub source_version: Option<String>,
    /// The target site's version (its metadata's), where known.
    pub site_version: Option<String>,
}

/// Refuses a dump of another version of the site than the target's: its
/// data may need the site's data migrations, which only restore.py runs.
pub fn check_versions(options: &IntoOptions) -> Result<()> {
    match (&options.source_version, &options.site_version) {
        (Some(dump), Some(site)) if dump != site => Err(Error::Usage(format!(
            "the data was written by version {dump} of the site, the target site is version \
             {site}: restore it with the dump's restore.py (`django-admin run DUMP/restore.py`), \
             which runs the site's data migrations"
        ))),
        (Some(dump), None) => Err(Error::Usage(format!(
            "the data was written by version {dump} of a site: give the target site's \
             --settings (or --site-schema) to check that it is the same version, or restore \
             it with the dump's restore.py"
        ))),
        _ => Ok(()),
    }
}

/// What one database does; the rest is common.
pub(crate) trait Writer {
    /// Starts the one transaction of the load (foreign keys checked at its
    /// end), with `zone` as the session's time zone for naive datetimes
    /// where the database converts them (PostgreSQL's timestamptz).
    fn begin(&mut self, zone: &str) -> Result<()>;
    /// How Django stores values on this database.
    fn target(&self) -> Target;
    fn quote(&self, ident: &str) -> String;
    /// The rows of a small query, each value as text (`None`: NULL).
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>>;
    fn execute(&mut self, sql: &str) -> Result<()>;
    /// Starts writing `columns` of `table`.
    fn table_start(&mut self, table: &Table, columns: &[Column]) -> Result<()>;
    /// One row, a value per column of `table_start`, already converted.
    fn row(&mut self, values: &[Cow<'_, Value>]) -> Result<()>;
    /// Ends the table's rows; an error names the row the database refused.
    fn table_end(&mut self) -> Result<()>;
    /// Foreign keys of `tables` (of the target's `schema`) that point
    /// nowhere; an error names the first.
    fn check_foreign_keys(&mut self, schema: &Schema, tables: &[String]) -> Result<()>;
    /// Sets each table's sequence past its highest key, where the
    /// database doesn't by itself.
    fn reset_sequences(&mut self, tables: &[&Table]) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self);
}

fn open_writer(url: &str) -> Result<Box<dyn Writer>> {
    match registry::scheme(url).map(str::to_ascii_lowercase).as_deref() {
        Some("postgres" | "postgresql") => Ok(Box::new(postgres::PgWriter::open(url)?)),
        Some("mysql" | "mariadb") => Ok(Box::new(mysql::MysqlWriter::open(url)?)),
        Some("sqlite" | "sqlite3") => Ok(Box::new(sqlite::SqliteWriter::open(url)?)),
        _ => Err(Error::Usage(format!(
            "--into {}: not a database URL this sink writes (postgres://, mysql://, mariadb://, sqlite:PATH)",
            redact(url)
        ))),
    }
}

/// One source table's way into the target: the target table, and for
/// each target column written the source column's index and conversion.
struct Route {
    target: Table,
    columns: Vec<(usize, Convert)>,
    written: u64,
}

/// `--into URL`: writes every model the source reads into the target.
pub struct DatabaseSink {
    options: IntoOptions,
    shown: String,
    writer: Option<Box<dyn Writer>>,
    schema: Schema,
    /// Tables left out of the load (`-e`), and content types (mapped).
    excluded: HashSet<String>,
    /// Source content-type id → the target's id.
    content_types: HashMap<i64, i64>,
    routes: HashMap<String, Route>,
    /// In the order written.
    order: Vec<String>,
    current: Option<String>,
}

impl DatabaseSink {
    /// Checks the URL's scheme; connects at `begin`.
    pub fn new(options: IntoOptions) -> Result<DatabaseSink> {
        check_versions(&options)?;
        let shown = format!("--into {}", redact(&options.url));
        match registry::scheme(&options.url).map(str::to_ascii_lowercase).as_deref() {
            Some("postgres" | "postgresql" | "mysql" | "mariadb" | "sqlite" | "sqlite3") => {}
            _ => {
                return Err(Error::Usage(format!(
                    "{shown}: not a database URL this sink writes (postgres://, mysql://, mariadb://, sqlite:PATH)"
                )))
            }
        }
        Ok(DatabaseSink {
            options,
            shown,
            writer: None,
            schema: Schema::default(),
            excluded: HashSet::new(),
            content_types: HashMap::new(),
            routes: HashMap::new(),
            order: Vec::new(),
            current: None,
        })
    }

    fn fail(&self, message: impl std::fmt::Display) -> Error {
        Error::Plugin {
            plugin: self.shown.clone(),
            message: message.to_string(),
        }
    }

    /// A writer's error, said to be this sink's (never a table a
    /// `--tolerate` could skip).
    fn own(&self, e: Error) -> Error {
        match e {
            e @ Error::Plugin { .. } => e,
            e => self.fail(e),
        }
    }

    fn writer(&mut self) -> Result<&mut Box<dyn Writer>> {
        match self.writer.as_mut() {
            Some(w) => Ok(w),
            None => Err(Error::Plugin {
                plugin: self.shown.clone(),
                message: "not connected".into(),
            }),
        }
    }

    /// The tables this load writes, in the pipeline's order.
    fn tables_of(&self, site: &Site) -> Vec<String> {
        (site.models.iter().chain(&site.skipped))
            .map(|m| m.table.name.clone())
            .filter(|t| !self.excluded.contains(t))
            .collect()
    }

    /// How `model`'s rows go into the target: columns by name.
    fn route(&self, model: &Model, target: &Table, site: &Site) -> Result<Route> {
        let table = &model.table;
        let mut columns = Vec::new();
        for (i, c) in table.columns.iter().enumerate() {
            if c.generated {
                continue;
            }
            let Some(t) = target.column(&c.name) else {
                return Err(self.fail(format!(
                    "table {}: the target has no column {} (is it migrated to the same version of the site?)",
                    table.name, c.name
                )));
            };
            if t.generated {
                continue;
            }
            let field = model
                .fields
                .iter()
                .find(|f| f.index == i || f.babel.contains(&i));
            let content_type = field.is_some_and(|f| f.is_content_type())
                || table
                    .foreign_key(&c.name)
                    .is_some_and(|fk| fk.target_table == CONTENT_TYPE_TABLE);
            let empty_is_none = field.is_some_and(|f| f.reading.empty_is_none);
            columns.push((
                i,
                Convert {
                    column: t.clone(),
                    content_type,
                    empty_is_none,
                },
            ));
        }
        let _ = site;
        Ok(Route {
            target: target.clone(),
            columns,
            written: 0,
        })
    }

    /// Maps the source's content types to the target's by natural key
    /// (`app_label`, `model`); those the target lacks are added to it, as
    /// `loaddata` of natural keys would.
    fn map_content_types(&mut self, site: &Site) -> Result<()> {
        if site.content_types.is_empty() {
            return Ok(());
        }
        let Some(ct_table) = self.schema.table(CONTENT_TYPE_TABLE).cloned() else {
            return Err(self.fail(
                "the target has no table django_content_type: migrate it first (django-admin migrate)",
            ));
        };
        let w = self.writer()?;
        let sql = format!(
            "SELECT {}, {}, {} FROM {}",
            w.quote("id"),
            w.quote("app_label"),
            w.quote("model"),
            w.quote(CONTENT_TYPE_TABLE)
        );
        let rows = w.query(&sql)?;
        let mut by_key: HashMap<(String, String), i64> = HashMap::new();
        let mut next = 1;
        for r in rows {
            if let [Some(id), Some(app), Some(model)] = r.as_slice() {
                let id: i64 = id.parse().unwrap_or(0);
                next = next.max(id + 1);
                by_key.insert((app.clone(), model.clone()), id);
            }
        }
        let mut missing: Vec<_> = site
            .content_types
            .values()
            .filter(|ct| !by_key.contains_key(&(ct.app_label.clone(), ct.model.clone())))
            .collect();
        missing.sort_by_key(|ct| ct.id);
        if !missing.is_empty() {
            let columns: Vec<Column> = ["id", "app_label", "model"]
                .iter()
                .filter_map(|c| ct_table.column(c).cloned())
                .collect();
            if columns.len() != 3 {
                return Err(self.fail("the target's django_content_type is not Django's"));
            }
            let w = self.writer()?;
            w.table_start(&ct_table, &columns)?;
            for ct in &missing {
                w.row(&[
                    Cow::Owned(Value::Int(next)),
                    Cow::Owned(Value::Text(ct.app_label.clone())),
                    Cow::Owned(Value::Text(ct.model.clone())),
                ])?;
                by_key.insert((ct.app_label.clone(), ct.model.clone()), next);
                next += 1;
            }
            w.table_end()?;
        }
        self.content_types = site
            .content_types
            .values()
            .filter_map(|ct| {
                by_key
                    .get(&(ct.app_label.clone(), ct.model.clone()))
                    .map(|t| (ct.id, *t))
            })
            .collect();
        Ok(())
    }

    fn count(&mut self, table: &str) -> Result<u64> {
        let w = self.writer()?;
        let sql = format!("SELECT COUNT(*) FROM {}", w.quote(table));
        let rows = w.query(&sql)?;
        let n = rows
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_deref())
            .and_then(|v| v.parse().ok());
        n.ok_or_else(|| self.fail(format!("table {table}: can't count its rows")))
    }

    fn begin_inner(&mut self, site: &Site) -> Result<()> {
        // The target's tables, as its own source reads them; its
        // connection (a read transaction) is closed before writing.
        let schema = {
            let mut source = registry::open_source(&self.options.url)?;
            source.schema()?
        };
        self.schema = schema;
        self.excluded = site
            .excluded
            .iter()
            .map(|m| m.table.name.clone())
            .chain([CONTENT_TYPE_TABLE.to_string()])
            .collect();
        let models: BTreeMap<String, &Model> = (site.models.iter().chain(&site.skipped))
            .map(|m| (m.table.name.clone(), m))
            .collect();
        let tables = self.tables_of(site);
        for t in &tables {
            let Some(model) = models.get(t) else { continue };
            if model.problem.is_some() {
                continue;
            }
            let Some(target) = self.schema.table(t) else {
                return Err(self.fail(format!(
                    "the target has no table {t}: migrate it first with the site's code (django-admin migrate)"
                )));
            };
            let route = self.route(model, target, site)?;
            self.routes.insert(t.clone(), route);
        }
        let mut writer = open_writer(&self.options.url)?;
        let zone = site.naive_time_zone();
        writer.begin(&zone)?;
        self.writer = Some(writer);
        // A target that holds rows is refused, unless --flush.
        let mut full = Vec::new();
        let routed: Vec<String> = (tables.iter())
            .filter(|t| self.routes.contains_key(*t))
            .cloned()
            .collect();
        for t in &routed {
            let w = self.writer()?;
            let sql = format!("SELECT 1 FROM {} LIMIT 1", w.quote(t));
            if !w.query(&sql)?.is_empty() {
                full.push(t.clone());
            }
        }
        let refused: Vec<&String> = full
            .iter()
            .filter(|t| !MIGRATE_FILLED.contains(&t.as_str()))
            .collect();
        if !refused.is_empty() && !self.options.flush {
            let more = match refused.len() {
                1 => String::new(),
                n => format!(" and {} other tables", n - 1),
            };
            return Err(self.fail(format!(
                "the target holds rows (table {}{more}): load into a freshly migrated database, \
                 or add --flush to empty the tables this load writes",
                refused[0]
            )));
        }
        // Emptied children first.
        for t in full.iter().rev() {
            let w = self.writer()?;
            let sql = format!("DELETE FROM {}", w.quote(t));
            w.execute(&sql)?;
        }
        self.map_content_types(site)?;
        Ok(())
    }

    fn rows_inner(&mut self, model: &Model, batch: &Batch) -> Result<()> {
        let name = &model.table.name;
        let Some(mut route) = self.routes.remove(name) else {
            return Ok(());
        };
        let target = self.writer.as_ref().map(|w| w.target());
        let shown = &self.shown;
        let content_types = &self.content_types;
        let fail = || Error::Plugin {
            plugin: shown.clone(),
            message: "not connected".into(),
        };
        let result = (|| {
            let target = target.ok_or_else(fail)?;
            let w = self.writer.as_mut().ok_or_else(fail)?;
            if batch.width == 0 {
                return Ok(());
            }
            let mut values: Vec<Cow<Value>> = Vec::with_capacity(route.columns.len());
            for row in batch.values.chunks(batch.width) {
                values.clear();
                for (i, c) in &route.columns {
                    let v = row.get(*i).unwrap_or(&Value::Null);
                    let v = c
                        .value(v, target, content_types)
                        .map_err(|m| Error::Plugin {
                            plugin: shown.clone(),
                            message: format!(
                                "table {name}, column {}, primary key {}: {m}",
                                c.column.name,
                                model.table.pk_text(row)
                            ),
                        })?;
                    values.push(v);
                }
                w.row(&values)?;
                route.written += 1;
            }
            Ok(())
        })();
        self.routes.insert(name.clone(), route);
        result
    }

    fn finish_inner(&mut self) -> Result<()> {
        let order = self.order.clone();
        let schema = std::mem::take(&mut self.schema);
        self.writer()?.check_foreign_keys(&schema, &order)?;
        for t in &order {
            let Some(written) = self.routes.get(t).map(|r| r.written) else {
                continue;
            };
            let found = self.count(t)?;
            if found != written {
                return Err(self.fail(format!(
                    "table {t}: {written} rows written, but the target holds {found}"
                )));
            }
        }
        let tables: Vec<&Table> = order
            .iter()
            .filter_map(|t| self.routes.get(t).map(|r| &r.target))
            .chain(schema.table(CONTENT_TYPE_TABLE))
            .collect();
        let w = self.writer.as_mut().ok_or_else(|| Error::Plugin {
            plugin: self.shown.clone(),
            message: "not connected".into(),
        })?;
        w.reset_sequences(&tables)?;
        self.schema = schema;
        Ok(())
    }
}

impl Sink for DatabaseSink {
    fn begin(&mut self, _info: &DumpInfo, site: &Site) -> Result<()> {
        self.begin_inner(site).map_err(|e| self.own(e))
    }

    fn wants(&self, model: &Model, _skipped: bool) -> bool {
        self.routes.contains_key(&model.table.name)
    }

    fn table_start(&mut self, model: &Model, _expected_rows: u64) -> Result<()> {
        let name = model.table.name.clone();
        let Some(route) = self.routes.get(&name) else {
            return Ok(());
        };
        let target = route.target.clone();
        let columns: Vec<Column> = route
            .columns
            .iter()
            .map(|(_, c)| c.column.clone())
            .collect();
        self.order.push(name.clone());
        self.current = Some(name);
        self.writer()?
            .table_start(&target, &columns)
            .map_err(|e| self.own(e))
    }

    fn rows(&mut self, model: &Model, batch: &Batch) -> Result<()> {
        self.rows_inner(model, batch).map_err(|e| self.own(e))
    }

    fn table_end(&mut self, _model: &Model, _rows: u64) -> Result<()> {
        self.current = None;
        self.writer()?.table_end().map_err(|e| self.own(e))
    }

    fn table_skipped(&mut self, model: &Model, reason: &str) -> Result<()> {
        // All or nothing: a table left out would be a partial copy.
        Err(self.fail(format!(
            "table {} can't be read ({reason}): nothing was written",
            model.table.name
        )))
    }

    fn finish(&mut self, _report: &Report) -> Result<()> {
        self.finish_inner().map_err(|e| self.own(e))
    }

    /// Commits the database's own transaction (the staging transaction
    /// holds files only).
    fn publish(&mut self, _tx: &mut Transaction) -> Result<()> {
        let r = self.writer()?.commit();
        self.writer = None;
        r.map_err(|e| self.own(e))
    }

    fn abort(&mut self) {
        if let Some(mut w) = self.writer.take() {
            w.rollback();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(dump: Option<&str>, site: Option<&str>) -> Result<()> {
        check_versions(&IntoOptions {
            source_version: dump.map(str::to_string),
            site_version: site.map(str::to_string),
            ..IntoOptions::default()
        })
    }

    #[test]
    fn data_of_another_version_of_the_site_is_refused() {
        assert!(versions(None, None).is_ok());
        assert!(versions(None, Some("1.0")).is_ok());
        assert!(versions(Some("1.0"), Some("1.0")).is_ok());
        let other = versions(Some("1.0"), Some("2.0")).map_err(|e| e.to_string());
        assert!(
            other
                .as_ref()
                .is_err_and(|e| e.contains("restore.py") && e.contains("1.0")),
            "{other:?}"
        );
        let unknown = versions(Some("1.0"), None).map_err(|e| e.to_string());
        assert!(unknown.is_err_and(|e| e.contains("--settings")));
    }

    #[test]
    fn only_database_urls_are_taken() {
        let sink = |url: &str| {
            DatabaseSink::new(IntoOptions {
                url: url.into(),
                ..IntoOptions::default()
            })
            .map(drop)
            .map_err(|e| e.to_string())
        };
        assert!(sink("postgres://u@h/db").is_ok());
        assert!(sink("mariadb://u@h/db").is_ok());
        assert!(sink("sqlite:x.db").is_ok());
        let bad = sink("ftp://u:secret@h/x");
        assert!(
            bad.as_ref().is_err_and(|e| !e.contains("secret")),
            "{bad:?}"
        );
    }
}
