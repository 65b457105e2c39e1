//! `dump2py`: Lino's `dump2py` command, reading the database natively.

/// A bad command line (exit status 2): `usage!("...")` returns it.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

macro_rules! usage {
    ($($arg:tt)*) => {
        return Err($crate::UsageError(format!($($arg)*)).into())
    };
}

#[macro_use]
mod say;

mod archive;
mod args;
mod checked;
mod encryption;
mod into;
mod outputs;
mod plugins;
mod process;
mod progress;
mod retention;
mod site;
mod site_files;
mod snapshot;
mod verify;

use std::io::IsTerminal;

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Result;
use clap::FromArgMatches;

use args::{cli_command, with_source_flags_of, Cli};
use dump2py_django::meta::SiteMeta;
use dump2py_django::ViewOptions;
use dump2py_model::url::redact;
use dump2py_pipeline::{Pipeline, PipelineOptions};
use dump2py_plugin::registry::{self, SinkOptions};
use dump2py_plugin::{DumpInfo, Sink, TableOutcome};
use process::{check_umask, watch_exit, watch_signals, FINISHED};
use site::{check_languages, settings, site_meta, site_python};

// Built-in plugins register themselves when linked.
use dump2py_database as _;
use dump2py_dump as _;
use dump2py_dumpdata as _;
use dump2py_mysql as _;
use dump2py_postgres as _;
use dump2py_python as _;
use dump2py_sqlite as _;

/// Exit status of a dump that skipped tables with --tolerate.
const EXIT_INCOMPLETE: u8 = 3;
/// Exit status of a bad command line.
const EXIT_USAGE: u8 = 2;

// Batches are filled on reader threads and freed on the sinks' thread:
// glibc's malloc spends a third of a dump on that, mimalloc a few percent.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let parsed = cli_command().try_get_matches().and_then(|m| {
        let mut cli = Cli::from_arg_matches(&m)?;
        cli.outputs.values = outputs::sink_values(&m);
        cli.source_flags = (registry::source_flags().into_iter())
            .map(|(flag, _)| flag)
            .filter(|flag| m.get_flag(flag.name))
            .collect();
        Ok(cli)
    });
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                return match e.print() {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: can't write to standard output: {e}");
                        ExitCode::FAILURE
                    }
                };
            }
            // One line: the cause, not the usage.
            let text = e.render().to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
    };
    if let Err(e) = watch_signals() {
        eprintln!("error: can't watch for signals: {e}");
        return ExitCode::FAILURE;
    }
    watch_exit();
    dump2py_sdk::ffi::call::watch_crashes();
    let mut code = run_main(&cli);
    // A result on standard output that can't be written is a failure.
    if let Some(e) = say::stdout_error() {
        if code == ExitCode::SUCCESS || code == ExitCode::from(EXIT_INCOMPLETE) {
            eprintln!("error: can't write to standard output: {e}");
            code = ExitCode::FAILURE;
        }
    }
    FINISHED.store(true, Ordering::SeqCst);
    code
}

fn run_main(cli: &Cli) -> ExitCode {
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A signal is stopping the run: its handler reports and exits.
            if dump2py_staging::aborting() {
                loop {
                    std::thread::park();
                }
            }
            progress::leave();
            eprintln!("error: {}", one_line(&e));
            if e.chain().any(|c| c.is::<UsageError>()) {
                return ExitCode::from(EXIT_USAGE);
            }
            ExitCode::FAILURE
        }
    }
}

/// A source's, sink's or transformer's usage error (a bad URL, format or
/// argument) is the command line's: exit status 2.
fn usage_of(e: dump2py_model::Error) -> anyhow::Error {
    match e {
        dump2py_model::Error::Usage(m) => UsageError(m).into(),
        e => e.into(),
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
    dump2py_staging::set_sync(!cli.no_sync);
    check_umask()?;
    if cli.max_row_count == 0 {
        usage!("--max-row-count must be at least 1");
    }
    check_languages(&cli.languages)?;
    encryption::use_identity(cli.archive.identity.as_ref());
    if let Some(file) = &cli.archive.decrypt {
        return archive::decrypt(
            file,
            cli.output_dir.as_deref(),
            cli.overwrite,
            cli.verbosity,
        );
    }
    if let Some(dump) = &cli.verify {
        return verify_dump(cli, dump);
    }
    if let Some(archive) = &cli.archive.restore {
        let python = site_python(cli.python.as_deref(), cli.verbosity);
        let settings = settings(cli).map(|(s, _)| s);
        return archive::restore(
            archive,
            &python,
            settings.as_deref(),
            &cli.pythonpath,
            &cli.archive.restore_arg,
        );
    }
    let settings = settings(cli);
    if cli.export_site_schema.is_some() && settings.is_none() {
        usage!("--export-site-schema saves a site's metadata: give --settings MODULE (or set DJANGO_SETTINGS_MODULE)");
    }
    let meta = match (&settings, &cli.site_schema) {
        (Some(settings), _) => Some(site_meta(cli, settings)?),
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
        (Some(meta), None) => Some(registry::django_url(&meta.database)?),
        _ => None,
    };
    let Some(url) = cli
        .database
        .as_deref()
        .or(site_url.as_deref())
        .filter(|u| !u.is_empty())
    else {
        usage!("no database given: use -d/--database URL, --settings MODULE or set DATABASE_URL or DJANGO_SETTINGS_MODULE");
    };
    let url = with_source_flags_of(url, &cli.source_flags)?;
    let settings_module = meta.as_ref().map(|m| m.settings_module.clone());
    let output_dir = snapshot::output(
        &cli.snapshots,
        cli.output_dir.as_deref(),
        settings_module.as_deref(),
        &url,
        !cli.archive.encrypt_to.is_empty(),
    )?;
    let output = match (&output_dir, cli.simulate) {
        (Some(dir), false) => Some(dir.clone()),
        (None, false) if cli.outputs.is_empty() && cli.into.is_empty() => usage!(
            "no OUTPUT_DIR given: name the directory to write the dump to, or other outputs (--json, --xml, -f)"
        ),
        (None, false) => None,
        (_, true) => None,
    };
    // --simulate writes nothing: no other outputs either.
    let extra = match cli.simulate {
        true => Vec::new(),
        false => cli.outputs.outputs(output.as_deref())?,
    };
    // Bad transformer arguments fail before the database is opened.
    let mut transformers = cli.plugins.transformers()?;
    let mut source = registry::open_source(&url).map_err(usage_of)?;
    // Before anything is read: no output may replace what dump2py reads,
    // nor anything that dump2py didn't write.
    let mut protected = source.local_files();
    protected.extend(cli.plugins.libraries()?);
    outputs::check_protected(output.as_deref(), &extra, &protected)?;
    let targets = output
        .iter()
        .chain(extra.iter().map(|o| &o.target))
        .filter(|t| t.as_os_str() != "-");
    for target in targets {
        dump2py_staging::check_target(target, cli.overwrite)?;
    }
    // An archive's name: the dump is packed into it once published.
    let packing = archive::start(output.as_deref(), cli.overwrite, &cli.archive)?;
    let python = site_python(cli.python.as_deref(), 0);
    let mut extra_python =
        site_files::sink_options(cli.media, meta.as_ref(), &python, output.as_deref())?;
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(dir) = &output {
        sinks.push(registry::create_sink(
            "python",
            &SinkOptions {
                target: packing
                    .as_ref()
                    .map_or(dir.clone(), |p| p.dump_dir().to_path_buf()),
                overwrite: cli.overwrite,
                max_row_count: cli.max_row_count,
                // With -j the rows of a batch are also formatted on N threads.
                jobs: usize::from(cli.jobs),
                values: {
                    let mut values = cli.outputs.values_for("python");
                    values.append(&mut extra_python);
                    values
                },
            },
        )?);
    }
    sinks.extend(
        cli.outputs
            .sinks(&extra, cli.overwrite, cli.max_row_count)?,
    );
    sinks.extend(
        cli.into
            .sink(&url, source.as_ref(), meta.as_ref(), cli.simulate)?,
    );
    let info = DumpInfo {
        source: redact(&source.describe()),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        storage: source.storage(),
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
            exclude: cli.exclude.clone(),
            jobs: usize::from(cli.jobs),
            ..PipelineOptions::default()
        },
    }
    .run(&info, &mut observer)?;
    observer.finish();
    if let (true, Some(dir)) = (cli.media, &output) {
        site_files::report(dir, cli.verbosity);
    }
    if let Some(packing) = packing {
        packing.finish()?;
    }

    if cli.simulate {
        for (table, outcome) in &report.tables {
            match outcome {
                TableOutcome::Dumped { rows } => {
                    println!("{}: {rows} rows", say::escape(table))
                }
                TableOutcome::Skipped { reason } => println!(
                    "{}: not readable: {}",
                    say::escape(table),
                    say::escape(reason)
                ),
            }
        }
    }
    let skipped: Vec<_> = report.skipped().collect();
    for (_, reason) in &skipped {
        eprintln!("warning: tolerated: {reason}");
    }
    let mut targets: Vec<String> = output.iter().map(|d| d.display().to_string()).collect();
    targets.extend(extra.iter().map(outputs::Output::describe));
    targets.extend(cli.into.describe(cli.simulate));
    let target = match targets.as_slice() {
        [] => "the simulated dump".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    if report.tables.is_empty() {
        eprintln!("warning: the database has no tables: the dump holds no objects");
    }
    if cli.verbosity > 0 && !cli.simulate {
        eprintln!(
            "Wrote {} from {} to {}.",
            counted(report.rows(), "object"),
            counted((report.tables.len() - skipped.len()) as u64, "table"),
            target
        );
    }
    if let (Some(target), true) = (&output, skipped.is_empty()) {
        if cli.snapshots.snapshot_dir.is_some() {
            snapshot::finish(&cli.snapshots, target, cli.verbosity)?;
        }
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

/// `1 row`, `2 rows`: a count with its noun (nouns with a plain plural).
pub fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `--verify DUMP`: exit 0 when intact (and, with a database, when every
/// table still has the rows it had), else 1 naming what is not.
fn verify_dump(cli: &Cli, dump: &std::path::Path) -> Result<ExitCode> {
    if cli.output_dir.is_some() || !cli.outputs.is_empty() || cli.simulate {
        usage!("--verify checks a dump: it writes nothing (no OUTPUT_DIR, --json, --xml, -f, -s)");
    }
    if snapshot::verify(&cli.snapshots, dump, cli.verbosity)? {
        return Ok(ExitCode::SUCCESS);
    }
    let manifest = verify::files(dump).map_err(|e| {
        if dump2py_staging::interrupted(dump) {
            e.context(format!(
                "{}: its publishing was cut short (kill -9, power loss): the next dump2py \
                 run writing beside it completes it",
                dump.display()
            ))
        } else {
            e
        }
    })?;
    let url = match (&cli.database, settings(cli)) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(settings)) => Some(registry::django_url(&site_meta(cli, &settings)?.database)?),
        (None, None) => None,
    };
    let what = format!(
        "{}, {} in {}, written by dump2py {}",
        counted(manifest.files.len() as u64, "file"),
        counted(manifest.tables.values().sum(), "row"),
        counted(manifest.tables.len() as u64, "table"),
        manifest.version
    );
    if let Some(url) = url {
        let url = with_source_flags_of(&url, &cli.source_flags)?;
        let mut source = registry::open_source(&url).map_err(usage_of)?;
        let changes = verify::changes(&manifest, source.as_mut())?;
        if !changes.is_empty() {
            for c in &changes {
                eprintln!("changed: {c}");
            }
            anyhow::bail!(
                "{}: intact ({what}), but the database changed since: {} of {} tables",
                dump.display(),
                changes.len(),
                manifest.tables.len()
            );
        }
        if cli.verbosity > 0 {
            println!(
                "{}: intact ({what}); the database has the same rows per table",
                dump.display()
            );
        }
    } else if cli.verbosity > 0 {
        println!("{}: intact ({what})", dump.display());
    }
    Ok(ExitCode::SUCCESS)
}
