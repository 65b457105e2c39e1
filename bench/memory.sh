#!/usr/bin/env bash
# Benchmark: peak memory (RSS, GNU time's %M) of dumps of big values, on
# each source, against the goal of issue 25: at most 3 times the largest
# value plus 64 MB, whatever the outputs and -j.
#
#   bench/memory.sh [MB]          (MB: the big values' size, default 100)
#
# Shapes, each in a database of its own (so that -j reads one big table):
#   text    one row of an MB-megabyte text
#   blob    one row of an MB-megabyte blob
#   medium  3,000 rows of a 100 KB text
# each dumped as the Python dump alone with -j 1, and as the Python dump,
# JSON (gzipped) and XML at once with -j 4.
#
# BINS="old=/path/to/dump2py new=target/release/dump2py" compares builds,
# run interleaved (old, new, old, new...) on a machine others share;
# default: this checkout's release build. RUNS (default 5): the median.
# SOURCES (default "sqlite postgres mariadb"): the servers as in
# bench/postgres.sh and bench/mariadb.sh (127.0.0.1, postgres/root).
# MariaDB reads a 100 MB row only with a max_allowed_packet above it: the
# script raises the server's global one to 1 GB, and sets it back when it
# ends. The databases it makes are kept for the next run (dump2py_bench_mem_*
# on MariaDB, dump2py_bench_memory on PostgreSQL): drop them when done.
set -euo pipefail
cd "$(dirname "$0")/.."
mb="${1:-100}"
runs="${RUNS:-5}"
sources="${SOURCES:-sqlite postgres mariadb}"
work="$(mktemp -d)"
packet=""
case " $sources " in
*" mariadb "*) packet="$(mysql -h 127.0.0.1 -u root -N -e 'SELECT @@GLOBAL.max_allowed_packet')" ;;
esac
trap 'rm -rf "$work"; [ -z "$packet" ] || mysql -h 127.0.0.1 -u root -e "SET GLOBAL max_allowed_packet = $packet"' EXIT
if [ -z "${BINS:-}" ]; then
    cargo build --release -q -p dump2py
    BINS="dump2py=$PWD/target/release/dump2py"
fi
data="${DUMP2PY_BENCH_DATA:-$HOME/.cache/dump2py/bench-memory}"
mkdir -p "$data"
bytes=$((mb * 1000 * 1000))
goal_kb=$((3 * bytes / 1024 + 64 * 1024))

pg() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"; }
my() { mysql -h 127.0.0.1 -u root "$@"; }
pgdb=dump2py_bench_memory

# The SQL of each shape, per dialect: one table, `big`.
make_sqlite() { # shape -> file
    local f="$data/$1-$mb.sqlite3"
    if [ ! -f "$f" ]; then
        case "$1" in
        text) sql="CREATE TABLE big (id integer PRIMARY KEY, body text NOT NULL);
                   INSERT INTO big VALUES (1, replace(hex(zeroblob($bytes / 2)), '0', 'a'));" ;;
        blob) sql="CREATE TABLE big (id integer PRIMARY KEY, data blob NOT NULL);
                   INSERT INTO big VALUES (1, zeroblob($bytes));" ;;
        medium) sql="CREATE TABLE big (id integer PRIMARY KEY, body text NOT NULL);
                   WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
                   INSERT INTO big SELECT i, replace(hex(zeroblob(50000)), '0', char(97 + i % 26)) FROM n;" ;;
        esac
        python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$f.tmp" "$sql"
        mv "$f.tmp" "$f"
    fi
    echo "sqlite:$f"
}

make_postgres() { # shape -> url; one schema per shape and size
    local s="mem_$1_$mb"
    if [ "$(pg -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$pgdb'")" = 0 ]; then
        pg -d postgres -c "CREATE DATABASE $pgdb" >&2
    fi
    if [ "$(pg -d $pgdb -Atc "SELECT count(*) FROM pg_namespace WHERE nspname = '$s'")" = 0 ]; then
        case "$1" in
        text) sql="CREATE TABLE $s.big (id bigint PRIMARY KEY, body text NOT NULL);
                   INSERT INTO $s.big VALUES (1, repeat('a', $bytes));" ;;
        blob) sql="CREATE TABLE $s.big (id bigint PRIMARY KEY, data bytea NOT NULL);
                   INSERT INTO $s.big VALUES (1, convert_to(repeat('b', $bytes), 'UTF8'));" ;;
        medium) sql="CREATE TABLE $s.big (id bigint PRIMARY KEY, body text NOT NULL);
                   INSERT INTO $s.big SELECT i, repeat(chr(97 + i % 26), 100000) FROM generate_series(1, 3000) i;" ;;
        esac
        pg -d $pgdb >&2 <<SQL
BEGIN; CREATE SCHEMA $s; $sql COMMIT;
SQL
    fi
    echo "postgres://postgres@127.0.0.1:5432/$pgdb?sslmode=disable&options=-c%20search_path%3D$s"
}

make_mariadb() { # shape -> url; one database per shape and size
    local d="dump2py_bench_mem_$1_$mb"
    if [ "$(my -N -e "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$d'")" = 0 ]; then
        my -e "SET GLOBAL max_allowed_packet = 1073741824"
        case "$1" in
        text) sql="CREATE TABLE big (id bigint PRIMARY KEY, body longtext NOT NULL);
                   INSERT INTO big VALUES (1, REPEAT('a', $bytes));" ;;
        blob) sql="CREATE TABLE big (id bigint PRIMARY KEY, data longblob NOT NULL);
                   INSERT INTO big VALUES (1, REPEAT(x'62', $bytes));" ;;
        medium) sql="CREATE TABLE big (id bigint PRIMARY KEY, body longtext NOT NULL);
                   INSERT INTO big SELECT seq, REPEAT(CHAR(97 + seq % 26), 100000) FROM seq_1_to_3000;" ;;
        esac
        # A new connection, to see the new max_allowed_packet.
        my -e "CREATE DATABASE $d; USE $d; $sql"
    fi
    my -e "SET GLOBAL max_allowed_packet = 1073741824"
    echo "mysql://root@127.0.0.1:3306/$d"
}

# Peak RSS in KB of one run of BIN with the arguments.
peak() { # bin args...
    rm -rf "$work/out" "$work"/out.*
    /usr/bin/time -f "%M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || {
        cat "$work/err" >&2; exit 1; }
    cat "$work/time"
}

median() { sort -n | sed -n "$(( (runs + 1) / 2 ))p"; }

echo "peak RSS, median of $runs runs (interleaved), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); goal: 3 x $mb MB + 64 MB = $((goal_kb / 1024)) MiB"
for src in $sources; do
    for shape in text blob medium; do
        url="$(make_$src "$shape")"
        for outputs in python all; do
            case "$outputs" in
            python) args=(-j 1) ;;
            all) args=(-j 4 --json "$work/out.json.gz" --xml "$work/out.xml") ;;
            esac
            declare -A got=()
            for _ in $(seq "$runs"); do
                for b in $BINS; do
                    got[$b]+="$(peak "${b#*=}" -v 0 "${args[@]}" -d "$url" "$work/out") "
                done
            done
            line="$(printf '%-8s %-6s %-22s' "$src" "$shape" "${outputs/all/python+json.gz+xml} ${args[0]} ${args[1]}")"
            for b in $BINS; do
                m="$(echo "${got[$b]}" | tr ' ' '\n' | grep . | median)"
                line+="$(printf ' | %s %5d MiB' "${b%%=*}" $((m / 1024)))"
                [ "$shape" = medium ] || line+="$( ((m <= goal_kb)) && echo ' ok' || echo ' OVER')"
            done
            echo "$line"
            unset got
        done
    done
done
