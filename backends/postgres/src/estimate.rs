//! The server's own estimate of each table's rows, one query for all, as
//! the planner makes it: `pg_class.reltuples` per page of the last
//! VACUUM/ANALYZE, times the pages the table has now. For the progress bar
//! and the Python dump's first guess instead of a count before each read
//! (see `Source::estimate_rows`).

use std::collections::HashMap;

use dump2py_model::schema::Table;

use crate::PgSource;

const SQL: &str = "SELECT c.relname::text, CASE \
       WHEN c.reltuples < 0 THEN NULL \
       WHEN c.relpages = 0 THEN c.reltuples::int8 \
       ELSE (c.reltuples / c.relpages \
             * (pg_catalog.pg_relation_size(c.oid) \
                / pg_catalog.current_setting('block_size')::int8))::int8 END \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')";

impl PgSource {
    /// The estimate of each of `tables`; none where the server has none
    /// (never analyzed), or the query failed (in a savepoint: the read
    /// goes on).
    pub(crate) fn estimates(&mut self, tables: &[&Table]) -> Vec<Option<u64>> {
        let namespace = self.namespace.clone();
        let known = self.guarded("pg_class", |s| {
            let rows = s
                .block(s.client.query(SQL, &[&namespace]))
                .map_err(|e| dump2py_model::Error::table("pg_class", e.to_string()))?;
            let mut known = HashMap::new();
            for r in rows {
                let name: Option<String> = r.try_get(0).ok();
                let n: Option<i64> = r.try_get(1).ok().flatten();
                if let (Some(name), Some(n)) = (name, n) {
                    known.insert(name, n.max(0) as u64);
                }
            }
            Ok(known)
        });
        let known = known.unwrap_or_default();
        tables.iter().map(|t| known.get(&t.name).copied()).collect()
    }
}
