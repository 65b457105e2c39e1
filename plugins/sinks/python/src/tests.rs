//! The Python sink's own tests: one table written whole.

use super::*;
use dump2py_django::{ContentType, ViewOptions};
use dump2py_model::schema::{Column, ColumnKind, ForeignKey, Schema, Table};
use dump2py_model::value::{Date, DateTime, Time};
use dump2py_model::Value;

fn site() -> Site {
    let col = |n: &str, kind| Column {
        name: n.into(),
        declared_type: String::new(),
        kind,
        nullable: true,
        generated: false,
    };
    let t = Table {
        name: "app_thing".into(),
        columns: vec![
            col("id", ColumnKind::Int),
            col("name", ColumnKind::Text),
            col("name_de", ColumnKind::Text),
            col("made", ColumnKind::DateTime),
            col("owner_type_id", ColumnKind::Int),
            col("price", ColumnKind::Decimal),
        ],
        primary_key: vec!["id".into()],
        foreign_keys: vec![ForeignKey {
            column: "owner_type_id".into(),
            target_table: "django_content_type".into(),
            target_column: "id".into(),
        }],
        unique: vec![],
    };
    let cts = vec![ContentType {
        id: 7,
        app_label: "app".into(),
        model: "thing".into(),
        global: None,
    }];
    let options = ViewOptions {
        languages: vec!["en".into(), "de".into()],
    };
    Site::build(&Schema { tables: vec![t] }, cts, &|_| 0, &options)
}

fn row(i: i64) -> Vec<Value> {
    let made = DateTime {
        date: Date::new(2024, 3, 31).expect("date"),
        time: Time::new(1, 30, 5, 123456).expect("time"),
        offset_minutes: Some(0),
    };
    vec![
        Value::Int(i),
        Value::Text(format!("it's {i}")),
        Value::Text("ä".into()),
        Value::DateTime(made),
        if i == 1 {
            Value::Int(7)
        } else {
            Value::Int(99)
        },
        Value::Decimal("12.50".into()),
    ]
}

fn write(dir: &Path, max: u64, expected: u64, rows: i64) -> Vec<(String, String)> {
    let target = dir.join(format!("dump-{max}-{expected}-{rows}"));
    let mut sink = PythonSink::new(&SinkOptions {
        target: target.clone(),
        overwrite: false,
        max_row_count: max,
        jobs: 1,
        values: Default::default(),
    })
    .expect("sink");
    let site = site();
    let info = DumpInfo {
        source: "test".into(),
        tool_version: "0".into(),
        ..DumpInfo::default()
    };
    let model = &site.models[0];
    sink.begin(&info, &site).expect("begin");
    sink.table_start(model, expected).expect("start");
    let mut batch = Batch::new(6, rows as usize);
    for i in 1..=rows {
        batch.push_row(row(i));
    }
    sink.rows(model, &batch).expect("rows");
    sink.table_end(model, rows as u64).expect("end");
    sink.finish(&Report::default()).expect("finish");
    let mut tx = dump2py_plugin::Transaction::new();
    sink.publish(&mut tx).expect("publish");
    dump2py_staging::commit(tx).expect("commit");
    // The dump's Python files (not what staging may add beside them).
    let mut files: Vec<(String, String)> = fs::read_dir(&target)
        .expect("dump")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".py"))
        })
        .map(|e| {
            let e = e.expect("entry");
            let text = fs::read_to_string(e.path()).expect("read");
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn values_and_create_function() {
    let t = tempfile::tempdir().expect("tmp");
    let files = write(t.path(), 10, 2, 2);
    let data = &files[0].1;
    assert_eq!(
        data,
        "# -*- coding: UTF-8 -*-\n\
         logger.info(\"Loading 2 objects to table app_thing...\")\n\
         # fields: id, name, made, owner_type, price\n\
         loader.save(create_app_thing(1,[\"it's 1\", 'ä'],dt(2024,3,31,1,30,5,123456),ct_model('app', 'thing'),'12.50'))\n\
         loader.save(create_app_thing(2,[\"it's 2\", 'ä'],dt(2024,3,31,1,30,5,123456),missing_content_type(99),'12.50'))\n\
         \n\
         loader.flush_deferred_objects()\n"
    );
    let restore = &files[1].1;
    assert!(restore.contains(
        "def create_app_thing(id, name, made, owner_type_id, price):\n    \
         owner_type_id = new_content_type_id(owner_type_id)\n    \
         if price is not None: price = Decimal(price)\n    kw = dict()\n    kw.update(id=id)\n    \
         if name is not None: kw.update(bv2kw('name',name))\n"
    ));
    assert!(restore.contains("return settings.SITE.babelkw(fieldname, en=values[0], de=values[1])"));
    assert!(restore.contains("    execfile('app_thing.py', *args)\n"));
}

#[test]
fn a_model_global_that_is_no_identifier_is_refused() {
    let t = tempfile::tempdir().expect("tmp");
    let mut site = site();
    site.models[0].object_name = Some("Thing = 1\nimport os\n".into());
    let mut sink = PythonSink::new(&SinkOptions {
        target: t.path().join("dump"),
        overwrite: false,
        max_row_count: 10,
        jobs: 1,
        values: Default::default(),
    })
    .expect("sink");
    let info = DumpInfo {
        source: "test".into(),
        tool_version: "0".into(),
        ..DumpInfo::default()
    };
    let e = sink.begin(&info, &site).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "table app_thing: the site metadata names the model 'app.Thing = 1\\nimport os\\n', \
         whose global 'app_Thing = 1\\nimport os\\n' is not a Python identifier"
    );
}

#[test]
fn a_wrong_count_is_mended() {
    let t = tempfile::tempdir().expect("tmp");
    // Fewer rows than the source counted: 3 rows in parts of 2.
    let files = write(t.path(), 2, 5, 3);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["app_thing_1.py", "app_thing_2.py", "restore.py"]);
    assert!(files[0]
        .1
        .contains("Loading 3 objects (part 1 of 2) to table"));
    assert_eq!(files[0].1.matches("loader.save(").count(), 2);
    assert_eq!(files[1].1.matches("loader.save(").count(), 1);
    assert!(files[1].1.ends_with("\nloader.flush_deferred_objects()\n"));
    assert!(!files[0].1.contains("flush_deferred"));
    // More rows than counted: one file becomes three parts.
    let files = write(t.path(), 2, 1, 5);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "app_thing_1.py",
            "app_thing_2.py",
            "app_thing_3.py",
            "restore.py"
        ]
    );
    assert!(files[2].1.contains("Loading 5 objects (part 3 of 3)"));
    let restore = &files[3].1;
    assert_eq!(restore.matches("execfile('app_thing_").count(), 3);
    assert!(!restore.contains("execfile('app_thing.py'"));
}

/// The files of a dump, and its manifest's files and table counts (the
/// manifest's run id aside).
fn dump_with(dir: &Path, max: u64, expected: u64, rows: i64) -> String {
    let target = dir.join(format!("dump-{max}-{expected}-{rows}"));
    let files = write(dir, max, expected, rows);
    let manifest = dump2py_staging::read_manifest(&target.join("dump2py.json")).expect("manifest");
    for f in &manifest.files {
        let now = dump2py_staging::describe(&target.join(&f.name), &f.name).expect("file");
        assert_eq!(&now, f, "the manifest says what is on disk");
    }
    format!("{files:?}\n{:?}\n{:?}", manifest.files, manifest.tables)
}

#[test]
fn any_guess_of_the_rows_writes_what_the_count_writes() {
    let t = tempfile::tempdir().expect("tmp");
    // Parts of 3 rows: none, fewer, exactly one part, one more, many parts
    // (the header's numbers change length at 10 rows and 10 parts).
    for rows in [0, 1, 3, 4, 9, 10, 30, 31] {
        let counted = dump_with(t.path(), 3, rows as u64, rows);
        for guess in [0, 1, 3, 4, 7, 12, 29, 30, 31, 1000] {
            if guess != rows as u64 {
                assert_eq!(
                    dump_with(t.path(), 3, guess, rows),
                    counted,
                    "{rows} rows, guessed {guess}"
                );
            }
        }
    }
}
