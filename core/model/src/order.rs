//! A read in the order (and with the rows) of a Django queryset, as the
//! database itself orders them: what `dumpdata` writes in the database's
//! collation, not bytewise.
//!
//! A [`ReadOrder`] is built from the site metadata (`sitemeta.py` resolves
//! `order_by()` names through relations and MTI parents to columns behind
//! joins, as Django's compiler does, and compiles what a default manager
//! hides to the SQL of the primary keys it shows). A source renders it
//! with [`ReadOrder::select`]: `SELECT t.… FROM table AS t LEFT JOIN … WHERE
//! t.key IN (…) ORDER BY …`, with no `COLLATE`: the columns' own collations,
//! as Django's queries have them.

use crate::error::{Error, Result};

/// `LEFT JOIN table AS j<n> ON j<n>.to_column = <from>.column`, `from`
/// being the alias index of an earlier join (0: the table read, `t`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Join {
    pub from: usize,
    pub column: String,
    pub table: String,
    pub to_column: String,
}

/// One `ORDER BY` term: a column of alias `alias` (0: the table read).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Term {
    pub alias: usize,
    pub column: String,
    pub desc: bool,
}

/// A parameter of a filter's SQL, as Django passed it to its driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Param {
    /// A parameter as `sitemeta.py` writes it; None for anything but
    /// null, a boolean, a number or text.
    pub fn from_json(v: &serde_json::Value) -> Option<Param> {
        match v {
            serde_json::Value::Null => Some(Param::Null),
            serde_json::Value::Bool(b) => Some(Param::Bool(*b)),
            serde_json::Value::String(s) => Some(Param::Text(s.clone())),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Some(Param::Int(i)),
                None => n.as_f64().map(Param::Float),
            },
            _ => None,
        }
    }
}

/// `WHERE t.column IN (sql)`: `sql` is Django's SQL of the primary keys a
/// default manager shows, for the database `vendor` (Django's
/// `connection.vendor`: `sqlite`, `postgresql`, `mysql`), `%s` standing
/// for each parameter and `%%` for `%`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub column: String,
    /// The model whose manager it is, for messages.
    pub model: String,
    pub vendor: String,
    pub sql: String,
    pub params: Vec<Param>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOrder {
    pub joins: Vec<Join>,
    pub terms: Vec<Term>,
    pub filters: Vec<Filter>,
}

/// How a source writes SQL: its quoting, its literals, its vendor name.
pub trait Dialect {
    /// Django's `connection.vendor` of this database.
    fn vendor(&self) -> &'static str;
    fn quote(&self, ident: &str) -> String;
    /// A table name as the source's own reads name it (qualified by its
    /// schema, say); the quoted name by default.
    fn table(&self, name: &str) -> String {
        self.quote(name)
    }
    /// A literal of `p`; an error says why it can't be written.
    fn literal(&self, p: &Param) -> std::result::Result<String, String>;
}

impl ReadOrder {
    /// The join that follows `column` of alias `from` to `table`.`to_column`
    /// (one per path: `a__b` and `a__c` share `a`'s).
    pub fn join(&mut self, from: usize, column: &str, table: &str, to_column: &str) -> usize {
        let join = Join {
            from,
            column: column.to_string(),
            table: table.to_string(),
            to_column: to_column.to_string(),
        };
        match self.joins.iter().position(|j| *j == join) {
            Some(i) => i + 1,
            None => {
                self.joins.push(join);
                self.joins.len()
            }
        }
    }

    /// Whether this read is the table's primary-key order, ascending,
    /// with every row: then it is the source's own read, but for the
    /// collation of text keys.
    pub fn is_key_order(&self, key: &[String]) -> bool {
        self.joins.is_empty()
            && self.filters.is_empty()
            && self.terms.len() == key.len()
            && (self.terms.iter().zip(key)).all(|(t, k)| t.alias == 0 && !t.desc && t.column == *k)
    }

    /// `SELECT <columns> FROM <table> AS t …`: `columns` are the select's
    /// expressions (of alias `t`), `table` the quoted (qualified) table.
    pub fn select(&self, d: &dyn Dialect, table: &str, columns: &[String]) -> Result<String> {
        let alias = |i: usize| match i {
            0 => "t".to_string(),
            n => format!("j{n}"),
        };
        let mut sql = format!("SELECT {} FROM {table} AS t", columns.join(", "));
        for (n, j) in self.joins.iter().enumerate() {
            let a = alias(n + 1);
            sql.push_str(&format!(
                " LEFT JOIN {} AS {a} ON {a}.{} = {}.{}",
                d.table(&j.table),
                d.quote(&j.to_column),
                alias(j.from),
                d.quote(&j.column)
            ));
        }
        for (n, f) in self.filters.iter().enumerate() {
            sql.push_str(if n == 0 { " WHERE " } else { " AND " });
            sql.push_str(&format!("t.{} IN ({})", d.quote(&f.column), f.inline(d)?));
        }
        if !self.terms.is_empty() {
            let terms: Vec<String> = (self.terms.iter())
                .map(|t| {
                    let dir = if t.desc { " DESC" } else { "" };
                    format!("{}.{}{dir}", alias(t.alias), d.quote(&t.column))
                })
                .collect();
            sql.push_str(" ORDER BY ");
            sql.push_str(&terms.join(", "));
        }
        Ok(sql)
    }
}

impl Filter {
    /// The SQL with its parameters written as literals of `d`'s dialect
    /// (`%s` each parameter, `%%` a `%`): for a database of another
    /// vendor than the one it was compiled for, an error.
    pub fn inline(&self, d: &dyn Dialect) -> Result<String> {
        let err = |why: String| {
            Error::Usage(format!(
                "model {}: its default manager's queryset {why} (dumpdata --all writes \
                 every row; see README, \"Default managers\")",
                self.model
            ))
        };
        if self.vendor != d.vendor() {
            return Err(err(format!(
                "was compiled for a {} database, not {} (export the site schema with \
                 the database's settings)",
                self.vendor,
                d.vendor()
            )));
        }
        let mut out = String::with_capacity(self.sql.len());
        let mut params = self.params.iter();
        let mut chars = self.sql.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some('s') => {
                    let p = params
                        .next()
                        .ok_or_else(|| err("has fewer parameters than placeholders".into()))?;
                    out.push_str(&d.literal(p).map_err(|e| err(format!("has {e}")))?);
                }
                _ => return Err(err("has a '%' that is not a placeholder".into())),
            }
        }
        if params.next().is_some() {
            return Err(err("has more parameters than placeholders".into()));
        }
        Ok(out)
    }
}

/// A text literal between single quotes, each quote doubled; an error for
/// a NUL, which no SQL text holds.
pub fn quoted_text(s: &str) -> std::result::Result<String, String> {
    if s.contains('\0') {
        return Err("a text parameter with a NUL character".into());
    }
    Ok(format!("'{}'", s.replace('\'', "''")))
}

/// A float literal that reads back as itself; NaN and infinities can't.
pub fn float_literal(f: f64) -> std::result::Result<String, String> {
    if !f.is_finite() {
        return Err(format!("a float parameter {f} that SQL can't write"));
    }
    Ok(format!("{f:e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct D;
    impl Dialect for D {
        fn vendor(&self) -> &'static str {
            "sqlite"
        }
        fn quote(&self, ident: &str) -> String {
            format!("\"{}\"", ident.replace('"', "\"\""))
        }
        fn literal(&self, p: &Param) -> std::result::Result<String, String> {
            match p {
                Param::Null => Ok("NULL".into()),
                Param::Bool(b) => Ok(u8::from(*b).to_string()),
                Param::Int(n) => Ok(n.to_string()),
                Param::Float(f) => float_literal(*f),
                Param::Text(t) => quoted_text(t),
            }
        }
    }

    fn filter(sql: &str, params: Vec<Param>) -> Filter {
        Filter {
            column: "id".into(),
            model: "a.Spy".into(),
            vendor: "sqlite".into(),
            sql: sql.into(),
            params,
        }
    }

    #[test]
    fn joins_filters_and_terms() {
        let mut o = ReadOrder::default();
        let ct = o.join(0, "content_type_id", "django_content_type", "id");
        assert_eq!(
            o.join(0, "content_type_id", "django_content_type", "id"),
            ct
        );
        o.terms.push(Term {
            alias: ct,
            column: "app_label".into(),
            desc: false,
        });
        o.terms.push(Term {
            alias: 0,
            column: "codename".into(),
            desc: true,
        });
        o.filters.push(filter(
            "SELECT x FROM y WHERE a = %s AND b LIKE '%%o' AND c = %s",
            vec![Param::Text("it's".into()), Param::Bool(false)],
        ));
        let sql = o.select(&D, "\"p\"", &["t.\"id\"".into()]).expect("sql");
        assert_eq!(
            sql,
            "SELECT t.\"id\" FROM \"p\" AS t LEFT JOIN \"django_content_type\" AS j1 \
             ON j1.\"id\" = t.\"content_type_id\" WHERE t.\"id\" IN (SELECT x FROM y WHERE \
             a = 'it''s' AND b LIKE '%o' AND c = 0) ORDER BY j1.\"app_label\", t.\"codename\" DESC"
        );
        assert!(!o.is_key_order(&["id".into()]));
        let key = ReadOrder {
            terms: vec![Term {
                alias: 0,
                column: "id".into(),
                desc: false,
            }],
            ..ReadOrder::default()
        };
        assert!(key.is_key_order(&["id".into()]));
    }

    #[test]
    fn filters_of_another_vendor_or_with_bad_placeholders_fail() {
        let mut f = filter("SELECT 1", vec![]);
        f.vendor = "postgresql".into();
        let e = f
            .inline(&D)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("model a.Spy: its default manager's queryset was compiled for a postgresql database, not sqlite"), "{e}");
        for (sql, params) in [
            ("a = %s", vec![]),
            ("a = 1", vec![Param::Int(1)]),
            ("a %d", vec![]),
        ] {
            assert!(filter(sql, params).inline(&D).is_err(), "{sql}");
        }
        assert_eq!(
            filter("a = %s", vec![Param::Float(0.5)]).inline(&D).ok(),
            Some("a = 5e-1".into())
        );
    }
}
