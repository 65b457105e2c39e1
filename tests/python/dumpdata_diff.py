#!/usr/bin/env python3
"""Compare two `dumpdata` files and name each kind of difference.

Usage: dumpdata_diff.py THEIRS OURS [--allow KIND]...

THEIRS and OURS are dumpdata files (.json, or .yaml/.yml with PyYAML).
Every difference is put into one of the kinds below; prints one JSON line
{"kinds": {KIND: count, ...}, "objects": N} and exits 0 when each kind
found is allowed, else prints the differences of the kinds not allowed
(the first 20) and exits 1. A difference that fits no kind is "other",
which is never allowed.

Kinds (OURS compared with THEIRS, Django's):
  model-order      models come in another order
  field-order      an object's fields come in another order
  label            a model has another label (found by its objects' pks and fields)
  decimal-places   a decimal string without the field's places ("12.5" for "12.5000")
  naive-datetime   a datetime without its "Z" (UTC not known)
  uuid-hex         a UUID as 32 hex digits, without hyphens
  duration-int     a duration as integer microseconds
  choice-empty     "" for a choice-list value that Django reads as null
  milliseconds     a datetime or time cut to milliseconds (Django's JSON)
  carriage-return  a text whose carriage returns became newlines (any XML parser)
  stripped         a text without its leading and trailing whitespace (Django's
                   XML deserializer strips it)
  m2m-order        a many-to-many list in another order (Django follows the
                   target's Meta.ordering, which the database doesn't show)
  unserialized     a field that only ours has (Django leaves out fields with
                   serialize=False, which the database doesn't show)
"""

import datetime
import decimal
import json
import re
import sys

MAX_SHOWN = 20


def load(path):
    with open(path, encoding="utf-8") as f:
        if path.endswith((".yaml", ".yml")):
            import yaml
            return yaml.safe_load(f) or []
        return json.load(f)


def micros(text):
    """Django's duration_string → microseconds, else None."""
    m = re.fullmatch(r"(?:(-?\d+) )?(\d\d):(\d\d):(\d\d)(?:\.(\d{6}))?", text)
    if not m:
        return None
    days, h, mi, s, us = m.groups()
    return ((int(days or 0) * 24 + int(h)) * 60 + int(mi)) * 60_000_000 + int(s) * 1_000_000 + int(us or 0)


def as_time(v):
    """A datetime, or a time as text, parsed; else None."""
    if isinstance(v, (datetime.datetime, datetime.time)):
        return v
    if isinstance(v, str):
        for parse in (datetime.datetime.fromisoformat, datetime.time.fromisoformat):
            try:
                return parse(v)
            except ValueError:
                pass
    return None


def value_kind(a, b):
    """The kind of difference between Django's value a and ours b."""
    if a is None and b == "":
        return "choice-empty"
    if isinstance(a, list) and isinstance(b, list) and a != b:
        dump = lambda items: sorted(json.dumps(x, sort_keys=True) for x in items)
        if dump(a) == dump(b):
            return "m2m-order"
    if isinstance(a, str) and isinstance(b, str):
        if a.endswith("Z") and a[:-1] == b:
            return "naive-datetime"
        if "-" in a and a.replace("-", "") == b and len(b) == 32:
            return "uuid-hex"
        lf = a.replace("\r\n", "\n").replace("\r", "\n")
        if lf == b:
            return "carriage-return"
        if lf.strip() == b:
            return "stripped"
        try:
            if decimal.Decimal(a) == decimal.Decimal(b):
                return "decimal-places"
        except decimal.InvalidOperation:
            pass
    if isinstance(a, str) and isinstance(b, int) and not isinstance(b, bool) and micros(a) == b:
        return "duration-int"
    ta, tb = as_time(a), as_time(b)
    if ta is not None and tb is not None and type(ta) is type(tb):
        if ta.replace(microsecond=ta.microsecond // 1000 * 1000) == tb:
            return "milliseconds"
    return "other"


def key(obj):
    return (obj["model"], json.dumps(obj.get("pk"), sort_keys=True, default=str))


def main(argv):
    args, allow = [], set()
    it = iter(argv[1:])
    for a in it:
        if a == "--allow":
            allow.add(next(it, ""))
        elif a.startswith("--allow="):
            allow.add(a.split("=", 1)[1])
        else:
            args.append(a)
    if len(args) != 2:
        sys.exit(__doc__.strip())
    theirs, ours = load(args[0]), load(args[1])
    kinds, shown = {}, []

    def note(kind, what):
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind not in allow and len(shown) < MAX_SHOWN:
            shown.append(f"{kind}: {what}")

    order = lambda objs: list(dict.fromkeys(o["model"] for o in objs))
    a_objs, b_objs = {key(o): o for o in theirs}, {key(o): o for o in ours}
    # Objects under another label: same pk and field names.
    only_a = [k for k in a_objs if k not in b_objs]
    only_b = [k for k in b_objs if k not in a_objs]
    relabel = {}
    for ka in only_a:
        oa = a_objs[ka]
        for kb in only_b:
            ob = b_objs[kb]
            if kb[1] == ka[1] and set(ob["fields"]) == set(oa["fields"]) \
                    and relabel.get(ka[0], kb[0]) == kb[0]:
                relabel[ka[0]] = kb[0]
                b_objs[ka] = b_objs.pop(kb)
                only_b.remove(kb)
                break
    for model_a, model_b in relabel.items():
        note("label", f"{model_a} is {model_b}")
    if [relabel.get(m, m) for m in order(theirs)] != order(ours):
        note("model-order", f"{order(theirs)} != {order(ours)}")
    for k, oa in a_objs.items():
        ob = b_objs.get(k)
        if ob is None:
            note("other", f"only in {args[0]}: {k}")
            continue
        fa, fb = oa["fields"], ob["fields"]
        if not set(fa) <= set(fb):
            note("other", f"{k}: fields {sorted(fa)} != {sorted(fb)}")
            continue
        for name in fb:
            if name not in fa:
                note("unserialized", f"{k}: field {name} = {fb[name]!r}")
        if list(fa) != [name for name in fb if name in fa]:
            note("field-order", f"{k}: {list(fa)} != {list(fb)}")
        for name in fa:
            va, vb = fa[name], fb[name]
            if va == vb and type(va) is type(vb):
                continue
            note(value_kind(va, vb), f"{k} {name}: {va!r} != {vb!r}")
    for k in b_objs:
        if k not in a_objs:
            note("other", f"only in {args[1]}: {k}")
    print(json.dumps({"kinds": dict(sorted(kinds.items())), "objects": len(theirs)}))
    for s in shown:
        print(s)
    return 0 if set(kinds) <= allow else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
