//! The text of restore.py: helpers, the model globals, one create function
//! per model, and `main` that executes the data files in order.

use std::fmt::Write;

use dump2py_django::fields::FieldClass;
use dump2py_django::{Model, Site};
use dump2py_model::schema::ColumnKind;
use dump2py_plugin::DumpInfo;

use crate::names::{self, write_comment_name, Function, PyNames};
use dump2py_py::repr::{write_str, write_str_quoted};

fn lit(s: &str) -> String {
    let mut out = String::new();
    write_str(&mut out, s);
    out
}

/// A `"..."` literal, as Lino writes them.
fn dq(s: &str) -> String {
    let mut out = String::new();
    write_str_quoted(&mut out, s, b'"');
    out
}

/// How restore.py learns that the dumped database stored decimals as REAL
/// (a line of its own: it describes the source, as the header's does).
pub const DECIMALS_AS_REAL: &str = "Dump2pyLoader.decimals_as_real = ";

pub fn header(out: &mut String, info: &DumpInfo, site: &Site, py: &PyNames) {
    let _ = writeln!(out, "#!/usr/bin/env python\n# -*- coding: UTF-8 -*-\n");
    out.push_str("# This is a Python dump of ");
    write_comment_name(out, &info.source);
    out.push_str(", written by dump2py ");
    write_comment_name(out, &info.tool_version);
    out.push_str(".\n");
    match &site.settings {
        Some(st) => {
            let _ = writeln!(
                out,
                "# DJANGO_SETTINGS_MODULE was {}, TIME_ZONE was {}.\n",
                lit(&st.settings_module),
                st.time_zone.as_deref().map_or("None".to_string(), lit)
            );
            let _ = writeln!(
                out,
                "SOURCE_VERSION = {}",
                lit(st.version.as_deref().unwrap_or("None"))
            );
        }
        None => {
            out.push_str(
                "# Restore it inside the site: django-admin run restore.py --noinput\n\
                 # (or, on any Django site: DJANGO_SETTINGS_MODULE=... python restore.py --noinput)\n\
                 # It was made without site metadata: models are found by their table.\n\n",
            );
            out.push_str("SOURCE_VERSION = 'None'\n");
        }
    }
    out.push_str(HELPERS);
    if site.settings.is_some() {
        out.push_str(RESOLVE_MODEL);
    } else {
        out.push_str(DURATIONS);
        // Values are as stored: the loader reads them as Django would.
        out.push_str("Dump2pyLoader.read_as_django = True\n");
        let real = if info.storage.decimals_as_real {
            "True"
        } else {
            "False"
        };
        let _ = writeln!(out, "{DECIMALS_AS_REAL}{real}");
    }
    // Lino always defines bv2kw; without metadata, only for folded babel fields.
    if site.languages.len() > 1 || (site.settings.is_some() && !site.languages.is_empty()) {
        let kw: Vec<String> = site
            .languages
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{l}=values[{i}]"))
            .collect();
        let _ = write!(
            out,
            "\n\ndef bv2kw(fieldname, values):\n    \
             \"\"\"The values of a babel field, in the dumped site's languages.\"\"\"\n    \
             return settings.SITE.babelkw(fieldname, {})\n",
            kw.join(", ")
        );
    }
    if site.settings.is_some() {
        model_globals(out, site);
    } else {
        out.push_str(BIND_MODELS);
        out.push_str("\nMODEL_NAMES = _bind_models([\n");
        let mut tables: Vec<&str> = site.models.iter().map(|m| m.table.name.as_str()).collect();
        tables.sort_unstable();
        for t in tables {
            let _ = writeln!(out, "    {},", lit(t));
        }
        out.push_str(
            "])\n\n\ndef model(table):\n    try:\n        return globals()[MODEL_NAMES[table]]\n    \
             except KeyError:\n        raise Exception(\"This site has no model for the table %s\" % table) from None\n\n",
        );
    }
    if !site.cycles.is_empty() {
        let _ = writeln!(
            out,
            "\n# There are {} models with circular dependencies:",
            site.cycles.len()
        );
        for c in &site.cycles {
            out.push_str("# - ");
            write_comment_name(out, &c.label);
            let _ = write!(out, " ({} rows, depends on ", c.rows);
            for (i, d) in c.depends_on.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_comment_name(out, d);
            }
            out.push_str(")\n");
        }
    }
    // Globals that a create function's parameter shadows, by another name.
    if !py.aliases.is_empty() {
        out.push('\n');
        for (alias, global) in &py.aliases {
            let _ = writeln!(out, "{alias} = {global}");
        }
    }
    out.push('\n');
}

/// One global per model, alphabetical, as Lino binds them. Auto-created
/// link models aren't attributes of their app's models module, so
/// `resolve_model` can't find them: `apps.get_model` can.
fn model_globals(out: &mut String, site: &Site) {
    // Skipped models too (content types, sessions): a content type of
    // theirs is written as their global (a permission of ContentType).
    let mut models: Vec<(String, &Model)> = (site.models.iter().chain(&site.skipped))
        .map(|m| (m.label(), m))
        .collect();
    models.sort_by(|a, b| a.0.cmp(&b.0));
    out.push('\n');
    let mut bound = std::collections::HashSet::new();
    for (label, m) in models {
        let Some(global) = m.global_name() else {
            continue;
        };
        bound.insert(global.clone());
        if m.auto_created {
            let object = m.object_name.as_deref().unwrap_or(&m.model_name);
            let _ = writeln!(
                out,
                "{global} = _dump2py_get_model({}, {})",
                dq(&m.app_label),
                dq(object)
            );
        } else {
            let _ = writeln!(out, "{global} = resolve_model({})", dq(&label));
        }
    }
    // The site's other models (proxies, models left out with -e), which
    // a content type may name: by natural key, None (with a warning) where
    // this site lacks one.
    if let Some(meta) = &site.meta {
        let mut others: Vec<(String, String, String)> = (meta.models.iter())
            .map(|m| {
                let global = format!("{}_{}", m.app_label, m.object_name);
                (global, m.app_label.clone(), m.object_name.to_lowercase())
            })
            .filter(|(g, _, _)| names::is_identifier(g) && !bound.contains(g))
            .collect();
        others.sort();
        for (global, app, model) in others {
            if bound.insert(global.clone()) {
                let _ = writeln!(out, "{global} = ct_model({}, {})", lit(&app), lit(&model));
            }
        }
    }
    out.push('\n');
}

/// The expression for a model's class in a create function.
fn model_ref(site: &Site, table: &str, f: &Function) -> String {
    match names::model_global(site, table) {
        Some(global) => f.global(&global).to_string(),
        None => format!("{}({})", f.global("model"), lit(table)),
    }
}

/// `def create_<table>(...)`: Lino's contract, which data migrations
/// override. Names come from `ids` (see [`crate::names`]): parameters
/// are the attnames, and nothing in the body means a parameter where the
/// template means its own name.
pub fn create_function(out: &mut String, site: &Site, model: &Model, ids: &Function) {
    let kw = ids.kw.as_str();
    let g = |n: &'static str| ids.global(n).to_string();
    let _ = writeln!(out, "\ndef {}({}):", ids.name, ids.params.join(", "));
    for (f, p) in model.fields.iter().zip(&ids.params) {
        if f.class() == FieldClass::Decimal {
            let _ = writeln!(out, "    if {p} is not None: {p} = {}({p})", g("Decimal"));
        } else if let Some(cl) = &f.choicelist {
            // Only a comment (Lino's); a name that isn't plain is left out.
            let (app, name) = cl.split_once('.').unwrap_or(("", cl));
            if names::is_identifier(app) && names::is_identifier(name) {
                let _ = writeln!(
                    out,
                    "#    if {p}: {p} = settings.SITE.models.{app}.{name}.get_by_value({p})"
                );
            }
        } else if f.is_content_type() {
            let _ = writeln!(out, "    {p} = {}({p})", g("new_content_type_id"));
        } else if site.settings.is_none() && may_be_duration(model, f) {
            let _ = writeln!(
                out,
                "    {p} = {}({}, {}, {p})",
                g("duration_or_int"),
                lit(&model.table.name),
                lit(&f.column)
            );
        }
    }
    let _ = writeln!(out, "    {kw} = {}()", g("dict"));
    let link = model.mti_parent.as_ref().map(|p| p.link_column.as_str());
    for (f, p) in model.fields.iter().zip(&ids.params) {
        // A generated column is the database's to compute: never restored.
        let generated = model.table.column(&f.column).is_some_and(|c| c.generated);
        if Some(f.column.as_str()) == link || generated {
            continue;
        }
        if f.is_babel {
            let _ = writeln!(
                out,
                "    if {p} is not None: {kw}.update({}({},{p}))",
                g("bv2kw"),
                lit(&f.attname)
            );
        } else if *p == f.attname {
            let _ = writeln!(out, "    {kw}.update({p}={p})");
        } else {
            // Not an identifier (or a keyword): the model's keyword
            // argument is the attname all the same.
            let _ = writeln!(out, "    {kw}[{}] = {p}", lit(&f.attname));
        }
    }
    match &model.mti_parent {
        Some(parent) => {
            let link = (model.fields.iter().zip(&ids.params))
                .find(|(f, _)| f.column == parent.link_column)
                .map_or("None", |(_, p)| p.as_str());
            let _ = writeln!(
                out,
                "    return {}({}, {}, {}, **{kw})",
                g("create_mti_child"),
                model_ref(site, &parent.table, ids),
                link,
                model_ref(site, &model.table.name, ids)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "    return {}(**{kw})",
                model_ref(site, &model.table.name, ids)
            );
        }
    }
}

/// SQLite stores a DurationField as a `bigint` of microseconds, like a
/// BigIntegerField: only the site can tell them apart, at restore time.
fn may_be_duration(model: &Model, f: &dump2py_django::Field) -> bool {
    f.kind == ColumnKind::Int
        && f.fk_table.is_none()
        && !model.table.primary_key.contains(&f.column)
        && model
            .table
            .column(&f.column)
            .is_some_and(|c| c.declared_type.eq_ignore_ascii_case("bigint"))
}

/// `main` and the command line; `files` are the data files in order.
pub fn main(
    out: &mut String,
    site: &Site,
    files: &[(String, String)],
    missing: &[(String, String)],
) {
    // What restore.py checks of the site before it empties the database:
    // each dumped model (by label, or by table without metadata) and the
    // fields its create function passes.
    out.push_str("\n\nDUMPED_MODELS = [\n");
    for m in &site.models {
        if missing.iter().any(|(t, _)| *t == m.table.name) {
            continue;
        }
        let label = match site.settings {
            Some(_) => dq(&m.label()),
            None => "None".to_string(),
        };
        let _ = write!(out, "    ({}, {label}, (", lit(&m.table.name));
        for f in &m.fields {
            if m.table.column(&f.column).is_some_and(|c| c.generated) {
                continue;
            }
            out.push_str(&lit(&f.attname));
            out.push_str(", ");
        }
        out.push_str(")),\n");
    }
    out.push_str("]\n");
    out.push_str("\n\nMISSING_TABLES = {");
    for (i, (t, reason)) in missing.iter().enumerate() {
        let _ = write!(
            out,
            "{}\n    {}: {}",
            if i == 0 { "" } else { "," },
            lit(t),
            lit(reason)
        );
    }
    out.push_str(if missing.is_empty() { "}\n" } else { ",\n}\n" });
    // Each data file's table: what --only, --exclude and --resume go by.
    out.push_str("\n\nDATA_FILES = {\n");
    for (f, table) in files {
        let _ = writeln!(out, "    {}: {},", lit(f), lit(table));
    }
    out.push_str("}\n");
    out.push_str(MAIN_HEAD);
    for (f, _) in files {
        let _ = writeln!(out, "            execfile({}, *args)", lit(f));
    }
    out.push_str(MAIN_TAIL);
}

/// The loader and helpers every restore.py starts with (Python source).
const HELPERS: &str = include_str!("restore/helpers.py");

const DURATIONS: &str = r#"

_DURATIONS = {}


def duration_or_int(table, column, value):
    """A bigint column holds microseconds if the site's field is a DurationField."""
    if value is None:
        return None
    key = (table, column)
    if key not in _DURATIONS:
        fields = model(table)._meta.concrete_fields
        _DURATIONS[key] = any(f.column == column and f.get_internal_type() == "DurationField" for f in fields)
    return timedelta(microseconds=value) if _DURATIONS[key] else value
"#;

const BIND_MODELS: &str = r#"

def _bind_models(tables):
    """Finds each dumped table's model and binds the global that Lino's
    restore.py binds, <app_label>_<ModelName>, for data migrations."""
    by_table = {}
    for m in apps.get_models(include_auto_created=True):
        if not m._meta.proxy:
            by_table.setdefault(m._meta.db_table, m)
    names = {}
    for t in tables:
        m = by_table.get(t)
        if m is not None:
            names[t] = m._meta.app_label + "_" + m._meta.object_name
            globals()[names[t]] = m
    return names
"#;

/// Lino's `resolve_model`; Django's own on a site without Lino. A model
/// the site lacks is None (the check before the restore names it).
const RESOLVE_MODEL: &str = r#"
def _dump2py_get_model(*label):
    try:
        return apps.get_model(*label)
    except LookupError:
        return None


if _DUMP2PY_LINO:
    from lino.core.utils import resolve_model
else:
    resolve_model = _dump2py_get_model
"#;

const MAIN_HEAD: &str = r#"

def main(args):
    if MISSING_TABLES and not args.incomplete:
        raise SystemExit(
            "This dump is incomplete: %d tables could not be read (%s). "
            "Use --incomplete to restore it anyway." % (len(MISSING_TABLES), ", ".join(MISSING_TABLES)))
    if args.bulk:
        version = Dump2pyLoader.needs_migration(SOURCE_VERSION)
        if version is not None:
            raise SystemExit(
                "--bulk refused: this dump is of version %s and the site is at version %s; "
                "its data migration runs only in a restore without --bulk." % (SOURCE_VERSION, version))
    here = os.path.dirname(os.path.abspath(__file__))
    if args.no_verify:
        manifest = None
        logger.warning("--no-verify: the dump's files are not checked against its manifest, "
                       "nor the restored row counts.")
    else:
        manifest = _dump2py_verify(here)
    # A data migration may rename models and fields, and add or drop rows
    # (asked before the loader installs it: it changes SOURCE_VERSION).
    migrating = Dump2pyLoader.needs_migration(SOURCE_VERSION) is not None
    if migrating and (args.only or args.exclude):
        raise SystemExit("--only/--exclude refused: this dump needs a data migration "
                         "(version %s); restore it whole." % SOURCE_VERSION)
    tables = _dump2py_select(DUMPED_MODELS, args.only, args.exclude)
    refs = []
    if tables is not None:
        if not tables:
            raise SystemExit("--only/--exclude select no model of this dump: nothing to restore.")
        refs = _dump2py_references(DUMPED_MODELS, tables)
        outward = [r for r in refs if r[3]]
        if outward and not args.targets_from_database:
            raise SystemExit(
                "--only/--exclude refused: selected models refer to models left out, whose rows "
                "would have to be in the database already (--targets-from-database says they are; "
                "each reference is then checked):\n- %s" % "\n- ".join(
                    "%s.%s -> %s" % (m._meta.label, f.name, t._meta.label) for m, f, t, _ in outward))
    loader = Dump2pyLoader(globals(), quick=args.quick, strict=True, bulk=args.bulk)
    if not migrating:
        _dump2py_check_site(DUMPED_MODELS, tables)
    media = _dump2py_media_plan(here, manifest, args.overwrite_media) if args.media else None
    loader.tables = tables
    loader.verbose = args.verbose
    loader.tty = sys.stderr.isatty()
    if manifest is not None:
        loader.total = sum(n for t, n in manifest.get("tables", {}).items() if tables is None or t in tables)
    state = None
    if args.resume:
        wanted = [f for f, t in DATA_FILES.items() if tables is None or t in tables]
        state = loader.state = _Dump2pyState(loader.db, here, manifest, wanted)
        if state.done:
            state.check()
            loader.done_before = sum(n for _, n in state.done.values())
            logger.info("--resume: %d of %d data files were committed by an earlier run",
                        len(state.done), len(wanted))
    if state is None or not state.done:
        if tables is None:
            loader.empty_database(args.interactive)
        elif args.interactive:
            answer = input("This replaces the rows of %d table(s) of the database %r with the dump's. "
                           "Type 'yes' to continue: " % (len(tables), connections[loader.db].settings_dict["NAME"]))
            if answer != "yes":
                raise SystemExit("Restore cancelled.")
        if state is not None:
            state.create()
        else:
            # What a killed --resume left is of no use after this restore.
            _Dump2pyState.discard(loader.db)
    os.chdir(here)
    args = (globals(), locals())
    try:
        # The whole load, in one transaction (Dump2pyLoader.restoring);
        # with --resume, a transaction per file.
        with loader.restoring():
            loader.initialize()
"#;

const MAIN_TAIL: &str = r#"            loader.finalize()
            if refs:
                _dump2py_check_references(loader, refs)
            if manifest is not None and not migrating:
                _dump2py_check_counts(loader, manifest, tables)
    except BaseException as e:
        loader.failed(e)
    loader.reset_sequences()
    if state is not None:
        state.drop()
    loader.report_problems()
    loader.report_loaded()
    if media is not None:
        _dump2py_put_media(*media)


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description='Restore the data.')
    parser.add_argument('-b', '--noinput', '--batch', dest='interactive',
                        action='store_false', default=True,
                        help="Don't ask for confirmation before flushing the database.")
    parser.add_argument('--quick', dest='quick', action='store_true', default=False,
                        help="Do not call full_clean() on restored instances (on a Lino site; "
                             "on plain Django, restore.py never calls it).")
    parser.add_argument('--bulk', dest='bulk', action='store_true', default=False,
                        help="Load as loaddata does: raw saves in batches, no save() methods, "
                             "no full_clean(), no deferral; refused when the dump needs a data migration.")
    parser.add_argument('--no-verify', dest='no_verify', action='store_true', default=False,
                        help="Restore a dump without its manifest or changed since it was written "
                             "(e.g. repaired by hand): no check of its files nor of the restored "
                             "row counts.")
    parser.add_argument('--incomplete', dest='incomplete', action='store_true', default=False,
                        help='Restore even though some tables could not be dumped.')
    parser.add_argument('--only', metavar='LABELS',
                        help="Restore only these models (comma-separated app or app.Model): their "
                             "rows are replaced by the dump's, the other tables keep theirs.")
    parser.add_argument('--exclude', metavar='LABELS',
                        help="Restore all but these models (comma-separated app or app.Model); "
                             "the tables left out keep their rows.")
    parser.add_argument('--targets-from-database', dest='targets_from_database', action='store_true',
                        default=False,
                        help="Accept an --only/--exclude selection whose models refer to models left "
                             "out: their rows must be in the database (checked before the commit).")
    parser.add_argument('--resume', action='store_true', default=False,
                        help="Commit each data file on its own and record it in the table "
                             "dump2py_restore_state; run again with --resume after an interruption "
                             "to skip the files committed (a file changed since is refused).")
    parser.add_argument('--media', action='store_true', default=False,
                        help="Also put the dump's media files (dump2py --media) into this site's "
                             "MEDIA_ROOT, after the data; a different file there is refused.")
    parser.add_argument('--overwrite-media', dest='overwrite_media', action='store_true', default=False,
                        help="With --media: replace the files of MEDIA_ROOT that differ from the dump's.")
    parser.add_argument('-v', '--verbose', action='store_true', default=False,
                        help="A line of progress every ten seconds (on a terminal, one line "
                             "rewritten every second, always).")
    args = parser.parse_args()
    main(args)
"#;
