#!/usr/bin/env python3
"""Compare a Python dump written by Lino's `dump2py` with one written by ours.

Usage: compare_dumps.py LINO_DIR OURS_DIR [options]

Checks that
- both have the same data files (*.py other than restore.py), except files
  named with --extra-ok that only ours has, and an empty trailing part
  (`<table>_<k>.py`) that only Lino writes;
- each create_<table>() function that both restore.py files define has the
  same parameter list;
- each table has the same rows, compared as values: every
  `loader.save(create_<table>(...))` argument is evaluated with `dt`,
  `date`, `time` and `Decimal`; a content type, Lino's model global
  `contacts_Partner` or our `ct_model('contacts', 'partner')`, stands for
  the string 'contacts.partner'.
  Rows are compared as multisets, so their order does not matter.

Options:
  --extra-ok FILE            a data file that only ours has (repeatable;
                             e.g. things_thing_tags.py for an m2m table)
  --lino-drops-microseconds  a datetime or time of ours equals Lino's when they
                             are equal after dropping our microseconds
  --lino-quotes-json-floats  a float of ours equals Lino's string when that
                             string is str() of the float (Lino writes a JSON
                             value that is a float as a string)
  --lino-none-for-empty TABLE.NAME  Lino's None equals our '' in that column
                             (Lino writes None for an empty choice-list value;
                             without site metadata ours can't know the choice list)
  --ignore-param TABLE.NAME  leave parameter NAME out of Lino's create_TABLE()
                             and its rows (repeatable; e.g. things_thing.tags,
                             as Lino passes m2m fields as a useless argument)
  --renamed LINO=OURS        Lino's data file LINO is ours named OURS (repeatable;
                             ours escapes a table name that isn't like Django's)
  --exact                    also compare text. In each data file both have, the
                             first 3 lines (coding, logger.info, "# fields:") and
                             the lines other than rows must be identical (where
                             Lino wrote an empty trailing part, with its count of
                             parts and closing lines). Each row line of ours must
                             be identical to one of Lino's (a table's rows as a
                             multiset, its parts together), except a row whose
                             values needed an allowance (--lino-*): it must have
                             the same values, and the same text but in the
                             allowed values; such rows are counted. With
                             --ignore-param, Lino's rows are compared without
                             that argument and "# fields:" without that field.

Prints a summary and exits 1 on any difference that remains.
"""

import argparse
import ast
import datetime
import os
import re
import sys
from collections import Counter
from decimal import Decimal

MAX_SHOWN = 10


def dt(*args):
    return datetime.datetime(*args)


def content_type(app_label, model):
    """Ours without site metadata: ct_model('contacts', 'partner')."""
    return f"{app_label}.{model}"


NAMESPACE = {"dt": dt, "date": datetime.date, "time": datetime.time, "Decimal": Decimal,
             "ct_model": content_type, "missing_content_type": lambda pk: None}


def model_global(name):
    """Lino's content-type value, the model's global contacts_Partner, as
    'contacts.partner' (app labels have no underscore)."""
    return name.lower().replace("_", ".", 1)


def data_files(dirname):
    return {f for f in os.listdir(dirname) if f.endswith(".py") and f != "restore.py"}


def create_functions(dirname):
    """{table: [parameter names]} of the create_<table>() functions in restore.py."""
    with open(os.path.join(dirname, "restore.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return {node.name[len("create_"):]: [a.arg for a in node.args.args]
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("create_")}


def evaluate(expr):
    names = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
    ns = dict(NAMESPACE, __builtins__={})
    ns.update({n: model_global(n) for n in names if n not in ns})
    return eval(compile(ast.Expression(expr), "<value>", "eval"), ns)


def rows_of(path):
    """Yield (table, [values], text) for each loader.save(create_<table>(...))
    statement; text is its source line(s) without the line end."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    lines = source.split("\n")
    tree = ast.parse(source, filename=path)
    for node in tree.body:
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "save"
                and isinstance(func.value, ast.Name) and func.value.id == "loader"
                and len(call.args) == 1 and isinstance(call.args[0], ast.Call)
                and isinstance(call.args[0].func, ast.Name)
                and call.args[0].func.id.startswith("create_")):
            continue
        create = call.args[0]
        text = "\n".join(lines[node.lineno - 1:node.end_lineno])
        yield create.func.id[len("create_"):], [evaluate(a) for a in create.args], text


def canon(value):
    """A hashable form that keeps apart what Python's == would mix up
    (1, 1.0 and True; a list and a tuple)."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted(((canon(k), canon(v)) for k, v in value.items()), key=repr)))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(canon(v) for v in value))
    return (type(value).__name__, value)


class Row:
    """A row as written (text) and as values. `allowed` holds the indexes of
    values that an allowance (--lino-*) changed before comparing."""

    def __init__(self, values, text):
        self.values, self.text, self.allowed = values, text, set()


def split_row(text):
    """(create function name, [argument texts]) of a row line."""
    call = ast.parse(text).body[0].value.args[0]
    return call.func.id, [ast.get_source_segment(text, a) for a in call.args]


def join_row(func, args):
    """A row line as both dumps write it: arguments separated by a bare comma."""
    return f"loader.save({func}({','.join(args)}))"


def file_frame(path):
    """(first 3 lines, the other lines that are not rows) of a data file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    return lines[:3], [ln for ln in lines[3:] if not ln.startswith("loader.save(")]


def without_fields(fields_line, drop):
    """Lino's '# fields: a, b, tags' without the fields of the dropped parameters."""
    prefix = "# fields: "
    if not fields_line.startswith(prefix):
        return fields_line
    names = fields_line[len(prefix):].split(", ")
    keep = [n for n in names if n not in drop and n + "_id" not in drop]
    return prefix + ", ".join(keep)


def compare_frames(lino_dir, ours_dir, files, ignored, empty_parts):
    """The first 3 lines and the non-row lines of each data file both have.
    empty_parts: Lino's empty trailing parts that ours doesn't write (allowed):
    there, Lino's parts say "(part i of k+1)", and its empty part holds the
    closing lines that ours writes in part k. Returns a list of problems."""
    problems = []
    last_parts = {}  # our last part -> (Lino's empty part, Lino's count of parts)
    for f in empty_parts:
        stem, _, n = f[:-len(".py")].rpartition("_")
        last_parts[f"{stem}_{int(n) - 1}.py"] = (f, int(n))
        for i in range(1, int(n)):
            last_parts.setdefault(f"{stem}_{i}.py", (None, int(n)))
    for f in files:
        (lino_head, lino_rest), (our_head, our_rest) = (
            file_frame(os.path.join(lino_dir, f)), file_frame(os.path.join(ours_dir, f)))
        if f in last_parts and len(lino_head) == 3:
            empty, n = last_parts[f]
            lino_head[1] = lino_head[1].replace(f" of {n}) to table ", f" of {n - 1}) to table ")
            if empty is not None:
                lino_rest = file_frame(os.path.join(lino_dir, empty))[1]
        if len(lino_head) == 3:
            m = re.search(r' to table (.+?)\.\.\."\)$', lino_head[1])
            if m and m.group(1) in ignored:
                lino_head[2] = without_fields(lino_head[2], ignored[m.group(1)])
        for i, what in enumerate(("coding line", "logger.info line", "'# fields:' line")):
            a = lino_head[i] if i < len(lino_head) else None
            b = our_head[i] if i < len(our_head) else None
            if a != b:
                problems.append(f"{f}: the {what} differs:\n  Lino: {a!r}\n  ours: {b!r}")
        if lino_rest != our_rest:
            problems.append(f"{f}: the lines other than rows differ:\n"
                            f"  Lino: {lino_rest!r}\n  ours: {our_rest!r}")
    return problems


def compare_row_texts(table, lino, ours):
    """Each row of ours must have a row of Lino's with the same text, or,
    if an allowance applied to either, the same values and the same text
    except in the allowed values. Returns (identical, allowed, problems)."""
    texts = Counter(r.text for r in lino)
    identical, left_ours = 0, []
    for r in ours:
        if texts[r.text] > 0:
            texts[r.text] -= 1
            identical += 1
        else:
            left_ours.append(r)
    by_values = {}
    for r in lino:
        if texts[r.text] > 0:  # not matched by text
            texts[r.text] -= 1
            by_values.setdefault(canon(r.values), []).append(r)
    allowed, diffs = 0, []
    for r in left_ours:
        candidates = by_values.get(canon(r.values))
        if not candidates:
            diffs.append(f"  only ours: {r.text}")
            continue
        theirs = candidates.pop()
        if r.allowed or theirs.allowed:
            (f1, a1), (f2, a2) = split_row(theirs.text), split_row(r.text)
            skip = r.allowed | theirs.allowed
            if (f1 == f2 and len(a1) == len(a2) and join_row(f2, a2) == r.text
                    and all(x == y for i, (x, y) in enumerate(zip(a1, a2)) if i not in skip)):
                allowed += 1
                continue
            why = "differ beyond the allowances"
        else:
            why = "same values, different text"
        diffs.append(f"  {why}:\n    Lino: {theirs.text}\n    ours: {r.text}")
    diffs += [f"  only Lino's: {r.text}" for rows in by_values.values() for r in rows]
    problems = []
    if diffs:
        shown = diffs[:MAX_SHOWN]
        if len(diffs) > MAX_SHOWN:
            shown.append(f"  ... and {len(diffs) - MAX_SHOWN} more")
        problems.append(f"table {table}: {len(diffs)} row lines differ in text\n" + "\n".join(shown))
    return identical, allowed, problems


def main(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("lino_dir")
    p.add_argument("ours_dir")
    p.add_argument("--extra-ok", action="append", default=[])
    p.add_argument("--lino-drops-microseconds", action="store_true")
    p.add_argument("--lino-quotes-json-floats", action="store_true")
    p.add_argument("--ignore-param", action="append", default=[])
    p.add_argument("--lino-none-for-empty", action="append", default=[])
    p.add_argument("--exact", action="store_true")
    p.add_argument("--renamed", action="append", default=[])
    args = p.parse_args(argv)
    if args.renamed:
        # Compare a copy of Lino's dump whose files have our names.
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp()
        lino_dir = os.path.join(tmp, "lino")
        shutil.copytree(args.lino_dir, lino_dir)
        for spec in args.renamed:
            theirs, _, ours = spec.partition("=")
            os.rename(os.path.join(lino_dir, theirs), os.path.join(lino_dir, ours))
        args.lino_dir = lino_dir

    problems = []
    notes = []
    extra_ok = {f if f.endswith(".py") else f + ".py" for f in args.extra_ok}
    ignored = {}
    for spec in args.ignore_param:
        table, _, name = spec.partition(".")
        ignored.setdefault(table, set()).add(name)

    # Data files
    lino_files, our_files = data_files(args.lino_dir), data_files(args.ours_dir)
    for f in sorted(our_files - lino_files):
        if f in extra_ok:
            notes.append(f"only ours has {f} (allowed)")
        else:
            problems.append(f"only ours has {f}")
    lino_rows = {}
    empty_parts = []
    for f in sorted(lino_files):
        rows = list(rows_of(os.path.join(args.lino_dir, f)))
        if f not in our_files:
            if not rows and re.search(r"_\d+\.py$", f):
                notes.append(f"only Lino has the empty part {f} (allowed)")
                empty_parts.append(f)
            else:
                problems.append(f"only Lino has {f}")
        for table, values, text in rows:
            lino_rows.setdefault(table, []).append(Row(values, text))
    our_rows = {}
    for f in sorted(our_files):
        for table, values, text in rows_of(os.path.join(args.ours_dir, f)):
            our_rows.setdefault(table, []).append(Row(values, text))

    # create_<table>() parameters
    lino_funcs, our_funcs = create_functions(args.lino_dir), create_functions(args.ours_dir)
    for table, drop in ignored.items():
        params = lino_funcs.get(table, [])
        keep = [i for i, name in enumerate(params) if name not in drop]
        lino_funcs[table] = [params[i] for i in keep]
        for row in lino_rows.get(table, []):
            row.values = [row.values[i] for i in keep]
            if args.exact and len(keep) < len(params):
                func, texts = split_row(row.text)
                row.text = join_row(func, [texts[i] for i in keep])
    empty_as_none = 0
    for spec in args.lino_none_for_empty:
        table, _, name = spec.partition(".")
        params = lino_funcs.get(table, [])
        if name not in params:
            problems.append(f"--lino-none-for-empty {spec}: Lino's create_{table}() has no {name}")
            continue
        i = params.index(name)
        for row in lino_rows.get(table, []):
            if row.values[i] is None:
                row.values[i] = ""
                row.allowed.add(i)
                empty_as_none += 1
    if empty_as_none:
        notes.append(f"{empty_as_none} values were None in Lino's and '' in ours (--lino-none-for-empty)")
    for table in sorted(set(lino_funcs) ^ set(our_funcs)):
        who = "Lino" if table in lino_funcs else "ours"
        if who == "ours" and f"{table}.py" in extra_ok:
            continue
        problems.append(f"only {who} defines create_{table}()")
    common = sorted(set(lino_funcs) & set(our_funcs))
    same_params = []
    for table in common:
        if lino_funcs[table] != our_funcs[table]:
            problems.append(f"create_{table}() parameters differ:\n"
                            f"  Lino: {', '.join(lino_funcs[table])}\n"
                            f"  ours: {', '.join(our_funcs[table])}")
        else:
            same_params.append(table)

    # Rows
    micro_only = quoted_floats = compared = 0
    identical = allowed = 0
    for table in same_params:
        ours = []
        for row in our_rows.get(table, []):
            lino_like = Row([], row.text)
            for i, v in enumerate(row.values):
                if (args.lino_drops_microseconds
                        and isinstance(v, (datetime.datetime, datetime.time)) and v.microsecond):
                    v = v.replace(microsecond=0)
                    micro_only += 1
                    lino_like.allowed.add(i)
                elif args.lino_quotes_json_floats and isinstance(v, float):
                    v = str(v)
                    quoted_floats += 1
                    lino_like.allowed.add(i)
                lino_like.values.append(v)
            ours.append(lino_like)
        shown = {}  # canonical form -> a row as written, for messages

        def count(rows):
            c = Counter()
            for r in rows:
                key = canon(r.values)
                shown.setdefault(key, r.values)
                c[key] += 1
            return c

        a, b = count(lino_rows.get(table, [])), count(ours)
        compared += sum(b.values())
        if a != b:
            only_lino = [shown[c] for c in (a - b).elements()]
            only_ours = [shown[c] for c in (b - a).elements()]
            lines = [f"table {table}: {len(only_lino)} rows only in Lino's, "
                     f"{len(only_ours)} only in ours"]
            for who, rows in (("Lino", only_lino), ("ours", only_ours)):
                lines += [f"  {who}: ({', '.join(map(repr, r))})" for r in rows[:MAX_SHOWN]]
            problems.append("\n".join(lines))
        if args.exact:
            same, ok, text_problems = compare_row_texts(table, lino_rows.get(table, []), ours)
            identical += same
            allowed += ok
            problems += text_problems
    if args.exact:
        problems += compare_frames(args.lino_dir, args.ours_dir,
                                   sorted(lino_files & our_files), ignored, empty_parts)

    for n in notes:
        print(n)
    print(f"{len(common)} tables in both, {compared} rows of ours compared")
    if args.lino_drops_microseconds:
        print(f"{micro_only} values differed only in microseconds (ignored)")
    if args.lino_quotes_json_floats:
        print(f"{quoted_floats} float values of ours compared as Lino's strings")
    if args.exact:
        print(f"exact: {identical} row lines identical, {allowed} rows differ only by "
              f"listed allowances; the other lines of {len(lino_files & our_files)} data files compared")
    for prob in problems:
        print("DIFFERENCE: " + prob)
    print("dumps match" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
