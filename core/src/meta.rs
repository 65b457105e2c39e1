//! Site metadata: what the site's own Python code knows about its models,
//! printed as JSON by `sitemeta.py` (shipped inside the binary) and read
//! here. `--site-schema FILE` reads saved metadata instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::url::percent_encode;

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
    pub use_tz: bool,
    /// Site languages in order, the default first (empty for plain Django).
    pub languages: Vec<String>,
    /// App labels in INSTALLED_APPS order.
    pub apps: Vec<String>,
    pub database: Database,
    /// Every model of `apps.get_models(include_auto_created=True)`, proxies included,
    /// in app order then registration order.
    pub models: Vec<ModelMeta>,
}

/// The default database's connection settings (Django's `DATABASES['default']`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Database {
    pub engine: String,
    pub name: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
}

impl Database {
    /// The URL dump2py reads this database with.
    pub fn url(&self) -> Result<String> {
        let scheme = match self.engine.rsplit('.').next().unwrap_or("") {
            "sqlite3" | "spatialite" => return Ok(format!("sqlite:{}", self.name)),
            "postgresql" | "postgresql_psycopg2" | "postgis" => "postgres",
            "mysql" => "mysql",
            _ => {
                return Err(Error::Usage(format!(
                    "the site's database engine {} is not supported",
                    self.engine
                )))
            }
        };
        let mut url = format!("{scheme}://");
        if !self.user.is_empty() {
            url.push_str(&percent_encode(&self.user));
            if !self.password.is_empty() {
                url.push(':');
                url.push_str(&percent_encode(&self.password));
            }
            url.push('@');
        }
        // A host starting with / is a Unix socket directory.
        let socket = self.host.starts_with('/');
        if !socket {
            // No host: libpq and MySQL both use the local socket, which the
            // sources reach with an empty host and with `localhost`.
            let host = match (self.host.is_empty(), scheme) {
                (false, _) => self.host.as_str(),
                (true, "postgres") => "",
                (true, _) => "localhost",
            };
            url.push_str(host);
            if !self.port.is_empty() {
                url.push(':');
                url.push_str(&self.port);
            }
        }
        url.push('/');
        url.push_str(&percent_encode(&self.name));
        if socket {
            url.push_str("?host=");
            url.push_str(&percent_encode(&self.host));
        } else if let Some(sock) = self.options.get("unix_socket").and_then(|v| v.as_str()) {
            // MySQL's OPTIONS['unix_socket'] overrides the host.
            url.push_str("?socket=");
            url.push_str(&percent_encode(sock));
        }
        Ok(url)
    }
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
    /// The model's own concrete fields in model order (`_meta.get_fields()`),
    /// many-to-many fields included (they have no column here).
    pub fields: Vec<FieldMeta>,
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
    pub fn model(&self, label: &str) -> Option<&ModelMeta> {
        self.models.iter().find(|m| m.label() == label)
    }

    pub fn read(path: &Path) -> Result<SiteMeta> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
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
    pub fn from_site(python: &str, settings: &str, pythonpath: &[PathBuf]) -> Result<SiteMeta> {
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
        let out = cmd.output().map_err(|e| {
            Error::Usage(format!(
                "can't run the site's Python '{python}' (--python): {e}"
            ))
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        let mut db = Database {
            engine: "django.db.backends.sqlite3".into(),
            name: "/tmp/x.db".into(),
            ..Database::default()
        };
        assert_eq!(db.url().ok().as_deref(), Some("sqlite:/tmp/x.db"));
        db.engine = "django.db.backends.postgresql".into();
        db.name = "lino".into();
        db.user = "u".into();
        db.password = "p@ss".into();
        db.port = "5432".into();
        assert_eq!(
            db.url().ok().as_deref(),
            Some("postgres://u:p%40ss@:5432/lino")
        );
        db.host = "db.example".into();
        assert_eq!(
            db.url().ok().as_deref(),
            Some("postgres://u:p%40ss@db.example:5432/lino")
        );
        db.host.clear();
        db.engine = "django.db.backends.mysql".into();
        db.options
            .insert("unix_socket".into(), "/run/mysqld/mysqld.sock".into());
        assert_eq!(
            db.url().ok().as_deref(),
            Some("mysql://u:p%40ss@localhost:5432/lino?socket=%2Frun%2Fmysqld%2Fmysqld.sock")
        );
        db.engine = "django.db.backends.oracle".into();
        assert!(db.url().is_err());
    }
}
