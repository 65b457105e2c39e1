//! The server's own estimate of each table's rows (`TABLE_ROWS`), one
//! query for all: InnoDB counts by scanning, as long as a read, so the
//! pipeline asks this instead (for the progress bar and the Python dump's
//! first guess; see `Source::estimate_rows`).

use std::collections::HashMap;

use dump2py_model::schema::Table;

use crate::MysqlSource;

const SQL: &str = "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES \
                   WHERE TABLE_SCHEMA = DATABASE() AND TABLE_ROWS IS NOT NULL";

impl MysqlSource {
    /// `TABLE_ROWS` of each of `tables`; none where the server has none
    /// (or the query fails: an estimate is never needed).
    pub(crate) fn estimates(&mut self, tables: &[&Table]) -> Vec<Option<u64>> {
        let known: HashMap<String, u64> = (self.rows(SQL).unwrap_or_default().into_iter())
            .filter_map(|r| {
                let name = r.first()?.clone()?;
                let rows = r.get(1)?.as_deref()?.parse().ok()?;
                Some((name, rows))
            })
            .collect();
        tables.iter().map(|t| known.get(&t.name).copied()).collect()
    }
}
