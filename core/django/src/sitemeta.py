"""Print the metadata of a Django or Lino site as one line of JSON.

dump2py runs this with `python -c` in the site's environment, with
DJANGO_SETTINGS_MODULE (and maybe PYTHONPATH) set. It starts the site but
reads no table. The JSON is the only thing on stdout (see meta.rs for its
schema); on failure it prints one line `dump2py: <cause>` on stderr and
exits 1.
"""

import importlib
import json
import os
import sys

FORMAT = 1


def fail(cause):
    sys.stderr.write("dump2py: " + " ".join(str(cause).split()) + "\n")
    sys.stderr.flush()
    sys.exit(1)


def describe(exc):
    return f"{type(exc).__name__}: {exc}"


def start(settings_module):
    """Import the settings module and start the site; each way this can
    fail gets its own message."""
    try:
        import django
    except ImportError as e:
        fail(f"Django is not installed for {sys.executable} ({describe(e)})")
    try:
        importlib.import_module(settings_module)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing and (settings_module == missing
                        or settings_module.startswith(missing + ".")):
            fail(f"settings module {settings_module} not found "
                 f"(check --settings and --pythonpath)")
        fail(f"settings module {settings_module} raised {describe(e)}")
    except BaseException as e:  # SystemExit too: a settings module may exit
        fail(f"settings module {settings_module} raised {describe(e)}")
    try:
        django.setup()
        from django.conf import settings
        site = getattr(settings, "SITE", None)
        if site is not None and hasattr(site, "startup"):
            site.startup()  # Lino: resolves babel fields and choice lists
    except BaseException as e:
        fail(f"site {settings_module} failed to start: {describe(e)}")
    return settings


def label(model):
    return f"{model._meta.app_label}.{model._meta.object_name}"


def django_base(cls):
    """The name of the nearest Django model field class `cls` derives from."""
    for c in cls.__mro__:
        if c.__module__.startswith("django.db.models."):
            return c.__name__
    return None


def empty_is_none(f):
    """Whether the field's from_db_value() reads '' as None."""
    if not hasattr(f, "from_db_value"):
        return False
    from django.db import connection
    try:
        return f.from_db_value("", None, connection) is None
    except Exception:  # a conversion that can't read '' at all
        return False


def nominal_range(internal_type):
    """(min, max) of an integer field type as Django defines it for every
    backend (BaseDatabaseOperations), or (None, None)."""
    from django.db.backends.base.operations import BaseDatabaseOperations
    low, high = BaseDatabaseOperations.integer_field_ranges.get(internal_type, (None, None))
    return low, high


def field_meta(model, f, languages, babel_types):
    rel = f.related_model if f.is_relation else None
    many = f.many_to_many
    choicelist = getattr(f, "choicelist", None)
    babel_columns = []
    if isinstance(f, babel_types):
        # Lino adds one variant per other language, named name_<lng.name>
        # and marked with _lino_babel_field = the master's name.
        variants = {v.name: v for v in model._meta.local_fields
                    if getattr(v, "_lino_babel_field", None) == f.name}
        for lng in languages[1:]:
            v = variants.get(f"{f.name}_{lng}")
            if v is not None:
                babel_columns.append(v.column)

    def int_or_none(x):
        return int(x) if isinstance(x, int) else None

    internal = f.get_internal_type()
    low, high = nominal_range(internal)

    return {
        "name": f.name,
        "attname": f.attname,
        "column": None if many else f.column,
        "internal_type": internal,
        # The field's class, and the Django class it derives from: for a
        # custom field (Lino's QuantityField) they differ.
        "field_class": f"{type(f).__module__}.{type(f).__qualname__}",
        "base_class": django_base(type(f)),
        # A conversion of its own when Django reads the column, and whether
        # it reads '' as None (Lino's QuantityField, DurationField, ...).
        "from_db_value": hasattr(f, "from_db_value"),
        "empty_is_none": empty_is_none(f),
        "max_length": int_or_none(getattr(f, "max_length", None)),
        # The range of the field's type (Django checks it on every backend
        # but SQLite, where it is 64 bits); None if not an integer field.
        "min_value": low,
        "max_value": high,
        # A GeneratedField: dumped as dumpdata does, never restored.
        "generated": bool(getattr(f, "generated", False)),
        "primary_key": bool(f.primary_key),
        "serialize": bool(f.serialize),
        "null": bool(f.null),
        "decimal_places": int_or_none(getattr(f, "decimal_places", None)),
        "max_digits": int_or_none(getattr(f, "max_digits", None)),
        "related_model": label(rel) if rel is not None else None,
        "through": label(f.remote_field.through) if many else None,
        # as Lino's dump2py names it: settings.SITE.models.<app_label>.<Name>
        "choicelist": (f"{choicelist.app_label}.{choicelist.__name__}"
                       if choicelist is not None else None),
        "babel": isinstance(f, babel_types),
        "babel_columns": babel_columns,
        "babel_variant": bool(getattr(f, "_lino_babel_field", False)),
    }


class Unfollowable(Exception):
    """natural_key() returns something else than field values."""


def probe(model, path, tokens, depth):
    """An unsaved instance of `model` whose every field holds a token
    standing for its path; related objects are probes too (`depth` deep),
    cached so that nothing reads the database."""
    from django.db.models.base import ModelState
    obj = model.__new__(model)  # no __init__: no defaults, no signals
    obj.__dict__["_state"] = ModelState()
    for f in model._meta.concrete_fields:
        token = f"\x00dump2py-{len(tokens)}\x00"
        tokens[token] = path + [f.name]
        obj.__dict__[f.attname] = token
        if f.is_relation and (f.many_to_one or f.one_to_one) and depth > 0:
            rel = probe(f.related_model, path + [f.name], tokens, depth - 1)
            f.set_cached_value(obj, rel)
    return obj


def natural_key_meta(model):
    """What `model.natural_key()` returns, as the paths of the fields it
    returns (`["content_type", "app_label"]`), found by calling it on a
    probe: None when the model has no natural key."""
    if not hasattr(model, "natural_key"):
        return None
    tokens = {}
    try:
        key = probe(model, [], tokens, 3).natural_key()
        if not isinstance(key, (tuple, list)):
            raise Unfollowable(f"it returns a {type(key).__name__}, not a tuple")
        paths = []
        for part in key:
            if not isinstance(part, str) or part not in tokens:
                raise Unfollowable(f"it returns {part!r}, not the value of a field")
            paths.append(tokens[part])
        return {"fields": paths}
    except Exception as e:
        return {"error": f"natural_key() can't be followed: {describe(e)}"}


def natural_deps(model):
    """The models `model` depends on for dumpdata's order with natural
    keys (django.core.serializers.sort_dependencies)."""
    from django.apps import apps
    deps = []
    if hasattr(model, "natural_key"):
        deps = [label(apps.get_model(d))
                for d in getattr(model.natural_key, "dependencies", None) or ()]
    for f in model._meta.fields:
        if f.remote_field:
            rel = f.remote_field.model
            if hasattr(rel, "natural_key") and rel != model:
                deps.append(label(rel))
    for f in model._meta.many_to_many:
        if f.remote_field.through._meta.auto_created:
            rel = f.remote_field.model
            if hasattr(rel, "natural_key") and rel != model:
                deps.append(label(rel))
    return deps


class Unorderable(Exception):
    """An ordering that dump2py can't have the database follow."""


def ordering_terms(model, name, desc=False, joins=(), seen=()):
    """The columns `order_by(name)` on `model` orders by, as Django's
    SQLCompiler.find_ordering_name resolves them: each term is the joins
    from the model's table (`[fk_column, table, to_column]`, one per
    relation followed, MTI parent links too), the column, and whether it is
    descending. A relation named by its name (not its attname) orders by
    its target's Meta.ordering."""
    if not isinstance(name, str):
        raise Unorderable(f"an expression ({name!r})")
    if name.startswith("-"):
        desc, name = not desc, name[1:]
    if name == "?":
        raise Unorderable("random order ('?')")
    pieces = name.split("__")
    joins = list(joins)
    cur = model._meta.concrete_model
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        opts = cur._meta
        f = opts.pk if piece == "pk" else opts.get_field(piece)
        parts = getattr(f, "fields", None)
        if last and f is opts.pk and f.column is None and parts:
            # A CompositePrimaryKey orders by its fields, in its order.
            return [{"joins": joins, "column": p.column, "desc": desc} for p in parts]
        if not getattr(f, "concrete", False) or f.many_to_many or f.column is None:
            raise Unorderable(f"{name}: {piece} is not a column of {label(cur)}")
        # A parent's field: through the MTI links to the parent's table.
        owner = f.model._meta.concrete_model
        if owner is not cur:
            for parent in opts.get_base_chain(owner):
                link = cur._meta.get_ancestor_link(parent)
                joins.append([link.column, parent._meta.db_table,
                              link.target_field.column])
                cur = parent
        if f.is_relation and (f.many_to_one or f.one_to_one):
            target = f.related_model._meta.concrete_model
            if not last:
                joins.append([f.column, target._meta.db_table, f.target_field.column])
                cur = target
                continue
            if target._meta.ordering and piece != f.attname and name != "pk":
                key = tuple(j[0] for j in joins) + (f.column,)
                if key in seen:
                    raise Unorderable("an infinite loop caused by ordering")
                terms = []
                for o in target._meta.ordering:
                    terms += ordering_terms(
                        target, o, desc,
                        joins + [[f.column, target._meta.db_table, f.target_field.column]],
                        seen + (key,))
                return terms
        elif not last:
            raise Unorderable(f"{name}: {piece} is not a relation")
        return [{"joins": joins, "column": f.column, "desc": desc}]
    raise Unorderable(f"{name}: nothing to order by")


def orders(model, names):
    """`ordering_terms` of each name, or why they can't be followed."""
    try:
        terms = []
        for name in names:
            terms += ordering_terms(model, name)
        return {"terms": terms}
    except Exception as e:
        return {"error": describe(e)}


def param_value(v):
    """A parameter of a compiled query as JSON: text, a number, a boolean
    or null; other values as Django's database adapter would (their str)."""
    import datetime
    import decimal
    import uuid
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (decimal.Decimal, datetime.date, datetime.time, uuid.UUID)):
        return str(v)
    raise Unorderable(f"a parameter of type {type(v).__name__}")


def manager_filter(model):
    """What the default manager's queryset hides, as the SQL of the primary
    keys it shows (`SELECT pk FROM ... WHERE ...`) in the site's database
    dialect, with its parameters; None when it hides nothing."""
    try:
        qs = model._default_manager.all()
        q = qs.query
        if not q.where and not q.is_sliced and not q.distinct and not q.extra \
                and not q.combinator:
            return None
        from django.db import connections
        pks = qs.order_by().values_list("pk", flat=True)
        connection = connections[qs.db]
        sql, params = pks.query.get_compiler(connection=connection).as_sql()
        return {
            "manager": f"{type(model._default_manager).__module__}."
                       f"{type(model._default_manager).__qualname__}",
            "vendor": connection.vendor,
            "sql": sql,
            "params": [param_value(p) for p in params],
        }
    except Exception as e:
        return {"error": f"the default manager's queryset can't be read as SQL: {describe(e)}"}


def model_meta(model, languages, babel_types):
    opts = model._meta
    parent = None
    # The immediate MTI parents; a proxy has its concrete model here with
    # no link field. Lino's dump2py handles exactly one (the first).
    links = [(pm, pf) for pm, pf in opts.parents.items() if pf is not None]
    if links:
        pm, pf = links[0]
        parent = {"model": label(pm), "link_column": pf.column}
    fields = [f for f in opts.get_fields() if f.concrete and f.model is model]
    return {
        "app_label": opts.app_label,
        "object_name": opts.object_name,
        "db_table": opts.db_table,
        "proxy": bool(opts.proxy),
        "auto_created": bool(opts.auto_created),
        "managed": bool(opts.managed),
        "parent": parent,
        # Expressions (F(), OrderBy) are not followed: marked, not named.
        "ordering": [o if isinstance(o, str) else "<expression>"
                     for o in opts.ordering or ()],
        "fields": [field_meta(model, f, languages, babel_types) for f in fields],
        "natural_key": natural_key_meta(model),
        "natural_deps": natural_deps(model),
        # What dumpdata's queryset orders by (order_by(pk.name): an MTI
        # child by its parent's Meta.ordering), and Meta.ordering (how a
        # many-to-many list of this model is ordered), as columns through
        # joins; and what its default manager hides.
        "dump_order": None if opts.proxy or not opts.managed
        else orders(model, [opts.pk.name]),
        "meta_ordering": None if opts.proxy or not opts.managed or not opts.ordering
        else orders(model, list(opts.ordering)),
        "manager_filter": None if opts.proxy or not opts.managed or opts.auto_created
        else manager_filter(model),
    }


def site_meta(settings_module, settings):
    from django.apps import apps

    site = getattr(settings, "SITE", None)
    languages, version, babel_types = [], None, ()
    if site is not None and hasattr(site, "languages"):  # a Lino site
        from lino.utils.mldbc.fields import BabelCharField, BabelTextField
        babel_types = (BabelCharField, BabelTextField)
        languages = [str(lng.name) for lng in site.languages or ()]
        if site.version is not None:
            version = str(site.version)
    db = settings.DATABASES.get("default", {})
    return {
        "format": FORMAT,
        "settings_module": settings_module,
        "version": version,
        "time_zone": settings.TIME_ZONE,
        # Where the site keeps its uploaded files (dump2py --media).
        "media_root": os.path.abspath(str(settings.MEDIA_ROOT)) if settings.MEDIA_ROOT else None,
        "use_tz": bool(settings.USE_TZ),
        "languages": languages,
        "natural_keys": True,
        "apps": [a.label for a in apps.get_app_configs()],
        "database": {
            "engine": str(db.get("ENGINE") or ""),
            "name": str(db.get("NAME") or ""),
            "user": str(db.get("USER") or ""),
            "password": str(db.get("PASSWORD") or ""),
            "host": str(db.get("HOST") or ""),
            "port": str(db.get("PORT") or ""),
            "options": dict(db.get("OPTIONS") or {}),
        },
        "models": [model_meta(m, languages, babel_types)
                   for m in apps.get_models(include_auto_created=True)],
    }


def main():
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "").strip()
    if not settings_module:
        fail("DJANGO_SETTINGS_MODULE is not set (use --settings)")
    # Sites print while starting: send everything written to stdout, also
    # by C code or child processes, to stderr; keep the real one for the JSON.
    sys.stdout.flush()
    real_stdout = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    settings = start(settings_module)
    try:
        text = json.dumps(site_meta(settings_module, settings),
                          ensure_ascii=False, default=str)
    except Exception as e:
        fail(f"can't read the models of site {settings_module}: {describe(e)}")
    real_stdout.write(text + "\n")
    real_stdout.flush()


main()
