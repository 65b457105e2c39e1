#!/usr/bin/env python3
"""Check that our restore.py offers the names that Lino's restore.py offers
to data migrations.

Usage: restore_names.py LINO_RESTORE OURS_RESTORE [--m2m TABLE.PARAM ...]

A site's data migrations (`migrate_from_<version>(globals_dict)`) use the
globals of restore.py by name: they call helpers, rebind model globals and
replace `create_<table>` functions. For each of these that Lino's restore.py
defines at module level (also inside a module-level if/else, try or with
block), ours must define it too:
- the helpers SOURCE_VERSION, dt, bv2kw and new_content_type_id;
- each model global `<name> = resolve_model("<app_label>.<Model>")`, with
  the same name and the same model (ours may also write
  `apps.get_model("<app_label>", "<Model>")`, `_dump2py_get_model(...)`
  alike, or `ct_model("<app_label>", "<model>")` for a model it doesn't
  dump, which bind the same model);
- each `create_<table>` function, with the same parameters in the same
  order, except those named with --m2m TABLE.PARAM (Lino passes many-to-many
  fields as parameters that the model can't take; ours leaves them out by
  design).

Both files are parsed, not run. Prints a summary; exits 1 listing each name
that is missing or different.
"""

import argparse
import ast
import sys

HELPERS = ["SOURCE_VERSION", "dt", "bv2kw", "new_content_type_id"]


def module_level(stmts):
    """Yield the statements of a module body, descending into if/else,
    try/except/else/finally and with blocks (not into functions or classes)."""
    for node in stmts:
        yield node
        if isinstance(node, ast.If):
            yield from module_level(node.body)
            yield from module_level(node.orelse)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            yield from module_level(node.body)
            for h in node.handlers:
                yield from module_level(h.body)
            yield from module_level(node.orelse)
            yield from module_level(node.finalbody)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield from module_level(node.body)


def model_label(value):
    """'app.Model' if value is resolve_model("app.Model") or
    apps.get_model("app", "Model") / apps.get_model("app.Model"); else None."""
    if not isinstance(value, ast.Call) or value.keywords:
        return None
    args = value.args
    if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
        return None
    f = value.func
    if isinstance(f, ast.Name) and f.id == "resolve_model" and len(args) == 1:
        return args[0].value
    if isinstance(f, ast.Name) and f.id in ("_dump2py_get_model", "ct_model") and len(args) in (1, 2):
        return ".".join(a.value for a in args)
    if (isinstance(f, ast.Attribute) and f.attr == "get_model"
            and isinstance(f.value, ast.Name) and f.value.id == "apps"
            and len(args) in (1, 2)):
        return ".".join(a.value for a in args)
    return None


class Names:
    """The module-level names of a restore.py."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            source = f.read()
        tree = ast.parse(source, filename=path)
        self.defined = set()
        self.models = {}  # global name -> (label, source text of the value)
        self.creates = {}  # table -> [parameter names]
        for node in module_level(tree.body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defined.add(node.name)
                if isinstance(node, ast.FunctionDef) and node.name.startswith("create_"):
                    a = node.args
                    self.creates[node.name[len("create_"):]] = [
                        x.arg for x in a.posonlyargs + a.args]
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                            self.defined.add(n.id)
                if (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.targets[0], ast.Name)):
                    label = model_label(node.value)
                    if label is not None:
                        self.models[node.targets[0].id] = (
                            label, ast.get_source_segment(source, node.value))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    self.defined.add(alias.asname or alias.name.split(".")[0])


def main(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("lino_restore")
    p.add_argument("ours_restore")
    p.add_argument("--m2m", action="append", default=[], metavar="TABLE.PARAM")
    args = p.parse_args(argv)
    lino, ours = Names(args.lino_restore), Names(args.ours_restore)
    m2m = {}
    for spec in args.m2m:
        table, _, param = spec.partition(".")
        m2m.setdefault(table, set()).add(param)

    problems, notes = [], []
    helpers = [h for h in HELPERS if h in lino.defined]
    for h in helpers:
        if h not in ours.defined:
            problems.append(f"ours does not define {h}")

    for name, (label, text) in sorted(lino.models.items()):
        if name not in ours.models:
            what = "defines it otherwise" if name in ours.defined else "does not define it"
            problems.append(f"model global {name} = {text}: ours {what}")
        elif ours.models[name][0].lower() != label.lower():
            problems.append(f"model global {name}: Lino's is {text}, ours {ours.models[name][1]}")
        elif ours.models[name][1] != text:
            notes.append(f"model global {name}: Lino's is {text}, ours {ours.models[name][1]} "
                         f"(the same model)")

    for table, drop in sorted(m2m.items()):
        params = lino.creates.get(table)
        for param in sorted(drop):
            if params is None or param not in params:
                problems.append(f"--m2m {table}.{param}: Lino's restore.py has no "
                                f"create_{table}() with a parameter {param}")
    for table, params in sorted(lino.creates.items()):
        expected = [x for x in params if x not in m2m.get(table, ())]
        got = ours.creates.get(table)
        if got is None:
            problems.append(f"ours does not define create_{table}()")
        elif got != expected:
            problems.append(f"create_{table}() parameters differ:\n"
                            f"  Lino: {', '.join(params)}"
                            + (f" (without {', '.join(sorted(m2m[table]))}: "
                               f"{', '.join(expected)})" if table in m2m else "")
                            + f"\n  ours: {', '.join(got)}")

    for n in notes:
        print(n)
    print(f"Lino's restore.py: helpers {', '.join(helpers)}; {len(lino.models)} model globals; "
          f"{len(lino.creates)} create functions")
    for prob in problems:
        print("MISSING OR DIFFERENT: " + prob)
    print("ours defines all of them" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
