
import os
import gzip
import sys
import json
import shutil
import hashlib
import logging
from decimal import Decimal, Context as _Dump2pyContext
from datetime import datetime, date, time, timedelta, timezone
from contextlib import contextmanager, nullcontext
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
    if not loader.wants_file(fn):
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
    present = set(_dump2py_walk(here)) - {_DUMP2PY_MANIFEST}
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
        if _dump2py_sha256(fn) != want["sha256"].lower():
            bad.append("%s: its SHA-256 differs from the manifest's" % name)
    if bad:
        raise SystemExit("The dump in %s is not as dump2py wrote it; nothing was restored "
                         "(use --no-verify to restore it all the same):\n- %s" % (here, "\n- ".join(bad)))
    return manifest


def _dump2py_walk(top):
    """Every file below `top` (links not followed, and listed as files so
    that a check finds them), relative, with `/` between parts."""
    out = []
    for d, dirs, files in os.walk(top, followlinks=False):
        rel = os.path.relpath(d, top)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        out.extend(prefix + n for n in files)
        out.extend(prefix + n for n in dirs if os.path.islink(os.path.join(d, n)))
    return out


def _dump2py_sha256(fn):
    digest = hashlib.sha256()
    with open(fn, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dump2py_check_site(dumped, tables=None):
    """Every dumped model (table, label or None, attnames) exists in this
    site with its fields (those of `tables`, when given): checked before
    the database is emptied."""
    bad = []
    for table, label, attnames in dumped:
        if tables is not None and table not in tables:
            continue
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


def _dump2py_check_counts(loader, manifest, tables=None):
    """Each dumped table's rows (of `tables`, when given), now in the
    database, against the manifest."""
    conn = connections[loader.db]
    existing = set(conn.introspection.table_names())
    bad = []
    with conn.cursor() as cursor:
        for table, want in sorted(manifest.get("tables", {}).items()):
            if tables is not None and table not in tables:
                continue
            if table not in existing:
                bad.append("%s: no such table (%d rows in the dump)" % (table, want))
                continue
            cursor.execute("SELECT COUNT(*) FROM %s" % conn.ops.quote_name(table))
            have = cursor.fetchone()[0]
            if have != want:
                bad.append("%s: %d rows, the dump has %d" % (table, have, want))
    if bad:
        raise SystemExit("Row counts differ from the manifest's:\n- %s" % "\n- ".join(bad))


def _dump2py_labels(text, option):
    """The comma-separated labels of --only/--exclude: `app` or `app.Model`."""
    labels = [x.strip() for x in (text or "").split(",") if x.strip()]
    for x in labels:
        if x.count(".") > 1 or x.startswith(".") or x.endswith("."):
            raise SystemExit("%s %s: a label is app or app.Model" % (option, x))
    return labels


def _dump2py_model_of(table, label):
    """The model a dumped table is restored into, or None."""
    if label is None:
        name = MODEL_NAMES.get(table)
        return globals().get(name) if name else None
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _dump2py_select(dumped, only, exclude):
    """The dumped tables that --only and --exclude select (None: all).
    An auto-created link model (a many-to-many field's) goes with the
    model that owns it; a label that names no dumped model is refused."""
    only, exclude = _dump2py_labels(only, "--only"), _dump2py_labels(exclude, "--exclude")
    if not only and not exclude:
        return None
    models = {}
    for table, label, _ in dumped:
        m = _dump2py_model_of(table, label)
        if label is None and m is not None:
            label = m._meta.label
        owner = m._meta.auto_created if m is not None and m._meta.auto_created else None
        names = [label] if label else []
        if owner is not None and owner is not True:
            names.append(owner._meta.label)
        models[table] = [n.lower() for n in names]

    def matching(labels, option):
        found = set()
        for x in labels:
            x = x.lower()
            hit = {t for t, names in models.items()
                   if any(n == x or n.split(".")[0] == x for n in names)}
            if not hit:
                raise SystemExit("%s %s: no model of this dump is %s (its apps: %s)" % (
                    option, x, x, ", ".join(sorted({n.split(".")[0] for ns in models.values() for n in ns}))))
            found |= hit
        return found

    chosen = matching(only, "--only") if only else set(models)
    return chosen - matching(exclude, "--exclude")


def _dump2py_references(dumped, tables):
    """The foreign keys (parent links and many-to-many links too) between
    a selected model and a dumped one left out, as (model, field, target,
    outward): outward when the selected model refers to the other."""
    by_table = {t: _dump2py_model_of(t, label) for t, label, _ in dumped}
    out = []
    for table, m in sorted(by_table.items()):
        if m is None:
            continue
        for f in m._meta.local_concrete_fields:
            if not (f.is_relation and (f.many_to_one or f.one_to_one)):
                continue
            target = f.related_model
            ttable = target._meta.db_table
            if ttable not in by_table or (table in tables) == (ttable in tables):
                continue
            out.append((m, f, target, table in tables))
    return out


def _dump2py_check_references(loader, refs):
    """After a partial restore, in its transaction: each reference across
    the selection points to a row the database holds."""
    conn = connections[loader.db]
    q = conn.ops.quote_name
    bad = []
    with conn.cursor() as cursor:
        for m, f, target, _ in refs:
            to = target._meta.get_field(f.remote_field.field_name).column
            cursor.execute(
                "SELECT COUNT(*) FROM %s c WHERE c.%s IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM %s t WHERE t.%s = c.%s)" % (
                    q(m._meta.db_table), q(f.column), q(target._meta.db_table), q(to), q(f.column)))
            n = cursor.fetchone()[0]
            if n:
                bad.append("%s.%s -> %s: %d row(s) of %s refer to rows that the database doesn't hold" % (
                    m._meta.label, f.name, target._meta.label, n, m._meta.db_table))
    if bad:
        raise SystemExit("The selection breaks foreign keys:\n- %s" % "\n- ".join(bad))


_DUMP2PY_STATE = "dump2py_restore_state"


class _Dump2pyState:
    """--resume: the data files committed so far, with their SHA-256, in a
    table of the target database written in each file's own transaction:
    a file is recorded exactly when its rows are committed."""

    def __init__(self, db, here, manifest, wanted):
        self.db = db
        self.here = here
        self.sha = {f["name"]: f["sha256"].lower() for f in (manifest or {}).get("files", [])}
        self.wanted = wanted
        self.rows = {}
        self.done = {}
        conn = connections[db]
        if _DUMP2PY_STATE in conn.introspection.table_names():
            with conn.cursor() as cursor:
                cursor.execute("SELECT file, sha256, nrows FROM %s" % _DUMP2PY_STATE)
                self.done = {f: (sha, n) for f, sha, n in cursor.fetchall()}

    def sha256(self, fn):
        sha = self.sha.get(fn)
        return sha if sha is not None else _dump2py_sha256(os.path.join(self.here, fn))

    def check(self):
        """Refuses a state of another dump, or a file changed since."""
        bad = []
        for fn, (sha, _) in sorted(self.done.items()):
            if fn not in DATA_FILES:
                bad.append("%s: committed, but not a data file of this dump" % fn)
            elif not os.path.isfile(os.path.join(self.here, fn)):
                bad.append("%s: committed, but missing now" % fn)
            elif self.sha256(fn) != sha:
                bad.append("%s: changed since it was committed (its SHA-256 differs)" % fn)
        if bad:
            raise SystemExit("--resume refused: the database holds part of another dump, or of "
                             "this one before it changed; restore without --resume:\n- %s" % "\n- ".join(bad))

    def create(self):
        conn = connections[self.db]
        with conn.cursor() as cursor:
            if _DUMP2PY_STATE in conn.introspection.table_names():
                cursor.execute("DROP TABLE %s" % _DUMP2PY_STATE)
            cursor.execute("CREATE TABLE %s (file VARCHAR(255) PRIMARY KEY, sha256 VARCHAR(64) NOT NULL, "
                           "nrows BIGINT NOT NULL)" % _DUMP2PY_STATE)
        self.done = {}

    def count(self, fn, rows):
        self.rows[fn] = rows

    def record(self, files):
        """In the transaction that commits the files' rows."""
        with connections[self.db].cursor() as cursor:
            for fn in files:
                sha = self.sha256(fn)
                cursor.execute("INSERT INTO %s (file, sha256, nrows) VALUES (%%s, %%s, %%s)" % _DUMP2PY_STATE,
                               [fn, sha, self.rows.get(fn, 0)])
                self.done[fn] = (sha, self.rows.get(fn, 0))

    def drop(self):
        with connections[self.db].cursor() as cursor:
            cursor.execute("DROP TABLE %s" % _DUMP2PY_STATE)

    @staticmethod
    def discard(db):
        """Drops the state of an earlier --resume, if any."""
        conn = connections[db]
        if _DUMP2PY_STATE in conn.introspection.table_names():
            with conn.cursor() as cursor:
                cursor.execute("DROP TABLE %s" % _DUMP2PY_STATE)


def _dump2py_media_plan(here, manifest, overwrite):
    """--media: (source, target) of each media file of the dump, checked
    before anything is restored: a different file (or a link, or a
    directory) where one goes is refused unless `overwrite`; an identical
    one is left as it is."""
    src = os.path.join(here, "media")
    if not os.path.isdir(src) or os.path.islink(src):
        raise SystemExit("--media: this dump holds no media files (dumped without dump2py --media)")
    root = str(getattr(settings, "MEDIA_ROOT", "") or "")
    if not root:
        raise SystemExit("--media: this site has no MEDIA_ROOT")
    root = os.path.realpath(root)
    sizes = {f["name"]: f for f in (manifest or {}).get("files", [])}
    plan, same, bad = [], 0, []
    for rel in sorted(_dump2py_walk(src)):
        parts = rel.split("/")
        source = os.path.join(src, *parts)
        target = os.path.join(root, *parts)
        # Nothing on the way may be a link out of MEDIA_ROOT, nor a file.
        blocked = None
        for i in range(1, len(parts)):
            d = os.path.join(root, *parts[:i])
            if os.path.islink(d) or (os.path.lexists(d) and not os.path.isdir(d)):
                blocked = d
                break
        if blocked is not None:
            bad.append("%s: %s is in the way (a link or a file)" % (rel, blocked))
            continue
        if os.path.islink(target) or (os.path.lexists(target) and not os.path.isfile(target)):
            if not overwrite or os.path.isdir(target):
                bad.append("%s: a link or directory is there" % rel)
                continue
        elif os.path.isfile(target):
            want = sizes.get("media/" + rel)
            if os.path.getsize(target) == os.path.getsize(source) and _dump2py_sha256(target) == (
                    want["sha256"].lower() if want else _dump2py_sha256(source)):
                same += 1
                continue
            if not overwrite:
                bad.append("%s: differs from the dump's" % rel)
                continue
        plan.append((source, target))
    if bad:
        raise SystemExit("--media: %d file(s) of MEDIA_ROOT %s differ from the dump's; nothing was "
                         "restored (--overwrite-media replaces them):\n- %s" % (len(bad), root, "\n- ".join(bad)))
    return root, plan, same


def _dump2py_put_media(root, plan, same):
    """Copies each planned file into place (a temporary name beside it,
    then a rename: a reader never sees half a file)."""
    for source, target in plan:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = os.path.join(os.path.dirname(target), ".%s.dump2py-%d" % (os.path.basename(target)[:200], os.getpid()))
        try:
            with open(source, "rb") as f, open(tmp, "wb") as out:
                shutil.copyfileobj(f, out, 1 << 20)
            os.replace(tmp, target)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
    logger.info("Media: %d file(s) put into %s, %d already there and the same", len(plan), root, same)


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
        # --only/--exclude: the tables to load (None: all); --resume: the
        # state of committed files; progress against the manifest's total.
        self.tables = None
        self.state = None
        self.group = None
        self.group_files = []
        self.total = None
        self.done_before = 0
        self.verbose = False
        self.tty = False
        self.last_tick = 0.0
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
            if self.state is not None:
                # --resume: a transaction per group of files (data_file).
                with conn.constraint_checks_disabled() if self.raw else nullcontext():
                    try:
                        self.delete_selected()
                        yield
                        if self.group is not None:
                            self.flush_buffers()
                            if self.raw:
                                conn.check_constraints()
                    except BaseException:
                        self.group_end(*sys.exc_info())
                        raise
                    self.group_end(None, None, None)
            elif self.raw:
                with conn.constraint_checks_disabled(), transaction.atomic(using=self.db):
                    self.delete_selected()
                    yield
                    self.flush_buffers()
                    conn.check_constraints()
            else:
                with transaction.atomic(using=self.db):
                    self.delete_selected()
                    self.set_immediate()
                    yield
        finally:
            for f, auto_now, auto_now_add in fields:
                f.auto_now, f.auto_now_add = auto_now, auto_now_add

    def set_immediate(self):
        """PostgreSQL: constraints checked at each statement (a failed save
        fails in its savepoint), except in a partial restore, which may
        replace rows that others refer to (check_targets checks instead)."""
        if self.vendor == "postgresql" and self.tables is None:
            with connections[self.db].cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    def delete_selected(self):
        """A partial restore (--only/--exclude) replaces the rows of the
        selected tables, and only theirs: deleted by SQL (nothing cascades),
        in the restore's transaction."""
        if self.tables is None or (self.state is not None and self.state.done):
            return
        conn = connections[self.db]
        existing = set(conn.introspection.table_names())
        with conn.constraint_checks_disabled(), conn.cursor() as cursor:
            for table in sorted(self.tables & existing):
                cursor.execute("DELETE FROM %s" % conn.ops.quote_name(table))

    def wants_file(self, fn):
        """Whether to load the data file fn: of a selected table, and not
        committed by an earlier run (--resume)."""
        table = DATA_FILES.get(fn)
        if self.tables is not None and table is not None and table not in self.tables:
            return False
        if self.state is not None and fn in self.state.done:
            logger.info("%s: committed by an earlier run, skipped (--resume)", fn)
            return False
        return True

    def group_begin(self):
        self.group = transaction.atomic(using=self.db)
        self.group.__enter__()
        self.set_immediate()

    def group_end(self, *exc):
        group, self.group, files = self.group, None, self.group_files
        self.group_files = []
        if group is None:
            return
        if exc[0] is None:
            self.state.record(files)
        group.__exit__(*exc)

    def group_may_end(self):
        """--resume: the files loaded since the last commit are committed
        once nothing waits for a later file (no deferred object; raw: no
        reference to a row not loaded yet); else the next file joins them."""
        self.flush_buffers()
        if self.save_later:
            return
        if self.raw:
            conn = connections[self.db]
            tables = sorted({DATA_FILES.get(f) for f in self.group_files} - {None})
            try:
                with transaction.atomic(using=self.db):
                    conn.check_constraints(table_names=tables)
            except Exception:
                return
        self.group_end(None, None, None)

    def tick(self, force=False):
        """The progress line: on a terminal, rewritten in place; with -v,
        a line every ten seconds."""
        now = _dump2py_clock()
        if not (self.tty or self.verbose) or (now - self.last_tick < (1 if self.tty else 10) and not force):
            return
        self.last_tick = now
        line = self.progress()
        if self.tty:
            sys.stderr.write("\r\x1b[K" + line)
            sys.stderr.flush()
        else:
            logger.info("%s", line)

    def progress(self):
        done = self.done_before + self.rows
        if not self.total:
            return "%d rows" % done
        secs = _dump2py_clock() - self.started
        left = "?"
        if self.rows and secs > 0:
            eta = int(secs / self.rows * max(self.total - done, 0))
            left = "%d:%02d" % divmod(eta, 60) if eta < 3600 else "%d:%02d:%02d" % (
                eta // 3600, eta % 3600 // 60, eta % 60)
        return "%d of %d rows (%d%%), about %s left" % (
            done, self.total, 100 * done // self.total if self.total else 100, left)

    @contextmanager
    def data_file(self, fn):
        """The context of one data file: one line of progress."""
        rows, start = self.rows, _dump2py_clock()
        if self.state is not None and self.group is None:
            self.group_begin()
        if self.state is not None:
            self.group_files.append(fn)
        yield
        rows, secs = self.rows - rows, _dump2py_clock() - start
        self.state is not None and self.state.count(fn, rows)
        if self.tty:
            sys.stderr.write("\r\x1b[K")
        total = "; %s" % self.progress() if self.total else ""
        logger.info("%s: %d rows in %.2f s (%d rows/s)%s", fn, rows, secs, rows / secs if secs > 0 else 0, total)
        if self.state is not None:
            self.group_may_end()

    def save(self, obj):
        for o in self.objects(obj):
            self.rows += 1
            if not self.rows & 255:
                self.tick()
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
        if (self.vendor == "sqlite" or self.tables is not None) and not checked:
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
        if self.state is not None:
            state = ("--resume: the files committed so far stay (%d of %d); run restore.py "
                     "--resume again to go on from there." % (
                         len(self.state.done), len(self.state.wanted)))
        elif self.tables is not None:
            state = ("The load was one transaction and is rolled back: the database is as it "
                     "was before the restore.")
        else:
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
