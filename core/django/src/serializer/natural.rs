//! `--natural-foreign` and `--natural-primary`: dumpdata's natural keys.
//!
//! A model's `natural_key()` is Python code; the site metadata says which
//! fields it returns, as paths through foreign keys (`sitemeta.py` finds
//! them by calling it on a probe). The sink keeps, of each model that a
//! natural key reads, the columns it reads (a few values per row, for the
//! usually small tables of users, content types, groups), and writes each
//! object with a placeholder where a natural foreign key goes: the
//! referenced row may come later in the read. At `finish` each placeholder
//! becomes the key. No placeholder can be mistaken for data: the text
//! written of any value never holds a NUL byte (JSON escapes it, XML
//! refuses it).

use std::collections::HashMap;

use crate::meta::{ModelMeta, SiteMeta};
use crate::Site;
use dump2py_model::schema::Table;
use dump2py_model::Value;

use crate::pyvalue::{py, Kind, Py};
use dump2py_model::schema::Storage;

use super::keys::key_of;
use super::{lower_label, Col, View};

/// Which natural keys a JSON or XML output uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Natural {
    pub foreign: bool,
    pub primary: bool,
}

impl Natural {
    pub fn any(self) -> bool {
        self.foreign || self.primary
    }
}

/// One value of a natural key, read from the kept columns of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// The kept column `slot` of the model's row.
    Value { slot: usize, kind: Kind },
    /// Through the foreign key in kept column `slot` to a row of `target`.
    Via {
        slot: usize,
        target: usize,
        next: Box<Part>,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keys {
    /// Per model of the view: the columns kept of its rows.
    pub kept: Vec<Vec<Col>>,
    /// Per model: its natural key, when it has one (`natural_key()`):
    /// what it reads, or why it can't be followed without the site's
    /// Python. Django calls `natural_key()` only for a key it writes: so
    /// is this an error only when such a key must be written.
    pub parts: Vec<Option<Result<Vec<Part>, String>>>,
    /// Per model: its rows were read through its default manager's filter
    /// (a row it hides has no key here).
    pub filtered: Vec<bool>,
}

/// Per model: the kept values of each row, by its primary key.
pub type Rows = Vec<HashMap<String, Vec<Value>>>;

impl Keys {
    /// The natural keys of `meta`'s models among `view`'s; a key that
    /// can't be followed is kept as its error, for when it is written.
    pub fn new(view: &View, site: &Site, meta: &SiteMeta) -> Result<Keys, String> {
        if !meta.natural_keys {
            return Err(
                "the site metadata has no natural keys (saved by an older dump2py): \
                        export it again with --export-site-schema"
                    .into(),
            );
        }
        let by_label: HashMap<String, &ModelMeta> =
            meta.models.iter().map(|m| (m.label(), m)).collect();
        let index: HashMap<&str, usize> = (view.models.iter().enumerate())
            .map(|(i, m)| (m.label.as_str(), i))
            .collect();
        let mut keys = Keys {
            kept: vec![Vec::new(); view.models.len()],
            parts: vec![None; view.models.len()],
            filtered: vec![false; view.models.len()],
        };
        let tables: HashMap<&str, &Table> = (site.models.iter())
            .chain(&site.skipped)
            .chain(&site.excluded)
            .map(|m| (m.table.name.as_str(), &m.table))
            .collect();
        let b = Builder {
            view,
            by_label: &by_label,
            index: &index,
            tables: &tables,
            use_tz: meta.use_tz,
        };
        for i in 0..view.models.len() {
            let Some(mm) = b.meta_of(i) else { continue };
            let Some(nk) = &mm.natural_key else { continue };
            let paths = match (&nk.fields, &nk.error) {
                (Some(p), None) => Ok(p),
                (_, e) => {
                    let why = e.clone().unwrap_or_else(|| "nothing reported".into());
                    Err(format!("model {}: {why}", mm.label()))
                }
            };
            // What a key reads is kept only once the whole key can be read.
            let mut trial = keys.clone();
            let parts = paths.and_then(|paths| {
                (paths.iter())
                    .map(|path| {
                        b.part(&mut trial, i, path).map_err(|e| {
                            format!("model {}: natural key {}: {e}", mm.label(), path.join("."))
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()
            });
            if parts.is_ok() {
                keys.kept = trial.kept;
            }
            keys.parts[i] = Some(parts);
        }
        Ok(keys)
    }

    /// The natural key of the row of `model` whose primary key is `key`.
    pub fn resolve<'r>(
        &self,
        rows: &'r Rows,
        model: usize,
        key: &str,
        storage: Storage,
    ) -> Result<Vec<Py<'r>>, String> {
        let parts = match self.parts.get(model) {
            Some(Some(Ok(parts))) => parts,
            Some(Some(Err(why))) => return Err(why.clone()),
            _ => return Err("the model has no natural key".into()),
        };
        let row = find(rows, model, key, &self.filtered)?;
        parts
            .iter()
            .map(|p| eval(rows, p, row, storage, &self.filtered))
            .collect()
    }
}

fn find<'r>(
    rows: &'r Rows,
    model: usize,
    key: &str,
    filtered: &[bool],
) -> Result<&'r Vec<Value>, String> {
    rows.get(model).and_then(|r| r.get(key)).ok_or_else(|| {
        let hidden = match filtered.get(model) {
            Some(true) => {
                " among the rows its default manager shows (--all reads every row, as \
                 Django reads them for natural keys)"
            }
            _ => "",
        };
        format!(
            "no object with primary key {}{hidden} for its natural key",
            key.get(1..).unwrap_or("")
        )
    })
}

fn eval<'r>(
    rows: &'r Rows,
    part: &Part,
    row: &'r [Value],
    storage: Storage,
    filtered: &[bool],
) -> Result<Py<'r>, String> {
    match part {
        Part::Value { slot, kind } => py(*kind, &row[*slot], storage),
        Part::Via { slot, target, next } => {
            let fk = &row[*slot];
            if matches!(fk, Value::Null) {
                return Err("its natural key goes through a foreign key that is null".into());
            }
            let trow = find(rows, *target, &key_of(fk), filtered)?;
            eval(rows, next, trow, storage, filtered)
        }
    }
}

struct Builder<'a> {
    view: &'a View,
    by_label: &'a HashMap<String, &'a ModelMeta>,
    index: &'a HashMap<&'a str, usize>,
    tables: &'a HashMap<&'a str, &'a Table>,
    use_tz: bool,
}

impl Builder<'_> {
    fn meta_of(&self, i: usize) -> Option<&ModelMeta> {
        let label = &self.view.models[i].label;
        (self.by_label.values())
            .find(|m| lower_label(&m.label()) == *label)
            .copied()
    }

    fn model_of(&self, label: &str) -> Result<usize, String> {
        self.index
            .get(lower_label(label).as_str())
            .copied()
            .ok_or_else(|| format!("it reads model {label}, which is not dumped"))
    }

    /// The slot of `column` among model `i`'s kept columns.
    fn keep(&self, keys: &mut Keys, i: usize, column: &str) -> Result<usize, String> {
        let kept = &mut keys.kept[i];
        if let Some(s) = kept.iter().position(|c| c.name == column) {
            return Ok(s);
        }
        let name = self.view.models[i].table.as_str();
        let index = (self.tables.get(name)).and_then(|t| t.column_index(column));
        if index.is_none() {
            return Err(format!("table {name} has no column {column}"));
        }
        kept.push(Col {
            name: column.to_string(),
            index,
        });
        Ok(kept.len() - 1)
    }

    /// The part for `path` of model `i`'s rows, keeping what it reads.
    fn part(&self, keys: &mut Keys, i: usize, path: &[String]) -> Result<Part, String> {
        let Some(m) = self.meta_of(i) else {
            return Err("no metadata".into());
        };
        let Some(name) = path.first() else {
            return Err("an empty path".into());
        };
        let field = m
            .fields
            .iter()
            .find(|f| &f.name == name && f.column.is_some());
        let Some(f) = field else {
            // A parent's field: through the MTI link to the parent's row.
            let Some(parent) = &m.parent else {
                return Err(format!("no field {name}"));
            };
            let target = self.model_of(&parent.model)?;
            let slot = self.keep(keys, i, &parent.link_column)?;
            let next = self.part(keys, target, path)?;
            return Ok(Part::Via {
                slot,
                target,
                next: Box::new(next),
            });
        };
        let column = f.column.clone().unwrap_or_default();
        let slot = self.keep(keys, i, &column)?;
        if path.len() == 1 {
            let kind = crate::fields::field_kind(f, self.use_tz, self.by_label);
            return Ok(Part::Value { slot, kind });
        }
        let Some(to) = &f.related_model else {
            return Err(format!("{name} is not a relation"));
        };
        let target = self.model_of(to)?;
        // The row is found by its primary key: a key to another column can't be followed.
        if self.view.models[target].pk.len() != 1 {
            return Err(format!("{to} has no single primary key"));
        }
        let next = self.part(keys, target, &path[1..])?;
        Ok(Part::Via {
            slot,
            target,
            next: Box::new(next),
        })
    }
}

/// dumpdata's order with natural foreign keys (Django's
/// `sort_dependencies` with `allow_cycles`): the models of every app not
/// excluded, each after the models with natural keys it depends on.
pub fn sort_dependencies(meta: &SiteMeta, excluded_apps: &[String]) -> Vec<String> {
    let input: Vec<&ModelMeta> = (meta.models.iter())
        .filter(|m| !m.auto_created && !excluded_apps.contains(&m.app_label))
        .collect();
    let models: Vec<String> = input.iter().map(|m| m.label()).collect();
    // Popped from the end: the first model first.
    let mut pending: Vec<(String, &[String])> = input
        .iter()
        .rev()
        .map(|m| (m.label(), m.natural_deps.as_slice()))
        .collect();
    let mut out: Vec<String> = Vec::new();
    while !pending.is_empty() {
        let mut skipped = Vec::new();
        let mut changed = false;
        while let Some((model, deps)) = pending.pop() {
            if deps.iter().all(|d| !models.contains(d) || out.contains(d)) {
                out.push(model);
                changed = true;
            } else {
                skipped.push((model, deps));
            }
        }
        if !changed {
            if let Some((model, _)) = skipped.pop() {
                out.push(model);
            }
        }
        pending = skipped;
    }
    out
}
