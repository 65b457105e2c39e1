//! The MariaDB/MySQL source: one connection, one consistent-snapshot
//! transaction for the whole dump, rows streamed from the socket with the
//! text protocol (what Django's drivers read). TLS as the MySQL client's
//! `ssl-mode`, over rustls.

mod django;
mod jobs;
mod schema;
mod tls;
mod types;
mod url;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dump2py_core::error::{Error, Result};
use dump2py_core::order::{float_literal, quoted_text, Dialect, Param, ReadOrder};
use dump2py_core::plugin::{BatchFn, KeyRange, Source, Workers};
use dump2py_core::registry::SourceFactory;
use dump2py_core::schema::{ColumnKind, Schema, Table};
use dump2py_core::{Batch, Value};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row, SslOpts};

pub use crate::schema::json_checked_columns;
use crate::types::Conv;
pub use crate::types::{column_kind, normalize_declared};
pub use crate::url::{parse as parse_url, Check, ConnSpec, SslMode, DEFAULT_CONNECT_TIMEOUT};
pub use mysql_async;

dump2py_core::inventory::submit! {
    SourceFactory {
        name: "mysql",
        schemes: &["mysql", "mariadb"],
        version: env!("CARGO_PKG_VERSION"),
        open: open_boxed,
        django_engines: &["mysql"],
        django_url: django::url,
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
        Ok(rows
            .into_iter()
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
            .collect())
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

/// Connects as `spec` says (TLS, one time limit): the source's
/// connection, and the database sink's (dump2py-database).
pub async fn connect(spec: &ConnSpec) -> Result<Conn> {
    let ssl = tls::ssl_opts(spec)
        .map_err(|why| Error::Connect(format!("MariaDB/MySQL at {}: {why}", spec.place())))?;
    // One limit for every attempt together.
    match tokio::time::timeout(spec.connect_timeout, connect_tls(spec, ssl)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(connect_error(spec, &e)),
        Err(_) => Err(Error::Connect(format!(
            "can't connect to MariaDB/MySQL at {}: no answer within {} s",
            spec.place(),
            spec.connect_timeout.as_secs()
        ))),
    }
}

/// Connects with TLS as `ssl` says: PREFERRED goes on without TLS only
/// when the server offers none, never after a failed handshake.
async fn connect_tls(
    spec: &ConnSpec,
    ssl: Option<SslOpts>,
) -> std::result::Result<Conn, mysql_async::Error> {
    let Some(ssl) = ssl else {
        return attempt(spec, None).await;
    };
    match attempt(spec, Some(ssl.clone())).await {
        Err(e) if tls::not_offered(&e) && spec.effective_ssl_mode() == SslMode::Preferred => {
            attempt(spec, None).await
        }
        // VERIFY_CA: a certificate that failed for its name only has a
        // trusted chain; checked again for a name it holds, it passes.
        Err(e) if spec.check() == Check::Chain => {
            match tls::trusted_names(&e).and_then(|n| n.into_iter().next()) {
                Some(name) => {
                    let ssl = ssl.with_danger_tls_hostname_override(Some(tls::checkable(&name)));
                    attempt(spec, Some(ssl)).await
                }
                None => Err(e),
            }
        }
        other => other,
    }
}

async fn attempt(
    spec: &ConnSpec,
    ssl: Option<SslOpts>,
) -> std::result::Result<Conn, mysql_async::Error> {
    // libmysqlclient's default user is the login name.
    let user = spec.user.clone().or_else(|| std::env::var("USER").ok());
    let opts = OptsBuilder::default()
        .user(user)
        .pass(spec.password.clone())
        .db_name(Some(spec.database.clone()))
        // Else mysql_async moves a TCP connection to the server's socket,
        // where the same user may be another account.
        .prefer_socket(false)
        .stmt_cache_size(0)
        .tcp_nodelay(true)
        .ssl_opts(ssl);
    let opts = match &spec.socket {
        Some(path) => opts.socket(Some(path.clone())),
        None => opts.ip_or_hostname(spec.host.clone()).tcp_port(spec.port),
    };
    Conn::new(opts).await
}

fn connect_error(spec: &ConnSpec, e: &mysql_async::Error) -> Error {
    let place = spec.place();
    let user = spec.user_name();
    let db = &spec.database;
    if tls::not_offered(e) {
        return Error::Connect(format!(
            "can't connect to MariaDB/MySQL at {place}: the server offers no TLS, which \
             ssl-mode={} requires",
            spec.ssl_mode.name()
        ));
    }
    if let Some(r) = tls::rustls_error(e) {
        return Error::Connect(format!(
            "can't connect to MariaDB/MySQL at {place} over TLS: {}",
            tls::explain(spec, r)
        ));
    }
    // TLS turned off over TCP: the server may insist on it. (Without TLS on
    // the server, or on a socket, TLS can't be why.)
    let tls_off = spec.socket.is_none() && spec.ssl_mode == SslMode::Disabled;
    Error::Connect(match e {
        mysql_async::Error::Server(s) if s.code == 1045 || s.code == 1698 => {
            let with = if spec.password.is_some() {
                "with a password"
            } else {
                "without a password"
            };
            // An account that requires TLS is denied like a wrong password.
            let or_tls = if tls_off {
                ", or the account requires TLS and this connection has none (ssl-mode=DISABLED)"
            } else {
                ""
            };
            format!(
                "MariaDB/MySQL at {place} denied access to user '{user}' ({with}): \
                 wrong password or no such user{or_tls}"
            )
        }
        mysql_async::Error::Server(s) if s.code == 1049 => {
            format!("database '{db}' does not exist on MariaDB/MySQL at {place}")
        }
        mysql_async::Error::Server(s) if s.code == 1044 => {
            format!("user '{user}' may not use database '{db}' on MariaDB/MySQL at {place}")
        }
        // MySQL's ER_SECURE_TRANSPORT_REQUIRED (MariaDB answers 1045).
        mysql_async::Error::Server(s) if s.code == 3159 && tls_off => format!(
            "MariaDB/MySQL at {place} accepts only TLS connections, and this one has none \
             (ssl-mode=DISABLED): {}",
            message(e)
        ),
        _ => format!("can't connect to MariaDB/MySQL at {place}: {}", message(e)),
    })
}

/// One line, without the driver's decorations.
pub fn message(e: &mysql_async::Error) -> String {
    let text = match e {
        mysql_async::Error::Server(s) => format!("{} (error {})", s.message, s.code),
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io.to_string(),
        other => other.to_string(),
    };
    text.replace(['\n', '\r'], " ")
}

/// MariaDB's and MySQL's SQL for [`ReadOrder`]s.
struct Mysql;

impl Dialect for Mysql {
    fn vendor(&self) -> &'static str {
        "mysql"
    }
    fn quote(&self, ident: &str) -> String {
        quote(ident)
    }
    fn literal(&self, p: &Param) -> std::result::Result<String, String> {
        match p {
            Param::Null => Ok("NULL".into()),
            Param::Bool(b) => Ok(u8::from(*b).to_string()),
            Param::Int(n) => Ok(n.to_string()),
            Param::Float(f) => float_literal(*f),
            // A backslash means one thing or another by the sql_mode.
            Param::Text(t) if t.contains('\\') => {
                Err("a text parameter with a backslash (its meaning depends on sql_mode)".into())
            }
            Param::Text(t) => quoted_text(t),
        }
    }
}

/// `name` quoted for MariaDB/MySQL.
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The primary key of `table` if it is one integer column (what
/// [`KeyRange`]s split), quoted.
fn int_key(table: &Table) -> Option<String> {
    let [key] = table.primary_key.as_slice() else {
        return None;
    };
    let column = &table.columns[table.column_index(key)?];
    matches!(column.kind, ColumnKind::Int | ColumnKind::UInt).then(|| quote(key))
}

/// `WHERE` of the rows in `range` (empty for all, and for None).
fn range_filter(table: &Table, range: Option<KeyRange>) -> Result<String> {
    let Some(range) = range else {
        return Ok(String::new());
    };
    let key = int_key(table).ok_or_else(|| KeyRange::unsplittable(&table.name))?;
    Ok(range.sql_filter(&key, |v| v.to_string()))
}

/// The statement that streams a table in primary-key order (all columns
/// when it has none); `filter` is a WHERE clause with a leading space, or
/// empty.
fn select_sql(table: &Table, convs: &[Conv], filter: &str) -> String {
    let cols: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
    let order_by = |i: usize| {
        if convs[i].sorts_as_bytes() {
            format!("CAST({} AS BINARY)", cols[i])
        } else {
            cols[i].clone()
        }
    };
    let key: Vec<usize> = table
        .primary_key
        .iter()
        .filter_map(|c| table.column_index(c))
        .collect();
    let order: Vec<String> = if key.is_empty() || key.len() != table.primary_key.len() {
        (0..cols.len()).map(order_by).collect()
    } else {
        key.into_iter().map(order_by).collect()
    };
    format!(
        "SELECT {} FROM {}{filter} ORDER BY {}",
        cols.join(", "),
        quote(&table.name),
        order.join(", ")
    )
}

fn pk_text(table: &Table, convs: &[Conv], row: &[Option<mysql_async::Value>]) -> String {
    table.pk_text_with(|i| match row.get(i)? {
        Some(mysql_async::Value::Bytes(b)) => types::convert(*convs.get(i)?, Some(b))
            .ok()
            .or_else(|| Some(Value::Text(String::from_utf8_lossy(b).into_owned()))),
        Some(mysql_async::Value::NULL) => Some(Value::Null),
        _ => None,
    })
}

impl Source for MysqlSource {
    // Reads on a thread of its own while the sinks format.
    fn as_send(&mut self) -> Option<&mut (dyn Source + Send)> {
        Some(self)
    }

    fn describe(&self) -> String {
        dump2py_core::url::redact(&self.url)
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

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        self.check_visible(table)?;
        let sql = format!("SELECT count(*) FROM {}", quote(&table.name));
        let rows = self
            .rows(&sql)
            .map_err(|e| self.table_error(&table.name, e))?;
        // information_schema shows only the columns the user has a
        // privilege on; `SELECT *` needs them all.
        let all = format!("SELECT * FROM {} LIMIT 0", quote(&table.name));
        self.rows(&all)
            .map_err(|e| match self.table_error(&table.name, e) {
                Error::Table { table, message } => Error::Table {
                    table,
                    message: format!("the user may read only some of its columns: {message}"),
                },
                other => other,
            })?;
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

    fn read(
        &mut self,
        table: &Table,
        range: Option<KeyRange>,
        order: Option<&ReadOrder>,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        self.check_visible(table)?;
        let batch_rows = batch_rows.max(1);
        let mut convs = Vec::with_capacity(table.columns.len());
        for c in &table.columns {
            match (Conv::of(c), &c.kind) {
                (Some(conv), _) => convs.push(conv),
                (None, ColumnKind::Unsupported(t)) => {
                    return Err(Error::table(
                        &table.name,
                        format!("unsupported type {t} in {}.{}", table.name, c.name),
                    ))
                }
                (None, k) => {
                    return Err(Error::table(
                        &table.name,
                        format!("can't read column {} of kind {k:?}", c.name),
                    ))
                }
            }
        }
        if convs.is_empty() {
            return Err(Error::table(&table.name, "has no readable columns"));
        }
        let sql = match order {
            Some(order) => {
                let cols: Vec<String> = (table.columns.iter())
                    .map(|c| format!("t.{}", quote(&c.name)))
                    .collect();
                order.select(&Mysql, &quote(&table.name), &cols)?
            }
            None => select_sql(table, &convs, &range_filter(table, range)?),
        };
        let width = convs.len();
        let MysqlSource {
            conn, rt, unread, ..
        } = &mut *self;
        let Some(conn) = conn.as_mut() else {
            return Err(Error::Connect(
                "the MariaDB/MySQL connection is closed".into(),
            ));
        };
        *unread = true;
        let streamed: std::result::Result<Result<()>, mysql_async::Error> = rt.block_on(async {
            let mut result = conn.query_iter(sql).await?;
            let mut batch = Batch::new(width, batch_rows);
            // One row at a time from the socket: nothing holds the table.
            while let Some(row) = result.next().await? {
                let mut raw = row.unwrap_raw();
                if raw.len() != width {
                    return Ok(Err(Error::table(
                        &table.name,
                        format!("the server sent {} columns, not {width}", raw.len()),
                    )));
                }
                for (i, conv) in convs.iter().enumerate() {
                    // Copied into the batch's spare strings: the driver's
                    // buffers are freed here, on the thread that made them.
                    // A big text or blob is moved, not copied: the
                    // driver's copy is all there is of it.
                    let converted = match (&mut raw[i], conv) {
                        (
                            Some(mysql_async::Value::Bytes(b)),
                            Conv::Text | Conv::Json | Conv::Bytes,
                        ) if b.len() >= MOVED_BYTES => owned_value(*conv, std::mem::take(b)),
                        (Some(mysql_async::Value::Bytes(b)), _) => {
                            types::convert_in(*conv, Some(b.as_slice()), &mut batch)
                        }
                        _ => types::convert_in(*conv, None, &mut batch),
                    };
                    match converted {
                        Ok(v) => batch.push(v),
                        Err(message) => {
                            let c = &table.columns[i];
                            return Ok(Err(Error::Value {
                                table: table.name.clone(),
                                column: c.name.clone(),
                                pk: pk_text(table, &convs, &raw),
                                message: format!("declared {} but {message}", c.declared_type),
                            }));
                        }
                    }
                }
                if batch.full(batch_rows) {
                    match out(std::mem::replace(&mut batch, Batch::new(width, batch_rows))) {
                        Ok(true) => {}
                        Ok(false) => return Ok(Ok(())),
                        Err(e) => return Ok(Err(e)),
                    }
                }
            }
            *unread = false;
            if !batch.is_empty() {
                return Ok(out(batch).map(|_| ()));
            }
            Ok(Ok(()))
        });
        streamed.map_err(|e| self.table_error(&table.name, e))?
    }
}

/// A text or blob at least this long is moved out of the driver's row
/// rather than copied into a spare string.
const MOVED_BYTES: usize = 1 << 16;

/// A text, JSON or blob value (`conv`) made of the driver's bytes, moved.
fn owned_value(conv: Conv, bytes: Vec<u8>) -> std::result::Result<Value, String> {
    match conv {
        Conv::Bytes => Ok(Value::Bytes(bytes)),
        Conv::Text | Conv::Json => match String::from_utf8(bytes) {
            Ok(s) if matches!(conv, Conv::Json) => Ok(Value::Json(s)),
            Ok(s) => Ok(Value::Text(s)),
            // The error as a copy would have it.
            Err(e) => types::convert(conv, Some(e.as_bytes())),
        },
        _ => types::convert(conv, Some(&bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dump2py_core::schema::Column;

    fn col(name: &str, kind: ColumnKind) -> Column {
        Column {
            name: name.into(),
            declared_type: String::new(),
            kind,
            nullable: false,
            generated: false,
        }
    }

    #[test]
    fn selects_in_key_order() {
        let mut t = Table {
            name: "a`b".into(),
            columns: vec![col("code", ColumnKind::Text), col("n", ColumnKind::Int)],
            primary_key: vec!["code".into()],
            foreign_keys: vec![],
            unique: vec![],
        };
        let convs: Vec<Conv> = t.columns.iter().filter_map(Conv::of).collect();
        assert_eq!(
            select_sql(&t, &convs, ""),
            "SELECT `code`, `n` FROM `a``b` ORDER BY CAST(`code` AS BINARY)"
        );
        t.primary_key.clear();
        assert_eq!(
            select_sql(&t, &convs, ""),
            "SELECT `code`, `n` FROM `a``b` ORDER BY CAST(`code` AS BINARY), `n`"
        );
        t.primary_key = vec!["n".into()];
        assert!(select_sql(&t, &convs, "").ends_with("ORDER BY `n`"));
    }

    #[test]
    fn unreachable_server_is_a_clear_error() {
        // Nothing listens on port 1; refused at once, and no password shown.
        let err = MysqlSource::open("mysql://u:s3cret@127.0.0.1:1/db")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("can't connect to MariaDB/MySQL at 127.0.0.1:1: "),
            "{err}"
        );
        assert!(!err.contains("s3cret"));
    }

    #[test]
    fn registered_for_both_schemes() {
        let f = dump2py_core::registry::sources()
            .into_iter()
            .find(|f| f.name == "mysql");
        assert_eq!(f.map(|f| f.schemes), Some(&["mysql", "mariadb"][..]));
    }
}
