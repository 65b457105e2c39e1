# The benchmark table, contacts_partner as Django makes it, of ROWS
# generated rows: the one shape every bench script reads (or loads), as
# SQL for each database. Source it; each function prints SQL for the
# script's own client.

partners_sqlite_sql() { # rows
    cat <<SQL
CREATE TABLE "contacts_partner" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  "email" varchar(254) NOT NULL, "name" varchar(200) NOT NULL, "street" varchar(200) NOT NULL,
  "is_active" bool NOT NULL, "balance" decimal NULL, "created" datetime NOT NULL,
  "birth_date" date NULL, "remarks" text NOT NULL);
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)
INSERT INTO contacts_partner
SELECT i, 'person' || i || '@example.com', 'Person ' || i || ' Müller', 'Rue d''été ' || (i % 300),
       i % 2, (i % 10000) / 100.0, strftime('%Y-%m-%d %H:%M:%f', 1700000000 + i, 'unixepoch') || '123',
       date(2451545 + i % 20000), 'line one' || char(10) || 'line two ' || i
FROM seq;
SQL
}

partners_mariadb_sql() { # rows; in the current database
    cat <<SQL
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
FROM seq_1_to_$1;
SQL
}

partners_pg_sql() { # schema.table rows
    cat <<SQL
CREATE TABLE $1 ("id" bigint NOT NULL PRIMARY KEY,
  "email" varchar(254) NOT NULL, "name" varchar(200) NOT NULL, "street" varchar(200) NOT NULL,
  "is_active" boolean NOT NULL, "balance" numeric(10,2) NULL, "created" timestamp with time zone NOT NULL,
  "birth_date" date NULL, "remarks" text NOT NULL);
INSERT INTO $1
SELECT i, 'person' || i || '@example.com', 'Person ' || i || ' Müller', 'Rue d''été ' || (i % 300),
       i % 2 = 1, (i % 10000) / 100.0, to_timestamp(1700000000 + i) + interval '0.123 seconds',
       date '2000-01-01' + i % 20000, 'line one' || chr(10) || 'line two ' || i
FROM generate_series(1, $2) AS i;
SQL
}
