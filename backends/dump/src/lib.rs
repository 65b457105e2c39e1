//! The dump source, `-d dump:PATH`: the tables and rows of a Python dump
//! that dump2py wrote, so that every sink works on a dump (dump → JSON
//! without a database). The dump is checked against its manifest
//! (`dump2py.json`) before anything is read (every file listed, none
//! else, each of its size; restore.py's SHA-256), and each data file's
//! SHA-256 as it is read: a file changed since is an error naming it
//! before the pipeline publishes anything. Its files are parsed
//! ([`expr`]), never executed.

mod check;
mod expr;
mod ordered;
mod restore;
mod schema;
mod tables;
mod values;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use dump2py_django::meta::SiteMeta;
use dump2py_model::error::{Error, Result};
use dump2py_model::order::ReadOrder;
use dump2py_model::schema::{ColumnKind, Schema, Storage, Table};
use dump2py_model::{Batch, Value};
use dump2py_plugin::registry::SourceFactory;
use dump2py_plugin::{BatchFn, Source};
use dump2py_staging::{load_manifest, Manifest, FORMAT_DIR, MANIFEST};

use check::{check_files, damaged, lino_manifest};
use dump2py_django::CONTENT_TYPE_TABLE as CT_TABLE;
use dump2py_staging::{sha256_hex, HashingReader};
pub use expr::{parse as parse_expr, Expr, SyntaxError};
use restore::Layout;
use schema::Plan;
pub use values::json as json_text;

dump2py_plugin::inventory::submit! {
    SourceFactory {
        name: "dump",
        schemes: &["dump"],
        version: env!("CARGO_PKG_VERSION"),
        open: open_boxed,
        django_engines: &[],
        django_url: |_| Err(Error::Usage("a site's database is never a dump".into())),
        flags: &[],
    }
}

fn open_boxed(url: &str) -> Result<Box<dyn Source>> {
    Ok(Box::new(DumpSource::open(&path_of(url)?)?))
}

/// `dump:PATH` or `dump://PATH` → the dump's directory.
pub fn path_of(url: &str) -> Result<PathBuf> {
    let rest = url
        .strip_prefix("dump:")
        .ok_or_else(|| Error::Usage(format!("not a dump URL: {url}")))?;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err(Error::Usage(format!(
            "database URL '{url}' names no dump; write dump:PATH"
        )));
    }
    Ok(PathBuf::from(path))
}

/// restore.py is read whole: a dump's is a few hundred kilobytes.
const MAX_RESTORE_PY: u64 = 256 << 20;

pub struct DumpSource {
    dir: PathBuf,
    manifest: Manifest,
    layout: Layout,
    meta: Option<SiteMeta>,
    plan: Option<Plan>,
}

impl DumpSource {
    /// Opens a dump: its manifest must list exactly its files, each of
    /// the size listed, and restore.py must be unchanged and of the shape
    /// the Python sink writes.
    pub fn open(dir: &Path) -> Result<DumpSource> {
        let shown = dir.display();
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::Connect(format!(
                    "{shown} is not a dump (not a directory)"
                )))
            }
            Err(e) => return Err(Error::Connect(format!("dump {shown}: {e}"))),
        }
        let restore_path = dir.join("restore.py");
        let manifest_path = dir.join(MANIFEST);
        let (manifest, lino) = match load_manifest(&manifest_path) {
            Ok(m) => (m, false),
            Err(why) => {
                let text = dump2py_model::files::read_small_text(&restore_path, MAX_RESTORE_PY);
                let missing = std::fs::symlink_metadata(&manifest_path).is_err();
                match text {
                    Ok(t) if missing && restore::written_by_lino(&t) => (lino_manifest(dir)?, true),
                    _ => {
                        return Err(Error::Connect(format!(
                            "{shown}: not a dump of dump2py: {}: {why}",
                            manifest_path.display()
                        )))
                    }
                }
            }
        };
        if manifest.format != FORMAT_DIR {
            return Err(damaged(
                &manifest_path,
                format!("a manifest of a {}, not of a Python dump", manifest.format),
            ));
        }
        check_files(dir, &manifest)?;
        let text = std::fs::read(&restore_path).map_err(|e| Error::io(&restore_path, e))?;
        let listed = manifest.files.iter().find(|f| f.name == "restore.py");
        match listed {
            Some(f) if lino || f.sha256 == sha256_hex(&text) => {}
            Some(_) => {
                return Err(damaged(
                    &restore_path,
                    "damaged: its SHA-256 is not the manifest's",
                ))
            }
            None => return Err(damaged(&manifest_path, "it lists no restore.py")),
        }
        let text = String::from_utf8(text).map_err(|_| damaged(&restore_path, "not UTF-8"))?;
        if !lino && !restore::written_by_dump2py(&text) {
            return Err(damaged(&restore_path, "not written by dump2py"));
        }
        let layout = Layout::read(&text)
            .map_err(|e| damaged(&restore_path, format!("line {}: {}", e.line, e.message)))?;
        // Every data file is executed by restore.py, and listed.
        for f in &layout.files {
            if !manifest.files.iter().any(|m| &m.name == f) {
                return Err(damaged(
                    &restore_path,
                    format!("it executes {f:?}, which the manifest doesn't list"),
                ));
            }
        }
        if let Some(extra) = (manifest.files.iter())
            .find(|m| m.name != "restore.py" && !layout.files.contains(&m.name))
        {
            return Err(damaged(
                &dir.join(&extra.name),
                "a data file that restore.py doesn't execute",
            ));
        }
        Ok(DumpSource {
            dir: dir.to_path_buf(),
            manifest,
            layout,
            meta: None,
            plan: None,
        })
    }

    fn plan(&mut self) -> Result<&Plan> {
        if self.plan.is_none() {
            let plan = Plan::new(self)?;
            self.plan = Some(plan);
        }
        self.plan
            .as_ref()
            .ok_or_else(|| Error::Connect("no plan".into()))
    }

    /// The manifest's SHA-256 and size of a data file.
    fn listed(&self, name: &str) -> Option<(&str, u64)> {
        (self.manifest.files.iter())
            .find(|f| f.name == name)
            .map(|f| (f.sha256.as_str(), f.size))
    }

    /// Reads each statement of a data file: `each` gets the line number
    /// and a row's `create_X(...)` call. Checks the file's SHA-256 at its
    /// end; stops early (unchecked) when `each` returns false.
    fn read_file(
        &self,
        name: &str,
        each: &mut dyn FnMut(usize, Expr) -> Result<bool>,
    ) -> Result<()> {
        let path = self.dir.join(name);
        let (sha, size) = self
            .listed(name)
            .ok_or_else(|| damaged(&path, "not in the manifest"))?;
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let mut reader = BufReader::with_capacity(1 << 18, HashingReader::new(file.take(size + 1)));
        let mut line = Vec::new();
        let mut n = 0;
        loop {
            line.clear();
            let got = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::io(&path, e))?;
            if got == 0 {
                break;
            }
            n += 1;
            let at = |why: String| damaged(&path, format!("line {n}: {why}"));
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            let text = std::str::from_utf8(&line).map_err(|_| at("not UTF-8".into()))?;
            match statement(text).map_err(at)? {
                Some(call) => {
                    if !each(n, call)? {
                        return Ok(());
                    }
                }
                None => continue,
            }
        }
        let hashing = reader.into_inner();
        if hashing.size() != size {
            return Err(damaged(
                &path,
                format!(
                    "damaged: {} bytes, the manifest says {size}",
                    hashing.size()
                ),
            ));
        }
        if !sha.is_empty() && hashing.sha256() != sha {
            return Err(damaged(&path, "damaged: its SHA-256 is not the manifest's"));
        }
        Ok(())
    }
}

/// One line of a data file: a row's `create_X(...)` call, or None for the
/// lines around the rows (Lino's header, comments, the flush); else why
/// it is no line the Python sink writes.
pub fn statement(text: &str) -> std::result::Result<Option<Expr>, String> {
    if text.is_empty() || text.starts_with('#') || text == "loader.flush_deferred_objects()" {
        return Ok(None);
    }
    let e = expr::parse(text).map_err(|e| format!("column {}: {}", e.offset + 1, e.message))?;
    let Expr::Call {
        func,
        mut args,
        kwargs,
        star_kwargs,
    } = e
    else {
        return Err("not a statement the Python sink writes".into());
    };
    let Expr::Attr(obj, method) = *func else {
        return Err("not a statement the Python sink writes".into());
    };
    match (obj.name(), method.as_str(), args.len()) {
        (Some("logger"), "info", 1) if args[0].str().is_some() && kwargs.is_empty() => Ok(None),
        (Some("loader"), "save", 1) if kwargs.is_empty() && star_kwargs.is_empty() => {
            Ok(args.pop())
        }
        _ => Err("not a statement the Python sink writes".into()),
    }
}

/// The table a data file's header names: `Loading N objects[ (part i of
/// n)] to table NAME...`.
fn file_table(message: &str) -> Option<(&str, u64)> {
    let rest = message.strip_prefix("Loading ")?;
    let (count, rest) = rest.split_once(" objects")?;
    if count.is_empty() || !count.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let rest = match rest.strip_prefix(" (part ") {
        Some(r) => r.split_once(')')?.1,
        None => rest,
    };
    let table = rest.strip_prefix(" to table ")?.strip_suffix("...")?;
    Some((table, count.parse().ok()?))
}

impl Source for DumpSource {
    fn as_send(&mut self) -> Option<&mut (dyn Source + Send)> {
        Some(self)
    }

    fn describe(&self) -> String {
        format!("dump:{}", self.dir.display())
    }

    /// The site version the dump was made of (its `SOURCE_VERSION`):
    /// loading it into a site of another version needs restore.py's data
    /// migrations.
    fn site_version(&self) -> Option<String> {
        self.layout.source_version.clone()
    }

    fn site_meta(&mut self, meta: &SiteMeta) -> Result<()> {
        self.meta = Some(meta.clone());
        self.plan = None;
        Ok(())
    }

    fn schema(&mut self) -> Result<Schema> {
        let mut tables: Vec<Table> = self
            .plan()?
            .tables
            .iter()
            .map(|t| t.table.clone())
            .collect();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Schema { tables })
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        if table.name == CT_TABLE {
            return Ok(self.plan()?.content_types.len() as u64);
        }
        self.missing(table)?;
        if let Some(n) = self.manifest.tables.get(&table.name) {
            return Ok(*n);
        }
        if let Some(t) = (self.plan()?.tables.iter()).find(|t| t.table.name == table.name) {
            if let Some(n) = t.expected {
                return Ok(n);
            }
        }
        // A model of the site that the dump doesn't hold: empty.
        let made =
            (self.plan()?.tables.iter()).any(|t| t.table.name == table.name && t.func.is_empty());
        match made {
            true => Ok(0),
            false => Err(Error::table(&table.name, "not in the dump's manifest")),
        }
    }

    /// In primary-key order: a dump of dump2py holds its rows so; one of
    /// Lino's dump2py in its queryset's order, so its rows are sorted (in
    /// memory).
    fn read_table(&mut self, table: &Table, batch_rows: usize, out: &mut BatchFn) -> Result<()> {
        if self.layout.lino && table.name != CT_TABLE {
            let order = ReadOrder {
                terms: (table.primary_key.iter())
                    .map(|k| dump2py_model::order::Term {
                        alias: 0,
                        column: k.clone(),
                        desc: false,
                    })
                    .collect(),
                ..ReadOrder::default()
            };
            return ordered::read_ordered(self, table, &order, batch_rows.max(1), out);
        }
        self.read_stored(table, batch_rows, out)
    }

    /// In memory: see [`ordered`].
    fn read_ordered(
        &mut self,
        table: &Table,
        order: &ReadOrder,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        ordered::read_ordered(self, table, order, batch_rows.max(1), out)
    }

    /// The dump's order is the database's primary-key order (a dump of
    /// Lino's dump2py is sorted).
    fn key_order_is_native(&self) -> bool {
        true
    }

    /// The dumped database's storage, as restore.py notes it.
    fn storage(&self) -> Storage {
        Storage {
            decimals_as_real: self.layout.decimals_as_real,
            ..Storage::default()
        }
    }

    /// The dump's files: no output may replace them.
    fn local_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = (self.manifest.files.iter())
            .map(|f| self.dir.join(&f.name))
            .collect();
        files.push(self.dir.join(MANIFEST));
        files
    }
}

impl DumpSource {
    /// A table the dump doesn't hold (`-t` left it out): an error that
    /// `-t` may skip again.
    fn missing(&mut self, table: &Table) -> Result<()> {
        let plan = self.plan()?;
        let why = (plan.tables.iter())
            .find(|t| t.table.name == table.name)
            .and_then(|t| t.missing.clone());
        match why {
            Some(why) => {
                let prefix = format!("table {}: ", table.name);
                let why = why.strip_prefix(&prefix).unwrap_or(&why);
                Err(Error::table(
                    &table.name,
                    format!("not in the dump, which couldn't read it: {why}"),
                ))
            }
            None => Ok(()),
        }
    }

    /// The rows of `table` in the order its data files hold them.
    pub(crate) fn read_stored(
        &mut self,
        table: &Table,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        self.missing(table)?;
        let Some(plan) = self.plan.as_ref() else {
            return Ok(());
        };
        let batch_rows = batch_rows.max(1);
        let width = table.columns.len();
        if table.name == CT_TABLE {
            let mut batch = Batch::new(width, plan.content_types.len());
            let mut by_id: Vec<(&(String, String), &i64)> = plan.content_types.iter().collect();
            by_id.sort_by_key(|(_, id)| **id);
            for ((app, model), id) in by_id {
                batch.push_row([
                    Value::Int(*id),
                    Value::Text(app.clone()),
                    Value::Text(model.clone()),
                ]);
            }
            if !batch.is_empty() {
                out(batch)?;
            }
            return Ok(());
        }
        let Some(t) = plan.tables.iter().find(|t| t.table.name == table.name) else {
            return Err(Error::table(&table.name, "not in the dump"));
        };
        let mut batch = Batch::new(width, batch_rows);
        let mut rows = 0u64;
        let mut stopped = false;
        for name in &t.files {
            self.read_file(name, &mut |n, call| {
                let path = self.dir.join(name);
                let row = plan
                    .row(t, call)
                    .map_err(|why| damaged(&path, format!("line {n}: {why}")))?;
                batch.push_row(row);
                rows += 1;
                if batch.full(batch_rows) {
                    let full = std::mem::replace(&mut batch, Batch::new(width, batch_rows));
                    if !out(full)? {
                        stopped = true;
                        return Ok(false);
                    }
                }
                Ok(true)
            })?;
            if stopped {
                return Ok(());
            }
        }
        if !batch.is_empty() && !out(batch)? {
            return Ok(());
        }
        let listed = self.manifest.tables.get(&table.name).copied();
        if listed.is_some_and(|n| n != rows) {
            return Err(Error::Connect(format!(
                "{}: table {}: {rows} rows in its data files, the manifest says {}",
                self.dir.display(),
                table.name,
                listed.unwrap_or_default()
            )));
        }
        Ok(())
    }
}

/// What the plan needs of a kind it can't tell: the column kinds of the
/// first rows of a table (literal by literal).
pub(crate) fn kind_of(e: &Expr) -> Option<ColumnKind> {
    Some(match e {
        Expr::Bool(_) => ColumnKind::Bool,
        Expr::Int(_) => ColumnKind::Int,
        Expr::Str(_) => ColumnKind::Text,
        Expr::Dict(_) | Expr::Float(_) => ColumnKind::Json,
        Expr::List(_) => match values::json(e) {
            Ok(_) => ColumnKind::Json,
            Err(_) => ColumnKind::Composite,
        },
        _ => match e.simple_call() {
            Some(("date", _)) => ColumnKind::Date,
            Some(("dt", _)) => ColumnKind::DateTime,
            Some(("time", _)) => ColumnKind::Time,
            _ => return matches!(e, Expr::Call { .. }).then_some(ColumnKind::Composite),
        },
    })
}

/// Helpers the plan uses to read a file's header and a first rows.
impl DumpSource {
    /// The table a data file holds, and its `# fields:` comment.
    fn header(&self, name: &str) -> Result<(String, Option<String>, u64)> {
        let path = self.dir.join(name);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let mut table = None;
        let mut fields = None;
        for (i, line) in BufReader::new(file).lines().take(3).enumerate() {
            let line = line.map_err(|e| damaged(&path, format!("line {}: {e}", i + 1)))?;
            if let Some(f) = line.strip_prefix("# fields: ") {
                fields = Some(f.to_string());
            } else if let Some(arg) = line
                .strip_prefix("logger.info(")
                .and_then(|l| l.strip_suffix(')'))
            {
                let msg = expr::parse(arg).ok().and_then(|e| {
                    e.str()
                        .and_then(file_table)
                        .map(|(t, n)| (t.to_string(), n))
                });
                table = msg;
            }
        }
        let (table, count) =
            table.ok_or_else(|| damaged(&path, "line 2: no header naming its table"))?;
        Ok((table, fields, count))
    }

    /// The first `n` rows' calls of a data file (unchecked: the file is
    /// checked when it is read).
    fn first_rows(&self, name: &str, n: usize) -> Result<Vec<Expr>> {
        let mut rows = Vec::new();
        if n == 0 {
            return Ok(rows);
        }
        self.read_file(name, &mut |_, call| {
            rows.push(call);
            Ok(rows.len() < n)
        })?;
        Ok(rows)
    }

    /// Every row's call of the files (checked).
    fn all_rows(
        &self,
        files: &[String],
        each: &mut dyn FnMut(usize, &Expr) -> Result<()>,
    ) -> Result<()> {
        for name in files {
            self.read_file(name, &mut |n, call| {
                each(n, &call)
                    .map_err(|e| damaged(&self.dir.join(name), format!("line {n}: {e}")))?;
                Ok(true)
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_their_table() {
        assert_eq!(
            file_table("Loading 12 objects to table a_b..."),
            Some(("a_b", 12))
        );
        assert_eq!(
            file_table("Loading 5 objects (part 3 of 3) to table x to table y..."),
            Some(("x to table y", 5))
        );
        assert_eq!(file_table("Loading x objects to table a..."), None);
    }

    #[test]
    fn statements() {
        assert_eq!(statement("# fields: a"), Ok(None));
        assert_eq!(
            statement("logger.info(\"Loading 1 objects to table t...\")"),
            Ok(None)
        );
        assert!(statement("loader.save(create_t(1))").is_ok_and(|e| e.is_some()));
        for bad in [
            "import os",
            "loader.save(x)(y)",
            "os.system('ls')",
            "logger.info(1)",
        ] {
            assert!(statement(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(path_of("dump:snap").ok(), Some(PathBuf::from("snap")));
        assert_eq!(
            path_of("dump:///abs/snap").ok(),
            Some(PathBuf::from("/abs/snap"))
        );
        assert!(path_of("dump:").is_err());
    }
}
