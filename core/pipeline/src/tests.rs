//! The pipeline against in-memory sources and recording sinks.

use super::read_ahead::QUEUE_BATCHES;
use super::*;
use dump2py_django::Model;
use dump2py_model::schema::{Column, ColumnKind};
use dump2py_plugin::BatchFn;

#[derive(Clone)]
struct MemSource {
    tables: Vec<(Table, Vec<Vec<Value>>)>,
    reads: usize,
    /// The tables read, in order.
    read_log: Vec<String>,
    /// Reads on a thread of its own (`as_send`).
    threaded: bool,
    /// Batches handed out, all tables.
    sent: usize,
    /// Workers it may give (`-j`).
    workers: usize,
    /// The key ranges read, by this source and its workers.
    ranges: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Which source (0 this one, then its workers) counted which table.
    counted: std::sync::Arc<std::sync::Mutex<Vec<(usize, String)>>>,
    /// This source's number among its workers.
    id: usize,
    /// A first count waits (up to 5 s) until this many sources count.
    count_together: usize,
    /// Estimates of the rows (`estimate_rows`): the rows plus this.
    estimate_off_by: Option<u64>,
}

impl MemSource {
    fn rows_of(&self, table: &Table) -> Result<&Vec<Vec<Value>>> {
        (self.tables.iter())
            .find(|(t, _)| t.name == table.name)
            .map(|(_, r)| r)
            .ok_or_else(|| Error::table(&table.name, "no such table"))
    }
}

impl Source for MemSource {
    fn as_send(&mut self) -> Option<&mut (dyn Source + Send)> {
        self.threaded.then_some(self)
    }
    fn describe(&self) -> String {
        "memory".into()
    }
    fn schema(&mut self) -> Result<Schema> {
        Ok(Schema {
            tables: self.tables.iter().map(|(t, _)| t.clone()).collect(),
        })
    }
    fn count_rows(&mut self, table: &Table) -> Result<u64> {
        let first = self.counted.lock().map(|mut c| {
            let first = !c.iter().any(|(id, _)| *id == self.id);
            c.push((self.id, table.name.clone()));
            first
        });
        if first.unwrap_or(false) && self.count_together > 1 {
            let started = std::time::Instant::now();
            let counting = || {
                let c = self.counted.lock().map(|c| c.clone()).unwrap_or_default();
                (0..=self.workers)
                    .filter(|i| c.iter().any(|(id, _)| id == i))
                    .count()
            };
            while counting() < self.count_together && started.elapsed().as_secs() < 5 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        let rows = self.tables.iter().find(|(t, _)| t.name == table.name);
        Ok(rows.map_or(0, |(_, r)| r.len() as u64))
    }
    fn estimate_rows(&mut self, tables: &[&Table]) -> Vec<Option<u64>> {
        let off = self.estimate_off_by;
        (tables.iter())
            .map(|t| Some(self.rows_of(t).ok()?.len() as u64 + off?))
            .collect()
    }
    fn workers(&mut self, n: usize) -> Result<dump2py_plugin::Workers> {
        let k = n.min(self.workers);
        Ok(dump2py_plugin::Workers {
            sources: (0..k)
                .map(|i| {
                    let mut w = self.clone();
                    w.id = i + 1;
                    Box::new(w) as Box<dyn Source + Send>
                })
                .collect(),
            note: (k < n).then(|| format!("{k} of {n} workers")),
        })
    }
    fn key_bounds(&mut self, table: &Table) -> Result<Option<(i64, i64)>> {
        let ids = self.rows_of(table)?.iter().filter_map(|r| match r[0] {
            Value::Int(n) => Some(n),
            _ => None,
        });
        Ok(ids.clone().min().zip(ids.max()))
    }
    fn read_range(
        &mut self,
        table: &Table,
        range: dump2py_plugin::KeyRange,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        if let Ok(mut log) = self.ranges.lock() {
            log.push(format!("{} {:?}..{:?}", table.name, range.from, range.to));
        }
        let inside = |r: &&Vec<Value>| match r[0] {
            Value::Int(n) => range.from.is_none_or(|f| n >= f) && range.to.is_none_or(|t| n < t),
            _ => false,
        };
        let rows: Vec<Vec<Value>> = self
            .rows_of(table)?
            .iter()
            .filter(inside)
            .cloned()
            .collect();
        for chunk in rows.chunks(batch_rows) {
            let mut b = Batch::new(table.columns.len(), chunk.len());
            for r in chunk {
                b.push_row(r.iter().cloned());
            }
            if !out(b)? {
                return Ok(());
            }
        }
        Ok(())
    }
    fn read_ordered(
        &mut self,
        table: &Table,
        order: &dump2py_model::order::ReadOrder,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        self.reads += 1;
        self.read_log.push(format!("{} ordered", table.name));
        if table.name == "app_broken" {
            return Err(Error::table(&table.name, "unreadable"));
        }
        let mut rows = self.rows_of(table)?.clone();
        let key = |r: &Vec<Value>, column: &str| {
            let i = table.column_index(column).unwrap_or(0);
            format!("{:?}", r[i])
        };
        rows.sort_by(|a, b| {
            let mut o = std::cmp::Ordering::Equal;
            for t in &order.terms {
                let c = key(a, &t.column).cmp(&key(b, &t.column));
                o = o.then(if t.desc { c.reverse() } else { c });
            }
            o
        });
        for chunk in rows.chunks(batch_rows) {
            let mut b = Batch::new(table.columns.len(), chunk.len());
            for r in chunk {
                b.push_row(r.iter().cloned());
            }
            if !out(b)? {
                return Ok(());
            }
        }
        Ok(())
    }
    fn read_table(&mut self, table: &Table, batch_rows: usize, out: &mut BatchFn) -> Result<()> {
        self.reads += 1;
        self.read_log.push(table.name.clone());
        let Some((t, rows)) = self.tables.iter().find(|(t, _)| t.name == table.name) else {
            return Err(Error::table(&table.name, "no such table"));
        };
        if t.name == "app_broken" {
            return Err(Error::table(&t.name, "unreadable"));
        }
        for (i, chunk) in rows.chunks(batch_rows).enumerate() {
            if t.name == "app_torn" && i == 1 {
                return Err(Error::table(&t.name, "torn page"));
            }
            let mut b = Batch::new(t.columns.len(), chunk.len());
            for r in chunk {
                b.push_row(r.iter().cloned());
            }
            self.sent += 1;
            if !out(b)? {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Drops rows whose id is odd and renames `name` to `title`.
struct EvenTitles;
impl Transformer for EvenTitles {
    fn table(&mut self, input: &Table) -> Result<Table> {
        let mut t = input.clone();
        for c in &mut t.columns {
            if c.name == "name" {
                c.name = "title".into();
            }
        }
        Ok(t)
    }
    fn batch(&mut self, _: &Table, _: &Table, batch: &mut Batch) -> Result<()> {
        batch.retain_rows(|r| !matches!(r[0], Value::Int(n) if n % 2 == 1));
        Ok(())
    }
}

/// Writes down every call into a log the test keeps.
#[derive(Default, Clone)]
struct Recorder {
    calls: std::rc::Rc<std::cell::RefCell<Vec<String>>>,
    /// Wants the models Lino's dump skips too.
    all: bool,
    fail_finish: bool,
    /// Fails the nth `rows` call (from 1) of this table.
    fail_rows: Option<(&'static str, usize)>,
    /// The order it asks for every table in.
    order: Option<dump2py_model::order::ReadOrder>,
}
impl Recorder {
    fn log(&self, call: String) {
        self.calls.borrow_mut().push(call);
    }
}
impl Sink for Recorder {
    fn begin(&mut self, _: &DumpInfo, site: &Site) -> Result<()> {
        self.log(format!("begin {}", site.models.len()));
        Ok(())
    }
    fn table_start(&mut self, m: &Model, expected: u64) -> Result<()> {
        let fields: Vec<_> = m.fields.iter().map(|f| f.name.as_str()).collect();
        self.log(format!(
            "start {} {expected} {}",
            m.table.name,
            fields.join(",")
        ));
        Ok(())
    }
    fn rows(&mut self, m: &Model, b: &Batch) -> Result<()> {
        match &self.order {
            // With an order: which rows, in which order.
            Some(_) => {
                let ids: Vec<String> = b.rows().map(|r| format!("{:?}", r[0])).collect();
                self.log(format!("rows {} {}", m.table.name, ids.join(",")));
            }
            None => self.log(format!("rows {} {}", m.table.name, b.len())),
        }
        if let Some((table, n)) = self.fail_rows {
            let prefix = format!("rows {table} ");
            let calls = self.calls.borrow();
            if m.table.name == table && calls.iter().filter(|c| c.starts_with(&prefix)).count() == n
            {
                return Err(Error::table(table, "disk full"));
            }
        }
        Ok(())
    }
    fn table_end(&mut self, m: &Model, rows: u64) -> Result<()> {
        self.log(format!("end {} {rows}", m.table.name));
        Ok(())
    }
    fn table_skipped(&mut self, m: &Model, _: &str) -> Result<()> {
        self.log(format!("skipped {}", m.table.name));
        Ok(())
    }
    fn finish(&mut self, r: &Report) -> Result<()> {
        self.log(format!("finish {}", r.rows()));
        if self.fail_finish {
            return Err(Error::Usage("full disk".into()));
        }
        Ok(())
    }
    fn publish(&mut self, _tx: &mut dump2py_plugin::Transaction) -> Result<()> {
        self.log("publish".into());
        Ok(())
    }
    fn abort(&mut self) {
        self.log("abort".into());
    }
    fn wants(&self, _: &Model, skipped: bool) -> bool {
        self.all || !skipped
    }
    fn read_order(&self, _: &Model) -> Option<dump2py_model::order::ReadOrder> {
        self.order.clone()
    }
    /// One warning per table written.
    fn warnings(&mut self) -> Vec<String> {
        let calls = self.calls.borrow();
        match calls.last().and_then(|c| c.strip_prefix("end ")) {
            Some(ended) => vec![format!("noticed {ended}")],
            None => vec![],
        }
    }
}

#[derive(Default)]
struct Warnings(Vec<String>);
impl Observer for Warnings {
    fn warning(&mut self, message: &str) {
        self.0.push(message.to_string());
    }
}

fn source() -> MemSource {
    let col = |n: &str, kind| Column {
        name: n.into(),
        declared_type: String::new(),
        kind,
        nullable: false,
        generated: false,
    };
    let table = |name: &str| Table {
        name: name.into(),
        columns: vec![col("id", ColumnKind::Int), col("name", ColumnKind::Text)],
        primary_key: vec!["id".into()],
        foreign_keys: vec![],
        unique: vec![],
    };
    let rows = (1..=5)
        .map(|i| vec![Value::Int(i), Value::Text(format!("n{i}"))])
        .collect();
    MemSource {
        tables: vec![(table("app_broken"), vec![]), (table("app_thing"), rows)],
        reads: 0,
        read_log: Vec::new(),
        threaded: true,
        sent: 0,
        workers: 0,
        ranges: Default::default(),
        counted: Default::default(),
        id: 0,
        count_together: 0,
        estimate_off_by: None,
    }
}

fn run(src: &mut MemSource, tolerate: bool, sink: &mut Vec<Box<dyn Sink>>) -> Result<Report> {
    let mut transformers: Vec<Box<dyn Transformer>> = vec![Box::new(EvenTitles)];
    let info = DumpInfo {
        source: "memory".into(),
        tool_version: "0".into(),
        ..DumpInfo::default()
    };
    Pipeline {
        source: src,
        transformers: &mut transformers,
        sinks: sink,
        options: PipelineOptions {
            batch_rows: 2,
            tolerate,
            ..PipelineOptions::default()
        },
    }
    .run(&info, &mut Quiet)
}

#[test]
fn transformers_reshape_tables_and_drop_rows() {
    let mut src = source();
    // The sink expects the rows the source estimates.
    src.estimate_off_by = Some(0);
    let rec = Recorder::default();
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(rec.clone())];
    let report = run(&mut src, true, &mut sinks).expect("tolerated");
    assert_eq!(report.rows(), 2);
    assert_eq!(report.skipped().count(), 1);
    // Each table is read once.
    assert_eq!(src.reads, 2);
    assert_eq!(
        *rec.calls.borrow(),
        [
            "begin 2",
            "start app_broken 0 id,title",
            "skipped app_broken",
            "start app_thing 5 id,title",
            "rows app_thing 1",
            "rows app_thing 1",
            "rows app_thing 0",
            "end app_thing 2",
            "finish 2",
            "publish"
        ]
    );
}

#[test]
fn sink_warnings_reach_the_observer_after_each_table() {
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(Recorder::default())];
    let mut warnings = Warnings::default();
    let mut src = source();
    src.tables.remove(0);
    Pipeline {
        source: &mut src,
        transformers: &mut [],
        sinks: &mut sinks,
        options: PipelineOptions::default(),
    }
    .run(
        &DumpInfo {
            source: "memory".into(),
            tool_version: "0".into(),
            ..DumpInfo::default()
        },
        &mut warnings,
    )
    .expect("dumped");
    assert_eq!(warnings.0, ["noticed app_thing 5"]);
}

#[test]
fn no_output_is_published_when_another_fails_to_finish() {
    let mut src = source();
    let first = Recorder::default();
    let failing = Recorder {
        fail_finish: true,
        ..Recorder::default()
    };
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(first.clone()), Box::new(failing)];
    let err = run(&mut src, true, &mut sinks).expect_err("finish failed");
    assert!(err.to_string().contains("full disk"), "{err}");
    let calls = first.calls.borrow();
    assert_eq!(calls[calls.len() - 2..], ["finish 2", "abort"]);
    assert!(!calls.iter().any(|c| c == "publish"));
}

#[test]
fn an_error_aborts_every_sink() {
    let mut src = source();
    let log = Recorder::default();
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(log.clone())];
    let err = run(&mut src, false, &mut sinks).expect_err("not tolerated");
    assert_eq!(err.to_string(), "table app_broken: unreadable");
    let rec = log.calls.borrow();
    assert_eq!(rec.last().map(String::as_str), Some("abort"));
    assert!(!rec.iter().any(|c| c.starts_with("finish")));
}

#[test]
fn skipped_models_go_only_to_sinks_that_want_them_and_are_read_once() {
    let mut src = source();
    let col = |n: &str, kind| Column {
        name: n.into(),
        declared_type: String::new(),
        kind,
        nullable: false,
        generated: false,
    };
    let ct = Table {
        name: CONTENT_TYPE_TABLE.into(),
        columns: vec![
            col("id", ColumnKind::Int),
            col("app_label", ColumnKind::Text),
            col("model", ColumnKind::Text),
        ],
        primary_key: vec!["id".into()],
        foreign_keys: vec![],
        unique: vec![],
    };
    let rows = (1..=3)
        .map(|i| {
            vec![
                Value::Int(i),
                Value::Text("app".into()),
                Value::Text(format!("m{i}")),
            ]
        })
        .collect();
    src.tables.retain(|(t, _)| t.name != "app_broken");
    src.tables.insert(0, (ct, rows));
    let python = Recorder::default();
    let json = Recorder {
        all: true,
        ..Recorder::default()
    };
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(python.clone()), Box::new(json.clone())];
    let report = run(&mut src, false, &mut sinks).expect("dumped");
    // The content types were read once, for the site and for the sink.
    assert_eq!(src.read_log, [CONTENT_TYPE_TABLE, "app_thing"]);
    assert_eq!(report.tables.len(), 2);
    let ct_calls = |r: &Recorder| {
        r.calls
            .borrow()
            .iter()
            .filter(|c| c.contains(CONTENT_TYPE_TABLE))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(ct_calls(&python).is_empty());
    assert_eq!(
        ct_calls(&json),
        [
            "start django_content_type 3 id,app_label,model",
            // The transformer keeps the even ids, as on a real read.
            "rows django_content_type 1",
            "rows django_content_type 0",
            "end django_content_type 1"
        ]
    );
    // Without a sink that wants them, skipped models are not read.
    let mut src2 = source();
    src2.tables.retain(|(t, _)| t.name != "app_broken");
    let ct2 = src.tables[0].clone();
    src2.tables.insert(0, ct2);
    let mut only_python: Vec<Box<dyn Sink>> = vec![Box::new(Recorder::default())];
    let report = run(&mut src2, false, &mut only_python).expect("dumped");
    assert_eq!(report.tables.len(), 1);
    assert_eq!(src2.read_log, [CONTENT_TYPE_TABLE, "app_thing"]);
}

/// Site metadata whose models are `(app_label, ObjectName, table)`,
/// each with the columns `id` and `name`.
/// The pipeline with the site metadata of `models`, no transformer.
fn run_with_meta(
    src: &mut MemSource,
    tolerate: bool,
    models: &[(&str, &str, &str)],
    sinks: &mut Vec<Box<dyn Sink>>,
) -> Result<Report> {
    let info = DumpInfo {
        source: "memory".into(),
        tool_version: "0".into(),
        ..DumpInfo::default()
    };
    Pipeline {
        source: src,
        transformers: &mut [],
        sinks,
        options: PipelineOptions {
            tolerate,
            meta: Some(meta(models)),
            ..PipelineOptions::default()
        },
    }
    .run(&info, &mut Quiet)
}

fn meta(models: &[(&str, &str, &str)]) -> dump2py_django::meta::SiteMeta {
    let field = |name: &str| {
        serde_json::json!({
            "name": name, "attname": name, "column": name, "internal_type": "CharField",
            "primary_key": name == "id", "null": false, "decimal_places": null,
            "max_digits": null, "related_model": null, "through": null,
            "choicelist": null, "babel_columns": [], "babel_variant": false,
        })
    };
    let models: Vec<_> = models
        .iter()
        .map(|(app, object, table)| {
            serde_json::json!({
                "app_label": app, "object_name": object, "db_table": table,
                "proxy": false, "auto_created": false, "managed": true, "parent": null,
                "fields": [field("id"), field("name")],
            })
        })
        .collect();
    let text = serde_json::json!({
        "format": 1, "settings_module": "s", "version": null, "time_zone": null,
        "use_tz": false, "languages": [], "apps": ["app"],
        "database": {"engine": "django.db.backends.sqlite3", "name": "x"},
        "models": models,
    });
    match dump2py_django::meta::SiteMeta::parse(&text.to_string()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_site_model_without_its_table_is_an_error_or_skipped() {
    let models = [("app", "Thing", "app_thing"), ("app", "Gone", "app_gone")];
    for tolerate in [false, true] {
        let mut src = source();
        src.tables.retain(|(t, _)| t.name == "app_thing");
        let rec = Recorder::default();
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(rec.clone())];
        let got = run_with_meta(&mut src, tolerate, &models, &mut sinks);
        let why = "table app_gone: no such table (model app.Gone)";
        match got {
            Ok(report) => {
                assert!(tolerate);
                assert_eq!(report.skipped().collect::<Vec<_>>(), [("app_gone", why)]);
                assert!(rec.calls.borrow().contains(&"skipped app_gone".to_string()));
            }
            Err(e) => {
                assert!(!tolerate, "{e}");
                assert_eq!(e.to_string(), why);
            }
        }
    }
}

#[test]
fn site_content_types_without_their_table_are_an_error() {
    let mut src = source();
    src.tables.retain(|(t, _)| t.name == "app_thing");
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(Recorder::default())];
    let models = [
        ("app", "Thing", "app_thing"),
        ("contenttypes", "ContentType", CONTENT_TYPE_TABLE),
    ];
    // Not even with -t: content-type columns need the table.
    let err = run_with_meta(&mut src, true, &models, &mut sinks).expect_err("no content types");
    assert_eq!(
        err.to_string(),
        "table django_content_type: no such table (model contenttypes.ContentType)"
    );
}

/// `app_broken` (unreadable), `app_torn` (fails after its first batch)
/// and `app_thing` with `rows` rows.
fn three_tables(rows: i64) -> MemSource {
    let mut src = source();
    let mut torn = src.tables[0].0.clone();
    torn.name = "app_torn".into();
    let data = |n: i64| -> Vec<Vec<Value>> {
        (1..=n)
            .map(|i| vec![Value::Int(i), Value::Text(format!("n{i}"))])
            .collect()
    };
    src.tables.push((torn, data(6)));
    src.tables[1].1 = data(rows);
    src
}

#[test]
fn reading_ahead_gives_what_one_thread_gives() {
    let mut logs = Vec::new();
    for threaded in [false, true] {
        let mut src = three_tables(41);
        src.threaded = threaded;
        let rec = Recorder::default();
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(rec.clone())];
        let report = run(&mut src, true, &mut sinks).expect("tolerated");
        assert_eq!(report.skipped().count(), 2);
        assert_eq!(report.rows(), 20);
        logs.push(rec.calls.borrow().clone());
    }
    assert!(logs[1].contains(&"skipped app_torn".to_string()));
    assert!(logs[1].contains(&"end app_thing 20".to_string()));
    assert_eq!(logs[0], logs[1]);
}

#[test]
fn a_sink_error_stops_the_reader() {
    for tolerate in [false, true] {
        let mut src = three_tables(10_000);
        src.tables.retain(|(t, _)| t.name == "app_thing");
        let rec = Recorder {
            fail_rows: Some(("app_thing", 2)),
            ..Recorder::default()
        };
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(rec.clone())];
        let got = run(&mut src, tolerate, &mut sinks);
        let calls = rec.calls.borrow();
        match got {
            // A sink's table error is tolerated as a source's is.
            Ok(report) => {
                assert!(tolerate);
                assert_eq!(report.skipped().count(), 1);
                assert!(calls.contains(&"skipped app_thing".to_string()));
            }
            Err(err) => {
                assert!(!tolerate);
                assert_eq!(err.to_string(), "table app_thing: disk full");
                assert_eq!(calls.last().map(String::as_str), Some("abort"));
                assert!(!calls
                    .iter()
                    .any(|c| c == "publish" || c.starts_with("finish")));
            }
        }
        // Two batches taken, the queue full, one waiting: not 5000.
        assert!(src.sent <= 2 + QUEUE_BATCHES + 2, "{}", src.sent);
    }
}

/// A table's name and one of its rows.
type TableRow = (String, Vec<Value>);

/// Every row a sink got, by table.
#[derive(Default, Clone)]
struct Rows(std::rc::Rc<std::cell::RefCell<Vec<TableRow>>>);
impl Sink for Rows {
    fn begin(&mut self, _: &DumpInfo, _: &Site) -> Result<()> {
        Ok(())
    }
    fn table_start(&mut self, _: &Model, _: u64) -> Result<()> {
        Ok(())
    }
    fn rows(&mut self, m: &Model, b: &Batch) -> Result<()> {
        let mut all = self.0.borrow_mut();
        all.extend(b.rows().map(|r| (m.table.name.clone(), r.to_vec())));
        Ok(())
    }
    fn table_end(&mut self, _: &Model, _: u64) -> Result<()> {
        Ok(())
    }
    fn table_skipped(&mut self, m: &Model, _: &str) -> Result<()> {
        self.0.borrow_mut().push((m.table.name.clone(), Vec::new()));
        Ok(())
    }
    fn finish(&mut self, _: &Report) -> Result<()> {
        Ok(())
    }
    fn abort(&mut self) {}
}

/// A tolerant dump of `src` with `-j jobs` into a sink that keeps the rows.
fn dump_with_jobs(
    src: &mut MemSource,
    jobs: usize,
    observer: &mut dyn Observer,
) -> (Report, Vec<TableRow>) {
    let rows = Rows::default();
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(rows.clone())];
    let report = Pipeline {
        source: src,
        transformers: &mut [],
        sinks: &mut sinks,
        options: PipelineOptions {
            tolerate: true,
            jobs,
            ..PipelineOptions::default()
        },
    }
    .run(&DumpInfo::default(), observer)
    .expect("dump");
    let got = rows.0.borrow().clone();
    (report, got)
}

#[test]
fn several_readers_give_what_one_gives() {
    let run_jobs = |jobs: usize, workers: usize| {
        let mut src = three_tables(150_001);
        src.threaded = true;
        src.workers = workers;
        // Keys not from 1: negative and sparse.
        for (i, row) in src.tables[1].1.iter_mut().enumerate() {
            row[0] = Value::Int(i as i64 * 3 - 200_000);
        }
        let mut warnings = Vec::new();
        struct Warn<'w>(&'w mut Vec<String>);
        impl Observer for Warn<'_> {
            fn warning(&mut self, m: &str) {
                self.0.push(m.to_string());
            }
        }
        let (report, got) = dump_with_jobs(&mut src, jobs, &mut Warn(&mut warnings));
        let ranges = src.ranges.lock().map(|l| l.clone()).unwrap_or_default();
        (report.tables, got, warnings, ranges)
    };
    let (tables, rows, warnings, ranges) = run_jobs(1, 0);
    assert!(
        warnings.is_empty() && ranges.is_empty(),
        "{warnings:?} {ranges:?}"
    );
    // app_broken skipped, app_thing whole, app_torn skipped after its first batch.
    assert_eq!(
        rows.iter().filter(|(t, _)| t == "app_thing").count(),
        150_001
    );
    for (jobs, workers) in [(2, 1), (4, 3), (4, 1)] {
        let (t, r, w, ranges) = run_jobs(jobs, workers);
        assert_eq!(t, tables, "-j {jobs}");
        assert!(r == rows, "-j {jobs}: other rows");
        // The big table is read in one range per reader; a missing worker is said.
        assert_eq!(ranges.len(), 1 + workers, "{ranges:?}");
        assert!(
            ranges.iter().all(|l| l.starts_with("app_thing ")),
            "{ranges:?}"
        );
        assert_eq!(w.len(), usize::from(workers < jobs - 1), "{w:?}");
    }
}

#[test]
fn with_workers_every_connection_counts() {
    let mut src = three_tables(10);
    for i in 0..6 {
        let mut t = src.tables[1].clone();
        t.0.name = format!("app_more{i}");
        src.tables.push(t);
    }
    src.workers = 2;
    src.count_together = 3;
    let (report, _) = dump_with_jobs(&mut src, 3, &mut Quiet);
    // app_thing and app_more*, 10 rows each; app_torn in one batch, whole.
    assert_eq!(report.rows(), 7 * 10 + 6);
    let counted = src.counted.lock().map(|c| c.clone()).unwrap_or_default();
    // Each table once, and each of the three connections counted some.
    let mut tables: Vec<&str> = counted.iter().map(|(_, t)| t.as_str()).collect();
    tables.sort();
    let want = [
        "app_broken",
        "app_more0",
        "app_more1",
        "app_more2",
        "app_more3",
    ];
    assert_eq!(&tables[..5], want);
    assert_eq!(tables.len(), 9, "{counted:?}");
    for id in 0..3 {
        assert!(
            counted.iter().any(|(i, _)| *i == id),
            "source {id}: {counted:?}"
        );
    }
}

/// Rows of one value bigger than the read-ahead's bytes: a batch each
/// ([`Batch::full`]); each time the sink writes one it says so.
struct BigRows {
    rows: usize,
    written: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Per batch sent: how many sent batches the sink had not yet written
    /// when the source went on to read the next row.
    unwritten: Vec<usize>,
}

impl Source for BigRows {
    fn as_send(&mut self) -> Option<&mut (dyn Source + Send)> {
        Some(self)
    }
    fn describe(&self) -> String {
        "big".into()
    }
    fn schema(&mut self) -> Result<Schema> {
        let col = |n: &str, kind| Column {
            name: n.into(),
            declared_type: String::new(),
            kind,
            nullable: false,
            generated: false,
        };
        Ok(Schema {
            tables: vec![Table {
                name: "app_blob".into(),
                columns: vec![col("id", ColumnKind::Int), col("data", ColumnKind::Bytes)],
                primary_key: vec!["id".into()],
                foreign_keys: vec![],
                unique: vec![],
            }],
        })
    }
    fn count_rows(&mut self, _: &Table) -> Result<u64> {
        Ok(self.rows as u64)
    }
    fn read_table(&mut self, _: &Table, batch_rows: usize, out: &mut BatchFn) -> Result<()> {
        use std::sync::atomic::Ordering;
        let mut batch = Batch::new(2, batch_rows);
        let mut sent = 0;
        for i in 0..self.rows {
            batch.push(Value::Int(i as i64));
            // Zeroed pages: not touched, so not resident.
            batch.push(Value::Bytes(vec![0; read_ahead::QUEUE_BYTES + 1]));
            if batch.full(batch_rows) {
                sent += 1;
                if !out(std::mem::replace(&mut batch, Batch::new(2, batch_rows)))? {
                    return Ok(());
                }
                let written = self.written.load(Ordering::SeqCst);
                self.unwritten.push(sent - written);
            }
        }
        Ok(())
    }
}

/// Counts the batches it writes.
struct CountWritten(std::sync::Arc<std::sync::atomic::AtomicUsize>);
impl Sink for CountWritten {
    fn begin(&mut self, _: &DumpInfo, _: &Site) -> Result<()> {
        Ok(())
    }
    fn table_start(&mut self, _: &Model, _: u64) -> Result<()> {
        Ok(())
    }
    fn rows(&mut self, _: &Model, b: &Batch) -> Result<()> {
        assert_eq!(b.len(), 1, "a row bigger than a batch's bytes is a batch");
        // Slow enough that a reader not held back would run ahead.
        std::thread::sleep(std::time::Duration::from_millis(20));
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn table_end(&mut self, _: &Model, _: u64) -> Result<()> {
        Ok(())
    }
    fn table_skipped(&mut self, _: &Model, _: &str) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: &Report) -> Result<()> {
        Ok(())
    }
    fn abort(&mut self) {}
}

/// A reader holds back once its batches not yet written pass
/// `QUEUE_BYTES`, however few they are: with values bigger than that, the
/// source reads a row only once the sinks wrote the one before (not
/// `QUEUE_BATCHES` rows ahead).
#[test]
fn reading_ahead_is_bounded_by_bytes() {
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut src = BigRows {
        rows: 6,
        written: written.clone(),
        unwritten: Vec::new(),
    };
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(CountWritten(written.clone()))];
    let report = Pipeline {
        source: &mut src,
        transformers: &mut [],
        sinks: &mut sinks,
        options: PipelineOptions::default(),
    }
    .run(&DumpInfo::default(), &mut Quiet)
    .expect("dump");
    assert_eq!(report.rows(), 6);
    assert_eq!(src.unwritten, [0; 6]);
}

fn order_by(terms: &[(&str, bool)]) -> dump2py_model::order::ReadOrder {
    dump2py_model::order::ReadOrder {
        terms: (terms.iter())
            .map(|(c, desc)| dump2py_model::order::Term {
                alias: 0,
                column: c.to_string(),
                desc: *desc,
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn a_table_is_read_once_per_order_the_sinks_ask_for() {
    let mut src = source();
    let plain = Recorder::default();
    let ordered = Recorder {
        order: Some(order_by(&[("name", true)])),
        ..Recorder::default()
    };
    // An integer key ascending is the source's own read: no other.
    let by_key = Recorder {
        order: Some(order_by(&[("id", false)])),
        ..Recorder::default()
    };
    let mut sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(plain.clone()),
        Box::new(ordered.clone()),
        Box::new(by_key.clone()),
    ];
    let report = run(&mut src, true, &mut sinks).expect("tolerated");
    // app_broken fails in both reads: both skips reported; app_thing once.
    assert_eq!(report.skipped().count(), 2, "{report:?}");
    assert_eq!(report.rows(), 2);
    assert_eq!(
        src.read_log,
        [
            "app_broken",
            "app_broken ordered",
            "app_thing",
            "app_thing ordered"
        ]
    );
    let rows = |r: &Recorder| -> Vec<String> {
        (r.calls.borrow().iter())
            .filter(|c| c.starts_with("rows app_thing") || c.starts_with("skipped"))
            .cloned()
            .collect()
    };
    assert_eq!(
        rows(&plain),
        [
            "skipped app_broken",
            "rows app_thing 1",
            "rows app_thing 1",
            "rows app_thing 0"
        ]
    );
    // n5, n4 (odd ids dropped by the transformer: 4, then 2).
    assert_eq!(
        rows(&ordered),
        [
            "skipped app_broken",
            "rows app_thing Int(4)",
            "rows app_thing Int(2)",
            "rows app_thing "
        ]
    );
    assert_eq!(
        rows(&by_key),
        [
            "skipped app_broken",
            "rows app_thing Int(2)",
            "rows app_thing Int(4)",
            "rows app_thing "
        ]
    );
}

/// [`three_tables`] and two tables with keys to each other, `app_cyca`
/// (3 rows) and `app_cycb` (1 row): a foreign-key cycle.
fn with_a_cycle() -> MemSource {
    let mut src = three_tables(10);
    for (name, other, rows) in [("app_cyca", "app_cycb", 3), ("app_cycb", "app_cyca", 1)] {
        let mut t = src.tables[1].0.clone();
        t.name = name.into();
        let mut fk = t.columns[0].clone();
        fk.name = "other_id".into();
        t.columns.push(fk);
        t.foreign_keys.push(dump2py_model::schema::ForeignKey {
            column: "other_id".into(),
            target_table: other.into(),
            target_column: "id".into(),
        });
        let data = (1..=rows)
            .map(|i| vec![Value::Int(i), Value::Text(format!("n{i}")), Value::Int(1)])
            .collect();
        src.tables.push((t, data));
    }
    src
}

#[test]
fn no_table_is_counted_before_its_read_but_in_a_cycle() {
    for (jobs, threaded, estimates) in [
        (1, false, None),
        (1, true, Some(0)),
        (1, true, Some(7)),
        (3, true, Some(0)),
    ] {
        let mut src = with_a_cycle();
        src.threaded = threaded;
        src.workers = 2;
        src.estimate_off_by = estimates;
        let rec = Recorder::default();
        let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(rec.clone())];
        let report = Pipeline {
            source: &mut src,
            transformers: &mut [],
            sinks: &mut sinks,
            options: PipelineOptions {
                tolerate: true,
                jobs,
                ..PipelineOptions::default()
            },
        }
        .run(&DumpInfo::default(), &mut Quiet)
        .expect("dump");
        let case = format!("-j {jobs}, estimates {estimates:?}");
        // Every row read, and only the cycle's tables counted.
        assert_eq!(report.rows(), 10 + 6 + 3 + 1, "{case}");
        let mut counted: Vec<String> = (src.counted.lock().expect("counted").iter())
            .map(|(_, t)| t.clone())
            .collect();
        counted.sort();
        assert_eq!(counted, ["app_cyca", "app_cycb"], "{case}");
        // Ordered by their counts (fewest rows first), which the sink
        // hears as the expected rows; the others are expected as estimated.
        let calls = rec.calls.borrow();
        let starts: Vec<&String> = calls.iter().filter(|c| c.starts_with("start ")).collect();
        let at = |t: &str| (starts.iter()).position(|c| c.starts_with(&format!("start {t} ")));
        assert!(at("app_cycb") < at("app_cyca"), "{case}: {starts:?}");
        assert!(
            starts.iter().any(|c| c.starts_with("start app_cyca 3 ")),
            "{case}"
        );
        let thing = estimates.map_or(0, |e| 10 + e);
        let want = format!("start app_thing {thing} ");
        assert!(
            starts.iter().any(|c| c.starts_with(&want)),
            "{case}: {starts:?}"
        );
    }
}
