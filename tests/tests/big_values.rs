//! Big values (issue 25): batches close on their bytes as well as their
//! rows, and sinks encode big texts and blobs without extra copies; the
//! outputs stay what they are. With values of several megabytes (a batch
//! holds one or two rows): JSON and XML byte-identical to Django's
//! `dumpdata`, the Python dump restores every value, and `-j 4` writes the
//! same files as `-j 1`.

use std::path::PathBuf;

use dump2py_tests::{
    compare::{assert_same_file, read_dump},
    lino::{lino, Venv, AWKWARD},
    path_str,
};

/// A text of about `mb` megabytes that is hard to quote: both quotes,
/// backslashes, newlines, two- to four-byte UTF-8; different for each `seed`.
fn big_text(mb: usize, seed: usize) -> String {
    let piece = format!("row {seed}: it's \"quoted\" \\ é € 𝄞 <&>\n");
    piece.repeat(mb * 1_000_000 / piece.len())
}

/// `mb` megabytes of bytes of every value (a simple generator).
fn big_blob(mb: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..mb * 1_000_000)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

/// The awkward site's demo data with big texts in three rows of
/// things_text (one 5 MB: more than a batch's bytes) and big blobs in two
/// rows of things_scalar; without the control characters XML can't hold.
fn prepared(lino: &Venv) -> (tempfile::TempDir, PathBuf) {
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute(
        "UPDATE things_text SET short = 'no controls', body = 'no controls' WHERE id = 10",
        [],
    )
    .expect("clean");
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM things_text ORDER BY id LIMIT 3")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("texts");
    assert_eq!(ids.len(), 3);
    for (i, id) in ids.iter().enumerate() {
        let mb = [5, 2, 3][i];
        conn.execute(
            "UPDATE things_text SET body = ?1 WHERE id = ?2",
            rusqlite::params![big_text(mb, i), id],
        )
        .expect("text");
    }
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM things_scalar ORDER BY id LIMIT 2")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("scalars");
    assert_eq!(ids.len(), 2);
    for (i, id) in ids.iter().enumerate() {
        conn.execute(
            "UPDATE things_scalar SET blob = ?1 WHERE id = ?2",
            rusqlite::params![big_blob(3 + i, i as u64), id],
        )
        .expect("blob");
    }
    (t, db)
}

#[test]
fn big_values_are_written_as_django_and_lino_read_them() {
    let lino = lino();
    let (t, db) = prepared(lino);
    let dir = t.path();
    // Every output at once, with one and with four jobs.
    for jobs in ["1", "4"] {
        let out = dir.join(format!("dump-{jobs}"));
        let (json, xml) = (
            dir.join(format!("ours-{jobs}.json")),
            dir.join(format!("ours-{jobs}.xml")),
        );
        lino.ours_ok(
            AWKWARD,
            &db,
            &[],
            &[
                "-v",
                "0",
                "-j",
                jobs,
                "--json",
                &path_str(&json),
                "--xml",
                &path_str(&xml),
                &path_str(&out),
            ],
        );
    }
    for format in ["json", "xml"] {
        let theirs = dir.join(format!("django.{format}"));
        let o = path_str(&theirs);
        lino.admin_ok(AWKWARD, &db, &["dumpdata", "--format", format, "-o", &o]);
        for jobs in ["1", "4"] {
            assert_same_file(&theirs, &dir.join(format!("ours-{jobs}.{format}")));
        }
    }
    let (one, four) = (
        read_dump(&dir.join("dump-1")),
        read_dump(&dir.join("dump-4")),
    );
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        four.keys().collect::<Vec<_>>()
    );
    for (name, content) in &one {
        assert!(
            content == &four[name],
            "{name} differs between -j 1 and -j 4"
        );
    }
    // The big values are in the Python dump, whole.
    let texts = String::from_utf8_lossy(&one["things_text.py"]).into_owned();
    assert!(texts.contains(&"row 0: it\\'s \"quoted\" \\\\ é € 𝄞 <&>\\n".repeat(3)));
    assert!(texts.len() > 10_000_000, "{}", texts.len());
    // Restored, the site holds the same data.
    let before = dir.join("before.yaml");
    lino.dumpdata(AWKWARD, &db, &before);
    lino.restore(AWKWARD, &db, &dir.join("dump-1"));
    let after = dir.join("after.yaml");
    lino.dumpdata(AWKWARD, &db, &after);
    lino.assert_same_data(&before, &after);
}
