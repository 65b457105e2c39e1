//! A SQLite database big enough that a dump of it takes seconds, made
//! once per test run (in cargo's target tmp dir) and shared by the tests
//! that need a dump in progress.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use rusqlite::Connection;

/// `rows` rows in one table `big_item`; made once, then reused.
pub fn big_db(rows: u64) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("dump2py-big-{rows}.sqlite3"));
    if path.exists() {
        return path;
    }
    // Made under a name of its own and renamed: tests in other processes
    // never see half a database.
    let part = dir.join(format!("dump2py-big-{rows}.{}.part", std::process::id()));
    let _ = fs::remove_file(&part);
    let conn = Connection::open(&part).expect("create big db");
    conn.execute_batch(&format!(
        r#"
        CREATE TABLE "big_item" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
            "name" varchar(50) NOT NULL, "flag" bool NOT NULL, "price" decimal NULL,
            "made" datetime NULL);
        WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {rows})
        INSERT INTO big_item (id, name, flag, price, made)
            SELECT i, 'item ' || i || ' äöü', i % 2, i * 1.25, '2024-03-31 01:30:05.123456' FROM c;
        "#
    ))
    .expect("fill big db");
    drop(conn);
    fs::rename(&part, &path).expect("publish big db");
    path
}

/// The staging directory of the dump into `target` by process `pid`.
pub fn staging_of(target: &Path, pid: u32) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.dump2py-{pid}.tmp"))
}

/// Waits until the dump by `child` into `target` has started writing data
/// files; fails the test if the child exits first.
pub fn wait_for_data_files(child: &mut Child, target: &Path) {
    let staging = staging_of(target, child.id());
    loop {
        let started = fs::read_dir(&staging).is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".py"))
        });
        if started {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "dump2py ended ({status}) before writing into {}",
                staging.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Names in `dir` starting with a dot: what dump2py leaves beside its outputs.
pub fn dot_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    v.sort();
    v
}
