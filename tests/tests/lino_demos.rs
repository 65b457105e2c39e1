//! Real sites: the demo projects of the installed lino_book (through
//! tests/sites/demo, which takes a demo's settings module from
//! DUMP2PY_DEMO) and an accounting site of lino_xl's ledger
//! (tests/sites/ledger). Each is prepped once and kept beside the Lino
//! environment for later runs (`run_dir`); one test per demo, so that
//! nextest runs them side by side.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use dump2py_tests::{
    lino::lino,
    path_str, root,
    run::{dump_ok, stderr, stdout},
    sqlite_url,
};

const DEMO: &str = "demo.settings";
const LEDGER: &str = "ledger.settings";

/// A demo that `prep` builds, and what is known of it.
struct Demo {
    name: &'static str,
    /// Its settings module (`settings`, or `settings.demo` in a package).
    module: &'static str,
    /// compare_dumps.py's allowances for Lino's dump against ours with
    /// metadata (`--exact`), each an improvement of ours.
    allowed: &'static [&'static str],
    /// Whether Lino's own dump of it restores.
    lino_restores: bool,
}

/// The demos of lino_book that don't prep with the installed Lino, and
/// a line of what `prep` says (checked, so that a change is noticed).
const UNPREPPABLE: &[(&str, &str)] = &[
    ("anna", "No module named 'lino_care'"),
    ("avanti1", "No module named 'lino_avanti'"),
    ("avanti2", "No module named 'lino_avanti'"),
    ("bs3", "No module named 'lino_noi'"),
    ("chatter", "name 'num2words' is not defined"),
    ("cms1", "No module named 'lino_cms'"),
    ("cosi1", "No module named 'lino_cosi'"),
    ("cosi2", "No module named 'lino_cosi'"),
    ("cosi3", "No module named 'lino_cosi'"),
    ("cosi4", "No module named 'lino_cosi'"),
    ("cosi5", "No module named 'lino_cosi'"),
    ("crl", "'Settings' object has no attribute 'SITE'"),
    (
        "diamond2",
        "module 'lino_book.projects.diamond2.settings' has no attribute 'Site'",
    ),
    ("edmund", "No module named 'lino_voga'"),
    ("homeworkschool", "No module named 'lino.modlib.courses'"),
    ("i18n", "name 'num2words' is not defined"),
    (
        "lets1",
        "Invalid data element 'users.AuthoritiesGiven' in lino_book.projects.lets1",
    ),
    ("lets2", "AttrDict instance has no key 'lets'"),
    ("liina", "No module named 'lino_vilma'"),
    ("migs", "No module named 'lino_noi'"),
    ("min2", "name 'num2words' is not defined"),
    ("min3", "name 'num2words' is not defined"),
    (
        "min9",
        "The memo plugin (needed by lino_xl.lib.notes) must come after lino.modlib.publisher",
    ),
    (
        "myroles",
        "Oops, there are pending injects: contacts.Partner",
    ),
    ("noi1e", "No module named 'lino_noi'"),
    ("noi1r", "No module named 'lino_noi'"),
    ("noi2", "No module named 'lino_noi'"),
    ("polly", "Oops, there are pending injects: contacts.Partner"),
    ("public", "No module named 'lino_noi'"),
    ("sendchanges", "No module named"),
    ("tera1", "No module named 'lino_tera'"),
    ("voga1", "No module named 'lino_voga'"),
    ("voga2", "No module named 'lino_voga'"),
    ("voga3", "No module named 'lino_voga'"),
];

/// The demos whose `prep` makes no tables (their database stays an empty
/// file): nothing to dump.
const NO_TABLES: &[&str] = &[
    "actions",
    "actors",
    "auto_create",
    "chooser",
    "combo",
    "db_overview",
    "diamond",
    "float2decimal",
    "integer_pk",
    "tables",
    "vtables",
];

/// Where the prepped databases are kept: beside the Lino environment
/// (`~/.cache/dump2py/demos-<its name>`), one directory per environment, so
/// that later runs reuse them (a demo's `prep` depends only on the
/// installed packages, named by the environment's hash of
/// requirements.txt), and nothing is left in /tmp.
fn run_dir() -> PathBuf {
    let venv = &lino().venv;
    let name = venv
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // And on this repository's sites (demo, ledger): a change preps anew.
    let dir = venv.with_file_name(format!("demos-{name}-{:016x}", sites_hash()));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// A hash of the files of tests/sites (names and contents, but Python's
/// caches).
fn sites_hash() -> u64 {
    use std::hash::{Hash, Hasher};
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "__pycache__") {
                    walk(&p, files);
                }
            } else if p.extension().is_none_or(|x| x != "pyc") {
                files.push(p);
            }
        }
    }
    let sites = root().join("tests/sites");
    let mut files = Vec::new();
    walk(&sites, &mut files);
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        f.strip_prefix(&sites).unwrap_or(&f).hash(&mut h);
        fs::read(&f).unwrap_or_default().hash(&mut h);
    }
    h.finish()
}

/// The site prepped once per environment, under a lock that the first test to
/// need it holds while it preps: the directory of its database and its
/// site files (uploads are files in `db.sqlite3.site/media`).
fn prepped(name: &str, settings: &str, env: &[(&str, &str)]) -> PathBuf {
    let dir = run_dir();
    let done = dir.join(name);
    let lock = dir.join(format!("{name}.lock"));
    let file = fs::File::create(&lock).unwrap_or_else(|e| panic!("{}: {e}", lock.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", lock.display()));
    if !done.exists() {
        let start = Instant::now();
        let tmp = dir.join(format!("{name}.prep"));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).expect("prep dir");
        let db = tmp.join("db.sqlite3");
        lino().admin_env_ok(settings, &db, env, &["prep", "--noinput", "-v0"]);
        fs::rename(&tmp, &done).expect("cache the prepped site");
        eprintln!("prepped {name} in {:.1} s", start.elapsed().as_secs_f64());
    }
    done
}

/// `file` made from the prepped site `name` by `make` (which writes the
/// path it is given; from a copy of the site, never the cached one),
/// kept with the prepped site: Django's dumpdata of it is the same in
/// every run.
fn cached(name: &str, file: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let dir = run_dir();
    let done = dir.join(name).join(file);
    let lock = dir.join(format!("{name}.lock"));
    let f = fs::File::create(&lock).unwrap_or_else(|e| panic!("{}: {e}", lock.display()));
    f.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", lock.display()));
    if !done.exists() {
        // The same extension: it says dumpdata's format.
        let tmp = dir.join(format!("{name}.tmp.{file}"));
        make(&tmp);
        fs::rename(&tmp, &done).expect("cache the output");
    }
    done
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for e in fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let e = e.expect("dir entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).expect("copy site file");
        }
    }
}

/// A copy of the prepped site (database and media) in a fresh directory.
fn site_copy(name: &str, settings: &str, env: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let cached = prepped(name, settings, env);
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    fs::copy(cached.join("db.sqlite3"), &db).expect("copy database");
    let media = cached.join("db.sqlite3.site/media");
    if media.is_dir() {
        copy_tree(&media, &t.path().join("db.sqlite3.site/media"));
    }
    (t, db)
}

/// dumpdata to compare a site before and after a restore: a content
/// type by its model, as a restore gives them new ids (`initdb` creates
/// them in no fixed order).
fn data(settings: &str, db: &Path, env: &[(&str, &str)], out: &Path) {
    let format = out.extension().and_then(|e| e.to_str()).unwrap_or("json");
    let args = [
        "dumpdata",
        "--format",
        format,
        "-o",
        &path_str(out),
        "--natural-foreign",
    ];
    let o = lino().admin_env(
        settings,
        db,
        env,
        &[&args[..], &["-e", "contenttypes"]].concat(),
    );
    if !o.status.success() && stderr(&o).contains("No installed app with label 'contenttypes'") {
        lino().admin_env_ok(settings, db, env, &args);
    } else {
        assert!(o.status.success(), "dumpdata failed:\n{}", stderr(&o));
    }
}

/// Restores `dump` into `db` and asserts that dumpdata equals `before`.
fn restores_the_same(settings: &str, db: &Path, env: &[(&str, &str)], dump: &Path, before: &Path) {
    let out = lino().run_restore(settings, db, env, dump, &[]);
    assert!(
        out.status.success(),
        "{} doesn't restore:\n{}\n{}",
        dump.display(),
        stdout(&out),
        stderr(&out)
    );
    let after = dump.with_extension(format!(
        "after.{}",
        before
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("json")
    ));
    data(settings, db, env, &after);
    lino().assert_same_data(before, &after);
}

fn check_demo(d: &Demo) {
    let start = Instant::now();
    let lino = lino();
    let env = [("DUMP2PY_DEMO", d.module)];
    let (t, db) = site_copy(d.name, DEMO, &env);
    let dir = t.path();
    let before = cached(d.name, "before.yaml", |out| data(DEMO, &db, &env, out));

    let theirs = dir.join("lino");
    lino.admin_env_ok(DEMO, &db, &env, &["dump2py", &path_str(&theirs)]);
    let (meta, json, xml) = (
        dir.join("meta"),
        dir.join("meta.json"),
        dir.join("meta.xml"),
    );
    lino.ours_ok(
        DEMO,
        &db,
        &env,
        &[
            &path_str(&meta),
            "--json",
            &path_str(&json),
            "--xml",
            &path_str(&xml),
        ],
    );
    for ours in [&json, &xml] {
        let ext = ours
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        let theirs = cached(d.name, &format!("dumpdata.{ext}"), |out| {
            lino.dumpdata_with(DEMO, &db, &env, out, &[])
        });
        let (a, b) = (
            fs::read(&theirs).expect("dumpdata"),
            fs::read(ours).expect("ours"),
        );
        assert!(
            a == b,
            "{}: {} differs from dumpdata",
            d.name,
            ours.display()
        );
    }
    let mut args: Vec<&Path> = vec![&theirs, &meta, Path::new("--exact")];
    args.extend(d.allowed.iter().map(Path::new));
    let out = lino.script("compare_dumps.py", &args);
    assert!(
        out.status.success(),
        "{}: ours differs from Lino's dump2py:\n{}{}",
        d.name,
        stdout(&out),
        stderr(&out)
    );

    let raw = dir.join("raw");
    dump_ok(["-d", &sqlite_url(&db), "-v", "0", &path_str(&raw)]);
    for dump in [&meta, &raw] {
        restores_the_same(DEMO, &db, &env, dump, &before);
    }
    let out = lino.run_restore(DEMO, &db, &env, &theirs, &[]);
    assert_eq!(
        out.status.success(),
        d.lino_restores,
        "{}: Lino's own dump restores: {}; log:\n{}\n{}",
        d.name,
        out.status.success(),
        stdout(&out),
        stderr(&out)
    );
    eprintln!("demo {}: {:.1} s", d.name, start.elapsed().as_secs_f64());
}

macro_rules! demos {
    ($($name:ident: $module:literal, [$($allowed:literal),*], $lino:literal;)*) => {
        const DEMOS: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            #[allow(non_snake_case)] // de_BE
            fn $name() {
                check_demo(&Demo {
                    name: stringify!($name),
                    module: $module,
                    allowed: &[$($allowed),*],
                    lino_restores: $lino,
                });
            }
        )*
    };
}

mod demo {
    use super::*;

    demos! {
        addrloc: "lino_book.projects.addrloc.settings", [], true;
        babel_tutorial: "lino_book.projects.babel_tutorial.settings", [], true;
        belref: "lino_book.projects.belref.settings.demo", [], true;
        confdirs: "lino_book.projects.confdirs.settings", ["--lino-drops-microseconds"], true;
        de_BE: "lino_book.projects.de_BE.settings", ["--renamed=de_BE_expression.py=_de%5F%42%45%5Fexpression.py"], true;
        estref: "lino_book.projects.estref.settings.demo", [], true;
        events: "lino_book.projects.events.settings", ["--extra-ok=events_event_features.py", "--ignore-param=events_event.features"], false;
        gfktest: "lino_book.projects.gfktest.settings.demo", [], true;
        min1: "lino_book.projects.min1.settings", ["--lino-drops-microseconds"], true;
        mldbc: "lino_book.projects.mldbc.settings", [], true;
        mti: "lino_book.projects.mti.settings", ["--extra-ok=app_place_owners.py", "--extra-ok=app_restaurant_cooks.py",
            "--ignore-param=app_place.owners", "--ignore-param=app_restaurant.cooks"], false;
        nomti: "lino_book.projects.nomti.settings", ["--extra-ok=app_place_owners.py", "--extra-ok=app_restaurant_cooks.py",
            "--ignore-param=app_place.owners", "--ignore-param=app_restaurant.cooks"], false;
        ovfields: "lino_book.projects.ovfields.settings", [], true;
        watch: "lino_book.projects.watch.settings", ["--lino-drops-microseconds"], true;
        watch2: "lino_book.projects.watch2.settings", ["--lino-drops-microseconds"], true;
        workflows: "lino_book.projects.workflows.settings", ["--lino-drops-microseconds"], true;
    }

    /// Every demo of the installed lino_book is tested above or listed in
    /// UNPREPPABLE, whose `prep` fails as recorded.
    #[test]
    fn every_demo_is_tested_or_fails_to_prep_as_recorded() {
        let lino = lino();
        let out = lino.script("list_demos.py", &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let listed = stdout(&out);
        let mut found: Vec<(&str, &str)> =
            listed.lines().filter_map(|l| l.split_once(' ')).collect();
        found.sort_unstable();
        let mut known: Vec<&str> = (DEMOS.iter().chain(NO_TABLES).copied())
            .chain(UNPREPPABLE.iter().map(|u| u.0))
            .collect();
        known.sort_unstable();
        let names: Vec<&str> = found.iter().map(|f| f.0).collect();
        assert_eq!(names, known, "the installed lino_book has other demos");
        let module = |name: &str| found.iter().find(|f| f.0 == name).map_or("", |f| f.1);
        for name in NO_TABLES {
            let db = prepped(name, DEMO, &[("DUMP2PY_DEMO", module(name))]).join("db.sqlite3");
            let len = fs::metadata(&db).map_or(u64::MAX, |m| m.len());
            assert_eq!(len, 0, "{name} has tables now: test it");
        }
        let t = tempfile::tempdir().expect("tempdir");
        for (name, reason) in UNPREPPABLE {
            let db = t.path().join(name).join("db.sqlite3");
            fs::create_dir_all(db.parent().unwrap_or(t.path())).expect("mkdir");
            let out = lino.admin_env(
                DEMO,
                &db,
                &[("DUMP2PY_DEMO", module(name))],
                &["prep", "--noinput", "-v0"],
            );
            let log = stdout(&out) + &stderr(&out);
            assert!(!out.status.success(), "{name} preps now: test it");
            assert!(log.contains(reason), "{name} fails otherwise now:\n{log}");
        }
    }
}

/// Decimal columns of the ledger with values of more places than their
/// field, written behind the ORM's back (Lino's accounting demo data has
/// such amounts on SQLite): Django reads them quantized.
const MORE_PLACES: &str = "
    UPDATE accounting_movement SET amount = amount + 0.0026 WHERE id % 3 = 0;
    UPDATE accounting_movement SET amount = amount - 0.0074 WHERE id % 3 = 1;
    UPDATE trading_invoiceitem SET unit_price = unit_price + 0.0049 WHERE id % 2 = 0;
    UPDATE trading_invoiceitem SET qty = '' WHERE id % 5 = 0;
";

/// Without metadata, the ledger's dump restores on Lino, nothing
/// abandoned, and dumpdata after equals dumpdata before: each value as
/// Django reads it (amounts quantized to their places, an empty quantity
/// as None).
#[test]
fn ledger_without_metadata_restores_as_django_reads() {
    let start = Instant::now();
    let (t, db) = site_copy("ledger", LEDGER, &[]);
    let conn = rusqlite::Connection::open(&db).expect("open db");
    conn.execute_batch(MORE_PLACES).expect("more places");
    let odd: i64 = conn
        .query_row(
            "SELECT count(*) FROM accounting_movement WHERE round(amount, 2) <> amount",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert!(odd > 1000, "only {odd} amounts with more places");
    drop(conn);
    // YAML can't represent Lino's Quantity values.
    let before = t.path().join("before.json");
    data(LEDGER, &db, &[], &before);
    let raw = t.path().join("raw");
    dump_ok([
        "-d",
        &sqlite_url(&db),
        "--languages",
        "en,de,fr",
        "-v",
        "0",
        &path_str(&raw),
    ]);
    let script = fs::read_to_string(raw.join("restore.py")).expect("restore.py");
    assert!(
        script.contains(
            "\nDump2pyLoader.read_as_django = True\nDump2pyLoader.decimals_as_real = True\n"
        ),
        "restore.py doesn't read SQLite's decimals as Django would"
    );
    restores_the_same(LEDGER, &db, &[], &raw, &before);
    eprintln!("ledger: {:.1} s", start.elapsed().as_secs_f64());
}
