//! The MariaDB/MySQL source: one connection, one consistent-snapshot
//! transaction for the whole dump, rows streamed from the socket with the
//! text protocol (what Django's drivers read). TLS as the MySQL client's
//! `ssl-mode`, over rustls.

mod columns;
mod connect;
mod django;
mod estimate;
mod jobs;
mod read;
mod schema;
mod tls;
mod types;
mod url;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dump2py_model::error::{Error, Result};
use dump2py_model::order::ReadOrder;
use dump2py_model::schema::{Schema, Table};
use dump2py_plugin::registry::SourceFactory;
use dump2py_plugin::{BatchFn, KeyRange, Source, Workers};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

pub use crate::connect::{connect, message};
use crate::read::{int_key, quote};
pub use crate::schema::json_checked_columns;
pub use crate::types::{column_kind, normalize_declared};
pub use crate::url::{parse as parse_url, Check, ConnSpec, SslMode, DEFAULT_CONNECT_TIMEOUT};
pub use mysql_async;

dump2py_plugin::inventory::submit! {
    SourceFactory {
        name: "mysql",
        schemes: &["mysql", "mariadb"],
        version: env!("CARGO_PKG_VERSION"),
        open: open_boxed,
        django_engines: &["mysql"],
        django_url: django::url,
        flags: &[],
    }
}

fn open_boxed(url: &str) -> Result<Box<dyn Source>> {
    Ok(Box::new(MysqlSource::open(url)?))
}

/// Run before the snapshot: UTF-8 text, TIMESTAMPs in UTC, and a server
/// that waits for a slow sink instead of dropping the connection.
const SESSION_SETUP: &[&str] = &[
    "SET NAMES utf8mb4",
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION net_write_timeout = 3600",
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    SNAPSHOT,
];

const SNAPSHOT: &str = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";

pub struct MysqlSource {
    // Dropped in Drop, while the runtime still runs.
    conn: Option<Conn>,
    rt: tokio::runtime::Runtime,
    url: String,
    place: String,
    /// A table's rows are still on their way: the server must not be
    /// waited for (a goodbye would first read them all).
    unread: bool,
    /// Tables the user can't see (no privilege on them), with the reason;
    /// in the schema with no columns, so that they are skipped by name.
    /// Set by the first `schema`, shared with the workers.
    invisible: Arc<OnceLock<HashMap<String, String>>>,
    /// Something was read: the snapshot may no longer be restarted.
    used: bool,
    /// Tables whose every column this user may read (checked once: a
    /// table is read again for another order, or counted first).
    readable: std::collections::HashSet<String>,
}

impl MysqlSource {
    /// Connects (waiting at most the URL's `connect_timeout`, 10 s by
    /// default) and starts the snapshot that every later read sees.
    pub fn open(url: &str) -> Result<MysqlSource> {
        let spec = url::parse(url)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::Connect(format!("can't start the MariaDB/MySQL client: {e}")))?;
        let conn = rt.block_on(connect(&spec))?;
        let mut source = MysqlSource {
            conn: Some(conn),
            rt,
            url: url.to_string(),
            place: spec.place(),
            unread: false,
            invisible: Arc::default(),
            used: false,
            readable: Default::default(),
        };
        for sql in SESSION_SETUP {
            source.rows(sql).map_err(|e| {
                Error::Connect(format!(
                    "can't start a consistent snapshot on MariaDB/MySQL at {} ({sql}): {}",
                    source.place,
                    message(&e)
                ))
            })?;
        }
        Ok(source)
    }

    /// A small query's rows as text.
    fn rows(&mut self, sql: &str) -> std::result::Result<schema::Rows, mysql_async::Error> {
        let MysqlSource { conn, rt, .. } = &mut *self;
        let Some(conn) = conn.as_mut() else {
            return Ok(Vec::new());
        };
        let rows: Vec<Row> = rt.block_on(conn.query(sql))?;
        Ok(text_rows(rows))
    }

    /// A failed query of `table`: the connection's end stops the dump,
    /// anything else is the table's (and `-t` may skip it).
    fn table_error(&self, table: &str, e: mysql_async::Error) -> Error {
        if e.is_fatal() {
            Error::Connect(format!(
                "lost the connection to MariaDB/MySQL at {} while reading table {table}: {}",
                self.place,
                message(&e)
            ))
        } else {
            Error::table(table, message(&e))
        }
    }
}

impl Drop for MysqlSource {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.unread {
                // Closing the socket ends the query on the server too.
                drop(conn);
                return;
            }
            // A polite goodbye, but never a long wait for it.
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(2), conn.disconnect()).await
            });
        }
    }
}

impl Source for MysqlSource {
    // Reads on a thread of its own while the sinks format.
    fn as_send(&mut self) -> Option<&mut (dyn Source + Send)> {
        Some(self)
    }

    fn describe(&self) -> String {
        dump2py_model::url::redact(&self.url)
    }

    fn schema(&mut self) -> Result<Schema> {
        self.used = true;
        let failed = |place: &str, e: mysql_async::Error| {
            Error::Connect(format!(
                "can't read the schema on MariaDB/MySQL at {place}: {}",
                message(&e)
            ))
        };
        let tables = self
            .rows(schema::TABLES_SQL)
            .map_err(|e| failed(&self.place, e))?;
        let columns = self
            .rows(schema::COLUMNS_SQL)
            .map_err(|e| failed(&self.place, e))?;
        let keys = self
            .rows(schema::KEYS_SQL)
            .map_err(|e| failed(&self.place, e))?;
        let checks = match self.rows(schema::CHECKS_SQL) {
            Ok(rows) => rows,
            Err(e) if !e.is_fatal() => Vec::new(),
            Err(e) => return Err(failed(&self.place, e)),
        };
        let mut schema = schema::build(&tables, &columns, &keys, &checks);
        let mut invisible = schema::add_invisible(&mut schema);
        // Tables without any privilege are missing from information_schema:
        // an entry that can't be read stands for them (it stops the dump,
        // or -t skips it and the dump says it is incomplete).
        if let Some(why) = self.unseen_tables() {
            schema.tables.insert(
                0,
                Table {
                    name: schema::UNSEEN.to_string(),
                    columns: Vec::new(),
                    primary_key: Vec::new(),
                    foreign_keys: Vec::new(),
                    unique: Vec::new(),
                },
            );
            invisible.insert(schema::UNSEEN.to_string(), why);
        }
        // Already set by another source: the same snapshot read the same.
        let _ = self.invisible.set(invisible);
        Ok(schema)
    }

    fn estimate_rows(&mut self, tables: &[&Table]) -> Vec<Option<u64>> {
        self.estimates(tables)
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        self.check_visible(table)?;
        let sql = format!("SELECT count(*) FROM {}", quote(&table.name));
        let rows = self
            .rows(&sql)
            .map_err(|e| self.table_error(&table.name, e))?;
        self.check_all_columns(table)?;
        let n = rows
            .first()
            .and_then(|r| r.first())
            .and_then(|c| c.as_deref());
        n.and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::table(&table.name, format!("count(*) gave {n:?}")))
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
        self.check_visible(table)?;
        let Some(key) = int_key(table) else {
            return Ok(None);
        };
        let sql = format!("SELECT MIN({key}), MAX({key}) FROM {}", quote(&table.name));
        let rows = self
            .rows(&sql)
            .map_err(|e| self.table_error(&table.name, e))?;
        let bound = |i: usize| -> Option<i64> { rows.first()?.get(i)?.as_deref()?.parse().ok() };
        // An unsigned key beyond i64 is not split.
        Ok(bound(0).zip(bound(1)))
    }

    fn workers(&mut self, n: usize) -> Result<Workers> {
        self.start_workers(n)
    }
}

impl MysqlSource {
    /// Why some tables may be invisible to this user: its grants (and its
    /// role's) give no SELECT on the whole database. None when they do, or
    /// when the server doesn't say (SHOW GRANTS fails).
    fn unseen_tables(&mut self) -> Option<String> {
        let first = |rows: schema::Rows| rows.into_iter().next()?.into_iter().next()?;
        let db = first(self.rows("SELECT DATABASE()").ok()?)?;
        let user = first(self.rows("SELECT CURRENT_USER()").ok()?).unwrap_or_default();
        let mut grants: Vec<String> = self
            .rows("SHOW GRANTS")
            .ok()?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        // The current role's grants, and those of the roles granted to it.
        let role = self
            .rows("SELECT CURRENT_ROLE()")
            .ok()
            .and_then(first)
            .filter(|r| r != "NONE" && !r.is_empty());
        let mut roles: Vec<String> = role.into_iter().collect();
        let mut seen = 0;
        while seen < roles.len() && seen < 16 {
            let role = roles[seen].clone();
            seen += 1;
            let name = if role.starts_with('`') {
                role
            } else {
                quote(&role)
            };
            let Ok(rows) = self.rows(&format!("SHOW GRANTS FOR {name}")) else {
                continue;
            };
            for line in rows
                .into_iter()
                .filter_map(|r| r.into_iter().next().flatten())
            {
                if let Some(inner) = schema::granted_role(&line) {
                    if !roles.contains(&inner) {
                        roles.push(inner);
                    }
                }
                grants.push(line);
            }
        }
        if schema::reads_whole_database(&grants, &db) {
            return None;
        }
        Some(format!(
            "user {user} has no SELECT privilege on database `{db}` (SHOW GRANTS): the tables \
             it has no privilege on are invisible to it, and would be missing from the dump \
             without a word; GRANT SELECT ON `{db}`.* to it"
        ))
    }

    fn check_visible(&mut self, table: &Table) -> Result<()> {
        self.used = true;
        match self.invisible.get().and_then(|m| m.get(&table.name)) {
            Some(why) => Err(Error::table(&table.name, why.clone())),
            None => Ok(()),
        }
    }
}

/// A small query's rows as text (NULL as `None`), as the source and the
/// database sink read their catalog queries.
pub fn text_rows(rows: Vec<Row>) -> Vec<Vec<Option<String>>> {
    rows.into_iter()
        .map(|r| {
            r.unwrap_raw()
                .into_iter()
                .map(|v| match v {
                    Some(mysql_async::Value::Bytes(b)) => {
                        Some(String::from_utf8_lossy(&b).into_owned())
                    }
                    Some(mysql_async::Value::NULL) | None => None,
                    Some(other) => Some(other.as_sql(true)),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests;
