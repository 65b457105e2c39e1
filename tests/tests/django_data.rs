//! Django's own test data: a plain Django site (tests/sites/django_data)
//! with the apps `serializers` and `fixtures` of the tests of Django's
//! source distribution (fetched once by tests/python/django-tests.sh,
//! never copied here), filled with tests/serializers/test_data.py through
//! its own create functions, fixture files of tests/fixtures, a user and
//! a group with permissions of several apps; on PostgreSQL also
//! django.contrib.postgres' arrays, hstore and ranges. On SQLite,
//! PostgreSQL (ICU en-US) and MariaDB (utf8mb4_general_ci), with `USE_TZ`
//! True and False: our JSON and XML with `--settings` (compact, `--indent
//! 2`, natural keys, `--all`) are byte-identical to `dumpdata`'s, and our
//! Python dump restored by `python restore.py` (default; with `USE_TZ`
//! also `--quick` and `--bulk`) into an empty database gives the same
//! `dumpdata`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use dump2py_tests::{
    lino::django,
    path_str, root,
    run::{bin, ok, stderr, stdout},
    servers::{Backend, TestDb},
};

const SETTINGS: &str = "django_data.settings";

/// The tests/ directory of Django's sdist, fetched once per machine.
fn django_tests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new("bash")
            .arg(root().join("tests/python/django-tests.sh"))
            .arg(&django().venv)
            .output()
            .expect("run django-tests.sh");
        assert!(
            out.status.success(),
            "fetching Django's tests failed:\n{}",
            stderr(&out)
        );
        PathBuf::from(stdout(&out).lines().last().unwrap_or_default().trim())
    })
}

/// The site on SQLite or on a server, with or without time zones.
struct Site {
    /// The site's files (and on SQLite its database) go beside this path.
    files: PathBuf,
    db: Option<TestDb>,
    use_tz: bool,
    /// With django.contrib.postgres and the app pgkinds (PostgreSQL).
    pgkinds: bool,
    /// `-e` for dumpdata and ours: on MariaDB, serializers.TextPKData,
    /// whose table `migrate` doesn't create (its `required_db_features`
    /// has `supports_index_on_text_field`), but dumpdata reads (and fails:
    /// "Table … serializers_textpkdata doesn't exist").
    exclude: &'static [&'static str],
}

impl Site {
    /// An empty, migrated database; None when the server is not there.
    fn empty(
        backend: Option<Backend>,
        use_tz: bool,
        pgkinds: bool,
        dir: &Path,
        tag: &str,
    ) -> Option<Site> {
        let db = match backend {
            None => None,
            Some(b) if b.up() => Some(TestDb::with_collation(b, "django_data")),
            Some(_) => return None,
        };
        if let Some(db) = db.as_ref().filter(|db| db.backend == Backend::Postgres) {
            db.sql("CREATE EXTENSION IF NOT EXISTS hstore");
        }
        let site = Site {
            files: dir.join(format!("{tag}.sqlite3")),
            exclude: match backend {
                Some(Backend::MariaDb) => &["-e", "serializers.TextPKData"],
                _ => &[],
            },
            db,
            use_tz,
            pgkinds,
        };
        // Content types and auth first: `--run-syncdb` creates the unmigrated
        // apps' tables before it migrates, and MariaDB refuses their
        // foreign keys to a table not there yet.
        site.admin(&["migrate", "auth", "-v", "0"]);
        site.admin(&["migrate", "--run-syncdb", "-v", "0"]);
        Some(site)
    }

    /// The site filled by tests/sites/django_data/fill.py.
    fn filled(backend: Option<Backend>, use_tz: bool, pgkinds: bool, dir: &Path) -> Option<Site> {
        let site = Site::empty(backend, use_tz, pgkinds, dir, "db")?;
        ok(
            site.python()
                .arg(root().join("tests/sites/django_data/fill.py"))
                .output()
                .expect("run fill.py"),
            "fill.py",
        );
        Some(site)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("DJANGO_TESTS_DIR", path_str(django_tests())),
            (
                "DJANGO_DATA_USE_TZ",
                if self.use_tz { "1" } else { "0" }.into(),
            ),
            (
                "DJANGO_DATA_PGKINDS",
                if self.pgkinds { "1" } else { "0" }.into(),
            ),
            ("DUMP2PY_TEST_DB", path_str(&self.files)),
            ("PYTHONPATH", path_str(&root().join("tests/sites"))),
            ("DJANGO_SETTINGS_MODULE", SETTINGS.into()),
            ("LC_ALL", "C.UTF-8".into()),
            ("PYTHONDONTWRITEBYTECODE", "1".into()),
        ];
        if let Some(db) = &self.db {
            env.push(("DUMP2PY_TEST_DB_URL", db.url.clone()));
        }
        env
    }

    fn with_env(&self, mut c: Command) -> Command {
        c.env_remove("DATABASE_URL")
            .env_remove("DUMP2PY_TEST_DB_URL")
            .envs(self.env());
        c
    }

    fn python(&self) -> Command {
        self.with_env(Command::new(django().python()))
    }

    /// `django-admin ARGS`, which must succeed.
    fn admin(&self, args: &[&str]) -> Output {
        let out = self
            .python()
            .arg(django().venv.join("bin/django-admin"))
            .args(args)
            .output()
            .expect("run django-admin");
        ok(out, &format!("django-admin {}", args.join(" ")))
    }

    /// Our dump2py with `--settings` and ARGS, which must succeed.
    fn ours(&self, args: &[&str]) -> Output {
        let mut c = self.with_env(Command::new(bin()));
        c.args(["-v", "0", "--settings", SETTINGS, "--python"])
            .arg(django().python())
            .args(self.exclude)
            .args(args);
        ok(c.output().expect("run dump2py"), "dump2py --settings")
    }

    /// `dumpdata --format FORMAT [--indent N] -o OUT`.
    fn dumpdata(&self, format: &str, indent: Option<&str>, out: &Path) {
        self.dumpdata_with(format, indent, out, &[]);
    }

    fn dumpdata_with(&self, format: &str, indent: Option<&str>, out: &Path, more: &[&str]) {
        let o = path_str(out);
        let mut args = vec!["dumpdata", "--format", format, "-o", &o];
        args.extend(indent.iter().flat_map(|n| ["--indent", n]));
        args.extend(more);
        args.extend(self.exclude);
        self.admin(&args);
    }
}

// ---------------------------------------------------------------------------
// Comparing dumpdata outputs

/// A dumpdata file's objects as text, with the model of each: split before
/// each object's start (`{"model": ` in JSON, with or without indent;
/// `<object model=` in XML). The text before the first object is the first
/// element, with model "".
fn objects(text: &str, xml: bool) -> Vec<(String, String)> {
    let starts: Vec<usize> = if xml {
        text.match_indices("<object model=")
            .map(|(i, _)| i)
            .collect()
    } else {
        // `{"model": "` of an object in the list, not of its fields (a
        // field may be called model): its `{` follows `[` or `,`.
        text.match_indices("\"model\": \"")
            .filter_map(|(i, _)| {
                let head = text[..i].trim_end();
                let brace = head.strip_suffix('{')?.trim_end();
                (brace.ends_with('[') || brace.ends_with(',')).then_some(head.len() - 1)
            })
            .collect()
    };
    let mut bounds = vec![0];
    bounds.extend(starts.iter().copied());
    bounds.push(text.len());
    bounds
        .windows(2)
        .map(|w| {
            let chunk = &text[w[0]..w[1]];
            let model = if w[0] == 0 && !starts.contains(&0) {
                String::new()
            } else {
                let key = if xml { "model=\"" } else { "\"model\": \"" };
                let from = chunk.find(key).map_or(0, |i| i + key.len());
                chunk[from..]
                    .split('"')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            };
            (model, chunk.to_string())
        })
        .collect()
}

/// Our dumpdata output equals Django's byte for byte; else the first
/// object that differs is shown.
fn assert_same_dumpdata(theirs: &Path, ours: &Path) {
    let (a, b) = (
        fs::read_to_string(theirs).expect("theirs"),
        fs::read_to_string(ours).expect("ours"),
    );
    if a == b {
        return;
    }
    let xml = theirs.extension().is_some_and(|e| e == "xml");
    let (oa, ob) = (objects(&a, xml), objects(&b, xml));
    let models = |o: &[(String, String)]| o.iter().map(|(m, _)| m.clone()).collect::<Vec<_>>();
    assert_eq!(
        models(&oa),
        models(&ob),
        "{} and {}: other objects or another order",
        theirs.display(),
        ours.display()
    );
    let (model, x, y) = oa
        .iter()
        .zip(&ob)
        .find(|((_, x), (_, y))| x != y)
        .map(|((m, x), (_, y))| (m.as_str(), x.as_str(), y.as_str()))
        .unwrap_or(("", &a, &b));
    panic!(
        "{} and {} differ in an object of {model:?}:\n--- Django:\n{x}\n--- ours:\n{y}",
        theirs.display(),
        ours.display()
    );
}

// ---------------------------------------------------------------------------
// The checks

/// Our JSON and XML equal dumpdata's, byte for byte, with each of its options.
fn json_and_xml_equal_dumpdata(site: &Site, dir: &Path) {
    // dumpdata's options: compact and indented, natural keys (Django's
    // test data has models whose natural_key() can't be followed, and
    // FKAsPKNoNaturalKey's raises), and --all (fixtures.Spy's default
    // manager hides the spies whose cover is blown).
    let variants: &[(&str, Option<&str>, &[&str])] = &[
        ("compact", None, &[]),
        ("indent", Some("2"), &[]),
        (
            "natural",
            Some("2"),
            &["--natural-foreign", "--natural-primary"],
        ),
        ("all", None, &["--all"]),
    ];
    for (tag, indent, options) in variants {
        let (json, xml) = (
            dir.join(format!("ours-{tag}.json")),
            dir.join(format!("ours-{tag}.xml")),
        );
        let (j, x) = (path_str(&json), path_str(&xml));
        let mut args = vec!["--json", &j, "--xml", &x];
        args.extend(indent.iter().flat_map(|n| ["--indent", n]));
        args.extend(options.iter());
        site.ours(&args);
        for (format, ours) in [("json", &json), ("xml", &xml)] {
            let theirs = dir.join(format!("django-{tag}.{format}"));
            site.dumpdata_with(format, *indent, &theirs, options);
            assert_same_dumpdata(&theirs, ours);
        }
    }
}

/// Our Python dump restored by `python restore.py` (in each of `modes`:
/// the default, loaddata's raw saves; `--quick`; `--bulk`) into an empty
/// database of the same kind gives the same dumpdata (XML: keeps
/// microseconds): foreign-key cycles through nullable keys without
/// `blank=True`, proxies' content types and permissions, a model whose
/// save() changes its value (serializers.ModifyingSaveData: raw saves
/// keep 42). The content types are the new database's own (`migrate`
/// numbers them in another order than restore.py, which restores
/// references to them by natural key): compared without them, references
/// to them by natural key.
const RESTORE_DUMPDATA: &[&str] = &["--natural-foreign", "-e", "contenttypes"];

/// The restore modes: every one on each backend with time zones; without
/// them (where only how datetimes are read changes) the default.
const DEFAULT_RESTORE: &[&[&str]] = &[&[]];
const EVERY_RESTORE: &[&[&str]] = &[&[], &["--quick"], &["--bulk"]];

fn restore_gives_the_original(
    site: &Site,
    backend: Option<Backend>,
    dir: &Path,
    modes: &[&[&str]],
) -> PathBuf {
    let before = dir.join("before.xml");
    site.dumpdata_with("xml", None, &before, RESTORE_DUMPDATA);
    let dump = dir.join("dump");
    site.ours(&[&path_str(&dump)]);
    if site.pgkinds {
        // Django's values, which restore without full_clean() too.
        let file = |name: &str| fs::read_to_string(dump.join(name)).expect("data file");
        let (arrays, hstore, ranges) = (
            file("pgkinds_arrays.py"),
            file("pgkinds_hstore.py"),
            file("pgkinds_ranges.py"),
        );
        assert!(arrays.contains("[1, -2, None, 2147483647]"), "{arrays}");
        assert!(
            arrays.contains("[[1, 2], [3, -9223372036854775808]]"),
            "{arrays}"
        );
        assert!(hstore.contains("'b': None"), "{hstore}");
        assert!(ranges.contains(".NumericRange(1, 10, '[)')"), "{ranges}");
        assert!(ranges.contains(".NumericRange(empty=True)"), "{ranges}");
    }
    for (i, mode) in modes.iter().enumerate() {
        let fresh = Site::empty(
            backend,
            site.use_tz,
            site.pgkinds,
            dir,
            &format!("fresh{i}"),
        )
        .expect("the server went away");
        ok(
            fresh
                .python()
                .arg(dump.join("restore.py"))
                .arg("--noinput")
                .args(*mode)
                .output()
                .expect("run restore.py"),
            &format!("restore.py {mode:?}"),
        );
        let after = dir.join(format!("after{i}.xml"));
        fresh.dumpdata_with("xml", None, &after, RESTORE_DUMPDATA);
        assert_same_dumpdata(&before, &after);
    }
    dump
}

fn conforms(backend: Option<Backend>, use_tz: bool) {
    conforms_with(backend, use_tz, false);
}

fn conforms_with(backend: Option<Backend>, use_tz: bool, pgkinds: bool) {
    let modes = if use_tz {
        EVERY_RESTORE
    } else {
        DEFAULT_RESTORE
    };
    let t = tempfile::tempdir().expect("tempdir");
    let Some(site) = Site::filled(backend, use_tz, pgkinds, t.path()) else {
        return;
    };
    // What the site holds: Django's data, ours, and the PostgreSQL kinds.
    let probe = t.path().join("probe.json");
    site.dumpdata("json", None, &probe);
    let text = fs::read_to_string(&probe).expect("probe");
    for model in [
        "serializers.datetimedata",
        "serializers.m2mselfdata",
        "serializers.genericipaddresspkdata",
        "fixtures.visa",
        "auth.group",
    ] {
        assert!(text.contains(&format!("\"model\": \"{model}\"")), "{model}");
    }
    assert_eq!(text.contains("\"model\": \"pgkinds.ranges\""), pgkinds);
    // Text keys in the database's order: bytewise on SQLite, people's in
    // the servers' collations (so ours, equal to dumpdata, is too).
    let actors: Vec<&str> = text
        .match_indices("\"model\": \"serializers.actor\", \"pk\": \"")
        .filter_map(|(i, m)| text[i + m.len()..].split('"').next())
        .filter(|pk| ["alice", "Bob", "Zażółć", "émile", "Östen"].contains(pk))
        .collect();
    let expected = match backend {
        None => ["Bob", "Zażółć", "alice", "Östen", "émile"],
        Some(_) => ["alice", "Bob", "émile", "Östen", "Zażółć"],
    };
    assert_eq!(actors, expected, "serializers.actor's keys in dumpdata");
    // test_data.py's naive 10:42:37 in America/Chicago: as Django reads
    // it with time zones (UTC), and without (the wall time as saved).
    let stamp = if use_tz {
        "2006-06-16T15:42:37Z"
    } else {
        "2006-06-16T10:42:37"
    };
    let datetime = format!(
        "\"model\": \"serializers.datetimedata\", \"pk\": 30, \"fields\": {{\"data\": \"{stamp}\"}}"
    );
    assert!(text.contains(&datetime), "{datetime}");
    json_and_xml_equal_dumpdata(&site, t.path());
    let dump = restore_gives_the_original(&site, backend, t.path(), modes);
    // A server's dump restores into SQLite (moving a site back).
    if backend.is_some() && !pgkinds {
        restores_into(&site, None, &dump, t.path(), "to-sqlite", &[]);
    }
}

/// Restores `dump` into an empty database of `backend` and compares its
/// dumpdata (`RESTORE_DUMPDATA` and `more`) with the source site's: as XML
/// byte for byte on the source's backend; across backends, whose
/// collations order objects and lists otherwise, as the same objects in
/// any order (YAML: microseconds kept; tests/python/compare_dumpdata.py).
fn restores_into(
    site: &Site,
    backend: Option<Backend>,
    dump: &Path,
    dir: &Path,
    tag: &str,
    more: &[&str],
) {
    let same_backend = site.db.as_ref().map(|db| db.backend) == backend;
    let Some(fresh) = Site::empty(backend, site.use_tz, false, dir, tag) else {
        return;
    };
    ok(
        fresh
            .python()
            .arg(dump.join("restore.py"))
            .arg("--noinput")
            .output()
            .expect("run restore.py"),
        &format!("restore.py of {} into {tag}", dump.display()),
    );
    let mut args = RESTORE_DUMPDATA.to_vec();
    args.extend(more);
    let format = if same_backend { "xml" } else { "yaml" };
    let (before, after) = (
        dir.join(format!("{tag}-before.{format}")),
        dir.join(format!("{tag}-after.{format}")),
    );
    site.dumpdata_with(format, None, &before, &args);
    fresh.dumpdata_with(format, None, &after, &args);
    if same_backend {
        assert_same_dumpdata(&before, &after);
    } else {
        ok(
            Command::new(django().python())
                .arg(root().join("tests/python/compare_dumpdata.py"))
                .args([&before, &after])
                .output()
                .expect("run compare_dumpdata.py"),
            &format!("dumpdata of the source site and of {tag}"),
        );
    }
}

/// The SQLite site's dump with metadata restored into PostgreSQL and
/// MariaDB gives the same dumpdata (moving a site to a server), and its
/// dump without metadata (`-d sqlite:…` alone, the site's restore.py
/// finding models by table) restored into SQLite too. MariaDB's site has no
/// table for serializers.TextPKData (see `Site::exclude`): left out of
/// that dump and that comparison.
#[test]
fn sqlite_dumps_restore_into_every_backend_and_without_metadata() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path();
    let site = Site::filled(None, true, false, dir).expect("SQLite site");
    let text_pk: &[&str] = &["-e", "serializers.TextPKData"];
    let dump = dir.join("dump");
    site.ours(&[&path_str(&dump)]);
    restores_into(&site, PG, &dump, dir, "pg", &[]);
    let dump_text_pk = dir.join("dump-without-textpk");
    site.ours(&[text_pk[0], text_pk[1], &path_str(&dump_text_pk)]);
    restores_into(&site, MARIADB, &dump_text_pk, dir, "mariadb", text_pk);

    let bare = dir.join("dump-without-metadata");
    ok(
        site.with_env(Command::new(bin()))
            // Not the site's metadata (dump2py honours the variable).
            .env_remove("DJANGO_SETTINGS_MODULE")
            .args(["-v", "0", "-d"])
            .arg(format!("sqlite:{}", path_str(&site.files)))
            .arg(&bare)
            .output()
            .expect("run dump2py"),
        "dump2py without metadata",
    );
    restores_into(&site, None, &bare, dir, "bare", &[]);
}

const PG: Option<Backend> = Some(Backend::Postgres);
const MARIADB: Option<Backend> = Some(Backend::MariaDb);

#[test]
fn sqlite_with_time_zones() {
    conforms(None, true);
}

#[test]
fn sqlite_without_time_zones() {
    conforms(None, false);
}

#[test]
fn postgres_with_time_zones() {
    conforms(PG, true);
}

#[test]
fn postgres_without_time_zones() {
    conforms(PG, false);
}

/// With django.contrib.postgres' arrays, hstore and ranges.
#[test]
fn postgres_arrays_hstore_ranges_with_time_zones() {
    conforms_with(PG, true, true);
}

#[test]
fn postgres_arrays_hstore_ranges_without_time_zones() {
    conforms_with(PG, false, true);
}

#[test]
fn mariadb_with_time_zones() {
    conforms(MARIADB, true);
}

#[test]
fn mariadb_without_time_zones() {
    conforms(MARIADB, false);
}

/// The comparison itself: equal files pass; a many-to-many list in another
/// order, another value, a missing item, fail, in JSON and XML.
#[test]
fn the_comparison_finds_differences() {
    let t = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let p = t.path().join(name);
        fs::write(&p, text).expect("write");
        p
    };
    let fails =
        |a: &Path, b: &Path| std::panic::catch_unwind(|| assert_same_dumpdata(a, b)).is_err();
    let json = |model: &str, list: &str, v: &str| {
        format!(
            "[{{\"model\": \"{model}\", \"pk\": 1, \"fields\": {{\"v\": \"{v}\", \"m\": [{list}]}}}}]"
        )
    };
    let a = write("a.json", &json("auth.group", "3, 1, 2", "x"));
    let same = write("same.json", &json("auth.group", "3, 1, 2", "x"));
    assert!(!fails(&a, &same));
    for (name, text) in [
        ("b.json", json("auth.group", "1, 2, 3", "x")),
        ("c.json", json("auth.group", "3, 1, 2", "y")),
        ("d.json", json("auth.group", "3, 1", "x")),
        ("e.json", json("auth.user", "3, 1, 2", "x")),
    ] {
        let c = write(name, &text);
        assert!(fails(&a, &c), "{text}");
    }
    let xml = |list: &str| {
        format!(
            "<django-objects version=\"1.0\"><object model=\"auth.user\" pk=\"1\"><field name=\"g\" \
             rel=\"ManyToManyRel\" to=\"auth.group\">{list}</field></object></django-objects>"
        )
    };
    let (p1, p2) = ("<object pk=\"1\"></object>", "<object pk=\"2\"></object>");
    let x = write("a.xml", &xml(&format!("{p2}{p1}")));
    let y = write("b.xml", &xml(&format!("{p1}{p2}")));
    let z = write("c.xml", &xml(p1));
    assert!(fails(&x, &y));
    assert!(fails(&x, &z));
}
