//! Snapshots (issue 22): `--snapshot-dir` names each dump by its UTC time,
//! verifies it, then applies `--keep-*` with restic's meaning; the newest
//! verified snapshot, a snapshot being written and anything not written
//! by dump2py survive every policy; a failed run deletes nothing;
//! `--verify DIR --max-age` fails when the newest is too old or damaged.
//! Dates are fabricated with the tests' clock, `DUMP2PY_TEST_NOW`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dump2py_tests::{
    copy_db, fixture,
    lino::{lino, MIN1},
    path_str, root,
    run::{bin, dump2py, dump_ok, stderr, stdout},
    sqlite_url,
};

/// dump2py at the time `now` (RFC 3339).
fn at<I, S>(now: &str, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(bin())
        .args(args)
        .env("DUMP2PY_TEST_NOW", now)
        .env_remove("DATABASE_URL")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .output()
        .expect("run dump2py")
}

/// A copy of min1 and a snapshot directory beside it.
fn site() -> (tempfile::TempDir, String, PathBuf) {
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let snaps = t.path().join("snaps");
    (t, sqlite_url(&db), snaps)
}

/// A snapshot of min1 at `now`, with these `--keep-*` options.
fn snapshot(url: &str, snaps: &Path, now: &str, keep: &[&str]) -> Output {
    let mut args = vec![
        "-d".to_string(),
        url.to_string(),
        "--snapshot-dir".to_string(),
        path_str(snaps),
        "--snapshot-name".to_string(),
        "min1".to_string(),
    ];
    args.extend(keep.iter().map(|k| k.to_string()));
    if !keep.contains(&"-v") {
        args.extend(["-v".to_string(), "0".to_string()]);
    }
    let out = at(now, &args);
    assert!(
        out.status.success(),
        "snapshot at {now} failed: {}",
        stderr(&out)
    );
    out
}

/// `2025-04-25T23:00:00Z` → `min1-20250425T230000Z`.
fn name_of(now: &str) -> String {
    let digits: String = now.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("min1-{digits}")
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read snapshots")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// restic's documentation ("Removing snapshots according to a policy"):
/// every weekday for two weeks, an extra one on Fridays, one Wednesday
/// missed.
const RESTIC_DOC: [&str; 11] = [
    "2025-04-21T11:00:00Z",
    "2025-04-22T11:00:00Z",
    "2025-04-23T11:00:00Z",
    "2025-04-24T11:00:00Z",
    "2025-04-25T11:00:00Z",
    "2025-04-25T23:00:00Z",
    "2025-04-28T11:00:00Z",
    "2025-04-29T11:00:00Z",
    "2025-05-01T11:00:00Z",
    "2025-05-02T11:00:00Z",
    "2025-05-02T23:00:00Z",
];

/// The snapshots of restic's example, the last one written with `keep`.
fn restic_example(keep: &[&str]) -> (tempfile::TempDir, PathBuf, Output) {
    let (t, url, snaps) = site();
    for now in &RESTIC_DOC[..10] {
        snapshot(&url, &snaps, now, &[]);
    }
    assert_eq!(listing(&snaps).len(), 10, "no policy removes nothing");
    let out = snapshot(&url, &snaps, RESTIC_DOC[10], keep);
    (t, snaps, out)
}

#[test]
fn keep_daily_5_keeps_what_restics_documentation_shows() {
    let (_t, snaps, _) = restic_example(&["--keep-daily", "5"]);
    let kept: Vec<String> = [
        "2025-04-25T23:00:00Z",
        "2025-04-28T11:00:00Z",
        "2025-04-29T11:00:00Z",
        "2025-05-01T11:00:00Z",
        "2025-05-02T23:00:00Z",
    ]
    .iter()
    .map(|t| name_of(t))
    .collect();
    assert_eq!(listing(&snaps), kept);
    // Each one left is whole.
    for name in &kept {
        dump_ok(["--verify", &path_str(&snaps.join(name)), "-v", "0"]);
    }
}

#[test]
fn weekly_monthly_and_last_are_ored_and_the_oldest_is_kept_while_counts_are_left() {
    let (_t, snaps, out) = restic_example(&[
        "--keep-last",
        "2",
        "--keep-weekly",
        "3",
        "--keep-monthly",
        "1",
        "-v",
        "2",
    ]);
    // last: the two of 2 May; weekly: 2 May 23:00 and 25 April 23:00, and
    // with one weekly left the oldest (21 April); monthly: 2 May 23:00.
    let kept: Vec<String> = [
        "2025-04-21T11:00:00Z",
        "2025-04-25T23:00:00Z",
        "2025-05-02T11:00:00Z",
        "2025-05-02T23:00:00Z",
    ]
    .iter()
    .map(|t| name_of(t))
    .collect();
    assert_eq!(listing(&snaps), kept);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "keep {} (oldest weekly)",
            name_of("2025-04-21T11:00:00Z")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("removed {}", name_of("2025-04-29T11:00:00Z"))),
        "{err}"
    );
    assert!(err.contains("4 of site min1 kept, 7 removed"), "{err}");
}

#[test]
fn what_dump2py_did_not_write_and_the_newest_verified_survive_every_policy() {
    let (_t, url, snaps) = site();
    snapshot(&url, &snaps, "2025-04-21T11:00:00Z", &[]);
    snapshot(&url, &snaps, "2025-04-22T11:00:00Z", &[]);
    // Things with snapshots' names that dump2py didn't write (or not all):
    // a directory without a manifest, a dump with a note added, a file.
    fs::create_dir(snaps.join("min1-20250420T000000Z")).expect("mkdir");
    fs::write(
        snaps.join("min1-20250420T000000Z/restore.py"),
        "# someone's\n",
    )
    .expect("write");
    fs::write(snaps.join("min1-20250421T110000Z/NOTE.txt"), "keep me\n").expect("note");
    fs::write(snaps.join("min1-20250419T000000Z.zip"), "not ours").expect("zip");
    fs::write(snaps.join("notes.txt"), "hello").expect("notes");
    // Another site's snapshots are not this site's to remove.
    let other = at(
        "2025-04-20T08:00:00Z",
        [
            "-d",
            &url,
            "--snapshot-dir",
            &path_str(&snaps),
            "--snapshot-name",
            "other",
            "-v",
            "0",
        ],
    );
    assert!(other.status.success(), "{}", stderr(&other));
    // A snapshot dated after this run's clock, damaged: the policy keeps it
    // (the newest), and the new one, which verified, is kept too.
    snapshot(&url, &snaps, "2025-06-01T00:00:00Z", &[]);
    let future = snaps.join(name_of("2025-06-01T00:00:00Z"));
    fs::write(future.join("contacts_partner.py"), "damaged").expect("damage");
    let before = listing(&snaps);
    snapshot(&url, &snaps, "2025-04-23T11:00:00Z", &["--keep-last", "1"]);
    let mut expected = before.clone();
    // Only the snapshot of 22 April goes: it is ours and no rule keeps it.
    expected.retain(|n| *n != name_of("2025-04-22T11:00:00Z"));
    expected.push(name_of("2025-04-23T11:00:00Z"));
    expected.sort();
    assert_eq!(listing(&snaps), expected);
}

#[test]
fn a_failed_snapshot_deletes_nothing() {
    let (t, url, snaps) = site();
    for now in &RESTIC_DOC[..3] {
        snapshot(&url, &snaps, now, &[]);
    }
    let before = listing(&snaps);
    // A snapshot at the same second as one that exists: refused, nothing removed.
    let same = at(
        RESTIC_DOC[2],
        [
            "-d",
            &url,
            "--snapshot-dir",
            &path_str(&snaps),
            "--snapshot-name",
            "min1",
            "--keep-last",
            "1",
        ],
    );
    assert_eq!(same.status.code(), Some(1), "{}", stderr(&same));
    assert!(
        stderr(&same).contains("already exists"),
        "{}",
        stderr(&same)
    );
    // A database that fails: nothing written, nothing removed.
    let broken = t.path().join("broken.sqlite3");
    fs::write(
        &broken,
        b"this is not a database, it is long enough to be read",
    )
    .expect("w");
    let failed = at(
        "2025-05-09T00:00:00Z",
        [
            "-d",
            &sqlite_url(&broken),
            "--snapshot-dir",
            &path_str(&snaps),
            "--snapshot-name",
            "min1",
            "--keep-last",
            "1",
        ],
    );
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    assert_eq!(listing(&snaps), before);
    // Incomplete (--tolerate skipped a table): published, but nothing removed.
    let db = t.path().join("viewed.sqlite3");
    fs::copy(fixture("min1.sqlite3"), &db).expect("copy");
    rusqlite::Connection::open(&db)
        .and_then(|c| {
            c.execute_batch(
                "CREATE TABLE shop_old (id integer PRIMARY KEY);
                 CREATE VIEW shop_gone AS SELECT id FROM shop_old;
                 DROP TABLE shop_old;",
            )
        })
        .expect("break db");
    let incomplete = at(
        "2025-05-08T00:00:00Z",
        [
            "-d",
            &sqlite_url(&db),
            "--snapshot-dir",
            &path_str(&snaps),
            "--snapshot-name",
            "min1",
            "--keep-last",
            "1",
            "-t",
        ],
    );
    assert_eq!(incomplete.status.code(), Some(3), "{}", stderr(&incomplete));
    let mut expected = before.clone();
    expected.push(name_of("2025-05-08T00:00:00Z"));
    assert_eq!(listing(&snaps), expected);
    let before = expected;
    // Killed while dumping (SIGTERM from the test, before it can end):
    // whatever it reached, no old snapshot is gone.
    let mut child = Command::new(bin())
        .args([
            "-d",
            &url,
            "--snapshot-dir",
            &path_str(&snaps),
            "--snapshot-name",
            "min1",
            "--keep-last",
            "1",
        ])
        .env("DUMP2PY_TEST_NOW", "2025-05-10T00:00:00Z")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let _ = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait");
    if !status.success() {
        let mut now = listing(&snaps);
        now.retain(|n| !n.starts_with('.'));
        assert_eq!(now, before);
    }
}

#[test]
fn verify_dir_checks_the_newest_and_its_age() {
    let (_t, url, snaps) = site();
    snapshot(&url, &snaps, "2025-05-01T23:00:00Z", &[]);
    snapshot(&url, &snaps, "2025-05-02T23:00:00Z", &[]);
    let verify = |now: &str, extra: &[&str]| {
        let mut args = vec!["--verify".to_string(), path_str(&snaps)];
        args.extend(extra.iter().map(|a| a.to_string()));
        at(now, &args)
    };
    let out = verify("2025-05-03T23:30:00Z", &["--max-age", "26h"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("min1: newest min1-20250502T230000Z (1 day 0 hours old), 2 snapshots"),
        "{}",
        stdout(&out)
    );
    // The nightly run didn't happen: one line, status 1.
    let out = verify("2025-05-04T01:30:00Z", &["--max-age", "26h"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "error: {}: the newest snapshot of min1, min1-20250502T230000Z, is 1 day 2 hours old: more than --max-age",
            snaps.display()
        )
    );
    // An older one damaged: only --all-snapshots sees it.
    let old = snaps.join("min1-20250501T230000Z/countries_place.py");
    let mut bytes = fs::read(&old).expect("read");
    bytes[50] ^= 1;
    fs::write(&old, &bytes).expect("write");
    assert!(verify("2025-05-03T00:00:00Z", &[]).status.success());
    let out = verify("2025-05-03T00:00:00Z", &["--all-snapshots"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("1 of 2 snapshots checked do not verify: min1-20250501T230000Z (")
            && err.contains("countries_place.py: damaged"),
        "{err}"
    );
    // The newest damaged fails without --all-snapshots.
    let newest = snaps.join("min1-20250502T230000Z/countries_place.py");
    fs::remove_file(newest).expect("rm");
    let out = verify("2025-05-03T00:00:00Z", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the newest snapshot does not verify: min1-20250502T230000Z (")
            && stderr(&out).contains("missing (the manifest lists it)"),
        "{}",
        stderr(&out)
    );
    // A directory with no snapshot, and --max-age on a dump, are refused.
    let empty = snaps.join("..").join("empty");
    fs::create_dir(&empty).expect("mkdir");
    let out = dump2py(["--verify", &path_str(&empty), "--max-age", "26h"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no snapshot written by dump2py"));
    let out = dump2py([
        "--verify",
        &path_str(&snaps.join("min1-20250501T230000Z")),
        "--max-age",
        "26h",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = dump2py(["--verify", &path_str(&snaps), "--max-age", "26"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn snapshot_options_are_checked() {
    let (t, url, snaps) = site();
    let out = dump2py([
        "-d",
        &url,
        &path_str(&t.path().join("d")),
        "--keep-daily",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--snapshot-dir"), "{}", stderr(&out));
    let out = dump2py([
        "-d",
        &url,
        &path_str(&t.path().join("d")),
        "--snapshot-dir",
        &path_str(&snaps),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = dump2py([
        "-d",
        &url,
        "--snapshot-dir",
        &path_str(&snaps),
        "--snapshot-name",
        "../x",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = dump2py([
        "-d",
        &url,
        "--snapshot-dir",
        &path_str(&snaps),
        "--keep-daily",
        "-1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Without --snapshot-name, the database's name.
    let out = at(
        "2025-05-02T23:00:00Z",
        ["-d", &url, "--snapshot-dir", &path_str(&snaps), "-v", "0"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(listing(&snaps), ["db-20250502T230000Z"]);
}

/// min1 as one archive of each kind: each verifies (with its manifest
/// beside it, and carried alone), a flipped byte is named.
#[test]
fn archives_verify_and_a_flipped_byte_is_refused() {
    let (t, url, _) = site();
    for name in ["min1.zip", "min1.tar.gz", "min1.tar.zst"] {
        let archive = t.path().join(name);
        dump_ok(["-d", &url, &path_str(&archive), "-v", "0"]);
        let out = dump_ok(["--verify", &path_str(&archive)]);
        assert!(
            stdout(&out).contains("intact (1 file, 280 rows in 11 tables"),
            "{}",
            stdout(&out)
        );
        // Carried alone (renamed too): the manifest inside.
        let alone = t.path().join(format!("carried-{name}"));
        fs::copy(&archive, &alone).expect("copy");
        let out = dump_ok(["--verify", &path_str(&alone)]);
        assert!(
            stdout(&out).contains("intact (12 files, 280 rows in 11 tables"),
            "{}",
            stdout(&out)
        );
        // A flipped byte, with the manifest beside it and without.
        let mut bytes = fs::read(&archive).expect("read");
        let at = bytes.len() / 2;
        bytes[at] ^= 0x10;
        fs::write(&alone, &bytes).expect("write");
        let out = dump2py(["--verify", &path_str(&alone)]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        fs::write(&archive, &bytes).expect("write");
        let out = dump2py(["--verify", &path_str(&archive)]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("damaged: its SHA-256 is not the manifest's"),
            "{}",
            stderr(&out)
        );
    }
    // The files are in min1/, the manifest first.
    let zip = fs::read(t.path().join("carried-min1.zip")).expect("zip");
    let first = b"min1/dump2py.json";
    assert_eq!(&zip[30..30 + first.len()], first);
}

/// Snapshots as archives: named with the suffix, retention counts them.
#[test]
fn archive_snapshots_are_kept_by_the_policy() {
    let (_t, url, snaps) = site();
    for now in &RESTIC_DOC[..4] {
        snapshot(
            &url,
            &snaps,
            now,
            &["--snapshot-format", "tar.zst", "--keep-last", "2"],
        );
    }
    let names: Vec<String> = RESTIC_DOC[2..4]
        .iter()
        .flat_map(|t| {
            let n = name_of(t);
            [format!("{n}.tar.zst"), format!("{n}.tar.zst.dump2py.json")]
        })
        .collect();
    assert_eq!(listing(&snaps), names);
    let out = at(
        "2025-04-25T00:00:00Z",
        ["--verify", &path_str(&snaps), "--max-age", "26h"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `dump2py --restore ARCHIVE` restores min1 into a site whose data
/// changed: dumpdata equals the original, from a plain archive and from
/// an encrypted one; a damaged archive is refused before the database is
/// touched.
#[test]
fn restore_from_an_archive_gives_back_min1() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let before = t.path().join("before.yaml");
    lino.dumpdata(MIN1, &db, &before);
    let archive = t.path().join("min1.tar.gz");
    lino.ours_ok(MIN1, &db, &[], &[&path_str(&archive), "-v", "0"]);
    let (key, recipient) = age_key(t.path(), "key.txt");
    let sealed = t.path().join("min1.zip.age");
    lino.ours_ok(
        MIN1,
        &db,
        &[],
        &[&path_str(&sealed), "--encrypt-to", &recipient, "-v", "0"],
    );
    let change = || {
        let conn = rusqlite::Connection::open(&db).expect("open db");
        conn.execute_batch("DELETE FROM contacts_role; UPDATE contacts_partner SET name = 'x';")
            .expect("change");
    };
    change();
    let changed = fs::read(&db).expect("db");
    let restore = |archive: &Path| {
        Command::new(bin())
            .args([
                "--restore",
                &path_str(archive),
                "--identity",
                &path_str(&key),
            ])
            .args(["--settings", MIN1, "--python"])
            .arg(lino.python())
            .env("PYTHONPATH", root().join("tests/sites"))
            .env("DUMP2PY_TEST_DB", &db)
            .env("LC_ALL", "C.UTF-8")
            .env_remove("DATABASE_URL")
            .output()
            .expect("run dump2py --restore")
    };
    // Damaged, carried without its manifest: refused, the database as it was.
    let damaged = t.path().join("damaged.tar.gz");
    let mut bytes = fs::read(&archive).expect("read");
    let at = bytes.len() * 2 / 3;
    bytes[at] ^= 0x01;
    fs::write(&damaged, &bytes).expect("write");
    let out = restore(&damaged);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refused, nothing was restored"),
        "{}",
        stderr(&out)
    );
    assert!(
        fs::read(&db).expect("db") == changed,
        "the database was touched"
    );
    // Whole: restored, and the temporary copy is gone.
    let out = restore(&archive);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        (stdout(&out) + &stderr(&out)).contains("Loaded 280 objects in "),
        "{}",
        stderr(&out)
    );
    let after = t.path().join("after.yaml");
    lino.dumpdata(MIN1, &db, &after);
    lino.assert_same_data(&before, &after);
    // Encrypted: the same.
    change();
    let out = restore(&sealed);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let after = t.path().join("after-sealed.yaml");
    lino.dumpdata(MIN1, &db, &after);
    lino.assert_same_data(&before, &after);
}

/// A fresh age key pair: the identity file and the recipient.
fn age_key(dir: &Path, name: &str) -> (PathBuf, String) {
    use age::secrecy::ExposeSecret;
    let identity = age::x25519::Identity::generate();
    let file = dir.join(name);
    fs::write(
        &file,
        format!("# a test key\n{}\n", identity.to_string().expose_secret()),
    )
    .expect("write key");
    (file, identity.to_public().to_string())
}

/// `--encrypt-to` (two recipients): either identity decrypts; the
/// archive verifies and restores only with one; a flipped byte is
/// refused before anything is written; the secret is never printed.
#[test]
fn encrypted_archives_decrypt_with_either_identity_and_refuse_a_flipped_byte() {
    let (t, url, _) = site();
    let (key1, r1) = age_key(t.path(), "key1.txt");
    let (key2, r2) = age_key(t.path(), "key2.txt");
    let (stranger, _) = age_key(t.path(), "stranger.txt");
    for kind in ["tar.zst", "zip"] {
        let sealed = t.path().join(format!("min1.{kind}.age"));
        dump_ok([
            "-d",
            &url,
            &path_str(&sealed),
            "--encrypt-to",
            &r1,
            "--encrypt-to",
            &r2,
            "-v",
            "0",
        ]);
        let bytes = fs::read(&sealed).expect("read");
        assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
        // The manifest beside it checks the file; the identity, inside.
        dump_ok(["--verify", &path_str(&sealed)]);
        let out = dump_ok([
            "--verify",
            &path_str(&sealed),
            "--identity",
            &path_str(&key2),
        ]);
        assert!(stdout(&out).contains("intact"), "{}", stdout(&out));
        for (n, key) in [&key1, &key2].into_iter().enumerate() {
            let plain = t.path().join(format!("plain{n}.{kind}"));
            dump_ok([
                "--decrypt",
                &path_str(&sealed),
                "--identity",
                &path_str(key),
                &path_str(&plain),
                "-v",
                "0",
            ]);
            let out = dump_ok(["--verify", &path_str(&plain)]);
            assert!(
                stdout(&out).contains("280 rows in 11 tables"),
                "{}",
                stdout(&out)
            );
        }
        // Another identity can't; nothing is written.
        let nope = t.path().join(format!("nope.{kind}"));
        let out = dump2py([
            "--decrypt",
            &path_str(&sealed),
            "--identity",
            &path_str(&stranger),
            &path_str(&nope),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(!nope.exists());
        // A flipped byte (carried without its manifest): refused, nothing written.
        let carried = t.path().join(format!("carried.{kind}.age"));
        let mut damaged = bytes.clone();
        let at = damaged.len() / 2;
        damaged[at] ^= 0x01;
        fs::write(&carried, &damaged).expect("write");
        let out = dump2py([
            "--decrypt",
            &path_str(&carried),
            "--identity",
            &path_str(&key1),
            &path_str(&nope),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
        assert!(!nope.exists());
        let out = dump2py([
            "--verify",
            &path_str(&carried),
            "--identity",
            &path_str(&key1),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let out = dump2py(["--verify", &path_str(&carried)]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("give --identity"), "{}", stderr(&out));
    }
    // A key file that isn't one: its text is never shown.
    let bad = t.path().join("bad.txt");
    fs::write(&bad, "AGE-SECRET-KEY-1NOTAKEYBUTSECRETTEXT\n").expect("write");
    let out = dump2py([
        "--decrypt",
        &path_str(&t.path().join("min1.zip.age")),
        "--identity",
        &path_str(&bad),
        &path_str(&t.path().join("x.zip")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("NOTAKEY"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not an age identity file"),
        "{}",
        stderr(&out)
    );
    let secret = fs::read_to_string(&key1).expect("key");
    let secret = secret.lines().nth(1).expect("secret line");
    // Wrong names and recipients are refused before anything is read.
    for (args, error) in [
        (
            vec![
                path_str(&t.path().join("x.zip")),
                "--encrypt-to".into(),
                "age1nope".into(),
            ],
            "not an age X25519 recipient",
        ),
        (
            vec![path_str(&t.path().join("x.zip.age"))],
            "give --encrypt-to",
        ),
        (
            vec![
                path_str(&t.path().join("dir")),
                "--encrypt-to".into(),
                r1.clone(),
            ],
            "encrypts an archive",
        ),
    ] {
        let mut all = vec!["-d".to_string(), url.clone()];
        all.extend(args);
        let out = dump2py(&all);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(error), "{}", stderr(&out));
        assert!(!stderr(&out).contains(secret));
    }
}

/// Encrypted snapshots: `.age` names, kept by the policy, checked by
/// `--verify DIR` (the manifest beside each).
#[test]
fn encrypted_snapshots() {
    let (t, url, snaps) = site();
    let (_key, recipient) = age_key(t.path(), "key.txt");
    for now in &RESTIC_DOC[..3] {
        snapshot(
            &url,
            &snaps,
            now,
            &[
                "--snapshot-format",
                "tar.gz",
                "--encrypt-to",
                &recipient,
                "--keep-last",
                "2",
            ],
        );
    }
    let names: Vec<String> = RESTIC_DOC[1..3]
        .iter()
        .flat_map(|t| {
            let n = name_of(t);
            [
                format!("{n}.tar.gz.age"),
                format!("{n}.tar.gz.age.dump2py.json"),
            ]
        })
        .collect();
    assert_eq!(listing(&snaps), names);
    let out = at(
        RESTIC_DOC[2],
        ["--verify", &path_str(&snaps), "--max-age", "1h"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `--gzip-data`: each data file is `NAME.py.gz` (gzip, listed in the
/// manifest as written), and restore.py reads them with Python's gzip:
/// min1 restores the same.
#[test]
fn gzip_data_files_restore_the_same() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let before = t.path().join("before.yaml");
    lino.dumpdata(MIN1, &db, &before);
    let dump = t.path().join("dump");
    lino.ours_ok(
        MIN1,
        &db,
        &[],
        &[&path_str(&dump), "--gzip-data", "-v", "0"],
    );
    let names = listing(&dump);
    assert!(
        names.contains(&"contacts_partner.py.gz".to_string()),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".py") && n != "restore.py"),
        "{names:?}"
    );
    let data = fs::read(dump.join("contacts_partner.py.gz")).expect("read");
    assert_eq!(&data[..2], [0x1f, 0x8b]);
    dump_ok(["--verify", &path_str(&dump), "-v", "0"]);
    let conn = rusqlite::Connection::open(&db).expect("open db");
    conn.execute_batch("DELETE FROM contacts_role;")
        .expect("change");
    drop(conn);
    lino.restore(MIN1, &db, &dump);
    let after = t.path().join("after.yaml");
    lino.dumpdata(MIN1, &db, &after);
    lino.assert_same_data(&before, &after);
}
