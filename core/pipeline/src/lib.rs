//! One pass over a source: every model's rows, batch by batch, through the
//! transformers into all sinks.
//!
//! `mod.rs` plans the dump (schema, site, counts, which sink wants what);
//! [`read_ahead`] reads on a thread of its own; [`dumper`] takes each
//! table through the transformers into the sinks; [`exclude()`] is `-e`.

mod count;
mod dumper;
mod read_ahead;
mod reading;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use dump2py_django::{ContentType, Model, Site, ViewOptions, CONTENT_TYPE_TABLE};
use dump2py_model::batch::Batch;
use dump2py_model::error::{Error, Result};
use dump2py_model::order::ReadOrder;
use dump2py_model::schema::{Schema, Table};
use dump2py_model::value::Value;
use dump2py_plugin::{
    DumpInfo, KeyRange, Report, Sink, Source, TableOutcome, Transaction, Transformer,
};
use dumper::{Dumper, Planned};
use read_ahead::{read_ahead, Task};

/// The source's connection and its workers', each to be used on a thread.
fn connections<'s>(
    main: &'s mut (dyn Source + Send),
    workers: &'s mut [Box<dyn Source + Send>],
) -> Vec<&'s mut (dyn Source + Send)> {
    std::iter::once(main)
        .chain(
            workers
                .iter_mut()
                .map(|w| &mut **w as &mut (dyn Source + Send)),
        )
        .collect()
}

/// Why a model's table can't be counted or read, known before asking the
/// source.
fn problem(model: &Model) -> Option<Error> {
    (model.problem.as_ref()).map(|p| Error::table(&model.table.name, p.clone()))
}

/// Whether `order` reads what the source's own read of `table` reads:
/// its primary key ascending, every row, and either integer keys or a
/// source whose key order is the database's.
fn same_as_source(order: &ReadOrder, table: &Table, native: bool) -> bool {
    order.is_key_order(&table.primary_key)
        && (native
            || (table.primary_key.iter()).all(|k| {
                table.column(k).is_some_and(|c| {
                    matches!(
                        c.kind,
                        dump2py_model::schema::ColumnKind::Int
                            | dump2py_model::schema::ColumnKind::UInt
                    )
                })
            }))
}

/// Tables with fewer rows are read whole: a range read costs a query.
const SPLIT_ROWS: u64 = 100_000;

#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub batch_rows: usize,
    /// Skip tables that can't be read instead of stopping.
    pub tolerate: bool,
    pub view: ViewOptions,
    /// The site's own metadata; without it the view is inferred.
    pub meta: Option<dump2py_django::meta::SiteMeta>,
    /// `-e/--exclude`: app labels and `app_label.ModelName`s to leave out
    /// of every output (dumpdata's meaning).
    pub exclude: Vec<String>,
    /// `-j/--jobs`: reads at once, on connections sharing one snapshot,
    /// where the source can share it (else one).
    pub jobs: usize,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            batch_rows: 1000,
            tolerate: false,
            view: ViewOptions::default(),
            meta: None,
            exclude: Vec::new(),
            jobs: 1,
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
    /// A table was read from the source, with its rows as read (before
    /// the transformers): once per table, however many outputs want it.
    fn table_read(&mut self, _table: &str, _rows: u64) {}
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
        // Before anything is read: the workers join the source's snapshot.
        let mut workers = Vec::new();
        if self.options.jobs > 1 && self.source.as_send().is_some() {
            let w = self.source.workers(self.options.jobs - 1)?;
            if let Some(note) = &w.note {
                observer.warning(note);
            }
            workers = w.sources;
        }
        if let Some(meta) = &self.options.meta {
            self.source.site_meta(meta)?;
        }
        let schema = self.source.schema()?;
        // The content-type table's batches are kept for a sink that dumps
        // it as a model (a few rows): each table is read once.
        let (content_types, mut ct_batches) = self.content_types(&schema)?;
        if let Some(batches) = &ct_batches {
            let rows = batches.iter().map(|b| b.len() as u64).sum();
            observer.table_read(CONTENT_TYPE_TABLE, rows);
        }
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
        // Without metadata `--languages` must match the babel columns.
        if self.options.meta.is_none() {
            let languages = &self.options.view.languages;
            for w in dump2py_django::languages::check(&transformed, languages)? {
                observer.warning(&w);
            }
        }
        let site = self.site(&transformed, content_types, &|_| 0);
        // Models in foreign-key cycles are ordered by their row counts:
        // they alone are counted before they are read.
        let in_cycles: Vec<&Model> = (site.models.iter())
            .filter(|m| site.cycles.iter().any(|c| c.label == m.label()))
            .collect();
        let mut counts = self.count_models(&in_cycles, &chains, &mut workers);
        // The content types, read already, are counted.
        if let Some(batches) = &ct_batches {
            let rows = batches.iter().map(|b| b.len() as u64).sum();
            counts.insert(CONTENT_TYPE_TABLE.to_string(), Ok(rows));
        }
        let mut site = if site.cycles.is_empty() {
            site
        } else {
            let count_of = |t: &str| {
                counts
                    .get(t)
                    .and_then(|r| r.as_ref().ok())
                    .copied()
                    .unwrap_or(0)
            };
            let content_types = site.content_types.into_values().collect();
            self.site(&transformed, content_types, &count_of)
        };
        dump2py_django::exclude::exclude(&mut site, &self.options.exclude)?;
        for sink in self.sinks.iter_mut() {
            sink.begin(info, &site)?;
        }
        let all = (site.models.iter().map(|m| (m, false, false)))
            .chain(site.skipped.iter().map(|m| (m, true, false)))
            .chain(site.excluded.iter().map(|m| (m, true, true)));
        // What is read: the models some sink wants.
        let mut reads = Vec::new();
        for (model, skipped, excluded) in all {
            let wanted: Vec<bool> = self.sinks.iter().map(|s| s.wants(model, skipped)).collect();
            // Without sinks (--simulate) the Python dump's models are read.
            let read = if self.sinks.is_empty() {
                !skipped
            } else {
                wanted.contains(&true)
            };
            if read {
                reads.push((model, excluded, wanted));
            }
        }
        let readers = 1 + workers.len();
        let (estimates, unknown) = self.estimates(&reads, &chains, &counts);
        // With several readers a big table is split: one without an
        // estimate is counted to tell.
        if readers > 1 {
            counts.extend(self.count_models(&unknown, &chains, &mut workers));
        }
        // What is read, with its row count or estimate, known before the
        // first table: the observer shows the whole dump's progress.
        let mut plan = Vec::new();
        for (model, excluded, wanted) in reads {
            let chain = chains
                .get(&model.table.name)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let counted = match counts.remove(&model.table.name) {
                Some(c) => c,
                None => match problem(model) {
                    Some(e) => Err(e),
                    None => Ok(estimates.get(&model.table.name).copied().unwrap_or(0)),
                },
            };
            // One read per order the sinks ask for; the source's own first.
            let source_table = chain.first().unwrap_or(&model.table);
            let native = self.source.key_order_is_native();
            let sink_orders: Vec<Option<Arc<ReadOrder>>> = (self.sinks.iter().zip(&wanted))
                .map(|(sink, w)| match w {
                    true => sink
                        .read_order(model)
                        .filter(|o| !same_as_source(o, source_table, native))
                        .map(Arc::new),
                    false => None,
                })
                .collect();
            let mut orders: Vec<Option<Arc<ReadOrder>>> = vec![None];
            for o in sink_orders.iter().flatten() {
                if !orders.iter().flatten().any(|x| x == o) {
                    orders.push(Some(o.clone()));
                }
            }
            let mut counted = Some(counted);
            for (n, order) in orders.into_iter().enumerate() {
                let wanted_here: Vec<bool> = (wanted.iter().zip(&sink_orders))
                    .map(|(w, o)| *w && *o == order)
                    .collect();
                if n > 0 && !wanted_here.contains(&true) {
                    continue;
                }
                // No sink that reads in the source's order: only the others.
                if n == 0 && !self.sinks.is_empty() && !wanted_here.contains(&true) {
                    continue;
                }
                let Some(c) = counted.take() else { break };
                let (again, c) = match c {
                    Ok(rows) => {
                        counted = Some(Ok(rows));
                        (
                            plan.iter()
                                .any(|p: &Planned| p.model.table.name == model.table.name),
                            Ok(rows),
                        )
                    }
                    Err(e) => (false, Err(e)),
                };
                plan.push(Planned {
                    model,
                    excluded,
                    wanted: if self.sinks.is_empty() {
                        wanted.clone()
                    } else {
                        wanted_here
                    },
                    chain,
                    counted: c,
                    order,
                    again,
                });
            }
        }
        let expected = plan
            .iter()
            .filter_map(|p| p.counted.as_ref().ok())
            .sum::<u64>();
        observer.dump_started(plan.len() as u64, expected);
        let mut tasks = Vec::new();
        for (read, p) in plan.iter().enumerate() {
            let Ok(rows) = p.counted else { continue };
            if p.model.table.name == CONTENT_TYPE_TABLE && ct_batches.is_some() && p.order.is_none()
            {
                continue;
            }
            let table = p.chain.first().unwrap_or(&p.model.table);
            match &p.order {
                None => tasks.extend(self.split(read, table, rows, readers)),
                Some(order) => tasks.push(Task {
                    read,
                    table: table.clone(),
                    range: None,
                    order: Some(order.clone()),
                }),
            }
        }
        let batch_rows = self.options.batch_rows;
        let mut dumper = Dumper {
            transformers: &mut *self.transformers,
            sinks: &mut *self.sinks,
            tolerate: self.options.tolerate,
            observer,
            storage: info.storage,
        };
        let report = match self.source.as_send() {
            Some(source) => {
                let sources = connections(source, &mut workers);
                read_ahead(sources, &tasks, batch_rows, |read| {
                    dumper.dump_all(plan, &mut ct_batches, read)
                })?
            }
            None => {
                let source = &mut *self.source;
                let orders: Vec<Option<Arc<ReadOrder>>> =
                    plan.iter().map(|p| p.order.clone()).collect();
                dumper.dump_all(plan, &mut ct_batches, &mut |read, table, each| match orders
                    .get(read)
                    .and_then(Option::as_deref)
                {
                    Some(order) => source.read_ordered(table, order, batch_rows, each),
                    None => source.read_table(table, batch_rows, each),
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
        let mut tx = Transaction::new();
        for sink in self.sinks.iter_mut() {
            sink.publish(&mut tx)?;
        }
        dump2py_staging::commit(tx)?;
        Ok(report)
    }

    /// The reads of one table: whole, or (with several readers, for a big
    /// table with one integer key) one key range per reader.
    fn split(&mut self, read: usize, table: &Table, rows: u64, readers: usize) -> Vec<Task> {
        let whole = || {
            vec![Task {
                read,
                table: table.clone(),
                range: None,
                order: None,
            }]
        };
        if readers < 2 || rows < SPLIT_ROWS {
            return whole();
        }
        // A table whose bounds can't be read is read whole: its read says
        // what is wrong, where `--tolerate` can skip it.
        let Ok(Some((lo, hi))) = self.source.key_bounds(table) else {
            return whole();
        };
        let span = i128::from(hi) - i128::from(lo) + 1;
        let bound = |i: usize| {
            let b = i128::from(lo) + span * i as i128 / readers as i128;
            i64::try_from(b).unwrap_or(i64::MAX)
        };
        (0..readers)
            .map(|i| Task {
                read,
                order: None,
                table: table.clone(),
                range: Some(KeyRange {
                    from: (i > 0).then(|| bound(i)),
                    to: (i + 1 < readers).then(|| bound(i + 1)),
                }),
            })
            .collect()
    }

    /// The Django view of the (transformed) schema: from the site's
    /// metadata, or inferred.
    fn site(&self, schema: &Schema, cts: Vec<ContentType>, counts: &dyn Fn(&str) -> u64) -> Site {
        match &self.options.meta {
            Some(meta) => Site::from_meta(schema, meta, cts, counts),
            None => Site::build(schema, cts, counts, &self.options.view),
        }
    }

    /// The source's estimate of the rows of each table read (by table
    /// name), and the models it has none for, in `reads`' order (counted
    /// ones and those that can't be read left out).
    fn estimates<'m>(
        &mut self,
        reads: &[(&'m Model, bool, Vec<bool>)],
        chains: &HashMap<String, Vec<Table>>,
        counts: &HashMap<String, Result<u64>>,
    ) -> (HashMap<String, u64>, Vec<&'m Model>) {
        let mut asked: Vec<(&Model, &Table)> = Vec::new();
        for (model, _, _) in reads {
            let name = &model.table.name;
            if counts.contains_key(name) || problem(model).is_some() {
                continue;
            }
            if asked.iter().any(|(m, _)| m.table.name == *name) {
                continue;
            }
            let chain = chains.get(name).map(Vec::as_slice).unwrap_or(&[]);
            asked.push((model, chain.first().unwrap_or(&model.table)));
        }
        let tables: Vec<&Table> = asked.iter().map(|(_, t)| *t).collect();
        let mut estimates = HashMap::new();
        let mut unknown = Vec::new();
        for ((model, _), n) in asked.iter().zip(self.source.estimate_rows(&tables)) {
            match n {
                Some(n) => {
                    estimates.insert(model.table.name.clone(), n);
                }
                None => unknown.push(*model),
            }
        }
        (estimates, unknown)
    }

    /// The row count of each model's table, by table name; with workers,
    /// counted on all connections at once.
    fn count_models(
        &mut self,
        models: &[&Model],
        chains: &HashMap<String, Vec<Table>>,
        workers: &mut [Box<dyn Source + Send>],
    ) -> HashMap<String, Result<u64>> {
        let source_table = |m: &'_ Model| {
            let chain = chains.get(&m.table.name).map(Vec::as_slice).unwrap_or(&[]);
            chain.first().unwrap_or(&m.table).clone()
        };
        let mut counts = HashMap::new();
        let mut to_count = Vec::new();
        for model in models {
            match problem(model) {
                Some(e) => {
                    counts.insert(model.table.name.clone(), Err(e));
                }
                None => to_count.push((model.table.name.clone(), source_table(model))),
            }
        }
        let tables: Vec<&Table> = to_count.iter().map(|(_, t)| t).collect();
        let counted = match self.source.as_send() {
            Some(main) if !workers.is_empty() => {
                count::count_all(connections(main, workers), &tables)
            }
            _ => tables.iter().map(|t| self.source.count_rows(t)).collect(),
        };
        for ((name, _), n) in to_count.iter().zip(counted) {
            counts.insert(name.clone(), n);
        }
        counts
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
                Ok(true)
            })?;
        Ok((out, Some(batches)))
    }
}
