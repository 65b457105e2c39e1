
import os
import gzip
import json
import hashlib
import logging
from decimal import Decimal, Context as _Dump2pyContext
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
        parent.save_base(raw=True)  # loaddata's way: no full_clean()

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
    # By natural key (app_label, model), the target's id; a proxy's own.
    ct = ContentType.objects.get_for_model(m, for_concrete_model=False)
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
    # NAME.py.gz: a data file compressed by --gzip-data.
    opener = gzip.open if fn.endswith(".gz") else open
    with opener(fn, "rt", encoding="utf-8") as f:
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


_DUMP2PY_MANIFEST = "dump2py.json"


def _dump2py_verify(here):
    """The manifest of the dump in `here`, once every file is as it lists
    it (size, SHA-256) and nothing is missing or extra: checked before
    anything touches the database."""
    path = os.path.join(here, _DUMP2PY_MANIFEST)
    try:
        with open(path, "rb") as f:
            manifest = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        raise SystemExit("%s is missing: the dump can't be checked. Restore it unchecked "
                         "with --no-verify." % path) from None
    except (OSError, ValueError) as e:
        raise SystemExit("%s can't be read as a manifest: %s" % (path, e)) from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    tables = manifest.get("tables", {}) if isinstance(manifest, dict) else None
    if (manifest.get("format") != "dump2py-python" or not isinstance(files, list)
            or not isinstance(tables, dict)
            or not all(isinstance(f, dict) and isinstance(f.get("name"), str)
                       and isinstance(f.get("size"), int) and isinstance(f.get("sha256"), str)
                       for f in files)
            or not all(isinstance(n, int) for n in tables.values())):
        raise SystemExit("%s is not the manifest of a Python dump of dump2py." % path)
    listed = {f["name"]: f for f in files}
    present = set(os.listdir(here)) - {_DUMP2PY_MANIFEST}
    bad = []
    for name in sorted(present - set(listed)):
        bad.append("%s: not in the manifest" % name)
    for name in sorted(set(listed) - present):
        bad.append("%s: missing" % name)
    for name in sorted(present & set(listed)):
        fn, want = os.path.join(here, name), listed[name]
        if not os.path.isfile(fn):
            bad.append("%s: not a file" % name)
            continue
        size = os.path.getsize(fn)
        if size != want["size"]:
            bad.append("%s: %d bytes, the manifest says %d" % (name, size, want["size"]))
            continue
        digest = hashlib.sha256()
        with open(fn, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != want["sha256"].lower():
            bad.append("%s: its SHA-256 differs from the manifest's" % name)
    if bad:
        raise SystemExit("The dump in %s is not as dump2py wrote it; nothing was restored "
                         "(use --no-verify to restore it all the same):\n- %s" % (here, "\n- ".join(bad)))
    return manifest


def _dump2py_check_site(dumped):
    """Every dumped model (table, label or None, attnames) exists in this
    site with its fields: checked before the database is emptied."""
    bad = []
    for table, label, attnames in dumped:
        if label is None:
            name = MODEL_NAMES.get(table)
            m = globals().get(name) if name else None
            if m is None:
                bad.append("table %s: no model of this site has it" % table)
                continue
        else:
            try:
                m = apps.get_model(label)
            except (LookupError, ValueError):
                bad.append("%s (table %s): no such model in this site" % (label, table))
                continue
        have = {f.attname for f in m._meta.concrete_fields}
        missing = [a for a in attnames if a not in have]
        if missing:
            bad.append("%s (table %s): no field %s" % (m._meta.label, table, ", ".join(missing)))
    if bad:
        raise SystemExit("This dump doesn't fit this site (%s); nothing was restored:\n- %s" % (
            settings.SETTINGS_MODULE, "\n- ".join(bad)))


def _dump2py_check_counts(loader, manifest):
    """Each dumped table's rows, now in the database, against the manifest."""
    conn = connections[loader.db]
    existing = set(conn.introspection.table_names())
    bad = []
    with conn.cursor() as cursor:
        for table, want in sorted(manifest.get("tables", {}).items()):
            if table not in existing:
                bad.append("%s: no such table (%d rows in the dump)" % (table, want))
                continue
            cursor.execute("SELECT COUNT(*) FROM %s" % conn.ops.quote_name(table))
            have = cursor.fetchone()[0]
            if have != want:
                bad.append("%s: %d rows, the dump has %d" % (table, have, want))
    if bad:
        raise SystemExit("Row counts differ from the manifest's:\n- %s" % "\n- ".join(bad))


class _Dump2pyPending:
    """A deferred object: Lino's loader keeps these in `save_later`."""

    def __init__(self, loader, obj):
        self.loader = loader
        self.object = obj

    def try_save(self):
        return self.loader.try_save(self.object, self)


def _dump2py_raw_child(obj):
    """An MTI child that came as a plain instance (a dump without site
    metadata whose parent link isn't <parent>_ptr): only its own table's
    row, as create_mti_child saves it; the parent's row has its own file."""
    def save(*args, **kwargs):
        kwargs.update(raw=True, force_insert=True)
        obj.save_base(**kwargs)

    obj.save = save
    obj.full_clean = lambda *args, **kwargs: None
    return obj


class Dump2pyLoader(DpyLoader):
    """Lino's DpyLoader contract, faster and losing nothing. The whole
    load is one transaction: a failed restore leaves none of the dump's
    rows. On a Lino site each save has a savepoint, so that a save the
    database refuses defers its object as Lino does; full_clean() runs,
    but an object it refuses is saved as dumped and reported as a warning.
    On plain Django (and with bulk), loaddata's semantics: raw saves, no
    full_clean(), constraints checked once at the end. auto_now and
    auto_now_add are off while restoring: dumped values come back."""

    max_deferred_objects = 4000
    batch_size = 1000
    # Without site metadata (set below the class): values are as the
    # database stored them, and save() reads them as Django would; with
    # decimals_as_real (SQLite) decimals went through a float. With
    # metadata, dump2py wrote them so already.
    read_as_django = False
    decimals_as_real = False
    sqlite_digits = _Dump2pyContext(prec=15)  # what SQLite keeps of a REAL

    def __init__(self, globals_dict, quick=False, strict=True, bulk=False):
        self.bulk = bulk
        # loaddata's way: raw saves, no full_clean(), no deferral.
        self.raw = bulk or not _DUMP2PY_LINO
        # (model, pk): what full_clean() or a field's to_python() said of an
        # object saved as dumped all the same.
        self.problems = {}
        self.db = DEFAULT_DB_ALIAS
        self.vendor = connections[self.db].vendor
        self.rows = 0
        self.deferred = 0
        self.targets = {}
        self.buffers = {}
        self.readers = {}
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
        """The context of the whole load: one transaction; auto_now and
        auto_now_add off. Raw (plain Django, bulk): constraints checked
        once at the end, as loaddata does; else checked at each statement,
        so that a save that fails does so in its savepoint (PostgreSQL
        defers Django's foreign keys to the commit; for SQLite, see
        check_targets)."""
        fields = []
        for m in apps.get_models(include_auto_created=True):
            for f in m._meta.local_fields:
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                    fields.append((f, f.auto_now, f.auto_now_add))
                    f.auto_now = f.auto_now_add = False
        conn = connections[self.db]
        try:
            if self.raw:
                with conn.constraint_checks_disabled(), transaction.atomic(using=self.db):
                    yield
                    self.flush_buffers()
                    conn.check_constraints()
            else:
                with transaction.atomic(using=self.db):
                    if self.vendor == "postgresql":
                        with conn.cursor() as cursor:
                            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    yield
        finally:
            for f, auto_now, auto_now_add in fields:
                f.auto_now, f.auto_now_add = auto_now, auto_now_add

    @contextmanager
    def data_file(self, fn):
        """The context of one data file: one line of progress."""
        rows, start = self.rows, _dump2py_clock()
        yield
        rows, secs = self.rows - rows, _dump2py_clock() - start
        logger.info("%s: %d rows in %.2f s (%d rows/s)", fn, rows, secs, rows / secs if secs > 0 else 0)

    def save(self, obj):
        for o in self.objects(obj):
            self.rows += 1
            if self.read_as_django:
                self.as_django_reads(o)
            if o._meta.parents and "save" not in o.__dict__:
                _dump2py_raw_child(o)
            if self.raw:
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

    def as_django_reads(self, obj):
        """Each stored value of obj's own table as Django would read it from
        the dumped database, before anything cleans it: what only the field
        knows (its decimal places, a custom field's from_db_value)."""
        model = obj.__class__
        readers = self.readers.get(model)
        if readers is None:
            readers = self.readers[model] = [r for r in map(self.reader, model._meta.local_concrete_fields) if r]
        for f, read in readers:
            try:
                setattr(obj, f.attname, read(f, getattr(obj, f.attname)))
            except Exception as e:
                raise Exception("%s: %s.%s can't be read as Django reads it: %s" % (
                    _dump2py_obj_str(obj), model._meta.db_table, f.column, e)) from None

    def reader(self, f):
        if f.get_internal_type() == "DecimalField":
            return (f, self.sqlite_decimal) if self.decimals_as_real else None
        # Django's own fields take a stored value as it is (JSON comes as a
        # value already); Lino's (choice lists, quantities, incomplete dates) don't.
        owner = next((c for c in type(f).__mro__ if "from_db_value" in c.__dict__), None)
        if owner is None or owner.__module__.startswith("django."):
            return None
        conn = connections[self.db]
        return f, lambda f, value: f.from_db_value(value, None, conn)

    @classmethod
    def sqlite_decimal(cls, f, value):
        """Django's SQLite converter: the stored REAL (or INTEGER) to 15
        significant digits, then quantized to the field's places."""
        if value is None:
            return None
        value = Decimal(value)
        stored = int(value) if value.as_tuple().exponent >= 0 and abs(value) > 2 ** 53 else float(value)
        value = cls.sqlite_digits.create_decimal_from_float(stored)
        return value.quantize(Decimal(1).scaleb(-f.decimal_places), context=f.context)

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
        binary dumped as Django's text must become a value all the same.
        A value that to_python() refuses stays as dumped: what it said,
        or None."""
        problems = []
        for f in obj._meta.local_concrete_fields:
            value = getattr(obj, f.attname)
            if value is not None:
                try:
                    setattr(obj, f.attname, f.to_python(value))
                except Exception as e:
                    problems.append("%s: %s" % (f.attname, _dump2py_message(e)))
        return "; ".join(problems) or None

    def note_problem(self, obj, problem):
        """What full_clean() or to_python() said of obj, saved all the same;
        None forgets an earlier attempt's (a deferred object saved later)."""
        key = (obj._meta.label, obj.pk)
        if problem is None:
            self.problems.pop(key, None)
        else:
            self.problems[key] = problem

    def clean_and_save(self, obj, full):
        """full_clean() (with full), then the save. An object that
        full_clean() refuses is saved as dumped: only the database refuses."""
        problem, checked = None, False
        if full and "full_clean" not in obj.__dict__:
            # What the instance holds (not a deferred field, e.g. generated).
            dumped = [(f.attname, obj.__dict__[f.attname]) for f in obj._meta.concrete_fields
                      if f.attname in obj.__dict__]
            try:
                obj.full_clean()
                checked = True
            except Exception as e:  # a ValidationError, or a field's to_python() failing
                problem = _dump2py_message(e)
                for attname, value in dumped:
                    setattr(obj, attname, value)
                self.convert(obj)
        else:
            problem = self.convert(obj)
        if self.vendor == "sqlite" and not checked:
            self.check_targets(obj)
        with transaction.atomic(using=self.db):
            obj.save()
        self.note_problem(obj, problem)

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
            self.clean_and_save(obj, not self.quick)
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
        with bulk, rows of a model without MTI parents in batches."""
        self.note_problem(obj, self.convert(obj))
        if not self.bulk or obj._meta.parents or "save" in obj.__dict__:
            if "save" in obj.__dict__:
                obj.save(using=self.db)
            else:
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

    def failed(self, e):
        """Ends a restore whose load failed (and was rolled back)."""
        if isinstance(e, SystemExit):
            msg = e.code
        else:
            import traceback
            traceback.print_exc()
            msg = _dump2py_message(e)
        state = ("The load was one transaction and is rolled back: the database holds none of "
                 "the dump's rows, it is as %s left it." % ("initdb" if _DUMP2PY_LINO else "flush"))
        if self.vendor == "mysql":
            state += (" (On MySQL/MariaDB, a table that isn't InnoDB keeps what was saved into it, "
                      "and a statement that changes the schema commits.)")
        raise SystemExit("The restore failed: %s\n%s" % (msg, state)) from None

    def report_loaded(self):
        secs = _dump2py_clock() - self.started
        logger.info("Loaded %d objects in %.2f s (%d rows/s); %d were deferred and saved later",
                    self.count_objects, secs, self.count_objects / secs if secs > 0 else 0, self.deferred)

    def report_problems(self):
        """The objects saved as dumped although full_clean() or a field's
        to_python() refused them: one warning each, at the end."""
        if not self.problems:
            return
        logger.warning("%d object(s) were saved as dumped although their validation failed:",
                       len(self.problems))
        for (label, pk), msg in sorted(self.problems.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            logger.warning("- %s %s: %s", label, pk, msg)


def _dump2py_message(e):
    """An exception as one line."""
    if isinstance(e, ValidationError) and hasattr(e, "message_dict"):
        return "; ".join("%s: %s" % (k, " ".join(v)) for k, v in sorted(e.message_dict.items()))
    if isinstance(e, ValidationError):
        return " ".join(e.messages)
    return "%s: %s" % (e.__class__.__name__, e)
