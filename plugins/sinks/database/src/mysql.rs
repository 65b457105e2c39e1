//! MariaDB/MySQL: multi-row `INSERT`s of about a megabyte each, in one
//! transaction with `foreign_key_checks = 0`, then one query per foreign
//! key for rows that point nowhere (what the server would have refused).
//! InnoDB moves AUTO_INCREMENT past every key inserted by itself.

use std::borrow::Cow;
use std::time::Duration;

use dump2py_model::error::{Error, Result};
use dump2py_model::schema::{Column, ColumnKind, Schema, Table};
use dump2py_model::Value;
use dump2py_mysql::mysql_async::prelude::Queryable;
use dump2py_mysql::mysql_async::{self, Conn, Row};
use dump2py_mysql::{connect, message};
use tokio::runtime::Runtime;

use crate::convert::{write_text, Target};
use crate::Writer;

/// Bytes of one INSERT statement, well under the default
/// `max_allowed_packet` (16 MiB on MariaDB, 64 MiB on MySQL 8).
const STATEMENT: usize = 1 << 20;

const SESSION_SETUP: &[&str] = &[
    "SET NAMES utf8mb4",
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')",
    "SET SESSION foreign_key_checks = 0",
    "SET SESSION net_read_timeout = 3600",
    "START TRANSACTION",
];

pub struct MysqlWriter {
    conn: Option<Conn>,
    rt: Runtime,
    place: String,
    table: String,
    /// `INSERT INTO t (…) VALUES `.
    head: String,
    sql: String,
    rows: usize,
    /// Per column: a native `uuid` column (MariaDB 10.7+) takes dashes.
    dashed: Vec<bool>,
    text: String,
}

impl MysqlWriter {
    pub fn open(url: &str) -> Result<MysqlWriter> {
        let spec = dump2py_mysql::parse_url(url)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::Connect(format!("can't start the MariaDB/MySQL client: {e}")))?;
        let conn = rt.block_on(connect(&spec))?;
        Ok(MysqlWriter {
            conn: Some(conn),
            rt,
            place: spec.place(),
            table: String::new(),
            head: String::new(),
            sql: String::with_capacity(STATEMENT * 2),
            rows: 0,
            dashed: Vec::new(),
            text: String::new(),
        })
    }

    fn error(&self, e: &mysql_async::Error) -> Error {
        match self.table.is_empty() || e.is_fatal() {
            true => Error::Connect(format!("MariaDB/MySQL at {}: {}", self.place, message(e))),
            false => Error::table(&self.table, message(e)),
        }
    }

    fn run(&mut self, sql: &str) -> Result<()> {
        let MysqlWriter { conn, rt, .. } = self;
        let Some(conn) = conn.as_mut() else {
            return Err(Error::Connect(
                "MariaDB/MySQL: the connection is closed".into(),
            ));
        };
        let r = rt.block_on(conn.query_drop(sql));
        r.map_err(|e| self.error(&e))
    }

    fn flush_rows(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let sql = std::mem::take(&mut self.sql);
        let r = self.run(&sql);
        self.sql = sql;
        self.sql.clear();
        self.rows = 0;
        r
    }
}

/// Appends `s` as a quoted string literal (backslash escapes: the session
/// drops NO_BACKSLASH_ESCAPES).
fn quote_into(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

impl Writer for MysqlWriter {
    fn begin(&mut self, _zone: &str) -> Result<()> {
        for sql in SESSION_SETUP {
            self.run(sql)?;
        }
        Ok(())
    }

    fn target(&self) -> Target {
        Target { naive_utc: true }
    }

    fn quote(&self, ident: &str) -> String {
        format!("`{}`", ident.replace('`', "``"))
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let MysqlWriter { conn, rt, .. } = self;
        let Some(conn) = conn.as_mut() else {
            return Err(Error::Connect(
                "MariaDB/MySQL: the connection is closed".into(),
            ));
        };
        let r: std::result::Result<Vec<Row>, _> = rt.block_on(conn.query(sql));
        let rows = r.map_err(|e| self.error(&e))?;
        Ok(dump2py_mysql::text_rows(rows))
    }

    fn execute(&mut self, sql: &str) -> Result<()> {
        self.run(sql)
    }

    fn table_start(&mut self, table: &Table, columns: &[Column]) -> Result<()> {
        let names: Vec<String> = columns.iter().map(|c| self.quote(&c.name)).collect();
        self.head = format!(
            "INSERT INTO {} ({}) VALUES ",
            self.quote(&table.name),
            names.join(", ")
        );
        self.dashed = columns.iter().map(|c| c.kind == ColumnKind::Uuid).collect();
        self.table = table.name.clone();
        self.sql.clear();
        self.rows = 0;
        Ok(())
    }

    fn row(&mut self, values: &[Cow<'_, Value>]) -> Result<()> {
        if self.rows == 0 {
            self.sql.push_str(&self.head);
        } else {
            self.sql.push(',');
        }
        self.sql.push('(');
        for (i, v) in values.iter().enumerate() {
            let v: &Value = v;
            if i > 0 {
                self.sql.push(',');
            }
            match v {
                Value::Null => self.sql.push_str("NULL"),
                Value::Bytes(b) => {
                    self.sql.push_str("X'");
                    for x in b {
                        self.sql.push_str(&format!("{x:02x}"));
                    }
                    self.sql.push('\'');
                }
                Value::Float(f) if !f.is_finite() => {
                    return Err(Error::table(
                        &self.table,
                        format!("{f} can't be stored in MariaDB/MySQL"),
                    ))
                }
                Value::Bool(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
                    write_text(&mut self.sql, v, false).map_err(|m| Error::table(&self.table, m))?
                }
                Value::Duration(us) => self.sql.push_str(&us.to_string()),
                v => {
                    self.text.clear();
                    let dashed = self.dashed.get(i).copied().unwrap_or(false);
                    write_text(&mut self.text, v, dashed)
                        .map_err(|m| Error::table(&self.table, m))?;
                    quote_into(&mut self.sql, &self.text);
                }
            }
        }
        self.sql.push(')');
        self.rows += 1;
        if self.sql.len() >= STATEMENT {
            self.flush_rows()?;
        }
        Ok(())
    }

    fn table_end(&mut self) -> Result<()> {
        self.flush_rows()?;
        self.table.clear();
        Ok(())
    }

    fn check_foreign_keys(&mut self, schema: &Schema, tables: &[String]) -> Result<()> {
        let written = |t: &str| tables.iter().any(|w| w == t);
        for table in &schema.tables {
            for fk in &table.foreign_keys {
                if !written(&table.name) && !written(&fk.target_table) {
                    continue;
                }
                let (c, t, p, pc) = (
                    self.quote(&fk.column),
                    self.quote(&table.name),
                    self.quote(&fk.target_table),
                    self.quote(&fk.target_column),
                );
                let sql = format!(
                    "SELECT CAST(c.{c} AS CHAR) FROM {t} c LEFT JOIN {p} p ON p.{pc} = c.{c} \
                     WHERE c.{c} IS NOT NULL AND p.{pc} IS NULL LIMIT 1"
                );
                if let Some(row) = self.query(&sql)?.into_iter().next() {
                    let v = row.into_iter().next().flatten().unwrap_or_default();
                    return Err(Error::table(
                        &table.name,
                        format!(
                            "column {}: {v} is not a key of table {} (a foreign key that points nowhere)",
                            fk.column, fk.target_table
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn reset_sequences(&mut self, _tables: &[&Table]) -> Result<()> {
        // InnoDB's AUTO_INCREMENT follows the highest key inserted.
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.run("COMMIT")
    }

    fn rollback(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), async {
                    let _ = conn.query_drop("ROLLBACK").await;
                    conn.disconnect().await
                })
                .await
            });
        }
    }
}

impl Drop for MysqlWriter {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(2), conn.disconnect()).await
            });
        }
    }
}
