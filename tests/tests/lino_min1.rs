//! The min1 demo of lino_book: our dump restores on Lino, and has the same
//! rows as Lino's own dump2py.

use std::path::Path;

use dump2py_tests::{
    compare::read_dump,
    copy_db, fixture,
    lino::{lino, Venv, MIN1},
    run::{dump_ok, stderr, stdout},
    sqlite_url,
};

const LANGS: &str = "en,de,fr";

fn dump_ours(db: &Path, out: &Path, extra: &[&str]) {
    let url = sqlite_url(db);
    let mut args = vec![
        "-d",
        &url,
        out.to_str().unwrap_or_default(),
        "--languages",
        LANGS,
    ];
    args.extend_from_slice(extra);
    dump_ok(args);
}

/// Compares Lino's dump with ours (tests/python/compare_dumps.py) and
/// returns its report; fails on any difference but the listed ones.
fn compare_with_lino(lino: &Venv, theirs: &Path, ours: &Path) -> String {
    let out = lino.script(
        "compare_dumps.py",
        &[
            theirs,
            ours,
            Path::new("--lino-drops-microseconds"),
            // Without site metadata a choice list is not visible: Lino writes
            // None for an empty value, ours ''. This is the only such field.
            Path::new("--lino-none-for-empty=contacts_person.gender"),
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

#[test]
fn our_dump_restores_on_lino() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let before = t.path().join("before.yaml");
    lino.dumpdata(MIN1, &db, &before);
    // Babel fields folded, and also each column as its own field.
    for (name, extra) in [("folded", vec![]), ("split", vec!["-m", "7"])] {
        let out = t.path().join(name);
        if extra.is_empty() {
            dump_ours(&db, &out, &extra);
        } else {
            let url = sqlite_url(&db);
            let mut args = vec!["-d", &url, out.to_str().unwrap_or_default()];
            args.extend_from_slice(&extra);
            dump_ok(args);
        }
        lino.restore(MIN1, &db, &out);
        let after = t.path().join(format!("after-{name}.yaml"));
        lino.dumpdata(MIN1, &db, &after);
        lino.assert_same_data(&before, &after);
    }
}

#[test]
fn same_rows_as_linos_dump2py() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let theirs = t.path().join("lino");
    lino.admin_ok(MIN1, &db, &["dump2py", &theirs.to_string_lossy()]);
    let ours = t.path().join("ours");
    dump_ours(&db, &ours, &[]);
    let report = compare_with_lino(lino, &theirs, &ours);
    assert!(
        report.contains("2 values were None in Lino's and '' in ours"),
        "{report}"
    );
    // users_user.created and .modified have microseconds that Lino drops.
    assert!(
        report.contains("6 values differed only in microseconds"),
        "{report}"
    );
}

#[test]
fn splits_like_lino_without_the_empty_trailing_part() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let theirs = t.path().join("lino");
    // 81 partners: -m 27 is an exact multiple, where Lino adds an empty part.
    lino.admin_ok(
        MIN1,
        &db,
        &["dump2py", &theirs.to_string_lossy(), "-m", "27"],
    );
    let ours = t.path().join("ours");
    dump_ours(&db, &ours, &["-m", "27"]);
    let (l, o) = (read_dump(&theirs), read_dump(&ours));
    let parts = |d: &std::collections::BTreeMap<String, Vec<u8>>| {
        d.keys()
            .filter(|k| k.starts_with("contacts_partner"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        parts(&l),
        [
            "contacts_partner_1.py",
            "contacts_partner_2.py",
            "contacts_partner_3.py",
            "contacts_partner_4.py"
        ]
    );
    assert_eq!(
        parts(&o),
        [
            "contacts_partner_1.py",
            "contacts_partner_2.py",
            "contacts_partner_3.py"
        ]
    );
    let empty = String::from_utf8_lossy(&l["contacts_partner_4.py"]).into_owned();
    assert!(
        !empty.contains("loader.save("),
        "Lino's last part is no longer empty"
    );
    let report = compare_with_lino(lino, &theirs, &ours);
    assert!(
        report.contains("only Lino has the empty part contacts_partner_4.py"),
        "{report}"
    );
}
