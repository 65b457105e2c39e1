//! What the tests of the server backends (and of SQLite) check alike: a
//! generated column, the awkward site's scalar table.

use std::path::Path;

use crate::data_file::rows_of;
use crate::path_str;
use crate::run::dump_ok;
use crate::servers::TestDb;

/// A table with a generated column, in SQL that every backend takes.
pub const GENERATED_SQL: &str = "CREATE TABLE app_gen (id int PRIMARY KEY, base int, \
     twice int GENERATED ALWAYS AS (base * 2) STORED, note varchar(10)); \
     INSERT INTO app_gen (id, base, note) VALUES (1, 21, 'x'), (2, NULL, NULL)";

/// [`GENERATED_SQL`] on `db`, dumped: see [`check_generated_dump`].
pub fn generated_columns_dumped(db: &TestDb) {
    db.sql(GENERATED_SQL);
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    dump_ok(["-v0", "-d", &db.url, &path_str(&out)]);
    check_generated_dump(&out);
}

/// The dump in `dir` of [`GENERATED_SQL`]'s table: the generated column's
/// values are dumped as read; restore.py never sets it.
pub fn check_generated_dump(dir: &Path) {
    let rows = rows_of(dir, "app_gen");
    assert_eq!(
        rows,
        [["1", "21", "42", "'x'"], ["2", "None", "None", "None"]]
    );
    let restore = std::fs::read_to_string(dir.join("restore.py")).expect("restore.py");
    assert!(
        restore.contains(
            "def create_app_gen(id, base, twice, note):\n    kw = dict()\n    \
             kw.update(id=id)\n    kw.update(base=base)\n    kw.update(note=note)\n"
        ),
        "{restore}"
    );
}

/// The bytes 0 to 255 as a dump writes them.
pub const ALL_BYTES_B64: &str = "'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=='";

/// The awkward site's things_scalar.
pub const SCALAR_COLUMNS: &[&str] = &[
    "id", "dec", "flt", "flag", "maybe", "day", "moment", "clock", "blob", "uid", "big", "pos",
    "dur", "color",
];

/// things_scalar as the awkward site's `prep` writes it on a server,
/// dumped with site metadata: the same on PostgreSQL and MariaDB.
pub const SCALAR_ROWS: &[&[&str]] = &[
    &[
        "1",
        "'12.5000'",
        "'1.5'",
        "True",
        "None",
        "date(2024,2,29)",
        "dt(2024,3,31,1,30,5,123456)",
        "time(8,5,3,250000)",
        "'AAH/IGJpbmFyeSAK'",
        "'12345678-1234-5678-1234-567812345678'",
        "9223372036854775807",
        "0",
        "'1 02:00:03.000004'",
        "'r'",
    ],
    &[
        "2",
        "'-0.0001'",
        "'1e-05'",
        "False",
        "True",
        "date(1,1,1)",
        "dt(1850,6,1,23,59,59,999999)",
        "time(23,59,59,999999)",
        "''",
        "'cfbff0d1-9375-5685-968c-48ce8b15ae17'",
        "-9223372036854775808",
        "2147483647",
        "'-1 23:59:59.999999'",
        "'b'",
    ],
    &[
        "3",
        "'99999999.9999'",
        "'1e+16'",
        "False",
        "False",
        "date(9999,12,31)",
        "dt(2038,1,19,3,14,8,1)",
        "time(0,0,0,1)",
        ALL_BYTES_B64,
        "'00000000-0000-0000-0000-000000000000'",
        "-9223372036854775807",
        "7",
        "'00:00:00'",
        "None",
    ],
    &[
        "4",
        "'0.0000'",
        "'0.1'",
        "True",
        "None",
        "date(1970,1,1)",
        "dt(2024,10,27,1,30,0)",
        "time(12,0,0)",
        "None",
        "None",
        "0",
        "1",
        "None",
        "None",
    ],
    &[
        "5", "None", "None", "False", "None", "None", "None", "None", "None", "None", "None",
        "None", "None", "None",
    ],
];
