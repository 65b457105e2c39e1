#!/usr/bin/env bash
# Regenerates tests/fixtures/min1.sqlite3: Lino's min1 demo database, made
# with `django-admin prep` through the min1tmp settings, then vacuumed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/tests/fixtures/min1.sqlite3"
venv="$("$here/setup-env.sh" | tail -n 1)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
db="$tmp/min1.sqlite3"

env DJANGO_SETTINGS_MODULE=min1tmp.settings PYTHONPATH="$root/tests/sites" \
    DUMP2PY_TEST_DB="$db" LC_ALL=C.UTF-8 PYTHONUTF8=1 \
    "$venv/bin/django-admin" prep --noinput >&2

if command -v sqlite3 >/dev/null; then
    sqlite3 "$db" 'VACUUM'
else
    "$venv/bin/python" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("VACUUM")' "$db"
fi
mkdir -p "$(dirname "$out")"
cp "$db" "$out"
echo "$out"
