//! A site's Django `DATABASES` entry → this source's URL: NAME is the file.

use dump2py_model::database::Database;
use dump2py_model::error::Result;

pub fn url(db: &Database) -> Result<String> {
    Ok(format!("sqlite:{}", db.name))
}

#[cfg(test)]
mod tests {
    use super::url;
    use dump2py_model::database::Database;

    #[test]
    fn database_urls() {
        let mut db = Database {
            engine: "django.db.backends.sqlite3".into(),
            name: "/tmp/x.db".into(),
            ..Database::default()
        };
        assert_eq!(url(&db).ok().as_deref(), Some("sqlite:/tmp/x.db"));
        db.engine = "django.contrib.gis.db.backends.spatialite".into();
        assert_eq!(url(&db).ok().as_deref(), Some("sqlite:/tmp/x.db"));
    }
}
