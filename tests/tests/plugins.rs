//! Plugins from shared libraries (issue 6): the anonymize transformer, a
//! transformer written in C, a source and a sink from a plugin library,
//! broken plugins, and `--list-plugins`.
//!
//! The plugin libraries are workspace cdylibs that `cargo build --bins`
//! (tests/run) doesn't build: [`plugin`] builds them once per test process.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use dump2py_tests::{
    compare::read_dump,
    copy_db, fixture,
    lino::{lino, MIN1},
    min1_url, path_str, root,
    run::{bin, dump_ok, stderr, stdout},
    sqlite_url, tmp,
};
use rusqlite::Connection;

const ANONYMIZE: &str = "dump2py_anonymize";
const DEMO: &str = "dump2py_demo_plugin";
const SECRET_ENV: &str = "DUMP2PY_ANONYMIZE_SECRET";
const PATH_ENV: &str = "DUMP2PY_PLUGIN_PATH";
/// The personal data of min1, anonymised in every test that dumps it.
const PERSONAL: &str = "email|phone|gsm|first_name|last_name|username|contacts_partner.name";

/// The shared library of a workspace plugin crate, built if needed (cargo
/// does nothing when it is fresh).
fn plugin(lib: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let dir = bin().parent().map(Path::to_path_buf).unwrap_or_default();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut c = Command::new(cargo);
        c.current_dir(root())
            .args(["build", "--quiet", "-p", "dump2py-anonymize", "-p"])
            .arg("dump2py-demo-plugin");
        if let Some(target) = dir.parent() {
            c.arg("--target-dir").arg(target);
        }
        if dir.file_name().is_some_and(|n| n == "release") {
            c.arg("--release");
        }
        let out = c.output().expect("run cargo build");
        assert!(out.status.success(), "building plugins: {}", stderr(&out));
    });
    let path = dir.join(format!(
        "{}{lib}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Compiles tests/plugins/c/NAME.c against the SDK's header into `dir`.
fn c_plugin(name: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{name}.{}", std::env::consts::DLL_EXTENSION));
    let r = Command::new("cc")
        .args([
            "-shared",
            "-fPIC",
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
        ])
        .arg("-I")
        .arg(root().join("sdk/include"))
        .arg("-o")
        .arg(&out)
        .arg(root().join(format!("tests/plugins/c/{name}.c")))
        .output()
        .expect("run cc");
    assert!(r.status.success(), "cc {name}.c: {}", stderr(&r));
    out
}

/// dump2py with only the plugin environment the test gives.
fn run(args: &[String], env: &[(&str, &str)]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove(PATH_ENV)
        .env_remove(SECRET_ENV)
        .envs(env.iter().copied())
        .output()
        .expect("run dump2py")
}

fn run_ok(args: &[String], env: &[(&str, &str)]) -> Output {
    let out = run(args, env);
    assert!(out.status.success(), "dump2py {args:?}: {}", stderr(&out));
    out
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// The text of a dump's data files (all but restore.py).
fn data_text(dump: &Path) -> String {
    read_dump(dump)
        .into_iter()
        .filter(|(name, _)| name != "restore.py")
        .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

/// The argument lists of `create_TABLE(...)` in a dump, in order.
fn rows(dump: &Path, table: &str) -> Vec<String> {
    let prefix = format!("loader.save(create_{table}(");
    data_text(dump)
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix)?.strip_suffix("))"))
        .map(str::to_string)
        .collect()
}

/// A row's values: split at top-level commas (not inside quotes or
/// parentheses), a string literal's quotes dropped (escapes kept as written).
fn fields(row: &str) -> Vec<String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    let (mut quote, mut escaped, mut depth) = (None, false, 0);
    for c in row.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    continue;
                }
                cur.push(c);
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => {
                    depth += 1;
                    cur.push(c)
                }
                ')' => {
                    depth -= 1;
                    cur.push(c)
                }
                ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            },
        }
    }
    out.push(cur);
    out
}

/// The non-empty personal values of min1, from the database itself.
fn min1_personal() -> BTreeSet<String> {
    let db = Connection::open(fixture("min1.sqlite3")).expect("open min1");
    let mut out = BTreeSet::new();
    for sql in [
        "SELECT name, email, phone, gsm FROM contacts_partner",
        "SELECT first_name, last_name, '', '' FROM contacts_person",
        "SELECT email, first_name, last_name, username FROM users_user",
    ] {
        let mut st = db.prepare(sql).expect("prepare");
        let mut q = st.query([]).expect("query");
        while let Some(r) = q.next().expect("row") {
            for i in 0..4 {
                if let Some(v) = r.get::<_, Option<String>>(i).expect("text") {
                    if !v.is_empty() {
                        out.insert(v);
                    }
                }
            }
        }
    }
    assert!(out.len() > 100, "min1 has personal data: {out:?}");
    out
}

/// The values of `originals` that a Python dump shows as string literals.
fn shown_in_python(text: &str, originals: &BTreeSet<String>) -> Vec<String> {
    originals
        .iter()
        .filter(|v| text.contains(&format!("'{v}'")) || text.contains(&format!("\"{v}\"")))
        .cloned()
        .collect()
}

fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(o) => o.values().for_each(|v| json_strings(v, out)),
        _ => {}
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `email` pseudonyms: `u` and 16 hex digits at example.com.
fn is_email_pseudonym(v: &str) -> bool {
    v.strip_prefix('u')
        .and_then(|r| r.strip_suffix("@example.com"))
        .is_some_and(|h| h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Other pseudonyms: a capital, then lowercase letters and digits.
fn is_name_pseudonym(v: &str, len: usize) -> bool {
    v.len() == len
        && v.starts_with(|c: char| c.is_ascii_uppercase())
        && v[1..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

#[test]
fn anonymize_replaces_min1_personal_data_and_the_dump_restores_on_lino() {
    let lib = plugin(ANONYMIZE);
    let originals = min1_personal();
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let url = sqlite_url(&db);

    // Without the plugin, the check below finds every personal value.
    let plain = t.path().join("plain");
    run_ok(
        &args(&["-d", &url, &path_str(&plain), "--languages", "en,de,fr"]),
        &[],
    );
    let missed: Vec<_> = originals
        .iter()
        .filter(|v| !shown_in_python(&data_text(&plain), &[(*v).clone()].into()).is_empty())
        .collect();
    assert_eq!(
        missed.len(),
        originals.len(),
        "not all personal values found"
    );

    let anon = t.path().join("anon");
    let (json, xml) = (t.path().join("anon.json"), t.path().join("anon.xml"));
    let mut a = args(&[
        "-d",
        &url,
        &path_str(&anon),
        "--languages",
        "en,de,fr",
        "--plugin",
    ]);
    a.push(path_str(&lib));
    a.push(format!(
        "--transform=anonymize:secret=s1,columns={PERSONAL}"
    ));
    // The Python, JSON and XML outputs of one run.
    a.extend([
        "--json".into(),
        path_str(&json),
        "--xml".into(),
        path_str(&xml),
    ]);
    run_ok(&a, &[]);

    let text = data_text(&anon);
    assert_eq!(shown_in_python(&text, &originals), Vec::<String>::new());
    // The same objects as without the plugin.
    for table in ["contacts_partner", "contacts_person", "users_user"] {
        assert_eq!(
            rows(&anon, table).len(),
            rows(&plain, table).len(),
            "{table}"
        );
    }
    // Users: emails as emails, unique usernames with more bits, names short.
    let users: Vec<Vec<String>> = rows(&anon, "users_user")
        .iter()
        .map(|r| fields(r))
        .collect();
    assert_eq!(users.len(), 3);
    for u in &users {
        assert!(is_email_pseudonym(&u[3]), "{u:?}");
        assert!(is_name_pseudonym(&u[9], 14), "{u:?}");
        assert!(is_name_pseudonym(&u[12], 8), "{u:?}");
        assert!(is_name_pseudonym(&u[13], 8), "{u:?}");
    }
    let usernames: BTreeSet<_> = users.iter().map(|u| u[9].clone()).collect();
    assert_eq!(usernames.len(), 3);
    // The three users had the same email: still one value.
    assert_eq!(users[0][3], users[1][3]);
    // Empty strings stay empty: most partners have no email.
    let partners = rows(&anon, "contacts_partner");
    assert!(partners.iter().filter(|r| r.starts_with("1,'',")).count() == 1);

    {
        let parsed: serde_json::Value =
            serde_json::from_slice(&fs::read(&json).expect("read json")).expect("parse json");
        let mut strings = Vec::new();
        json_strings(&parsed, &mut strings);
        let leaked: Vec<_> = strings.iter().filter(|s| originals.contains(*s)).collect();
        assert!(leaked.is_empty(), "JSON shows {leaked:?}");
        assert!(strings.contains(&users[0][3]), "JSON lacks the pseudonyms");
        let xml_text = fs::read_to_string(&xml).expect("read xml");
        let leaked: Vec<_> = originals
            .iter()
            .filter(|v| xml_text.contains(&format!(">{}<", xml_escape(v))))
            .collect();
        assert!(leaked.is_empty(), "XML shows {leaked:?}");
        assert!(xml_text.contains(&format!(">{}<", users[0][3])));
    }

    // The anonymised dump restores on Lino, with the pseudonyms.
    let before = t.path().join("before.json");
    lino.dumpdata(MIN1, &db, &before);
    lino.restore(MIN1, &db, &anon);
    let after = t.path().join("after.json");
    lino.dumpdata(MIN1, &db, &after);
    let objects = |p: &Path| -> Vec<serde_json::Value> {
        serde_json::from_slice(&fs::read(p).expect("read dumpdata")).expect("parse dumpdata")
    };
    let count = |objs: &[serde_json::Value]| {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for o in objs {
            *m.entry(o["model"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        m
    };
    let (before, after) = (objects(&before), objects(&after));
    assert_eq!(count(&before), count(&after));
    let mut strings = Vec::new();
    for o in &after {
        json_strings(&o["fields"], &mut strings);
    }
    let leaked: Vec<_> = strings.iter().filter(|s| originals.contains(*s)).collect();
    assert!(leaked.is_empty(), "restored data shows {leaked:?}");
    let restored_users: BTreeSet<String> = after
        .iter()
        .filter(|o| o["model"] == "users.user")
        .filter_map(|o| o["fields"]["username"].as_str().map(str::to_string))
        .collect();
    assert_eq!(restored_users, usernames);
}

/// A customer table with NULLs, empty strings, a short column and a
/// unique one.
fn customers(dir: &Path, n: i64) -> PathBuf {
    let path = dir.join("shop.sqlite3");
    let conn = Connection::open(&path).expect("create db");
    conn.execute_batch(
        r#"CREATE TABLE "shop_customer" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
            "email" varchar(254) NULL, "name" varchar(10) NULL, "phone" varchar(30) NOT NULL,
            "username" varchar(30) NULL UNIQUE, "note" text NOT NULL);"#,
    )
    .expect("schema");
    let pick = |i: i64, every: i64, v: String| match i % every {
        0 => None,
        1 => Some(String::new()),
        _ => Some(v),
    };
    for i in 1..=n {
        conn.execute(
            "INSERT INTO shop_customer (email, name, phone, username, note) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                pick(i, 10, format!("c{i}@shop.test")),
                pick(i, 7, format!("Customer Number {i}")),
                if i % 5 == 0 { String::new() } else { format!("+32 4{:02} 12 34 {i:03}", i % 100) },
                (i % 11 != 0).then(|| format!("user{i}")),
                format!("note {i}"),
            ],
        )
        .expect("insert");
    }
    path
}

#[test]
fn anonymize_is_deterministic_keyed_and_keeps_nulls_empties_lengths_uniqueness() {
    let lib = plugin(ANONYMIZE);
    let t = tmp();
    let n = 400;
    let db = customers(t.path(), n);
    let spec = "anonymize:columns=email|shop_customer.name|phone|username";
    let dump = |name: &str, secret_arg: Option<&str>, env: &[(&str, &str)]| {
        let out = t.path().join(name);
        let spec = match secret_arg {
            Some(s) => format!("{spec},secret={s}"),
            None => spec.to_string(),
        };
        let a = args(&[
            "-d",
            &sqlite_url(&db),
            &path_str(&out),
            "--plugin",
            &path_str(&lib),
            "-T",
            &spec,
        ]);
        run_ok(&a, env);
        out
    };
    let a = dump("a", Some("s1"), &[]);
    let b = dump("b", Some("s1"), &[]);
    let from_env = dump("env", None, &[(SECRET_ENV, "s1")]);
    let other = dump("other", Some("s2"), &[]);
    assert_eq!(read_dump(&a), read_dump(&b), "same secret, same dump");
    assert_eq!(
        read_dump(&a),
        read_dump(&from_env),
        "the secret from the environment"
    );
    let plain_rows: Vec<Vec<Option<String>>> = {
        let conn = Connection::open(&db).expect("open");
        let mut st = conn
            .prepare("SELECT email, name, phone, username, note FROM shop_customer ORDER BY id")
            .expect("prepare");
        let r = st
            .query_map([], |r| {
                (0..5)
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .expect("query");
        r.collect::<rusqlite::Result<_>>().expect("rows")
    };
    let (ra, ro) = (rows(&a, "shop_customer"), rows(&other, "shop_customer"));
    assert_eq!(ra.len(), n as usize);
    let mut usernames = BTreeSet::new();
    for ((row, orig), oth) in ra.iter().zip(&plain_rows).zip(&ro) {
        let (f, g) = (fields(row), fields(oth));
        // f: id, email, name, phone, username, note
        for (i, o) in orig.iter().enumerate() {
            let (v, w) = (&f[i + 1], &g[i + 1]);
            match o.as_deref() {
                None => assert_eq!(v, "None", "NULL kept: {row}"),
                Some("") => assert_eq!(v, "", "'' kept: {row}"),
                Some(o) if i == 4 => assert_eq!(v, o, "note untouched"),
                Some(o) => {
                    assert_ne!(v, o, "{row}");
                    assert_ne!(v, w, "another secret, another pseudonym: {row}");
                }
            }
        }
        if let Some(e) = orig[0].as_deref().filter(|e| !e.is_empty()) {
            assert!(is_email_pseudonym(&f[1]), "{e} → {}", f[1]);
        }
        if orig[1].as_deref().is_some_and(|n| !n.is_empty()) {
            assert!(f[2].len() <= 10, "varchar(10): {}", f[2]);
        }
        if let Some(p) = orig[2].as_deref().filter(|p| !p.is_empty()) {
            let shape = |s: &str| s.chars().map(|c| c.is_ascii_digit()).collect::<Vec<_>>();
            assert_eq!(shape(p), shape(&f[3]), "{p} → {}", f[3]);
        }
        if orig[3].is_some() {
            assert!(is_name_pseudonym(&f[4], 14), "{}", f[4]);
            usernames.insert(f[4].clone());
        }
    }
    let expected_users = plain_rows.iter().filter(|r| r[3].is_some()).count();
    assert_eq!(usernames.len(), expected_users, "unique stays unique");
}

#[test]
fn anonymize_explains_bad_arguments_in_one_line() {
    let lib = plugin(ANONYMIZE);
    let t = tmp();
    let out = t.path().join("out");
    for (spec, want) in [
        ("anonymize", "no secret"),
        ("anonymize:secret=x", "no columns"),
        (
            "anonymize:secret=x,colums=email",
            "argument 2 is not secret=, columns= or domain= ('colums': did you mean columns?)",
        ),
        // A secret cut at its comma: no part of it is shown.
        (
            "anonymize:columns=email,secret=Sup3r,S3cretTail",
            "argument 3 is not KEY=VALUE",
        ),
        (
            "anonymize:columns=email,secret=Sup3r,S3cret=Tail",
            "argument 3 is not secret=, columns= or domain= (a secret",
        ),
        (
            "anonymize:secret=x,columns=id",
            "column contacts_companytype.id is",
        ),
        (
            "anonymize:secret=x,columns=contacts_partner.emial",
            "has no column emial",
        ),
    ] {
        let r = run(
            &args(&[
                "-d",
                &min1_url(),
                &path_str(&out),
                "--plugin",
                &path_str(&lib),
                "-T",
                spec,
            ]),
            &[],
        );
        assert_eq!(r.status.code(), Some(1), "{spec}");
        let err = stderr(&r);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: transformer anonymize (plugin anonymize "),
            "{err}"
        );
        assert!(err.contains(want), "{spec}: {err}");
        assert!(!err.contains("secret=x"), "the secret is shown: {err}");
        assert!(
            !err.contains("Sup3r") && !err.contains("S3cret") && !err.contains("Tail"),
            "a part of the secret is shown: {err}"
        );
        assert!(!out.exists());
    }
}

/// A name in `columns=` that matches no column of any table would leave
/// the data it meant in clear: the dump stops, naming it, and writes none
/// of its outputs. With `-v 2` the replaced columns are listed.
#[test]
fn anonymize_refuses_a_column_that_matches_nothing() {
    let lib = plugin(ANONYMIZE);
    let t = tmp();
    let (out, json) = (t.path().join("out"), t.path().join("out.json"));
    let mut a = args(&[
        "-d",
        &min1_url(),
        &path_str(&out),
        "--json",
        &path_str(&json),
        "--plugin",
        &path_str(&lib),
    ]);
    a.extend(args(&[
        "-T",
        "anonymize:secret=x,columns=emial|phone|users_usr.email",
    ]));
    let r = run(&a, &[]);
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    let err = stderr(&r);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: transformer anonymize (plugin anonymize "),
        "{err}"
    );
    assert!(
        err.contains(
            "columns=: emial, users_usr.email match no column of any table (the columns \
             that would be replaced: contacts_partner.phone)"
        ),
        "{err}"
    );
    assert!(!out.exists() && !json.exists());
    assert_eq!(
        fs::read_dir(t.path()).expect("ls").count(),
        0,
        "left behind"
    );

    let r = run_ok(
        &args(&[
            "-d",
            &min1_url(),
            &path_str(&out),
            "-v",
            "2",
            "--plugin",
            &path_str(&lib),
            "-T",
            "anonymize:secret=x,columns=email|phone|users_user.username",
        ]),
        &[],
    );
    let err = stderr(&r);
    for line in [
        "anonymised table contacts_partner: email, phone",
        "anonymised table users_user: email, username",
    ] {
        assert!(err.lines().any(|l| l == line), "{line}: {err}");
    }
}

#[test]
fn a_transformer_written_in_c_works_and_transformers_apply_in_order() {
    let t = tmp();
    let upper = c_plugin("upper", t.path());
    let anonymize = plugin(ANONYMIZE);
    let dump = |name: &str, transforms: &[&str]| -> Vec<Vec<String>> {
        let out = t.path().join(name);
        let mut a = args(&[
            "-d",
            &min1_url(),
            &path_str(&out),
            "--plugin",
            &path_str(&upper),
            "--plugin",
        ]);
        a.push(path_str(&anonymize));
        for tr in transforms {
            a.extend(["-T".to_string(), tr.to_string()]);
        }
        run_ok(&a, &[]);
        rows(&out, "contacts_person")
            .iter()
            .map(|r| fields(r))
            .collect()
    };
    let plain = dump("plain", &[]);
    let upper_last = dump("upper", &["upper:last_name"]);
    assert_eq!(plain.len(), 69);
    assert!(plain.iter().any(|r| r[4] == "Arens"), "{:?}", plain[0]);
    for (p, u) in plain.iter().zip(&upper_last) {
        // ASCII letters only: C knows no Unicode case.
        assert_eq!(u[4], p[4].to_ascii_uppercase(), "last name upper-cased");
        assert_eq!(u[2], p[2], "first name untouched");
    }
    // -T applies in order: upper-casing pseudonyms, or pseudonyms of
    // upper-cased names.
    let key = "anonymize:secret=k,columns=first_name";
    let anon_then_upper = dump("au", &[key, "upper:first_name"]);
    let upper_then_anon = dump("ua", &["upper:first_name", key]);
    for (au, ua) in anon_then_upper.iter().zip(&upper_then_anon) {
        assert_eq!(au[2], au[2].to_ascii_uppercase());
        assert!(is_name_pseudonym(&ua[2], 8), "{ua:?}");
        assert_ne!(au[2], ua[2]);
    }
    // Its own error, named.
    let out = t.path().join("err");
    let r = run(
        &args(&[
            "-d",
            &min1_url(),
            &path_str(&out),
            "--plugin",
            &path_str(&upper),
            "-T",
            "upper",
        ]),
        &[],
    );
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(
        stderr(&r).trim_end(),
        format!(
            "error: transformer upper (plugin c-upper 1.0.0, {}): name a column: -T upper:COLUMN",
            path_str(&fs::canonicalize(&upper).expect("canonical"))
        )
    );
    assert!(!out.exists());
}

#[test]
fn a_source_plugin_feeds_the_python_dump() {
    let demo = plugin(DEMO);
    let t = tmp();
    let out = t.path().join("out");
    run_ok(
        &args(&[
            "-d",
            "demo:5",
            &path_str(&out),
            "--plugin",
            &path_str(&demo),
        ]),
        &[],
    );
    let items = rows(&out, "demo_item");
    assert_eq!(items.len(), 5);
    assert_eq!(
        items[2],
        "3,None,'item 3','3.03',dt(2024,3,31,1,30,3,3),date(2024,2,29),False"
    );
    assert_eq!(
        rows(&out, "demo_kind"),
        ["1,'tools'", "2,\"toys 'n' games\""]
    );
    let restore = fs::read_to_string(out.join("restore.py")).expect("restore.py");
    assert!(restore.contains("demo:5"), "the source's description");
    // A table the plugin can't read: skipped with --tolerate, named.
    let out2 = t.path().join("out2");
    let r = run(
        &args(&[
            "-d",
            "demo:broken",
            &path_str(&out2),
            "--plugin",
            &path_str(&demo),
            "-t",
        ]),
        &[],
    );
    assert_eq!(r.status.code(), Some(3), "{}", stderr(&r));
    assert!(stderr(&r)
        .contains("warning: tolerated: table demo_broken: source demo (plugin demo 0.0.7, "));
    assert_eq!(rows(&out2, "demo_item").len(), 3);
    let out3 = t.path().join("out3");
    let r = run(
        &args(&[
            "-d",
            "demo:broken",
            &path_str(&out3),
            "--plugin",
            &path_str(&demo),
        ]),
        &[],
    );
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr(&r).starts_with("error: table demo_broken: source demo (plugin demo "));
    assert!(!out3.exists());
}

#[test]
fn a_sink_plugin_writes_its_format() {
    let demo = plugin(DEMO);
    let t = tmp();
    let csv = t.path().join("demo.csv");
    let sink = format!("democsv={}", path_str(&csv));
    run_ok(
        &args(&["-d", "demo:2", "--plugin", &path_str(&demo), "-f", &sink]),
        &[],
    );
    let text = fs::read_to_string(&csv).expect("csv written");
    assert!(
        text.contains("# demo.item\nid;kind;name;price;made;day;flag\n"),
        "{text}"
    );
    assert!(text.contains("2;1;item 2;2.02;2024-03-31 01:30:02.000002;2024-02-29;true\n"));
    assert!(text.ends_with("# 4 rows\n"), "{text}");
    // A failure later on leaves no file.
    let csv2 = t.path().join("failed.csv");
    let sink = format!("democsv={}", path_str(&csv2));
    let r = run(
        &args(&[
            "-d",
            "demo:2",
            "--plugin",
            &path_str(&demo),
            "-f",
            &sink,
            "-T",
            "fail",
        ]),
        &[],
    );
    assert_eq!(r.status.code(), Some(1));
    assert!(!csv2.exists());
}

/// The files in `dir`, by name.
fn names_in(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_sink_written_in_c_is_asked_what_it_wants_warns_and_publishes_last() {
    let t = tmp();
    let lib = c_plugin("sink", t.path());
    let work = t.path().join("work");
    fs::create_dir(&work).expect("mkdir");
    let counts = work.join("counts.txt");
    let sink = |p: &Path| format!("ccount={}", path_str(p));
    let r = run_ok(
        &args(&[
            "-d",
            &min1_url(),
            "--plugin",
            &path_str(&lib),
            "-f",
            &sink(&counts),
        ]),
        &[],
    );
    // min1 has users; the Python dump has them, this sink doesn't.
    let python = work.join("python");
    run_ok(&args(&["-d", &min1_url(), &path_str(&python)]), &[]);
    assert!(!rows(&python, "users_user").is_empty());
    fs::remove_dir_all(&python).expect("rm");
    let text = fs::read_to_string(&counts).expect("published");
    let lines: BTreeMap<&str, u64> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(m, n)| (m, n.parse().expect("a count")))
        .collect();
    // The models it wants: not those of `users` (min1 has users.user), and
    // of the skipped ones (Lino's dump leaves out the sessions) only the
    // sessions.
    assert_eq!(lines.get("contacts.person"), Some(&69), "{text}");
    assert!(!lines.keys().any(|m| m.starts_with("users.")), "{text}");
    let sessions = lines.iter().find(|(m, _)| m.ends_with(".session"));
    let Some((_, sessions)) = sessions else {
        panic!("no sessions: {text}");
    };
    // Its warning reaches the user's stderr.
    let err = stderr(&r);
    let warning = format!("warning: ccount: {sessions} sessions");
    assert!(err.lines().any(|l| l == warning), "{err}");
    assert_eq!(names_in(&work), BTreeSet::from(["counts.txt".to_string()]));
    // Another sink that fails at finish: this one finished (into its
    // .part file) but is never published, and its .part is gone.
    let good = work.join("good.txt");
    let r = run(
        &args(&[
            "-d",
            &min1_url(),
            "--plugin",
            &path_str(&lib),
            "-f",
            &sink(&good),
            "-f",
            &sink(&work.join("bad.fail")),
        ]),
        &[],
    );
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("sink ccount (plugin c-count 1.0.0, "),
        "{}",
        stderr(&r)
    );
    assert!(stderr(&r).contains("): failed on purpose at finish"));
    assert_eq!(names_in(&work), BTreeSet::from(["counts.txt".to_string()]));
}

#[test]
fn broken_plugins_fail_with_one_line_naming_them_and_leave_no_dump() {
    let t = tmp();
    let c_dir = t.path().join("c");
    fs::create_dir(&c_dir).expect("mkdir");
    let wrong_abi = fs::canonicalize(c_plugin("wrong_abi", &c_dir)).expect("path");
    let no_symbol = fs::canonicalize(c_plugin("no_symbol", &c_dir)).expect("path");
    let text = c_dir.join("text.so");
    fs::write(&text, "this is not a library\n").expect("write");
    let text = fs::canonicalize(text).expect("path");
    let demo = fs::canonicalize(plugin(DEMO)).expect("path");
    let work = t.path().join("work");
    fs::create_dir(&work).expect("mkdir");
    let out = work.join("out");
    let demo_label = format!("(plugin demo 0.0.7, {})", path_str(&demo));
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            args(&["--plugin", &path_str(&wrong_abi)]),
            format!(
                "plugin {}: plugin ABI version 999, but this dump2py needs version 3",
                path_str(&wrong_abi)
            ),
        ),
        (
            args(&["--plugin", &path_str(&no_symbol)]),
            format!(
                "plugin {}: not a dump2py plugin: it exports no DUMP2PY_PLUGIN",
                path_str(&no_symbol)
            ),
        ),
        (
            args(&["--plugin", &path_str(&text)]),
            format!("plugin {}: not a loadable library: ", path_str(&text)),
        ),
        (
            args(&["--plugin", "/nonexistent/libx.so"]),
            "plugin /nonexistent/libx.so: no such file".to_string(),
        ),
        (
            args(&["--plugin", &path_str(&demo), "-T", "fail:batch"]),
            format!("transformer fail {demo_label}: failed on purpose at batch"),
        ),
        (
            args(&["--plugin", &path_str(&demo), "-T", "fail:create"]),
            format!("transformer fail {demo_label}: failed on purpose at create"),
        ),
        (
            args(&["--plugin", &path_str(&demo), "-T", "panic:batch"]),
            format!("transformer panic {demo_label}: panicked: demo panic at batch at "),
        ),
        (
            args(&["--plugin", &path_str(&demo), "-T", "panic:table"]),
            format!("transformer panic {demo_label}: panicked: demo panic at table at "),
        ),
    ];
    for (extra, want) in cases {
        let mut a = args(&[
            "-d",
            &min1_url(),
            &path_str(&out),
            "--languages",
            "en,de,fr",
        ]);
        a.extend(extra);
        let r = run(&a, &[]);
        assert_eq!(r.status.code(), Some(1), "{a:?}: {}", stderr(&r));
        let err = stderr(&r);
        assert_eq!(err.lines().count(), 1, "{a:?}: not one line: {err}");
        assert!(err.starts_with(&format!("error: {want}")), "{a:?}: {err}");
        assert!(!err.contains("thread '"), "{err}");
        // No dump, and nothing staged beside it.
        let left: Vec<_> = fs::read_dir(&work).expect("ls").collect();
        assert!(left.is_empty(), "{a:?} left {left:?}");
    }
}

#[test]
fn a_plugin_that_calls_exit_never_looks_like_success() {
    let t = tmp();
    let demo = fs::canonicalize(plugin(DEMO)).expect("path");
    let work = t.path().join("work");
    fs::create_dir(&work).expect("mkdir");
    let out = work.join("out");
    for stage in ["create", "table", "batch"] {
        let a = args(&[
            "-d",
            &min1_url(),
            &path_str(&out),
            "--json",
            &path_str(&work.join("o.json")),
            "--plugin",
            &path_str(&demo),
            "-T",
            &format!("exit:{stage}"),
        ]);
        let r = run(&a, &[]);
        let err = stderr(&r);
        assert_eq!(r.status.code(), Some(1), "{stage}: {err}");
        assert_eq!(
            err.trim().lines().count(),
            1,
            "{stage}: not one line: {err}"
        );
        assert!(
            err.contains("ended by exit() before dump2py finished")
                && err.contains("no output was written"),
            "{stage}: {err}"
        );
        let left: Vec<_> = fs::read_dir(&work).expect("ls").collect();
        assert!(left.is_empty(), "{stage} left {left:?}");
    }
}

/// A plugin's crash ends dump2py with its signal, after one line naming
/// the plugin; a symbol no library defines is refused at load, naming it;
/// a huge error message is cut; a value a transformer made that can't be
/// dumped is the transformer's error (never skipped with -t as the table's).
#[test]
fn plugin_crashes_missing_symbols_long_errors_and_bad_values_name_the_plugin() {
    use std::os::unix::process::ExitStatusExt;
    let t = tmp();
    let c_dir = t.path().join("c");
    fs::create_dir(&c_dir).expect("mkdir");
    let undefined = fs::canonicalize(c_plugin("undefined", &c_dir)).expect("path");
    let demo = fs::canonicalize(plugin(DEMO)).expect("path");
    let label = format!("transformer {{}} (plugin demo 0.0.7, {})", path_str(&demo));
    let work = t.path().join("work");
    fs::create_dir(&work).expect("mkdir");
    let out = path_str(&work.join("out"));
    for (spec, signal, what) in [
        (
            "segv:batch",
            libc_sig::SEGV,
            "SIGSEGV, a segmentation fault",
        ),
        (
            "segv:create",
            libc_sig::SEGV,
            "SIGSEGV, a segmentation fault",
        ),
        ("abort:table", libc_sig::ABRT, "SIGABRT, an abort"),
    ] {
        let r = run(
            &args(&[
                "-d",
                &min1_url(),
                &out,
                "--plugin",
                &path_str(&demo),
                "-T",
                spec,
            ]),
            &[],
        );
        assert_eq!(r.status.signal(), Some(signal), "{spec}: {}", stderr(&r));
        let err = stderr(&r);
        assert_eq!(err.trim().lines().count(), 1, "{spec}: {err}");
        let name = spec.split(':').next().unwrap_or_default();
        let want = format!(
            "error: dump2py crashed ({what}) in {}: no output was written",
            label.replace("{}", name)
        );
        assert!(err.trim().starts_with(&want), "{spec}: {err}");
        assert!(!work.join("out").exists());
    }
    // The next run removes what a crash left.
    dump_ok(["-d", &min1_url(), &out]);
    assert_eq!(names_in(&work), BTreeSet::from(["out".to_string()]));
    fs::remove_dir_all(work.join("out")).expect("rm");

    let r = run(
        &args(&[
            "-d",
            &min1_url(),
            &out,
            "--plugin",
            &path_str(&undefined),
            "-T",
            "undefined",
        ]),
        &[],
    );
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(&format!(
            "error: plugin {}: not a loadable library: ",
            path_str(&undefined)
        )) && err.contains("undefined symbol: dump2py_test_no_such_function"),
        "{err}"
    );

    let r = run(
        &args(&[
            "-d",
            &min1_url(),
            &out,
            "--plugin",
            &path_str(&demo),
            "-T",
            "longerror:1000000",
        ]),
        &[],
    );
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{}", err.len());
    assert!(err.len() < 3000, "{} bytes", err.len());
    assert!(
        err.trim_end().ends_with("… (1000003 bytes in all)"),
        "{}",
        &err[err.len() - 80..]
    );

    let xml = path_str(&work.join("o.xml"));
    for tolerate in [false, true] {
        let mut a = args(&[
            "-d",
            &min1_url(),
            "--xml",
            &xml,
            "--plugin",
            &path_str(&demo),
            "-T",
            "control:name",
        ]);
        if tolerate {
            a.push("-t".into());
        }
        let r = run(&a, &[]);
        let err = stderr(&r);
        assert_eq!(r.status.code(), Some(1), "{err}");
        assert!(
            err.starts_with(&format!(
                "error: {}: wrote a value that can't be dumped: table contacts_companytype, column name, primary key 1: contains control characters",
                label.replace("{}", "control")
            )),
            "{err}"
        );
    }
    assert!(names_in(&work).is_empty(), "{:?}", names_in(&work));
}

/// Signal numbers (Linux).
mod libc_sig {
    pub const SEGV: i32 = 11;
    pub const ABRT: i32 = 6;
}

/// `--list-plugins` as (kind, name, version, schemes, from).
fn listing(extra: &[String], env: &[(&str, &str)]) -> (String, Vec<[String; 5]>) {
    let mut a = args(&["--list-plugins"]);
    a.extend(extra.iter().cloned());
    let text = stdout(&run_ok(&a, env));
    let rows = text
        .lines()
        .skip(1)
        .map(|l| {
            let mut it = l.split_whitespace();
            let mut next = || it.next().unwrap_or_default().to_string();
            let row = [next(), next(), next(), next(), String::new()];
            let from = l.split_whitespace().skip(4).collect::<Vec<_>>().join(" ");
            [
                row[0].clone(),
                row[1].clone(),
                row[2].clone(),
                row[3].clone(),
                from,
            ]
        })
        .collect();
    (text, rows)
}

#[test]
fn list_plugins_is_sorted_stable_and_every_entry_is_reachable() {
    let t = tmp();
    let demo = fs::canonicalize(plugin(DEMO)).expect("path");
    let anonymize = fs::canonicalize(plugin(ANONYMIZE)).expect("path");
    let upper = fs::canonicalize(c_plugin("upper", t.path())).expect("path");
    let libs = |order: &[&PathBuf]| -> Vec<String> {
        order
            .iter()
            .flat_map(|p| ["--plugin".to_string(), path_str(p)])
            .collect()
    };
    let (text, rows) = listing(&libs(&[&demo, &anonymize, &upper]), &[]);
    let (again, _) = listing(&libs(&[&upper, &anonymize, &demo]), &[]);
    assert_eq!(text, again, "the order of --plugin doesn't matter");
    assert!(text.starts_with("KIND "), "{text}");
    let rank = |k: &str| {
        ["source", "sink", "transformer"]
            .iter()
            .position(|x| *x == k)
    };
    let keys: Vec<_> = rows.iter().map(|r| (rank(&r[0]), r[1].clone())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "{text}");
    assert!(keys.iter().all(|(r, _)| r.is_some()), "{text}");
    let find = |kind: &str, name: &str| rows.iter().find(|r| r[0] == kind && r[1] == name);
    let version = env!("CARGO_PKG_VERSION");
    let builtins = [
        ("source", "mysql"),
        ("source", "postgres"),
        ("source", "sqlite"),
        ("sink", "json"),
        ("sink", "python"),
        ("sink", "xml"),
    ];
    for (kind, name) in builtins {
        let r = find(kind, name).unwrap_or_else(|| panic!("no {kind} {name}: {text}"));
        assert_eq!((r[2].as_str(), r[4].as_str()), (version, "built in"));
    }
    assert_eq!(
        find("source", "sqlite").map(|r| r[3].as_str()),
        Some("sqlite:,sqlite3:")
    );
    let demo_row = find("source", "demo").expect("demo source");
    assert_eq!(
        demo_row[2..],
        ["0.0.7".to_string(), "demo:".into(), path_str(&demo)]
    );
    assert_eq!(
        find("sink", "democsv").map(|r| r[4].clone()),
        Some(path_str(&demo))
    );
    assert_eq!(
        find("transformer", "anonymize").map(|r| r[4].clone()),
        Some(path_str(&anonymize))
    );
    assert_eq!(
        find("transformer", "upper").map(|r| [r[2].clone(), r[4].clone()]),
        Some(["1.0.0".to_string(), path_str(&upper)])
    );

    let all_libs = libs(&[&demo, &anonymize, &upper]);
    let with_libs = |a: &[&str]| {
        let mut v = args(a);
        v.extend(all_libs.iter().cloned());
        v
    };
    // Every source is reachable by its schemes; an unknown one lists them all.
    let schemes: Vec<String> = rows
        .iter()
        .filter(|r| r[0] == "source")
        .flat_map(|r| r[3].split(',').map(str::to_string).collect::<Vec<_>>())
        .collect();
    let r = run(&with_libs(&["-s", "-d", "nosuch:x"]), &[]);
    let err = stderr(&r);
    assert!(
        err.contains("unknown database URL scheme 'nosuch:'"),
        "{err}"
    );
    for scheme in &schemes {
        assert!(err.contains(scheme.as_str()), "{scheme} not listed: {err}");
        // Nothing listens on the discard port: each source fails its own way.
        let url = format!("{scheme}//127.0.0.1:9/none");
        let r = run(&with_libs(&["-s", "-d", &url]), &[]);
        assert!(
            !stderr(&r).contains("unknown database URL scheme"),
            "{url}: {}",
            stderr(&r)
        );
    }
    // Every transformer is reachable by name; an unknown one lists them all.
    let transformers: Vec<&str> = rows
        .iter()
        .filter(|r| r[0] == "transformer")
        .map(|r| r[1].as_str())
        .collect();
    let r = run(&with_libs(&["-s", "-d", &min1_url(), "-T", "nosuch"]), &[]);
    assert_eq!(
        stderr(&r).trim_end(),
        format!(
            "error: unknown transformer 'nosuch'; available: {}; a plugin's transformer needs \
             its library: --plugin PATH (or its directory in DUMP2PY_PLUGIN_PATH)",
            transformers.join(", ")
        )
    );
    for name in transformers {
        let r = run(&with_libs(&["-s", "-d", &min1_url(), "-T", name]), &[]);
        assert!(
            !stderr(&r).contains("unknown transformer"),
            "{name}: {}",
            stderr(&r)
        );
    }
    // Every sink is reachable by -f NAME=TARGET; an unknown one lists them all.
    let r = run(&with_libs(&["-d", &min1_url(), "-f", "nosuch=x"]), &[]);
    let sinks: Vec<&str> = rows
        .iter()
        .filter(|r| r[0] == "sink")
        .map(|r| r[1].as_str())
        .collect();
    assert_eq!(
        stderr(&r).trim_end(),
        format!(
            "error: unknown output format 'nosuch'; supported: {}",
            sinks.join(", ")
        )
    );
    for name in sinks {
        let target = t.path().join(format!("reach-{name}"));
        let spec = format!("{name}={}", path_str(&target));
        let r = run(&with_libs(&["-d", "demo:1", "-f", &spec]), &[]);
        assert!(r.status.success(), "{name}: {}", stderr(&r));
        assert!(target.exists(), "{name} wrote nothing");
    }
}

#[test]
fn plugin_path_directories_are_loaded_and_names_cannot_be_taken_twice() {
    let t = tmp();
    let demo = fs::canonicalize(plugin(DEMO)).expect("path");
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    fs::create_dir(&a).expect("mkdir");
    fs::create_dir(&b).expect("mkdir");
    fs::write(a.join("README.txt"), "not a library: ignored").expect("write");
    let file = demo.file_name().expect("file name");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&demo, a.join(file)).expect("symlink");
    #[cfg(not(unix))]
    fs::copy(&demo, a.join(file)).expect("copy");
    let path = path_str(&a);
    let (_, rows) = listing(&[], &[(PATH_ENV, &path)]);
    assert!(
        rows.iter().any(|r| r[1] == "demo" && r[0] == "source"),
        "{rows:?}"
    );
    // The same file by the directory and by --plugin: loaded once.
    let (_, rows2) = listing(&args(&["--plugin", &path_str(&demo)]), &[(PATH_ENV, &path)]);
    assert_eq!(rows, rows2);
    // Another copy of it takes names that are taken.
    let copy = b.join(file);
    fs::copy(&demo, &copy).expect("copy");
    let joined = std::env::join_paths([&a, &b]).expect("join");
    let r = run(
        &args(&["--list-plugins"]),
        &[(PATH_ENV, &joined.to_string_lossy())],
    );
    assert_eq!(r.status.code(), Some(1));
    let copy = fs::canonicalize(&copy).expect("path");
    assert_eq!(
        stderr(&r).trim_end(),
        format!(
            "error: plugin {}: source 'demo' is already provided by {}",
            path_str(&copy),
            path_str(&demo)
        )
    );
    // A directory that isn't there is an error, not silence.
    let r = run(
        &args(&["--list-plugins"]),
        &[(PATH_ENV, "/nonexistent/plugins")],
    );
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr(&r).starts_with("error: DUMP2PY_PLUGIN_PATH: /nonexistent/plugins: "));
}
