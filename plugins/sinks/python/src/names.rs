//! Names from the database made safe for a Python dump: the data files'
//! names and the Python identifiers of restore.py. Table and column names
//! are data: they reach restore.py and the data files only through the
//! mappings here, or inside escaped string literals and comments
//! ([`write_comment_name`]).
//!
//! **File stems.** A table whose name is *plain*, `[a-z0-9][a-z0-9_]*` of
//! at most [`MAX_STEM`] bytes, other than `restore` and other than a plain
//! table's name followed by `_<digits>` (a split part's name), is its own
//! stem, as in Lino's dump. Any other table's stem is `_` and the name's
//! UTF-8 bytes with each byte other than `a`-`z` and `0`-`9` as `%XX`
//! (`_` is `%5F`, `A` is `%41`); a stem longer than [`MAX_STEM`] is cut (at
//! an escape's boundary) and ends in `+` and 16 hex digits of a hash of the
//! name. A data file is `<stem>.py`, or `<stem>_<n>.py` for part n of a
//! split table. So plain stems are lowercase and never start with `_`;
//! escaped stems start with `_` and hold no other `_`; a part adds exactly
//! one `_<n>`. No two tables get the same file, also with case folded, no
//! file is `restore.py`, none has `/`, `..`, a leading dot or a control
//! character, and every name has at most 255 bytes. Should two cut names
//! meet (case-folded), the later table (by name) gets `+2`, `+3`, ….
//!
//! **Identifiers.** A table's create function is `create_<table>` when
//! that is an ASCII identifier and not Lino's `create_mti_child`; any
//! other table's is `create_` and the name with each character other than
//! ASCII letters and digits as `_` (leading ones dropped), then `_2`,
//! `_3`, … until no other create function, model global or helper of
//! restore.py has it. A column's parameter is its Django
//! attname when that is an ASCII identifier, not a keyword and not a
//! dunder (`__x__`): Lino's contract for data migrations. Otherwise it is
//! the attname with other characters as `_`, a keyword with `_` appended
//! (`class_`), a dunder or empty name prefixed with `x`, a leading digit
//! with `_`, then `_2`, `_3`, … until it differs from the other parameters
//! and the template's names. The template's own local (`kw`) becomes `kw_`,
//! `kw__`, … in a function that has a parameter `kw`, and a global the
//! function uses (`Decimal`, `dict`, `model`, a model global, …) that a
//! parameter shadows is used through an alias `_dump2py_<name>` bound at
//! module level: a function's body never means a parameter where the
//! template means its own name.

use std::collections::{BTreeMap, HashMap, HashSet};

use dump2py_django::{Model, Site};

use dump2py_py::repr::is_printable;
use dump2py_py::repr::write_str;

/// The longest file stem: with `_<part>.py` (a part number has at most 20
/// digits) a file name stays within 255 bytes.
pub const MAX_STEM: usize = 200;

/// Python's keywords. Soft keywords (`match`, `case`, `type`, `_`) are
/// valid names of parameters and variables.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Module-level names of restore.py's template (helpers, imports, the
/// code of `main`): no create function or alias may take them.
const TEMPLATE_GLOBALS: &[&str] = &[
    "os",
    "Decimal",
    "datetime",
    "date",
    "time",
    "timedelta",
    "timezone",
    "apps",
    "settings",
    "call_command",
    "make_aware",
    "logger",
    "create_mti_child",
    "DpyLoader",
    "dt",
    "new_content_type_id",
    "ct_model",
    "missing_content_type",
    "execfile",
    "resolve_model",
    "_DURATIONS",
    "duration_or_int",
    "bv2kw",
    "_bind_models",
    "MODEL_NAMES",
    "model",
    "SOURCE_VERSION",
    "MISSING_TABLES",
    "main",
    "argparse",
    "parser",
    "args",
    "loader",
    "dict",
    // The loader of restore.py (see restore/helpers.py).
    "logging",
    "contextmanager",
    "_dump2py_clock",
    "_Dump2pyContext",
    "ValidationError",
    "DEFAULT_DB_ALIAS",
    "connections",
    "transaction",
    "_Dump2pyModel",
    "_dump2py_setup",
    "_dump2py_logger",
    "_dump2py_create_mti_child",
    "_DUMP2PY_LINO",
    "_dump2py_obj_str",
    "_dump2py_statements",
    "_Dump2pyPending",
    "Dump2pyLoader",
    "json",
    "hashlib",
    "_dump2py_raw_child",
    "_dump2py_message",
    "_DUMP2PY_MANIFEST",
    "_dump2py_verify",
    "_dump2py_check_site",
    "_dump2py_check_counts",
    "DUMPED_MODELS",
    "_dump2py_get_model",
];

/// The globals every create function's body may use; with those below
/// and the model globals it names, they must not be shadowed by its
/// parameters.
const BODY_GLOBALS: &[&str] = &["dict", "Decimal", "new_content_type_id", "create_mti_child"];

/// The globals a create function uses that restore.py defines only
/// without site metadata.
const INFERRED_GLOBALS: &[&str] = &["model", "duration_or_int"];

/// The template's local in a create function.
const KW: &str = "kw";

/// An ASCII identifier that is no keyword and no dunder: a name restore.py
/// may use as it is.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !KEYWORDS.contains(&s)
        && !(s.len() >= 4 && s.starts_with("__") && s.ends_with("__"))
}

/// A valid identifier made of `s`: see the module's documentation.
fn sanitize(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    if out.is_empty() || (out.starts_with("__") && out.ends_with("__")) {
        out.insert(0, 'x');
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// `base`, or `base_2`, `base_3`, … : the first that `taken` lacks.
fn fresh(base: &str, taken: &dyn Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (2u64..)
        .map(|n| format!("{base}_{n}"))
        .find(|c| !taken(c))
        .unwrap_or_default()
}

/// A table's name as its file stem when it is plain (see the module's
/// documentation), before looking at the other tables.
fn plain_stem(table: &str) -> bool {
    let b = table.as_bytes();
    b.len() <= MAX_STEM
        && b.first()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
        && table != "restore"
}

/// `name` is `stem_<digits>`: the name of one of `stem`'s parts.
fn is_part_of(name: &str, stem: &str) -> bool {
    name.strip_prefix(stem)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
}

/// FNV-1a, 64 bits: a stable hash, for telling cut names apart.
fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `_` and the name's bytes, `%XX` but for `a`-`z` and `0`-`9`; cut with a
/// hash when too long.
fn escaped_stem(table: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::from("_");
    let mut cut = None;
    for b in table.bytes() {
        if out.len() + 3 > MAX_STEM - 17 && cut.is_none() {
            cut = Some(out.len());
        }
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        }
    }
    if out.len() > MAX_STEM {
        out.truncate(cut.unwrap_or(out.len()));
        out.push_str(&format!("+{:016x}", hash(table)));
    }
    out
}

/// The file stems of a site's tables, distinct also with case folded.
pub fn file_stems<'a>(tables: impl IntoIterator<Item = &'a str>) -> HashMap<String, String> {
    let mut tables: Vec<&str> = tables.into_iter().collect();
    tables.sort_unstable();
    tables.dedup();
    let plain: HashSet<&str> = tables.iter().copied().filter(|t| plain_stem(t)).collect();
    let mut used = HashSet::new();
    let mut stems = HashMap::new();
    for t in tables {
        let own = plain.contains(t) && !plain.iter().any(|p| is_part_of(t, p));
        let base = if own { t.to_string() } else { escaped_stem(t) };
        let mut stem = base.clone();
        let mut n = 2u64;
        while !used.insert(stem.to_lowercase()) {
            stem = format!("{base}+{n}");
            n += 1;
        }
        stems.insert(t.to_string(), stem);
    }
    stems
}

/// The data file of part `part` of `parts` with this stem.
pub fn file_name(stem: &str, parts: u64, part: u64) -> String {
    if parts > 1 {
        format!("{stem}_{part}.py")
    } else {
        format!("{stem}.py")
    }
}

/// Appends a name to a comment: as it is when every character is
/// printable (Lino's text), else as a string literal, so that no line
/// break or control character can end the comment early.
pub fn write_comment_name(out: &mut String, name: &str) {
    if name.chars().all(is_printable) {
        out.push_str(name);
    } else {
        write_str(out, name);
    }
}

/// The identifiers of one create function.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// `create_<table>`.
    pub name: String,
    /// One per field of the model, in order.
    pub params: Vec<String>,
    /// The template's local dict (`kw`).
    pub kw: String,
    /// The globals this function must use through an alias: global → alias.
    pub aliases: HashMap<String, String>,
}

impl Function {
    /// The name by which the body refers to the template's global `name`.
    pub fn global<'a>(&'a self, name: &'a str) -> &'a str {
        self.aliases.get(name).map_or(name, String::as_str)
    }
}

/// The identifiers of a whole restore.py.
#[derive(Debug, Clone, Default)]
pub struct PyNames {
    /// By table.
    pub functions: HashMap<String, Function>,
    /// Aliases to bind at module level: alias → global.
    pub aliases: BTreeMap<String, String>,
}

/// The model global that Lino's restore.py binds for `table`, if the site
/// metadata names one.
pub fn model_global(site: &Site, table: &str) -> Option<String> {
    site.model(table).and_then(Model::global_name)
}

impl PyNames {
    pub fn new(site: &Site) -> PyNames {
        let model_globals: HashSet<String> =
            site.models.iter().filter_map(Model::global_name).collect();
        let module_taken = |s: &str| TEMPLATE_GLOBALS.contains(&s) || model_globals.contains(s);
        // Create functions: plain names first, so they keep theirs.
        let mut tables: Vec<&str> = site.models.iter().map(|m| m.table.name.as_str()).collect();
        tables.sort_unstable();
        tables.dedup();
        let mut creates: HashMap<&str, String> = HashMap::new();
        let mut used: HashSet<String> = HashSet::new();
        for &t in &tables {
            let name = format!("create_{t}");
            if is_identifier(&name) && !module_taken(&name) && used.insert(name.clone()) {
                creates.insert(t, name);
            }
        }
        for &t in &tables {
            if creates.contains_key(t) {
                continue;
            }
            let base = format!("create_{}", sanitize(t).trim_start_matches('_'));
            let name = fresh(&base, &|c| used.contains(c) || module_taken(c));
            used.insert(name.clone());
            creates.insert(t, name);
        }
        // Parameters, and the globals each body uses.
        let mut functions = HashMap::new();
        let mut wanted: BTreeMap<String, Vec<HashSet<String>>> = BTreeMap::new();
        for m in &site.models {
            let Some(create) = creates.get(m.table.name.as_str()) else {
                continue;
            };
            let mut body: Vec<String> = BODY_GLOBALS.iter().map(|s| s.to_string()).collect();
            if site.settings.is_none() {
                body.extend(INFERRED_GLOBALS.iter().map(|s| s.to_string()));
            }
            // bv2kw is defined only for a site with babel fields.
            if m.fields.iter().any(|f| f.is_babel) {
                body.push("bv2kw".into());
            }
            body.extend(model_global(site, &m.table.name));
            if let Some(p) = &m.mti_parent {
                body.extend(model_global(site, &p.table));
            }
            let own: HashSet<&str> = (m.fields.iter())
                .map(|f| f.attname.as_str())
                .filter(|a| is_identifier(a))
                .collect();
            let mut params: Vec<String> = Vec::with_capacity(m.fields.len());
            let mut taken: HashSet<String> = own.iter().map(|s| s.to_string()).collect();
            for f in &m.fields {
                if is_identifier(&f.attname) && !params.contains(&f.attname) {
                    params.push(f.attname.clone());
                    continue;
                }
                let p = fresh(&sanitize(&f.attname), &|c| {
                    taken.contains(c) || body.iter().any(|b| b == c) || c == KW
                });
                taken.insert(p.clone());
                params.push(p);
            }
            let kw = std::iter::successors(Some(KW.to_string()), |k| Some(format!("{k}_")))
                .find(|k| !taken.contains(k) && !body.contains(k))
                .unwrap_or_default();
            for g in body.iter().filter(|g| taken.contains(*g)) {
                wanted.entry(g.clone()).or_default().push(taken.clone());
            }
            functions.insert(
                m.table.name.clone(),
                Function {
                    name: create.clone(),
                    params,
                    kw,
                    aliases: HashMap::new(),
                },
            );
        }
        // One alias per shadowed global, free in every function that uses it.
        let mut aliases = BTreeMap::new();
        let mut by_global = HashMap::new();
        for (g, params) in &wanted {
            let alias =
                std::iter::successors(Some(format!("_dump2py_{g}")), |a| Some(format!("{a}_")))
                    .find(|a| {
                        !module_taken(a)
                            && !used.contains(a)
                            && !aliases.contains_key(a)
                            && params.iter().all(|p| !p.contains(a))
                    })
                    .unwrap_or_default();
            aliases.insert(alias.clone(), g.clone());
            by_global.insert(g.clone(), alias);
        }
        for f in functions.values_mut() {
            let shadowed: HashSet<&String> = f.params.iter().collect();
            for (g, a) in &by_global {
                if shadowed.contains(g) {
                    f.aliases.insert(g.clone(), a.clone());
                }
            }
        }
        PyNames { functions, aliases }
    }

    pub fn function(&self, table: &str) -> Option<&Function> {
        self.functions.get(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stems(tables: &[&str]) -> Vec<String> {
        let m = file_stems(tables.iter().copied());
        tables.iter().map(|t| m[*t].clone()).collect()
    }

    #[test]
    fn plain_tables_keep_their_names() {
        assert_eq!(
            stems(&["contacts_partner", "app_t_1", "x2"]),
            ["contacts_partner", "app_t_1", "x2"]
        );
    }

    #[test]
    fn other_names_are_escaped() {
        assert_eq!(
            stems(&["/tmp/x", "../../x", "restore", "A", ".x", "x y", "é", "_x"]),
            [
                "_%2Ftmp%2Fx",
                "_%2E%2E%2F%2E%2E%2Fx",
                "_restore",
                "_%41",
                "_%2Ex",
                "_x%20y",
                "_%C3%A9",
                "_%5Fx"
            ]
        );
    }

    #[test]
    fn a_part_name_of_another_table_is_escaped() {
        assert_eq!(
            stems(&["app_t", "app_t_1", "app_t_x"]),
            ["app_t", "_app%5Ft%5F1", "app_t_x"]
        );
    }

    #[test]
    fn long_names_are_cut_with_a_hash() {
        let a = "a".repeat(300);
        let b = format!("{}b", "a".repeat(299));
        let s = stems(&[&a, &b, &"Z".repeat(100)]);
        for stem in &s {
            assert!(stem.len() <= MAX_STEM, "{stem}");
            assert!(file_name(stem, 2, u64::MAX).len() <= 255);
        }
        assert_ne!(s[0], s[1]);
        assert!(s[2].contains('+'), "{}", s[2]);
    }

    #[test]
    fn identifiers() {
        for ok in ["id", "kw", "model", "_x", "match", "type", "_", "Name2"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["class", "None", "1a", "a b", "", "__debug__", "é", "a-b"] {
            assert!(!is_identifier(bad), "{bad}");
        }
        assert_eq!(sanitize("class"), "class_");
        assert_eq!(sanitize("__debug__"), "x__debug__");
        assert_eq!(sanitize("1 a"), "_1_a");
        assert_eq!(sanitize(""), "x");
    }

    #[test]
    fn comments_cannot_end_early() {
        let mut s = String::new();
        write_comment_name(&mut s, "name");
        write_comment_name(&mut s, "a\nb\r\u{c}\u{2028}");
        assert_eq!(s, "name'a\\nb\\r\\x0c\\u2028'");
    }

    fn site(tables: &[(&str, &[&str])]) -> Site {
        use dump2py_django::ViewOptions;
        use dump2py_model::schema::{Column, ColumnKind, Schema, Table};
        let tables = tables
            .iter()
            .map(|(name, cols)| Table {
                name: name.to_string(),
                columns: cols
                    .iter()
                    .map(|c| Column {
                        name: c.to_string(),
                        declared_type: String::new(),
                        kind: ColumnKind::Text,
                        nullable: true,
                        generated: false,
                    })
                    .collect(),
                primary_key: vec![cols[0].to_string()],
                foreign_keys: vec![],
                unique: vec![],
            })
            .collect();
        Site::build(&Schema { tables }, vec![], &|_| 0, &ViewOptions::default())
    }

    #[test]
    fn parameters_are_the_columns_and_nothing_shadows_the_template() {
        let s = site(&[
            (
                "cars_car",
                &["id", "kw", "model", "kw_", "class", "a b", "class_"],
            ),
            ("cars_plain", &["id", "name"]),
            ("mti_child", &["id"]),
            ("x y", &["id"]),
            ("x_y", &["id"]),
        ]);
        let py = PyNames::new(&s);
        let car = py.function("cars_car").expect("car");
        assert_eq!(car.name, "create_cars_car");
        assert_eq!(
            car.params,
            ["id", "kw", "model", "kw_", "class__2", "a_b", "class_"]
        );
        assert_eq!(car.kw, "kw__");
        assert_eq!(car.global("model"), "_dump2py_model");
        assert_eq!(car.global("dict"), "dict");
        let plain = py.function("cars_plain").expect("plain");
        assert_eq!((plain.kw.as_str(), plain.global("model")), ("kw", "model"));
        assert_eq!(
            py.aliases,
            BTreeMap::from([("_dump2py_model".to_string(), "model".to_string())])
        );
        // Lino's helper keeps its name; distinct tables, distinct functions.
        assert_eq!(
            py.function("mti_child").expect("f").name,
            "create_mti_child_2"
        );
        assert_eq!(py.function("x_y").expect("f").name, "create_x_y");
        assert_eq!(py.function("x y").expect("f").name, "create_x_y_2");
    }

    proptest! {
        #[test]
        fn stems_are_safe_and_distinct(tables in proptest::collection::vec(
            prop_oneof!["[a-z_0-9]{1,12}", "\\PC{0,40}", ".{0,20}", "[\\x01-\\x1f]{1,3}", "[a-zA-Z_./]{0,300}"], 1..12)) {
            let refs: Vec<&str> = tables.iter().map(String::as_str).collect();
            let m = file_stems(refs.iter().copied());
            let mut seen = HashSet::new();
            for t in &refs {
                let stem = &m[*t];
                prop_assert!(!stem.contains('/') && !stem.contains('\\') && !stem.starts_with('.'));
                prop_assert!(!stem.chars().any(|c| c.is_control()));
                prop_assert!(file_name(stem, 9, 9).len() <= 255);
                prop_assert!(stem != "restore");
                if plain_stem(t) && !refs.iter().any(|p| plain_stem(p) && is_part_of(t, p)) {
                    prop_assert_eq!(stem.as_str(), *t);
                }
                let _ = seen.insert(t.to_string());
            }
            // Every file of every table (single or split) is distinct.
            let mut files = HashSet::new();
            for t in &seen {
                for f in [file_name(&m[t], 1, 1), file_name(&m[t], 3, 1), file_name(&m[t], 3, 2)] {
                    prop_assert!(files.insert(f.to_lowercase()), "{} twice", f);
                }
            }
            prop_assert!(!files.contains("restore.py"));
        }
    }
}
