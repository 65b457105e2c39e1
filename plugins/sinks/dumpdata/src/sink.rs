//! The sink that the JSON and XML formats share.
//!
//! dumpdata's order (apps, then models as registered) is not the order the
//! pipeline reads tables in (Lino's dependency order), and many-to-many
//! values belong inside their owner's objects. So each model's objects are
//! written, as they arrive, to a spool file of their own beside the
//! output, without their many-to-many fields; link tables are kept as
//! (owner key → target keys) in memory, a few dozen bytes per link. At
//! `finish` the spool files are copied into the output in dumpdata's
//! order, each object completed with its many-to-many lists. Memory stays
//! bounded by one object, plus the links (and, for a many-to-many target
//! with `Meta.ordering`, the values each of its objects is ordered by).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use dump2py_django::{Model, Site};
use dump2py_model::error::{Error, Result};
use dump2py_model::schema::{Storage, Table};
use dump2py_model::{Batch, Value};
use dump2py_plugin::registry::{OptionKind, SinkOption, SinkOptions};
use dump2py_plugin::{DumpInfo, Report, Sink, Transaction};
use dump2py_staging::Spool;

use crate::codec::Format;
use crate::output::Target;
use crate::placeholder::parse_placeholder;
use dump2py_django::serializer::keys::{cmp_keys, key_of};
use dump2py_django::serializer::natural::{Natural, Rows};
use dump2py_django::serializer::{Col, Role, View};

/// A link table's rows: owner key → the targets' primary keys.
type Links = HashMap<String, Vec<Value>>;
/// A buffer that grew past this (an object of a big value) is freed after it.
const KEEP_BYTES: usize = 1 << 20;

/// The options the JSON and XML sinks declare (dumpdata's own).
pub const OPTIONS: &[SinkOption] = &[
    SinkOption {
        name: "indent",
        kind: OptionKind::Number { max: 64 },
        help: "Indent JSON and XML outputs by N spaces per level, 0 to 64 (dumpdata's --indent).",
    },
    SinkOption {
        name: "natural-foreign",
        kind: OptionKind::Flag,
        help:
            "In JSON and XML, write foreign keys and many-to-many values as the targets' natural \
               keys, where the target model has natural_key() (dumpdata's; needs --settings or \
               --site-schema).",
    },
    SinkOption {
        name: "natural-primary",
        kind: OptionKind::Flag,
        help:
            "In JSON and XML, leave out the primary key of objects whose model has natural_key() \
               (dumpdata's; needs --settings or --site-schema).",
    },
    SinkOption {
        name: "all",
        kind: OptionKind::Flag,
        help:
            "In JSON and XML, also write the rows that models' default managers hide (dumpdata's \
               --all; without it they are left out, as dumpdata does; needs --settings or \
               --site-schema).",
    },
];

/// `--natural-foreign` and `--natural-primary`.
pub fn natural_option(options: &SinkOptions) -> Natural {
    Natural {
        foreign: options.flag("natural-foreign"),
        primary: options.flag("natural-primary"),
    }
}

/// `--indent N`.
pub fn indent_option(options: &SinkOptions) -> Result<Option<usize>> {
    Ok(options.number("indent")?.map(|n| n as usize))
}

pub struct DumpdataSink<F> {
    format: F,
    target: Target,
    spool: Option<Spool>,
    view: View,
    storage: Storage,
    /// Per model: its spool file, once its table was read.
    files: Vec<Option<PathBuf>>,
    /// Per model and many-to-many field: owner key → target keys; `None`
    /// when the link table was skipped (`--tolerate`).
    links: Vec<Vec<Option<Links>>>,
    /// The spool file being written.
    writing: Option<(usize, BufWriter<File>)>,
    buf: String,
    natural: Natural,
    /// `--all`: rows hidden by default managers too.
    all: bool,
    /// Per model: what its natural keys read of its rows.
    key_rows: Rows,
    /// For the next `warnings()`.
    warnings: Vec<String>,
}

impl<F: Format> DumpdataSink<F> {
    pub fn new(format: F, options: &SinkOptions) -> Result<Self> {
        let target = Target::new(&options.target, options.overwrite)?;
        Ok(DumpdataSink {
            format,
            target,
            spool: None,
            view: View::default(),
            storage: Storage::default(),
            files: Vec::new(),
            links: Vec::new(),
            writing: None,
            buf: String::with_capacity(4096),
            natural: natural_option(options),
            all: options.flag("all"),
            key_rows: Vec::new(),
            warnings: Vec::new(),
        })
    }

    fn spool_dir(&mut self) -> Result<PathBuf> {
        if let Some(d) = &self.spool {
            return Ok(d.path().to_path_buf());
        }
        let dir = self.target.spool()?;
        let path = dir.path().to_path_buf();
        self.spool = Some(dir);
        Ok(path)
    }

    fn check(&self, table: &str, cols: &[&Col]) -> Result<()> {
        match cols.iter().find(|c| c.index.is_none()) {
            Some(c) => Err(Error::table(table, format!("no column {}", c.name))),
            None => Ok(()),
        }
    }

    fn write_objects(&mut self, i: usize, table: &Table, batch: &Batch) -> Result<()> {
        let model = &self.view.models[i];
        let pk_index = model.pk.first().and_then(|c| c.index);
        if let (Some(kept), Some(p)) = (self.view.keys.kept.get(i), pk_index) {
            if !kept.is_empty() {
                let rows = &mut self.key_rows[i];
                for row in batch.rows() {
                    let values = (kept.iter())
                        .map(|c| c.index.map_or(Value::Null, |k| row[k].clone()))
                        .collect();
                    rows.insert(key_of(&row[p]), values);
                }
            }
        }
        if model.excluded {
            // Read only for natural keys.
            return Ok(());
        }
        let Some((_, out)) = self.writing.as_mut() else {
            return Ok(());
        };
        let mut buf = std::mem::take(&mut self.buf);
        for row in batch.rows() {
            buf.clear();
            // Room for the whole object at once: a big value's object is
            // not grown (and copied) at its end.
            buf.reserve(row.iter().map(Value::text_estimate).sum::<usize>() + 256);
            self.format
                .head(&mut buf, model, row, self.storage)
                .map_err(|(column, message)| Error::Value {
                    table: table.name.clone(),
                    column,
                    pk: table.pk_text(row),
                    message,
                })?;
            // The owner's key finds its many-to-many lists at `finish`,
            // and names the object if a natural key can't be resolved.
            let keyed = !model.m2m.is_empty() || model.fields.iter().any(|f| f.natural.is_some());
            let key = match (pk_index, keyed) {
                (Some(p), true) => key_of(&row[p]),
                _ => String::new(),
            };
            write_record(out, key.as_bytes())
                .and_then(|_| write_record(out, buf.as_bytes()))
                .map_err(|e| Error::io(self.target.path(), e))?;
            // An object of a big value is not kept for the next one.
            if buf.capacity() > KEEP_BYTES {
                buf = String::with_capacity(4096);
            }
        }
        self.buf = buf;
        Ok(())
    }

    /// Assembles the output from the spool, then removes the spool; on
    /// failure the staged output too.
    fn assemble_and_drop_spool(&mut self) -> Result<()> {
        let done = self.assemble();
        self.spool = None;
        if done.is_err() {
            self.target.discard();
        }
        done
    }

    fn assemble(&mut self) -> Result<()> {
        let path = self.target.path();
        let io = |e: std::io::Error| Error::io(&path, e);
        let mut out = self.target.open()?;
        let mut s = String::new();
        self.format.start(&mut s);
        let mut first = true;
        // Without metadata, many-to-many lists by primary key (compared as
        // SQLite does); with it, as the database ordered the read.
        if !self.view.links_ordered {
            for lists in self.links.iter_mut().flatten().flatten() {
                for targets in lists.values_mut() {
                    targets.sort_by(cmp_keys);
                }
            }
        }
        let mut key = Vec::new();
        let mut body = Vec::new();
        let mut resolved = Vec::new();
        for &i in &self.view.order {
            let model = &self.view.models[i];
            let Some(file) = &self.files[i] else {
                continue;
            };
            let natural_fks = model.fields.iter().any(|f| f.natural.is_some());
            let mut r = BufReader::new(File::open(file).map_err(io)?);
            while read_record(&mut r, &mut key).map_err(io)? {
                // The record of a big value is not kept for the next one.
                for b in [&mut body, &mut resolved] {
                    if b.capacity() > KEEP_BYTES {
                        *b = Vec::new();
                    }
                }
                read_record(&mut r, &mut body).map_err(io)?;
                self.format.before_object(&mut s, first);
                first = false;
                let body = match natural_fks {
                    true => {
                        self.resolve_placeholders(i, &key, &body, &mut resolved)?;
                        &resolved
                    }
                    false => &body,
                };
                out.write_all(s.as_bytes())
                    .and_then(|_| out.write_all(body))
                    .map_err(io)?;
                s.clear();
                let mut entries = !model.fields.is_empty();
                let owner = String::from_utf8_lossy(&key);
                for (j, field) in model.m2m.iter().enumerate() {
                    // A skipped link table leaves the field out.
                    let Some(Some(lists)) = self.links[i].get(j) else {
                        continue;
                    };
                    let targets = lists.get(owner.as_ref()).map_or(&[][..], Vec::as_slice);
                    let keys = match (field.natural, field.target_model) {
                        (true, Some(t)) => Some(
                            (targets.iter())
                                .map(|v| {
                                    self.view.keys.resolve(
                                        &self.key_rows,
                                        t,
                                        &key_of(v),
                                        self.storage,
                                    )
                                })
                                .collect::<Result<Vec<_>, String>>()
                                .map_err(|message| Error::Value {
                                    table: field.link_table.clone(),
                                    column: field.target.name.clone(),
                                    pk: format!(
                                        "{} of {}",
                                        owner.get(1..).unwrap_or(""),
                                        model.label
                                    ),
                                    message,
                                })?,
                        ),
                        _ => None,
                    };
                    self.format
                        .m2m(
                            &mut s,
                            field,
                            !entries,
                            targets,
                            keys.as_deref(),
                            self.storage,
                        )
                        .map_err(|message| Error::Value {
                            table: field.link_table.clone(),
                            column: field.target.name.clone(),
                            pk: format!("{} of {}", owner.get(1..).unwrap_or(""), model.label),
                            message,
                        })?;
                    entries = true;
                }
                self.format.tail(&mut s, entries);
                out.write_all(s.as_bytes()).map_err(io)?;
                s.clear();
            }
        }
        self.format.end(&mut s);
        out.write_all(s.as_bytes()).map_err(io)?;
        if let Some(digest) = out.finish().map_err(io)? {
            self.target.record(digest);
        }
        Ok(())
    }
}

impl<F: Format> DumpdataSink<F> {
    /// `body` of an object of model `i` (whose key is `owner`) with each
    /// natural-key placeholder replaced by the key, into `out`.
    fn resolve_placeholders(
        &self,
        i: usize,
        owner: &[u8],
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        out.clear();
        let mut rest = body;
        let mut s = String::new();
        while let Some(start) = rest.iter().position(|&b| b == 0) {
            out.extend_from_slice(&rest[..start]);
            let after = &rest[start + 1..];
            let end = after.iter().position(|&b| b == 0).unwrap_or(after.len());
            let model = &self.view.models[i];
            let failed = |column: String, message: String| Error::Value {
                table: model.table.clone(),
                column,
                pk: String::from_utf8_lossy(owner.get(1..).unwrap_or(b"")).into_owned(),
                message,
            };
            let field = parse_placeholder(&after[..end])
                .and_then(|(f, key)| model.fields.get(f).map(|f| (f, key)));
            let Some((column, Some(target), key)) =
                field.map(|(f, key)| (f.col.name.clone(), f.natural, key))
            else {
                return Err(failed(
                    String::new(),
                    "a natural key placeholder is damaged".into(),
                ));
            };
            let parts = (self.view.keys)
                .resolve(&self.key_rows, target, &key, self.storage)
                .map_err(|e| failed(column.clone(), e))?;
            s.clear();
            self.format
                .natural_fk(&mut s, &parts)
                .map_err(|e| failed(column, e))?;
            out.extend_from_slice(s.as_bytes());
            rest = after.get(end + 1..).unwrap_or(&[]);
        }
        out.extend_from_slice(rest);
        Ok(())
    }
}

fn write_record(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

/// Reads one record into `buf`; false at the end of the file.
fn read_record(r: &mut impl Read, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut len = [0u8; 8];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let n = usize::try_from(u64::from_le_bytes(len))
        .map_err(|_| std::io::Error::other("spool record too long"))?;
    buf.clear();
    buf.resize(n, 0);
    r.read_exact(buf)?;
    Ok(true)
}

impl<F: Format> Sink for DumpdataSink<F> {
    fn begin(&mut self, info: &DumpInfo, site: &Site) -> Result<()> {
        self.view = View::with_natural(site, self.natural).map_err(Error::Usage)?;
        match &site.meta {
            Some(meta) => {
                dump2py_django::serializer::reads::add_reads(&mut self.view, meta, self.all)
                    .map_err(Error::Usage)?;
                self.warnings = std::mem::take(&mut self.view.warnings);
            }
            None if self.all => {
                return Err(Error::Usage(
                    "--all writes the rows that default managers hide: without the site's \
                     metadata (--settings or --site-schema) no manager hides any, so it \
                     would do nothing"
                        .into(),
                ))
            }
            None => {}
        }
        self.key_rows = vec![HashMap::new(); self.view.models.len()];
        self.storage = info.storage;
        self.files = vec![None; self.view.models.len()];
        self.links = self
            .view
            .models
            .iter()
            .map(|m| vec![Some(HashMap::new()); m.m2m.len()])
            .collect();
        Ok(())
    }

    fn wants(&self, model: &Model, _skipped: bool) -> bool {
        self.view.roles.contains_key(&model.table.name)
    }

    fn read_order(&self, model: &Model) -> Option<dump2py_model::order::ReadOrder> {
        self.view.reads.get(&model.table.name).cloned()
    }

    fn warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn table_start(&mut self, model: &Model, _expected_rows: u64) -> Result<()> {
        let table = model.table.name.as_str();
        match self.view.roles.get(table).copied() {
            Some(Role::Objects(i)) if self.view.models[i].excluded => {}
            Some(Role::Objects(i)) => {
                let m = &self.view.models[i];
                let cols: Vec<&Col> = m.pk.iter().chain(m.fields.iter().map(|f| &f.col)).collect();
                self.check(table, &cols)?;
                let path = self.spool_dir()?.join(format!("{i}.spool"));
                let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
                self.writing = Some((i, BufWriter::with_capacity(1 << 16, file)));
                self.files[i] = Some(path);
            }
            Some(Role::Links { model: i, m2m: j }) => {
                let l = &self.view.models[i].m2m[j];
                self.check(table, &[&l.owner, &l.target])?;
            }
            None => {}
        }
        Ok(())
    }

    fn rows(&mut self, model: &Model, batch: &Batch) -> Result<()> {
        let table = model.table.name.as_str();
        match self.view.roles.get(table).copied() {
            Some(Role::Objects(i)) => self.write_objects(i, &model.table, batch),
            Some(Role::Links { model: i, m2m: j }) => {
                let l = &self.view.models[i].m2m[j];
                let (Some(o), Some(t)) = (l.owner.index, l.target.index) else {
                    return Ok(());
                };
                if let Some(Some(lists)) = self.links[i].get_mut(j) {
                    for row in batch.rows() {
                        lists
                            .entry(key_of(&row[o]))
                            .or_default()
                            .push(row[t].clone());
                    }
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn table_end(&mut self, model: &Model, rows: u64) -> Result<()> {
        if let Some((_, mut w)) = self.writing.take() {
            w.flush().map_err(|e| Error::io(self.target.path(), e))?;
        }
        let written = match self.view.roles.get(&model.table.name) {
            Some(Role::Objects(i)) => !self.view.models[*i].excluded,
            Some(Role::Links { .. }) => true,
            None => false,
        };
        // A table read through a default manager's filter holds fewer rows
        // than the database: not listed, so --verify doesn't see it change.
        let filtered =
            (self.view.reads.get(&model.table.name)).is_some_and(|o| !o.filters.is_empty());
        if written && !filtered {
            self.target.count_rows(&model.table.name, rows);
        }
        Ok(())
    }

    fn table_skipped(&mut self, model: &Model, _reason: &str) -> Result<()> {
        match self.view.roles.get(&model.table.name).copied() {
            Some(Role::Objects(i)) => {
                self.writing = None;
                if let Some(p) = self.files[i].take() {
                    let _ = std::fs::remove_file(p);
                }
            }
            Some(Role::Links { model: i, m2m: j }) => {
                if let Some(slot) = self.links[i].get_mut(j) {
                    *slot = None;
                }
            }
            None => {}
        }
        Ok(())
    }

    fn finish(&mut self, _report: &Report) -> Result<()> {
        self.writing = None;
        // Standard output can't be staged: written at `publish`, once
        // every other output is complete.
        if matches!(self.target, Target::Stdout(_)) {
            return Ok(());
        }
        self.assemble_and_drop_spool()
    }

    fn publish(&mut self, tx: &mut Transaction) -> Result<()> {
        if matches!(self.target, Target::Stdout(_)) {
            self.assemble_and_drop_spool()?;
        }
        self.target.publish(tx)
    }

    fn abort(&mut self) {
        self.writing = None;
        self.spool = None;
        self.target.discard();
    }
}
