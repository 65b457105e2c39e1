//! The reads dumpdata's querysets make, as [`ReadOrder`]s the source runs:
//! each model's objects `order_by(pk.name)` of its default manager (an MTI
//! child by its parent's `Meta.ordering`; rows the manager hides left out
//! but with `--all`), each many-to-many list as its related manager lists
//! it (the target's `Meta.ordering`, through relations; targets its
//! default manager hides left out). The database orders them, in its
//! collations; ties (where Django leaves the order to the database) by
//! primary key.

use std::collections::HashMap;

use crate::meta::{ManagerFilterMeta, ModelMeta, OrderMeta, OrderTermMeta, SiteMeta};
use dump2py_model::order::{Filter, Param, ReadOrder, Term};

use super::{lower_label, View};

/// Adds `terms` to `o`, their joins starting at alias `from`.
fn add_terms(o: &mut ReadOrder, from: usize, terms: &[OrderTermMeta]) {
    for t in terms {
        let mut alias = from;
        for [column, table, to_column] in &t.joins {
            alias = o.join(alias, column, table, to_column);
        }
        o.terms.push(Term {
            alias,
            column: t.column.clone(),
            desc: t.desc,
        });
    }
}

/// Orders by `column` of the table read unless it already does.
fn then_by(o: &mut ReadOrder, column: &str) {
    if !(o.terms.iter()).any(|t| t.alias == 0 && t.column == column) {
        o.terms.push(Term {
            alias: 0,
            column: column.to_string(),
            desc: false,
        });
    }
}

/// The filter of `m`'s default manager on `column` (the table's key, or a
/// link's column to `m`); an error when the manager hides rows in a way
/// that can't be written as SQL.
fn filter_of(m: &ModelMeta, column: &str) -> Result<Option<Filter>, String> {
    let Some(f) = &m.manager_filter else {
        return Ok(None);
    };
    let label = m.label();
    let fail = |why: String| {
        format!(
            "model {label}: {why}; dumpdata leaves out the rows its default manager hides \
             (--all writes every row)"
        )
    };
    let ManagerFilterMeta {
        vendor: Some(vendor),
        sql: Some(sql),
        error: None,
        ..
    } = f
    else {
        return Err(fail(f.error.clone().unwrap_or_else(|| {
            "its default manager's queryset is not described".into()
        })));
    };
    let params = (f.params.iter())
        .map(|p| {
            Param::from_json(p)
                .ok_or_else(|| fail(format!("a parameter {p} of its default manager's queryset")))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Some(Filter {
        column: column.to_string(),
        model: label.clone(),
        vendor: vendor.clone(),
        sql: sql.clone(),
        params,
    }))
}

/// The terms of an ordering, or the warning that it can't be followed.
fn terms<'m>(
    order: Option<&'m OrderMeta>,
    warn: impl FnOnce(&str) -> String,
    warnings: &mut Vec<String>,
) -> &'m [OrderTermMeta] {
    match order {
        Some(OrderMeta {
            terms: Some(t),
            error: None,
        }) => t,
        Some(OrderMeta { error: Some(e), .. }) => {
            warnings.push(warn(e));
            &[]
        }
        _ => &[],
    }
}

/// Sets `view.reads` (by table: each read of a table the view has a role
/// for) and `view.links_ordered`; warnings for orderings that can't be
/// followed (then by primary key) go into `view.warnings`.
pub fn add_reads(view: &mut View, meta: &SiteMeta, all: bool) -> Result<(), String> {
    let by_label: HashMap<String, &ModelMeta> = (meta.models.iter())
        .filter(|m| !m.proxy)
        .map(|m| (lower_label(&m.label()), m))
        .collect();
    let mut reads = HashMap::new();
    let mut warnings = Vec::new();
    let mut filtered = vec![false; view.models.len()];
    for (i, m) in view.models.iter().enumerate() {
        if !view.roles.contains_key(&m.table) {
            continue;
        }
        let Some(mm) = by_label.get(&m.label) else {
            continue;
        };
        let mut o = ReadOrder::default();
        let t = terms(
            mm.dump_order.as_ref(),
            |e| {
                format!(
                    "model {}: dumpdata's order of its objects can't be followed ({e}): \
                     written in primary-key order",
                    mm.label()
                )
            },
            &mut warnings,
        );
        add_terms(&mut o, 0, t);
        for c in &m.pk {
            then_by(&mut o, &c.name);
        }
        if !all && !m.excluded {
            if let Some(f) = filter_of(mm, m.pk.first().map_or("", |c| c.name.as_str()))? {
                if m.pk.len() != 1 {
                    return Err(format!(
                        "model {}: its default manager hides rows, and its primary key is \
                         composite: use --all",
                        mm.label()
                    ));
                }
                // A natural key of a hidden row can't be written: its row
                // is not read (Django reads it through the base manager).
                filtered[i] = true;
                o.filters.push(f);
            }
        }
        reads.insert(m.table.clone(), o);
        for l in &m.m2m {
            let mut o = ReadOrder::default();
            if let Some(tm) = by_label.get(&l.to) {
                let pk = tm.fields.iter().find(|f| f.primary_key);
                let t = terms(
                    tm.meta_ordering.as_ref(),
                    |e| {
                        format!(
                            "model {}: its Meta.ordering can't be followed ({e}): \
                             many-to-many lists of it are in primary-key order",
                            tm.label()
                        )
                    },
                    &mut warnings,
                );
                if let (false, Some(column)) = (t.is_empty(), pk.and_then(|f| f.column.as_ref())) {
                    let a = o.join(0, &l.target.name, &tm.db_table, column);
                    add_terms(&mut o, a, t);
                }
                // The related manager is the default manager's, --all or not.
                if let Some(f) = filter_of(tm, &l.target.name)? {
                    o.filters.push(f);
                }
            }
            then_by(&mut o, &l.target.name);
            reads.insert(l.link_table.clone(), o);
        }
    }
    warnings.dedup();
    view.keys.filtered = filtered;
    view.reads = reads;
    view.links_ordered = true;
    view.warnings = warnings;
    Ok(())
}
