//! The plugin interfaces. They pass plain values (batches of [`Value`]s,
//! tables, models), never generic parameters, so that a shared library can
//! serve them behind a C ABI later.
//!
//! [`Value`]: dump2py_model::value::Value

pub mod registry;

pub use inventory;

use std::path::PathBuf;

use dump2py_django::{Model, Site};
use dump2py_model::batch::Batch;
use dump2py_model::error::Result;
use dump2py_model::order::ReadOrder;
use dump2py_model::schema::{Schema, Storage, Table};

/// Receives each batch a source reads; returns whether to go on. On
/// `Ok(false)` the source stops reading and returns `Ok(())`: whoever
/// stopped it knows why (ripgrep's sinks work the same way).
pub type BatchFn<'a> = dyn FnMut(Batch) -> Result<bool> + 'a;

/// Reads one database. A source reads everything inside one snapshot, opened
/// when the source is created.
pub trait Source {
    /// Where the data comes from, for headers and messages; never a password.
    fn describe(&self) -> String;
    fn schema(&mut self) -> Result<Schema>;
    /// The site's metadata (`--settings`, `--site-schema`), given before
    /// [`Source::schema`] when the dump has it: a source that stores no
    /// types of its own (a Python dump) reads its columns from it.
    fn site_meta(&mut self, _meta: &dump2py_django::meta::SiteMeta) -> Result<()> {
        Ok(())
    }
    fn count_rows(&mut self, table: &Table) -> Result<u64>;
    /// The database's own estimate of each table's rows (PostgreSQL's
    /// `pg_class.reltuples`, InnoDB's `TABLE_ROWS`): cheap, maybe wrong,
    /// for the progress bar and the sinks' first guess; the pipeline counts
    /// before a read only where a count decides the order (foreign-key
    /// cycles). `None` where none is known, the default.
    fn estimate_rows(&mut self, tables: &[&Table]) -> Vec<Option<u64>> {
        vec![None; tables.len()]
    }
    /// Streams the table's rows in primary-key order, at most `batch_rows`
    /// rows per batch, each row in the table's column order.
    fn read_table(&mut self, table: &Table, batch_rows: usize, out: &mut BatchFn) -> Result<()>;
    /// The local files this source reads (an SQLite database and its
    /// journals), existing or not: no output may replace them.
    fn local_files(&self) -> Vec<PathBuf> {
        Vec::new()
    }
    /// This source, if it may read on another thread than the sinks write
    /// (`Some(self)` where `Self: Send`): the pipeline then reads ahead
    /// while the sinks format. `None`, the default, reads on one thread.
    fn as_send(&mut self) -> Option<&mut (dyn Source + Send)> {
        None
    }
    /// How the database stores values, where sinks must know.
    fn storage(&self) -> Storage {
        Storage::default()
    }
    /// Up to `n` more sources that read the very snapshot this one reads,
    /// each on a connection of its own, for `-j`: the pipeline reads tables
    /// (and key ranges of big tables) on them at once. Fewer (or none) when
    /// the database can't share its snapshot; `Workers::note` then says why,
    /// for the user. The default: none.
    fn workers(&mut self, _n: usize) -> Result<Workers> {
        Ok(Workers::default())
    }
    /// The smallest and largest value of `table`'s primary key, if it is
    /// one integer column (`None` otherwise, or for an empty table): the
    /// pipeline then splits a big table into [`KeyRange`]s.
    fn key_bounds(&mut self, _table: &Table) -> Result<Option<(i64, i64)>> {
        Ok(None)
    }
    /// [`Source::read_table`] of the rows whose (single, integer) primary
    /// key lies in `range`, in key order. Only asked of a source whose
    /// `key_bounds` gave bounds.
    fn read_range(
        &mut self,
        table: &Table,
        _range: KeyRange,
        _batch_rows: usize,
        _out: &mut BatchFn,
    ) -> Result<()> {
        Err(dump2py_model::Error::table(
            &table.name,
            "this source can't read key ranges",
        ))
    }
    /// [`Source::read_table`] in the order (and with the filters) of
    /// `order`, as the database orders them (its collations, no
    /// `COLLATE`): what a sink asked for with [`Sink::read_order`].
    fn read_ordered(
        &mut self,
        table: &Table,
        _order: &ReadOrder,
        _batch_rows: usize,
        _out: &mut BatchFn,
    ) -> Result<()> {
        Err(dump2py_model::Error::table(
            &table.name,
            "this source can't read rows in the database's order (as Django's dumpdata does)",
        ))
    }
    /// Whether [`Source::read_table`]'s primary-key order is the
    /// database's own (its collation of text keys): SQLite's is. Then a
    /// read in key order is not read again for a sink that asks for it.
    fn key_order_is_native(&self) -> bool {
        false
    }
    /// The version of the site that wrote this data, where the source
    /// knows it (a dump's `SOURCE_VERSION`); `None` for a live database.
    /// The database sink (`--into`) refuses data of another version than
    /// the target site's.
    fn site_version(&self) -> Option<String> {
        None
    }
}

/// Sources sharing one snapshot ([`Source::workers`]).
#[derive(Default)]
pub struct Workers {
    pub sources: Vec<Box<dyn Source + Send>>,
    /// Why there are fewer than asked for (a privilege missing, say): one
    /// line the CLI shows.
    pub note: Option<String>,
}

/// Primary-key values `from <= key < to`; `None`: unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRange {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Workers {
    /// A worker's connection that failed, said to be one.
    pub fn failed(e: dump2py_model::Error) -> dump2py_model::Error {
        match e {
            dump2py_model::Error::Connect(m) => {
                dump2py_model::Error::Connect(format!("-j: another connection: {m}"))
            }
            other => other,
        }
    }
}

impl KeyRange {
    /// The error of `read_range` on a table whose key can't be split.
    pub fn unsplittable(table: &str) -> dump2py_model::Error {
        dump2py_model::Error::table(
            table,
            "can't read key ranges: the primary key is not one integer column",
        )
    }

    /// ` WHERE key >= from AND key < to` for a source's SELECT, each bound
    /// only when given (empty when neither); `literal` writes a bound in
    /// the dialect.
    pub fn sql_filter(&self, key: &str, literal: impl Fn(i64) -> String) -> String {
        let bounds: Vec<String> = [(self.from, ">="), (self.to, "<")]
            .into_iter()
            .filter_map(|(v, op)| v.map(|v| format!("{key} {op} {}", literal(v))))
            .collect();
        match bounds.is_empty() {
            true => String::new(),
            false => format!(" WHERE {}", bounds.join(" AND ")),
        }
    }
}

/// What every sink is told before the first table.
#[derive(Debug, Clone, Default)]
pub struct DumpInfo {
    /// The redacted source description.
    pub source: String,
    /// The dump2py version that writes the dump.
    pub tool_version: String,
    /// The source's [`Source::storage`].
    pub storage: Storage,
}

/// How one table went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOutcome {
    Dumped {
        rows: u64,
    },
    /// Skipped with `--tolerate`; the reason is the one-line error.
    Skipped {
        reason: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// In dump order: the table name and what happened to it.
    pub tables: Vec<(String, TableOutcome)>,
}

impl Report {
    pub fn rows(&self) -> u64 {
        self.tables
            .iter()
            .map(|(_, o)| match o {
                TableOutcome::Dumped { rows } => *rows,
                TableOutcome::Skipped { .. } => 0,
            })
            .sum()
    }

    pub fn skipped(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tables.iter().filter_map(|(t, o)| match o {
            TableOutcome::Skipped { reason } => Some((t.as_str(), reason.as_str())),
            TableOutcome::Dumped { .. } => None,
        })
    }
}

/// The outputs of one dump that move into place together: each sink's
/// `publish` adds its staged outputs (`dump2py_staging::Staged::publish`),
/// and `dump2py_staging::commit` moves them all, or none. A value passed
/// along, never state of a thread.
#[derive(Debug, Default)]
pub struct Transaction {
    outputs: Vec<u64>,
}

impl Transaction {
    pub fn new() -> Transaction {
        Transaction::default()
    }

    /// Adds a staged output, by the id its staging gave it.
    pub fn add(&mut self, output: u64) {
        self.outputs.push(output);
    }

    /// The outputs added, in order; the transaction is empty afterwards.
    pub fn take(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.outputs)
    }

    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }
}

/// Writes one output. Calls come in this order: `begin`, then per model
/// either `table_start`, `rows`…, `table_end`, or `table_skipped`; then
/// `finish` and, once every sink has finished, `publish`. After an error
/// anywhere before `publish`, `abort` is called instead, and the sink must
/// leave no output behind that looks complete.
pub trait Sink {
    fn begin(&mut self, info: &DumpInfo, site: &Site) -> Result<()>;
    /// `expected_rows` is a guess: the source's count for a table in a
    /// foreign-key cycle, else its estimate (0 when none); transformers may
    /// change the rows too. `table_end` says how many there were.
    fn table_start(&mut self, model: &Model, expected_rows: u64) -> Result<()>;
    fn rows(&mut self, model: &Model, batch: &Batch) -> Result<()>;
    fn table_end(&mut self, model: &Model, rows: u64) -> Result<()>;
    fn table_skipped(&mut self, model: &Model, reason: &str) -> Result<()>;
    /// Completes the output where it is staged.
    fn finish(&mut self, report: &Report) -> Result<()>;
    /// Adds the finished outputs to `tx`, which the pipeline commits once
    /// every sink has published: all move into place, or none (split from
    /// `finish` so that one failing output leaves none of the others). A
    /// sink in a plugin library publishes on its own instead
    /// (`Staged::publish_now`): its staging is the library's.
    fn publish(&mut self, _tx: &mut Transaction) -> Result<()> {
        Ok(())
    }
    fn abort(&mut self);
    /// Whether this sink wants `model`'s rows; asked after `begin`. A
    /// `skipped` model is one of `Site::skipped`, which Lino's dump leaves
    /// out. The pipeline reads a table only if some sink wants it, and
    /// calls a sink only for the models it wants.
    fn wants(&self, _model: &Model, skipped: bool) -> bool {
        !skipped
    }
    /// What the user should know about the output (a value written
    /// differently than stored, say), once each; taken after every table.
    fn warnings(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// The order (and filter) this sink wants `model`'s rows in, asked
    /// after `begin` for a model it wants; None, the default: the
    /// source's primary-key order. A table that sinks want in different
    /// orders is read once per order.
    fn read_order(&self, _model: &Model) -> Option<ReadOrder> {
        None
    }
}

/// Changes rows on their way to the sinks.
pub trait Transformer {
    /// Called once per table before its rows: returns the table as this
    /// transformer's output has it (columns added, dropped or renamed).
    fn table(&mut self, input: &Table) -> Result<Table> {
        Ok(input.clone())
    }
    /// Rewrites a batch laid out as `input` into the layout of `output` (the
    /// table that `table` returned); may drop rows.
    fn batch(&mut self, input: &Table, output: &Table, batch: &mut Batch) -> Result<()>;
    /// Called once after the last table, before any sink finishes: an
    /// error (an argument that matched nothing, say) aborts the dump, so
    /// nothing is published. Returns what the user may want to know, a
    /// line each (shown with `-v 2`).
    fn finish(&mut self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// Who this is, for errors: a plugin's says which (`transformer NAME
    /// (plugin P V, PATH)`).
    fn label(&self) -> String {
        "a transformer".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_range_filters() {
        let r = |from, to| KeyRange { from, to }.sql_filter("k", |v| format!("'{v}'"));
        assert_eq!(r(None, None), "");
        assert_eq!(r(Some(-3), None), " WHERE k >= '-3'");
        assert_eq!(
            r(None, Some(i64::MAX)),
            format!(" WHERE k < '{}'", i64::MAX)
        );
        assert_eq!(r(Some(1), Some(2)), " WHERE k >= '1' AND k < '2'");
    }

    #[test]
    fn a_workers_connection_error_says_so() {
        let e = Workers::failed(dump2py_model::Error::Connect("can't connect to X".into()));
        assert_eq!(e.to_string(), "-j: another connection: can't connect to X");
        let t = Workers::failed(dump2py_model::Error::table("t", "m"));
        assert_eq!(t.to_string(), "table t: m");
    }
}
