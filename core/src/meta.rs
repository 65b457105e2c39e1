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
        let mut params: Vec<(&str, String)> = Vec::new();
        if socket {
            params.push(("host", self.host.clone()));
        } else if let Some(sock) = self.options.get("unix_socket").and_then(|v| v.as_str()) {
            // MySQL's OPTIONS['unix_socket'] overrides the host.
            params.push(("socket", sock.to_string()));
        }
        match scheme {
            "postgres" => {
                // psycopg passes these to libpq, whose names the source takes.
                // Not sslpassword: the source refuses encrypted keys, and a
                // passphrase has no place in a URL.
                for key in [
                    "sslmode",
                    "sslrootcert",
                    "sslcert",
                    "sslkey",
                    "connect_timeout",
                ] {
                    if let Some(v) = self.option(key)? {
                        params.push((key, v));
                    }
                }
            }
            _ => self.mysql_params(&mut params)?,
        }
        for (i, (key, value)) in params.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.push_str(&percent_encode(value));
        }
        Ok(url)
    }

    /// mysqlclient's OPTIONS as the MySQL source's parameters: `ssl_mode`,
    /// the `ssl` dict (`ca`, `cert`, `key`, `check_hostname`; any key
    /// means TLS) and `connect_timeout`.
    fn mysql_params(&self, params: &mut Vec<(&str, String)>) -> Result<()> {
        let mut mode = self.option("ssl_mode")?;
        let mut files = Vec::new();
        match self.options.get("ssl") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Bool(tls)) => {
                if *tls && mode.is_none() {
                    mode = Some("REQUIRED".into());
                }
            }
            Some(serde_json::Value::Object(ssl)) => {
                let mut check_hostname = false;
                for (key, value) in ssl {
                    let what = format!("ssl']['{key}");
                    let value = scalar(value)
                        .ok_or_else(|| bad_option(&what, "is not a value dump2py can use"))?;
                    let param = match key.as_str() {
                        "check_hostname" => {
                            check_hostname = value.eq_ignore_ascii_case("true") || value == "1";
                            continue;
                        }
                        "ca" => "ssl-ca",
                        "cert" => "ssl-cert",
                        "key" => "ssl-key",
                        // Refused by the source, by name.
                        "capath" => "ssl-capath",
                        "cipher" => "ssl-cipher",
                        _ => {
                            return Err(bad_option(
                                &what,
                                "is not one of ca, cert, key, check_hostname",
                            ))
                        }
                    };
                    files.push((param, value));
                }
                // A CA without a mode means VERIFY_CA to the source; any
                // other key means TLS, as with mysqlclient.
                let has_ca = ssl.contains_key("ca");
                mode = mode.or(match (check_hostname, has_ca) {
                    (true, _) => Some("VERIFY_IDENTITY".into()),
                    (false, false) if !ssl.is_empty() => Some("REQUIRED".into()),
                    _ => None,
                });
            }
            Some(_) => return Err(bad_option("ssl", "is neither a dict nor a boolean")),
        }
        if let Some(mode) = mode {
            params.push(("ssl-mode", mode));
        }
        params.extend(files);
        if let Some(t) = self.option("connect_timeout")? {
            params.push(("connect_timeout", t));
        }
        Ok(())
    }

    /// OPTIONS[key] as text; None when absent or null.
    fn option(&self, key: &str) -> Result<Option<String>> {
        match self.options.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => scalar(v)
                .map(Some)
                .ok_or_else(|| bad_option(key, "is not a value dump2py can use")),
        }
    }
}

/// A string, number or boolean as text.
fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn bad_option(key: &str, why: &str) -> Error {
    Error::Usage(format!(
        "the site's DATABASES['default']['OPTIONS']['{key}'] {why}"
    ))
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

    fn with_options(engine: &str, options: serde_json::Value) -> Database {
        Database {
            engine: format!("django.db.backends.{engine}"),
            name: "lino".into(),
            user: "u".into(),
            host: "db.example".into(),
            options: match options {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            },
            ..Database::default()
        }
    }

    fn url_of(engine: &str, options: serde_json::Value) -> String {
        match with_options(engine, options).url() {
            Ok(u) => u,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn mysql_ssl_options() {
        use serde_json::json;
        let base = "mysql://u@db.example/lino";
        assert_eq!(url_of("mysql", json!({})), base);
        assert_eq!(
            url_of("mysql", json!({"ssl": {"ca": "/etc/my ca.pem"}})),
            format!("{base}?ssl-ca=%2Fetc%2Fmy%20ca.pem")
        );
        assert_eq!(
            url_of(
                "mysql",
                json!({"ssl": {"ca": "/c.pem", "cert": "/cl.pem", "key": "/k.pem", "check_hostname": true}})
            ),
            format!(
                "{base}?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fc.pem&ssl-cert=%2Fcl.pem&ssl-key=%2Fk.pem"
            )
        );
        // check_hostname off: a CA alone is VERIFY_CA to the source.
        assert_eq!(
            url_of(
                "mysql",
                json!({"ssl": {"ca": "/c.pem", "check_hostname": false}})
            ),
            format!("{base}?ssl-ca=%2Fc.pem")
        );
        // Any ssl dict means TLS; an explicit ssl_mode wins.
        assert_eq!(
            url_of(
                "mysql",
                json!({"ssl": {"cert": "/cl.pem", "key": "/k.pem"}})
            ),
            format!("{base}?ssl-mode=REQUIRED&ssl-cert=%2Fcl.pem&ssl-key=%2Fk.pem")
        );
        assert_eq!(
            url_of(
                "mysql",
                json!({"ssl_mode": "VERIFY_CA", "ssl": {"ca": "/c.pem", "check_hostname": true}})
            ),
            format!("{base}?ssl-mode=VERIFY_CA&ssl-ca=%2Fc.pem")
        );
        assert_eq!(
            url_of(
                "mysql",
                json!({"ssl_mode": "DISABLED", "connect_timeout": 5, "charset": "utf8mb4"})
            ),
            format!("{base}?ssl-mode=DISABLED&connect_timeout=5")
        );
        assert_eq!(url_of("mysql", json!({"ssl": {}, "ssl_mode": null})), base);
        assert_eq!(
            url_of("mysql", json!({"ssl": true})),
            format!("{base}?ssl-mode=REQUIRED")
        );
        // What the source refuses goes to it, to be refused by name.
        assert_eq!(
            url_of("mysql", json!({"ssl": {"capath": "/etc/ssl/certs"}})),
            format!("{base}?ssl-mode=REQUIRED&ssl-capath=%2Fetc%2Fssl%2Fcerts")
        );
        // With a socket.
        let mut db = with_options(
            "mysql",
            json!({"ssl_mode": "REQUIRED", "unix_socket": "/s.sock"}),
        );
        assert_eq!(
            db.url().ok().as_deref(),
            Some("mysql://u@db.example/lino?socket=%2Fs.sock&ssl-mode=REQUIRED")
        );
        db.host = "/run/mysqld".into();
        assert_eq!(
            db.url().ok().as_deref(),
            Some("mysql://u@/lino?host=%2Frun%2Fmysqld&ssl-mode=REQUIRED")
        );
        for (bad, why) in [
            (
                json!({"ssl": "yes"}),
                "['ssl'] is neither a dict nor a boolean",
            ),
            (
                json!({"ssl": {"crl": "x"}}),
                "['ssl']['crl'] is not one of ca, cert, key, check_hostname",
            ),
            (
                json!({"ssl_mode": ["x"]}),
                "['ssl_mode'] is not a value dump2py can use",
            ),
        ] {
            let e = with_options("mysql", bad.clone())
                .url()
                .err()
                .map(|e| e.to_string());
            let whole = format!("the site's DATABASES['default']['OPTIONS']{why}");
            assert_eq!(e.as_deref(), Some(whole.as_str()), "{bad}");
        }
    }

    #[test]
    fn postgres_ssl_options() {
        use serde_json::json;
        let base = "postgres://u@db.example/lino";
        assert_eq!(
            url_of(
                "postgresql",
                json!({"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem", "connect_timeout": 3})
            ),
            format!("{base}?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3")
        );
        // A client certificate, in the source's order whatever the site's.
        assert_eq!(
            url_of(
                "postgresql",
                json!({"sslkey": "/k ey.pem", "connect_timeout": 5, "sslcert": "/c.pem", "sslmode": "verify-ca"})
            ),
            format!(
                "{base}?sslmode=verify-ca&sslcert=%2Fc.pem&sslkey=%2Fk%20ey.pem&connect_timeout=5"
            )
        );
        // Others are not libpq's, or not the source's: left out (a
        // passphrase too; the source then names the key as encrypted).
        assert_eq!(
            url_of(
                "postgresql",
                json!({"isolation_level": 2, "pool": true, "sslmode": "require", "sslpassword": "pw"})
            ),
            format!("{base}?sslmode=require")
        );
        let mut db = with_options("postgresql", json!({"sslmode": "disable"}));
        db.host = "/var/run/postgresql".into();
        assert_eq!(
            db.url().ok().as_deref(),
            Some("postgres://u@/lino?host=%2Fvar%2Frun%2Fpostgresql&sslmode=disable")
        );
    }
}
