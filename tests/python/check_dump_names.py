#!/usr/bin/env python3
"""Check that a Python dump of a database with hostile table and column
names is only what the template writes (no injected code) and complete.

Usage: check_dump_names.py DUMP_DIR [DUMP_DIR ...]

For each dump (without site metadata), checks that
- restore.py and every data file compile;
- restore.py's top-level statements are the template's: imports,
  assignments, function definitions, `if`s; calls outside functions are
  only the template's own (`_bind_models`, `settings...`, ...);
- every create_<...>() function's body is made of the template's
  statements only, and no name it reads as a template global (`dict`,
  `Decimal`, `model`, ...) is one of its parameters; it stores only
  into its parameters and its own local dict;
- main() runs `execfile(<file>, *args)` once per data file, every data file
  of the directory is run exactly once, and nothing else is run;
- each data file holds only `logger.info("...")`, `loader.save(create_X(...))`
  with a create function of restore.py, and `loader.flush_deferred_objects()`.

Prints one line of JSON per dump: {"rows": {table: count}, "files": {file: table}},
the table being the string restore.py passes to model(...). Exits 1 with a
message on the first problem.
"""

import ast
import json
import os
import sys

# Calls restore.py's template makes at module level (outside functions).
TOP_CALLS = {"_bind_models", "make_aware", "datetime", "argparse.ArgumentParser",
             "parser.add_argument", "parser.parse_args", "main", "_dump2py_setup",
             "_dump2py_logger", "_dump2py_get_model", "ct_model"}
TOP_KINDS = (ast.Import, ast.ImportFrom, ast.Assign, ast.FunctionDef, ast.ClassDef, ast.If,
             ast.Expr)


class Problem(Exception):
    pass


def dotted(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return None if inner is None else inner + "." + node.attr
    return None


def is_str(node):
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def check_create(fn):
    """Returns the table its return statement names (or None with metadata)."""
    params = [a.arg for a in fn.args.args]
    if fn.args.vararg or fn.args.kwarg or fn.args.kwonlyargs or fn.args.defaults:
        raise Problem(f"{fn.name}: unexpected parameter kinds")
    if len(set(params)) != len(params):
        raise Problem(f"{fn.name}: repeated parameters {params}")
    local = None
    table = None

    def glob(node, what):
        """A name read as a template global: never a parameter."""
        if not isinstance(node, ast.Name):
            raise Problem(f"{fn.name}: {what} is not a name: {ast.dump(node)}")
        if node.id in params or node.id == local:
            raise Problem(f"{fn.name}: {what} {node.id} is shadowed by a parameter")
        return node.id

    def param(node):
        if not (isinstance(node, ast.Name) and node.id in params):
            raise Problem(f"{fn.name}: not a parameter: {ast.dump(node)}")
        return node.id

    for st in fn.body:
        # `P = G(P)` / `P = G(str, str, P)`, or `if P is not None: P = G(P)`
        # or `if P is not None: K.update(G(str, P))`, or `K = G()`,
        # `K.update(P=P)`, `K[str] = P`, `return ...`.
        inner = st
        if isinstance(st, ast.If):
            t = st.test
            if not (isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.IsNot)
                    and isinstance(t.comparators[0], ast.Constant) and t.comparators[0].value is None
                    and len(st.body) == 1 and not st.orelse):
                raise Problem(f"{fn.name}: unexpected if: {ast.unparse(st)}")
            param(t.left)
            inner = st.body[0]
        if isinstance(inner, ast.Assign) and len(inner.targets) == 1:
            target, value = inner.targets[0], inner.value
            if isinstance(target, ast.Name) and target.id in params:
                if not isinstance(value, ast.Call) or value.keywords:
                    raise Problem(f"{fn.name}: unexpected assignment: {ast.unparse(inner)}")
                glob(value.func, "function")
                *lits, last = value.args
                param(last)
                if not all(is_str(a) for a in lits):
                    raise Problem(f"{fn.name}: unexpected arguments: {ast.unparse(inner)}")
                continue
            if isinstance(target, ast.Name) and local is None and st is inner:
                if not (isinstance(value, ast.Call) and not value.args and not value.keywords):
                    raise Problem(f"{fn.name}: unexpected local: {ast.unparse(inner)}")
                glob(value.func, "dict")
                local = target.id
                if local in params:
                    raise Problem(f"{fn.name}: the local {local} is a parameter")
                continue
            if (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                    and target.value.id == local and local is not None and is_str(target.slice)):
                param(value)
                continue
            raise Problem(f"{fn.name}: unexpected assignment: {ast.unparse(inner)}")
        if isinstance(inner, ast.Expr) and isinstance(inner.value, ast.Call):
            call = inner.value
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "update"
                    and isinstance(call.func.value, ast.Name) and call.func.value.id == local
                    and local is not None):
                raise Problem(f"{fn.name}: unexpected call: {ast.unparse(inner)}")
            if call.keywords and not call.args:
                for k in call.keywords:
                    if k.arg is None or param(k.value) != k.arg:
                        raise Problem(f"{fn.name}: unexpected update: {ast.unparse(inner)}")
                continue
            if len(call.args) == 1 and not call.keywords and isinstance(call.args[0], ast.Call):
                babel = call.args[0]
                glob(babel.func, "bv2kw")
                if len(babel.args) == 2 and is_str(babel.args[0]):
                    param(babel.args[1])
                    continue
            raise Problem(f"{fn.name}: unexpected update: {ast.unparse(inner)}")
        if isinstance(st, ast.Return) and isinstance(st.value, ast.Call):
            call = st.value
            if not (len(call.keywords) == 1 and call.keywords[0].arg is None
                    and isinstance(call.keywords[0].value, ast.Name)
                    and call.keywords[0].value.id == local):
                raise Problem(f"{fn.name}: unexpected return: {ast.unparse(st)}")
            func = call.func
            refs = [func] if not call.args else []
            if call.args:
                # create_mti_child(Parent, link, Child, **kw)
                glob(func, "create_mti_child")
                if len(call.args) != 3:
                    raise Problem(f"{fn.name}: unexpected return: {ast.unparse(st)}")
                refs = [call.args[0], call.args[2]]
                if not (isinstance(call.args[1], ast.Constant) and call.args[1].value is None):
                    param(call.args[1])
            for r in refs:
                if isinstance(r, ast.Call):
                    glob(r.func, "model")
                    if len(r.args) != 1 or not is_str(r.args[0]) or r.keywords:
                        raise Problem(f"{fn.name}: unexpected model(): {ast.unparse(st)}")
                    table = r.args[0].value
                else:
                    glob(r, "model global")
            continue
        raise Problem(f"{fn.name}: unexpected statement: {ast.unparse(st)}")
    return table


def check_top(tree):
    creates, execs = {}, []
    for st in tree.body:
        if not isinstance(st, TOP_KINDS):
            raise Problem(f"restore.py: unexpected top-level statement: {ast.unparse(st)[:200]}")
        if isinstance(st, ast.FunctionDef):
            if st.name.startswith("create_") and st.name != "create_mti_child":
                if st.name in creates:
                    raise Problem(f"restore.py: {st.name} defined twice")
                creates[st.name] = check_create(st)
            elif st.name == "main":
                for node in ast.walk(st):
                    if isinstance(node, ast.Call) and dotted(node.func) == "execfile":
                        if not (len(node.args) == 2 and is_str(node.args[0])
                                and isinstance(node.args[1], ast.Starred)):
                            raise Problem(f"restore.py: unexpected execfile: {ast.unparse(node)}")
                        execs.append(node.args[0].value)
            continue
        if isinstance(st, ast.ClassDef):  # the loader's classes: code, as functions are
            continue
        if isinstance(st, ast.Expr) and not (isinstance(st.value, ast.Constant)):
            raise Problem(f"restore.py: unexpected top-level expression: {ast.unparse(st)[:200]}")
        for node in ast.walk(st):
            if isinstance(node, ast.Lambda):
                raise Problem("restore.py: a lambda at top level")
            if isinstance(node, ast.Call):
                name = dotted(node.func)
                if name not in TOP_CALLS and not (name or "").startswith("settings."):
                    raise Problem(f"restore.py: unexpected call at top level: {ast.unparse(node)[:200]}")
    return creates, execs


def check_data(path, creates):
    """{create function: rows}; the logger.info line names the table."""
    with open(path, "rb") as f:
        source = f.read()
    tree = ast.parse(compile(source, path, "exec", ast.PyCF_ONLY_AST))
    rows, messages = {}, []
    for st in tree.body:
        if not (isinstance(st, ast.Expr) and isinstance(st.value, ast.Call)):
            raise Problem(f"{path}: unexpected statement: {ast.unparse(st)[:200]}")
        call = st.value
        name = dotted(call.func)
        if name == "logger.info" and len(call.args) == 1 and is_str(call.args[0]):
            messages.append(call.args[0].value)
            continue
        if name == "loader.flush_deferred_objects" and not call.args:
            continue
        if (name == "loader.save" and len(call.args) == 1 and isinstance(call.args[0], ast.Call)
                and isinstance(call.args[0].func, ast.Name) and call.args[0].func.id in creates):
            fn = call.args[0].func.id
            rows[fn] = rows.get(fn, 0) + 1
            continue
        raise Problem(f"{path}: unexpected statement: {ast.unparse(st)[:200]}")
    tables = {creates[fn] for fn in rows}
    if not rows and len(messages) == 1 and messages[0].startswith("Loading 0 objects"):
        return rows
    if len(messages) != 1 or len(tables) != 1 or not messages[0].endswith(
            f" to table {tables.pop()}..."):
        raise Problem(f"{path}: the logger.info line {messages!r} doesn't name the table")
    return rows


def check(dump):
    path = os.path.join(dump, "restore.py")
    with open(path, "rb") as f:
        tree = ast.parse(compile(f.read(), path, "exec", ast.PyCF_ONLY_AST))
    creates, execs = check_top(tree)
    files = sorted(f for f in os.listdir(dump) if f.endswith(".py") and f != "restore.py")
    if sorted(execs) != files or len(set(execs)) != len(execs):
        raise Problem(f"{dump}: restore.py runs {sorted(execs)}, the dump has {files}")
    rows, of_file = {}, {}
    for f in execs:
        counts = check_data(os.path.join(dump, f), creates)
        for fn, n in counts.items():
            table = creates[fn]
            rows[table] = rows.get(table, 0) + n
            of_file[f] = table
    return {"rows": rows, "files": of_file}


def main(argv):
    for dump in argv:
        try:
            print(json.dumps(check(dump)))
        except (Problem, SyntaxError, ValueError) as e:
            print(f"{dump}: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
