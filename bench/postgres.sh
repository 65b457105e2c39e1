#!/usr/bin/env bash
# Benchmark: dump a generated PostgreSQL table of N rows (default
# 1,000,000; the same shape as bench/stream.sh's) with dump2py and with
# `pg_dump --data-only -t TABLE`, and report wall time and peak memory of
# both, and their ratio. Also dumps a tenth of the rows, to show that
# memory does not grow with the table (streaming).
#
#   bench/postgres.sh [ROWS]
#
# Both sides use PGSSLMODE (default prefer: TLS where the server offers
# it); the first line says what the connection got.
# Needs psql, pg_dump and GNU time (/usr/bin/time), and the server at
# PGHOST:PGPORT (default 127.0.0.1:5432) as PGUSER (default postgres).
# The tables stay in database dump2py_bench (DUMP2PY_BENCH_DB), made once.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/partners.sh"
host="${PGHOST:-127.0.0.1}" port="${PGPORT:-5432}" user="${PGUSER:-postgres}"
db="${DUMP2PY_BENCH_DB:-dump2py_bench}"
# Both sides connect with the same sslmode: libpq's default, or PGSSLMODE.
export PGSSLMODE="${PGSSLMODE:-prefer}"
url="postgres://$user@$host:$port/$db?sslmode=$PGSSLMODE"

psql_() { psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" "$@"; }

if [ "$(psql_ -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$db'")" = 0 ]; then
    psql_ -d postgres -c "CREATE DATABASE \"$db\""
fi

make_table() { # rows -> schema.table; one schema per size, as dump2py dumps a whole schema
    local n="$1" t="bench_$1.contacts_partner"
    if [ "$(psql_ -d "$db" -Atc "SELECT count(*) FROM pg_namespace WHERE nspname = 'bench_$n'")" = 0 ]; then
        psql_ -d "$db" >&2 <<SQL
BEGIN;
CREATE SCHEMA bench_$n;
$(partners_pg_sql "$t" "$n")
COMMIT;
VACUUM ANALYZE $t;
SQL
    fi
    echo "$t"
}

report() { # rows
    local n="$1" t
    t="$(make_table "$n")"
    # dump2py reads the first schema of search_path: this size's.
    compare "$n" "$url&options=-c%20search_path%3Dbench_$n" "pg_dump --data-only" \
        "pg_dump --data-only -h '$host' -p '$port' -U '$user' -t '$t' '$db' > '$work/out.sql'"
    # For reference: pg_dump's parallel directory format (it compresses).
    local j
    j=($(measure sh -c "rm -rf '$work/outd'; pg_dump --data-only -j 2 -Fd -f '$work/outd' -h '$host' -p '$port' -U '$user' -t '$t' '$db'"))
    echo "               (pg_dump --data-only -j 2 -Fd: ${j[0]} s, $(( j[1] / 1024 )) MB)"
}

# The same rows in 10 tables of a tenth each (one schema).
report_tables() { # rows
    local n="$1" s="bench10_$1" i
    make_table "$n" >/dev/null
    if [ "$(psql_ -d "$db" -Atc "SELECT count(*) FROM pg_namespace WHERE nspname = '$s'")" = 0 ]; then
        {
            echo "BEGIN; CREATE SCHEMA $s;"
            for i in 0 1 2 3 4 5 6 7 8 9; do
                echo "CREATE TABLE $s.contacts_partner$i (LIKE bench_$n.contacts_partner INCLUDING ALL);"
                echo "INSERT INTO $s.contacts_partner$i SELECT * FROM bench_$n.contacts_partner WHERE id % 10 = $i;"
            done
            echo "COMMIT; VACUUM ANALYZE;"
        } | psql_ -d "$db" >&2
    fi
    echo "10 tables:"
    compare "$n" "$url&options=-c%20search_path%3D$s" "pg_dump --data-only" \
        "pg_dump --data-only -h '$host' -p '$port' -U '$user' -n '$s' '$db' > '$work/out.sql'"
}

tls="$(psql_ -d postgres -Atc "SELECT coalesce((SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl), 'no TLS')")"
bench "$(pg_dump --version); sslmode=$PGSSLMODE on both sides ($tls)"
