//! PostgreSQL: each table through `COPY … FROM STDIN` in the binary
//! format (`pgbinary.rs`: the server parses nothing), or in the text
//! format, the one `psql` replays from `pg_dump`, for a table with a column
//! of a type the binary encoder doesn't know, or on a site whose naive
//! datetimes are in a zone other than UTC (the server converts them); Django's foreign keys are `DEFERRABLE
//! INITIALLY DEFERRED`, checked at once by `SET CONSTRAINTS ALL IMMEDIATE`
//! after the last table; sequences set with `setval`.

use std::borrow::Cow;
use std::io::Cursor;
use std::pin::Pin;
use std::time::Duration;

use dump2py_model::error::{Error, Result};
use dump2py_model::schema::{Column, ColumnKind, Schema, Table};
use dump2py_model::Value;
use dump2py_postgres::client::{self, message};
use dump2py_postgres::tokio_postgres::{Client, CopyInSink, SimpleQueryMessage};
use futures_util::SinkExt;
use tokio::runtime::Runtime;

use crate::convert::{write_text, Target};
use crate::pgbinary::{self, Enc};
use crate::Writer;

/// Bytes of COPY data sent at once.
const CHUNK: usize = 1 << 18;

type Copy = Pin<Box<CopyInSink<Cursor<Vec<u8>>>>>;

pub struct PgWriter {
    rt: Runtime,
    client: Client,
    place: String,
    copy: Option<Copy>,
    table: String,
    buf: Vec<u8>,
    text: String,
    /// The session's time zone is UTC: naive datetimes may go binary.
    utc: bool,
    /// The binary encoders of the table's columns; None: the text format.
    binary: Option<Vec<Enc>>,
    /// The table's columns, for messages.
    columns: Vec<String>,
}

impl PgWriter {
    pub fn open(url: &str) -> Result<PgWriter> {
        let spec = dump2py_postgres::parse_url(url, &|k| std::env::var(k).ok())?;
        let (rt, client) = client::connect(&spec)?;
        Ok(PgWriter {
            rt,
            client,
            place: spec.location(),
            copy: None,
            table: String::new(),
            buf: Vec::with_capacity(CHUNK * 2),
            text: String::new(),
            utc: true,
            binary: None,
            columns: Vec::new(),
        })
    }

    fn error(&self, e: &dump2py_postgres::tokio_postgres::Error) -> Error {
        match self.table.is_empty() {
            true => Error::Connect(format!("PostgreSQL at {}: {}", self.place, message(e))),
            false => Error::table(&self.table, message(e)),
        }
    }

    fn send(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK * 2));
        let Some(copy) = self.copy.as_mut() else {
            return Ok(());
        };
        let sent = self.rt.block_on(copy.send(Cursor::new(data)));
        sent.map_err(|e| self.error(&e))
    }
}

/// Appends `s` in COPY's text format: backslash, tab, newline and
/// carriage return escaped.
fn escape_into(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(esc);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

impl Writer for PgWriter {
    fn begin(&mut self, zone: &str) -> Result<()> {
        self.utc = zone.eq_ignore_ascii_case("UTC");
        let sql = format!(
            "BEGIN; SET CONSTRAINTS ALL DEFERRED; SET LOCAL TIME ZONE '{}'; \
             SET LOCAL statement_timeout = 0",
            zone.replace('\'', "''")
        );
        let r = self.rt.block_on(self.client.batch_execute(&sql));
        r.map_err(|e| self.error(&e))
    }

    fn target(&self) -> Target {
        Target { naive_utc: false }
    }

    fn quote(&self, ident: &str) -> String {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let r = self.rt.block_on(self.client.simple_query(sql));
        let messages = r.map_err(|e| self.error(&e))?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    fn execute(&mut self, sql: &str) -> Result<()> {
        let r = self.rt.block_on(self.client.batch_execute(sql));
        r.map_err(|e| self.error(&e))
    }

    fn table_start(&mut self, table: &Table, columns: &[Column]) -> Result<()> {
        let names: Vec<String> = columns.iter().map(|c| self.quote(&c.name)).collect();
        let encs: Option<Vec<Enc>> = columns.iter().map(|c| Enc::of(&c.declared_type)).collect();
        let naive = |e: &Enc| matches!(e, Enc::TsTz);
        self.binary = encs.filter(|e| self.utc || !e.iter().any(naive));
        let format = match self.binary {
            Some(_) => " (FORMAT binary)",
            None => "",
        };
        let sql = format!(
            "COPY {} ({}) FROM STDIN{format}",
            self.quote(&table.name),
            names.join(", ")
        );
        self.columns = columns.iter().map(|c| c.name.clone()).collect();
        self.buf.clear();
        if self.binary.is_some() {
            self.buf.extend_from_slice(pgbinary::HEADER);
        }
        self.table = table.name.clone();
        let r = self.rt.block_on(self.client.copy_in(&sql));
        let copy = r.map_err(|e| self.error(&e))?;
        self.copy = Some(Box::pin(copy));
        Ok(())
    }

    fn row(&mut self, values: &[Cow<'_, Value>]) -> Result<()> {
        if let Some(encs) = &self.binary {
            let n = i16::try_from(values.len()).unwrap_or(i16::MAX);
            self.buf.extend_from_slice(&n.to_be_bytes());
            for (i, (v, enc)) in values.iter().zip(encs).enumerate() {
                pgbinary::encode(&mut self.buf, *enc, v).map_err(|m| {
                    let column = self.columns.get(i).map_or("?", String::as_str);
                    Error::table(&self.table, format!("column {column}: {m}"))
                })?;
            }
            if self.buf.len() >= CHUNK {
                self.send()?;
            }
            return Ok(());
        }
        for (i, v) in values.iter().enumerate() {
            let v: &Value = v;
            if i > 0 {
                self.buf.push(b'\t');
            }
            match v {
                Value::Null => self.buf.extend_from_slice(b"\\N"),
                Value::Bytes(b) => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.buf.extend_from_slice(b"\\\\x");
                    for x in b {
                        self.buf.push(HEX[usize::from(x >> 4)]);
                        self.buf.push(HEX[usize::from(x & 15)]);
                    }
                }
                Value::Bool(b) => self.buf.push(if *b { b't' } else { b'f' }),
                v => {
                    self.text.clear();
                    write_text(&mut self.text, v, true)
                        .map_err(|m| Error::table(&self.table, m))?;
                    escape_into(&mut self.buf, &self.text);
                }
            }
        }
        self.buf.push(b'\n');
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(())
    }

    fn table_end(&mut self) -> Result<()> {
        if self.binary.take().is_some() {
            self.buf.extend_from_slice(pgbinary::TRAILER);
        }
        self.send()?;
        if let Some(mut copy) = self.copy.take() {
            let r = self.rt.block_on(copy.as_mut().finish());
            r.map_err(|e| self.error(&e))?;
        }
        self.table.clear();
        Ok(())
    }

    fn check_foreign_keys(&mut self, _schema: &Schema, _tables: &[String]) -> Result<()> {
        // Django's foreign keys are deferred: checked here, before commit.
        self.execute("SET CONSTRAINTS ALL IMMEDIATE")
    }

    fn reset_sequences(&mut self, tables: &[&Table]) -> Result<()> {
        for t in tables {
            let [key] = t.primary_key.as_slice() else {
                continue;
            };
            if !t.column(key).is_some_and(|c| c.kind == ColumnKind::Int) {
                continue;
            }
            let sql = format!(
                "SELECT pg_catalog.setval(s::regclass, m) FROM (SELECT \
                 pg_catalog.pg_get_serial_sequence($1, $2) AS s, (SELECT max({}) FROM {}) AS m) x \
                 WHERE s IS NOT NULL AND m IS NOT NULL",
                self.quote(key),
                self.quote(&t.name)
            );
            let quoted = self.quote(&t.name);
            let r = self
                .rt
                .block_on(self.client.query(&sql, &[&quoted, &key.as_str()]));
            r.map_err(|e| Error::table(&t.name, format!("setting its sequence: {}", message(&e))))?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.execute("COMMIT")
    }

    fn rollback(&mut self) {
        // An unfinished COPY is cancelled with its sink; the server rolls
        // back what a lost connection leaves, too.
        self.copy = None;
        let _ = self.rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(5),
                self.client.batch_execute("ROLLBACK"),
            )
            .await
        });
    }
}
