//! The text of restore.py: helpers, the model globals, one create function
//! per model, and `main` that executes the data files in order.

use std::fmt::Write;

use dump2py_core::django::{Model, Site};
use dump2py_core::plugin::DumpInfo;
use dump2py_core::schema::ColumnKind;

use crate::pyrepr::write_str;

fn lit(s: &str) -> String {
    let mut out = String::new();
    write_str(&mut out, s);
    out
}

pub fn header(out: &mut String, info: &DumpInfo, site: &Site) {
    let _ = writeln!(out, "#!/usr/bin/env python\n# -*- coding: UTF-8 -*-\n");
    let _ = writeln!(
        out,
        "# This is a Python dump of {}, written by dump2py {}.",
        info.source, info.tool_version
    );
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
                 # It was made without site metadata: models are found by their table.\n\n",
            );
            out.push_str("SOURCE_VERSION = 'None'\n");
        }
    }
    out.push_str(HELPERS);
    if site.settings.is_some() {
        out.push_str("from lino.core.utils import resolve_model\n");
    } else {
        out.push_str(DURATIONS);
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
            let _ = writeln!(
                out,
                "# - {} ({} rows, depends on {})",
                c.label,
                c.rows,
                c.depends_on.join(", ")
            );
        }
    }
    out.push('\n');
}

/// One global per model, alphabetical, as Lino binds them. Auto-created
/// link models aren't attributes of their app's models module, so
/// `resolve_model` can't find them: `apps.get_model` can.
fn model_globals(out: &mut String, site: &Site) {
    let mut models: Vec<(String, &Model)> = site.models.iter().map(|m| (m.label(), m)).collect();
    models.sort_by(|a, b| a.0.cmp(&b.0));
    out.push('\n');
    for (label, m) in models {
        let Some(global) = m.global_name() else {
            continue;
        };
        if m.auto_created {
            let object = m.object_name.as_deref().unwrap_or(&m.model_name);
            let _ = writeln!(
                out,
                "{global} = apps.get_model(\"{}\", \"{object}\")",
                m.app_label
            );
        } else {
            let _ = writeln!(out, "{global} = resolve_model(\"{label}\")");
        }
    }
    out.push('\n');
}

/// The expression for a model's class in a create function.
fn model_ref(site: &Site, table: &str) -> String {
    match site.model(table).and_then(Model::global_name) {
        Some(global) => global,
        None => format!("model({})", lit(table)),
    }
}

/// `def create_<table>(...)`: Lino's contract, which data migrations override.
pub fn create_function(out: &mut String, site: &Site, model: &Model) {
    let params: Vec<&str> = model.fields.iter().map(|f| f.attname.as_str()).collect();
    let _ = writeln!(
        out,
        "\ndef create_{}({}):",
        model.table.name,
        params.join(", ")
    );
    for f in &model.fields {
        let decimal = match &f.internal_type {
            Some(t) => t == "DecimalField",
            None => f.kind == ColumnKind::Decimal,
        };
        if decimal {
            let _ = writeln!(out, "    if {0} is not None: {0} = Decimal({0})", f.attname);
        } else if let Some(cl) = &f.choicelist {
            let (app, name) = cl.split_once('.').unwrap_or(("", cl));
            let _ = writeln!(
                out,
                "#    if {0}: {0} = settings.SITE.models.{app}.{name}.get_by_value({0})",
                f.attname
            );
        } else if f.is_content_type() {
            let _ = writeln!(out, "    {0} = new_content_type_id({0})", f.attname);
        } else if site.settings.is_none() && may_be_duration(model, f) {
            let _ = writeln!(
                out,
                "    {0} = duration_or_int({1}, {2}, {0})",
                f.column,
                lit(&model.table.name),
                lit(&f.column)
            );
        }
    }
    out.push_str("    kw = dict()\n");
    let link = model.mti_parent.as_ref().map(|p| p.link_column.as_str());
    for f in &model.fields {
        if Some(f.column.as_str()) == link {
            continue;
        }
        if !f.is_babel {
            let _ = writeln!(out, "    kw.update({0}={0})", f.column);
        } else {
            let _ = writeln!(
                out,
                "    if {0} is not None: kw.update(bv2kw({1},{0}))",
                f.column,
                lit(&f.column)
            );
        }
    }
    match &model.mti_parent {
        Some(p) => {
            let link = model.fields.iter().find(|f| f.column == p.link_column);
            let _ = writeln!(
                out,
                "    return create_mti_child({}, {}, {}, **kw)",
                model_ref(site, &p.table),
                link.map_or(p.link_column.as_str(), |f| f.attname.as_str()),
                model_ref(site, &model.table.name)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "    return {}(**kw)",
                model_ref(site, &model.table.name)
            );
        }
    }
}

/// SQLite stores a DurationField as a `bigint` of microseconds, like a
/// BigIntegerField: only the site can tell them apart, at restore time.
fn may_be_duration(model: &Model, f: &dump2py_core::django::Field) -> bool {
    f.kind == ColumnKind::Int
        && f.fk_table.is_none()
        && !model.table.primary_key.contains(&f.column)
        && model
            .table
            .column(&f.column)
            .is_some_and(|c| c.declared_type.eq_ignore_ascii_case("bigint"))
}

/// `main` and the command line; `files` are the data files in order.
pub fn main(out: &mut String, files: &[String], missing: &[(String, String)]) {
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
    out.push_str(MAIN_HEAD);
    for f in files {
        let _ = writeln!(out, "    execfile({}, *args)", lit(f));
    }
    out.push_str(MAIN_TAIL);
}

const HELPERS: &str = r#"
import os
from decimal import Decimal
from datetime import datetime, date, time, timedelta, timezone
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.utils.timezone import make_aware
from lino import logger
from lino.utils.dpy import create_mti_child, DpyLoader

settings.ADMINS = []  # a restore mails no one


if settings.USE_TZ:
    def dt(*args):
        return make_aware(datetime(*args), timezone=timezone.utc)
else:
    def dt(*args):
        return datetime(*args)


def new_content_type_id(m):
    if m is None:
        return None
    ct = settings.SITE.models.contenttypes.ContentType.objects.get_for_model(m)
    return None if ct is None else ct.pk


def ct_model(app_label, model_name):
    """The model of a dumped content type, or None if this site lacks it."""
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        logger.warning("No model %s.%s for a dumped content type: restored as None", app_label, model_name)
        return None


def missing_content_type(pk):
    logger.warning("Content type %s was missing in the dumped database: restored as None", pk)
    return None


def execfile(fn, *args):
    logger.info("Execute file %s ...", fn)
    with open(fn, "rb") as f:
        code = compile(f.read(), fn, "exec")
    exec(code, *args)
"#;

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

const MAIN_HEAD: &str = r#"

def main(args):
    if MISSING_TABLES and not args.incomplete:
        raise SystemExit(
            "This dump is incomplete: %d tables could not be read (%s). "
            "Use --incomplete to restore it anyway." % (len(MISSING_TABLES), ", ".join(MISSING_TABLES)))
    loader = DpyLoader(globals(), quick=args.quick, strict=True)
    call_command('initdb', interactive=args.interactive)
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    loader.initialize()
    args = (globals(), locals())
"#;

const MAIN_TAIL: &str = r#"    loader.finalize()
    logger.info("Loaded %d objects", loader.count_objects)
    call_command('resetsequences')


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description='Restore the data.')
    parser.add_argument('-b', '--noinput', '--batch', dest='interactive',
                        action='store_false', default=True,
                        help="Don't ask for confirmation before flushing the database.")
    parser.add_argument('--quick', dest='quick', action='store_true', default=False,
                        help='Do not call full_clean() on restored instances.')
    parser.add_argument('--incomplete', dest='incomplete', action='store_true', default=False,
                        help='Restore even though some tables could not be dumped.')
    args = parser.parse_args()
    main(args)
"#;
