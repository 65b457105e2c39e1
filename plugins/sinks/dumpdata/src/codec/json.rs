//! The text of `dumpdata --format json`: Django's JSON serializer calls
//! `json.dump` per object, with `", "`/`": "` separators, or with
//! `indent=N` and `","`/`": "`.

use std::fmt::Write as _;

use dump2py_django::pyvalue::{base64_source, push_base64, py, Py};
use dump2py_model::schema::Storage;
use dump2py_model::value::duration_string;
use dump2py_model::Value;
use dump2py_py::json::{write_float, write_str, Doc, Style};

use super::{datetime_iso, time_iso};
use super::{FieldError, Format};
use crate::placeholder::placeholder;
use dump2py_django::serializer::{DdM2m, DdModel};

pub struct JsonFormat {
    /// `--indent N`.
    pub indent: Option<usize>,
}

impl JsonFormat {
    /// Django frames objects with newlines only for a non-zero indent
    /// (`if self.options.get("indent")`).
    fn framed(&self) -> bool {
        self.indent.is_some_and(|n| n > 0)
    }

    fn newline(&self, out: &mut String, level: usize) {
        if let Some(n) = self.indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * level));
        }
    }

    /// The separator before entry `i` of a container whose entries are
    /// `level` deep.
    fn sep(&self, out: &mut String, i: usize, level: usize) {
        if self.indent.is_some() {
            if i > 0 {
                out.push(',');
            }
            self.newline(out, level);
        } else if i > 0 {
            out.push_str(", ");
        }
    }

    fn list(&self, out: &mut String, items: &[Py], level: usize) -> Result<(), String> {
        if items.is_empty() {
            out.push_str("[]");
            return Ok(());
        }
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            self.sep(out, i, level + 1);
            write_json(out, item, self.indent, level + 1)?;
        }
        self.newline(out, level);
        out.push(']');
        Ok(())
    }
}

impl Format for JsonFormat {
    fn start(&self, out: &mut String) {
        out.push('[');
    }

    fn before_object(&self, out: &mut String, first: bool) {
        if !first {
            out.push(',');
            if !self.framed() {
                out.push(' ');
            }
        }
        if self.framed() {
            out.push('\n');
        }
    }

    fn head(
        &self,
        out: &mut String,
        model: &DdModel,
        row: &[Value],
        storage: Storage,
    ) -> Result<(), FieldError> {
        out.push('{');
        self.sep(out, 0, 1);
        out.push_str("\"model\": ");
        write_str(out, &model.label, false);
        let mut entry = 1;
        if !model.omit_pk {
            self.sep(out, entry, 1);
            entry += 1;
            out.push_str("\"pk\": ");
            let pk: Vec<Py> = model
                .pk
                .iter()
                .filter_map(|c| c.index.and_then(|i| row.get(i)).map(|v| (c, v)))
                .map(|(c, v)| py(model.pk_kind, v, storage).map_err(|e| (c.name.clone(), e)))
                .collect::<Result<_, _>>()?;
            let pk_col = || model.pk.first().map(|c| c.name.clone()).unwrap_or_default();
            match pk.as_slice() {
                [] => out.push_str("null"),
                [one] => write_json(out, one, self.indent, 1).map_err(|e| (pk_col(), e))?,
                // A composite key is a list (Django 5.2's CompositePrimaryKey).
                many => self.list(out, many, 1).map_err(|e| (pk_col(), e))?,
            }
        }
        self.sep(out, entry, 1);
        out.push_str("\"fields\": {");
        for (i, f) in model.fields.iter().enumerate() {
            self.sep(out, i, 2);
            write_str(out, &f.name, false);
            out.push_str(": ");
            let v = f.col.index.and_then(|i| row.get(i)).unwrap_or(&Value::Null);
            // Resolved at `finish`, when every row it may name is read.
            if f.natural.is_some() && !matches!(v, Value::Null) {
                placeholder(out, i, v);
                continue;
            }
            if let Some(b) = base64_source(f.kind, v) {
                out.push('"');
                push_base64(out, b);
                out.push('"');
                continue;
            }
            py(f.kind, v, storage)
                .and_then(|p| write_json(out, &p, self.indent, 2))
                .map_err(|e| (f.col.name.clone(), e))?;
        }
        Ok(())
    }

    fn natural_fk(&self, out: &mut String, key: &[Py]) -> Result<(), String> {
        self.list(out, key, 2)
    }

    fn m2m(
        &self,
        out: &mut String,
        field: &DdM2m,
        first: bool,
        targets: &[Value],
        natural: Option<&[Vec<Py>]>,
        storage: Storage,
    ) -> Result<(), String> {
        self.sep(out, usize::from(!first), 2);
        write_str(out, &field.name, false);
        out.push_str(": ");
        if let Some(keys) = natural {
            // A list of natural keys, each a list.
            if keys.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, key) in keys.iter().enumerate() {
                self.sep(out, i, 3);
                self.list(out, key, 3)?;
            }
            self.newline(out, 2);
            out.push(']');
            return Ok(());
        }
        let items: Vec<Py> = targets
            .iter()
            .map(|v| py(field.target_kind, v, storage))
            .collect::<Result<_, _>>()?;
        self.list(out, &items, 2)
    }

    fn tail(&self, out: &mut String, entries: bool) {
        if entries {
            self.newline(out, 1);
        }
        out.push('}');
        self.newline(out, 0);
        out.push('}');
    }

    fn end(&self, out: &mut String) {
        if self.framed() {
            out.push('\n');
        }
        out.push(']');
        if self.framed() {
            out.push('\n');
        }
    }
}

/// Writes `value` as `dumpdata --format json` does, nested `level` deep.
pub fn write_json(
    out: &mut String,
    value: &Py,
    indent: Option<usize>,
    level: usize,
) -> Result<(), String> {
    match value {
        Py::None => out.push_str("null"),
        Py::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Py::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Py::Float(f) => write_float(out, *f),
        Py::Decimal(s) => write_str(out, s, false),
        Py::Str(s) => write_str(out, s, false),
        Py::Date(d) => {
            let _ = write!(out, "\"{d}\"");
        }
        Py::Time(t) => {
            out.push('"');
            time_iso(out, t, true);
            out.push('"');
        }
        Py::DateTime(dt) => {
            out.push('"');
            datetime_iso(out, dt, true);
            out.push('"');
        }
        Py::Duration(us) => write_str(out, &duration_string(*us), false),
        Py::Json(text) => {
            let style = Style {
                indent,
                ascii: false,
            };
            Doc::parse(text)
                .map_err(|e| e.to_string())?
                .write(out, style, level);
        }
    }
    Ok(())
}
