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
        "${client[@]}" <<SQL
DROP DATABASE IF EXISTS \`$name\`;
CREATE DATABASE \`$name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
USE \`$name\`;
SET time_zone = '+00:00';
CREATE TABLE contacts_partner (id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email varchar(254) NOT NULL, name varchar(200) NOT NULL, street varchar(200) NOT NULL,
  is_active tinyint(1) NOT NULL, balance decimal(10,2) NULL, created datetime(6) NOT NULL,
  birth_date date NULL, remarks longtext NOT NULL);
INSERT INTO contacts_partner
SELECT seq, concat('person', seq, '@example.com'), concat('Person ', seq, ' Müller'),
       concat('Rue d''été ', seq % 300), seq % 2, (seq % 10000) / 100.0,
       from_unixtime(1700000000 + seq) + INTERVAL 123 MICROSECOND,
       DATE '2000-01-01' + INTERVAL (seq % 20000) DAY,
       concat('line one', char(10), 'line two ', seq)
FROM seq_1_to_$n;
SQL
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
