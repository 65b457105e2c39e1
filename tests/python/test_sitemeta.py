#!/usr/bin/env python3
"""Tests of core/django/src/sitemeta.py, the program that prints a site's metadata.

Usage: VENV/bin/python tests/python/test_sitemeta.py

Run with the reference venv's python (tests/python/setup-env.sh). Runs
sitemeta.py as dump2py does (`python -c SOURCE`) on min1tmp.settings,
awkward.settings (and its variants), a plain Django site and broken sites,
and checks the JSON against the schema of core/django/src/meta.rs and the failure
messages. Prints one line per check; exits 1 if any failed.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SOURCE = (ROOT / "core" / "django" / "src" / "sitemeta.py").read_text(encoding="utf-8")
SITES = HERE.parent / "sites"
TMP = Path(tempfile.mkdtemp(prefix="test-sitemeta-"))

failures = []


def check(what, ok, detail=""):
    print(("ok: " if ok else "FAILED: ") + what + ("" if ok else f"\n    {detail}"))
    if not ok:
        failures.append(what)


def run(settings, python=sys.executable, pythonpath=(SITES,), db=None, flags=(), **env):
    """Run sitemeta.py; returns (exit status, stdout, stderr)."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("AWKWARD_", "DJANGO_SETTINGS_MODULE", "PYTHONPATH"))}
    e.update(LC_ALL="C.UTF-8", PYTHONUTF8="1",
             DUMP2PY_TEST_DB=str(db or TMP / "never-created.sqlite3"))
    if settings is not None:
        e["DJANGO_SETTINGS_MODULE"] = settings
    if pythonpath:
        e["PYTHONPATH"] = os.pathsep.join(map(str, pythonpath))
    e.update(env)
    r = subprocess.run([python, *flags, "-c", SOURCE], env=e, capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


# The schema of core/django/src/meta.rs: key -> accepted types.
STR, OPT_STR, INT, BOOL = (str,), (str, type(None)), (int,), (bool,)
SITE_KEYS = {"format": INT, "settings_module": STR, "version": OPT_STR, "time_zone": OPT_STR, "media_root": OPT_STR,
             "use_tz": BOOL, "languages": (list,), "apps": (list,), "database": (dict,),
             "models": (list,), "natural_keys": BOOL}
DB_KEYS = {"engine": STR, "name": STR, "user": STR, "password": STR, "host": STR,
           "port": STR, "options": (dict,)}
MODEL_KEYS = {"app_label": STR, "object_name": STR, "db_table": STR, "proxy": BOOL,
              "auto_created": BOOL, "managed": BOOL, "parent": (dict, type(None)),
              "fields": (list,), "ordering": (list,), "natural_key": (dict, type(None)),
              "natural_deps": (list,), "dump_order": (dict, type(None)),
              "meta_ordering": (dict, type(None)), "manager_filter": (dict, type(None))}
FIELD_KEYS = {"name": STR, "attname": STR, "column": OPT_STR, "internal_type": STR,
              "primary_key": BOOL, "serialize": BOOL, "null": BOOL, "decimal_places": (int, type(None)),
              "max_digits": (int, type(None)), "related_model": OPT_STR,
              "through": OPT_STR, "choicelist": OPT_STR, "babel": (bool,), "babel_columns": (list,),
              "babel_variant": BOOL, "field_class": STR, "base_class": OPT_STR,
              "from_db_value": BOOL, "empty_is_none": BOOL, "max_length": (int, type(None)),
              "min_value": (int, type(None)), "max_value": (int, type(None)), "generated": BOOL}


def schema_errors(meta):
    errors = []

    def keys(where, obj, spec):
        if set(obj) != set(spec):
            errors.append(f"{where}: keys {sorted(set(obj) ^ set(spec))} differ")
        for k, types in spec.items():
            if k in obj and not (isinstance(obj[k], types)
                                 and not (bool not in types and isinstance(obj[k], bool))):
                errors.append(f"{where}.{k} = {obj[k]!r}")

    keys("site", meta, SITE_KEYS)
    keys("database", meta.get("database", {}), DB_KEYS)
    for m in meta.get("models", []):
        label = f"{m.get('app_label')}.{m.get('object_name')}"
        keys(label, m, MODEL_KEYS)
        if m.get("parent") is not None:
            keys(label + ".parent", m["parent"], {"model": STR, "link_column": STR})
        for f in m.get("fields", []):
            keys(f"{label}.{f.get('name')}", f, FIELD_KEYS)
            if not all(isinstance(c, str) for c in f.get("babel_columns", [])):
                errors.append(f"{label}.{f.get('name')}.babel_columns")
    return errors


def site_meta(name, settings, **kw):
    """Run sitemeta.py on a working site and check the output's form."""
    code, out, err = run(settings, **kw)
    check(f"{name}: exit 0", code == 0, err.strip()[-2000:])
    lines = out.splitlines()
    check(f"{name}: exactly one line on stdout", len(lines) == 1, out[:500])
    try:
        meta = json.loads(lines[-1] if lines else "")
    except ValueError as e:
        check(f"{name}: JSON parses", False, e)
        return None
    errors = schema_errors(meta)
    check(f"{name}: JSON has the schema of meta.rs", not errors, "; ".join(errors[:10]))
    check(f"{name}: format 1, settings module",
          (meta["format"], meta["settings_module"]) == (1, settings))
    labels = [f"{m['app_label']}.{m['object_name']}" for m in meta["models"]]
    check(f"{name}: models appear once", len(labels) == len(set(labels)))
    return meta


def model(meta, label):
    return next(m for m in meta["models"] if f"{m['app_label']}.{m['object_name']}" == label)


def field(meta, label, name):
    return next(f for f in model(meta, label)["fields"] if f["name"] == name)


def failure(name, settings, expected, **kw):
    """sitemeta.py must exit 1 with one line `dump2py: <expected...>` on stderr."""
    code, out, err = run(settings, **kw)
    ours = [ln for ln in err.splitlines() if ln.startswith("dump2py:")]
    check(f"{name}: exit 1, nothing on stdout", code == 1 and out == "", f"{code} {out!r}")
    check(f"{name}: one line 'dump2py: {expected}...'",
          len(ours) == 1 and ours[0].startswith("dump2py: " + expected), err.strip()[-1000:])


def write_module(dirname, name, text):
    path = TMP / dirname / (name.replace(".", "/") + ".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return TMP / dirname


def main():
    db = TMP / "never-created.sqlite3"

    # min1: Lino's demo
    meta = site_meta("min1", "min1tmp.settings")
    if meta:
        check("min1: languages en de fr, unversioned, no time zones",
              (meta["languages"], meta["version"], meta["use_tz"]) == (["en", "de", "fr"], None, False))
        check("min1: database is the test DB", meta["database"]["name"] == str(db)
              and meta["database"]["engine"] == "django.db.backends.sqlite3")
        check("min1: apps in INSTALLED_APPS order",
              meta["apps"][0] == "lino" and meta["apps"].index("countries") < meta["apps"].index("contacts"))
        person = model(meta, "contacts.Person")
        check("min1: contacts.Person has parent contacts.Partner via partner_ptr_id",
              person["parent"] == {"model": "contacts.Partner", "link_column": "partner_ptr_id"})
        check("min1: contacts.Person fields in Lino's order",
              [f["name"] for f in person["fields"]][:3] == ["partner_ptr", "title", "first_name"])
        check("min1: contacts.Person.gender is system.Genders",
              field(meta, "contacts.Person", "gender")["choicelist"] == "system.Genders")
        name = field(meta, "countries.Country", "name")
        check("min1: countries.Country.name has babel columns name_de, name_fr",
              name["babel"] and name["babel_columns"] == ["name_de", "name_fr"] and not name["babel_variant"])
        check("min1: countries.Country.name_de is a babel variant",
              field(meta, "countries.Country", "name_de")["babel_variant"])
        check("min1: no model is a proxy or auto-created",
              not any(m["proxy"] or m["auto_created"] for m in meta["models"]))
        check("min1: Partner has no parent", model(meta, "contacts.Partner")["parent"] is None)
    check("min1: no database was opened (sitemeta reads no table)", not db.exists())

    # awkward: our own site
    meta = site_meta("awkward", "awkward.settings")
    if meta:
        check("awkward: time zone, languages",
              (meta["time_zone"], meta["use_tz"], meta["languages"])
              == ("Europe/Brussels", True, ["en", "de", "fr"]))
        check("awkward: things.Scalar.color has choicelist things.Colors",
              field(meta, "things.Scalar", "color")["choicelist"] == "things.Colors")
        dec = field(meta, "things.Scalar", "dec")
        check("awkward: things.Scalar.dec decimal 12,4",
              (dec["max_digits"], dec["decimal_places"], dec["internal_type"]) == (12, 4, "DecimalField"))
        tags = model(meta, "things.Thing_tags")
        check("awkward: things.Thing_tags is auto-created, not a proxy",
              tags["auto_created"] and not tags["proxy"] and tags["db_table"] == "things_thing_tags")
        check("awkward: serialize=False of Text.digest and of primary keys",
              [field(meta, "things.Text", n)["serialize"] for n in ("id", "body", "digest")]
              == [False, True, False])
        check("awkward: Meta.ordering", model(meta, "things.Tag")["ordering"] == ["name"]
              and model(meta, "things.Thing")["ordering"] == [])
        m2m = field(meta, "things.Thing", "tags")
        check("awkward: things.Thing.tags is m2m without column, through Thing_tags",
              (m2m["column"], m2m["through"], m2m["related_model"], m2m["internal_type"])
              == (None, "things.Thing_tags", "things.Tag", "ManyToManyField"))
        check("awkward: Leaf's parent is Middle (the immediate one)",
              model(meta, "things.Leaf")["parent"]
              == {"model": "things.Middle", "link_column": "middle_ptr_id"})
        check("awkward: Custom's table awk_custom_tbl, FK to text pk",
              model(meta, "things.Custom")["db_table"] == "awk_custom_tbl"
              and field(meta, "things.Custom", "code")["related_model"] == "things.Code")
        check("awkward: Note.owner_type points to contenttypes.ContentType",
              field(meta, "things.Note", "owner_type")["related_model"] == "contenttypes.ContentType")
        check("awkward: Node.parent points to itself",
              field(meta, "things.Node", "parent")["related_model"] == "things.Node")
        check("awkward: no proxy by default", not any(m["proxy"] for m in meta["models"]))

    # conformance: what a value conversion needs, per field (issue 12)
    meta = site_meta("conformance", "conformance.settings")
    if meta:
        def kind(name, key):
            return field(meta, f"kinds.{name}", "v")[key]

        check("conformance: Lino's QuantityField, DurationField, IncompleteDateField and a "
              "choice list read '' as None; CharField and BICField don't",
              [kind(n, "empty_is_none") for n in ("LinoQuantity", "LinoDuration",
                                                  "LinoIncompleteDate", "LinoChoiceList",
                                                  "Char", "XlBIC")]
              == [True, True, True, True, False, False])
        check("conformance: a custom field's class and Django base class",
              (kind("LinoQuantity", "field_class"), kind("LinoQuantity", "base_class"),
               kind("LinoQuantity", "internal_type"), kind("XlIBAN", "base_class"))
              == ("lino.core.fields.QuantityField", "CharField", "CharField", "CharField"))
        check("conformance: from_db_value of Lino's and Django's own conversions",
              [kind(n, "from_db_value") for n in ("LinoQuantity", "JSON", "Char", "Decimal2")]
              == [True, True, False, False])
        check("conformance: max_length", (kind("Char", "max_length"), kind("Text", "max_length"))
              == (20, None))
        check("conformance: the integer ranges of the field types, not of SQLite",
              [(kind(n, "min_value"), kind(n, "max_value"))
               for n in ("SmallInteger", "PositiveSmallInteger", "BigInteger", "Float")]
              == [(-32768, 32767), (0, 32767), (-2 ** 63, 2 ** 63 - 1), (None, None)])
        check("conformance: the generated field is marked",
              (kind("Generated", "generated"), kind("Integer", "generated")) == (True, False))

    # awkward's variants
    meta = site_meta("awkward 2.0 renamed, en fr, proxy", "awkward.settings",
                     AWKWARD_VERSION="2.0", AWKWARD_RENAMED="1",
                     AWKWARD_LANGUAGES="en fr", AWKWARD_PROXY="1")
    if meta:
        check("variant: version 2.0, languages en fr",
              (meta["version"], meta["languages"]) == ("2.0", ["en", "fr"]))
        check("variant: Note has body, not text",
              [f["column"] for f in model(meta, "things.Note")["fields"]][-1] == "body")
        check("variant: Tag.name has babel column name_fr only",
              field(meta, "things.Tag", "name")["babel_columns"] == ["name_fr"])
        proxy = model(meta, "things.SpecialNode")
        check("variant: things.SpecialNode is a proxy without parent or own fields",
              proxy["proxy"] and proxy["parent"] is None and proxy["fields"] == []
              and proxy["db_table"] == "things_node")
        check("variant: only SpecialNode is a proxy",
              [m["object_name"] for m in meta["models"] if m["proxy"]] == ["SpecialNode"])

    # A plain Django site, which also prints on stdout while starting.
    plain = write_module("plain", "plainsite.settings", "\n".join([
        "import os",
        "print('noise from the settings module')",
        "os.write(1, b'noise on file descriptor 1\\n')",
        "SECRET_KEY = 'x'",
        "INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth']",
        f"DATABASES = {{'default': {{'ENGINE': 'django.db.backends.sqlite3', 'NAME': {str(db)!r},",
        "    'PORT': 5432, 'OPTIONS': {'timeout': 20}}}",
        "USE_TZ = True",
        ""]))
    write_module("plain", "plainsite.__init__", "")
    meta = site_meta("plain Django", "plainsite.settings", pythonpath=[plain])
    if meta:
        check("plain: no languages, no version",
              (meta["languages"], meta["version"]) == ([], None))
        check("plain: apps", meta["apps"] == ["contenttypes", "auth"])
        check("plain: port as string, options",
              (meta["database"]["port"], meta["database"]["options"]) == ("5432", {"timeout": 20}))
        check("plain: auth.User_groups is auto-created",
              model(meta, "auth.User_groups")["auto_created"])
        check("plain: no choicelist, no babel anywhere",
              not any(f["choicelist"] or f["babel_columns"] or f["babel_variant"]
                      for m in meta["models"] for f in m["fields"]))
    check("plain: no database was opened", not db.exists())

    # Failures
    failure("unset", None, "DJANGO_SETTINGS_MODULE is not set")
    no_django = "/usr/bin/python3"
    flags = ["-I", "-S"]  # isolated, without site-packages: no Django for sure
    failure("no Django", "min1tmp.settings", "Django is not installed", python=no_django,
            flags=flags)
    failure("no such package", "nosuchpackage.settings",
            "settings module nosuchpackage.settings not found (check --settings and --pythonpath)")
    failure("no such module", "awkward.nosuchsettings",
            "settings module awkward.nosuchsettings not found")
    failure("pythonpath missing", "awkward.settings", "settings module awkward.settings not found",
            pythonpath=[])
    bad = write_module("bad", "badsite.raises", "raise ValueError('boom in settings')\n")
    write_module("bad", "badsite.__init__", "")
    failure("settings raise", "badsite.raises",
            "settings module badsite.raises raised ValueError: boom in settings", pythonpath=[bad])
    write_module("bad", "badsite.imports", "import no_such_dependency\n")
    failure("settings import a missing module", "badsite.imports",
            "settings module badsite.imports raised ModuleNotFoundError: "
            "No module named 'no_such_dependency'", pythonpath=[bad])
    failure("awkward without DUMP2PY_TEST_DB", "awkward.settings",
            "settings module awkward.settings raised RuntimeError: DUMP2PY_TEST_DB is not set",
            DUMP2PY_TEST_DB="")
    write_module("bad", "badsite.noapp", "SECRET_KEY = 'x'\nINSTALLED_APPS = ['no_such_app']\n")
    failure("startup fails", "badsite.noapp",
            "site badsite.noapp failed to start: ModuleNotFoundError: No module named 'no_such_app'",
            pythonpath=[bad])

    shutil.rmtree(TMP, ignore_errors=True)
    print(f"{len(failures)} checks failed" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
