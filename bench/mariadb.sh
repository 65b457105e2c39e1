#!/usr/bin/env bash
# Benchmark: dump a generated MariaDB table of N rows (default 1,000,000;
# the shape of bench/stream.sh's) with dump2py and with
# `mariadb-dump --single-transaction` of the same table, and report wall
# time and peak memory of both, and their ratio. Also dumps a tenth of the
# rows, to show that memory does not grow with the table (streaming).
#
#   bench/mariadb.sh [ROWS]
#
# Needs a MariaDB server (MARIADB_HOST, MARIADB_PORT, MARIADB_USER; default
# 127.0.0.1:3306, root without a password), the mariadb and mariadb-dump
# clients and GNU time (/usr/bin/time). The tables stay in the database
# dump2py_bench, filled once per row count.
set -euo pipefail
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/partners.sh"
host="${MARIADB_HOST:-127.0.0.1}"
port="${MARIADB_PORT:-3306}"
user="${MARIADB_USER:-root}"
db=dump2py_bench
client=(mariadb -h "$host" -P "$port" -u "$user" --batch --skip-column-names
        --default-character-set=utf8mb4)

# One database per row count: dump2py dumps a whole database.
make_db() { # rows -> database name
    local n="$1" name="${db}_$1"
    local have
    have="$("${client[@]}" -e "SELECT count(*) FROM \`$name\`.contacts_partner" 2>/dev/null || echo none)"
    if [ "$have" != "$n" ]; then
        {
            echo "DROP DATABASE IF EXISTS \`$name\`;"
            echo "CREATE DATABASE \`$name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
            echo "USE \`$name\`;"
            partners_mariadb_sql "$n"
        } | "${client[@]}"
    fi
    echo "$name"
}

report() { # rows
    local n="$1" name
    name="$(make_db "$n")"
    compare "$n" "mysql://$user@$host:$port/$name" "mariadb-dump" \
        "mariadb-dump -h '$host' -P '$port' -u '$user' --single-transaction '$name' contacts_partner > '$work/out.sql'"
}

# The same rows in 10 tables of a tenth each (one database).
report_tables() { # rows
    local n="$1" name="${db}_10x$1" i
    make_db "$n" >/dev/null
    if [ "$("${client[@]}" -e "SELECT count(*) FROM information_schema.tables WHERE table_schema = '$name'")" != 10 ]; then
        {
            echo "DROP DATABASE IF EXISTS \`$name\`; CREATE DATABASE \`$name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
            for i in 0 1 2 3 4 5 6 7 8 9; do
                echo "CREATE TABLE \`$name\`.contacts_partner$i LIKE \`${db}_$n\`.contacts_partner;"
                echo "INSERT INTO \`$name\`.contacts_partner$i SELECT * FROM \`${db}_$n\`.contacts_partner WHERE id % 10 = $i;"
            done
        } | "${client[@]}"
    fi
    echo "10 tables:"
    compare "$n" "mysql://$user@$host:$port/$name" "mariadb-dump" \
        "mariadb-dump -h '$host' -P '$port' -u '$user' --single-transaction '$name' > '$work/out.sql'"
}

# Both sides use their client's default TLS mode (dump2py: ssl-mode=PREFERRED);
# the line says whether the server offers TLS at all.
tls="$("${client[@]}" -e "SELECT IF(@@have_ssl = 'YES', 'the server offers TLS', 'the server offers no TLS')")"
bench "$(mariadb-dump --version | sed 's/^.*Distrib //; s/,.*//') mariadb-dump, server $("${client[@]}" -e 'SELECT version()'), default TLS modes ($tls)"
