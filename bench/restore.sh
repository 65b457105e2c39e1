#!/usr/bin/env bash
# Benchmark: restore.py, ours against Lino's. Lino's min1 demo with PERSONS
# extra persons (default 20,000; 40,000 rows with their partners) on
# SQLite: Lino's own `pm dump2py` and ours (`--settings`), each restored
# by Lino (`django-admin run DUMP/restore.py --noinput`), ours also with
# --bulk; median of RUNS (default 3) by time, with peak memory. Then peak
# memory of restoring the plain demo, and of a table of BIG_ROWS (default
# 300,000) rows dumped with `-m 1000000` (one data file), restored once
# with --bulk (and --quick with BIG_QUICK=1): memory must not grow with a
# file.
#
#   bench/restore.sh [PERSONS]
#
# Needs the Lino reference environment (tests/python/setup-env.sh), sqlite3
# and GNU time. Takes most of an hour (Lino's restores); not run in CI.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "${1:-20000}"
persons="$rows"
big="${BIG_ROWS:-300000}"
venv="$(bash tests/python/setup-env.sh | tail -n 1)"
export DJANGO_SETTINGS_MODULE=min1tmp.settings PYTHONPATH="$PWD/tests/sites" LC_ALL=C.UTF-8

# min1 with N more persons (a partner row and a person row each), by SQL.
grow() { # db n first_id
    sqlite3 "$1" <<SQL
WITH RECURSIVE seq(i) AS (SELECT $3 UNION ALL SELECT i + 1 FROM seq WHERE i < $3 + $2 - 1)
INSERT INTO contacts_partner (id, email, language, country_id, city_id, zip_code, region_id,
  addr1, street_prefix, street, street_no, street_box, addr2, url, phone, gsm, fax, prefix,
  name, remarks)
SELECT i, 'person' || i || '@example.com', '', 'BE', NULL, '4700', NULL, '', '', 'Rue d''été',
  '' || (i % 300), '', '', '', '+32 87 ' || i, '', '', '', 'Müller ' || i, '' FROM seq;
WITH RECURSIVE seq(i) AS (SELECT $3 UNION ALL SELECT i + 1 FROM seq WHERE i < $3 + $2 - 1)
INSERT INTO contacts_person (partner_ptr_id, title, first_name, middle_name, last_name, gender,
  birth_date)
SELECT i, '', 'Hans ' || i, '', 'Müller', CASE i % 2 WHEN 0 THEN 'M' ELSE 'F' END,
  '' FROM seq;
SQL
}

# A table of N rows for the memory check: company types (no foreign keys).
bigtable() { # db n
    sqlite3 "$1" <<SQL
WITH RECURSIVE seq(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM seq WHERE i < 1000 + $2 - 1)
INSERT INTO contacts_companytype (id, name, name_de, name_fr, abbr, abbr_de, abbr_fr)
SELECT i, 'Type ' || i, 'Typ ' || i, 'Genre ' || i, 'T' || i, '', '' FROM seq;
SQL
}

db="$work/db.sqlite3"
export DUMP2PY_TEST_DB="$db"
cp tests/fixtures/min1.sqlite3 "$work/demo.sqlite3"
cp tests/fixtures/min1.sqlite3 "$work/grown.sqlite3"
grow "$work/grown.sqlite3" "$persons" 1000
cp tests/fixtures/min1.sqlite3 "$work/big.sqlite3"
bigtable "$work/big.sqlite3" "$big"

ours() { # source-db dump-dir [dump2py options]
    local src="$1" out="$2"
    shift 2
    DUMP2PY_TEST_DB="$src" "$bin" -v 0 --settings min1tmp.settings --python "$venv/bin/python" "$@" "$out"
}
ours "$work/demo.sqlite3" "$work/dump-demo"
ours "$work/grown.sqlite3" "$work/dump-ours"
ours "$work/big.sqlite3" "$work/dump-big" -m 1000000
cp "$work/grown.sqlite3" "$db"
"$venv/bin/django-admin" dump2py "$work/dump-lino" >/dev/null 2>&1

restore() { # dump-dir [restore.py options]; prints "seconds peak_kb"
    local dump="$1"
    shift
    cp "$work/grown.sqlite3" "$db"
    measure "$venv/bin/django-admin" run "$dump/restore.py" --noinput "$@"
}
line() { # label "seconds peak_kb" [base seconds]
    awk -v label="$1" -v t="${2% *}" -v m="${2#* }" -v base="${3:-0}" 'BEGIN {
        printf "%-40s %7.2f s %7.1f MB", label, t, m / 1024
        if (base > 0) printf "   %.2f of Lino'\''s time", t / base
        printf "\n" }'
}

echo "restore.py of min1 + $persons persons ($((persons * 2)) rows more), SQLite, median of $runs runs"
lino=$(restore "$work/dump-lino")
line "Lino's own dump" "$lino"
base="${lino% *}"
line "ours" "$(restore "$work/dump-ours")" "$base"
line "ours, --bulk" "$(restore "$work/dump-ours" --bulk)" "$base"

echo "peak memory, one run each"
runs=1
line "ours, plain demo (280 rows)" "$(restore "$work/dump-demo")"
line "ours, $big rows in one file, --bulk" "$(restore "$work/dump-big" --bulk)"
# Slow (full_clean() on every row): BIG_QUICK=1 adds a run with --quick.
if [ -n "${BIG_QUICK:-}" ]; then
    line "ours, $big rows in one file, --quick" "$(restore "$work/dump-big" --quick)"
fi
