use super::*;
use crate::read::select_sql;
use crate::types::Conv;
use dump2py_model::schema::{Column, ColumnKind};

fn col(name: &str, kind: ColumnKind) -> Column {
    Column {
        name: name.into(),
        declared_type: String::new(),
        kind,
        nullable: false,
        generated: false,
    }
}

#[test]
fn selects_in_key_order() {
    let mut t = Table {
        name: "a`b".into(),
        columns: vec![col("code", ColumnKind::Text), col("n", ColumnKind::Int)],
        primary_key: vec!["code".into()],
        foreign_keys: vec![],
        unique: vec![],
    };
    let convs: Vec<Conv> = t.columns.iter().filter_map(Conv::of).collect();
    assert_eq!(
        select_sql(&t, &convs, ""),
        "SELECT `code`, `n` FROM `a``b` ORDER BY CAST(`code` AS BINARY)"
    );
    t.primary_key.clear();
    assert_eq!(
        select_sql(&t, &convs, ""),
        "SELECT `code`, `n` FROM `a``b` ORDER BY CAST(`code` AS BINARY), `n`"
    );
    t.primary_key = vec!["n".into()];
    assert!(select_sql(&t, &convs, "").ends_with("ORDER BY `n`"));
}

#[test]
fn unreachable_server_is_a_clear_error() {
    // Nothing listens on port 1; refused at once, and no password shown.
    let err = MysqlSource::open("mysql://u:s3cret@127.0.0.1:1/db")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("can't connect to MariaDB/MySQL at 127.0.0.1:1: "),
        "{err}"
    );
    assert!(!err.contains("s3cret"));
}

#[test]
fn registered_for_both_schemes() {
    let f = dump2py_plugin::registry::sources()
        .into_iter()
        .find(|f| f.name == "mysql");
    assert_eq!(f.map(|f| f.schemes), Some(&["mysql", "mariadb"][..]));
}
