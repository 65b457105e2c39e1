//! What `dumpdata` writes of a site: its models in Django's order, each
//! with its primary key, its own fields and its many-to-many fields.
//!
//! With site metadata this is Django's: the models of
//! `app_config.get_models()` in app order (no proxies, no unmanaged
//! models, no auto-created link models), the fields of `local_fields`
//! less the primary key and those with `serialize=False`, then
//! `local_many_to_many` whose `through` is auto-created. Without metadata it is inferred from the database (see
//! [`View::inferred`]).

pub mod keys;
pub mod natural;
pub mod reads;

use std::collections::HashMap;

use crate::meta::{FieldMeta, ModelMeta, SiteMeta};
use crate::{Model, Site, DJANGO_TABLES};
use dump2py_model::schema::Table;

use crate::fields::{column_kind, column_type, field_kind, pk_column_kind};
use crate::pyvalue::Kind;
use natural::{Keys, Natural};

/// A column of the table as the sink receives it; `index` is `None` when
/// the table lacks it (then the table can't be written).
#[derive(Debug, Clone, PartialEq)]
pub struct Col {
    pub name: String,
    pub index: Option<usize>,
}

impl Col {
    fn of(table: &Table, name: &str) -> Col {
        Col {
            name: name.to_string(),
            index: table.column_index(name),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DdField {
    /// The field name: `country` for the column `country_id`.
    pub name: String,
    pub col: Col,
    pub kind: Kind,
    /// Django's internal type, XML's `type` attribute.
    pub internal_type: String,
    /// A foreign key: XML's `rel` (`ManyToOneRel`, `OneToOneRel`) and `to`.
    pub rel: Option<(&'static str, String)>,
    /// With `--natural-foreign`: the target among `View::models`, when
    /// this key is written as the target's natural key.
    pub natural: Option<usize>,
}

/// A many-to-many field whose link table Django created.
#[derive(Debug, Clone, PartialEq)]
pub struct DdM2m {
    pub name: String,
    pub link_table: String,
    /// The link table's columns to the owner and to the target.
    pub owner: Col,
    pub target: Col,
    /// The target model, `app.model`.
    pub to: String,
    /// How the target's primary key reads.
    pub target_kind: Kind,
    /// The target among `View::models`.
    pub target_model: Option<usize>,
    /// Written as the targets' natural keys (`--natural-foreign`).
    pub natural: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DdModel {
    pub table: String,
    /// `app_label.modelname`, lowercase model name (`str(model._meta)`).
    pub label: String,
    /// The primary key's columns (one, but for composite keys); none for a
    /// table without a primary key.
    pub pk: Vec<Col>,
    pub pk_kind: Kind,
    pub fields: Vec<DdField>,
    pub m2m: Vec<DdM2m>,
    /// Left out with `-e/--exclude`: not written, read only for the
    /// natural keys that read it.
    pub excluded: bool,
    /// No `pk` written (`--natural-primary`, a model with a natural key).
    pub omit_pk: bool,
}

/// What a table read by the pipeline is to the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Objects of `models[i]`.
    Objects(usize),
    /// The link table of `models[model].m2m[m2m]`.
    Links { model: usize, m2m: usize },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// In the order dumpdata writes them.
    pub models: Vec<DdModel>,
    /// By table name.
    pub roles: HashMap<String, Role>,
    /// The order of `models` in the output: theirs, but with
    /// `--natural-foreign` (dumpdata's `sort_dependencies`).
    pub order: Vec<usize>,
    pub natural: Natural,
    /// What the natural keys read (with `natural`).
    pub keys: Keys,
    /// With metadata: by table, the read dumpdata's queryset makes
    /// ([`reads`]).
    pub reads: HashMap<String, dump2py_model::order::ReadOrder>,
    /// Many-to-many lists come in their order (read so); else sorted by key.
    pub links_ordered: bool,
    /// Orderings that can't be followed, once each.
    pub warnings: Vec<String>,
}

impl View {
    pub fn new(site: &Site) -> View {
        let mut view = match &site.meta {
            Some(meta) => View::from_meta(site, meta, false),
            None => View::inferred(site),
        };
        view.order = (0..view.models.len()).collect();
        view
    }

    /// The view with natural keys, which come from the site's metadata.
    pub fn with_natural(site: &Site, natural: Natural) -> Result<View, String> {
        if !natural.any() {
            return Ok(View::new(site));
        }
        let Some(meta) = &site.meta else {
            return Err(
                "natural keys (--natural-foreign, --natural-primary) come from the \
                        site's natural_key() methods: they need its metadata (--settings or \
                        --site-schema)"
                    .into(),
            );
        };
        let mut view = View::from_meta(site, meta, natural.primary);
        view.natural = natural;
        view.keys = Keys::new(&view, site, meta)?;
        let has_key: Vec<bool> = view.keys.parts.iter().map(Option::is_some).collect();
        let index: HashMap<String, usize> = (view.models.iter().enumerate())
            .map(|(i, m)| (m.label.clone(), i))
            .collect();
        for (i, m) in view.models.iter_mut().enumerate() {
            m.omit_pk = natural.primary && has_key[i];
            if !natural.foreign {
                continue;
            }
            for f in &mut m.fields {
                f.natural = (f.rel.as_ref())
                    .and_then(|(_, to)| index.get(to).copied())
                    .filter(|&t| has_key[t]);
            }
            for l in &mut m.m2m {
                l.natural = l.target_model.is_some_and(|t| has_key[t]);
            }
        }
        view.order = match natural.foreign {
            true => natural::sort_dependencies(meta, &site.excluded_apps)
                .iter()
                .filter_map(|label| index.get(&lower_label(label)).copied())
                .filter(|&i| !view.models[i].excluded)
                .collect(),
            false => (0..view.models.len()).collect(),
        };
        view.roles.clear();
        Ok(view.add_roles())
    }

    fn add_roles(mut self) -> View {
        for (i, m) in self.models.iter().enumerate() {
            let read_for_keys = self.keys.kept.get(i).is_some_and(|k| !k.is_empty());
            if m.excluded && !read_for_keys {
                continue;
            }
            self.roles.insert(m.table.clone(), Role::Objects(i));
            for (j, l) in m.m2m.iter().enumerate() {
                self.roles
                    .insert(l.link_table.clone(), Role::Links { model: i, m2m: j });
            }
        }
        self
    }

    /// Django's view, from the site's metadata.
    /// With `parent_link`, an MTI child's link to its parent is written
    /// as a field, as dumpdata does with `--natural-primary`.
    pub fn from_meta(site: &Site, meta: &SiteMeta, parent_link: bool) -> View {
        let tables: HashMap<&str, &Model> = site
            .models
            .iter()
            .chain(&site.skipped)
            .chain(&site.excluded)
            .map(|m| (m.table.name.as_str(), m))
            .collect();
        let by_label: HashMap<String, &ModelMeta> =
            meta.models.iter().map(|m| (m.label(), m)).collect();
        let kind = |f: &FieldMeta| field_kind(f, meta.use_tz, &by_label);
        let mut models = Vec::new();
        for m in &meta.models {
            if m.proxy || !m.managed || m.auto_created {
                continue;
            }
            // Every concrete model is in the site; one that isn't has no table.
            let Some(model) = tables.get(m.db_table.as_str()) else {
                continue;
            };
            let table = &model.table;
            let excluded = site.excluded.iter().any(|e| e.table.name == table.name);
            let pk: Vec<&FieldMeta> = m.fields.iter().filter(|f| f.primary_key).collect();
            let pk_kind = pk.first().map_or(Kind::Plain, |f| kind(f));
            let mut pk: Vec<Col> = pk
                .iter()
                .filter_map(|f| f.column.as_deref())
                .map(|c| Col::of(table, c))
                .collect();
            // A CompositePrimaryKey is no concrete field: its parts are the
            // table's key, in the field's order (Django makes the key so).
            if pk.is_empty() && table.primary_key.len() > 1 {
                pk = (table.primary_key.iter())
                    .map(|c| Col::of(table, c))
                    .collect();
            }
            let mut fields = Vec::new();
            let mut m2m = Vec::new();
            let is_parent_link = |f: &FieldMeta| {
                f.primary_key
                    && f.related_model.is_some()
                    && m.parent.as_ref().map(|p| Some(&p.link_column)) == Some(f.column.as_ref())
            };
            let serialized = |f: &&FieldMeta| {
                (!f.primary_key && f.serialize) || (parent_link && is_parent_link(f))
            };
            for f in m.fields.iter().filter(serialized) {
                match &f.column {
                    Some(column) => fields.push(DdField {
                        name: f.name.clone(),
                        col: Col::of(table, column),
                        kind: kind(f),
                        internal_type: f.internal_type.clone(),
                        rel: f.related_model.as_deref().map(|to| {
                            let rel = if f.internal_type == "OneToOneField" {
                                "OneToOneRel"
                            } else {
                                "ManyToOneRel"
                            };
                            (rel, lower_label(to))
                        }),
                        natural: None,
                    }),
                    None if excluded => {}
                    None => {
                        if let Some(l) = m2m_field(m, f, &by_label, &tables, &kind) {
                            m2m.push(l);
                        }
                    }
                }
            }
            models.push(DdModel {
                table: table.name.clone(),
                label: lower_label(&m.label()),
                pk,
                pk_kind,
                fields,
                m2m,
                excluded,
                omit_pk: false,
            });
        }
        View {
            models,
            ..View::default()
        }
        .add_targets()
        .add_roles()
    }

    fn add_targets(mut self) -> View {
        let index: HashMap<String, usize> = self
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| (m.label.clone(), i))
            .collect();
        for m in &mut self.models {
            for l in &mut m.m2m {
                l.target_model = index.get(&l.to).copied();
            }
        }
        self
    }

    /// Without metadata: every model of the site but auto-created link
    /// tables (their rows become many-to-many fields of the owner), the
    /// models Lino skips included. Models in the order of their content
    /// type ids (Django creates content types in app order, then model
    /// order: on a database built by `migrate` this is dumpdata's order),
    /// models without a content type after them by label. Fields are the
    /// table's columns but the primary key, in column order.
    pub fn inferred(site: &Site) -> View {
        let all: Vec<&Model> = site.models.iter().chain(&site.skipped).collect();
        let ct_id: HashMap<(&str, &str), i64> = site
            .content_types
            .values()
            .map(|ct| ((ct.app_label.as_str(), ct.model.as_str()), ct.id))
            .collect();
        let label_of = |table: &str| -> String {
            if let Some((_, label)) = DJANGO_TABLES.iter().find(|(t, _)| *t == table) {
                return label.to_string();
            }
            match all.iter().find(|m| m.table.name == table) {
                Some(m) => format!("{}.{}", m.app_label, m.model_name),
                None => match table.split_once('_') {
                    Some((a, m)) if !a.is_empty() && !m.is_empty() => format!("{a}.{m}"),
                    _ => format!("{table}.{table}"),
                },
            }
        };
        let mut objects: Vec<&Model> = all.iter().copied().filter(|m| !m.auto_created).collect();
        objects.sort_by_cached_key(|m| {
            let label = label_of(&m.table.name);
            let (app, model) = label.split_once('.').unwrap_or((&label, ""));
            let id = ct_id.get(&(app, model)).copied().unwrap_or(i64::MAX);
            (id, label.clone())
        });
        let mut models: Vec<DdModel> = objects
            .iter()
            .map(|m| {
                let t = &m.table;
                let fields = t
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !t.primary_key.contains(&c.name))
                    .map(|(i, c)| {
                        // The site's field name (`country` for `country_id`),
                        // each babel column its own field.
                        let name = m
                            .fields
                            .iter()
                            .find(|f| f.index == i)
                            .map_or_else(|| c.name.clone(), |f| f.name.clone());
                        let rel = t.foreign_key(&c.name).map(|fk| {
                            let one = t.unique.iter().any(|u| u == std::slice::from_ref(&c.name));
                            let rel = if one { "OneToOneRel" } else { "ManyToOneRel" };
                            (rel, label_of(&fk.target_table))
                        });
                        DdField {
                            name,
                            col: Col {
                                name: c.name.clone(),
                                index: Some(i),
                            },
                            kind: column_kind(&c.kind),
                            internal_type: column_type(c, rel.is_some()),
                            rel,
                            natural: None,
                        }
                    })
                    .collect();
                DdModel {
                    table: t.name.clone(),
                    label: label_of(&t.name),
                    pk: t.primary_key.iter().map(|c| Col::of(t, c)).collect(),
                    pk_kind: pk_column_kind(t),
                    fields,
                    m2m: Vec::new(),
                    excluded: false,
                    omit_pk: false,
                }
            })
            .collect();
        // A link table `<owner table>_<field>`: its first foreign key (in
        // column order) is the owner's, the other the target's.
        for link in all.iter().filter(|m| m.auto_created) {
            let t = &link.table;
            let fks: Vec<_> = t
                .columns
                .iter()
                .filter_map(|c| t.foreign_key(&c.name))
                .collect();
            let [owner, target] = fks.as_slice() else {
                continue;
            };
            let Some(field) = t
                .name
                .strip_prefix(owner.target_table.as_str())
                .and_then(|r| r.strip_prefix('_'))
            else {
                continue;
            };
            let Some(o) = models.iter_mut().find(|m| m.table == owner.target_table) else {
                continue;
            };
            let target_kind = all
                .iter()
                .find(|m| m.table.name == target.target_table)
                .map_or(Kind::Plain, |m| pk_column_kind(&m.table));
            o.m2m.push(DdM2m {
                name: field.to_string(),
                link_table: t.name.clone(),
                owner: Col::of(t, &owner.column),
                target: Col::of(t, &target.column),
                to: label_of(&target.target_table),
                target_kind,
                target_model: None,
                natural: false,
            });
        }
        View {
            models,
            ..View::default()
        }
        .add_targets()
        .add_roles()
    }
}

/// `things.Tag` → `things.tag`.
pub fn lower_label(label: &str) -> String {
    match label.split_once('.') {
        Some((app, model)) => format!("{app}.{}", model.to_lowercase()),
        None => label.to_lowercase(),
    }
}

fn m2m_field(
    owner: &ModelMeta,
    f: &FieldMeta,
    by_label: &HashMap<String, &ModelMeta>,
    tables: &HashMap<&str, &Model>,
    kind: &dyn Fn(&FieldMeta) -> Kind,
) -> Option<DdM2m> {
    let through = by_label.get(f.through.as_deref()?)?;
    // An explicit `through` model is an ordinary model of its own.
    if !through.auto_created {
        return None;
    }
    let table = &tables.get(through.db_table.as_str())?.table;
    let links: Vec<&FieldMeta> = through
        .fields
        .iter()
        .filter(|l| !l.primary_key && l.related_model.is_some() && l.column.is_some())
        .collect();
    let [a, b] = links.as_slice() else {
        return None;
    };
    // Django's link model has the owner's key first (`from_…` when both
    // point to the same model).
    let (o, t) = if b.related_model.as_deref() == Some(owner.label().as_str())
        && a.related_model.as_deref() != Some(owner.label().as_str())
    {
        (b, a)
    } else {
        (a, b)
    };
    let target = f.related_model.as_deref()?;
    Some(DdM2m {
        name: f.name.clone(),
        link_table: table.name.clone(),
        owner: Col::of(table, o.column.as_deref()?),
        target: Col::of(table, t.column.as_deref()?),
        to: lower_label(target),
        target_kind: kind(t),
        target_model: None,
        natural: false,
    })
}
