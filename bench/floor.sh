#!/usr/bin/env bash
# Benchmark (issue 23): dump2py against the floor, the server's own read of
# the table in key order to /dev/null, and against the peer, in one run.
# For each backend, the 1,000,000-row table of bench/postgres.sh,
# bench/mariadb.sh and bench/stream.sh (made here when missing, same
# names), RUNS rounds (default 5); each round runs, interleaved:
#
#   floor       PostgreSQL `COPY (SELECT … ORDER BY id) TO STDOUT (FORMAT
#               binary)`, MariaDB `SELECT … ORDER BY id` (mariadb --quick),
#               SQLite `SELECT … ORDER BY id`, each to /dev/null
#   peer        pg_dump --data-only -t T, mariadb-dump --single-transaction
#               DB T, sqlite3 DB .dump, each to a file
#   dump2py     -j 1, fsynced; and with --no-sync
#   before      the same two with the dump2py binary BEFORE, when set
#
# and prints per command the median time, the median 1-minute load average
# at the runs' starts (the machine may be shared), the peak memory, and the
# ratios of the medians to the peer and the floor. With BEFORE it first
# checks that both binaries write the same bytes (Python dump, JSON, XML,
# the manifests but for their run id) for tables of exactly
# --max-row-count rows, one more, none, and a foreign-key cycle, and for
# the big table.
#
#   BEFORE=/path/to/old/dump2py bench/floor.sh [ROWS]
#   BACKENDS="postgres mariadb sqlite" (the default); BIN: this dump2py
#   (default: built for release); RUNS=0: only the check of the bytes;
#   SAME=0: no check of the bytes
set -euo pipefail
source "$(dirname "$0")/partners.sh"
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
runs="${RUNS:-5}"
backends="${BACKENDS:-postgres mariadb sqlite}"
before="${BEFORE:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bin="${BIN:-}"
if [ -z "$bin" ]; then
    cargo build --release -q -p dump2py
    bin="$PWD/target/release/dump2py"
fi
cols="id, email, name, street, is_active, balance, created, birth_date, remarks"

pg() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"; }
my() { mariadb -h 127.0.0.1 -u root --batch --skip-column-names --default-character-set=utf8mb4 "$@"; }
pgdb=dump2py_bench
mydb="dump2py_bench_$rows"
sqlite_db="${DUMP2PY_BENCH_DIR:-$HOME/.cache/dump2py/bench}/partners-$rows.sqlite3"

make_postgres() {
    if [ "$(pg -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$pgdb'")" = 0 ]; then
        pg -d postgres -c "CREATE DATABASE $pgdb"
    fi
    if [ "$(pg -d $pgdb -Atc "SELECT count(*) FROM pg_namespace WHERE nspname = 'bench_$rows'")" = 0 ]; then
        pg -d $pgdb <<SQL
BEGIN;
CREATE SCHEMA bench_$rows;
CREATE TABLE bench_$rows.contacts_partner ("id" bigint NOT NULL PRIMARY KEY,
  "email" varchar(254) NOT NULL, "name" varchar(200) NOT NULL, "street" varchar(200) NOT NULL,
  "is_active" boolean NOT NULL, "balance" numeric(10,2) NULL, "created" timestamp with time zone NOT NULL,
  "birth_date" date NULL, "remarks" text NOT NULL);
INSERT INTO bench_$rows.contacts_partner
SELECT i, 'person' || i || '@example.com', 'Person ' || i || ' Müller', 'Rue d''été ' || (i % 300),
       i % 2 = 1, (i % 10000) / 100.0, to_timestamp(1700000000 + i) + interval '0.123 seconds',
       date '2000-01-01' + i % 20000, 'line one' || chr(10) || 'line two ' || i
FROM generate_series(1, $rows) AS i;
COMMIT;
VACUUM ANALYZE bench_$rows.contacts_partner;
SQL
    fi
}

make_mariadb() {
    if [ "$(my -e "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$mydb'")" = 0 ]; then
        {
            echo "CREATE DATABASE \`$mydb\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
            echo "USE \`$mydb\`;"
            partners_mariadb_sql "$rows"
        } | my
    fi
}

make_sqlite() {
    [ -f "$sqlite_db" ] && return
    mkdir -p "$(dirname "$sqlite_db")"
    partners_sqlite_sql "$rows" | sqlite3 "$sqlite_db.tmp"
    mv "$sqlite_db.tmp" "$sqlite_db"
}

# The edge tables, for the equality check: app_full (exactly 1000 rows),
# app_more (1001), app_none (0), app_cyca (3) and app_cycb (1) keyed to
# each other. Prints the URL.
edge_sql() { # key type, the rows' source of 1..1001 ending in WHERE, its number's name
    cat <<SQL
CREATE TABLE app_full (id $1 PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE app_more (id $1 PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE app_none (id $1 PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE app_cyca (id $1 PRIMARY KEY, b_id $1 NULL);
CREATE TABLE app_cycb (id $1 PRIMARY KEY, a_id $1 NULL REFERENCES app_cyca (id));
ALTER TABLE app_cyca ADD FOREIGN KEY (b_id) REFERENCES app_cycb (id);
INSERT INTO app_full SELECT $2 $3 <= 1000;
INSERT INTO app_more SELECT $2 $3 <= 1001;
INSERT INTO app_cycb VALUES (1, NULL);
INSERT INTO app_cyca VALUES (1, 1), (2, 1), (3, NULL);
SQL
}
make_edge() { # backend -> url
    case "$1" in
        postgres)
            pg -d postgres -c "DROP DATABASE IF EXISTS dump2py_floor_edge" -c "CREATE DATABASE dump2py_floor_edge"
            edge_sql bigint "n, 'row ' || n FROM generate_series(1, 1001) AS n WHERE" n | pg -d dump2py_floor_edge
            echo "postgres://postgres@127.0.0.1:5432/dump2py_floor_edge" ;;
        mariadb)
            my -e "DROP DATABASE IF EXISTS dump2py_floor_edge; CREATE DATABASE dump2py_floor_edge CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            edge_sql bigint "seq, concat('row ', seq) FROM seq_1_to_1001 WHERE" seq | my dump2py_floor_edge
            echo "mysql://root@127.0.0.1:3306/dump2py_floor_edge" ;;
        sqlite)
            rm -f "$work/edge.sqlite3"
            edge_sql integer "n, 'row ' || n FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1001) SELECT n FROM s) WHERE" n \
                | grep -v '^ALTER' | sed 's/b_id integer NULL)/b_id integer NULL REFERENCES app_cycb (id))/' | sqlite3 "$work/edge.sqlite3"
            echo "sqlite:$work/edge.sqlite3" ;;
    esac
}
drop_edge() {
    case "$1" in
        postgres) pg -d postgres -c "DROP DATABASE IF EXISTS dump2py_floor_edge" ;;
        mariadb) my -e "DROP DATABASE IF EXISTS dump2py_floor_edge" ;;
    esac
}

# The same bytes from BEFORE and this dump2py (the manifests without their run id).
same() { # label url options...
    local label="$1" url="$2" b
    shift 2
    for b in before after; do
        local exe="$bin"
        [ "$b" = before ] && exe="$before"
        rm -rf "$work/$b"
        mkdir "$work/$b"
        "$exe" -v 0 --no-sync -d "$url" "$work/$b/dump" --json "$work/$b/a.json" --xml "$work/$b/a.xml" "$@"
        for m in "$work/$b/dump/dump2py.json" "$work/$b"/*.dump2py.json; do
            grep -v '"run"' "$m" > "$m.norun" && rm "$m"
        done
    done
    if diff -r "$work/before" "$work/after" >/dev/null; then
        echo "  same bytes: $label ($(ls "$work/after/dump" | wc -l) files)"
    else
        echo "  DIFFERENT: $label"; diff -r "$work/before" "$work/after" | head -20
        exit 1
    fi
}

url_of() {
    case "$1" in
        postgres) echo "postgres://postgres@127.0.0.1:5432/$pgdb?options=-c%20search_path%3Dbench_$rows" ;;
        mariadb) echo "mysql://root@127.0.0.1:3306/$mydb" ;;
        sqlite) echo "sqlite:$sqlite_db" ;;
    esac
}
floor_cmd() {
    case "$1" in
        postgres) echo "psql -X -q -h 127.0.0.1 -U postgres -d $pgdb -c 'COPY (SELECT $cols FROM bench_$rows.contacts_partner ORDER BY id) TO STDOUT (FORMAT binary)' > /dev/null" ;;
        mariadb) echo "mariadb -h 127.0.0.1 -u root --quick --batch --skip-column-names $mydb -e 'SELECT $cols FROM contacts_partner ORDER BY id' > /dev/null" ;;
        sqlite) echo "sqlite3 '$sqlite_db' 'SELECT $cols FROM contacts_partner ORDER BY id' > /dev/null" ;;
    esac
}
peer_cmd() {
    case "$1" in
        postgres) echo "pg_dump --data-only -h 127.0.0.1 -U postgres -t bench_$rows.contacts_partner $pgdb > '$work/peer.sql'" ;;
        mariadb) echo "mariadb-dump -h 127.0.0.1 -u root --single-transaction $mydb contacts_partner > '$work/peer.sql'" ;;
        sqlite) echo "sqlite3 '$sqlite_db' .dump > '$work/peer.sql'" ;;
    esac
}
peer_name() {
    case "$1" in
        postgres) echo "pg_dump --data-only" ;;
        mariadb) echo "mariadb-dump --single-transaction" ;;
        sqlite) echo "sqlite3 .dump" ;;
    esac
}

run1() { # label command: one timed run, appended to $work/times
    local label="$1" load
    load="$(cut -d' ' -f1 /proc/loadavg)"
    rm -rf "$work/out"
    /usr/bin/time -f "%e %M" -o "$work/time" sh -c "$2" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    echo "$label $(cat "$work/time") $load" >> "$work/times"
}

median() { # label field -> the median of that field over the runs
    awk -v l="$1" -v f="$2" '$1 == l { print $f }' "$work/times" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

echo "dump2py $("$bin" --version | cut -d' ' -f2), $rows rows, median of $runs interleaved runs, $(nproc) cores"
for backend in $backends; do
    "make_$backend"
    url="$(url_of "$backend")"
    if [ -n "$before" ] && [ "${SAME:-1}" = 1 ]; then
        edge="$(make_edge "$backend")"
        same "$backend edge tables, --max-row-count 1000" "$edge" -m 1000
        drop_edge "$backend"
        same "$backend $rows rows" "$url"
    fi
    [ "$runs" = 0 ] && continue
    : > "$work/times"
    labels="floor peer dump2py dump2py-no-sync"
    [ -n "$before" ] && labels="$labels before before-no-sync"
    for _ in $(seq "$runs"); do
        for l in $labels; do
            case "$l" in
                floor) run1 floor "$(floor_cmd "$backend")" ;;
                peer) run1 peer "$(peer_cmd "$backend")" ;;
                dump2py) run1 "$l" "'$bin' -v 0 -j 1 -d '$url' '$work/out'" ;;
                dump2py-no-sync) run1 "$l" "'$bin' -v 0 -j 1 --no-sync -d '$url' '$work/out'" ;;
                before) run1 "$l" "'$before' -v 0 -j 1 -d '$url' '$work/out'" ;;
                before-no-sync) run1 "$l" "'$before' -v 0 -j 1 --no-sync -d '$url' '$work/out'" ;;
            esac
        done
    done
    echo "$backend ($(peer_name "$backend") as the peer):"
    peer="$(median peer 2)" floor="$(median floor 2)"
    for l in $labels; do
        awk -v l="$l" -v t="$(median "$l" 2)" -v m="$(median "$l" 3)" -v ld="$(median "$l" 4)" \
            -v p="$peer" -v f="$floor" 'BEGIN {
            printf "  %-16s %6.2f s  %6.1f MB  load %5.2f  /peer %.2f  /floor %.2f\n", l, t, m / 1024, ld, t / p, t / f }'
    done
done
