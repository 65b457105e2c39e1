//! SQLite: one prepared `INSERT` per table, in one `BEGIN IMMEDIATE`
//! transaction with `foreign_keys` off, then `PRAGMA foreign_key_check`
//! of the tables written. Values are bound as Django's SQLite backend
//! stores them (text datetimes, integer booleans; decimals as text that
//! the column's affinity converts). AUTOINCREMENT's `sqlite_sequence`
//! follows the highest key inserted by itself.

use std::borrow::Cow;
use std::time::Duration;

use dump2py_model::error::{Error, Result};
use dump2py_model::schema::{Column, Schema, Table};
use dump2py_model::Value;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};

use crate::convert::{write_text, Target};
use crate::Writer;

pub struct SqliteWriter {
    conn: Connection,
    path: String,
    table: String,
    sql: String,
    in_transaction: bool,
}

impl SqliteWriter {
    pub fn open(url: &str) -> Result<SqliteWriter> {
        let path = dump2py_sqlite::path_of(url)?;
        let shown = path.display().to_string();
        if !path.is_file() {
            return Err(Error::Connect(format!(
                "{shown} is not a database file: --into needs the migrated database of the site"
            )));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)
            .map_err(|e| Error::Connect(format!("can't open {shown}: {e}")))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(|e| Error::Connect(format!("{shown}: {e}")))?;
        Ok(SqliteWriter {
            conn,
            path: shown,
            table: String::new(),
            sql: String::new(),
            in_transaction: false,
        })
    }

    fn error(&self, e: rusqlite::Error) -> Error {
        match self.table.is_empty() {
            true => Error::Connect(format!("{}: {e}", self.path)),
            false => Error::table(&self.table, e.to_string()),
        }
    }
}

/// A value bound as Django's SQLite backend stores it.
struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Bool(b) => ToSqlOutput::from(i64::from(*b)),
            Value::Int(n) => ToSqlOutput::from(*n),
            Value::Duration(n) => ToSqlOutput::from(*n),
            Value::UInt(n) => match i64::try_from(*n) {
                Ok(n) => ToSqlOutput::from(n),
                Err(_) => ToSqlOutput::from(n.to_string()),
            },
            Value::Float(f) => ToSqlOutput::from(*f),
            Value::Text(t) | Value::Decimal(t) | Value::Json(t) => {
                ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes()))
            }
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            v => {
                let mut s = String::new();
                write_text(&mut s, v, false)
                    .map_err(|m| rusqlite::Error::ToSqlConversionFailure(m.into()))?;
                ToSqlOutput::from(s)
            }
        })
    }
}

impl Writer for SqliteWriter {
    fn begin(&mut self, _zone: &str) -> Result<()> {
        // Foreign keys are checked once, at the end (foreign_keys can't
        // change inside a transaction).
        let r = self
            .conn
            .execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE");
        r.map_err(|e| self.error(e))?;
        self.in_transaction = true;
        Ok(())
    }

    fn target(&self) -> Target {
        Target { naive_utc: true }
    }

    fn quote(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let run = || -> rusqlite::Result<Vec<Vec<Option<String>>>> {
            let mut stmt = self.conn.prepare(sql)?;
            let n = stmt.column_count();
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let mut r = Vec::with_capacity(n);
                for i in 0..n {
                    r.push(match row.get_ref(i)? {
                        ValueRef::Null => None,
                        ValueRef::Integer(n) => Some(n.to_string()),
                        ValueRef::Real(f) => Some(f.to_string()),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            Some(String::from_utf8_lossy(t).into_owned())
                        }
                    });
                }
                out.push(r);
            }
            Ok(out)
        };
        run().map_err(|e| self.error(e))
    }

    fn execute(&mut self, sql: &str) -> Result<()> {
        let r = self.conn.execute_batch(sql);
        r.map_err(|e| self.error(e))
    }

    fn table_start(&mut self, table: &Table, columns: &[Column]) -> Result<()> {
        let names: Vec<String> = columns.iter().map(|c| self.quote(&c.name)).collect();
        let marks = vec!["?"; columns.len()].join(", ");
        self.sql = format!(
            "INSERT INTO {} ({}) VALUES ({marks})",
            self.quote(&table.name),
            names.join(", ")
        );
        self.table = table.name.clone();
        Ok(())
    }

    fn row(&mut self, values: &[Cow<'_, Value>]) -> Result<()> {
        let r = self.conn.prepare_cached(&self.sql).and_then(|mut stmt| {
            stmt.execute(rusqlite::params_from_iter(values.iter().map(|v| Bind(v))))
        });
        r.map(drop).map_err(|e| self.error(e))
    }

    fn table_end(&mut self) -> Result<()> {
        self.table.clear();
        Ok(())
    }

    fn check_foreign_keys(&mut self, schema: &Schema, tables: &[String]) -> Result<()> {
        let written = |t: &str| tables.iter().any(|w| w == t);
        for table in &schema.tables {
            let touched =
                written(&table.name) || table.foreign_keys.iter().any(|f| written(&f.target_table));
            if !touched || table.foreign_keys.is_empty() {
                continue;
            }
            let sql = format!("PRAGMA foreign_key_check({})", self.quote(&table.name));
            if let Some(row) = self.query(&sql)?.into_iter().next() {
                let rowid = row.get(1).cloned().flatten().unwrap_or_default();
                let parent = row.get(2).cloned().flatten().unwrap_or_default();
                return Err(Error::table(
                    &table.name,
                    format!("row {rowid} points to no row of table {parent} (a foreign key that points nowhere)"),
                ));
            }
        }
        Ok(())
    }

    fn reset_sequences(&mut self, _tables: &[&Table]) -> Result<()> {
        // sqlite_sequence follows the highest key inserted.
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        let r = self.conn.execute_batch("COMMIT");
        r.map_err(|e| self.error(e))?;
        self.in_transaction = false;
        Ok(())
    }

    fn rollback(&mut self) {
        if self.in_transaction {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.in_transaction = false;
        }
    }
}
