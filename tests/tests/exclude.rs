//! `-e/--exclude` (issue 13) in the Python dump: the models it names have
//! no data file and no create function, restore.py lists them, and the
//! dump restores the rest. (JSON and XML against dumpdata's `-e`:
//! tests/tests/dumpdata.rs.)

use std::fs;

use dump2py_tests::{
    compare::read_dump,
    copy_db, fixture,
    lino::{lino, AWKWARD, MIN1},
    path_str,
    run::{dump2py, dump_ok, stderr},
    sqlite_url,
};

#[test]
fn excluded_models_leave_the_python_dump_and_its_restore() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let excludes = ["-e", "contacts.Role", "-e", "contacts.roletype"];
    let dump = t.path().join("dump");
    let mut args = vec![path_str(&dump), "-v".into(), "0".into()];
    args.extend(excludes.iter().map(|e| e.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    lino.ours_ok(MIN1, &db, &[], &refs);
    let files = read_dump(&dump);
    assert!(
        files.contains_key("contacts_person.py"),
        "{:?}",
        files.keys()
    );
    for gone in ["contacts_role.py", "contacts_roletype.py"] {
        assert!(!files.contains_key(gone), "{gone} in {:?}", files.keys());
    }
    let restore = String::from_utf8_lossy(&files["restore.py"]).into_owned();
    assert!(
        restore.contains("EXCLUDED_MODELS = ['contacts.Role', 'contacts.RoleType']"),
        "{restore}"
    );
    assert!(!restore.contains("def create_contacts_role("), "{restore}");
    assert!(restore.contains("def create_contacts_person("));
    // The rest restores: what dumpdata shows of it is what it showed before.
    let before = t.path().join("before.yaml");
    lino.dumpdata_with(MIN1, &db, &[], &before, &excludes);
    lino.restore(MIN1, &db, &dump);
    let after = t.path().join("after.yaml");
    lino.dumpdata_with(MIN1, &db, &[], &after, &excludes);
    lino.assert_same_data(&before, &after);
}

#[test]
fn without_metadata_apps_and_models_by_table_and_django_labels() {
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let url = sqlite_url(&db);
    let dump = t.path().join("dump");
    let json = t.path().join("a.json");
    dump_ok([
        "-d",
        &url,
        &path_str(&dump),
        "--json",
        &path_str(&json),
        "-e",
        "countries",
        "-e",
        "contacts.PERSON",
        "-e",
        "sessions",
        "-v",
        "0",
    ]);
    let files = read_dump(&dump);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert!(names.contains(&"contacts_partner.py"), "{names:?}");
    for gone in [
        "countries_country.py",
        "countries_place.py",
        "contacts_person.py",
    ] {
        assert!(!names.contains(&gone), "{gone} in {names:?}");
    }
    let text = fs::read_to_string(&json).expect("json");
    for gone in ["countries.", "contacts.person\"", "sessions."] {
        assert!(!text.contains(gone), "{gone} in the JSON");
    }
    assert!(text.contains("\"contacts.partner\""));
}

#[test]
fn unknown_apps_and_models_are_refused_before_anything_is_written() {
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let url = sqlite_url(&db);
    let dump = t.path().join("dump");
    for (label, message) in [
        (
            "contact",
            "-e/--exclude contact: the site has no app contact",
        ),
        (
            "contacts.Persons",
            "-e/--exclude contacts.Persons: the site has no model contacts.Persons",
        ),
    ] {
        let out = dump2py(["-d", &url, &path_str(&dump), "-e", label]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(stderr(&out).trim(), format!("error: {message}"));
        assert!(!dump.exists());
    }
}

/// A model's many-to-many link tables go with it; a link table to an
/// excluded target stays with its owner.
#[test]
fn link_tables_go_with_their_owner() {
    let lino = lino();
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    lino.admin_ok(AWKWARD, &db, &["prep", "--noinput", "-v0"]);
    let dump = t.path().join("dump");
    lino.ours_ok(
        AWKWARD,
        &db,
        &[],
        &[
            &path_str(&dump),
            "-e",
            "things.Thing",
            "-e",
            "things.Code",
            "-v",
            "0",
        ],
    );
    let files = read_dump(&dump);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    for gone in ["things_thing.py", "things_thing_tags.py", "things_code.py"] {
        assert!(!names.contains(&gone), "{gone} in {names:?}");
    }
    // things.Leaf.codes points to the excluded Code: Leaf keeps its links.
    for kept in ["things_tag.py", "things_leaf.py", "things_leaf_codes.py"] {
        assert!(names.contains(&kept), "{kept} not in {names:?}");
    }
    let restore = String::from_utf8_lossy(&files["restore.py"]).into_owned();
    assert!(
        restore.contains("EXCLUDED_MODELS = ['things.Code', 'things.Thing']"),
        "{restore}"
    );
}
