//! Outputs besides OUTPUT_DIR, all fed by the same pass over the database:
//! `--json FILE`, `--xml FILE` and the general `-f/--format NAME=TARGET`,
//! with the options the sinks declare (`--indent N` for JSON and XML). `-` is standard output; a name
//! ending in `.gz`, `.bz2` or `.xz` is compressed (as `dumpdata -o`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::fs;
use std::os::unix::fs::MetadataExt;

use anyhow::Result;

use crate::UsageError;
use dump2py_plugin::registry::{self, OptionKind, OptionValue, SinkOptions};
use dump2py_plugin::Sink;

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

    /// The sinks' own options given (`--indent`, `--natural-foreign`, …):
    /// each sink declares them (`SinkFactory::options`), and
    /// [`with_sink_options`] offers them on the command line.
    #[arg(skip)]
    pub values: BTreeMap<String, OptionValue>,
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
    /// once, `output_dir` (the Python dump) neither among them nor
    /// containing them. Paths are compared where they lead (`x`, `./x`, a
    /// symlink, a hard link are one file).
    pub fn outputs(&self, output_dir: Option<&Path>) -> Result<Vec<Output>, UsageError> {
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
                _ => usage!("-f/--format {spec}: expected NAME=TARGET, e.g. json=data.json"),
            }
        }
        // An option no output reads would silently do nothing (OUTPUT_DIR
        // is the Python dump's).
        let python = output_dir.map(|_| "python");
        for (option, formats) in registry::sink_options() {
            if self.values.contains_key(option.name)
                && !(out.iter().map(|o| o.format.as_str()))
                    .chain(python)
                    .any(|f| formats.contains(&f))
            {
                usage!(
                    "--{} is for outputs of format {} ({})",
                    option.name,
                    formats.join(", "),
                    formats
                        .iter()
                        .map(|f| format!("--{f}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        let mut seen: Vec<(&Path, Place)> =
            output_dir.map(|d| (d, Place::of(d))).into_iter().collect();
        for o in &out {
            if is_stdout(&o.target) {
                if o.format == "python" {
                    usage!("a Python dump is a directory: it can't go to standard output");
                }
                if out.iter().filter(|p| is_stdout(&p.target)).count() > 1 {
                    usage!("only one output can go to standard output (-)");
                }
                continue;
            }
            let place = Place::of(&o.target);
            if let Some((other, _)) = seen.iter().find(|(_, p)| p.same(&place)) {
                if other == &o.target.as_path() {
                    usage!(
                        "{} is named as the target of two outputs",
                        o.target.display()
                    );
                }
                usage!(
                    "{} and {} are one file: named as the target of two outputs",
                    other.display(),
                    o.target.display()
                );
            }
            // OUTPUT_DIR is replaced whole when the Python dump is published.
            if let Some(d) = output_dir {
                if place.inside(&Place::of(d)) {
                    usage!("{} is inside OUTPUT_DIR", o.target.display());
                }
            }
            seen.push((&o.target, place));
        }
        Ok(out)
    }

    /// The values given of the options the sink of `format` declared.
    pub fn values_for(&self, format: &str) -> BTreeMap<String, OptionValue> {
        let declared = registry::sink_options();
        (self.values.iter())
            .filter(|(name, _)| {
                (declared.iter())
                    .any(|(d, formats)| d.name == name.as_str() && formats.contains(&format))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The sinks of the outputs, created now so that a bad name or an
    /// existing target fails before the database is read.
    pub fn sinks(
        &self,
        outputs: &[Output],
        overwrite: bool,
        max_row_count: u64,
    ) -> Result<Vec<Box<dyn Sink>>> {
        let mut sinks = Vec::new();
        for o in outputs {
            let options = SinkOptions {
                target: o.target.clone(),
                overwrite,
                max_row_count,
                jobs: 1,
                values: self.values_for(&o.format),
            };
            // An unknown format is the command line's mistake (exit 2); a
            // sink that can't start (its target is locked) is not.
            let known = registry::listing()
                .iter()
                .any(|l| l.kind == registry::Kind::Sink && l.name == o.format);
            let sink = registry::create_sink(&o.format, &options);
            sinks.push(if known {
                sink?
            } else {
                sink.map_err(crate::usage_of)?
            });
        }
        Ok(sinks)
    }
}

/// Where a path leads: its parent resolved (through the nearest existing
/// ancestor when it isn't made yet) and its name; and the file it is, when
/// it exists.
#[derive(Debug, Clone)]
pub struct Place {
    path: PathBuf,
    file: Option<(u64, u64)>,
}

impl Place {
    pub fn of(p: &Path) -> Place {
        let file = fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
        Place {
            path: resolve(p),
            file,
        }
    }

    fn same(&self, other: &Place) -> bool {
        self.path == other.path || (self.file.is_some() && self.file == other.file)
    }

    /// Whether `self` is `dir` or inside it.
    fn inside(&self, dir: &Place) -> bool {
        self.same(dir) || self.path.starts_with(&dir.path)
    }
}

fn resolve(p: &Path) -> PathBuf {
    use std::path::Component;
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let parts: Vec<Component> = abs.components().collect();
    let mut cur = PathBuf::new();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Component::CurDir => {}
            // `cur` has no symlinks left where it exists: `..` is its parent.
            Component::ParentDir => {
                cur.pop();
            }
            other => {
                cur.push(other.as_os_str());
                // The name itself stays: a rename replaces a symlink, not where it points.
                if i + 1 < parts.len() {
                    if let Ok(real) = fs::canonicalize(&cur) {
                        cur = real;
                    }
                }
            }
        }
    }
    cur
}

/// Refuses any output that is, or contains, one of the `protected` files
/// (the database being dumped and its journals, the plugin libraries).
pub fn check_protected(
    output_dir: Option<&Path>,
    outputs: &[Output],
    protected: &[PathBuf],
) -> Result<(), UsageError> {
    let targets = output_dir
        .into_iter()
        .chain(outputs.iter().map(|o| o.target.as_path()))
        .filter(|t| !is_stdout(t));
    let protected: Vec<(&PathBuf, Place)> = protected.iter().map(|p| (p, Place::of(p))).collect();
    for t in targets {
        let place = Place::of(t);
        for (p, pp) in &protected {
            if pp.same(&place) {
                usage!(
                    "{}: dump2py reads this file ({}); choose another output",
                    t.display(),
                    p.display()
                );
            }
            if pp.inside(&place) {
                usage!(
                    "{} contains {}, which dump2py reads: choose another output",
                    t.display(),
                    p.display()
                );
            }
        }
    }
    Ok(())
}

/// `command` with the options the built-in sinks declare.
pub fn with_sink_options(mut command: clap::Command) -> clap::Command {
    for (option, _) in registry::sink_options() {
        let arg = clap::Arg::new(option.name)
            .long(option.name)
            .help(option.help);
        command = command.arg(match option.kind {
            OptionKind::Flag => arg.action(clap::ArgAction::SetTrue),
            OptionKind::Number { max } => arg
                .value_name("N")
                .value_parser(clap::value_parser!(u64).range(0..=max)),
        });
    }
    command
}

/// The values of the sinks' options given in `matches`.
pub fn sink_values(matches: &clap::ArgMatches) -> BTreeMap<String, OptionValue> {
    let mut values = BTreeMap::new();
    for (option, _) in registry::sink_options() {
        let value = match option.kind {
            OptionKind::Flag => matches.get_flag(option.name).then_some(OptionValue::Flag),
            OptionKind::Number { .. } => {
                (matches.get_one::<u64>(option.name)).map(|n| OptionValue::Number(*n))
            }
        };
        if let Some(v) = value {
            values.insert(option.name.to_string(), v);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(json: &[&str], xml: &[&str], formats: &[&str]) -> OutputArgs {
        OutputArgs {
            json: json.iter().map(PathBuf::from).collect(),
            xml: xml.iter().map(PathBuf::from).collect(),
            formats: formats.iter().map(|s| s.to_string()).collect(),
            values: BTreeMap::new(),
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

    #[test]
    fn what_dump2py_reads_is_protected() {
        let t = std::env::temp_dir().join(format!("dump2py-protect-{}", std::process::id()));
        let lib = t.join("plugins/libx.so");
        fs::create_dir_all(lib.parent().expect("parent")).expect("mkdir");
        fs::write(&lib, "x").expect("write");
        let protected = [lib.clone(), t.join("db.sqlite3-wal")];
        let json = |p: PathBuf| Output {
            format: "json".into(),
            target: p,
        };
        let err = |dir: Option<&Path>, outs: &[Output]| {
            check_protected(dir, outs, &protected)
                .err()
                .map(|e| e.to_string())
        };
        let plugins = t.join("plugins/../plugins");
        assert!(err(Some(&plugins), &[]).is_some_and(|e| e.contains("contains")));
        assert!(err(None, &[json(lib.clone())]).is_some_and(|e| e.contains("reads this file")));
        let wal = t.join("./db.sqlite3-wal");
        assert!(err(None, &[json(wal)]).is_some_and(|e| e.contains("reads this file")));
        assert!(err(Some(&t.join("dump")), &[json(t.join("a.json"))]).is_none());
        let _ = fs::remove_dir_all(&t);
    }
}
