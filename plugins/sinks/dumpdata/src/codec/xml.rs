//! The text of `dumpdata --format xml`: Django's XML serializer through
//! `SimplerXMLGenerator`, byte for byte with site metadata.

use std::borrow::Cow;
use std::fmt::Write as _;

use dump2py_django::pyvalue::{base64_source, push_base64, py, Kind, Py};
use dump2py_model::schema::Storage;
use dump2py_model::value::duration_string;
use dump2py_model::Value;
use dump2py_py::json::{Doc, Style};
use dump2py_py::repr;

use super::{datetime_iso, time_iso};
use super::{FieldError, Format};
use crate::placeholder::placeholder;
use dump2py_django::serializer::{DdM2m, DdModel};

pub struct XmlFormat {
    /// `--indent N`: each element on a new line, N spaces per level.
    pub indent: Option<usize>,
}

/// What Django refuses to write: control characters other than tab,
/// newline and carriage return, which XML 1.0 can't hold.
pub const CONTROL: &str = "contains control characters, which XML 1.0 can't hold \
                           (Django's dumpdata fails here too)";

fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}')
}

/// Character data as `XMLGenerator.characters` writes it: `&`, `<`, `>`
/// escaped; control characters refused as `SimplerXMLGenerator` does.
pub fn write_text(out: &mut String, s: &str) -> Result<(), String> {
    if s.chars().any(is_control) {
        return Err(CONTROL.to_string());
    }
    escape(out, s, false);
    Ok(())
}

fn escape(out: &mut String, s: &str, attr: bool) {
    let mut run = 0;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '\n' if attr => "&#10;",
            '\r' if attr => "&#13;",
            '\t' if attr => "&#9;",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        out.push_str(rep);
        run = i + c.len_utf8();
    }
    out.push_str(&s[run..]);
}

/// ` name=value` as `xml.sax.saxutils.quoteattr` quotes it: in double
/// quotes, or in single quotes when the value has `"` but no `'`. Django
/// writes control characters here unchecked (an invalid document); this
/// refuses them.
pub fn write_attr(out: &mut String, name: &str, value: &str) -> Result<(), String> {
    if value.chars().any(is_control) {
        return Err(CONTROL.to_string());
    }
    let plain = !value.contains(['&', '<', '>', '"', '\n', '\r', '\t']);
    if plain {
        // Most attributes (names, types, labels, keys) need no quoting care.
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        out.push_str(value);
        out.push('"');
        return Ok(());
    }
    let mut esc = String::with_capacity(value.len());
    escape(&mut esc, value, true);
    out.push(' ');
    out.push_str(name);
    out.push('=');
    match (esc.contains('"'), esc.contains('\'')) {
        (true, true) => {
            out.push('"');
            out.push_str(&esc.replace('"', "&quot;"));
            out.push('"');
        }
        (true, false) => {
            out.push('\'');
            out.push_str(&esc);
            out.push('\'');
        }
        _ => {
            out.push('"');
            out.push_str(&esc);
            out.push('"');
        }
    }
    Ok(())
}

/// ` name=value` for a name from the database (a model label, a field
/// name): a name XML can't hold is refused as such, with the name.
fn write_name_attr(out: &mut String, name: &str, value: &str, what: &str) -> Result<(), String> {
    write_attr(out, name, value).map_err(|_| {
        format!("the {what} {value:?} contains control characters, which XML 1.0 can't hold")
    })
}

/// The text `value_to_string` gives for a stored value, handed to `then`
/// (`None` for Python's None).
fn with_text(
    kind: Kind,
    v: &Value,
    storage: Storage,
    then: impl FnOnce(Option<&str>) -> Result<(), String>,
) -> Result<(), String> {
    let p = py(kind, v, storage)?;
    let text = xml_text(&p)?;
    then(text.as_deref())
}

impl XmlFormat {
    fn indent(&self, out: &mut String, level: usize) {
        if let Some(n) = self.indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * level));
        }
    }
}

impl Format for XmlFormat {
    fn start(&self, out: &mut String) {
        out.push_str(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<django-objects version=\"1.0\">",
        );
    }

    fn before_object(&self, out: &mut String, _first: bool) {
        self.indent(out, 1);
    }

    fn head(
        &self,
        out: &mut String,
        model: &DdModel,
        row: &[Value],
        storage: Storage,
    ) -> Result<(), FieldError> {
        let pk_col = || model.pk.first().map(|c| c.name.clone()).unwrap_or_default();
        out.push_str("<object");
        write_name_attr(out, "model", &model.label, "model label").map_err(|e| (pk_col(), e))?;
        match model.pk.as_slice() {
            _ if model.omit_pk => {}
            [] => {}
            [c] => {
                let v = c.index.and_then(|i| row.get(i)).unwrap_or(&Value::Null);
                with_text(model.pk_kind, v, storage, |text| match text {
                    Some(text) => write_attr(out, "pk", text),
                    None => Ok(()),
                })
                .map_err(|e| (c.name.clone(), e))?;
            }
            // Django 5.2's CompositePrimaryKey: the JSON list of each
            // part's text (`json.dumps([...], ensure_ascii=False)`).
            parts => {
                let mut list = String::from("[");
                for (i, c) in parts.iter().enumerate() {
                    let v = c.index.and_then(|i| row.get(i)).unwrap_or(&Value::Null);
                    with_text(model.pk_kind, v, storage, |text| {
                        if i > 0 {
                            list.push_str(", ");
                        }
                        match text {
                            Some(t) => dump2py_py::json::write_str(&mut list, t, false),
                            None => list.push_str("null"),
                        }
                        Ok(())
                    })
                    .map_err(|e| (c.name.clone(), e))?;
                }
                list.push(']');
                write_attr(out, "pk", &list).map_err(|e| (pk_col(), e))?;
            }
        }
        out.push('>');
        for (i, f) in model.fields.iter().enumerate() {
            let err = |e: String| (f.col.name.clone(), e);
            self.indent(out, 2);
            out.push_str("<field");
            write_name_attr(out, "name", &f.name, "field name").map_err(err)?;
            match &f.rel {
                Some((rel, to)) => {
                    write_attr(out, "rel", rel).map_err(err)?;
                    write_name_attr(out, "to", to, "model label").map_err(err)?;
                }
                None => write_attr(out, "type", &f.internal_type).map_err(err)?,
            }
            out.push('>');
            let v = f.col.index.and_then(|i| row.get(i)).unwrap_or(&Value::Null);
            // Resolved at `finish`, when every row it may name is read.
            if f.natural.is_some() && !matches!(v, Value::Null) {
                placeholder(out, i, v);
                out.push_str("</field>");
                continue;
            }
            if let Some(b) = base64_source(f.kind, v) {
                push_base64(out, b);
                out.push_str("</field>");
                continue;
            }
            with_text(f.kind, v, storage, |text| match text {
                Some(text) => write_text(out, text),
                None => {
                    out.push_str("<None></None>");
                    Ok(())
                }
            })
            .map_err(err)?;
            out.push_str("</field>");
        }
        Ok(())
    }

    fn m2m(
        &self,
        out: &mut String,
        field: &DdM2m,
        _first: bool,
        targets: &[Value],
        natural: Option<&[Vec<Py>]>,
        storage: Storage,
    ) -> Result<(), String> {
        self.indent(out, 2);
        out.push_str("<field");
        write_name_attr(out, "name", &field.name, "field name")?;
        write_attr(out, "rel", "ManyToManyRel")?;
        write_name_attr(out, "to", &field.to, "model label")?;
        out.push('>');
        if let Some(keys) = natural {
            for key in keys {
                out.push_str("<object>");
                self.natural_fk(out, key)?;
                out.push_str("</object>");
            }
            out.push_str("</field>");
            return Ok(());
        }
        for t in targets {
            out.push_str("<object");
            with_text(field.target_kind, t, storage, |text| {
                write_attr(out, "pk", text.unwrap_or("None"))
            })?;
            out.push_str("></object>");
        }
        out.push_str("</field>");
        Ok(())
    }

    /// Each value as `<natural>str(value)</natural>`.
    fn natural_fk(&self, out: &mut String, key: &[Py]) -> Result<(), String> {
        for v in key {
            out.push_str("<natural>");
            match v {
                Py::None => out.push_str("None"),
                // Where str() is not the XML text of the value.
                Py::DateTime(_) | Py::Duration(_) | Py::Json(_) => {
                    return Err("a natural key holds a value that XML can't write as \
                                Django does (a datetime, duration or JSON)"
                        .into())
                }
                v => {
                    if let Some(text) = xml_text(v)? {
                        write_text(out, &text)?;
                    }
                }
            }
            out.push_str("</natural>");
        }
        Ok(())
    }

    fn tail(&self, out: &mut String, _entries: bool) {
        self.indent(out, 1);
        out.push_str("</object>");
    }

    fn end(&self, out: &mut String) {
        self.indent(out, 0);
        out.push_str("</django-objects>");
    }
}

/// The text `value_to_string` gives, as the XML serializer writes it;
/// `None` for a value that is Python's `None` (written `<None></None>`).
pub fn xml_text<'a>(value: &'a Py) -> Result<Option<Cow<'a, str>>, String> {
    let mut out = String::new();
    match value {
        Py::None => return Ok(None),
        // Text as it is, without a copy: most values are text.
        Py::Str(s) => return Ok(Some(Cow::Borrowed(s))),
        Py::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Py::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Py::Float(f) => repr::write_float(&mut out, *f),
        Py::Decimal(s) => out.push_str(s),
        Py::Date(d) => {
            let _ = write!(out, "{d}");
        }
        Py::Time(t) => time_iso(&mut out, t, false),
        Py::DateTime(dt) => datetime_iso(&mut out, dt, false),
        Py::Duration(us) => out.push_str(&duration_string(*us)),
        Py::Json(text) => {
            let doc = Doc::parse(text).map_err(|e| e.to_string())?;
            if doc.is_null() {
                return Ok(None);
            }
            let style = Style {
                indent: None,
                ascii: true,
            };
            doc.write(&mut out, style, 0);
        }
    }
    Ok(Some(Cow::Owned(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(v: &str) -> String {
        let mut s = String::new();
        write_attr(&mut s, "pk", v).expect("attr");
        s
    }

    #[test]
    fn attributes_like_quoteattr() {
        assert_eq!(attr("O'Brien"), " pk=\"O'Brien\"");
        assert_eq!(attr("say \"x\""), " pk='say \"x\"'");
        assert_eq!(attr("a'\"b"), " pk=\"a'&quot;b\"");
        assert_eq!(attr("<&>\n\t"), " pk=\"&lt;&amp;&gt;&#10;&#9;\"");
        assert_eq!(attr("\"\n"), " pk='\"&#10;'");
        let mut s = String::new();
        assert!(write_attr(&mut s, "pk", "a\u{1}").is_err());
    }

    #[test]
    fn names_xml_cant_hold_are_refused_by_name() {
        let mut s = String::new();
        let e = write_name_attr(&mut s, "name", "a\u{1}b", "field name").expect_err("refused");
        assert_eq!(
            e,
            "the field name \"a\\u{1}b\" contains control characters, which XML 1.0 can't hold"
        );
        write_name_attr(&mut s, "name", "<\"'&\n>", "field name").expect("escaped");
        assert_eq!(s, " name=\"&lt;&quot;'&amp;&#10;&gt;\"");
    }

    #[test]
    fn text_like_characters() {
        let mut s = String::new();
        write_text(&mut s, "a<b>&c\"'\r\n\t\u{7f}\u{85}").expect("text");
        assert_eq!(s, "a&lt;b&gt;&amp;c\"'\r\n\t\u{7f}\u{85}");
        assert!(write_text(&mut s, "ctrl \u{1}").is_err());
        assert!(write_text(&mut s, "\u{b}").is_err());
    }
}
