//! Site metadata: what the site's own Python code knows about its models,
//! printed as JSON by `sitemeta.py` (shipped inside the binary) and read
//! here. `--site-schema FILE` reads saved metadata instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use dump2py_model::database::Database;
use dump2py_model::error::{Error, Result};

/// The version of the JSON below; bumped on incompatible changes.
pub const FORMAT: u32 = 1;

/// The Python program that prints a site's metadata.
pub const SITEMETA_PY: &str = include_str!("sitemeta.py");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteMeta {
    pub format: u32,
    pub settings_module: String,
    /// `settings.SITE.version`; None for an unversioned site.
    pub version: Option<String>,
    pub time_zone: Option<String>,
    /// `settings.MEDIA_ROOT`, absolute; None when unset (and in older
    /// saved schemas).
    #[serde(default)]
    pub media_root: Option<String>,
    pub use_tz: bool,
    /// Site languages in order, the default first (empty for plain Django).
    pub languages: Vec<String>,
    /// Whether the models' natural keys were reported (false in older
    /// saved schemas).
    #[serde(default)]
    pub natural_keys: bool,
    /// App labels in INSTALLED_APPS order.
    pub apps: Vec<String>,
    pub database: Database,
    /// Every model of `apps.get_models(include_auto_created=True)`, proxies included,
    /// in app order then registration order.
    pub models: Vec<ModelMeta>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    pub app_label: String,
    /// CamelCase: `Partner`; `Thing_tags` for an auto-created link model.
    pub object_name: String,
    pub db_table: String,
    pub proxy: bool,
    pub auto_created: bool,
    pub managed: bool,
    /// Immediate MTI parent as `app_label.ObjectName`, with the link.
    pub parent: Option<ParentMeta>,
    /// `Meta.ordering` (`-name` descending; `<expression>` for one that
    /// isn't a field name). Absent in older saved schemas.
    #[serde(default)]
    pub ordering: Vec<String>,
    /// The model's own concrete fields in model order (`_meta.get_fields()`),
    /// many-to-many fields included (they have no column here).
    pub fields: Vec<FieldMeta>,
    /// What `natural_key()` returns, for a model that has one.
    #[serde(default)]
    pub natural_key: Option<NaturalKeyMeta>,
    /// The models that dumpdata's order with natural keys puts before this
    /// one (Django's `sort_dependencies`), as `app_label.ObjectName`.
    #[serde(default)]
    pub natural_deps: Vec<String>,
    /// What dumpdata's queryset (`order_by(pk.name)`) orders this model's
    /// rows by: its key, or (an MTI child) its parent's `Meta.ordering`.
    /// None for proxies, unmanaged models and older saved schemas.
    #[serde(default)]
    pub dump_order: Option<OrderMeta>,
    /// `Meta.ordering` resolved to columns: how a many-to-many list of
    /// this model is ordered. None without an ordering.
    #[serde(default)]
    pub meta_ordering: Option<OrderMeta>,
    /// The rows the default manager hides (dumpdata leaves them out but
    /// with `--all`), as the SQL of the keys it shows. None: it hides none.
    #[serde(default)]
    pub manager_filter: Option<ManagerFilterMeta>,
}

/// An ordering as the database follows it, or why it can't.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<Vec<OrderTermMeta>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One column to order by, behind `joins` from the model's table: each
/// `[column, table, to_column]` (`content_type_id`, `django_content_type`, `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderTermMeta {
    pub joins: Vec<[String; 3]>,
    pub column: String,
    pub desc: bool,
}

/// The default manager's queryset of primary keys as SQL, compiled by
/// Django for the site's database (`vendor`), or why it couldn't be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagerFilterMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    #[serde(default)]
    pub params: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A model's `natural_key()`: the paths of the fields it returns, through
/// foreign keys (`["content_type", "app_label"]`), as `sitemeta.py` found
/// them; or why they can't be followed without the site's Python.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NaturalKeyMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParentMeta {
    pub model: String,
    /// The link's column: `partner_ptr_id`.
    pub link_column: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMeta {
    pub name: String,
    pub attname: String,
    /// None for a many-to-many field.
    pub column: Option<String>,
    /// Django's `get_internal_type()`: `CharField`, `ForeignKey`, …
    pub internal_type: String,
    pub primary_key: bool,
    /// False: `dumpdata` leaves the field out (a primary key is always
    /// false, and written as `pk`). Absent in older saved schemas.
    #[serde(default = "yes")]
    pub serialize: bool,
    pub null: bool,
    pub decimal_places: Option<u32>,
    pub max_digits: Option<u32>,
    /// FK, one-to-one or many-to-many target as `app_label.ObjectName`.
    pub related_model: Option<String>,
    /// The auto-created or explicit through model of a many-to-many field.
    pub through: Option<String>,
    /// A Lino choice-list field's list as `app_label.ClassName`.
    pub choicelist: Option<String>,
    /// A babel master: a list of values in a dump, even on a one-language site.
    #[serde(default)]
    pub babel: bool,
    /// For a babel master (`name`): the other languages' columns, in site
    /// language order: `["name_de", "name_fr"]`.
    pub babel_columns: Vec<String>,
    /// A babel variant (`name_de`): not a field of its own in a dump.
    pub babel_variant: bool,
    /// The field's class (`lino.core.fields.QuantityField`); None in
    /// older saved schemas, as are all fields below.
    #[serde(default)]
    pub field_class: Option<String>,
    /// The Django model field class it derives from (`CharField`).
    #[serde(default)]
    pub base_class: Option<String>,
    /// The field converts what it reads (`from_db_value`).
    #[serde(default)]
    pub from_db_value: bool,
    /// Django reads `''` in its column as None (Lino's QuantityField,
    /// DurationField, IncompleteDateField, choice lists).
    #[serde(default)]
    pub empty_is_none: bool,
    #[serde(default)]
    pub max_length: Option<u64>,
    /// The range of an integer field's type as Django defines it (SQLite
    /// doesn't enforce it).
    #[serde(default)]
    pub min_value: Option<i64>,
    #[serde(default)]
    pub max_value: Option<i64>,
    /// A `GeneratedField`: dumpdata writes it; a restore must not set it.
    #[serde(default)]
    pub generated: bool,
}

fn yes() -> bool {
    true
}

impl ModelMeta {
    pub fn label(&self) -> String {
        format!("{}.{}", self.app_label, self.object_name)
    }
}

impl SiteMeta {
    /// The zone Django's naive datetimes are wall time in: `TIME_ZONE`
    /// without `USE_TZ` (none with it, or without a `TIME_ZONE`).
    pub fn wall_time_zone(&self) -> Option<&str> {
        (!self.use_tz)
            .then_some(self.time_zone.as_deref())
            .flatten()
    }

    pub fn model(&self, label: &str) -> Option<&ModelMeta> {
        self.models.iter().find(|m| m.label() == label)
    }

    pub fn read(path: &Path) -> Result<SiteMeta> {
        let text = dump2py_model::files::read_small_text(path, dump2py_model::files::MAX_JSON)
            .map_err(|e| Error::io(path, e))?;
        SiteMeta::parse(&text)
            .map_err(|e| Error::Usage(format!("{} is not a site schema: {e}", path.display())))
    }

    pub fn parse(text: &str) -> std::result::Result<SiteMeta, String> {
        let meta: SiteMeta = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if meta.format != FORMAT {
            return Err(format!(
                "format {} is not {FORMAT}, the one this dump2py reads",
                meta.format
            ));
        }
        Ok(meta)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Usage(format!("can't write the site schema: {e}")))?;
        std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
    }

    /// Runs `sitemeta.py` with `python` in the site's environment.
    /// `started` gets the child's PID (it runs in a process group of its
    /// own) as soon as it runs; what it returns is kept until the child has
    /// ended (the CLI's guard that kills the group on a signal).
    pub fn from_site<G>(
        python: &str,
        settings: &str,
        pythonpath: &[PathBuf],
        started: impl FnOnce(u32) -> G,
    ) -> Result<SiteMeta> {
        let mut cmd = Command::new(python);
        cmd.arg("-c")
            .arg(SITEMETA_PY)
            .env("DJANGO_SETTINGS_MODULE", settings);
        if !pythonpath.is_empty() {
            let mut paths: Vec<PathBuf> = pythonpath.to_vec();
            if let Some(old) = std::env::var_os("PYTHONPATH") {
                paths.extend(std::env::split_paths(&old));
            }
            let joined = std::env::join_paths(paths)
                .map_err(|e| Error::Usage(format!("bad --pythonpath: {e}")))?;
            cmd.env("PYTHONPATH", joined);
        }
        // In a group of its own, which a signal to dump2py kills whole
        // (`started`): Django may start processes of its own.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let cant = |e: std::io::Error| {
            Error::Usage(format!(
                "can't run the site's Python '{python}' (--python): {e}"
            ))
        };
        let child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(cant)?;
        let watch = started(child.id());
        let out = child.wait_with_output().map_err(cant)?;
        drop(watch);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            // sitemeta.py prints one line saying why on stderr.
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr
                .lines()
                .rev()
                .find(|l| l.starts_with("dump2py:"))
                .map(|l| l.trim_start_matches("dump2py:").trim().to_string())
                .or_else(|| {
                    stderr
                        .lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| format!("exit status {}", out.status));
            return Err(Error::Usage(format!(
                "can't read the metadata of site {settings} with {python}: {why}"
            )));
        }
        // The JSON is the last line: Lino may print to stdout while starting.
        let json = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or("");
        SiteMeta::parse(json).map_err(|e| {
            Error::Usage(format!(
                "the metadata of site {settings} is not readable: {e}"
            ))
        })
    }
}
