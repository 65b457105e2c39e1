//! Django's field classes, the one place that knows them: for each, how
//! `dumpdata` writes its values ([`field_kind`], a [`Kind`]) and, without
//! site metadata, which class a column's declared type stands for
//! ([`column_type`], [`column_kind`]). How Django *reads* a field (what the
//! pipeline applies to every value) is [`crate::read::Reading`], made from
//! the same [`FieldMeta`] in [`crate::from_meta`]; a new field class is
//! taught here and there, both in this crate.

use std::collections::HashMap;

use dump2py_model::schema::{Column, ColumnKind, Table};

use crate::meta::{FieldMeta, ModelMeta};
use crate::pyvalue::Kind;

/// How a field's values read; a relation reads as its target's primary key.
pub fn field_kind(f: &FieldMeta, use_tz: bool, by_label: &HashMap<String, &ModelMeta>) -> Kind {
    let mut f = f;
    // Follow foreign keys to the primary key they hold (MTI links chain).
    for _ in 0..16 {
        let Some(target) = f.related_model.as_ref().and_then(|r| by_label.get(r)) else {
            break;
        };
        match target.fields.iter().find(|t| t.primary_key) {
            Some(pk) => f = pk,
            None => return Kind::Plain,
        }
    }
    if f.choicelist.is_some() {
        return Kind::Choice;
    }
    match f.internal_type.as_str() {
        "BooleanField" | "NullBooleanField" => Kind::Bool,
        "FloatField" => Kind::Float,
        "DecimalField" => Kind::Decimal {
            places: f.decimal_places,
            max_digits: f.max_digits,
        },
        "DateField" => Kind::Date,
        "TimeField" => Kind::Time,
        "DateTimeField" => Kind::DateTime { utc: use_tz },
        "DurationField" => Kind::Duration,
        "UUIDField" => Kind::Uuid,
        "BinaryField" => Kind::Binary,
        "JSONField" => Kind::Json,
        "FileField" | "ImageField" => Kind::File,
        _ => Kind::Plain,
    }
}

pub fn column_kind(kind: &ColumnKind) -> Kind {
    match kind {
        ColumnKind::Bool => Kind::Bool,
        ColumnKind::Float => Kind::Float,
        ColumnKind::Decimal => Kind::Decimal {
            places: None,
            max_digits: None,
        },
        ColumnKind::Date => Kind::Date,
        ColumnKind::Time => Kind::Time,
        ColumnKind::DateTime => Kind::DateTime { utc: false },
        ColumnKind::Duration => Kind::Duration,
        ColumnKind::Uuid => Kind::Uuid,
        ColumnKind::Bytes => Kind::Binary,
        ColumnKind::Json => Kind::Json,
        _ => Kind::Plain,
    }
}

pub fn pk_column_kind(t: &Table) -> Kind {
    t.primary_key
        .first()
        .and_then(|c| t.column(c))
        .map_or(Kind::Plain, |c| column_kind(&c.kind))
}

/// XML's `type` without metadata: Django's field type for the declared
/// column type (its SQLite names), a guess where several share one.
pub fn column_type(c: &Column, fk: bool) -> String {
    let d = c.declared_type.to_ascii_lowercase();
    let unsigned = d.contains("unsigned");
    let t = match &c.kind {
        _ if fk => "ForeignKey",
        ColumnKind::Bool => "BooleanField",
        ColumnKind::Float => "FloatField",
        ColumnKind::Decimal => "DecimalField",
        ColumnKind::Date => "DateField",
        ColumnKind::Time => "TimeField",
        ColumnKind::DateTime => "DateTimeField",
        ColumnKind::Duration => "DurationField",
        ColumnKind::Uuid => "UUIDField",
        ColumnKind::Bytes => "BinaryField",
        ColumnKind::Json => "JSONField",
        ColumnKind::Int | ColumnKind::UInt => {
            match (d.contains("bigint"), d.contains("smallint"), unsigned) {
                (true, _, false) => "BigIntegerField",
                (true, _, true) => "PositiveBigIntegerField",
                (_, true, false) => "SmallIntegerField",
                (_, true, true) => "PositiveSmallIntegerField",
                (_, _, true) => "PositiveIntegerField",
                _ => "IntegerField",
            }
        }
        ColumnKind::Text if d.starts_with("varchar") || d.starts_with("char") => "CharField",
        _ => "TextField",
    };
    t.to_string()
}
