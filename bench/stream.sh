#!/usr/bin/env bash
# Benchmark: dump a generated SQLite table of N rows (default 1,000,000)
# with dump2py and with `sqlite3 DB .dump`, and report wall time and peak
# memory of both, and their ratio. Also dumps a tenth of the rows, to show
# that memory does not grow with the table (streaming).
#
#   bench/stream.sh [ROWS]
#
# Needs sqlite3 and GNU time (/usr/bin/time). Databases are cached in
# ~/.cache/dump2py/bench.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/partners.sh"
cache="${DUMP2PY_BENCH_DIR:-$HOME/.cache/dump2py/bench}"
mkdir -p "$cache"

make_db() { # rows -> path
    local n="$1" db="$cache/partners-$1.sqlite3"
    if [ ! -f "$db" ]; then
        partners_sqlite_sql "$n" | sqlite3 "$db.tmp"
        mv "$db.tmp" "$db"
    fi
    echo "$db"
}

report() { # rows
    local n="$1" db
    db="$(make_db "$n")"
    compare "$n" "sqlite:$db" "sqlite3 .dump" "sqlite3 '$db' .dump > '$work/out.sql'"
}

# The same rows in 10 tables of a tenth each.
report_tables() { # rows
    local n="$1" one ten="$cache/partners10-$1.sqlite3" i
    one="$(make_db "$n")"
    if [ ! -f "$ten" ]; then
        {
            echo "ATTACH '$one' AS one; BEGIN;"
            for i in 0 1 2 3 4 5 6 7 8 9; do
                sqlite3 "$one" ".schema contacts_partner" | sed 's/"contacts_partner"/"contacts_partner'$i'"/'
                echo "INSERT INTO contacts_partner$i SELECT * FROM one.contacts_partner WHERE id % 10 = $i;"
            done
            echo "COMMIT;"
        } | sqlite3 "$ten.tmp"
        mv "$ten.tmp" "$ten"
    fi
    echo "10 tables:"
    compare "$n" "sqlite:$ten" "sqlite3 .dump" "sqlite3 '$ten' .dump > '$work/out.sql'"
}

bench "$(sqlite3 --version | cut -d' ' -f1-2 | sed 's/^/sqlite3 /')"
