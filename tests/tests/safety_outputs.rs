//! What dump2py may replace, and what a bad command line gets: --overwrite
//! replaces only what dump2py wrote (recognised by its manifest), never the
//! database it reads; two names for one output are refused before anything
//! is read; outputs re-checked before the first publish; concurrent runs;
//! bounds of the command line (exit status 2).

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::bigdb::{big_db, dot_files, wait_for_data_files};
use dump2py_tests::{
    compare::{read_dump, tree},
    fixture, min1_url, path_str,
    run::{bin, dump2py, dump_ok, fails_with, stderr},
    sqlite_url, tmp,
};

#[test]
fn overwrite_never_replaces_the_database_being_dumped() {
    let t = tmp();
    let site = t.path().join("site");
    fs::create_dir(&site).expect("mkdir");
    let db = site.join("default.db");
    fs::copy(fixture("min1.sqlite3"), &db).expect("copy db");
    fs::write(site.join("settings.py"), "SITE = 1\n").expect("settings");
    let before = tree(t.path());
    let url = sqlite_url(&db);
    // The site's directory, and the database itself as a JSON output.
    let r = dump2py(["-o", "-d", &url, &path_str(&site)]);
    let err = fails_with(&r, 2);
    assert!(
        err.contains("contains") && err.contains("default.db"),
        "{err}"
    );
    let r = dump2py(["-o", "-d", &url, "--json", &path_str(&db)]);
    let err = fails_with(&r, 2);
    assert!(err.contains("dump2py reads this file"), "{err}");
    // Its journals, which don't exist yet, by another name of the directory.
    let wal = t.path().join("site/../site/default.db-wal");
    let r = dump2py(["-o", "-d", &url, "--json", &path_str(&wal)]);
    let err = fails_with(&r, 2);
    assert!(err.contains("default.db-wal"), "{err}");
    assert_eq!(tree(t.path()), before);
}

#[test]
fn overwrite_refuses_a_directory_dump2py_did_not_write() {
    let t = tmp();
    for (name, files) in [
        ("notes", vec!["notes.txt"]),
        ("repo", vec![".git/HEAD", "README"]),
    ] {
        let dir = t.path().join(name);
        for f in &files {
            let p = dir.join(f);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(&p, "mine").expect("write");
        }
        let before = tree(&dir);
        let r = dump2py(["-o", "-d", &min1_url(), &path_str(&dir)]);
        let err = fails_with(&r, 1);
        assert!(
            err.contains("was not written by dump2py")
                && err.contains("remove it yourself or choose another name"),
            "{err}"
        );
        assert_eq!(tree(&dir), before);
    }
    // A dump with a file added to it is not all dump2py's any more.
    let dump = t.path().join("dump");
    dump_ok(["-d", &min1_url(), &path_str(&dump)]);
    fs::write(dump.join("my-notes.txt"), "mine").expect("write");
    let r = dump2py(["-o", "-d", &min1_url(), &path_str(&dump)]);
    assert!(fails_with(&r, 1).contains("not written by dump2py"));
    assert!(dump.join("my-notes.txt").exists());
    // A file without its manifest, or changed since.
    let json = t.path().join("data.json");
    fs::write(&json, "[]").expect("write");
    let r = dump2py(["-o", "-d", &min1_url(), "--json", &path_str(&json)]);
    assert!(fails_with(&r, 1).contains("not written by dump2py"));
    assert_eq!(fs::read(&json).ok(), Some(b"[]".to_vec()));
    let other = t.path().join("other.json");
    dump_ok(["-d", &min1_url(), "--json", &path_str(&other)]);
    fs::write(&other, "[]").expect("write");
    let r = dump2py(["-o", "-d", &min1_url(), "--json", &path_str(&other)]);
    assert!(fails_with(&r, 1).contains("not written by dump2py"));
    assert_eq!(dot_files(t.path()), Vec::<String>::new());
}

#[test]
fn overwrite_replaces_what_dump2py_wrote() {
    let t = tmp();
    let dump = t.path().join("dump");
    let json = t.path().join("data.json.gz");
    dump_ok([
        "-d",
        &min1_url(),
        &path_str(&dump),
        "--json",
        &path_str(&json),
        "-m",
        "3",
    ]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dump.join("dump2py.json")).expect("manifest"))
            .expect("manifest is JSON");
    assert_eq!(manifest["format"], "dump2py-python");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    let files = manifest["files"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = files.iter().filter_map(|f| f["name"].as_str()).collect();
    let on_disk: Vec<String> = read_dump(&dump).into_keys().collect();
    assert_eq!(names, on_disk);
    for f in &files {
        let name = f["name"].as_str().unwrap_or_default();
        let size = fs::metadata(dump.join(name)).map(|m| m.len()).ok();
        assert_eq!(f["size"].as_u64(), size, "{name}");
        let sha = f["sha256"].as_str().unwrap_or_default();
        assert!(
            sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{sha}"
        );
    }
    let sidecar: serde_json::Value = serde_json::from_slice(
        &fs::read(t.path().join("data.json.gz.dump2py.json")).expect("sidecar"),
    )
    .expect("sidecar is JSON");
    assert_eq!(sidecar["files"][0]["name"], "data.json.gz");
    assert_eq!(
        sidecar["files"][0]["size"].as_u64(),
        fs::metadata(&json).map(|m| m.len()).ok()
    );
    // Replaced, without the old split files.
    dump_ok([
        "-o",
        "-d",
        &min1_url(),
        &path_str(&dump),
        "--json",
        &path_str(&json),
    ]);
    assert!(!read_dump(&dump).keys().any(|n| n.ends_with("_2.py")));
    // An empty directory is replaced too.
    let empty = t.path().join("empty");
    fs::create_dir(&empty).expect("mkdir");
    dump_ok(["-o", "-d", &min1_url(), &path_str(&empty)]);
    assert!(empty.join("restore.py").exists());
    assert_eq!(dot_files(t.path()), Vec::<String>::new());
}

#[test]
fn two_names_for_one_file_are_refused_and_leave_nothing() {
    let t = tmp();
    let dir = t.path();
    let same = dir.join("same.out");
    let dotted = format!("{}/./same.out", path_str(dir));
    let r = dump2py([
        "-d",
        &min1_url(),
        "--json",
        &path_str(&same),
        "--xml",
        &dotted,
    ]);
    assert!(fails_with(&r, 2).contains("two outputs"));
    let r = Command::new(bin())
        .args([
            "-d",
            &min1_url(),
            "--json",
            "same.out",
            "--xml",
            "./same.out",
        ])
        .current_dir(dir)
        .output()
        .expect("run");
    assert!(fails_with(&r, 2).contains("two outputs"));
    assert!(fs::read_dir(dir).expect("ls").next().is_none());
    // A symlink and a hard link to an output written before.
    dump_ok(["-d", &min1_url(), "--json", &path_str(&same)]);
    let hard = dir.join("hard.out");
    fs::hard_link(&same, &hard).expect("hard link");
    let sym = dir.join("sym.out");
    std::os::unix::fs::symlink(&same, &sym).expect("symlink");
    let before = tree(dir);
    for other in [&hard, &sym] {
        let r = dump2py([
            "-o",
            "-d",
            &min1_url(),
            "--json",
            &path_str(&same),
            "--xml",
            &path_str(other),
        ]);
        let err = fails_with(&r, 2);
        assert!(err.contains("are one file"), "{err}");
    }
    // An output inside OUTPUT_DIR, by another name of it.
    let r = dump2py([
        "-d",
        &min1_url(),
        &path_str(&dir.join("d")),
        "--json",
        &format!("{}/x/../d/a.json", path_str(dir)),
    ]);
    assert!(fails_with(&r, 2).contains("inside OUTPUT_DIR"));
    assert_eq!(tree(dir), before);
}

#[test]
fn a_target_that_appears_while_dumping_stops_every_publish() {
    let t = tmp();
    let db = big_db(300_000);
    let dump = t.path().join("dump");
    let json = t.path().join("data.json");
    let mut child = Command::new(bin())
        .args([
            "-d",
            &sqlite_url(&db),
            &path_str(&dump),
            "--json",
            &path_str(&json),
            "-v",
            "0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for_data_files(&mut child, &dump);
    fs::write(&json, "someone else's").expect("write");
    let out = child.wait_with_output().expect("wait");
    let err = fails_with(&out, 1);
    assert!(err.contains("appeared while dumping"), "{err}");
    // Neither output is published; the newcomer is untouched.
    assert!(!dump.exists());
    assert_eq!(fs::read(&json).ok(), Some(b"someone else's".to_vec()));
    assert_eq!(dot_files(t.path()), Vec::<String>::new());
}

#[test]
fn two_runs_into_one_directory_one_wins() {
    let t = tmp();
    let db = big_db(300_000);
    let dump = t.path().join("dump");
    dump_ok(["-d", &min1_url(), &path_str(&dump)]);
    let run = || {
        Command::new(bin())
            .args(["-o", "-d", &sqlite_url(&db), &path_str(&dump), "-v", "0"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let mut first = run();
    wait_for_data_files(&mut first, &dump);
    let second = run().wait_with_output().expect("wait");
    let err = fails_with(&second, 1);
    assert!(
        err.contains(&format!("another dump2py (PID {}) is writing", first.id())),
        "{err}"
    );
    let first = first.wait_with_output().expect("wait");
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(dump.join("big_item_1.py").exists());
    assert_eq!(dot_files(t.path()), Vec::<String>::new());
}

#[test]
fn bad_command_lines_exit_2() {
    let t = tmp();
    let out = path_str(&t.path().join("d"));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-d", "sqlite:x.db"], "no OUTPUT_DIR"),
        (vec![&out], "no database given"),
        (vec!["-d", "sqlite:x.db", &out, "-f", "json"], "NAME=TARGET"),
        (
            vec!["-d", "sqlite:x.db", &out, "-m", "0"],
            "--max-row-count",
        ),
        (
            vec!["-d", "sqlite:x.db", &out, "--json", "-", "--xml", "-"],
            "only one",
        ),
        (
            vec!["-d", "sqlite:x.db", &out, "--indent", "65"],
            "--indent",
        ),
        (
            vec!["-d", "sqlite:x.db", &out, "--indent", "4294967295"],
            "--indent",
        ),
        (vec!["-d", "sqlite:x.db", &out, "--indent=-1"], "--indent"),
        (
            vec!["-d", "postgres://h/db", &out, "--allow-empty"],
            "--allow-empty",
        ),
    ];
    for (args, want) in cases {
        let r = dump2py(&args);
        let err = fails_with(&r, 2);
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert!(fs::read_dir(t.path()).expect("ls").next().is_none());
    // The largest indent is taken.
    let json = t.path().join("a.json");
    dump_ok([
        "-d",
        &min1_url(),
        "--json",
        &path_str(&json),
        "--indent",
        "64",
    ]);
    let text = fs::read_to_string(&json).expect("json");
    assert!(
        text.contains(&format!("\n{}\"model\"", " ".repeat(64))),
        "{}",
        text.get(..200).unwrap_or_default()
    );
}

#[test]
fn malformed_languages_are_refused_by_item() {
    let t = tmp();
    let out = path_str(&t.path().join("d"));
    for (langs, want) in [
        ("en,,de", "item 2 is empty"),
        ("", "item 1 is empty"),
        ("en,de,en", "'en' is given twice"),
        ("e n", "'e n': separate with commas, e.g. en,de,fr"),
        (
            "en de fr",
            "'en de fr': separate with commas, e.g. en,de,fr",
        ),
        ("e_n", "'e_n' is not a language code"),
        ("en,../x", "'../x' is not a language code"),
    ] {
        let r = dump2py(["-d", &min1_url(), &out, "--languages", langs]);
        let err = fails_with(&r, 2);
        assert!(err.contains(want), "{langs}: {err}");
    }
    assert!(fs::read_dir(t.path()).expect("ls").next().is_none());
    // A well-formed code, but min1 has no column for it.
    let r = dump2py(["-d", &min1_url(), &out, "--languages", "en,de,pt-br"]);
    let err = fails_with(&r, 1);
    assert!(
        err.contains("no text column NAME_pt-br beside a column NAME"),
        "{err}"
    );
}

/// `--languages` must match min1's babel columns (name, name_de, name_fr):
/// a code without columns, another order, another case are errors saying
/// what the database has; a language left out is a warning.
#[test]
fn languages_that_do_not_match_the_columns_are_refused() {
    let t = tmp();
    let out = path_str(&t.path().join("d"));
    let found = "the columns have the suffixes de (contacts_companytype.name_de, … 5 columns), \
                 fr (contacts_companytype.name_fr, … 5 columns); e.g. --languages DEFAULT,de,fr";
    for (langs, want) in [
        ("en,xx", format!("--languages en,xx: no text column NAME_xx beside a column NAME, so no babel field would be folded; {found}")),
        ("de,en,fr", format!("--languages de,en,fr: no text column NAME_en beside a column NAME, so no babel field would be folded; {found}")),
        ("EN,DE,FR", "(codes are case-sensitive: de)".to_string()),
        ("en,fr,de", "--languages en,fr,de: the columns are in the order de, fr: give the languages in the site's order (--languages en,de,fr)".to_string()),
        ("fr,de", "the first language is the site's default, whose values are the columns without a suffix, but fr has columns of its own".to_string()),
    ] {
        let r = dump2py(["-d", &min1_url(), &out, "--languages", langs]);
        let err = fails_with(&r, 1);
        assert!(err.contains(&want), "{langs}: {err}");
    }
    assert!(fs::read_dir(t.path()).expect("ls").next().is_none());
    let r = dump_ok(["-d", &min1_url(), &out, "--languages", "en,de"]);
    let err = stderr(&r);
    assert!(
        err.contains("warning: --languages en,de: columns with the suffixes fr (contacts_companytype.name_fr, … 5 columns) look like babel values of languages not given"),
        "{err}"
    );
    let r = dump_ok([
        "-d",
        &min1_url(),
        &path_str(&t.path().join("e")),
        "--languages",
        "en,de,fr",
    ]);
    assert!(!stderr(&r).contains("warning"), "{}", stderr(&r));
}

#[test]
fn an_empty_file_or_dev_null_is_no_database_unless_allowed() {
    let t = tmp();
    let empty = t.path().join("empty.db");
    fs::write(&empty, "").expect("touch");
    let out = t.path().join("d");
    for db in [empty.as_path(), Path::new("/dev/null")] {
        let r = dump2py(["-d", &sqlite_url(db), &path_str(&out)]);
        let err = fails_with(&r, 1);
        assert!(
            err.contains(&format!("{} is not an SQLite database", db.display())),
            "{err}"
        );
        assert!(!out.exists());
        let r = dump_ok(["-d", &sqlite_url(db), &path_str(&out), "--allow-empty"]);
        let err = stderr(&r);
        assert!(
            err.contains("no tables") && err.contains("Wrote 0 objects"),
            "{err}"
        );
        assert!(out.join("restore.py").exists());
        fs::remove_dir_all(&out).expect("rm");
    }
    // The URL parameter says the same.
    dump_ok([
        "-d",
        &format!("{}?allow_empty=1", sqlite_url(&empty)),
        &path_str(&out),
    ]);
}

#[test]
fn only_an_empty_regular_file_or_dev_null_is_an_empty_database() {
    let t = tmp();
    let out = t.path().join("d");
    let db = fs::read(fixture("min1.sqlite3")).expect("read min1");
    // A file that isn't a database, and a database cut short.
    let one = t.path().join("x.db");
    fs::write(&one, "x").expect("write");
    let cut = t.path().join("cut.db");
    fs::write(&cut, &db[..4096]).expect("write");
    for (path, want) in [
        (&one, "not an SQLite database (1 byte"),
        (&cut, "is truncated: 4096 bytes"),
    ] {
        for allow in [false, true] {
            let mut args = vec!["-d".to_string(), sqlite_url(path), path_str(&out)];
            if allow {
                args.push("--allow-empty".into());
            }
            let err = fails_with(&dump2py(&args), 1);
            assert!(err.contains(want), "{err}");
            assert!(!out.exists());
        }
    }
    // A FIFO, a pipe on standard input, a character device: refused, even
    // with --allow-empty, and without suggesting it.
    let fifo = t.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for (db, kind) in [
        (path_str(&fifo), "a pipe or FIFO"),
        ("/dev/zero".to_string(), "a character device"),
        ("/dev/full".to_string(), "a character device"),
    ] {
        for allow in [false, true] {
            let mut args = vec!["-d".to_string(), format!("sqlite:{db}"), path_str(&out)];
            if allow {
                args.push("--allow-empty".into());
            }
            let err = fails_with(&dump2py(&args), 1);
            assert!(err.contains(kind), "{db}: {err}");
            assert!(!err.contains("allow"), "{db}: {err}");
            assert!(!out.exists());
        }
    }
    for allow in [false, true] {
        let mut cmd = Command::new(bin());
        cmd.args(["-d", "sqlite:/dev/stdin", &path_str(&out)]);
        if allow {
            cmd.arg("--allow-empty");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        // dump2py may stop reading at once: a broken pipe is fine.
        let _ = std::io::Write::write_all(&mut stdin, &db);
        drop(stdin);
        let r = child.wait_with_output().expect("wait");
        let err = fails_with(&r, 1);
        assert!(
            err.contains("a pipe or FIFO") && !err.contains("allow"),
            "{err}"
        );
        assert!(!out.exists());
    }
}

/// dump2py run by `sh` with its standard output redirected as `redirect`
/// says (`>&-` closes it).
fn with_stdout(redirect: &str, args: &[String]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"$0\" \"$@\" {redirect}"))
        .arg(bin())
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run sh")
}

#[test]
fn an_output_to_a_closed_or_unwritable_stdout_fails() {
    let t = tmp();
    let dump = t.path().join("dump");
    let args = vec![
        "-d".to_string(),
        min1_url(),
        "--json".into(),
        "-".into(),
        path_str(&dump),
    ];
    for (redirect, want) in [
        (">&-", "standard output is closed"),
        ("1</dev/null", "standard output is open for reading only"),
    ] {
        let r = with_stdout(redirect, &args);
        let err = fails_with(&r, 1);
        assert!(err.contains(want), "{redirect}: {err}");
        // Refused before anything is written: no dump either.
        assert!(!dump.exists(), "{redirect}");
    }
    // A full one fails when writing, naming it.
    let r = with_stdout(">/dev/full", &args);
    let err = fails_with(&r, 1);
    assert!(err.contains("<stdout>: No space left on device"), "{err}");
    // /dev/null is a fine place for it.
    let r = with_stdout(">/dev/null", &args);
    assert!(r.status.success(), "{}", stderr(&r));
}

#[test]
fn a_full_stdout_or_stderr_never_panics() {
    let t = tmp();
    let dump = t.path().join("dump");
    let a = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // Only messages are lost: the dump is complete and published, exit 0.
    let r = with_stdout("2>/dev/full", &a(&["-d", &min1_url(), &path_str(&dump)]));
    assert_eq!(r.status.code(), Some(0));
    dump_ok(["--verify", &path_str(&dump)]);
    // A failing run still fails, with its own status.
    let r = with_stdout("2>/dev/full", &a(&["-d", "sqlite:/nonexistent.db", "x"]));
    assert_eq!(r.status.code(), Some(1));
    let r = with_stdout(
        "2>/dev/full",
        &a(&["--max-row-count", "0", "-d", &min1_url(), "x"]),
    );
    assert_eq!(r.status.code(), Some(2));
    // A result on stdout that can't be written is a failure.
    for args in [
        a(&["--list-plugins"]),
        a(&["-s", "-d", &min1_url()]),
        a(&["--verify", &path_str(&dump)]),
        a(&["--help"]),
    ] {
        let r = with_stdout(">/dev/full", &args);
        let err = fails_with(&r, 1);
        assert!(
            err.contains("can't write to standard output: No space left on device"),
            "{args:?}: {err}"
        );
        let r = with_stdout(">/dev/full 2>/dev/full", &args);
        assert_eq!(r.status.code(), Some(1), "{args:?}");
    }
}

/// dump2py, ended after 30 s (exit status 124) if it hangs.
fn bounded_run(args: &[String]) -> Output {
    Command::new("timeout")
        .arg("30")
        .arg(bin())
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run timeout")
}

#[test]
fn small_files_are_read_bounded_never_forever() {
    let t = tmp();
    let dump = t.path().join("dump");
    dump_ok(["-d", &min1_url(), &path_str(&dump)]);
    let manifest = dump.join("dump2py.json");
    let fifo = t.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let a = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    for (special, kind) in [
        (Path::new("/dev/zero"), "a character device"),
        (fifo.as_path(), "a pipe or FIFO"),
    ] {
        // A dump's manifest replaced by a link to it.
        fs::remove_file(&manifest).expect("rm");
        std::os::unix::fs::symlink(special, &manifest).expect("ln");
        let err = fails_with(&bounded_run(&a(&["--verify", &path_str(&dump)])), 1);
        assert!(
            err.contains("dump2py.json is unreadable: not a regular file") && err.contains(kind),
            "{err}"
        );
        let err = fails_with(
            &bounded_run(&a(&["-o", "-d", &min1_url(), &path_str(&dump)])),
            1,
        );
        assert!(err.contains("was not written by dump2py"), "{err}");
        // Files named on the command line or in a URL.
        let p = path_str(special);
        for args in [
            a(&["--site-schema", &p, "-d", &min1_url(), "x"]),
            a(&[
                "-d",
                &format!("postgres://u@127.0.0.1:1/db?sslmode=verify-ca&sslrootcert={p}"),
                "x",
            ]),
            a(&[
                "-d",
                &format!("postgres://u@127.0.0.1:1/db?sslmode=require&sslcert={p}&sslkey={p}"),
                "x",
            ]),
            a(&[
                "-d",
                &format!("mysql://u@127.0.0.1:1/db?ssl-mode=VERIFY_CA&ssl-ca={p}"),
                "x",
            ]),
        ] {
            let err = fails_with(&bounded_run(&args), 1);
            assert!(
                err.contains(&format!("{p}: not a regular file ({kind})")),
                "{args:?}: {err}"
            );
        }
    }
    assert!(!t.path().join("x").exists());
}

#[test]
fn a_file_name_that_is_not_utf8_is_refused_a_directory_works() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let t = tmp();
    let json = t.path().join(OsString::from_vec(b"o\xff.json".to_vec()));
    let dump = t.path().join(OsString::from_vec(b"d\xff".to_vec()));
    let r = dump2py([
        "-d".as_ref(),
        min1_url().as_ref(),
        "--json".as_ref(),
        json.as_os_str(),
        dump.as_os_str(),
    ]);
    let err = fails_with(&r, 1);
    assert!(
        err.contains("o\\xFF.json\": the file name is not UTF-8"),
        "{err}"
    );
    assert!(fs::read_dir(t.path()).expect("ls").next().is_none());
    // A directory's name is in no manifest: it is fine.
    dump_ok(["-d".as_ref(), min1_url().as_ref(), dump.as_os_str()]);
    dump_ok(["--verify".as_ref(), dump.as_os_str()]);
    dump_ok([
        "-o".as_ref(),
        "-d".as_ref(),
        min1_url().as_ref(),
        dump.as_os_str(),
    ]);
}

#[test]
fn a_long_output_name_works() {
    let t = tmp();
    let name = "d".repeat(240);
    let dump = t.path().join(&name);
    let json = t.path().join(format!("{}.json", "j".repeat(230)));
    dump_ok([
        "-d",
        &min1_url(),
        &path_str(&dump),
        "--json",
        &path_str(&json),
    ]);
    assert!(dump.join("restore.py").exists() && json.exists());
    dump_ok([
        "-o",
        "-d",
        &min1_url(),
        &path_str(&dump),
        "--json",
        &path_str(&json),
    ]);
    assert_eq!(dot_files(t.path()), Vec::<String>::new());
}

#[test]
fn no_sync_is_accepted() {
    let t = tmp();
    let dump = t.path().join("dump");
    dump_ok(["--no-sync", "-d", &min1_url(), &path_str(&dump)]);
    assert!(dump.join("dump2py.json").exists());
}
