//! A database's connection settings as Django names them
//! (`DATABASES['default']`): what the site's metadata reports and what
//! every source turns into its URL.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::url::{port_number, DbUrl};

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
    /// What a server's URL takes from every engine's settings: USER and
    /// PASSWORD, HOST and PORT (a HOST starting with `/` is a socket
    /// directory, written `?host=`; no HOST stays empty), NAME as the path.
    pub fn server_url(&self, scheme: &str) -> Result<DbUrl> {
        let mut url = DbUrl::new(scheme);
        if !self.user.is_empty() {
            url.user = Some(self.user.clone());
            url.password = Some(self.password.clone()).filter(|p| !p.is_empty());
        }
        if self.host.starts_with('/') {
            url.push_param("host", self.host.as_str());
        } else {
            url.host = Some(self.host.clone()).filter(|h| !h.is_empty());
            if !self.port.is_empty() {
                url.port = Some(port_number(&self.port).map_err(|_| {
                    Error::Usage(format!(
                        "the site's DATABASES['default']['PORT'] {:?} is not a port number",
                        self.port
                    ))
                })?);
            }
        }
        url.path = self.name.clone();
        Ok(url)
    }

    /// OPTIONS[key] as text; None when absent or null.
    pub fn option(&self, key: &str) -> Result<Option<String>> {
        match self.options.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => scalar(v)
                .map(Some)
                .ok_or_else(|| bad_option(key, "is not a value dump2py can use")),
        }
    }
}

/// A string, number or boolean of OPTIONS as text.
pub fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `key` may be a path into OPTIONS: `ssl']['ca`.
pub fn bad_option(key: &str, why: &str) -> Error {
    Error::Usage(format!(
        "the site's DATABASES['default']['OPTIONS']['{key}'] {why}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each source's mapping is tested in its crate.
    #[test]
    fn database_urls() {
        let mut db = Database {
            engine: "django.db.backends.oracle".into(),
            name: "lino".into(),
            ..Database::default()
        };
        db.user = "u".into();
        db.password = "p@ss".into();
        db.port = "5432".into();
        let url = |db: &Database| db.server_url("x").map(|u| u.unredacted()).ok();
        assert_eq!(url(&db).as_deref(), Some("x://u:p%40ss@:5432/lino"));
        db.host = "::1".into();
        assert_eq!(url(&db).as_deref(), Some("x://u:p%40ss@[::1]:5432/lino"));
        db.host = "/run/x".into();
        assert_eq!(
            url(&db).as_deref(),
            Some("x://u:p%40ss@/lino?host=%2Frun%2Fx")
        );
        db.user.clear();
        db.host.clear();
        db.port = "54x".into();
        let e = db.server_url("x").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("the site's DATABASES['default']['PORT'] \"54x\" is not a port number")
        );
    }
}
