//! A site's Django `DATABASES` entry → this source's URL. psycopg passes
//! OPTIONS to libpq, whose names the URL takes.

use dump2py_model::database::Database;
use dump2py_model::error::Result;

/// The OPTIONS the source reads, in its order whatever the site's. Not
/// sslpassword: the source refuses encrypted keys, and a passphrase has no
/// place in a URL.
const OPTIONS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
];

pub fn url(db: &Database) -> Result<String> {
    // No HOST stays empty: libpq's local socket.
    let mut url = db.server_url("postgres")?;
    for key in OPTIONS {
        if let Some(v) = db.option(key)? {
            url.push_param(key, v);
        }
    }
    Ok(url.unredacted())
}

#[cfg(test)]
mod tests {
    use super::url;
    use dump2py_model::database::Database;
    use dump2py_model::url_cases::{url_of, with_options};

    #[test]
    fn database_urls() {
        let mut db = Database {
            engine: "django.db.backends.postgresql".into(),
            ..Database::default()
        };
        db.name = "lino".into();
        db.user = "u".into();
        db.password = "p@ss".into();
        db.port = "5432".into();
        assert_eq!(
            url(&db).ok().as_deref(),
            Some("postgres://u:p%40ss@:5432/lino")
        );
        db.host = "db.example".into();
        assert_eq!(
            url(&db).ok().as_deref(),
            Some("postgres://u:p%40ss@db.example:5432/lino")
        );
        for engine in ["postgresql_psycopg2", "postgis"] {
            db.engine = format!("django.db.backends.{engine}");
            assert!(url(&db).is_ok_and(|u| u.starts_with("postgres://")));
        }
    }

    #[test]
    fn postgres_ssl_options() {
        use serde_json::json;
        let base = "postgres://u@db.example/lino";
        assert_eq!(
            url_of(
                url,
                "postgresql",
                json!({"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem", "connect_timeout": 3})
            ),
            format!("{base}?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3")
        );
        // A client certificate, in the source's order whatever the site's.
        assert_eq!(
            url_of(
                url,
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
                url,
                "postgresql",
                json!({"isolation_level": 2, "pool": true, "sslmode": "require", "sslpassword": "pw"})
            ),
            format!("{base}?sslmode=require")
        );
        let mut db = with_options("postgresql", json!({"sslmode": "disable"}));
        db.host = "/var/run/postgresql".into();
        assert_eq!(
            url(&db).ok().as_deref(),
            Some("postgres://u@/lino?host=%2Fvar%2Frun%2Fpostgresql&sslmode=disable")
        );
    }
}
