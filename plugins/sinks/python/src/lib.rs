//! The Python-dump sink: `restore.py` and one data file per model, as
//! Lino's `dump2py` writes them (see docs/python-dump.md), streaming.

mod format;
pub mod names;
mod parts;
mod restore;
pub mod site_files;
pub use restore::DECIMALS_AS_REAL;
mod values;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use dump2py_django::{Model, Site};
use dump2py_model::error::{Error, Result};
use dump2py_model::{Batch, Value};
use dump2py_plugin::registry::{OptionKind, SinkFactory, SinkOption, SinkOptions};
use dump2py_plugin::{DumpInfo, Report, Sink, Transaction};
use dump2py_py::repr;
use dump2py_staging::Staged;
use format::{format_row, format_slices, ROWS_PER_SLICE};
use parts::TableWriter;

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
    /// Data files gzip-compressed (`NAME.py.gz`).
    gzip: bool,
    /// `--media`: the site's files to add beside the data.
    site_files: Option<site_files::SiteFiles>,
}

/// A row's line buffer that grew past this (a big value) is freed.
const KEEP_LINE_BYTES: usize = 1 << 20;

impl PythonSink {
    pub fn new(options: &SinkOptions) -> Result<PythonSink> {
        if options.max_row_count == 0 {
            return Err(Error::Usage("--max-row-count must be at least 1".into()));
        }
        let jobs = options.jobs.max(1);
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
            gzip: options.flag("gzip-data"),
            site_files: site_files::SiteFiles::from_values(options),
        })
    }

    fn dir(&self) -> &Path {
        self.staged.path()
    }

    /// The stem of a model's data files.
    fn stem(&self, model: &Model) -> String {
        match self.stems.get(&model.table.name) {
            Some(s) => s.clone(),
            // Every model of the site has a stem; this one came later.
            None => names::file_stems([model.table.name.as_str()])
                .remove(&model.table.name)
                .unwrap_or_default(),
        }
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

    /// Writes one row line (ending in a newline) into the table's files.
    fn emit_line(&mut self, model: &Model, line: &[u8]) -> Result<()> {
        match self.table.as_mut() {
            Some(tw) => tw.emit_line(model, line),
            None => Ok(()),
        }
    }
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
        let mut tw = TableWriter::new(
            self.dir(),
            self.stem(model),
            expected_rows,
            self.max_rows,
            self.gzip,
        );
        tw.open_part(model)?;
        self.table = Some(tw);
        Ok(())
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
        if let Some(tw) = self.table.take() {
            let (names, digests) = tw.finish(model)?;
            for digest in digests {
                self.staged.record(digest);
            }
            let table = &model.table.name;
            self.files
                .extend(names.into_iter().map(|n| (n, table.clone())));
        }
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
        if let Some(tw) = self.table.take() {
            let files = tw.files();
            drop(tw);
            for p in &files {
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
mod tests;
