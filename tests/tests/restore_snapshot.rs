//! Whole-site snapshots and a restore that checks itself (issue 22, the
//! restore.py part), on min1 (tests/fixtures/min1.sqlite3) with media
//! files: `--media` puts MEDIA_ROOT (several sizes, non-ASCII names; a
//! link out of it not followed) into the dump and restore.py `--media`
//! back; `--only`/`--exclude` restore exactly those models; `--resume`
//! goes on after a `kill -9`; the row count check names the table.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use dump2py_tests::{
    copy_db, fixture,
    lino::{lino, MIN1},
    run::{dump2py, ok, stderr, stdout},
};

/// The site's MEDIA_ROOT for the database `db` (tests/sites/testdb.py).
fn media_root(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".site");
    db.with_file_name(name).join("media")
}

/// Bytes that differ from file to file (not all zeros).
fn bytes(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// min1 with media: files of 0 bytes to 3 MB, non-ASCII names, nested
/// directories, and links out of MEDIA_ROOT (to a file and a directory).
fn min1_with_media() -> (tempfile::TempDir, PathBuf) {
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let media = media_root(&db);
    fs::create_dir_all(media.join("uploads/2024/été")).expect("mkdir");
    fs::create_dir_all(media.join("deep/a/b")).expect("mkdir");
    for (name, size) in [
        ("empty.txt", 0),
        ("uploads/note.txt", 17),
        ("uploads/2024/été/Ünïcödé – 日本.pdf", 70_001),
        ("uploads/big.bin", 3 << 20),
        ("deep/a/b/c.dat", 4096),
    ] {
        fs::write(media.join(name), bytes(size, size as u32 + 7)).expect("write media");
    }
    let secret = t.path().join("secret.txt");
    fs::write(&secret, "outside MEDIA_ROOT").expect("write");
    std::os::unix::fs::symlink(&secret, media.join("uploads/link.txt")).expect("symlink");
    std::os::unix::fs::symlink(t.path(), media.join("outside")).expect("symlink");
    (t, db)
}

/// Every regular file below `dir` (links not followed), relative, with its bytes.
fn files_below(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(dir).expect("read_dir").flatten() {
            let name = format!("{rel}{}", e.file_name().to_string_lossy());
            let kind = e.file_type().expect("file type");
            if kind.is_dir() {
                walk(&e.path(), &format!("{name}/"), out);
            } else if kind.is_file() {
                out.push((name, fs::read(e.path()).expect("read")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

/// `django-admin run DUMP/restore.py --noinput ARGS` on `db`.
fn restore(db: &Path, dump: &Path, args: &[&str]) -> Output {
    let restore = dump.join("restore.py");
    let mut all = vec!["run", restore.to_str().unwrap_or_default(), "--noinput"];
    all.extend(args);
    lino().admin(MIN1, db, &all)
}

fn log(out: &Output) -> String {
    stdout(out) + &stderr(out)
}

fn restore_ok(db: &Path, dump: &Path, args: &[&str]) -> String {
    let out = restore(db, dump, args);
    assert!(
        out.status.success(),
        "restore.py {args:?} failed:\n{}",
        log(&out)
    );
    log(&out)
}

fn restore_fails(db: &Path, dump: &Path, args: &[&str]) -> String {
    let out = restore(db, dump, args);
    assert!(
        !out.status.success(),
        "restore.py {args:?} succeeded:\n{}",
        log(&out)
    );
    log(&out)
}

/// `dumpdata LABEL` as JSON text.
fn model_data(db: &Path, label: &str) -> String {
    stdout(&lino().admin_ok(MIN1, db, &["dumpdata", label, "--format", "json"]))
}

/// `dumpdata LABELS` (one run), each model's objects apart.
fn models_data(db: &Path, labels: &[&str]) -> Vec<Vec<serde_json::Value>> {
    let mut args = vec!["dumpdata", "--format", "json"];
    args.extend(labels);
    let text = stdout(&lino().admin_ok(MIN1, db, &args));
    let objects: Vec<serde_json::Value> = serde_json::from_str(&text).expect("dumpdata JSON");
    (labels.iter())
        .map(|l| {
            (objects.iter())
                .filter(|o| o["model"].as_str() == Some(&l.to_lowercase()))
                .cloned()
                .collect()
        })
        .collect()
}

fn sql(db: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.execute_batch(sql).expect("sql");
}

fn manifest(dump: &Path) -> serde_json::Value {
    let text = fs::read_to_string(dump.join("dump2py.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest JSON")
}

#[test]
fn media_snapshot_restores_into_a_fresh_site() {
    let lino = lino();
    let (t, db) = min1_with_media();
    let before = t.path().join("before.json");
    lino.dumpdata(MIN1, &db, &before);
    let dump = t.path().join("dump");
    let out = lino.ours_ok(MIN1, &db, &[], &["--media", &dump.to_string_lossy()]);
    let err = stderr(&out);
    assert!(
        err.contains("uploads/link.txt is a symbolic link: not followed"),
        "{err}"
    );
    assert!(err.contains("Media: 5 files in "), "{err}");
    // The manifest lists each media file, its size and SHA-256, the site's
    // packages and site.json; nothing reached through a link.
    let m = manifest(&dump);
    let listed: Vec<(String, u64)> = (m["files"].as_array().expect("files").iter())
        .map(|f| {
            let name = f["name"].as_str().unwrap_or_default().to_string();
            (name, f["size"].as_u64().unwrap_or(u64::MAX))
        })
        .collect();
    let original = files_below(&media_root(&db));
    assert_eq!(original.len(), 5, "{original:?}");
    for (name, data) in &original {
        let want = (format!("media/{name}"), data.len() as u64);
        assert!(listed.contains(&want), "{want:?} not in {listed:?}");
    }
    assert!(!listed
        .iter()
        .any(|(n, _)| n.contains("link") || n.contains("outside")));
    assert!(listed.iter().any(|(n, _)| n == "pip-freeze.txt"));
    let freeze = fs::read_to_string(dump.join("pip-freeze.txt")).expect("pip-freeze.txt");
    assert!(freeze.to_lowercase().contains("django=="), "{freeze}");
    let site: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dump.join("site.json")).expect("site.json"))
            .expect("site.json");
    assert_eq!(site["settings_module"], MIN1);
    assert_eq!(site["media_files"], 5);
    ok(dump2py(["--verify", &dump.to_string_lossy()]), "--verify");

    // Into a fresh site: the same data, the same media, byte for byte.
    let fresh_dir = tempfile::tempdir().expect("tempdir");
    let fresh = fresh_dir.path().join("fresh.sqlite3");
    let log = restore_ok(&fresh, &dump, &["--media"]);
    assert!(log.contains("Media: 5 file(s) put into "), "{log}");
    let after = t.path().join("after.json");
    lino.dumpdata(MIN1, &fresh, &after);
    lino.assert_same_data(&before, &after);
    assert_eq!(files_below(&media_root(&fresh)), original);
    assert!(!media_root(&fresh).join("uploads/link.txt").exists());
    assert!(!media_root(&fresh).join("outside").exists());

    // A different file where one goes: refused before anything changes.
    let changed = media_root(&fresh).join("uploads/note.txt");
    fs::write(&changed, "mine").expect("write");
    sql(&fresh, "DELETE FROM contacts_role");
    let log = restore_fails(&fresh, &dump, &["--media"]);
    assert!(
        log.contains("- uploads/note.txt: differs from the dump's"),
        "{log}"
    );
    assert_eq!(model_data(&fresh, "contacts.Role").trim(), "[]");
    assert_eq!(fs::read(&changed).expect("read"), b"mine");
    restore_ok(&fresh, &dump, &["--media", "--overwrite-media"]);
    assert_eq!(files_below(&media_root(&fresh)), original);
    lino.dumpdata(MIN1, &fresh, &after);
    lino.assert_same_data(&before, &after);
}

#[test]
fn only_and_exclude_restore_exactly_those_models() {
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let dump = t.path().join("dump");
    lino().ours_ok(MIN1, &db, &[], &[&dump.to_string_lossy()]);
    let labels = [
        "contacts.Role",
        "contacts.Person",
        "countries.Country",
        "users.User",
    ];
    let original = models_data(&db, &labels);
    let changed = "DELETE FROM contacts_role; \
                   UPDATE countries_country SET name = 'Changed' WHERE isocode = 'BE'; \
                   UPDATE users_user SET first_name = 'Changed';";
    sql(&db, changed);
    let now = |db: &Path| models_data(db, &labels);
    let edited = now(&db);
    assert_ne!(edited[0], original[0]);
    assert_ne!(edited[2], original[2]);

    // --only contacts.Role: its rows refer to persons, companies and role
    // types left out, which must then be in the database: refused unless
    // told so, and the database stays as it is.
    let log = restore_fails(&db, &dump, &["--only", "contacts.Role"]);
    assert!(
        log.contains("- contacts.Role.person -> contacts.Person"),
        "{log}"
    );
    assert_eq!(now(&db), edited);
    // Told: its rows come back, nothing else changes.
    restore_ok(
        &db,
        &dump,
        &["--only", "contacts.Role", "--targets-from-database"],
    );
    let got = now(&db);
    assert_eq!(got[0], original[0], "contacts.Role");
    assert_eq!(got[1..], edited[1..], "other models changed");

    // --only countries: refers to nothing left out; the contacts that
    // refer to it find their countries and places again.
    restore_ok(&db, &dump, &["--only", "countries"]);
    let got = now(&db);
    assert_eq!(got[2], original[2], "countries.Country");
    assert_eq!(got[3], edited[3], "users.User was restored");

    // --exclude: everything but countries and users.User.
    sql(&db, changed);
    restore_ok(
        &db,
        &dump,
        &[
            "--exclude",
            "countries,users.User",
            "--targets-from-database",
        ],
    );
    let got = now(&db);
    assert_eq!(got[0], original[0], "contacts.Role");
    assert_eq!(got[1], original[1], "contacts.Person");
    assert_eq!(got[2], edited[2], "countries.Country was restored");
    assert_eq!(got[3], edited[3], "users.User was restored");

    // A label that names no model of the dump.
    let log = restore_fails(&db, &dump, &["--only", "nosuchapp"]);
    assert!(
        log.contains("--only nosuchapp: no model of this dump is nosuchapp"),
        "{log}"
    );
}

/// A data file missing a row, its manifest re-signed (so that the file
/// check passes): the count check after loading fails the restore, naming
/// the table, and nothing of the dump stays.
#[test]
fn a_data_file_missing_rows_is_caught() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let dump = t.path().join("dump");
    lino.ours_ok(MIN1, &db, &[], &[&dump.to_string_lossy()]);
    let roles = dump.join("contacts_role.py");
    let text = fs::read_to_string(&roles).expect("contacts_role.py");
    let first = text
        .lines()
        .find(|l| l.starts_with("loader.save(create_contacts_role("))
        .expect("a row");
    let edited = text.replacen(&format!("{first}\n"), "", 1);
    assert_ne!(edited, text);
    fs::write(&roles, &edited).expect("write");
    let resign = "import hashlib, json, os, sys\n\
                  d = sys.argv[1]; p = os.path.join(d, 'dump2py.json'); m = json.load(open(p))\n\
                  for f in m['files']:\n    b = open(os.path.join(d, f['name']), 'rb').read()\n    \
                  f['size'] = len(b); f['sha256'] = hashlib.sha256(b).hexdigest()\n\
                  json.dump(m, open(p, 'w'))\n";
    let out = std::process::Command::new(lino.python())
        .args(["-c", resign])
        .arg(&dump)
        .output()
        .expect("run python");
    ok(out, "re-signing the manifest");
    let log = restore_fails(&db, &dump, &[]);
    assert!(
        log.contains(
            "Row counts differ from the manifest's:\n- contacts_role: 2 rows, the dump has 3"
        ),
        "{log}"
    );
    assert!(
        log.contains("the database holds none of the dump's rows"),
        "{log}"
    );
}

fn state_files(db: &Path) -> Option<i64> {
    let conn = rusqlite::Connection::open(db).ok()?;
    conn.busy_timeout(Duration::from_secs(10)).ok()?;
    conn.query_row("SELECT COUNT(*) FROM dump2py_restore_state", [], |r| {
        r.get(0)
    })
    .ok()
}

/// `--resume`: killed (SIGKILL) after some data files were committed, run
/// again it skips those and finishes: dumpdata equals the original. A
/// committed file changed since is refused.
#[test]
fn resume_after_kill_9_finishes_the_restore() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    // 1,500 more persons: files of 100 rows, enough to kill between them.
    sql(
        &db,
        "WITH RECURSIVE seq(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM seq WHERE i < 2499)
         INSERT INTO contacts_partner (id, email, language, country_id, city_id, zip_code,
           region_id, addr1, street_prefix, street, street_no, street_box, addr2, url, phone,
           gsm, fax, prefix, name, remarks)
         SELECT i, 'p' || i || '@example.com', '', 'BE', NULL, '', NULL, '', '', 'Rue d''été',
           '' || (i % 300), '', '', '', '', '', '', '', 'Müller ' || i, '' FROM seq;
         WITH RECURSIVE seq(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM seq WHERE i < 2499)
         INSERT INTO contacts_person (partner_ptr_id, title, first_name, middle_name,
           last_name, gender, birth_date)
         SELECT i, '', 'Hans ' || i, '', 'Müller', 'M', '' FROM seq;",
    );
    let before = t.path().join("before.json");
    lino.dumpdata(MIN1, &db, &before);
    let dump = t.path().join("dump");
    lino.ours_ok(MIN1, &db, &[], &["-m", "100", &dump.to_string_lossy()]);
    let files = fs::read_dir(&dump)
        .expect("dump")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".py"))
        .count() as i64
        - 1;
    let restore_py = dump.join("restore.py");
    let mut child = lino
        .command(MIN1, &db)
        .arg(lino.venv.join("bin/django-admin"))
        .args([
            "run",
            &restore_py.to_string_lossy(),
            "--noinput",
            "--resume",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start restore.py");
    loop {
        if state_files(&db).is_some_and(|n| n >= 3) {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("restore.py ended ({status}) before it could be killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    let committed = state_files(&db).expect("the state table");
    assert!(
        committed >= 3 && committed < files,
        "{committed} of {files}"
    );

    // A committed file changed since: refused (without the manifest's check).
    let first = dump.join("countries_country.py");
    let text = fs::read_to_string(&first).expect("read");
    fs::write(&first, format!("{text}# changed\n")).expect("write");
    let log = restore_fails(&db, &dump, &["--resume", "--no-verify"]);
    assert!(
        log.contains("- countries_country.py: changed since it was committed"),
        "{log}"
    );
    fs::write(&first, text).expect("write");

    let log = restore_ok(&db, &dump, &["--resume"]);
    assert!(
        log.contains("committed by an earlier run, skipped (--resume)"),
        "{log}"
    );
    assert!(
        log.contains(&format!("--resume: {committed} of {files} data files")),
        "{log}"
    );
    assert_eq!(state_files(&db), None, "the state table stayed");
    let after = t.path().join("after.json");
    lino.dumpdata(MIN1, &db, &after);
    lino.assert_same_data(&before, &after);
}
