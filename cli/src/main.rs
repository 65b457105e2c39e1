//! `dump2py`: Lino's `dump2py` command, reading the database natively.

mod outputs;
mod plugins;
mod progress;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use dump2py_core::django::ViewOptions;
use dump2py_core::meta::SiteMeta;
use dump2py_core::pipeline::{Pipeline, PipelineOptions};
use dump2py_core::plugin::{DumpInfo, Sink, TableOutcome};
use dump2py_core::redact::redact_url;
use dump2py_core::registry::{self, SinkOptions};

// Built-in plugins register themselves when linked.
use dump2py_json as _;
use dump2py_mysql as _;
use dump2py_postgres as _;
use dump2py_python as _;
use dump2py_sqlite as _;
use dump2py_xml as _;

/// Exit status of a dump that skipped tables with --tolerate.
const EXIT_INCOMPLETE: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "dump2py",
    version,
    about = "Write a Python dump of a Django or Lino database, read straight from the database.",
    long_about = "Write a Python dump of a Django or Lino database, read straight from the \
                  database.\n\nThe dump is a directory with restore.py and one data file per \
                  model; restore it inside the site with `django-admin run OUTPUT_DIR/restore.py`."
)]
struct Cli {
    /// The directory where to write output files.
    #[arg(value_name = "OUTPUT_DIR")]
    output_dir: Option<PathBuf>,

    /// The database to dump, e.g. sqlite:path/to/default.db.
    #[arg(
        short = 'd',
        long = "database",
        value_name = "URL",
        env = "DATABASE_URL",
        hide_env_values = true
    )]
    database: Option<String>,

    /// Do not prompt for input of any kind (dump2py never prompts; kept for Lino's command line).
    #[arg(long)]
    noinput: bool,

    /// Tolerate database errors: skip tables that can't be read, exit with status 3.
    #[arg(short = 't', long)]
    tolerate: bool,

    /// Just simulate, don't actually write any data: read every table and report its rows.
    #[arg(short = 's', long)]
    simulate: bool,

    /// Overwrite existing files: replace an existing dump whole.
    #[arg(short = 'o', long)]
    overwrite: bool,

    /// Maximum number of rows per file.
    #[arg(
        short = 'm',
        long = "max-row-count",
        value_name = "NUM",
        default_value_t = 50000
    )]
    max_row_count: u64,

    /// The site's languages, e.g. en,de,fr: fold babel columns (name, name_de, name_fr) into one field.
    #[arg(long, value_name = "LANGS", value_delimiter = ',')]
    languages: Vec<String>,

    /// The site's settings module (as Django's --settings): read the site's metadata for an exact
    /// Lino dump, and its database unless --database is given.
    #[arg(long, value_name = "MODULE")]
    settings: Option<String>,

    /// A directory to add to the Python path of the site (as Django's --pythonpath; repeatable).
    #[arg(long, value_name = "DIR")]
    pythonpath: Vec<PathBuf>,

    /// The site's Python interpreter, used with --settings.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: String,

    /// Read the site's metadata from FILE (saved with --export-site-schema) instead of running the site's Python.
    #[arg(long, value_name = "FILE", conflicts_with = "settings")]
    site_schema: Option<PathBuf>,

    /// Save the site's metadata (from --settings) to FILE, for --site-schema on another machine.
    #[arg(long, value_name = "FILE", requires = "settings")]
    export_site_schema: Option<PathBuf>,

    /// Verbosity level; 0=minimal output, 1=normal output, 2=verbose output, 3=very verbose output.
    #[arg(short = 'v', long, value_name = "{0,1,2,3}", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(0..=3))]
    verbosity: u8,

    #[command(flatten)]
    outputs: outputs::OutputArgs,

    #[command(flatten)]
    plugins: plugins::PluginArgs,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line: the cause, not the usage.
            let text = e.render().to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
    };
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}

fn run(cli: &Cli) -> Result<ExitCode> {
    // Plugins join the registry before anything is looked up in it.
    cli.plugins.load()?;
    if cli.plugins.list_plugins {
        print!("{}", plugins::listing());
        return Ok(ExitCode::SUCCESS);
    }
    if cli.max_row_count == 0 {
        bail!("--max-row-count must be at least 1");
    }
    let meta = match (&cli.settings, &cli.site_schema) {
        (Some(settings), _) => Some(SiteMeta::from_site(&cli.python, settings, &cli.pythonpath)?),
        (None, Some(file)) => Some(SiteMeta::read(file)?),
        (None, None) => None,
    };
    if let (Some(meta), Some(file)) = (&meta, &cli.export_site_schema) {
        meta.write(file)?;
        if cli.output_dir.is_none() && cli.outputs.is_empty() && !cli.simulate {
            if cli.verbosity > 0 {
                eprintln!(
                    "Wrote the metadata of site {} to {}.",
                    meta.settings_module,
                    file.display()
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    let site_url = match (&meta, &cli.database) {
        (Some(meta), None) => Some(meta.database.url()?),
        _ => None,
    };
    let url = cli
        .database
        .as_deref()
        .or(site_url.as_deref())
        .filter(|u| !u.is_empty())
        .context(
            "no database given: use -d/--database URL, --settings MODULE or set DATABASE_URL",
        )?;
    let output = match (&cli.output_dir, cli.simulate) {
        (Some(dir), false) => Some(dir.clone()),
        (None, false) if cli.outputs.is_empty() => bail!(
            "no OUTPUT_DIR given: name the directory to write the dump to, or other outputs (--json, --xml, -f)"
        ),
        (None, false) => None,
        (_, true) => None,
    };
    if let Some(dir) = &output {
        dump2py_core::staging::check_target(dir, cli.overwrite)?;
    }
    // --simulate writes nothing: no other outputs either.
    let extra = match cli.simulate {
        true => Vec::new(),
        false => cli.outputs.outputs(output.as_deref())?,
    };
    // Bad transformer arguments fail before the database is opened.
    let mut transformers = cli.plugins.transformers()?;
    let mut source = outputs::log_reads(registry::open_source(url)?, cli.verbosity >= 3);
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(dir) = &output {
        sinks.push(registry::create_sink(
            "python",
            &SinkOptions {
                target: dir.clone(),
                overwrite: cli.overwrite,
                max_row_count: cli.max_row_count,
                extra: Default::default(),
            },
        )?);
    }
    sinks.extend(
        cli.outputs
            .sinks(&extra, cli.overwrite, cli.max_row_count)?,
    );
    let info = DumpInfo {
        source: redact_url(&source.describe()),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut observer = progress::Progress::new(cli.verbosity, std::io::stderr().is_terminal());
    let report = Pipeline {
        source: source.as_mut(),
        transformers: &mut transformers,
        sinks: &mut sinks,
        options: PipelineOptions {
            tolerate: cli.tolerate,
            view: ViewOptions {
                languages: cli.languages.clone(),
            },
            meta,
            ..PipelineOptions::default()
        },
    }
    .run(&info, &mut observer)?;
    observer.finish();

    if cli.simulate {
        for (table, outcome) in &report.tables {
            match outcome {
                TableOutcome::Dumped { rows } => println!("{table}: {rows} rows"),
                TableOutcome::Skipped { reason } => println!("{table}: not readable: {reason}"),
            }
        }
    }
    let skipped: Vec<_> = report.skipped().collect();
    for (_, reason) in &skipped {
        eprintln!("warning: tolerated: {reason}");
    }
    let mut targets: Vec<String> = output.iter().map(|d| d.display().to_string()).collect();
    targets.extend(extra.iter().map(outputs::Output::describe));
    let target = match targets.as_slice() {
        [] => "the simulated dump".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    if cli.verbosity > 0 && !cli.simulate {
        eprintln!(
            "Wrote {} objects from {} tables to {}.",
            report.rows(),
            report.tables.len() - skipped.len(),
            target
        );
    }
    if !skipped.is_empty() {
        eprintln!(
            "The dump in {target} is incomplete: {} of {} tables could not be read.",
            skipped.len(),
            report.tables.len()
        );
        return Ok(ExitCode::from(EXIT_INCOMPLETE));
    }
    Ok(ExitCode::SUCCESS)
}
