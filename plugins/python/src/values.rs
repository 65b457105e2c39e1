//! One Python expression per value, as Lino's `dump2py` writes them, but
//! without losing microseconds or JSON floats.

use std::fmt::Write;

use base64::Engine;
use dump2py_core::django::{ContentType, Field, Site};
use dump2py_core::value::{duration_string, Value};

use crate::pyrepr;

/// The deepest JSON that a data file's Python parser accepts.
pub const JSON_DEPTH: usize = 190;

/// Why a value can't be written.
pub type ValueError = String;

pub fn write_value(
    out: &mut String,
    site: &Site,
    field: &Field,
    row: &[Value],
) -> Result<(), ValueError> {
    if field.is_babel {
        out.push('[');
        write_plain(out, site, field, &row[field.index])?;
        for &i in &field.babel {
            out.push_str(", ");
            write_plain(out, site, field, &row[i])?;
        }
        out.push(']');
        return Ok(());
    }
    write_plain(out, site, field, &row[field.index])
}

fn write_plain(
    out: &mut String,
    site: &Site,
    field: &Field,
    value: &Value,
) -> Result<(), ValueError> {
    if field.is_content_type() {
        return write_content_type(out, site, value);
    }
    // What the site's metadata says the column holds, where the database
    // can't tell: Lino's text for these fields.
    match (field.internal_type.as_deref(), value) {
        (_, Value::Text(t)) if t.is_empty() && field.choicelist.is_some() => {
            out.push_str("None");
            return Ok(());
        }
        (Some("DurationField"), Value::Int(us)) => {
            quoted(out, &duration_string(*us));
            return Ok(());
        }
        (Some("UUIDField"), Value::Text(t))
            if t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            let hyphenated = format!(
                "{}-{}-{}-{}-{}",
                &t[..8],
                &t[8..12],
                &t[12..16],
                &t[16..20],
                &t[20..]
            );
            quoted(out, &hyphenated.to_ascii_lowercase());
            return Ok(());
        }
        (Some("DecimalField"), Value::Decimal(d)) => {
            if let Some(places) = field.decimal_places {
                let q =
                    quantize(d, places).ok_or_else(|| format!("{d:?} is not a decimal number"))?;
                quoted(out, &q);
                return Ok(());
            }
        }
        _ => {}
    }
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::UInt(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) => {
            // Lino writes repr(str(value)): the float's text in quotes.
            out.push('\'');
            pyrepr::write_float(out, *f);
            out.push('\'');
        }
        Value::Decimal(d) => quoted(out, d),
        Value::Text(s) => pyrepr::write_str(out, s),
        Value::Bytes(b) => quoted(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Date(d) => {
            let _ = write!(out, "date({},{},{})", d.year, d.month, d.day);
        }
        Value::Time(t) => {
            let _ = write!(out, "time({},{},{}", t.hour, t.minute, t.second);
            micro(out, t.micro);
        }
        Value::DateTime(dt) => {
            let (d, t) = (dt.date, dt.time);
            let _ = write!(
                out,
                "dt({},{},{},{},{},{}",
                d.year, d.month, d.day, t.hour, t.minute, t.second
            );
            micro(out, t.micro);
        }
        Value::Json(text) => {
            // A data line nests the literal two levels deep; Python parses 200.
            pyrepr::write_json_as_python_limited(out, text, JSON_DEPTH)
                .map_err(|e| format!("{e}"))?
        }
        Value::Uuid(u) => quoted(out, &uuid_text(u)),
        Value::Duration(us) => quoted(out, &duration_string(*us)),
    }
    Ok(())
}

/// Lino passes the model, not the old id: the new database's content type
/// is looked up at restore time.
fn write_content_type(out: &mut String, site: &Site, value: &Value) -> Result<(), ValueError> {
    let id = match value {
        Value::Null => {
            out.push_str("None");
            return Ok(());
        }
        Value::Int(id) => *id,
        other => return Err(format!("content type id {other:?} is not an integer")),
    };
    if site.stale_content_type(id).is_some() {
        // The sink warns about it (PythonSink::warnings).
        out.push_str("None");
        return Ok(());
    }
    match site.content_types.get(&id) {
        // The global restore.py binds (PythonSink::begin checks that each
        // is an identifier); any other name is looked up by label.
        Some(ContentType {
            global: Some(global),
            ..
        }) if crate::names::is_identifier(global) => out.push_str(global),
        Some(ct) => {
            out.push_str("ct_model(");
            pyrepr::write_str(out, &ct.app_label);
            out.push_str(", ");
            pyrepr::write_str(out, &ct.model);
            out.push(')');
        }
        // A stale id: the dump says so rather than crash, as Lino would.
        None => {
            let _ = write!(out, "missing_content_type({id})");
        }
    }
    Ok(())
}

fn micro(out: &mut String, us: u32) {
    if us != 0 {
        let _ = write!(out, ",{us}");
    }
    out.push(')');
}

fn quoted(out: &mut String, s: &str) {
    pyrepr::write_str(out, s);
}

fn uuid_text(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Django's quantize of a stored decimal to the field's places, rounding
/// half to even: `12.5` with 4 places is `12.5000`.
pub fn quantize(text: &str, places: u32) -> Option<String> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let places = places as usize;
    // All digits as one integer, scaled to `places` decimals.
    let mut all: Vec<u8> = int
        .bytes()
        .chain(frac.bytes().take(places))
        .map(|b| b - b'0')
        .collect();
    all.extend(std::iter::repeat_n(0, places.saturating_sub(frac.len())));
    let rest = frac.as_bytes().get(places..).unwrap_or(&[]);
    if let Some(&first) = rest.first() {
        let tail_nonzero = rest[1..].iter().any(|&b| b != b'0');
        let last_odd = all.last().is_some_and(|d| d % 2 == 1);
        let up = first > b'5' || (first == b'5' && (tail_nonzero || last_odd));
        if up {
            let mut i = all.len();
            loop {
                if i == 0 {
                    all.insert(0, 1);
                    break;
                }
                i -= 1;
                if all[i] == 9 {
                    all[i] = 0;
                } else {
                    all[i] += 1;
                    break;
                }
            }
        }
    }
    let split = all.len() - places;
    let int_part: String = all[..split].iter().map(|d| (b'0' + d) as char).collect();
    let int_part = int_part.trim_start_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let frac_part: String = all[split..].iter().map(|d| (b'0' + d) as char).collect();
    let zero = all.iter().all(|&d| d == 0);
    let sign = if neg && !zero { "-" } else { "" };
    Some(if places == 0 {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    })
}

#[cfg(test)]
mod tests {
    use super::quantize;

    #[test]
    fn quantizes_like_django() {
        assert_eq!(quantize("12.5", 4).as_deref(), Some("12.5000"));
        assert_eq!(quantize("0", 2).as_deref(), Some("0.00"));
        assert_eq!(quantize("-0.0001", 4).as_deref(), Some("-0.0001"));
        assert_eq!(quantize("1.005", 2).as_deref(), Some("1.00"));
        assert_eq!(quantize("1.015", 2).as_deref(), Some("1.02"));
        assert_eq!(quantize("9.999", 2).as_deref(), Some("10.00"));
        assert_eq!(quantize("2.5", 0).as_deref(), Some("2"));
        assert_eq!(quantize("-0.001", 2).as_deref(), Some("0.00"));
        assert_eq!(quantize("abc", 2), None);
    }
}
