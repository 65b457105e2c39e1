#!/usr/bin/env python3
"""Lists the model field classes of Django, Lino and lino_xl, and which of
them the conformance site (tests/sites/conformance) has no model for.

Usage: VENV/bin/python tests/python/field_classes.py  (in the conformance
site's environment: DJANGO_SETTINGS_MODULE=conformance.settings,
tests/sites on PYTHONPATH, DUMP2PY_TEST_DB)

Prints one line of JSON:
  {"django": [...], "lino": [...], "site": [...], "missing": [...],
   "unresolved": [...], "excluded": {...}}
- django: the field classes that django.db.models exports;
- lino: every class of the installed `lino` and `lino_xl` packages that is a
  Django model field, found in their source (a class whose bases resolve to
  a model field class; modules that can't be imported outside their own
  site are read, not imported);
- site: the field classes of the conformance site's models (all their own
  fields, also those without a column);
- missing: classes of django or lino that the site has no model for and
  that are not excluded below (the test fails on any);
- unresolved: classes whose base names end in "Field" but resolve neither
  to a model field class nor to another class (the test fails on any: a
  new field class must not be skipped silently).
Exits 1 when missing or unresolved is not empty.
"""

import ast
import importlib
import inspect
import json
import sys
from pathlib import Path

import django

django.setup()

from django.apps import apps  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import models  # noqa: E402

settings.SITE.startup()

# Classes that can't have a model, and why.
EXCLUDED = {
    "django.db.models.Field": "the base class",
    "django.db.models.ForeignObject": "no column of its own (the base of ForeignKey)",
    "django.db.models.CompositePrimaryKey":
        "issue 12: a composite primary key, not yet dumped (Lino can't restore it)",
    "django.db.models.CommaSeparatedIntegerField": "removed from Django (a system check error)",
    "django.db.models.IPAddressField": "removed from Django (a system check error)",
    "django.db.models.NullBooleanField": "removed from Django (a system check error)",
    "lino.core.choicelists.MultiChoiceListField":
        "broken in this Lino: its __init__ passes verbose_name as the choice list",
}

PACKAGES = ("lino", "lino_xl")
SKIP_DIRS = {"fixtures", "tests", "config", "migrations", "management"}


def dotted(c):
    return f"{c.__module__}.{c.__qualname__}"


def django_classes():
    """The field classes django.db.models exports, by its name for them."""
    return {f"django.db.models.{n}": c for n, c in vars(models).items()
            if inspect.isclass(c) and issubclass(c, models.Field)}


def sources():
    """(module name, path) of each source file of the packages."""
    for pkg in PACKAGES:
        root = Path(importlib.util.find_spec(pkg).origin).parent
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root.parent).with_suffix("")
            if SKIP_DIRS & set(rel.parts):
                continue
            parts = list(rel.parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts.pop()
            yield ".".join(parts), is_pkg, path


def imports(tree, module, is_pkg):
    """The names a module binds by import: name -> dotted target."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".")
                pkg = pkg[:len(pkg) - node.level + (1 if is_pkg else 0)]
                base = ".".join(pkg + ([node.module] if node.module else []))
            for a in node.names:
                out[a.asname or a.name] = f"{base}.{a.name}"
    return out


def real(target):
    """The object a dotted name stands for, imported; None if it can't be."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:
            continue
        try:
            for p in parts[i:]:
                obj = getattr(obj, p)
        except AttributeError:
            return None
        return obj
    return None


def lino_classes():
    """(field classes, unresolved classes) of the packages' sources."""
    classes = []  # (dotted name, [base targets])
    for module, is_pkg, path in sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names = imports(tree, module, is_pkg)
        # Also classes under `if` or `try` (lino.modlib.gfks.fields)
        defs = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
        local = {n.name for n in defs}
        for node in defs:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = []
            for b in node.bases:
                text = ast.unparse(b)
                head, _, rest = text.partition(".")
                if head in local and not rest:
                    bases.append(f"{module}.{head}")
                elif head in names:
                    bases.append(names[head] + ("." + rest if rest else ""))
                else:
                    bases.append(text)
            classes.append((f"{module}.{node.name}", bases))
    fields, others = set(), set()
    pending = dict(classes)
    changed = True
    while changed:  # a class is a field when a base is one
        changed = False
        for name, bases in list(pending.items()):
            verdicts = []
            for b in bases:
                if b in fields:
                    verdicts.append(True)
                elif b in others or b in ("object",):
                    verdicts.append(False)
                elif b in pending:
                    verdicts.append(None)
                else:
                    obj = real(b)
                    verdicts.append(inspect.isclass(obj) and issubclass(obj, models.Field)
                                    if obj is not None else None)
            if True in verdicts:
                fields.add(name)
            elif None not in verdicts:
                others.add(name)
            else:
                continue
            del pending[name]
            changed = True
    unresolved = sorted(n for n, bases in pending.items()
                        if any(b.rsplit(".", 1)[-1].endswith("Field") for b in bases))
    return fields, unresolved


def main():
    django = django_classes()
    lino, unresolved = lino_classes()
    by_class = {c: n for n, c in django.items()}
    site = set()
    for model in apps.get_app_config("kinds").get_models(include_auto_created=True):
        # Concrete fields, and private ones (GenericForeignKey)
        for f in model._meta.get_fields():
            if isinstance(f, models.Field) and f.model is model:
                c = type(f)
                site.add(by_class.get(c, dotted(c)))
    # A class is covered by its own name or, for Lino's re-exports, by
    # the module that defines it.
    site_real = {by_class.get(c, dotted(c)) for c in (real(s) for s in site) if c is not None}
    wanted = set(django) | lino
    missing = sorted(c for c in wanted - set(EXCLUDED)
                     if c not in site and c not in site_real
                     and dotted(real(c) or object) not in site)
    out = {"django": sorted(django), "lino": sorted(lino), "site": sorted(site),
           "missing": missing, "unresolved": unresolved, "excluded": EXCLUDED}
    sys.stdout.write(json.dumps(out, indent=1) + "\n")
    return 1 if missing or unresolved else 0


sys.exit(main())
