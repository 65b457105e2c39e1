//! The text of restore.py: helpers, the model globals, one create function
//! per model, and `main` that executes the data files in order.

use std::fmt::Write;

use dump2py_core::django::{Model, Site};
use dump2py_core::plugin::DumpInfo;
use dump2py_core::schema::ColumnKind;

use crate::names::{self, write_comment_name, Function, PyNames};
use crate::pyrepr::{write_str, write_str_quoted};

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
    for (label, m) in models {
        let Some(global) = m.global_name() else {
            continue;
        };
        if m.auto_created {
            let object = m.object_name.as_deref().unwrap_or(&m.model_name);
            let _ = writeln!(
                out,
                "{global} = apps.get_model({}, {})",
                dq(&m.app_label),
                dq(object)
            );
        } else {
            let _ = writeln!(out, "{global} = resolve_model({})", dq(&label));
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
        let decimal = match &f.internal_type {
            Some(t) => t == "DecimalField",
            None => f.kind == ColumnKind::Decimal,
        };
        if decimal {
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
        let _ = writeln!(out, "        execfile({}, *args)", lit(f));
    }
    out.push_str(MAIN_TAIL);
}

const HELPERS: &str = r#"
import os
import logging
from decimal import Decimal
from datetime import datetime, date, time, timedelta, timezone
from contextlib import contextmanager
from time import perf_counter as _dump2py_clock
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model as _Dump2pyModel
from django.utils.timezone import make_aware


def _dump2py_setup():
    """Starts Django when restore.py runs as a script
    (DJANGO_SETTINGS_MODULE=... python restore.py); True on a Lino site."""
    if not apps.ready:
        import django
        django.setup()
    if not hasattr(settings, "SITE"):
        return False
    try:
        import lino.utils.dpy  # noqa: F401
    except ImportError:
        return False
    return True


def _dump2py_logger():
    log = logging.getLogger("dump2py.restore")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


def _dump2py_create_mti_child(parent_model, pk, child_model, **kw):
    """Lino's create_mti_child for a site without Lino: the child's own
    row for an existing parent row (a raw save of the child's table)."""
    link = child_model._meta.parents.get(parent_model)
    if link is None:
        raise ValidationError("A %s cannot be parent for a %s" % (parent_model.__name__, child_model.__name__))
    parent_values = {f.name: kw.pop(f.name) for f in parent_model._meta.fields if f.name in kw}
    kw[link.attname] = pk
    child = child_model(**kw)
    if parent_values:
        parent = parent_model._base_manager.get(pk=pk)
        for k, v in parent_values.items():
            setattr(parent, k, v)
        parent.full_clean()
        parent.save()

    def save(*args, **kwargs):
        kwargs.update(raw=True, force_insert=True)
        child.save_base(**kwargs)

    child.save = save
    child.full_clean = lambda *args, **kwargs: None
    return child


_DUMP2PY_LINO = _dump2py_setup()
if _DUMP2PY_LINO:
    from lino import logger
    from lino.core.utils import obj2str as _dump2py_obj_str
    from lino.utils.dpy import create_mti_child, DpyLoader
else:
    logger = _dump2py_logger()
    create_mti_child = _dump2py_create_mti_child
    DpyLoader = object

    def _dump2py_obj_str(obj):
        return "%s #%s" % (obj.__class__.__name__, obj.pk)

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
    from django.contrib.contenttypes.models import ContentType
    ct = ContentType.objects.get_for_model(m)
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


def _dump2py_statements(fn):
    """The code of a data file, a hundred top-level statements at a time:
    memory doesn't grow with the file. A statement that spans lines is
    kept whole: a chunk ends only where it compiles."""
    chunk, first, retry = [], 1, 100
    with open(fn, encoding="utf-8") as f:
        for line in f:
            if (len(chunk) >= retry and line[:1] not in " \t#)]}\r\n"
                    and not line.startswith(("else", "elif", "except", "finally"))):
                try:
                    code = compile("".join(chunk), fn, "exec")
                except SyntaxError:
                    retry = 2 * len(chunk)  # not whole yet: try again later
                else:
                    yield code.replace(co_firstlineno=first)
                    first += len(chunk)
                    chunk, retry = [], 100
            chunk.append(line)
    if chunk:
        yield compile("".join(chunk), fn, "exec").replace(co_firstlineno=first)


def execfile(fn, *args):
    """Runs a data file in the given namespaces (restore.py's globals and
    main's locals, where `loader` is): in one transaction, with a line of
    progress, when the namespace has a loader of ours."""
    namespace = args[0] if args else globals()
    local = args[1] if len(args) > 1 else namespace
    loader = local.get("loader", namespace.get("loader"))
    if not isinstance(loader, Dump2pyLoader):
        for code in _dump2py_statements(fn):
            exec(code, namespace, local)
        return
    with loader.data_file(fn):
        for code in _dump2py_statements(fn):
            exec(code, namespace, local)


class _Dump2pyPending:
    """A deferred object: Lino's loader keeps these in `save_later`."""

    def __init__(self, loader, obj):
        self.loader = loader
        self.object = obj

    def try_save(self):
        return self.loader.try_save(self.object, self)


class Dump2pyLoader(DpyLoader):
    """Lino's DpyLoader contract, faster: each data file loads in one
    transaction, each save in a savepoint, so that a failed save defers
    its object as Lino does while the others stay. auto_now and
    auto_now_add are off while restoring: dumped values come back. With
    bulk, loaddata's semantics: raw saves and batched inserts."""

    max_deferred_objects = 4000
    batch_size = 1000

    def __init__(self, globals_dict, quick=False, strict=True, bulk=False):
        self.bulk = bulk
        self.db = DEFAULT_DB_ALIAS
        self.vendor = connections[self.db].vendor
        self.rows = 0
        self.deferred = 0
        self.targets = {}
        self.buffers = {}
        self.started = _dump2py_clock()
        if _DUMP2PY_LINO:
            DpyLoader.__init__(self, globals_dict, quick=quick, strict=strict)
            return
        self.quick = quick
        self.strict = strict
        self.globals_dict = globals_dict
        self.source_version = globals_dict["SOURCE_VERSION"]
        self.save_later = {}
        self.saved = 0
        self.count_objects = 0
        self.AFTER_LOAD_HANDLERS = []
        self.before_load_handlers = []

    @staticmethod
    def needs_migration(source_version):
        """The site's version, when a dump of `source_version` needs its
        data migration. 'None' is a dump without site metadata: its version
        is unknown, and Lino migrates it from nowhere either."""
        site = getattr(settings, "SITE", None) if _DUMP2PY_LINO else None
        version = getattr(site, "version", None)
        if version is None or source_version in (version, "None"):
            return None
        return version

    def empty_database(self, interactive):
        """Lino's initdb; on plain Django, migrate (if tables are missing)
        and flush, without what post_migrate adds back but the dump holds."""
        if _DUMP2PY_LINO:
            call_command("initdb", interactive=interactive)
            return
        conn = connections[self.db]
        tables = set(conn.introspection.table_names())
        if any(m._meta.db_table not in tables for m in apps.get_models(include_auto_created=True)
               if m._meta.managed and not m._meta.proxy):
            call_command("migrate", database=self.db, run_syncdb=True, interactive=False, verbosity=0)
        if interactive:
            answer = input("This empties the database %r and restores the dump into it. "
                           "Type 'yes' to continue: " % conn.settings_dict["NAME"])
            if answer != "yes":
                raise SystemExit("Restore cancelled.")
        call_command("flush", database=self.db, interactive=False, verbosity=0)
        # Content types stay (the dump refers to them by model); the rest
        # comes back from the dump with its own primary keys.
        for label in ("auth.Permission", "sites.Site"):
            try:
                model = apps.get_model(label)
            except LookupError:
                continue
            model._base_manager.using(self.db).all().delete()

    def reset_sequences(self):
        if _DUMP2PY_LINO:
            call_command("resetsequences")
            return
        from django.core.management.color import no_style
        conn = connections[self.db]
        statements = conn.ops.sequence_reset_sql(no_style(), apps.get_models(include_auto_created=True))
        with conn.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    @contextmanager
    def restoring(self):
        """The context of the whole restore: auto_now and auto_now_add off;
        with bulk, one transaction whose constraints are checked once at
        the end, as loaddata does."""
        fields = []
        for m in apps.get_models(include_auto_created=True):
            for f in m._meta.local_fields:
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                    fields.append((f, f.auto_now, f.auto_now_add))
                    f.auto_now = f.auto_now_add = False
        try:
            if self.bulk:
                conn = connections[self.db]
                with conn.constraint_checks_disabled(), transaction.atomic(using=self.db):
                    yield
                    self.flush_buffers()
                    conn.check_constraints()
            else:
                yield
        finally:
            for f, auto_now, auto_now_add in fields:
                f.auto_now, f.auto_now_add = auto_now, auto_now_add

    @contextmanager
    def data_file(self, fn):
        """The context of one data file: one transaction, one line of progress."""
        rows, start = self.rows, _dump2py_clock()
        if self.bulk:
            yield
        else:
            with self.transaction():
                yield
        rows, secs = self.rows - rows, _dump2py_clock() - start
        logger.info("%s: %d rows in %.2f s (%d rows/s)", fn, rows, secs, rows / secs if secs > 0 else 0)

    @contextmanager
    def transaction(self):
        """A transaction whose constraints are checked at each statement,
        so that a save that fails does so in its savepoint (PostgreSQL
        defers Django's foreign keys to the commit; for SQLite, see
        check_targets)."""
        with transaction.atomic(using=self.db):
            if self.vendor == "postgresql":
                with connections[self.db].cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            yield

    def save(self, obj):
        for o in self.objects(obj):
            self.rows += 1
            if self.bulk:
                self.bulk_save(o)
            else:
                self.try_save(o)

    def objects(self, obj):
        if obj is None:
            return
        if isinstance(obj, _Dump2pyModel):
            yield obj
        elif isinstance(obj, type) and obj.__name__ == "FlushDeferredObjects":
            self.flush_deferred_objects()
        elif hasattr(obj, "__iter__"):
            for o in obj:
                yield from self.objects(o)
        else:
            logger.warning("Ignored unknown object %r", obj)

    @staticmethod
    def foreign_keys(obj):
        return [f for f in obj._meta.fields if f.remote_field and f.remote_field.model]

    def check_targets(self, obj):
        """SQLite checks Django's foreign keys only at the commit: a save
        whose target is missing must fail here, as it does in autocommit.
        full_clean() checks them too, but not with --quick nor for an MTI
        child."""
        for f in self.foreign_keys(obj):
            value = getattr(obj, f.attname)
            if value is None:
                continue
            key = (f.related_model, f.remote_field.field_name, value)
            if key in self.targets:
                continue
            manager = f.related_model._base_manager.using(self.db)
            if not manager.filter(**{f.remote_field.field_name: value}).exists():
                raise ValidationError("%s: no %s with %s %r (yet)" % (
                    _dump2py_obj_str(obj), f.related_model.__name__, f.remote_field.field_name, value))
            if len(self.targets) > 10000:
                self.targets.clear()  # flat memory
            self.targets[key] = True

    @staticmethod
    def convert(obj):
        """Each value through its field's to_python(), as full_clean() and
        loaddata's deserializer do: without them, a duration, UUID or
        binary dumped as Django's text must become a value all the same."""
        for f in obj._meta.local_concrete_fields:
            value = getattr(obj, f.attname)
            if value is not None:
                setattr(obj, f.attname, f.to_python(value))

    def clean_and_save(self, obj, full):
        if full:
            try:
                obj.full_clean()
            except ValidationError as e:
                raise ValidationError("%s : %s" % (obj, e)) from None
        else:
            self.convert(obj)
        if self.vendor == "sqlite" and (not full or "full_clean" in obj.__dict__):
            self.check_targets(obj)
        with transaction.atomic(using=self.db):
            obj.save()

    def try_save(self, obj, pending=None):
        """Saves obj, or defers it as Lino's loader does; True if saved."""
        try:
            hook = getattr(obj, "before_dumpy_save", None)
            if hook is not None:
                hook(self)
            self.clean_and_save(obj, not self.quick)
        except Exception as e:
            if not self.foreign_keys(obj):
                raise Exception("Failed to save independent %s." % _dump2py_obj_str(obj)) from e
            self.save_intermediate(obj)
            if pending is None:
                pending = _Dump2pyPending(self, obj)
                self.deferred += 1
            self.register_failure(pending, e)
            return False
        self.register_success()
        return True

    def save_intermediate(self, obj):
        """Lino's: a row without its nullable foreign keys, so that others
        may refer to it; the deferred object completes it later."""
        nullable = [(f, getattr(obj, f.attname)) for f in self.foreign_keys(obj)
                    if f.null and getattr(obj, f.attname) is not None]
        if not nullable:
            return
        for f, _ in nullable:
            setattr(obj, f.attname, None)
        try:
            self.clean_and_save(obj, True)
        except Exception:
            pass
        finally:
            for f, v in nullable:
                setattr(obj, f.attname, v)
        logger.info("Save intermediate %s without %s", obj.__class__.__name__,
                    ", ".join("%s=%s" % (f.name, v) for f, v in nullable))

    def register_success(self):
        self.saved += 1
        self.count_objects += 1

    def register_failure(self, pending, e):
        msg, model = str(e), pending.object.__class__
        same = self.save_later.setdefault(model, {}).setdefault(msg, [])
        if not same:
            logger.info("Deferred %s : %s", _dump2py_obj_str(pending.object), msg)
        elif len(same) > self.max_deferred_objects:
            # Lino's: try them now, and give up if that doesn't help.
            self.flush_deferred_objects()
            same = self.save_later.setdefault(model, {}).setdefault(msg, [])
            if len(same) > self.max_deferred_objects:
                raise Exception("More than %d deferred objects" % self.max_deferred_objects)
        same.append(pending)

    def flush_deferred_objects(self):
        """Tries the deferred objects again, as long as some get saved."""
        self.flush_buffers()
        while self.saved and self.save_later:
            again = [p for by_msg in self.save_later.values() for same in by_msg.values() for p in same]
            logger.info("Trying to save %d deferred objects.", len(again))
            self.save_later = {}
            self.saved = 0
            for p in again:
                p.try_save()
            logger.info("Saved %d objects.", self.saved)

    def bulk_save(self, obj):
        """loaddata's save: raw, no save() of the model, no full_clean();
        rows of a model without MTI parents in batches."""
        self.convert(obj)
        if obj._meta.parents or "save" in obj.__dict__:
            obj.save_base(raw=True, force_insert=True, using=self.db)
            self.register_success()
            return
        batch = self.buffers.setdefault(obj.__class__, [])
        batch.append(obj)
        if len(batch) >= self.batch_size:
            self.flush_buffers(obj.__class__)

    def flush_buffers(self, model=None):
        for m in [model] if model is not None else list(self.buffers):
            batch = self.buffers.pop(m, [])
            if batch:
                m._base_manager.using(self.db).bulk_create(batch, batch_size=self.batch_size)
                self.count_objects += len(batch)
                self.saved += len(batch)

    def initialize(self):
        self.started = _dump2py_clock()
        for h in self.before_load_handlers:
            logger.info("Running before_load handler %s", h.__doc__)
            h(self)

    def finalize(self):
        """Saves what is still deferred, runs Lino's after_load handlers,
        and ends the restore with an error if objects remain unsaved."""
        if self.bulk:
            self.flush_deferred_objects()
        else:
            with self.transaction():
                self.flush_deferred_objects()
        for h in self.AFTER_LOAD_HANDLERS:
            logger.info("Running after_load handler %s", h.__doc__)
            h(self)
        if _DUMP2PY_LINO:
            settings.SITE.loading_from_dump = False
        if self.save_later:
            count, lines = 0, []
            for model, by_msg in self.save_later.items():
                for msg, same in by_msg.items():
                    lines.append("\n- %s.%s %s (%d object(s) with primary key %s)" % (
                        model._meta.app_label, model.__name__, msg, len(same),
                        ", ".join(str(p.object.pk) for p in same)))
                    count += len(same)
            raise SystemExit("Abandoning with %d unsaved instances:%s" % (count, "".join(lines)))
        secs = _dump2py_clock() - self.started
        logger.info("Loaded %d objects in %.2f s (%d rows/s); %d were deferred and saved later",
                    self.count_objects, secs, self.count_objects / secs if secs > 0 else 0, self.deferred)
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

/// Lino's `resolve_model`; Django's own on a site without Lino.
const RESOLVE_MODEL: &str = r#"
if _DUMP2PY_LINO:
    from lino.core.utils import resolve_model
else:
    resolve_model = apps.get_model
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
    loader = Dump2pyLoader(globals(), quick=args.quick, strict=True, bulk=args.bulk)
    loader.empty_database(args.interactive)
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    loader.initialize()
    args = (globals(), locals())
    with loader.restoring():
"#;

const MAIN_TAIL: &str = r#"        loader.finalize()
    loader.reset_sequences()


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description='Restore the data.')
    parser.add_argument('-b', '--noinput', '--batch', dest='interactive',
                        action='store_false', default=True,
                        help="Don't ask for confirmation before flushing the database.")
    parser.add_argument('--quick', dest='quick', action='store_true', default=False,
                        help='Do not call full_clean() on restored instances.')
    parser.add_argument('--bulk', dest='bulk', action='store_true', default=False,
                        help="Load as loaddata does: raw saves in batches, no save() methods, "
                             "no full_clean(), no deferral; refused when the dump needs a data migration.")
    parser.add_argument('--incomplete', dest='incomplete', action='store_true', default=False,
                        help='Restore even though some tables could not be dumped.')
    args = parser.parse_args()
    main(args)
"#;
