//! Table and column names are data, never paths or code: a dump of a
//! database with hostile names writes only inside OUTPUT_DIR, its
//! restore.py and data files compile and hold only the template's
//! statements, and every row is in exactly one data file that restore.py
//! runs once (tests/python/check_dump_names.py checks the Python side).
//! The JSON output holds the same names.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use dump2py_tests::{
    compare::{read_dump, tree},
    path_str, root,
    run::{dump2py, dump_ok, stderr, stdout},
    servers::{Backend, TestDb},
    sqlite_url, unique,
};
use proptest::prelude::*;

/// A table: its name, its columns after `id`, and its row count.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    columns: Vec<String>,
    rows: u64,
}

fn spec(name: &str, columns: &[&str], rows: u64) -> Spec {
    Spec {
        name: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQLite database with these tables: `id integer primary key` and text
/// columns, rows `(i, 'v<i>', …)`.
fn sqlite_db(path: &Path, tables: &[Spec]) {
    let c = rusqlite::Connection::open(path).expect("open sqlite");
    for t in tables {
        let mut cols = vec!["id integer primary key".to_string()];
        cols.extend(t.columns.iter().map(|c| format!("{} text", quote(c))));
        c.execute_batch(&format!(
            "CREATE TABLE {} ({});",
            quote(&t.name),
            cols.join(", ")
        ))
        .unwrap_or_else(|e| panic!("create {:?}: {e}", t.name));
        for i in 1..=t.rows {
            let values: Vec<String> = std::iter::once(i.to_string())
                .chain(t.columns.iter().map(|_| format!("'v{i}'")))
                .collect();
            c.execute_batch(&format!(
                "INSERT INTO {} VALUES ({});",
                quote(&t.name),
                values.join(", ")
            ))
            .expect("insert");
        }
    }
}

/// Runs check_dump_names.py on the dump: table → rows, file → table.
fn check_python(dump: &Path) -> (BTreeMap<String, u64>, BTreeMap<String, String>) {
    let out = Command::new("python3")
        .arg(root().join("tests/python/check_dump_names.py"))
        .arg(dump)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "check_dump_names.py: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("checker JSON");
    let rows = v["rows"]
        .as_object()
        .expect("rows")
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().expect("count")))
        .collect();
    let files = v["files"]
        .as_object()
        .expect("files")
        .iter()
        .map(|(k, t)| (k.clone(), t.as_str().expect("table").to_string()))
        .collect();
    (rows, files)
}

/// Dumps `url` into `<case>/work/dump` (and JSON into `<case>/data.json`)
/// and checks everything the module's documentation says. Returns the
/// dump's directory.
fn dump_and_check(case: &Path, url: &str, tables: &[Spec], max_rows: u64) -> PathBuf {
    let work = case.join("work");
    fs::create_dir_all(&work).expect("work dir");
    let dump = work.join("dump");
    let json = case.join("data.json");
    let before = tree(case);
    let m = max_rows.to_string();
    dump_ok([
        "-d",
        url,
        "-m",
        &m,
        "-v",
        "0",
        "--json",
        &path_str(&json),
        &path_str(&dump),
    ]);
    // Nothing written outside the dump but the JSON (and what staging keeps beside it).
    let after = tree(case);
    for p in after.keys().filter(|p| !before.contains_key(*p)) {
        let s = p.to_string_lossy();
        assert!(
            p.starts_with("work/dump") || s.starts_with("data.json"),
            "written outside OUTPUT_DIR: {s}"
        );
    }
    for t in tables.iter().filter(|t| t.name.starts_with('/')) {
        for f in [format!("{}.py", t.name), format!("{}_1.py", t.name)] {
            assert!(!Path::new(&f).exists(), "{f} was written");
        }
    }
    let (rows, _files) = check_python(&dump);
    let want: BTreeMap<String, u64> = tables
        .iter()
        .filter(|t| t.rows > 0)
        .map(|t| (t.name.clone(), t.rows))
        .collect();
    assert_eq!(rows, want, "rows per table");
    // The JSON has every row, with the columns as field names.
    let data: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).expect("json")).expect("valid JSON");
    let objects = data.as_array().expect("a list");
    assert_eq!(
        objects.len() as u64,
        tables.iter().map(|t| t.rows).sum::<u64>()
    );
    let columns: BTreeSet<BTreeSet<String>> = tables
        .iter()
        .map(|t| t.columns.iter().cloned().collect())
        .collect();
    for o in objects {
        let fields: BTreeSet<String> = o["fields"]
            .as_object()
            .expect("fields")
            .keys()
            .cloned()
            .collect();
        assert!(columns.contains(&fields), "fields {fields:?}");
    }
    dump
}

fn restore_py(dump: &Path) -> String {
    fs::read_to_string(dump.join("restore.py")).expect("restore.py")
}

fn sqlite_case(tables: &[Spec], max_rows: u64) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tempdir");
    let case = t.path().join("case");
    fs::create_dir_all(&case).expect("case dir");
    let db = case.join("db.sqlite3");
    sqlite_db(&db, tables);
    let dump = dump_and_check(&case, &sqlite_url(&db), tables, max_rows);
    (t, dump)
}

#[test]
fn table_names_cannot_leave_the_output_dir() {
    let unique = unique("d2p_traversal");
    let abs = format!("/tmp/{unique}");
    let up = format!("../../{unique}");
    let tables = [
        spec(&abs, &["a"], 2),
        spec(&up, &[], 3),
        spec(".hidden", &[], 1),
    ];
    let (_t, dump) = sqlite_case(&tables, 50_000);
    assert!(!Path::new(&format!("{abs}.py")).exists());
    let names: BTreeSet<String> = read_dump(&dump).into_keys().collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    assert!(names.contains("_%2Ehidden.py"), "{names:?}");
}

#[test]
fn names_cannot_inject_code() {
    let evil = "x\")\nimport os; os.system('touch PWNED')\n#";
    let tables = [
        spec(
            evil,
            &["a\")\nos.system('x')\n#", "b]", "c d", "😀", "e\r\u{c}f"],
            2,
        ),
        spec("q'\"\\", &["'", "\u{2028}", "\u{85}"], 1),
        spec(
            "sp ace]",
            &["class", "from", "pass", "None", "__debug__"],
            1,
        ),
    ];
    let (_t, dump) = sqlite_case(&tables, 50_000);
    let restore = restore_py(&dump);
    assert!(!restore.contains("\nimport os; os.system"), "{restore}");
    // A keyword column is passed under its own name.
    assert!(restore.contains("    kw['class'] = class_\n"), "{restore}");
}

#[test]
fn a_table_named_restore_keeps_restore_py() {
    let tables = [spec("restore", &["a"], 3), spec("app_x", &[], 1)];
    let (_t, dump) = sqlite_case(&tables, 50_000);
    let files = read_dump(&dump);
    assert!(files.contains_key("_restore.py"), "{:?}", files.keys());
    assert!(restore_py(&dump).contains("def main(args):"));
}

#[test]
fn split_parts_do_not_meet_a_table_of_that_name() {
    let tables = [spec("app_t", &["a"], 2), spec("app_t_1", &["b"], 2)];
    let (_t, dump) = sqlite_case(&tables, 1);
    let files: BTreeSet<String> = read_dump(&dump).into_keys().collect();
    assert!(files.contains("app_t_1.py") && files.contains("app_t_2.py"));
    assert!(files.contains("_app%5Ft%5F1_1.py"), "{files:?}");
    // Without the split, a plain app_t_1 keeps Lino's name.
    let (_t, dump) = sqlite_case(&[spec("app_t_1", &[], 1)], 1);
    assert!(read_dump(&dump).contains_key("app_t_1.py"));
}

#[test]
fn columns_cannot_shadow_the_templates_names() {
    let tables = [
        spec("cars_car", &["kw", "model", "kw_", "dict", "Decimal"], 2),
        spec("cars_plain", &["name"], 1),
    ];
    let (_t, dump) = sqlite_case(&tables, 50_000);
    let restore = restore_py(&dump);
    assert!(
        restore.contains("def create_cars_car(id, kw, model, kw_, dict, Decimal):\n"),
        "{restore}"
    );
    assert!(
        restore.contains("    kw__ = _dump2py_dict()\n"),
        "{restore}"
    );
    assert!(restore.contains("    kw__.update(kw=kw)\n"), "{restore}");
    assert!(
        restore.contains("    return _dump2py_model('cars_car')(**kw__)\n"),
        "{restore}"
    );
    assert!(restore.contains("\n_dump2py_model = model\n"), "{restore}");
    // A table without such columns is Lino's template.
    assert!(restore.contains(
        "def create_cars_plain(id, name):\n    kw = dict()\n    kw.update(id=id)\n    \
         kw.update(name=name)\n    return model('cars_plain')(**kw)\n"
    ));
}

/// Names a property case draws from: the hostile ones, then any.
const HOSTILE: &[&str] = &[
    "restore",
    "app_t",
    "app_t_1",
    "app_t_2",
    "kw",
    "model",
    "dict",
    "Decimal",
    "_dump2py_dict",
    "kw_",
    "class",
    "from",
    "None",
    "match",
    "_",
    "__debug__",
    "mti_child",
    "../x",
    "/abs",
    "..",
    ".",
    "a b",
    "x]",
    "q'\"",
    "b\\s",
    "n\nl",
    "c\rr",
    "f\u{c}",
    "\u{2028}",
    "😀",
    "É",
    "e\u{301}",
    "APP_T",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(HOSTILE).prop_map(str::to_string),
        2 => "[a-z0-9_]{1,12}",
        2 => "\\PC{1,16}",
        1 => "[\\x01-\\x1f\"'\\\\/. ]{1,6}",
        1 => "[a-zA-Z_]{190,200}",
    ]
}

/// SQLite folds ASCII case in names; it reserves `sqlite_`; these the
/// dump leaves out.
fn usable(name: &str, taken: &mut BTreeSet<String>) -> bool {
    let folded = name.to_ascii_lowercase();
    let skipped = [
        "django_migrations",
        "django_content_type",
        "django_session",
        "checkdata_message",
    ];
    !name.is_empty()
        && !name.contains('\0')
        && !folded.starts_with("sqlite_")
        && !skipped.contains(&folded.as_str())
        && taken.insert(folded)
}

fn tables() -> impl Strategy<Value = (Vec<Spec>, u64)> {
    (
        proptest::collection::vec(
            (name(), proptest::collection::vec(name(), 0..4), 0u64..4),
            1..5,
        ),
        1u64..3,
    )
        .prop_map(|(raw, max_rows)| {
            let mut names = BTreeSet::new();
            let specs = raw
                .into_iter()
                .filter(|(n, _, _)| usable(n, &mut names))
                .map(|(name, cols, rows)| {
                    let mut taken = BTreeSet::from(["id".to_string()]);
                    let columns = cols.into_iter().filter(|c| usable(c, &mut taken)).collect();
                    Spec {
                        name,
                        columns,
                        rows,
                    }
                })
                .collect();
            (specs, max_rows)
        })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    #[test]
    fn any_names_give_a_safe_and_complete_dump((specs, max_rows) in tables()) {
        let _ = sqlite_case(&specs, max_rows);
    }
}

/// The hostile set that both servers can hold (MariaDB: no characters
/// outside the BMP, no trailing spaces; PostgreSQL: at most 63 bytes).
fn server_tables() -> Vec<Spec> {
    vec![
        spec("/tmp/d2p_x", &["a"], 2),
        spec("../../d2p_x", &[], 1),
        spec("restore", &["kw", "model", "dict"], 2),
        spec("app_t", &["class"], 2),
        spec("app_t_1", &["from"], 1),
        spec("x\")\nimport os\n#", &["a b", "q'\"", "n\nl"], 1),
        spec("sp ace]", &["É", "\u{2028}"], 1),
        // Distinct on the server, the same on a case-insensitive file system.
        spec("APP_T", &["KW"], 1),
    ]
}

fn server_case(backend: Backend) {
    let db = TestDb::new(backend, "hostile");
    let q = |n: &str| match backend {
        Backend::Postgres => quote(n),
        Backend::MariaDb => format!("`{}`", n.replace('`', "``")),
    };
    let tables = server_tables();
    for t in &tables {
        let mut cols = vec![format!("{} integer primary key", q("id"))];
        cols.extend(t.columns.iter().map(|c| format!("{} text", q(c))));
        let mut sql = format!("CREATE TABLE {} ({});\n", q(&t.name), cols.join(", "));
        for i in 1..=t.rows {
            let values: Vec<String> = std::iter::once(i.to_string())
                .chain(t.columns.iter().map(|_| format!("'v{i}'")))
                .collect();
            sql.push_str(&format!(
                "INSERT INTO {} VALUES ({});\n",
                q(&t.name),
                values.join(", ")
            ));
        }
        db.sql(&sql);
    }
    let t = tempfile::tempdir().expect("tempdir");
    let case = t.path().join("case");
    fs::create_dir_all(&case).expect("case dir");
    let dump = dump_and_check(&case, &db.url, &tables, 1);
    let files = read_dump(&dump);
    assert!(files.contains_key("_restore_2.py") && files.contains_key("app_t_2.py"));
    assert!(files.contains_key("_app%5Ft%5F1.py"), "{:?}", files.keys());
}

#[test]
fn hostile_names_on_postgres() {
    dump2py_tests::need_server!(Backend::Postgres);
    server_case(Backend::Postgres);
}

#[test]
fn hostile_names_on_mariadb() {
    dump2py_tests::need_server!(Backend::MariaDb);
    server_case(Backend::MariaDb);
}

/// XML can't hold control characters, in names either: a clear error
/// naming the table and the column, and no output.
#[test]
fn xml_refuses_a_name_it_cannot_hold() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    sqlite_db(&db, &[spec("app_x", &["a\u{1}b"], 1)]);
    let xml = t.path().join("data.xml");
    let out = dump2py(["-d", &sqlite_url(&db), "--xml", &path_str(&xml), "-v", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("table app_x, column a"), "{err}");
    assert!(
        err.contains("the field name \"a\\u{1}b\" contains control characters"),
        "{err}"
    );
    assert!(!xml.exists());
    // JSON holds it, escaped.
    let json = t.path().join("data.json");
    dump_ok(["-d", &sqlite_url(&db), "--json", &path_str(&json)]);
    let text = fs::read_to_string(&json).expect("json");
    assert!(text.contains("\"a\\u0001b\": \"v1\""), "{text}");
}

/// Control characters in names (an escape sequence that clears the screen,
/// a bell, a line break) reach no terminal raw: every message and every
/// line on stdout writes them escaped.
#[test]
fn control_characters_in_names_are_escaped_in_every_message() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    let c = rusqlite::Connection::open(&db).expect("open sqlite");
    let (clear, bell) = ("a\u{1b}[2Jb\nc\rd", "w\u{7}\u{9b}");
    c.execute_batch(&format!(
        "CREATE TABLE {} (id integer primary key, x text);
         INSERT INTO {} VALUES (1, 'y');
         CREATE TABLE {} (id integer primary key, d date);
         INSERT INTO {} VALUES (1, 'not a date');",
        quote(clear),
        quote(clear),
        quote(bell),
        quote(bell)
    ))
    .expect("create");
    drop(c);
    let url = sqlite_url(&db);
    let out = t.path().join("out");
    let raw = |text: &[u8], what: &str| {
        let bad: Vec<u8> = text
            .iter()
            .copied()
            .filter(|b| b.is_ascii_control() && *b != b'\n')
            .collect();
        assert!(bad.is_empty(), "{what}: raw control bytes {bad:?}");
        let text = String::from_utf8_lossy(text);
        assert!(!text.contains('\u{9b}'), "{what}: a raw C1 control");
        text.into_owned()
    };
    // Tolerated: a line per table (-v 2), a warning and a summary.
    let r = dump2py(["-t", "-v", "2", "-d", &url, &path_str(&out)]);
    assert_eq!(r.status.code(), Some(3), "{}", stderr(&r));
    let err = raw(&r.stderr, "-t -v 2");
    assert!(err.contains("a\\u{1b}[2Jb\\nc\\rd: 1 row"), "{err}");
    assert!(
        err.contains("warning: tolerated: table w\\u{7}\\u{9b}, column d"),
        "{err}"
    );
    // An error.
    let r = dump2py(["-d", &url, &path_str(&t.path().join("out2"))]);
    assert_eq!(r.status.code(), Some(1));
    let err = raw(&r.stderr, "error");
    assert!(
        err.starts_with("error: table w\\u{7}\\u{9b}, column d"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // --simulate's rows on stdout.
    let r = dump2py(["-s", "-t", "-d", &url]);
    let text = raw(&r.stdout, "--simulate");
    assert!(text.contains("a\\u{1b}[2Jb\\nc\\rd: 1 rows"), "{text}");
    assert!(
        text.contains("w\\u{7}\\u{9b}: not readable: table w\\u{7}"),
        "{text}"
    );
}
