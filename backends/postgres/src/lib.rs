//! The PostgreSQL source: reads one database over tokio-postgres inside one
//! read-only REPEATABLE READ transaction, so that the dump is one
//! consistent snapshot. The Source trait is synchronous: the source holds a
//! current-thread runtime and blocks on each step.

mod catalog;
pub mod client;
mod connect;
mod copy;
mod django;
mod estimate;
mod read;
mod sql;
mod tls;
mod types;
mod url;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use dump2py_model::error::{Error, Result};
use dump2py_model::order::ReadOrder;
use dump2py_model::schema::{Schema, Storage, Table};
use dump2py_plugin::registry::SourceFactory;
use dump2py_plugin::{BatchFn, KeyRange, Source, Workers};
use tokio::runtime::Runtime;
use tokio_postgres::Client;

pub use tokio_postgres;
pub use types::{column_kind, numeric_text};
pub use url::{parse as parse_url, ConnectSpec, Host, SslMode};

use client::pg_message;
use connect::read_error;

dump2py_plugin::inventory::submit! {
    SourceFactory {
        name: "postgres",
        schemes: &["postgres", "postgresql"],
        version: env!("CARGO_PKG_VERSION"),
        open: open_boxed,
        django_engines: &["postgresql", "postgresql_psycopg2", "postgis"],
        django_url: django::url,
        flags: &[],
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

    fn estimate_rows(&mut self, tables: &[&Table]) -> Vec<Option<u64>> {
        self.estimates(tables)
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
