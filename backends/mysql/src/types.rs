//! MariaDB/MySQL column types → column kinds, and values as the text
//! protocol sends them → [`Value`]s. The text protocol is what Django's
//! drivers read, so a FLOAT or DECIMAL comes out as the site would see it.

use dump2py_model::schema::{Column, ColumnKind};
use dump2py_model::value::{Date, DateTime, Time};
use dump2py_model::{Batch, Value};

/// `bigint(20) unsigned` → `bigint unsigned`: integer display widths mean
/// nothing (MySQL 8 no longer shows them), but `tinyint(1)` is how a
/// boolean is declared, so it stays.
pub fn normalize_declared(column_type: &str) -> String {
    let t = column_type.trim().to_ascii_lowercase();
    let Some(open) = t.find('(') else {
        return t;
    };
    let base = &t[..open];
    let int = matches!(
        base,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint"
    );
    if !int || t.starts_with("tinyint(1)") {
        return t;
    }
    match t[open..].find(')') {
        Some(close) => format!("{base}{}", &t[open + close + 1..]),
        None => t,
    }
}

/// The kind of a column, from information_schema's DATA_TYPE and
/// COLUMN_TYPE; `json_checked` is MariaDB's JSON: a text column with a
/// `json_valid()` check.
pub fn column_kind(data_type: &str, column_type: &str, json_checked: bool) -> ColumnKind {
    let data_type = data_type.to_ascii_lowercase();
    let column_type = column_type.to_ascii_lowercase();
    let unsigned = column_type.contains("unsigned");
    match data_type.as_str() {
        "tinyint" if column_type.starts_with("tinyint(1)") && !unsigned => ColumnKind::Bool,
        "bigint" if unsigned => ColumnKind::UInt,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
            ColumnKind::Int
        }
        "decimal" | "numeric" | "dec" | "fixed" => ColumnKind::Decimal,
        "float" | "double" | "real" | "double precision" => ColumnKind::Float,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" if json_checked => {
            ColumnKind::Json
        }
        // ENUM and SET values are their text; inet4/inet6 have a canonical text.
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set"
        | "inet4" | "inet6" => ColumnKind::Text,
        "json" => ColumnKind::Json,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            ColumnKind::Bytes
        }
        "date" => ColumnKind::Date,
        "time" => ColumnKind::Time,
        "datetime" | "timestamp" => ColumnKind::DateTime,
        "uuid" => ColumnKind::Uuid,
        _ => ColumnKind::Unsupported(normalize_declared(&column_type)),
    }
}

/// How one column's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
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
    /// A TIMESTAMP: read in the session's time zone, which is UTC.
    Timestamp,
    Json,
    Uuid,
}

impl Conv {
    pub fn of(column: &Column) -> Option<Conv> {
        Some(match &column.kind {
            ColumnKind::Bool => Conv::Bool,
            ColumnKind::Int | ColumnKind::Duration => Conv::Int,
            ColumnKind::UInt => Conv::UInt,
            ColumnKind::Float => Conv::Float,
            ColumnKind::Decimal => Conv::Decimal,
            ColumnKind::Text => Conv::Text,
            ColumnKind::Bytes => Conv::Bytes,
            ColumnKind::Date => Conv::Date,
            ColumnKind::Time => Conv::Time,
            ColumnKind::DateTime if column.declared_type.starts_with("timestamp") => {
                Conv::Timestamp
            }
            ColumnKind::DateTime => Conv::DateTime,
            ColumnKind::Json => Conv::Json,
            ColumnKind::Uuid => Conv::Uuid,
            // PostgreSQL's alone.
            ColumnKind::Composite | ColumnKind::Unsupported(_) => return None,
        })
    }

    /// Text-like columns sort by their bytes, as SQLite and PostgreSQL's
    /// "C" collation do: MariaDB's collations ignore case or trailing spaces.
    pub fn sorts_as_bytes(self) -> bool {
        matches!(self, Conv::Text | Conv::Json | Conv::Uuid)
    }
}

fn shown(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let short: String = s.chars().take(40).collect();
    if short.len() < s.len() {
        format!("{short:?}…")
    } else {
        format!("{short:?}")
    }
}

fn utf8(raw: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(raw).map_err(|e| {
        format!(
            "holds text that is not UTF-8 (bad byte at offset {})",
            e.valid_up_to()
        )
    })
}

/// One value as the text protocol sent it (`None` is SQL NULL).
pub fn convert(conv: Conv, raw: Option<&[u8]>) -> Result<Value, String> {
    convert_in(conv, raw, &mut Batch::default())
}

/// As [`convert`], text in one of `batch`'s spare strings.
pub fn convert_in(conv: Conv, raw: Option<&[u8]>, batch: &mut Batch) -> Result<Value, String> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    let bad = |what: &str| format!("holds {}, not {what}", shown(raw));
    Ok(match conv {
        // Django's converter keeps what is not 0 or 1.
        Conv::Bool => match raw {
            b"0" => Value::Bool(false),
            b"1" => Value::Bool(true),
            _ => Value::Int(utf8(raw)?.parse().map_err(|_| bad("an integer"))?),
        },
        Conv::Int => Value::Int(utf8(raw)?.parse().map_err(|_| bad("a 64-bit integer"))?),
        Conv::UInt => Value::UInt(
            utf8(raw)?
                .parse()
                .map_err(|_| bad("an unsigned 64-bit integer"))?,
        ),
        Conv::Float => {
            let f: f64 = utf8(raw)?.parse().map_err(|_| bad("a number"))?;
            Value::Float(f)
        }
        Conv::Decimal => {
            let s = utf8(raw)?;
            if !is_decimal(s) {
                return Err(bad("a decimal number"));
            }
            Value::Decimal(batch.string(s))
        }
        Conv::Text => Value::Text(batch.string(utf8(raw)?)),
        Conv::Json => Value::Json(batch.string(utf8(raw)?)),
        Conv::Bytes => Value::Bytes(raw.to_vec()),
        Conv::Date => Value::Date(
            Date::parse(utf8(raw)?).ok_or_else(|| bad("a date from 0001-01-01 to 9999-12-31"))?,
        ),
        Conv::Time => Value::Time(
            Time::parse(utf8(raw)?)
                .ok_or_else(|| bad("a time of day from 00:00:00 to 23:59:59.999999"))?,
        ),
        Conv::DateTime | Conv::Timestamp => {
            let mut dt = DateTime::parse(utf8(raw)?).ok_or_else(|| {
                bad("a datetime from 0001-01-01 00:00:00 to 9999-12-31 23:59:59.999999")
            })?;
            if conv == Conv::Timestamp {
                dt.offset_minutes = Some(0);
            }
            Value::DateTime(dt)
        }
        Conv::Uuid => Value::Uuid(parse_uuid(raw).ok_or_else(|| bad("a UUID"))?),
    })
}

fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// `01234567-89ab-cdef-0123-456789abcdef` (hyphens optional).
fn parse_uuid(raw: &[u8]) -> Option<[u8; 16]> {
    let hex: Vec<u8> = raw.iter().copied().filter(|&b| b != b'-').collect();
    if hex.len() != 32 || raw.len() - hex.len() > 4 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types() {
        assert_eq!(normalize_declared("bigint(20)"), "bigint");
        assert_eq!(normalize_declared("int(10) unsigned"), "int unsigned");
        assert_eq!(normalize_declared("tinyint(1)"), "tinyint(1)");
        assert_eq!(normalize_declared("tinyint(4)"), "tinyint");
        assert_eq!(normalize_declared("decimal(12,4)"), "decimal(12,4)");
        assert_eq!(normalize_declared("varchar(100)"), "varchar(100)");
        assert_eq!(normalize_declared("longtext"), "longtext");
    }

    #[test]
    fn kinds() {
        use ColumnKind as K;
        assert_eq!(column_kind("tinyint", "tinyint(1)", false), K::Bool);
        assert_eq!(column_kind("tinyint", "tinyint(4)", false), K::Int);
        assert_eq!(column_kind("tinyint", "tinyint(1) unsigned", false), K::Int);
        assert_eq!(column_kind("bigint", "bigint(20) unsigned", false), K::UInt);
        assert_eq!(column_kind("int", "int(10) unsigned", false), K::Int);
        assert_eq!(column_kind("decimal", "decimal(65,30)", false), K::Decimal);
        assert_eq!(column_kind("float", "float", false), K::Float);
        assert_eq!(column_kind("longtext", "longtext", true), K::Json);
        assert_eq!(column_kind("longtext", "longtext", false), K::Text);
        assert_eq!(column_kind("json", "json", false), K::Json);
        assert_eq!(column_kind("enum", "enum('a','b')", false), K::Text);
        assert_eq!(column_kind("year", "year(4)", false), K::Int);
        assert_eq!(column_kind("longblob", "longblob", false), K::Bytes);
        assert_eq!(column_kind("uuid", "uuid", false), K::Uuid);
        assert_eq!(column_kind("timestamp", "timestamp(6)", false), K::DateTime);
        assert_eq!(
            column_kind("bit", "bit(1)", false),
            K::Unsupported("bit(1)".into())
        );
        assert_eq!(
            column_kind("point", "point", false),
            K::Unsupported("point".into())
        );
    }

    fn ok(conv: Conv, raw: &str) -> Value {
        match convert(conv, Some(raw.as_bytes())) {
            Ok(v) => v,
            Err(e) => panic!("{raw}: {e}"),
        }
    }

    #[test]
    fn values() {
        assert_eq!(ok(Conv::Bool, "1"), Value::Bool(true));
        // Django reads a tinyint(1) other than 0 or 1 as the integer.
        assert_eq!(ok(Conv::Bool, "2"), Value::Int(2));
        assert_eq!(ok(Conv::Bool, "-128"), Value::Int(-128));
        assert_eq!(
            ok(Conv::UInt, "18446744073709551615"),
            Value::UInt(u64::MAX)
        );
        assert_eq!(ok(Conv::Int, "-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(ok(Conv::Float, "1e16"), Value::Float(1e16));
        // FLOAT arrives as 6 digits: the value Django reads.
        assert_eq!(ok(Conv::Float, "1.23457"), Value::Float(1.23457));
        let big = format!("-{}.{}", "9".repeat(35), "9".repeat(30));
        assert_eq!(ok(Conv::Decimal, &big), Value::Decimal(big.clone()));
        assert_eq!(
            ok(Conv::Uuid, "12345678-1234-5678-1234-567812345678"),
            Value::Uuid([
                0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34,
                0x56, 0x78
            ])
        );
        match ok(Conv::Timestamp, "2038-01-19 03:14:07.5") {
            Value::DateTime(dt) => {
                assert_eq!((dt.time.micro, dt.offset_minutes), (500000, Some(0)))
            }
            v => panic!("{v:?}"),
        }
        assert_eq!(convert(Conv::Text, None), Ok(Value::Null));
        for conv in [
            Conv::Text,
            Conv::Json,
            Conv::Bytes,
            Conv::Decimal,
            Conv::Int,
            Conv::DateTime,
        ] {
            for raw in ["12", "2024-01-02 03:04:05.000006", "é\n'"] {
                // Into a spare string that held a longer text before.
                let mut batch = Batch::default();
                let spare = batch.string("a longer text than any of these");
                batch.values.push(Value::Text(spare));
                let before = batch.values.clone();
                let got = convert_in(conv, Some(raw.as_bytes()), &mut batch);
                assert_eq!(got, convert(conv, Some(raw.as_bytes())), "{conv:?} {raw}");
                assert_eq!(batch.values, before);
            }
        }
    }

    #[test]
    fn bad_values_say_why() {
        let e = |conv, raw: &[u8]| convert(conv, Some(raw)).err().unwrap_or_default();
        assert!(e(Conv::Bool, b"x").contains("\"x\", not an integer"));
        assert!(e(Conv::Time, b"-01:00:00").contains("time of day"));
        assert!(e(Conv::Time, b"838:59:59").contains("time of day"));
        assert!(e(Conv::Date, b"0000-00-00").contains("not a date"));
        assert!(e(Conv::DateTime, b"0000-00-00 00:00:00").contains("datetime"));
        assert!(e(Conv::Text, b"a\xffb").contains("not UTF-8"));
        assert!(e(Conv::Decimal, b"1e5").contains("decimal"));
    }
}
