#!/usr/bin/env bash
# Benchmark: which plan reads a PostgreSQL table in key order fastest, the
# read dump2py makes (`COPY (SELECT … ORDER BY id) TO STDOUT (FORMAT
# binary)`), on bench/postgres.sh's table shape, stored in key order and
# stored in random order:
#
#   planner   what the planner picks (its plan printed first)
#   index     the primary key's index (SET LOCAL enable_sort = off)
#   sort      a scan and a sort (SET LOCAL enable_indexscan = off, enable_bitmapscan = off)
#
#   bench/pg-order.sh [ROWS]      (default 1,000,000)
#
# Runs interleaved (planner, index, sort, planner, ...), RUNS times
# (default 5), median wall time of each. The tables stay in database
# dump2py_bench_memory (schemas kord_N, rord_N).
set -euo pipefail
source "$(dirname "$0")/partners.sh"
rows="${1:-1000000}"
runs="${RUNS:-5}"
db=dump2py_bench_memory
pg() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"; }
if [ "$(pg -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$db'")" = 0 ]; then
    pg -d postgres -c "CREATE DATABASE $db"
fi
k="kord_$rows" r="rord_$rows"
if [ "$(pg -d $db -Atc "SELECT count(*) FROM pg_namespace WHERE nspname = '$r'")" = 0 ]; then
    pg -d $db <<SQL
CREATE SCHEMA $k;
$(partners_pg_sql "$k.contacts_partner" "$rows")
CREATE SCHEMA $r;
CREATE TABLE $r.contacts_partner (LIKE $k.contacts_partner INCLUDING ALL);
INSERT INTO $r.contacts_partner SELECT * FROM $k.contacts_partner ORDER BY random();
VACUUM ANALYZE $k.contacts_partner;
VACUUM ANALYZE $r.contacts_partner;
SQL
fi
cols="t.id, t.email, t.name, t.street, t.is_active, t.balance, t.created, t.birth_date, t.remarks"
declare -A set=(
    [planner]=""
    [index]="SET LOCAL enable_sort = off;"
    [sort]="SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off;"
)
echo "$rows rows, median of $runs interleaved runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for s in "$k" "$r"; do
    select="SELECT $cols FROM $s.contacts_partner AS t ORDER BY t.id"
    for plan in planner index sort; do
        echo "  $s $plan: $(pg -d $db -Atc "BEGIN; ${set[$plan]} EXPLAIN $select" | grep -v '^ ' | head -1)"
    done
    declare -A times=()
    for _ in $(seq "$runs"); do
        for plan in planner index sort; do
            t0=$(date +%s.%N)
            pg -d $db -c "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ${set[$plan]} COPY ($select) TO STDOUT (FORMAT binary); COMMIT" >/dev/null
            times[$plan]+="$(echo "$(date +%s.%N) - $t0" | bc) "
        done
    done
    line="$s:"
    for plan in planner index sort; do
        m="$(echo "${times[$plan]}" | tr ' ' '\n' | grep . | sort -n | sed -n "$(( (runs + 1) / 2 ))p")"
        line+="$(printf '  %s %.2f s' "$plan" "$m")"
    done
    echo "$line"
    unset times
done
