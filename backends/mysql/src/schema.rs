//! The schema of the connection's database, from information_schema.

use std::collections::{BTreeMap, HashMap, HashSet};

use dump2py_model::schema::{Column, ForeignKey, Schema, Table};

use crate::types::{column_kind, normalize_declared};

/// Tables and views; sequences and system tables are not models.
pub const TABLES_SQL: &str = "SELECT TABLE_NAME FROM information_schema.TABLES \
     WHERE TABLE_SCHEMA = DATABASE() \
     AND TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')";

/// EXTRA says `VIRTUAL GENERATED` or `STORED GENERATED` (MySQL 8 also
/// `DEFAULT_GENERATED` for an expression default, which is no generated
/// column).
pub const COLUMNS_SQL: &str =
    "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, EXTRA \
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
     ORDER BY TABLE_NAME, ORDINAL_POSITION";

/// KEY_COLUMN_USAGE holds primary keys (always named `PRIMARY`), unique
/// keys and foreign keys. Not joined with TABLE_CONSTRAINTS for the type:
/// MariaDB shows a user with only SELECT none of its rows.
pub const KEYS_SQL: &str = "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, \
     CASE WHEN k.REFERENCED_TABLE_NAME IS NOT NULL THEN 'FOREIGN KEY' \
     WHEN k.CONSTRAINT_NAME = 'PRIMARY' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, \
     k.COLUMN_NAME, \
     k.REFERENCED_TABLE_SCHEMA = DATABASE(), k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME \
     FROM information_schema.KEY_COLUMN_USAGE k \
     WHERE k.TABLE_SCHEMA = DATABASE() \
     ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION";

/// MariaDB's JSON is `longtext` with a `json_valid()` check. MySQL has no
/// TABLE_NAME here (and a real JSON type): the query fails there and no
/// column is taken for JSON by its check.
pub const CHECKS_SQL: &str =
    "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
     WHERE CONSTRAINT_SCHEMA = DATABASE()";

/// Rows of the queries above, as text (`None` for NULL).
pub type Rows = Vec<Vec<Option<String>>>;

fn cell(row: &[Option<String>], i: usize) -> &str {
    row.get(i).and_then(|c| c.as_deref()).unwrap_or("")
}

/// The columns a check clause requires to be valid JSON:
/// `json_valid(`data`)` → `data`.
pub fn json_checked_columns(clause: &str) -> Vec<String> {
    let lower = clause.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("json_valid(") {
        let start = from + pos + "json_valid(".len();
        from = start;
        let rest = &clause[start..];
        let Some(ident) = rest.strip_prefix('`') else {
            continue;
        };
        // A backtick inside a quoted name is doubled.
        let mut name = String::new();
        let mut chars = ident.chars().peekable();
        let mut closed = false;
        while let Some(c) = chars.next() {
            if c == '`' {
                if chars.peek() == Some(&'`') {
                    chars.next();
                    name.push('`');
                } else {
                    closed = true;
                    break;
                }
            } else {
                name.push(c);
            }
        }
        if closed && chars.next() == Some(')') {
            out.push(name);
        }
    }
    out
}

fn is_generated(extra: &str) -> bool {
    let extra = extra.to_ascii_uppercase();
    extra.contains("VIRTUAL GENERATED") || extra.contains("STORED GENERATED")
}

/// Builds the schema; tables sorted by name (bytes, as SQLite's).
pub fn build(tables: &Rows, columns: &Rows, keys: &Rows, checks: &Rows) -> Schema {
    let mut json: HashSet<(String, String)> = HashSet::new();
    for row in checks {
        for col in json_checked_columns(cell(row, 1)) {
            json.insert((cell(row, 0).to_string(), col));
        }
    }
    let mut by_name: BTreeMap<String, Table> = tables
        .iter()
        .map(|r| {
            let name = cell(r, 0).to_string();
            (
                name.clone(),
                Table {
                    name,
                    columns: Vec::new(),
                    primary_key: Vec::new(),
                    foreign_keys: Vec::new(),
                    unique: Vec::new(),
                },
            )
        })
        .collect();
    for row in columns {
        let Some(table) = by_name.get_mut(cell(row, 0)) else {
            continue;
        };
        let name = cell(row, 1).to_string();
        let checked = json.contains(&(table.name.clone(), name.clone()));
        table.columns.push(Column {
            kind: column_kind(cell(row, 2), cell(row, 3), checked),
            declared_type: normalize_declared(cell(row, 3)),
            nullable: cell(row, 4).eq_ignore_ascii_case("YES"),
            generated: is_generated(cell(row, 5)),
            name,
        });
    }
    // Unique constraints by name, in the order the query gives.
    let mut unique: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for row in keys {
        let Some(table) = by_name.get_mut(cell(row, 0)) else {
            continue;
        };
        let column = cell(row, 3).to_string();
        // A foreign key may share its name with a unique key: the reference tells.
        let references = row.get(5).is_some_and(Option::is_some);
        match cell(row, 2) {
            "PRIMARY KEY" if !references => table.primary_key.push(column),
            "UNIQUE" if !references => unique
                .entry((table.name.clone(), cell(row, 1).to_string()))
                .or_default()
                .push(column),
            // A key to another database is no link between this dump's models.
            "FOREIGN KEY" if references && cell(row, 4) == "1" => {
                table.foreign_keys.push(ForeignKey {
                    column,
                    target_table: cell(row, 5).to_string(),
                    target_column: cell(row, 6).to_string(),
                })
            }
            _ => {}
        }
    }
    for ((table, _), cols) in unique {
        if let Some(t) = by_name.get_mut(&table) {
            t.unique.push(cols);
        }
    }
    for table in by_name.values_mut() {
        let position = |c: &str| table.columns.iter().position(|x| x.name == c);
        let mut fks = std::mem::take(&mut table.foreign_keys);
        fks.sort_by_key(|f| position(&f.column));
        table.foreign_keys = fks;
    }
    Schema {
        tables: by_name.into_values().collect(),
    }
}

/// Adds the tables that foreign keys point to but the user can't see (a
/// user without any privilege on a table doesn't find it in
/// information_schema): each with no columns, and the reason it can't be
/// read, by table.
pub fn add_invisible(schema: &mut Schema) -> HashMap<String, String> {
    let known: HashSet<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    let mut invisible: BTreeMap<String, String> = BTreeMap::new();
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            if !known.contains(fk.target_table.as_str()) {
                invisible.entry(fk.target_table.clone()).or_insert_with(|| {
                    format!(
                        "not visible to this user, who has no privilege on it (or it \
                             is gone); table {} has a foreign key to it",
                        t.name
                    )
                });
            }
        }
    }
    for name in invisible.keys() {
        schema.tables.push(Table {
            name: name.clone(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            unique: Vec::new(),
        });
    }
    // Sorted by name (bytes) as `build` gives them.
    schema.tables.sort_by(|a, b| a.name.cmp(&b.name));
    invisible.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dump2py_model::schema::ColumnKind;

    fn rows(r: &[&[Option<&str>]]) -> Rows {
        r.iter()
            .map(|r| r.iter().map(|c| c.map(String::from)).collect())
            .collect()
    }

    #[test]
    fn json_checks() {
        assert_eq!(json_checked_columns("json_valid(`data`)"), vec!["data"]);
        assert_eq!(
            json_checked_columns("JSON_VALID(`a``b`) and json_valid(`c`)"),
            vec!["a`b", "c"]
        );
        assert!(json_checked_columns("json_valid(concat(`x`, '1'))").is_empty());
        assert!(json_checked_columns("`pos` >= 0").is_empty());
    }

    #[test]
    fn tables_that_foreign_keys_name_but_the_user_cant_see() {
        let fk = |col: &str, target: &str| ForeignKey {
            column: col.into(),
            target_table: target.into(),
            target_column: "id".into(),
        };
        let table = |name: &str, fks: Vec<ForeignKey>| Table {
            name: name.into(),
            columns: Vec::new(),
            primary_key: vec!["id".into()],
            foreign_keys: fks,
            unique: Vec::new(),
        };
        let mut s = Schema {
            tables: vec![
                table("a_ref", vec![fk("h", "b_hidden"), fk("o", "c_open")]),
                table("c_open", vec![fk("h", "b_hidden")]),
            ],
        };
        let invisible = add_invisible(&mut s);
        let names: Vec<_> = s.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a_ref", "b_hidden", "c_open"]);
        assert!(s.tables[1].columns.is_empty());
        assert_eq!(invisible.len(), 1);
        assert!(
            invisible["b_hidden"].ends_with("table a_ref has a foreign key to it"),
            "{invisible:?}"
        );
    }

    #[test]
    fn builds_tables() {
        let s = build(
            &rows(&[&[Some("b_link")], &[Some("a")]]),
            &rows(&[
                &[
                    Some("a"),
                    Some("id"),
                    Some("bigint"),
                    Some("bigint(20)"),
                    Some("NO"),
                ],
                &[
                    Some("a"),
                    Some("doc"),
                    Some("longtext"),
                    Some("longtext"),
                    Some("YES"),
                    Some("DEFAULT_GENERATED"),
                ],
                &[
                    Some("b_link"),
                    Some("id"),
                    Some("int"),
                    Some("int(11)"),
                    Some("NO"),
                ],
                &[
                    Some("b_link"),
                    Some("y"),
                    Some("int"),
                    Some("int(11)"),
                    Some("NO"),
                    Some("STORED GENERATED"),
                ],
                &[
                    Some("b_link"),
                    Some("z"),
                    Some("int"),
                    Some("int(11)"),
                    Some("YES"),
                    Some("VIRTUAL GENERATED"),
                ],
                &[
                    Some("b_link"),
                    Some("x"),
                    Some("int"),
                    Some("int(11)"),
                    Some("NO"),
                ],
                &[
                    Some("gone"),
                    Some("x"),
                    Some("int"),
                    Some("int(11)"),
                    Some("NO"),
                ],
            ]),
            &rows(&[
                &[
                    Some("a"),
                    Some("PRIMARY"),
                    Some("PRIMARY KEY"),
                    Some("id"),
                    None,
                    None,
                    None,
                ],
                &[
                    Some("b_link"),
                    Some("PRIMARY"),
                    Some("PRIMARY KEY"),
                    Some("id"),
                    None,
                    None,
                    None,
                ],
                &[
                    Some("b_link"),
                    Some("fk1"),
                    Some("FOREIGN KEY"),
                    Some("x"),
                    Some("1"),
                    Some("a"),
                    Some("id"),
                ],
                &[
                    Some("b_link"),
                    Some("fk2"),
                    Some("FOREIGN KEY"),
                    Some("y"),
                    Some("1"),
                    Some("a"),
                    Some("id"),
                ],
                &[
                    Some("b_link"),
                    Some("fk3"),
                    Some("FOREIGN KEY"),
                    Some("y"),
                    Some("0"),
                    Some("a"),
                    Some("id"),
                ],
                &[
                    Some("b_link"),
                    Some("u"),
                    Some("UNIQUE"),
                    Some("x"),
                    None,
                    None,
                    None,
                ],
                &[
                    Some("b_link"),
                    Some("u"),
                    Some("UNIQUE"),
                    Some("y"),
                    None,
                    None,
                    None,
                ],
            ]),
            &rows(&[&[Some("a"), Some("json_valid(`doc`)")]]),
        );
        let names: Vec<_> = s.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b_link"]);
        let a = &s.tables[0];
        assert_eq!(a.columns[0].declared_type, "bigint");
        assert_eq!(a.columns[1].kind, ColumnKind::Json);
        assert!(a.columns[1].nullable && !a.columns[0].nullable);
        let link = &s.tables[1];
        assert_eq!(link.primary_key, ["id"]);
        let generated: Vec<_> = (link.columns.iter())
            .map(|c| (c.name.as_str(), c.generated))
            .collect();
        assert_eq!(
            generated,
            [("id", false), ("y", true), ("z", true), ("x", false)]
        );
        assert!(!a.columns.iter().any(|c| c.generated));
        let fk_cols: Vec<_> = link
            .foreign_keys
            .iter()
            .map(|f| f.column.as_str())
            .collect();
        assert_eq!(fk_cols, ["y", "x"]);
        assert_eq!(link.unique, vec![vec!["x".to_string(), "y".to_string()]]);
    }
}

/// The name of the entry that stands for the tables a user without
/// SELECT on the whole database can't see: `/` is in no MariaDB/MySQL
/// table name, so it can't be a real table's.
pub const UNSEEN: &str = "(tables invisible to this user)/*";

/// Whether the grants (lines of `SHOW GRANTS`) let the user read every
/// table of database `db`: SELECT (or ALL PRIVILEGES) on `*.*` or on a
/// database pattern matching `db`. A user with privileges on some tables
/// only doesn't see the others in information_schema at all.
pub fn reads_whole_database(grants: &[String], db: &str) -> bool {
    grants.iter().any(|g| {
        let Some((privileges, target)) = grant_parts(g) else {
            return false;
        };
        let select = split_top(privileges, ',').iter().any(|p| {
            let p = p.trim().to_ascii_uppercase();
            p == "SELECT" || p == "ALL PRIVILEGES" || p == "ALL"
        });
        select
            && match target {
                "*.*" => true,
                t => t
                    .strip_suffix(".*")
                    .and_then(unquote)
                    .is_some_and(|pattern| like(&pattern, db)),
            }
    })
}

/// `GRANT privileges ON target TO …` → (privileges, target); None for a
/// role's grant or a routine's.
fn grant_parts(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("GRANT ")?;
    let on = find_top(rest, " ON ")?;
    let (privileges, after) = (&rest[..on], &rest[on + 4..]);
    let to = find_top(after, " TO ")?;
    let target = after[..to].trim();
    let upper = target.to_ascii_uppercase();
    if upper.starts_with("PROCEDURE ") || upper.starts_with("FUNCTION ") {
        return None;
    }
    Some((privileges, target))
}

/// Where `needle` first occurs outside backquotes and parentheses.
fn find_top(text: &str, needle: &str) -> Option<usize> {
    let (mut quoted, mut depth) = (false, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '`' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            _ if !quoted && depth == 0 && text[i..].starts_with(needle) => return Some(i),
            _ => {}
        }
    }
    None
}

/// `text` split at `sep` outside backquotes and parentheses.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let (mut quoted, mut depth, mut start) = (false, 0usize, 0);
    let mut out = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '`' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            c if c == sep && !quoted && depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// `GRANT `role` TO …` → the role granted (None for any other line).
pub fn granted_role(line: &str) -> Option<String> {
    let rest = line.strip_prefix("GRANT ")?;
    if find_top(rest, " ON ").is_some() {
        return None;
    }
    let to = find_top(rest, " TO ")?;
    unquote(rest[..to].trim())
}

/// `` `name` `` (backquotes doubled inside) → name.
fn unquote(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('`')?.strip_suffix('`')?;
    Some(inner.replace("``", "`"))
}

/// A database pattern of a grant: `%` any run, `_` any one character,
/// `\` makes the next one literal.
fn like(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('%', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('_', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some(('\\', rest)) if !rest.is_empty() => {
                n.first() == Some(&rest[0]) && go(&rest[1..], &n[1..])
            }
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    go(&p, &n)
}

#[cfg(test)]
mod grant_tests {
    use super::*;

    fn reads(lines: &[&str], db: &str) -> bool {
        let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        reads_whole_database(&lines, db)
    }

    #[test]
    fn grants_that_cover_a_database() {
        let usage = "GRANT USAGE ON *.* TO `u`@`%`";
        assert!(reads(&[usage, "GRANT SELECT ON `d`.* TO `u`@`%`"], "d"));
        assert!(reads(
            &["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"],
            "d"
        ));
        assert!(reads(&["GRANT SELECT, INSERT ON *.* TO `u`@`%`"], "d"));
        assert!(reads(
            &["GRANT INSERT, SELECT ON `d\\_%`.* TO `u`@`%`"],
            "d_x"
        ));
        assert!(!reads(
            &["GRANT INSERT, SELECT ON `d\\_%`.* TO `u`@`%`"],
            "dax"
        ));
        assert!(reads(&["GRANT SELECT ON `d_b`.* TO `u`@`%`"], "dxb"));
        assert!(reads(&["GRANT SELECT ON `a``b`.* TO `u`@`%`"], "a`b"));
        assert!(!reads(&[usage], "d"));
        assert!(!reads(&[usage, "GRANT SELECT ON `d`.`t` TO `u`@`%`"], "d"));
        assert!(!reads(
            &["GRANT SELECT (`a`, `b`) ON `d`.* TO `u`@`%`"],
            "d"
        ));
        assert!(!reads(&["GRANT INSERT ON `d`.* TO `u`@`%`"], "d"));
        assert!(!reads(&["GRANT SELECT ON `other`.* TO `u`@`%`"], "d"));
        assert!(!reads(&["GRANT `r` TO `u`@`%`"], "d"));
        assert!(!reads(
            &["GRANT EXECUTE ON PROCEDURE `d`.`p` TO `u`@`%`"],
            "d"
        ));
        // A database named like a keyword of the statement.
        assert!(reads(&["GRANT SELECT ON ` TO `.* TO `u`@`%`"], " TO "));
    }
}
