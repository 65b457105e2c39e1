//! What a source knows about the database: tables and columns as declared.

use crate::value::Value;

/// How a column's values are read and written. Sources map their declared
/// types onto these; `Unsupported` keeps the declared type for the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    Bool,
    Int,
    UInt,
    Float,
    Decimal,
    Text,
    Bytes,
    Date,
    Time,
    DateTime,
    Json,
    Uuid,
    Duration,
    /// A PostgreSQL array, hstore or range (django.contrib.postgres).
    Composite,
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The type as the database declares it, e.g. `varchar(200)`.
    pub declared_type: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    /// Computed by the database (`GENERATED ALWAYS AS`): dumped as read,
    /// never restored.
    pub generated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub column: String,
    pub target_table: String,
    pub target_column: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// In database order.
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Sets of columns with a unique constraint (the primary key excluded).
    pub unique: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Sorted by name.
    pub tables: Vec<Table>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    pub fn foreign_key(&self, column: &str) -> Option<&ForeignKey> {
        self.foreign_keys.iter().find(|f| f.column == column)
    }

    /// A row's primary key for messages: `3`, `'BE', 7`; `(none)` for a
    /// table without one.
    pub fn pk_text(&self, row: &[Value]) -> String {
        self.pk_text_with(|i| row.get(i).cloned())
    }

    /// [`Table::pk_text`] of a row a source is still decoding: `value_of`
    /// gives a key column's value by index, `None` where it can't (`?`).
    pub fn pk_text_with(&self, mut value_of: impl FnMut(usize) -> Option<Value>) -> String {
        let parts: Vec<String> = (self.primary_key.iter())
            .filter_map(|c| self.column_index(c))
            .map(|i| value_of(i).map_or_else(|| "?".into(), |v| key_text(&v)))
            .collect();
        if parts.is_empty() {
            "(none)".into()
        } else {
            parts.join(", ")
        }
    }
}

/// One key value as messages show it: numbers bare, the rest quoted as
/// stored (never escaped: a message, not a literal).
fn key_text(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Decimal(t) | Value::Text(t) | Value::Json(t) => format!("'{t}'"),
        Value::Bytes(b) => format!("'{}'", String::from_utf8_lossy(b)),
        Value::Date(d) => format!("'{d}'"),
        Value::Time(t) => format!("'{t}'"),
        Value::DateTime(t) => format!("'{t}'"),
        Value::Uuid(u) => format!("'{}'", crate::uuid::uuid_string(u)),
        Value::Duration(m) => crate::value::duration_string(*m),
        // Never a key column; shown as the model holds it.
        v @ (Value::Array(_) | Value::Map(_) | Value::Range(_)) => format!("{v:?}"),
    }
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// How a database stores values, where Django's backends read them
/// differently: what a sink needs to know of the source's dialect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Storage {
    /// Decimals are stored as REAL (SQLite): Django reads them through a
    /// float rounded to 15 significant digits.
    pub decimals_as_real: bool,
    /// Aware datetimes are instants that Django reads in its connection's
    /// time zone (PostgreSQL's timestamptz): on a site without `USE_TZ` as
    /// the naive wall time in `TIME_ZONE`.
    pub datetimes_as_instants: bool,
}
