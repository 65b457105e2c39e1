//! A site's Django `DATABASES` entry → this source's URL: mysqlclient's
//! OPTIONS as the source's parameters.

use dump2py_model::database::{bad_option, scalar, Database};
use dump2py_model::error::Result;
use dump2py_model::url::DbUrl;

pub fn url(db: &Database) -> Result<String> {
    let mut url = db.server_url("mysql")?;
    if !db.host.starts_with('/') {
        // No host: the local socket, which the source finds for `localhost`.
        url.host.get_or_insert_with(|| "localhost".into());
        // OPTIONS['unix_socket'] overrides the host.
        if let Some(sock) = db.options.get("unix_socket").and_then(|v| v.as_str()) {
            url.push_param("socket", sock);
        }
    }
    tls_params(db, &mut url)?;
    if let Some(t) = db.option("connect_timeout")? {
        url.push_param("connect_timeout", t);
    }
    Ok(url.unredacted())
}

/// `ssl_mode` and the `ssl` dict (`ca`, `cert`, `key`, `check_hostname`;
/// any key means TLS, as with mysqlclient).
fn tls_params(db: &Database, url: &mut DbUrl) -> Result<()> {
    let mut mode = db.option("ssl_mode")?;
    let mut files = Vec::new();
    match db.options.get("ssl") {
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
            // A CA without a mode means VERIFY_CA to the source; any other
            // key means TLS, as with mysqlclient.
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
        url.push_param("ssl-mode", mode);
    }
    for (param, value) in files {
        url.push_param(param, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::url;
    use dump2py_model::database::Database;
    use dump2py_model::url_cases::{url_of, with_options};

    #[test]
    fn database_urls() {
        let mut db = Database {
            engine: "django.db.backends.mysql".into(),
            name: "lino".into(),
            user: "u".into(),
            password: "p@ss".into(),
            port: "5432".into(),
            ..Database::default()
        };
        db.options
            .insert("unix_socket".into(), "/run/mysqld/mysqld.sock".into());
        assert_eq!(
            url(&db).ok().as_deref(),
            Some("mysql://u:p%40ss@localhost:5432/lino?socket=%2Frun%2Fmysqld%2Fmysqld.sock")
        );
    }

    #[test]
    fn mysql_ssl_options() {
        use serde_json::json;
        let base = "mysql://u@db.example/lino";
        assert_eq!(url_of(url, "mysql", json!({})), base);
        assert_eq!(
            url_of(url, "mysql", json!({"ssl": {"ca": "/etc/my ca.pem"}})),
            format!("{base}?ssl-ca=%2Fetc%2Fmy%20ca.pem")
        );
        assert_eq!(
            url_of(url, "mysql",
                json!({"ssl": {"ca": "/c.pem", "cert": "/cl.pem", "key": "/k.pem", "check_hostname": true}})
            ),
            format!(
                "{base}?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fc.pem&ssl-cert=%2Fcl.pem&ssl-key=%2Fk.pem"
            )
        );
        // check_hostname off: a CA alone is VERIFY_CA to the source.
        assert_eq!(
            url_of(
                url,
                "mysql",
                json!({"ssl": {"ca": "/c.pem", "check_hostname": false}})
            ),
            format!("{base}?ssl-ca=%2Fc.pem")
        );
        // Any ssl dict means TLS; an explicit ssl_mode wins.
        assert_eq!(
            url_of(
                url,
                "mysql",
                json!({"ssl": {"cert": "/cl.pem", "key": "/k.pem"}})
            ),
            format!("{base}?ssl-mode=REQUIRED&ssl-cert=%2Fcl.pem&ssl-key=%2Fk.pem")
        );
        assert_eq!(
            url_of(
                url,
                "mysql",
                json!({"ssl_mode": "VERIFY_CA", "ssl": {"ca": "/c.pem", "check_hostname": true}})
            ),
            format!("{base}?ssl-mode=VERIFY_CA&ssl-ca=%2Fc.pem")
        );
        assert_eq!(
            url_of(
                url,
                "mysql",
                json!({"ssl_mode": "DISABLED", "connect_timeout": 5, "charset": "utf8mb4"})
            ),
            format!("{base}?ssl-mode=DISABLED&connect_timeout=5")
        );
        assert_eq!(
            url_of(url, "mysql", json!({"ssl": {}, "ssl_mode": null})),
            base
        );
        assert_eq!(
            url_of(url, "mysql", json!({"ssl": true})),
            format!("{base}?ssl-mode=REQUIRED")
        );
        // What the source refuses goes to it, to be refused by name.
        assert_eq!(
            url_of(url, "mysql", json!({"ssl": {"capath": "/etc/ssl/certs"}})),
            format!("{base}?ssl-mode=REQUIRED&ssl-capath=%2Fetc%2Fssl%2Fcerts")
        );
        // With a socket.
        let mut db = with_options(
            "mysql",
            json!({"ssl_mode": "REQUIRED", "unix_socket": "/s.sock"}),
        );
        assert_eq!(
            url(&db).ok().as_deref(),
            Some("mysql://u@db.example/lino?socket=%2Fs.sock&ssl-mode=REQUIRED")
        );
        db.host = "/run/mysqld".into();
        assert_eq!(
            url(&db).ok().as_deref(),
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
            let e = url(&with_options("mysql", bad.clone()))
                .err()
                .map(|e| e.to_string());
            let whole = format!("the site's DATABASES['default']['OPTIONS']{why}");
            assert_eq!(e.as_deref(), Some(whole.as_str()), "{bad}");
        }
    }
}
