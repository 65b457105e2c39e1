//! What a dump's restore.py says of its data, read from the statements
//! the Python sink writes (`plugins/sinks/python/src/restore.rs`): the
//! source's notes, the languages, the model globals, one create function
//! per model, `DUMPED_MODELS`, `MISSING_TABLES` and the data files in
//! `main`'s order. Everything else (the loader, the helpers) is skipped
//! unread; nothing is evaluated.

use std::collections::HashMap;

use crate::expr::{self, Expr};

/// The first line of restore.py's description of its source: how a dump
/// written by dump2py is told from one written by Lino's `dump2py`.
pub const OURS: &str = "# This is a Python dump of ";
const WRITTEN_BY: &str = ", written by dump2py ";
const WITH_META: &str = "# DJANGO_SETTINGS_MODULE was ";
const DECIMALS_AS_REAL: &str = "Dump2pyLoader.decimals_as_real = ";

/// Where a create function's model comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelRef {
    /// `model('<table>')`: a dump without site metadata.
    Table(String),
    /// A model global (`contacts_Person`).
    Global(String),
}

/// What a create function does with one parameter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Param {
    pub name: String,
    /// The model's keyword argument it is passed as (its attname).
    pub attname: Option<String>,
    pub decimal: bool,
    pub content_type: bool,
    /// `duration_or_int`: a `bigint` column without metadata.
    pub maybe_duration: bool,
    pub babel: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateFn {
    pub name: String,
    pub params: Vec<Param>,
    pub model: ModelRef,
    /// An MTI child's parent, and the parameter that links to it.
    pub mti: Option<(ModelRef, String)>,
    /// restore.py's line of its `def`.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dumped {
    pub table: String,
    /// `app_label.ObjectName` with site metadata.
    pub label: Option<String>,
    /// The attnames the create function passes (generated columns not).
    pub attnames: Vec<String>,
}

/// What restore.py says.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The source it describes and the dump2py version that wrote it.
    pub source: String,
    pub with_meta: bool,
    pub source_version: Option<String>,
    pub decimals_as_real: bool,
    /// The site's languages, from `bv2kw` (none without babel fields).
    pub languages: Vec<String>,
    /// Model globals: name → (app_label, ObjectName or model name).
    pub globals: HashMap<String, (String, String)>,
    /// Module-level aliases of the template's globals: alias → global.
    pub aliases: HashMap<String, String>,
    pub functions: Vec<CreateFn>,
    pub dumped: Vec<Dumped>,
    /// The tables the dump couldn't read (`-t`), and why.
    pub missing: Vec<(String, String)>,
    /// The data files, in the order `main` executes them.
    pub files: Vec<String>,
    /// Written by Lino's own dump2py: no `DUMPED_MODELS`, the site's
    /// metadata says which table each create function fills.
    pub lino: bool,
}

/// Why restore.py can't be read: a message and its line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutError {
    pub line: usize,
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> LayoutError {
    LayoutError {
        line,
        message: message.into(),
    }
}

fn parse_at(text: &str, line: usize) -> Result<Expr, LayoutError> {
    expr::parse(text).map_err(|e| err(line, format!("column {}: {}", e.offset + 1, e.message)))
}

/// Lino's own dump2py's description line.
const LINOS: &str = "# This is a Python dump created using dump2py.";

/// Whether restore.py's text is one that Lino's own dump2py wrote.
pub fn written_by_lino(text: &str) -> bool {
    text.lines().take(8).any(|l| l == LINOS)
}

/// Whether restore.py's text is one dump2py wrote (its description line).
pub fn written_by_dump2py(text: &str) -> bool {
    text.lines()
        .take(8)
        .any(|l| l.starts_with(OURS) && l.contains(WRITTEN_BY))
}

impl Layout {
    pub fn read(text: &str) -> Result<Layout, LayoutError> {
        let mut layout = Layout::default();
        let lines: Vec<&str> = text.split('\n').collect();
        let mut i = 0;
        while i < lines.len() {
            let n = i + 1;
            let line = lines[i].trim_end_matches('\r');
            i += 1;
            if let Some(rest) = line.strip_prefix(OURS) {
                layout.source = rest.to_string();
            } else if line.starts_with(WITH_META) {
                layout.with_meta = true;
            } else if let Some(v) = line.strip_prefix("SOURCE_VERSION = ") {
                let v = parse_at(v, n)?;
                layout.source_version = match v.str() {
                    Some("None") | None => None,
                    Some(s) => Some(s.to_string()),
                };
            } else if let Some(v) = line.strip_prefix(DECIMALS_AS_REAL) {
                layout.decimals_as_real = v == "True";
            } else if line.starts_with("def bv2kw(") {
                // Its return, after a docstring.
                let at = (i..lines.len().min(i + 8))
                    .find(|&k| lines[k].trim_start().starts_with("return "))
                    .ok_or_else(|| err(n, "bv2kw of another shape"))?;
                layout.languages = languages(lines[at].trim(), at + 1)?;
            } else if line.starts_with("def create_") {
                let start = i;
                while i < lines.len()
                    && (lines[i].starts_with("    ") || lines[i].starts_with("#    "))
                {
                    i += 1;
                }
                let f = create_fn(line, &lines[start..i], n, &layout.aliases)?;
                layout.functions.push(f);
            } else if line.starts_with("DUMPED_MODELS = [") {
                let (text, next) = block(&lines, i - 1, "]");
                i = next;
                layout.dumped = dumped(&parse_at(&text["DUMPED_MODELS = ".len()..], n)?, n)?;
            } else if line.starts_with("MISSING_TABLES = {") {
                let (text, next) = block(&lines, i - 1, "}");
                i = next;
                let Expr::Dict(pairs) = parse_at(&text["MISSING_TABLES = ".len()..], n)? else {
                    return Err(err(n, "MISSING_TABLES is not a dict"));
                };
                for (k, v) in pairs {
                    let (Some(t), Some(why)) = (k.str(), v.str()) else {
                        return Err(err(n, "a missing table that is no string"));
                    };
                    layout.missing.push((t.to_string(), why.to_string()));
                }
            } else if let Some(call) = line.trim_start().strip_prefix("execfile(") {
                if line.starts_with("    ") {
                    let name = call
                        .strip_suffix(", *args)")
                        .ok_or_else(|| err(n, "an execfile(...) of another shape"))?;
                    let name = parse_at(name, n)?;
                    let name = name
                        .str()
                        .ok_or_else(|| err(n, "a data file name that is no string"))?;
                    layout.files.push(name.to_string());
                }
            } else if !line.starts_with(' ') && !line.starts_with('#') {
                layout.global(line, n)?;
            }
        }
        if let Some((source, _)) = layout.source.rsplit_once(WRITTEN_BY) {
            layout.source = source.to_string();
        }
        if written_by_lino(text) {
            layout.lino = true;
        } else if layout.functions.len() != layout.dumped.len() {
            return Err(err(
                lines.len(),
                format!(
                    "{} create functions but {} models in DUMPED_MODELS",
                    layout.functions.len(),
                    layout.dumped.len()
                ),
            ));
        }
        Ok(layout)
    }

    /// A module-level `NAME = ...` that binds a model global or an alias.
    fn global(&mut self, line: &str, n: usize) -> Result<(), LayoutError> {
        let Some((name, value)) = line.split_once(" = ") else {
            return Ok(());
        };
        if !is_identifier(name) {
            return Ok(());
        }
        // Only the shapes below mean anything; other module-level
        // statements (the helpers') are skipped unread.
        let Ok(value) = expr::parse(value) else {
            return Ok(());
        };
        let strs = |args: &[Expr]| -> Option<Vec<String>> {
            args.iter().map(|a| a.str().map(str::to_string)).collect()
        };
        match value.simple_call() {
            Some(("resolve_model", args)) => {
                let [label] = strs(args)
                    .unwrap_or_default()
                    .try_into()
                    .map_err(|_| err(n, "resolve_model(...) takes one label"))?;
                let (app, object) = label
                    .split_once('.')
                    .ok_or_else(|| err(n, "a model label without a dot"))?;
                self.globals
                    .insert(name.to_string(), (app.to_string(), object.to_string()));
            }
            Some(("_dump2py_get_model" | "ct_model", args)) => {
                let [app, object] = strs(args)
                    .unwrap_or_default()
                    .try_into()
                    .map_err(|_| err(n, "a model global of another shape"))?;
                self.globals.insert(name.to_string(), (app, object));
            }
            _ => {
                if let Expr::Name(target) = value {
                    self.aliases.insert(name.to_string(), target);
                }
            }
        }
        Ok(())
    }
}

/// The lines from `start` up to the one that is exactly `end`, joined.
fn block(lines: &[&str], start: usize, end: &str) -> (String, usize) {
    let first = lines[start].trim_end_matches('\r');
    if first.ends_with(end) && first.len() > 1 {
        return (first.to_string(), start + 1);
    }
    let mut text = first.to_string();
    let mut i = start + 1;
    while i < lines.len() {
        let l = lines[i].trim_end_matches('\r');
        text.push(' ');
        text.push_str(l.trim());
        i += 1;
        if l == end {
            break;
        }
    }
    (text, i)
}

fn is_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c == b'_' || c.is_ascii_alphabetic())
        && b.all(|c| c == b'_' || c.is_ascii_alphanumeric())
}

/// `return settings.SITE.babelkw(fieldname, en=values[0], de=values[1])`.
fn languages(body: &str, n: usize) -> Result<Vec<String>, LayoutError> {
    let args = body
        .strip_prefix("return settings.SITE.babelkw(fieldname, ")
        .and_then(|a| a.strip_suffix(')'))
        .ok_or_else(|| err(n, "bv2kw of another shape"))?;
    let mut out = Vec::new();
    for (i, a) in args.split(',').map(str::trim).enumerate() {
        let lang = a
            .strip_suffix(&format!("=values[{i}]"))
            .filter(|l| is_identifier(l))
            .ok_or_else(|| err(n, "bv2kw of another shape"))?;
        out.push(lang.to_string());
    }
    Ok(out)
}

fn dumped(e: &Expr, n: usize) -> Result<Vec<Dumped>, LayoutError> {
    let Expr::List(items) = e else {
        return Err(err(n, "DUMPED_MODELS is not a list"));
    };
    items
        .iter()
        .map(|item| {
            let bad = || err(n, "an entry of DUMPED_MODELS of another shape");
            let Expr::Tuple(parts) = item else {
                return Err(bad());
            };
            let [table, label, Expr::Tuple(attnames)] = parts.as_slice() else {
                return Err(bad());
            };
            Ok(Dumped {
                table: table.str().ok_or_else(bad)?.to_string(),
                label: match label {
                    Expr::None => None,
                    l => Some(l.str().ok_or_else(bad)?.to_string()),
                },
                attnames: (attnames.iter())
                    .map(|a| a.str().map(str::to_string).ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}

/// The model a create function's `return` names.
fn model_ref(e: &Expr, aliases: &HashMap<String, String>) -> Option<ModelRef> {
    let resolve = |n: &str| aliases.get(n).cloned().unwrap_or_else(|| n.to_string());
    match e {
        Expr::Name(n) => Some(ModelRef::Global(resolve(n))),
        _ => match e.simple_call()? {
            (f, [Expr::Str(t)]) if resolve(f) == "model" => Some(ModelRef::Table(t.clone())),
            _ => None,
        },
    }
}

/// One `def create_X(params):` and its body.
fn create_fn(
    def: &str,
    body: &[&str],
    n: usize,
    aliases: &HashMap<String, String>,
) -> Result<CreateFn, LayoutError> {
    let bad = |line: usize, what: &str| err(line, format!("create function: {what}"));
    let head = def
        .strip_prefix("def ")
        .and_then(|d| d.strip_suffix("):"))
        .ok_or_else(|| bad(n, "a def of another shape"))?;
    let (name, params) = head
        .split_once('(')
        .ok_or_else(|| bad(n, "a def of another shape"))?;
    let params: Vec<Param> = match params {
        "" => Vec::new(),
        p => p
            .split(", ")
            .map(|p| match is_identifier(p) {
                true => Ok(Param {
                    name: p.to_string(),
                    ..Param::default()
                }),
                false => Err(bad(n, "a parameter that is no identifier")),
            })
            .collect::<Result<_, _>>()?,
    };
    let mut f = CreateFn {
        name: name.to_string(),
        params,
        model: ModelRef::Table(String::new()),
        mti: None,
        line: n,
    };
    let resolve = |n: &str| aliases.get(n).map_or(n, String::as_str).to_string();
    let mut kw = String::from("kw");
    let mut returned = false;
    for (k, line) in body.iter().enumerate() {
        let ln = n + 1 + k;
        if line.starts_with('#') {
            continue;
        }
        let stmt = line.trim_start();
        if let Some(value) = stmt.strip_prefix("return ") {
            let e = parse_at(value, ln)?;
            let Expr::Call {
                func,
                args,
                kwargs,
                star_kwargs,
            } = &e
            else {
                return Err(bad(ln, "a return of another shape"));
            };
            if !kwargs.is_empty() || star_kwargs != std::slice::from_ref(&kw) {
                return Err(bad(ln, "a return of another shape"));
            }
            match (func.name().map(resolve).as_deref(), args.as_slice()) {
                (Some("create_mti_child"), [parent, Expr::Name(link), child]) => {
                    f.model = model_ref(child, aliases)
                        .ok_or_else(|| bad(ln, "an MTI child of another shape"))?;
                    let parent = model_ref(parent, aliases)
                        .ok_or_else(|| bad(ln, "an MTI parent of another shape"))?;
                    f.mti = Some((parent, link.clone()));
                }
                (_, []) => {
                    f.model = model_ref(func, aliases)
                        .ok_or_else(|| bad(ln, "a return of another shape"))?;
                }
                _ => return Err(bad(ln, "a return of another shape")),
            }
            returned = true;
            continue;
        }
        // `if P is not None: STATEMENT`
        let (guard, stmt) = match stmt.strip_prefix("if ") {
            Some(rest) => {
                let (p, s) = rest
                    .split_once(" is not None: ")
                    .ok_or_else(|| bad(ln, "an if of another shape"))?;
                (Some(p), s)
            }
            None => (None, stmt),
        };
        let param = |p: &str| f.params.iter().position(|x| x.name == p);
        if let Some(rest) = stmt.strip_prefix(&format!("{kw}[")) {
            // kw['attname'] = P: the key is a string literal, which may
            // hold "] = " itself; the parameter is a name, which can't.
            let (key, p) = rest
                .rsplit_once("] = ")
                .ok_or_else(|| bad(ln, "a keyword of another shape"))?;
            let key = parse_at(key, ln)?;
            let (Some(key), Expr::Name(p)) = (key.str(), parse_at(p, ln)?) else {
                return Err(bad(ln, "a keyword of another shape"));
            };
            let i = param(&p).ok_or_else(|| bad(ln, "an unknown parameter"))?;
            f.params[i].attname = Some(key.to_string());
            continue;
        }
        let assignment = (stmt.split_once(" = ")).filter(|(lhs, _)| is_identifier(lhs));
        if let Some((lhs, rhs)) = assignment {
            let rhs = parse_at(rhs, ln)?;
            let Some((call, args)) = rhs.simple_call() else {
                return Err(bad(ln, "an assignment of another shape"));
            };
            match (resolve(call).as_str(), args) {
                ("dict", []) if guard.is_none() && is_identifier(lhs) => kw = lhs.to_string(),
                ("Decimal", [Expr::Name(p)]) if p == lhs && guard == Some(lhs) => {
                    let i = param(lhs).ok_or_else(|| bad(ln, "an unknown parameter"))?;
                    f.params[i].decimal = true;
                }
                ("new_content_type_id", [Expr::Name(p)]) if p == lhs && guard.is_none() => {
                    let i = param(lhs).ok_or_else(|| bad(ln, "an unknown parameter"))?;
                    f.params[i].content_type = true;
                }
                ("duration_or_int", [Expr::Str(_), Expr::Str(_), Expr::Name(p)])
                    if p == lhs && guard.is_none() =>
                {
                    let i = param(lhs).ok_or_else(|| bad(ln, "an unknown parameter"))?;
                    f.params[i].maybe_duration = true;
                }
                _ => return Err(bad(ln, "an assignment of another shape")),
            }
            continue;
        }
        // kw.update(P=P) or kw.update(bv2kw('attname', P))
        let e = parse_at(stmt, ln)?;
        let Expr::Call {
            func,
            args,
            kwargs,
            star_kwargs,
        } = &e
        else {
            return Err(bad(ln, "a statement of another shape"));
        };
        let is_update =
            matches!(&**func, Expr::Attr(o, m) if m == "update" && o.name() == Some(kw.as_str()));
        if !is_update || !star_kwargs.is_empty() {
            return Err(bad(ln, "a statement of another shape"));
        }
        match (args.as_slice(), kwargs.as_slice()) {
            ([], [(key, Expr::Name(p))]) if guard.is_none() && key == p => {
                let i = param(p).ok_or_else(|| bad(ln, "an unknown parameter"))?;
                f.params[i].attname = Some(key.clone());
            }
            ([call], []) => match call.simple_call() {
                Some((b, [Expr::Str(attname), Expr::Name(p)]))
                    if resolve(b) == "bv2kw" && guard == Some(p.as_str()) =>
                {
                    let i = param(p).ok_or_else(|| bad(ln, "an unknown parameter"))?;
                    f.params[i].attname = Some(attname.clone());
                    f.params[i].babel = true;
                }
                _ => return Err(bad(ln, "a statement of another shape")),
            },
            _ => return Err(bad(ln, "a statement of another shape")),
        }
    }
    if !returned {
        return Err(bad(n, "no return"));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The notes restore.py carries are the sink's.
    #[test]
    fn the_sinks_notes() {
        assert_eq!(DECIMALS_AS_REAL, dump2py_python::DECIMALS_AS_REAL);
    }

    #[test]
    fn a_create_function() {
        let body = [
            "    if price is not None: price = _dump2py_Decimal(price)",
            "    owner_type_id = new_content_type_id(owner_type_id)",
            "#    if type: type = settings.SITE.models.countries.PlaceTypes.get_by_value(type)",
            "    kw_ = dict()",
            "    if name is not None: kw_.update(bv2kw('name',name))",
            "    kw_['class'] = class_",
            "    kw_['a] = b'] = a_b",
            "    return create_mti_child(model('app_base'), base_ptr_id, app_Thing, **kw_)",
        ];
        let aliases = HashMap::from([("_dump2py_Decimal".to_string(), "Decimal".to_string())]);
        let f = create_fn(
            "def create_app_thing(base_ptr_id, name, class_, owner_type_id, price, a_b):",
            &body,
            10,
            &aliases,
        )
        .expect("read");
        assert_eq!(f.model, ModelRef::Global("app_Thing".into()));
        assert_eq!(
            f.mti,
            Some((ModelRef::Table("app_base".into()), "base_ptr_id".into()))
        );
        assert!(f.params[1].babel);
        assert_eq!(f.params[2].attname.as_deref(), Some("class"));
        assert!(f.params[3].content_type);
        assert!(f.params[4].decimal);
        assert_eq!(f.params[5].attname.as_deref(), Some("a] = b"));
        let e = create_fn("def create_x(a):", &["    os.system('x')"], 3, &aliases)
            .expect_err("refused");
        assert_eq!(e.line, 4);
    }
}
