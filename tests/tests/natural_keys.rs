//! Natural keys (issue 13) on a plain Django site with `django.contrib.auth`:
//! `Permission.natural_key()` goes through its content type, users and
//! groups have many-to-many fields to models with natural keys, sites have
//! one of their own. `sitemeta.py` reports what each `natural_key()`
//! returns; our JSON and XML equal dumpdata's with `--natural-foreign` and
//! `--natural-primary`. (min1 and the awkward site: tests/tests/dumpdata.rs.)

use std::fs;
use std::path::Path;
use std::process::Command;

use dump2py_tests::{
    copy_db, fixture,
    lino::{lino, Venv, MIN1},
    path_str,
    run::{bin, dump2py, stderr},
    sqlite_url,
};

const SETTINGS: &str = r#"
import os
SECRET_KEY = "test"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sites",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ["DUMP2PY_TEST_DB"]}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"#;

const DATA: &str = r#"
import django
django.setup()
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sites.models import Site
Site.objects.create(domain="other.example", name="Other")
staff = Group.objects.create(name="staff")
staff.permissions.set(Permission.objects.filter(codename__in=["add_user", "view_group", "change_site"]))
Group.objects.create(name="empty")
u = User.objects.create(username="robin", email="robin@example.com")
u.groups.add(staff)
# Of several content types: Permission's Meta.ordering goes through its
# content type, which the read follows (README, "Order").
u.user_permissions.set(Permission.objects.filter(
    codename__in=["view_user", "delete_user", "add_group", "change_site", "view_permission"]))
User.objects.create(username="anna")
"#;

fn python(lino: &Venv, dir: &Path, db: &Path) -> Command {
    let mut c = Command::new(lino.python());
    c.env("DJANGO_SETTINGS_MODULE", "plain_settings")
        .env("PYTHONPATH", dir)
        .env("DUMP2PY_TEST_DB", db)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DATABASE_URL");
    c
}

/// `dump2py --export-site-schema SCHEMA` of the site in `dir` on `db`.
fn export_site_schema(lino: &Venv, dir: &Path, db: &Path, schema: &Path) {
    let mut ours = Command::new(bin());
    ours.args(["--settings", "plain_settings", "--python"])
        .arg(lino.python())
        .args(["--export-site-schema", &path_str(schema)])
        .env("PYTHONPATH", dir)
        .env("DUMP2PY_TEST_DB", db)
        .env_remove("DATABASE_URL");
    ok(ours);
}

/// Runs `c`, which must succeed.
fn ok(mut c: Command) -> std::process::Output {
    let out = c.output().expect("run");
    dump2py_tests::run::ok(out, &format!("{c:?}"))
}

#[test]
fn plain_django_auth_natural_keys_equal_dumpdata() {
    let lino = lino();
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path();
    let db = dir.join("db.sqlite3");
    fs::write(dir.join("plain_settings.py"), SETTINGS).expect("settings");
    let admin = lino.venv.join("bin/django-admin");
    let mut c = python(lino, dir, &db);
    c.arg(&admin).args(["migrate", "-v0"]);
    ok(c);
    let mut c = python(lino, dir, &db);
    c.args(["-c", DATA]);
    ok(c);
    // What sitemeta.py found: paths through foreign keys.
    let schema = dir.join("site.json");
    export_site_schema(lino, dir, &db, &schema);
    let meta: serde_json::Value =
        serde_json::from_slice(&fs::read(&schema).expect("read")).expect("json");
    let key_of = |label: &str| {
        let (app, name) = label.split_once('.').unwrap_or_default();
        meta["models"]
            .as_array()
            .and_then(|ms| {
                ms.iter()
                    .find(|m| m["app_label"] == app && m["object_name"] == name)
            })
            .map(|m| m["natural_key"].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        key_of("auth.Permission"),
        serde_json::json!({"fields": [["codename"], ["content_type", "app_label"], ["content_type", "model"]]})
    );
    assert_eq!(
        key_of("auth.User"),
        serde_json::json!({"fields": [["username"]]})
    );
    assert_eq!(key_of("auth.Group_permissions"), serde_json::Value::Null);
    let options: [&[&str]; 3] = [
        &["--natural-foreign"],
        &["--natural-primary"],
        &["--natural-foreign", "--natural-primary"],
    ];
    for (n, o) in options.iter().enumerate() {
        for format in ["json", "xml"] {
            for indent in [None, Some("2")] {
                let tag = indent.unwrap_or("none");
                let theirs = dir.join(format!("django-{n}-{tag}.{format}"));
                let mine = dir.join(format!("ours-{n}-{tag}.{format}"));
                let mut c = python(lino, dir, &db);
                c.arg(&admin)
                    .args(["dumpdata", "--format", format, "-o", &path_str(&theirs)])
                    .args(*o);
                let mut ours = Command::new(bin());
                ours.args(["--site-schema", &path_str(&schema), "-d", &sqlite_url(&db)])
                    .args([format!("--{format}"), path_str(&mine)])
                    .args(["-v", "0", "-o"])
                    .args(*o)
                    .env_remove("DATABASE_URL");
                if let Some(i) = indent {
                    c.args(["--indent", i]);
                    ours.args(["--indent", i]);
                }
                ok(c);
                ok(ours);
                let (a, b) = (
                    fs::read(&theirs).expect("theirs"),
                    fs::read(&mine).expect("ours"),
                );
                assert!(
                    a == b,
                    "{o:?} {format} {indent:?} differs:\n--- Django:\n{}\n--- ours:\n{}",
                    String::from_utf8_lossy(&a),
                    String::from_utf8_lossy(&b)
                );
            }
        }
    }
    // The keys are in the output: a permission through its content type.
    let json = fs::read_to_string(dir.join("ours-2-none.json")).expect("read");
    assert!(
        json.contains("[\"add_user\", \"auth\", \"user\"]"),
        "{json}"
    );
    assert!(
        !json.contains("\"model\": \"auth.permission\", \"pk\""),
        "{json}"
    );
}

#[test]
fn a_natural_key_that_cant_be_followed_is_an_error_where_one_is_written() {
    let lino = lino();
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path();
    let db = dir.join("db.sqlite3");
    fs::write(dir.join("plain_settings.py"), SETTINGS).expect("settings");
    let schema = dir.join("site.json");
    export_site_schema(lino, dir, &db, &schema);
    // As if Group.natural_key() returned name.lower().
    let mut meta: serde_json::Value =
        serde_json::from_slice(&fs::read(&schema).expect("read")).expect("json");
    let why =
        "natural_key() can't be followed: Unfollowable: it returns 'x', not the value of a field";
    for m in meta["models"].as_array_mut().expect("models") {
        if m["object_name"] == "Group" {
            m["natural_key"] = serde_json::json!({"error": why});
        }
    }
    fs::write(&schema, meta.to_string()).expect("write");
    let mut c = python(lino, dir, &db);
    c.arg(lino.venv.join("bin/django-admin"))
        .args(["migrate", "-v0"]);
    ok(c);
    let json = dir.join("a.json");
    let dump = || {
        dump2py([
            "--site-schema",
            &path_str(&schema),
            "-d",
            &sqlite_url(&db),
            "--json",
            &path_str(&json),
            "--natural-foreign",
            "-v",
            "0",
        ])
    };
    // No group is referenced: as in Django, nothing asks for its key.
    let out = dump();
    assert!(out.status.success(), "{}", stderr(&out));
    fs::remove_file(&json).expect("remove");
    fs::remove_file(dir.join("a.json.dump2py.json")).expect("remove manifest");
    // robin is in group staff (pk 1): writing that key is the error.
    let mut c = python(lino, dir, &db);
    c.args(["-c", DATA]);
    ok(c);
    let out = dump();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "error: table auth_user_groups, column group_id, primary key 1 of auth.user: \
             model auth.Group: {why}"
        )
    );
    assert!(!json.exists());
}

/// A natural foreign key to a row that isn't there: an error naming the
/// table, column and primary key, and no output (dumpdata fails too).
/// Rows that are there: written as the target's key, in dumpdata's order.
#[test]
fn a_natural_key_to_a_missing_row_is_an_error_naming_it() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO users_authorization (id, user_id, recipient_id) VALUES (1, 1, 2), (2, 3, 99);",
    )
    .expect("insert");
    drop(conn);
    let json = t.path().join("a.json");
    let out = lino.ours(
        MIN1,
        &db,
        &[],
        &["--json", &path_str(&json), "--natural-foreign", "-v", "0"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        "error: table users_authorization, column recipient_id, primary key 2: \
         no object with primary key 99 for its natural key"
    );
    assert!(!json.exists());
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute("DELETE FROM users_authorization WHERE id = 2", [])
        .expect("delete");
    drop(conn);
    lino.ours_ok(
        MIN1,
        &db,
        &[],
        &["--json", &path_str(&json), "--natural-foreign", "-v", "0"],
    );
    let text = fs::read_to_string(&json).expect("read");
    assert!(
        text.contains(
            "{\"model\": \"users.authorization\", \"pk\": 1, \"fields\": \
             {\"user\": [\"robin\"], \"recipient\": [\"rolf\"]}}"
        ),
        "{text}"
    );
    // After the users, which it depends on.
    let user = text.find("\"users.user\"").expect("users");
    let authorization = text
        .find("\"users.authorization\"")
        .expect("authorizations");
    assert!(user < authorization);
}
