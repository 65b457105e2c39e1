//! `--languages` against the database, without site metadata: babel
//! fields are folded only where every language after the first has a
//! column `NAME_<code>` beside a text column `NAME`, and their values are
//! written in the order given. So a code that matches no column, a
//! default language that has columns of its own, or an order other than
//! the columns' would silently write another dump than Lino's: each is an
//! error saying what the database has. Columns that look like a language
//! not given are a warning (a name such as `title_short` may look so too).

use std::collections::BTreeMap;

use dump2py_model::error::{Error, Result};
use dump2py_model::schema::{ColumnKind, Schema, Table};

/// The text columns `NAME_<suffix>` beside a text column `NAME`, by
/// suffix: `table.column` in schema order; only suffixes that look like a
/// language code (`de`, `pt_br`, `zh_hant`) and are either given or found
/// at least twice (Lino's `street_no` and `street_box` are no languages).
fn suffixed(schema: &Schema, languages: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for table in &schema.tables {
        for stem in text_columns(table) {
            for c in text_columns(table) {
                let Some(suffix) = c.strip_prefix(stem).and_then(|r| r.strip_prefix('_')) else {
                    continue;
                };
                if looks_like_code(suffix) || languages.iter().any(|l| l == suffix) {
                    (found.entry(suffix.to_string()).or_default())
                        .push(format!("{}.{c}", table.name));
                }
            }
        }
    }
    found.retain(|s, columns| {
        columns.len() > 1 || languages.iter().any(|l| l.eq_ignore_ascii_case(s))
    });
    found
}

/// Text columns that are no foreign key, as babel fields are.
fn text_columns(table: &Table) -> impl Iterator<Item = &str> {
    (table.columns.iter())
        .filter(move |c| c.kind == ColumnKind::Text && table.foreign_key(&c.name).is_none())
        .map(|c| c.name.as_str())
}

fn looks_like_code(s: &str) -> bool {
    let mut parts = s.split('_');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && rest.len() <= 1
        && rest
            .iter()
            .all(|p| (2..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `de (contacts_partner.name_de, … 12 columns)`.
fn described(suffix: &str, columns: &[String]) -> String {
    match columns {
        [one] => format!("{suffix} ({one})"),
        [first, ..] => format!("{suffix} ({first}, … {} columns)", columns.len()),
        [] => suffix.to_string(),
    }
}

/// The suffixes in the order of their columns in the first table that has
/// them all: the site's languages after the default, as Django created
/// the columns.
fn column_order(schema: &Schema, found: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut best: Vec<String> = Vec::new();
    for table in &schema.tables {
        let mut here: Vec<(usize, &str)> = Vec::new();
        for stem in text_columns(table) {
            for (i, c) in table.columns.iter().enumerate() {
                let suffix = c.name.strip_prefix(stem).and_then(|r| r.strip_prefix('_'));
                if let Some(s) = suffix.filter(|s| found.contains_key(*s)) {
                    if !here.iter().any(|(_, h)| *h == s) {
                        here.push((i, s));
                    }
                }
            }
        }
        here.sort();
        if here.len() > best.len() {
            best = here.into_iter().map(|(_, s)| s.to_string()).collect();
        }
    }
    best
}

/// Checks `languages` (the first is the site's default) against the
/// schema; the warnings to show.
pub fn check(schema: &Schema, languages: &[String]) -> Result<Vec<String>> {
    let Some((default, others)) = languages.split_first() else {
        return Ok(Vec::new());
    };
    let given = languages.join(",");
    let found = suffixed(schema, languages);
    let order = column_order(schema, &found);
    let suggestion = if order.is_empty() {
        String::new()
    } else {
        format!("; e.g. --languages DEFAULT,{}", order.join(","))
    };
    let what_is_there = || {
        if found.is_empty() {
            "no column has a language suffix (NAME_de beside NAME)".to_string()
        } else {
            let list: Vec<String> = found.iter().map(|(s, c)| described(s, c)).collect();
            format!("the columns have the suffixes {}", list.join(", "))
        }
    };
    let usage = |why: String| Err(Error::Usage(format!("--languages {given}: {why}")));
    for code in others {
        if found.contains_key(code) {
            continue;
        }
        let hint = match found.keys().find(|s| s.eq_ignore_ascii_case(code)) {
            Some(s) => format!(" (codes are case-sensitive: {s})"),
            None => String::new(),
        };
        return usage(format!(
            "no text column NAME_{code} beside a column NAME, so no babel field would be \
             folded{hint}; {}{suggestion}",
            what_is_there()
        ));
    }
    if let Some(columns) = found.get(default) {
        return usage(format!(
            "the first language is the site's default, whose values are the columns without a \
             suffix, but {default} has columns of its own: {}{suggestion}",
            described(default, columns)
        ));
    }
    // The values are written in the order given, and restored in the
    // site's: the same order as the columns.
    let listed: Vec<&String> = order.iter().filter(|s| others.contains(s)).collect();
    if listed.len() == others.len() && listed.iter().zip(others).any(|(a, b)| *a != b) {
        let listed: Vec<&str> = listed.iter().map(|s| s.as_str()).collect();
        return usage(format!(
            "the columns are in the order {}: give the languages in the site's order \
             (--languages {default},{})",
            listed.join(", "),
            listed.join(",")
        ));
    }
    let missing: Vec<String> = (found.iter())
        .filter(|(s, _)| !languages.contains(s))
        .map(|(s, c)| described(s, c))
        .collect();
    Ok(match missing.is_empty() {
        true => Vec::new(),
        false => vec![format!(
            "--languages {given}: columns with the suffixes {} look like babel values of \
             languages not given; they are dumped as fields of their own{suggestion}",
            missing.join(", ")
        )],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dump2py_model::schema::Column;

    fn table(name: &str, columns: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: (columns.iter())
                .map(|c| Column {
                    name: c.to_string(),
                    declared_type: "text".into(),
                    kind: if *c == "id" {
                        ColumnKind::Int
                    } else {
                        ColumnKind::Text
                    },
                    nullable: true,
                    generated: false,
                })
                .collect(),
            primary_key: vec!["id".into()],
            foreign_keys: Vec::new(),
            unique: Vec::new(),
        }
    }

    fn err(schema: &Schema, langs: &str) -> String {
        let langs: Vec<String> = langs.split(',').map(str::to_string).collect();
        match check(schema, &langs) {
            Err(e) => e.to_string(),
            Ok(w) => format!("ok {w:?}"),
        }
    }

    #[test]
    fn languages_must_match_the_columns() {
        let schema = Schema {
            tables: vec![
                table(
                    "app_a",
                    &["id", "name", "name_de", "name_fr", "title_short"],
                ),
                table("app_p", &["id", "street", "street_no", "street_box"]),
                table("app_b", &["id", "text", "text_de", "text_fr"]),
            ],
        };
        assert_eq!(err(&schema, "en,de,fr"), "ok []");
        let e = err(&schema, "en,xx");
        assert!(
            e.starts_with("--languages en,xx: no text column NAME_xx beside"),
            "{e}"
        );
        assert!(
            e.contains("suffixes de (app_a.name_de, … 2 columns), fr (app_a.name_fr, … 2 columns)"),
            "{e}"
        );
        assert!(e.ends_with("e.g. --languages DEFAULT,de,fr"), "{e}");
        let e = err(&schema, "EN,DE,FR");
        assert!(e.contains("(codes are case-sensitive: de)"), "{e}");
        let e = err(&schema, "de,en,fr");
        assert!(e.contains("no text column NAME_en"), "{e}");
        let e = err(&schema, "fr,de");
        assert!(
            e.contains("fr has columns of its own: fr (app_a.name_fr"),
            "{e}"
        );
        let e = err(&schema, "en,fr,de");
        assert!(
            e.contains("the columns are in the order de, fr: give the languages in the site's order (--languages en,de,fr)"),
            "{e}"
        );
        let e = err(&schema, "en,de");
        assert!(
            e.starts_with("ok [\"--languages en,de: columns with the suffixes fr (app_a.name_fr"),
            "{e}"
        );
        // No babel columns at all.
        let plain = Schema {
            tables: vec![table("app_c", &["id", "name"])],
        };
        let e = err(&plain, "en,de");
        assert!(
            e.ends_with("no column has a language suffix (NAME_de beside NAME)"),
            "{e}"
        );
        assert_eq!(err(&plain, "en"), "ok []");
    }
}
