//! Test plugins, loaded by tests/tests/plugins.rs as one library:
//!
//! - source `demo` for URLs `demo:ROWS`: two tables, `demo_kind` (2 rows)
//!   and `demo_item` (ROWS rows, a foreign key to `demo_kind`); `demo:broken`
//!   also has a table `demo_broken` that can't be read;
//! - sink `democsv`: one text file, per model a `# app.model` line, the
//!   field names, then one line per row, values separated by `;`; it
//!   appears only when the dump is complete;
//! - transformers that fail on purpose: `fail:STAGE` returns an error and
//!   `panic:STAGE` panics, at STAGE `create`, `table` or `batch`;
//!   `exit:STAGE` calls `exit(0)`, `abort:STAGE` calls `abort()` and
//!   `segv:STAGE` crashes with a segmentation fault;
//! - `control:COLUMN` puts a control character into every text value of
//!   COLUMN (which XML can't write), `longerror:BYTES` fails with a
//!   message of BYTES bytes.

use std::fs::File;
use std::io::{BufWriter, Write};

use dump2py_sdk::plugin::registry::OptionValue;
use dump2py_sdk::prelude::*;
use dump2py_staging::Staged;

fn col(name: &str, declared: &str, kind: ColumnKind, nullable: bool) -> Column {
    Column {
        name: name.into(),
        declared_type: declared.into(),
        kind,
        nullable,
        generated: false,
    }
}

struct Demo {
    rows: i64,
    broken: bool,
}

impl Demo {
    fn tables(&self) -> Vec<Table> {
        let mut tables = vec![
            Table {
                name: "demo_item".into(),
                columns: vec![
                    col("id", "integer", ColumnKind::Int, false),
                    col("kind_id", "bigint", ColumnKind::Int, true),
                    col("name", "varchar(50)", ColumnKind::Text, false),
                    col("price", "decimal", ColumnKind::Decimal, true),
                    col("made", "datetime", ColumnKind::DateTime, true),
                    col("day", "date", ColumnKind::Date, true),
                    col("flag", "bool", ColumnKind::Bool, false),
                ],
                primary_key: vec!["id".into()],
                foreign_keys: vec![ForeignKey {
                    column: "kind_id".into(),
                    target_table: "demo_kind".into(),
                    target_column: "id".into(),
                }],
                unique: vec![],
            },
            Table {
                name: "demo_kind".into(),
                columns: vec![
                    col("id", "integer", ColumnKind::Int, false),
                    col("name", "varchar(20)", ColumnKind::Text, false),
                ],
                primary_key: vec!["id".into()],
                foreign_keys: vec![],
                unique: vec![vec!["name".into()]],
            },
        ];
        if self.broken {
            tables.insert(
                0,
                Table {
                    name: "demo_broken".into(),
                    columns: vec![col("id", "integer", ColumnKind::Int, false)],
                    primary_key: vec!["id".into()],
                    foreign_keys: vec![],
                    unique: vec![],
                },
            );
        }
        tables
    }

    fn rows(&self, table: &str) -> Result<Vec<Vec<Value>>> {
        Ok(match table {
            "demo_kind" => vec![
                vec![Value::Int(1), Value::Text("tools".into())],
                vec![Value::Int(2), Value::Text("toys 'n' games".into())],
            ],
            "demo_item" => (1..=self.rows)
                .map(|i| {
                    let made = DateTime::parse(&format!("2024-03-31 01:30:{:02}.{:06}", i % 60, i));
                    vec![
                        Value::Int(i),
                        if i % 3 == 0 {
                            Value::Null
                        } else {
                            Value::Int(1 + i % 2)
                        },
                        Value::Text(format!("item {i}")),
                        Value::Decimal(format!("{}.{:02}", i, i % 100)),
                        made.map_or(Value::Null, Value::DateTime),
                        Date::new(2024, 2, 29).map_or(Value::Null, Value::Date),
                        Value::Bool(i % 2 == 0),
                    ]
                })
                .collect(),
            other => return Err(Error::table(other, "this table can't be read, on purpose")),
        })
    }
}

impl Source for Demo {
    fn describe(&self) -> String {
        format!("demo:{}", self.rows)
    }

    fn schema(&mut self) -> Result<Schema> {
        Ok(Schema {
            tables: self.tables(),
        })
    }

    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        match table.name.as_str() {
            "demo_broken" => Ok(1),
            t => Ok(self.rows(t)?.len() as u64),
        }
    }

    fn read_table(&mut self, table: &Table, batch_rows: usize, out: &mut BatchFn) -> Result<()> {
        let rows = self.rows(&table.name)?;
        for chunk in rows.chunks(batch_rows.max(1)) {
            let mut b = Batch::new(table.columns.len(), chunk.len());
            for r in chunk {
                b.push_row(r.iter().cloned());
            }
            if !out(b)? {
                break;
            }
        }
        Ok(())
    }
}

fn open_demo(url: &str) -> Result<Box<dyn Source>> {
    let rest = url.split_once(':').map_or("", |(_, r)| r);
    let (rows, broken) = match rest {
        "" => (3, false),
        "broken" => (3, true),
        n => (
            n.parse().map_err(|_| {
                Error::Connect(format!(
                    "demo: expected demo:ROWS or demo:broken, not {url}"
                ))
            })?,
            false,
        ),
    };
    Ok(Box::new(Demo { rows, broken }))
}

/// The `democsv` sink.
struct Csv {
    staged: Staged,
    out: Option<BufWriter<File>>,
    separator: String,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Decimal(s) | Value::Text(s) | Value::Json(s) => s.clone(),
        Value::Date(d) => d.to_string(),
        Value::Time(t) => t.to_string(),
        Value::DateTime(d) => d.to_string(),
        Value::Duration(d) => d.to_string(),
        Value::Bytes(b) => format!("{b:?}"),
        Value::Uuid(u) => format!("{u:?}"),
        Value::Array(_) | Value::Map(_) | Value::Range(_) => format!("{v:?}"),
    }
}

impl Csv {
    fn write(&mut self, line: &str) -> Result<()> {
        let path = self.staged.path().to_path_buf();
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| Error::Usage("democsv: written to after the end".into()))?;
        writeln!(out, "{line}").map_err(|e| Error::io(path, e))
    }
}

impl Sink for Csv {
    fn begin(&mut self, info: &DumpInfo, _site: &Site) -> Result<()> {
        let path = self.staged.path().to_path_buf();
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        self.out = Some(BufWriter::new(file));
        self.write(&format!("# from {}", info.source))
    }

    fn table_start(&mut self, model: &Model, _expected_rows: u64) -> Result<()> {
        let fields: Vec<&str> = model.fields.iter().map(|f| f.name.as_str()).collect();
        let head = format!("# {}.{}", model.app_label, model.model_name);
        self.write(&head)?;
        let sep = self.separator.clone();
        self.write(&fields.join(&sep))
    }

    fn rows(&mut self, model: &Model, batch: &Batch) -> Result<()> {
        for row in batch.rows() {
            let line: Vec<String> = model
                .fields
                .iter()
                .map(|f| row.get(f.index).map(text).unwrap_or_default())
                .collect();
            let line = line.join(&self.separator);
            self.write(&line)?;
        }
        Ok(())
    }

    fn table_end(&mut self, model: &Model, rows: u64) -> Result<()> {
        self.write(&format!("# {rows} rows of {}", model.table.name))
    }

    fn table_skipped(&mut self, model: &Model, reason: &str) -> Result<()> {
        self.write(&format!("# skipped {}: {reason}", model.table.name))
    }

    fn finish(&mut self, report: &Report) -> Result<()> {
        self.write(&format!("# {} rows", report.rows()))?;
        let path = self.staged.path().to_path_buf();
        if let Some(out) = self.out.take() {
            out.into_inner()
                .map_err(|e| Error::io(&path, e.into_error()))?
                .sync_all()
                .map_err(|e| Error::io(&path, e))?;
        }
        self.staged.publish_now()
    }

    fn abort(&mut self) {
        self.out = None;
        self.staged.discard();
    }
}

fn create_csv(o: &SinkOptions) -> Result<Box<dyn Sink>> {
    Ok(Box::new(Csv {
        staged: Staged::new(&o.target, o.overwrite, false)?,
        out: None,
        separator: match o.values.get("separator") {
            Some(OptionValue::Text(t)) => t.clone(),
            _ => ";".into(),
        },
    }))
}

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Create,
    Table,
    Batch,
}

/// How a [`Failing`] transformer fails.
#[derive(Clone, Copy, PartialEq)]
enum How {
    Error,
    Panic,
    Exit,
    Abort,
    Segv,
}

/// Fails as `how` says at its stage.
struct Failing {
    stage: Stage,
    how: How,
}

impl Failing {
    fn new(args: &str, how: How) -> Result<Failing> {
        let stage = match args {
            "create" => Stage::Create,
            "table" => Stage::Table,
            "batch" | "" => Stage::Batch,
            other => {
                return Err(Error::Usage(format!(
                    "unknown stage '{other}': expected create, table or batch"
                )))
            }
        };
        let f = Failing { stage, how };
        f.at(Stage::Create)?;
        Ok(f)
    }

    fn at(&self, stage: Stage) -> Result<()> {
        if stage != self.stage {
            return Ok(());
        }
        let name = match stage {
            Stage::Create => "create",
            Stage::Table => "table",
            Stage::Batch => "batch",
        };
        match self.how {
            How::Error => Err(Error::Usage(format!("failed on purpose at {name}"))),
            How::Panic => panic!("demo panic at {name}"),
            How::Exit => std::process::exit(0),
            How::Abort => std::process::abort(),
            How::Segv => {
                // SAFETY: none: a crash is what this transformer is for
                // (a store to an unmapped page, as a plugin's bug does).
                unsafe { (16 as *mut u8).write_volatile(1) };
                unreachable!("the store to address 16 returned")
            }
        }
    }
}

impl Transformer for Failing {
    fn table(&mut self, input: &Table) -> Result<Table> {
        self.at(Stage::Table)?;
        Ok(input.clone())
    }

    fn batch(&mut self, _: &Table, _: &Table, _: &mut Batch) -> Result<()> {
        self.at(Stage::Batch)
    }
}

/// Puts `\u{1}` into each text value of its column.
struct Control(String);

impl Transformer for Control {
    fn batch(&mut self, input: &Table, _: &Table, batch: &mut Batch) -> Result<()> {
        if let Some(i) = input.column_index(&self.0) {
            let width = batch.width.max(1);
            for v in batch.values.iter_mut().skip(i).step_by(width) {
                if let Value::Text(t) = v {
                    t.push('\u{1}');
                }
            }
        }
        Ok(())
    }
}

fn control(args: &str) -> Result<Box<dyn Transformer>> {
    Ok(Box::new(Control(args.to_string())))
}

fn longerror(args: &str) -> Result<Box<dyn Transformer>> {
    let n: usize = args
        .parse()
        .map_err(|_| Error::Usage("longerror:BYTES".into()))?;
    Err(Error::Usage(format!("{}END", "x".repeat(n))))
}

fn fail(args: &str) -> Result<Box<dyn Transformer>> {
    Ok(Box::new(Failing::new(args, How::Error)?))
}

fn panic(args: &str) -> Result<Box<dyn Transformer>> {
    Ok(Box::new(Failing::new(args, How::Panic)?))
}

fn exit(args: &str) -> Result<Box<dyn Transformer>> {
    Ok(Box::new(Failing::new(args, How::Exit)?))
}

fn abort(args: &str) -> Result<Box<dyn Transformer>> {
    Ok(Box::new(Failing::new(args, How::Abort)?))
}

fn segv(args: &str) -> Result<Box<dyn Transformer>> {
    Ok(Box::new(Failing::new(args, How::Segv)?))
}

dump2py_sdk::export_plugin! {
    name: "demo",
    version: "0.0.7",
    sources: [("demo", ["demo"], open_demo)],
    sinks: [("democsv", create_csv)],
    transformers: [
        ("fail", fail),
        ("panic", panic),
        ("exit", exit),
        ("abort", abort),
        ("segv", segv),
        ("control", control),
        ("longerror", longerror)
    ],
}
