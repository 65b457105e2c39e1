//! The SQL of the reads: the columns as Django reads them, the order of
//! the rows, key ranges.

use dump2py_model::error::Result;
use dump2py_model::order::{float_literal, quoted_text, Dialect, Param, ReadOrder};
use dump2py_model::schema::{ColumnKind, Table};
use dump2py_plugin::KeyRange;

use crate::{types, ColInfo, PgSource};

impl PgSource {
    pub(crate) fn qualified(&self, table: &str) -> String {
        match self.catalog.get() {
            Some(c) => format!("{}.{}", quote(&c.namespace), quote(table)),
            None => quote(table),
        }
    }

    pub(crate) fn col_info(&self, table: &Table) -> Vec<ColInfo> {
        match self.catalog.get().and_then(|c| c.columns.get(&table.name)) {
            Some(info) if info.len() == table.columns.len() => info.clone(),
            // A table not from `schema`: judge by what it says.
            _ => table
                .columns
                .iter()
                .map(|c| ColInfo {
                    base: c.declared_type.clone(),
                    collatable: c.kind == ColumnKind::Text
                        && !types::read_as_text(&c.declared_type),
                })
                .collect(),
        }
    }

    /// The query that reads `table` in primary-key order. Text keys are
    /// ordered bytewise (`COLLATE "C"`), as SQLite orders them, so that the
    /// same rows give the same dump on either database.
    /// The tables of `namespace` stored out of their key's order, read in
    /// key order with a scan and a sort rather than the key's index: those
    /// whose first key column has a `pg_stats.correlation` between -0.9
    /// and 0.9 (bench/pg-order.sh: where a table is cached the planner
    /// takes the index either way, and an index scan of a table stored in
    /// random order read 2.5 times slower than the sort, of one stored in
    /// key order 1.3 times faster). A table without statistics is left to
    /// the planner.
    pub(crate) fn scattered(
        &self,
        namespace: &str,
        tables: &[Table],
    ) -> std::result::Result<std::collections::HashSet<String>, tokio_postgres::Error> {
        let rows = self.block(self.client.query(
            "SELECT s.tablename::text, s.attname::text FROM pg_catalog.pg_stats s \
             WHERE s.schemaname = $1 AND abs(s.correlation) < 0.9",
            &[&namespace],
        ))?;
        let mut scattered = std::collections::HashSet::new();
        for r in rows {
            let (t, c): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let first_key =
                (tables.iter().find(|x| x.name == t)).and_then(|x| x.primary_key.first());
            if first_key == Some(&c) {
                scattered.insert(t);
            }
        }
        Ok(scattered)
    }

    /// The key column of `table` as the select names it, if its primary
    /// key is one int2, int4 or int8 column (what [`KeyRange`]s split).
    pub(crate) fn int_key(&self, table: &Table) -> Option<String> {
        let [key] = table.primary_key.as_slice() else {
            return None;
        };
        let idx = table.column_index(key)?;
        let info = self.col_info(table);
        matches!(info.get(idx)?.base.as_str(), "int2" | "int4" | "int8")
            .then(|| format!("t.{}", quote(key)))
    }

    /// `select_sql` of the rows in `range` (all when None). The bounds are
    /// literals (COPY takes no parameters), cast to int8 so that the key's
    /// index serves any int column.
    pub(crate) fn range_sql(&self, table: &Table, range: Option<KeyRange>) -> Result<String> {
        let Some(range) = range else {
            return Ok(self.select_sql(table, ""));
        };
        let key = self
            .int_key(table)
            .ok_or_else(|| KeyRange::unsplittable(&table.name))?;
        let filter = range.sql_filter(&key, |v| format!("'{v}'::int8"));
        Ok(self.select_sql(table, &filter))
    }

    /// The expressions that select `table`'s columns as Django reads them.
    pub(crate) fn select_exprs(&self, table: &Table) -> Vec<String> {
        let info = self.col_info(table);
        table
            .columns
            .iter()
            .zip(&info)
            .map(|(c, i)| {
                let col = format!("t.{}", quote(&c.name));
                match i.base.as_str() {
                    // inet's own output, as Django reads it: no /32 on a
                    // host address (text(inet) would add it).
                    "inet" => format!(
                        "CASE WHEN masklen({col}) = CASE family({col}) WHEN 4 THEN 32 ELSE 128 END \
                         THEN host({col}) ELSE text({col}) END"
                    ),
                    "cidr" => format!("text({col})"),
                    _ => col,
                }
            })
            .collect()
    }

    /// The statement of a read in `order`: the columns as [`select_sql`]
    /// selects them, the order without `COLLATE`.
    pub(crate) fn ordered_sql(&self, table: &Table, order: &ReadOrder) -> Result<String> {
        let dialect = Postgres {
            namespace: self.catalog.get().map(|c| c.namespace.as_str()),
        };
        order.select(
            &dialect,
            &self.qualified(&table.name),
            &self.select_exprs(table),
        )
    }

    /// `filter` is a WHERE clause (with a leading space) or empty.
    pub(crate) fn select_sql(&self, table: &Table, filter: &str) -> String {
        let info = self.col_info(table);
        let exprs = self.select_exprs(table);
        let order_col = |name: &str| -> Option<String> {
            let idx = table.column_index(name)?;
            let (c, i) = (&table.columns[idx], &info[idx]);
            match &c.kind {
                ColumnKind::Unsupported(_) => None,
                // json has no ordering operator (jsonb has).
                ColumnKind::Json if i.base == "json" => None,
                _ if i.collatable => Some(format!("t.{} COLLATE \"C\"", quote(name))),
                _ => Some(format!("t.{}", quote(name))),
            }
        };
        let keys: Vec<String> = if table.primary_key.is_empty() {
            table
                .columns
                .iter()
                .filter_map(|c| order_col(&c.name))
                .collect()
        } else {
            table
                .primary_key
                .iter()
                .filter_map(|c| order_col(c))
                .collect()
        };
        let mut sql = format!(
            "SELECT {} FROM {} AS t{filter}",
            exprs.join(", "),
            self.qualified(&table.name)
        );
        if !keys.is_empty() {
            sql.push_str(" ORDER BY ");
            sql.push_str(&keys.join(", "));
        }
        sql
    }
}

/// PostgreSQL's SQL for [`ReadOrder`]s: joined tables in the schema the
/// source reads.
struct Postgres<'a> {
    namespace: Option<&'a str>,
}

impl Dialect for Postgres<'_> {
    fn vendor(&self) -> &'static str {
        "postgresql"
    }
    fn quote(&self, ident: &str) -> String {
        quote(ident)
    }
    fn table(&self, name: &str) -> String {
        match self.namespace {
            Some(n) => format!("{}.{}", quote(n), quote(name)),
            None => quote(name),
        }
    }
    fn literal(&self, p: &Param) -> std::result::Result<String, String> {
        match p {
            Param::Null => Ok("NULL".into()),
            Param::Bool(b) => Ok(if *b { "TRUE" } else { "FALSE" }.into()),
            Param::Int(n) => Ok(n.to_string()),
            Param::Float(f) => float_literal(*f),
            // E'' whatever standard_conforming_strings says: backslashes
            // and quotes doubled.
            Param::Text(t) => quoted_text(&t.replace('\\', "\\\\")).map(|q| format!("E{q}")),
        }
    }
}

pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}
