//! Outputs besides OUTPUT_DIR, all fed by the same pass over the database:
//! `--json FILE`, `--xml FILE` and the general `-f/--format NAME=TARGET`,
//! with `--indent N` for JSON and XML. `-` is standard output; a name
//! ending in `.gz`, `.bz2` or `.xz` is compressed (as `dumpdata -o`).
//!
//! Also `-v 3`'s line per table read ([`log_reads`]): it shows that one
//! run reads each table once, however many outputs it writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use dump2py_core::plugin::{BatchFn, Sink, Source};
use dump2py_core::registry::{self, SinkOptions};
use dump2py_core::schema::{Schema, Table};
use dump2py_core::Batch;

#[derive(clap::Args, Debug, Default)]
pub struct OutputArgs {
    /// Also write what `django-admin dumpdata --format json` writes to FILE (`-` for standard
    /// output; a .gz, .bz2 or .xz name is compressed). Repeatable.
    #[arg(long = "json", value_name = "FILE")]
    pub json: Vec<PathBuf>,

    /// Also write what `django-admin dumpdata --format xml` writes to FILE (as --json). Repeatable.
    #[arg(long = "xml", value_name = "FILE")]
    pub xml: Vec<PathBuf>,

    /// Also write the output format NAME (json, xml, python, or a plugin's) to TARGET, a file or
    /// directory; `-` for standard output. Repeatable.
    #[arg(short = 'f', long = "format", value_name = "NAME=TARGET")]
    pub formats: Vec<String>,

    /// Indent JSON and XML outputs by N spaces per level (dumpdata's --indent).
    #[arg(long, value_name = "N")]
    pub indent: Option<usize>,
}

/// One output named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: String,
    pub target: PathBuf,
}

impl Output {
    /// For messages: the file, or "standard output".
    pub fn describe(&self) -> String {
        if is_stdout(&self.target) {
            "standard output".to_string()
        } else {
            self.target.display().to_string()
        }
    }
}

fn is_stdout(p: &Path) -> bool {
    p.as_os_str() == "-"
}

impl OutputArgs {
    pub fn is_empty(&self) -> bool {
        self.json.is_empty() && self.xml.is_empty() && self.formats.is_empty()
    }

    /// The outputs, checked: each target once, standard output at most
    /// once, `output_dir` (the Python dump) not among them.
    pub fn outputs(&self, output_dir: Option<&Path>) -> Result<Vec<Output>> {
        let mut out: Vec<Output> = Vec::new();
        let named = |format: &str, target: &PathBuf| Output {
            format: format.to_string(),
            target: target.clone(),
        };
        out.extend(self.json.iter().map(|t| named("json", t)));
        out.extend(self.xml.iter().map(|t| named("xml", t)));
        for spec in &self.formats {
            match spec.split_once('=') {
                Some((name, target)) if !name.is_empty() && !target.is_empty() => {
                    out.push(named(name, &PathBuf::from(target)));
                }
                _ => bail!("-f/--format {spec}: expected NAME=TARGET, e.g. json=data.json"),
            }
        }
        let mut seen: Vec<&Path> = output_dir.into_iter().collect();
        for o in &out {
            if is_stdout(&o.target) {
                if o.format == "python" {
                    bail!("a Python dump is a directory: it can't go to standard output");
                }
                if out.iter().filter(|p| is_stdout(&p.target)).count() > 1 {
                    bail!("only one output can go to standard output (-)");
                }
                continue;
            }
            if seen.contains(&o.target.as_path()) {
                bail!(
                    "{} is named as the target of two outputs",
                    o.target.display()
                );
            }
            // OUTPUT_DIR is replaced whole when the Python dump is published.
            if output_dir.is_some_and(|d| o.target.starts_with(d)) {
                bail!("{} is inside OUTPUT_DIR", o.target.display());
            }
            seen.push(&o.target);
        }
        Ok(out)
    }

    /// The sinks of the outputs, created now so that a bad name or an
    /// existing target fails before the database is read.
    pub fn sinks(
        &self,
        outputs: &[Output],
        overwrite: bool,
        max_row_count: u64,
    ) -> Result<Vec<Box<dyn Sink>>> {
        let mut extra = BTreeMap::new();
        if let Some(n) = self.indent {
            extra.insert("indent".to_string(), n.to_string());
        }
        let mut sinks = Vec::new();
        for o in outputs {
            let options = SinkOptions {
                target: o.target.clone(),
                overwrite,
                max_row_count,
                extra: extra.clone(),
            };
            sinks.push(registry::create_sink(&o.format, &options)?);
        }
        Ok(sinks)
    }
}

/// The source, reporting each table it reads on stderr when `on`
/// (`read table NAME: N rows`).
pub fn log_reads(source: Box<dyn Source>, on: bool) -> Box<dyn Source> {
    if on {
        Box::new(ReadLog { inner: source })
    } else {
        source
    }
}

struct ReadLog {
    inner: Box<dyn Source>,
}

impl Source for ReadLog {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn schema(&mut self) -> dump2py_core::Result<Schema> {
        self.inner.schema()
    }

    fn count_rows(&mut self, table: &Table) -> dump2py_core::Result<u64> {
        self.inner.count_rows(table)
    }

    fn read_table(
        &mut self,
        table: &Table,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> dump2py_core::Result<()> {
        let mut rows = 0u64;
        let read = self.inner.read_table(table, batch_rows, &mut |b: Batch| {
            rows += b.len() as u64;
            out(b)
        });
        eprintln!("read table {}: {rows} rows", table.name);
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(json: &[&str], xml: &[&str], formats: &[&str]) -> OutputArgs {
        OutputArgs {
            json: json.iter().map(PathBuf::from).collect(),
            xml: xml.iter().map(PathBuf::from).collect(),
            formats: formats.iter().map(|s| s.to_string()).collect(),
            indent: None,
        }
    }

    #[test]
    fn outputs_are_checked() {
        let a = args(&["a.json"], &["-"], &["json=b.json.gz", "python=dump2"]);
        let out = a.outputs(Some(Path::new("dump"))).expect("valid");
        let names: Vec<String> = out
            .iter()
            .map(|o| format!("{}:{}", o.format, o.describe()))
            .collect();
        assert_eq!(
            names,
            [
                "json:a.json",
                "xml:standard output",
                "json:b.json.gz",
                "python:dump2"
            ]
        );
        let err = |a: OutputArgs| {
            a.outputs(Some(Path::new("dump")))
                .err()
                .map(|e| e.to_string())
        };
        assert!(err(args(&["-"], &["-"], &[])).is_some_and(|e| e.contains("only one")));
        assert!(err(args(&["x"], &["x"], &[])).is_some_and(|e| e.contains("two outputs")));
        assert!(err(args(&[], &[], &["python=dump"])).is_some_and(|e| e.contains("two outputs")));
        assert!(err(args(&[], &[], &["json"])).is_some_and(|e| e.contains("NAME=TARGET")));
        assert!(err(args(&[], &[], &["python=-"])).is_some_and(|e| e.contains("directory")));
        assert!(err(args(&["dump/x.json"], &[], &[])).is_some_and(|e| e.contains("inside")));
    }
}
