//! A site's Django `DATABASES` entry → this source's URL: NAME is the file.

use dump2py_core::error::Result;
use dump2py_core::meta::Database;

pub fn url(db: &Database) -> Result<String> {
    Ok(format!("sqlite:{}", db.name))
}

#[cfg(test)]
mod tests {
    use dump2py_core::meta::Database;

    #[test]
    fn database_urls() {
        let mut db = Database {
            engine: "django.db.backends.sqlite3".into(),
            name: "/tmp/x.db".into(),
            ..Database::default()
        };
        assert_eq!(db.url().ok().as_deref(), Some("sqlite:/tmp/x.db"));
        db.engine = "django.contrib.gis.db.backends.spatialite".into();
        assert_eq!(db.url().ok().as_deref(), Some("sqlite:/tmp/x.db"));
    }
}
