//! The Django view of a schema: which tables are models, their labels and
//! fields, MTI parents, many-to-many link tables, and the dump order.
//!
//! Without site metadata everything here is inferred from the database by
//! the rules in the README ("Without site metadata").

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use dump2py_model::schema::{Column, ColumnKind, Schema, Table};

pub mod exclude;
pub mod fields;
mod from_meta;
pub mod languages;
pub mod meta;
pub mod pyvalue;
pub mod read;
pub mod serializer;

pub use meta::SiteMeta;

/// Tables that are never dumped: not models, or models Lino skips.
const NOT_MODELS: &[&str] = &["django_migrations", "sqlite_sequence", "sqlite_stat1"];
const SKIPPED_MODELS: &[&str] = &["django_content_type", "django_session", "checkdata_message"];
/// The models Lino's dump2py skips, by label.
const SKIPPED_LABELS: &[&str] = &[
    "contenttypes.ContentType",
    "sessions.Session",
    "checkdata.Message",
];
pub const CONTENT_TYPE_TABLE: &str = "django_content_type";

/// Django's own models whose table is not `<app_label>_<model>`: without
/// metadata their label can't be read off the table name.
pub const DJANGO_TABLES: &[(&str, &str)] = &[
    ("django_content_type", "contenttypes.contenttype"),
    ("django_session", "sessions.session"),
    ("django_admin_log", "admin.logentry"),
    ("django_site", "sites.site"),
    ("django_redirect", "redirects.redirect"),
    ("django_flatpage", "flatpages.flatpage"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    pub id: i64,
    pub app_label: String,
    pub model: String,
    /// The model's global in restore.py (`contacts_Partner`), when site
    /// metadata knows the model.
    pub global: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ViewOptions {
    /// The site's languages, first is the default; enables babel folding.
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Django field name: `country` for the column `country_id`.
    pub name: String,
    /// Django's attname, the parameter name in restore.py: `country_id`.
    pub attname: String,
    /// The column in the database (the attname unless `db_column` says otherwise).
    pub column: String,
    /// Index of the column in the table's rows.
    pub index: usize,
    pub kind: ColumnKind,
    /// Target table of a foreign key.
    pub fk_table: Option<String>,
    /// A babel field: its values are written as one list.
    pub is_babel: bool,
    /// Column indexes of the other languages' values of a babel field,
    /// in site-language order (the first language is `index`).
    pub babel: Vec<usize>,
    /// Django's internal type (`DecimalField`, …), from site metadata.
    pub internal_type: Option<String>,
    /// A Lino choice list as `app_label.ClassName`, from site metadata.
    pub choicelist: Option<String>,
    pub decimal_places: Option<u32>,
    /// What Django does to its stored values on reading (from site
    /// metadata; nothing without it). The pipeline applies it.
    pub reading: crate::read::Reading,
}

impl Field {
    /// Its field class: from the site's metadata, else guessed from the
    /// column's type.
    pub fn class(&self) -> fields::FieldClass {
        match &self.internal_type {
            Some(t) => fields::FieldClass::of(t),
            None => fields::FieldClass::inferred(&self.kind),
        }
    }

    pub fn is_content_type(&self) -> bool {
        self.fk_table.as_deref() == Some(CONTENT_TYPE_TABLE)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MtiParent {
    pub table: String,
    /// The child's primary-key column that links to the parent.
    pub link_column: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub table: Table,
    pub app_label: String,
    /// Lowercase model name, as in `django_content_type.model`.
    pub model_name: String,
    /// CamelCase `Partner`, when site metadata is given.
    pub object_name: Option<String>,
    /// Tables this model's foreign keys point to (its own fields only).
    pub depends_on: Vec<String>,
    /// Why the model can't be dumped (its table or a column is missing).
    pub problem: Option<String>,
    /// The fields in column order, babel variants folded into their master.
    pub fields: Vec<Field>,
    pub mti_parent: Option<MtiParent>,
    /// An auto-created many-to-many link table.
    pub auto_created: bool,
}

impl Model {
    /// `app_label.ObjectName` (or `app_label.model_name` without
    /// metadata), the label the dump order sorts by.
    pub fn label(&self) -> String {
        format!(
            "{}.{}",
            self.app_label,
            self.object_name.as_ref().unwrap_or(&self.model_name)
        )
    }

    /// The global that Lino's restore.py binds: `contacts_Partner`.
    pub fn global_name(&self) -> Option<String> {
        self.object_name
            .as_ref()
            .map(|o| format!("{}_{}", self.app_label, o))
    }

    pub fn pk_indexes(&self) -> Vec<usize> {
        self.table
            .primary_key
            .iter()
            .filter_map(|c| self.table.column_index(c))
            .collect()
    }
}

/// Models in a dependency cycle, as Lino reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleMember {
    pub label: String,
    pub rows: u64,
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSettings {
    pub settings_module: String,
    pub version: Option<String>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Site {
    /// What site metadata said about the site itself.
    pub settings: Option<SiteSettings>,
    /// In dump order: dependencies first.
    pub models: Vec<Model>,
    pub cycles: Vec<CycleMember>,
    pub languages: Vec<String>,
    pub content_types: HashMap<i64, ContentType>,
    /// The models Lino's dump skips (content types, sessions, checkdata
    /// messages) but Django's `dumpdata` includes. The pipeline reads them
    /// only for sinks that want them (`Sink::wants`).
    pub skipped: Vec<Model>,
    /// The site's own metadata, when given: what formats other than the
    /// Python dump need (all fields, many-to-many fields, app order).
    pub(crate) meta: Option<Arc<SiteMeta>>,
    /// The models left out with `-e/--exclude`, in neither `models` nor
    /// `skipped`: for the outputs to say so, and read only for a sink that
    /// wants them all the same (`Sink::wants` with `skipped`), as the
    /// JSON sink does to order many-to-many lists by an excluded target.
    pub excluded: Vec<Model>,
    /// The app labels `-e/--exclude` named.
    pub excluded_apps: Vec<String>,
}

impl Site {
    /// Builds the view; `rows` gives row counts for ordering the models
    /// left in cycles.
    pub fn build(
        schema: &Schema,
        content_types: Vec<ContentType>,
        rows: &dyn Fn(&str) -> u64,
        options: &ViewOptions,
    ) -> Site {
        let labels: HashMap<String, (String, String)> = content_types
            .iter()
            .map(|ct| {
                (
                    format!("{}_{}", ct.app_label, ct.model),
                    (ct.app_label.clone(), ct.model.clone()),
                )
            })
            .collect();
        let models: Vec<Model> = schema
            .tables
            .iter()
            .filter(|t| is_model_table(&t.name))
            .map(|t| build_model(t, schema, &labels, options))
            .collect();
        let skipped = schema
            .tables
            .iter()
            .filter(|t| SKIPPED_MODELS.contains(&t.name.as_str()))
            .map(|t| build_model(t, schema, &labels, options))
            .collect();
        let (models, cycles) = dependency_order(models, rows);
        Site {
            settings: None,
            models,
            cycles,
            languages: options.languages.clone(),
            content_types: content_types.into_iter().map(|ct| (ct.id, ct)).collect(),
            skipped,
            meta: None,
            excluded: Vec::new(),
            excluded_apps: Vec::new(),
        }
    }

    /// The view that the site's own metadata gives.
    pub fn from_meta(
        schema: &Schema,
        meta: &SiteMeta,
        content_types: Vec<ContentType>,
        rows: &dyn Fn(&str) -> u64,
    ) -> Site {
        from_meta::build(schema, meta, content_types, rows)
    }

    /// A content type that site metadata knows no model for (its app or
    /// model is gone): Lino can't restore a reference to it. Every model
    /// of the metadata, proxies and excluded ones too, has a global.
    pub fn stale_content_type(&self, id: i64) -> Option<&ContentType> {
        self.settings.as_ref()?;
        self.content_types.get(&id).filter(|ct| ct.global.is_none())
    }

    /// The time zone Django stores naive datetimes in for this site: its
    /// `TIME_ZONE` without `USE_TZ`, else (and without metadata) UTC.
    pub fn naive_time_zone(&self) -> String {
        (self.meta.as_deref())
            .and_then(SiteMeta::wall_time_zone)
            .unwrap_or("UTC")
            .to_string()
    }

    /// Every model the site's metadata knows (proxies and models left out
    /// with `-e` too) as `(global, app_label, model_name)`: the global
    /// restore.py binds (`contacts_Partner`), and the content type's
    /// natural key. Empty without metadata.
    pub fn model_globals(&self) -> Vec<(String, String, String)> {
        (self.meta.iter().flat_map(|meta| &meta.models))
            .map(|m| {
                let global = format!("{}_{}", m.app_label, m.object_name);
                (global, m.app_label.clone(), m.object_name.to_lowercase())
            })
            .collect()
    }

    pub fn model(&self, table: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.table.name == table)
    }
}

pub fn is_model_table(name: &str) -> bool {
    !NOT_MODELS.contains(&name) && !SKIPPED_MODELS.contains(&name) && !name.starts_with("sqlite_")
}

fn build_model(
    table: &Table,
    schema: &Schema,
    labels: &HashMap<String, (String, String)>,
    options: &ViewOptions,
) -> Model {
    let link = link_table_owner(table, schema);
    let (app_label, model_name) = match (labels.get(&table.name), &link) {
        (Some(l), _) => l.clone(),
        (None, Some(owner)) => {
            let (app, owner_model) = labels
                .get(owner)
                .cloned()
                .unwrap_or_else(|| split_label(owner));
            let field = &table.name[owner.len() + 1..];
            (app, format!("{owner_model}_{field}"))
        }
        (None, None) => split_label(&table.name),
    };
    let mti_parent = mti_parent(table);
    Model {
        fields: fields(table, options),
        table: table.clone(),
        app_label,
        model_name,
        object_name: None,
        depends_on: table
            .foreign_keys
            .iter()
            .map(|f| f.target_table.clone())
            .collect(),
        problem: None,
        mti_parent,
        auto_created: link.is_some(),
    }
}

/// `contacts_partner` → (`contacts`, `partner`): split at the first underscore.
fn split_label(table: &str) -> (String, String) {
    match table.split_once('_') {
        Some((app, model)) if !app.is_empty() && !model.is_empty() => (app.into(), model.into()),
        _ => (table.into(), table.into()),
    }
}

/// An MTI child's primary key is a single `<parent>_ptr_id` column that is a
/// foreign key to its parent's primary key.
fn mti_parent(table: &Table) -> Option<MtiParent> {
    let [pk] = table.primary_key.as_slice() else {
        return None;
    };
    let fk = table.foreign_key(pk)?;
    (pk.ends_with("_ptr_id") && fk.target_table != table.name).then(|| MtiParent {
        table: fk.target_table.clone(),
        link_column: pk.clone(),
    })
}

/// Django's auto-created link table `<owner table>_<field>`: an `id`
/// primary key and two foreign keys, unique together, the first to the owner.
fn link_table_owner(table: &Table, schema: &Schema) -> Option<String> {
    if table.columns.len() != 3 || table.primary_key != ["id"] || table.foreign_keys.len() != 2 {
        return None;
    }
    let fk_cols: BTreeSet<&str> = table
        .foreign_keys
        .iter()
        .map(|f| f.column.as_str())
        .collect();
    let unique_pair = table
        .unique
        .iter()
        .any(|u| u.iter().map(String::as_str).collect::<BTreeSet<_>>() == fk_cols);
    if !unique_pair {
        return None;
    }
    let first = table
        .columns
        .iter()
        .find(|c| fk_cols.contains(c.name.as_str()))?;
    let owner = &table.foreign_key(&first.name)?.target_table;
    let rest = table.name.strip_prefix(owner.as_str())?.strip_prefix('_')?;
    (!rest.is_empty() && schema.table(owner).is_some()).then(|| owner.clone())
}

fn fields(table: &Table, options: &ViewOptions) -> Vec<Field> {
    let others = options.languages.get(1..).unwrap_or(&[]);
    // Columns that are another language's value of a babel master.
    let mut variants: HashMap<&str, ()> = HashMap::new();
    let mut babel: HashMap<&str, Vec<usize>> = HashMap::new();
    if !others.is_empty() {
        for c in &table.columns {
            if !is_text(c) || table.foreign_key(&c.name).is_some() {
                continue;
            }
            let idx: Option<Vec<usize>> = others
                .iter()
                .map(|lang| {
                    table
                        .column_index(&format!("{}_{}", c.name, lang))
                        .filter(|&i| is_text(&table.columns[i]))
                })
                .collect();
            if let Some(idx) = idx {
                for &i in &idx {
                    variants.insert(table.columns[i].name.as_str(), ());
                }
                babel.insert(c.name.as_str(), idx);
            }
        }
    }
    table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !variants.contains_key(c.name.as_str()))
        .map(|(index, c)| {
            let fk = table.foreign_key(&c.name);
            let name = match (fk, c.name.strip_suffix("_id")) {
                (Some(_), Some(stem)) if !stem.is_empty() => stem.to_string(),
                _ => c.name.clone(),
            };
            Field {
                name,
                attname: c.name.clone(),
                column: c.name.clone(),
                index,
                kind: c.kind.clone(),
                fk_table: fk.map(|f| f.target_table.clone()),
                is_babel: babel.contains_key(c.name.as_str()),
                babel: babel.remove(c.name.as_str()).unwrap_or_default(),
                internal_type: None,
                choicelist: None,
                decimal_places: None,
                reading: Default::default(),
            }
        })
        .collect()
}

fn is_text(c: &Column) -> bool {
    c.kind == ColumnKind::Text
}

/// Lino's order: repeatedly the first remaining model (by label) whose
/// dependencies are all placed; models left in cycles follow, fewest rows
/// first. A model depends on the FK targets of its own and its MTI
/// ancestors' tables (inherited fields count, as in `_meta.fields`).
pub(crate) fn dependency_order(
    mut models: Vec<Model>,
    rows: &dyn Fn(&str) -> u64,
) -> (Vec<Model>, Vec<CycleMember>) {
    models.sort_by_key(|m| m.label());
    let by_table: HashMap<String, usize> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m.table.name.clone(), i))
        .collect();
    let deps: Vec<BTreeSet<usize>> = models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut out = BTreeSet::new();
            let mut seen = BTreeSet::new();
            let mut cur = Some(m);
            while let Some(model) = cur {
                if !seen.insert(model.table.name.clone()) {
                    break;
                }
                for target in &model.depends_on {
                    if let Some(&t) = by_table.get(target) {
                        if t != i {
                            out.insert(t);
                        }
                    }
                }
                cur = model
                    .mti_parent
                    .as_ref()
                    .and_then(|p| by_table.get(&p.table))
                    .map(|&p| &models[p]);
            }
            out
        })
        .collect();
    let mut placed = vec![false; models.len()];
    let mut order = Vec::with_capacity(models.len());
    while let Some(next) =
        (0..models.len()).find(|&i| !placed[i] && deps[i].iter().all(|&d| placed[d]))
    {
        placed[next] = true;
        order.push(next);
    }
    let mut left: Vec<usize> = (0..models.len()).filter(|&i| !placed[i]).collect();
    // A stable sort keeps label order among equal counts, as Lino's does.
    left.sort_by_key(|&i| rows(&models[i].table.name));
    let cycles = left
        .iter()
        .map(|&i| CycleMember {
            label: models[i].label(),
            rows: rows(&models[i].table.name),
            depends_on: deps[i]
                .iter()
                .filter(|&&d| !placed[d])
                .map(|&d| models[d].label())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        })
        .collect();
    order.extend(left);
    let mut slots: BTreeMap<usize, Model> = models.into_iter().enumerate().collect();
    let models = order.iter().filter_map(|i| slots.remove(i)).collect();
    (models, cycles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dump2py_model::schema::{Column, ForeignKey};

    fn col(name: &str, kind: ColumnKind) -> Column {
        Column {
            name: name.into(),
            declared_type: String::new(),
            kind,
            nullable: true,
            generated: false,
        }
    }

    fn table(name: &str, cols: &[(&str, ColumnKind)], pk: &str, fks: &[(&str, &str)]) -> Table {
        Table {
            name: name.into(),
            columns: cols.iter().map(|(n, k)| col(n, k.clone())).collect(),
            primary_key: vec![pk.into()],
            foreign_keys: fks
                .iter()
                .map(|(c, t)| ForeignKey {
                    column: (*c).into(),
                    target_table: (*t).into(),
                    target_column: "id".into(),
                })
                .collect(),
            unique: vec![],
        }
    }

    #[test]
    fn mti_babel_links_and_order() {
        use ColumnKind::*;
        let mut link = table(
            "app_book_tags",
            &[("id", Int), ("book_id", Int), ("tag_id", Int)],
            "id",
            &[("book_id", "app_book"), ("tag_id", "app_tag")],
        );
        link.unique = vec![vec!["book_id".into(), "tag_id".into()]];
        let schema = Schema {
            tables: vec![
                table(
                    "app_book",
                    &[("id", Int), ("name", Text), ("name_de", Text)],
                    "id",
                    &[],
                ),
                link,
                table(
                    "app_novel",
                    &[("book_ptr_id", Int), ("tag_id", Int)],
                    "book_ptr_id",
                    &[("book_ptr_id", "app_book"), ("tag_id", "app_tag")],
                ),
                table(
                    "app_tag",
                    &[("id", Int), ("parent_id", Int)],
                    "id",
                    &[("parent_id", "app_tag")],
                ),
                table(
                    "x_a",
                    &[("id", Int), ("b_id", Int)],
                    "id",
                    &[("b_id", "x_b")],
                ),
                table(
                    "x_b",
                    &[("id", Int), ("a_id", Int)],
                    "id",
                    &[("a_id", "x_a")],
                ),
                table("django_migrations", &[("id", Int)], "id", &[]),
            ],
        };
        let counts = |t: &str| if t == "x_b" { 1 } else { 5 };
        let site = Site::build(
            &schema,
            vec![],
            &counts,
            &ViewOptions {
                languages: vec!["en".into(), "de".into()],
            },
        );
        let order: Vec<_> = site.models.iter().map(|m| m.table.name.as_str()).collect();
        assert_eq!(
            order,
            [
                "app_book",
                "app_tag",
                "app_book_tags",
                "app_novel",
                "x_b",
                "x_a"
            ]
        );
        let book = site.model("app_book").expect("book");
        assert_eq!(book.fields.len(), 2);
        assert_eq!(book.fields[1].babel, vec![2]);
        let links = site.model("app_book_tags").expect("link");
        assert!(links.auto_created);
        assert_eq!(links.model_name, "book_tags");
        let novel = site.model("app_novel").expect("novel");
        assert_eq!(
            novel.mti_parent.as_ref().map(|p| p.table.as_str()),
            Some("app_book")
        );
        assert_eq!(novel.fields[0].name, "book_ptr");
        assert_eq!(site.cycles.len(), 2);
        assert_eq!(site.cycles[0].label, "x.b");
        assert_eq!(site.cycles[0].depends_on, vec!["x.a".to_string()]);
    }
}
