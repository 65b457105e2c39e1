//! Site schemas written by hand, as `--export-site-schema` saves them, for
//! tests of `--site-schema` on databases that no Lino site made.

/// The schema of one app `app` on a database of Django's `engine`
/// (`mysql`, `postgresql`, `sqlite3`) named `db`: per `(ObjectName,
/// table)` a model whose fields are the columns `id` and `name`. Names
/// are plain ASCII, written without escaping.
pub fn site_schema(engine: &str, db: &str, models: &[(&str, &str)]) -> String {
    let field = |name: &str, internal: &str, pk: bool| {
        format!(
            r#"{{"name": "{name}", "attname": "{name}", "column": "{name}",
            "internal_type": "{internal}", "primary_key": {pk}, "null": false,
            "decimal_places": null, "max_digits": null, "related_model": null,
            "through": null, "choicelist": null, "babel_columns": [],
            "babel_variant": false}}"#
        )
    };
    let fields = [
        field("id", "IntegerField", true),
        field("name", "CharField", false),
    ]
    .join(", ");
    let models: Vec<String> = models
        .iter()
        .map(|(object, table)| {
            format!(
                r#"{{"app_label": "app", "object_name": "{object}", "db_table": "{table}",
                "proxy": false, "auto_created": false, "managed": true, "parent": null,
                "fields": [{fields}]}}"#
            )
        })
        .collect();
    format!(
        r#"{{"format": 1, "settings_module": "app.settings", "version": null,
        "time_zone": null, "use_tz": false, "languages": [], "apps": ["app"],
        "database": {{"engine": "django.db.backends.{engine}", "name": "{db}"}},
        "models": [{}]}}"#,
        models.join(", ")
    )
}
