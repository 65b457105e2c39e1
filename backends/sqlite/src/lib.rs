//! The SQLite source: reads a database file inside one read transaction,
//! so that the dump is one consistent snapshot.

mod dateparse;
mod django;
mod types;

use std::path::{Path, PathBuf};

use dump2py_model::error::{Error, Result};
use dump2py_model::order::ReadOrder;
use dump2py_model::schema::{Column, ForeignKey, Schema, Storage, Table};
use dump2py_model::url::parse_query;
use dump2py_plugin::registry::{SourceFactory, SourceFlag};
use dump2py_plugin::{BatchFn, Source, Workers};
use rusqlite::{Connection, OpenFlags};

pub use types::column_kind;

dump2py_plugin::inventory::submit! {
    SourceFactory {
        name: "sqlite",
        schemes: &["sqlite", "sqlite3"],
        version: env!("CARGO_PKG_VERSION"),
        open: open_boxed,
        django_engines: &["sqlite3", "spatialite"],
        django_url: django::url,
        flags: &[SourceFlag {
            name: "allow-empty",
            param: "allow_empty",
            help: "Dump an empty SQLite file (or /dev/null) as a database without tables instead of refusing it.",
        }],
    }
}

fn open_boxed(url: &str) -> Result<Box<dyn Source>> {
    let (path, options) = parse_url(url)?;
    Ok(Box::new(SqliteSource::open_with(&path, &options)?))
}

/// How to open a database file, from the URL's parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// `allow_empty=1`: an empty file, or something that is not a regular
    /// file (`/dev/null`), is a database without tables instead of an error.
    pub allow_empty: bool,
}

/// `sqlite:PATH`, `sqlite://PATH` and `sqlite:///ABS/PATH` → the file path.
pub fn path_of(url: &str) -> Result<PathBuf> {
    parse_url(url).map(|(path, _)| path)
}

/// The file path and the parameters after `?` (`sqlite:PATH?allow_empty=1`);
/// a `?` always starts the parameters.
pub fn parse_url(url: &str) -> Result<(PathBuf, OpenOptions)> {
    let rest = url
        .split_once(':')
        .map(|(_, r)| r)
        .ok_or_else(|| Error::Usage(format!("not an SQLite URL: {url}")))?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(Error::Usage(format!(
            "database URL '{url}' names no file; write sqlite:PATH"
        )));
    }
    let mut options = OpenOptions::default();
    let params =
        parse_query(query).map_err(|why| Error::Usage(format!("database URL '{url}': {why}")))?;
    for (key, value) in params {
        match (key.as_str(), value.as_str()) {
            ("allow_empty", "1" | "true") => options.allow_empty = true,
            ("allow_empty", "0" | "false") => options.allow_empty = false,
            _ => {
                return Err(Error::Usage(format!(
                    "database URL '{url}': unknown parameter '{key}={value}'; the SQLite source knows allow_empty=1"
                )))
            }
        }
    }
    Ok((PathBuf::from(path), options))
}

/// An empty regular file, or the null device: what SQLite opens as a
/// database without tables.
fn is_empty_db(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    if m.is_file() {
        return m.len() == 0;
    }
    std::fs::metadata("/dev/null")
        .is_ok_and(|null| m.file_type().is_char_device() && null.rdev() == m.rdev())
}

/// The magic string an SQLite database file starts with.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// The smallest database: one page of the smallest page size.
const MIN_DB_SIZE: u64 = 512;

/// A non-empty regular file must start with SQLite's header and hold the
/// pages the header counts: SQLite itself takes a file shorter than its
/// header for an empty database, and a truncated one for a smaller one.
fn check_header(path: &Path, len: u64) -> Result<()> {
    use std::io::Read;
    let shown = path.display();
    let mut head = [0u8; 100];
    let read = std::fs::File::open(path).and_then(|f| {
        let mut n = 0;
        let mut f = f.take(100);
        loop {
            match f.read(&mut head[n..])? {
                0 => return Ok(n),
                k => n += k,
            }
        }
    });
    let n = read.map_err(|e| Error::Connect(format!("can't read database file {shown}: {e}")))?;
    if n < 100 || &head[..16] != SQLITE_MAGIC || len < MIN_DB_SIZE {
        let size = match len {
            1 => "1 byte".to_string(),
            n => format!("{n} bytes"),
        };
        return Err(Error::Connect(format!(
            "{shown} is not an SQLite database ({size} without SQLite's header)"
        )));
    }
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([head[28], head[29], head[30], head[31]]));
    let change = &head[24..28];
    let valid_for = &head[92..96];
    // The page count is valid when written by the change it names.
    if change == valid_for && pages > 0 && pages.saturating_mul(page_size) > len {
        return Err(Error::Connect(format!(
            "{shown} is truncated: {len} bytes, its header counts {pages} pages of {page_size} bytes"
        )));
    }
    Ok(())
}

pub struct SqliteSource {
    conn: Connection,
    path: PathBuf,
}

impl SqliteSource {
    /// Opens `path` read-only and starts the read transaction.
    pub fn open(path: &Path) -> Result<SqliteSource> {
        SqliteSource::open_with(path, &OpenOptions::default())
    }

    /// As `open`; an empty file or one that isn't a regular file is an
    /// error unless `options.allow_empty` (then it has no tables).
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<SqliteSource> {
        let shown = path.display();
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Connect(format!(
                    "database file {shown} does not exist"
                )))
            }
            Err(e) => {
                return Err(Error::Connect(format!(
                    "can't read database file {shown}: {e}"
                )))
            }
            Ok(m) if m.is_dir() => {
                return Err(Error::Connect(format!(
                    "database path {shown} is a directory, not a file"
                )))
            }
            // SQLite takes an empty file, or /dev/null, for an empty database:
            // most likely a wrong path, so it must be asked for.
            Ok(m) if is_empty_db(&m) => {
                if !options.allow_empty {
                    let what = if m.is_file() {
                        "an empty file"
                    } else {
                        "the null device"
                    };
                    return Err(Error::Connect(format!(
                        "{shown} is not an SQLite database ({what}; add ?allow_empty=1 to the URL, or --allow-empty, to dump it as empty)"
                    )));
                }
                let conn = Connection::open_in_memory()
                    .map_err(|e| Error::Connect(format!("can't open {shown}: {e}")))?;
                return Ok(SqliteSource {
                    conn,
                    path: path.to_path_buf(),
                });
            }
            // SQLite reads a pipe, a FIFO or a device as if it were empty
            // (or blocks on it): only a regular file can be a database.
            Ok(m) if !m.is_file() => {
                return Err(Error::Connect(format!(
                    "{shown} is not an SQLite database file ({}): SQLite reads only regular files; save the database to a file first",
                    dump2py_model::files::kind(&m)
                )))
            }
            Ok(m) => check_header(path, m.len())?,
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| Error::Connect(format!("can't open SQLite database {shown}: {e}")))?;
        // A deferred transaction takes its snapshot at the first read, which
        // is the check that the file really is a database.
        conn.execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;")
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => {
                    Error::Connect(format!("{shown} is not an SQLite database"))
                }
                _ => Error::Connect(format!("can't read SQLite database {shown}: {e}")),
            })?;
        Ok(SqliteSource {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn table(&self, name: &str, sql: &str, is_view: bool) -> rusqlite::Result<Table> {
        let mut columns = Vec::new();
        let mut pk: Vec<(i64, String)> = Vec::new();
        // table_info leaves generated columns out; table_xinfo marks them
        // hidden 2 (virtual) or 3 (stored), and a virtual table's hidden
        // columns 1 (not part of its rows).
        let mut stmt = self.conn.prepare(
            "SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?1) WHERE hidden <> 1",
        )?;
        let mut rows = stmt.query([name])?;
        while let Some(r) = rows.next()? {
            let col: String = r.get(0)?;
            let declared: String = r.get(1)?;
            let notnull: bool = r.get(2)?;
            let pk_pos: i64 = r.get(3)?;
            let hidden: i64 = r.get(4)?;
            if pk_pos > 0 {
                pk.push((pk_pos, col.clone()));
            }
            columns.push(Column {
                kind: column_kind(&declared, types::is_json_column(sql, &col)),
                name: col,
                declared_type: declared,
                nullable: !notnull,
                generated: matches!(hidden, 2 | 3),
            });
        }
        pk.sort();
        let mut foreign_keys = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        )?;
        let mut rows = stmt.query([name])?;
        while let Some(r) = rows.next()? {
            let target_table: String = r.get(0)?;
            let column: String = r.get(1)?;
            let target_column: Option<String> = r.get(2)?;
            foreign_keys.push(ForeignKey {
                column,
                target_column: target_column.unwrap_or_else(|| "id".into()),
                target_table,
            });
        }
        let mut unique = Vec::new();
        if !is_view {
            let mut stmt = self.conn.prepare(
                "SELECT il.name FROM pragma_index_list(?1) il WHERE il.\"unique\" AND il.origin <> 'pk' ORDER BY il.name",
            )?;
            let names: Vec<String> = stmt
                .query_map([name], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for index in names {
                let mut stmt = self
                    .conn
                    .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")?;
                let cols: Vec<String> = stmt
                    .query_map([&index], |r| r.get::<_, Option<String>>(0))?
                    .filter_map(|c| c.transpose())
                    .collect::<rusqlite::Result<_>>()?;
                unique.push(cols);
            }
        }
        Ok(Table {
            name: name.to_string(),
            columns,
            primary_key: pk.into_iter().map(|(_, c)| c).collect(),
            foreign_keys,
            unique,
        })
    }
}

pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl Source for SqliteSource {
    // Reads on a thread of its own while the sinks format.
    fn as_send(&mut self) -> Option<&mut (dyn Source + Send)> {
        Some(self)
    }

    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn schema(&mut self) -> Result<Schema> {
        let listed: Vec<(String, String, String)> = (|| {
            let mut stmt = self.conn.prepare(
                "SELECT name, type, coalesce(sql, '') FROM sqlite_master \
                 WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })()
        .map_err(|e| Error::Connect(format!("can't read the schema of {}: {e}", self.path.display())))?;
        let mut tables = Vec::new();
        for (name, kind, sql) in listed {
            // A table that can't be described (a view on a dropped table) is
            // kept without columns: reading it reports the cause, and `-t` skips it.
            let table = self
                .table(&name, &sql, kind == "view")
                .unwrap_or_else(|_| Table {
                    name: name.clone(),
                    columns: Vec::new(),
                    primary_key: Vec::new(),
                    foreign_keys: Vec::new(),
                    unique: Vec::new(),
                });
            tables.push(table);
        }
        Ok(Schema { tables })
    }

    /// SQLite counts cheaply (no row is decoded): its estimate is the count.
    fn estimate_rows(&mut self, tables: &[&Table]) -> Vec<Option<u64>> {
        tables.iter().map(|t| self.count_rows(t).ok()).collect()
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM {}", quote(&table.name));
        self.conn
            .query_row(&sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| Error::table(&table.name, e.to_string()))
    }

    fn read_table(&mut self, table: &Table, batch_rows: usize, out: &mut BatchFn) -> Result<()> {
        types::read_table(&self.conn, table, batch_rows.max(1), out)
    }

    fn read_ordered(
        &mut self,
        table: &Table,
        order: &ReadOrder,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        types::read_ordered(&self.conn, table, order, batch_rows.max(1), out)
    }

    /// Text keys are ordered by their columns' collations in both reads.
    fn key_order_is_native(&self) -> bool {
        true
    }

    /// Another connection could share this one's snapshot only through
    /// `sqlite3_snapshot_open`, which the bundled SQLite is built without
    /// (no SQLITE_ENABLE_SNAPSHOT in libsqlite3-sys) and rusqlite doesn't
    /// wrap: one reader.
    fn workers(&mut self, n: usize) -> Result<Workers> {
        Ok(Workers {
            sources: Vec::new(),
            note: (n > 0).then(|| "SQLite: one reader (its snapshot can't be shared)".to_string()),
        })
    }

    /// Django's SQLite backend stores decimals as REAL.
    fn storage(&self) -> Storage {
        Storage {
            decimals_as_real: true,
            ..Storage::default()
        }
    }

    fn local_files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.path.clone()];
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = self.path.as_os_str().to_os_string();
            name.push(suffix);
            files.push(PathBuf::from(name));
        }
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dump2py_model::schema::ColumnKind;
    use dump2py_model::Value;

    #[test]
    fn urls_and_their_parameters() {
        let parse = |u: &str| parse_url(u).map_err(|e| e.to_string());
        let plain = (PathBuf::from("db.sqlite3"), OpenOptions::default());
        assert_eq!(parse("sqlite:db.sqlite3"), Ok(plain));
        let allow = OpenOptions { allow_empty: true };
        assert_eq!(
            parse("sqlite:///abs/db?allow_empty=1"),
            Ok((PathBuf::from("/abs/db"), allow))
        );
        assert!(parse("sqlite:db?cache=shared")
            .is_err_and(|e| e.contains("unknown parameter 'cache=shared'")));
        assert!(parse("sqlite:?allow_empty=1").is_err_and(|e| e.contains("names no file")));
    }

    /// Generated columns are in the schema, marked, and read; a virtual
    /// table's hidden columns are not its data.
    #[test]
    fn generated_columns_are_marked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gen.db");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch(
            "CREATE TABLE t (id integer PRIMARY KEY, base bigint, \
               twice bigint GENERATED ALWAYS AS (base * 2) STORED, \
               plus bigint GENERATED ALWAYS AS (base + 1) VIRTUAL, note text);
             INSERT INTO t (id, base, note) VALUES (1, 21, 'x');
             CREATE VIRTUAL TABLE f USING fts5(body);",
        )
        .expect("schema");
        drop(conn);
        let mut s = SqliteSource::open(&path).expect("open");
        let schema = s.schema().expect("schema");
        let t = schema.table("t").expect("t");
        let marked: Vec<(&str, bool)> = (t.columns.iter())
            .map(|c| (c.name.as_str(), c.generated))
            .collect();
        assert_eq!(
            marked,
            [
                ("id", false),
                ("base", false),
                ("twice", true),
                ("plus", true),
                ("note", false)
            ]
        );
        assert_eq!(
            t.column("twice").map(|c| c.kind.clone()),
            Some(ColumnKind::Int)
        );
        let mut rows = Vec::new();
        s.read_table(t, 10, &mut |b| {
            rows.extend(b.values);
            Ok(true)
        })
        .expect("read");
        assert_eq!(
            rows,
            [
                Value::Int(1),
                Value::Int(21),
                Value::Int(42),
                Value::Int(22),
                Value::Text("x".into())
            ]
        );
        let f = schema.table("f").expect("f");
        let names: Vec<&str> = f.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["body"]);
    }

    #[test]
    fn an_empty_file_is_refused_unless_allowed() {
        let dir = std::env::temp_dir().join(format!("dump2py-sqlite-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let empty = dir.join("empty.db");
        std::fs::write(&empty, "").expect("touch");
        let err = SqliteSource::open(&empty).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("is not an SQLite database (an empty file")));
        let allow = OpenOptions { allow_empty: true };
        let mut s = SqliteSource::open_with(&empty, &allow).expect("allowed");
        assert!(s.schema().expect("schema").tables.is_empty());
        assert_eq!(s.local_files()[1], dir.join("empty.db-wal"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
