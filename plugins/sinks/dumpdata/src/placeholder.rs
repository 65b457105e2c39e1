//! Placeholders for natural foreign keys: written where a key goes while
//! the referenced row may still come later in the read; replaced by the key
//! at `finish`. No placeholder can be mistaken for data: the text written
//! of any value never holds a NUL byte (JSON escapes it, XML refuses it).

use dump2py_django::serializer::keys::key_of;
use dump2py_model::Value;

/// Where the natural key of field `field` (of the model's `fields`) goes,
/// until `finish`.
pub fn placeholder(out: &mut String, field: usize, fk: &Value) {
    out.push('\0');
    out.push_str(&field.to_string());
    out.push(':');
    for b in key_of(fk).bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out.push('\0');
}

/// The field and key of a placeholder's text (between its NULs).
pub fn parse_placeholder(text: &[u8]) -> Option<(usize, String)> {
    let text = std::str::from_utf8(text).ok()?;
    let (t, hex) = text.split_once(':')?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    Some((t.parse().ok()?, String::from_utf8(bytes?).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_round_trip() {
        let mut s = String::new();
        placeholder(&mut s, 7, &Value::Text("a:b\u{0}c".into()));
        assert!(s.starts_with('\0') && s.ends_with('\0'));
        assert_eq!(s.matches('\0').count(), 2);
        let inner = &s.as_bytes()[1..s.len() - 1];
        assert_eq!(parse_placeholder(inner), Some((7, "sa:b\u{0}c".into())));
        assert_eq!(parse_placeholder(b"x"), None);
    }
}
