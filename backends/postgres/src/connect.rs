//! Connecting, the read transaction and its savepoints, and the errors of
//! the server in one line.

use std::future::Future;
use std::sync::Arc;

use dump2py_model::error::{Error, Result};

use crate::client::pg_message;
use crate::url::{self, ConnectSpec};
use crate::{Catalog, PgSource};
use std::sync::OnceLock;

/// The server's refusal is the table's fault (`-t` may skip it); a lost
/// connection is not, and stops the dump.
pub(crate) fn read_error(at: &str, table: &str, e: &tokio_postgres::Error) -> Error {
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
    pub(crate) fn connect(
        spec: ConnectSpec,
        snapshot: Option<&str>,
        catalog: Arc<OnceLock<Catalog>>,
    ) -> Result<PgSource> {
        let (rt, client) = crate::client::connect(&spec)?;
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
    pub(crate) fn schema_to_read(&self) -> Result<String> {
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

    pub(crate) fn block<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub(crate) fn batch(&self, sql: &str) -> std::result::Result<(), tokio_postgres::Error> {
        self.block(self.client.batch_execute(sql))
    }

    /// Runs `f` inside a savepoint: a failed statement aborts only the
    /// savepoint, and the transaction (with its snapshot) reads on.
    pub(crate) fn guarded<T>(
        &mut self,
        table: &str,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
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
}

/// A string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
