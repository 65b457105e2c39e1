use super::*;
use std::collections::HashSet;

fn col(name: &str, declared: &str) -> Column {
    Column {
        name: name.into(),
        declared_type: declared.into(),
        kind: if declared.contains("char") || declared == "text" {
            ColumnKind::Text
        } else {
            ColumnKind::Int
        },
        nullable: true,
        generated: false,
    }
}

fn people() -> Table {
    Table {
        name: "app_person".into(),
        columns: vec![
            col("id", "integer"),
            col("email", "varchar(254)"),
            col("phone", "varchar(20)"),
            col("name", "varchar(200)"),
            col("username", "varchar(30)"),
            col("code", "varchar(5)"),
        ],
        primary_key: vec!["id".into()],
        foreign_keys: vec![],
        unique: vec![vec!["username".into()]],
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn run(args: &str, rows: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>> {
    let t = people();
    let mut a = Anonymize::new(args, None)?;
    let out = a.table(&t)?;
    assert_eq!(out, t);
    let mut b = Batch::new(t.columns.len(), rows.len());
    for r in rows {
        b.push_row(r);
    }
    a.batch(&t, &out, &mut b)?;
    Ok(b.rows().map(|r| r.to_vec()).collect())
}

const ALL: &str = "secret=s1,columns=email|phone|app_person.name|username|code";

fn row(i: usize) -> Vec<Value> {
    vec![
        Value::Int(i as i64),
        text(&format!("person{i}@mail.org")),
        text(&format!("+32 87 {i:02} 34")),
        text(&format!("Person {i}")),
        text(&format!("user{i}")),
        text("ab"),
    ]
}

#[test]
fn pseudonyms_have_the_columns_shapes() {
    let out = run(ALL, vec![row(1)]).expect("runs");
    let r = &out[0];
    assert_eq!(r[0], Value::Int(1));
    let Value::Text(email) = &r[1] else {
        panic!("{r:?}")
    };
    assert_eq!(email.len(), "u@example.com".len() + 16, "{email}");
    assert!(email.starts_with('u') && email.ends_with("@example.com"));
    assert!(email[1..17].chars().all(|c| c.is_ascii_hexdigit()));
    let Value::Text(phone) = &r[2] else {
        panic!("{r:?}")
    };
    assert_eq!(phone.len(), "+32 87 01 34".len());
    assert!(phone.starts_with('+') && phone.chars().nth(3) == Some(' '));
    assert_ne!(phone, "+32 87 01 34");
    let Value::Text(name) = &r[3] else {
        panic!("{r:?}")
    };
    assert_eq!(name.len(), 8);
    assert!(name.starts_with(|c: char| c.is_ascii_uppercase()));
    let Value::Text(user) = &r[4] else {
        panic!("{r:?}")
    };
    assert_eq!(user.len(), 14, "unique: more bits");
    let Value::Text(code) = &r[5] else {
        panic!("{r:?}")
    };
    assert_eq!(code.len(), 5, "cut to varchar(5)");
}

#[test]
fn deterministic_keyed_and_shared_across_columns() {
    let a = run(ALL, vec![row(1), row(2)]).expect("runs");
    let b = run(ALL, vec![row(1), row(2)]).expect("runs");
    assert_eq!(a, b);
    let other = run(&ALL.replace("s1", "s2"), vec![row(1)]).expect("runs");
    for i in 1..6 {
        assert_ne!(a[0][i], other[0][i], "column {i}");
    }
    assert_ne!(a[0][3], a[1][3]);
    // The same value in two name-shaped columns: the same pseudonym.
    let mut same = row(1);
    same[3] = text("user1");
    let same = run(ALL, vec![same]).expect("runs");
    assert_eq!(same[0][3].clone(), {
        let Value::Text(u) = &same[0][4] else {
            panic!()
        };
        Value::Text(u[..8].to_string())
    });
}

#[test]
fn nulls_and_empty_strings_stay() {
    let r = vec![
        Value::Int(1),
        Value::Null,
        text(""),
        Value::Null,
        text(""),
        Value::Int(12345),
    ];
    let out = run(ALL, vec![r.clone()]).expect("runs");
    assert_eq!(out[0][..5], r[..5]);
    assert!(matches!(&out[0][5], Value::Text(s) if s.len() == 5 && s != "12345"));
}

#[test]
fn unique_columns_stay_unique() {
    let rows: Vec<_> = (0..20000).map(row).collect();
    let out = run(ALL, rows).expect("runs");
    let users: HashSet<_> = out.iter().map(|r| format!("{:?}", r[4])).collect();
    assert_eq!(users.len(), 20000);
    let emails: HashSet<_> = out.iter().map(|r| format!("{:?}", r[1])).collect();
    assert_eq!(emails.len(), 20000);
}

#[test]
fn only_named_columns_change() {
    let out = run("secret=s,columns=other_table.name|email", vec![row(1)]).expect("runs");
    assert_eq!(out[0][2..], row(1)[2..]);
    assert_ne!(out[0][1], row(1)[1]);
}

#[test]
fn bad_arguments_are_explained() {
    let err = |args: &str, env: Option<&str>| {
        Anonymize::new(args, env.map(str::to_string))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(err("columns=email", None).starts_with("no secret"));
    assert!(err("columns=email,secret=", None).starts_with("no secret"));
    assert_eq!(err("columns=email", Some("from-env")), "");
    assert!(err("secret=x", None).starts_with("no columns"));
    assert!(err("secret=x,colums=email", None).starts_with(
        "argument 2 is not secret=, columns= or domain= ('colums': did you mean columns?)"
    ));
    // Part of a secret cut at a comma is never shown.
    let e = err("columns=email,secret=Sup3r,S3cretTail", None);
    assert!(
        e.starts_with("argument 3 is not KEY=VALUE") && !e.contains("S3cret"),
        "{e}"
    );
    let e = err("columns=email,secret=Sup3r,Tail=x", None);
    assert!(
        e.starts_with("argument 3 is not secret=") && !e.contains("Tail"),
        "{e}"
    );
    assert!(err("secret=x,columns=a..b", None).contains("'a..b' is not a column"));
    assert!(err("secret=x,columns=a|", None).contains("'' is not a column"));
    assert!(err("secret=x,columns=email,secret=y", None).contains("given twice"));
    assert!(err("secret=x,columns=a,domain=ex ample", None).contains("not a domain"));
    assert!(err("email", None).contains("not KEY=VALUE"));
    let e = err("secret=x,columns=email", None);
    assert!(!e.contains('\n'));
    let table_err = |cols: &str| {
        run(&format!("secret=x,columns={cols}"), vec![])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(table_err("id").contains("app_person.id is integer"));
    assert!(table_err("app_person.emial").contains("has no column emial"));
}

#[test]
fn a_name_that_matches_nothing_is_an_error_at_the_end() {
    let finish = |cols: &str| {
        let mut a = Anonymize::new(&format!("secret=s,columns={cols}"), None)?;
        a.table(&people())?;
        a.finish()
    };
    assert_eq!(
        finish("email|emial|other_table.name")
            .err()
            .map(|e| e.to_string()),
        Some(
            "columns=: emial, other_table.name match no column of any table (the \
             columns that would be replaced: app_person.email)"
                .to_string()
        )
    );
    assert_eq!(
        finish("emial").err().map(|e| e.to_string()),
        Some(
            "columns=: emial matches no column of any table (the columns that would be \
             replaced: no column at all)"
                .to_string()
        )
    );
    // A bare name matched by one table of many is enough.
    let mut a = Anonymize::new("secret=s,columns=phone|email|app_person.name", None).expect("args");
    let mut other = people();
    other.name = "app_other".into();
    other.columns.retain(|c| c.name != "phone");
    a.table(&people()).expect("table");
    a.table(&other).expect("table");
    assert_eq!(
        a.finish().expect("all matched"),
        [
            "anonymised table app_other: email",
            "anonymised table app_person: email, phone, name"
        ]
    );
}

#[test]
fn too_long_values_are_cut_by_characters() {
    // A phone keeps its punctuation, whatever the characters; the
    // database holds more than its declared varchar(3).
    let mut t = people();
    t.columns[5].name = "tel".into();
    t.columns[5].declared_type = "varchar(3)".into();
    let mut a = Anonymize::new("secret=s,columns=tel", None).expect("args");
    a.table(&t).expect("table");
    let mut b = Batch::new(t.columns.len(), 1);
    let mut r = row(1);
    r[5] = text("☎ 1 ☎");
    b.push_row(r);
    a.batch(&t, &t, &mut b).expect("batch");
    let Value::Text(v) = &b.values[5] else {
        panic!("{:?}", b.values)
    };
    assert_eq!(v.chars().count(), 3);
    assert!(v.starts_with("☎ ") && v != "☎ 1", "{v}");
}

#[test]
fn lengths_from_declared_types() {
    assert_eq!(max_len("varchar(254)"), Some(254));
    assert_eq!(max_len("character varying(30)"), Some(30));
    assert_eq!(max_len("NVARCHAR(10)"), Some(10));
    assert_eq!(max_len("text"), None);
    assert_eq!(max_len("decimal(10,2)"), None);
}
