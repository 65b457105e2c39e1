//! The PostgreSQL source: reads one database over tokio-postgres inside one
//! read-only REPEATABLE READ transaction, so that the dump is one
//! consistent snapshot. The Source trait is synchronous: the source holds a
//! current-thread runtime and blocks on each step.

mod catalog;
pub mod client;
mod copy;
mod django;
mod tls;
mod types;
mod url;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use dump2py_core::error::{Error, Result};
use dump2py_core::order::{float_literal, quoted_text, Dialect, Param, ReadOrder};
use dump2py_core::plugin::{BatchFn, KeyRange, Source, Workers};
use dump2py_core::registry::SourceFactory;
use dump2py_core::schema::{ColumnKind, Schema, Storage, Table};
use dump2py_core::{Batch, Value};
use tokio::runtime::Runtime;
use tokio_postgres::Client;

pub use tokio_postgres;
pub use types::{column_kind, numeric_text};
pub use url::{parse as parse_url, ConnectSpec, Host, SslMode};

use copy::{CopyRows, Fields};
use futures_util::StreamExt;
use types::Decoder;

dump2py_core::inventory::submit! {
    SourceFactory {
        name: "postgres",
        schemes: &["postgres", "postgresql"],
        version: env!("CARGO_PKG_VERSION"),
        open: open_boxed,
        django_engines: &["postgresql", "postgresql_psycopg2", "postgis"],
        django_url: django::url,
    }
}

fn open_boxed(url: &str) -> Result<Box<dyn Source>> {
    Ok(Box::new(PgSource::open(url)?))
}

/// What the catalog says about a column beyond [`Table`]: needed to build
/// the query.
#[derive(Debug, Clone)]
struct ColInfo {
    /// The base type's name (`int4`, `inet`, …), domains resolved.
    base: String,
    /// Has a collation: ordered with `COLLATE "C"`.
    collatable: bool,
}

/// What `schema` read of the catalog, shared with the workers (one
/// snapshot: the same for all).
#[derive(Debug, Default)]
struct Catalog {
    /// The schema read (search_path's first).
    namespace: String,
    columns: HashMap<String, Vec<ColInfo>>,
    /// Tables stored out of their key's order ([`PgSource::scattered`]).
    scattered: std::collections::HashSet<String>,
}

pub struct PgSource {
    rt: Runtime,
    client: Client,
    spec: ConnectSpec,
    /// The schema dumped: the first of the role's search_path that exists.
    namespace: String,
    /// Set by the first `schema` of this source or of a worker.
    catalog: Arc<OnceLock<Catalog>>,
}

/// One line from a tokio-postgres error: the server's message (and detail)
/// for a database error, else the error and its causes.
fn pg_message(e: &tokio_postgres::Error) -> String {
    let text = match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({d})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut parts = vec![e.to_string()];
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                let text = c.to_string();
                if !parts.iter().any(|p| p.contains(&text)) {
                    parts.push(text);
                }
                cause = c.source();
            }
            parts.join(": ")
        }
    };
    text.replace(['\n', '\r'], " ")
}

/// The server's refusal is the table's fault (`-t` may skip it); a lost
/// connection is not, and stops the dump.
fn read_error(at: &str, table: &str, e: &tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let mut message = pg_message(e);
        if db.message().contains("row-level security") {
            message.push_str(
                " (the role would see only some of its rows: dump as the table's owner, \
                 a superuser or a role with BYPASSRLS)",
            );
        }
        Error::table(table, message)
    } else {
        Error::Connect(format!(
            "PostgreSQL at {at}, reading table {table}: {}",
            pg_message(e)
        ))
    }
}

impl PgSource {
    pub fn open(url: &str) -> Result<PgSource> {
        let spec = url::parse(url, &|k| std::env::var(k).ok())?;
        PgSource::connect(spec, None, Arc::default())
    }

    /// Connects and starts the read transaction: in the snapshot exported
    /// as `snapshot` when given (a worker's), else in its own.
    fn connect(
        spec: ConnectSpec,
        snapshot: Option<&str>,
        catalog: Arc<OnceLock<Catalog>>,
    ) -> Result<PgSource> {
        let (rt, client) = client::connect(&spec)?;
        let mut source = PgSource {
            rt,
            client,
            spec,
            namespace: String::new(),
            catalog,
        };
        // pg_dump -j's way: the snapshot set before the first query.
        let shared = snapshot
            .map(|id| format!("SET TRANSACTION SNAPSHOT {}; ", literal(id)))
            .unwrap_or_default();
        // One connection reads every table in turn, so the transaction's own
        // snapshot covers the whole dump: no exported snapshot is needed. The
        // snapshot is taken by the first query after BEGIN (the catalog).
        // The timeouts are off because a dump is idle in its transaction
        // while sinks write, and a big table's read may take long.
        // row_security off (as pg_dump): a table whose row-level security
        // policy would hide rows from this role is an error, never a dump
        // of the rows the policy lets through.
        source
            .batch(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {shared}\
                 SET LOCAL statement_timeout = 0; \
                 SET LOCAL idle_in_transaction_session_timeout = 0; \
                 SET LOCAL row_security = off"
            ))
            .map_err(|e| {
                Error::Connect(format!(
                    "PostgreSQL at {}: can't start the read transaction: {}",
                    source.spec.location(),
                    pg_message(&e)
                ))
            })?;
        source.namespace = source.schema_to_read()?;
        Ok(source)
    }

    /// The schema to dump: the first of the role's search_path that exists
    /// (as Django's connection sees it). The search_path is then that
    /// schema alone, after pg_catalog, for the transaction: every table is
    /// named with its schema, every function, type and operator is
    /// pg_catalog's (as pg_dump's empty search_path gives), never one of the
    /// same name in another schema of the role's search_path; the SQL that
    /// a site's default manager compiles to (unqualified table names, as
    /// Django's connection reads them) finds the schema's tables.
    fn schema_to_read(&self) -> Result<String> {
        let at = self.spec.location();
        let fail = |e: tokio_postgres::Error| {
            Error::Connect(format!(
                "PostgreSQL at {at}: can't read the schema to dump: {}",
                pg_message(&e)
            ))
        };
        let ns: Option<String> = self
            .block(
                self.client
                    .query_one("SELECT pg_catalog.current_schema()::text", &[]),
            )
            .and_then(|r| r.try_get(0))
            .map_err(fail)?;
        let ns = ns.ok_or_else(|| {
            Error::Connect(format!(
                "PostgreSQL at {at}: no schema of search_path exists (SHOW search_path)"
            ))
        })?;
        self.block(self.client.query_one(
            "SELECT pg_catalog.set_config('search_path', \
             'pg_catalog, ' || pg_catalog.quote_ident($1), true)",
            &[&ns],
        ))
        .map_err(fail)?;
        Ok(ns)
    }

    fn block<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    fn batch(&self, sql: &str) -> std::result::Result<(), tokio_postgres::Error> {
        self.block(self.client.batch_execute(sql))
    }

    fn qualified(&self, table: &str) -> String {
        match self.catalog.get() {
            Some(c) => format!("{}.{}", quote(&c.namespace), quote(table)),
            None => quote(table),
        }
    }

    /// Runs `f` inside a savepoint: a failed statement aborts only the
    /// savepoint, and the transaction (with its snapshot) reads on.
    fn guarded<T>(&mut self, table: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.batch("SAVEPOINT dump2py")
            .map_err(|e| read_error(&self.spec.location(), table, &e))?;
        let result = f(self);
        let end = match &result {
            Ok(_) => "RELEASE SAVEPOINT dump2py",
            Err(_) => "ROLLBACK TO SAVEPOINT dump2py; RELEASE SAVEPOINT dump2py",
        };
        let ended = self.batch(end);
        match (result, ended) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(read_error(&self.spec.location(), table, &e)),
            (Ok(v), Ok(())) => Ok(v),
        }
    }

    fn col_info(&self, table: &Table) -> Vec<ColInfo> {
        match self.catalog.get().and_then(|c| c.columns.get(&table.name)) {
            Some(info) if info.len() == table.columns.len() => info.clone(),
            // A table not from `schema`: judge by what it says.
            _ => table
                .columns
                .iter()
                .map(|c| ColInfo {
                    base: c.declared_type.clone(),
                    collatable: c.kind == ColumnKind::Text
                        && !types::read_as_text(&c.declared_type),
                })
                .collect(),
        }
    }

    /// The query that reads `table` in primary-key order. Text keys are
    /// ordered bytewise (`COLLATE "C"`), as SQLite orders them, so that the
    /// same rows give the same dump on either database.
    /// The tables of `namespace` stored out of their key's order, read in
    /// key order with a scan and a sort rather than the key's index: those
    /// whose first key column has a `pg_stats.correlation` between -0.9
    /// and 0.9 (bench/pg-order.sh: where a table is cached the planner
    /// takes the index either way, and an index scan of a table stored in
    /// random order read 2.5 times slower than the sort, of one stored in
    /// key order 1.3 times faster). A table without statistics is left to
    /// the planner.
    fn scattered(
        &self,
        namespace: &str,
        tables: &[Table],
    ) -> std::result::Result<std::collections::HashSet<String>, tokio_postgres::Error> {
        let rows = self.block(self.client.query(
            "SELECT s.tablename::text, s.attname::text FROM pg_catalog.pg_stats s \
             WHERE s.schemaname = $1 AND abs(s.correlation) < 0.9",
            &[&namespace],
        ))?;
        let mut scattered = std::collections::HashSet::new();
        for r in rows {
            let (t, c): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let first_key =
                (tables.iter().find(|x| x.name == t)).and_then(|x| x.primary_key.first());
            if first_key == Some(&c) {
                scattered.insert(t);
            }
        }
        Ok(scattered)
    }

    /// The key column of `table` as the select names it, if its primary
    /// key is one int2, int4 or int8 column (what [`KeyRange`]s split).
    fn int_key(&self, table: &Table) -> Option<String> {
        let [key] = table.primary_key.as_slice() else {
            return None;
        };
        let idx = table.column_index(key)?;
        let info = self.col_info(table);
        matches!(info.get(idx)?.base.as_str(), "int2" | "int4" | "int8")
            .then(|| format!("t.{}", quote(key)))
    }

    /// `select_sql` of the rows in `range` (all when None). The bounds are
    /// literals (COPY takes no parameters), cast to int8 so that the key's
    /// index serves any int column.
    fn range_sql(&self, table: &Table, range: Option<KeyRange>) -> Result<String> {
        let Some(range) = range else {
            return Ok(self.select_sql(table, ""));
        };
        let key = self
            .int_key(table)
            .ok_or_else(|| KeyRange::unsplittable(&table.name))?;
        let filter = range.sql_filter(&key, |v| format!("'{v}'::int8"));
        Ok(self.select_sql(table, &filter))
    }

    /// The expressions that select `table`'s columns as Django reads them.
    fn select_exprs(&self, table: &Table) -> Vec<String> {
        let info = self.col_info(table);
        table
            .columns
            .iter()
            .zip(&info)
            .map(|(c, i)| {
                let col = format!("t.{}", quote(&c.name));
                match i.base.as_str() {
                    // inet's own output, as Django reads it: no /32 on a
                    // host address (text(inet) would add it).
                    "inet" => format!(
                        "CASE WHEN masklen({col}) = CASE family({col}) WHEN 4 THEN 32 ELSE 128 END \
                         THEN host({col}) ELSE text({col}) END"
                    ),
                    "cidr" => format!("text({col})"),
                    _ => col,
                }
            })
            .collect()
    }

    /// The statement of a read in `order`: the columns as [`select_sql`]
    /// selects them, the order without `COLLATE`.
    fn ordered_sql(&self, table: &Table, order: &ReadOrder) -> Result<String> {
        let dialect = Postgres {
            namespace: self.catalog.get().map(|c| c.namespace.as_str()),
        };
        order.select(
            &dialect,
            &self.qualified(&table.name),
            &self.select_exprs(table),
        )
    }

    /// `filter` is a WHERE clause (with a leading space) or empty.
    fn select_sql(&self, table: &Table, filter: &str) -> String {
        let info = self.col_info(table);
        let exprs = self.select_exprs(table);
        let order_col = |name: &str| -> Option<String> {
            let idx = table.column_index(name)?;
            let (c, i) = (&table.columns[idx], &info[idx]);
            match &c.kind {
                ColumnKind::Unsupported(_) => None,
                // json has no ordering operator (jsonb has).
                ColumnKind::Json if i.base == "json" => None,
                _ if i.collatable => Some(format!("t.{} COLLATE \"C\"", quote(name))),
                _ => Some(format!("t.{}", quote(name))),
            }
        };
        let keys: Vec<String> = if table.primary_key.is_empty() {
            table
                .columns
                .iter()
                .filter_map(|c| order_col(&c.name))
                .collect()
        } else {
            table
                .primary_key
                .iter()
                .filter_map(|c| order_col(c))
                .collect()
        };
        let mut sql = format!(
            "SELECT {} FROM {} AS t{filter}",
            exprs.join(", "),
            self.qualified(&table.name)
        );
        if !keys.is_empty() {
            sql.push_str(" ORDER BY ");
            sql.push_str(&keys.join(", "));
        }
        sql
    }

    fn read_guarded(
        &mut self,
        table: &Table,
        range: Option<KeyRange>,
        order: Option<&ReadOrder>,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        let at = self.spec.location();
        let table_err = |e: tokio_postgres::Error| read_error(&at, &table.name, &e);
        let select = match order {
            Some(order) => self.ordered_sql(table, order)?,
            None => self.range_sql(table, range)?,
        };
        // COPY gives no column types: the prepared SELECT does.
        let described = self
            .block(self.client.prepare(&select))
            .map_err(table_err)?;
        let decoders = described
            .columns()
            .iter()
            .zip(&table.columns)
            .map(|(rc, c)| {
                Decoder::for_type(rc.type_()).ok_or_else(|| {
                    Error::table(
                        &table.name,
                        format!(
                            "unsupported type {} in {}.{}",
                            rc.type_().name(),
                            table.name,
                            c.name
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        drop(described);
        let width = table.columns.len();
        if decoders.len() != width {
            return Err(Error::table(
                &table.name,
                format!("has {} columns, the catalog said {width}", decoders.len()),
            ));
        }
        // COPY streams the rows: the server sends on while we write, and
        // the connection stops reading when we fall behind, so memory
        // holds about one batch whatever the table's size.
        let stream = self
            .block(
                self.client
                    .copy_out(&format!("COPY ({select}) TO STDOUT (FORMAT binary)")),
            )
            .map_err(table_err)?;
        let mut rows = CopyRows::default();
        let mut fields = Fields::new();
        let mut batch = Batch::new(width, batch_rows);
        let malformed = |m: String| Error::table(&table.name, format!("{at}: {m}"));
        // One `block_on` for the whole table: the server sends a CopyData
        // message per row, and entering the runtime for each (a clock read
        // and a context switch of the runtime) cost more than decoding it.
        let finished = self.block(async {
            let mut stream = std::pin::pin!(stream);
            while let Some(chunk) = stream.next().await {
                rows.push(chunk.map_err(table_err)?);
                while rows.next_row(&mut fields).map_err(malformed)? {
                    if fields.len() != width {
                        return Err(malformed(format!(
                            "a row of {} fields, expected {width}",
                            fields.len()
                        )));
                    }
                    decode_row(table, &decoders, rows.bytes(), &fields, &mut batch)?;
                    if batch.full(batch_rows) {
                        rows.release_spent();
                        if !out(std::mem::replace(&mut batch, Batch::new(width, batch_rows)))? {
                            return Ok(false);
                        }
                    }
                }
            }
            Ok(true)
        })?;
        if !finished {
            return Ok(());
        }
        rows.finish().map_err(malformed)?;
        if !batch.values.is_empty() {
            out(batch)?;
        }
        Ok(())
    }
}

fn decode_row(
    table: &Table,
    decoders: &[Decoder],
    bytes: &[u8],
    fields: &Fields,
    batch: &mut Batch,
) -> Result<()> {
    for (i, (d, field)) in decoders.iter().zip(fields).enumerate() {
        let v = match field {
            None => Value::Null,
            Some(r) => d
                .decode_in(&bytes[r.clone()], batch)
                .map_err(|message| Error::Value {
                    table: table.name.clone(),
                    column: table.columns[i].name.clone(),
                    pk: pk_text(table, decoders, bytes, fields),
                    message: format!("declared {} but {message}", table.columns[i].declared_type),
                })?,
        };
        batch.push(v);
    }
    Ok(())
}

fn pk_text(table: &Table, decoders: &[Decoder], bytes: &[u8], fields: &Fields) -> String {
    table.pk_text_with(|i| match fields.get(i)?.clone() {
        None => Some(Value::Null),
        Some(r) => decoders.get(i)?.decode(bytes.get(r)?).ok(),
    })
}

/// PostgreSQL's SQL for [`ReadOrder`]s: joined tables in the schema the
/// source reads.
struct Postgres<'a> {
    namespace: Option<&'a str>,
}

impl Dialect for Postgres<'_> {
    fn vendor(&self) -> &'static str {
        "postgresql"
    }
    fn quote(&self, ident: &str) -> String {
        quote(ident)
    }
    fn table(&self, name: &str) -> String {
        match self.namespace {
            Some(n) => format!("{}.{}", quote(n), quote(name)),
            None => quote(name),
        }
    }
    fn literal(&self, p: &Param) -> std::result::Result<String, String> {
        match p {
            Param::Null => Ok("NULL".into()),
            Param::Bool(b) => Ok(if *b { "TRUE" } else { "FALSE" }.into()),
            Param::Int(n) => Ok(n.to_string()),
            Param::Float(f) => float_literal(*f),
            // E'' whatever standard_conforming_strings says: backslashes
            // and quotes doubled.
            Param::Text(t) => quoted_text(&t.replace('\\', "\\\\")).map(|q| format!("E{q}")),
        }
    }
}

/// Runs the connection's task whenever the source blocks on the runtime.
fn spawn_connection<F>(connection: F)
where
    F: Future<Output = std::result::Result<(), tokio_postgres::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        let _ = connection.await;
    });
}

fn connect_error(spec: &ConnectSpec, e: &tokio_postgres::Error) -> Error {
    use tokio_postgres::error::SqlState;
    let at = spec.location();
    let (user, db) = (&spec.user, &spec.dbname);
    let msg = match e.code() {
        Some(c) if *c == SqlState::INVALID_PASSWORD => {
            format!("PostgreSQL at {at} refused the password of user \"{user}\"")
        }
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => {
            format!("PostgreSQL at {at} has no database \"{db}\"")
        }
        Some(c) if *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            format!(
                "PostgreSQL at {at} refused user \"{user}\": {}",
                pg_message(e)
            )
        }
        Some(_) => format!("PostgreSQL at {at}: {}", pg_message(e)),
        None => {
            let text = pg_message(e);
            if text.contains("password missing") {
                format!(
                    "PostgreSQL at {at} asks user \"{user}\" for a password, and none was given"
                )
            } else {
                format!("can't connect to PostgreSQL at {at}: {text}")
            }
        }
    };
    Error::Connect(msg)
}

pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Source for PgSource {
    // Reads on a thread of its own while the sinks format.
    fn as_send(&mut self) -> Option<&mut (dyn Source + Send)> {
        Some(self)
    }

    /// timestamptz values are instants: Django reads them in its
    /// connection's time zone (TIME_ZONE on a site without USE_TZ).
    fn storage(&self) -> Storage {
        Storage {
            datetimes_as_instants: true,
            ..Storage::default()
        }
    }

    fn describe(&self) -> String {
        self.spec.describe()
    }

    fn schema(&mut self) -> Result<Schema> {
        let read = self.block(catalog::read(&self.client, &self.namespace));
        let (namespace, tables, columns) = read.map_err(|e| {
            Error::Connect(format!(
                "can't read the schema of {}: {}",
                self.describe(),
                pg_message(&e)
            ))
        })?;
        let columns = columns
            .into_iter()
            .map(|(t, cols)| {
                let info = cols
                    .into_iter()
                    .map(|(base, collatable)| ColInfo { base, collatable })
                    .collect();
                (t, info)
            })
            .collect();
        let scattered = self.scattered(&namespace, &tables).map_err(|e| {
            Error::Connect(format!(
                "can't read the statistics of {}: {}",
                self.describe(),
                pg_message(&e)
            ))
        })?;
        // Already set by another source: the same snapshot read the same.
        let _ = self.catalog.set(Catalog {
            namespace,
            columns,
            scattered,
        });
        Ok(Schema { tables })
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM {}", self.qualified(&table.name));
        self.guarded(&table.name, |s| {
            let row = s
                .block(s.client.query_one(&sql, &[]))
                .map_err(|e| read_error(&s.spec.location(), &table.name, &e))?;
            let n: i64 = row
                .try_get(0)
                .map_err(|e| Error::table(&table.name, pg_message(&e)))?;
            Ok(n.max(0) as u64)
        })
    }

    fn read_table(&mut self, table: &Table, batch_rows: usize, out: &mut BatchFn) -> Result<()> {
        self.read(table, None, None, batch_rows, out)
    }

    fn read_ordered(
        &mut self,
        table: &Table,
        order: &ReadOrder,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        self.read(table, None, Some(order), batch_rows, out)
    }

    fn read_range(
        &mut self,
        table: &Table,
        range: KeyRange,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        self.read(table, Some(range), None, batch_rows, out)
    }

    fn key_bounds(&mut self, table: &Table) -> Result<Option<(i64, i64)>> {
        let Some(key) = self.int_key(table) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT min({key})::int8, max({key})::int8 FROM {} AS t",
            self.qualified(&table.name)
        );
        self.guarded(&table.name, |s| {
            let row = s
                .block(s.client.query_one(&sql, &[]))
                .map_err(|e| read_error(&s.spec.location(), &table.name, &e))?;
            let bound = |i| row.try_get::<_, Option<i64>>(i);
            match (bound(0), bound(1)) {
                (Ok(Some(min)), Ok(Some(max))) => Ok(Some((min, max))),
                (Ok(_), Ok(_)) => Ok(None),
                (Err(e), _) | (_, Err(e)) => Err(Error::table(&table.name, pg_message(&e))),
            }
        })
    }

    fn workers(&mut self, n: usize) -> Result<Workers> {
        if n == 0 {
            return Ok(Workers::default());
        }
        // Not in a savepoint: a subtransaction can't export. A failure
        // ends the transaction, so it stops the dump.
        let exported = self
            .block(self.client.query_one("SELECT pg_export_snapshot()", &[]))
            .and_then(|r| r.try_get::<_, String>(0));
        let id = exported.map_err(|e| {
            Error::Connect(format!(
                "-j: PostgreSQL at {} can't share its snapshot: {}",
                self.spec.location(),
                pg_message(&e)
            ))
        })?;
        let mut sources: Vec<Box<dyn Source + Send>> = Vec::with_capacity(n);
        for _ in 0..n {
            let worker = PgSource::connect(self.spec.clone(), Some(&id), Arc::clone(&self.catalog))
                .map_err(Workers::failed)?;
            sources.push(Box::new(worker));
        }
        Ok(Workers {
            sources,
            note: None,
        })
    }
}

impl PgSource {
    fn read(
        &mut self,
        table: &Table,
        range: Option<KeyRange>,
        order: Option<&ReadOrder>,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        if let Some(c) = table
            .columns
            .iter()
            .find(|c| matches!(c.kind, ColumnKind::Unsupported(_)))
        {
            return Err(Error::table(
                &table.name,
                format!(
                    "unsupported type {} in {}.{}",
                    c.declared_type, table.name, c.name
                ),
            ));
        }
        if table.columns.is_empty() {
            return Err(Error::table(&table.name, "has no columns"));
        }
        let batch_rows = batch_rows.max(1);
        let scattered = self
            .catalog
            .get()
            .is_some_and(|c| c.scattered.contains(&table.name));
        self.guarded(&table.name, |s| {
            // The settings hold for this read only: an error rolls them
            // back with the savepoint.
            let at = s.spec.location();
            let plan = |s: &mut Self, on: &str| {
                s.batch(&format!(
                    "SET LOCAL enable_indexscan = {on}; SET LOCAL enable_bitmapscan = {on}"
                ))
                .map_err(|e| read_error(&at, &table.name, &e))
            };
            if scattered {
                plan(s, "off")?;
            }
            s.read_guarded(table, range, order, batch_rows, out)?;
            if scattered {
                plan(s, "on")?;
            }
            Ok(())
        })
    }
}
