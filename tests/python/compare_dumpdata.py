#!/usr/bin/env python3
"""Compare two files written by `django-admin dumpdata --format json -o FILE`.

Usage: compare_dumpdata.py A.json B.json

Exits 0 when both files hold the same set of objects (model, pk, fields),
in any order; otherwise prints the first 20 differing objects and exits 1.

Django's JSON keeps only milliseconds of a datetime or time. Files named
*.yaml or *.yml (`dumpdata --format yaml`, needs PyYAML) keep microseconds.
"""

import json
import sys

MAX_SHOWN = 20


def canon(value):
    """A hashable, order-insensitive form of a decoded JSON value (dict keys
    are unordered; lists keep their order)."""
    if isinstance(value, dict):
        return ("{}", tuple(sorted((k, canon(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("[]", tuple(canon(v) for v in value))
    # Keep 1 and 1.0 and True apart: JSON tells them apart.
    return (type(value).__name__, value)


def load(path):
    with open(path, encoding="utf-8") as f:
        if path.endswith((".yaml", ".yml")):
            import yaml
            data = yaml.safe_load(f) or []
        else:
            data = json.load(f)
    objects = {}
    for obj in data:
        key = (obj["model"], canon(obj.get("pk")))
        if key in objects:
            sys.exit(f"{path}: duplicate object {obj['model']} pk={obj.get('pk')!r}")
        objects[key] = obj
    return objects


def show(value):
    return json.dumps(value, ensure_ascii=False, default=str)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__.strip())
    a, b = load(argv[1]), load(argv[2])
    diffs = []
    for key in sorted(set(a) | set(b), key=repr):
        oa, ob = a.get(key), b.get(key)
        if oa is None:
            diffs.append(f"only in {argv[2]}: {show(ob)}")
        elif ob is None:
            diffs.append(f"only in {argv[1]}: {show(oa)}")
        elif canon(oa["fields"]) != canon(ob["fields"]):
            fa, fb = oa["fields"], ob["fields"]
            names = sorted(set(fa) | set(fb))
            changed = [
                f"  {n}: {show(fa.get(n, '<missing>'))} != {show(fb.get(n, '<missing>'))}"
                for n in names if canon(fa.get(n, "<missing>")) != canon(fb.get(n, "<missing>"))]
            diffs.append(f"{key[0]} pk={oa.get('pk')!r} differs:\n" + "\n".join(changed))
    if not diffs:
        print(f"same: {len(a)} objects")
        return 0
    for d in diffs[:MAX_SHOWN]:
        print(d)
    if len(diffs) > MAX_SHOWN:
        print(f"... and {len(diffs) - MAX_SHOWN} more")
    print(f"{len(diffs)} of {len(set(a) | set(b))} objects differ")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
