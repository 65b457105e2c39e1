//! The Python-dump sink: `restore.py` and one data file per model, as
//! Lino's `dump2py` writes them (see docs/python-dump.md), streaming.

pub mod names;
mod restore;
pub mod site_files;
pub use restore::DECIMALS_AS_REAL;
mod values;

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use dump2py_django::{Model, Site};
use dump2py_model::error::{Error, Result};
use dump2py_model::{Batch, Value};
use dump2py_plugin::registry::{OptionKind, SinkFactory, SinkOption, SinkOptions};
use dump2py_plugin::{DumpInfo, Report, Sink};
use dump2py_py::repr;
use dump2py_staging::{FileDigest, HashedFile, Staged, Transaction};

dump2py_plugin::inventory::submit! {
    SinkFactory {
        name: "python",
        version: env!("CARGO_PKG_VERSION"),
        create: |o| Ok(Box::new(PythonSink::new(o)?)),
        options: &[SinkOption {
            name: "gzip-data",
            kind: OptionKind::Flag,
            help: "Compress each data file of the Python dump with gzip as it is written \
                   (NAME.py.gz; restore.py reads them with Python's gzip).",
        }],
    }
}

pub struct PythonSink {
    staged: Staged,
    max_rows: u64,
    info: Option<DumpInfo>,
    site: Site,
    /// File stems by table ([`names::file_stems`]).
    stems: HashMap<String, String>,
    /// restore.py's identifiers.
    py: names::PyNames,
    /// Data files in restore order, with their tables.
    files: Vec<(String, String)>,
    missing: Vec<(String, String)>,
    table: Option<TableWriter>,
    line: String,
    /// References to stale content types in the current table, by id.
    stale: BTreeMap<i64, u64>,
    warnings: Vec<String>,
    /// With `-j N`, N threads format each batch's rows (in slices, written
    /// in order).
    format_pool: Option<rayon::ThreadPool>,
    /// Data files gzip-compressed as they are written (`NAME.py.gz`).
    gzip: bool,
    /// `--media`: the site's files to add beside the data.
    site_files: Option<site_files::SiteFiles>,
}

/// A batch is split among the formatting threads in slices of at least
/// this many rows.
const ROWS_PER_SLICE: usize = 128;

/// A row's line buffer that grew past this (a big value) is freed.
const KEEP_LINE_BYTES: usize = 1 << 20;

/// The files of the table being written.
struct TableWriter {
    expected: u64,
    parts: u64,
    /// Rows written so far, and into the current part.
    rows: u64,
    part_rows: u64,
    part: u64,
    out: Option<DataFile>,
    written: Vec<PathBuf>,
}

/// A data file being written: plain, or gzip-compressed as it is written
/// (the sink's option `--gzip-data`: `NAME.py.gz`, which restore.py reads
/// with Python's `gzip`).
enum DataFile {
    Plain(HashedFile),
    Gzip(flate2::write::GzEncoder<HashedFile>),
}

impl DataFile {
    fn finish(self) -> std::io::Result<FileDigest> {
        match self {
            DataFile::Plain(f) => f.finish(),
            DataFile::Gzip(gz) => gz.finish()?.finish(),
        }
    }
}

impl Write for DataFile {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            DataFile::Plain(f) => f.write(data),
            DataFile::Gzip(gz) => gz.write(data),
        }
    }

    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            DataFile::Plain(f) => f.write_all(data),
            DataFile::Gzip(gz) => gz.write_all(data),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            DataFile::Plain(f) => f.flush(),
            DataFile::Gzip(gz) => gz.flush(),
        }
    }
}

impl PythonSink {
    pub fn new(options: &SinkOptions) -> Result<PythonSink> {
        if options.max_row_count == 0 {
            return Err(Error::Usage("--max-row-count must be at least 1".into()));
        }
        let jobs = options.jobs.max(1);
        let gzip = options.flag("gzip-data");
        let format_pool = if jobs > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(jobs)
                .thread_name(|i| format!("dump2py-format-{i}"))
                .build()
                .map_err(|e| Error::Usage(format!("python sink: {e}")))?;
            Some(pool)
        } else {
            None
        };
        Ok(PythonSink {
            staged: Staged::new(&options.target, options.overwrite, true)?,
            max_rows: options.max_row_count,
            info: None,
            site: Site::default(),
            stems: HashMap::new(),
            py: names::PyNames::default(),
            files: Vec::new(),
            missing: Vec::new(),
            table: None,
            line: String::with_capacity(4096),
            stale: BTreeMap::new(),
            warnings: Vec::new(),
            format_pool,
            gzip,
            site_files: site_files::SiteFiles::from_values(options),
        })
    }

    fn dir(&self) -> &Path {
        self.staged.path()
    }

    fn file_name(&self, model: &Model, parts: u64, part: u64) -> String {
        let stem = match self.stems.get(&model.table.name) {
            Some(s) => s.clone(),
            // Every model of the site has a stem; this one came later.
            None => names::file_stems([model.table.name.as_str()])
                .remove(&model.table.name)
                .unwrap_or_default(),
        };
        names::file_name(&stem, parts, part)
    }

    /// Opens part `part` (1-based) and writes its header lines.
    fn open_part(&mut self, model: &Model, part: u64) -> Result<()> {
        let dir = self.dir().to_path_buf();
        let parts = self.table.as_ref().map_or(1, |t| t.parts);
        let mut name = self.file_name(model, parts, part);
        if self.gzip {
            name.push_str(".gz");
        }
        let gzip = self.gzip;
        let Some(tw) = self.table.as_mut() else {
            return Ok(());
        };
        let path = dir.join(&name);
        let file = HashedFile::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut out = match gzip {
            true => DataFile::Gzip(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::new(3),
            )),
            false => DataFile::Plain(file),
        };
        // Lino's lines; the table's name inside a string literal, the
        // field names in a comment that no name can end.
        let mut message = format!("Loading {} objects", tw.expected);
        if tw.parts > 1 {
            message.push_str(&format!(" (part {} of {})", part, tw.parts));
        }
        message.push_str(&format!(" to table {}...", model.table.name));
        let mut head = String::from("# -*- coding: UTF-8 -*-\nlogger.info(");
        repr::write_str_quoted(&mut head, &message, b'"');
        head.push_str(")\n# fields: ");
        for (i, f) in model.fields.iter().enumerate() {
            if i > 0 {
                head.push_str(", ");
            }
            names::write_comment_name(&mut head, &f.name);
        }
        head.push('\n');
        out.write_all(head.as_bytes())
            .map_err(|e| Error::io(&path, e))?;
        tw.out = Some(out);
        tw.part = part;
        tw.part_rows = 0;
        tw.written.push(path);
        self.files.push((name, model.table.name.clone()));
        Ok(())
    }

    /// Ends the current part; the last part flushes Lino's deferred objects.
    fn close_part(&mut self, last: bool) -> Result<()> {
        let Some(tw) = self.table.as_mut() else {
            return Ok(());
        };
        let path = tw.written.last().cloned().unwrap_or_default();
        if let Some(mut out) = tw.out.take() {
            let tail: &[u8] = if last {
                b"\nloader.flush_deferred_objects()\n"
            } else {
                b"\n"
            };
            let digest = out
                .write_all(tail)
                .and_then(|_| out.finish())
                .map_err(|e| Error::io(&path, e))?;
            self.staged.record(digest);
        }
        Ok(())
    }

    /// `create` is the line's start: `loader.save(create_T(`.
    fn write_row(&mut self, model: &Model, create: &str, row: &[Value]) -> Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let formatted = format_row(&mut line, &self.site, model, create, row);
        let written = formatted.and_then(|()| self.emit_line(model, line.as_bytes()));
        // The line of a big value is not kept for the rows after it.
        if line.capacity() > KEEP_LINE_BYTES {
            line = String::with_capacity(4096);
        }
        self.line = line;
        written
    }

    /// Writes one row line (ending in a newline) into the current part,
    /// moving on to the next part when the current one is full.
    fn emit_line(&mut self, model: &Model, line: &[u8]) -> Result<()> {
        let full =
            matches!(&self.table, Some(tw) if tw.part_rows >= self.max_rows && tw.part < tw.parts);
        if full {
            self.close_part(false)?;
            let next = self.table.as_ref().map_or(1, |t| t.part + 1);
            self.open_part(model, next)?;
        }
        let Some(tw) = self.table.as_mut() else {
            return Ok(());
        };
        if let Some(out) = tw.out.as_mut() {
            if let Err(e) = out.write_all(line) {
                return Err(Error::io(tw.written.last().cloned().unwrap_or_default(), e));
            }
        }
        tw.rows += 1;
        tw.part_rows += 1;
        Ok(())
    }

    /// The source's count was wrong (a transformer dropped or added rows):
    /// write the table's files again with the real count.
    fn rewrite_table(&mut self, model: &Model, rows: u64) -> Result<()> {
        let Some(old) = self.table.take() else {
            return Ok(());
        };
        let names_before = self.files.len() - old.written.len();
        self.files.truncate(names_before);
        let mut moved = Vec::new();
        for p in &old.written {
            let to = p.with_extension("py.old");
            fs::rename(p, &to).map_err(|e| Error::io(p, e))?;
            moved.push(to);
        }
        self.start(model, rows)?;
        for p in &moved {
            let f = File::open(p).map_err(|e| Error::io(p, e))?;
            for l in BufReader::new(f).split(b'\n') {
                let l = l.map_err(|e| Error::io(p, e))?;
                if l.starts_with(b"loader.save(") {
                    let mut line = l;
                    line.push(b'\n');
                    self.emit_line(model, &line)?;
                }
            }
            fs::remove_file(p).map_err(|e| Error::io(p, e))?;
        }
        Ok(())
    }

    fn start(&mut self, model: &Model, expected: u64) -> Result<()> {
        // Lino writes count // N + 1 parts; ours has no empty trailing part.
        let parts = if expected > self.max_rows {
            expected.div_ceil(self.max_rows)
        } else {
            1
        };
        self.table = Some(TableWriter {
            expected,
            parts,
            rows: 0,
            part_rows: 0,
            part: 0,
            out: None,
            written: Vec::new(),
        });
        self.open_part(model, 1)
    }
}

/// The rows of `values` (`width` values each) formatted on `pool`, in
/// slices of rows: each slice's text and where each of its lines ends.
fn format_slices(
    pool: &rayon::ThreadPool,
    site: &Site,
    model: &Model,
    create: &str,
    values: &[Value],
    width: usize,
) -> Result<Vec<(String, Vec<usize>)>> {
    use rayon::prelude::*;
    let width = width.max(1);
    let per_slice = (values.len() / width)
        .div_ceil(pool.current_num_threads())
        .max(ROWS_PER_SLICE);
    let slices: Vec<Result<(String, Vec<usize>)>> = pool.install(|| {
        (values.par_chunks(per_slice * width))
            .map(|slice| {
                let mut text = String::with_capacity(slice.len() * 24);
                let mut ends = Vec::with_capacity(per_slice);
                for row in slice.chunks_exact(width) {
                    format_row(&mut text, site, model, create, row)?;
                    ends.push(text.len());
                }
                Ok((text, ends))
            })
            .collect()
    });
    // The first error in row order, as one thread would meet it.
    slices.into_iter().collect()
}

/// Appends one row's line, `loader.save(create_T(...))` and a newline.
fn format_row(
    line: &mut String,
    site: &Site,
    model: &Model,
    create: &str,
    row: &[Value],
) -> Result<()> {
    // Room for the whole line at once: a big value's line is not grown
    // (and copied) at its end.
    line.reserve(create.len() + row.iter().map(Value::text_estimate).sum::<usize>() + 8);
    line.push_str(create);
    for (i, f) in model.fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        values::write_value(line, site, f, row).map_err(|message| Error::Value {
            table: model.table.name.clone(),
            column: f.column.clone(),
            pk: model.table.pk_text(row),
            message,
        })?;
    }
    line.push_str("))\n");
    Ok(())
}

impl Sink for PythonSink {
    fn begin(&mut self, info: &DumpInfo, site: &Site) -> Result<()> {
        // Model globals come from the site's metadata (or a saved file):
        // restore.py binds them, so each must be a Python identifier.
        for m in &site.models {
            if let Some(g) = m.global_name() {
                if !names::is_identifier(&g) {
                    return Err(Error::table(
                        &m.table.name,
                        format!(
                            "the site metadata names the model {}, whose global {} \
                             is not a Python identifier",
                            repr::str_repr(&m.label()),
                            repr::str_repr(&g)
                        ),
                    ));
                }
            }
        }
        self.info = Some(info.clone());
        self.site = site.clone();
        self.stems = names::file_stems(site.models.iter().map(|m| m.table.name.as_str()));
        self.py = names::PyNames::new(site);
        Ok(())
    }

    fn table_start(&mut self, model: &Model, expected_rows: u64) -> Result<()> {
        self.start(model, expected_rows)
    }

    fn rows(&mut self, model: &Model, batch: &Batch) -> Result<()> {
        let ct_fields: Vec<usize> = model
            .fields
            .iter()
            .filter(|f| f.is_content_type())
            .map(|f| f.index)
            .collect();
        let Some(f) = self.py.function(&model.table.name) else {
            return Err(Error::table(
                &model.table.name,
                "the table is not a model of the site",
            ));
        };
        let create = format!("loader.save({}(", f.name);
        for row in batch.rows() {
            for &i in &ct_fields {
                if let Value::Int(id) = row[i] {
                    if self.site.stale_content_type(id).is_some() {
                        *self.stale.entry(id).or_default() += 1;
                    }
                }
            }
        }
        let slices = match &self.format_pool {
            Some(pool) if batch.len() >= 2 * ROWS_PER_SLICE => {
                format_slices(pool, &self.site, model, &create, &batch.values, batch.width)?
            }
            _ => {
                for row in batch.rows() {
                    self.write_row(model, &create, row)?;
                }
                return Ok(());
            }
        };
        for (text, ends) in slices {
            let mut start = 0;
            for end in ends {
                self.emit_line(model, &text.as_bytes()[start..end])?;
                start = end;
            }
        }
        Ok(())
    }

    fn table_end(&mut self, model: &Model, rows: u64) -> Result<()> {
        let fits = self
            .table
            .as_ref()
            .is_some_and(|t| t.rows == t.expected && t.part == t.parts);
        if !fits {
            self.close_part(true)?;
            self.rewrite_table(model, rows)?;
        }
        self.close_part(true)?;
        self.table = None;
        self.staged.count_rows(&model.table.name, rows);
        for (id, n) in std::mem::take(&mut self.stale) {
            if let Some(ct) = self.site.stale_content_type(id) {
                let rows = if n == 1 { "row" } else { "rows" };
                self.warnings.push(format!(
                    "content type {id} ({}.{}) has no model in the site: dumped as None \
                     ({n} {rows} of {})",
                    ct.app_label, ct.model, model.table.name
                ));
            }
        }
        Ok(())
    }

    fn table_skipped(&mut self, model: &Model, reason: &str) -> Result<()> {
        self.stale.clear();
        if let Some(mut tw) = self.table.take() {
            tw.out = None;
            self.files.truncate(self.files.len() - tw.written.len());
            for p in &tw.written {
                fs::remove_file(p).map_err(|e| Error::io(p, e))?;
            }
        }
        self.missing
            .push((model.table.name.clone(), reason.to_string()));
        Ok(())
    }

    fn finish(&mut self, _report: &Report) -> Result<()> {
        let info = self.info.clone().unwrap_or_default();
        let mut text = String::new();
        restore::header(&mut text, &info, &self.site, &self.py);
        for model in &self.site.models {
            if !self.missing.iter().any(|(t, _)| *t == model.table.name) {
                if let Some(f) = self.py.function(&model.table.name) {
                    restore::create_function(&mut text, &self.site, model, f);
                }
            }
        }
        if !self.site.excluded.is_empty() {
            // Not used by the restore: it tells whoever restores what isn't there.
            let mut labels: Vec<String> = (self.site.excluded.iter())
                .filter(|m| !m.auto_created)
                .map(|m| repr::str_repr(&m.label()))
                .collect();
            labels.sort();
            text.push_str(&format!(
                "\n\n# The models left out with -e/--exclude:\nEXCLUDED_MODELS = [{}]\n",
                labels.join(", ")
            ));
        }
        restore::main(&mut text, &self.site, &self.files, &self.missing);
        let path = self.dir().join("restore.py");
        fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        if let Some(files) = &self.site_files {
            for digest in files.write(self.staged.path(), &self.site)? {
                self.staged.record(digest);
            }
        }
        Ok(())
    }

    fn publish(&mut self, tx: &mut Transaction) -> Result<()> {
        self.staged.publish(tx)
    }

    fn abort(&mut self) {
        self.table = None;
        self.staged.discard();
    }

    fn warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dump2py_django::{ContentType, ViewOptions};
    use dump2py_model::schema::{Column, ColumnKind, ForeignKey, Schema, Table};
    use dump2py_model::value::{Date, DateTime, Time};
    use dump2py_model::Value;

    fn site() -> Site {
        let col = |n: &str, kind| Column {
            name: n.into(),
            declared_type: String::new(),
            kind,
            nullable: true,
            generated: false,
        };
        let t = Table {
            name: "app_thing".into(),
            columns: vec![
                col("id", ColumnKind::Int),
                col("name", ColumnKind::Text),
                col("name_de", ColumnKind::Text),
                col("made", ColumnKind::DateTime),
                col("owner_type_id", ColumnKind::Int),
                col("price", ColumnKind::Decimal),
            ],
            primary_key: vec!["id".into()],
            foreign_keys: vec![ForeignKey {
                column: "owner_type_id".into(),
                target_table: "django_content_type".into(),
                target_column: "id".into(),
            }],
            unique: vec![],
        };
        let cts = vec![ContentType {
            id: 7,
            app_label: "app".into(),
            model: "thing".into(),
            global: None,
        }];
        let options = ViewOptions {
            languages: vec!["en".into(), "de".into()],
        };
        Site::build(&Schema { tables: vec![t] }, cts, &|_| 0, &options)
    }

    fn row(i: i64) -> Vec<Value> {
        let made = DateTime {
            date: Date::new(2024, 3, 31).expect("date"),
            time: Time::new(1, 30, 5, 123456).expect("time"),
            offset_minutes: Some(0),
        };
        vec![
            Value::Int(i),
            Value::Text(format!("it's {i}")),
            Value::Text("ä".into()),
            Value::DateTime(made),
            if i == 1 {
                Value::Int(7)
            } else {
                Value::Int(99)
            },
            Value::Decimal("12.50".into()),
        ]
    }

    fn write(dir: &Path, max: u64, expected: u64, rows: i64) -> Vec<(String, String)> {
        let target = dir.join(format!("dump-{max}-{expected}-{rows}"));
        let mut sink = PythonSink::new(&SinkOptions {
            target: target.clone(),
            overwrite: false,
            max_row_count: max,
            jobs: 1,
            values: Default::default(),
        })
        .expect("sink");
        let site = site();
        let info = DumpInfo {
            source: "test".into(),
            tool_version: "0".into(),
            ..DumpInfo::default()
        };
        let model = &site.models[0];
        sink.begin(&info, &site).expect("begin");
        sink.table_start(model, expected).expect("start");
        let mut batch = Batch::new(6, rows as usize);
        for i in 1..=rows {
            batch.push_row(row(i));
        }
        sink.rows(model, &batch).expect("rows");
        sink.table_end(model, rows as u64).expect("end");
        sink.finish(&Report::default()).expect("finish");
        let mut tx = Transaction::new();
        sink.publish(&mut tx).expect("publish");
        dump2py_staging::commit(tx).expect("commit");
        // The dump's Python files (not what staging may add beside them).
        let mut files: Vec<(String, String)> = fs::read_dir(&target)
            .expect("dump")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".py"))
            })
            .map(|e| {
                let e = e.expect("entry");
                let text = fs::read_to_string(e.path()).expect("read");
                (e.file_name().to_string_lossy().into_owned(), text)
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn values_and_create_function() {
        let t = tempfile::tempdir().expect("tmp");
        let files = write(t.path(), 10, 2, 2);
        let data = &files[0].1;
        assert_eq!(
            data,
            "# -*- coding: UTF-8 -*-\n\
             logger.info(\"Loading 2 objects to table app_thing...\")\n\
             # fields: id, name, made, owner_type, price\n\
             loader.save(create_app_thing(1,[\"it's 1\", 'ä'],dt(2024,3,31,1,30,5,123456),ct_model('app', 'thing'),'12.50'))\n\
             loader.save(create_app_thing(2,[\"it's 2\", 'ä'],dt(2024,3,31,1,30,5,123456),missing_content_type(99),'12.50'))\n\
             \n\
             loader.flush_deferred_objects()\n"
        );
        let restore = &files[1].1;
        assert!(restore.contains(
            "def create_app_thing(id, name, made, owner_type_id, price):\n    \
             owner_type_id = new_content_type_id(owner_type_id)\n    \
             if price is not None: price = Decimal(price)\n    kw = dict()\n    kw.update(id=id)\n    \
             if name is not None: kw.update(bv2kw('name',name))\n"
        ));
        assert!(
            restore.contains("return settings.SITE.babelkw(fieldname, en=values[0], de=values[1])")
        );
        assert!(restore.contains("    execfile('app_thing.py', *args)\n"));
    }

    #[test]
    fn a_model_global_that_is_no_identifier_is_refused() {
        let t = tempfile::tempdir().expect("tmp");
        let mut site = site();
        site.models[0].object_name = Some("Thing = 1\nimport os\n".into());
        let mut sink = PythonSink::new(&SinkOptions {
            target: t.path().join("dump"),
            overwrite: false,
            max_row_count: 10,
            jobs: 1,
            values: Default::default(),
        })
        .expect("sink");
        let info = DumpInfo {
            source: "test".into(),
            tool_version: "0".into(),
            ..DumpInfo::default()
        };
        let e = sink.begin(&info, &site).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "table app_thing: the site metadata names the model 'app.Thing = 1\\nimport os\\n', \
             whose global 'app_Thing = 1\\nimport os\\n' is not a Python identifier"
        );
    }

    #[test]
    fn a_wrong_count_is_mended() {
        let t = tempfile::tempdir().expect("tmp");
        // Fewer rows than the source counted: 3 rows in parts of 2.
        let files = write(t.path(), 2, 5, 3);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["app_thing_1.py", "app_thing_2.py", "restore.py"]);
        assert!(files[0]
            .1
            .contains("Loading 3 objects (part 1 of 2) to table"));
        assert_eq!(files[0].1.matches("loader.save(").count(), 2);
        assert_eq!(files[1].1.matches("loader.save(").count(), 1);
        assert!(files[1].1.ends_with("\nloader.flush_deferred_objects()\n"));
        assert!(!files[0].1.contains("flush_deferred"));
        // More rows than counted: one file becomes three parts.
        let files = write(t.path(), 2, 1, 5);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "app_thing_1.py",
                "app_thing_2.py",
                "app_thing_3.py",
                "restore.py"
            ]
        );
        assert!(files[2].1.contains("Loading 5 objects (part 3 of 3)"));
        let restore = &files[3].1;
        assert_eq!(restore.matches("execfile('app_thing_").count(), 3);
        assert!(!restore.contains("execfile('app_thing.py'"));
    }
}
