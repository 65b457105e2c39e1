//! The rows of a Python dump's data file, as the Python literals of their
//! columns.

use std::path::Path;

/// A Python call's arguments, split at its top-level commas.
fn split_args(s: &str) -> Vec<String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    let (mut depth, mut quote, mut escaped) = (0i32, None::<char>, false);
    for c in s.chars() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

/// `loader.save(create_t(1,'a,b',date(1,2,3)))` → `["1", "'a,b'",
/// "date(1,2,3)"]`; None for any other line.
pub fn row_args(line: &str) -> Option<Vec<String>> {
    let inner = line
        .strip_prefix("loader.save(create_")?
        .strip_suffix("))")?;
    Some(split_args(&inner[inner.find('(')? + 1..]))
}

/// The arguments of each `loader.save(create_<table>(...))` line of the
/// table's data file: its columns' Python literals.
pub fn rows_of(dump: &Path, table: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dump.join(format!("{table}.py"))).expect("data file");
    let prefix = format!("loader.save(create_{table}(");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .map(|l| row_args(l).unwrap_or_else(|| panic!("{table}: not a call: {l}")))
        .collect()
}

/// Checks one row: each column's Python literal.
pub fn check_row(table: &str, row: &[String], expected: &[(&str, &str)]) {
    assert_eq!(row.len(), expected.len(), "{table}: columns of {row:?}");
    for (got, (column, want)) in row.iter().zip(expected) {
        assert_eq!(got, want, "{table}.{column} of row {}", row[0]);
    }
}

/// Checks a table's rows column by column.
pub fn assert_rows<'a, R: AsRef<[&'a str]>>(
    dump: &Path,
    table: &str,
    columns: &[&str],
    expected: &[R],
) {
    let got = rows_of(dump, table);
    assert_eq!(got.len(), expected.len(), "{table}: rows");
    for (row, want) in got.iter().zip(expected) {
        let want = want.as_ref();
        assert_eq!(want.len(), columns.len(), "{table}: expected {want:?}");
        let pairs: Vec<(&str, &str)> = columns.iter().copied().zip(want.iter().copied()).collect();
        check_row(table, row, &pairs);
    }
}
