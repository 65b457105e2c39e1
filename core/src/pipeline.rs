//! One pass over a source: every model's rows, batch by batch, through the
//! transformers into all sinks.

use std::collections::HashMap;

use crate::batch::Batch;
use crate::django::{ContentType, Model, Site, ViewOptions, CONTENT_TYPE_TABLE, DJANGO_TABLES};
use crate::error::{Error, Result};
use crate::plugin::{BatchFn, DumpInfo, Report, Sink, Source, TableOutcome, Transformer};
use crate::schema::{Schema, Table};
use crate::value::Value;

#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub batch_rows: usize,
    /// Skip tables that can't be read instead of stopping.
    pub tolerate: bool,
    pub view: ViewOptions,
    /// The site's own metadata; without it the view is inferred.
    pub meta: Option<crate::meta::SiteMeta>,
    /// `-e/--exclude`: app labels and `app_label.ModelName`s to leave out
    /// of every output (dumpdata's meaning).
    pub exclude: Vec<String>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            batch_rows: 1000,
            tolerate: false,
            view: ViewOptions::default(),
            meta: None,
            exclude: Vec::new(),
        }
    }
}

/// Hears about progress; the CLI draws bars and prints summaries with it.
pub trait Observer {
    /// Before the first table: how many tables will be read, and their
    /// rows as counted.
    fn dump_started(&mut self, _tables: u64, _expected_rows: u64) {}
    fn table_started(&mut self, _model: &Model, _expected_rows: u64) {}
    fn rows_read(&mut self, _rows: u64) {}
    fn table_finished(&mut self, _model: &Model, _outcome: &TableOutcome) {}
    /// One line from a sink ([`Sink::warnings`]), without a `warning:` prefix.
    fn warning(&mut self, _message: &str) {}
    /// One line of information from a transformer ([`Transformer::finish`]).
    fn note(&mut self, _message: &str) {}
}

/// An observer that hears nothing.
pub struct Quiet;
impl Observer for Quiet {}

pub struct Pipeline<'a> {
    pub source: &'a mut dyn Source,
    pub transformers: &'a mut [Box<dyn Transformer>],
    pub sinks: &'a mut [Box<dyn Sink>],
    pub options: PipelineOptions,
}

impl Pipeline<'_> {
    /// Runs the dump. On error every sink is aborted, so none leaves a
    /// partial output behind.
    pub fn run(&mut self, info: &DumpInfo, observer: &mut dyn Observer) -> Result<Report> {
        match self.run_inner(info, observer) {
            Ok(report) => Ok(report),
            Err(e) => {
                for sink in self.sinks.iter_mut() {
                    sink.abort();
                }
                Err(e)
            }
        }
    }

    fn run_inner(&mut self, info: &DumpInfo, observer: &mut dyn Observer) -> Result<Report> {
        let schema = self.source.schema()?;
        // The content-type table's batches are kept for a sink that dumps
        // it as a model (a few rows): each table is read once.
        let (content_types, mut ct_batches) = self.content_types(&schema)?;
        // Per table: its layout before the first transformer and after each.
        let mut chains: HashMap<String, Vec<Table>> = HashMap::new();
        let mut transformed = Schema::default();
        for table in &schema.tables {
            let mut chain = vec![table.clone()];
            for t in self.transformers.iter_mut() {
                let next = t.table(chain.last().unwrap_or(table))?;
                chain.push(next);
            }
            transformed
                .tables
                .push(chain.last().unwrap_or(table).clone());
            chains.insert(table.name.clone(), chain);
        }
        let no_counts = |_: &str| 0;
        let site = match &self.options.meta {
            Some(meta) => Site::from_meta(&transformed, meta, content_types, &no_counts),
            None => Site::build(&transformed, content_types, &no_counts, &self.options.view),
        };
        let mut counts: HashMap<String, Result<u64>> = HashMap::new();
        for model in &site.models {
            let chain = chains
                .get(&model.table.name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let counted = self.count(model, chain);
            counts.insert(model.table.name.clone(), counted);
        }
        // Models in cycles are ordered by their row counts.
        let count_of = |t: &str| {
            counts
                .get(t)
                .and_then(|r| r.as_ref().ok())
                .copied()
                .unwrap_or(0)
        };
        let mut site = if site.cycles.is_empty() {
            site
        } else {
            match &self.options.meta {
                Some(meta) => Site::from_meta(
                    &transformed,
                    meta,
                    site.content_types.into_values().collect(),
                    &count_of,
                ),
                None => Site::build(
                    &transformed,
                    site.content_types.into_values().collect(),
                    &count_of,
                    &self.options.view,
                ),
            }
        };
        exclude(&mut site, &self.options.exclude)?;
        for sink in self.sinks.iter_mut() {
            sink.begin(info, &site)?;
        }
        let all = (site.models.iter().map(|m| (m, false, false)))
            .chain(site.skipped.iter().map(|m| (m, true, false)))
            .chain(site.excluded.iter().map(|m| (m, true, true)));
        // What is read, with its row count, known before the first table:
        // the observer shows the whole dump's progress.
        let mut plan = Vec::new();
        for (model, skipped, excluded) in all {
            let wanted: Vec<bool> = self.sinks.iter().map(|s| s.wants(model, skipped)).collect();
            // Without sinks (--simulate) the Python dump's models are read.
            let read = if self.sinks.is_empty() {
                !skipped
            } else {
                wanted.contains(&true)
            };
            if !read {
                continue;
            }
            let chain = chains
                .get(&model.table.name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let counted = match counts.remove(&model.table.name) {
                Some(c) => c,
                None => self.count(model, chain),
            };
            plan.push((model, excluded, wanted, chain, counted));
        }
        let expected = plan
            .iter()
            .filter_map(|(.., c)| c.as_ref().ok())
            .sum::<u64>();
        observer.dump_started(plan.len() as u64, expected);
        let tables: Vec<Table> = plan
            .iter()
            .filter(|(model, _, _, _, counted)| {
                counted.is_ok() && !(model.table.name == CONTENT_TYPE_TABLE && ct_batches.is_some())
            })
            .map(|(model, _, _, chain, _)| chain.first().unwrap_or(&model.table).clone())
            .collect();
        let batch_rows = self.options.batch_rows;
        let mut dumper = Dumper {
            transformers: &mut *self.transformers,
            sinks: &mut *self.sinks,
            tolerate: self.options.tolerate,
            observer,
        };
        let report = match self.source.as_send() {
            Some(source) => read_ahead(source, &tables, batch_rows, |read| {
                dumper.dump_all(plan, &mut ct_batches, read)
            })?,
            None => {
                let source = &mut *self.source;
                dumper.dump_all(plan, &mut ct_batches, &mut |table, each| {
                    source.read_table(table, batch_rows, each)
                })?
            }
        };
        for t in self.transformers.iter_mut() {
            for note in t.finish()? {
                observer.note(&note);
            }
        }
        for sink in self.sinks.iter_mut() {
            sink.finish(&report)?;
        }
        // All outputs move into place at once, or none does.
        let tx = crate::staging::Transaction::begin();
        for sink in self.sinks.iter_mut() {
            sink.publish()?;
        }
        tx.commit()?;
        Ok(report)
    }

    fn count(&mut self, model: &Model, chain: &[Table]) -> Result<u64> {
        match &model.problem {
            Some(p) => Err(Error::table(&model.table.name, p.clone())),
            None => self
                .source
                .count_rows(chain.first().unwrap_or(&model.table)),
        }
    }

    /// Reads `django_content_type` so that content-type columns can name
    /// models; returns its batches too.
    fn content_types(&mut self, schema: &Schema) -> Result<(Vec<ContentType>, Option<Vec<Batch>>)> {
        let Some(table) = schema.table(CONTENT_TYPE_TABLE) else {
            // The site has content types: without them no content-type
            // column can be written.
            let named = self.options.meta.as_ref().and_then(|m| {
                m.models
                    .iter()
                    .find(|m| !m.proxy && m.db_table == CONTENT_TYPE_TABLE)
            });
            if let Some(m) = named {
                return Err(Error::table(
                    CONTENT_TYPE_TABLE,
                    format!("no such table (model {})", m.label()),
                ));
            }
            return Ok((Vec::new(), None));
        };
        let (Some(id), Some(app), Some(model)) = (
            table.column_index("id"),
            table.column_index("app_label"),
            table.column_index("model"),
        ) else {
            // A table the source can't read says why when counted.
            self.source.count_rows(table)?;
            return Err(Error::table(
                CONTENT_TYPE_TABLE,
                "expected columns id, app_label, model",
            ));
        };
        let mut out = Vec::new();
        let mut batches = Vec::new();
        self.source
            .read_table(table, self.options.batch_rows, &mut |batch| {
                for row in batch.rows() {
                    if let (Value::Int(id), Value::Text(app), Value::Text(model)) =
                        (&row[id], &row[app], &row[model])
                    {
                        out.push(ContentType {
                            id: *id,
                            app_label: app.clone(),
                            model: model.clone(),
                            global: None,
                        });
                    }
                }
                batches.push(batch);
                Ok(())
            })?;
        Ok((out, Some(batches)))
    }
}

/// Batches a reader thread may hold ready: memory stays bounded (at most
/// this many batches besides the one each side works on), and a reader
/// ahead of the sinks waits for them (back-pressure).
const QUEUE_BATCHES: usize = 4;

/// What a reader thread sends: a table's batches, then how its read ended.
enum Read {
    Batch(Batch),
    End(Result<()>),
}

/// Reads `tables` in order on a thread of its own, while `consume` (on this
/// thread: sinks, the observer and staging stay here) takes each table's
/// batches through `read`, which must ask for `tables` in the same order.
/// When `consume` returns, by success or error, the reader stops at its
/// next batch; an error of either side stops both.
fn read_ahead<T>(
    source: &mut (dyn Source + Send),
    tables: &[Table],
    batch_rows: usize,
    consume: impl FnOnce(&mut ReadFn) -> Result<T>,
) -> Result<T> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Read>(QUEUE_BATCHES);
        let reader = scope.spawn(move || {
            for table in tables {
                let read = source.read_table(table, batch_rows, &mut |batch| {
                    tx.send(Read::Batch(batch))
                        .map_err(|_| Error::Usage("the dump stopped".into()))
                });
                if tx.send(Read::End(read)).is_err() {
                    // The consumer is gone: nothing more is read.
                    break;
                }
            }
        });
        let (mut next, mut unfinished) = (0usize, false);
        let result = consume(&mut |table, each| {
            // The consumer asks for tables in the reader's order, but may
            // leave one out (a sink that failed to start it): its batches
            // are passed over.
            let Some(skip) = tables[next.min(tables.len())..]
                .iter()
                .position(|t| t.name == table.name)
            else {
                return Err(Error::Usage(format!(
                    "table {}: not among the tables read ahead",
                    table.name
                )));
            };
            // A table whose sink failed (tolerated) is passed over too.
            for _ in 0..skip + usize::from(unfinished) {
                while let Ok(Read::Batch(_)) = rx.recv() {}
            }
            unfinished = false;
            next += skip + 1;
            loop {
                match rx.recv() {
                    Ok(Read::Batch(batch)) => {
                        if let Err(e) = each(batch) {
                            // Returned at once: a dump that stops drops the
                            // reader without reading the rest.
                            unfinished = true;
                            return Err(e);
                        }
                    }
                    Ok(Read::End(read)) => return read,
                    Err(_) => {
                        return Err(Error::Usage(format!(
                            "table {}: the reader stopped",
                            table.name
                        )))
                    }
                }
            }
        });
        // Dropping the receiver stops a reader still reading.
        drop(rx);
        match reader.join() {
            Ok(()) => result,
            Err(_) => Err(Error::Usage("the reader thread panicked".into())),
        }
    })
}

/// Reads one table into a callback: the source's `read_table`, here or
/// from a reader thread.
type ReadFn<'r> = dyn FnMut(&Table, &mut BatchFn) -> Result<()> + 'r;

/// One planned model: the model, whether it is excluded, which sinks want
/// it, its layouts through the transformers, its counted rows.
type Planned<'m> = (&'m Model, bool, Vec<bool>, &'m [Table], Result<u64>);

/// The sinks' side of a dump: every planned model into the sinks.
struct Dumper<'d> {
    transformers: &'d mut [Box<dyn Transformer>],
    sinks: &'d mut [Box<dyn Sink>],
    tolerate: bool,
    observer: &'d mut dyn Observer,
}

impl Dumper<'_> {
    fn dump_all(
        &mut self,
        plan: Vec<Planned<'_>>,
        ct_batches: &mut Option<Vec<Batch>>,
        read: &mut ReadFn,
    ) -> Result<Report> {
        let mut report = Report::default();
        for (model, excluded, wanted, chain, counted) in plan {
            let replay = if model.table.name == CONTENT_TYPE_TABLE {
                ct_batches.take()
            } else {
                None
            };
            let dumped =
                counted.and_then(|n| self.dump_table(model, chain, n, &wanted, replay, read));
            let outcome = match dumped {
                Ok(rows) => TableOutcome::Dumped { rows },
                Err(e) if self.tolerate && e.failed_table().is_some() => {
                    let reason = e.to_string();
                    for (sink, _) in self.sinks.iter_mut().zip(&wanted).filter(|(_, w)| **w) {
                        sink.table_skipped(model, &reason)?;
                    }
                    TableOutcome::Skipped { reason }
                }
                Err(e) => return Err(e),
            };
            self.observer.table_finished(model, &outcome);
            for sink in self.sinks.iter_mut() {
                for w in sink.warnings() {
                    self.observer.warning(&w);
                }
            }
            // An excluded table read for a sink's own use is not in the dump.
            if !excluded {
                report.tables.push((model.table.name.clone(), outcome));
            }
        }
        Ok(report)
    }

    /// Reads one table into the sinks that want it (`wanted`, by index);
    /// `replay` holds its batches when they were read before.
    fn dump_table(
        &mut self,
        model: &Model,
        chain: &[Table],
        expected: u64,
        wanted: &[bool],
        replay: Option<Vec<Batch>>,
        read: &mut ReadFn,
    ) -> Result<u64> {
        let source_table = chain.first().unwrap_or(&model.table);
        self.observer.table_started(model, expected);
        for (sink, _) in self.sinks.iter_mut().zip(wanted).filter(|(_, w)| **w) {
            sink.table_start(model, expected)?;
        }
        let mut rows = 0u64;
        // Errors of transformers and sinks are not the table's fault: keep
        // them apart so that `--tolerate` never hides them.
        let mut downstream: Option<Error> = None;
        let transformers = &mut *self.transformers;
        let sinks = &mut *self.sinks;
        let observer = &mut *self.observer;
        let mut each = |mut batch: Batch| {
            let step = (|| {
                for (i, t) in transformers.iter_mut().enumerate() {
                    if let (Some(input), Some(output)) = (chain.get(i), chain.get(i + 1)) {
                        t.batch(input, output, &mut batch)?;
                        if batch.width != output.columns.len() {
                            return Err(Error::Plugin {
                                plugin: format!("transformer {}", i + 1),
                                message: format!(
                                    "table {}: batch has {} columns, its table {}",
                                    output.name,
                                    batch.width,
                                    output.columns.len()
                                ),
                            });
                        }
                    }
                }
                rows += batch.len() as u64;
                observer.rows_read(batch.len() as u64);
                for (sink, _) in sinks.iter_mut().zip(wanted).filter(|(_, w)| **w) {
                    sink.rows(model, &batch)?;
                }
                Ok(())
            })();
            step.map_err(|e| {
                downstream = Some(e);
                Error::Usage("stopped by a sink or transformer".into())
            })
        };
        let read = match replay {
            Some(batches) => batches.into_iter().try_for_each(&mut each),
            None => read(source_table, &mut each),
        };
        if let Some(e) = downstream {
            return Err(e);
        }
        read?;
        for (sink, _) in self.sinks.iter_mut().zip(wanted).filter(|(_, w)| **w) {
            sink.table_end(model, rows)?;
        }
        Ok(rows)
    }
}

/// Removes the models that `excludes` name from `site` (dumpdata's `-e`:
/// an app label leaves out the app's models, `app_label.ModelName` one
/// model, its name in any case), with the link tables of their
/// many-to-many fields; a name the site doesn't know is an error.
pub fn exclude(site: &mut Site, excludes: &[String]) -> Result<()> {
    if excludes.is_empty() {
        return Ok(());
    }
    let meta = site.meta.clone();
    let all: Vec<&Model> = site.models.iter().chain(&site.skipped).collect();
    // Without metadata Django's own tables have their label by name.
    let inferred = meta.is_none();
    let id_of = |m: &Model| -> (String, String) {
        let known = inferred
            .then(|| DJANGO_TABLES.iter().find(|(t, _)| *t == m.table.name))
            .flatten();
        match known.and_then(|(_, l)| l.split_once('.')) {
            Some((app, model)) => (app.to_string(), model.to_string()),
            None => (m.app_label.clone(), m.model_name.to_lowercase()),
        }
    };
    let mut apps: Vec<String> = Vec::new();
    let mut models: Vec<(String, String)> = Vec::new();
    for label in excludes {
        match label.split_once('.') {
            Some((app, name)) => {
                let lower = name.to_lowercase();
                let known = match &meta {
                    Some(m) => (m.models.iter())
                        .any(|m| m.app_label == app && m.object_name.to_lowercase() == lower),
                    None => all
                        .iter()
                        .any(|m| id_of(m) == (app.to_string(), lower.clone())),
                };
                if !known {
                    return Err(Error::Usage(format!(
                        "-e/--exclude {label}: the site has no model {label}"
                    )));
                }
                models.push((app.to_string(), lower));
            }
            None => {
                let known = match &meta {
                    Some(m) => m.apps.iter().any(|a| a == label),
                    None => all.iter().any(|m| id_of(m).0 == *label),
                };
                if !known {
                    return Err(Error::Usage(format!(
                        "-e/--exclude {label}: the site has no app {label}"
                    )));
                }
                apps.push(label.clone());
            }
        }
    }
    let named = |m: &Model| {
        let (app, name) = id_of(m);
        apps.contains(&app) || models.contains(&(app, name))
    };
    let mut out: Vec<String> = all
        .iter()
        .filter(|m| !m.auto_created && named(m))
        .map(|m| m.table.name.clone())
        .collect();
    // A link table goes with its owner, or with its app.
    let links: Vec<String> = all
        .iter()
        .filter(|m| m.auto_created)
        .filter(|m| {
            apps.contains(&id_of(m).0)
                || link_owner(m, meta.as_deref()).is_some_and(|o| out.contains(&o))
        })
        .map(|m| m.table.name.clone())
        .collect();
    out.extend(links);
    let mut excluded = Vec::new();
    for list in [&mut site.models, &mut site.skipped] {
        let (gone, kept) = std::mem::take(list)
            .into_iter()
            .partition(|m| out.contains(&m.table.name));
        *list = kept;
        excluded.extend::<Vec<Model>>(gone);
    }
    site.excluded = excluded;
    site.excluded_apps = apps;
    Ok(())
}

/// The owner's table of a many-to-many link table: the model whose field
/// has it as `through` in the metadata, else its first foreign key's
/// target (Django's link tables are `id`, owner, target).
fn link_owner(link: &Model, meta: Option<&crate::meta::SiteMeta>) -> Option<String> {
    if let Some(meta) = meta {
        let label = link.label();
        return (meta.models.iter())
            .find(|m| (m.fields.iter()).any(|f| f.through.as_deref() == Some(label.as_str())))
            .map(|m| m.db_table.clone());
    }
    let t = &link.table;
    (t.columns.iter())
        .find_map(|c| t.foreign_key(&c.name))
        .map(|fk| fk.target_table.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::django::Model;
    use crate::plugin::BatchFn;
    use crate::schema::{Column, ColumnKind};

    struct MemSource {
        tables: Vec<(Table, Vec<Vec<Value>>)>,
        reads: usize,
        /// The tables read, in order.
        read_log: Vec<String>,
        /// Reads on a thread of its own (`as_send`).
        threaded: bool,
        /// Batches handed out, all tables.
        sent: usize,
    }

    impl Source for MemSource {
        fn as_send(&mut self) -> Option<&mut (dyn Source + Send)> {
            self.threaded.then_some(self)
        }
        fn describe(&self) -> String {
            "memory".into()
        }
        fn schema(&mut self) -> Result<Schema> {
            Ok(Schema {
                tables: self.tables.iter().map(|(t, _)| t.clone()).collect(),
            })
        }
        fn count_rows(&mut self, table: &Table) -> Result<u64> {
            let rows = self.tables.iter().find(|(t, _)| t.name == table.name);
            Ok(rows.map_or(0, |(_, r)| r.len() as u64))
        }
        fn read_table(
            &mut self,
            table: &Table,
            batch_rows: usize,
            out: &mut BatchFn,
        ) -> Result<()> {
            self.reads += 1;
            self.read_log.push(table.name.clone());
            let Some((t, rows)) = self.tables.iter().find(|(t, _)| t.name == table.name) else {
                return Err(Error::table(&table.name, "no such table"));
            };
            if t.name == "app_broken" {
                return Err(Error::table(&t.name, "unreadable"));
            }
            for (i, chunk) in rows.chunks(batch_rows).enumerate() {
                if t.name == "app_torn" && i == 1 {
                    return Err(Error::table(&t.name, "torn page"));
                }
                let mut b = Batch::new(t.columns.len(), chunk.len());
                for r in chunk {
                    b.push_row(r.iter().cloned());
                }
                self.sent += 1;
                out(b)?;
            }
            Ok(())
        }
    }

    /// Drops rows whose id is odd and renames `name` to `title`.
    struct EvenTitles;
    impl Transformer for EvenTitles {
        fn table(&mut self, input: &Table) -> Result<Table> {
            let mut t = input.clone();
            for c in &mut t.columns {
                if c.name == "name" {
                    c.name = "title".into();
                }
            }
            Ok(t)
        }
        fn batch(&mut self, _: &Table, _: &Table, batch: &mut Batch) -> Result<()> {
            batch.retain_rows(|r| !matches!(r[0], Value::Int(n) if n % 2 == 1));
            Ok(())
        }
    }

    /// Writes down every call into a log the test keeps.
    #[derive(Default, Clone)]
    struct Recorder {
        calls: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
        /// Wants the models Lino's dump skips too.
        all: bool,
        fail_finish: bool,
        /// Fails the nth `rows` call (from 1) of this table.
        fail_rows: Option<(&'static str, usize)>,
    }
    impl Recorder {
        fn log(&self, call: String) {
            self.calls.borrow_mut().push(call);
        }
    }
    impl Sink for Recorder {
        fn begin(&mut self, _: &DumpInfo, site: &Site) -> Result<()> {
            self.log(format!("begin {}", site.models.len()));
            Ok(())
        }
        fn table_start(&mut self, m: &Model, expected: u64) -> Result<()> {
            let fields: Vec<_> = m.fields.iter().map(|f| f.name.as_str()).collect();
            self.log(format!(
                "start {} {expected} {}",
                m.table.name,
                fields.join(",")
            ));
            Ok(())
        }
        fn rows(&mut self, m: &Model, b: &Batch) -> Result<()> {
            self.log(format!("rows {} {}", m.table.name, b.len()));
            if let Some((table, n)) = self.fail_rows {
                let prefix = format!("rows {table} ");
                let calls = self.calls.borrow();
                if m.table.name == table
                    && calls.iter().filter(|c| c.starts_with(&prefix)).count() == n
                {
                    return Err(Error::table(table, "disk full"));
                }
            }
            Ok(())
        }
        fn table_end(&mut self, m: &Model, rows: u64) -> Result<()> {
            self.log(format!("end {} {rows}", m.table.name));
            Ok(())
        }
        fn table_skipped(&mut self, m: &Model, _: &str) -> Result<()> {
            self.log(format!("skipped {}", m.table.name));
            Ok(())
        }
        fn finish(&mut self, r: &Report) -> Result<()> {
            self.log(format!("finish {}", r.rows()));
            if self.fail_finish {
                return Err(Error::Usage("full disk".into()));
            }
            Ok(())
        }
        fn publish(&mut self) -> Result<()> {
            self.log("publish".into());
            Ok(())
        }
        fn abort(&mut self) {
            self.log("abort".into());
        }
        fn wants(&self, _: &Model, skipped: bool) -> bool {
            self.all || !skipped
        }
        /// One warning per table written.
        fn warnings(&mut self) -> Vec<String> {
            let calls = self.calls.borrow();
            match calls.last().and_then(|c| c.strip_prefix("end ")) {
                Some(ended) => vec![format!("noticed {ended}")],
                None => vec![],
            }
        }
    }

    #[derive(Default)]
    struct Warnings(Vec<String>);
    impl Observer for Warnings {
        fn warning(&mut self, message: &str) {
            self.0.push(message.to_string());
        }
    }

    fn source() -> MemSource {
        let col = |n: &str, kind| Column {
            name: n.into(),
            declared_type: String::new(),
            kind,
            nullable: false,
        };
        let table = |name: &str| Table {
            name: name.into(),
            columns: vec![col("id", ColumnKind::Int), col("name", ColumnKind::Text)],
            primary_key: vec!["id".into()],
            foreign_keys: vec![],
            unique: vec![],
        };
        let rows = (1..=5)
            .map(|i| vec![Value::Int(i), Value::Text(format!("n{i}"))])
            .collect();
        MemSource {
            tables: vec![(table("app_broken"), vec![]), (table("app_thing"), rows)],
            reads: 0,
            read_log: Vec::new(),
            threaded: true,
            sent: 0,
        }
    }

    fn run(src: &mut MemSource, tolerate: bool, sink: &mut Vec<Box<dyn Sink>>) -> Result<Report> {
        let mut transformers: Vec<Box<dyn Transformer>> = vec![Box::new(EvenTitles)];
        let info = DumpInfo {
            source: "memory".into(),
            tool_version: "0".into(),
            ..DumpInfo::default()
        };
        Pipeline {
            source: src,
            transformers: &mut transformers,
            sinks: sink,
            options: PipelineOptions {
                batch_rows: 2,
                tolerate,
                ..PipelineOptions::default()
            },
        }
        .run(&info, &mut Quiet)
    }

    #[test]
    fn transformers_reshape_tables_and_drop_rows() {
        let mut src = source();
        let rec = Recorder::default();
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(rec.clone())];
        let report = run(&mut src, true, &mut sinks).expect("tolerated");
        assert_eq!(report.rows(), 2);
        assert_eq!(report.skipped().count(), 1);
        // Each table is read once.
        assert_eq!(src.reads, 2);
        assert_eq!(
            *rec.calls.borrow(),
            [
                "begin 2",
                "start app_broken 0 id,title",
                "skipped app_broken",
                "start app_thing 5 id,title",
                "rows app_thing 1",
                "rows app_thing 1",
                "rows app_thing 0",
                "end app_thing 2",
                "finish 2",
                "publish"
            ]
        );
    }

    #[test]
    fn sink_warnings_reach_the_observer_after_each_table() {
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(Recorder::default())];
        let mut warnings = Warnings::default();
        let mut src = source();
        src.tables.remove(0);
        Pipeline {
            source: &mut src,
            transformers: &mut [],
            sinks: &mut sinks,
            options: PipelineOptions::default(),
        }
        .run(
            &DumpInfo {
                source: "memory".into(),
                tool_version: "0".into(),
                ..DumpInfo::default()
            },
            &mut warnings,
        )
        .expect("dumped");
        assert_eq!(warnings.0, ["noticed app_thing 5"]);
    }

    #[test]
    fn no_output_is_published_when_another_fails_to_finish() {
        let mut src = source();
        let first = Recorder::default();
        let failing = Recorder {
            fail_finish: true,
            ..Recorder::default()
        };
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(first.clone()), Box::new(failing)];
        let err = run(&mut src, true, &mut sinks).expect_err("finish failed");
        assert!(err.to_string().contains("full disk"), "{err}");
        let calls = first.calls.borrow();
        assert_eq!(calls[calls.len() - 2..], ["finish 2", "abort"]);
        assert!(!calls.iter().any(|c| c == "publish"));
    }

    #[test]
    fn an_error_aborts_every_sink() {
        let mut src = source();
        let log = Recorder::default();
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(log.clone())];
        let err = run(&mut src, false, &mut sinks).expect_err("not tolerated");
        assert_eq!(err.to_string(), "table app_broken: unreadable");
        let rec = log.calls.borrow();
        assert_eq!(rec.last().map(String::as_str), Some("abort"));
        assert!(!rec.iter().any(|c| c.starts_with("finish")));
    }

    #[test]
    fn skipped_models_go_only_to_sinks_that_want_them_and_are_read_once() {
        let mut src = source();
        let col = |n: &str, kind| Column {
            name: n.into(),
            declared_type: String::new(),
            kind,
            nullable: false,
        };
        let ct = Table {
            name: CONTENT_TYPE_TABLE.into(),
            columns: vec![
                col("id", ColumnKind::Int),
                col("app_label", ColumnKind::Text),
                col("model", ColumnKind::Text),
            ],
            primary_key: vec!["id".into()],
            foreign_keys: vec![],
            unique: vec![],
        };
        let rows = (1..=3)
            .map(|i| {
                vec![
                    Value::Int(i),
                    Value::Text("app".into()),
                    Value::Text(format!("m{i}")),
                ]
            })
            .collect();
        src.tables.retain(|(t, _)| t.name != "app_broken");
        src.tables.insert(0, (ct, rows));
        let python = Recorder::default();
        let json = Recorder {
            all: true,
            ..Recorder::default()
        };
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(python.clone()), Box::new(json.clone())];
        let report = run(&mut src, false, &mut sinks).expect("dumped");
        // The content types were read once, for the site and for the sink.
        assert_eq!(src.read_log, [CONTENT_TYPE_TABLE, "app_thing"]);
        assert_eq!(report.tables.len(), 2);
        let ct_calls = |r: &Recorder| {
            r.calls
                .borrow()
                .iter()
                .filter(|c| c.contains(CONTENT_TYPE_TABLE))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert!(ct_calls(&python).is_empty());
        assert_eq!(
            ct_calls(&json),
            [
                "start django_content_type 3 id,app_label,model",
                // The transformer keeps the even ids, as on a real read.
                "rows django_content_type 1",
                "rows django_content_type 0",
                "end django_content_type 1"
            ]
        );
        // Without a sink that wants them, skipped models are not read.
        let mut src2 = source();
        src2.tables.retain(|(t, _)| t.name != "app_broken");
        let ct2 = src.tables[0].clone();
        src2.tables.insert(0, ct2);
        let mut only_python: Vec<Box<dyn Sink>> = vec![Box::new(Recorder::default())];
        let report = run(&mut src2, false, &mut only_python).expect("dumped");
        assert_eq!(report.tables.len(), 1);
        assert_eq!(src2.read_log, [CONTENT_TYPE_TABLE, "app_thing"]);
    }

    /// Site metadata whose models are `(app_label, ObjectName, table)`,
    /// each with the columns `id` and `name`.
    /// The pipeline with the site metadata of `models`, no transformer.
    fn run_with_meta(
        src: &mut MemSource,
        tolerate: bool,
        models: &[(&str, &str, &str)],
        sinks: &mut Vec<Box<dyn Sink>>,
    ) -> Result<Report> {
        let info = DumpInfo {
            source: "memory".into(),
            tool_version: "0".into(),
            ..DumpInfo::default()
        };
        Pipeline {
            source: src,
            transformers: &mut [],
            sinks,
            options: PipelineOptions {
                tolerate,
                meta: Some(meta(models)),
                ..PipelineOptions::default()
            },
        }
        .run(&info, &mut Quiet)
    }

    fn meta(models: &[(&str, &str, &str)]) -> crate::meta::SiteMeta {
        let field = |name: &str| {
            serde_json::json!({
                "name": name, "attname": name, "column": name, "internal_type": "CharField",
                "primary_key": name == "id", "null": false, "decimal_places": null,
                "max_digits": null, "related_model": null, "through": null,
                "choicelist": null, "babel_columns": [], "babel_variant": false,
            })
        };
        let models: Vec<_> = models
            .iter()
            .map(|(app, object, table)| {
                serde_json::json!({
                    "app_label": app, "object_name": object, "db_table": table,
                    "proxy": false, "auto_created": false, "managed": true, "parent": null,
                    "fields": [field("id"), field("name")],
                })
            })
            .collect();
        let text = serde_json::json!({
            "format": 1, "settings_module": "s", "version": null, "time_zone": null,
            "use_tz": false, "languages": [], "apps": ["app"],
            "database": {"engine": "django.db.backends.sqlite3", "name": "x"},
            "models": models,
        });
        match crate::meta::SiteMeta::parse(&text.to_string()) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_site_model_without_its_table_is_an_error_or_skipped() {
        let models = [("app", "Thing", "app_thing"), ("app", "Gone", "app_gone")];
        for tolerate in [false, true] {
            let mut src = source();
            src.tables.retain(|(t, _)| t.name == "app_thing");
            let rec = Recorder::default();
            let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(rec.clone())];
            let got = run_with_meta(&mut src, tolerate, &models, &mut sinks);
            let why = "table app_gone: no such table (model app.Gone)";
            match got {
                Ok(report) => {
                    assert!(tolerate);
                    assert_eq!(report.skipped().collect::<Vec<_>>(), [("app_gone", why)]);
                    assert!(rec.calls.borrow().contains(&"skipped app_gone".to_string()));
                }
                Err(e) => {
                    assert!(!tolerate, "{e}");
                    assert_eq!(e.to_string(), why);
                }
            }
        }
    }

    #[test]
    fn site_content_types_without_their_table_are_an_error() {
        let mut src = source();
        src.tables.retain(|(t, _)| t.name == "app_thing");
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(Recorder::default())];
        let models = [
            ("app", "Thing", "app_thing"),
            ("contenttypes", "ContentType", CONTENT_TYPE_TABLE),
        ];
        // Not even with -t: content-type columns need the table.
        let err = run_with_meta(&mut src, true, &models, &mut sinks).expect_err("no content types");
        assert_eq!(
            err.to_string(),
            "table django_content_type: no such table (model contenttypes.ContentType)"
        );
    }

    /// `app_broken` (unreadable), `app_torn` (fails after its first batch)
    /// and `app_thing` with `rows` rows.
    fn three_tables(rows: i64) -> MemSource {
        let mut src = source();
        let mut torn = src.tables[0].0.clone();
        torn.name = "app_torn".into();
        let data = |n: i64| -> Vec<Vec<Value>> {
            (1..=n)
                .map(|i| vec![Value::Int(i), Value::Text(format!("n{i}"))])
                .collect()
        };
        src.tables.push((torn, data(6)));
        src.tables[1].1 = data(rows);
        src
    }

    #[test]
    fn reading_ahead_gives_what_one_thread_gives() {
        let mut logs = Vec::new();
        for threaded in [false, true] {
            let mut src = three_tables(41);
            src.threaded = threaded;
            let rec = Recorder::default();
            let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(rec.clone())];
            let report = run(&mut src, true, &mut sinks).expect("tolerated");
            assert_eq!(report.skipped().count(), 2);
            assert_eq!(report.rows(), 20);
            logs.push(rec.calls.borrow().clone());
        }
        assert!(logs[1].contains(&"skipped app_torn".to_string()));
        assert!(logs[1].contains(&"end app_thing 20".to_string()));
        assert_eq!(logs[0], logs[1]);
    }

    #[test]
    fn a_sink_error_stops_the_reader() {
        for tolerate in [false, true] {
            let mut src = three_tables(10_000);
            src.tables.retain(|(t, _)| t.name == "app_thing");
            let rec = Recorder {
                fail_rows: Some(("app_thing", 2)),
                ..Recorder::default()
            };
            let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(rec.clone())];
            let got = run(&mut src, tolerate, &mut sinks);
            let calls = rec.calls.borrow();
            match got {
                // A sink's table error is tolerated as a source's is.
                Ok(report) => {
                    assert!(tolerate);
                    assert_eq!(report.skipped().count(), 1);
                    assert!(calls.contains(&"skipped app_thing".to_string()));
                }
                Err(err) => {
                    assert!(!tolerate);
                    assert_eq!(err.to_string(), "table app_thing: disk full");
                    assert_eq!(calls.last().map(String::as_str), Some("abort"));
                    assert!(!calls
                        .iter()
                        .any(|c| c == "publish" || c.starts_with("finish")));
                }
            }
            // Two batches taken, the queue full, one waiting: not 5000.
            assert!(src.sent <= 2 + QUEUE_BATCHES + 2, "{}", src.sent);
        }
    }
}
