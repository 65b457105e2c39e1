//! Django's field classes, the one place that knows them ([`FieldClass`]):
//! how `dumpdata` writes each one's values ([`field_kind`], a [`Kind`]),
//! what Django does reading them (the [`crate::read::Reading`] that
//! [`crate::from_meta`] makes of a [`FieldMeta`] asks the class) and,
//! without site metadata, which class a column's declared type stands for
//! ([`column_type`], [`column_kind`]).

use std::collections::HashMap;

use dump2py_model::schema::{Column, ColumnKind, Table};

use crate::meta::{FieldMeta, ModelMeta};
use crate::pyvalue::Kind;

/// A Django field class, as far as dump2py treats its values apart from
/// plain ones: from `get_internal_type()` in the site's metadata
/// ([`FieldClass::of`]), or guessed from a column's type without it
/// ([`FieldClass::inferred`]). Teaching dump2py a field class is adding it
/// here: how Django reads it ([`crate::from_meta`]'s `Reading` asks
/// [`FieldClass::holds_datetimes`] and the rest), how dumpdata writes it
/// ([`FieldClass::kind`]), and what the Python dump writes of it (the
/// Python sink matches these variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldClass {
    Boolean,
    Float,
    Decimal,
    Date,
    Time,
    DateTime,
    /// Microseconds, stored as an integer on SQLite and MySQL.
    Duration,
    /// Hex text on SQLite and MySQL.
    Uuid,
    Binary,
    Json,
    /// `FileField`, `ImageField`: NULL reads as `''`.
    File,
    /// django.contrib.postgres' `ArrayField` (of any base field).
    Array,
    /// django.contrib.postgres' `DateTimeRangeField`.
    DateTimeRange,
    /// Everything else: integers, text, relations, other ranges, hstore.
    Other,
}

impl FieldClass {
    /// The class of `get_internal_type()`.
    pub fn of(internal_type: &str) -> FieldClass {
        match internal_type {
            "BooleanField" | "NullBooleanField" => FieldClass::Boolean,
            "FloatField" => FieldClass::Float,
            "DecimalField" => FieldClass::Decimal,
            "DateField" => FieldClass::Date,
            "TimeField" => FieldClass::Time,
            "DateTimeField" => FieldClass::DateTime,
            "DurationField" => FieldClass::Duration,
            "UUIDField" => FieldClass::Uuid,
            "BinaryField" => FieldClass::Binary,
            "JSONField" => FieldClass::Json,
            "FileField" | "ImageField" => FieldClass::File,
            "ArrayField" => FieldClass::Array,
            "DateTimeRangeField" => FieldClass::DateTimeRange,
            _ => FieldClass::Other,
        }
    }

    /// The class a column of this kind stands for, without metadata.
    pub fn inferred(kind: &ColumnKind) -> FieldClass {
        match kind {
            ColumnKind::Bool => FieldClass::Boolean,
            ColumnKind::Float => FieldClass::Float,
            ColumnKind::Decimal => FieldClass::Decimal,
            ColumnKind::Date => FieldClass::Date,
            ColumnKind::Time => FieldClass::Time,
            ColumnKind::DateTime => FieldClass::DateTime,
            ColumnKind::Duration => FieldClass::Duration,
            ColumnKind::Uuid => FieldClass::Uuid,
            ColumnKind::Bytes => FieldClass::Binary,
            ColumnKind::Json => FieldClass::Json,
            _ => FieldClass::Other,
        }
    }

    /// How dumpdata writes the field's values (`use_tz`: naive stored
    /// datetimes are UTC).
    pub fn kind(self, places: Option<u32>, max_digits: Option<u32>, use_tz: bool) -> Kind {
        match self {
            FieldClass::Boolean => Kind::Bool,
            FieldClass::Float => Kind::Float,
            FieldClass::Decimal => Kind::Decimal { places, max_digits },
            FieldClass::Date => Kind::Date,
            FieldClass::Time => Kind::Time,
            FieldClass::DateTime => Kind::DateTime { utc: use_tz },
            FieldClass::Duration => Kind::Duration,
            FieldClass::Uuid => Kind::Uuid,
            FieldClass::Binary => Kind::Binary,
            FieldClass::Json => Kind::Json,
            FieldClass::File => Kind::File,
            FieldClass::Array | FieldClass::DateTimeRange | FieldClass::Other => Kind::Plain,
        }
    }

    /// Its values are or hold datetimes (read in the site's time zone).
    pub fn holds_datetimes(self) -> bool {
        matches!(
            self,
            FieldClass::DateTime | FieldClass::Array | FieldClass::DateTimeRange
        )
    }
}

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
    FieldClass::of(&f.internal_type).kind(f.decimal_places, f.max_digits, use_tz)
}

/// How a column's values read without metadata.
pub fn column_kind(kind: &ColumnKind) -> Kind {
    FieldClass::inferred(kind).kind(None, None, false)
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

/// The column kind that a field class is stored as (what a source that
/// reads no database types, the dump source, gives its columns).
pub fn stored_kind(internal_type: &str) -> ColumnKind {
    match internal_type {
        "AutoField"
        | "BigAutoField"
        | "SmallAutoField"
        | "IntegerField"
        | "BigIntegerField"
        | "SmallIntegerField"
        | "PositiveIntegerField"
        | "PositiveBigIntegerField"
        | "PositiveSmallIntegerField" => ColumnKind::Int,
        "BooleanField" | "NullBooleanField" => ColumnKind::Bool,
        "FloatField" => ColumnKind::Float,
        "DecimalField" => ColumnKind::Decimal,
        "DateField" => ColumnKind::Date,
        "TimeField" => ColumnKind::Time,
        "DateTimeField" => ColumnKind::DateTime,
        "DurationField" => ColumnKind::Duration,
        "UUIDField" => ColumnKind::Uuid,
        "BinaryField" => ColumnKind::Bytes,
        "JSONField" => ColumnKind::Json,
        "ArrayField"
        | "HStoreField"
        | "IntegerRangeField"
        | "BigIntegerRangeField"
        | "DecimalRangeField"
        | "DateTimeRangeField"
        | "DateRangeField" => ColumnKind::Composite,
        _ => ColumnKind::Text,
    }
}
