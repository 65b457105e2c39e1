//! The schema from pg_catalog: the tables and views of the current schema
//! (the first of search_path that exists), their columns in attnum order,
//! primary, foreign and unique keys.

use std::collections::HashMap;

use dump2py_model::schema::{Column, ForeignKey, Table};
use tokio_postgres::Client;

use crate::types::column_kind;

/// Per table, per column: the base type name and whether it has a collation.
pub type ColumnTypes = HashMap<String, Vec<(String, bool)>>;

/// Column names of a key, in the key's order, as an array expression.
fn key_names(rel: &str, keys: &str) -> String {
    format!(
        "ARRAY(SELECT a.attname::text FROM unnest({keys}) WITH ORDINALITY AS k(n, o) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.n ORDER BY k.o)"
    )
}

/// The catalog of schema `ns` (the one the connection chose, see
/// `PgSource::connect`).
pub async fn read(
    client: &Client,
    ns: &str,
) -> Result<(String, Vec<Table>, ColumnTypes), tokio_postgres::Error> {
    let ns = ns.to_string();
    let ns_filter = "(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1)";
    // Tables, partitioned tables, views, materialized views and foreign
    // tables; a partition's rows are read through its parent.
    let rels = client
        .query(
            &format!(
                "SELECT c.oid, c.relname::text FROM pg_catalog.pg_class c \
                 WHERE c.relnamespace = {ns_filter} AND c.relkind IN ('r', 'p', 'v', 'm', 'f') \
                 AND NOT c.relispartition ORDER BY c.relname"
            ),
            &[&ns],
        )
        .await?;
    let mut tables: Vec<Table> = Vec::with_capacity(rels.len());
    let mut by_oid: HashMap<u32, usize> = HashMap::new();
    for r in &rels {
        let oid: u32 = r.try_get(0)?;
        by_oid.insert(oid, tables.len());
        tables.push(Table {
            name: r.try_get(1)?,
            columns: Vec::new(),
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            unique: Vec::new(),
        });
    }
    let mut types: ColumnTypes = HashMap::new();
    // Generated columns came with PostgreSQL 12 (`s` stored, 18 `v` virtual).
    let version: String = client
        .query_one("SELECT current_setting('server_version_num')", &[])
        .await?
        .try_get(0)?;
    let generated = if version.parse::<u32>().unwrap_or(0) >= 120000 {
        "a.attgenerated <> ''"
    } else {
        "false"
    };
    // A domain is read as its base type (one level of domains).
    let cols = client
        .query(
            &format!(
                "SELECT a.attrelid, a.attname::text, \
                 pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                 b.typname::text, a.attcollation <> 0, {generated} \
                 FROM pg_catalog.pg_attribute a \
                 JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
                 JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                 JOIN pg_catalog.pg_type b ON b.oid = \
                   CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
                 WHERE c.relnamespace = {ns_filter} AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attrelid, a.attnum"
            ),
            &[&ns],
        )
        .await?;
    for r in &cols {
        let oid: u32 = r.try_get(0)?;
        let Some(&i) = by_oid.get(&oid) else {
            continue;
        };
        let name: String = r.try_get(1)?;
        let declared: String = r.try_get(2)?;
        let notnull: bool = r.try_get(3)?;
        let base: String = r.try_get(4)?;
        let collatable: bool = r.try_get(5)?;
        let generated: bool = r.try_get(6)?;
        let t = &mut tables[i];
        t.columns.push(Column {
            kind: column_kind(&base, &declared),
            name,
            declared_type: declared,
            nullable: !notnull,
            generated,
        });
        types
            .entry(t.name.clone())
            .or_default()
            .push((base, collatable));
    }
    let keys = client
        .query(
            &format!(
                "SELECT c.conrelid, c.contype::text, {}, \
                 coalesce(f.relname::text, ''), {} \
                 FROM pg_catalog.pg_constraint c \
                 JOIN pg_catalog.pg_class r ON r.oid = c.conrelid \
                 LEFT JOIN pg_catalog.pg_class f ON f.oid = c.confrelid \
                 WHERE r.relnamespace = {ns_filter} AND c.contype IN ('p', 'f') \
                 ORDER BY c.conrelid, c.conname",
                key_names("c.conrelid", "c.conkey"),
                key_names("c.confrelid", "c.confkey"),
            ),
            &[&ns],
        )
        .await?;
    for r in &keys {
        let oid: u32 = r.try_get(0)?;
        let Some(&i) = by_oid.get(&oid) else {
            continue;
        };
        let kind: String = r.try_get(1)?;
        let cols: Vec<String> = r.try_get(2)?;
        let target: String = r.try_get(3)?;
        let target_cols: Vec<String> = r.try_get(4)?;
        let t = &mut tables[i];
        if kind == "p" {
            t.primary_key = cols;
        } else {
            for (column, target_column) in cols.into_iter().zip(target_cols) {
                t.foreign_keys.push(ForeignKey {
                    column,
                    target_table: target.clone(),
                    target_column,
                });
            }
        }
    }
    // Unique constraints and unique indexes on plain columns (not partial,
    // no expressions), by index name as the SQLite source lists them.
    let uniques = client
        .query(
            &format!(
                "SELECT i.indrelid, ARRAY(SELECT a.attname::text \
                   FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(n, o) \
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n \
                   WHERE k.o <= i.indnkeyatts ORDER BY k.o) \
                 FROM pg_catalog.pg_index i \
                 JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
                 JOIN pg_catalog.pg_class r ON r.oid = i.indrelid \
                 WHERE r.relnamespace = {ns_filter} AND i.indisunique AND NOT i.indisprimary \
                 AND i.indexprs IS NULL AND i.indpred IS NULL \
                 ORDER BY ic.relname"
            ),
            &[&ns],
        )
        .await?;
    for r in &uniques {
        let oid: u32 = r.try_get(0)?;
        if let Some(&i) = by_oid.get(&oid) {
            tables[i].unique.push(r.try_get(1)?);
        }
    }
    Ok((ns, tables, types))
}
